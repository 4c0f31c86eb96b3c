//! The SM-DP+ state that a retried download and notification idempotency depend on — a
//! profile's BPP binding (the sealed ECDH secret of otSK.DP.ECKA, otPK.DP, hostId) and its last
//! processed notification — survives closing and reopening the SQLite database, as the
//! `MemoryStore` restart tests of simforge-smdp show for the in-memory store. Driven by the
//! sans-IO LPA + eUICC test client of simforge-smdp's tests.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "../../smdp/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::Arc;

use common::{FQDN, NOW, TestEuicc, lab, synthetic_package};
use simforge_asn1::json::{ConfirmOrderRequest, DownloadOrderRequest, RequestHeader};
use simforge_crypto::{KeyAgreement, Random, SoftwareKeyAgreement, SystemRandom};
use simforge_pki::{Curve, LabPki};
use simforge_smdp::profile::iccid_to_bcd;
use simforge_smdp::{
    NewProfile, ProfileMetadata, ProfileRecord, ProfileState, Smdp, SmdpConfig, SmdpKeys,
    SmdpStore, SmdpTx,
};
use simforge_store::{NewOperator, Store};
use simforge_vault::MasterKey;
use zeroize::Zeroizing;

const ICCID: &str = "8949449999999990023";
const ADDR: &str = "smdp.simforge.test:8443";

fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "op".into(),
        function_call_identifier: "1".into(),
    }
}

fn new_operator() -> NewOperator {
    NewOperator {
        name: "op".into(),
        mcc: "001".into(),
        mnc: "01".into(),
        iccid_prefix: "894944".into(),
        iccid_len: 19,
        spn: "Test".into(),
        out_columns: None,
    }
}

/// The SM-DP+ over the database at `path`, opened anew (a restarted server: nothing but what
/// the database kept; the same master key).
async fn open(path: &Path, pki: &LabPki) -> Smdp<Store> {
    let store = Store::open_sqlite(path).await.unwrap();
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

async fn record(smdp: &Smdp<Store>, op: i64) -> ProfileRecord {
    let mut tx = smdp.store().begin().await.unwrap();
    let p = tx.profile(op, ICCID).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    p
}

async fn auth(
    smdp: &Smdp<Store>,
    e: &mut TestEuicc,
    mid: &str,
) -> simforge_asn1::json::AuthenticateClientResponse {
    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .unwrap();
    smdp.authenticate_client(&e.authenticate_server(&ia, Some(mid)), NOW)
        .await
        .unwrap()
        .0
}

/// Adds the profile, orders and releases it; returns the operator id and the matchingId.
async fn released_order(smdp: &Smdp<Store>) -> (i64, String) {
    let op = smdp
        .store()
        .create_operator(&new_operator())
        .await
        .unwrap()
        .id;
    smdp.add_profile(
        op,
        NewProfile {
            iccid: ICCID.into(),
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
                iccid: ICCID.into(),
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
    (op, c.matching_id.unwrap().as_str().to_owned())
}

#[tokio::test]
async fn binding_and_last_notification_survive_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let pki = lab(Curve::P256, 1);
    let smdp = open(&path, &pki).await;
    let (op, mid) = released_order(&smdp).await;

    // Attempt 1: the BPP is delivered, never loaded; the eUICC keeps its one-time key.
    let mut e = TestEuicc::from_lab(&pki, 0);
    e.retained_otsk = Some([0x42; 32]);
    let ac = auth(&smdp, &mut e, &mid).await;
    let (bpp1, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();
    let otpk1 = e.last_otpk.clone();
    let first = e.load_bpp(&bpp1).initialise_secure_channel;
    let binding = record(&smdp, op).await.binding.expect("binding stored");
    assert_eq!(binding.euicc_otpk, otpk1);

    // Restart: the database is closed and opened again.
    drop(smdp);
    let smdp = open(&path, &pki).await;
    let rec = record(&smdp, op).await;
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
    let smdp = open(&path, &pki).await;
    let rec = record(&smdp, op).await;
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
    let smdp = open(&path, &pki).await;
    e.next_seq = pir_seq;
    smdp.handle_notification(&e.delete_notification(&iccid_to_bcd(ICCID)), NOW)
        .await
        .unwrap();
    assert_eq!(record(&smdp, op).await.state, ProfileState::Installed);
    let delete_seq = e.next_seq;
    smdp.handle_notification(&e.delete_notification(&iccid_to_bcd(ICCID)), NOW)
        .await
        .unwrap();
    drop(smdp);
    let smdp = open(&path, &pki).await;
    let rec = record(&smdp, op).await;
    assert_eq!((rec.state, rec.eid), (ProfileState::Available, None));
    assert_eq!(
        rec.last_notification,
        Some((e.eid.as_str().to_owned(), delete_seq))
    );
}

#[tokio::test]
async fn operator_reuse_on_delete_default_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let store = Store::open_sqlite(&path).await.unwrap();
    let op = store.create_operator(&new_operator()).await.unwrap();
    assert!(!op.reuse_on_delete, "Unavailable after delete by default");
    assert!(
        store
            .set_operator_reuse_on_delete("op", true)
            .await
            .unwrap()
            .reuse_on_delete
    );
    assert!(matches!(
        store.set_operator_reuse_on_delete("nobody", true).await,
        Err(simforge_store::StoreError::NotFound(_))
    ));
    drop(store);
    let store = Store::open_sqlite(&path).await.unwrap();
    assert!(store.operator("op").await.unwrap().reuse_on_delete);
    assert_eq!(store.operator_by_id(op.id).await.unwrap().name, "op");
}
