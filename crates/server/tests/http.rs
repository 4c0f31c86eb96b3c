//! The HTTP binding without sockets: headers, malformed and oversized bodies, ES2+ auth.
#![allow(clippy::unwrap_used)] // test helpers

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode as Http};
use simforge_crypto::{SoftwareKeyAgreement, SystemRandom};
use simforge_pki::{Curve, LabPkiOptions, generate_lab_pki};
use simforge_server::{
    AppState, BoxFuture, ClientCertificate, CredentialCache, CredentialKind, CredentialSource,
    LookupError, Metrics, OperatorCredential, StaticCredentials, api_key_sha256, router,
};
use simforge_smdp::{MemoryStore, Smdp, SmdpConfig, SmdpKeys};
use tower::ServiceExt;

fn op(id: i64) -> OperatorCredential {
    OperatorCredential {
        operator_id: id,
        requester_id: format!("op{id}"),
    }
}

const CERT1: [u8; 32] = [0xC1; 32];
const CERT2: [u8; 32] = [0xC2; 32];

fn app_with(source: Arc<dyn CredentialSource>) -> axum::Router {
    let pki = generate_lab_pki(&LabPkiOptions::new(Curve::P256, "smdp.simforge.test")).unwrap();
    let smdp = Smdp::new(
        MemoryStore::new(),
        SmdpConfig::new("smdp.simforge.test"),
        SmdpKeys::from_pkis(&[&pki]).unwrap(),
        Arc::new(SystemRandom::new()),
        Arc::new(SoftwareKeyAgreement::new(SystemRandom::new())),
        Arc::new(simforge_vault::MasterKey::from_bytes([1; 32])),
    );
    router(Arc::new(AppState {
        smdp,
        credentials: CredentialCache::new(source, Duration::from_secs(60)),
        metrics: Metrics::default(),
        limits: simforge_server::SourceLimits::default(),
    }))
}

fn app() -> axum::Router {
    let mut m = HashMap::new();
    m.insert(
        (CredentialKind::ApiKey, api_key_sha256("secret-key")),
        op(1),
    );
    m.insert((CredentialKind::ApiKey, api_key_sha256("key-of-2")), op(2));
    m.insert((CredentialKind::ClientCert, CERT1), op(1));
    m.insert((CredentialKind::ClientCert, CERT2), op(2));
    app_with(Arc::new(StaticCredentials(m)))
}

async fn post(
    app: &axum::Router,
    path: &str,
    ct: &str,
    admin: bool,
    key: Option<&str>,
    body: Vec<u8>,
) -> (Http, serde_json::Value) {
    post_cert(app, path, ct, admin, key, None, body).await
}

async fn post_cert(
    app: &axum::Router,
    path: &str,
    ct: &str,
    admin: bool,
    key: Option<&str>,
    cert: Option<[u8; 32]>,
    body: Vec<u8>,
) -> (Http, serde_json::Value) {
    let mut b = Request::post(path).header("content-type", ct);
    if let Some(c) = cert {
        b = b.extension(ClientCertificate { sha256: c });
    }
    if admin {
        b = b.header("x-admin-protocol", "gsma/rsp/v2.2.0");
    }
    if let Some(k) = key {
        b = b.header("x-api-key", k);
    }
    let resp = app
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn code(v: &serde_json::Value) -> (String, String) {
    let d = &v["header"]["functionExecutionStatus"]["statusCodeData"];
    (
        d["subjectCode"].as_str().unwrap_or("").into(),
        d["reasonCode"].as_str().unwrap_or("").into(),
    )
}

const IA: &str = "/gsma/rsp2/es9plus/initiateAuthentication";

#[tokio::test]
async fn es9_header_and_body_errors_use_sgp22_codes() {
    let app = app();
    let ct = "application/json;charset=UTF-8";
    let (s, v) = post(&app, IA, "text/plain", true, None, b"{}".to_vec()).await;
    assert_eq!((s, code(&v)), (Http::OK, ("1.2.1".into(), "2.1".into())));
    let (s, v) = post(&app, IA, ct, false, None, b"{}".to_vec()).await;
    assert_eq!((s, code(&v)), (Http::OK, ("1.2.2".into(), "2.1".into())));
    for body in [
        b"{not json".to_vec(),
        br#"{"euiccChallenge":"!!notbase64","euiccInfo1":"AA==","smdpAddress":"x"}"#.to_vec(),
    ] {
        let (s, v) = post(&app, IA, ct, true, None, body).await;
        assert_eq!((s, code(&v)), (Http::OK, ("1.3.1".into(), "2.2".into())));
    }
    // Over the 64 KiB limit: 413, with the SGP.22 header.
    let (s, v) = post(&app, IA, ct, true, None, vec![b' '; 100_000]).await;
    assert_eq!(
        (s, code(&v)),
        (Http::PAYLOAD_TOO_LARGE, ("1.3.1".into(), "2.2".into()))
    );
    let (s, v) = post(
        &app,
        "/gsma/rsp2/es9plus/authenticateClient",
        ct,
        true,
        None,
        br#"{"transactionId":"0102","authenticateServerResponse":"vzgA"}"#.to_vec(),
    )
    .await;
    assert_ne!(s, Http::INTERNAL_SERVER_ERROR);
    assert!(!code(&v).0.is_empty());
}

#[tokio::test]
async fn es2_needs_the_operator_key_and_its_requester_id() {
    let app = app();
    let ct = "application/json";
    let body = br#"{"header":{"functionRequesterIdentifier":"op1","functionCallIdentifier":"1"},"iccid":"8949449999999990023"}"#.to_vec();
    let (s, _) = post(
        &app,
        "/gsma/rsp2/es2plus/downloadOrder",
        ct,
        true,
        None,
        body.clone(),
    )
    .await;
    assert_eq!(s, Http::UNAUTHORIZED);
    let (s, _) = post(
        &app,
        "/gsma/rsp2/es2plus/downloadOrder",
        ct,
        true,
        Some("wrong"),
        body.clone(),
    )
    .await;
    assert_eq!(s, Http::UNAUTHORIZED);
    let (s, v) = post(
        &app,
        "/gsma/rsp2/es2plus/downloadOrder",
        ct,
        true,
        Some("secret-key"),
        body,
    )
    .await;
    assert_eq!((s, code(&v)), (Http::OK, ("8.2.1".into(), "3.9".into())));
    let other = br#"{"header":{"functionRequesterIdentifier":"op2","functionCallIdentifier":"1"},"iccid":"8949449999999990023"}"#.to_vec();
    let (_, v) = post(
        &app,
        "/gsma/rsp2/es2plus/downloadOrder",
        ct,
        true,
        Some("secret-key"),
        other,
    )
    .await;
    assert_eq!(code(&v), ("1.2".into(), "1.2".into()));
    let resp = app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&text).contains("simforge_smdp_requests_total"));
}

const DO: &str = "/gsma/rsp2/es2plus/downloadOrder";

fn order(requester: &str) -> Vec<u8> {
    format!(r#"{{"header":{{"functionRequesterIdentifier":"{requester}","functionCallIdentifier":"1"}},"iccid":"8949449999999990023"}}"#).into_bytes()
}

#[tokio::test]
async fn es2_client_certificate_authenticates_its_operator_only() {
    let app = app();
    let ct = "application/json";
    // A registered certificate alone authenticates operator 1 (the ICCID is unknown: 8.2.1).
    let (s, v) = post_cert(&app, DO, ct, true, None, Some(CERT1), order("op1")).await;
    assert_eq!((s, code(&v)), (Http::OK, ("8.2.1".into(), "3.9".into())));
    // … bound to its functionRequesterIdentifier.
    let (s, v) = post_cert(&app, DO, ct, true, None, Some(CERT1), order("op2")).await;
    assert_eq!((s, code(&v)), (Http::OK, ("1.2".into(), "1.2".into())));
    // An unregistered certificate: the same answer as a wrong API key.
    let (s, _) = post_cert(&app, DO, ct, true, None, Some([0xEE; 32]), order("op1")).await;
    assert_eq!(s, Http::UNAUTHORIZED);
    // API key and certificate of different operators: refused.
    let (s, _) = post_cert(
        &app,
        DO,
        ct,
        true,
        Some("secret-key"),
        Some(CERT2),
        order("op1"),
    )
    .await;
    assert_eq!(s, Http::UNAUTHORIZED);
    // A valid API key with an unregistered certificate (the client's TLS identity): the key
    // decides.
    let (s, v) = post_cert(
        &app,
        DO,
        ct,
        true,
        Some("secret-key"),
        Some([0xEE; 32]),
        order("op1"),
    )
    .await;
    assert_eq!((s, code(&v)), (Http::OK, ("8.2.1".into(), "3.9".into())));
    // A wrong API key is refused even with a registered certificate.
    let (s, _) = post_cert(&app, DO, ct, true, Some("nope"), Some(CERT1), order("op1")).await;
    assert_eq!(s, Http::UNAUTHORIZED);
}

/// A source whose answers can change, and that counts lookups.
#[derive(Default)]
struct LiveInner {
    keys: Mutex<HashMap<[u8; 32], OperatorCredential>>,
    lookups: Mutex<u32>,
}

#[derive(Clone, Default)]
struct Live(Arc<LiveInner>);

impl std::ops::Deref for Live {
    type Target = LiveInner;
    fn deref(&self) -> &LiveInner {
        &self.0
    }
}

impl CredentialSource for Live {
    fn lookup(
        &self,
        _kind: CredentialKind,
        sha256: [u8; 32],
    ) -> BoxFuture<'_, Result<Option<OperatorCredential>, LookupError>> {
        *self.lookups.lock().unwrap() += 1;
        let r = self.keys.lock().unwrap().get(&sha256).cloned();
        Box::pin(async move { Ok(r) })
    }
}

#[tokio::test]
async fn credentials_are_cached_for_the_ttl_only() {
    let live = Live::default();
    let cache = CredentialCache::new(Arc::new(live.clone()), Duration::from_millis(200));
    let k = api_key_sha256("k");
    // Unknown: asked every time (a new key works at once).
    assert!(
        cache
            .lookup(CredentialKind::ApiKey, k)
            .await
            .unwrap()
            .is_none()
    );
    live.keys.lock().unwrap().insert(k, op(1));
    assert_eq!(
        cache.lookup(CredentialKind::ApiKey, k).await.unwrap(),
        Some(op(1))
    );
    assert_eq!(*live.lookups.lock().unwrap(), 2);
    // Known: cached for the TTL, then asked again (a revoked key stops working).
    live.keys.lock().unwrap().clear();
    assert!(
        cache
            .lookup(CredentialKind::ApiKey, k)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(*live.lookups.lock().unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        cache
            .lookup(CredentialKind::ApiKey, k)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(*live.lookups.lock().unwrap(), 3);
}

#[test]
fn tls_config_accepts_the_dptls_chain() {
    let pki = generate_lab_pki(&LabPkiOptions::new(Curve::P256, "smdp.simforge.test")).unwrap();
    let chain = vec![pki.smdp.tls.cert.der().to_vec(), pki.ci.der().to_vec()];
    let key = pki.smdp.tls.key.to_pkcs8_der().unwrap().to_vec();
    simforge_server::tls_config(chain, key).unwrap();
}

#[tokio::test]
async fn unknown_functions_mint_no_metric_series() {
    let app = app();
    for (path, key) in [
        ("/gsma/rsp2/es9plus/evil%22%7D%0Ainjected", None),
        ("/gsma/rsp2/es9plus/other-name-1", None),
        ("/gsma/rsp2/es2plus/evil%0Aes2", Some("secret-key")),
        ("/gsma/rsp2/es2plus/evil-unauthorized", None),
    ] {
        let (s, _) = post(&app, path, "application/json", true, key, b"{}".to_vec()).await;
        assert!(
            s == Http::NOT_FOUND || s == Http::UNAUTHORIZED,
            "{path}: {s}"
        );
    }
    let resp = app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&text);
    assert!(!text.contains("evil") && !text.contains("injected") && !text.contains("other-name"));
    assert!(text.contains("function=\"unknown\""), "{text}");
}

/// A client that connects and never starts its TLS handshake is dropped after the handshake
/// timeout (10 s, on the paused test clock), and the server goes on accepting.
#[tokio::test(start_paused = true)]
async fn a_silent_tls_client_is_dropped_after_the_handshake_timeout() {
    use tokio::io::AsyncReadExt;
    let pki = generate_lab_pki(&LabPkiOptions::new(Curve::P256, "smdp.simforge.test")).unwrap();
    let chain = vec![pki.smdp.tls.cert.der().to_vec(), pki.ci.der().to_vec()];
    let key = pki.smdp.tls.key.to_pkcs8_der().unwrap().to_vec();
    let config = simforge_server::tls_config(chain, key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(simforge_server::serve_tls(listener, config, app()));
    let started = tokio::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(60), silent.read(&mut buf))
        .await
        .expect("the server never dropped the silent client")
        .unwrap_or(0);
    assert_eq!(n, 0, "connection closed without a byte");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(60),
        "{waited:?}"
    );
    // Still serving: another connection is accepted.
    tokio::net::TcpStream::connect(addr).await.unwrap();
}

/// A client that completes its TLS handshake and then sends no request, or only part of a
/// header, is dropped once the header-read limit passes (here 300 ms, real time; 30 s by
/// default), and the server goes on serving.
#[tokio::test]
async fn a_client_that_stalls_after_the_handshake_is_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pki = generate_lab_pki(&LabPkiOptions::new(Curve::P256, "smdp.simforge.test")).unwrap();
    let chain = vec![pki.smdp.tls.cert.der().to_vec(), pki.ci.der().to_vec()];
    let key = pki.smdp.tls.key.to_pkcs8_der().unwrap().to_vec();
    let config = simforge_server::tls_config(chain, key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let timeouts = simforge_server::Timeouts {
        header_read: Duration::from_millis(300),
        ..Default::default()
    };
    tokio::spawn(simforge_server::serve_tls_with(
        listener,
        config,
        app(),
        timeouts,
    ));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            pki.ci.der().to_vec(),
        ))
        .unwrap();
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let connector = tokio_rustls::TlsConnector::from(client);
    let name = rustls::pki_types::ServerName::try_from("smdp.simforge.test").unwrap();

    for partial in [
        &b""[..],
        b"POST /gsma/rsp2/es9plus/initiateAuthentication HTTP/1.1\r\nHost: x\r\n",
    ] {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = connector.connect(name.clone(), tcp).await.unwrap();
        tls.write_all(partial).await.unwrap();
        tls.flush().await.unwrap();
        let started = std::time::Instant::now();
        let mut buf = Vec::new();
        // The server closes the connection (EOF, or a reset): it never waits for ever.
        let r = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut buf)).await;
        assert!(
            r.is_ok(),
            "still open after 10 s (sent {} bytes)",
            partial.len()
        );
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "closed before the limit: {:?}",
            started.elapsed()
        );
    }
    // Still serving.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    connector.connect(name, tcp).await.unwrap();
}

/// A credential store that is down.
struct Down;

impl CredentialSource for Down {
    fn lookup(
        &self,
        _kind: CredentialKind,
        _sha256: [u8; 32],
    ) -> BoxFuture<'_, Result<Option<OperatorCredential>, LookupError>> {
        Box::pin(async { Err("connection pool timed out: secret-key-material".into()) })
    }
}

/// An internal failure is the SM-DP+'s, not the caller's: 503 with SGP.22's "execution error"
/// (1.2 / 4.2), never "mandatory element missing", and its text is not sent.
#[tokio::test]
async fn an_internal_failure_is_answered_as_an_execution_error() {
    let app = app_with(Arc::new(Down));
    let body = br#"{"header":{"functionRequesterIdentifier":"op1","functionCallIdentifier":"1"},"iccid":"8949449999999990023"}"#.to_vec();
    let (s, v) = post(&app, DO, "application/json", true, Some("k"), body).await;
    assert_eq!(s, Http::SERVICE_UNAVAILABLE);
    assert_eq!(code(&v), ("1.2".into(), "4.2".into()));
    assert_eq!(
        v["header"]["functionExecutionStatus"]["status"].as_str(),
        Some("Failed")
    );
    let text = v.to_string();
    assert!(text.contains("temporarily unavailable"), "{text}");
    assert!(!text.contains("secret-key-material"), "{text}");
}
