//! Logging never decides whether a committed result reaches its caller: `simforge serve` with
//! its log (standard error) on `/dev/full` still answers every ES2+ downloadOrder with the
//! ICCID it allocated, and counts the lost log lines in /metrics.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Lab, Server, es2_post, free_port, https, wait_accepting};

#[test]
fn a_full_log_does_not_lose_answers() {
    let full = Path::new("/dev/full");
    if std::fs::OpenOptions::new().write(true).open(full).is_err() {
        assert!(std::env::var_os("CI").is_none(), "no /dev/full on CI");
        println!("skipped: no /dev/full");
        return;
    }
    let lab = Lab::new();
    // A first start, logging to a file, sets the demo up (and the CLI's own notes, such as the
    // new master key's, can be written: those are not the server's log).
    let first_log = lab.path().join("first.stderr");
    let demo = {
        let port = free_port();
        let mut first = Server::spawn(
            lab.cmd()
                .args([
                    "--json",
                    "serve",
                    "--public-metrics",
                    "--demo",
                    "--demo-profiles",
                    "5",
                ])
                .args(["--listen", &format!("127.0.0.1:{port}")]),
            &first_log,
        );
        let demo = first.json_with("demo", &first_log)["demo"].clone();
        first.json_with("listening", &first_log);
        demo
    };
    // Then the server runs with its log on /dev/full.
    let port = free_port();
    let mut server = Server::spawn(
        lab.cmd()
            .args([
                "--json",
                "--log-format",
                "json",
                "serve",
                "--public-metrics",
                "--demo",
            ])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("SIMFORGE_LOG", "info"),
        full,
    );
    // (On failure json_with shows the file it is given: not /dev/full, which never ends.)
    let nothing = lab.path().join("no-stderr");
    std::fs::write(&nothing, "standard error went to /dev/full").unwrap();
    let listening = server.json_with("listening", &nothing);
    wait_accepting(port);
    let client = https(Path::new(listening["ca"].as_str().unwrap()));
    let base = format!("https://{}", listening["smdpAddress"].as_str().unwrap());
    let key = demo["apiKey"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/metrics")).send().is_err() {
        assert!(Instant::now() < deadline, "server never accepted TLS");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut iccids = Vec::new();
    for n in 0..3 {
        let body = serde_json::json!({
            "header": {"functionRequesterIdentifier": "demo", "functionCallIdentifier": format!("full-{n}")},
            "profileType": "demo",
        });
        let (s, v) = es2_post(&client, &base, key, "downloadOrder", &body);
        assert_eq!(s, 200, "{v}");
        let iccid = v["iccid"]
            .as_str()
            .unwrap_or_else(|| panic!("no ICCID: {v}"));
        iccids.push(iccid.to_owned());
    }
    iccids.dedup();
    assert_eq!(iccids.len(), 3, "{iccids:?}");
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let lost: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("simforge_log_write_errors_total "))
        .unwrap_or_else(|| panic!("no log error counter:\n{metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!(lost >= 3, "{lost} lost log lines counted");
    assert!(server.child.try_wait().unwrap().is_none(), "server died");
}
