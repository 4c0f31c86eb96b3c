//! The storage contract's parts: the backends (`backends`), the scenarios of the SM-DP+
//! store (`smdp`), of the outbox (`outbox`) and of the operator settings (`settings`), and what they share: an SM-DP+ over any
//! [`SmdpStore`], driven by the sans-IO LPA + eUICC test client of simforge-smdp's tests.

pub mod access;
pub mod audit;
pub mod backends;
pub mod inventory;
pub mod outbox;
pub mod platform;
pub mod settings;
pub mod smdp;
pub mod smds;

use std::sync::Arc;

pub use crate::common::{FQDN, NOW, TestEuicc, lab, synthetic_package};
use simforge_asn1::json::{
    AuthenticateClientResponse, ConfirmOrderRequest, DownloadOrderRequest, RequestHeader,
};
use simforge_crypto::{KeyAgreement, Random, SoftwareKeyAgreement, SystemRandom};
use simforge_pki::LabPki;
use simforge_smdp::{
    NewProfile, ProfileMetadata, ProfileRecord, Smdp, SmdpConfig, SmdpKeys, SmdpStore, SmdpTx,
};
use simforge_vault::MasterKey;
use zeroize::Zeroizing;

pub const ICCID: &str = "8949449999999990023";
pub const ADDR: &str = "smdp.simforge.test:8443";

/// An operator of the SQL stores (the SM-DP+'s scenarios take tenant numbers as they are).
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
    smdp_with(store, pki, |_| {})
}

/// [`smdp_on`] with its configuration changed by `configure`.
pub fn smdp_with<S: SmdpStore>(
    store: S,
    pki: &LabPki,
    configure: impl FnOnce(&mut SmdpConfig),
) -> Smdp<S> {
    let mut cfg = SmdpConfig::new(FQDN);
    cfg.port = 8443;
    configure(&mut cfg);
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
            radio_access: Vec::new(),
        },
        NOW,
    )
    .await
    .unwrap();
}

/// Adds profile [`ICCID`] for operator `op`, orders and releases it; returns the matchingId.
pub async fn released_order<S: SmdpStore>(smdp: &Smdp<S>, op: i64) -> String {
    released_order_of(smdp, op, ICCID).await
}

/// Adds profile `iccid` for operator `op`, orders and releases it; returns the matchingId.
pub async fn released_order_of<S: SmdpStore>(smdp: &Smdp<S>, op: i64, iccid: &str) -> String {
    add(smdp, op, iccid).await;
    smdp.download_order(
        op,
        &DownloadOrderRequest {
            header: header(),
            eid: None,
            iccid: Some(iccid.into()),
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
                iccid: iccid.parse().expect("iccid"),
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
