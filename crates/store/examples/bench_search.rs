//! Inventory search latency on SQLite (BENCHMARKS.md, "eSIM inventory search"): fills a
//! store with one operator's profiles (1,000,000 by default) and another's (10,000), through
//! the store's own `insert_profile` and `push_events` in large transactions, then times
//! searches of several shapes through [`Inventory`] and prints p50/p99 per shape.
//!
//! ```text
//! cargo run --example bench_search -- [--profiles N] [--other N] [--searches N] [--db PATH] [--quick]
//! ```
//! `--quick`: 10,000 profiles, 400 searches. `--db PATH`: keep the database there (reused by a
//! later run with the same PATH: no second fill). Not part of the test suite.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark prints its results

use std::path::PathBuf;
use std::time::{Duration, Instant};

use simforge_asn1::{Eid, Iccid, MatchingId};
use simforge_smdp::{
    Event, IccidPrefix, Inventory, ProfileFilter, ProfileMetadata, ProfileRecord, ProfileState,
    SealedPackage, SmdpStore, SmdpTx,
};
use simforge_store::{NewOperator, Store, Synchronous};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Profiles per fill transaction.
const TX_ROWS: u64 = 20_000;

/// A deterministic pseudo-random sequence (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The `n`th ICCID of operator `op` (19 digits: issuer 894944, then the operator and `n`).
fn iccid(op: i64, n: u64) -> Res<Iccid> {
    Ok(format!("8949440{op:1}{n:011}").parse()?)
}

/// A valid EID for device `n`.
fn eid(n: u64) -> Res<Eid> {
    let body = format!("8904903200000000000{n:011}");
    let rem = body
        .bytes()
        .fold(0u64, |acc, b| (acc * 10 + u64::from(b - b'0')) % 97);
    let check = 98 - (rem * 100) % 97;
    Ok(Eid::parse(&format!("{body}{check:02}"))?)
}

/// The activation code token of order `n` (as an operator's would look: 4 groups of hex).
fn matching_id(op: i64, n: u64) -> Res<MatchingId> {
    let h = Rng(n ^ (u64::try_from(op)? << 56)).next();
    Ok(MatchingId::parse(&format!(
        "{:04X}-{:04X}-{:04X}-{:04X}",
        h >> 48,
        (h >> 32) & 0xFFFF,
        (h >> 16) & 0xFFFF,
        h & 0xFFFF
    ))?)
}

const TYPES: [&str; 4] = ["consumer-5g", "iot-m2m", "travel-eu", "enterprise"];

/// Profile `n` of `op`: a mix of what an inventory holds after a while of service. Of 100:
/// 55 available, 6 released (linked to an EID, with a matchingId), 4 downloaded, 30 installed,
/// 3 error, 2 unavailable; types 60/25/10/5 %.
fn record(op: i64, n: u64, rng: &mut Rng) -> Res<ProfileRecord> {
    let (state, ordered) = match rng.below(100) {
        0..55 => (ProfileState::Available, false),
        55..61 => (ProfileState::Released, true),
        61..65 => (ProfileState::Downloaded, true),
        65..95 => (ProfileState::Installed, true),
        95..98 => (ProfileState::Error, true),
        _ => (ProfileState::Unavailable, false),
    };
    let profile_type = match rng.below(100) {
        0..60 => TYPES[0],
        60..85 => TYPES[1],
        85..95 => TYPES[2],
        _ => TYPES[3],
    };
    Ok(ProfileRecord {
        operator_id: op,
        iccid: iccid(op, n)?,
        profile_type: profile_type.into(),
        state,
        eid: if ordered { Some(eid(n)?) } else { None },
        matching_id: if ordered {
            Some(matching_id(op, n)?)
        } else {
            None
        },
        cc_hash: None,
        cc_attempts: 0,
        download_attempts: u32::from(ordered),
        order_expires_at: None,
        session: None,
        session_expires_at: None,
        metadata: ProfileMetadata {
            service_provider_name: "Operator".into(),
            profile_name: format!("{profile_type} profile"),
            profile_class: 2,
            notification_address: Some("smdp.example.com".into()),
        },
        // A sealed package of a real profile is several KiB (rsp_packages, which no search
        // reads); 256 bytes keep the file small.
        package: SealedPackage(vec![0x5A; 256]),
        reuse_on_delete: false,
        version: 0,
        updated_at: 1_800_000_000 + i64::try_from(n)?,
        requirements: Default::default(),
        binding: None,
        last_notification: None,
    })
}

/// The events of an ordered profile's download (what the SM-DP+ records for it).
fn events(p: &ProfileRecord) -> Vec<Event> {
    let at = p.updated_at;
    let st = |from, to| Event::ProfileState {
        operator_id: p.operator_id,
        iccid: p.iccid.clone(),
        from,
        to,
        at,
    };
    let progress = |point| Event::DownloadProgress {
        operator_id: p.operator_id,
        iccid: p.iccid.clone(),
        profile_type: p.profile_type.clone(),
        eid: p.eid,
        point,
        failure: None,
        result_data: None,
        at,
    };
    vec![
        st(ProfileState::Available, ProfileState::Allocated),
        st(ProfileState::Allocated, ProfileState::Released),
        progress(1),
        progress(3),
        st(ProfileState::Released, ProfileState::Downloaded),
    ]
}

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

/// Fills `store` with `n` profiles of `op` (and the events of every 10th ordered one).
async fn fill(store: &Store, op: i64, n: u64, rng: &mut Rng) -> Res<()> {
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        let mut tx = store.begin().await?;
        let end = (i + TX_ROWS).min(n);
        for k in i..end {
            let p = record(op, k, rng)?;
            tx.insert_profile(&p).await?;
            if p.eid.is_some() && k % 10 == 0 {
                tx.push_events(&events(&p)).await?;
            }
        }
        tx.commit().await?;
        i = end;
        if i % 200_000 == 0 || i == n {
            eprintln!(
                "operator {op}: {i} profiles in {:.1} s",
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
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
        let mut rng = Rng(42);
        fill(&store, small, a.other / 2, &mut rng).await?;
        fill(&store, big, a.profiles, &mut rng).await?;
        // The rest of the small operator's after the big one's (ICCIDs interleave nowhere,
        // but its rows are spread over the file).
        let mut tx = store.begin().await?;
        for k in a.other / 2..a.other {
            tx.insert_profile(&record(small, k, &mut rng)?).await?;
        }
        tx.commit().await?;
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
    let n = a.profiles;
    let page = |op| ProfileFilter {
        limit: 100,
        ..ProfileFilter::new(op)
    };
    type Shape = (&'static str, Box<dyn Fn(&mut Rng) -> Res<Query>>);
    enum Query {
        Search(ProfileFilter),
        History(i64, Iccid),
    }
    let shapes: Vec<Shape> = vec![
        (
            "first page",
            Box::new(move |_| Ok(Query::Search(page(big)))),
        ),
        (
            "deep keyset page",
            Box::new(move |r| {
                Ok(Query::Search(ProfileFilter {
                    after: Some(iccid(big, r.below(n))?),
                    ..page(big)
                }))
            }),
        ),
        (
            "state=released, keyset",
            Box::new(move |r| {
                Ok(Query::Search(ProfileFilter {
                    state: Some(ProfileState::Released),
                    after: Some(iccid(big, r.below(n))?),
                    ..page(big)
                }))
            }),
        ),
        (
            "state=error, first page",
            Box::new(move |_| {
                Ok(Query::Search(ProfileFilter {
                    state: Some(ProfileState::Error),
                    ..page(big)
                }))
            }),
        ),
        (
            "type+state, keyset",
            Box::new(move |r| {
                Ok(Query::Search(ProfileFilter {
                    profile_type: Some(TYPES[usize::try_from(r.below(4))?].into()),
                    state: Some(ProfileState::Installed),
                    after: Some(iccid(big, r.below(n))?),
                    ..page(big)
                }))
            }),
        ),
        (
            "by EID",
            Box::new(move |r| {
                Ok(Query::Search(ProfileFilter {
                    eid: Some(eid(r.below(n))?),
                    ..page(big)
                }))
            }),
        ),
        (
            "by matchingId",
            Box::new(move |r| {
                Ok(Query::Search(ProfileFilter {
                    matching_id: Some(matching_id(big, r.below(n))?),
                    ..page(big)
                }))
            }),
        ),
        (
            "ICCID prefix (1,000 ICCIDs)",
            Box::new(move |r| {
                let i = iccid(big, r.below(n))?;
                Ok(Query::Search(ProfileFilter {
                    iccid_prefix: Some(IccidPrefix::parse(&i.as_str()[..16])?),
                    ..page(big)
                }))
            }),
        ),
        (
            "small operator, first page",
            Box::new(move |_| Ok(Query::Search(page(small)))),
        ),
        (
            "profile history",
            Box::new(move |r| Ok(Query::History(big, iccid(big, r.below(n / 10) * 10)?))),
        ),
    ];

    // Warm-up: a pass over every shape.
    for (_, make) in &shapes {
        for _ in 0..5 {
            run(&store, make(&mut rng)?).await?;
        }
    }
    let per_shape = a.searches.div_ceil(shapes.len());
    let mut all = Vec::new();
    println!(
        "{:<30} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "shape", "calls", "rows/call", "p50 ms", "p99 ms", "max ms"
    );
    async fn run(store: &Store, q: Query) -> Res<usize> {
        Ok(match q {
            Query::Search(f) => store.search(&f).await?.len(),
            Query::History(op, i) => store.history(op, &i, None, 100).await?.len(),
        })
    }
    for (name, make) in &shapes {
        let mut times = Vec::with_capacity(per_shape);
        let mut rows = 0;
        for _ in 0..per_shape {
            let q = make(&mut rng)?;
            let t = Instant::now();
            rows += run(&store, q).await?;
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
