//! The SM-DP+ logic against SGP.22's JSON member table (`simforge_testkit::sgp22`): a whole
//! download whose every ES9+ request and response, serialised as the server sends it, has
//! exactly the specification's members (§6.5.2.6–10); ES2+ with ICCIDs padded with `F`
//! (§6.5.2.1–4), through the service functions.

use simforge_testkit::sgp22;

use simforge_asn1::json::{
    self, CancelOrderRequest, ConfirmOrderRequest, DownloadOrderRequest, FinalProfileStatus,
    ReleaseProfileRequest, RequestHeader,
};
use simforge_asn1::{MatchingId, StatusCode};
use simforge_pki::Curve as PkiCurve;
use simforge_smdp::profile::iccid_to_bcd;
use simforge_smdp::{
    MemoryStore, NewProfile, ProfileMetadata, ProfileState, Smdp, SmdpStore, SmdpTx,
};
use simforge_testkit::prelude::*;
use zeroize::Zeroizing;

const OP: i64 = 1;
const ICCID: &str = "8949449999999990023";
const ADDR: &str = "smdp.simforge.test:8443";

fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "op1".into(),
        function_call_identifier: "call-1".into(),
    }
}

async fn add(smdp: &Smdp<MemoryStore>, iccid: &str) {
    smdp.add_profile(
        OP,
        NewProfile {
            iccid: iccid.parse().expect("iccid"),
            profile_type: "ts48".into(),
            metadata: ProfileMetadata {
                service_provider_name: "Simforge".into(),
                profile_name: "Test profile".into(),
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
    .expect("add profile");
}

async fn state(smdp: &Smdp<MemoryStore>, iccid: &str) -> ProfileState {
    let mut tx = smdp.store().begin().await.expect("tx");
    tx.profile(OP, &iccid.parse().expect("iccid"))
        .await
        .expect("load")
        .expect("profile")
        .state
}

/// `what` serialised (as the server writes it) against the table.
fn check<T: serde::Serialize>(what: &str, members: &[sgp22::Member], v: &T) {
    sgp22::check(what, members, &json::to_json(v).expect("json"));
}

/// DownloadOrder by profile type, then ConfirmOrder, ReleaseProfile and CancelOrder naming
/// the ICCID padded with `F` or `f`; the answers carry the stored digits.
#[tokio::test]
async fn es2_functions_accept_f_padded_iccids() {
    let pki = lab(PkiCurve::P256, 1);
    let smdp = service(&[&pki]);
    add(&smdp, ICCID).await;
    let (r, _) = smdp
        .download_order(
            OP,
            &DownloadOrderRequest {
                header: header(),
                eid: None,
                iccid: None,
                profile_type: Some("ts48".into()),
            },
            NOW,
        )
        .await
        .expect("download order");
    check(
        "§6.5.2.1 response",
        sgp22::DOWNLOAD_ORDER.response.unwrap_or_default(),
        &r,
    );
    assert_eq!(r.iccid.as_deref(), Some(ICCID));
    let (r, _) = smdp
        .confirm_order(
            OP,
            &ConfirmOrderRequest {
                header: header(),
                iccid: format!("{ICCID}F"),
                eid: None,
                matching_id: Some(MatchingId::parse("K7QM2-XW9PD-R4TJH-B6NCV").expect("mid")),
                confirmation_code: None,
                smds_address: None,
                release_flag: false,
            },
            NOW,
        )
        .await
        .expect("confirm with F");
    check(
        "§6.5.2.2 response",
        sgp22::CONFIRM_ORDER.response.unwrap_or_default(),
        &r,
    );
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Confirmed);
    let (r, _) = smdp
        .release_profile(
            OP,
            &ReleaseProfileRequest {
                header: header(),
                iccid: format!("{ICCID}f"),
            },
            NOW,
        )
        .await
        .expect("release with f");
    check(
        "§6.5.2.4 response",
        sgp22::RELEASE_PROFILE.response.unwrap_or_default(),
        &r,
    );
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Released);
    let (r, events) = smdp
        .cancel_order(
            OP,
            &CancelOrderRequest {
                header: header(),
                iccid: format!("{ICCID}F"),
                eid: None,
                matching_id: Some(MatchingId::parse("K7QM2-XW9PD-R4TJH-B6NCV").expect("mid")),
                final_profile_status_indicator: FinalProfileStatus::Available,
            },
            NOW,
        )
        .await
        .expect("cancel with F");
    check(
        "§6.5.2.3 response",
        sgp22::CANCEL_ORDER.response.unwrap_or_default(),
        &r,
    );
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Available);
    // The events (and so HandleDownloadProgressInfo) carry the ICCID as stored.
    for e in &events {
        if let simforge_smdp::Event::ProfileState { iccid, .. } = e {
            assert_eq!(iccid, ICCID);
        }
    }
    // A malformed ICCID is "ICCID invalid", before anything is loaded.
    let err = smdp
        .release_profile(
            OP,
            &ReleaseProfileRequest {
                header: header(),
                iccid: format!("{ICCID}FF"),
            },
            NOW,
        )
        .await
        .expect_err("FF");
    assert_eq!(err.status_code(), Some(StatusCode::ICCID_INVALID));
}

/// A whole download: every request of the test client and every response of the SM-DP+,
/// serialised, against the table.
#[tokio::test]
async fn every_es9_message_of_a_download_has_the_spec_members() {
    let pki = lab(PkiCurve::P256, 1);
    let smdp = service(&[&pki]);
    add(&smdp, ICCID).await;
    smdp.download_order(
        OP,
        &DownloadOrderRequest {
            header: header(),
            eid: None,
            iccid: Some(format!("{ICCID}F")),
            profile_type: None,
        },
        NOW,
    )
    .await
    .expect("download order");
    let (co, _) = smdp
        .confirm_order(
            OP,
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
        .expect("confirm");
    let mid = co.matching_id.expect("matchingId");
    let mut e = TestEuicc::from_lab(&pki, 0);

    let req = e.initiate(ADDR);
    check(
        "§6.5.2.6 request",
        sgp22::INITIATE_AUTHENTICATION.request,
        &req,
    );
    let (ia, _) = smdp.initiate_authentication(&req, NOW).await.expect("IA");
    check(
        "§6.5.2.6 response",
        sgp22::INITIATE_AUTHENTICATION.response.unwrap_or_default(),
        &ia,
    );
    let req = e.authenticate_server(&ia, Some(mid.as_str()));
    check("§6.5.2.7 request", sgp22::AUTHENTICATE_CLIENT.request, &req);
    let (ac, _) = smdp.authenticate_client(&req, NOW).await.expect("AC");
    check(
        "§6.5.2.7 response",
        sgp22::AUTHENTICATE_CLIENT.response.unwrap_or_default(),
        &ac,
    );
    let req = e.prepare_download(&ac, None);
    check(
        "§6.5.2.8 request",
        sgp22::GET_BOUND_PROFILE_PACKAGE.request,
        &req,
    );
    let (bpp, _) = smdp
        .get_bound_profile_package(&req, NOW)
        .await
        .expect("BPP");
    check(
        "§6.5.2.8 response",
        sgp22::GET_BOUND_PROFILE_PACKAGE
            .response
            .unwrap_or_default(),
        &bpp,
    );
    e.load_bpp(&bpp);
    let req = e.pir(&iccid_to_bcd(ICCID), true);
    check("§6.5.2.9 request", sgp22::HANDLE_NOTIFICATION.request, &req);
    smdp.handle_notification(&req, NOW).await.expect("PIR");
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Installed);

    // CancelSession of a second session, and a failure answer.
    let mut e2 = TestEuicc::from_lab(&pki, 0);
    let (ia, _) = smdp
        .initiate_authentication(&e2.initiate(ADDR), NOW)
        .await
        .expect("IA 2");
    let _ = e2.authenticate_server(&ia, Some(mid.as_str()));
    let req = e2.cancel(
        simforge_asn1::rsp::CancelSessionReason::END_USER_REJECTION,
        &[2, 999, 10],
    );
    check("§6.5.2.10 request", sgp22::CANCEL_SESSION.request, &req);
    let reply = smdp.cancel_session_reply(&req, NOW).await;
    if let Ok(r) = &reply.result {
        check(
            "§6.5.2.10 response",
            sgp22::CANCEL_SESSION.response.unwrap_or_default(),
            r,
        );
    }
}
