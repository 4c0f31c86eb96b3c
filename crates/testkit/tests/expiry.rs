//! Expiry of orders and sessions by advancing the [`Pair`]'s clock (no sleeps): the SM-DP+,
//! the eUICCs and the LPA all read the one clock.

use std::time::Duration;

use simforge_lpa::Error;
use simforge_smdp::ProfileState;
use simforge_testkit::Pair;
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
    let order2 = {
        // Still valid a second before: proven by a second profile ordered now, not touched.
        pair.add_profiles(&[&iccid(11)], true);
        pair.order(Some(&iccid(11)), None, None).expect("order 2")
    };
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
