//! Issue 16 items 4, 5 and 9 at the HTTP boundary, without sockets (the TCP peer is the
//! `PeerAddr` extension the TLS server sets): ES2+ lockout keyed on (source, credential),
//! trusted proxies, per-source throttling of failed ES9+ matchingId lookups, the bound on
//! unauthenticated ES9+ sessions per source, and the peer address in auth-failure logs.
#![allow(clippy::unwrap_used)]

use simforge_testkit::prelude as common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode as Http};
use common::{FQDN, NOW, TestEuicc, lab, service};
use simforge_asn1::json::{self, InitiateAuthenticationResponse};
use simforge_asn1::{StatusCode, TransactionId};
use simforge_server::{
    AppState, CredentialCache, CredentialKind, MAX_FAILURES, MAX_INITIATED_PER_SOURCE,
    MAX_MATCHING_ID_FAILURES, Metrics, OperatorCredential, PeerAddr, SourceLimits,
    StaticCredentials, TrustedProxies, api_key_sha256, router,
};
use simforge_smdp::{MemoryStore, NewProfile, ProfileMetadata};
use tower::ServiceExt;

const ADDR: &str = "smdp.simforge.test:8443";
const KEY: &str = "operator-1-key";
const ES2_ORDER: &str = "/gsma/rsp2/es2plus/downloadOrder";
const IA: &str = "/gsma/rsp2/es9plus/initiateAuthentication";
const AC: &str = "/gsma/rsp2/es9plus/authenticateClient";

type State = Arc<AppState<MemoryStore>>;

fn state(pki: &simforge_pki::LabPki, trusted: &[&str]) -> State {
    let mut m = HashMap::new();
    m.insert(
        (CredentialKind::ApiKey, api_key_sha256(KEY)),
        OperatorCredential {
            operator_id: 1,
            requester_id: "op1".into(),
        },
    );
    Arc::new(AppState {
        smdp: service(&[pki]),
        credentials: CredentialCache::new(Arc::new(StaticCredentials(m)), Duration::from_secs(1)),
        metrics: Metrics::default(),
        limits: SourceLimits::new(TrustedProxies(
            trusted.iter().map(|c| c.parse().unwrap()).collect(),
        )),
    })
}

struct Answer {
    status: Http,
    retry_after: Option<u64>,
    body: Vec<u8>,
}

impl Answer {
    fn code(&self) -> Option<(String, String)> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        let d = &v["header"]["functionExecutionStatus"]["statusCodeData"];
        Some((
            d["subjectCode"].as_str()?.to_owned(),
            d["reasonCode"].as_str()?.to_owned(),
        ))
    }
}

/// One request from TCP peer `peer`, with extra headers.
async fn send(
    st: &State,
    path: &str,
    peer: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Answer {
    let mut b = Request::post(path)
        .header("content-type", "application/json")
        .header("x-admin-protocol", "gsma/rsp/v2.2.0")
        .extension(PeerAddr(peer.parse::<IpAddr>().unwrap()));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let r = router(st.clone())
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body = axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        retry_after,
        body,
    }
}

fn order_body() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "header": {"functionRequesterIdentifier": "op1", "functionCallIdentifier": "c1"},
        "iccid": "8949449999999990023",
    }))
    .unwrap()
}

/// An ES2+ DownloadOrder with `key` from `peer` (and headers).
async fn es2(st: &State, peer: &str, headers: &[(&str, &str)], key: &str) -> Answer {
    let mut h = headers.to_vec();
    h.push(("x-api-key", key));
    send(st, ES2_ORDER, peer, &h, order_body()).await
}

#[tokio::test]
async fn es2_failures_of_others_never_lock_out_a_valid_key() {
    let pki = lab(simforge_pki::Curve::P256, 1);
    let st = state(&pki, &[]);
    let nat = "198.51.100.1";
    // The operator works from behind a NAT …
    let a = es2(&st, nat, &[], KEY).await;
    assert_eq!(a.status, Http::OK);
    // … while someone else behind it guesses keys.
    for i in 0..MAX_FAILURES {
        let a = es2(&st, nat, &[], &format!("guess-{i}")).await;
        assert_eq!(a.status, Http::UNAUTHORIZED);
    }
    let a = es2(&st, nat, &[], "guess-x").await;
    assert_eq!(
        a.status,
        Http::TOO_MANY_REQUESTS,
        "guessing is still limited"
    );
    assert!(a.retry_after.is_some_and(|s| (1..=60).contains(&s)));
    // The refusal is an SGP.22 answer too (it was an empty body): function requester, maximum
    // number of retries exceeded.
    assert_eq!(a.code(), Some(("1.1".to_owned(), "6.4".to_owned())));
    // Before: the operator's valid key got 429 too, for the rest of the minute.
    let a = es2(&st, nat, &[], KEY).await;
    assert_eq!(a.status, Http::OK, "the valid key still works");
    // Another address is not affected by the NAT's failures.
    let a = es2(&st, "203.0.113.5", &[], "guess-y").await;
    assert_eq!(a.status, Http::UNAUTHORIZED);
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    let pki = lab(simforge_pki::Curve::P256, 1);
    let st = state(&pki, &["10.0.0.0/8"]);
    let proxy = "10.0.0.1";
    // A guesser behind the proxy is locked out under its own address …
    for i in 0..MAX_FAILURES {
        let a = es2(
            &st,
            proxy,
            &[("x-forwarded-for", "203.0.113.66, 192.0.2.1")],
            &format!("g{i}"),
        )
        .await;
        assert_eq!(a.status, Http::UNAUTHORIZED);
    }
    let spoofed = [("x-forwarded-for", "203.0.113.77, 192.0.2.1")];
    let a = es2(&st, proxy, &spoofed, "g").await;
    assert_eq!(
        a.status,
        Http::TOO_MANY_REQUESTS,
        "what the client prepends does not count"
    );
    // … another client of the same proxy is not (before: every client of the proxy was).
    let a = es2(&st, proxy, &[("x-forwarded-for", "192.0.2.2")], "g").await;
    assert_eq!(a.status, Http::UNAUTHORIZED);
    let a = es2(
        &st,
        proxy,
        &[("forwarded", "for=\"[2001:db8::5]:443\"")],
        "g",
    )
    .await;
    assert_eq!(a.status, Http::UNAUTHORIZED);
    // A peer that is not a trusted proxy cannot pick its address.
    for i in 0..MAX_FAILURES {
        let xff = format!("192.0.2.{}", 100 + i);
        es2(&st, "198.51.100.9", &[("x-forwarded-for", &xff)], "g").await;
    }
    let a = es2(
        &st,
        "198.51.100.9",
        &[("x-forwarded-for", "192.0.2.250")],
        "g",
    )
    .await;
    assert_eq!(a.status, Http::TOO_MANY_REQUESTS);
}

async fn add_profile(st: &State, iccid: &str) {
    st.smdp
        .add_profile(
            1,
            NewProfile {
                iccid: iccid.parse().expect("iccid"),
                profile_type: "ts48".into(),
                metadata: ProfileMetadata {
                    service_provider_name: "Simforge".into(),
                    profile_name: "Test profile".into(),
                    profile_class: 2,
                    notification_address: Some(FQDN.into()),
                },
                package: zeroize::Zeroizing::new(common::synthetic_package()),
                reuse_on_delete: true,
                radio_access: Vec::new(),
            },
            NOW,
        )
        .await
        .unwrap();
}

/// InitiateAuthentication from `peer`: the response.
async fn initiate(st: &State, euicc: &TestEuicc, peer: &str) -> InitiateAuthenticationResponse {
    let body = json::to_json(&euicc.initiate(ADDR)).unwrap();
    let a = send(st, IA, peer, &[], body).await;
    assert_eq!(a.status, Http::OK);
    json::from_json(&a.body).unwrap()
}

/// InitiateAuthentication + AuthenticateClient with `matching_id` from `peer`.
async fn guess(st: &State, euicc: &mut TestEuicc, peer: &str, matching_id: &str) -> Answer {
    let resp = initiate(st, euicc, peer).await;
    let req = euicc.authenticate_server(&resp, Some(matching_id));
    send(st, AC, peer, &[], json::to_json(&req).unwrap()).await
}

fn pair(c: &StatusCode) -> Option<(String, String)> {
    let s = c.to_string();
    let (a, b) = s.split_once('/')?;
    Some((a.trim().to_owned(), b.trim().to_owned()))
}

#[tokio::test]
async fn es9_matching_id_guesses_are_throttled_per_source() {
    let pki = lab(simforge_pki::Curve::P256, 2);
    let st = state(&pki, &[]);
    add_profile(&st, "8949449999999990023").await;
    let mut euicc = TestEuicc::from_lab(&pki, 0);
    let attacker = "2001:db8:bad:1::1";
    let unknown = pair(&StatusCode::MATCHING_ID_UNKNOWN);
    for i in 0..MAX_MATCHING_ID_FAILURES {
        let a = guess(&st, &mut euicc, attacker, &format!("GUESS-{i:05}")).await;
        assert_eq!(a.code(), unknown, "guess {i}");
    }
    // Before: every guess was looked up (300 in 0.77 s). Now the source (its /64) is
    // answered 8.2.6 / 6.4 before any lookup, with Retry-After.
    let a = guess(&st, &mut euicc, "2001:db8:bad:1::99", "GUESS-XXXXX").await;
    assert_eq!(a.status, Http::OK);
    assert_eq!(a.code(), Some(("8.2.6".into(), "6.4".into())));
    assert!(a.retry_after.is_some_and(|s| (1..=60).contains(&s)));
    // Another source still gets its answers.
    let a = guess(&st, &mut euicc, "192.0.2.1", "GUESS-YYYYY").await;
    assert_eq!(a.code(), unknown);
}

async fn sessions(st: &State) -> Vec<TransactionId> {
    st.smdp
        .store()
        .snapshot()
        .await
        .sessions
        .into_keys()
        .collect()
}

#[tokio::test]
async fn unauthenticated_sessions_per_source_are_bounded() {
    let pki = lab(simforge_pki::Curve::P256, 1);
    let st = state(&pki, &[]);
    let euicc = TestEuicc::from_lab(&pki, 0);
    let flood = "192.0.2.66";
    let mut tids = Vec::new();
    for _ in 0..MAX_INITIATED_PER_SOURCE + 8 {
        let r = initiate(&st, &euicc, flood).await;
        tids.push(r.transaction_id.unwrap());
    }
    // Before: 72 sessions (and 72,000 after 72,000 calls). Now the oldest were evicted.
    let kept = sessions(&st).await;
    assert_eq!(kept.len(), MAX_INITIATED_PER_SOURCE);
    for t in &tids[..8] {
        assert!(!kept.contains(t), "oldest evicted");
    }
    for t in &tids[8..] {
        assert!(kept.contains(t), "newest kept");
    }
    // Another source is not affected.
    let other = initiate(&st, &euicc, "192.0.2.67").await;
    assert!(sessions(&st).await.contains(&other.transaction_id.unwrap()));
    assert_eq!(sessions(&st).await.len(), MAX_INITIATED_PER_SOURCE + 1);
}

#[tokio::test]
async fn an_evicted_session_answers_unknown_transaction_id() {
    let pki = lab(simforge_pki::Curve::P256, 1);
    let st = state(&pki, &[]);
    add_profile(&st, "8949449999999990023").await;
    let mut euicc = TestEuicc::from_lab(&pki, 0);
    let peer = "192.0.2.70";
    let first = initiate(&st, &euicc, peer).await;
    for _ in 0..MAX_INITIATED_PER_SOURCE {
        initiate(&st, &euicc, peer).await;
    }
    let req = euicc.authenticate_server(&first, Some("ABCDE-FGHJK-LMNPQ-RSTUV"));
    let a = send(&st, AC, peer, &[], json::to_json(&req).unwrap()).await;
    assert_eq!(a.code(), pair(&StatusCode::UNKNOWN_TRANSACTION_ID));
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn auth_failure_log_lines_name_the_peer() {
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let pki = lab(simforge_pki::Curve::P256, 1);
    let st = state(&pki, &["10.0.0.0/8"]);
    es2(&st, "192.0.2.44", &[], "wrong-key").await;
    es2(
        &st,
        "10.0.0.1",
        &[("x-forwarded-for", "192.0.2.45")],
        "wrong-key",
    )
    .await;
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let failures: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("unknown or revoked ES2+ API key"))
        .collect();
    assert_eq!(failures.len(), 2, "{text}");
    assert!(failures[0].contains("peer=192.0.2.44"), "{text}");
    assert!(failures[1].contains("peer=192.0.2.45"), "{text}");
    assert!(!text.contains("wrong-key"), "no key in the logs");
}
