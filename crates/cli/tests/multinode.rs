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

/// An operator's ES2+ endpoint for HandleDownloadProgressInfo (axum, on a runtime of its
/// own): records the outbox id of every request (from its functionCallIdentifier
/// `simforge-hdpi-<id>`) in arrival order and answers Executed-Success, except the `hold`-th
/// distinct event, which it receives and never answers (the node that sent it is then killed
/// mid-POST).
struct Endpoint {
    port: u16,
    state: std::sync::Arc<std::sync::Mutex<Received>>,
    _rt: tokio::runtime::Runtime,
}

#[derive(Default)]
struct Received {
    arrivals: Vec<i64>,
    hold: Option<usize>,
    /// The held event and the sender's TCP port.
    held: Option<(i64, u16)>,
}

impl Endpoint {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = std::sync::Arc::<std::sync::Mutex<Received>>::default();
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        rt.spawn(async move { axum::serve(listener, app).await });
        Self {
            port,
            state,
            _rt: rt,
        }
    }

    fn snapshot(&self) -> (Vec<i64>, Option<(i64, u16)>) {
        let s = self.state.lock().unwrap();
        (s.arrivals.clone(), s.held)
    }
}

/// One HandleDownloadProgressInfo: recorded; held forever if it is the one to hold.
async fn receive(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<std::sync::Mutex<Received>>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    body: axum::body::Bytes,
) -> ([(&'static str, &'static str); 1], &'static str) {
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let id: i64 = body["header"]["functionCallIdentifier"]
        .as_str()
        .and_then(|c| c.strip_prefix("simforge-hdpi-"))
        .and_then(|n| n.parse().ok())
        .expect("a functionCallIdentifier simforge-hdpi-<outbox id>");
    let hold = {
        let mut s = state.lock().unwrap();
        let new = !s.arrivals.contains(&id);
        s.arrivals.push(id);
        let distinct = s
            .arrivals
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let hold = new && s.held.is_none() && s.hold == Some(distinct);
        if hold {
            s.held = Some((id, peer.port()));
        }
        hold
    };
    if hold {
        // Received, never answered (dropped when the sender is gone).
        std::future::pending::<()>().await;
    }
    (
        [("content-type", "application/json;charset=UTF-8")],
        r#"{"header":{"functionExecutionStatus":{"status":"Executed-Success"}}}"#,
    )
}

/// The process among `pids` holding the TCP connection from 127.0.0.1:`local` to port
/// `remote` (read from /proc/net/tcp and each process's descriptors).
fn owner_of_connection(local: u16, remote: u16, pids: &[u32]) -> Option<u32> {
    let tcp = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port = |field: &str| {
        field
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    let inode = tcp.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 9 && port(f[1]) == Some(local) && port(f[2]) == Some(remote))
            .then(|| f[9].to_owned())
    })?;
    let socket = format!("socket:[{inode}]");
    pids.iter().copied().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.filter_map(Result::ok)
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .any(|t| t.to_str() == Some(socket.as_str()))
        })
    })
}

/// Issue 13: three nodes deliver one operator's ES2+ callbacks from one outbox; the node
/// sending an event is killed (SIGKILL) after the operator received it and before it was
/// marked delivered. Every event reaches the operator, in the outbox's order, each exactly
/// once except the one in flight at the kill, which another node sends again once the dead
/// node's lease ran out, with the same functionCallIdentifier (the operator's duplicate to
/// drop; nothing else is ever sent twice, and no two nodes send at the same time).
#[cfg(target_os = "linux")]
#[test]
fn outbox_delivers_every_event_once_in_order_with_one_node_killed() {
    let Some(pg) = Postgres::start("outbox_with_one_node_killed") else {
        return;
    };
    let url = pg.url();
    let lab = Lab::new();
    let ports = [free_port(), free_port(), free_port()];
    let timing = [
        "--callback-timeout-secs",
        "4",
        "--callback-lease-secs",
        "12",
    ];
    let mut first_args = vec!["--demo", "--demo-profiles", "31"];
    first_args.extend(timing);
    let (n0, first) = node(&lab, &url, ports[0], ports[0], &first_args);
    let (n1, _) = node(&lab, &url, ports[1], ports[0], &timing);
    let (n2, _) = node(&lab, &url, ports[2], ports[0], &timing);
    let mut nodes = [Some(n0), Some(n1), Some(n2)];
    let key_file = lab.path().join("api-key");
    std::fs::write(&key_file, first["demo"]["apiKey"].as_str().unwrap()).unwrap();
    let smdp = format!("localhost:{}", ports[0]);
    let all: Vec<String> = ports.iter().map(|p| format!("localhost:{p}")).collect();

    // 30 downloads, their calls spread over the three nodes; the operator has no endpoint
    // yet, so their events wait in the outbox.
    let orders = [
        "--api-key-file",
        key_file.to_str().unwrap(),
        "--operator",
        "demo",
        "--profile-type",
        "demo",
        "--downloads",
        "30",
    ];
    let args = load_args(&smdp, &all, &first["listening"], &orders);
    let out = lab.cmd().args(&args).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["succeeded"], 30, "{r}");
    let count = |sql: &str| -> i64 { pg.query(sql).trim().parse().unwrap() };
    let pending =
        "SELECT count(*) FROM rsp_events WHERE delivered_at IS NULL AND failed_at IS NULL";
    let waiting = count(pending);
    assert!(waiting > 60, "events of 30 downloads wait: {waiting}");

    // The endpoint is set: the nodes deliver; the 10th event is held and its sender killed.
    let endpoint = Endpoint::start();
    endpoint.state.lock().unwrap().hold = Some(10);
    let cb = format!("http://127.0.0.1:{}/es2plus", endpoint.port);
    let out = lab
        .cmd()
        .env("SIMFORGE_DATABASE_URL", &url)
        .args(["operator", "callback", "demo", "--url", &cb])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let (held, sender_port) = loop {
        if let (_, Some(h)) = endpoint.snapshot() {
            break h;
        }
        assert!(Instant::now() < deadline, "no event reached the endpoint");
        std::thread::sleep(Duration::from_millis(5));
    };
    let pids: Vec<u32> = nodes
        .iter()
        .map(|n| n.as_ref().unwrap().child.id())
        .collect();
    let sender = owner_of_connection(sender_port, endpoint.port, &pids)
        .expect("the node that sent the held event");
    let victim = pids.iter().position(|p| *p == sender).unwrap();
    let mut killed = nodes[victim].take().unwrap();
    killed.child.kill().unwrap(); // SIGKILL, mid-POST
    let _ = killed.child.wait();

    // The two nodes left deliver everything, the held event first once the lease ran out.
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(pending) > 0 {
        assert!(Instant::now() < deadline, "the outbox never drained");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (arrivals, _) = endpoint.snapshot();
    let failed = count("SELECT count(*) FROM rsp_events WHERE failed_at IS NOT NULL");
    assert_eq!(failed, 0, "nothing given up");
    let delivered: Vec<i64> = pg
        .query(
            "SELECT id FROM rsp_events WHERE delivered_at IS NOT NULL AND attempts > 0 ORDER BY id",
        )
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    // In order: each event first arrives after every event recorded before it.
    let mut firsts = Vec::new();
    for id in &arrivals {
        if !firsts.contains(id) {
            firsts.push(*id);
        }
    }
    assert_eq!(
        firsts, delivered,
        "every delivered event reached the operator, in the outbox's order"
    );
    // Once, but for the one in flight at the kill: sent again (same functionCallIdentifier),
    // right after its first arrival, by a node left.
    let twice: Vec<i64> = firsts
        .iter()
        .copied()
        .filter(|id| arrivals.iter().filter(|a| *a == id).count() > 1)
        .collect();
    assert_eq!(
        twice,
        vec![held],
        "only the event in flight at the kill came twice"
    );
    assert_eq!(arrivals.iter().filter(|a| **a == held).count(), 2);
    let at = arrivals.iter().position(|a| *a == held).unwrap();
    assert_eq!(
        arrivals[at + 1],
        held,
        "the held event was the next one sent"
    );
    assert_eq!(arrivals.len(), delivered.len() + 1);
    eprintln!(
        "outbox: {} events delivered by 3 nodes, node {victim} killed holding event {held}; {} POSTs received",
        delivered.len(),
        arrivals.len()
    );
    for n in nodes.iter_mut().flatten() {
        assert!(
            n.child.try_wait().unwrap().is_none(),
            "the other nodes still run"
        );
    }
}

/// Issue 13: key rotation on a running cluster. A new PKI (new CI, DPauth, DPpb, DPtls) is
/// put in the shared PKI directory; `simforge pki reload` moves the cluster's key generation;
/// both nodes take the new keys into use without a restart or a signal: new TLS handshakes
/// on each present the new DPtls, and an eUICC of the new CI downloads a profile whose calls
/// hop across both nodes.
#[test]
fn pki_reload_takes_new_keys_into_use_on_every_node() {
    let Some(pg) = Postgres::start("pki_reload_on_every_node") else {
        return;
    };
    let url = pg.url();
    let lab = Lab::new();
    let ports = [free_port(), free_port()];
    let poll = ["--key-poll-secs", "1"];
    let mut first_args = vec!["--demo", "--demo-profiles", "3"];
    first_args.extend(poll);
    let (n0, first) = node(&lab, &url, ports[0], ports[0], &first_args);
    let (n1, _) = node(&lab, &url, ports[1], ports[0], &poll);
    let pki = lab.path().join("data/pki");
    let old_leaf = std::fs::read(pki.join("nist/smdp/dptls.der")).unwrap();
    for p in ports {
        assert_eq!(common::served_leaf(p), old_leaf);
    }

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
    let out = lab
        .cmd()
        .env("SIMFORGE_DATABASE_URL", &url)
        .args(["--json", "pki", "reload"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["generation"], 1, "{v}");
    // A PKI directory that does not load moves nothing.
    let broken = lab.path().join("broken-pki");
    std::fs::create_dir_all(broken.join("nist/smdp")).unwrap();
    let out = lab
        .cmd()
        .env("SIMFORGE_DATABASE_URL", &url)
        .args(["--json", "pki", "reload", "--dir", broken.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        pg.query("SELECT value FROM cluster_state WHERE name = 'keys'")
            .trim(),
        "1"
    );
    for p in ports {
        let deadline = Instant::now() + Duration::from_secs(30);
        while common::served_leaf(p) != new_leaf {
            assert!(Instant::now() < deadline, "node on {p} never reloaded");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // An eUICC of the new PKI (it trusts only the new CI) downloads through both nodes.
    let key_file = lab.path().join("api-key");
    std::fs::write(&key_file, first["demo"]["apiKey"].as_str().unwrap()).unwrap();
    let smdp = format!("localhost:{}", ports[0]);
    let both: Vec<String> = ports.iter().map(|p| format!("localhost:{p}")).collect();
    let mut listening = first["listening"].clone();
    listening["pki"] = serde_json::Value::String(pki.to_str().unwrap().to_owned());
    listening["ca"] =
        serde_json::Value::String(pki.join("nist/ci/ci.pem").to_str().unwrap().to_owned());
    let orders = [
        "--api-key-file",
        key_file.to_str().unwrap(),
        "--operator",
        "demo",
        "--profile-type",
        "demo",
        "--downloads",
        "2",
    ];
    let args = load_args(&smdp, &both, &listening, &orders);
    let out = lab.cmd().args(&args).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(
        r["succeeded"],
        2,
        "{r} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop((n0, n1));
}
