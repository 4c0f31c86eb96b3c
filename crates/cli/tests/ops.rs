//! Operations through the real binary (issue 16 items 3, 8, 9; issue 15 item 6): the data
//! directory, the database and the master key are owner-only and refused otherwise; a wrong
//! master key is refused at start; the CancelSession policy per operator and the reset of a
//! profile in Error, with a real download by the project's LPA; the per-operator callback
//! settings and the given-up events' commands.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{DemoServer, Lab, https};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Issue 16 item 3: `simforge.sqlite`, `-wal`, `-shm` were 0644 in a 0755 directory, and a
/// master key readable by others was accepted silently.
#[test]
fn data_directory_database_and_master_key_are_owner_only_or_refused() {
    let lab = Lab::new();
    lab.operator("zong");
    let data = lab.path().join("data");
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("master.key")), 0o600, "master key");
    for f in [
        "simforge.sqlite",
        "simforge.sqlite-wal",
        "simforge.sqlite-shm",
    ] {
        let p = data.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
    assert_eq!(mode(&data.join("simforge.sqlite")), 0o600);
    // A batch's output directories too.
    let dir = lab.batch("zong", "quantity = 2\nkid = 1\nopid = 1\n", &[]);
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    assert_eq!(mode(&data.join("batches")), 0o700);

    // The master key readable by others: refused, naming the file, the mode and the fix.
    let key = data.join("master.key");
    chmod(&key, 0o644);
    let t = lab.write("t.hex", common::TRANSPORT_HEX);
    let import = [
        "key",
        "import",
        "--operator",
        "zong",
        "--kind",
        "transport",
        "--index",
        "2",
        "--file",
        t.to_str().unwrap(),
    ];
    let o = lab.run(&import);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&key.display().to_string()) && e.contains("0644") && e.contains("chmod 600"),
        "{e}"
    );
    chmod(&key, 0o600);
    lab.ok(&import);

    // The database readable by others: refused by every command.
    let db = data.join("simforge.sqlite");
    chmod(&db, 0o644);
    let o = lab.run(&["operator", "list"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(&db.display().to_string()) && e.contains("0644") && e.contains("chmod 600"),
        "{e}"
    );
    chmod(&db, 0o600);

    // The data directory open to others: refused.
    chmod(&data, 0o755);
    let o = lab.run(&["operator", "list"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("0755") && e.contains("chmod 700"), "{e}");
    chmod(&data, 0o700);
    lab.ok(&["operator", "list"]);
}

/// Issue 16 item 9: a wrong master key was only noticed at the first download; now the
/// first use of a key stores a check value sealed under it, and another key is refused at
/// start (serve, key import).
#[test]
fn a_wrong_master_key_is_refused_at_start() {
    let lab = Lab::new();
    lab.operator("zong");
    let wrong = "11".repeat(32);
    let o = lab
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SIMFORGE_MASTER_KEY", &wrong)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("is not the one this database was sealed with"),
        "{e}"
    );
    let t = lab.write("t.hex", common::TRANSPORT_HEX);
    let o = lab
        .cmd()
        .args([
            "key",
            "import",
            "--operator",
            "zong",
            "--kind",
            "transport",
            "--index",
            "7",
            "--file",
            t.to_str().unwrap(),
        ])
        .env("SIMFORGE_MASTER_KEY", &wrong)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("fingerprint"), "{}", stderr(&o));
    // The right key (the file) still works.
    lab.ok(&["key", "list", "--operator", "zong"]);
}

fn es2(
    client: &reqwest::blocking::Client,
    base: &str,
    key: &str,
    function: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let (status, v) = common::es2_post(client, base, key, function, body);
    assert_eq!(status, 200, "{function}: {v}");
    assert_eq!(
        v["header"]["functionExecutionStatus"]["status"], "Executed-Success",
        "{function}: {v}"
    );
    v
}

fn inventory(lab: &Lab) -> serde_json::Value {
    serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "demo"]).trim()).unwrap()
}

/// Issue 15 item 6: the project's LPA, asked for a confirmation code it was not given,
/// cancels the session with endUserRejection (as lpac does after any local failure). By
/// default (SGP.22 §3.1.5 / §5.6.5: the SM-DP+ decides) the order stays Released and the
/// same activation code downloads the profile with the code; under an operator policy
/// `end-user-rejection=error` the profile goes to Error, and `operator reset-profile`
/// releases it again.
#[test]
fn cancel_session_policy_per_operator_and_reset_profile() {
    let lab = Lab::new();
    let started = DemoServer::start(&lab, 3);
    let demo = started.demo.clone();
    let (ca, base) = (started.ca(), started.base());
    let api_key = demo["apiKey"].as_str().unwrap().to_owned();
    let euicc = lab.path().join("euicc.json");
    let (euicc_s, ca_s) = (euicc.to_str().unwrap(), ca.to_str().unwrap());
    lab.ok(&[
        "euicc",
        "init",
        "--pki",
        demo["euiccPki"].as_str().unwrap(),
        "--file",
        euicc_s,
    ]);
    let client = https(&ca);
    let mut n = 0;
    let mut order_with_code = || {
        n += 1;
        let header = serde_json::json!({"functionRequesterIdentifier": "demo", "functionCallIdentifier": format!("csp-{n}")});
        let order = es2(
            &client,
            &base,
            &api_key,
            "downloadOrder",
            &serde_json::json!({"header": header, "profileType": "demo"}),
        );
        let iccid = order["iccid"].as_str().unwrap().to_owned();
        let confirmed = es2(
            &client,
            &base,
            &api_key,
            "confirmOrder",
            &serde_json::json!({"header": header, "iccid": iccid, "confirmationCode": "1234", "releaseFlag": true}),
        );
        let code = format!(
            "LPA:1${}${}",
            confirmed["smdpAddress"].as_str().unwrap(),
            confirmed["matchingId"].as_str().unwrap()
        );
        (iccid, code)
    };
    let download = |code: &str, cc: Option<&str>| {
        let mut args = vec![
            "--json", "lpa", "--euicc", euicc_s, "--ca", ca_s, "download", code,
        ];
        if let Some(cc) = cc {
            args.extend(["--confirmation-code", cc]);
        }
        lab.run(&args)
    };

    // Default policy: the missing code loses nothing.
    let (iccid, code) = order_with_code();
    let o = download(&code, None);
    assert!(!o.status.success(), "no confirmation code: the LPA fails");
    let inv = inventory(&lab);
    assert_eq!(inv["error"].as_u64().unwrap_or(0), 0, "{inv}");
    let o = download(&code, Some("1234"));
    assert!(o.status.success(), "{}", stderr(&o));
    let installed: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert_eq!(installed["iccid"].as_str(), Some(iccid.as_str()));

    // The operator's policy, set on the running server's database.
    let o = lab.run(&[
        "operator",
        "update",
        "demo",
        "--cancel-session-policy",
        "end-user-rejection=maybe",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let op: serde_json::Value = serde_json::from_str(
        lab.ok(&[
            "--json",
            "operator",
            "update",
            "demo",
            "--cancel-session-policy",
            "end-user-rejection=error",
        ])
        .trim(),
    )
    .unwrap();
    assert!(
        op["cancel_session_policy"]
            .as_str()
            .unwrap()
            .contains("end-user-rejection=error"),
        "{op}"
    );
    // The operator's default SM-DS: an address that is not one is refused; one, or none, taken.
    let o = lab.run(&[
        "operator",
        "update",
        "demo",
        "--smds-address",
        "not an address",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    lab.ok(&[
        "operator",
        "update",
        "demo",
        "--smds-address",
        "smds.simforge.test:8444",
    ]);
    lab.ok(&["operator", "update", "demo", "--smds-address", "none"]);
    let (iccid2, code2) = order_with_code();
    let o = download(&code2, None);
    assert!(!o.status.success());
    let inv = inventory(&lab);
    assert_eq!(inv["error"].as_u64(), Some(1), "{inv}");

    // Reset: unknown ICCID, a profile not in error, then the one in error.
    let o = lab.run(&[
        "operator",
        "reset-profile",
        "demo",
        "--iccid",
        "89000000000000000000",
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let o = lab.run(&["operator", "reset-profile", "demo", "--iccid", &iccid]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(
        lab.ok(&[
            "--json",
            "operator",
            "reset-profile",
            "demo",
            "--iccid",
            &iccid2,
        ])
        .trim(),
    )
    .unwrap();
    assert_eq!(r["from"], "error", "{r}");
    assert_eq!(r["to"], "released", "{r}");
    let o = download(&code2, Some("1234"));
    assert!(o.status.success(), "{}", stderr(&o));
    drop(started);
}

/// Issue 16 item 8: per-operator callback settings (client certificate and key, the
/// SM-DP+'s own identity, CA bundle, retry horizon), the key never shown; given-up events
/// listed and redelivered (none here: an unknown id is "not found").
#[test]
fn operator_callback_settings_and_given_up_events() {
    let lab = Lab::new();
    lab.operator("zong");
    lab.ok(&[
        "pki",
        "init",
        "--dir",
        lab.path().join("pki").to_str().unwrap(),
    ]);
    let pki = lab.path().join("pki/nist/smdp");
    let cert = pki.join("dptls.pem");
    let key = pki.join("dptls.key.pem");
    let key_text = std::fs::read_to_string(&key).unwrap();
    let ca = lab.path().join("pki/nist/ci/ci.pem");
    let out = lab.ok(&[
        "--json",
        "operator",
        "callback",
        "zong",
        "--url",
        "https://bss.zong.test/es2plus",
        "--client-cert",
        cert.to_str().unwrap(),
        "--client-key",
        key.to_str().unwrap(),
        "--ca-bundle",
        ca.to_str().unwrap(),
        "--retry-hours",
        "72",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["url"], "https://bss.zong.test/es2plus");
    assert_eq!(v["clientIdentity"], "certificate");
    assert_eq!(v["caBundle"], true);
    assert_eq!(v["retryHours"], 72);
    // The key is stored sealed: not in the database file, not in any output.
    let body = key_text
        .lines()
        .find(|l| !l.starts_with("-----") && l.len() > 20)
        .unwrap();
    let db = std::fs::read(lab.path().join("data/simforge.sqlite")).unwrap();
    let wal = std::fs::read(lab.path().join("data/simforge.sqlite-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(body.len()).any(|w| w == body.as_bytes()),
            "the client key in clear in the database"
        );
    }
    assert!(!out.contains(body));
    // The URL alone changes only the URL; the server's own identity replaces the certificate.
    let v: serde_json::Value = serde_json::from_str(
        lab.ok(&[
            "--json",
            "operator",
            "callback",
            "zong",
            "--use-server-identity",
        ])
        .trim(),
    )
    .unwrap();
    assert_eq!(v["clientIdentity"], "server");
    assert_eq!(v["retryHours"], 72);
    // A key that is not a key; a CA bundle without a certificate: invalid input.
    let bad = lab.write("bad.pem", "not a key\n");
    let o = lab.run(&[
        "operator",
        "callback",
        "zong",
        "--client-cert",
        cert.to_str().unwrap(),
        "--client-key",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = lab.run(&[
        "operator",
        "callback",
        "zong",
        "--ca-bundle",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // Given-up events: none yet; an unknown id is not found.
    let v: serde_json::Value = serde_json::from_str(
        lab.ok(&["--json", "operator", "callback", "zong", "--failed"])
            .trim(),
    )
    .unwrap();
    assert_eq!(v, serde_json::json!([]));
    let o = lab.run(&["operator", "callback", "zong", "--redeliver", "42"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(
        lab.ok(&["--json", "operator", "callback", "zong", "--redeliver-all"])
            .trim(),
    )
    .unwrap();
    assert_eq!(v["redelivered"], 0);
}
