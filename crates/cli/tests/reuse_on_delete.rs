//! The operator-wide default for what a delete notification does to a profile, through the
//! real binary: `simforge operator update demo --reuse-on-delete` before `simforge serve
//! --demo` imports its profiles without an explicit choice; a profile is downloaded into a
//! virtual eUICC, deleted there (`simforge lpa delete`), the delete notification delivered
//! (`simforge lpa notifications --process`), and the inventory shows it available again.
//! On the way, a download with a wrong confirmation code fails, and the server's JSON log
//! line of that failing call names the profile's ICCID and the operator by name.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{DemoServer, Lab, https};

/// An ES2+ call that must succeed.
fn es2(
    client: &reqwest::blocking::Client,
    base: &str,
    key: &str,
    function: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let (status, v) = common::es2_post(client, base, key, function, body);
    assert_eq!(status, 200, "{function}: {v}");
    assert_eq!(
        v["header"]["functionExecutionStatus"]["status"], "Executed-Success",
        "{function}: {v}"
    );
    v
}

fn inventory(lab: &Lab) -> serde_json::Value {
    serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "demo"]).trim()).unwrap()
}

fn count(inv: &serde_json::Value, state: &str) -> u64 {
    inv[state].as_u64().unwrap_or(0)
}

#[test]
fn operator_default_reuse_on_delete_returns_a_deleted_profile_to_the_inventory() {
    let lab = Lab::new();
    // The operator exists before the demo (which then only adds its profiles) and reuses
    // deleted profiles by default.
    lab.operator("demo");
    let op: serde_json::Value = serde_json::from_str(
        lab.ok(&["--json", "operator", "update", "demo", "--reuse-on-delete"])
            .trim(),
    )
    .unwrap();
    assert_eq!(op["reuse_on_delete"], true, "{op}");
    let o = lab.run(&["operator", "update", "nobody", "--reuse-on-delete"]);
    assert_eq!(o.status.code(), Some(5), "unknown operator: not found");
    let o = lab.run(&[
        "operator",
        "update",
        "demo",
        "--reuse-on-delete",
        "--no-reuse-on-delete",
    ]);
    assert_eq!(o.status.code(), Some(2), "conflicting flags: usage error");

    let started = DemoServer::start(&lab, 2);
    let (demo, stderr_path) = (started.demo.clone(), started.stderr.clone());
    let (ca, base) = (started.ca(), started.base());
    let api_key = demo["apiKey"].as_str().unwrap().to_owned();
    let iccid = demo["iccid"].as_str().unwrap().to_owned();

    let euicc = lab.path().join("euicc.json");
    let (euicc_s, ca_s) = (euicc.to_str().unwrap(), ca.to_str().unwrap());
    lab.ok(&[
        "euicc",
        "init",
        "--pki",
        demo["euiccPki"].as_str().unwrap(),
        "--file",
        euicc_s,
    ]);
    let lpa = |args: &[&str]| {
        let mut all = vec!["--json", "lpa", "--euicc", euicc_s, "--ca", ca_s];
        all.extend_from_slice(args);
        lab.ok(&all)
    };

    // The other profile, ordered with a confirmation code; a wrong code fails the download.
    let client = https(&ca);
    let header = |n: u32| serde_json::json!({"functionRequesterIdentifier": "demo", "functionCallIdentifier": format!("rod-{n}")});
    let order = es2(
        &client,
        &base,
        &api_key,
        "downloadOrder",
        &serde_json::json!({"header": header(1), "profileType": "demo"}),
    );
    let cc_iccid = order["iccid"].as_str().unwrap().to_owned();
    assert_ne!(cc_iccid, iccid);
    let confirmed = es2(
        &client,
        &base,
        &api_key,
        "confirmOrder",
        &serde_json::json!({"header": header(2), "iccid": cc_iccid, "confirmationCode": "1234", "releaseFlag": true}),
    );
    let cc_code = format!(
        "LPA:1${}${}",
        confirmed["smdpAddress"].as_str().unwrap(),
        confirmed["matchingId"].as_str().unwrap()
    );
    let o = lab.run(&[
        "--json",
        "lpa",
        "--euicc",
        euicc_s,
        "--ca",
        ca_s,
        "download",
        &cc_code,
        "--confirmation-code",
        "9999",
    ]);
    assert!(!o.status.success(), "a wrong confirmation code must fail");

    // The demo's released profile (no confirmation code): download, install notification.
    let out = lpa(&["download", demo["activationCode"].as_str().unwrap()]);
    let installed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(installed["iccid"].as_str(), Some(iccid.as_str()));
    lpa(&["notifications", "--process"]);
    let inv = inventory(&lab);
    assert_eq!(count(&inv, "installed"), 1, "{inv}");
    assert_eq!(count(&inv, "available"), 0, "{inv}");

    // Deleted on the eUICC; the delete notification returns it to the inventory.
    lpa(&["delete", &iccid]);
    lpa(&["notifications", "--process"]);
    let inv = inventory(&lab);
    assert_eq!(count(&inv, "installed"), 0, "{inv}");
    assert_eq!(count(&inv, "available"), 1, "{inv}");
    assert_eq!(count(&inv, "unavailable"), 0, "{inv}");
    // The profile is available for a new order.
    let again = es2(
        &client,
        &base,
        &api_key,
        "downloadOrder",
        &serde_json::json!({"header": header(3), "iccid": iccid}),
    );
    assert_eq!(again["iccid"].as_str(), Some(iccid.as_str()));

    // A batch imported with an explicit choice (Unavailable after delete) and for LTE only
    // (`--radio-access`): the LPA's device declares GSM, UTRAN and E-UTRAN, so it is
    // eligible; a 5G-SA-only profile is not (8.2.5 / 4.3).
    let order = lab.write("order-lte.toml", "quantity = 2\nkid = 1\nopid = 1\n");
    let generated: serde_json::Value = serde_json::from_str(
        lab.ok(&[
            "--json",
            "batch",
            "generate",
            "--operator",
            "demo",
            order.to_str().unwrap(),
            "--formats",
            "elec",
            "--quiet",
        ])
        .trim(),
    )
    .unwrap();
    let batch = generated["batch_id"].as_i64().unwrap().to_string();
    let o = lab.run(&[
        "operator",
        "import-profiles",
        "demo",
        "--batch",
        &batch,
        "--radio-access",
        "lte",
    ]);
    assert_eq!(o.status.code(), Some(2), "unknown technology: usage error");
    for (ty, rat, limit) in [("lte", "eutran-epc", "1"), ("sa", "nr5gc,nr-epc", "2")] {
        lab.ok(&[
            "operator",
            "import-profiles",
            "demo",
            "--batch",
            &batch,
            "--profile-type",
            ty,
            "--radio-access",
            rat,
            "--no-reuse-on-delete",
            "--notification-address",
            started.listening["smdpAddress"].as_str().unwrap(),
            "--limit",
            limit,
        ]);
    }
    let mut codes = Vec::new();
    for (n, ty) in [(4, "lte"), (6, "sa")] {
        let order = es2(
            &client,
            &base,
            &api_key,
            "downloadOrder",
            &serde_json::json!({"header": header(n), "profileType": ty}),
        );
        let c = es2(
            &client,
            &base,
            &api_key,
            "confirmOrder",
            &serde_json::json!({"header": header(n + 1), "iccid": order["iccid"], "releaseFlag": true}),
        );
        codes.push((
            order["iccid"].as_str().unwrap().to_owned(),
            format!(
                "LPA:1${}${}",
                c["smdpAddress"].as_str().unwrap(),
                c["matchingId"].as_str().unwrap()
            ),
        ));
    }
    let o = lab.run(&[
        "lpa",
        "--euicc",
        euicc_s,
        "--ca",
        ca_s,
        "download",
        &codes[1].1,
    ]);
    assert!(!o.status.success(), "5G SA profile on an LTE device");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("8.2.5") && err.contains("4.3"), "{err}");
    lpa(&["download", &codes[0].1]);
    lpa(&["notifications", "--process"]);
    lpa(&["delete", &codes[0].0]);
    lpa(&["notifications", "--process"]);
    let inv = inventory(&lab);
    assert_eq!(
        count(&inv, "unavailable"),
        1,
        "explicit --no-reuse-on-delete: {inv}"
    );
    assert_eq!(
        count(&inv, "released"),
        2,
        "the SA profile (and the one with the confirmation code) stay released: {inv}"
    );

    // The failing ES9+ call's log line names the profile and the operator.
    std::thread::sleep(Duration::from_millis(200));
    let log = std::fs::read_to_string(&stderr_path).unwrap();
    let failed: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| {
            l["span"]["name"] == "es9"
                && l["fields"]["message"] == "ES9+ request"
                && l["fields"]["result"] == "8.2.7/3.8"
        })
        .collect();
    assert_eq!(failed.len(), 1, "one refused confirmation code:\n{log}");
    let l = &failed[0];
    assert_eq!(l["span"]["function"], "getBoundProfilePackage", "{l}");
    assert_eq!(l["span"]["iccid"].as_str(), Some(cc_iccid.as_str()), "{l}");
    assert_eq!(l["span"]["operator"], "demo", "{l}");

    // SIGTERM (how a service manager stops it): the server syncs and exits cleanly.
    let mut started = started;
    let pid = started.server.child.id().to_string();
    assert!(
        // The shell's kill (a builtin: no procps needed).
        std::process::Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = started.server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("stopping (SIGTERM)"), "{log}");
}
