//! Console pages' server time with 1,000,000 profiles in the inventory (BENCHMARKS.md,
//! "Console pages"): fills a SQLite store with 1,000,000 profiles of tenant `a` and 10,000 of
//! tenant `b` (`simforge_store::bench::fill`, as the search benchmarks), signs an operator of
//! `a` in, then renders each page many times through the console's router in process (no
//! sockets: the time is the server's — session and policy check, the store's queries, the
//! HTML), with random arguments where a page has some.
//!
//! ```text
//! cargo run --release --workspace --all-features --example bench_pages -- [--profiles N] [--calls N] [--db PATH]
//! ```
//! `--db PATH`: keep the database there (a later run with the same PATH skips the fill; the
//! file of `bench_api_search` can be reused). Not part of the test suite.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark prints its results

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use simforge_access::{CreateUser, Role, Secret};
use simforge_api::{Api, ApiConfig};
use simforge_audit::Actor;
use simforge_store::bench::{self, Res, Rng};
use simforge_store::{Operator, Store};
use simforge_vault::{MasterKey, Vault};
use tower::ServiceExt as _;

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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A page: its name and how to make its URI (random arguments from the generator).
type Page = (&'static str, Box<dyn Fn(&mut Rng) -> Res<String>>);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let mut profiles = 1_000_000u64;
    let mut calls = 200usize;
    let mut db: Option<PathBuf> = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg}: value missing"));
        match arg.as_str() {
            "--profiles" => profiles = value()?.parse()?,
            "--calls" => calls = value()?.parse()?,
            "--db" => db = Some(value()?.into()),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let dir = tempfile::tempdir()?;
    let path = db.unwrap_or_else(|| dir.path().join("simforge.sqlite"));
    let fresh = !path.exists();
    let store = Store::open_sqlite(&path).await?;
    let (ta, tb) = (tenant(&store, "a").await?, tenant(&store, "b").await?);
    if fresh {
        let t = Instant::now();
        bench::fill(&store, ta.id, tb.id, profiles, 10_000).await?;
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
            smdp_address: Some("smdp.example.com".into()),
            secure_cookies: false,
            smdp: None,
            trusted_proxies: simforge_server::TrustedProxies::default(),
        },
    );
    let now = api.now();
    let password = "correct horse battery staple";
    let name = format!("bench{now}");
    api.access
        .create_user(
            &Actor::system(),
            CreateUser {
                username: name.clone(),
                role: Role::Operator,
                tenant: Some(ta.id),
                password: Secret::new(password),
            },
            now,
            &mut rand_core::OsRng,
        )
        .await?;
    let login = api
        .access
        .login(
            &name,
            &Secret::new(password),
            None,
            None,
            now,
            &mut rand_core::OsRng,
        )
        .await?;
    let cookie = format!("simforge_session={}", login.session.expose());
    let app = simforge_console::with_api(api.clone());

    let a = ta.id;
    let iccid = move |rng: &mut Rng| -> Res<String> {
        Ok(bench::iccid(a, rng.below(profiles))?.as_str().to_owned())
    };
    let pages: Vec<Page> = vec![
        ("dashboard (24 h)", Box::new(|_| Ok("/console/t/a".into()))),
        (
            "dashboard (7 days)",
            Box::new(|_| Ok("/console/t/a?window=7d".into())),
        ),
        (
            "inventory, first page",
            Box::new(|_| Ok("/console/t/a/profiles".into())),
        ),
        (
            "inventory, by ICCID prefix",
            Box::new(move |r| Ok(format!("/console/t/a/profiles?q={}", &iccid(r)?[..14]))),
        ),
        (
            "inventory, by state",
            Box::new(|_| Ok("/console/t/a/profiles?state=installed".into())),
        ),
        (
            // The fill's changes are 1_800_000_000 + k (k: the profile's number, so in ICCID
            // order): a day seldom near a random cursor, each page reads its whole bound.
            "inventory, by date (a day, from a random ICCID)",
            Box::new(move |r| {
                Ok(format!(
                    "/console/t/a/profiles?from=2027-01-20&before=2027-01-21&after={}",
                    iccid(r)?
                ))
            }),
        ),
        (
            "inventory, by date and state",
            Box::new(move |r| {
                Ok(format!(
                    "/console/t/a/profiles?state=released&from=2027-01-15&after={}",
                    iccid(r)?
                ))
            }),
        ),
        (
            "profile page",
            Box::new(move |r| Ok(format!("/console/t/a/profiles/{}", iccid(r)?))),
        ),
        ("audit", Box::new(|_| Ok("/console/t/a/audit".into()))),
        (
            "audit, time range",
            Box::new(|_| Ok("/console/t/a/audit?since=2026-01-01&until=2026-12-31".into())),
        ),
        ("bulk", Box::new(|_| Ok("/console/t/a/bulk".into()))),
        (
            "bulk release, confirm",
            Box::new(|r| {
                let t = bench::TYPES[usize::try_from(r.below(4))?];
                Ok(format!("/console/t/a/bulk/release?type={t}&count=1000"))
            }),
        ),
        (
            "bulk codes CSV (1,000)",
            Box::new(|r| {
                let t = bench::TYPES[usize::try_from(r.below(4))?];
                Ok(format!("/console/t/a/bulk/codes.csv?type={t}"))
            }),
        ),
        ("account", Box::new(|_| Ok("/console/account".into()))),
    ];
    println!(
        "{profiles} profiles of tenant a, {calls} renders per page, through the router in process"
    );
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>9}",
        "page", "p50 ms", "p99 ms", "max ms", "bytes"
    );
    let mut rng = Rng(7);
    for (name, uri) in &pages {
        let mut times = Vec::with_capacity(calls);
        let mut bytes = 0;
        for _ in 0..calls {
            let uri = uri(&mut rng)?;
            let req = Request::get(&uri)
                .header("cookie", &cookie)
                .body(Body::empty())?;
            let t = Instant::now();
            let r = app.clone().oneshot(req).await?;
            let status = r.status();
            let body = r.into_body().collect().await?.to_bytes();
            times.push(t.elapsed());
            if status != StatusCode::OK {
                return Err(format!("{uri}: {status}: {}", String::from_utf8_lossy(&body)).into());
            }
            bytes = body.len();
        }
        times.sort();
        let at = |q: f64| {
            let i = ((times.len().saturating_sub(1)) as f64 * q).round() as usize;
            ms(times.get(i).copied().unwrap_or_default())
        };
        println!(
            "{name:<28} {:>8.2} {:>8.2} {:>8.2} {:>9}",
            at(0.5),
            at(0.99),
            ms(times.last().copied().unwrap_or_default()),
            bytes
        );
    }
    Ok(())
}
