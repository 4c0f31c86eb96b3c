//! `simforge load` against `simforge serve --demo` over real HTTPS on 127.0.0.1: 50 downloads
//! at concurrency 10 over 40 available profiles. Exactly 40 succeed (40 distinct ICCIDs, each
//! installed), the other 10 fail at ES2+ DownloadOrder with 8.2.5 / 3.7 (no more profiles),
//! and the SM-DP+ inventory adds up: no profile was issued twice.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Lab, Server, free_port};

/// `simforge serve --demo` with `profiles` demo profiles (the demo releases one itself).
struct Demo {
    /// Kept alive for the test; killed when dropped.
    _server: Server,
    pid: String,
    demo: serde_json::Value,
    ca: String,
    pki: String,
    address: String,
    key_file: std::path::PathBuf,
}

fn start_demo(lab: &Lab, profiles: u64) -> Demo {
    let port = free_port();
    start_server(
        lab,
        port,
        &["--demo", "--demo-profiles", &profiles.to_string()],
    )
}

fn spawn_serve(lab: &Lab, port: u16, extra: &[&str], stderr_path: &std::path::Path) -> Server {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["--json", "serve", "--listen", &listen];
    args.extend_from_slice(extra);
    Server::spawn(lab.cmd().args(&args), stderr_path)
}

fn start_server(lab: &Lab, port: u16, extra: &[&str]) -> Demo {
    let stderr_path = lab
        .path()
        .join(format!("serve-{}.stderr", common::rand_name()));
    let mut server = spawn_serve(lab, port, extra, &stderr_path);
    let pid = server.child.id().to_string();
    let demo = if extra.contains(&"--demo") {
        server.json_with("demo", &stderr_path)["demo"].clone()
    } else {
        serde_json::Value::Null
    };
    let listening = server.json_with("listening", &stderr_path);
    let ca = listening["ca"].as_str().unwrap().to_owned();
    let pki = listening["pki"].as_str().unwrap().to_owned();
    let address = listening["smdpAddress"].as_str().unwrap().to_owned();
    let key_file = lab.path().join("api-key");
    if let Some(k) = demo["apiKey"].as_str() {
        std::fs::write(&key_file, k).unwrap();
    }
    // `simforge load` retries nothing: wait until the server accepts connections first.
    common::wait_accepting(port);
    Demo {
        _server: server,
        pid,
        demo,
        ca,
        pki,
        address,
        key_file,
    }
}

fn load(lab: &Lab, d: &Demo, downloads: u64, concurrency: u64) -> serde_json::Value {
    let out = lab.ok(&[
        "--json",
        "load",
        "--smdp",
        &d.address,
        "--ca",
        &d.ca,
        "--pki",
        &d.pki,
        "--api-key-file",
        d.key_file.to_str().unwrap(),
        "--operator",
        "demo",
        "--profile-type",
        "demo",
        "--downloads",
        &downloads.to_string(),
        "--concurrency",
        &concurrency.to_string(),
        "--server-pid",
        &d.pid,
    ]);
    serde_json::from_str(out.trim()).unwrap()
}

fn total(v: &serde_json::Value) -> u64 {
    v.as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

/// Issue 4: 1,000 downloads of 500 profiles, many at once: exactly 500 succeed, no profile is
/// issued twice, the inventory adds up.
#[test]
fn a_thousand_downloads_of_500_profiles_issue_each_profile_once() {
    let lab = Lab::new();
    let d = start_demo(&lab, 501);
    let r = load(&lab, &d, 1000, 48);
    assert_eq!(r["succeeded"], 500, "{r}");
    assert_eq!(r["failed"], 500, "{r}");
    assert_eq!(r["distinctIccids"], 500, "no profile issued twice: {r}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "only one kind of failure: {r}");
    assert_eq!(errors[0]["code"], "8.2.5/3.7", "no more profiles: {r}");
    let after: serde_json::Value =
        serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "demo"]).trim()).unwrap();
    assert_eq!(after["installed"], 500, "{after}");
    assert_eq!(total(&after), 501, "{after}");
}

/// Issue 4: kill -9 of the server in the middle of a run, restart on the same data: every
/// profile is in a consistent state, none is lost or doubled, and the ones not yet downloaded
/// can all still be downloaded.
#[cfg(unix)]
#[test]
fn a_server_killed_mid_run_restarts_consistent_and_downloads_go_on() {
    let lab = Lab::new();
    let port = free_port();
    let mut d = start_server(&lab, port, &["--demo", "--demo-profiles", "201"]);
    let mut load_child = lab
        .cmd()
        .args([
            "--json",
            "load",
            "--smdp",
            &d.address,
            "--ca",
            &d.ca,
            "--pki",
            &d.pki,
            "--api-key-file",
            d.key_file.to_str().unwrap(),
            "--operator",
            "demo",
            "--profile-type",
            "demo",
            "--downloads",
            "200",
            "--concurrency",
            "16",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Let some downloads complete and others be in flight, then kill -9 the server.
    let inventory = || -> serde_json::Value {
        serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "demo"]).trim()).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while inventory()["installed"].as_u64().unwrap_or(0) < 20 {
        assert!(Instant::now() < deadline, "no downloads completed");
        std::thread::sleep(Duration::from_millis(50));
    }
    d._server.child.kill().unwrap(); // SIGKILL
    let _ = d._server.child.wait();
    let _ = load_child.wait();
    let mid = inventory();
    assert_eq!(
        total(&mid),
        201,
        "nothing lost or doubled by the crash: {mid}"
    );

    // Restart on the same data and port; the remaining available profiles all download.
    let d2 = start_server(&lab, port, &[]);
    let available = mid["available"].as_u64().unwrap_or(0);
    let r = load(
        &lab,
        &Demo {
            key_file: d.key_file.clone(),
            ..d2
        },
        available + 20,
        8,
    );
    assert_eq!(r["succeeded"].as_u64(), Some(available), "{r}");
    assert_eq!(r["distinctIccids"].as_u64(), Some(available), "{r}");
    let after = inventory();
    assert!(after.get("available").is_none_or(|v| v == 0), "{after}");
    assert_eq!(total(&after), 201, "{after}");
}

#[test]
fn load_50_downloads_over_40_profiles_at_concurrency_10() {
    let lab = Lab::new();
    let d = start_demo(&lab, 41);
    let (demo, ca, pki) = (&d.demo, &d.ca, &d.pki);
    let inventory = || -> serde_json::Value {
        serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "demo"]).trim()).unwrap()
    };
    let before = inventory();
    assert_eq!(before["available"], 40, "{before}");
    assert_eq!(before["released"], 1, "{before}");
    assert_eq!(total(&before), 41, "{before}");

    let r = load(&lab, &d, 50, 10);
    assert_eq!(r["downloads"], 50, "{r}");
    assert_eq!(r["succeeded"], 40, "{r}");
    assert_eq!(r["failed"], 10, "{r}");
    assert_eq!(r["distinctIccids"], 40, "no profile issued twice: {r}");
    assert_eq!(r["notificationsSent"], 40, "{r}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "only one kind of failure: {r}");
    assert_eq!(errors[0]["stage"], "ES2+ downloadOrder", "{r}");
    assert_eq!(errors[0]["code"], "8.2.5/3.7", "no more profiles: {r}");
    assert_eq!(errors[0]["count"], 10, "{r}");
    let lat = &r["latencyMs"];
    for f in [
        "initiateAuthentication",
        "authenticateClient",
        "getBoundProfilePackage",
        "handleNotification",
        "download",
    ] {
        assert_eq!(lat[f]["count"], 40, "{f}: {r}");
        let p = &lat[f];
        assert!(
            p["p50"].as_f64().unwrap() <= p["p90"].as_f64().unwrap()
                && p["p90"].as_f64().unwrap() <= p["p99"].as_f64().unwrap()
                && p["p99"].as_f64().unwrap() <= p["max"].as_f64().unwrap(),
            "{f}: {r}"
        );
    }
    assert_eq!(lat["es2.downloadOrder"]["count"], 50, "{r}");
    assert_eq!(lat["es2.confirmOrder"]["count"], 40, "{r}");
    assert!(r["downloadsPerSec"].as_f64().unwrap() > 0.0, "{r}");
    if cfg!(target_os = "linux") {
        assert!(r["serverCpuMsPerDownload"].as_f64().is_some(), "{r}");
    }

    // The inventory adds up: every one of the 40 is installed, none left, none twice.
    let after = inventory();
    assert_eq!(after["installed"], 40, "{after}");
    assert_eq!(
        after["released"], 1,
        "the demo's own released profile: {after}"
    );
    assert!(after.get("available").is_none_or(|v| v == 0), "{after}");
    assert_eq!(total(&after), 41, "{after}");

    // Activation codes from a file work too: the demo's own released profile.
    let codes = lab.write(
        "codes.txt",
        &format!(
            "# the demo's\n{}\n",
            demo["activationCode"].as_str().unwrap()
        ),
    );
    let out = lab.ok(&[
        "--json",
        "load",
        "--ca",
        ca,
        "--pki",
        pki,
        "--activation-codes",
        codes.to_str().unwrap(),
        "--no-notification",
    ]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (r["succeeded"].as_u64(), r["failed"].as_u64()),
        (Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(r["notificationsSent"], 0, "{r}");
    let last = inventory();
    assert_eq!(last["installed"], 40, "{last}");
    assert_eq!(
        last["downloaded"], 1,
        "no install notification sent: {last}"
    );
    assert_eq!(total(&last), 41, "{last}");

    // Issue 11 §4: each of the 41 BPPs delivered unsealed its package once, and the audit
    // log says so (the demo's operator, the profile, the session; never a secret); the
    // chain is intact.
    let export: Vec<serde_json::Value> = lab
        .ok(&["audit", "export", "--operator", "demo"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let unseals: Vec<&serde_json::Value> = export
        .iter()
        .filter(|e| e["action"] == "profile.unseal")
        .collect();
    assert_eq!(unseals.len(), 41, "{export:?}");
    let targets: std::collections::BTreeSet<&str> = unseals
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets.len(), 41, "one per profile");
    assert!(
        targets.iter().all(|t| t.starts_with("profile:89")),
        "{targets:?}"
    );
    for u in &unseals {
        assert_eq!(u["actor"], "system", "{u}");
        assert_eq!(u["outcome"], "ok", "{u}");
        assert!(u["details"]["transactionId"].is_string(), "{u}");
    }
    assert!(lab.ok(&["audit", "verify"]).contains("chain intact"));
    let text = lab.ok(&["audit", "export"]).to_uppercase();
    let batch = std::path::PathBuf::from(demo["batchDir"].as_str().unwrap());
    let elec = std::fs::read_dir(&batch)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".elec.csv"))
        .unwrap();
    let secrets: Vec<String> = std::fs::read_to_string(elec)
        .unwrap()
        .lines()
        .skip(1)
        .flat_map(|l| l.split(',').map(str::to_uppercase).collect::<Vec<_>>())
        .filter(|f| f.len() >= 32 && f.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    assert!(secrets.len() >= 80, "Ki and OPc of 41 cards");
    assert!(
        secrets.iter().all(|s| !text.contains(s.as_str())),
        "a secret in the audit log"
    );
    drop(d);
}
