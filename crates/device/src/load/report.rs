//! Measurements of a load run and its report; the SM-DP+ process's counters from Linux `/proc`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use simforge_asn1::json::ES9_FUNCTIONS;

/// Latencies measured by one worker, merged at the end.
#[derive(Default)]
pub(crate) struct Samples {
    pub(crate) es9: [Vec<Duration>; ES9_FUNCTIONS.len()],
    pub(crate) download: Vec<Duration>,
    pub(crate) download_order: Vec<Duration>,
    pub(crate) confirm_order: Vec<Duration>,
}

impl Samples {
    pub(crate) fn merge(&mut self, o: Samples) {
        for (a, b) in self.es9.iter_mut().zip(o.es9) {
            a.extend(b);
        }
        self.download.extend(o.download);
        self.download_order.extend(o.download_order);
        self.confirm_order.extend(o.confirm_order);
    }

    /// Percentiles per ES9+ function, `download`, and the ES2+ calls.
    pub(crate) fn latency(mut self) -> BTreeMap<String, Percentiles> {
        let mut latency = BTreeMap::new();
        let mut put = |name: &str, v: &mut Vec<Duration>| {
            if let Some(p) = percentiles(v) {
                latency.insert(name.to_owned(), p);
            }
        };
        for (name, v) in ES9_FUNCTIONS.iter().zip(self.es9.iter_mut()) {
            put(name, v);
        }
        put("download", &mut self.download);
        put("es2.downloadOrder", &mut self.download_order);
        put("es2.confirmOrder", &mut self.confirm_order);
        latency
    }
}

/// Latency percentiles (nearest rank), milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Nearest-rank percentiles, in milliseconds.
fn percentiles(v: &mut [Duration]) -> Option<Percentiles> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    let at = |p: f64| {
        // Nearest rank: ceil(p·n), 1-based.
        let rank = (p * n as f64).ceil() as usize;
        ms(v[rank.clamp(1, n) - 1])
    };
    Some(Percentiles {
        count: n,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: ms(v[n - 1]),
    })
}

/// Failures of one kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCount {
    /// Where (`ES9+ authenticateClient`, `ES2+ downloadOrder`, `eUICC …`, `TLS`, …).
    pub stage: String,
    /// SGP.22 subjectCode/reasonCode, or `HTTP nnn`, `transport`, …
    pub code: String,
    /// How many.
    pub count: usize,
    /// The first message seen.
    pub message: String,
}

/// The report of a load run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The SM-DP+ address.
    pub smdp: String,
    /// The eUICCs' curve (`NIST P-256`, `brainpoolP256r1`).
    pub curve: String,
    /// Downloads at the same time.
    pub concurrency: usize,
    /// Downloads attempted.
    pub downloads: usize,
    /// Downloads that installed a profile.
    pub succeeded: usize,
    /// Downloads that did not.
    pub failed: usize,
    /// Install notifications delivered.
    pub notifications_sent: usize,
    /// Distinct ICCIDs installed (equal to `succeeded` unless a profile was issued twice).
    pub distinct_iccids: usize,
    /// Wall time of the download phase (after ordering), seconds.
    pub elapsed_secs: f64,
    /// Successful downloads per second of the download phase.
    pub downloads_per_sec: f64,
    /// Wall time of the ES2+ ordering phase, seconds (0 with activation codes given).
    pub ordering_secs: f64,
    /// Failures grouped by stage and code, most frequent first.
    pub errors: Vec<ErrorCount>,
    /// Latency percentiles in milliseconds: per ES9+ function (every exchange), `download`
    /// (a whole successful download: ES10 + ES9+), and the ES2+ calls.
    pub latency_ms: BTreeMap<String, Percentiles>,
    /// CPU time (user + system) of the SM-DP+ process during the download phase, per
    /// successful download, milliseconds (with a server PID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cpu_ms_per_download: Option<f64>,
    /// CPU time of this process (all eUICCs and LPAs) per successful download, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cpu_ms_per_download: Option<f64>,
    /// CPU time of the SM-DS process during the download phase, per successful discovery and
    /// download, milliseconds (with `--discover` and an SM-DS PID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smds_cpu_ms_per_download: Option<f64>,
    /// What the SM-DP+ process did per successful download (with a server PID): counts, not
    /// times, so they compare across runs on a noisy machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_per_download: Option<ServerCounts>,
}

/// Per-download counters of the SM-DP+ process from /proc.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerCounts {
    /// Reads through the VFS (/proc/<pid>/io `syscr`: read, readv, pread; not recv*).
    pub read_syscalls: f64,
    /// Writes through the VFS (`syscw`: write, writev, pwrite; not send*).
    pub write_syscalls: f64,
    /// Context switches, voluntary and not, of the threads alive at both ends of the run
    /// (a thread that ended meanwhile is missing).
    pub context_switches: f64,
}

/// The counters behind [`ServerCounts`]: syscr, syscw, and context switches per thread.
pub(crate) type RawCounts = (u64, u64, BTreeMap<String, u64>);

/// The counters behind [`ServerCounts`] of process `pid`.
pub(crate) fn server_counts(pid: &str) -> Option<RawCounts> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    let mut switches = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let n = status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
        switches.insert(task.file_name().to_string_lossy().into_owned(), n);
    }
    Some((field("syscr:")?, field("syscw:")?, switches))
}

/// Per successful download, between two [`server_counts`].
pub(crate) fn per_download(
    before: Option<RawCounts>,
    after: Option<RawCounts>,
    succeeded: usize,
) -> Option<ServerCounts> {
    match (before, after) {
        (Some(b), Some(a)) if succeeded > 0 => {
            let per = |n: u64| (n as f64 / succeeded as f64 * 10.0).round() / 10.0;
            Some(ServerCounts {
                read_syscalls: per(a.0.saturating_sub(b.0)),
                write_syscalls: per(a.1.saturating_sub(b.1)),
                context_switches: per(switches_between(&b.2, &a.2)),
            })
        }
        _ => None,
    }
}

/// Context switches between two [`server_counts`], thread by thread.
fn switches_between(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> u64 {
    after
        .iter()
        .filter_map(|(tid, a)| Some(a.saturating_sub(*before.get(tid)?)))
        .sum()
}

/// utime + stime of a process from /proc/<pid>/stat, in clock ticks (USER_HZ = 100 on Linux).
pub(crate) fn cpu_ticks(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) in parentheses.
    let rest = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the state field (3).
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

const USER_HZ: f64 = 100.0;

/// CPU milliseconds per successful download between two [`cpu_ticks`].
pub(crate) fn cpu_ms_per_download(
    before: Option<u64>,
    after: Option<u64>,
    succeeded: usize,
) -> Option<f64> {
    match (before, after) {
        (Some(b), Some(a)) if succeeded > 0 => Some(
            (a.saturating_sub(b) as f64 / USER_HZ * 1e3 / succeeded as f64 * 1e3).round() / 1e3,
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_in_milliseconds() {
        let mut v: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let p = percentiles(&mut v).unwrap();
        assert_eq!(
            (p.count, p.p50, p.p90, p.p99, p.max),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        assert!(percentiles(&mut []).is_none());
        let mut one = [Duration::from_micros(1500)];
        assert_eq!(percentiles(&mut one).unwrap().p50, 1.5);
    }

    #[test]
    fn the_report_serializes_as_before() {
        let r = Report {
            smdp: "localhost:8443".into(),
            curve: "NIST P-256".into(),
            concurrency: 2,
            downloads: 1,
            succeeded: 1,
            failed: 0,
            notifications_sent: 1,
            distinct_iccids: 1,
            elapsed_secs: 0.5,
            downloads_per_sec: 2.0,
            ordering_secs: 0.0,
            errors: vec![],
            latency_ms: BTreeMap::new(),
            server_cpu_ms_per_download: None,
            client_cpu_ms_per_download: Some(1.0),
            smds_cpu_ms_per_download: None,
            server_per_download: None,
        };
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["notificationsSent"], 1);
        assert_eq!(j["clientCpuMsPerDownload"], 1.0);
        assert!(j.get("serverCpuMsPerDownload").is_none());
        let back: Report = serde_json::from_value(j).unwrap();
        assert_eq!(back, r);
    }
}
