//! End to end over real HTTPS on 127.0.0.1, every piece the real `simforge` binary:
//! `simforge serve --demo` (SM-DP+ with a lab PKI, profiles built from a SIM-factory batch),
//! an operator ordering and releasing a profile over ES2+ with its API key, the LPA
//! downloading it into a virtual eUICC (`simforge euicc init` + `simforge lpa …`), listing,
//! enabling and delivering notifications, the SM-DP+ marking the profile Installed — then the
//! installed USIM answering AUTHENTICATE with the RES/CK/IK that osmo-hlr (provisioned with
//! the same subscriber from the batch) hands out over GSUP.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Lab, Server, file, free_port, unhex};
use serde::Deserialize;
use simforge_euicc::{Euicc, EuiccIdentity, EuiccState};
use simforge_gsup::{HlrDatabase, OsmoHlr};

fn https(ca: &Path) -> reqwest::blocking::Client {
    let pem = std::fs::read(ca).unwrap();
    let mut b = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .timeout(Duration::from_secs(30));
    for c in reqwest::Certificate::from_pem_bundle(&pem).unwrap() {
        b = b.add_root_certificate(c);
    }
    b.build().unwrap()
}

fn es2(
    client: &reqwest::blocking::Client,
    base: &str,
    key: &str,
    function: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = client
        .post(format!("{base}/gsma/rsp2/es2plus/{function}"))
        .header("Content-Type", "application/json")
        .header("X-Api-Key", key)
        .body(body.to_string())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let v = serde_json::from_slice(&r.bytes().unwrap()).unwrap_or(serde_json::Value::Null);
    (status, v)
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

/// The card side of one subscriber, from the batch's electrical file.
struct Subscriber {
    imsi_ef: Vec<u8>,
    ki: [u8; 16],
    opc: [u8; 16],
}

fn subscriber(batch_dir: &Path, iccid: &str) -> Subscriber {
    let want = simforge_sim::Iccid::parse(iccid).unwrap().to_ef();
    let text = std::fs::read_to_string(file(batch_dir, ".elec.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if unhex(f[col("ICCID")]) == want {
            return Subscriber {
                imsi_ef: unhex(f[col("IMSI")]),
                ki: unhex(f[col("KI")]).try_into().unwrap(),
                opc: unhex(f[col("OPC")]).try_into().unwrap(),
            };
        }
    }
    panic!("ICCID {iccid} not in the batch's electrical file");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// SELECT ADF.USIM then AUTHENTICATE (3G context); returns (RES, CK, IK).
fn usim_authenticate(
    euicc: &mut Euicc,
    rand: &[u8; 16],
    autn: &[u8; 16],
) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let r = euicc.process(&[
        0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02,
    ]);
    assert_eq!(r, [0x90, 0x00], "SELECT ADF.USIM");
    let mut apdu = vec![0x00, 0x88, 0x00, 0x81, 0x22, 0x10];
    apdu.extend_from_slice(rand);
    apdu.push(0x10);
    apdu.extend_from_slice(autn);
    apdu.push(0x00);
    let mut r = euicc.process(&apdu);
    if r.len() == 2 && r[0] == 0x61 {
        r = euicc.process(&[0x00, 0xC0, 0x00, 0x00, r[1]]);
    }
    assert_eq!(&r[r.len() - 2..], [0x90, 0x00], "AUTHENTICATE: {}", hex(&r));
    assert_eq!(r[0], 0xDB, "successful 3G authentication: {}", hex(&r));
    let res_len = usize::from(r[1]);
    let res = r[2..2 + res_len].to_vec();
    let ck = r[3 + res_len..3 + res_len + 16].to_vec();
    let ik = r[4 + res_len + 16..4 + res_len + 32].to_vec();
    (res, ck, ik)
}

#[test]
fn serve_es2_order_lpa_download_install_and_authenticate_against_osmo_hlr() {
    let lab = Lab::new();
    let port = free_port();
    let stderr_path = lab.path().join("serve.stderr");
    let mut child = lab
        .cmd()
        .args([
            "--json",
            "serve",
            "--demo",
            "--demo-profiles",
            "3",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("SIMFORGE_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = Server { child, lines: rx };
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
    let metrics = |client: &reqwest::blocking::Client| {
        client
            .get(format!("{base}/metrics"))
            .send()
            .and_then(|r| r.text())
    };
    while metrics(&client).is_err() {
        assert!(Instant::now() < deadline, "server never accepted TLS");
        std::thread::sleep(Duration::from_millis(100));
    }

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
    let sub = subscriber(&batch_dir, &iccid);
    let f: EuiccFile =
        serde_json::from_str(&std::fs::read_to_string(&euicc_file).unwrap()).unwrap();
    let mut euicc = Euicc::new(
        &f.identity,
        f.state,
        Box::new(simforge_crypto::SystemRandom::new()),
        Box::new(simforge_crypto::SystemClock),
    )
    .unwrap();
    let r = euicc.process(&[
        0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02,
    ]);
    assert_eq!(r, [0x90, 0x00]);
    assert_eq!(
        euicc.process(&[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x07]),
        [0x90, 0x00]
    );
    let r = euicc.process(&[0x00, 0xB0, 0x00, 0x00, 0x09]);
    assert_eq!(&r[..9], sub.imsi_ef.as_slice(), "EF.IMSI is the batch's");
    let k = simforge_aka::K::new_128(sub.ki);
    let alg = simforge_aka::Algorithm::milenage(simforge_aka::Opc::from_bytes(sub.opc));
    let rand = [0x3C; 16];
    // SQN 34: IND 2, SEQ 1 (osmo-hlr's own vectors below use IND 1).
    let av = alg
        .generate_vector(&k, &rand, &simforge_aka::sqn_from_u64(34), &[0x80, 0x00])
        .unwrap();
    let autn: [u8; 16] = av.autn.as_ref().try_into().unwrap();
    let (res, ck, ik) = usim_authenticate(&mut euicc, &rand, &autn);
    assert_eq!(res.as_slice(), av.xres.as_ref());
    assert_eq!(ck.as_slice(), av.ck.as_bytes());
    assert_eq!(ik.as_slice(), av.ik.as_bytes());

    // … then against osmo-hlr, provisioned with the same subscriber, over GSUP.
    if !OsmoHlr::available() {
        println!("skipped: osmo-hlr not installed");
        return;
    }
    let plmn = simforge_sim::Plmn::new("001", "01").unwrap();
    let imsi = simforge_sim::Imsi::from_ef(&sub.imsi_ef, &plmn)
        .unwrap()
        .to_string();
    let hlr_dir = lab.path().join("hlr");
    std::fs::create_dir_all(&hlr_dir).unwrap();
    let hlr = OsmoHlr::start_with(&hlr_dir, HlrDatabase::InMemory).unwrap();
    hlr.vty()
        .unwrap()
        .run_script(&format!(
            "subscriber imsi {imsi} create\nsubscriber imsi {imsi} update aud3g milenage k {} opc {}\n",
            hex(&sub.ki),
            hex(&sub.opc)
        ))
        .unwrap();
    let tuples = hlr.gsup().unwrap().send_auth_info(&imsi, 2).unwrap();
    assert!(!tuples.is_empty(), "{}", hlr.log_tail());
    for t in &tuples {
        let (res, ck, ik) = usim_authenticate(&mut euicc, &t.rand, &t.autn.unwrap());
        assert_eq!(Some(res), t.res, "RES osmo-hlr expects");
        assert_eq!(ck.as_slice(), t.ck.unwrap().as_slice(), "CK");
        assert_eq!(ik.as_slice(), t.ik.unwrap().as_slice(), "IK");
    }
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
