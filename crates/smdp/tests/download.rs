//! Full downloads against the SM-DP+ logic with the sans-IO test client, and one test per
//! error code: each asserts the exact SGP.22 subject/reason code.

use simforge_asn1::json::{
    CancelOrderRequest, ConfirmOrderRequest, DownloadOrderRequest, FinalProfileStatus,
    ReleaseProfileRequest, RequestHeader,
};
use simforge_asn1::rsp::CancelSessionReason;
use simforge_asn1::{Eid, MatchingId, StatusCode, TransactionId};
use simforge_pki::Curve as PkiCurve;
use simforge_smdp::profile::iccid_to_bcd;
use simforge_smdp::{
    Error, Event, MemoryStore, NewProfile, ProfileMetadata, ProfileState, Smdp, SmdpStore, SmdpTx,
    Unseal, UnsealResult,
};
use simforge_testkit::prelude::*;

const OP: i64 = 1;
const ICCID: &str = "8949449999999990023";
const ADDR: &str = "smdp.simforge.test:8443";

fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "op1".into(),
        function_call_identifier: "call-1".into(),
    }
}

async fn add(smdp: &Smdp<MemoryStore>, op: i64, iccid: &str) {
    smdp.add_profile(
        op,
        NewProfile {
            iccid: iccid.parse().expect("iccid"),
            profile_type: "ts48".into(),
            metadata: ProfileMetadata {
                service_provider_name: "Simforge".into(),
                profile_name: "Test profile".into(),
                profile_class: 2,
                notification_address: Some(FQDN.into()),
            },
            package: package(iccid),
            reuse_on_delete: true,
            radio_access: Vec::new(),
        },
        NOW,
    )
    .await
    .expect("add profile");
}

/// Orders, confirms (with optional EID and CC) and optionally releases `iccid`.
async fn order(
    smdp: &Smdp<MemoryStore>,
    iccid: &str,
    eid: Option<Eid>,
    cc: Option<&str>,
    release: bool,
) -> MatchingId {
    smdp.download_order(
        OP,
        &DownloadOrderRequest {
            header: header(),
            eid,
            iccid: Some(iccid.into()),
            profile_type: None,
        },
        NOW,
    )
    .await
    .expect("download order");
    let (r, _) = smdp
        .confirm_order(
            OP,
            &ConfirmOrderRequest {
                header: header(),
                iccid: iccid.parse().expect("iccid"),
                eid: None,
                matching_id: None,
                confirmation_code: cc.map(str::to_owned),
                smds_address: None,
                release_flag: release,
            },
            NOW,
        )
        .await
        .expect("confirm");
    assert_eq!(r.smdp_address.as_deref(), Some(ADDR));
    r.matching_id.expect("matchingId")
}

fn code(e: &Error) -> StatusCode {
    e.status_code().expect("a protocol error")
}

async fn state(smdp: &Smdp<MemoryStore>, iccid: &str) -> ProfileState {
    let mut tx = smdp.store().begin().await.expect("tx");
    tx.profile(OP, &iccid.parse().expect("iccid"))
        .await
        .expect("load")
        .expect("profile")
        .state
}

async fn happy_path(curve: PkiCurve) {
    let pki = lab(curve, 1);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    let mid = order(&smdp, ICCID, None, Some("1234"), true).await;
    let mut e = TestEuicc::from_lab(&pki, 0);

    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let ac_req = e.authenticate_server(&ia, Some(mid.as_str()));
    let (ac, ev) = smdp.authenticate_client(&ac_req, NOW).await.expect("AC");
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::DownloadProgress {
            point: 1,
            failure: None,
            ..
        }
    )));
    let md = ac.profile_metadata.as_ref().expect("metadata").value();
    assert_eq!(md.iccid.0.as_ref(), iccid_to_bcd(ICCID).as_slice());
    let gbpp = e.prepare_download(&ac, Some("1234"));
    let (bpp, ev) = smdp
        .get_bound_profile_package(&gbpp, NOW)
        .await
        .expect("BPP");
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::DownloadProgress {
            point: 3,
            failure: None,
            ..
        }
    )));
    let parsed = e.load_bpp(&bpp);
    assert_eq!(parsed.content.profile.as_slice(), package(ICCID).as_slice());
    if ts48_template().is_some() {
        let p = simforge_saip::Profile::decode(&parsed.content.profile).expect("saip");
        assert_eq!(p.iccid().as_deref(), Some(ICCID));
        assert_eq!(p.imsi().as_deref(), Some("001019876543210"));
        assert_eq!(p.k(), Some(&[0x11; 16][..]));
        assert_eq!(p.opc(), Some(&[0x22; 16][..]));
        // Every NAA (the TS.48 USIM and ISIM) got the card's MILENAGE keys.
        assert_eq!(p.aka_parameters().count(), 2);
        for a in p.aka_parameters() {
            let x = a.algo_parameter().expect("algoParameter");
            assert_eq!(x.algorithm_id, simforge_saip::ALGORITHM_MILENAGE);
            assert_eq!(&x.key[..], &[0x11; 16][..]);
        }
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: TS.48 personalization check (../shared absent)");
    }
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Downloaded);

    let pir = e.pir(&iccid_to_bcd(ICCID), true);
    let (_, ev) = smdp.handle_notification(&pir, NOW).await.expect("PIR");
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::DownloadProgress {
            point: 4,
            failure: None,
            result_data: Some(_),
            ..
        }
    )));
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Installed);
    // Idempotent.
    let _ = smdp.handle_notification(&pir, NOW).await;
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Installed);

    // The session is gone: replaying any call answers "unknown transactionId".
    let err = smdp
        .get_bound_profile_package(&gbpp, NOW)
        .await
        .expect_err("replay");
    assert_eq!(code(&err), StatusCode::UNKNOWN_TRANSACTION_ID);

    // A delete notification returns the profile to the inventory (reuse_on_delete).
    let del = e.delete_notification(&iccid_to_bcd(ICCID));
    smdp.handle_notification(&del, NOW).await.expect("delete");
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Available);
    let snap = smdp.store().snapshot().await;
    assert!(snap.events.iter().any(|e| matches!(
        e,
        Event::ProfileState {
            to: ProfileState::Installed,
            ..
        }
    )));
}

#[tokio::test]
async fn download_nist_p256() {
    happy_path(PkiCurve::P256).await;
}

#[tokio::test]
async fn download_brainpool() {
    happy_path(PkiCurve::BrainpoolP256r1).await;
}

#[tokio::test]
async fn fresh_key_and_host_id_per_session() {
    let pki = lab(PkiCurve::P256, 1);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    let mid = order(&smdp, ICCID, None, None, true).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let mut e = TestEuicc::from_lab(&pki, 0);
        let (ia, _) = smdp
            .initiate_authentication(&e.initiate(ADDR), NOW)
            .await
            .expect("IA");
        let (ac, _) = smdp
            .authenticate_client(&e.authenticate_server(&ia, Some(mid.as_str())), NOW)
            .await
            .expect("AC");
        let (bpp, _) = smdp
            .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
            .await
            .expect("BPP");
        let parsed = e.load_bpp(&bpp);
        let isc = parsed.initialise_secure_channel;
        seen.push((ia.transaction_id.expect("tid"), isc.host_id, isc.smdp_otpk));
        // No PIR: the second attempt is a retried download of the same order.
        let cs = e.cancel(CancelSessionReason::LOAD_BPP_EXECUTION_ERROR, &[2, 999, 10]);
        smdp.cancel_session(&cs, NOW).await.expect("cancel");
        assert_eq!(state(&smdp, ICCID).await, ProfileState::Released);
    }
    assert_ne!(seen[0].0, seen[1].0);
    assert_ne!(seen[0].1, seen[1].1);
    assert_ne!(seen[0].2, seen[1].2);
}

// --------------------------------------------------------------------- negatives

struct Fixture {
    pki: simforge_pki::LabPki,
    smdp: Smdp<MemoryStore>,
    mid: MatchingId,
}

async fn fixture(cc: Option<&str>, release: bool) -> Fixture {
    let pki = lab(PkiCurve::P256, 2);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    let mid = order(&smdp, ICCID, None, cc, release).await;
    Fixture { pki, smdp, mid }
}

async fn authenticate(
    f: &Fixture,
    e: &mut TestEuicc,
    mid: Option<&str>,
) -> Result<simforge_asn1::json::AuthenticateClientResponse, Error> {
    let (ia, _) = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await?;
    let req = e.authenticate_server(&ia, mid);
    f.smdp.authenticate_client(&req, NOW).await.map(|(r, _)| r)
}

#[tokio::test]
async fn wrong_smdp_address() {
    let f = fixture(None, true).await;
    let e = TestEuicc::from_lab(&f.pki, 0);
    for addr in ["other.example.com", "smdp.simforge.test:9443"] {
        let err = f
            .smdp
            .initiate_authentication(&e.initiate(addr), NOW)
            .await
            .expect_err("address");
        assert_eq!(code(&err), StatusCode::INVALID_SMDP_ADDRESS);
    }
    // Without the port is fine too.
    f.smdp
        .initiate_authentication(&e.initiate(FQDN), NOW)
        .await
        .expect("no port");
}

#[tokio::test]
async fn unsupported_ci() {
    let f = fixture(None, true).await;
    let other = lab(PkiCurve::P256, 1);
    let e = TestEuicc::from_lab(&other, 0);
    let err = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect_err("ci");
    assert_eq!(code(&err), StatusCode::NO_SUPPORTED_CI_PUBLIC_KEY);
}

#[tokio::test]
async fn chain_to_unknown_ci() {
    let f = fixture(None, true).await;
    let other = lab(PkiCurve::P256, 1);
    // Claims our CI in EuiccInfo1 but presents a chain from another CI.
    let mut e = TestEuicc::from_lab(&other, 0);
    e.ci_pkid = f.pki.ci.subject_key_id().expect("ski").to_vec();
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("chain");
    assert_eq!(code(&err), StatusCode::UNKNOWN_CI_PUBLIC_KEY);
}

#[tokio::test]
async fn unknown_transaction_id() {
    let f = fixture(None, true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let (ia, _) = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let mut req = e.authenticate_server(&ia, Some(f.mid.as_str()));
    req.transaction_id = TransactionId::parse_hex("00112233").expect("tid");
    let err = f
        .smdp
        .authenticate_client(&req, NOW)
        .await
        .expect_err("tid");
    assert_eq!(code(&err), StatusCode::UNKNOWN_TRANSACTION_ID);
}

#[tokio::test]
async fn expired_session() {
    let f = fixture(None, true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let (ia, _) = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let req = e.authenticate_server(&ia, Some(f.mid.as_str()));
    let later = NOW + f.smdp.config().session_ttl_secs + 1;
    let err = f
        .smdp
        .authenticate_client(&req, later)
        .await
        .expect_err("expired");
    assert_eq!(code(&err), StatusCode::UNKNOWN_TRANSACTION_ID);
}

/// Sessions expired for longer than the retention are deleted by the purge; a call with a
/// purged transactionId fails as with an expired one (8.10.1/3.9).
#[tokio::test]
async fn expired_sessions_are_purged() {
    let f = fixture(None, true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let ac = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("AC");
    let expired = NOW + f.smdp.config().session_ttl_secs + 1;
    let retention = Smdp::<MemoryStore>::SESSION_RETENTION_SECS;
    // Expired, but kept for a late install notification.
    for at in [expired, expired + retention - 1] {
        assert_eq!(f.smdp.purge_expired_sessions(at).await.expect("purge"), 0);
    }
    assert_eq!(f.smdp.store().snapshot().await.sessions.len(), 1);
    let later = expired + retention;
    assert_eq!(
        f.smdp.purge_expired_sessions(later).await.expect("purge"),
        1
    );
    assert!(f.smdp.store().snapshot().await.sessions.is_empty());
    let err = f
        .smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), later)
        .await
        .expect_err("purged");
    assert_eq!(code(&err), StatusCode::UNKNOWN_TRANSACTION_ID);
}

/// A session no profile was bound to (InitiateAuthentication only: no credentials needed) is
/// purged as soon as it expired, not kept for a month like a bound one.
#[tokio::test]
async fn sessions_never_bound_are_purged_when_they_expire() {
    let f = fixture(None, true).await;
    let e = TestEuicc::from_lab(&f.pki, 0);
    f.smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let expires = NOW + f.smdp.config().session_ttl_secs;
    assert_eq!(
        f.smdp.purge_expired_sessions(expires).await.expect("purge"),
        0
    );
    assert_eq!(
        f.smdp
            .purge_expired_sessions(expires + 1)
            .await
            .expect("purge"),
        1
    );
    assert!(f.smdp.store().snapshot().await.sessions.is_empty());
}

#[tokio::test]
async fn bad_euicc_signature1() {
    let f = fixture(None, true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    e.corrupt_signature = true;
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("sig");
    assert_eq!(code(&err), StatusCode::EUICC_SIGNATURE_INVALID);
}

#[tokio::test]
async fn bad_euicc_signature2() {
    let f = fixture(None, true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let ac = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("AC");
    e.corrupt_signature = true;
    let req = e.prepare_download(&ac, None);
    let err = f
        .smdp
        .get_bound_profile_package(&req, NOW)
        .await
        .expect_err("sig2");
    assert_eq!(code(&err), StatusCode::EUICC_SIGNATURE_INVALID);
    // The session is over and the profile free again.
    assert_eq!(state(&f.smdp, ICCID).await, ProfileState::Released);
    let err = f
        .smdp
        .get_bound_profile_package(&req, NOW)
        .await
        .expect_err("replay");
    assert_eq!(code(&err), StatusCode::UNKNOWN_TRANSACTION_ID);
}

#[tokio::test]
async fn wrong_server_challenge() {
    let f = fixture(None, true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let (mut ia, _) = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    // The eUICC signs over a different serverChallenge (the client skips the DPauth check
    // by re-signing nothing: we alter the value it echoes).
    let mut s1 = ia.server_signed1.take().expect("s1").into_value();
    s1.server_challenge = [9u8; 16].into();
    let signed = simforge_asn1::json::Asn1B64::new(s1).expect("s1");
    // Re-sign as DPauth would not: patch the client to accept by verifying against raw.
    let dpauth = f.pki.smdp.auth.key.sign_raw(signed.raw());
    let mut tlv = vec![0x5F, 0x37, 0x40];
    tlv.extend_from_slice(&dpauth);
    ia.server_signed1 = Some(signed);
    ia.server_signature1 = Some(simforge_asn1::json::B64Bytes(tlv));
    let req = e.authenticate_server(&ia, Some(f.mid.as_str()));
    let err = f
        .smdp
        .authenticate_client(&req, NOW)
        .await
        .expect_err("challenge");
    assert_eq!(code(&err), StatusCode::EUICC_SIGNATURE_INVALID);
}

#[tokio::test]
async fn expired_euicc_certificate() {
    let f = fixture(None, true).await;
    let eid = simforge_pki::eid_from_prefix("89049032", 777).expect("eid");
    let past = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let mut e = issue_euicc(&f.pki, &eid, Some(past));
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("expired");
    assert_eq!(code(&err), StatusCode::EUICC_CERTIFICATE_EXPIRED);
}

#[tokio::test]
async fn eid_outside_eum_range() {
    let f = fixture(None, true).await;
    let eid = simforge_pki::eid_from_prefix("89044045", 1).expect("eid");
    let mut e = issue_euicc(&f.pki, &eid, None);
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("range");
    assert_eq!(code(&err), StatusCode::EID_OUTSIDE_EUM_RANGE);
}

#[tokio::test]
async fn eid_mismatch() {
    let pki = lab(PkiCurve::P256, 2);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    let bound = Eid::parse(&pki.euiccs[0].eid).expect("eid");
    let mid = order(&smdp, ICCID, Some(bound), None, true).await;
    let f = Fixture { pki, smdp, mid };
    let mut e = TestEuicc::from_lab(&f.pki, 1);
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("eid");
    assert_eq!(code(&err), StatusCode::EID_REFUSED);
    // The right eUICC still gets it.
    let mut e0 = TestEuicc::from_lab(&f.pki, 0);
    authenticate(&f, &mut e0, Some(f.mid.as_str()))
        .await
        .expect("bound EID");
}

#[tokio::test]
async fn unknown_matching_id() {
    let f = fixture(None, true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let err = authenticate(&f, &mut e, Some("NOPE-NOPE"))
        .await
        .expect_err("mid");
    assert_eq!(code(&err), StatusCode::MATCHING_ID_UNKNOWN);
    let err = authenticate(&f, &mut e, None)
        .await
        .expect_err("no mid, no order for EID");
    assert_eq!(code(&err), StatusCode::MATCHING_ID_REFUSED);
}

#[tokio::test]
async fn profile_not_released() {
    let f = fixture(None, false).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("not released");
    assert_eq!(code(&err), StatusCode::PROFILE_NOT_RELEASED);
    f.smdp
        .release_profile(
            OP,
            &ReleaseProfileRequest {
                header: header(),
                iccid: ICCID.parse().expect("iccid"),
            },
            NOW,
        )
        .await
        .expect("release");
    authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("released");
}

#[tokio::test]
async fn confirmation_code_until_retry_limit() {
    let f = fixture(Some("1234"), true).await;
    let max = f.smdp.config().max_cc_attempts;
    for attempt in 1..=max {
        let mut e = TestEuicc::from_lab(&f.pki, 0);
        let ac = authenticate(&f, &mut e, Some(f.mid.as_str()))
            .await
            .expect("AC");
        assert!(
            ac.smdp_signed2
                .as_ref()
                .expect("s2")
                .value()
                .cc_required_flag
        );
        let cc = if attempt == 1 { None } else { Some("9999") };
        let err = f
            .smdp
            .get_bound_profile_package(&e.prepare_download(&ac, cc), NOW)
            .await
            .expect_err("cc");
        let expected = if attempt == max {
            StatusCode::CONFIRMATION_CODE_RETRIES_EXCEEDED
        } else if attempt == 1 {
            StatusCode::CONFIRMATION_CODE_MISSING
        } else {
            StatusCode::CONFIRMATION_CODE_REFUSED
        };
        assert_eq!(code(&err), expected, "attempt {attempt}");
    }
    // Blocked from now on, even with the right code.
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("blocked");
    assert_eq!(code(&err), StatusCode::CONFIRMATION_CODE_RETRIES_EXCEEDED);
    let snap = f.smdp.store().snapshot().await;
    assert!(snap.events.iter().any(|e| matches!(
        e,
        Event::DownloadProgress {
            point: 2,
            failure: Some(_),
            ..
        }
    )));
}

#[tokio::test]
async fn expired_order() {
    let f = fixture(None, true).await;
    let ttl = f.smdp.config().order_ttl_secs.expect("ttl");
    let later = NOW + ttl + 1;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let (ia, _) = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), later)
        .await
        .expect("IA");
    let req = e.authenticate_server(&ia, Some(f.mid.as_str()));
    let err = f
        .smdp
        .authenticate_client(&req, later)
        .await
        .expect_err("expired");
    assert_eq!(code(&err), StatusCode::ORDER_EXPIRED);
}

#[tokio::test]
async fn download_retries_exceeded() {
    let f = fixture(None, true).await;
    let max = f.smdp.config().max_download_attempts;
    for _ in 0..max {
        let mut e = TestEuicc::from_lab(&f.pki, 0);
        let ac = authenticate(&f, &mut e, Some(f.mid.as_str()))
            .await
            .expect("AC");
        f.smdp
            .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
            .await
            .expect("BPP");
        let pir = e.pir(&iccid_to_bcd(ICCID), false);
        f.smdp.handle_notification(&pir, NOW).await.expect("PIR");
    }
    assert_eq!(state(&f.smdp, ICCID).await, ProfileState::Error);
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("retries");
    assert_eq!(code(&err), StatusCode::DOWNLOAD_RETRIES_EXCEEDED);
}

#[tokio::test]
async fn concurrent_session_cannot_take_a_bound_profile() {
    let f = fixture(None, true).await;
    let mut a = TestEuicc::from_lab(&f.pki, 0);
    authenticate(&f, &mut a, Some(f.mid.as_str()))
        .await
        .expect("A");
    // Another eUICC (the same one would supersede its own abandoned session).
    let mut b = TestEuicc::from_lab(&f.pki, 1);
    let err = authenticate(&f, &mut b, Some(f.mid.as_str()))
        .await
        .expect_err("B");
    assert_eq!(code(&err), StatusCode::BPP_NOT_AVAILABLE);
}

#[tokio::test]
async fn out_of_order_calls() {
    let f = fixture(None, true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let (ia, _) = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let req = e.authenticate_server(&ia, Some(f.mid.as_str()));
    let (ac, _) = f.smdp.authenticate_client(&req, NOW).await.expect("AC");
    // AuthenticateClient replayed: the session is past that step.
    let err = f
        .smdp
        .authenticate_client(&req, NOW)
        .await
        .expect_err("replay");
    assert_eq!(code(&err), StatusCode::UNKNOWN_TRANSACTION_ID);
    // And the failure ended the session.
    let err = f
        .smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .expect_err("ended");
    assert_eq!(code(&err), StatusCode::UNKNOWN_TRANSACTION_ID);
}

#[tokio::test]
async fn cancel_session_checks_oid_and_ends_session() {
    let f = fixture(None, true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("AC");
    let err = f
        .smdp
        .cancel_session(&e.cancel(CancelSessionReason::POSTPONED, &[1, 2, 3]), NOW)
        .await
        .expect_err("oid");
    assert_eq!(code(&err), StatusCode::INVALID_SMDP_OID);
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("AC again");
    f.smdp
        .cancel_session(
            &e.cancel(CancelSessionReason::METADATA_MISMATCH, &[2, 999, 10]),
            NOW,
        )
        .await
        .expect("cancel");
    assert_eq!(state(&f.smdp, ICCID).await, ProfileState::Error);
}

/// SGP.22 §3.1.5 / §5.6.5 ES9+.CancelSession with reason endUserRejection (what lpac sends
/// after any local failure, e.g. a missing confirmation code): by default the order stays
/// (Released, the same activation code downloads it again); an operator whose policy says
/// `end-user-rejection=error` gets Error, and resets the profile to Released.
#[tokio::test]
async fn cancel_session_policy_end_user_rejection_keeps_the_order_unless_the_operator_says_otherwise()
 {
    let f = fixture(Some("1234"), true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("AC");
    f.smdp
        .cancel_session(
            &e.cancel(CancelSessionReason::END_USER_REJECTION, &[2, 999, 10]),
            NOW,
        )
        .await
        .expect("cancel");
    assert_eq!(state(&f.smdp, ICCID).await, ProfileState::Released);
    // The same activation code works again.
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("AC after endUserRejection");

    // The operator's policy: endUserRejection fails the order.
    f.smdp
        .store()
        .set_cancel_session_policy(OP, "end-user-rejection=error".parse().expect("policy"))
        .await;
    f.smdp
        .cancel_session(
            &e.cancel(CancelSessionReason::END_USER_REJECTION, &[2, 999, 10]),
            NOW,
        )
        .await
        .expect("cancel");
    assert_eq!(state(&f.smdp, ICCID).await, ProfileState::Error);
    let last = f.smdp.store().snapshot().await.events.pop().expect("event");
    assert!(
        matches!(
            last,
            Event::ProfileState {
                from: ProfileState::Released,
                to: ProfileState::Error,
                ..
            }
        ),
        "{last:?}"
    );
    // Another operator cannot reset it; a profile not in Error is not reset.
    assert_eq!(
        simforge_smdp::reset_profile(
            f.smdp.store(),
            2,
            ICCID,
            simforge_smdp::ResetTarget::Released,
            NOW
        )
        .await,
        Err(Error::IccidUnknown)
    );
    // The operator resets it: Released with its order, the activation code works again.
    assert_eq!(
        simforge_smdp::reset_profile(
            f.smdp.store(),
            OP,
            ICCID,
            simforge_smdp::ResetTarget::Released,
            NOW
        )
        .await,
        Ok(ProfileState::Error)
    );
    assert_eq!(state(&f.smdp, ICCID).await, ProfileState::Released);
    assert!(matches!(
        simforge_smdp::reset_profile(
            f.smdp.store(),
            OP,
            ICCID,
            simforge_smdp::ResetTarget::Released,
            NOW
        )
        .await,
        Err(Error::IccidInvalidState("released"))
    ));
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("AC after reset");
    f.smdp
        .cancel_session(
            &e.cancel(CancelSessionReason::POSTPONED, &[2, 999, 10]),
            NOW,
        )
        .await
        .expect("cancel");
    assert_eq!(state(&f.smdp, ICCID).await, ProfileState::Released);
}

// ------------------------------------------------------------------------- ES2+

#[tokio::test]
async fn es2_errors_and_tenant_isolation() {
    let pki = lab(PkiCurve::P256, 1);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    add(&smdp, 2, "8949449999999990031").await;
    // Operator 1 cannot see operator 2's profile.
    let err = smdp
        .download_order(
            OP,
            &DownloadOrderRequest {
                header: header(),
                eid: None,
                iccid: Some("8949449999999990031".into()),
                profile_type: None,
            },
            NOW,
        )
        .await
        .expect_err("tenant");
    assert_eq!(code(&err), StatusCode::ICCID_UNKNOWN);
    let err = smdp
        .release_profile(
            OP,
            &ReleaseProfileRequest {
                header: header(),
                iccid: "8949449999999990031".parse().expect("iccid"),
            },
            NOW,
        )
        .await
        .expect_err("tenant");
    assert_eq!(code(&err), StatusCode::ICCID_UNKNOWN);
    let err = smdp
        .download_order(
            OP,
            &DownloadOrderRequest {
                header: header(),
                eid: None,
                iccid: Some("12ab".into()),
                profile_type: None,
            },
            NOW,
        )
        .await
        .expect_err("invalid");
    assert_eq!(code(&err), StatusCode::ICCID_INVALID);
    // By type.
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
        .expect("by type");
    assert_eq!(r.iccid.as_deref(), Some(ICCID));
    let err = smdp
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
        .expect_err("none left");
    assert_eq!(code(&err), StatusCode::NO_MORE_PROFILES);
    let err = smdp
        .download_order(
            OP,
            &DownloadOrderRequest {
                header: header(),
                eid: None,
                iccid: Some(ICCID.into()),
                profile_type: None,
            },
            NOW,
        )
        .await
        .expect_err("in use");
    assert_eq!(code(&err), StatusCode::ICCID_ALREADY_IN_USE);
    let err = smdp
        .release_profile(
            OP,
            &ReleaseProfileRequest {
                header: header(),
                iccid: ICCID.parse().expect("iccid"),
            },
            NOW,
        )
        .await
        .expect_err("not confirmed");
    assert_eq!(code(&err), StatusCode::ICCID_INVALID_STATE);
    // A matchingId already used by another order conflicts.
    add(&smdp, OP, "8949449999999990049").await;
    let mid = order(&smdp, "8949449999999990049", None, None, true).await;
    let err = smdp
        .confirm_order(
            OP,
            &ConfirmOrderRequest {
                header: header(),
                iccid: ICCID.parse().expect("iccid"),
                eid: None,
                matching_id: Some(mid),
                confirmation_code: None,
                smds_address: None,
                release_flag: true,
            },
            NOW,
        )
        .await
        .expect_err("conflict");
    assert_eq!(code(&err), StatusCode::MATCHING_ID_CONFLICT);
    // CancelOrder puts it back.
    smdp.cancel_order(
        OP,
        &CancelOrderRequest {
            header: header(),
            iccid: ICCID.parse().expect("iccid"),
            eid: None,
            matching_id: None,
            final_profile_status_indicator: FinalProfileStatus::Available,
        },
        NOW,
    )
    .await
    .expect("cancel order");
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Available);
    let counts = smdp.inventory(OP).await.expect("inventory");
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 2);
}

#[tokio::test]
async fn secrets_are_sealed_at_rest() {
    let f = fixture(None, true).await;
    let snap = f.smdp.store().snapshot().await;
    let rec = snap.profiles.get(ICCID).expect("profile");
    let plain = package(ICCID);
    assert_ne!(rec.package.0, *plain);
    if ts48_template().is_some() {
        assert!(
            !rec.package.0.windows(16).any(|w| w == [0x11; 16]),
            "K in clear"
        );
    }
    assert!(!format!("{rec:?}").contains("1111"));
}

// ------------------------------------------------- SGP.22 sections added in session 2

async fn set_requirements(smdp: &Smdp<MemoryStore>, iccid: &str, saip: Option<(u8, u8)>) {
    let mut tx = smdp.store().begin().await.expect("tx");
    let mut p = tx
        .profile(OP, &iccid.parse().expect("iccid"))
        .await
        .expect("load")
        .expect("profile");
    p.requirements.saip_version = saip;
    tx.put_profile(&p).await.expect("save");
    tx.commit().await.expect("commit");
}

fn point_events(events: &[Event], want: u32) -> Vec<Option<(String, String)>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::DownloadProgress { point, failure, .. } if *point == want => {
                Some(failure.clone())
            }
            _ => None,
        })
        .collect()
}

async fn profile(smdp: &Smdp<MemoryStore>, iccid: &str) -> simforge_smdp::ProfileRecord {
    let mut tx = smdp.store().begin().await.expect("tx");
    tx.profile(OP, &iccid.parse().expect("iccid"))
        .await
        .expect("load")
        .expect("profile")
}

/// SGP.22 §3.1.3.2 eligibility check: the profile's SAIP version against
/// euiccInfo2.profileVersion → 8.2.5 / 4.3, the profile stays unbound, point 1 reports it.
#[tokio::test]
async fn sgp22_3_1_3_2_eligibility_profile_version() {
    let f = fixture(None, true).await;
    let rec = profile(&f.smdp, ICCID).await;
    assert_eq!(
        rec.requirements.package_size,
        Some(package(ICCID).len() as u64)
    );
    if ts48_template().is_some() {
        // Read from the TS.48 package's ProfileHeader at import.
        assert_eq!(rec.requirements.saip_version, Some((2, 3)));
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: SAIP version read from TS.48 (../shared absent)");
    }
    set_requirements(&f.smdp, ICCID, Some((2, 3))).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    e.profile_version = (2, 1, 0);
    let (ia, _) = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let err = f
        .smdp
        .authenticate_client(&e.authenticate_server(&ia, Some(f.mid.as_str())), NOW)
        .await
        .expect_err("not eligible");
    assert_eq!(code(&err), StatusCode::NO_ELIGIBLE_PROFILE);
    let rec = profile(&f.smdp, ICCID).await;
    assert_eq!(rec.state, ProfileState::Released);
    assert_eq!(rec.eid, None, "left unbound");
    assert_eq!(rec.session, None);
    let snap = f.smdp.store().snapshot().await;
    assert_eq!(
        point_events(&snap.events, 1),
        vec![Some(("8.2.5".to_owned(), "4.3".to_owned()))]
    );
    // The same eUICC at a supported version downloads it.
    e.profile_version = (2, 3, 0);
    let ac = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("eligible");
    f.smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .expect("BPP");
}

/// SGP.22 §3.1.3.2 eligibility check: the package size against the free non-volatile memory
/// of euiccInfo2.extCardResource → 8.1 / 4.8.
#[tokio::test]
async fn sgp22_3_1_3_2_eligibility_free_memory() {
    let f = fixture(None, true).await;
    let size = u32::try_from(package(ICCID).len()).expect("size");
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    e.free_nvm = size - 1;
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("memory");
    assert_eq!(code(&err), StatusCode::INSUFFICIENT_EUICC_MEMORY);
    let rec = profile(&f.smdp, ICCID).await;
    assert_eq!((rec.state, rec.eid), (ProfileState::Released, None));
    let snap = f.smdp.store().snapshot().await;
    assert_eq!(
        point_events(&snap.events, 1),
        vec![Some(("8.1".to_owned(), "4.8".to_owned()))]
    );
    e.free_nvm = size;
    authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("fits exactly");
}

/// One session up to AuthenticateClient.
async fn auth_session(
    smdp: &Smdp<MemoryStore>,
    e: &mut TestEuicc,
    mid: &str,
) -> simforge_asn1::json::AuthenticateClientResponse {
    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let (ac, _) = smdp
        .authenticate_client(&e.authenticate_server(&ia, Some(mid)), NOW)
        .await
        .expect("AC");
    ac
}

/// SGP.22 §3.1.3 / §5.6.2: a retried download. The SM-DP+ offers the eUICC one-time key of
/// the previous binding (smdpSigned2.bppEuiccOtpk); when the eUICC reuses it, the SM-DP+
/// reuses its otPK.DP and hostId (the retained otSK.DP, sealed in the store, survives a
/// restart); when the eUICC sends a new key, the binding is fresh.
#[tokio::test]
async fn sgp22_5_6_2_bpp_euicc_otpk_reuse_on_retry() {
    let pki = lab(PkiCurve::P256, 1);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    let mid = order(&smdp, ICCID, None, None, true).await;
    let mut e = TestEuicc::from_lab(&pki, 0);
    e.retained_otsk = Some([0x42; 32]);

    // Attempt 1: the BPP is delivered but never loaded (the LPA is gone).
    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    assert!(
        ac.smdp_signed2
            .as_ref()
            .expect("s2")
            .value()
            .bpp_euicc_otpk
            .is_none()
    );
    let (bpp1, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .expect("BPP 1");
    let otpk1 = e.last_otpk.clone();
    let first = e.load_bpp(&bpp1).initialise_secure_channel;
    let snap = smdp.store().snapshot().await;
    let binding = snap.profiles[ICCID].binding.clone().expect("binding kept");
    assert!(!format!("{binding:?}").contains(&hex::encode_upper(&binding.sealed_shs)));

    // The server restarts: only the store's content survives.
    let smdp = service_on(&[&pki], MemoryStore::from_data(snap));

    // Attempt 2, same eUICC, same activation code: bppEuiccOtpk offered and reused.
    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    let offered = ac
        .smdp_signed2
        .as_ref()
        .expect("s2")
        .value()
        .bpp_euicc_otpk
        .clone();
    assert_eq!(offered.as_deref(), Some(&otpk1[..]));
    let (bpp2, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .expect("BPP 2");
    assert_eq!(e.last_otpk, otpk1);
    let second = e.load_bpp(&bpp2);
    assert_eq!(second.initialise_secure_channel.smdp_otpk, first.smdp_otpk);
    assert_eq!(second.initialise_secure_channel.host_id, first.host_id);
    assert_eq!(second.content.profile.as_slice(), package(ICCID).as_slice());

    // Attempt 3: the eUICC did not keep its key → a fresh SM-DP+ key pair.
    e.retained_otsk = None;
    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    let (bpp3, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .expect("BPP 3");
    assert_ne!(e.last_otpk, otpk1);
    let third = e.load_bpp(&bpp3).initialise_secure_channel;
    assert_ne!(third.smdp_otpk, first.smdp_otpk);
    assert_ne!(third.host_id, first.host_id);
    // Installed: the retained key is destroyed.
    smdp.handle_notification(&e.pir(&iccid_to_bcd(ICCID), true), NOW)
        .await
        .expect("PIR");
    let rec = profile(&smdp, ICCID).await;
    assert_eq!((rec.state, rec.binding), (ProfileState::Installed, None));
}

/// SGP.22 §3.1.3: a download interrupted after AuthenticateClient, and again after
/// GetBoundProfilePackage, then the server killed (all in-memory state dropped, only the
/// store kept): the same activation code is retried by the same eUICC, its earlier session
/// superseded; another eUICC still cannot take the profile.
#[tokio::test]
async fn sgp22_3_1_3_retry_after_interrupted_download_and_restart() {
    let pki = lab(PkiCurve::P256, 2);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    let mid = order(&smdp, ICCID, None, Some("1234"), true).await;
    let mut e = TestEuicc::from_lab(&pki, 0);

    // Interrupted after AuthenticateClient (no CancelSession: the LPA vanished).
    let ac_old = auth_session(&smdp, &mut e, mid.as_str()).await;
    let gbpp_old = e.prepare_download(&ac_old, Some("1234"));
    // Another eUICC cannot take the profile meanwhile.
    let mut other = TestEuicc::from_lab(&pki, 1);
    let (ia, _) = smdp
        .initiate_authentication(&other.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let err = smdp
        .authenticate_client(&other.authenticate_server(&ia, Some(mid.as_str())), NOW)
        .await
        .expect_err("other eUICC");
    assert_eq!(code(&err), StatusCode::BPP_NOT_AVAILABLE);

    // The same eUICC retries: a new session supersedes the abandoned one.
    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    let err = smdp
        .get_bound_profile_package(&gbpp_old, NOW)
        .await
        .expect_err("superseded session");
    assert_eq!(code(&err), StatusCode::BPP_NOT_AVAILABLE);
    // Interrupted after GetBoundProfilePackage (BPP never loaded).
    smdp.get_bound_profile_package(&e.prepare_download(&ac, Some("1234")), NOW)
        .await
        .expect("BPP");
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Downloaded);

    // kill -9: only what the store persisted survives.
    let snap = smdp.store().snapshot().await;
    drop(smdp);
    let smdp = service_on(&[&pki], MemoryStore::from_data(snap));
    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    let (bpp, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, Some("1234")), NOW)
        .await
        .expect("BPP after restart");
    let parsed = e.load_bpp(&bpp);
    assert_eq!(parsed.content.profile.as_slice(), package(ICCID).as_slice());
    smdp.handle_notification(&e.pir(&iccid_to_bcd(ICCID), true), NOW)
        .await
        .expect("PIR");
    let rec = profile(&smdp, ICCID).await;
    assert_eq!(rec.state, ProfileState::Installed);
    assert_eq!(rec.download_attempts, 2);
}

/// SGP.22 §3.1.3: results of a session that a retry superseded. Its BPP did get installed
/// and the success arrives late: it counts (Installed; the retry can no longer fetch a BPP).
/// Its failure arrives late: it changes nothing, the retry goes on.
#[tokio::test]
async fn sgp22_3_1_3_result_of_a_superseded_session() {
    const ICCID2: &str = "8949449999999990031";
    let pki = lab(PkiCurve::P256, 1);
    let smdp = service(&[&pki]);
    let mut e = TestEuicc::from_lab(&pki, 0);
    for (iccid, late_success) in [(ICCID, true), (ICCID2, false)] {
        add(&smdp, OP, iccid).await;
        let mid = order(&smdp, iccid, None, None, true).await;
        let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
        let (bpp, _) = smdp
            .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
            .await
            .expect("BPP");
        e.load_bpp(&bpp);
        let late = e.pir(&iccid_to_bcd(iccid), late_success);
        // The retry supersedes the session.
        let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
        let (_, ev) = smdp
            .handle_notification(&late, NOW)
            .await
            .expect("late PIR");
        if late_success {
            assert_eq!(point_events(&ev, 4), vec![None]);
            assert_eq!(state(&smdp, iccid).await, ProfileState::Installed);
            let err = smdp
                .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
                .await
                .expect_err("installed");
            assert_eq!(code(&err), StatusCode::BPP_NOT_AVAILABLE);
        } else {
            assert!(ev.is_empty(), "{ev:?}");
            assert_eq!(state(&smdp, iccid).await, ProfileState::Downloaded);
            let (bpp, _) = smdp
                .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
                .await
                .expect("retry goes on");
            e.load_bpp(&bpp);
            smdp.handle_notification(&e.pir(&iccid_to_bcd(iccid), true), NOW)
                .await
                .expect("PIR");
            assert_eq!(state(&smdp, iccid).await, ProfileState::Installed);
        }
    }
}

/// SGP.22 §4.5.2.1 / §5.6.5: the SM-DP+ OID is the subjectAltName registeredID of its
/// DPauth certificate (the configured OID only applies to a certificate without one).
#[tokio::test]
async fn sgp22_5_6_5_smdp_oid_from_dpauth_certificate() {
    let pki = lab(PkiCurve::P256, 1);
    assert_eq!(
        pki.smdp.auth.cert.registered_id().as_deref(),
        Some("2.999.10")
    );
    assert_eq!(pki.ci.registered_id().as_deref(), Some("2.999.1"));
    let sgp26 = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sgp26");
    match simforge_pki::load_sgp26_curve(&sgp26, PkiCurve::P256) {
        Ok(set) => {
            let oid = set.smdp.auth.cert.registered_id();
            assert!(
                oid.as_deref().is_some_and(|o| o.starts_with("2.999.")),
                "{oid:?}"
            );
        }
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set: a missing peer or ../shared fails the test instead of skipping it"
            );
            println!("skipped: SGP.26 DPauth registeredID (../shared absent)");
        }
    }
    // The configured OID disagrees: the certificate's wins.
    let smdp = service_with(&[&pki], MemoryStore::new(), |c| {
        c.oid = "1.3.6.1.4.1.99".into()
    });
    add(&smdp, OP, ICCID).await;
    let mid = order(&smdp, ICCID, None, None, true).await;
    let mut e = TestEuicc::from_lab(&pki, 0);
    // A ProfileInstallationResult naming another SM-DP+ OID is not taken.
    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    let (bpp, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .expect("BPP");
    e.load_bpp(&bpp);
    e.pir_oid = vec![1, 3, 6, 1, 4, 1, 99];
    let err = smdp
        .handle_notification(&e.pir(&iccid_to_bcd(ICCID), false), NOW)
        .await
        .expect_err("PIR for another SM-DP+");
    assert_eq!(code(&err), StatusCode::INVALID_SMDP_OID);
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Downloaded);
    // The retry below ends that session (superseded).
    auth_session(&smdp, &mut e, mid.as_str()).await;
    let err = smdp
        .cancel_session(
            &e.cancel(CancelSessionReason::POSTPONED, &[1, 3, 6, 1, 4, 1, 99]),
            NOW,
        )
        .await
        .expect_err("configured OID is not the certificate's");
    assert_eq!(code(&err), StatusCode::INVALID_SMDP_OID);
    auth_session(&smdp, &mut e, mid.as_str()).await;
    smdp.cancel_session(
        &e.cancel(CancelSessionReason::POSTPONED, &[2, 999, 10]),
        NOW,
    )
    .await
    .expect("certificate OID");
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Released);
}

async fn install(smdp: &Smdp<MemoryStore>, e: &mut TestEuicc, iccid: &str) {
    let mid = order(smdp, iccid, None, None, true).await;
    let ac = auth_session(smdp, e, mid.as_str()).await;
    let (bpp, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .expect("BPP");
    e.load_bpp(&bpp);
    smdp.handle_notification(&e.pir(&iccid_to_bcd(iccid), true), NOW)
        .await
        .expect("PIR");
    assert_eq!(state(smdp, iccid).await, ProfileState::Installed);
}

/// SGP.22 §3.5 / §5.6.4: a delete notification returns the profile to the operator as it
/// configured (Available for reuse, or Unavailable); HandleNotification is idempotent — the
/// same notification again, or an older one replayed after the profile was downloaded
/// again, changes nothing and records no event.
#[tokio::test]
async fn sgp22_5_6_4_delete_notification_and_idempotency() {
    let pki = lab(PkiCurve::P256, 1);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    let mut e = TestEuicc::from_lab(&pki, 0);
    install(&smdp, &mut e, ICCID).await;
    let pir_again = e.pir(&iccid_to_bcd(ICCID), true);
    let del = e.delete_notification(&iccid_to_bcd(ICCID));
    let (_, ev) = smdp.handle_notification(&del, NOW).await.expect("delete");
    assert_eq!(ev.len(), 2);
    assert_eq!(point_events(&ev, 5), vec![None]);
    let Event::DownloadProgress { eid, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(eid.as_ref(), Some(&e.eid));
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Available);
    let (_, ev) = smdp.handle_notification(&del, NOW).await.expect("again");
    assert!(ev.is_empty(), "{ev:?}");

    // Reused: ordered, downloaded and installed again on the same eUICC; the old delete
    // notification replayed must not take it away.
    install(&smdp, &mut e, ICCID).await;
    let before = smdp.store().snapshot().await.events.len();
    let (_, ev) = smdp.handle_notification(&del, NOW).await.expect("replay");
    assert!(ev.is_empty(), "{ev:?}");
    let _ = smdp.handle_notification(&pir_again, NOW).await;
    assert_eq!(state(&smdp, ICCID).await, ProfileState::Installed);
    assert_eq!(smdp.store().snapshot().await.events.len(), before);

    // A profile configured not to be reused becomes Unavailable.
    const ICCID2: &str = "8949449999999990031";
    smdp.add_profile(
        OP,
        NewProfile {
            iccid: ICCID2.parse().expect("iccid"),
            profile_type: "ts48".into(),
            metadata: ProfileMetadata {
                service_provider_name: "Simforge".into(),
                profile_name: "Test profile".into(),
                profile_class: 2,
                notification_address: Some(FQDN.into()),
            },
            package: package(ICCID2),
            reuse_on_delete: false,
            radio_access: Vec::new(),
        },
        NOW,
    )
    .await
    .expect("add");
    install(&smdp, &mut e, ICCID2).await;
    let del2 = e.delete_notification(&iccid_to_bcd(ICCID2));
    smdp.handle_notification(&del2, NOW)
        .await
        .expect("delete 2");
    assert_eq!(state(&smdp, ICCID2).await, ProfileState::Unavailable);
    let (_, ev) = smdp.handle_notification(&del2, NOW).await.expect("again");
    assert!(ev.is_empty());
}

/// SGP.22 §5.3.5 HandleDownloadProgressInfo: every notification point the SM-DP+ reaches
/// is recorded for the operator — 1 eligibility and retry-limit check (success and
/// failure), 2 confirmation failure, 3 BPP download, 4 BPP installation (success and
/// failure, with the PIR as resultData).
#[tokio::test]
async fn sgp22_5_3_5_download_progress_points() {
    let f = fixture(Some("1234"), true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    e.free_nvm = 1;
    authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("point 1 failure");
    e.free_nvm = 0x0004_0000;
    let ac = auth_session(&f.smdp, &mut e, f.mid.as_str()).await;
    f.smdp
        .get_bound_profile_package(&e.prepare_download(&ac, Some("0000")), NOW)
        .await
        .expect_err("point 2");
    let ac = auth_session(&f.smdp, &mut e, f.mid.as_str()).await;
    let (bpp, _) = f
        .smdp
        .get_bound_profile_package(&e.prepare_download(&ac, Some("1234")), NOW)
        .await
        .expect("point 3");
    e.load_bpp(&bpp);
    f.smdp
        .handle_notification(&e.pir(&iccid_to_bcd(ICCID), false), NOW)
        .await
        .expect("point 4 failure");
    let ac = auth_session(&f.smdp, &mut e, f.mid.as_str()).await;
    let (bpp, _) = f
        .smdp
        .get_bound_profile_package(&e.prepare_download(&ac, Some("1234")), NOW)
        .await
        .expect("point 3 again");
    e.load_bpp(&bpp);
    f.smdp
        .handle_notification(&e.pir(&iccid_to_bcd(ICCID), true), NOW)
        .await
        .expect("point 4");
    let events = f.smdp.store().snapshot().await.events;
    let fail = |s: &str, r: &str| Some((s.to_owned(), r.to_owned()));
    assert_eq!(
        point_events(&events, 1),
        vec![fail("8.1", "4.8"), None, None, None]
    );
    assert_eq!(point_events(&events, 2), vec![fail("8.2.7", "3.8")]);
    assert_eq!(point_events(&events, 3), vec![None, None]);
    assert_eq!(point_events(&events, 4), vec![fail("8.2", "3.7"), None]);
    assert!(events.iter().all(|e| match e {
        Event::DownloadProgress {
            point: 4,
            result_data,
            ..
        } => result_data.is_some(),
        _ => true,
    }));
}

/// SGP.22 §3.1.3.2 eligibility check: a profile with a Profile Policy Rule the eUICC lists
/// in euiccInfo2.forbiddenProfilePolicyRules → 8.2.5 / 4.3; otherwise the PPR is sent in the
/// profile metadata.
#[tokio::test]
async fn sgp22_3_1_3_2_eligibility_forbidden_ppr() {
    let pki = lab(PkiCurve::P256, 1);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    let err = smdp
        .set_profile_policy_rules(OP, ICCID, &[3], NOW)
        .await
        .expect_err("no such PPR");
    assert_eq!(code(&err), StatusCode::MANDATORY_ELEMENT_MISSING);
    smdp.set_profile_policy_rules(OP, ICCID, &[2], NOW)
        .await
        .expect("PPR2");
    let mid = order(&smdp, ICCID, None, None, true).await;
    let err = smdp
        .set_profile_policy_rules(OP, ICCID, &[], NOW)
        .await
        .expect_err("ordered");
    assert_eq!(code(&err), StatusCode::ICCID_INVALID_STATE);
    let mut e = TestEuicc::from_lab(&pki, 0);
    e.forbidden_ppr = Some(vec![2]);
    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let err = smdp
        .authenticate_client(&e.authenticate_server(&ia, Some(mid.as_str())), NOW)
        .await
        .expect_err("PPR2 forbidden");
    assert_eq!(code(&err), StatusCode::NO_ELIGIBLE_PROFILE);
    assert_eq!(profile(&smdp, ICCID).await.eid, None);
    e.forbidden_ppr = Some(vec![1]);
    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    let md = ac.profile_metadata.as_ref().expect("metadata").value();
    let ppr = md.profile_policy_rules.as_ref().expect("PPRs sent");
    assert!(ppr.has(2) && !ppr.has(1));
}

/// SGP.22 §5.6.2 (AuthenticateClient) eligibility against ctxParams1.deviceInfo (§4.2
/// DeviceCapabilities): a profile restricted to E-UTRAN (LTE) or NR is refused to a device
/// declaring only GSM/UTRAN with 8.2.5 / 4.3 ("no eligible profile for this eUICC/Device",
/// the code of the eUICC-side checks), left unbound, reported at point 1; the failed call
/// still names the profile for the logs. A device with LTE downloads it.
#[tokio::test]
async fn sgp22_5_6_2_eligibility_device_info_radio_access() {
    use simforge_asn1::rsp::{DeviceCapabilities, VersionType};
    use simforge_smdp::RadioAccess;
    let f = fixture(None, true).await;
    {
        let mut tx = f.smdp.store().begin().await.expect("tx");
        let mut p = tx
            .profile(OP, &ICCID.parse().expect("iccid"))
            .await
            .expect("load")
            .expect("profile");
        p.requirements.radio_access = vec![RadioAccess::EutranEpc, RadioAccess::Nr5gc];
        tx.put_profile(&p).await.expect("save");
        tx.commit().await.expect("commit");
    }
    // Kept in the stored record (JSON), and a record of an older version reads as "any device".
    let rec = profile(&f.smdp, ICCID).await;
    let json = serde_json::to_value(&rec.requirements).expect("json");
    assert_eq!(
        json["radio_access"],
        serde_json::json!(["eutran-epc", "nr5gc"])
    );
    let old: simforge_smdp::ProfileRequirements =
        serde_json::from_value(serde_json::json!({"saip_version": null, "package_size": 1}))
            .expect("older record");
    assert!(old.radio_access.is_empty());

    let mut e = TestEuicc::from_lab(&f.pki, 0);
    e.device_capabilities = DeviceCapabilities {
        gsm_supported_release: Some(VersionType::new(15, 0, 0)),
        utran_supported_release: Some(VersionType::new(15, 0, 0)),
        ..DeviceCapabilities::default()
    };
    let (ia, _) = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let reply = f
        .smdp
        .authenticate_client_reply(&e.authenticate_server(&ia, Some(f.mid.as_str())), NOW)
        .await;
    let err = reply.result.as_ref().expect_err("2G/3G-only device");
    assert_eq!(code(err), StatusCode::NO_ELIGIBLE_PROFILE);
    assert_eq!(reply.subject, Some((OP, ICCID.parse().expect("iccid"))));
    let rec = profile(&f.smdp, ICCID).await;
    assert_eq!(
        (rec.state, rec.eid, rec.session),
        (ProfileState::Released, None, None)
    );
    let snap = f.smdp.store().snapshot().await;
    assert_eq!(
        point_events(&snap.events, 1),
        vec![Some(("8.2.5".to_owned(), "4.3".to_owned()))]
    );
    // No capabilities at all: not eligible either.
    e.device_capabilities = DeviceCapabilities::default();
    let err = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect_err("no capabilities");
    assert_eq!(code(&err), StatusCode::NO_ELIGIBLE_PROFILE);
    // A device with LTE (one of the profile's technologies) gets it.
    e.device_capabilities.eutran_supported_release = Some(VersionType::new(15, 0, 0));
    let ac = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("eligible");
    f.smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .expect("BPP");
}

/// Every failing ES9+ call after the profile is known names it (operator, ICCID) in its
/// [`simforge_smdp::Reply`]: a refused confirmation code at GetBoundProfilePackage, and a
/// replayed GetBoundProfilePackage on the ended session.
#[tokio::test]
async fn failed_calls_name_their_profile() {
    let f = fixture(Some("1234"), true).await;
    let mut e = TestEuicc::from_lab(&f.pki, 0);
    let ac = authenticate(&f, &mut e, Some(f.mid.as_str()))
        .await
        .expect("AC");
    let req = e.prepare_download(&ac, Some("9999"));
    let reply = f.smdp.get_bound_profile_package_reply(&req, NOW).await;
    assert_eq!(
        code(reply.result.as_ref().expect_err("wrong code")),
        StatusCode::CONFIRMATION_CODE_REFUSED
    );
    assert_eq!(reply.subject, Some((OP, ICCID.parse().expect("iccid"))));
    // The session is gone: nothing is known any more.
    let reply = f.smdp.get_bound_profile_package_reply(&req, NOW).await;
    assert_eq!(
        code(reply.result.as_ref().expect_err("ended")),
        StatusCode::UNKNOWN_TRANSACTION_ID
    );
    assert_eq!(reply.subject, None);
    // An unknown matchingId names no profile.
    let (ia, _) = f
        .smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("IA");
    let reply = f
        .smdp
        .authenticate_client_reply(&e.authenticate_server(&ia, Some("NO-SUCH-ID")), NOW)
        .await;
    assert_eq!(
        code(reply.result.as_ref().expect_err("unknown")),
        StatusCode::MATCHING_ID_UNKNOWN
    );
    assert_eq!(reply.subject, None);
}

/// Issue 11 §4: every profile package unsealed for a BPP is reported with the state change,
/// for the audit log (`MemData::unseals` here; `profile.unseal` entries in the SQL stores):
/// none for a call refused before the unseal (a wrong confirmation code), one per delivered
/// BPP, one for a package the vault refuses (tampered), none with `audit_unseals` off.
#[tokio::test]
async fn unseals_are_recorded_with_how_the_call_ended() {
    let pki = lab(PkiCurve::P256, 1);
    let smdp = service(&[&pki]);
    add(&smdp, OP, ICCID).await;
    let mid = order(&smdp, ICCID, None, Some("1234"), true).await;
    let mut e = TestEuicc::from_lab(&pki, 0);
    let unseals = |smdp: &Smdp<MemoryStore>| {
        let store = smdp.store().clone();
        async move { store.snapshot().await.unseals }
    };
    let eid = e.eid;
    let unseal = |tid: TransactionId, result| Unseal {
        operator_id: OP,
        iccid: ICCID.parse().expect("iccid"),
        transaction_id: tid,
        eid: Some(eid),
        at: NOW,
        result,
    };

    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    let r = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, Some("0000")), NOW)
        .await;
    assert_eq!(
        code(&r.expect_err("wrong CC")),
        StatusCode::CONFIRMATION_CODE_REFUSED
    );
    assert!(unseals(&smdp).await.is_empty(), "refused before the unseal");

    // Delivered (then its installation fails: released for another try).
    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    let tid = ac.transaction_id.clone().expect("tid");
    let (bpp, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, Some("1234")), NOW)
        .await
        .expect("BPP");
    let delivered = unseal(tid, UnsealResult::Delivered);
    assert_eq!(unseals(&smdp).await, std::slice::from_ref(&delivered));
    e.load_bpp(&bpp);
    let pir = e.pir(&iccid_to_bcd(ICCID), false);
    smdp.handle_notification(&pir, NOW).await.expect("PIR");

    // Audit off (benchmarks only): delivered, not recorded.
    let quiet = service_with(&[&pki], smdp.store().clone(), |c| c.audit_unseals = false);
    let ac = auth_session(&quiet, &mut e, mid.as_str()).await;
    let (bpp, _) = quiet
        .get_bound_profile_package(&e.prepare_download(&ac, Some("1234")), NOW)
        .await
        .expect("BPP");
    assert_eq!(unseals(&smdp).await, std::slice::from_ref(&delivered));
    e.load_bpp(&bpp);
    let pir = e.pir(&iccid_to_bcd(ICCID), false);
    quiet.handle_notification(&pir, NOW).await.expect("PIR");

    // A sealed package the vault refuses: the attempt is recorded, nothing delivered.
    let mut snap = smdp.store().snapshot().await;
    let p = snap.profiles.get_mut(ICCID).expect("profile");
    if let Some(b) = p.package.0.last_mut() {
        *b ^= 1;
    }
    let smdp = service_on(&[&pki], MemoryStore::from_data(snap));
    let ac = auth_session(&smdp, &mut e, mid.as_str()).await;
    let tid = ac.transaction_id.clone().expect("tid");
    let r = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, Some("1234")), NOW)
        .await;
    assert!(matches!(r, Err(Error::Profile(_))), "{r:?}");
    assert_eq!(
        unseals(&smdp).await,
        [delivered, unseal(tid, UnsealResult::UnsealFailed)]
    );
}
