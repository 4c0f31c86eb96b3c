//! The slowloris report of issue 16, reproduced: a server process limited to 256 file
//! descriptors (`prlimit`), 300 clients that send a full header announcing a 60000-byte body
//! and then trickle it, and a real request that must still be answered. Before the connection
//! cap, the crowd held every descriptor and the real request never got past `accept`.
//!
//! The server runs in a child process (this test binary again, in the helper test below) so
//! that only it has the low descriptor limit.
#![allow(clippy::unwrap_used)] // test helpers

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use simforge_pki::{Curve, LabPkiOptions, generate_lab_pki};
use tokio::io::AsyncWriteExt;

const FQDN: &str = "smdp.simforge.test";
const CHILD_ENV: &str = "SIMFORGE_TEST_FD_CHILD";

/// Not a test of its own: the server process of the test below (it returns at once unless
/// started by it, with the directory holding the TLS chain and key in `SIMFORGE_TEST_FD_CHILD`).
#[tokio::test]
async fn server_process_for_fd_exhaustion() {
    use simforge_crypto::{SoftwareKeyAgreement, SystemRandom};
    use simforge_server::{AppState, CredentialCache, Metrics, StaticCredentials, router};
    use simforge_smdp::{MemoryStore, Smdp, SmdpConfig, SmdpKeys};
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let pki = generate_lab_pki(&LabPkiOptions::new(Curve::P256, FQDN)).unwrap();
    let smdp = Smdp::new(
        MemoryStore::new(),
        SmdpConfig::new(FQDN),
        SmdpKeys::from_pkis(&[&pki]).unwrap(),
        Arc::new(SystemRandom::new()),
        Arc::new(SoftwareKeyAgreement::new(SystemRandom::new())),
        Arc::new(simforge_vault::MasterKey::from_bytes([1; 32])),
    );
    let app = router(Arc::new(AppState {
        smdp,
        credentials: CredentialCache::new(
            Arc::new(StaticCredentials(Default::default())),
            Duration::from_secs(60),
        ),
        metrics: Metrics::default(),
        limits: simforge_server::SourceLimits::default(),
    }));
    std::fs::write(dir.join("ci.der"), pki.ci.der()).unwrap();
    let chain = vec![pki.smdp.tls.cert.der().to_vec(), pki.ci.der().to_vec()];
    let key = pki.smdp.tls.key.to_pkcs8_der().unwrap().to_vec();
    let config = simforge_server::tls_config(chain, key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("port={}", listener.local_addr().unwrap().port());
    simforge_server::serve_tls(listener, config, app)
        .await
        .unwrap();
}

/// Kills the child server whatever happens.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_crowd_cannot_take_every_file_descriptor() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "prlimit (util-linux) missing on CI"
        );
        println!("skipped: no prlimit");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Child(
        Command::new("prlimit")
            .arg("--nofile=256:256")
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "server_process_for_fd_exhaustion", "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let port: u16 = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("port=").map(|p| p.trim().parse().unwrap()))
        .expect("the server process printed no port");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let ci = std::fs::read(dir.path().join("ci.der")).unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(ci.clone()))
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    ));
    // The crowd: 300 connections, each a full header and then a byte every 5 s.
    let mut crowd = Vec::new();
    for _ in 0..300 {
        let connector = connector.clone();
        crowd.push(tokio::spawn(async move {
            let name = rustls::pki_types::ServerName::try_from(FQDN).unwrap();
            let connect = async {
                let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
                connector.connect(name, tcp).await.ok()
            };
            let Ok(Some(mut tls)) = tokio::time::timeout(Duration::from_secs(5), connect).await
            else {
                return;
            };
            let head = format!(
                "POST /gsma/rsp2/es9plus/initiateAuthentication HTTP/1.1\r\nHost: {FQDN}\r\nContent-Type: application/json\r\nX-Admin-Protocol: gsma/rsp/v2.2.0\r\nContent-Length: 60000\r\n\r\n"
            );
            if tls.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if tls.write_all(b" ").await.is_err() || tls.flush().await.is_err() {
                    return;
                }
            }
        }));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // A real request gets its answer.
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_der(&ci).unwrap())
        .resolve(FQDN, addr)
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let started = Instant::now();
    let r = client
        .post(format!(
            "https://{FQDN}:{port}/gsma/rsp2/es9plus/initiateAuthentication"
        ))
        .header("content-type", "application/json")
        .header("x-admin-protocol", "gsma/rsp/v2.2.0")
        .body("{}")
        .send()
        .await;
    let r =
        r.unwrap_or_else(|e| panic!("the real request failed after {:?}: {e}", started.elapsed()));
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(
        v["header"]["functionExecutionStatus"]["statusCodeData"]["subjectCode"], "1.3.1",
        "{v}"
    );
    assert!(child.0.try_wait().unwrap().is_none(), "the server died");
    for c in crowd {
        c.abort();
    }
}
