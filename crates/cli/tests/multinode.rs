//! Several `simforge serve` nodes on one real PostgreSQL (a private server): the load
//! generator sends each ES9+ call of a download to the next node (`load --node`), so every
//! download hops across nodes; one node is killed with SIGKILL mid-run. No profile is issued
//! twice, none is lost, and the ones still available download through the nodes left.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::{Duration, Instant};

use common::{Lab, Server, free_port};
use simforge_testkit::postgres::Postgres;

/// A node on `url` listening on `port`, serving the SM-DP+ address `localhost:<public>`.
fn node(
    lab: &Lab,
    url: &str,
    port: u16,
    public: u16,
    extra: &[&str],
) -> (Server, serde_json::Value) {
    let stderr = lab.path().join(format!("node-{port}.stderr"));
    let listen = format!("127.0.0.1:{port}");
    let public = public.to_string();
    let mut args = vec![
        "--json",
        "serve",
        "--listen",
        &listen,
        "--public-port",
        &public,
        "--no-admin",
    ];
    args.extend_from_slice(extra);
    let mut server = Server::spawn(
        lab.cmd().env("SIMFORGE_DATABASE_URL", url).args(&args),
        &stderr,
    );
    let demo = if extra.contains(&"--demo") {
        server.json_with("demo", &stderr)["demo"].clone()
    } else {
        serde_json::Value::Null
    };
    let listening = server.json_with("listening", &stderr);
    common::wait_accepting(port);
    assert_eq!(listening["smdpAddress"], format!("localhost:{public}"));
    (
        server,
        serde_json::json!({"demo": demo, "listening": listening}),
    )
}

/// `simforge load` arguments: `orders` (ES2+ by profile type, or `--activation-codes F`),
/// the ES9+ calls spread over `nodes`.
fn load_args(
    smdp: &str,
    nodes: &[String],
    listening: &serde_json::Value,
    orders: &[&str],
) -> Vec<String> {
    let mut a: Vec<String> = [
        "--json",
        "load",
        "--smdp",
        smdp,
        "--ca",
        listening["ca"].as_str().unwrap(),
        "--pki",
        listening["pki"].as_str().unwrap(),
        "--concurrency",
        "8",
    ]
    .iter()
    .chain(orders)
    .map(|s| (*s).to_owned())
    .collect();
    for n in nodes {
        a.push("--node".into());
        a.push(n.clone());
    }
    a
}

fn total(v: &serde_json::Value) -> u64 {
    v.as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

#[cfg(unix)]
#[test]
fn three_nodes_on_one_postgres_issue_each_profile_once_with_one_killed() {
    let Some(pg) = Postgres::start("three_nodes_on_one_postgres") else {
        return;
    };
    let url = pg.url();
    let lab = Lab::new();
    let ports = [free_port(), free_port(), free_port()];
    let public = ports[0];
    // Node 0 makes the demo (operator, batch of 121 profiles, one released, API key); the
    // others share its data directory (master key, PKI) and database.
    let (n0, first) = node(
        &lab,
        &url,
        ports[0],
        public,
        &["--demo", "--demo-profiles", "121"],
    );
    let (n1, _) = node(&lab, &url, ports[1], public, &[]);
    let (mut n2, _) = node(&lab, &url, ports[2], public, &[]);
    let key_file = lab.path().join("api-key");
    std::fs::write(&key_file, first["demo"]["apiKey"].as_str().unwrap()).unwrap();
    let key_file = key_file.to_str().unwrap().to_owned();
    let smdp = format!("localhost:{public}");
    let all: Vec<String> = ports.iter().map(|p| format!("localhost:{p}")).collect();
    let inventory = || -> serde_json::Value {
        let out = lab
            .cmd()
            .env("SIMFORGE_DATABASE_URL", &url)
            .args(["--json", "operator", "inventory", "demo"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    // A run across the three nodes, ordering 60 of the 120 available profiles; node 2
    // killed once 15 are installed.
    let events = lab.path().join("events.jsonl");
    let events_s = events.to_str().unwrap().to_owned();
    let by_type = [
        "--api-key-file",
        key_file.as_str(),
        "--operator",
        "demo",
        "--profile-type",
        "demo",
    ];
    let mut orders = by_type.to_vec();
    orders.extend(["--downloads", "60", "--event-log", events_s.as_str()]);
    let args = load_args(&smdp, &all, &first["listening"], &orders);
    let run = lab
        .cmd()
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while inventory()["installed"].as_u64().unwrap_or(0) < 15 {
        assert!(Instant::now() < deadline, "no downloads completed");
        std::thread::sleep(Duration::from_millis(20));
    }
    n2.child.kill().unwrap(); // SIGKILL
    let _ = n2.child.wait();
    let out = run.wait_with_output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ok = r["succeeded"].as_u64().unwrap();
    assert!(ok >= 15, "{r}");
    assert!(
        r["failed"].as_u64().unwrap() > 0,
        "node 2 was killed mid-run: {r}"
    );
    assert_eq!(
        r["distinctIccids"].as_u64(),
        Some(ok),
        "no profile issued twice: {r}"
    );
    let mid = inventory();
    let get = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
    assert_eq!(
        total(&mid),
        121,
        "nothing lost or doubled by the kill: {mid}"
    );
    // A download whose install notification went to the killed node stays Downloaded.
    assert_eq!(
        get(&mid, "installed") + get(&mid, "downloaded"),
        ok,
        "{mid}"
    );
    assert_eq!(get(&mid, "available"), 60, "{mid}");

    // The profiles never ordered download through the two nodes left…
    let two = &all[..2];
    let mut orders = by_type.to_vec();
    orders.extend(["--downloads", "70"]);
    let args = load_args(&smdp, two, &first["listening"], &orders);
    let out = lab.cmd().args(&args).output().unwrap();
    let r2: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r2["succeeded"].as_u64(), Some(60), "{r2}");
    assert_eq!(r2["distinctIccids"].as_u64(), Some(60), "{r2}");
    // … and so do the ones whose download broke off before a profile was bound (their
    // order still stands: released, with the same activation code).
    let released = get(&mid, "released");
    let failed_ids: std::collections::BTreeSet<String> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["step"] == "download" && v["ok"] == false)
        .filter_map(|v| v["matchingId"].as_str().map(str::to_owned))
        .collect();
    let codes: String = failed_ids
        .iter()
        .map(|m| format!("LPA:1${smdp}${m}\n"))
        .collect();
    let codes_file = lab.path().join("codes.txt");
    std::fs::write(&codes_file, codes).unwrap();
    let codes_s = codes_file.to_str().unwrap();
    let args = load_args(
        &smdp,
        two,
        &first["listening"],
        &["--activation-codes", codes_s],
    );
    let out = lab.cmd().args(&args).output().unwrap();
    let r3: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every released one but the demo's own (its code is not in the event log); the ones
    // cancelled after a profile was bound are in Error (the operator's CancelSession policy)
    // and refused.
    assert_eq!(r3["succeeded"].as_u64(), Some(released - 1), "{r3} {mid}");
    let after = inventory();
    assert_eq!(get(&after, "available"), 0, "{after}");
    assert_eq!(get(&after, "released"), 1, "{after}");
    assert_eq!(get(&after, "error"), get(&mid, "error"), "{after}");
    assert_eq!(total(&after), 121, "{after}");
    drop((n0, n1));
}

/// Two nodes: 1,000 downloads of 500 profiles, each call to the next node → exactly 500
/// distinct ICCIDs issued, the other 500 orders refused (no more profiles).
#[test]
fn two_nodes_a_thousand_downloads_of_500_profiles_issue_each_once() {
    let Some(pg) = Postgres::start("two_nodes_a_thousand_downloads") else {
        return;
    };
    let url = pg.url();
    let lab = Lab::new();
    let ports = [free_port(), free_port()];
    let (n0, first) = node(
        &lab,
        &url,
        ports[0],
        ports[0],
        &["--demo", "--demo-profiles", "501"],
    );
    let (n1, _) = node(&lab, &url, ports[1], ports[0], &[]);
    let key_file = lab.path().join("api-key");
    std::fs::write(&key_file, first["demo"]["apiKey"].as_str().unwrap()).unwrap();
    let smdp = format!("localhost:{}", ports[0]);
    let both: Vec<String> = ports.iter().map(|p| format!("localhost:{p}")).collect();
    let orders = [
        "--api-key-file",
        key_file.to_str().unwrap(),
        "--operator",
        "demo",
        "--profile-type",
        "demo",
        "--downloads",
        "1000",
    ];
    let args = load_args(&smdp, &both, &first["listening"], &orders);
    let out = lab.cmd().args(&args).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["succeeded"], 500, "{r}");
    assert_eq!(r["distinctIccids"], 500, "no profile issued twice: {r}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "only one kind of failure: {r}");
    assert_eq!(errors[0]["code"], "8.2.5/3.7", "no more profiles: {r}");
    drop((n0, n1));
}
