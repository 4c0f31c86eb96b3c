//! What the store's integration tests share: an SM-DP+ over any [`SmdpStore`], driven by the
//! sans-IO LPA + eUICC test client of simforge-smdp's tests, and the download flows that both
//! the SQLite and the PostgreSQL store must carry through a restart.
#![allow(dead_code)] // each test file uses its part

pub mod outbox;
pub mod postgres;
pub mod settings;

use std::future::Future;
use std::sync::Arc;

#[allow(unused_imports)] // not every test file uses every one
pub use crate::common::{FQDN, NOW, TestEuicc, lab, synthetic_package};
use simforge_asn1::json::{
    AuthenticateClientResponse, ConfirmOrderRequest, DownloadOrderRequest, RequestHeader,
};
use simforge_crypto::{KeyAgreement, Random, SoftwareKeyAgreement, SystemRandom};
use simforge_pki::LabPki;
use simforge_smdp::profile::iccid_to_bcd;
use simforge_smdp::{
    NewProfile, ProfileMetadata, ProfileRecord, ProfileState, Smdp, SmdpConfig, SmdpKeys,
    SmdpStore, SmdpTx,
};
use simforge_vault::MasterKey;
use zeroize::Zeroizing;

pub const ICCID: &str = "8949449999999990023";
pub const ADDR: &str = "smdp.simforge.test:8443";

/// An operator for the SQLite store (the PostgreSQL store takes tenant numbers as they are).
pub fn new_operator(name: &str) -> simforge_store::NewOperator {
    simforge_store::NewOperator {
        name: name.into(),
        mcc: "001".into(),
        mnc: "01".into(),
        iccid_prefix: "894944".into(),
        iccid_len: 19,
        spn: name.into(),
        out_columns: None,
    }
}

pub fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "op".into(),
        function_call_identifier: "1".into(),
    }
}

/// The SM-DP+ over `store` (a restarted server: nothing but what the store kept; the same
/// master key every time).
pub fn smdp_on<S: SmdpStore>(store: S, pki: &LabPki) -> Smdp<S> {
    let mut cfg = SmdpConfig::new(FQDN);
    cfg.port = 8443;
    let rng: Arc<dyn Random> = Arc::new(SystemRandom::new());
    let ka: Arc<dyn KeyAgreement> = Arc::new(SoftwareKeyAgreement::new(SystemRandom::new()));
    Smdp::new(
        store,
        cfg,
        SmdpKeys::from_pkis(&[pki]).unwrap(),
        rng,
        ka,
        Arc::new(MasterKey::from_bytes([7; 32])),
    )
}

pub async fn record<S: SmdpStore>(smdp: &Smdp<S>, op: i64, iccid: &str) -> ProfileRecord {
    let mut tx = smdp.store().begin().await.unwrap();
    let p = tx
        .profile(op, &iccid.parse().expect("iccid"))
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    p
}

pub async fn auth<S: SmdpStore>(
    smdp: &Smdp<S>,
    e: &mut TestEuicc,
    mid: &str,
) -> AuthenticateClientResponse {
    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .unwrap();
    smdp.authenticate_client(&e.authenticate_server(&ia, Some(mid)), NOW)
        .await
        .unwrap()
        .0
}

/// Adds profile `iccid` of type `t` for operator `op`.
pub async fn add<S: SmdpStore>(smdp: &Smdp<S>, op: i64, iccid: &str) {
    smdp.add_profile(
        op,
        NewProfile {
            iccid: iccid.parse().expect("iccid"),
            profile_type: "t".into(),
            metadata: ProfileMetadata {
                service_provider_name: "Simforge".into(),
                profile_name: "Test".into(),
                profile_class: 2,
                notification_address: Some(FQDN.into()),
            },
            package: Zeroizing::new(synthetic_package()),
            reuse_on_delete: true,
        },
        NOW,
    )
    .await
    .unwrap();
}

/// Adds profile [`ICCID`] for operator `op`, orders and releases it; returns the matchingId.
pub async fn released_order<S: SmdpStore>(smdp: &Smdp<S>, op: i64) -> String {
    add(smdp, op, ICCID).await;
    smdp.download_order(
        op,
        &DownloadOrderRequest {
            header: header(),
            eid: None,
            iccid: Some(ICCID.into()),
            profile_type: None,
        },
        NOW,
    )
    .await
    .unwrap();
    let (c, _) = smdp
        .confirm_order(
            op,
            &ConfirmOrderRequest {
                header: header(),
                iccid: ICCID.parse().expect("iccid"),
                eid: None,
                matching_id: None,
                confirmation_code: None,
                smds_address: None,
                release_flag: true,
            },
            NOW,
        )
        .await
        .unwrap();
    c.matching_id.unwrap().as_str().to_owned()
}

/// SGP.22 §3.1.3 retry and §5.6.4 notification idempotency across restarts: a profile's BPP
/// binding (sealed ECDH secret, otPKs, hostId) and its last processed notification survive
/// the store being opened anew by `open` (the same database). `smdp` holds operator `op`.
pub async fn binding_and_last_notification_survive_restarts<S, F, Fut>(
    smdp: Smdp<S>,
    op: i64,
    pki: &LabPki,
    open: F,
) where
    S: SmdpStore,
    F: Fn() -> Fut,
    Fut: Future<Output = Smdp<S>>,
{
    let mid = released_order(&smdp, op).await;

    // Attempt 1: the BPP is delivered, never loaded; the eUICC keeps its one-time key.
    let mut e = TestEuicc::from_lab(pki, 0);
    e.retained_otsk = Some([0x42; 32]);
    let ac = auth(&smdp, &mut e, &mid).await;
    let (bpp1, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();
    let otpk1 = e.last_otpk.clone();
    let first = e.load_bpp(&bpp1).initialise_secure_channel;
    let binding = record(&smdp, op, ICCID)
        .await
        .binding
        .expect("binding stored");
    assert_eq!(binding.euicc_otpk, otpk1);

    // Restart: the store is opened again.
    drop(smdp);
    let smdp = open().await;
    let rec = record(&smdp, op, ICCID).await;
    assert_eq!(rec.state, ProfileState::Downloaded);
    let kept = rec.binding.expect("binding after reopening");
    assert_eq!(kept, binding, "sealed ShS, otPKs and hostId kept as stored");

    // Attempt 2 after the restart: bppEuiccOtpk offered, reused; same otPK.DP and hostId.
    let ac = auth(&smdp, &mut e, &mid).await;
    let offered = ac
        .smdp_signed2
        .as_ref()
        .unwrap()
        .value()
        .bpp_euicc_otpk
        .clone();
    assert_eq!(offered.as_deref(), Some(&otpk1[..]));
    let (bpp2, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();
    assert_eq!(e.last_otpk, otpk1);
    let second = e.load_bpp(&bpp2);
    assert_eq!(second.initialise_secure_channel.smdp_otpk, first.smdp_otpk);
    assert_eq!(second.initialise_secure_channel.host_id, first.host_id);
    assert_eq!(
        second.content.profile.as_slice(),
        synthetic_package().as_slice()
    );

    // Installed: the PIR's (EID, seqNumber) is the last notification; the binding is gone.
    let pir_seq = e.next_seq;
    smdp.handle_notification(&e.pir(&iccid_to_bcd(ICCID), true), NOW)
        .await
        .unwrap();
    drop(smdp);
    let smdp = open().await;
    let rec = record(&smdp, op, ICCID).await;
    assert_eq!(rec.state, ProfileState::Installed);
    assert_eq!(rec.binding, None);
    assert_eq!(
        rec.last_notification,
        Some((e.eid.as_str().to_owned(), pir_seq))
    );

    // After another restart, a delete notification with an already-seen seqNumber changes
    // nothing (the idempotency check reads the persisted last notification); a new one
    // returns the profile to the inventory (reuse_on_delete).
    drop(smdp);
    let smdp = open().await;
    e.next_seq = pir_seq;
    smdp.handle_notification(&e.delete_notification(&iccid_to_bcd(ICCID)), NOW)
        .await
        .unwrap();
    assert_eq!(
        record(&smdp, op, ICCID).await.state,
        ProfileState::Installed
    );
    let delete_seq = e.next_seq;
    smdp.handle_notification(&e.delete_notification(&iccid_to_bcd(ICCID)), NOW)
        .await
        .unwrap();
    drop(smdp);
    let smdp = open().await;
    let rec = record(&smdp, op, ICCID).await;
    assert_eq!((rec.state, rec.eid), (ProfileState::Available, None));
    assert_eq!(
        rec.last_notification,
        Some((e.eid.as_str().to_owned(), delete_seq))
    );
}
