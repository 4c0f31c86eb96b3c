//! `simforge hsm` and `simforge serve --hsm-*` against a SoftHSM2 token of the test's own
//! (`simforge_testkit::softhsm`; skipped without SoftHSM2, a failure under CI): keys generated
//! and imported with the right attributes and listed without values; the SM-DP+ serving a
//! whole download over HTTPS on both curves with DPauth and DPpb signing in the token and the
//! vault's master key in it (no master key file made).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Lab, Server, free_port, https};
use simforge_testkit::softhsm::TestToken;

fn hsm_args<'a>(t: &'a TestToken, module: &'a str, pin: &'a str) -> Vec<&'a str> {
    vec![
        "--hsm-module",
        module,
        "--hsm-token",
        &t.label,
        "--hsm-pin-file",
        pin,
    ]
}

fn objects(lab: &Lab, t: &TestToken) -> Vec<serde_json::Value> {
    let (module, pin) = (t.module.to_str().unwrap(), t.pin_file.to_str().unwrap());
    let mut args = vec!["--json", "hsm", "list"];
    args.extend(hsm_args(t, module, pin));
    let out = lab.ok_env(&args, t);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let slots = v["slots"].as_array().unwrap();
    assert!(
        slots
            .iter()
            .any(|s| s["token"]["label"].as_str() == Some(t.label.as_str())),
        "{v}"
    );
    v["objects"].as_array().unwrap().clone()
}

trait Env {
    fn ok_env(&self, args: &[&str], t: &TestToken) -> String;
    fn run_env(&self, args: &[&str], t: &TestToken) -> std::process::Output;
}

impl Env for Lab {
    fn run_env(&self, args: &[&str], t: &TestToken) -> std::process::Output {
        self.cmd()
            .env("SOFTHSM2_CONF", &t.conf)
            .args(args)
            .output()
            .unwrap()
    }
    fn ok_env(&self, args: &[&str], t: &TestToken) -> String {
        let o = self.run_env(args, t);
        assert!(
            o.status.success(),
            "simforge {args:?} failed ({:?}):\n{}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

#[test]
fn generate_import_and_list_keys_without_values() {
    let Some(t) = TestToken::new("generate_import_and_list_keys_without_values") else {
        return;
    };
    let lab = Lab::new();
    let (module, pin) = (t.module.to_str().unwrap(), t.pin_file.to_str().unwrap());
    let base = hsm_args(&t, module, pin);
    for (kind, label) in [
        ("ec-p256", "dpauth"),
        ("ec-brainpool", "dppb"),
        ("aes256", "master"),
    ] {
        let mut a = vec![
            "--json", "hsm", "generate", "--kind", kind, "--label", label,
        ];
        a.extend(&base);
        let v: serde_json::Value = serde_json::from_str(lab.ok_env(&a, &t).trim()).unwrap();
        assert_eq!(v["label"], label);
        assert_eq!(
            (&v["sensitive"], &v["extractable"]),
            (&true.into(), &false.into())
        );
    }
    // A PKI directory's key imported.
    let pki = lab.path().join("pki");
    lab.ok(&[
        "pki",
        "init",
        "--dir",
        pki.to_str().unwrap(),
        "--curve",
        "nist",
    ]);
    let key = pki.join("smdp/dpauth.key.pem");
    let mut a = vec![
        "hsm",
        "import",
        "--key",
        key.to_str().unwrap(),
        "--label",
        "imported",
    ];
    a.extend(&base);
    let text = lab.ok_env(&a, &t);
    assert!(text.contains("sensitive, not extractable"), "{text}");

    // An operator's transport key (hex), and a file that is neither PEM nor an AES key (3).
    let transport = lab.write("transport.hex", &format!("{}\n", "5a".repeat(32)));
    let mut a = vec![
        "hsm",
        "import",
        "--key",
        transport.to_str().unwrap(),
        "--label",
        "transport-kid1",
    ];
    a.extend(&base);
    lab.ok_env(&a, &t);
    let junk = lab.write("junk.hex", "xyz");
    let mut a = vec![
        "hsm",
        "import",
        "--key",
        junk.to_str().unwrap(),
        "--label",
        "junk",
    ];
    a.extend(&base);
    assert_eq!(lab.run_env(&a, &t).status.code(), Some(3));

    let objects = objects(&lab, &t);
    for o in &objects {
        assert!(o.get("value").is_none(), "{o}");
        if o["class"] == "private-key" || o["class"] == "secret-key" {
            assert_eq!(
                (&o["sensitive"], &o["extractable"]),
                (&true.into(), &false.into()),
                "{o}"
            );
        }
    }
    let find = |label: &str, class: &str| {
        objects
            .iter()
            .find(|o| o["label"] == label && o["class"] == class)
            .unwrap_or_else(|| panic!("{label} {class}: {objects:?}"))
            .clone()
    };
    assert_eq!(find("dpauth", "private-key")["curve"], "NistP256");
    assert_eq!(find("dppb", "private-key")["curve"], "BrainpoolP256r1");
    assert_eq!(find("master", "secret-key")["keyType"], "AES");
    assert_eq!(find("imported", "public-key")["keyType"], "EC");
    assert_eq!(find("transport-kid1", "secret-key")["keyType"], "AES");

    // The slots alone need no login.
    let v: serde_json::Value = serde_json::from_str(
        lab.ok_env(&["--json", "hsm", "list", "--hsm-module", module], &t)
            .trim(),
    )
    .unwrap();
    assert!(v["objects"].is_null(), "{v}");
    assert!(v.to_string().contains(&t.label), "{v}");

    // Refusals and their exit codes: a taken label (4), an unknown token (5), a PIN file others
    // may read (3); the PIN is never printed.
    let mut a = vec!["hsm", "generate", "--kind", "aes256", "--label", "master"];
    a.extend(&base);
    assert_eq!(lab.run_env(&a, &t).status.code(), Some(4));
    let a = [
        "hsm",
        "list",
        "--hsm-module",
        module,
        "--hsm-token",
        "nope",
        "--hsm-pin-file",
        pin,
    ];
    assert_eq!(lab.run_env(&a, &t).status.code(), Some(5));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let loose = lab.path().join("loose-pin");
        std::fs::write(&loose, format!("{}\n", t.pin)).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        let a = [
            "hsm",
            "list",
            "--hsm-module",
            module,
            "--hsm-token",
            &t.label,
            "--hsm-pin-file",
            loose.to_str().unwrap(),
        ];
        let o = lab.run_env(&a, &t);
        assert_eq!(o.status.code(), Some(3));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains(&t.pin), "{err}");
    }
}

/// Imports a PKI directory's DPauth and DPpb keys (both curves) into the token, makes the
/// master key there, and serves with them: the demo's profile downloads over HTTPS into a
/// NIST eUICC, one ordered over ES2+ into a brainpool eUICC.
#[test]
fn serve_with_dp_keys_and_the_master_key_in_the_hsm_downloads_on_both_curves() {
    let Some(t) = TestToken::new("serve_with_dp_keys_and_the_master_key_in_the_hsm") else {
        return;
    };
    let lab = Lab::new();
    let (module, pin) = (t.module.to_str().unwrap(), t.pin_file.to_str().unwrap());
    let base = hsm_args(&t, module, pin);
    let pki = lab.path().join("pki");
    let pki_s = pki.to_str().unwrap();
    lab.ok(&["pki", "init", "--dir", pki_s, "--fqdn", "localhost"]);
    for curve in ["nist", "brainpool"] {
        for role in ["dpauth", "dppb"] {
            let key = pki.join(curve).join(format!("smdp/{role}.key.pem"));
            let label = format!("{role}-{curve}");
            let mut a = vec![
                "hsm",
                "import",
                "--key",
                key.to_str().unwrap(),
                "--label",
                &label,
            ];
            a.extend(&base);
            lab.ok_env(&a, &t);
        }
    }
    // The DPtls key too: the TLS handshakes signed in the token.
    let key = pki.join("nist/smdp/dptls.key.pem");
    let mut a = vec![
        "hsm",
        "import",
        "--key",
        key.to_str().unwrap(),
        "--label",
        "dptls",
    ];
    a.extend(&base);
    lab.ok_env(&a, &t);
    let mut a = vec!["hsm", "generate", "--kind", "aes256", "--label", "master"];
    a.extend(&base);
    lab.ok_env(&a, &t);

    let port = free_port();
    let stderr = lab.path().join("serve.stderr");
    let listen = format!("127.0.0.1:{port}");
    let mut server = Server::spawn(
        lab.cmd()
            .env("SOFTHSM2_CONF", &t.conf)
            .args([
                "--json",
                "serve",
                "--no-admin",
                "--demo",
                "--demo-profiles",
                "2",
            ])
            .args(["--listen", &listen, "--pki", pki_s])
            .args([
                "--hsm-module",
                module,
                "--hsm-token",
                &t.label,
                "--hsm-pin-file",
                pin,
            ])
            .args([
                "--hsm-dpauth-label",
                "dpauth-nist",
                "--hsm-dpauth-label",
                "dpauth-brainpool",
            ])
            .args([
                "--hsm-dppb-label",
                "dppb-nist",
                "--hsm-dppb-label",
                "dppb-brainpool",
            ])
            .args(["--hsm-master-key-label", "master"])
            .args(["--hsm-dptls-label", "dptls"]),
        &stderr,
    );
    let demo = server.json_with("demo", &stderr)["demo"].clone();
    let listening = server.json_with("listening", &stderr);
    let ca = Path::new(listening["ca"].as_str().unwrap()).to_owned();
    let address = listening["smdpAddress"].as_str().unwrap().to_owned();
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert_eq!(log.matches("signs in the HSM with key").count(), 4, "{log}");
    assert!(log.contains("master key is HSM key \"master\""), "{log}");
    assert!(
        log.contains("DPtls signs the TLS handshakes in the HSM with key \"dptls\""),
        "{log}"
    );
    assert!(
        !lab.path().join("data/master.key").exists(),
        "the vault is the HSM's: no master key file is made"
    );
    let client = https(&ca);
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("https://{address}/")).send().is_err() {
        assert!(Instant::now() < deadline, "server never accepted TLS");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A second profile ordered and released over ES2+ for the brainpool eUICC.
    let api_key = demo["apiKey"].as_str().unwrap();
    let header = |n: u32| serde_json::json!({"functionRequesterIdentifier": "demo", "functionCallIdentifier": format!("hsm-{n}")});
    let base_url = format!("https://{address}");
    let (s, v) = common::es2_post(
        &client,
        &base_url,
        api_key,
        "downloadOrder",
        &serde_json::json!({"header": header(1), "profileType": "demo"}),
    );
    assert_eq!(s, 200, "{v}");
    let iccid = v["iccid"].as_str().unwrap().to_owned();
    let (s, v) = common::es2_post(
        &client,
        &base_url,
        api_key,
        "confirmOrder",
        &serde_json::json!({"header": header(2), "iccid": iccid, "releaseFlag": true}),
    );
    assert_eq!(s, 200, "{v}");
    let second = format!("LPA:1${address}${}", v["matchingId"].as_str().unwrap());

    for (curve, ac, want) in [
        (
            "nist",
            demo["activationCode"].as_str().unwrap().to_owned(),
            demo["iccid"].as_str().unwrap().to_owned(),
        ),
        ("brainpool", second, iccid),
    ] {
        let euicc = lab.path().join(format!("euicc-{curve}.json"));
        let euicc_s = euicc.to_str().unwrap();
        lab.ok(&[
            "euicc",
            "init",
            "--pki",
            pki.join(curve).to_str().unwrap(),
            "--file",
            euicc_s,
        ]);
        let out = lab.ok(&[
            "--json",
            "lpa",
            "--euicc",
            euicc_s,
            "--ca",
            ca.to_str().unwrap(),
            "download",
            &ac,
        ]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["iccid"].as_str(), Some(want.as_str()), "{curve}: {v}");
    }
    drop(server);
}

fn file_with_suffix(dir: &Path, suffix: &str) -> String {
    let f = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no *{suffix} in {}", dir.display()));
    std::fs::read_to_string(f.path()).unwrap()
}

/// An operator's transport key imported into the token and stored as an HSM key (KID 2): the
/// batch's EKI is computed in the token, and decrypts with the operator's copy of the key to
/// the electrical file's Ki, and `verify` checks it in the token; without the HSM both are refused.
#[test]
fn a_batch_whose_transport_key_is_in_the_hsm() {
    let Some(t) = TestToken::new("a_batch_whose_transport_key_is_in_the_hsm") else {
        return;
    };
    let lab = Lab::new();
    lab.operator("lab");
    let (module, pin) = (t.module.to_str().unwrap(), t.pin_file.to_str().unwrap());
    let hsm = [
        "--hsm-module",
        module,
        "--hsm-token",
        &t.label,
        "--hsm-pin-file",
        pin,
    ];
    let key_hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let key_file = lab.write("op-transport.hex", key_hex);
    let mut a = vec![
        "hsm",
        "import",
        "--key",
        key_file.to_str().unwrap(),
        "--label",
        "lab-kid2",
    ];
    a.extend(hsm_args(&t, module, pin));
    lab.ok_env(&a, &t);
    let mut a = vec![
        "key",
        "import",
        "--operator",
        "lab",
        "--kind",
        "transport",
        "--index",
        "2",
        "--hsm-label",
        "lab-kid2",
    ];
    a.extend(hsm);
    let text = lab.ok_env(&a, &t);
    assert!(text.contains("256-bit HSM key"), "{text}");

    let order = "quantity = 3000\nkid = 2\nopid = 1\n";
    // Without the HSM: refused, naming what is missing.
    let path = lab.write("order-nohsm.toml", order);
    let o = lab.run_env(
        &[
            "batch",
            "generate",
            "--operator",
            "lab",
            path.to_str().unwrap(),
            "--quiet",
        ],
        &t,
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--hsm-module"));

    let dir = lab.batch("lab", order, &hsm);
    let out = file_with_suffix(&dir, ".out");
    let elec = file_with_suffix(&dir, ".elec.csv");
    let names: Vec<&str> = out
        .lines()
        .find_map(|l| l.strip_prefix("var_out:"))
        .unwrap()
        .split(' ')
        .collect();
    let eki = names.iter().position(|n| *n == "EKI").unwrap();
    let records: Vec<Vec<&str>> = out
        .lines()
        .skip_while(|l| !l.starts_with("var_out:"))
        .skip(1)
        .map(|l| l.split(' ').collect())
        .collect();
    let mut elec_lines = elec.lines();
    let head: Vec<&str> = elec_lines.next().unwrap().split(',').collect();
    let ki = head.iter().position(|n| *n == "KI").unwrap();
    let elec_records: Vec<Vec<&str>> = elec_lines.map(|l| l.split(',').collect()).collect();
    assert_eq!((records.len(), elec_records.len()), (3000, 3000));
    // Independently of simforge: AES-256 decryption with the operator's copy (the aes crate).
    use aes::cipher::{Array, BlockCipherDecrypt, KeyInit};
    let cipher = aes::Aes256::new(&Array::try_from(common::unhex(key_hex).as_slice()).unwrap());
    for (r, e) in records.iter().zip(&elec_records) {
        let mut block = Array::try_from(common::unhex(r[eki]).as_slice()).unwrap();
        cipher.decrypt_block(&mut block);
        assert_eq!(
            block.iter().map(|b| format!("{b:02X}")).collect::<String>(),
            e[ki].to_ascii_uppercase()
        );
    }
    // The header's KCV is the key's (computed in the token).
    let mut kcv = Array::from([1u8; 16]);
    aes::cipher::BlockCipherEncrypt::encrypt_block(&cipher, &mut kcv);
    let kcv_hex: String = kcv[..3].iter().map(|b| format!("{b:02X}")).collect();
    assert!(
        out.to_ascii_uppercase().contains(&kcv_hex),
        "{}",
        &out[..300]
    );

    // verify decrypts the EKIs in the token (and without the HSM says what it needs).
    let out_path = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".out"))
        .unwrap()
        .path();
    let elec_path = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".elec.csv"))
        .unwrap()
        .path();
    let mut a = vec![
        "--json",
        "verify",
        "--operator",
        "lab",
        out_path.to_str().unwrap(),
        "--electrical",
        elec_path.to_str().unwrap(),
    ];
    let o = lab.run_env(&a, &t);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("--hsm-module"), "{err}");
    a.extend(hsm);
    let report: serde_json::Value = serde_json::from_str(lab.ok_env(&a, &t).trim()).unwrap();
    assert_eq!(report["cards"], 3000, "{report}");
}

/// `--hsm-master-key-label` (here through its environment variable) for every command: the
/// operator's keys are sealed in the token, a batch is made, no master key file ever exists,
/// and the master key file cannot open the database afterwards.
#[test]
fn every_command_seals_with_the_master_key_in_the_hsm() {
    let Some(t) = TestToken::new("every_command_seals_with_the_master_key_in_the_hsm") else {
        return;
    };
    let lab = Lab::new();
    let (module, pin) = (t.module.to_str().unwrap(), t.pin_file.to_str().unwrap());
    let mut a = vec!["hsm", "generate", "--kind", "aes256", "--label", "master"];
    a.extend(hsm_args(&t, module, pin));
    lab.ok_env(&a, &t);
    let run = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut c = lab.cmd();
        c.env("SOFTHSM2_CONF", &t.conf)
            .env("SIMFORGE_HSM_MODULE", module)
            .env("SIMFORGE_HSM_TOKEN", &t.label)
            .env("SIMFORGE_HSM_PIN_FILE", pin)
            .env("SIMFORGE_HSM_MASTER_KEY_LABEL", "master")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.unwrap_or("").as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "simforge {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    run(
        &[
            "operator",
            "create",
            "lab",
            "--mcc",
            "001",
            "--mnc",
            "01",
            "--iccid-prefix",
            "8988211",
            "--iccid-length",
            "20",
            "--spn",
            "Lab",
        ],
        None,
    );
    let key = lab.write("transport.hex", common::TRANSPORT_HEX);
    run(
        &[
            "key",
            "import",
            "--operator",
            "lab",
            "--kind",
            "transport",
            "--index",
            "1",
            "--file",
            key.to_str().unwrap(),
        ],
        None,
    );
    run(
        &[
            "key",
            "import",
            "--operator",
            "lab",
            "--kind",
            "op",
            "--index",
            "1",
        ],
        Some(common::OP_HEX),
    );
    let order = lab.write("order.toml", "quantity = 10\nkid = 1\nopid = 1\n");
    let out = run(
        &[
            "--json",
            "batch",
            "generate",
            "--operator",
            "lab",
            order.to_str().unwrap(),
            "--quiet",
        ],
        None,
    );
    assert!(out.contains("\"quantity\":10"), "{out}");
    assert!(!lab.path().join("data/master.key").exists());
    // The master key file (made now) did not seal these keys: refused.
    let order2 = lab.write("order2.toml", "quantity = 10\nkid = 1\nopid = 1\n");
    let o = lab.run(&[
        "batch",
        "generate",
        "--operator",
        "lab",
        order2.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("master key"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
