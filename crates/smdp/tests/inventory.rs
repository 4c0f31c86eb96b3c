//! Inventory additions: every piece of a `NewProfile` (radio access included) reaches the
//! stored record; `add_profiles` adds all in one transaction, skipping ICCIDs already in an
//! inventory, and adds nothing when one profile cannot be stored (an ICCID that is not one
//! cannot even be written: `NewProfile` holds a parsed `Iccid`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use simforge_smdp::{
    MemoryStore, NewProfile, ProfileMetadata, ProfileState, RadioAccess, add_profiles,
};
use std::sync::atomic::{AtomicBool, Ordering};

use simforge_vault::{MasterKey, Vault, VaultError};
use zeroize::Zeroizing;

fn new(iccid: &str, radio_access: Vec<RadioAccess>) -> NewProfile {
    NewProfile {
        iccid: iccid.parse().expect("iccid"),
        profile_type: "iot".into(),
        metadata: ProfileMetadata {
            service_provider_name: "Acme".into(),
            profile_name: "Acme 0001".into(),
            profile_class: 2,
            notification_address: Some("smdp.example".into()),
        },
        package: Zeroizing::new(vec![0xA0, 0x01, 0x00]),
        reuse_on_delete: false,
        radio_access,
    }
}

#[tokio::test]
async fn add_profiles_keeps_every_field_and_skips_known_iccids() {
    let store = MemoryStore::new();
    let vault = MasterKey::from_bytes([1; 32]);
    let a = "8988211000000000011";
    let b = "8988211000000000029";
    let added = add_profiles(
        &store,
        &vault,
        7,
        vec![new(a, vec![RadioAccess::Nr5gc])],
        100,
    )
    .await
    .unwrap();
    assert_eq!(
        added,
        vec![a.parse::<simforge_asn1::Iccid>().expect("iccid")]
    );
    // Again with one more: only the new one is added (another operator's ICCID too is known).
    let added = add_profiles(
        &store,
        &vault,
        8,
        vec![new(a, Vec::new()), new(b, Vec::new())],
        101,
    )
    .await
    .unwrap();
    assert_eq!(
        added,
        vec![b.parse::<simforge_asn1::Iccid>().expect("iccid")]
    );
    let data = store.snapshot().await;
    let p = &data.profiles[a];
    assert_eq!(p.operator_id, 7);
    assert_eq!(p.state, ProfileState::Available);
    assert_eq!(p.profile_type, "iot");
    assert!(!p.reuse_on_delete);
    assert_eq!(p.requirements.radio_access, vec![RadioAccess::Nr5gc]);
    assert_eq!(p.requirements.package_size, Some(3));
    assert_eq!(
        p.metadata.notification_address.as_deref(),
        Some("smdp.example")
    );
    assert_eq!(p.updated_at, 100);
    assert_ne!(p.package.0, vec![0xA0, 0x01, 0x00], "sealed at rest");
    let mut secret = new(b, Vec::new());
    secret.package = Zeroizing::new(b"KI-0123456789abcdef".to_vec());
    assert!(!format!("{secret:?}").contains("75, 73"), "{secret:?}");
    assert!(format!("{secret:?}").contains("<redacted>"));

    // The second package cannot be sealed: nothing is added, and the vault's error is the
    // cause, kept whole.
    assert!("12".parse::<simforge_asn1::Iccid>().is_err());
    let c = "8988211000000000037";
    let d = "8988211000000000045";
    let failing = SealsOnce {
        inner: MasterKey::from_bytes([1; 32]),
        sealed: AtomicBool::new(false),
    };
    let e = add_profiles(
        &store,
        &failing,
        7,
        vec![new(c, Vec::new()), new(d, Vec::new())],
        102,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, simforge_smdp::Error::Profile(_)), "{e:?}");
    let source = std::error::Error::source(&e).and_then(std::error::Error::source);
    assert!(
        source.is_some_and(|s| s.to_string().contains("random source")),
        "{e:?}"
    );
    let data = store.snapshot().await;
    assert!(!data.profiles.contains_key(c) && !data.profiles.contains_key(d));
}

/// A vault that seals once, then fails.
struct SealsOnce {
    inner: MasterKey,
    sealed: AtomicBool,
}

impl Vault for SealsOnce {
    fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        if self.sealed.swap(true, Ordering::SeqCst) {
            return Err(VaultError::Random);
        }
        self.inner.seal(context, plaintext)
    }
    fn unseal(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        self.inner.unseal(context, sealed)
    }
    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }
}
