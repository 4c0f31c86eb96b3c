//! The inventory benchmarks' data and search shapes (feature `bench`, off in every product
//! build): one fill and one set of shapes for the store-level benchmark
//! (`examples/bench_search.rs`) and the HTTP one (`simforge-api`'s
//! `examples/bench_api_search.rs`), so that their numbers describe the same database and the
//! same searches. BENCHMARKS.md, "eSIM inventory search".
//!
//! Not a product API: errors are boxed (a generated identifier that does not parse is a bug of
//! this module, not an input error).

use std::time::Duration;

use simforge_asn1::{Eid, Iccid, MatchingId};
use simforge_smdp::{
    Event, IccidPrefix, Inventory as _, OperatorId, ProfileFilter, ProfileMetadata, ProfileRecord,
    ProfileState, SealedPackage, SmdpStore as _, SmdpTx as _,
};

use crate::Store;

/// A benchmark's result.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Profiles per fill transaction.
const TX_ROWS: u64 = 20_000;

/// A deterministic pseudo-random sequence (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (0 for `n` = 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The `n`th ICCID of operator `op` (19 digits: issuer 894944, then the operator and `n`).
///
/// # Errors
/// An operator id above 9 (the ICCID would not be 19 digits).
pub fn iccid(op: OperatorId, n: u64) -> Res<Iccid> {
    Ok(format!("8949440{op:1}{n:011}").parse()?)
}

/// A valid EID for device `n`.
///
/// # Errors
/// None in practice (the check digits are computed).
pub fn eid(n: u64) -> Res<Eid> {
    let body = format!("8904903200000000000{n:011}");
    let rem = body
        .bytes()
        .fold(0u64, |acc, b| (acc * 10 + u64::from(b - b'0')) % 97);
    let check = 98 - (rem * 100) % 97;
    Ok(Eid::parse(&format!("{body}{check:02}"))?)
}

/// The activation code token of order `n` (as an operator's would look: 4 groups of hex).
///
/// # Errors
/// A negative operator id.
pub fn matching_id(op: OperatorId, n: u64) -> Res<MatchingId> {
    let h = Rng(n ^ (u64::try_from(op)? << 56)).next_u64();
    Ok(MatchingId::parse(&format!(
        "{:04X}-{:04X}-{:04X}-{:04X}",
        h >> 48,
        (h >> 32) & 0xFFFF,
        (h >> 16) & 0xFFFF,
        h & 0xFFFF
    ))?)
}

/// The profile types, 60/25/10/5 % of the profiles.
pub const TYPES: [&str; 4] = ["consumer-5g", "iot-m2m", "travel-eu", "enterprise"];

/// Profile `n` of `op`: a mix of what an inventory holds after a while of service. Of 100:
/// 55 available, 6 released (linked to an EID, with a matchingId), 4 downloaded, 30 installed,
/// 3 error, 2 unavailable; types 60/25/10/5 %.
///
/// # Errors
/// See [`iccid`].
pub fn record(op: OperatorId, n: u64, rng: &mut Rng) -> Res<ProfileRecord> {
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
        smds_address: None,
    })
}

/// The events of an ordered profile's download (what the SM-DP+ records for it).
#[must_use]
pub fn events(p: &ProfileRecord) -> Vec<Event> {
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

/// Profiles `from..to` of `op` (and the events of every 10th ordered one), in transactions of
/// 20,000.
async fn fill_range(store: &Store, op: OperatorId, from: u64, to: u64, rng: &mut Rng) -> Res<()> {
    let start = std::time::Instant::now();
    let mut i = from;
    while i < to {
        let mut tx = store.begin().await?;
        let end = (i + TX_ROWS).min(to);
        for k in i..end {
            let p = record(op, k, rng)?;
            tx.insert_profile(&p).await?;
            if p.eid.is_some() && k % 10 == 0 {
                tx.push_events(&events(&p)).await?;
            }
        }
        tx.commit().await?;
        i = end;
        if (i - from).is_multiple_of(200_000) || i == to {
            #[allow(clippy::print_stderr)] // progress of a long fill
            {
                eprintln!(
                    "operator {op}: {} profiles in {:.1} s",
                    i - from,
                    start.elapsed().as_secs_f64()
                );
            }
        }
    }
    Ok(())
}

/// Fills `store` with `profiles` profiles of `big` and `other` of `small` (half of them
/// before the big operator's, half after, so that its rows are spread over the file), always
/// the same ones (a fixed seed). Both operators must exist and have ids below 10.
///
/// # Errors
/// The store's.
pub async fn fill(
    store: &Store,
    big: OperatorId,
    small: OperatorId,
    profiles: u64,
    other: u64,
) -> Res<()> {
    let mut rng = Rng(42);
    fill_range(store, small, 0, other / 2, &mut rng).await?;
    fill_range(store, big, 0, profiles, &mut rng).await?;
    // The rest of the small operator's, without events.
    let mut tx = store.begin().await?;
    for k in other / 2..other {
        tx.insert_profile(&record(small, k, &mut rng)?).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One benchmark call.
#[derive(Debug, Clone)]
pub enum Query {
    /// A search.
    Search(ProfileFilter),
    /// A profile's history (the operator, the ICCID).
    History(OperatorId, Iccid),
}

impl Query {
    /// Runs it on `store` (through [`simforge_smdp::Inventory`], as the API's handlers do);
    /// returns the rows.
    ///
    /// # Errors
    /// The store's.
    pub async fn run(&self, store: &Store) -> Res<usize> {
        Ok(match self {
            Self::Search(f) => store.search(f).await?.rows.len(),
            Self::History(op, i) => store.history(*op, i, None, 100).await?.len(),
        })
    }
}

/// A shape of search: its name and how to make one call of it (with random arguments).
pub type Shape = (
    &'static str,
    Box<dyn Fn(&mut Rng) -> Res<Query> + Send + Sync>,
);

/// The shapes, over [`fill`]'s data: `big` holds `n` profiles.
#[must_use]
pub fn shapes(big: OperatorId, small: OperatorId, n: u64) -> Vec<Shape> {
    let page = |op| ProfileFilter {
        limit: 100,
        ..ProfileFilter::new(op)
    };
    vec![
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
                let digits = i.as_str().get(..16).ok_or("short ICCID")?;
                Ok(Query::Search(ProfileFilter {
                    iccid_prefix: Some(IccidPrefix::parse(digits)?),
                    ..page(big)
                }))
            }),
        ),
        (
            "small operator, first page",
            Box::new(move |_| Ok(Query::Search(page(small)))),
        ),
        (
            // `updated_at` grows with the ICCID in the fill: a day of changes far from the
            // cursor, so every call reads its whole bound (SCAN_MAX rows) and finds none.
            "by date (1 day), keyset",
            Box::new(move |r| {
                let day = 1_800_000_000 + i64::try_from(r.below(n))?;
                Ok(Query::Search(ProfileFilter {
                    updated_from: Some(day),
                    updated_until: Some(day + 86_400),
                    after: Some(iccid(big, r.below(n))?),
                    ..page(big)
                }))
            }),
        ),
        (
            "by date + state=released",
            Box::new(move |r| {
                Ok(Query::Search(ProfileFilter {
                    state: Some(ProfileState::Released),
                    updated_from: Some(1_800_000_000 + i64::try_from(r.below(n))?),
                    after: Some(iccid(big, r.below(n))?),
                    ..page(big)
                }))
            }),
        ),
        (
            "profile history",
            Box::new(move |r| Ok(Query::History(big, iccid(big, r.below(n / 10) * 10)?))),
        ),
    ]
}

/// Reads the database at `path` and its WAL through once, so that a database reused from an
/// earlier run is in the OS page cache as one just filled is (the figures are of a warm cache,
/// not of the disk). Returns the bytes read.
///
/// # Errors
/// The files'.
pub fn warm_page_cache(path: &std::path::Path) -> Res<u64> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let mut n = std::io::copy(&mut std::fs::File::open(path)?, &mut std::io::sink())?;
    if let Ok(mut f) = std::fs::File::open(std::path::PathBuf::from(wal)) {
        n += std::io::copy(&mut f, &mut std::io::sink())?;
    }
    Ok(n)
}

/// The `q` quantile (0..=1) of `sorted` durations (nearest rank).
#[must_use]
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
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

/// Milliseconds.
#[must_use]
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
