//! ES2+ HandleDownloadProgressInfo to an operator endpoint as operators run them: HTTPS on
//! 127.0.0.1 under the operator's private CA, requiring a TLS client certificate (ES2+ is
//! mutually authenticated: the SM-DP+ authenticates to the operator too). The PKI is made by
//! the `openssl` command (an independent implementation); the endpoint is plain rustls +
//! hyper, which records the client certificate of every request. Also: a retry horizon, and
//! a given-up event listed and redelivered (issue 16 item 8).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode as Http;
use axum::routing::post;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use simforge_server::{
    CallbackConfig, CallbackWorker, EndpointFuture, EndpointSettings, OperatorEndpoint,
};
use simforge_smdp::{Event, SmdpStore, SmdpTx};
use simforge_store::{NewOperator, OperatorAdmin as _, OutboxAdmin as _, Store};
use zeroize::Zeroizing;

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The operator's private CA (`ca.pem`), its endpoint's certificate for 127.0.0.1
/// (`endpoint.pem`/`.key`), and a client certificate it issued to the SM-DP+
/// (`smdp.pem`/`.key`), plus a client certificate of a CA the endpoint does not trust
/// (`stranger.pem`/`.key`).
fn operator_pki(dir: &Path) {
    let ca = |name: &str| {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "30",
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    };
    ca("ca");
    ca("other-ca");
    let issue = |name: &str, ca: &str, ext: &str| {
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.pem"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    };
    issue(
        "endpoint",
        "ca",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    );
    let client =
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n";
    issue("smdp", "ca", client);
    issue("stranger", "other-ca", client);
}

/// What the endpoint saw: per request, the client certificate (DER) and the body.
#[derive(Default)]
struct Endpoint {
    seen: Mutex<Vec<(Vec<u8>, serde_json::Value)>>,
    refused_handshakes: Mutex<u32>,
}

async fn receive(State((ep, peer)): State<(Arc<Endpoint>, Vec<u8>)>, body: Bytes) -> Http {
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    ep.seen.lock().unwrap().push((peer, json));
    Http::OK
}

/// The operator's HTTPS endpoint on 127.0.0.1: its certificate under the private CA, a
/// client certificate from that CA required. Returns it and its URL.
async fn https_endpoint(dir: &Path) -> (Arc<Endpoint>, String) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(dir.join("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("endpoint.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("endpoint.key")).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ep = Arc::new(Endpoint::default());
    let shared = Arc::clone(&ep);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let ep = Arc::clone(&shared);
            tokio::spawn(async move {
                let tls = match acceptor.accept(tcp).await {
                    Ok(t) => t,
                    Err(_) => {
                        *ep.refused_handshakes.lock().unwrap() += 1;
                        return;
                    }
                };
                let peer = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec())
                    .unwrap_or_default();
                let app = Router::new()
                    .route("/es2plus/handleDownloadProgressInfo", post(receive))
                    .with_state((ep, peer));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    (
        ep,
        format!(
            "https://127.0.0.1:{}/es2plus/handleDownloadProgressInfo",
            addr.port()
        ),
    )
}

/// Fixed settings for the worker (what `simforge serve` reads from the store).
struct Fixed(Mutex<OperatorEndpoint>);

impl EndpointSettings for Fixed {
    fn endpoint(&self, _operator: i64) -> EndpointFuture<'_> {
        let e = self.0.lock().unwrap().clone();
        Box::pin(async move { Ok(e) })
    }
}

fn identity(dir: &Path, name: &str) -> Zeroizing<Vec<u8>> {
    let mut pem = std::fs::read(dir.join(format!("{name}.pem"))).unwrap();
    pem.extend(std::fs::read(dir.join(format!("{name}.key"))).unwrap());
    Zeroizing::new(pem)
}

fn pem_der(dir: &Path, name: &str) -> Vec<u8> {
    CertificateDer::from_pem_file(dir.join(format!("{name}.pem")))
        .unwrap()
        .to_vec()
}

fn unix_now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn progress(op: i64, point: u32, at: i64) -> Event {
    Event::DownloadProgress {
        operator_id: op,
        iccid: "8949449999999990023".parse().expect("iccid"),
        profile_type: "t".into(),
        eid: None,
        point,
        failure: None,
        result_data: None,
        at,
    }
}

async fn store_with_event(at: i64) -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    let op = store
        .create_operator(&NewOperator {
            name: "op1".into(),
            mcc: "001".into(),
            mnc: "01".into(),
            iccid_prefix: "894944".into(),
            iccid_len: 19,
            spn: "Test".into(),
            out_columns: None,
        })
        .await
        .unwrap()
        .id;
    let mut tx = store.begin().await.unwrap();
    tx.push_events(&[progress(op, 1, at)]).await.unwrap();
    tx.commit().await.unwrap();
    (dir, store, op)
}

fn config() -> CallbackConfig {
    let mut c = CallbackConfig::new("smdp.simforge.test");
    c.backoff_base = Duration::from_millis(10);
    c.backoff_max = Duration::from_millis(20);
    c.request_timeout = Duration::from_secs(5);
    c.max_attempts = 2;
    c
}

/// Runs the worker until the event is delivered or given up.
async fn drain(worker: &CallbackWorker<Store>, store: &Store, op: i64) {
    for _ in 0..200 {
        worker.run_once().await.unwrap();
        let row = &store.outbox_rows(op, 1).await.unwrap()[0];
        if row.delivered_at.is_some() || row.failed_at.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    panic!("the event was neither delivered nor given up");
}

fn skip_without_openssl() -> bool {
    if have_openssl() {
        return false;
    }
    if std::env::var_os("CI").is_some() {
        panic!("openssl is needed for the operator's PKI (CI is set)");
    }
    println!("skipped: no openssl");
    true
}

#[tokio::test]
async fn the_operator_endpoint_under_a_private_ca_gets_the_callback_with_the_smdp_client_certificate()
 {
    if skip_without_openssl() {
        return;
    }
    let pki = tempfile::tempdir().unwrap();
    operator_pki(pki.path());
    let (ep, url) = https_endpoint(pki.path()).await;
    let (_d, store, op) = store_with_event(unix_now()).await;
    store.set_callback_url(op, Some(&url), 0).await.unwrap();

    // Without the operator's CA and without a client certificate: the event fails (the
    // endpoint is not under the web PKI) and, after the last attempt, is given up.
    let settings = Arc::new(Fixed(Mutex::new(OperatorEndpoint::default())));
    let worker = CallbackWorker::new(Arc::new(store.clone()), config())
        .unwrap()
        .with_settings(settings.clone());
    drain(&worker, &store, op).await;
    let failed = store.failed_events(op, 10).await.unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(ep.seen.lock().unwrap().is_empty());

    // With the CA bundle but a certificate of a CA the operator does not trust: refused in
    // the handshake.
    *settings.0.lock().unwrap() = OperatorEndpoint {
        identity_pem: Some(identity(pki.path(), "stranger")),
        ca_bundle_pem: Some(std::fs::read(pki.path().join("ca.pem")).unwrap()),
        retry_horizon: None,
    };
    let worker = CallbackWorker::new(Arc::new(store.clone()), config())
        .unwrap()
        .with_settings(settings.clone());
    assert_eq!(
        store
            .redeliver_events(op, Some(failed[0].id), 0)
            .await
            .unwrap(),
        1
    );
    drain(&worker, &store, op).await;
    assert!(ep.seen.lock().unwrap().is_empty());
    assert!(*ep.refused_handshakes.lock().unwrap() >= 1);
    let failed = store.failed_events(op, 10).await.unwrap();
    assert_eq!(failed.len(), 1);

    // The operator's CA bundle and the client certificate it issued: redelivered, received
    // once, with that certificate.
    *settings.0.lock().unwrap() = OperatorEndpoint {
        identity_pem: Some(identity(pki.path(), "smdp")),
        ca_bundle_pem: Some(std::fs::read(pki.path().join("ca.pem")).unwrap()),
        retry_horizon: None,
    };
    let worker = CallbackWorker::new(Arc::new(store.clone()), config())
        .unwrap()
        .with_settings(settings.clone());
    assert_eq!(store.redeliver_events(op, None, 0).await.unwrap(), 1);
    drain(&worker, &store, op).await;
    let seen = ep.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, pem_der(pki.path(), "smdp"));
    assert_eq!(seen[0].1["notificationPointId"], 1);
    assert_eq!(seen[0].1["iccid"], "8949449999999990023");
    let row = &store.outbox_rows(op, 1).await.unwrap()[0];
    assert!(row.delivered_at.is_some() && row.failed_at.is_none());
    assert!(store.failed_events(op, 10).await.unwrap().is_empty());
}

/// With a retry horizon, an event is given up once its next attempt would fall after the
/// horizon (counted from the event), whatever the number of attempts.
#[tokio::test]
async fn an_event_past_its_retry_horizon_is_given_up() {
    // Two hours old, horizon one hour: the first failure gives it up.
    let (_d, store, op) = store_with_event(unix_now() - 7200).await;
    store
        .set_callback_url(op, Some("http://127.0.0.1:9/unreachable"), 0)
        .await
        .unwrap();
    let mut cfg = config();
    cfg.max_attempts = 100;
    let settings = Arc::new(Fixed(Mutex::new(OperatorEndpoint {
        retry_horizon: Some(Duration::from_secs(3600)),
        ..OperatorEndpoint::default()
    })));
    let worker = CallbackWorker::new(Arc::new(store.clone()), cfg.clone())
        .unwrap()
        .with_settings(settings.clone());
    worker.run_once().await.unwrap();
    let row = &store.outbox_rows(op, 1).await.unwrap()[0];
    assert_eq!(row.attempts, 1);
    assert!(row.failed_at.is_some(), "{row:?}");

    // A fresh event within its horizon is retried.
    let mut tx = store.begin().await.unwrap();
    tx.push_events(&[progress(op, 3, unix_now())])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let worker = CallbackWorker::new(Arc::new(store.clone()), cfg)
        .unwrap()
        .with_settings(settings);
    worker.run_once().await.unwrap();
    let row = &store.outbox_rows(op, 1).await.unwrap()[0];
    assert_eq!(row.attempts, 1);
    assert!(row.failed_at.is_none(), "{row:?}");
}
