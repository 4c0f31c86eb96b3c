//! Discovery over real HTTPS on 127.0.0.1, every piece the real `simforge` binary: the SM-DP+
//! (`simforge serve --demo`), the SM-DS (`simforge smds`, DSauth/DStls from the same lab PKI),
//! the SM-DP+ registering the demo order's event over ES12 with its DPtls client certificate
//! (mutual TLS), then `simforge lpa discover` on a virtual eUICC whose root SM-DS is that
//! SM-DS: listed, downloaded with matchingId = EventID, deleted.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;

use common::{DemoServer, Lab, Server, free_port, wait_accepting};

/// A virtual eUICC (`simforge euicc init`) of the lab PKI `pki` whose root SM-DS is `root`,
/// in `<lab>/euicc.json`, and its LPA.
struct Device<'a> {
    lab: &'a Lab,
    file: std::path::PathBuf,
    eid: String,
}

impl<'a> Device<'a> {
    fn new(lab: &'a Lab, pki: &str, root: &str) -> Self {
        let file = lab.path().join("euicc.json");
        let path = file.to_str().unwrap();
        lab.ok(&[
            "euicc",
            "init",
            "--pki",
            pki,
            "--root-ds",
            root,
            "--file",
            path,
        ]);
        let identity: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let eid = identity["identity"]["eid"].as_str().unwrap().to_owned();
        Self { lab, file, eid }
    }

    /// The eUICC file's path.
    fn file(&self) -> &str {
        self.file.to_str().unwrap()
    }

    /// `simforge --json lpa --euicc <file> --insecure ARGS`, its JSON answer.
    fn lpa(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["--json", "lpa", "--euicc", self.file(), "--insecure"];
        a.extend_from_slice(args);
        serde_json::from_str(self.lab.ok(&a).trim()).unwrap()
    }
}

fn es12(
    client: &reqwest::blocking::Client,
    base: &str,
    function: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = client
        .post(format!("{base}/gsma/rsp2/es12/{function}"))
        .header("Content-Type", "application/json")
        .header("X-Admin-Protocol", "gsma/rsp/v2.2.0")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_slice(&r.bytes().unwrap()).unwrap_or(serde_json::Value::Null),
    )
}

/// A client presenting the SM-DP+'s DPtls certificate (the lab SM-DS's TLS name is not
/// resolvable here, so its certificate is not checked: lpac does the same).
fn smdp_client(pki: &Path) -> reqwest::blocking::Client {
    let mut pem = std::fs::read(pki.join("smdp/dptls.pem")).unwrap();
    pem.extend(std::fs::read(pki.join("smdp/dptls.key.pem")).unwrap());
    reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}

#[test]
fn an_event_registered_at_the_smds_is_discovered_and_downloaded_by_the_lpa() {
    let lab = Lab::new();
    let dp = DemoServer::start(&lab, 2);
    let pki = dp.demo["euiccPki"].as_str().unwrap().to_owned();
    let smdp_address = dp.listening["smdpAddress"].as_str().unwrap().to_owned();
    let activation_code = dp.demo["activationCode"].as_str().unwrap().to_owned();
    let matching_id = activation_code.split('$').nth(2).unwrap().to_owned();

    let ds_port = free_port();
    let ds_address = format!("localhost:{ds_port}");
    let stderr = lab.path().join("smds.stderr");
    let dptls = Path::new(&pki).join("smdp/dptls.pem");
    let _smds = Server::spawn(
        lab.cmd().args([
            "smds",
            "--pki",
            &pki,
            "--fqdn",
            "localhost",
            "--listen",
            &format!("127.0.0.1:{ds_port}"),
            "--registrant",
            &format!("smdp1={}", dptls.display()),
        ]),
        &stderr,
    );
    wait_accepting(ds_port);
    let base = format!("https://127.0.0.1:{ds_port}");

    // A virtual eUICC whose root SM-DS is ours.
    let device = Device::new(&lab, &pki, &ds_address);
    let eid = device.eid.clone();
    let lpa = |args: &[&str]| device.lpa(args);
    assert_eq!(lpa(&["discover", "--list"]), serde_json::json!([]));

    // ES12 without a registered client certificate: refused.
    let anonymous = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let header =
        serde_json::json!({"functionRequesterIdentifier": "smdp1", "functionCallIdentifier": "1"});
    let register = serde_json::json!({"header": header, "eid": eid, "rspServerAddress": smdp_address, "eventId": matching_id, "forwardingIndicator": false});
    let (s, _) = es12(&anonymous, &base, "registerEvent", &register);
    assert_eq!(s, 401);
    let client = smdp_client(Path::new(&pki));
    let (s, v) = es12(&client, &base, "registerEvent", &register);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["header"]["functionExecutionStatus"]["status"],
        "Executed-Success"
    );

    assert_eq!(
        lpa(&["discover", "--list"]),
        serde_json::json!([{"eventId": matching_id, "rspServerAddress": smdp_address}])
    );
    let done = lpa(&["discover", "--smds", &ds_address]);
    assert_eq!(done[0]["eventId"], matching_id.as_str(), "{done}");
    assert_eq!(done[0]["installed"]["iccid"], dp.demo["iccid"], "{done}");
    assert_eq!(lpa(&["list"]).as_array().unwrap().len(), 1);

    // Downloaded: the SM-DP+ deletes its event.
    let delete = serde_json::json!({"header": header, "eid": eid, "eventId": matching_id});
    let (s, v) = es12(&client, &base, "deleteEvent", &delete);
    assert_eq!(s, 200, "{v}");
    let (_, v) = es12(&client, &base, "deleteEvent", &delete);
    assert_eq!(
        v["header"]["functionExecutionStatus"]["statusCodeData"]["subjectCode"],
        "8.9.5"
    );
    assert_eq!(lpa(&["discover", "--list"]), serde_json::json!([]));
}

/// The SM-DP+'s own registration, every piece the real binary: ES2+.ConfirmOrder with
/// `smdsAddress` and the EID on `simforge serve` queues the event, its SM-DS worker registers
/// it over ES12 (DPtls client certificate, the SM-DS's DStls checked against the PKI's CA);
/// the virtual eUICC discovers and installs it, and the installation result has the SM-DP+
/// delete the event.
#[test]
fn confirm_order_with_smds_address_registers_the_event_and_the_install_deletes_it() {
    let lab = Lab::new();
    // The SM-DP+ checks the SM-DS's DStls name: issue it for the address used here.
    lab.ok(&[
        "pki",
        "init",
        "--curve",
        "nist",
        "--fqdn",
        "localhost",
        "--smds-fqdn",
        "localhost",
    ]);
    use std::os::unix::fs::PermissionsExt as _;
    let data = lab.path().join("data");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let dp = DemoServer::start(&lab, 5);
    let pki = dp.demo["euiccPki"].as_str().unwrap().to_owned();
    let smdp_address = dp.listening["smdpAddress"].as_str().unwrap().to_owned();
    let api_key = dp.demo["apiKey"].as_str().unwrap().to_owned();

    let ds_port = free_port();
    let ds_address = format!("localhost:{ds_port}");
    let dptls = Path::new(&pki).join("smdp/dptls.pem");
    let _smds = Server::spawn(
        lab.cmd().args([
            "smds",
            "--pki",
            &pki,
            "--fqdn",
            "localhost",
            "--listen",
            &format!("127.0.0.1:{ds_port}"),
            "--registrant",
            &format!("smdp1={}", dptls.display()),
        ]),
        &lab.path().join("smds.stderr"),
    );
    wait_accepting(ds_port);

    let device = Device::new(&lab, &pki, &ds_address);
    let eid = device.eid.clone();
    let lpa = |args: &[&str]| device.lpa(args);

    // The operator orders for this EID with the SM-DS's address.
    let es2 = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let call = |function: &str, n: u32, body: serde_json::Value| {
        let mut body = body;
        body["header"] = serde_json::json!({"functionRequesterIdentifier": "demo", "functionCallIdentifier": n.to_string()});
        let r = es2
            .post(format!(
                "https://127.0.0.1:{}/gsma/rsp2/es2plus/{function}",
                dp.port
            ))
            .header("Content-Type", "application/json")
            .header("X-Admin-Protocol", "gsma/rsp/v2.2.0")
            .header("X-Api-Key", &api_key)
            .body(body.to_string())
            .send()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
        assert_eq!(
            v["header"]["functionExecutionStatus"]["status"], "Executed-Success",
            "{function}: {v}"
        );
        v
    };
    let iccid = call(
        "downloadOrder",
        1,
        serde_json::json!({"profileType": "demo"}),
    )["iccid"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirmed = call(
        "confirmOrder",
        2,
        serde_json::json!({"iccid": iccid, "eid": eid, "smdsAddress": ds_address, "releaseFlag": true}),
    );
    let matching_id = confirmed["matchingId"].as_str().unwrap().to_owned();

    // The worker registers it (within its poll interval); the eUICC discovers it.
    let until = |what: &str, want: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let v = lpa(&["discover", "--list"]);
            if want(&v) {
                return v;
            }
            if std::time::Instant::now() >= deadline {
                let log = std::fs::read_to_string(&dp.stderr).unwrap_or_default();
                let log: Vec<&str> = log
                    .lines()
                    .filter(|l| l.contains("SM-DS") || l.contains("ES12"))
                    .collect();
                panic!("{what}: {v}\nserve's log:\n{}", log.join("\n"));
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    let listed = until("registered", &|v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    });
    assert_eq!(
        listed,
        serde_json::json!([{"eventId": matching_id, "rspServerAddress": smdp_address}])
    );
    let done = lpa(&["discover", "--smds", &ds_address]);
    assert_eq!(done[0]["installed"]["iccid"], iccid.as_str(), "{done}");
    // Installed: the SM-DP+ deletes its event.
    until("deleted", &|v| v.as_array().is_some_and(Vec::is_empty));

    // `simforge load --discover`: each order made for its eUICC's EID with the SM-DS; each
    // eUICC discovers its event (once the SM-DP+ registered it) and downloads it.
    let key_file = lab.path().join("api-key");
    std::fs::write(&key_file, &api_key).unwrap();
    let out = lab.ok(&[
        "--json",
        "load",
        "--smdp",
        &smdp_address,
        "--pki",
        &pki,
        "--api-key-file",
        key_file.to_str().unwrap(),
        "--profile-type",
        "demo",
        "--downloads",
        "3",
        "--concurrency",
        "2",
        "--discover",
        &ds_address,
        "--strict",
    ]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (r["succeeded"].as_u64(), r["distinctIccids"].as_u64()),
        (Some(3), Some(3)),
        "{r}"
    );

    // The operator sees its SM-DS operations: the first order's register and delete done, the
    // delete scheduled at its expiry superseded.
    let ops: serde_json::Value = serde_json::from_str(
        lab.ok(&["--json", "operator", "smds-events", "demo"])
            .trim(),
    )
    .unwrap();
    let mut first: Vec<(String, String)> = ops
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["eventId"] == matching_id.as_str())
        .map(|o| {
            (
                o["op"].as_str().unwrap().to_owned(),
                o["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    first.sort();
    let want = [
        ("delete", "done"),
        ("delete", "superseded"),
        ("register", "done"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(first, want, "{ops}");
}

/// `serve --with-smds`: the SM-DS in the SM-DP+'s process (a lab's two roles in one), with
/// the SM-DP+'s DPtls as its registrant; an order with an EID and no smdsAddress (nor an
/// operator default) registers its event there, where the eUICC discovers and downloads it.
#[test]
fn serve_with_smds_cohosts_the_smds_and_registers_there_by_default() {
    let lab = Lab::new();
    lab.ok(&[
        "pki",
        "init",
        "--curve",
        "nist",
        "--fqdn",
        "localhost",
        "--smds-fqdn",
        "localhost",
    ]);
    use std::os::unix::fs::PermissionsExt as _;
    let data = lab.path().join("data");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let ds_port = free_port();
    let dp = DemoServer::start_with(&lab, 2, &["--with-smds", &format!("127.0.0.1:{ds_port}")]);
    let ds_address = format!("localhost:{ds_port}");
    assert_eq!(
        dp.listening["smdsAddress"],
        ds_address.as_str(),
        "{}",
        dp.listening
    );
    wait_accepting(ds_port);
    let pki = dp.demo["euiccPki"].as_str().unwrap().to_owned();
    let smdp_address = dp.listening["smdpAddress"].as_str().unwrap().to_owned();
    let api_key = dp.demo["apiKey"].as_str().unwrap().to_owned();

    let device = Device::new(&lab, &pki, &ds_address);
    let eid = device.eid.clone();
    let lpa = |args: &[&str]| device.lpa(args);
    let es2 = common::https(&dp.ca());
    let base = dp.base();
    let call = |function: &str, body: serde_json::Value| {
        let mut body = body;
        body["header"] = serde_json::json!({"functionRequesterIdentifier": "demo", "functionCallIdentifier": function});
        let (status, v) = common::es2_post(&es2, &base, &api_key, function, &body);
        assert_eq!(status, 200, "{function}: {v}");
        assert_eq!(
            v["header"]["functionExecutionStatus"]["status"], "Executed-Success",
            "{function}: {v}"
        );
        v
    };
    let iccid = call("downloadOrder", serde_json::json!({"profileType": "demo"}))["iccid"]
        .as_str()
        .unwrap()
        .to_owned();
    // No smdsAddress, no operator default: the co-hosted SM-DS.
    let confirmed = call(
        "confirmOrder",
        serde_json::json!({"iccid": iccid, "eid": eid, "releaseFlag": true}),
    );
    let matching_id = confirmed["matchingId"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let listed = loop {
        let v = lpa(&["discover", "--list"]);
        if v.as_array().is_some_and(|a| !a.is_empty()) {
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not registered: {}",
            std::fs::read_to_string(&dp.stderr).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(
        listed,
        serde_json::json!([{"eventId": matching_id, "rspServerAddress": smdp_address}])
    );
    let done = lpa(&["discover"]);
    assert_eq!(done[0]["installed"]["iccid"], iccid.as_str(), "{done}");

    // `operator smds-events --requeue`: only a given-up operation goes back (the register
    // here was done; an unknown id is not found, exit 5).
    let ops: serde_json::Value = serde_json::from_str(
        lab.ok(&["--json", "operator", "smds-events", "demo"])
            .trim(),
    )
    .unwrap();
    let register = ops
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["op"] == "register" && o["eventId"] == matching_id.as_str())
        .unwrap();
    assert_eq!(register["state"], "done", "{ops}");
    for id in [register["id"].to_string(), "424242".to_owned()] {
        let o = lab.run(&["operator", "smds-events", "demo", "--requeue", &id]);
        assert_eq!(o.status.code(), Some(5), "{o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("no given-up SM-DS operation"), "{err}");
    }
}

/// ES15 with the real binaries: a root SM-DS (`simforge smds`, knowing the alternative's DStls
/// certificate as a registrant) and an alternative SM-DS (`simforge smds --root`), the SM-DP+
/// (`serve --smds-forwarding`) registering an order's event at the alternative; the event
/// reaches the root pointing at the alternative, `lpa discover` at the root follows it there
/// and downloads it; the installation deletes it at the alternative, which deletes it at the
/// root.
#[test]
fn an_event_registered_at_an_alternative_smds_cascades_to_the_root_and_is_followed() {
    let lab = Lab::new();
    lab.ok(&[
        "pki",
        "init",
        "--curve",
        "nist",
        "--fqdn",
        "localhost",
        "--smds-fqdn",
        "localhost",
    ]);
    use std::os::unix::fs::PermissionsExt as _;
    let data = lab.path().join("data");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let dp = DemoServer::start_with(&lab, 2, &["--smds-forwarding"]);
    let pki = dp.demo["euiccPki"].as_str().unwrap().to_owned();
    let api_key = dp.demo["apiKey"].as_str().unwrap().to_owned();
    let smdp_address = dp.listening["smdpAddress"].as_str().unwrap().to_owned();
    let (root_port, alt_port) = (free_port(), free_port());
    let (root, alt) = (
        format!("localhost:{root_port}"),
        format!("localhost:{alt_port}"),
    );
    let dstls = Path::new(&pki).join("smds/dstls.pem");
    let dptls = Path::new(&pki).join("smdp/dptls.pem");
    let smds = |port: u16, db: &str, extra: &[String]| {
        let mut args: Vec<String> = [
            "smds",
            "--pki",
            &pki,
            "--fqdn",
            "localhost",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            lab.path().join(db).to_str().unwrap(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend_from_slice(extra);
        let server = Server::spawn(
            lab.cmd().args(&args),
            &lab.path().join(format!("{db}.stderr")),
        );
        wait_accepting(port);
        server
    };
    // An SM-DS whose root is itself, or no address, is refused before it listens (exit 3).
    for bad in [root.as_str(), "not an address"] {
        let o = lab.run(&[
            "smds",
            "--pki",
            &pki,
            "--fqdn",
            "localhost",
            "--listen",
            &format!("127.0.0.1:{root_port}"),
            "--memory",
            "--root",
            bad,
        ]);
        assert_eq!(o.status.code(), Some(3), "{bad}: {o:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("root SM-DS"),
            "{o:?}"
        );
    }
    let _root = smds(
        root_port,
        "root.sqlite",
        &[
            "--registrant".into(),
            format!("alt-smds={}", dstls.display()),
        ],
    );
    let _alt = smds(
        alt_port,
        "alt.sqlite",
        &[
            "--registrant".into(),
            format!("smdp1={}", dptls.display()),
            "--root".into(),
            root.clone(),
        ],
    );

    // A virtual eUICC whose root SM-DS is the root.
    let device = Device::new(&lab, &pki, &root);
    let eid = device.eid.clone();
    let lpa = |args: &[&str]| device.lpa(args);
    let es2 = common::https(&dp.ca());
    let base = dp.base();
    let call = |function: &str, body: serde_json::Value| {
        let mut body = body;
        body["header"] = serde_json::json!({"functionRequesterIdentifier": "demo", "functionCallIdentifier": function});
        let (status, v) = common::es2_post(&es2, &base, &api_key, function, &body);
        assert_eq!(status, 200, "{function}: {v}");
        v
    };
    let iccid = call("downloadOrder", serde_json::json!({"profileType": "demo"}))["iccid"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirmed = call(
        "confirmOrder",
        serde_json::json!({"iccid": iccid, "eid": eid, "smdsAddress": alt, "releaseFlag": true}),
    );
    let matching_id = confirmed["matchingId"].as_str().unwrap().to_owned();

    let until = |what: &str, smds: &str, want: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let v = lpa(&["discover", "--list", "--smds", smds]);
            if want(&v) {
                return v;
            }
            let logs: Vec<String> = ["alt.sqlite.stderr", "root.sqlite.stderr"]
                .iter()
                .map(|f| std::fs::read_to_string(lab.path().join(f)).unwrap_or_default())
                .collect();
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: {v}\n{}",
                logs.join("\n")
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    // At the root: the same EventID, pointing at the alternative SM-DS.
    let at_root = until("forwarded to the root", &root, &|v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    });
    assert_eq!(
        at_root,
        serde_json::json!([{"eventId": matching_id, "rspServerAddress": alt}])
    );
    // At the alternative: the SM-DP+.
    let at_alt = lpa(&["discover", "--list", "--smds", &alt]);
    assert_eq!(
        at_alt,
        serde_json::json!([{"eventId": matching_id, "rspServerAddress": smdp_address}])
    );
    // Discovery at the root follows the event to the alternative, then downloads.
    let done = lpa(&["discover"]);
    assert_eq!(done[0]["installed"]["iccid"], iccid.as_str(), "{done}");
    assert_eq!(done[0]["rspServerAddress"], alt.as_str(), "{done}");
    // Installed: deleted at the alternative, then at the root.
    until("deleted at the alternative", &alt, &|v| {
        v.as_array().is_some_and(Vec::is_empty)
    });
    until("deleted at the root", &root, &|v| {
        v.as_array().is_some_and(Vec::is_empty)
    });
    // The alternative's forwards, both done; a done one is not requeued (exit 5).
    let alt_db = lab.path().join("alt.sqlite");
    let alt_db = alt_db.to_str().unwrap();
    let fwd: serde_json::Value = serde_json::from_str(
        lab.ok(&["--json", "smds", "--db", alt_db, "--forwards"])
            .trim(),
    )
    .unwrap();
    let got: Vec<(&str, &str)> = fwd
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["root"], root.as_str(), "{fwd}");
            assert_eq!(f["eventId"], matching_id.as_str(), "{fwd}");
            (f["op"].as_str().unwrap(), f["state"].as_str().unwrap())
        })
        .collect();
    assert_eq!(got, [("delete", "done"), ("register", "done")]);
    let id = fwd[1]["id"].to_string();
    let o = lab.run(&["smds", "--db", alt_db, "--requeue-forward", &id]);
    assert_eq!(o.status.code(), Some(5), "{o:?}");
}
