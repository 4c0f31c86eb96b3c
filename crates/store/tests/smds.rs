//! The SM-DS's SQLite records: the same rules as in memory (arrival order per EID, (EID,
//! EventID) unique, another registrant's record answered as unknown, expiry and purge), the
//! ES11 flow on top, and records that survive a restart while sessions do not.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use simforge_asn1::json::{DeleteEventRequest, RegisterEventRequest, RequestHeader};
use simforge_crypto::SystemRandom;
use simforge_pki::Curve;
use simforge_smds::{Error, Registrant, Smds, SmdsConfig, SmdsKeys, SmdsStore};
use simforge_store::smds::SqliteSmdsStore;
use simforge_testkit::lab::{NOW, lab};
use simforge_testkit::prelude::TestEuicc;

const DS: &str = "smds.simforge.test";

fn smds(pki: &simforge_pki::LabPki, path: &std::path::Path) -> Smds<SqliteSmdsStore> {
    let mut cfg = SmdsConfig::new(DS);
    cfg.event_ttl_secs = Some(3600);
    Smds::new(
        cfg,
        SmdsKeys::from_pkis(&[pki]).unwrap(),
        SqliteSmdsStore::open(path).unwrap(),
        Arc::new(SystemRandom::new()),
    )
}

fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "smdp1".into(),
        function_call_identifier: "c".into(),
    }
}

fn reg(e: &TestEuicc, id: &str) -> RegisterEventRequest {
    RegisterEventRequest {
        header: header(),
        eid: e.eid,
        rsp_server_address: "smdp.example.com".into(),
        event_id: id.into(),
        forwarding_indicator: Some(true),
    }
}

fn del(e: &TestEuicc, id: &str) -> DeleteEventRequest {
    DeleteEventRequest {
        header: header(),
        eid: e.eid,
        event_id: id.into(),
    }
}

fn discover(ds: &Smds<SqliteSmdsStore>, e: &mut TestEuicc, now: i64) -> Vec<String> {
    let ia = ds.initiate_authentication(&e.initiate(DS), now).unwrap();
    let ac = e.authenticate_server(&ia, None);
    ds.authenticate_client(&ac, now)
        .unwrap()
        .event_entries
        .into_iter()
        .map(|x| x.event_id)
        .collect()
}

#[test]
fn sqlite_records_follow_the_smds_rules_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smds.db");
    let pki = lab(Curve::P256, 2);
    let mut a = TestEuicc::from_lab(&pki, 0);
    let mut b = TestEuicc::from_lab(&pki, 1);
    let (dp1, dp2) = (
        Registrant::parse("smdp1").unwrap(),
        Registrant::parse("smdp2").unwrap(),
    );
    {
        let ds = smds(&pki, &path);
        for id in ["EV-3", "EV-1", "EV-2"] {
            ds.register_event(&dp1, &reg(&a, id), NOW).unwrap();
        }
        ds.register_event(&dp2, &reg(&b, "EV-B"), NOW + 10).unwrap();
        assert_eq!(
            ds.register_event(&dp2, &reg(&a, "EV-1"), NOW).unwrap_err(),
            Error::EventIdConflict
        );
        assert_eq!(discover(&ds, &mut a, NOW), ["EV-3", "EV-1", "EV-2"]);
        assert_eq!(
            ds.delete_event(&dp2, &del(&a, "EV-1"), NOW).unwrap_err(),
            Error::EventUnknown
        );
        ds.delete_event(&dp1, &del(&a, "EV-1"), NOW).unwrap();
        // A session opened before the restart.
        let ia = ds.initiate_authentication(&a.initiate(DS), NOW).unwrap();
        let ac = a.authenticate_server(&ia, None);
        drop(ds);
        let ds = smds(&pki, &path);
        assert_eq!(
            ds.authenticate_client(&ac, NOW).unwrap_err().status_code(),
            Some(simforge_asn1::StatusCode::UNKNOWN_TRANSACTION_ID)
        );
        assert_eq!(discover(&ds, &mut a, NOW + 1), ["EV-3", "EV-2"]);
        let r = ds.store().events_for(&a.eid).unwrap();
        assert!(r[0].forwarding_indicator);
        assert_eq!(r[0].registrant, dp1);
        assert_eq!(r[0].expires_at, Some(NOW + 3600));
        // Expiry: a's records (registered at NOW) go at NOW + 3600, b's stays.
        let purged = ds.purge_expired(NOW + 3600).unwrap();
        assert_eq!(purged.len(), 2);
        assert!(discover(&ds, &mut a, NOW + 3600).is_empty());
        assert_eq!(discover(&ds, &mut b, NOW + 3600), ["EV-B"]);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// An alternative SM-DS on SQLite: the forward is queued with the record (both survive a
/// restart), claimed under the SM-DP+'s queue rules (a delete waits for its register), and
/// a deletion queues its forward too.
#[test]
fn sqlite_alternative_smds_queues_its_forwards_with_the_records() {
    use simforge_smdp::{SmdsOpKind, SmdsOpState};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smds.sqlite");
    let pki = lab(Curve::P256, 1);
    let e = TestEuicc::from_lab(&pki, 0);
    let dp = Registrant::parse("dp1").unwrap();
    let alt = |path: &std::path::Path| {
        let mut cfg = SmdsConfig::new(DS);
        cfg.root = Some("root.smds.test".into());
        Smds::new(
            cfg,
            SmdsKeys::from_pkis(&[&pki]).unwrap(),
            SqliteSmdsStore::open(path).unwrap(),
            Arc::new(SystemRandom::new()),
        )
    };
    {
        let ds = alt(&path);
        ds.register_event(&dp, &reg(&e, "EV-1"), NOW).unwrap();
        let mut plain = reg(&e, "EV-2");
        plain.forwarding_indicator = None;
        ds.register_event(&dp, &plain, NOW).unwrap();
        ds.delete_event(&dp, &del(&e, "EV-1"), NOW + 1).unwrap();
        ds.delete_event(&dp, &del(&e, "EV-2"), NOW + 1).unwrap();
    }
    let ds = alt(&path);
    let st = ds.store();
    let kinds: Vec<_> = st
        .ops(10)
        .unwrap()
        .into_iter()
        .rev()
        .map(|r| {
            let o = r.entry.op;
            assert_eq!(
                (o.smds_address.as_str(), o.eid, o.operator_id),
                ("root.smds.test", e.eid, 0)
            );
            assert_eq!((o.event_id.as_str(), o.iccid), ("EV-1", None));
            (o.kind, r.state)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (SmdsOpKind::Register, SmdsOpState::Pending),
            (SmdsOpKind::Delete, SmdsOpState::Pending)
        ]
    );
    // The delete waits for its register.
    let now_ms = (NOW + 1) * 1000;
    let c = st.claim_ops(now_ms, 60_000, 10).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].op.kind, SmdsOpKind::Register);
    assert!(
        st.claim_ops(now_ms, 60_000, 10).unwrap().is_empty(),
        "leased"
    );
    st.op_done(c[0].id, now_ms).unwrap();
    assert!(st.op_done(c[0].id, now_ms).is_err(), "no longer pending");
    let c = st.claim_ops(now_ms, 60_000, 10).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].op.kind, SmdsOpKind::Delete);
    st.op_failed(c[0].id, "refused by the SM-DS: 8.9.5/3.9", None, now_ms)
        .unwrap();
    let rows = st.ops(10).unwrap();
    assert_eq!(rows[0].state, SmdsOpState::Failed);
    assert_eq!(rows[0].entry.attempts, 1);
    // Requeued (the done register is no later operation): due again, then done.
    let given_up = rows[0].entry.id;
    assert!(
        !st.requeue_op(given_up - 1, now_ms).unwrap(),
        "done, not given up"
    );
    assert!(st.requeue_op(given_up, now_ms + 5_000).unwrap());
    assert!(st.claim_ops(now_ms, 60_000, 10).unwrap().is_empty());
    let c = st.claim_ops(now_ms + 5_000, 60_000, 10).unwrap();
    assert_eq!((c.len(), c[0].id), (1, given_up));
    st.op_done(given_up, now_ms + 5_000).unwrap();
    assert_eq!(st.purge_ops(NOW + 2, 10).unwrap(), 2);
    assert!(st.ops(10).unwrap().is_empty());
}

/// A deletion removes the record it read, never one registered since (by another registrant,
/// once the first expired): the store deletes by EID, EventID, registrant and registration
/// time.
#[test]
fn sqlite_removes_only_the_record_that_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let pki = lab(Curve::P256, 1);
    let a = TestEuicc::from_lab(&pki, 0);
    let ds = smds(&pki, &dir.path().join("smds.db"));
    let dp1 = Registrant::parse("smdp1").unwrap();
    ds.register_event(&dp1, &reg(&a, "EV-1"), NOW).unwrap();
    let store = SqliteSmdsStore::open(&dir.path().join("smds.db")).unwrap();
    let read = store.events_for(&a.eid).unwrap().remove(0);
    // What another registrant's re-registration after expiry would look like.
    let mut stale = read.clone();
    stale.registrant = Registrant::parse("smdp2").unwrap();
    assert!(store.remove_event(&stale, &[]).unwrap().is_none());
    stale = read.clone();
    stale.registered_at -= 1;
    assert!(store.remove_event(&stale, &[]).unwrap().is_none());
    assert_eq!(store.events_for(&a.eid).unwrap().len(), 1, "still there");
    assert_eq!(store.remove_event(&read, &[]).unwrap(), Some(read));
    assert!(store.events_for(&a.eid).unwrap().is_empty());
}
