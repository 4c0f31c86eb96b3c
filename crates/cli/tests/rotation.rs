//! Key rotation without a restart: `simforge serve --demo` on its lab PKI; the PKI directory
//! replaced by a new one (new CI, DPauth, DPpb, DPtls); SIGHUP; new TLS handshakes present the
//! new DPtls certificate, and an eUICC of the new PKI downloads the demo's released profile
//! (so DPauth and DPpb of the new CI are in use) — no restart of the server.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{DemoServer, Lab, served_leaf};

#[cfg(unix)]
#[test]
fn sighup_takes_a_new_pki_into_use_without_a_restart() {
    let lab = Lab::new();
    let mut dp = DemoServer::start(&lab, 2);
    let pki = lab.path().join("data/pki");
    let old_leaf = std::fs::read(pki.join("nist/smdp/dptls.der")).unwrap();
    assert_eq!(served_leaf(dp.port), old_leaf);

    // A new PKI (new CI and every SM-DP+ key) in the place of the old one.
    let fresh = lab.path().join("fresh-pki");
    lab.ok(&[
        "pki",
        "init",
        "--dir",
        fresh.to_str().unwrap(),
        "--fqdn",
        "localhost",
    ]);
    std::fs::rename(&pki, lab.path().join("old-pki")).unwrap();
    std::fs::rename(&fresh, &pki).unwrap();
    let new_leaf = std::fs::read(pki.join("nist/smdp/dptls.der")).unwrap();
    assert_ne!(new_leaf, old_leaf);

    let pid = dp.server.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(&dp.stderr).unwrap_or_default();
        if log.contains("keys reloaded") {
            break;
        }
        assert!(!log.contains("keys not reloaded"), "{log}");
        assert!(Instant::now() < deadline, "no reload: {log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        dp.server.child.try_wait().unwrap().is_none(),
        "still running"
    );
    assert_eq!(
        served_leaf(dp.port),
        new_leaf,
        "new handshakes present the new DPtls"
    );

    // An eUICC of the new PKI (it trusts only the new CI) downloads the released profile.
    let euicc = lab.path().join("euicc.json");
    let euicc_s = euicc.to_str().unwrap();
    lab.ok(&[
        "euicc",
        "init",
        "--pki",
        pki.join("nist").to_str().unwrap(),
        "--file",
        euicc_s,
    ]);
    let ac = dp.demo["activationCode"].as_str().unwrap().to_owned();
    let out = lab.ok(&[
        "--json",
        "lpa",
        "--euicc",
        euicc_s,
        "--insecure",
        "download",
        &ac,
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["iccid"], dp.demo["iccid"], "{v}");
    assert!(Path::new(&pki).exists());
}
