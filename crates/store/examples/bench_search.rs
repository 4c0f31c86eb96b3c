//! Inventory search latency on SQLite (BENCHMARKS.md, "eSIM inventory search"): fills a
//! store with one operator's profiles (1,000,000 by default) and another's (10,000), through
//! the store's own `insert_profile` and `push_events` in large transactions, then times
//! searches of several shapes through [`simforge_smdp::Inventory`] and prints p50/p99 per
//! shape. The fill and the shapes are `simforge_store::bench` (feature `bench`), shared with
//! the HTTP benchmark (`simforge-api`'s `examples/bench_api_search.rs`).
//!
//! ```text
//! cargo run --features bench --example bench_search -- [--profiles N] [--other N] [--searches N] [--db PATH] [--quick]
//! ```
//! `--quick`: 10,000 profiles, 400 searches. `--db PATH`: keep the database there (reused by a
//! later run with the same PATH: no second fill). Not part of the test suite.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark prints its results

use std::path::PathBuf;
use std::time::{Duration, Instant};

use simforge_store::bench::{self, Res, Rng, ms, percentile};
use simforge_store::{NewOperator, Store, Synchronous};

struct Args {
    profiles: u64,
    other: u64,
    searches: usize,
    db: Option<PathBuf>,
}

fn args() -> Res<Args> {
    let mut a = Args {
        profiles: 1_000_000,
        other: 10_000,
        searches: 2_000,
        db: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg}: value missing"));
        match arg.as_str() {
            "--profiles" => a.profiles = value()?.parse()?,
            "--other" => a.other = value()?.parse()?,
            "--searches" => a.searches = value()?.parse()?,
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let a = args()?;
    let dir = tempfile::tempdir()?;
    let path =
        a.db.clone()
            .unwrap_or_else(|| dir.path().join("bench.sqlite"));
    let fresh = !path.exists();
    let store = Store::open_sqlite_with(&path, Synchronous::Normal).await?;
    let (big, small) = (1, 2);
    if fresh {
        for name in ["big", "small"] {
            store
                .create_operator(&NewOperator {
                    name: name.into(),
                    mcc: "001".into(),
                    mnc: "01".into(),
                    iccid_prefix: "894944".into(),
                    iccid_len: 19,
                    spn: name.into(),
                    out_columns: None,
                })
                .await?;
        }
        bench::fill(&store, big, small, a.profiles, a.other).await?;
    } else {
        bench::warm_page_cache(&path)?;
    }
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let size = std::fs::metadata(&path)?.len() + std::fs::metadata(&wal).map_or(0, |m| m.len());
    println!(
        "database: {} ({:.0} MB), {} + {} profiles",
        path.display(),
        size as f64 / 1e6,
        a.profiles,
        a.other
    );

    // The shapes, each with its own random arguments.
    let mut rng = Rng(7);
    let shapes = bench::shapes(big, small, a.profiles);

    // Warm-up: a pass over every shape.
    for (_, make) in &shapes {
        for _ in 0..5 {
            make(&mut rng)?.run(&store).await?;
        }
    }
    let per_shape = a.searches.div_ceil(shapes.len());
    let mut all = Vec::new();
    println!(
        "{:<30} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "shape", "calls", "rows/call", "p50 ms", "p99 ms", "max ms"
    );
    for (name, make) in &shapes {
        let mut times = Vec::with_capacity(per_shape);
        let mut rows = 0;
        for _ in 0..per_shape {
            let q = make(&mut rng)?;
            let t = Instant::now();
            rows += q.run(&store).await?;
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "{:<30} {:>7} {:>9.1} {:>9.2} {:>9.2} {:>9.2}",
            name,
            times.len(),
            rows as f64 / times.len() as f64,
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
        );
        all.extend(times);
    }
    all.sort();
    println!(
        "{:<30} {:>7} {:>9} {:>9.2} {:>9.2} {:>9.2}",
        "all",
        all.len(),
        "",
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(*all.last().unwrap_or(&Duration::ZERO)),
    );
    Ok(())
}
