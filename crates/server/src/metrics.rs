//! Prometheus text metrics: requests and downloads by result, latency per function.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::log::LogWriteErrors;

const BUCKETS_MS: [f64; 8] = [1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 500.0];

#[derive(Default, Debug)]
struct Histogram {
    buckets: [u64; 8],
    count: u64,
    sum_secs: f64,
}

/// Counters and latency histograms.
#[derive(Default, Debug)]
pub struct Metrics {
    inner: Mutex<Inner>,
    log_write_errors: LogWriteErrors,
}

#[derive(Default, Debug)]
struct Inner {
    requests: BTreeMap<(String, String), u64>,
    latency: BTreeMap<String, Histogram>,
    downloads: BTreeMap<String, u64>,
    smds_ops: BTreeMap<(String, String), u64>,
}

impl Metrics {
    /// Metrics that also expose `log_write_errors` (the log lines that could not be written)
    /// as `simforge_log_write_errors_total`.
    #[must_use]
    pub fn with_log_write_errors(log_write_errors: LogWriteErrors) -> Self {
        Self {
            inner: Mutex::default(),
            log_write_errors,
        }
    }

    /// Records one call of `function` with `result` (`success` or `subject/reason`).
    pub fn observe(&self, function: &str, result: &str, elapsed: Duration) {
        let Ok(mut m) = self.inner.lock() else { return };
        *m.requests
            .entry((function.to_owned(), result.to_owned()))
            .or_default() += 1;
        let h = m.latency.entry(function.to_owned()).or_default();
        let ms = elapsed.as_secs_f64() * 1000.0;
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum_secs += elapsed.as_secs_f64();
    }

    /// Records the end of a download (`installed`, `failed`, or a status code).
    pub fn download(&self, result: &str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.downloads.entry(result.to_owned()).or_default() += 1;
        }
    }

    /// Records one ES12 call of the SM-DS worker: `op` (`register`, `delete`) and how it ended
    /// (`done`, `retry`, `given_up`).
    pub fn smds_op(&self, op: &str, result: &str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.smds_ops
                .entry((op.to_owned(), result.to_owned()))
                .or_default() += 1;
        }
    }

    /// The Prometheus text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let Ok(m) = self.inner.lock() else {
            return String::new();
        };
        let mut s = String::new();
        s.push_str("# TYPE simforge_smdp_requests_total counter\n");
        for ((f, r), n) in &m.requests {
            let _ = writeln!(
                s,
                "simforge_smdp_requests_total{{function=\"{f}\",result=\"{r}\"}} {n}"
            );
        }
        s.push_str("# TYPE simforge_smdp_downloads_total counter\n");
        for (r, n) in &m.downloads {
            let _ = writeln!(s, "simforge_smdp_downloads_total{{result=\"{r}\"}} {n}");
        }
        s.push_str("# TYPE simforge_smds_event_operations_total counter\n");
        for ((o, r), n) in &m.smds_ops {
            let _ = writeln!(
                s,
                "simforge_smds_event_operations_total{{op=\"{o}\",result=\"{r}\"}} {n}"
            );
        }
        s.push_str("# TYPE simforge_log_write_errors_total counter\n");
        let _ = writeln!(
            s,
            "simforge_log_write_errors_total {}",
            self.log_write_errors.count()
        );
        s.push_str("# TYPE simforge_smdp_request_seconds histogram\n");
        for (f, h) in &m.latency {
            for (i, b) in BUCKETS_MS.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "simforge_smdp_request_seconds_bucket{{function=\"{f}\",le=\"{}\"}} {}",
                    b / 1000.0,
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                s,
                "simforge_smdp_request_seconds_bucket{{function=\"{f}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                s,
                "simforge_smdp_request_seconds_sum{{function=\"{f}\"}} {}",
                h.sum_secs
            );
            let _ = writeln!(
                s,
                "simforge_smdp_request_seconds_count{{function=\"{f}\"}} {}",
                h.count
            );
        }
        s
    }
}
