//! The server's transport on real sockets (127.0.0.1): deadlines on request bodies and on every
//! read and write, the connection cap against a slowloris crowd, oversized bodies, 401 bodies,
//! X-Admin-Protocol, and what malformed requests are told. Clients: raw TLS (tokio-rustls) for
//! the misbehaving ones, reqwest for the well-behaved ones.
#![allow(clippy::unwrap_used)] // test helpers

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use simforge_crypto::{SoftwareKeyAgreement, SystemRandom};
use simforge_pki::{Curve, LabPki, LabPkiOptions, generate_lab_pki};
use simforge_server::{
    AppState, CredentialCache, CredentialKind, Metrics, OperatorCredential, StaticCredentials,
    Timeouts, api_key_sha256, router, serve_tls_with, tls_config,
};
use simforge_smdp::{MemoryStore, Smdp, SmdpConfig, SmdpKeys};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FQDN: &str = "smdp.simforge.test";
const IA: &str = "/gsma/rsp2/es9plus/initiateAuthentication";
const DO: &str = "/gsma/rsp2/es2plus/downloadOrder";

struct Server {
    addr: SocketAddr,
    pki: LabPki,
}

async fn start(timeouts: Timeouts) -> Server {
    let pki = generate_lab_pki(&LabPkiOptions::new(Curve::P256, FQDN)).unwrap();
    let smdp = Smdp::new(
        MemoryStore::new(),
        SmdpConfig::new(FQDN),
        SmdpKeys::from_pkis(&[&pki]).unwrap(),
        Arc::new(SystemRandom::new()),
        Arc::new(SoftwareKeyAgreement::new(SystemRandom::new())),
        Arc::new(simforge_vault::MasterKey::from_bytes([1; 32])),
    );
    let mut creds = HashMap::new();
    creds.insert(
        (CredentialKind::ApiKey, api_key_sha256("secret-key")),
        OperatorCredential {
            operator_id: 1,
            requester_id: "op1".into(),
        },
    );
    let app = router(Arc::new(AppState {
        smdp,
        credentials: CredentialCache::new(
            Arc::new(StaticCredentials(creds)),
            Duration::from_secs(60),
        ),
        metrics: Metrics::default(),
        limits: simforge_server::SourceLimits::default(),
    }));
    let chain = vec![pki.smdp.tls.cert.der().to_vec(), pki.ci.der().to_vec()];
    let key = pki.smdp.tls.key.to_pkcs8_der().unwrap().to_vec();
    let config = tls_config(chain, key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_tls_with(listener, config, app, timeouts));
    Server { addr, pki }
}

impl Server {
    /// A raw TLS client connection (for clients that misbehave).
    async fn tls(&self) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                self.pki.ci.der().to_vec(),
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
        let name = rustls::pki_types::ServerName::try_from(FQDN).unwrap();
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        tokio_rustls::TlsConnector::from(client)
            .connect(name, tcp)
            .await
            .unwrap()
    }

    /// A well-behaved HTTPS client (reqwest) trusting the lab CI.
    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_der(self.pki.ci.der()).unwrap())
            .resolve(FQDN, self.addr)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{FQDN}:{}{path}", self.addr.port())
    }

    /// POSTs `body` to `path` with the given X-Admin-Protocol and API key; the HTTP status and
    /// the JSON body (`Null` if none).
    async fn post(
        &self,
        path: &str,
        admin: Option<&str>,
        key: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        let mut b = self
            .client()
            .post(self.url(path))
            .header("content-type", "application/json");
        if let Some(a) = admin {
            b = b.header("x-admin-protocol", a);
        }
        if let Some(k) = key {
            b = b.header("x-api-key", k);
        }
        let r = b.body(body).send().await.unwrap();
        let status = r.status().as_u16();
        let bytes = r.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// (subjectCode, reasonCode, message) of a response header.
fn code(v: &serde_json::Value) -> (String, String, String) {
    let s = &v["header"]["functionExecutionStatus"];
    let d = &s["statusCodeData"];
    assert_eq!(s["status"], "Failed", "{v}");
    (
        d["subjectCode"].as_str().unwrap_or("").into(),
        d["reasonCode"].as_str().unwrap_or("").into(),
        d["message"].as_str().unwrap_or("").into(),
    )
}

fn check(got: (u16, serde_json::Value), expect: (u16, &str, &str)) -> String {
    let (status, v) = got;
    let (s, r, m) = code(&v);
    assert_eq!((status, s.as_str(), r.as_str()), expect, "{v}");
    m
}

const V: Option<&str> = Some("gsma/rsp/v2.2.0");

/// A client that sends a full header announcing 60000 bytes and then one byte every 100 ms is
/// answered 408 and disconnected once the body deadline (here 600 ms) passes; before, it kept
/// its connection for as long as it kept trickling.
#[tokio::test]
async fn a_slow_body_is_cut_at_the_body_deadline() {
    let server = start(Timeouts {
        body_read: Duration::from_millis(600),
        ..Default::default()
    })
    .await;
    let tls = server.tls().await;
    let (mut rd, mut wr) = tokio::io::split(tls);
    wr.write_all(
        format!(
            "POST {IA} HTTP/1.1\r\nHost: {FQDN}\r\nContent-Type: application/json\r\nX-Admin-Protocol: gsma/rsp/v2.2.0\r\nContent-Length: 60000\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        for _ in 0..600 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if wr.write_all(b" ").await.is_err() || wr.flush().await.is_err() {
                break;
            }
        }
    });
    let mut answer = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut answer)).await;
    let took = started.elapsed();
    trickle.abort();
    assert!(r.is_ok(), "still connected after 20 s");
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"subjectCode\":\"1.3.1\""), "{text}");
}

/// A client that sends a whole request and then never reads its answer is dropped once a
/// write has made no progress for the idle limit.
#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_at_the_idle_limit() {
    let server = start(Timeouts {
        idle: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let mut tls = server.tls().await;
    // Pipelined /metrics requests whose answers (some 30 MB) fill the socket buffers: the
    // server's writes stall, and it must give up rather than wait for ever.
    let many = format!("GET /metrics HTTP/1.1\r\nHost: {FQDN}\r\n\r\n").repeat(20_000);
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.write_all(many.as_bytes())).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // By now the server has given up: what it wrote is read, then the end (EOF or a reset).
    // Before, it was still waiting to write the rest.
    let mut buf = Vec::new();
    let end = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut buf)).await;
    assert!(end.is_ok(), "still connected after 10 s of reading");
}

/// More slow clients than the connection cap (each connected, sending its body a byte a
/// second) do not keep out a real request: the connection idle longest makes room.
#[tokio::test]
async fn a_slowloris_crowd_does_not_keep_out_a_real_request() {
    let server = Arc::new(
        start(Timeouts {
            max_connections: 8,
            max_connections_per_source: 8,
            ..Default::default()
        })
        .await,
    );
    let mut crowd = Vec::new();
    for _ in 0..24 {
        let mut tls = server.tls().await;
        crowd.push(tokio::spawn(async move {
            let head = format!(
                "POST {IA} HTTP/1.1\r\nHost: {FQDN}\r\nContent-Type: application/json\r\nX-Admin-Protocol: gsma/rsp/v2.2.0\r\nContent-Length: 60000\r\n\r\n"
            );
            if tls.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if tls.write_all(b" ").await.is_err() || tls.flush().await.is_err() {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let m = check(
        server.post(IA, V, None, b"{}".to_vec()).await,
        (200, "1.3.1", "2.2"),
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(m.contains("euiccChallenge"), "{m}");
    for c in crowd {
        c.abort();
    }
}

/// A 10 MB body is read to its end and answered 413 with the SGP.22 header (before, the client
/// got a connection reset while it was still sending).
#[tokio::test]
async fn a_10_mb_body_gets_an_sgp22_answer_not_a_reset() {
    let server = start(Timeouts::default()).await;
    let m = check(
        server.post(IA, V, None, vec![b' '; 10_000_000]).await,
        (413, "1.3.1", "2.2"),
    );
    assert!(m.contains("larger than 65536"), "{m}");
    // The ES2+ side too.
    check(
        server
            .post(DO, V, Some("secret-key"), vec![b' '; 10_000_000])
            .await,
        (413, "1.3.1", "2.2"),
    );
}

/// A 401 carries an SGP.22 header: 1.1 / 1.1 (Function Requester / Unauthorized).
#[tokio::test]
async fn unauthorized_es2_answers_have_an_sgp22_body() {
    let server = start(Timeouts::default()).await;
    let order = br#"{"header":{"functionRequesterIdentifier":"op1","functionCallIdentifier":"1"},"profileType":"x"}"#;
    for key in [None, Some("wrong-key")] {
        check(
            server.post(DO, V, key, order.to_vec()).await,
            (401, "1.1", "1.1"),
        );
    }
}

/// X-Admin-Protocol (SGP.22 §6.5.1, `gsma/rsp/v<x.y.z>`): mandatory on ES2+ and ES9+; any
/// v2.y.z is accepted (deployed LPAs send v2.0.0 … v2.5.0), anything else is 1.2.2 / 2.1.
#[tokio::test]
async fn x_admin_protocol_is_mandatory_and_must_be_a_v2_version() {
    let server = start(Timeouts::default()).await;
    let order = br#"{"header":{"functionRequesterIdentifier":"op1","functionCallIdentifier":"1"},"iccid":"8949449999999990023"}"#;
    let key = Some("secret-key");
    // ES2+: missing or garbage is refused; a v2 version passes on to the function (8.2.1).
    for bad in [None, Some("gsma/rsp/v2.x"), Some("gsma/rsp/v3.0.0")] {
        check(
            server.post(DO, bad, key, order.to_vec()).await,
            (200, "1.2.2", "2.1"),
        );
    }
    check(
        server.post(DO, V, key, order.to_vec()).await,
        (200, "8.2.1", "3.9"),
    );
    // ES9+.
    for bad in [
        None,
        Some("gsma/rsp/v2.garbage"),
        Some("gsma/rsp/v2"),
        Some("gsma/rsp/v2.2.2.2"),
        Some("gsma/rsp/v1.0.0"),
        Some("gsma/rsp/v3.1.0"),
        Some("v2.2.0"),
    ] {
        let m = check(
            server.post(IA, bad, None, b"{}".to_vec()).await,
            (200, "1.2.2", "2.1"),
        );
        assert!(m.contains("X-Admin-Protocol"), "{bad:?}: {m}");
    }
    for good in ["gsma/rsp/v2.0.0", "gsma/rsp/v2.2.2", "gsma/rsp/v2.5.0"] {
        check(
            server.post(IA, Some(good), None, b"{}".to_vec()).await,
            (200, "1.3.1", "2.2"),
        );
    }
}

/// Malformed ES9+ bodies are answered with the JSON member's name and what is wrong, never a
/// Rust type or field name or a decoder's internals.
#[tokio::test]
async fn malformed_bodies_are_told_by_member_name() {
    let server = start(Timeouts::default()).await;
    // (body, the member the message must name)
    let cases: [(&[u8], &str); 6] = [
        (b"[]", "request body"),
        (b"\"x\"", "request body"),
        (b"{not json", "request body"),
        (b"{}", "euiccChallenge"),
        (
            br#"{"euiccChallenge":"AAECAwQFBgcICQoLDA0ODw==","euiccInfo1":"vyCE/////w==","smdpAddress":"smdp.simforge.test"}"#,
            "euiccInfo1",
        ),
        (
            br#"{"euiccChallenge":5,"euiccInfo1":"AA==","smdpAddress":"x"}"#,
            "euiccChallenge",
        ),
    ];
    for (body, member) in cases {
        let m = check(
            server.post(IA, V, None, body.to_vec()).await,
            (200, "1.3.1", "2.2"),
        );
        assert!(m.starts_with(&format!("{member}: ")), "{m}");
        for leak in [
            "struct",
            "InitiateAuthenticationRequest",
            "EuiccInfo1",
            "Size(",
            "B64Bytes",
            "Asn1B64",
            "JSON field",
        ] {
            assert!(!m.contains(leak), "{m}");
        }
    }
    // An ES9+ transactionId that is no transactionId.
    let m = check(
        server
            .post(
                "/gsma/rsp2/es9plus/authenticateClient",
                V,
                None,
                br#"{"transactionId":"zz","authenticateServerResponse":"vzgA"}"#.to_vec(),
            )
            .await,
        (200, "1.3.1", "2.2"),
    );
    assert!(m.starts_with("transactionId: "), "{m}");
}

/// Shutdown drains: a request in flight when the server is told to stop is answered in full,
/// an idle keep-alive connection does not hold the drain, and nothing is accepted afterwards.
#[tokio::test]
async fn shutdown_answers_the_request_in_flight_then_stops() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            "done"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(simforge_server::serve_plain_until(
        listener,
        app,
        Timeouts::default(),
        async {
            let _ = stopped.await;
        },
    ));
    // An idle keep-alive connection (one request answered, then nothing).
    let mut idle = tokio::net::TcpStream::connect(at).await.unwrap();
    idle.write_all(b"GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 404"));
    // A request in flight.
    let mut busy = tokio::net::TcpStream::connect(at).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    let mut answer = Vec::new();
    busy.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
    // The server returns once both connections are gone (well before the 30 s drain limit).
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("drained")
        .unwrap()
        .unwrap();
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).await.unwrap_or(0), 0);
    assert!(tokio::net::TcpStream::connect(at).await.is_err());
}
