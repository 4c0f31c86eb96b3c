//! The operator settings contract ([`OperatorAdmin`]) of the SQL stores: the CancelSession
//! policy (through a real ES9+ cancellation on the store) and the callback settings with the
//! redelivery of given-up events.

use simforge_asn1::rsp::CancelSessionReason;
use simforge_smdp::{CancelSessionPolicy, OutboxStore, ProfileState, Smdp, SmdpStore};
use simforge_store::{CallbackSettings, OperatorAdmin, OutboxAdmin};

use super::backends::{A, B};
use super::outbox::{progress, push};
use super::{NOW, TestEuicc, auth, lab, record, released_order, smdp_on};

/// SGP.22 §3.1.5 / §5.6.5: a cancellation with endUserRejection keeps the order under the
/// default policy; operator A's policy `end-user-rejection=error` (stored in this
/// database) fails it; the other operator B keeps the default.
pub async fn cancel_session_policy_per_operator<S: SmdpStore + OperatorAdmin>(store: S) {
    let pki = &lab(simforge_pki::Curve::P256, 1);
    let smdp: &Smdp<S> = &smdp_on(store, pki);
    let (op, other) = (A, B);
    let store = smdp.store();
    assert_eq!(
        store.cancel_session_policy(op).await.unwrap(),
        CancelSessionPolicy::default()
    );
    let mid = released_order(smdp, op).await;
    let iccid = super::ICCID;
    let mut e = TestEuicc::from_lab(pki, 0);
    auth(smdp, &mut e, &mid).await;
    smdp.cancel_session(
        &e.cancel(CancelSessionReason::END_USER_REJECTION, &[2, 999, 10]),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(record(smdp, op, iccid).await.state, ProfileState::Released);

    let strict: CancelSessionPolicy = "end-user-rejection=error".parse().unwrap();
    store
        .set_cancel_session_policy(op, Some(&strict))
        .await
        .unwrap();
    assert_eq!(store.cancel_session_policy(op).await.unwrap(), strict);
    assert_eq!(
        store.cancel_session_policy(other).await.unwrap(),
        CancelSessionPolicy::default()
    );
    let mut e = TestEuicc::from_lab(pki, 0);
    auth(smdp, &mut e, &mid).await;
    smdp.cancel_session(
        &e.cancel(CancelSessionReason::END_USER_REJECTION, &[2, 999, 10]),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(record(smdp, op, iccid).await.state, ProfileState::Error);
    // The operator resets it; the same activation code works again.
    simforge_smdp::reset_profile(store, op, iccid, simforge_smdp::ResetTarget::Released, NOW)
        .await
        .unwrap();
    assert_eq!(record(smdp, op, iccid).await.state, ProfileState::Released);
    let mut e = TestEuicc::from_lab(pki, 0);
    auth(smdp, &mut e, &mid).await;
    // Back to the default.
    store.set_cancel_session_policy(op, None).await.unwrap();
    assert_eq!(
        store.cancel_session_policy(op).await.unwrap(),
        CancelSessionPolicy::default()
    );
}

/// Callback settings are stored whole and per operator (the sealed key as given); a
/// given-up event is listed and redelivered (one by id, or all), only the operator's own.
pub async fn callback_settings_and_redelivery<S>(store: S)
where
    S: SmdpStore + OutboxStore + OutboxAdmin + OperatorAdmin,
{
    let (store, a, b) = (&store, A, B);
    assert_eq!(store.callback_settings(a).await.unwrap(), None);
    let s = CallbackSettings {
        url: "https://op-a.test/es2".into(),
        client_cert_pem: Some("-----BEGIN CERTIFICATE-----\n…".into()),
        client_key_sealed: Some(vec![1, 2, 3]),
        use_server_identity: false,
        ca_bundle_pem: Some("-----BEGIN CERTIFICATE-----\n…".into()),
        retry_hours: Some(72),
    };
    store.set_callback_settings(a, &s, 1).await.unwrap();
    assert_eq!(store.callback_settings(a).await.unwrap(), Some(s.clone()));
    assert!(!format!("{s:?}").contains("[1, 2, 3]"));
    // Setting only the URL keeps the rest.
    store
        .set_callback_url(a, Some("https://op-a.test/v2"), 2)
        .await
        .unwrap();
    let got = store.callback_settings(a).await.unwrap().unwrap();
    assert_eq!(got.url, "https://op-a.test/v2");
    assert_eq!(got.retry_hours, Some(72));
    assert_eq!(store.callback_settings(b).await.unwrap(), None);

    push(store, &[progress(a, 1), progress(a, 3), progress(b, 1)]).await;
    store
        .set_callback_url(b, Some("https://op-b.test/es2"), 2)
        .await
        .unwrap();
    let c = store.claim_outbox(1_000, 60_000, 10).await.unwrap();
    let first_a = c.iter().find(|e| e.operator_id == a).unwrap().id;
    let first_b = c.iter().find(|e| e.operator_id == b).unwrap().id;
    // a's first event is given up; b's too.
    store
        .outbox_failed(a, first_a, "HTTP 503", None, 2_000)
        .await
        .unwrap();
    store
        .outbox_failed(b, first_b, "HTTP 503", None, 2_000)
        .await
        .unwrap();
    let failed = store.failed_events(a, 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, first_a);
    assert_eq!(failed[0].last_error.as_deref(), Some("HTTP 503"));
    // b cannot redeliver a's event; an unknown id is nothing.
    assert_eq!(
        store
            .redeliver_events(b, Some(first_a), 3_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .redeliver_events(a, Some(999_999), 3_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .redeliver_events(a, Some(first_a), 3_000)
            .await
            .unwrap(),
        1
    );
    assert!(store.failed_events(a, 10).await.unwrap().is_empty());
    // Redelivered: due again, first of a's queue, attempts counted afresh.
    let c = store.claim_outbox(70_000, 60_000, 10).await.unwrap();
    let again = c.iter().find(|e| e.operator_id == a).unwrap();
    assert_eq!(again.id, first_a);
    assert_eq!(again.attempts, 0);
    // --redeliver-all for b.
    assert_eq!(store.redeliver_events(b, None, 3_000).await.unwrap(), 1);
    assert!(store.failed_events(b, 10).await.unwrap().is_empty());
}
