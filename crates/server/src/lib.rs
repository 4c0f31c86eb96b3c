//! # simforge-server
//!
//! The SM-DP+ over HTTP(S): ES9+ (`/gsma/rsp2/es9plus/…`) for LPAs and ES2+
//! (`/gsma/rsp2/es2plus/…`) for operators authenticated by API key or TLS client certificate
//! (looked up per request, [`CredentialSource`]), `/metrics` in Prometheus
//! text format, and a rustls TLS front (TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 and TLS
//! 1.3) serving the DPtls chain. All protocol logic lives in `simforge-smdp`; this crate only
//! maps HTTP to it. Malformed input is answered with SGP.22 status codes, never a 500, and
//! named by its JSON member, never by a Rust type.
//!
//! No peer is waited on without a limit ([`Timeouts`]): the TLS handshake, each request header
//! and each request body have a deadline, every read and write of a socket an idle limit, and
//! the connections held open are capped (overall, below the file descriptor limit, and per
//! source address), the one that made progress least recently making room for a new one.
//!
//! Every request runs in a tracing span (`es9` or `es2`) carrying the function and, as soon as
//! they are known, the transactionId, ICCID and operator; its last line has the result and the
//! latency. No key, secret or request body is ever logged.
//!
//! The SM-DS's edge is here too ([`smds_router`]): ES11 on the ES9+ and the `es11` paths,
//! ES12 for the SM-DP+s whose client certificates are [`Registrants`]; [`Es12Client`] is the
//! SM-DP+'s side of ES12, and [`SmdsWorker`] delivers the SM-DP+'s queued SM-DS operations
//! with it (register at ConfirmOrder, delete when the order ends), with persisted retries.
//!
//! [`CallbackWorker`] delivers the events outbox to the operators' endpoints as ES2+
//! HandleDownloadProgressInfo requests (reqwest + rustls), with persisted retries.

mod auth;
mod callbacks;
mod conn;
mod error;
mod es12;
mod http;
mod limits;
mod log;
mod metrics;
mod smds;
mod smds_worker;
mod tls;

pub use auth::{
    AuthFailures, BoxFuture, ClientCertificate, CredentialCache, CredentialId, CredentialKind,
    CredentialSource, FAILURE_WINDOW, LookupError, MAX_FAILURES, OperatorCredential, PeerAddr,
    StaticCredentials, api_key_sha256, cert_sha256,
};
pub use callbacks::{
    CallbackConfig, CallbackWorker, EndpointFuture, EndpointSettings, OperatorEndpoint, RoundStats,
};
pub use error::{BoxError, Error, ErrorChain, execution_error};
pub use es12::{Es12Client, Es12Outcome};
pub use http::{AppState, es_router, metrics_router, router};
pub use limits::{
    Cidr, CidrError, MATCHING_ID_WINDOW, MAX_INITIATED_PER_SOURCE, MAX_MATCHING_ID_FAILURES,
    SourceLimits, TrustedProxies, matching_id_retries_exceeded, source_of,
};
pub use log::{LogWriteErrors, LossyWriter};
pub use metrics::Metrics;
pub use smds::{Registrants, SmdsState, smds_router};
pub use smds_worker::{SmdsObserver, SmdsRoundStats, SmdsWorker, SmdsWorkerConfig};
pub use tls::{
    ClientAuth, ReloadableIdentity, Timeouts, TlsKey, read_certificates, serve_plain,
    serve_plain_until, serve_plain_with, serve_tls, serve_tls_until, serve_tls_with, tls_config,
    tls_config_reloadable, tls_config_with_client_auth, tls_config_with_key,
};
