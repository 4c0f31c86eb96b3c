//! The outbox contract ([`OutboxStore`], [`OutboxAdmin`]) of the SQL stores: each scenario
//! gets a fresh database holding operators [`A`] and [`B`] (or its [`Backend`]).

use simforge_smdp::{Event, OutboxEntry, OutboxStore, ProfileState, SmdpStore, SmdpTx};
use simforge_store::OutboxAdmin;

use super::backends::{A, B, Backend};

/// What the scenarios need of a store.
pub trait Outbox: SmdpStore + OutboxStore + OutboxAdmin {}
impl<S: SmdpStore + OutboxStore + OutboxAdmin> Outbox for S {}

pub fn progress(op: i64, point: u32) -> Event {
    Event::DownloadProgress {
        operator_id: op,
        iccid: format!("89494400000000000{point}1").parse().expect("iccid"),
        profile_type: "t".into(),
        eid: None,
        point,
        failure: None,
        result_data: None,
        at: 100,
    }
}

pub async fn push<S: SmdpStore>(store: &S, events: &[Event]) {
    let mut tx = store.begin().await.unwrap();
    tx.push_events(events).await.unwrap();
    tx.commit().await.unwrap();
}

pub fn ids(v: &[OutboxEntry]) -> Vec<(i64, i64)> {
    v.iter().map(|e| (e.operator_id, e.id)).collect()
}

pub async fn events_past_retention_are_deleted_oldest_first<S: Outbox>(store: S) {
    let (store, a, b) = (&store, A, B);
    let ev = |op: i64, at: i64| Event::ProfileState {
        operator_id: op,
        iccid: format!("89{at:017}").parse().expect("iccid"),
        from: ProfileState::Available,
        to: ProfileState::Allocated,
        at,
    };
    push(
        store,
        &[ev(a, 10), ev(b, 20), ev(a, 30), ev(a, 100), ev(b, 200)],
    )
    .await;
    assert_eq!(store.delete_events_before(5, 10).await.unwrap(), 0);
    assert_eq!(store.delete_events_before(100, 2).await.unwrap(), 2);
    assert_eq!(store.delete_events_before(100, 2).await.unwrap(), 1);
    assert_eq!(store.delete_events_before(100, 2).await.unwrap(), 0);
    let left = |op| async move {
        store
            .outbox_rows(op, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.created_at)
            .collect::<Vec<_>>()
    };
    assert_eq!(left(a).await, vec![100]);
    assert_eq!(left(b).await, vec![200]);
}

pub async fn callback_urls<S: Outbox>(store: S) {
    let (store, a, b) = (&store, A, B);
    assert_eq!(store.callback_url(a).await.unwrap(), None);
    store
        .set_callback_url(a, Some("https://op-a.test/es2"), 1)
        .await
        .unwrap();
    store
        .set_callback_url(a, Some("https://op-a.test/v2"), 2)
        .await
        .unwrap();
    assert_eq!(
        store.callback_url(a).await.unwrap().as_deref(),
        Some("https://op-a.test/v2")
    );
    assert_eq!(store.callback_url(b).await.unwrap(), None);
    store.set_callback_url(a, None, 3).await.unwrap();
    assert_eq!(store.callback_url(a).await.unwrap(), None);
}

pub async fn claim_deliver_retry_in_order_per_tenant<S: Outbox>(store: S) {
    let (store, a, b) = (&store, A, B);
    // Interleaved events of two operators; no endpoint yet: nothing to claim.
    push(store, &[progress(a, 1), progress(b, 1), progress(a, 3)]).await;
    push(store, &[progress(b, 3), progress(a, 4)]).await;
    assert!(
        store
            .claim_outbox(1_000, 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Only operators with an endpoint are claimed, each with its own URL.
    store
        .set_callback_url(a, Some("http://a/cb"), 0)
        .await
        .unwrap();
    let c = store.claim_outbox(1_000, 60_000, 10).await.unwrap();
    assert_eq!(ids(&c), vec![(a, 1), (a, 3), (a, 5)]);
    assert!(
        c.iter()
            .all(|e| e.endpoint == "http://a/cb" && e.attempts == 0)
    );
    assert_eq!(c[0].event, progress(a, 1));
    // Leased: a second claim gets nothing of a until the lease ends.
    store
        .set_callback_url(b, Some("http://b/cb"), 0)
        .await
        .unwrap();
    let c2 = store.claim_outbox(2_000, 60_000, 10).await.unwrap();
    assert_eq!(ids(&c2), vec![(b, 2), (b, 4)]);

    // Tenant scoping: b cannot mark a's event.
    assert!(store.outbox_delivered(b, 1, 3_000).await.is_err());
    assert!(store.outbox_failed(b, 1, "x", None, 3_000).await.is_err());

    // a: first delivered, second fails (retry at 10 s), third released.
    store.outbox_delivered(a, 1, 3_000).await.unwrap();
    assert!(store.outbox_delivered(a, 1, 3_000).await.is_err());
    store
        .outbox_failed(a, 3, "HTTP 500", Some(10_000), 3_000)
        .await
        .unwrap();
    store.outbox_release(a, &[5]).await.unwrap();
    // b: everything released (e.g. the worker stopped early).
    store.outbox_release(b, &[2, 4]).await.unwrap();

    // Before the retry time: a's head (3) is not due, so 5 waits behind it; b is due.
    let c = store.claim_outbox(5_000, 60_000, 10).await.unwrap();
    assert_eq!(ids(&c), vec![(b, 2), (b, 4)]);
    store.outbox_skip(b, &[2, 4], 5_000).await.unwrap();
    // After it: 3 then 5, with the attempt counted.
    let c = store.claim_outbox(10_000, 60_000, 10).await.unwrap();
    assert_eq!(ids(&c), vec![(a, 3), (a, 5)]);
    assert_eq!(c[0].attempts, 1);
    // The limit cuts the list, in order.
    store.outbox_release(a, &[3, 5]).await.unwrap();
    let c = store.claim_outbox(10_000, 60_000, 1).await.unwrap();
    assert_eq!(ids(&c), vec![(a, 3)]);

    // Giving up on 3 lets 5 through.
    store
        .outbox_failed(a, 3, "HTTP 500", None, 11_000)
        .await
        .unwrap();
    store.outbox_release(a, &[5]).await.unwrap();
    let c = store.claim_outbox(11_000, 60_000, 10).await.unwrap();
    assert_eq!(ids(&c), vec![(a, 5)]);
    store.outbox_delivered(a, 5, 12_000).await.unwrap();
    assert!(
        store
            .claim_outbox(100_000, 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let rows = store.outbox_rows(a, 10).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![5, 3, 1]);
    assert_eq!(rows[0].delivered_at, Some(12));
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(rows[1].failed_at, Some(11));
    assert_eq!(rows[1].attempts, 2);
    assert_eq!(rows[1].delivered_at, None);
    assert_eq!(rows[1].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(rows[2].delivered_at, Some(3));
    let rows_b = store.outbox_rows(b, 10).await.unwrap();
    assert_eq!(rows_b.iter().map(|r| r.id).collect::<Vec<_>>(), vec![4, 2]);
    assert!(
        rows_b
            .iter()
            .all(|r| r.attempts == 0 && r.delivered_at == Some(5))
    );
}

/// A claimed event whose worker died (the store is opened anew, the same database) is
/// claimed again once its lease ends, not before.
pub async fn claims_survive_a_restart_until_the_lease_ends<K: Backend>(k: K)
where
    K::Store: Outbox,
{
    let (store, a) = (k.open().await, A);
    store
        .set_callback_url(a, Some("http://a/cb"), 0)
        .await
        .unwrap();
    push(&store, &[progress(a, 1)]).await;
    // Claimed, then the process "dies" without marking it.
    assert_eq!(
        store.claim_outbox(1_000, 30_000, 10).await.unwrap().len(),
        1
    );
    drop(store);
    k.restart(true).await;
    let store = k.open().await;
    assert!(
        store
            .claim_outbox(2_000, 30_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let c = store.claim_outbox(31_000, 30_000, 10).await.unwrap();
    assert_eq!(ids(&c), vec![(a, 1)]);
}

/// The delivery workers of two instances claiming at the same time never get the same event.
pub async fn two_instances_never_claim_the_same_event<K: Backend>(k: K)
where
    K::Store: Outbox,
{
    let store = k.open().await;
    for op in [A, B] {
        store
            .set_callback_url(op, Some("http://op/cb"), 0)
            .await
            .unwrap();
        for _ in 0..10 {
            push(&store, &[progress(op, 1), progress(op, 3)]).await;
        }
    }
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let s = k.open().await;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..20 {
                got.extend(ids(&s.claim_outbox(1_000, 60_000, 3).await.unwrap()));
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "an event claimed twice");
    // A claim of 3 may cut an operator's queue; the rest waits for the lease: at least one
    // event of every operator was claimed.
    assert!(
        all.iter().any(|(op, _)| *op == A) && all.iter().any(|(op, _)| *op == B),
        "{all:?}"
    );
}
