//! Expiry of orders and sessions by advancing the [`Pair`]'s clock (no sleeps): the SM-DP+,
//! the eUICCs and the LPA all read the one clock.

use std::time::Duration;

use simforge_lpa::Error;
use simforge_smdp::ProfileState;
use simforge_testkit::Pair;
use simforge_testkit::lab::{FQDN, NOW};
use simforge_testkit::profiles::iccid;

fn status(e: &Error) -> (&str, &str) {
    match e {
        Error::Es9Status {
            subject_code,
            reason_code,
            ..
        } => (subject_code, reason_code),
        other => panic!("not an SM-DP+ refusal: {other:?}"),
    }
}

fn secs(s: i64) -> Duration {
    Duration::from_secs(u64::try_from(s).expect("positive"))
}

#[test]
fn an_order_expires_with_time() {
    let mut pair = Pair::new();
    let id = iccid(10);
    pair.add_profiles(&[&id], true);
    let order = pair.order(Some(&id), None, None).expect("order");
    let ttl = pair.smdp.config().order_ttl_secs.expect("orders expire");
    pair.advance(secs(ttl - 1));
    // A second order, made a second before the first expires, outlives it.
    pair.add_profiles(&[&iccid(11)], true);
    let order2 = pair.order(Some(&iccid(11)), None, None).expect("order 2");
    pair.advance(secs(2));
    let err = pair
        .drive_download(0, &order.activation_code(), None)
        .expect_err("expired order");
    assert_eq!(status(&err), ("8.8.5", "4.1"));
    assert_eq!(
        pair.profile(&id).expect("profile").state,
        ProfileState::Released
    );
    // The younger order still downloads.
    let out = pair
        .drive_download(0, &order2.activation_code(), None)
        .expect("download");
    assert_eq!(out.iccid, iccid(11));
}

#[test]
fn a_session_expires_between_two_calls_and_the_download_starts_again() {
    let mut pair = Pair::new();
    let id = iccid(12);
    pair.add_profiles(&[&id], true);
    let order = pair.order(Some(&id), None, None).expect("order");
    let ttl = pair.smdp.config().session_ttl_secs;
    // The user leaves the confirmation screen open: the session expires before
    // GetBoundProfilePackage.
    pair.es9.advance_before = Some(("getBoundProfilePackage".into(), secs(ttl + 1)));
    let err = pair
        .drive_download(0, &order.activation_code(), None)
        .expect_err("expired session");
    assert_eq!(status(&err), ("8.10.1", "3.9"));
    assert_ne!(
        pair.profile(&id).expect("profile").state,
        ProfileState::Installed
    );
    // Started again, the download goes through (the order is still valid).
    pair.es9.calls.clear();
    let out = pair
        .drive_download(0, &order.activation_code(), None)
        .expect("download");
    assert_eq!(out.iccid, id);
    assert_eq!(
        pair.profile(&id).expect("profile").state,
        ProfileState::Installed
    );
}

#[test]
fn expired_sessions_are_purged_as_time_passes() {
    let mut pair = Pair::new();
    let id = iccid(13);
    pair.add_profiles(&[&id], true);
    let order = pair.order(Some(&id), None, None).expect("order");
    let ttl = pair.smdp.config().session_ttl_secs;
    // A session bound to the profile (AuthenticateClient) and abandoned.
    pair.es9.advance_before = Some(("getBoundProfilePackage".into(), secs(ttl + 1)));
    pair.drive_download(0, &order.activation_code(), None)
        .expect_err("expired session");
    assert_eq!(pair.purge(), 0, "kept for a late notification");
    pair.advance(secs(
        simforge_smdp::Smdp::<simforge_smdp::MemoryStore>::SESSION_RETENTION_SECS,
    ));
    assert_eq!(pair.purge(), 1);
    assert!(
        pair.block_on(pair.smdp.store().snapshot())
            .sessions
            .is_empty()
    );
}

/// The eUICCs read the same clock: once the SM-DP+'s certificates have expired, the eUICC
/// refuses the server (ES10b.AuthenticateServer) — before that, downloads go through.
#[test]
fn the_euicc_sees_certificates_expire() {
    let mut o = simforge_pki::LabPkiOptions::new(simforge_pki::Curve::P256, FQDN);
    o.not_after = std::time::UNIX_EPOCH + secs(NOW + 86_400);
    let mut pair = Pair::with(simforge_pki::generate_lab_pki(&o).expect("pki"), |_| {});
    pair.add_profiles(&[&iccid(14), &iccid(15)], true);
    let first = pair.order(Some(&iccid(14)), None, None).expect("order");
    let second = pair.order(Some(&iccid(15)), None, None).expect("order");
    pair.drive_download(0, &first.activation_code(), None)
        .expect("download while the certificates are valid");
    pair.advance(secs(2 * 86_400));
    let err = pair
        .drive_download(0, &second.activation_code(), None)
        .expect_err("expired DPauth certificate");
    assert!(
        matches!(
            err,
            Error::Euicc {
                function: "AuthenticateServer",
                ..
            }
        ),
        "{err:?}"
    );
    // Refused before AuthenticateClient: the profile stays released for its order.
    assert_eq!(
        pair.es9.calls.last().map(String::as_str),
        Some("initiateAuthentication")
    );
    assert_eq!(
        pair.profile(&iccid(15)).expect("profile").state,
        ProfileState::Released
    );
}
