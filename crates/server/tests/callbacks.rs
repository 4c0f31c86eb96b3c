//! ES2+ HandleDownloadProgressInfo delivery: a download driven through the SM-DP+ logic (the
//! sans-IO LPA + eUICC test client of `simforge-smdp`) over the SQLite store, and the callback
//! worker POSTing every notification point to a local receiver (plain HTTP on 127.0.0.1: the
//! worker's HTTPS path is reqwest + rustls and needs nothing test-specific), in order, with
//! retries.
#![allow(clippy::unwrap_used)]

use simforge_testkit::prelude as common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as Http};
use axum::routing::post;
use common::{FQDN, NOW, TestEuicc, lab, synthetic_package};
use simforge_asn1::json::{ConfirmOrderRequest, DownloadOrderRequest, RequestHeader};
use simforge_crypto::{KeyAgreement, Random, SoftwareKeyAgreement, SystemRandom};
use simforge_server::{CallbackConfig, CallbackWorker};
use simforge_smdp::profile::iccid_to_bcd;
use simforge_smdp::{
    Event, NewProfile, ProfileMetadata, Smdp, SmdpConfig, SmdpKeys, SmdpStore, SmdpTx,
};
use simforge_store::{NewOperator, OutboxAdmin as _, Store};
use zeroize::Zeroizing;

const ICCID: &str = "8949449999999990023";
const ADDR: &str = "smdp.simforge.test:8443";

/// What the receiver saw: headers of interest, body, and what it answered.
#[derive(Clone, Debug)]
struct Received {
    content_type: String,
    admin_protocol: String,
    body: serde_json::Value,
    answered: u16,
}

#[derive(Default)]
struct Receiver {
    seen: Mutex<Vec<Received>>,
    fail_next: Mutex<u32>,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Http {
    let answer = {
        let mut f = r.fail_next.lock().unwrap();
        if *f > 0 {
            *f -= 1;
            Http::INTERNAL_SERVER_ERROR
        } else {
            Http::OK
        }
    };
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    r.seen.lock().unwrap().push(Received {
        content_type: h("content-type"),
        admin_protocol: h("x-admin-protocol"),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        answered: answer.as_u16(),
    });
    answer
}

/// A receiver on 127.0.0.1; returns it and its URL.
async fn receiver(fail_first: u32) -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver {
        seen: Mutex::default(),
        fail_next: Mutex::new(fail_first),
    });
    let app = Router::new()
        .route("/es2plus/handleDownloadProgressInfo", post(receive))
        .with_state(Arc::clone(&r));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        r,
        format!("http://{addr}/es2plus/handleDownloadProgressInfo"),
    )
}

async fn store_with(names: &[&str]) -> (tempfile::TempDir, Store, Vec<i64>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in names {
        let op = store
            .create_operator(&NewOperator {
                name: (*name).into(),
                mcc: "001".into(),
                mnc: "01".into(),
                iccid_prefix: "894944".into(),
                iccid_len: 19,
                spn: "Test".into(),
                out_columns: None,
            })
            .await
            .unwrap();
        ids.push(op.id);
    }
    (dir, store, ids)
}

fn fast_config() -> CallbackConfig {
    let mut c = CallbackConfig::new(ADDR);
    c.poll_interval = Duration::from_millis(20);
    c.backoff_base = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(200);
    c.request_timeout = Duration::from_secs(5);
    c
}

async fn wait_for(r: &Receiver, ok: usize) -> Vec<Received> {
    for _ in 0..500 {
        let seen = r.seen.lock().unwrap().clone();
        if seen.iter().filter(|s| s.answered == 200).count() >= ok {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "receiver got only {:?}",
        r.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.answered)
            .collect::<Vec<_>>()
    );
}

fn header(n: u32) -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "op1".into(),
        function_call_identifier: format!("call-{n}"),
    }
}

#[tokio::test]
async fn every_notification_point_reaches_the_operator_in_order() {
    let (_dir, store, ops) = store_with(&["op1", "op2"]).await;
    let (op, other) = (ops[0], ops[1]);
    let (rx, url) = receiver(0).await;
    let (rx_other, url_other) = receiver(0).await;
    store.set_callback_url(op, Some(&url), NOW).await.unwrap();
    store
        .set_callback_url(other, Some(&url_other), NOW)
        .await
        .unwrap();

    let pki = lab(simforge_pki::Curve::P256, 1);
    let mut cfg = SmdpConfig::new(FQDN);
    cfg.port = 8443;
    let rng: Arc<dyn Random> = Arc::new(SystemRandom::new());
    let ka: Arc<dyn KeyAgreement> = Arc::new(SoftwareKeyAgreement::new(SystemRandom::new()));
    let smdp = Smdp::new(
        store.clone(),
        cfg,
        SmdpKeys::from_pkis(&[&pki]).unwrap(),
        rng,
        ka,
        Arc::new(simforge_vault::MasterKey::from_bytes([7; 32])),
    );
    smdp.add_profile(
        op,
        NewProfile {
            iccid: ICCID.parse().expect("iccid"),
            profile_type: "ts48".into(),
            metadata: ProfileMetadata {
                service_provider_name: "Simforge".into(),
                profile_name: "Test profile".into(),
                profile_class: 2,
                notification_address: Some(FQDN.into()),
            },
            package: Zeroizing::new(synthetic_package()),
            reuse_on_delete: true,
            radio_access: Vec::new(),
        },
        NOW,
    )
    .await
    .unwrap();
    smdp.download_order(
        op,
        &DownloadOrderRequest {
            header: header(1),
            eid: None,
            iccid: Some(ICCID.into()),
            profile_type: None,
        },
        NOW,
    )
    .await
    .unwrap();
    let (confirmed, _) = smdp
        .confirm_order(
            op,
            &ConfirmOrderRequest {
                header: header(2),
                iccid: ICCID.parse().expect("iccid"),
                eid: None,
                matching_id: None,
                confirmation_code: Some("1234".into()),
                smds_address: None,
                release_flag: true,
            },
            NOW,
        )
        .await
        .unwrap();
    let mid = confirmed.matching_id.unwrap();

    // First attempt: a wrong confirmation code (points 1 ok, 2 failed).
    let mut e = TestEuicc::from_lab(&pki, 0);
    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .unwrap();
    let (ac, _) = smdp
        .authenticate_client(&e.authenticate_server(&ia, Some(mid.as_str())), NOW)
        .await
        .unwrap();
    smdp.get_bound_profile_package(&e.prepare_download(&ac, Some("9999")), NOW)
        .await
        .unwrap_err();
    // Second attempt: the right one (points 1, 3, 4 ok).
    let mut e = TestEuicc::from_lab(&pki, 0);
    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .unwrap();
    let (ac, _) = smdp
        .authenticate_client(&e.authenticate_server(&ia, Some(mid.as_str())), NOW)
        .await
        .unwrap();
    let (bpp, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, Some("1234")), NOW)
        .await
        .unwrap();
    e.load_bpp(&bpp);
    let pir = e.pir(&iccid_to_bcd(ICCID), true);
    smdp.handle_notification(&pir, NOW).await.unwrap();

    let worker = CallbackWorker::new(Arc::new(store.clone()), fast_config())
        .unwrap()
        .spawn();
    let seen = wait_for(&rx, 5).await;
    // Nothing more arrives (state-change events are not callbacks).
    tokio::time::sleep(Duration::from_millis(200)).await;
    worker.abort();
    let seen_after = rx.seen.lock().unwrap().clone();
    assert_eq!(seen_after.len(), 5, "{seen_after:#?}");
    assert!(rx_other.seen.lock().unwrap().is_empty());

    let points: Vec<u64> = seen
        .iter()
        .map(|s| s.body["notificationPointId"].as_u64().unwrap())
        .collect();
    assert_eq!(points, vec![1, 2, 1, 3, 4]);
    let eid = e.eid.as_str().to_owned();
    let mut call_ids = Vec::new();
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.answered, 200);
        assert_eq!(s.content_type, "application/json;charset=UTF-8");
        assert_eq!(s.admin_protocol, "gsma/rsp/v2.2.0");
        let b = &s.body;
        assert_eq!(b["header"]["functionRequesterIdentifier"], ADDR);
        call_ids.push(
            b["header"]["functionCallIdentifier"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        assert_eq!(b["iccid"], ICCID);
        assert_eq!(b["profileType"], "ts48");
        assert_eq!(b["timestamp"], "2027-01-15T08:00:00Z");
        assert_eq!(b["eid"], eid.as_str(), "callback {i}");
        let status = &b["notificationPointStatus"];
        if i == 1 {
            assert_eq!(status["status"], "Failed");
            assert_eq!(status["statusCodeData"]["subjectCode"], "8.2.7");
            assert_eq!(status["statusCodeData"]["reasonCode"], "3.8");
        } else {
            assert_eq!(status["status"], "Executed-Success");
            assert!(status.get("statusCodeData").is_none());
        }
        if i == 4 {
            // The PIR exactly as the eUICC signed it.
            assert_eq!(
                b["resultData"],
                serde_json::to_value(&pir.pending_notification).unwrap()
            );
        } else {
            assert!(b.get("resultData").is_none());
        }
    }
    call_ids.sort();
    call_ids.dedup();
    assert_eq!(call_ids.len(), 5);

    // Every event is done: callbacks delivered once, state changes skipped.
    let rows = store.outbox_rows(op, 100).await.unwrap();
    assert!(rows.len() > 5);
    assert!(rows.iter().all(|r| r.delivered_at.is_some()));
    assert_eq!(
        rows.iter()
            .filter(|r| r.kind == "download_progress")
            .map(|r| r.attempts)
            .collect::<Vec<_>>(),
        vec![1; 5]
    );
}

fn progress(op: i64, point: u32) -> Event {
    Event::DownloadProgress {
        operator_id: op,
        iccid: ICCID.parse().expect("iccid"),
        profile_type: "t".into(),
        eid: None,
        point,
        failure: None,
        result_data: None,
        at: NOW,
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_each_event_once_after_retries_in_order() {
    let (_dir, store, ops) = store_with(&["op1", "op2"]).await;
    let (op, silent) = (ops[0], ops[1]);
    let (rx, url) = receiver(2).await;
    store.set_callback_url(op, Some(&url), NOW).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.push_events(&[progress(op, 1), progress(silent, 1), progress(op, 3)])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let worker = CallbackWorker::new(Arc::new(store.clone()), fast_config())
        .unwrap()
        .spawn();
    wait_for(&rx, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.abort();
    let seen = rx.seen.lock().unwrap().clone();
    let got: Vec<(u64, u16, String)> = seen
        .iter()
        .map(|s| {
            (
                s.body["notificationPointId"].as_u64().unwrap(),
                s.answered,
                s.body["header"]["functionCallIdentifier"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    // The first event fails twice, then is delivered once; the second waits behind it.
    let first = got[0].2.clone();
    assert_eq!(
        got,
        vec![
            (1, 500, first.clone()),
            (1, 500, first.clone()),
            (1, 200, first),
            (3, 200, got[3].2.clone()),
        ]
    );
    assert_ne!(got[0].2, got[3].2);

    let rows = store.outbox_rows(op, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    let (second, first) = (&rows[0], &rows[1]);
    assert_eq!((first.attempts, first.delivered_at.is_some()), (3, true));
    assert_eq!(first.last_error, None);
    assert_eq!((second.attempts, second.delivered_at.is_some()), (1, true));
    // The operator without an endpoint keeps its event for later.
    let rows = store.outbox_rows(silent, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].attempts, rows[0].delivered_at), (0, None));
}

#[tokio::test]
async fn gives_up_after_the_last_attempt_and_moves_on() {
    let (_dir, store, ops) = store_with(&["op1"]).await;
    let op = ops[0];
    let (rx, url) = receiver(u32::MAX).await;
    store.set_callback_url(op, Some(&url), NOW).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.push_events(&[progress(op, 1)]).await.unwrap();
    tx.commit().await.unwrap();
    let mut cfg = fast_config();
    cfg.max_attempts = 3;
    let worker = CallbackWorker::new(Arc::new(store.clone()), cfg).unwrap();
    for _ in 0..100 {
        worker.run_once().await.unwrap();
        if store.outbox_rows(op, 1).await.unwrap()[0]
            .failed_at
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let row = &store.outbox_rows(op, 1).await.unwrap()[0];
    assert_eq!(row.attempts, 3);
    assert!(row.failed_at.is_some() && row.delivered_at.is_none());
    assert_eq!(row.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(rx.seen.lock().unwrap().len(), 3);
    // Nothing left to claim.
    assert_eq!(
        worker.run_once().await.unwrap(),
        simforge_server::RoundStats::default()
    );
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let c = CallbackConfig::new("x");
    let s: Vec<u64> = (1..=12).map(|n| c.backoff(n).as_secs()).collect();
    assert_eq!(s, vec![2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600]);
    assert_eq!(c.backoff(u32::MAX).as_secs(), 600);
}
