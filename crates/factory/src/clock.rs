//! The wall clock at the edges (front doors pass its readings into the pure crates), and
//! Unix times for people; the threads a run may take.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
#[must_use]
pub fn unix_now() -> i64 {
    unix(SystemTime::now())
}

/// `t` in seconds since the Unix epoch.
#[must_use]
pub fn unix(t: SystemTime) -> i64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn now_ms() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH);
    d.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Unix time `t` as RFC 3339 (the number itself if out of range).
#[must_use]
pub fn rfc3339(t: i64) -> String {
    let d = time::OffsetDateTime::from_unix_timestamp(t).ok();
    let f = d.and_then(|d| {
        d.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    f.unwrap_or_else(|| t.to_string())
}

/// `--threads`, else the machine's cores.
#[must_use]
pub fn threads_or_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}
