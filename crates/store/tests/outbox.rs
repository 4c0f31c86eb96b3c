//! The outbox scenarios of `support::outbox` on the SQLite store (the PostgreSQL store runs
//! the same in `postgres.rs`).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use simforge_testkit::prelude as common;
mod support;

use simforge_store::Store;
use support::{new_operator, outbox, settings};

/// A fresh SQLite store (`db.sqlite` in the directory) with two operators; their ids.
async fn store() -> (tempfile::TempDir, Store, i64, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        ids.push(store.create_operator(&new_operator(name)).await.unwrap().id);
    }
    (dir, store, ids[0], ids[1])
}

#[tokio::test]
async fn events_past_retention_are_deleted_oldest_first() {
    let (_d, store, a, b) = store().await;
    outbox::events_past_retention_are_deleted_oldest_first(&store, a, b).await;
}

#[tokio::test]
async fn callback_urls() {
    let (_d, store, a, b) = store().await;
    outbox::callback_urls(&store, a, b).await;
}

#[tokio::test]
async fn claim_deliver_retry_in_order_per_tenant() {
    let (_d, store, a, b) = store().await;
    outbox::claim_deliver_retry_in_order_per_tenant(&store, a, b).await;
}

#[tokio::test]
async fn claims_survive_a_restart_until_the_lease_ends() {
    let (dir, store, a, _) = store().await;
    let path = dir.path().join("db.sqlite");
    outbox::claims_survive_a_restart_until_the_lease_ends(store, a, || async {
        Store::open_sqlite(&path).await.unwrap()
    })
    .await;
}

#[tokio::test]
async fn callback_settings_and_redelivery() {
    let (_d, store, a, b) = store().await;
    settings::callback_settings_and_redelivery(&store, a, b).await;
}

#[tokio::test]
async fn cancel_session_policy_per_operator() {
    let (_d, store, a, b) = store().await;
    let pki = support::lab(simforge_pki::Curve::P256, 1);
    let smdp = support::smdp_on(store, &pki);
    settings::cancel_session_policy_per_operator(&smdp, &pki, a, b).await;
}
