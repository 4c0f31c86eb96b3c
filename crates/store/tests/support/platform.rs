//! The platform's records on every SQL backend, through [`Store`]: operators, sealed keys,
//! batches and their ICCID/IMSI ranges (reserve, complete, release, next free), ES2+
//! credentials, tenant quotas, the master key check, the operator API's view of a profile,
//! and the schema's version. One story per concern, the same on SQLite and PostgreSQL.

use std::collections::BTreeSet;

use simforge_smdp::{CancelSessionPolicy, ProfileState};
use simforge_store::{
    BatchState, CredentialKind, DatabaseLocation, KeyKind, NewBatch, OperatorAdmin as _, Quotas,
    Range, Sha256Hex, Store, StoreError,
};

use super::backends::{Backend, RawSql};
use super::{ICCID, add, lab, new_operator, smdp_on};

/// A batch of `name` for operator `op` on ICCIDs `iccid` and IMSIs `imsi` (inclusive).
pub fn batch(op: i64, name: &str, iccid: (i64, i64), imsi: (i64, i64)) -> NewBatch {
    NewBatch {
        operator_id: op,
        name: name.into(),
        quantity: iccid.1 - iccid.0 + 1,
        iccid: Range {
            len: 19,
            first: iccid.0,
            last: iccid.1,
        },
        imsi: Range {
            len: 15,
            first: imsi.0,
            last: imsi.1,
        },
        kid: 1,
        opid: 1,
        plan: "{}".into(),
        output_dir: "/tmp/x".into(),
    }
}

fn overlap(r: Result<i64, StoreError>) -> String {
    match r {
        Err(StoreError::Overlap(c)) => c.what.to_owned(),
        other => panic!("expected an overlap: {other:?}"),
    }
}

/// Operators, their keys, batches and ranges, credentials, quotas, the master key check and
/// a profile's view, as the factory, the command line and the operator API use them.
pub async fn operators_keys_batches_credentials_and_quotas(store: Store) {
    store.ping().await.unwrap();
    assert!(store.schema_version().await.unwrap() > 0);

    // Operators.
    let x = store.create_operator(&new_operator("x")).await.unwrap();
    let y = store.create_operator(&new_operator("y")).await.unwrap();
    assert_ne!(x.id, y.id);
    assert!(matches!(
        store.create_operator(&new_operator("x")).await,
        Err(StoreError::Exists(_))
    ));
    let got = store.operator("x").await.unwrap();
    assert_eq!(
        (got.id, got.iccid_len, got.mcc.as_str(), got.reuse_on_delete),
        (x.id, 19, "001", false)
    );
    assert_eq!(got.cancel_session_policy, None);
    assert_eq!(store.operator_by_id(y.id).await.unwrap().name, "y");
    assert!(matches!(
        store.operator("nobody").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.operator_by_id(9_999).await,
        Err(StoreError::NotFound(_))
    ));
    let names: Vec<String> = store
        .operators()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    assert!(names.contains(&"x".to_owned()) && names.contains(&"y".to_owned()));
    assert!(
        store
            .set_operator_reuse_on_delete("x", true)
            .await
            .unwrap()
            .reuse_on_delete
    );
    assert!(matches!(
        store.set_operator_reuse_on_delete("nobody", true).await,
        Err(StoreError::NotFound(_))
    ));
    // The CancelSession policy set through the SM-DP+'s settings is the operator's.
    let policy: CancelSessionPolicy = "end-user-rejection=error".parse().unwrap();
    store
        .set_cancel_session_policy(x.id, Some(&policy))
        .await
        .unwrap();
    assert_eq!(
        store.operator("x").await.unwrap().cancel_session_policy,
        Some(policy.to_string())
    );

    // Sealed keys.
    store
        .put_key(x.id, KeyKind::Transport, 135, 256, b"sealed", false)
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_key(x.id, KeyKind::Transport, 135, 256, b"other", false)
            .await,
        Err(StoreError::Exists(_))
    ));
    store
        .put_key(x.id, KeyKind::Transport, 135, 128, b"sealed2", true)
        .await
        .unwrap();
    store
        .put_key(x.id, KeyKind::Op, 1, 128, b"op", false)
        .await
        .unwrap();
    assert_eq!(
        store
            .sealed_key(x.id, KeyKind::Transport, 135)
            .await
            .unwrap(),
        b"sealed2"
    );
    assert!(matches!(
        store.sealed_key(x.id, KeyKind::Op, 135).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.sealed_key(y.id, KeyKind::Transport, 135).await,
        Err(StoreError::NotFound(_))
    ));
    let keys = store.keys(x.id).await.unwrap();
    let keys: Vec<(KeyKind, i64, i64)> = keys.iter().map(|k| (k.kind, k.index, k.bits)).collect();
    assert_eq!(
        keys,
        vec![(KeyKind::Op, 1, 128), (KeyKind::Transport, 135, 128)]
    );
    assert!(store.keys(y.id).await.unwrap().is_empty());

    // Batches: ranges of batches that are not released never overlap, of any operator.
    let a = store
        .reserve_batch(&batch(x.id, "a", (100, 199), (1000, 1099)))
        .await
        .unwrap();
    assert_eq!(
        overlap(
            store
                .reserve_batch(&batch(y.id, "b", (199, 250), (2000, 2051)))
                .await
        ),
        "ICCID"
    );
    assert_eq!(
        overlap(
            store
                .reserve_batch(&batch(x.id, "b", (200, 250), (1099, 1149)))
                .await
        ),
        "IMSI"
    );
    // Another length is another number space.
    let mut other_len = batch(y.id, "c", (100, 199), (5000, 5099));
    other_len.iccid.len = 20;
    let c = store.reserve_batch(&other_len).await.unwrap();
    assert!(matches!(
        store
            .reserve_batch(&batch(x.id, "a", (300, 301), (3000, 3001)))
            .await,
        Err(StoreError::Exists(_))
    ));
    assert_eq!(
        store.highest_reserved(true, 19, 0, 1_000).await.unwrap(),
        Some(199)
    );
    assert_eq!(
        store.highest_reserved(true, 19, 0, 150).await.unwrap(),
        Some(150)
    );
    assert_eq!(
        store.highest_reserved(false, 15, 0, 10_000).await.unwrap(),
        Some(5099)
    );
    let got = store.batch(a).await.unwrap();
    assert_eq!(
        (
            got.operator.as_str(),
            got.name.as_str(),
            got.quantity,
            got.state,
            got.iccid,
            got.completed_at.is_none()
        ),
        (
            "x",
            "a",
            100,
            BatchState::Generating,
            Range {
                len: 19,
                first: 100,
                last: 199
            },
            true
        )
    );
    store.release_batch(a).await.unwrap();
    assert!(matches!(
        store.release_batch(a).await,
        Err(StoreError::State(id, ref state, _)) if id == a && state == "released"
    ));
    assert_eq!(
        store.highest_reserved(true, 19, 0, 1_000).await.unwrap(),
        None
    );
    // The released range is free again.
    let b = store
        .reserve_batch(&batch(x.id, "b", (150, 160), (1050, 1060)))
        .await
        .unwrap();
    store.complete_batch(b).await.unwrap();
    assert!(matches!(
        store.release_batch(b).await,
        Err(StoreError::State(..))
    ));
    assert!(matches!(
        store.complete_batch(b).await,
        Err(StoreError::State(..))
    ));
    let done = store.batch(b).await.unwrap();
    assert_eq!(done.state, BatchState::Complete);
    assert!(done.completed_at.is_some());
    assert!(matches!(
        store.batch(9_999).await,
        Err(StoreError::NotFound(_))
    ));
    let of_x: Vec<i64> = store
        .batches(Some("x"))
        .await
        .unwrap()
        .iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(of_x, vec![b, a], "newest first");
    let all: Vec<i64> = store
        .batches(None)
        .await
        .unwrap()
        .iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(all, vec![b, c, a]);

    // Quotas, and the cards ordered lately (released batches excepted).
    assert_eq!(store.quotas(x.id).await.unwrap(), Quotas::default());
    let q = Quotas {
        api_rps: Some(5),
        batch_cards_per_day: Some(1_000_000),
        inventory_max: None,
    };
    store.set_quotas(x.id, &q).await.unwrap();
    assert_eq!(store.quotas(x.id).await.unwrap(), q);
    assert_eq!(store.quotas(y.id).await.unwrap(), Quotas::default());
    let (cards, oldest) = store.cards_since(x.id, 0).await.unwrap();
    assert_eq!(cards, 11);
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let oldest = oldest.unwrap();
    assert!((now - 600..=now + 1).contains(&oldest), "{oldest} vs {now}");
    assert_eq!(store.cards_since(x.id, now + 60).await.unwrap(), (0, None));
    assert_eq!(store.cards_since(y.id, 0).await.unwrap().0, 100);

    // ES2+ credentials: an active hash is one operator's, until revoked.
    let h = Sha256Hex::from_digest([0xAB; 32]);
    let id = store
        .add_credential(x.id, CredentialKind::ApiKey, &h, "sfk_0123", 10)
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_credential(y.id, CredentialKind::ApiKey, &h, "", 11)
            .await,
        Err(StoreError::Exists(_))
    ));
    store
        .add_credential(y.id, CredentialKind::ClientCert, &h, "CN=y", 11)
        .await
        .unwrap();
    let c = store
        .active_credential(CredentialKind::ApiKey, &h)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.id, c.operator_id, c.operator.as_str(), c.label.as_str()),
        (id, x.id, "x", "sfk_0123")
    );
    assert!(matches!(
        store.revoke_credential(y.id, id, 12).await,
        Err(StoreError::NotFound(_))
    ));
    store.revoke_credential(x.id, id, 12).await.unwrap();
    assert!(
        store
            .active_credential(CredentialKind::ApiKey, &h)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.revoke_credential(x.id, id, 13).await.is_err());
    let list = store.credentials(x.id).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].revoked_at, Some(12));
    store
        .add_credential(y.id, CredentialKind::ApiKey, &h, "", 14)
        .await
        .unwrap();
    assert_eq!(store.credentials(y.id).await.unwrap().len(), 2);

    // The master key check: stored once, a wrong key refused.
    assert!(store.vault_check().await.unwrap().is_none());
    store
        .check_master_key(
            "aa",
            || Some(b"sealed-by-aa".to_vec()),
            |v| v == b"sealed-by-aa",
        )
        .await
        .unwrap();
    store
        .check_master_key("aa", || panic!("sealed again"), |v| v == b"sealed-by-aa")
        .await
        .unwrap();
    assert!(matches!(
        store.check_master_key("bb", || None, |_| false).await,
        Err(StoreError::WrongMasterKey { .. })
    ));
    assert_eq!(
        store.init_vault_check("cc", b"other").await.unwrap(),
        ("aa".to_owned(), b"sealed-by-aa".to_vec())
    );

    // The operator API's view of a profile: its record without the package, the operator's
    // only.
    let pki = lab(simforge_pki::Curve::P256, 1);
    let smdp = smdp_on(store.clone(), &pki);
    add(&smdp, x.id, ICCID).await;
    let iccid = ICCID.parse().unwrap();
    let view = store.profile_view(x.id, &iccid).await.unwrap().unwrap();
    assert_eq!(view.state, ProfileState::Available);
    assert_eq!(view.iccid.as_str(), ICCID);
    assert!(view.package.0.is_empty());
    assert!(store.profile_view(y.id, &iccid).await.unwrap().is_none());
}

/// Reservations of overlapping ranges from several nodes at once (one [`Store`] each on the
/// same database): in each group of ranges that all overlap, exactly one wins; every other is
/// refused as an overlap; what is reserved never overlaps.
pub async fn concurrent_reservations_from_several_nodes_never_overlap<B>(backend: B)
where
    B: Backend<Store = Store>,
{
    const GROUPS: i64 = 4;
    const PER_GROUP: i64 = 6;
    let nodes = [
        backend.open().await,
        backend.open().await,
        backend.open().await,
    ];
    let op = nodes[0]
        .create_operator(&new_operator("racer"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for g in 0..GROUPS {
        for i in 0..PER_GROUP {
            // Every range of a group holds g·1000 + 500; groups are apart. IMSIs never
            // overlap: the ICCIDs alone decide.
            let n = g * PER_GROUP + i;
            let b = batch(
                op.id,
                &format!("g{g}-{i}"),
                (g * 1000 + 100 + i * 50, g * 1000 + 500 + i),
                (10_000 * (n + 1), 10_000 * (n + 1) + 10),
            );
            let node = nodes[usize::try_from(n).unwrap() % nodes.len()].clone();
            tasks.push(tokio::spawn(
                async move { (g, node.reserve_batch(&b).await) },
            ));
        }
    }
    let mut won = BTreeSet::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            (g, Ok(_)) => assert!(won.insert(g), "group {g} won twice"),
            (_, Err(StoreError::Overlap(c))) => {
                assert_eq!(c.what, "ICCID");
                refused += 1;
            }
            (_, Err(e)) => panic!("{e}"),
        }
    }
    assert_eq!(won.len(), usize::try_from(GROUPS).unwrap());
    assert_eq!(refused, GROUPS * (PER_GROUP - 1));
    let held = nodes[1].batches(Some("racer")).await.unwrap();
    assert_eq!(held.len(), usize::try_from(GROUPS).unwrap());
    for (i, a) in held.iter().enumerate() {
        for b in &held[i + 1..] {
            assert!(
                a.iccid.last < b.iccid.first || b.iccid.last < a.iccid.first,
                "{a:?} overlaps {b:?}"
            );
        }
    }
}

/// An operator and its SM-DP+ default, as another handle (a restart, another node) finds them.
pub async fn an_operator_survives_reopening_the_database<B>(backend: B)
where
    B: Backend<Store = Store>,
{
    let store = backend.open().await;
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
        Err(StoreError::NotFound(_))
    ));
    store.close().await;
    drop(store);
    let store = backend.open().await;
    assert!(store.operator("op").await.unwrap().reuse_on_delete);
    assert_eq!(store.operator_by_id(op.id).await.unwrap().name, "op");
}

/// A backend whose database a [`DatabaseLocation`] names.
pub trait Located: RawSql<Store = Store> {
    /// Where its database is.
    fn location(&self) -> DatabaseLocation;
    /// The statement that records a migration this simforge does not know.
    const FUTURE_MIGRATION: &'static str;
}

/// A database a newer simforge migrated is refused at open and by `migrate`, with both
/// versions named; a current one is migrated and opened.
pub async fn a_schema_newer_than_the_binary_is_refused<B: Located>(backend: B) {
    let location = backend.location();
    let known = Store::migrate(&location).await.unwrap();
    assert!(known > 0);
    let store = Store::open(&location).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), known);
    store.close().await;
    drop(store);
    backend.exec(B::FUTURE_MIGRATION).await;
    for e in [
        Store::open(&location).await.unwrap_err(),
        Store::migrate(&location).await.unwrap_err(),
    ] {
        assert!(
            matches!(e, StoreError::SchemaTooNew { found: 9_999, known: k } if k == known),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("9999") && msg.contains(&known.to_string()) && msg.contains("newer"),
            "{msg}"
        );
    }
}

/// Cluster counters (`cluster_state`): bumped by several nodes at once, each bump counted
/// once, every node reading the same value.
pub async fn cluster_counters_are_shared_by_every_node<B>(backend: B)
where
    B: Backend<Store = Store>,
{
    use simforge_store::cluster::KEYS_GENERATION;
    let nodes = [backend.open().await, backend.open().await];
    assert_eq!(nodes[0].cluster_counter(KEYS_GENERATION).await.unwrap(), 0);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let node = nodes[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            node.bump_cluster_counter(KEYS_GENERATION).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=10).collect::<Vec<i64>>(),
        "each bump counted once"
    );
    for node in &nodes {
        assert_eq!(node.cluster_counter(KEYS_GENERATION).await.unwrap(), 10);
        assert_eq!(node.cluster_counter("other").await.unwrap(), 0);
    }
}
