//! # simforge-server
//!
//! The SM-DP+ over HTTP(S): ES9+ (`/gsma/rsp2/es9plus/…`) for LPAs and ES2+
//! (`/gsma/rsp2/es2plus/…`) for operators authenticated by API key, `/metrics` in Prometheus
//! text format, and a rustls TLS front (TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 and TLS
//! 1.3) serving the DPtls chain. All protocol logic lives in `simforge-smdp`; this crate only
//! maps HTTP to it. Malformed input is answered with SGP.22 status codes, never a 500.
//!
//! [`CallbackWorker`] delivers the events outbox to the operators' endpoints as ES2+
//! HandleDownloadProgressInfo requests (reqwest + rustls), with persisted retries.

mod callbacks;
mod http;
mod metrics;
mod tls;

pub use callbacks::{CallbackConfig, CallbackWorker, RoundStats};
pub use http::{AppState, OperatorCredential, router};
pub use metrics::Metrics;
pub use tls::{serve_tls, tls_config};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// TLS configuration failed (bad certificate or key).
    #[error("TLS: {0}")]
    Tls(String),
    /// Socket error.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
