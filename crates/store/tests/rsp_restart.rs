//! The SM-DP+ state that a retried download and notification idempotency depend on — a
//! profile's BPP binding (the sealed ECDH secret of otSK.DP.ECKA, otPK.DP, hostId) and its last
//! processed notification — survives closing and reopening the SQLite database, as the
//! `MemoryStore` restart tests of simforge-smdp show for the in-memory store. Driven by the
//! sans-IO LPA + eUICC test client of simforge-smdp's tests (`support`, shared with the
//! PostgreSQL store's tests in `postgres.rs`).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use simforge_testkit::prelude as common;
mod support;

use std::path::Path;

use simforge_pki::{Curve, LabPki};
use simforge_smdp::Smdp;
use simforge_store::Store;
use support::{lab, new_operator, smdp_on};

/// The SM-DP+ over the database at `path`, opened anew.
async fn open(path: &Path, pki: &LabPki) -> Smdp<Store> {
    smdp_on(Store::open_sqlite(path).await.unwrap(), pki)
}

#[tokio::test]
async fn binding_and_last_notification_survive_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let pki = lab(Curve::P256, 1);
    let smdp = open(&path, &pki).await;
    let op = smdp
        .store()
        .create_operator(&new_operator("op"))
        .await
        .unwrap()
        .id;
    support::binding_and_last_notification_survive_restarts(smdp, op, &pki, || open(&path, &pki))
        .await;
}

#[tokio::test]
async fn operator_reuse_on_delete_default_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let store = Store::open_sqlite(&path).await.unwrap();
    let op = store.create_operator(&new_operator("op")).await.unwrap();
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
