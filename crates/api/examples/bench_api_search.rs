//! The operator API's inventory search over real HTTP (BENCHMARKS.md, "eSIM inventory search
//! over the operator API"): fills a SQLite store with 1,000,000 profiles of tenant `a` and
//! 10,000 of tenant `b` (both created by `simforge_factory::operators::create`, as
//! `simforge operator create` does; the fill and the search shapes are
//! `simforge_store::bench`, the same as the store-level `bench_search`), serves
//! `simforge_api::serve` on 127.0.0.1 (its own 2-thread runtime) and times, with a keep-alive
//! HTTP client and a viewer API token of each tenant (so the token lookup, the tenant check
//! and the audit-free GET path are all in):
//!
//! 1. the shapes through `simforge_smdp::Inventory` directly (the store's figures, for the
//!    API's overhead),
//! 2. as many calls of each shape (other random arguments) over HTTP, one at a time,
//! 3. the same number of calls from `--clients` concurrent clients (8 by default),
//! 4. the pieces of the API's path (the token and tenant lookups alone, `GET /me`),
//! 5. with `--writes N`: step 2 again (other arguments) while the SM-DP+ commits N transactions a second (as
//!    ES9+ does; one event each, on tenant `b`'s first profile, kept in the database).
//!
//! ```text
//! cargo run --workspace --all-features --example bench_api_search -- [--profiles N] [--other N] [--searches N] [--clients N] [--writes N] [--db PATH] [--quick]
//! ```
//! `--quick`: 10,000 + 1,000 profiles, 400 searches. `--db PATH`: keep the database there
//! (reused by a later run with the same PATH: no second fill; not the store benchmark's file,
//! whose operators are not tenants `a` and `b`). The store runs with the `serve` default
//! durability (`SIMFORGE_DB_SYNCHRONOUS`, `full` unless set). Not part of the test suite.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark prints its results

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use simforge_access::Role;
use simforge_api::{Api, ApiConfig};
use simforge_audit::Actor;
use simforge_smdp::{OperatorId, SmdpStore as _, SmdpTx as _};
use simforge_store::bench::{self, Query, Res, Rng, ms, percentile};
use simforge_store::{Operator, Store};
use simforge_vault::{MasterKey, Vault};

struct Args {
    profiles: u64,
    other: u64,
    searches: usize,
    clients: usize,
    writes: u64,
    db: Option<PathBuf>,
}

fn args() -> Res<Args> {
    let mut a = Args {
        profiles: 1_000_000,
        other: 10_000,
        searches: 2_000,
        clients: 8,
        writes: 0,
        db: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg}: value missing"));
        match arg.as_str() {
            "--profiles" => a.profiles = value()?.parse()?,
            "--other" => a.other = value()?.parse()?,
            "--searches" => a.searches = value()?.parse()?,
            "--clients" => a.clients = value()?.parse::<usize>()?.max(1),
            "--writes" => a.writes = value()?.parse()?,
            "--db" => a.db = Some(value()?.into()),
            "--quick" => {
                a.profiles = 10_000;
                a.other = 1_000;
                a.searches = 400;
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(a)
}

/// Tenant `name`, created as `simforge operator create` does (audited), or found.
async fn tenant(store: &Store, name: &str) -> Res<Operator> {
    if let Ok(op) = store.operator(name).await {
        return Ok(op);
    }
    Ok(simforge_factory::operators::create(
        store,
        &Actor::system(),
        simforge_factory::operators::NewOperatorRequest {
            name: name.into(),
            mcc: "001".into(),
            mnc: "01".into(),
            iccid_prefix: "894944".into(),
            iccid_len: 19,
            spn: format!("Tenant {name}"),
            out_columns: None,
            reuse_on_delete: false,
        },
    )
    .await?)
}

/// A tenant as the HTTP client sees it: its name in the path and a token of its own.
#[derive(Clone)]
struct Door {
    id: OperatorId,
    name: String,
    auth: String,
}

/// What the clients share.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    doors: Arc<Vec<Door>>,
}

impl Client {
    /// One call over HTTP: the rows of its answer and its latency (request sent to the
    /// whole body received; the JSON is decoded after the clock stops).
    async fn call(&self, q: &Query) -> Res<(usize, Duration)> {
        let op = match q {
            Query::Search(f) => f.operator,
            Query::History(op, _) => *op,
        };
        let door = self
            .doors
            .iter()
            .find(|d| d.id == op)
            .ok_or("no tenant for the operator")?;
        let mut params: Vec<(&str, String)> = Vec::new();
        let url = match q {
            Query::Search(f) => {
                if let Some(s) = f.state {
                    params.push(("state", s.as_str().to_owned()));
                }
                if let Some(t) = &f.profile_type {
                    params.push(("profile_type", t.clone()));
                }
                if let Some(e) = &f.eid {
                    params.push(("eid", e.to_string()));
                }
                if let Some(m) = &f.matching_id {
                    params.push(("matching_id", m.to_string()));
                }
                if let Some(p) = &f.iccid_prefix {
                    params.push(("iccid", p.as_str().to_owned()));
                }
                if let Some(a) = &f.after {
                    params.push(("after", a.to_string()));
                }
                if let Some(t) = f.updated_from {
                    params.push(("updated_from", simforge_factory::clock::rfc3339(t)));
                }
                if let Some(t) = f.updated_until {
                    params.push(("updated_until", simforge_factory::clock::rfc3339(t)));
                }
                params.push(("limit", f.limit().to_string()));
                format!("{}/api/v1/tenants/{}/profiles", self.base, door.name)
            }
            Query::History(_, i) => {
                params.push(("limit", "100".into()));
                format!(
                    "{}/api/v1/tenants/{}/profiles/{i}/history",
                    self.base, door.name
                )
            }
        };
        let t = Instant::now();
        let r = self
            .http
            .get(url)
            .query(&params)
            .header(reqwest::header::AUTHORIZATION, &door.auth)
            .send()
            .await?;
        let status = r.status();
        let body = r.bytes().await?;
        let took = t.elapsed();
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)).into());
        }
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let rows = match q {
            Query::Search(_) => v["profiles"].as_array().map_or(0, Vec::len),
            Query::History(..) => v.as_array().map_or(0, Vec::len),
        };
        Ok((rows, took))
    }
}

impl Client {
    /// A GET of `path` with tenant `a`'s token: its latency (the route's own answer checked).
    async fn get(&self, path: &str) -> Res<Duration> {
        let auth = &self.doors.first().ok_or("no tenant")?.auth;
        let t = Instant::now();
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, auth)
            .send()
            .await?;
        let status = r.status();
        let body = r.bytes().await?;
        let took = t.elapsed();
        if !status.is_success() {
            return Err(
                format!("{path}: HTTP {status}: {}", String::from_utf8_lossy(&body)).into(),
            );
        }
        Ok(took)
    }
}

/// Latencies of one shape.
#[derive(Default)]
struct Stats {
    times: Vec<Duration>,
    rows: usize,
}

impl Stats {
    fn add(&mut self, rows: usize, d: Duration) {
        self.rows += rows;
        self.times.push(d);
    }
    fn sorted(mut self) -> Self {
        self.times.sort();
        self
    }
    fn p(&self, q: f64) -> f64 {
        ms(percentile(&self.times, q))
    }
    fn max(&self) -> f64 {
        ms(self.times.last().copied().unwrap_or_default())
    }
    fn per_call(&self) -> f64 {
        self.rows as f64 / self.times.len().max(1) as f64
    }
}

/// CPU time from Linux's `/proc` (`None` elsewhere), in clock ticks (USER_HZ, 100 a second):
/// the whole process's, and its main thread's (where the HTTP clients run).
#[derive(Clone, Copy)]
struct Cpu {
    process: u64,
    main: u64,
}

impl Cpu {
    fn now() -> Option<Self> {
        fn ticks(path: &str) -> Option<u64> {
            let stat = std::fs::read_to_string(path).ok()?;
            // After "pid (comm)": state is field 3, utime 14, stime 15.
            let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        }
        Some(Self {
            process: ticks("/proc/self/stat")?,
            main: ticks(&format!("/proc/self/task/{}/stat", std::process::id()))?,
        })
    }
}

/// CPU per call between two samples, in µs: the process's, and all but the main thread's
/// (with the clients on the main thread: the server's — its runtime and blocking pool,
/// SQLite's worker threads).
fn cpu_per_call(from: Option<Cpu>, to: Option<Cpu>, calls: usize) -> Option<(f64, f64)> {
    let (a, b) = (from?, to?);
    let us = |ticks: u64| ticks as f64 * 10_000.0 / calls.max(1) as f64;
    Some((
        us(b.process.saturating_sub(a.process)),
        us((b.process - b.main).saturating_sub(a.process - a.main)),
    ))
}

/// The server's CPU per call, for printing.
fn server_cpu(c: Option<(f64, f64)>) -> String {
    c.map_or("n/a".into(), |(process, server)| {
        format!("{server:.0} µs (the whole process, clients included: {process:.0} µs)")
    })
}

/// The calls of a run: `per_shape` of each shape, arguments from `seed`.
fn plan(shapes: &[bench::Shape], per_shape: usize, seed: u64) -> Res<Vec<Vec<Query>>> {
    let mut rng = Rng(seed);
    shapes
        .iter()
        .map(|(_, make)| (0..per_shape).map(|_| make(&mut rng)).collect())
        .collect()
}

fn main() -> Res<()> {
    let a = args()?;
    // The server (and the store) on a runtime of their own, 2 threads as `serve` on this
    // machine; the clients on the main thread's.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("api")
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let dir = tempfile::tempdir()?;
    let path =
        a.db.clone()
            .unwrap_or_else(|| dir.path().join("simforge.sqlite"));
    let fresh = !path.exists();
    let (store, api, doors) = server_rt.block_on(async {
        let store = Store::open_sqlite(&path).await?;
        let (ta, tb) = (tenant(&store, "a").await?, tenant(&store, "b").await?);
        if fresh {
            let t = Instant::now();
            bench::fill(&store, ta.id, tb.id, a.profiles, a.other).await?;
            eprintln!("filled in {:.1} s", t.elapsed().as_secs_f64());
        } else {
            bench::warm_page_cache(&path)?;
        }
        let vault: Arc<dyn Vault> = Arc::new(MasterKey::from_bytes([7; 32]));
        let api = Api::new(
            store.clone(),
            vault,
            ApiConfig {
                keys: None,
                data_dir: dir.path().to_owned(),
                threads: 1,
                smdp_address: None,
                secure_cookies: false,
                smdp: None,
                trusted_proxies: simforge_server::TrustedProxies::default(),
            },
        );
        let now = api.now();
        let mut doors = Vec::new();
        for t in [&ta, &tb] {
            let (_, secret) = api
                .access
                .create_token(
                    &Actor::system(),
                    Some(t.id),
                    Role::Viewer,
                    "bench",
                    now + 3600,
                    now,
                    &mut rand_core::OsRng,
                )
                .await?;
            doors.push(Door {
                id: t.id,
                name: t.name.clone(),
                auth: format!("Bearer {}", secret.expose()),
            });
        }
        Res::Ok((store, api, doors))
    })?;
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let size = std::fs::metadata(&path)?.len() + std::fs::metadata(&wal).map_or(0, |m| m.len());
    println!(
        "database: {} ({:.0} MB), {} + {} profiles, synchronous {}",
        path.display(),
        size as f64 / 1e6,
        a.profiles,
        a.other,
        std::env::var("SIMFORGE_DB_SYNCHRONOUS").unwrap_or_else(|_| "full (default)".into()),
    );
    let (big, small) = (doors[0].id, doors[1].id);
    let shapes = bench::shapes(big, small, a.profiles);
    let per_shape = a.searches.div_ceil(shapes.len());

    // 1. The store, directly (what `bench_search` measures), on the server's runtime. Each
    //    pass has arguments of its own (a pass over the same ones would find their pages in
    //    SQLite's cache).
    let calls = plan(&shapes, per_shape, 7)?;
    let (store_stats, store_cpu) = server_rt.block_on(async {
        let mut warm = Rng(1);
        for (_, make) in &shapes {
            for _ in 0..5 {
                make(&mut warm)?.run(&store).await?;
            }
        }
        let cpu = Cpu::now();
        let mut out = Vec::new();
        for qs in &calls {
            let mut s = Stats::default();
            for q in qs {
                let t = Instant::now();
                let rows = q.run(&store).await?;
                s.add(rows, t.elapsed());
            }
            out.push(s.sorted());
        }
        Res::Ok((
            out,
            cpu_per_call(cpu, Cpu::now(), calls.iter().map(Vec::len).sum()),
        ))
    })?;

    // The API on a real socket.
    let listener = server_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr: SocketAddr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let api2 = api.clone();
    let server = server_rt.spawn(simforge_api::serve(
        listener,
        api,
        axum::Router::new(),
        async {
            let _ = stopped.await;
        },
    ));
    let client = Client {
        http: reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(a.clients.max(8))
            .tcp_nodelay(true)
            .build()?,
        base: format!("http://{addr}"),
        doors: Arc::new(doors),
    };

    // 2. As many calls over HTTP, one at a time.
    let calls = plan(&shapes, per_shape, 8)?;
    let (http_stats, http_cpu) = client_rt.block_on(async {
        let mut warm = Rng(1);
        for (_, make) in &shapes {
            for _ in 0..5 {
                client.call(&make(&mut warm)?).await?;
            }
        }
        let cpu = Cpu::now();
        let mut out = Vec::new();
        for qs in &calls {
            let mut s = Stats::default();
            for q in qs {
                let (rows, d) = client.call(q).await?;
                s.add(rows, d);
            }
            out.push(s.sorted());
        }
        Res::Ok((
            out,
            cpu_per_call(cpu, Cpu::now(), calls.iter().map(Vec::len).sum()),
        ))
    })?;

    println!(
        "\n{:<28} {:>6} {:>7} | {:>21} | {:>29} | {:>9}",
        "", "", "", "store (Inventory)", "HTTP, sequential", "API adds"
    );
    println!(
        "{:<28} {:>6} {:>7} | {:>10} {:>10} | {:>9} {:>9} {:>9} | {:>9}",
        "shape", "calls", "rows", "p50 ms", "p99 ms", "p50 ms", "p99 ms", "max ms", "p50 ms"
    );
    let mut store_all = Stats::default();
    let mut http_all = Stats::default();
    for (((name, _), s), h) in shapes.iter().zip(&store_stats).zip(&http_stats) {
        println!(
            "{:<28} {:>6} {:>7.1} | {:>10.2} {:>10.2} | {:>9.2} {:>9.2} {:>9.2} | {:>9.2}",
            name,
            h.times.len(),
            h.per_call(),
            s.p(0.5),
            s.p(0.99),
            h.p(0.5),
            h.p(0.99),
            h.max(),
            h.p(0.5) - s.p(0.5),
        );
        store_all.times.extend(&s.times);
        http_all.times.extend(&h.times);
    }
    let (store_all, http_all) = (store_all.sorted(), http_all.sorted());
    println!(
        "{:<28} {:>6} {:>7} | {:>10.2} {:>10.2} | {:>9.2} {:>9.2} {:>9.2} | {:>9.2}",
        "all",
        http_all.times.len(),
        "",
        store_all.p(0.5),
        store_all.p(0.99),
        http_all.p(0.5),
        http_all.p(0.99),
        http_all.max(),
        http_all.p(0.5) - store_all.p(0.5),
    );
    println!(
        "CPU per call: store, directly {}; HTTP, the server {}",
        store_cpu.map_or("n/a".into(), |(process, _)| format!("{process:.0} µs")),
        server_cpu(http_cpu)
    );

    // 3. As many calls from concurrent clients, each on its own connection, the shapes mixed.
    let calls = plan(&shapes, per_shape, 11)?;
    let mut mixed: Vec<(usize, Query)> = Vec::new();
    for k in 0..per_shape {
        for (shape, qs) in calls.iter().enumerate() {
            if let Some(q) = qs.get(k) {
                mixed.push((shape, q.clone()));
            }
        }
    }
    let clients = a.clients;
    let (conc, wall, conc_cpu) = client_rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        let cpu = Cpu::now();
        let start = Instant::now();
        for c in 0..clients {
            let mine: Vec<(usize, Query)> =
                mixed.iter().skip(c).step_by(clients).cloned().collect();
            let client = client.clone();
            set.spawn(async move {
                let mut out = Vec::with_capacity(mine.len());
                for (shape, q) in mine {
                    let (rows, d) = client.call(&q).await?;
                    out.push((shape, rows, d));
                }
                Res::Ok(out)
            });
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.extend(r??);
        }
        let wall = start.elapsed();
        let cpu = cpu_per_call(cpu, Cpu::now(), all.len());
        Res::Ok((all, wall, cpu))
    })?;
    let mut per: Vec<Stats> = shapes.iter().map(|_| Stats::default()).collect();
    let mut all = Stats::default();
    for (shape, rows, d) in &conc {
        if let Some(s) = per.get_mut(*shape) {
            s.add(*rows, *d);
        }
        all.add(*rows, *d);
    }
    println!(
        "\nHTTP, {clients} concurrent clients: {} calls in {:.2} s = {:.0} calls/s",
        conc.len(),
        wall.as_secs_f64(),
        conc.len() as f64 / wall.as_secs_f64()
    );
    println!("CPU per call: the server {}", server_cpu(conc_cpu));
    println!(
        "{:<28} {:>6} {:>7} | {:>9} {:>9} {:>9}",
        "shape", "calls", "rows", "p50 ms", "p99 ms", "max ms"
    );
    for ((name, _), s) in shapes.iter().zip(per) {
        let s = s.sorted();
        println!(
            "{:<28} {:>6} {:>7.1} | {:>9.2} {:>9.2} {:>9.2}",
            name,
            s.times.len(),
            s.per_call(),
            s.p(0.5),
            s.p(0.99),
            s.max()
        );
    }
    let all = all.sorted();
    println!(
        "{:<28} {:>6} {:>7} | {:>9.2} {:>9.2} {:>9.2}",
        "all",
        all.times.len(),
        "",
        all.p(0.5),
        all.p(0.99),
        all.max()
    );

    // 4. The pieces of the API's path: its two lookups alone, and the cheapest routes.
    const PIECES: usize = 200;
    let secret = client
        .doors
        .first()
        .and_then(|d| d.auth.strip_prefix("Bearer "))
        .ok_or("no token")?
        .to_owned();
    let name = client.doors.first().ok_or("no tenant")?.name.clone();
    let direct: Vec<(&str, Stats)> = server_rt.block_on(async {
        let secret = simforge_access::Secret::new(&secret);
        let mut token = Stats::default();
        let mut op = Stats::default();
        for _ in 0..PIECES {
            let t = Instant::now();
            api2.access.authenticate_token(&secret, api2.now()).await?;
            token.add(1, t.elapsed());
            let t = Instant::now();
            store.operator(&name).await?;
            op.add(1, t.elapsed());
        }
        Res::Ok(vec![
            ("token lookup (Access, direct)", token.sorted()),
            ("tenant lookup (Store, direct)", op.sorted()),
        ])
    })?;
    let routes: Vec<(&str, Stats)> = client_rt.block_on(async {
        let mut me = Stats::default();
        let mut tenant = Stats::default();
        for _ in 0..PIECES {
            me.add(1, client.get("/api/v1/me").await?);
            tenant.add(1, client.get(&format!("/api/v1/tenants/{name}")).await?);
        }
        Res::Ok(vec![
            ("HTTP GET /me (token)", me.sorted()),
            ("HTTP GET /tenants/a (+tenant)", tenant.sorted()),
        ])
    })?;
    println!("\nthe pieces ({PIECES} calls each, sequential)");
    println!(
        "{:<35} | {:>9} {:>9} {:>9}",
        "", "p50 ms", "p99 ms", "max ms"
    );
    for (name, s) in direct.iter().chain(&routes) {
        println!(
            "{:<35} | {:>9.3} {:>9.3} {:>9.3}",
            name,
            s.p(0.5),
            s.p(0.99),
            s.max()
        );
    }

    // 5. With --writes N: the sequential calls again while the SM-DP+ commits N transactions
    //    a second (one event each, deferred durability as InitiateAuthentication,
    //    AuthenticateClient and HandleNotification commit) on its own connection.
    if let Some(micros) = 1_000_000u64.checked_div(a.writes) {
        let calls = plan(&shapes, per_shape, 13)?;
        let stop_writer = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let commits = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let p = bench::record(small, 0, &mut Rng(1))?;
        let event = bench::events(&p).into_iter().take(1).collect::<Vec<_>>();
        let writer = {
            let (store, stop, commits) = (store.clone(), stop_writer.clone(), commits.clone());
            let every = Duration::from_micros(micros.max(1));
            server_rt.spawn(async move {
                let mut tick = tokio::time::interval(every);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    tick.tick().await;
                    let mut tx = store.begin().await?;
                    tx.push_events(&event).await?;
                    tx.commit_deferred().await?;
                    commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Res::Ok(())
            })
        };
        let t = Instant::now();
        let loaded: Vec<Stats> = client_rt.block_on(async {
            let mut out = Vec::new();
            for qs in &calls {
                let mut s = Stats::default();
                for q in qs {
                    let (rows, d) = client.call(q).await?;
                    s.add(rows, d);
                }
                out.push(s.sorted());
            }
            Res::Ok(out)
        })?;
        let took = t.elapsed();
        stop_writer.store(true, std::sync::atomic::Ordering::Relaxed);
        server_rt.block_on(writer)??;
        println!(
            "\nHTTP, sequential, while the SM-DP+ commits {:.0} transactions/s (asked {})",
            commits.load(std::sync::atomic::Ordering::Relaxed) as f64 / took.as_secs_f64(),
            a.writes
        );
        println!(
            "{:<28} {:>6} {:>7} | {:>9} {:>9} {:>9}",
            "shape", "calls", "rows", "p50 ms", "p99 ms", "max ms"
        );
        let mut all = Stats::default();
        for ((name, _), s) in shapes.iter().zip(&loaded) {
            println!(
                "{:<28} {:>6} {:>7.1} | {:>9.2} {:>9.2} {:>9.2}",
                name,
                s.times.len(),
                s.per_call(),
                s.p(0.5),
                s.p(0.99),
                s.max()
            );
            all.times.extend(&s.times);
        }
        let all = all.sorted();
        println!(
            "{:<28} {:>6} {:>7} | {:>9.2} {:>9.2} {:>9.2}",
            "all",
            all.times.len(),
            "",
            all.p(0.5),
            all.p(0.99),
            all.max()
        );
    }

    let _ = stop.send(());
    server_rt.block_on(server)??;
    Ok(())
}
