//! The eSIM platform's workflows called as a library: inventory import from a factory batch
//! (through `smdp::add_profiles`, every piece of metadata in place) and from uploaded
//! packages, credentials, callback settings with the key sealed, policies; error kinds, and
//! no secret in `Debug` or in errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::Path;

use simforge_esim::callbacks::{self, CallbackUpdate, ClientIdentity};
use simforge_esim::inventory::{self, ImportOptions};
use simforge_esim::{ErrorKind, credentials, policy};
use simforge_sim as sim;
use simforge_sim::CardFormat as _;
use simforge_smdp::{ProfileState, RadioAccess, ResetTarget, SmdpStore as _, SmdpTx as _};
use simforge_store::{CredentialKind, NewOperator, Operator, Store};
use simforge_vault::{MasterKey, Vault};
use zeroize::Zeroizing;

const NOW: i64 = 1_750_000_000;
const OP_HEX: &str = "cdc202d5123e20f62b6d676ac72cb318";

struct Lab {
    dir: tempfile::TempDir,
    store: Store,
    vault: MasterKey,
    op: Operator,
}

async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("simforge.sqlite"))
        .await
        .unwrap();
    let op = store
        .create_operator(&NewOperator {
            name: "acme".into(),
            mcc: "001".into(),
            mnc: "01".into(),
            iccid_prefix: "8988211".into(),
            iccid_len: 20,
            spn: "Acme".into(),
            out_columns: None,
        })
        .await
        .unwrap();
    Lab {
        dir,
        store,
        vault: MasterKey::from_bytes([7; 32]),
        op,
    }
}

/// A plan of `n` cards for the lab operator.
fn plan(n: u64) -> sim::BatchPlan {
    let operator = sim::OperatorProfile {
        name: "acme".into(),
        plmn: sim::Plmn::new("001", "01").unwrap(),
        iccid_prefix: "8988211".into(),
        iccid_len: 20,
        spn: "Acme".into(),
    };
    let spec = sim::OrderSpec {
        quantity: n,
        iccid_start: sim::Start::Next,
        imsi_start: sim::Start::Next,
        msisdn_start: None,
        kid: 1,
        opid: 1,
        profile: sim::CardProfile::default(),
        name: Some("t1".into()),
    };
    spec.plan(&operator, "8988211000000000001", "001010000000001", "x")
        .unwrap()
}

/// `n` cards of [`plan`].
fn cards(n: u64) -> Vec<sim::Card> {
    let plan = plan(n);
    let variant = sim::OperatorVariant::from_hex(OP_HEX).unwrap();
    let maker = sim::CardMaker::new(&plan, &variant).unwrap();
    let mut rng = sim::OsRandom::new();
    (0..n).map(|i| maker.card(i, &mut rng).unwrap()).collect()
}

/// A batch directory with the electrical file of `cards`, as the factory writes it.
fn batch_dir(root: &Path, cards: &[sim::Card]) -> std::path::PathBuf {
    let dir = root.join("batch-1");
    std::fs::create_dir_all(&dir).unwrap();
    let elec = sim::ElectricalFile::new(&plan(cards.len() as u64));
    let mut out = Vec::new();
    elec.header(&mut out);
    for c in cards {
        elec.card(c, &mut out).expect("elec record");
    }
    std::fs::write(dir.join("acme-t1.elec.csv"), out).unwrap();
    dir
}

fn ki_hex(c: &sim::Card) -> String {
    sim::secret::to_hex(c.ki.expose())
}

#[tokio::test]
async fn a_batch_imports_as_available_profiles_with_all_their_metadata_once() {
    let l = lab().await;
    let cards = cards(3);
    let dir = batch_dir(l.dir.path(), &cards);
    let opts = ImportOptions {
        notification_address: Some("smdp.example:8443".into()),
        reuse_on_delete: Some(false),
        radio_access: vec![RadioAccess::EutranEpc, RadioAccess::Nr5gc],
        ..ImportOptions::of_type("iot")
    };
    let added = inventory::import_batch_dir(
        &l.store,
        (&l.store, &simforge_audit::Actor::system()),
        &l.vault,
        &l.op,
        &dir,
        &opts,
        NOW,
    )
    .await
    .unwrap();
    let iccids: Vec<simforge_asn1::Iccid> = cards
        .iter()
        .map(|c| c.iccid.to_string().parse().expect("iccid"))
        .collect();
    assert_eq!(added, iccids);

    let mut tx = l.store.begin().await.unwrap();
    for iccid in &iccids {
        let p = tx.profile(l.op.id, iccid).await.unwrap().expect("stored");
        assert_eq!(p.state, ProfileState::Available);
        assert_eq!(p.profile_type, "iot");
        assert!(!p.reuse_on_delete);
        assert_eq!(
            p.requirements.radio_access,
            vec![RadioAccess::EutranEpc, RadioAccess::Nr5gc]
        );
        assert!(p.requirements.package_size.is_some_and(|s| s > 0));
        assert_eq!(p.metadata.service_provider_name, "Acme");
        assert_eq!(
            p.metadata.profile_name,
            format!("Acme {}", &iccid.as_str()[16..])
        );
        assert_eq!(
            p.metadata.notification_address.as_deref(),
            Some("smdp.example:8443")
        );
        // The package is sealed at rest (under the profile's own context).
        let upp = simforge_smdp::profile::unseal(&p, &l.vault).unwrap();
        let header = simforge_saip::Profile::decode(&upp).unwrap();
        assert_eq!(header.iccid().as_deref(), Some(iccid.as_str()));
    }
    tx.commit().await.unwrap();

    // Importing again adds nothing (idempotent, as the command has always been).
    let again = inventory::import_batch_dir(
        &l.store,
        (&l.store, &simforge_audit::Actor::system()),
        &l.vault,
        &l.op,
        &dir,
        &opts,
        NOW,
    )
    .await
    .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(inventory::available(&l.store, &l.op).await.unwrap(), 3);
}

#[tokio::test]
async fn the_operators_default_reuse_and_the_limit_apply() {
    let l = lab().await;
    let cards = cards(4);
    let dir = batch_dir(l.dir.path(), &cards);
    let opts = ImportOptions {
        limit: Some(2),
        ..ImportOptions::of_type("default")
    };
    let added = inventory::import_batch_dir(
        &l.store,
        (&l.store, &simforge_audit::Actor::system()),
        &l.vault,
        &l.op,
        &dir,
        &opts,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(added.len(), 2);
    let mut tx = l.store.begin().await.unwrap();
    let p = tx.profile(l.op.id, &added[0]).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    assert_eq!(p.reuse_on_delete, l.op.reuse_on_delete);
    assert!(p.requirements.radio_access.is_empty());
}

#[tokio::test]
async fn a_bad_batch_adds_nothing_and_its_error_shows_no_secret() {
    let l = lab().await;
    let cards = cards(2);
    let dir = batch_dir(l.dir.path(), &cards);
    let elec = dir.join("acme-t1.elec.csv");
    let text = std::fs::read_to_string(&elec).unwrap();
    // The second card's OPc cut short: its line fails, and the first card is not added either.
    let ki = ki_hex(&cards[1]);
    let bad: String = text
        .lines()
        .map(|l| {
            if l.contains(&ki) {
                l.replacen(&ki, &ki[..30], 1)
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&elec, bad).unwrap();
    let e = inventory::import_batch_dir(
        &l.store,
        (&l.store, &simforge_audit::Actor::system()),
        &l.vault,
        &l.op,
        &dir,
        &ImportOptions::of_type("default"),
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    let shown = format!("{e:?} {}", chain(&e));
    assert!(shown.contains("line 3") && shown.contains("KI"), "{shown}");
    for c in &cards {
        assert!(
            !shown.to_uppercase().contains(&ki_hex(c).to_uppercase()),
            "{shown}"
        );
    }
    assert_eq!(inventory::available(&l.store, &l.op).await.unwrap(), 0);

    // No electrical file at all: not found.
    std::fs::remove_file(&elec).unwrap();
    let e = inventory::import_batch_dir(
        &l.store,
        (&l.store, &simforge_audit::Actor::system()),
        &l.vault,
        &l.op,
        &dir,
        &ImportOptions::of_type("default"),
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[tokio::test]
async fn uploaded_packages_import_under_their_header_iccid() {
    let l = lab().await;
    let cards = cards(2);
    let packages: Vec<Zeroizing<Vec<u8>>> = cards
        .iter()
        .map(|c| inventory::package_for(c, "Acme", None).unwrap())
        .collect();
    let opts = ImportOptions {
        radio_access: vec![RadioAccess::Nr5gc],
        ..ImportOptions::of_type("upload")
    };
    let added = inventory::import_packages(
        &l.store,
        (&l.store, &simforge_audit::Actor::system()),
        &l.vault,
        &l.op,
        packages,
        &opts,
        NOW,
    )
    .await
    .unwrap();
    let iccids: Vec<simforge_asn1::Iccid> = cards
        .iter()
        .map(|c| c.iccid.to_string().parse().expect("iccid"))
        .collect();
    assert_eq!(added, iccids);
    let mut tx = l.store.begin().await.unwrap();
    let p = tx.profile(l.op.id, &iccids[1]).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    assert_eq!(p.requirements.radio_access, vec![RadioAccess::Nr5gc]);
    assert_eq!(p.profile_type, "upload");

    // Not a package: refused, naming its position; nothing added.
    let junk = vec![Zeroizing::new(vec![0x30, 0x03, 1, 2, 3])];
    let e = inventory::import_packages(
        &l.store,
        (&l.store, &simforge_audit::Actor::system()),
        &l.vault,
        &l.op,
        junk,
        &opts,
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert!(e.to_string().contains("#0"), "{e}");
}

#[tokio::test]
async fn api_keys_and_client_certificates_are_created_listed_and_revoked() {
    let l = lab().await;
    let mut rng = sim::OsRandom::new();
    let k = credentials::create_api_key(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        &l.op,
        &mut rng,
        NOW,
    )
    .await
    .unwrap();
    assert!(k.key.starts_with("sfk_") && k.key.len() == 68);
    assert!(!format!("{k:?}").contains(k.key.as_str()));
    // Only the hash is stored; the label is the key's first characters.
    let listed = credentials::list(&l.store, &l.op, CredentialKind::ApiKey)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!format!("{listed:?}").contains(k.key.as_str()));
    assert!(listed[0].label.starts_with(&k.key[..8]));
    // An active key exists: no new one.
    assert!(
        credentials::ensure_api_key(
            &l.store,
            &simforge_audit::Actor::cli("test"),
            &l.op,
            &mut rng,
            NOW
        )
        .await
        .unwrap()
        .is_none()
    );
    credentials::revoke(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        &l.op,
        k.id,
        NOW + 1,
    )
    .await
    .unwrap();
    let e = credentials::revoke(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        &l.op,
        k.id,
        NOW + 2,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(
        credentials::ensure_api_key(
            &l.store,
            &simforge_audit::Actor::cli("test"),
            &l.op,
            &mut rng,
            NOW
        )
        .await
        .unwrap()
        .is_some()
    );

    let pki = simforge_pki::generate_lab_pki(&simforge_pki::LabPkiOptions::new(
        simforge_pki::Curve::P256,
        "localhost",
    ))
    .unwrap();
    let pem = pki.smdp.tls.cert.to_pem();
    let c = credentials::register_client_cert(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        &l.op,
        pem.as_bytes(),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(c.sha256.as_str().len(), 64);
    let again = credentials::register_client_cert(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        &l.op,
        pem.as_bytes(),
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
    let junk = credentials::register_client_cert(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        &l.op,
        b"not a certificate",
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(junk.kind(), ErrorKind::Invalid);
}

#[tokio::test]
async fn callback_settings_round_trip_with_the_client_key_sealed() {
    let l = lab().await;
    let pki = simforge_pki::generate_lab_pki(&simforge_pki::LabPkiOptions::new(
        simforge_pki::Curve::P256,
        "bss.example",
    ))
    .unwrap();
    let cert_pem = pki.smdp.tls.cert.to_pem();
    let key_pem = pki.smdp.tls.key.to_pkcs8_pem().unwrap();
    let key_body = key_pem.lines().nth(1).unwrap().to_owned();

    // No endpoint yet: settings alone are refused (checked first, and again by `update`).
    let e = callbacks::check_endpoint(&l.store, &l.op, None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    callbacks::check_endpoint(&l.store, &l.op, Some("https://bss.example/es2"))
        .await
        .unwrap();
    let e = callbacks::update(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        &l.op,
        CallbackUpdate {
            retry_hours: Some(5),
            ..CallbackUpdate::default()
        },
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert_eq!(
        callbacks::check_url("ftp://x/y").unwrap_err().kind(),
        ErrorKind::Invalid
    );
    assert!(
        callbacks::check_url("http://bss.example/cb")
            .unwrap()
            .plain_http
    );

    let sealed =
        callbacks::seal_client_identity(&l.vault, l.op.id, cert_pem.as_bytes(), key_pem.as_bytes())
            .unwrap();
    assert!(!format!("{sealed:?}").contains(&key_body));
    callbacks::update(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        &l.op,
        CallbackUpdate {
            url: Some("https://bss.example/es2".into()),
            client_identity: Some(ClientIdentity::Certificate(sealed)),
            ca_bundle_pem: Some(pki.ci.to_pem().into_bytes()),
            retry_hours: Some(5),
        },
        NOW,
    )
    .await
    .unwrap();
    let st = callbacks::status(&l.store, &l.op).await.unwrap();
    assert_eq!(st.identity(), Some("certificate"));
    assert_eq!((st.pending, st.given_up), (0, 0));
    let s = st.settings.clone().unwrap();
    assert_eq!(s.url, "https://bss.example/es2");
    assert_eq!(s.retry_hours, Some(5));
    assert!(s.ca_bundle_pem.is_some());
    // The key is stored sealed, and unseals (with the operator's context) to the key.
    let stored = s.client_key_sealed.clone().unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&key_body));
    let key = l
        .vault
        .unseal(&simforge_store::callback_key_context(l.op.id), &stored)
        .unwrap();
    assert_eq!(key.as_slice(), key_pem.as_bytes());
    assert!(!format!("{st:?}").contains(&key_body));

    // A key file that holds no PEM key is refused without showing it.
    let e = callbacks::seal_client_identity(
        &l.vault,
        l.op.id,
        cert_pem.as_bytes(),
        b"c2VjcmV0LWtleS1ieXRlcw==\n",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert!(!format!("{e:?} {}", chain(&e)).contains("c2VjcmV0"));

    // The server's identity instead, then retry back to the default, then cleared.
    callbacks::update(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        &l.op,
        CallbackUpdate {
            client_identity: Some(ClientIdentity::Server),
            retry_hours: Some(0),
            ..CallbackUpdate::default()
        },
        NOW,
    )
    .await
    .unwrap();
    let st = callbacks::status(&l.store, &l.op).await.unwrap();
    assert_eq!(st.identity(), Some("server"));
    let s = st.settings.unwrap();
    assert!(s.client_key_sealed.is_none() && s.retry_hours.is_none());
    callbacks::clear(&l.store, &simforge_audit::Actor::cli("test"), &l.op, NOW)
        .await
        .unwrap();
    assert!(
        callbacks::status(&l.store, &l.op)
            .await
            .unwrap()
            .settings
            .is_none()
    );
    // The changes (the refused one first) are in the audit log, without the client key.
    use simforge_audit::AuditLog as _;
    let log = l.store.entries(&Default::default()).await.unwrap();
    let changes: Vec<_> = log.iter().filter(|e| e.target == "callback").collect();
    let outcomes: Vec<String> = changes.iter().map(|e| e.outcome.to_string()).collect();
    assert_eq!(outcomes, ["failed:invalid", "ok", "ok", "ok"]);
    assert!(changes.iter().all(|e| e.tenant == Some(l.op.id)));
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&key_body) && !text.contains("PRIVATE KEY"));
    // No given-up event to redeliver.
    let e = callbacks::redeliver(&l.store, &l.op, Some(42), NOW * 1000)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        callbacks::redeliver(&l.store, &l.op, None, NOW * 1000)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn policies_refuse_bad_input_with_the_right_kind() {
    let l = lab().await;
    let e = policy::set_cancel_session_policy(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        (l.op.id, NOW),
        "no such policy",
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    policy::set_cancel_session_policy(
        &l.store,
        &simforge_audit::Actor::cli("test"),
        (l.op.id, NOW),
        "default",
    )
    .await
    .unwrap();
    let e = policy::reset_profile(
        &l.store,
        &simforge_audit::Actor::system(),
        &l.op,
        "89882110000000000012",
        ResetTarget::Available,
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    // An Available profile is not in Error: conflict.
    let cards = cards(1);
    let dir = batch_dir(l.dir.path(), &cards);
    inventory::import_batch_dir(
        &l.store,
        (&l.store, &simforge_audit::Actor::system()),
        &l.vault,
        &l.op,
        &dir,
        &ImportOptions::of_type("default"),
        NOW,
    )
    .await
    .unwrap();
    let e = policy::reset_profile(
        &l.store,
        &simforge_audit::Actor::system(),
        &l.op,
        &cards[0].iccid.to_string(),
        ResetTarget::Released,
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    // Both the import and the refused reset are in the audit log.
    let entries = simforge_audit::AuditLog::entries(&l.store, &simforge_audit::Query::default())
        .await
        .unwrap();
    let import = entries
        .iter()
        .rev()
        .find(|e| e.action == "inventory.import")
        .expect("import audited");
    assert_eq!(
        (import.tenant, import.details_json().contains("\"added\":1")),
        (Some(l.op.id), true),
        "{import:?}"
    );
    let reset = entries
        .iter()
        .rev()
        .find(|e| e.action == "profile.reset")
        .expect("reset audited");
    assert_eq!(reset.outcome.to_string(), "failed:conflict");
    assert_eq!(reset.target, format!("profile:{}", cards[0].iccid));
}
