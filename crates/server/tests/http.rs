//! The HTTP binding without sockets: headers, malformed and oversized bodies, ES2+ auth.
#![allow(clippy::unwrap_used)] // test helpers

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode as Http};
use simforge_crypto::{SoftwareKeyAgreement, SystemRandom};
use simforge_pki::{Curve, LabPkiOptions, generate_lab_pki};
use simforge_server::{AppState, Metrics, OperatorCredential, router};
use simforge_smdp::{MemoryStore, Smdp, SmdpConfig, SmdpKeys};
use tower::ServiceExt;

fn app() -> axum::Router {
    let pki = generate_lab_pki(&LabPkiOptions::new(Curve::P256, "smdp.simforge.test")).unwrap();
    let smdp = Smdp::new(
        MemoryStore::new(),
        SmdpConfig::new("smdp.simforge.test"),
        SmdpKeys::from_pkis(&[&pki]).unwrap(),
        Arc::new(SystemRandom::new()),
        Arc::new(SoftwareKeyAgreement::new(SystemRandom::new())),
        Arc::new(simforge_vault::MasterKey::from_bytes([1; 32])),
    );
    let mut operators = HashMap::new();
    operators.insert(
        AppState::<MemoryStore>::api_key_id("secret-key"),
        OperatorCredential {
            operator_id: 1,
            requester_id: "op1".into(),
        },
    );
    router(Arc::new(AppState {
        smdp,
        operators,
        metrics: Metrics::default(),
    }))
}

async fn post(
    app: &axum::Router,
    path: &str,
    ct: &str,
    admin: bool,
    key: Option<&str>,
    body: Vec<u8>,
) -> (Http, serde_json::Value) {
    let mut b = Request::post(path).header("content-type", ct);
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
        vec![b' '; 100_000],
    ] {
        let (s, v) = post(&app, IA, ct, true, None, body).await;
        assert_eq!((s, code(&v)), (Http::OK, ("1.3.1".into(), "2.2".into())));
    }
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
        false,
        None,
        body.clone(),
    )
    .await;
    assert_eq!(s, Http::UNAUTHORIZED);
    let (s, _) = post(
        &app,
        "/gsma/rsp2/es2plus/downloadOrder",
        ct,
        false,
        Some("wrong"),
        body.clone(),
    )
    .await;
    assert_eq!(s, Http::UNAUTHORIZED);
    let (s, v) = post(
        &app,
        "/gsma/rsp2/es2plus/downloadOrder",
        ct,
        false,
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
        false,
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

#[test]
fn tls_config_accepts_the_dptls_chain() {
    let pki = generate_lab_pki(&LabPkiOptions::new(Curve::P256, "smdp.simforge.test")).unwrap();
    let chain = vec![pki.smdp.tls.cert.der().to_vec(), pki.ci.der().to_vec()];
    let key = pki.smdp.tls.key.to_pkcs8_der().unwrap().to_vec();
    simforge_server::tls_config(chain, key).unwrap();
}
