//! The LPA driving an eUICC through lpac's stdio APDU protocol (`simforge lpa --stdio …` runs
//! `simforge euicc stdio --file …` as its child, the LPA playing lpac's role), and a virtual
//! eUICC whose identity was issued by an independent implementation: the EUM and eUICC
//! certificates are made with the `openssl` command line under the lab CI of
//! `simforge pki init`, loaded with `simforge euicc init --euicc-cert … --ci-cert …`, and used
//! to download a profile from `simforge serve` over HTTPS. Bad identity files are refused with
//! clear errors before anything is written.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
mod lpa_support;

use std::path::Path;
use std::process::Command;

use common::Lab;

fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// openssl extension sections with the SGP.22 / SGP.26 profile of an EUM (CA, pathlen 0,
/// EUM policy, EID range as nameConstraints and permittedEins) and of an eUICC certificate.
const EXTENSIONS: &str = "\
[eum]
authorityKeyIdentifier = keyid:always
subjectKeyIdentifier = hash
keyUsage = critical, keyCertSign
certificatePolicies = critical, 2.23.146.1.2.1.2
basicConstraints = critical, CA:true, pathlen:0
nameConstraints = critical, permitted;dirName:eum_range
2.23.146.1.2.2.0 = ASN1:SEQUENCE:eins
[eum_range]
O = Interop EUM
serialNumber = 89049032
[eins]
e1 = PRINTABLESTRING:89049032
[euicc]
authorityKeyIdentifier = keyid:always
subjectKeyIdentifier = hash
keyUsage = critical, digitalSignature
certificatePolicies = critical, 2.23.146.1.2.1.1
";

/// Makes an EUM (issued by the CI `ci_cert`/`ci_key`) and an eUICC certificate for `eid`
/// with openssl, in `dir`: eum.pem, eum.der, eum.key, euicc.pem, euicc.key (SEC1 PEM).
fn openssl_eum_and_euicc(dir: &Path, ci_cert: &Path, ci_key: &Path, eid: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ext.cnf"), EXTENSIONS).unwrap();
    let ci_cert = ci_cert.to_str().unwrap();
    let ci_key = ci_key.to_str().unwrap();
    for k in ["eum.key", "euicc.key"] {
        openssl(
            dir,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                k,
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "eum.key",
            "-subj",
            "/O=Interop EUM/CN=Interop EUM",
            "-out",
            "eum.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "eum.csr",
            "-CA",
            ci_cert,
            "-CAkey",
            ci_key,
            "-set_serial",
            "0x4E554D01",
            "-days",
            "3650",
            "-sha256",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "eum",
            "-out",
            "eum.pem",
        ],
    );
    openssl(
        dir,
        &[
            "x509", "-in", "eum.pem", "-outform", "DER", "-out", "eum.der",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "euicc.key",
            "-subj",
            &format!("/O=Interop EUM/serialNumber={eid}/CN=Interop eUICC"),
            "-out",
            "euicc.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "euicc.csr",
            "-CA",
            "eum.pem",
            "-CAkey",
            "eum.key",
            "-set_serial",
            "0x0EC1CC01",
            "-days",
            "3650",
            "-sha256",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "euicc",
            "-out",
            "euicc.pem",
        ],
    );
}

fn pki_init(lab: &Lab, dir: &Path) {
    lab.ok(&[
        "--json",
        "pki",
        "init",
        "--dir",
        dir.to_str().unwrap(),
        "--curve",
        "nist",
        "--fqdn",
        "localhost",
    ]);
}

/// `simforge euicc init` from files; returns the failed run's stderr (asserting failure) or
/// the JSON output.
fn init_from_files(
    lab: &Lab,
    out: &Path,
    cert: &Path,
    key: &Path,
    eum: &Path,
    cis: &[&Path],
) -> Result<serde_json::Value, String> {
    let mut args = vec![
        "--json".to_owned(),
        "euicc".into(),
        "init".into(),
        "--file".into(),
        out.to_str().unwrap().into(),
        "--euicc-cert".into(),
        cert.to_str().unwrap().into(),
        "--euicc-key".into(),
        key.to_str().unwrap().into(),
        "--eum-cert".into(),
        eum.to_str().unwrap().into(),
    ];
    for ci in cis {
        args.push("--ci-cert".into());
        args.push(ci.to_str().unwrap().into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = lab.run(&args);
    if o.status.success() {
        Ok(serde_json::from_slice(&o.stdout).unwrap())
    } else {
        assert!(!out.exists(), "a refused identity wrote {}", out.display());
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

#[test]
fn openssl_issued_identity_downloads_a_profile_over_the_stdio_transport() {
    if !have_openssl() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: no openssl on PATH");
        return;
    }
    let lab = Lab::new();
    let dir = lab.path();
    let pki = dir.join("pki");
    pki_init(&lab, &pki);
    let ci = pki.join("ci").join("ci.pem");
    let eid = simforge_pki::eid_from_prefix("89049032", 4242).unwrap();
    let x = dir.join("openssl");
    openssl_eum_and_euicc(&x, &ci, &pki.join("ci").join("ci.key.pem"), &eid);

    // Refused: a key that is not the certificate's, a chain to a CI not given, an EID outside
    // the EUM's range, a certificate that is no eUICC certificate.
    let file = dir.join("euicc.json");
    let err = init_from_files(
        &lab,
        &file,
        &x.join("euicc.pem"),
        &x.join("eum.key"),
        &x.join("eum.der"),
        &[&ci],
    )
    .unwrap_err();
    assert!(
        err.contains("private key does not belong"),
        "mismatched key: {err}"
    );
    let other = dir.join("other-pki");
    pki_init(&lab, &other);
    let err = init_from_files(
        &lab,
        &file,
        &x.join("euicc.pem"),
        &x.join("euicc.key"),
        &x.join("eum.der"),
        &[&other.join("ci").join("ci.der")],
    )
    .unwrap_err();
    assert!(err.contains("does not verify"), "wrong CI: {err}");
    let y = dir.join("openssl-outside");
    openssl_eum_and_euicc(
        &y,
        &ci,
        &pki.join("ci").join("ci.key.pem"),
        &simforge_pki::eid_from_prefix("89033023", 1).unwrap(),
    );
    let err = init_from_files(
        &lab,
        &file,
        &y.join("euicc.pem"),
        &y.join("euicc.key"),
        &y.join("eum.pem"),
        &[&ci],
    )
    .unwrap_err();
    assert!(
        err.contains("does not verify") && err.contains("89033023"),
        "EID outside the EUM range: {err}"
    );
    let err = init_from_files(
        &lab,
        &file,
        &x.join("eum.pem"),
        &x.join("eum.key"),
        &x.join("eum.der"),
        &[&ci],
    )
    .unwrap_err();
    assert!(err.contains("eUICC policy"), "an EUM as eUICC: {err}");

    // Accepted: eUICC certificate PEM, SEC1 PEM key, EUM DER, CI PEM; EID from the certificate.
    // When ../shared is there, the GSMA SGP.26 test CI is trusted as well (for SM-DP+
    // certificates issued under it).
    let sgp26_ci = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.pem");
    let mut cis = vec![ci.as_path()];
    if sgp26_ci.exists() {
        cis.push(&sgp26_ci);
    } else {
        println!("skipped (SGP.26 CI part): ../shared/sgp26 not present");
    }
    let v = init_from_files(
        &lab,
        &file,
        &x.join("euicc.pem"),
        &x.join("euicc.key"),
        &x.join("eum.der"),
        &cis,
    )
    .unwrap();
    assert_eq!(v["eid"].as_str(), Some(eid.as_str()));

    // The SM-DP+ on the same lab PKI; the LPA reaches the eUICC only through the child.
    let demo = lpa_support::serve_demo(&lab, &pki);
    let card = format!(
        "'{}' euicc stdio --file '{}'",
        env!("CARGO_BIN_EXE_simforge"),
        file.display()
    );
    let ca = demo.ca.to_str().unwrap().to_owned();
    let lpa = |args: &[&str]| {
        let mut a = vec!["--json", "lpa", "--stdio", &card, "--ca", &ca];
        a.extend_from_slice(args);
        let out = lab.ok(&a);
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()
    };
    let info = lpa(&["info"]);
    assert_eq!(info["eid"].as_str(), Some(eid.as_str()), "{info}");
    assert_eq!(info["profiles"], 0);
    let pkids: Vec<String> = info["ci_pkids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_uppercase())
        .collect();
    for c in &cis {
        let cert = simforge_pki::Certificate::from_der_or_pem(&std::fs::read(c).unwrap()).unwrap();
        let ski = lpa_support::hex(cert.subject_key_id().unwrap());
        assert!(
            pkids.contains(&ski),
            "CI {} not announced: {info}",
            c.display()
        );
    }
    let installed = lpa(&["download", &demo.activation_code]);
    assert_eq!(
        installed["iccid"].as_str(),
        Some(demo.iccid.as_str()),
        "{installed}"
    );
    let list = lpa(&["list"]);
    let listed = list.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["iccid"].as_str(), Some(demo.iccid.as_str()));
    lpa(&["enable", &demo.iccid]);
    assert_eq!(lpa(&["list"])[0]["state"].as_str(), Some("enabled"));
    let sent = lpa(&["notifications", "--process"]);
    for n in sent.as_array().unwrap() {
        assert!(n["error"].is_null(), "notification not delivered: {n}");
    }
    // The card program persisted what the eUICC did.
    let shown: serde_json::Value = serde_json::from_str(
        lab.ok(&["--json", "euicc", "show", "--file", file.to_str().unwrap()])
            .trim(),
    )
    .unwrap();
    assert_eq!(shown["profiles"][0]["enabled"], true, "{shown}");
    assert_eq!(shown["pendingNotifications"], 0, "{shown}");
    let inv: serde_json::Value =
        serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "demo"]).trim()).unwrap();
    assert_eq!(inv["installed"], 1, "{inv}");

    // A card program that fails is reported, not hung on.
    let o = lab.run(&["lpa", "--stdio", "exit 3", "info"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("exited before answering"), "{err}");
    drop(demo);
}

/// A `--stdio` card program that dies, hangs, floods or writes garbage fails the command with
/// a clear error, quickly, instead of blocking it or exhausting its memory.
#[test]
fn a_misbehaving_stdio_card_program_fails_the_command_without_hanging() {
    let lab = Lab::new();
    for (program, want) in [
        ("exit 0", "exited before answering connect"),
        ("exec sleep 30", "no answer to connect within 1 s"),
        (
            "head -c 3000000 /dev/zero | tr '\\0' a; exec sleep 30",
            "a line longer than",
        ),
        ("yes 'not json'", "no apdu reply to connect"),
        (
            r#"read l; echo '{"type":"apdu","payload":{"data":"00"}}'; exec sleep 30"#,
            "connect reply without ecode",
        ),
    ] {
        let started = std::time::Instant::now();
        let o = lab
            .cmd()
            .args(["lpa", "--stdio", program, "--stdio-timeout", "1", "info"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{program}: succeeded");
        assert!(err.contains(want), "{program}: {err}");
        assert!(!err.contains("panicked"), "{program}: {err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{program}: took {:?}",
            started.elapsed()
        );
    }
}
