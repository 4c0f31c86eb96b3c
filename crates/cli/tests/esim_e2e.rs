//! End to end over real HTTPS on 127.0.0.1, every piece the real `simforge` binary:
//! `simforge serve --demo` (SM-DP+ with a lab PKI, profiles built from a SIM-factory batch),
//! an operator ordering and releasing a profile over ES2+ with its API key, the LPA
//! downloading it into a virtual eUICC (`simforge euicc init` + `simforge lpa …`), listing,
//! enabling and delivering notifications, the SM-DP+ marking the profile Installed — then the
//! installed USIM answering AUTHENTICATE with the RES/CK/IK that osmo-hlr (provisioned with
//! the same subscriber from the batch) hands out over GSUP.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
mod lpa_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Lab, Server, file, free_port, https};
use serde::Deserialize;
use simforge_euicc::{Euicc, EuiccIdentity, EuiccState};

fn es2(
    client: &reqwest::blocking::Client,
    base: &str,
    key: &str,
    function: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    common::es2_post(client, base, key, function, &body)
}

fn status_of(v: &serde_json::Value) -> &str {
    v["header"]["functionExecutionStatus"]["status"]
        .as_str()
        .unwrap_or("")
}

#[derive(Deserialize)]
struct EuiccFile {
    identity: EuiccIdentity,
    state: EuiccState,
}

#[test]
fn serve_es2_order_lpa_download_install_and_authenticate_against_osmo_hlr() {
    let lab = Lab::new();
    let port = free_port();
    let admin_port = free_port();
    let admin = format!("127.0.0.1:{admin_port}");
    let stderr_path = lab.path().join("serve.stderr");
    let mut server = Server::spawn(
        lab.cmd()
            .args([
                "--json",
                "serve",
                "--admin-listen",
                &admin,
                "--admin-tls",
                "--demo",
                "--demo-profiles",
                "3",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("SIMFORGE_LOG", "info"),
        &stderr_path,
    );
    let demo = server.json_with("demo", &stderr_path)["demo"].clone();
    let listening = server.json_with("listening", &stderr_path);
    let ca = PathBuf::from(listening["ca"].as_str().unwrap());
    let address = listening["smdpAddress"].as_str().unwrap().to_owned();
    assert_eq!(address, format!("localhost:{port}"));
    let api_key = demo["apiKey"].as_str().unwrap().to_owned();
    let batch_dir = PathBuf::from(demo["batchDir"].as_str().unwrap());
    assert!(
        demo["activationCode"]
            .as_str()
            .unwrap()
            .starts_with(&format!("LPA:1${address}$"))
    );
    assert!(
        std::fs::metadata(demo["qrPng"].as_str().unwrap())
            .unwrap()
            .len()
            > 100
    );

    // Wait until the server accepts TLS (trusting only the lab CI / DPtls chain).
    let client = https(&ca);
    let base = format!("https://{address}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/metrics")).send().is_err() {
        assert!(Instant::now() < deadline, "server never accepted TLS");
        std::thread::sleep(Duration::from_millis(100));
    }
    // `/metrics` is on the private operator API listener, not on the public ES9+ one.
    let public = client.get(format!("{base}/metrics")).send().unwrap();
    assert_eq!(public.status(), 404);
    assert_eq!(listening["api"], admin.as_str());
    // The operator API and `/metrics` over TLS with the SM-DP+'s own DPtls identity.
    let admin_base = format!("https://localhost:{admin_port}");
    let doc = client
        .get(format!("{admin_base}/api/v1/openapi.json"))
        .send()
        .unwrap();
    assert_eq!(doc.status(), 200);
    let doc: serde_json::Value = serde_json::from_str(&doc.text().unwrap()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let metrics = |client: &reqwest::blocking::Client| {
        client
            .get(format!("{admin_base}/metrics"))
            .send()
            .and_then(|r| r.text())
    };

    // The operator orders and releases a profile over ES2+.
    let header = |n: u32| serde_json::json!({"functionRequesterIdentifier": "demo", "functionCallIdentifier": format!("e2e-{n}")});
    let (s, _) = es2(
        &client,
        &base,
        "sfk_wrong",
        "downloadOrder",
        serde_json::json!({"header": header(0), "profileType": "demo"}),
    );
    assert_eq!(s, 401, "a wrong API key is refused");
    let (s, v) = es2(
        &client,
        &base,
        &api_key,
        "downloadOrder",
        serde_json::json!({"header": header(1), "profileType": "demo"}),
    );
    assert_eq!((s, status_of(&v)), (200, "Executed-Success"), "{v}");
    let iccid = v["iccid"].as_str().unwrap().to_owned();
    assert_ne!(iccid, demo["iccid"].as_str().unwrap());
    let (s, v) = es2(
        &client,
        &base,
        &api_key,
        "confirmOrder",
        serde_json::json!({"header": header(2), "iccid": iccid, "releaseFlag": true}),
    );
    assert_eq!((s, status_of(&v)), (200, "Executed-Success"), "{v}");
    assert_eq!(v["smdpAddress"].as_str(), Some(address.as_str()));
    let matching_id = v["matchingId"].as_str().unwrap();
    let activation_code = format!("LPA:1${address}${matching_id}");

    // A virtual eUICC from the same lab PKI; the LPA downloads the profile over HTTPS.
    let euicc_file = lab.path().join("euicc.json");
    let euicc_file_s = euicc_file.to_str().unwrap();
    let ca_s = ca.to_str().unwrap();
    lab.ok(&[
        "euicc",
        "init",
        "--pki",
        demo["euiccPki"].as_str().unwrap(),
        "--file",
        euicc_file_s,
    ]);
    let lpa = |args: &[&str]| {
        let mut a = vec!["--json", "lpa", "--euicc", euicc_file_s, "--ca", ca_s];
        a.extend_from_slice(args);
        let out = lab.ok(&a);
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()
    };
    let installed = lpa(&["download", &activation_code]);
    assert_eq!(installed["iccid"].as_str(), Some(iccid.as_str()));
    let list = lpa(&["list"]);
    let listed = list.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["iccid"].as_str(), Some(iccid.as_str()));
    assert_eq!(listed[0]["state"].as_str(), Some("disabled"));
    lpa(&["enable", &iccid]);
    assert_eq!(lpa(&["list"])[0]["state"].as_str(), Some("enabled"));
    // Whatever the LPA still holds (the install result if it could not be sent right away,
    // the enable notification) reaches the SM-DP+.
    let sent = lpa(&["notifications", "--process"]);
    for n in sent.as_array().unwrap() {
        assert!(n["error"].is_null(), "notification not delivered: {n}");
    }
    assert!(
        lpa(&["notifications"]).as_array().unwrap().is_empty(),
        "no notification left"
    );

    // The SM-DP+ marked the profile Installed.
    let inv: serde_json::Value =
        serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "demo"]).trim()).unwrap();
    assert_eq!(inv["installed"], 1, "{inv}");
    assert_eq!(inv["released"], 1, "the demo's own released profile: {inv}");
    assert_eq!(inv["available"], 1, "{inv}");
    let m = metrics(&client).unwrap();
    assert!(
        m.contains("simforge_smdp_downloads_total{result=\"installed\"} 1"),
        "{m}"
    );

    // The installed USIM authenticates: first against MILENAGE from the batch's K/OPc …
    let sub = lpa_support::subscriber(&batch_dir, &iccid);
    let f: EuiccFile =
        serde_json::from_str(&std::fs::read_to_string(&euicc_file).unwrap()).unwrap();
    let mut euicc = Euicc::new(
        &f.identity,
        f.state,
        Box::new(simforge_crypto::SystemRandom::new()),
        Box::new(simforge_crypto::SystemClock),
    )
    .unwrap();
    // … then against osmo-hlr, provisioned with the same subscriber, over GSUP.
    lpa_support::check_usim_against_batch_and_hlr(&lab, &sub, &mut |apdu| euicc.process(apdu));
    drop(server);
}

#[test]
fn operator_api_key_and_batch_import_into_the_inventory() {
    let lab = Lab::new();
    lab.operator("acme");
    let dir = lab.batch(
        "acme",
        "quantity = 4\nkid = 1\nopid = 1\n[profile]\nota_key_sets = 2\n",
        &["--formats", "out,elec"],
    );
    assert!(dir.exists());
    let out = lab.ok(&[
        "--json",
        "operator",
        "import-profiles",
        "acme",
        "--batch",
        "1",
        "--profile-type",
        "consumer",
        "--limit",
        "3",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["added"].as_array().unwrap().len(), 3);
    // Importing again adds only what is not there yet.
    let out = lab.ok(&[
        "--json",
        "operator",
        "import-profiles",
        "acme",
        "--batch",
        "1",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["added"].as_array().unwrap().len(), 1);
    let inv: serde_json::Value =
        serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "acme"]).trim()).unwrap();
    assert_eq!(inv["available"], 4, "{inv}");
    // Unknown batch / operator: exit codes 5.
    let o = lab.run(&["operator", "import-profiles", "acme", "--batch", "99"]);
    assert_eq!(o.status.code(), Some(5));
    let o = lab.run(&["operator", "api-key", "nobody"]);
    assert_eq!(o.status.code(), Some(5));

    // An API key is printed once; only its hash is stored (in the database; `--list` shows
    // ids and hashes, never the key).
    let key = lab.ok(&["operator", "api-key", "acme"]).trim().to_owned();
    assert!(key.starts_with("sfk_") && key.len() > 40, "{key}");
    let listed = lab.ok(&["operator", "api-key", "acme", "--list"]);
    assert!(
        !listed.contains(&key) && listed.contains("active"),
        "{listed}"
    );
    // No secret of the batch leaks into the outputs.
    let elec = std::fs::read_to_string(file(&dir, ".elec.csv")).unwrap();
    let ki_col = elec
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "KI")
        .unwrap();
    let ki = elec.lines().nth(1).unwrap().split(',').nth(ki_col).unwrap();
    assert!(!out.contains(ki) && !key.contains(ki));
}
