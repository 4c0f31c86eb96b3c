//! ES2+ operator authentication against a running `simforge serve`, with independent tools:
//! certificates made by the `openssl` CLI, requests sent by `curl` (mutual TLS and API keys).
//! Credentials are added and revoked with `simforge operator …` while the server runs. Then
//! one download through the project's LPA, and the server's JSON log lines for it are read
//! back: every line of that session carries its transactionId, the lines after the profile is
//! known carry its ICCID, and no generated Ki appears anywhere.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{DemoServer, Lab, file};

fn have(cmd: &str, version_arg: &str) -> bool {
    Command::new(cmd)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A self-signed P-256 certificate and its key, made by openssl.
fn openssl_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let o = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:P-256")
        .args(["-nodes", "-days", "30", "-subj"])
        .arg(format!("/CN={name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (cert, key)
}

struct Es2 {
    base: String,
    ca: PathBuf,
}

/// An ES2+ call by curl; `cert` is (certificate, key). Returns the HTTP status and the body.
fn call(
    es2: &Es2,
    function: &str,
    cert: Option<&(PathBuf, PathBuf)>,
    api_key: Option<&str>,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut c = Command::new("curl");
    c.args([
        "-sS",
        "--max-time",
        "20",
        "-w",
        "\n%{http_code}",
        "--cacert",
    ])
    .arg(&es2.ca)
    .args(["-H", "Content-Type: application/json"])
    .args(["-H", "X-Admin-Protocol: gsma/rsp/v2.2.0", "--data-binary"])
    .arg(body.to_string());
    if let Some((cert, key)) = cert {
        c.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    if let Some(k) = api_key {
        c.arg("-H").arg(format!("X-Api-Key: {k}"));
    }
    let o = c
        .arg(format!("{}/gsma/rsp2/es2plus/{function}", es2.base))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "curl failed: {text} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (body, status) = text.rsplit_once('\n').unwrap();
    (
        status.trim().parse().unwrap(),
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn header(requester: &str, n: u32) -> serde_json::Value {
    serde_json::json!({"functionRequesterIdentifier": requester, "functionCallIdentifier": format!("auth-{n}")})
}

fn status(v: &serde_json::Value) -> (String, String, String) {
    let s = &v["header"]["functionExecutionStatus"];
    let d = &s["statusCodeData"];
    (
        s["status"].as_str().unwrap_or("").into(),
        d["subjectCode"].as_str().unwrap_or("").into(),
        d["reasonCode"].as_str().unwrap_or("").into(),
    )
}

fn success() -> (String, String, String) {
    ("Executed-Success".into(), String::new(), String::new())
}

/// Calls until the answer is `want` (a revocation takes effect within the server's 1 s
/// credential cache); returns how long that took.
fn until_status(want: u16, mut f: impl FnMut() -> u16) -> Duration {
    let start = Instant::now();
    loop {
        let s = f();
        if s == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still {s}, not {want}, after 5 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The id of the credential in an `operator api-key|client-cert --json` answer.
fn id_of(out: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    v["id"].as_i64().unwrap().to_string()
}

#[test]
fn es2_mutual_tls_live_api_keys_and_request_logs() {
    if !have("curl", "--version") || !have("openssl", "version") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: curl and openssl are needed");
        return;
    }
    let lab = Lab::new();
    let started = DemoServer::start(&lab, 3);
    let (demo, stderr_path) = (started.demo.clone(), started.stderr.clone());
    let es2 = Es2 {
        base: started.base(),
        ca: started.ca(),
    };

    // Operator demo registers a client certificate (made by openssl) on the running server;
    // operator acme (another tenant) registers its own.
    lab.operator("acme");
    let demo_cert = openssl_cert(lab.path(), "demo-op");
    let acme_cert = openssl_cert(lab.path(), "acme-op");
    let stranger = openssl_cert(lab.path(), "stranger");
    let demo_cert_id = id_of(&lab.ok(&[
        "--json",
        "operator",
        "client-cert",
        "demo",
        "--cert",
        demo_cert.0.to_str().unwrap(),
    ]));
    lab.ok(&[
        "operator",
        "client-cert",
        "acme",
        "--cert",
        acme_cert.0.to_str().unwrap(),
    ]);
    // The same certificate cannot belong to two operators.
    let o = lab.run(&[
        "operator",
        "client-cert",
        "acme",
        "--cert",
        demo_cert.0.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4), "{o:?}");

    // mTLS alone authenticates demo: DownloadOrder + ConfirmOrder (released) by curl.
    let (s, v) = call(
        &es2,
        "downloadOrder",
        Some(&demo_cert),
        None,
        &serde_json::json!({"header": header("demo", 1), "profileType": "demo"}),
    );
    assert_eq!((s, status(&v)), (200, success()), "{v}");
    let iccid = v["iccid"].as_str().unwrap().to_owned();
    // Tenant isolation: acme's certificate on demo's ICCID fails (as an unknown ICCID) …
    for f in ["confirmOrder", "cancelOrder", "releaseProfile"] {
        let body = serde_json::json!({"header": header("acme", 2), "iccid": iccid, "releaseFlag": true, "finalProfileStatusIndicator": "Available"});
        let (s, v) = call(&es2, f, Some(&acme_cert), None, &body);
        assert_eq!(s, 200, "{f}: {v}");
        assert_eq!(status(&v).0, "Failed", "{f}: {v}");
        assert_eq!(
            (status(&v).1.as_str(), status(&v).2.as_str()),
            ("8.2.1", "3.9"),
            "{f}: {v}"
        );
    }
    // … and acme's certificate cannot claim to be demo.
    let (_, v) = call(
        &es2,
        "confirmOrder",
        Some(&acme_cert),
        None,
        &serde_json::json!({"header": header("demo", 3), "iccid": iccid, "releaseFlag": true}),
    );
    assert_eq!(
        status(&v),
        ("Failed".into(), "1.2".into(), "1.2".into()),
        "{v}"
    );
    // An unregistered certificate, and no credential at all: 401, as a wrong API key.
    let order = serde_json::json!({"header": header("demo", 4), "profileType": "demo"});
    assert_eq!(
        call(&es2, "downloadOrder", Some(&stranger), None, &order).0,
        401
    );
    assert_eq!(call(&es2, "downloadOrder", None, None, &order).0, 401);
    assert_eq!(
        call(&es2, "downloadOrder", None, Some("sfk_wrong"), &order).0,
        401
    );

    // A new API key works on the running server at once; revoked, it is refused once the
    // server's 1 s credential cache expires (3 s allowed for a loaded machine).
    let out = lab.ok(&["--json", "operator", "api-key", "acme"]);
    let key: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let (acme_key, acme_key_id) = (key["apiKey"].as_str().unwrap(), id_of(&out));
    let acme_order = serde_json::json!({"header": header("acme", 5), "profileType": "demo"});
    let (s, v) = call(&es2, "downloadOrder", None, Some(acme_key), &acme_order);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        status(&v).0,
        "Failed",
        "acme has no profile of type demo: {v}"
    );
    let list = lab.ok(&["operator", "api-key", "acme", "--list"]);
    assert!(
        list.contains(&acme_key_id) && !list.contains(acme_key),
        "{list}"
    );
    lab.ok(&["operator", "api-key", "acme", "--revoke", &acme_key_id]);
    let took = until_status(401, || {
        call(&es2, "downloadOrder", None, Some(acme_key), &acme_order).0
    });
    assert!(
        took < Duration::from_millis(3000),
        "revocation took {took:?}"
    );
    println!("revoked API key refused after {took:?}");
    // Revoking twice, or another operator's credential: not found (exit 5).
    let o = lab.run(&["operator", "api-key", "acme", "--revoke", &acme_key_id]);
    assert_eq!(o.status.code(), Some(5));
    let o = lab.run(&["operator", "client-cert", "acme", "--revoke", &demo_cert_id]);
    assert_eq!(o.status.code(), Some(5));

    // demo releases its profile over mTLS; the LPA downloads it into a virtual eUICC.
    let (s, v) = call(
        &es2,
        "confirmOrder",
        Some(&demo_cert),
        None,
        &serde_json::json!({"header": header("demo", 6), "iccid": iccid, "releaseFlag": true}),
    );
    assert_eq!((s, status(&v)), (200, success()), "{v}");
    let activation_code = format!(
        "LPA:1${}${}",
        v["smdpAddress"].as_str().unwrap(),
        v["matchingId"].as_str().unwrap()
    );
    let euicc = lab.path().join("euicc.json");
    let (euicc_s, ca_s) = (euicc.to_str().unwrap(), es2.ca.to_str().unwrap());
    lab.ok(&[
        "euicc",
        "init",
        "--pki",
        demo["euiccPki"].as_str().unwrap(),
        "--file",
        euicc_s,
    ]);
    let out = lab.ok(&[
        "--json",
        "lpa",
        "--euicc",
        euicc_s,
        "--ca",
        ca_s,
        "download",
        &activation_code,
    ]);
    let installed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(installed["iccid"].as_str(), Some(iccid.as_str()));
    lab.ok(&[
        "--json",
        "lpa",
        "--euicc",
        euicc_s,
        "--ca",
        ca_s,
        "notifications",
        "--process",
    ]);

    // Revoking demo's certificate locks it out too.
    lab.ok(&["operator", "client-cert", "demo", "--revoke", &demo_cert_id]);
    until_status(401, || {
        call(&es2, "downloadOrder", Some(&demo_cert), None, &order).0
    });

    // The server's log: JSON lines; the download's ES9+ requests are one transactionId.
    std::thread::sleep(Duration::from_millis(200));
    let log = std::fs::read_to_string(&stderr_path).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let es9: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["span"]["name"] == "es9")
        .collect();
    let done: Vec<&&serde_json::Value> = es9
        .iter()
        .filter(|l| l["fields"]["message"] == "ES9+ request")
        .collect();
    let functions: Vec<&str> = done
        .iter()
        .map(|l| l["span"]["function"].as_str().unwrap())
        .collect();
    for f in [
        "initiateAuthentication",
        "authenticateClient",
        "getBoundProfilePackage",
        "handleNotification",
    ] {
        assert!(
            functions.contains(&f),
            "no {f} line in {functions:?}:\n{log}"
        );
    }
    let tid = done[0]["span"]["transaction_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no transactionId: {}", done[0]))
        .to_owned();
    for l in &es9 {
        let f = l["span"]["function"].as_str().unwrap();
        assert_eq!(
            l["span"]["transaction_id"].as_str(),
            Some(tid.as_str()),
            "{l}"
        );
        if f != "initiateAuthentication" {
            assert_eq!(l["span"]["iccid"].as_str(), Some(iccid.as_str()), "{l}");
            // The operator by name (the server looks it up once and caches it).
            assert_eq!(l["span"]["operator"], "demo", "{l}");
        }
        if l["fields"]["message"] == "ES9+ request" {
            assert_eq!(l["fields"]["result"], "success", "{l}");
            assert!(l["fields"]["latency_ms"].is_number(), "{l}");
        }
    }
    // Each line carries each span field once (`--log-format json` writes the request's span
    // under `span`, without a span list repeating it).
    for l in log.lines() {
        assert!(l.matches("\"iccid\"").count() <= 1, "iccid twice: {l}");
    }
    // ES2+ lines carry the operator and the ICCID once known.
    let confirmed = lines
        .iter()
        .find(|l| l["span"]["name"] == "es2" && l["span"]["function_call_id"] == "auth-6")
        .unwrap();
    assert_eq!(confirmed["span"]["iccid"].as_str(), Some(iccid.as_str()));
    assert_eq!(confirmed["span"]["requester"], "demo");
    // No generated Ki (nor any API key) in the log.
    let batch = PathBuf::from(demo["batchDir"].as_str().unwrap());
    let elec = std::fs::read_to_string(file(&batch, ".elec.csv")).unwrap();
    let mut rows = elec.lines();
    let ki_col = rows
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "KI")
        .unwrap();
    for row in rows.filter(|r| !r.trim().is_empty()) {
        let ki = row.split(',').nth(ki_col).unwrap();
        assert!(ki.len() >= 32);
        assert!(
            !log.to_ascii_uppercase().contains(&ki.to_ascii_uppercase()),
            "Ki in the log"
        );
    }
    assert!(!log.contains(acme_key));
    drop(started);
}

#[test]
fn api_key_hashes_of_an_older_es2_api_keys_json_move_into_the_database() {
    let lab = Lab::new();
    lab.operator("acme");
    let key = "sfk_0123456789abcdef0123456789abcdef";
    let sha: String = simforge_server::api_key_sha256(key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let old = lab.path().join("data").join("es2-api-keys.json");
    std::fs::write(
        &old,
        serde_json::json!({"keys": [
            {"operator": "acme", "sha256": sha, "created_at": 1_700_000_000},
            {"operator": "nobody", "sha256": sha, "created_at": 1_700_000_000}
        ]})
        .to_string(),
    )
    .unwrap();
    let out = lab.ok(&["--json", "operator", "api-key", "acme", "--list"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let creds = v["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1, "{v}");
    assert_eq!(creds[0]["sha256"].as_str(), Some(sha.as_str()));
    assert_eq!(creds[0]["kind"], "api_key");
    assert!(creds[0]["revoked_at"].is_null());
    assert!(!old.exists(), "the old file is renamed once migrated");
    assert!(old.with_extension("json.migrated").exists());
    // Nothing is migrated twice.
    let out = lab.ok(&["--json", "operator", "api-key", "acme", "--list"]);
    assert!(out.contains(&sha));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["credentials"].as_array().unwrap().len(), 1);
}
