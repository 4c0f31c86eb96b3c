//! `simforge pki`: lab PKIs on both curves, and the GSMA SGP.26 test PKI.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::Lab;

#[test]
fn pki_init_writes_a_lab_pki_per_curve_with_private_keys_0600() {
    let lab = Lab::new();
    let dir = lab.path().join("pki");
    let out = lab.ok(&[
        "--json",
        "pki",
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--euiccs",
        "3",
        "--fqdn",
        "smdp.lab.test",
    ]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (v, sub) in lines.iter().zip(["nist", "brainpool"]) {
        assert_eq!(v["eids"].as_array().unwrap().len(), 3);
        let d = dir.join(sub);
        for f in [
            "ci/ci.der",
            "eum/eum.der",
            "smdp/dpauth.der",
            "smdp/dppb.der",
            "smdp/dptls.der",
            "smdp/dptls-chain.pem",
        ] {
            assert!(d.join(f).exists(), "{sub}/{f}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(d.join("ci/ci.key.pem"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(m, 0o600);
        }
    }
    // A second init into the same place is refused rather than overwriting keys.
    let o = lab.run(&["pki", "init", "--dir", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
}

#[test]
fn pki_sgp26_loads_the_gsma_test_pki() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sgp26");
    if !dir.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: ../shared/sgp26 not present");
        return;
    }
    let lab = Lab::new();
    let out = lab.ok(&["pki", "sgp26", dir.to_str().unwrap()]);
    assert!(
        out.contains("P256: CI PKID F54172BDF98A95D65CBEB88A38A1C11D800A85C3"),
        "{out}"
    );
    assert!(
        out.contains("BrainpoolP256r1: CI PKID C0BC70BA36929D43B467FF57570530E57AB8FCD8"),
        "{out}"
    );
}
