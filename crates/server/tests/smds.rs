//! The SM-DS's HTTP edge without sockets: ES11 on both path pairs real LPAs use, with either
//! address member, `eventEntries` as SGP.22 binds it; ES12 only for registered client
//! certificates, each registrant deleting only its own records.
#![allow(clippy::unwrap_used)] // test helpers

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode as Http};
use simforge_crypto::SystemRandom;
use simforge_pki::Curve;
use simforge_server::{
    ClientCertificate, MAX_INITIATED_PER_SOURCE, Metrics, PeerAddr, Registrants, SmdsState,
    smds_router,
};
use simforge_smds::{MemoryStore, Registrant, Smds, SmdsConfig, SmdsKeys};
use simforge_testkit::lab::lab;
use simforge_testkit::prelude::TestEuicc;
use simforge_testkit::sgp22;
use tower::ServiceExt;

const DP1: [u8; 32] = [0xD1; 32];
const DP2: [u8; 32] = [0xD2; 32];
const DS: &str = "smds.simforge.test";

fn app(pki: &simforge_pki::LabPki) -> axum::Router {
    app_for(pki, &[(DP1, "smdp1"), (DP2, "smdp2")])
}

fn app_for(pki: &simforge_pki::LabPki, registrants: &[([u8; 32], &str)]) -> axum::Router {
    let smds = Smds::new(
        SmdsConfig::new(DS),
        SmdsKeys::from_pkis(&[pki]).unwrap(),
        MemoryStore::new(),
        Arc::new(SystemRandom::new()),
    );
    let r: HashMap<[u8; 32], Registrant> = registrants
        .iter()
        .map(|(h, n)| (*h, Registrant::parse(n).unwrap()))
        .collect();
    smds_router(Arc::new(SmdsState {
        smds,
        registrants: Registrants(r),
        metrics: Metrics::default(),
        limits: simforge_server::SourceLimits::default(),
    }))
}

async fn post(
    app: &axum::Router,
    path: &str,
    cert: Option<[u8; 32]>,
    body: Vec<u8>,
) -> (Http, Vec<u8>) {
    let mut b = Request::post(path)
        .header("content-type", "application/json")
        // As lpac sends it.
        .header("x-admin-protocol", "gsma/rsp/v2.2.2")
        .header("user-agent", "gsma-rsp-lpad");
    if let Some(c) = cert {
        b = b.extension(ClientCertificate { sha256: c });
    }
    b = b.extension(PeerAddr("192.0.2.7".parse().unwrap()));
    let resp = app
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null)
}

fn code(v: &serde_json::Value) -> (String, String) {
    let s = &v["header"]["functionExecutionStatus"];
    let d = &s["statusCodeData"];
    (
        d["subjectCode"].as_str().unwrap_or("").into(),
        d["reasonCode"]
            .as_str()
            .unwrap_or(s["status"].as_str().unwrap_or(""))
            .into(),
    )
}

fn ok() -> (String, String) {
    (String::new(), "Executed-Success".into())
}

fn register(eid: &str, id: &str, addr: &str) -> Vec<u8> {
    format!(
        r#"{{"header":{{"functionRequesterIdentifier":"smdp1","functionCallIdentifier":"{id}"}},"eid":"{eid}","rspServerAddress":"{addr}","eventId":"{id}","forwardingIndicator":false}}"#
    )
    .into_bytes()
}

fn delete(eid: &str, id: &str) -> Vec<u8> {
    format!(
        r#"{{"header":{{"functionRequesterIdentifier":"smdp2","functionCallIdentifier":"d-{id}"}},"eid":"{eid}","eventId":"{id}"}}"#
    )
    .into_bytes()
}

/// ES11 as `client` posts it: `(path prefix, address member)`.
async fn discover(
    app: &axum::Router,
    e: &mut TestEuicc,
    prefix: &str,
    member: &str,
) -> serde_json::Value {
    let ia = simforge_asn1::json::to_json(&e.initiate(DS)).unwrap();
    let ia = String::from_utf8(ia)
        .unwrap()
        .replace("\"smdpAddress\"", &format!("\"{member}\""));
    let (s, body) = post(
        app,
        &format!("{prefix}/initiateAuthentication"),
        None,
        ia.into_bytes(),
    )
    .await;
    assert_eq!(s, Http::OK);
    sgp22::check(
        "initiateAuthentication response",
        sgp22::INITIATE_AUTHENTICATION.response.unwrap(),
        &body,
    );
    let ia: simforge_asn1::json::InitiateAuthenticationResponse =
        simforge_asn1::json::from_json(&body).unwrap();
    let ac = simforge_asn1::json::to_json(&e.authenticate_server(&ia, None)).unwrap();
    let (s, body) = post(app, &format!("{prefix}/authenticateClient"), None, ac).await;
    assert_eq!(s, Http::OK);
    json(&body)
}

#[tokio::test]
async fn es11_on_both_path_pairs_answers_event_entries_as_objects() {
    let pki = lab(Curve::P256, 2);
    let app = app(&pki);
    let mut a = TestEuicc::from_lab(&pki, 0);
    let mut b = TestEuicc::from_lab(&pki, 1);
    let eid = a.eid.to_string();
    let (s, body) = post(
        &app,
        "/gsma/rsp2/es12/registerEvent",
        Some(DP1),
        register(&eid, "EV-1", "smdp.example.com"),
    )
    .await;
    assert_eq!((s, code(&json(&body))), (Http::OK, ok()));

    for (prefix, member) in [
        ("/gsma/rsp2/es9plus", "smdpAddress"),
        ("/gsma/rsp2/es11", "smdsAddress"),
    ] {
        let v = discover(&app, &mut a, prefix, member).await;
        let text = serde_json::to_vec(&v).unwrap();
        sgp22::check(
            "§6.5.2.11",
            sgp22::ES11_AUTHENTICATE_CLIENT.response.unwrap(),
            &text,
        );
        assert_eq!(
            v["eventEntries"],
            serde_json::json!([{"eventId": "EV-1", "rspServerAddress": "smdp.example.com"}]),
            "{prefix}"
        );
        // Another eUICC: an empty array, never another EID's records.
        let v = discover(&app, &mut b, prefix, member).await;
        assert_eq!(v["eventEntries"], serde_json::json!([]), "{prefix}");
    }
    // The SM-DS serves no other ES9+ function.
    let (s, _) = post(
        &app,
        "/gsma/rsp2/es9plus/getBoundProfilePackage",
        None,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(s, Http::NOT_FOUND);
}

#[tokio::test]
async fn es11_refusals_carry_the_smds_status_codes() {
    let pki = lab(Curve::P256, 1);
    let app = app(&pki);
    let e = TestEuicc::from_lab(&pki, 0);
    let ia = simforge_asn1::json::to_json(&e.initiate("smdp.simforge.test")).unwrap();
    let (s, body) = post(&app, "/gsma/rsp2/es9plus/initiateAuthentication", None, ia).await;
    assert_eq!(
        (s, code(&json(&body))),
        (Http::OK, ("8.9.1".into(), "3.8".into()))
    );
    let (s, body) = post(
        &app,
        "/gsma/rsp2/es11/authenticateClient",
        None,
        br#"{"transactionId":"0102","authenticateServerResponse":"vzgA"}"#.to_vec(),
    )
    .await;
    assert_eq!(s, Http::OK);
    assert_eq!(code(&json(&body)).0, "1.3.1");
}

#[tokio::test]
async fn es12_needs_a_registered_certificate_and_deletes_only_ones_own() {
    let pki = lab(Curve::P256, 1);
    let app = app(&pki);
    let eid = TestEuicc::from_lab(&pki, 0).eid.to_string();
    let reg = register(&eid, "EV-1", "smdp.example.com");
    for cert in [None, Some([0xEE; 32])] {
        let (s, body) = post(&app, "/gsma/rsp2/es12/registerEvent", cert, reg.clone()).await;
        assert_eq!(
            (s, code(&json(&body))),
            (Http::UNAUTHORIZED, ("1.1".into(), "1.1".into()))
        );
    }
    let (s, body) = post(
        &app,
        "/gsma/rsp2/es12/registerEvent",
        Some(DP1),
        reg.clone(),
    )
    .await;
    assert_eq!((s, code(&json(&body))), (Http::OK, ok()));
    let (_, body) = post(
        &app,
        "/gsma/rsp2/es12/registerEvent",
        Some(DP1),
        reg.clone(),
    )
    .await;
    assert_eq!(code(&json(&body)), ("8.9.5".into(), "3.3".into()));

    // smdp2 deleting smdp1's record, and anyone deleting an unknown one: the same bytes.
    let (s1, not_yours) = post(
        &app,
        "/gsma/rsp2/es12/deleteEvent",
        Some(DP2),
        delete(&eid, "EV-1"),
    )
    .await;
    let (s2, unknown) = post(
        &app,
        "/gsma/rsp2/es12/deleteEvent",
        Some(DP2),
        delete(&eid, "EV-2"),
    )
    .await;
    assert_eq!((s1, &not_yours), (s2, &unknown));
    assert_eq!(code(&json(&not_yours)), ("8.9.5".into(), "3.9".into()));
    let (s, body) = post(
        &app,
        "/gsma/rsp2/es12/deleteEvent",
        Some(DP1),
        delete(&eid, "EV-1"),
    )
    .await;
    assert_eq!((s, code(&json(&body))), (Http::OK, ok()));
}

#[tokio::test]
async fn a_source_holds_a_bounded_number_of_initiated_sessions() {
    let pki = lab(Curve::P256, 1);
    let app = app(&pki);
    let mut e = TestEuicc::from_lab(&pki, 0);
    let initiate = async |e: &TestEuicc| {
        let ia = simforge_asn1::json::to_json(&e.initiate(DS)).unwrap();
        let (_, body) = post(&app, "/gsma/rsp2/es9plus/initiateAuthentication", None, ia).await;
        simforge_asn1::json::from_json::<simforge_asn1::json::InitiateAuthenticationResponse>(&body)
            .unwrap()
    };
    let first = initiate(&e).await;
    for _ in 0..MAX_INITIATED_PER_SOURCE {
        initiate(&e).await;
    }
    // The source's oldest unauthenticated session was evicted: 8.10.1 / 3.9.
    let ac = simforge_asn1::json::to_json(&e.authenticate_server(&first, None)).unwrap();
    let (_, body) = post(&app, "/gsma/rsp2/es9plus/authenticateClient", None, ac).await;
    assert_eq!(code(&json(&body)), ("8.10.1".into(), "3.9".into()));
    // A fresh one still works.
    let last = initiate(&e).await;
    let ac = simforge_asn1::json::to_json(&e.authenticate_server(&last, None)).unwrap();
    let (_, body) = post(&app, "/gsma/rsp2/es9plus/authenticateClient", None, ac).await;
    assert_eq!(json(&body)["eventEntries"], serde_json::json!([]));
}

/// The SM-DP+'s ES12 client against the SM-DS over real mutual TLS: DPtls as client identity,
/// the SM-DS's DStls checked against the lab CI; retried calls that did arrive count as done.
#[tokio::test]
async fn the_smdp_es12_client_registers_and_deletes_over_mutual_tls() {
    use simforge_asn1::json::{DeleteEventRequest, RegisterEventRequest, RequestHeader};
    use simforge_server::{ClientAuth, Es12Client, Es12Outcome, Timeouts};

    let pki = lab(Curve::P256, 1);
    let ds = pki.smds.as_ref().unwrap();
    let dptls = &pki.smdp.tls;
    let app = app_for(
        &pki,
        &[(simforge_server::cert_sha256(dptls.cert.der()), "smdp1")],
    );
    let tls = simforge_server::tls_config_with_client_auth(
        vec![ds.tls.cert.der().to_vec(), pki.ci.der().to_vec()],
        ds.tls.key.to_pkcs8_der().unwrap().to_vec(),
        ClientAuth::Pinned,
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(simforge_server::serve_tls_until(
        listener,
        tls,
        app,
        Timeouts::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let client = |identity: &simforge_pki::Issued| {
        let mut pem = identity.cert.to_pem().into_bytes();
        pem.extend_from_slice(identity.key.to_pkcs8_pem().unwrap().as_bytes());
        Es12Client::from_client(
            reqwest::Client::builder()
                .add_root_certificate(
                    reqwest::Certificate::from_pem(pki.ci.to_pem().as_bytes()).unwrap(),
                )
                .identity(reqwest::Identity::from_pem(&pem).unwrap())
                .resolve(&ds.fqdn, addr)
                .build()
                .unwrap_or_else(|e| panic!("{}: {e:?}", identity.cert.subject())),
        )
    };
    let smdp = client(dptls);
    let address = format!("{}:{}", ds.fqdn, addr.port());
    let header = RequestHeader {
        function_requester_identifier: "smdp1".into(),
        function_call_identifier: "1".into(),
    };
    let eid = TestEuicc::from_lab(&pki, 0).eid;
    let reg = |id: &str| RegisterEventRequest {
        header: header.clone(),
        eid,
        rsp_server_address: "smdp.simforge.test".into(),
        event_id: id.into(),
        forwarding_indicator: None,
    };
    let del = DeleteEventRequest {
        header: header.clone(),
        eid,
        event_id: "EV-1".into(),
    };
    assert_eq!(
        smdp.register_event(&address, &reg("EV-1")).await,
        Es12Outcome::Done
    );
    // A retry of a registration that arrived: done.
    assert_eq!(
        smdp.register_event(&address, &reg("EV-1")).await,
        Es12Outcome::Done
    );
    assert_eq!(
        smdp.register_event(&address, &reg("")).await,
        Es12Outcome::Refused(simforge_asn1::StatusCode::MANDATORY_ELEMENT_MISSING)
    );
    // Another SM-DP+'s certificate (not registered here): refused, 1.1 / 1.1.
    let other = lab(Curve::P256, 1);
    let stranger = client(&other.smdp.tls);
    assert!(matches!(
        stranger.delete_event(&address, &del).await,
        Es12Outcome::Refused(c) if c.subject() == "1.1"
    ));
    assert_eq!(smdp.delete_event(&address, &del).await, Es12Outcome::Done);
    assert_eq!(smdp.delete_event(&address, &del).await, Es12Outcome::Done);
    // Nobody listening: retry later.
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    assert!(matches!(
        smdp.register_event(&address, &reg("EV-2")).await,
        Es12Outcome::Retry(_)
    ));
}
