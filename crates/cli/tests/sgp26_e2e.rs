//! `simforge serve --sgp26 DIR`: the SM-DP+ presents the GSMA SGP.26 test DPauth/DPpb
//! certificates to eUICCs that trust the SGP.26 CIs, next to its lab PKI.
//!
//! The virtual eUICCs sign under the lab PKI (lab CI → EUM → eUICC: euiccCiPKIdListForSigning)
//! but verify the SM-DP+ against the SGP.26 CI only (euiccCiPKIdListForVerification), as SGP.22
//! allows. Such an eUICC can only have accepted serverSignature1 if the SM-DP+ signed with the
//! SGP.26 DPauth, and the same eUICC is refused by a server without `--sgp26`. Both SGP.26
//! curves are exercised. `--tls-sgp26` (here from the TOML config file) serves the SGP.26
//! DPtls chain, which is checked on the wire; there the eUICC is made the operator's way
//! (`euicc init --euicc-cert … --ci-cert SGP.26-CI --ci-cert lab-CI`).
//!
//! Prints "skipped" and passes when ../shared/sgp26 is absent.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Lab, Server, free_port};

fn sgp26_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sgp26");
    if d.join("CertificateIssuer").is_dir() {
        Some(d)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: ../shared/sgp26 not present");
        None
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// A running `simforge serve --demo` and what it printed.
struct Running {
    /// Killed when dropped.
    _server: Server,
    /// The activation code of the profile the demo released at this start.
    activation_code: String,
    iccid: String,
    ca: PathBuf,
    /// The leaf certificate the server presents on TLS (DER).
    tls_leaf: Vec<u8>,
    stderr: PathBuf,
}

/// Starts `simforge serve --demo` on the lab PKI `pki` on 127.0.0.1:`port` with `extra`
/// options and waits until it answers over TLS (without checking its certificate, which is
/// what is under test).
fn serve(lab: &Lab, pki: &Path, port: u16, extra: &[&str]) -> Running {
    let stderr = lab.path().join(format!("serve-{port}.stderr"));
    let mut server = Server::spawn(
        lab.cmd()
            .args([
                "--json",
                "serve",
                "--public-metrics",
                "--demo",
                "--demo-profiles",
                "4",
                "--pki",
            ])
            .arg(pki)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra),
        &stderr,
    );
    let demo = server.json_with("demo", &stderr)["demo"].clone();
    let listening = server.json_with("listening", &stderr);
    let client = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let tls_leaf = loop {
        if let Ok(r) = client
            .get(format!("https://127.0.0.1:{port}/metrics"))
            .send()
        {
            let info = r.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
            break info.peer_certificate().unwrap().to_vec();
        }
        assert!(
            Instant::now() < deadline,
            "server never accepted TLS; stderr:\n{}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    Running {
        _server: server,
        activation_code: demo["activationCode"].as_str().unwrap().to_owned(),
        iccid: demo["iccid"].as_str().unwrap().to_owned(),
        ca: PathBuf::from(listening["ca"].as_str().unwrap()),
        tls_leaf,
        stderr,
    }
}

/// A lab PKI (NIST, two eUICCs) for `localhost`; returns its EIDs.
fn pki_init(lab: &Lab, dir: &Path) -> Vec<String> {
    let out = lab.ok(&[
        "--json",
        "pki",
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--curve",
        "nist",
        "--fqdn",
        "localhost",
        "--euiccs",
        "2",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    v["eids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

/// A virtual eUICC `eid` of the lab PKI (it signs under the lab CI) whose only trusted CI,
/// for verifying SM-DP+ certificates, is `ci`: `euicc init --chain-ci` checks the chain
/// against the lab CI without trusting it.
fn euicc_trusting(lab: &Lab, pki: &Path, eid: &str, ci: &Path) -> PathBuf {
    let file = lab.path().join(format!("euicc-{eid}.json"));
    let f = |p: PathBuf| p.to_str().unwrap().to_owned();
    lab.ok(&[
        "euicc",
        "init",
        "--euicc-cert",
        &f(pki.join("euicc").join(format!("{eid}.pem"))),
        "--euicc-key",
        &f(pki.join("euicc").join(format!("{eid}.key.pem"))),
        "--eum-cert",
        &f(pki.join("eum").join("eum.der")),
        "--ci-cert",
        ci.to_str().unwrap(),
        "--chain-ci",
        &f(pki.join("ci").join("ci.der")),
        "--file",
        file.to_str().unwrap(),
    ]);
    file
}

fn lpa(lab: &Lab, euicc: &Path, tls: &[&str], args: &[&str]) -> std::process::Output {
    let mut a = vec!["--json", "lpa", "--euicc", euicc.to_str().unwrap()];
    a.extend_from_slice(tls);
    a.extend_from_slice(args);
    lab.run(&a)
}

fn lpa_ok(lab: &Lab, euicc: &Path, tls: &[&str], args: &[&str]) -> serde_json::Value {
    let o = lpa(lab, euicc, tls, args);
    assert!(
        o.status.success(),
        "lpa {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn installed_iccids(lab: &Lab, euicc: &Path) -> Vec<String> {
    lpa_ok(lab, euicc, &[], &["list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["iccid"].as_str().unwrap().to_owned())
        .collect()
}

fn ski(path: &Path) -> String {
    let c = simforge_pki::Certificate::from_der_or_pem(&std::fs::read(path).unwrap()).unwrap();
    hex(c.subject_key_id().unwrap())
}

#[test]
fn sgp26_dpauth_authenticates_to_euiccs_that_trust_only_the_sgp26_ci() {
    let Some(sgp26) = sgp26_dir() else { return };
    let lab = Lab::new();
    let pki = lab.path().join("pki");
    let eids = pki_init(&lab, &pki);
    let ci_nist = sgp26.join("CertificateIssuer/CERT_CI_ECDSA_NIST.der");
    let ci_brp = sgp26.join("CertificateIssuer/CERT_CI_ECDSA_BRP.der");
    let nist = euicc_trusting(&lab, &pki, &eids[0], &ci_nist);
    let brp = euicc_trusting(&lab, &pki, &eids[1], &ci_brp);

    // The eUICC announces only the SGP.26 CI for verification.
    let info = lpa_ok(&lab, &nist, &[], &["info"]);
    assert_eq!(
        info["ci_pkids"],
        serde_json::json!([ski(&ci_nist)]),
        "{info}"
    );

    // Without --sgp26 the SM-DP+ has no DPauth such an eUICC accepts: 8.8.2 / 3.1.
    // Both starts on one port: the first start's activation code stays valid.
    let port = free_port();
    let plain = serve(&lab, &pki, port, &[]);
    let ca = plain.ca.to_str().unwrap().to_owned();
    let o = lpa(
        &lab,
        &nist,
        &["--ca", &ca],
        &["download", &plain.activation_code],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("8.8.2 / 3.1"), "{err}");
    assert!(installed_iccids(&lab, &nist).is_empty());
    let first = (plain.activation_code.clone(), plain.iccid.clone());
    drop(plain);

    // With --sgp26 (lab DPtls as before), the same eUICC authenticates the SM-DP+ and installs.
    let run = serve(&lab, &pki, port, &["--sgp26", sgp26.to_str().unwrap()]);
    let stderr = std::fs::read_to_string(&run.stderr).unwrap();
    assert!(
        stderr.contains(&ski(&ci_nist)) && stderr.contains(&ski(&ci_brp)),
        "{stderr}"
    );
    let ca = run.ca.to_str().unwrap().to_owned();
    let got = lpa_ok(
        &lab,
        &nist,
        &["--ca", &ca],
        &["download", &run.activation_code],
    );
    assert_eq!(got["iccid"].as_str(), Some(run.iccid.as_str()), "{got}");
    assert_eq!(installed_iccids(&lab, &nist), vec![run.iccid.clone()]);

    // Brainpool: the SGP.26 BRP DPauth/DPpb for an eUICC that signs with its NIST lab chain;
    // the profile released by the first start is still there to take.
    let got = lpa_ok(&lab, &brp, &["--ca", &ca], &["download", &first.0]);
    assert_eq!(got["iccid"].as_str(), Some(first.1.as_str()), "{got}");
    assert_eq!(installed_iccids(&lab, &brp), vec![first.1]);

    let inv: serde_json::Value =
        serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "demo"]).trim()).unwrap();
    assert_eq!(inv["installed"], 2, "{inv}");
    drop(run);
}

#[test]
fn tls_sgp26_serves_the_sgp26_dptls_chain() {
    let Some(sgp26) = sgp26_dir() else { return };
    let lab = Lab::new();
    let pki = lab.path().join("pki");
    let eids = pki_init(&lab, &pki);
    // The eUICC made the operator's way, from its lab certificate files, trusting the SGP.26
    // CI first (so the SM-DP+ picks its SGP.26 DPauth) and the lab CI of its own chain.
    let ci_nist = sgp26.join("CertificateIssuer/CERT_CI_ECDSA_NIST.pem");
    let nist = lab.path().join("euicc.json");
    let f = |p: PathBuf| p.to_str().unwrap().to_owned();
    lab.ok(&[
        "euicc",
        "init",
        "--euicc-cert",
        &f(pki.join("euicc").join(format!("{}.pem", eids[0]))),
        "--euicc-key",
        &f(pki.join("euicc").join(format!("{}.key.pem", eids[0]))),
        "--eum-cert",
        &f(pki.join("eum").join("eum.der")),
        "--ci-cert",
        &f(ci_nist.clone()),
        "--ci-cert",
        &f(pki.join("ci").join("ci.der")),
        "--file",
        &f(nist.clone()),
    ]);
    let info = lpa_ok(&lab, &nist, &[], &["info"]);
    assert_eq!(
        info["ci_pkids"],
        serde_json::json!([ski(&ci_nist), ski(&pki.join("ci").join("ci.der"))]),
        "{info}"
    );

    // --tls-sgp26 without the SGP.26 directory is refused (exit 3).
    let o = lab.run(&["serve", "--tls-sgp26", "--pki", pki.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--sgp26"));

    // Both keys from the configuration file.
    let config = lab.write(
        "serve.toml",
        &format!(
            "sgp26 = {:?}\ntls_sgp26 = true\nfqdn = \"localhost\"\n",
            sgp26.to_str().unwrap()
        ),
    );
    let run = serve(
        &lab,
        &pki,
        free_port(),
        &["--config", config.to_str().unwrap()],
    );
    let dptls = std::fs::read(sgp26.join("DPtls/CERT_S_SM_DP_TLS_NIST.der")).unwrap();
    assert_eq!(
        run.tls_leaf, dptls,
        "not the SGP.26 DPtls certificate on the wire"
    );
    let stderr = std::fs::read_to_string(&run.stderr).unwrap();
    assert!(
        stderr.contains("testsmdpplus1.example.com"),
        "no warning that the name is not localhost: {stderr}"
    );

    // An LPA that checks TLS refuses it (the name is testsmdpplus1.example.com, and it has
    // expired since 2026-08-02); one that does not (lpac's behaviour) downloads.
    let ca = run.ca.to_str().unwrap().to_owned();
    let o = lpa(
        &lab,
        &nist,
        &["--ca", &ca],
        &["download", &run.activation_code],
    );
    assert!(!o.status.success());
    assert!(installed_iccids(&lab, &nist).is_empty());
    let got = lpa_ok(
        &lab,
        &nist,
        &["--insecure"],
        &["download", &run.activation_code],
    );
    assert_eq!(got["iccid"].as_str(), Some(run.iccid.as_str()), "{got}");
    assert_eq!(installed_iccids(&lab, &nist), vec![run.iccid.clone()]);
    drop(run);
}
