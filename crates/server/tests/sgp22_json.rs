//! The SM-DP+'s HTTP binding against SGP.22's JSON member table (`simforge_testkit::sgp22`), without
//! sockets: golden requests written from the specification (and as deployed peers send them)
//! are accepted, every response has exactly the specification's members; ES2+ with ICCIDs
//! padded with `F` (SGP.22 §6.5.2.1–4, as pySim sends them); request log lines carry each
//! field once.
#![allow(clippy::unwrap_used)] // test helpers

use simforge_testkit::sgp22;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode as Http};
use simforge_crypto::{SoftwareKeyAgreement, SystemRandom};
use simforge_pki::{Curve, LabPki, LabPkiOptions, generate_lab_pki};
use simforge_server::{
    AppState, CredentialCache, CredentialKind, Metrics, OperatorCredential, StaticCredentials,
    api_key_sha256, router,
};
use simforge_smdp::{MemoryStore, NewProfile, ProfileMetadata, Smdp, SmdpConfig, SmdpKeys};
use tower::ServiceExt;

const FQDN: &str = "smdp.simforge.test";
const KEY: &str = "op1-key";
const CT: &str = "application/json;charset=UTF-8";
/// Profiles of operator 1, 19-digit ICCIDs (the factory's default length).
const ICCIDS: [&str; 3] = [
    "8949449999999990023",
    "8949449999999990031",
    "8949449999999990049",
];

async fn app(pki: &LabPki) -> axum::Router {
    let smdp = Smdp::new(
        MemoryStore::new(),
        SmdpConfig::new(FQDN),
        SmdpKeys::from_pkis(&[pki]).unwrap(),
        Arc::new(SystemRandom::new()),
        Arc::new(SoftwareKeyAgreement::new(SystemRandom::new())),
        Arc::new(simforge_vault::MasterKey::from_bytes([1; 32])),
    );
    for iccid in ICCIDS {
        smdp.add_profile(
            1,
            NewProfile {
                iccid: iccid.parse().expect("iccid"),
                profile_type: "t".into(),
                metadata: ProfileMetadata {
                    service_provider_name: "Op".into(),
                    profile_name: "P".into(),
                    profile_class: 2,
                    notification_address: Some(FQDN.into()),
                },
                package: zeroize::Zeroizing::new(vec![0x30, 0x00]),
                reuse_on_delete: true,
                radio_access: Vec::new(),
            },
            1_800_000_000,
        )
        .await
        .unwrap();
    }
    let mut m = HashMap::new();
    m.insert(
        (CredentialKind::ApiKey, api_key_sha256(KEY)),
        OperatorCredential {
            operator_id: 1,
            requester_id: "op1".into(),
        },
    );
    router(Arc::new(AppState {
        smdp,
        credentials: CredentialCache::new(Arc::new(StaticCredentials(m)), Duration::from_secs(60)),
        metrics: Metrics::default(),
        limits: simforge_server::SourceLimits::default(),
    }))
}

fn lab() -> LabPki {
    generate_lab_pki(&LabPkiOptions::new(Curve::P256, FQDN)).unwrap()
}

/// POSTs `body` to `path` (ES2+ with the operator's key); returns status and body bytes.
async fn post(app: &axum::Router, path: &str, body: &str) -> (Http, Vec<u8>) {
    let mut b = Request::post(path)
        .header("content-type", CT)
        .header("x-admin-protocol", "gsma/rsp/v2.5.0");
    if path.contains("es2plus") {
        b = b.header("x-api-key", KEY);
    }
    let resp = app
        .clone()
        .oneshot(b.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

fn status(v: &serde_json::Value) -> (String, String, String) {
    let s = &v["header"]["functionExecutionStatus"];
    (
        s["status"].as_str().unwrap_or("").into(),
        s["statusCodeData"]["subjectCode"]
            .as_str()
            .unwrap_or("")
            .into(),
        s["statusCodeData"]["reasonCode"]
            .as_str()
            .unwrap_or("")
            .into(),
    )
}

fn success() -> (String, String, String) {
    ("Executed-Success".into(), String::new(), String::new())
}

/// One ES2+ call: the golden request checked against SGP.22's table, posted, the success
/// response checked against the table. Returns the response.
async fn es2_ok(app: &axum::Router, function: &str, body: &str) -> serde_json::Value {
    let f = sgp22::es2(function);
    sgp22::check(
        &format!("§{} request", f.section),
        f.request,
        body.as_bytes(),
    );
    let (s, bytes) = post(app, f.path, body).await;
    assert_eq!(s, Http::OK, "{function}");
    let v = json(&bytes);
    assert_eq!(status(&v), success(), "{function}: {v}");
    sgp22::check(
        &format!("§{} response", f.section),
        f.response.unwrap(),
        &bytes,
    );
    v
}

fn header(n: u32) -> String {
    format!(r#"{{"functionRequesterIdentifier":"op1","functionCallIdentifier":"call-{n}"}}"#)
}

/// An operator whose client pads 19-digit ICCIDs with `F` (pySim; SGP.22 allows it) can
/// allocate by profile type and then confirm, release and cancel, with `F` or `f`; the
/// SM-DP+ answers with the ICCID as it stores it (the digits).
#[tokio::test]
async fn es2_flow_with_f_padded_iccids() {
    let pki = lab();
    let app = app(&pki).await;
    let v = es2_ok(
        &app,
        "downloadOrder",
        &format!(r#"{{"header":{},"profileType":"t"}}"#, header(1)),
    )
    .await;
    let iccid = v["iccid"].as_str().unwrap().to_owned();
    assert_eq!(iccid.len(), 19, "{v}");
    let v = es2_ok(
        &app,
        "confirmOrder",
        &format!(
            r#"{{"header":{},"iccid":"{iccid}F","releaseFlag":false}}"#,
            header(2)
        ),
    )
    .await;
    assert_eq!(v["smdpAddress"], FQDN, "{v}");
    let matching_id = v["matchingId"].as_str().unwrap().to_owned();
    es2_ok(
        &app,
        "releaseProfile",
        &format!(r#"{{"header":{},"iccid":"{iccid}f"}}"#, header(3)),
    )
    .await;
    es2_ok(
        &app,
        "cancelOrder",
        &format!(
            r#"{{"header":{},"iccid":"{iccid}F","matchingId":"{matching_id}","finalProfileStatusIndicator":"Available"}}"#,
            header(4)
        ),
    )
    .await;
    // Available again: ordered by its padded ICCID, answered with the digits.
    let v = es2_ok(
        &app,
        "downloadOrder",
        &format!(r#"{{"header":{},"iccid":"{iccid}F"}}"#, header(5)),
    )
    .await;
    assert_eq!(v["iccid"].as_str(), Some(iccid.as_str()));
    // The whole order again, with the deployed spellings of confirmOrder's members.
    let v = es2_ok(
        &app,
        "confirmOrder",
        &format!(
            r#"{{"header":{},"iccid":"{iccid}f","matchingId":"K7QM2-XW9PD-R4TJH-B6NCV","confirmationCode":"12345678","releaseFlag":true}}"#,
            header(6)
        ),
    )
    .await;
    assert_eq!(v["matchingId"], "K7QM2-XW9PD-R4TJH-B6NCV");

    // Every other form is an invalid ICCID (8.2.1 / 3.1), never another profile.
    for bad in [
        format!("{iccid}FF"),
        format!("{}F", &iccid[..18]),
        format!("{iccid}E"),
        "F".repeat(20),
    ] {
        for function in [
            "confirmOrder",
            "releaseProfile",
            "cancelOrder",
            "downloadOrder",
        ] {
            let body = format!(
                r#"{{"header":{},"iccid":"{bad}","releaseFlag":true,"finalProfileStatusIndicator":"Available"}}"#,
                header(7)
            );
            let (s, bytes) = post(&app, sgp22::es2(function).path, &body).await;
            let v = json(&bytes);
            assert_eq!(
                (s, status(&v)),
                (Http::OK, ("Failed".into(), "8.2.1".into(), "3.1".into())),
                "{function} {bad}: {v}"
            );
            sgp22::check("§6.5.1.4 failure", sgp22::FAILED_RESPONSE, &bytes);
        }
    }
}

/// §5.1.1 / SGP.26 style EUICCInfo1 (`BF20`) naming `pkid` for verification and signing,
/// written byte by byte.
fn euicc_info1(pkid: &[u8]) -> Vec<u8> {
    assert_eq!(pkid.len(), 20);
    let mut list = vec![0x04, 0x14];
    list.extend_from_slice(pkid);
    let mut body = vec![0x82, 0x03, 0x02, 0x02, 0x00, 0xA9, 0x16];
    body.extend_from_slice(&list);
    body.extend_from_slice(&[0xAA, 0x16]);
    body.extend_from_slice(&list);
    let mut out = vec![0xBF, 0x20, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    A[usize::try_from((n >> (18 - 6 * i)) & 63).unwrap()],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// §6.5.2.6 as LPAs send it and as osmo-ttcn3-hacks sends it (with a `header`): the
/// response has exactly SGP.22's members — `euiccCiPKIdToBeUsed` among them. §6.5.2.7 with
/// the transactionId in lower case finds the same session.
#[tokio::test]
async fn es9_golden_requests_and_response_members() {
    let pki = lab();
    let app = app(&pki).await;
    let pkid = pki.ci.subject_key_id().unwrap().to_vec();
    let info1 = b64(&euicc_info1(&pkid));
    let challenge = b64(&[0x5A; 16]);
    let plain = format!(
        r#"{{"euiccChallenge":"{challenge}","euiccInfo1":"{info1}","smdpAddress":"{FQDN}"}}"#
    );
    let ttcn3 = format!(
        r#"{{"header":{{"functionRequesterIdentifier":"TTCN3","functionCallIdentifier":"testsuite"}},"euiccChallenge":"{challenge}","euiccInfo1":"{info1}","smdpAddress":"{FQDN}"}}"#
    );
    let f = sgp22::INITIATE_AUTHENTICATION;
    sgp22::check("§6.5.2.6 request", f.request, plain.as_bytes());
    let mut tids = Vec::new();
    for body in [plain, ttcn3] {
        let (s, bytes) = post(&app, f.path, &body).await;
        assert_eq!(s, Http::OK);
        let v = json(&bytes);
        assert_eq!(status(&v), success(), "{v}");
        sgp22::check("§6.5.2.6 response", f.response.unwrap(), &bytes);
        tids.push(v["transactionId"].as_str().unwrap().to_owned());
    }
    // AuthenticateClient with an AuthenticateResponseError (`BF38 A1 {80 tid, 02 errorCode}`)
    // for the session: lower and upper case reach the same session, an unknown one is
    // "transactionId unknown".
    let asr = |tid: &str| {
        let t = (0..tid.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&tid[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>();
        let mut inner = vec![0x80, u8::try_from(t.len()).unwrap()];
        inner.extend(t);
        inner.extend([0x02, 0x01, 0x01]);
        let mut a1 = vec![0xA1, u8::try_from(inner.len()).unwrap()];
        a1.extend(inner);
        let mut out = vec![0xBF, 0x38, u8::try_from(a1.len()).unwrap()];
        out.extend(a1);
        b64(&out)
    };
    let f = sgp22::AUTHENTICATE_CLIENT;
    let mut answers = Vec::new();
    for tid in [tids[0].to_ascii_lowercase(), tids[1].clone()] {
        let body = format!(
            r#"{{"transactionId":"{tid}","authenticateServerResponse":"{}"}}"#,
            asr(&tid)
        );
        let (s, bytes) = post(&app, f.path, &body).await;
        assert_eq!(s, Http::OK);
        sgp22::check("§6.5.2.7 failure", sgp22::FAILED_RESPONSE, &bytes);
        answers.push(status(&json(&bytes)));
    }
    assert_eq!(answers[0], answers[1]);
    assert_ne!(
        (answers[0].1.as_str(), answers[0].2.as_str()),
        ("8.10.1", "3.9")
    );
    let unknown = "00112233445566778899AABBCCDDEEFF";
    let body = format!(
        r#"{{"transactionId":"{unknown}","authenticateServerResponse":"{}"}}"#,
        asr(unknown)
    );
    let (_, bytes) = post(&app, f.path, &body).await;
    let v = json(&bytes);
    assert_eq!(
        (status(&v).1.as_str(), status(&v).2.as_str()),
        ("8.10.1", "3.9"),
        "{v}"
    );
}

/// A `Write` into a shared buffer, for the log subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// ES2+ calls whose ICCID is known from the request and again from the events, and an ES9+
/// notification whose ICCID is known from the notification and again from the profile:
/// each log line carries `iccid` once (text format; and the JSON format as `serve
/// --log-format json` configures it), in its canonical form.
#[tokio::test]
async fn request_log_lines_carry_the_iccid_once() {
    let pki = lab();
    let app = app(&pki).await;
    let text = Logs::default();
    let json_logs = Logs::default();
    let (t, j) = (text.clone(), json_logs.clone());
    use tracing_subscriber::layer::SubscriberExt as _;
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || t.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_span_list(false)
                .with_writer(move || j.clone()),
        );
    let _guard = tracing::subscriber::set_default(subscriber);

    let iccid = ICCIDS[0];
    es2_ok(
        &app,
        "downloadOrder",
        &format!(r#"{{"header":{},"iccid":"{iccid}F"}}"#, header(1)),
    )
    .await;
    es2_ok(
        &app,
        "confirmOrder",
        &format!(
            r#"{{"header":{},"iccid":"{iccid}f","releaseFlag":true}}"#,
            header(2)
        ),
    )
    .await;
    // A ProfileInstallationResult (`BF37`) naming the ICCID (`5A`, swapped nibbles).
    let pir = "vzeBnb8nV4AQASNFZ4mrze8BI0VniavN778vJYABAYECB4AMEHNtZHAuZXhhbXBsZS5jb21aCpiURJmZmZkJIPOiG6AZTxCgAAAFWRAQ/////4kAABEABAUwA4ABAF83QCIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=";
    let (s, _) = post(
        &app,
        sgp22::HANDLE_NOTIFICATION.path,
        &format!(r#"{{"pendingNotification":"{pir}"}}"#),
    )
    .await;
    assert_eq!(s, Http::NO_CONTENT);

    let text = text.text();
    let with_iccid: Vec<&str> = text.lines().filter(|l| l.contains("iccid=")).collect();
    assert!(with_iccid.len() >= 3, "{text}");
    for l in &with_iccid {
        assert_eq!(l.matches("iccid=").count(), 1, "{l}");
        assert!(l.contains(&format!("iccid=\"{iccid}\"")), "{l}");
    }
    let json_text = json_logs.text();
    let mut seen = 0;
    for l in json_text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let n = l.matches("\"iccid\"").count();
        assert!(n <= 1, "{l}");
        if n == 1 {
            seen += 1;
            assert_eq!(v["span"]["iccid"].as_str(), Some(iccid), "{l}");
        }
    }
    assert!(seen >= 3, "{json_text}");
}
