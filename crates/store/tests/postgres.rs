//! The SM-DP+ on PostgreSQL ([`PgStore`]) against a real PostgreSQL server (a private one per
//! test, `support::postgres`): the same flows as on SQLite, and what only a shared database
//! allows — a download whose calls land on different SM-DP+ instances. Each test says
//! "skipped" when no PostgreSQL is installed.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "../../smdp/tests/common/mod.rs"]
mod common;
mod support;

use simforge_asn1::json::DownloadOrderRequest;
use simforge_pki::Curve;
use simforge_smdp::OutboxStore as _;
use simforge_smdp::profile::iccid_to_bcd;
use simforge_smdp::{ProfileState, Smdp, SmdpStore, SmdpTx};
use simforge_store::{OutboxAdmin as _, PgStore};
use support::postgres::Postgres;
use support::{NOW, TestEuicc, add, header, lab, record, released_order, smdp_on};
use support::{outbox, settings};

async fn connect(pg: &Postgres) -> PgStore {
    PgStore::connect(&pg.url(), 8).await.unwrap()
}

/// The restart flow of `support`, with the PostgreSQL server restarted between its phases.
/// The first restart follows GetBoundProfilePackage (a durable commit) and is a crash
/// (`pg_ctl -m immediate`: the state comes back from the write-ahead log). The later ones
/// follow notifications, whose commits are deferred (`synchronous_commit = off`: durable
/// within the WAL writer's delay), so the server is stopped cleanly there.
#[tokio::test]
async fn binding_and_last_notification_survive_server_restarts() {
    let Some(pg) = Postgres::start("binding_and_last_notification_survive_server_restarts") else {
        return;
    };
    let pki = lab(Curve::P256, 1);
    let smdp = smdp_on(connect(&pg).await, &pki);
    let restarts = std::sync::atomic::AtomicUsize::new(0);
    support::binding_and_last_notification_survive_restarts(smdp, 1, &pki, || async {
        let n = restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        pg.restart(n == 0);
        smdp_on(connect(&pg).await, &pki)
    })
    .await;
    assert_eq!(restarts.into_inner(), 4);
}

/// Issue 4: two concurrent downloads can never get the same profile. 30 concurrent ES2+
/// DownloadOrders by profile type over 10 profiles, on 8 pooled connections: exactly 10 get
/// one, all different, and the inventory adds up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_never_allocate_a_profile_twice() {
    let Some(pg) = Postgres::start("concurrent_orders_never_allocate_a_profile_twice") else {
        return;
    };
    let pki = lab(Curve::P256, 1);
    let smdp = std::sync::Arc::new(smdp_on(connect(&pg).await, &pki));
    for i in 0..10 {
        add(&smdp, 1, &format!("89494499999999901{i:02}")).await;
    }
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let smdp = smdp.clone();
        tasks.push(tokio::spawn(async move {
            let req = DownloadOrderRequest {
                header: header(),
                eid: None,
                iccid: None,
                profile_type: Some("t".into()),
            };
            smdp.download_order(1, &req, NOW)
                .await
                .map(|(r, _)| r.iccid.unwrap())
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(iccid) => got.push(iccid),
            // The inventory is empty: an SGP.22 status, never a storage error (a lost race
            // on a profile another transaction took).
            Err(e) => assert!(
                e.status_code().is_some() && !matches!(e, simforge_smdp::Error::Storage(_)),
                "{e}"
            ),
        }
    }
    assert_eq!(got.len(), 10, "{got:?}");
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 10, "a profile allocated twice");
    let mut tx = smdp.store().begin().await.unwrap();
    let counts = tx.count_by_state(1).await.unwrap();
    assert!(
        counts.contains(&(ProfileState::Allocated, 10)),
        "{counts:?}"
    );
    assert!(counts.contains(&(ProfileState::Available, 0)), "{counts:?}");
}

/// Tenants: operator 2 cannot see, order or load operator 1's profile.
#[tokio::test]
async fn one_operator_cannot_touch_another_operators_profile() {
    let Some(pg) = Postgres::start("one_operator_cannot_touch_another_operators_profile") else {
        return;
    };
    let pki = lab(Curve::P256, 1);
    let smdp = smdp_on(connect(&pg).await, &pki);
    add(&smdp, 1, support::ICCID).await;
    let req = DownloadOrderRequest {
        header: header(),
        eid: None,
        iccid: Some(support::ICCID.into()),
        profile_type: None,
    };
    assert!(smdp.download_order(2, &req, NOW).await.is_err());
    let mut tx = smdp.store().begin().await.unwrap();
    assert!(
        tx.profile(2, &support::ICCID.parse().expect("iccid"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        tx.profile(1, &support::ICCID.parse().expect("iccid"))
            .await
            .unwrap()
            .unwrap()
            .state,
        ProfileState::Available
    );
    // The ICCID is taken whatever the operator.
    let mut p = tx
        .profile(1, &support::ICCID.parse().expect("iccid"))
        .await
        .unwrap()
        .unwrap();
    p.operator_id = 2;
    assert!(matches!(
        tx.insert_profile(&p).await,
        Err(simforge_smdp::Error::IccidInUse)
    ));
}

/// Sessions are rows, Initiated ones included: every call of one download lands on a
/// different SM-DP+ instance (its own pool), as behind a load balancer without sticky
/// routing, and the download completes.
#[tokio::test]
async fn a_download_goes_on_whichever_instance_gets_the_call() {
    let Some(pg) = Postgres::start("a_download_goes_on_whichever_instance_gets_the_call") else {
        return;
    };
    let pki = lab(Curve::P256, 2);
    let a: Smdp<PgStore> = smdp_on(connect(&pg).await, &pki);
    let b: Smdp<PgStore> = smdp_on(connect(&pg).await, &pki);
    let mid = released_order(&a, 1).await;
    let mut e = TestEuicc::from_lab(&pki, 0);
    let (ia, _) = a
        .initiate_authentication(&e.initiate(support::ADDR), NOW)
        .await
        .unwrap();
    let (ac, _) = b
        .authenticate_client(&e.authenticate_server(&ia, Some(&mid)), NOW)
        .await
        .unwrap();
    let (bpp, _) = a
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();
    let loaded = e.load_bpp(&bpp);
    assert_eq!(
        loaded.content.profile.as_slice(),
        support::synthetic_package().as_slice()
    );
    b.handle_notification(&e.pir(&iccid_to_bcd(support::ICCID), true), NOW)
        .await
        .unwrap();
    assert_eq!(
        record(&a, 1, support::ICCID).await.state,
        ProfileState::Installed
    );

    // A second download's session, abandoned after InitiateAuthentication (no profile bound
    // to it), is purged as soon as it expired, not before.
    let e2 = TestEuicc::from_lab(&pki, 1);
    a.initiate_authentication(&e2.initiate(support::ADDR), NOW)
        .await
        .unwrap();
    let expires = NOW + a.config().session_ttl_secs;
    assert_eq!(b.purge_expired_sessions(expires).await.unwrap(), 0);
    assert_eq!(b.purge_expired_sessions(expires + 1).await.unwrap(), 1);
}

/// The outbox scenarios of `support::outbox`, as on SQLite (`outbox.rs`), each on a fresh
/// database.
#[tokio::test]
async fn outbox_claims_deliveries_retries_and_retention() {
    let Some(pg) = Postgres::start("outbox_claims_deliveries_retries_and_retention") else {
        return;
    };
    let open = |name: &'static str| {
        let pg = &pg;
        async move { PgStore::connect(&pg.database(name).await, 4).await.unwrap() }
    };
    outbox::events_past_retention_are_deleted_oldest_first(&open("retention").await, 1, 2).await;
    outbox::callback_urls(&open("callbacks").await, 1, 2).await;
    outbox::claim_deliver_retry_in_order_per_tenant(&open("claims").await, 1, 2).await;
    settings::callback_settings_and_redelivery(&open("redelivery").await, 1, 2).await;
    let pki = support::lab(simforge_pki::Curve::P256, 1);
    let smdp = support::smdp_on(open("cancel_policy").await, &pki);
    settings::cancel_session_policy_per_operator(&smdp, &pki, 1, 2).await;
    let url = pg.database("restart").await;
    let store = PgStore::connect(&url, 4).await.unwrap();
    outbox::claims_survive_a_restart_until_the_lease_ends(store, 1, || async {
        PgStore::connect(&url, 4).await.unwrap()
    })
    .await;
}

/// Ids are not in commit order across concurrent transactions on PostgreSQL: an event with a
/// lower id that commits after a higher one was claimed must not make the claimed (leased)
/// one claimable again.
#[tokio::test]
async fn a_leased_event_is_not_claimed_again_when_an_older_id_commits_later() {
    let Some(pg) =
        Postgres::start("a_leased_event_is_not_claimed_again_when_an_older_id_commits_later")
    else {
        return;
    };
    let store = connect(&pg).await;
    store
        .set_callback_url(1, Some("http://a/cb"), 0)
        .await
        .unwrap();
    let mut slow = store.begin().await.unwrap();
    slow.push_events(&[outbox::progress(1, 1)]).await.unwrap(); // id 1, not committed yet
    outbox::push(&store, &[outbox::progress(1, 3)]).await; // id 2, committed
    let first = store.claim_outbox(1_000, 60_000, 10).await.unwrap();
    assert_eq!(outbox::ids(&first), vec![(1, 2)]);
    slow.commit().await.unwrap();
    // Event 2 is leased until 61 s: nothing of this operator is claimed before.
    assert!(
        store
            .claim_outbox(2_000, 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = store.claim_outbox(61_000, 60_000, 10).await.unwrap();
    assert_eq!(outbox::ids(&later), vec![(1, 1), (1, 2)]);
}

/// The delivery workers of two instances claiming at the same time never get the same event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_claim_the_same_event() {
    let Some(pg) = Postgres::start("two_instances_never_claim_the_same_event") else {
        return;
    };
    let store = connect(&pg).await;
    for op in 1..=20 {
        store
            .set_callback_url(op, Some("http://op/cb"), 0)
            .await
            .unwrap();
        outbox::push(&store, &[outbox::progress(op, 1), outbox::progress(op, 3)]).await;
    }
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let s = connect(&pg).await;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..20 {
                got.extend(outbox::ids(
                    &s.claim_outbox(1_000, 60_000, 3).await.unwrap(),
                ));
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
    assert!(n >= 20, "{n} events claimed");
}

/// A malformed URL, or a server that is not there, is a clear error (no server needed).
#[tokio::test]
async fn a_bad_url_or_an_absent_server_is_an_error() {
    for bad in [
        "postgres://simforge@127.0.0.1:notaport/x",
        "mysql://simforge@127.0.0.1/x",
    ] {
        assert!(matches!(
            PgStore::connect(bad, 1).await,
            Err(simforge_store::StoreError::Config(_))
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(matches!(
        PgStore::connect(&format!("postgres://simforge@127.0.0.1:{port}/x"), 1).await,
        Err(simforge_store::StoreError::Db(_))
    ));
}
