//! The audit log ([`AuditLog`]) of the SQL stores: entries read back and verified; every
//! kind of tampering done directly in the database named by `verify` (kind and seq); a
//! tenant sees only its own entries; concurrent appends make one chain.

use simforge_audit::{AuditLog, BreakKind, Draft, Entry, Outcome, Query, action, to_hex, verify};
use simforge_pki::Curve;
use simforge_smdp::profile::iccid_to_bcd;
use simforge_store::SessionCache;

use super::backends::{A, B, Backend, RawSql};
use super::{ICCID, NOW, TestEuicc, auth, lab, record, released_order_of, smdp_with};

/// Entry `i` (tenants A and B in turn).
fn draft(i: u64) -> Draft {
    let tenant = if i.is_multiple_of(2) { A } else { B };
    Draft::new(
        1_700_000_000 + i64::try_from(i).unwrap(),
        "cli:test",
        action::BATCH_GENERATE,
        format!("batch:b{i}"),
    )
    .tenant(tenant)
    .detail("quantity", i)
}

async fn all<S: AuditLog>(store: &S) -> Vec<Entry> {
    store.entries(&Query::default()).await.unwrap()
}

/// What `verify` says of the stored log: its count, or where and how it is broken.
async fn verdict<S: AuditLog>(store: &S) -> Result<u64, (u64, BreakKind)> {
    verify(all(store).await)
        .map(|s| s.count)
        .map_err(|b| (b.seq, b.kind))
}

pub async fn the_chain_finds_tampering_and_never_forks<K: RawSql>(backend: K)
where
    K::Store: AuditLog,
{
    let store = backend.open().await;
    let mut appended = Vec::new();
    for i in 1..=10 {
        let e = store.append(draft(i)).await.unwrap();
        assert_eq!(e.seq, i);
        appended.push(e);
    }
    assert_eq!(all(&store).await, appended);
    let summary = verify(&appended).unwrap();
    assert_eq!((summary.count, summary.head), (10, appended[9].hash));

    // A tenant sees only its own entries; after a seq, since a time, at most `limit`.
    let only_a = store
        .entries(&Query {
            tenant: Some(A),
            ..Query::default()
        })
        .await
        .unwrap();
    assert_eq!(only_a.len(), 5);
    assert!(only_a.iter().all(|e| e.tenant == Some(A)));
    let q = Query {
        after_seq: 4,
        since_at: Some(1_700_000_006),
        tenant: Some(B),
        limit: Some(1),
    };
    let seqs: Vec<u64> = store
        .entries(&q)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![7]);

    // Tampering, straight in the database; each undone after.
    backend
        .exec("CREATE TABLE audit_bak AS SELECT * FROM audit_log")
        .await;
    let restore = "DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM audit_bak";
    let forged =
        Draft::new(1_700_000_000, "cli:mallory", action::LOGIN, "forged").seal(5, appended[3].hash);
    let insert = format!(
        "UPDATE audit_log SET seq = -seq WHERE seq >= 5;
         UPDATE audit_log SET seq = 1 - seq WHERE seq < 0;
         INSERT INTO audit_log (seq, at, actor, tenant, action, target, outcome, source,
             details, prev_hash, hash)
         VALUES (5, {}, '{}', NULL, '{}', '{}', 'ok', NULL, '{}', '{}', '{}')",
        forged.at,
        forged.actor,
        forged.action,
        forged.target,
        forged.details_json(),
        to_hex(&forged.prev_hash),
        to_hex(&forged.hash)
    );
    let cases = [
        (
            "UPDATE audit_log SET target = 'batch:other' WHERE seq = 3".to_owned(),
            (3, BreakKind::Edited),
        ),
        (
            "UPDATE audit_log SET outcome = 'denied' WHERE seq = 10".to_owned(),
            (10, BreakKind::Edited),
        ),
        (
            "DELETE FROM audit_log WHERE seq = 5".to_owned(),
            (5, BreakKind::Deleted),
        ),
        (
            "DELETE FROM audit_log WHERE seq = 1".to_owned(),
            (1, BreakKind::Deleted),
        ),
        (insert, (5, BreakKind::Inserted)),
        (
            "UPDATE audit_log SET seq = -2 WHERE seq = 2;
             UPDATE audit_log SET seq = 2 WHERE seq = 7;
             UPDATE audit_log SET seq = 7 WHERE seq = -2"
                .to_owned(),
            (2, BreakKind::Reordered),
        ),
    ];
    for (sql, expect) in cases {
        backend.exec(&sql).await;
        assert_eq!(verdict(&store).await, Err(expect), "after {sql}");
        backend.exec(restore).await;
        assert_eq!(verdict(&store).await, Ok(10), "restored after {sql}");
    }

    // Concurrent appends, from two handles: one chain, no seq twice.
    let other = backend.open().await;
    let tasks: Vec<_> = (0..8u64)
        .map(|t| {
            let s = if t % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move {
                for i in 0..50 {
                    s.append(draft(100 + t * 50 + i)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(verdict(&store).await, Ok(410));
}

/// Every profile package the SM-DP+ unsealed for a BPP is in the audit log, appended in the
/// GetBoundProfilePackage transaction: one `profile.unseal` per delivered BPP, by `system`,
/// for the profile's operator, on `profile:<iccid>`, with the transactionId and EID (never
/// the package), chained with the log's other appends. A call refused before the unseal
/// records nothing; with `audit_unseals = false` nothing is recorded. Through a
/// [`SessionCache`], as `serve` runs the SM-DP+.
pub async fn every_unseal_is_audited<K: Backend>(backend: K)
where
    K::Store: AuditLog,
{
    let store = backend.open().await;
    let pki = lab(Curve::P256, 2);
    let smdp = smdp_with(SessionCache::new(store.clone()), &pki, |_| {});
    store.append(draft(1)).await.unwrap();
    let mid = released_order_of(&smdp, A, ICCID).await;
    let mut e = TestEuicc::from_lab(&pki, 0);
    let mut tids = Vec::new();
    let mut last = None;
    // Two BPPs delivered: the first install fails, the second succeeds.
    for success in [false, true] {
        let ac = auth(&smdp, &mut e, &mid).await;
        tids.push(ac.transaction_id.clone().unwrap().to_string());
        let req = e.prepare_download(&ac, None);
        let (bpp, _) = smdp.get_bound_profile_package(&req, NOW).await.unwrap();
        e.load_bpp(&bpp);
        smdp.handle_notification(&e.pir(&iccid_to_bcd(ICCID), success), NOW)
            .await
            .unwrap();
        store.append(draft(2)).await.unwrap();
        last = Some(req);
    }
    // A replay is refused before any unseal.
    assert!(
        smdp.get_bound_profile_package(&last.unwrap(), NOW)
            .await
            .is_err()
    );

    let entries = all(&store).await;
    assert_eq!(verify(&entries).map(|s| s.count), Ok(5), "{entries:?}");
    let unseals: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.action == action::PROFILE_UNSEAL)
        .collect();
    assert_eq!(unseals.len(), 2, "one per delivered BPP: {entries:?}");
    for (u, tid) in unseals.iter().zip(&tids) {
        assert_eq!(u.actor, "system");
        assert_eq!(u.tenant, Some(A));
        assert_eq!(u.target, format!("profile:{ICCID}"));
        assert_eq!(u.outcome, Outcome::Ok);
        assert_eq!(u.at, NOW);
        assert_eq!(u.details["transactionId"], tid.as_str());
        assert_eq!(u.details["eid"], e.eid.as_str());
        let mut keys: Vec<&str> = u.details.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["eid", "function", "transactionId"], "nothing else");
    }
    // Never the package, sealed or not.
    let text = serde_json::to_string(&entries).unwrap().to_lowercase();
    let sealed = record(&smdp, A, ICCID).await.package.0;
    for bytes in [sealed, super::synthetic_package()] {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!text.contains(&hex), "a package in the log");
    }
    // Tenant B sees none of them.
    let b = store
        .entries(&Query {
            tenant: Some(B),
            ..Query::default()
        })
        .await
        .unwrap();
    assert!(b.iter().all(|e| e.action != action::PROFILE_UNSEAL));

    // Audit off (benchmarks only): a delivered BPP, no entry.
    let quiet = smdp_with(SessionCache::new(store.clone()), &pki, |c| {
        c.audit_unseals = false;
    });
    let other = crate::common::iccid(7);
    let mid = released_order_of(&quiet, A, &other).await;
    let mut e = TestEuicc::from_lab(&pki, 1);
    let ac = auth(&quiet, &mut e, &mid).await;
    quiet
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .unwrap();
    assert_eq!(all(&store).await.len(), 5);
}
