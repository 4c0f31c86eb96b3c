//! The SM-DP+ server assembled: the store, the vault and the [`Smdp`] behind the HTTPS edge
//! (ES9+, ES2+ with credentials looked up per request, `/metrics`), with its background
//! jobs: the purge of expired sessions and old outbox events, the callback worker that
//! delivers the outbox to the operators' endpoints, and the SM-DS worker that delivers the
//! queued ES12 operations (events registered and deleted at SM-DSs).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use simforge_crypto::{SoftwareKeyAgreement, SystemRandom};
use simforge_server::{AppState, ClientAuth, CredentialCache, Metrics};
use simforge_smdp::{Smdp, SmdpConfig, SmdpKeys};
use simforge_store::{OutboxAdmin as _, SessionCache, Store};
use simforge_vault::Vault;
use tokio::net::TcpListener;

use crate::callbacks::StoreEndpoints;
use crate::credentials::StoreCredentials;
use crate::error::{Error, Result};
use crate::pki::TlsIdentity;

/// How long the server trusts a credential lookup: a revoked key or certificate is refused
/// at most this long after its revocation.
pub const CREDENTIAL_CACHE_TTL: Duration = Duration::from_secs(1);
/// How often expired ES9+ sessions and old outbox events are deleted.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// Days an outbox event is kept by default.
pub const DEFAULT_EVENT_RETENTION_DAYS: u32 = 90;

/// The server's TOML configuration file (`simforge serve --config`): every field optional;
/// command-line options and environment variables take precedence over it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ConfigFile {
    pub listen: Option<std::net::SocketAddr>,
    pub fqdn: Option<String>,
    pub public_port: Option<u16>,
    pub pki: Option<PathBuf>,
    pub sgp26: Option<PathBuf>,
    pub tls_sgp26: Option<bool>,
    pub oid: Option<String>,
    pub operator_ca: Option<PathBuf>,
    pub session_ttl_secs: Option<i64>,
    pub max_cc_attempts: Option<u32>,
    pub max_download_attempts: Option<u32>,
    pub order_ttl_secs: Option<i64>,
    pub event_retention_days: Option<u32>,
    /// CIDR networks of trusted reverse proxies.
    pub trusted_proxies: Option<Vec<String>>,
    /// Least estimated entropy of an operator-chosen matchingId (64).
    pub min_matching_id_bits: Option<u32>,
    /// Whether every profile package unsealed for an ES9+ download is audited
    /// (`profile.unseal`; default true). `false` only to measure the audit's cost.
    pub audit_unseals: Option<bool>,
    /// Seconds one ES2+ callback POST may take (10).
    pub callback_timeout_secs: Option<u64>,
    /// Seconds a node holds the callback events it claimed (300); at least three times the
    /// timeout.
    pub callback_lease_secs: Option<u64>,
}

impl ConfigFile {
    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    /// [`Error::Read`], [`Error::Invalid`] (naming the file) if it does not parse.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        toml::from_str(&text).map_err(|e| Error::invalid_because(path.display().to_string(), e))
    }

    /// The SM-DP+ configuration for `fqdn:port` (and `oid`, when given), with this file's
    /// values over the defaults.
    #[must_use]
    pub fn smdp_config(&self, fqdn: &str, port: u16, oid: Option<String>) -> SmdpConfig {
        let mut config = SmdpConfig::new(fqdn);
        config.port = port;
        if let Some(oid) = oid {
            config.oid = oid;
        }
        if let Some(v) = self.session_ttl_secs {
            config.session_ttl_secs = v;
        }
        if let Some(v) = self.max_cc_attempts {
            config.max_cc_attempts = v;
        }
        if let Some(v) = self.max_download_attempts {
            config.max_download_attempts = v;
        }
        if self.order_ttl_secs.is_some() {
            config.order_ttl_secs = self.order_ttl_secs;
        }
        if let Some(v) = self.min_matching_id_bits {
            config.min_matching_id_bits = v;
        }
        if let Some(v) = self.audit_unseals {
            config.audit_unseals = v;
        }
        config
    }

    /// The trusted proxies of the file.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an entry that is not an address or CIDR network.
    pub fn trusted_proxies(&self) -> Result<Vec<simforge_server::Cidr>> {
        self.trusted_proxies
            .iter()
            .flatten()
            .map(|c| {
                c.parse::<simforge_server::Cidr>()
                    .map_err(|e| Error::invalid_because(format!("trusted proxy {c}"), e))
            })
            .collect()
    }
}

/// The platform's SM-DP+: over the store, with the sessions that have only been through
/// InitiateAuthentication kept in this process's memory (`SessionCache`) on SQLite (one
/// node), all in the database on PostgreSQL (several nodes, no sticky routing).
pub type PlatformSmdp = Smdp<SessionCache<Store>>;

/// The SM-DP+ service over `store` with the software crypto providers.
#[must_use]
pub fn smdp(
    store: Store,
    config: SmdpConfig,
    keys: SmdpKeys,
    vault: Arc<dyn Vault>,
) -> PlatformSmdp {
    // On PostgreSQL, several nodes may share the database: every session in it.
    let sessions = match store {
        Store::Postgres(_) => SessionCache::passthrough(store),
        Store::Sqlite(_) => SessionCache::new(store),
    };
    Smdp::new(
        sessions,
        config,
        keys,
        Arc::new(SystemRandom::new()),
        Arc::new(SoftwareKeyAgreement::new(SystemRandom::new())),
        vault,
    )
}

/// Client certificates limited to those issued by the CAs in `bundle` (PEM bundle or DER).
///
/// # Errors
/// [`Error::Certificates`] if they do not parse.
pub fn client_auth_roots(bundle: &[u8]) -> Result<ClientAuth> {
    simforge_server::read_certificates(bundle)
        .map(ClientAuth::Roots)
        .map_err(Error::Certificates)
}

/// How long one ES2+ callback POST may take, and how long a node holds the events it claimed
/// from the outbox. Several nodes share one outbox: an operator's events are claimed by one
/// node at a time, under a lease; a node stops starting new POSTs at half its lease, so with
/// the lease at least three times the timeout its last POST has ended before the lease does,
/// and no other node ever sends that operator's events at the same time (order holds). A
/// node killed mid-POST leaves its claim to expire; another node then sends the event again
/// with the same functionCallIdentifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackTiming {
    request_timeout: Duration,
    lease: Duration,
}

impl Default for CallbackTiming {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            lease: Duration::from_secs(300),
        }
    }
}

impl CallbackTiming {
    /// A POST timeout and a lease.
    ///
    /// # Errors
    /// [`Error::Invalid`]: a zero timeout, or a lease shorter than three timeouts.
    pub fn new(request_timeout: Duration, lease: Duration) -> Result<Self> {
        if request_timeout.is_zero() {
            return Err(Error::invalid_because(
                "callback timeout",
                "it must be at least one second",
            ));
        }
        if lease < request_timeout.saturating_mul(3) {
            return Err(Error::invalid_because(
                "callback lease",
                format!(
                    "it must be at least three times the callback timeout ({} s)",
                    request_timeout.as_secs()
                ),
            ));
        }
        Ok(Self {
            request_timeout,
            lease,
        })
    }

    /// The timeout of one POST.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// How long claimed events stay reserved to the node that claimed them.
    #[must_use]
    pub fn lease(&self) -> Duration {
        self.lease
    }
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Reverse proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<simforge_server::Cidr>,
    /// Days an outbox event is kept (0: for ever).
    pub event_retention_days: u32,
    /// Which TLS client certificates the listener asks for.
    pub client_auth: ClientAuth,
    /// The counter of log lines that could not be written (shown in `/metrics`).
    pub log_errors: simforge_server::LogWriteErrors,
    /// Also serve `/metrics` on the ES9+ listener (else only through [`Server::metrics_router`],
    /// on a private listener).
    pub public_metrics: bool,
    /// The DPtls key behind a signer (an HSM's, [`crate::hsm::tls_key`]) instead of the PKI
    /// directory's key file.
    pub tls_key: Option<simforge_server::TlsKey>,
    /// The ES2+ callbacks' POST timeout and claim lease.
    pub callbacks: CallbackTiming,
    /// forwardingIndicator of the SM-DP+'s ES12 registrations: `true` asks the SM-DSs the
    /// orders name (alternative SM-DSs) to register the events at the root SM-DS too (ES15).
    pub smds_forwarding: bool,
    /// An SM-DS co-hosted in this process (`serve --with-smds`): its FQDN and the socket it
    /// listens on, where the ES12 client reaches that name.
    pub local_smds: Option<(String, std::net::SocketAddr)>,
}

/// Key rotation on a running server (SIGHUP in `serve`): new DPauth/DPpb keys and CIs
/// ([`simforge_smdp::Smdp::rotate_keys`]: sessions in flight finish with the keys they
/// started with) and a new DPtls identity (new handshakes present it; established
/// connections keep theirs).
#[derive(Clone)]
pub struct Rotation {
    state: Arc<AppState<SessionCache<Store>>>,
    identity: Arc<simforge_server::ReloadableIdentity>,
}

impl std::fmt::Debug for Rotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotation").finish_non_exhaustive()
    }
}

impl Rotation {
    /// Takes `keys` and the DPtls `chain` and `key` into use at `now`. The TLS identity is
    /// checked first: when it is unusable nothing changes.
    ///
    /// # Errors
    /// [`Error::Config`]: the TLS key does not fit its certificate or is unusable.
    pub fn apply(
        &self,
        keys: SmdpKeys,
        chain: Vec<Vec<u8>>,
        key: simforge_server::TlsKey,
        now: i64,
    ) -> Result<()> {
        self.identity
            .replace(chain, key)
            .map_err(|e| Error::Config {
                context: "TLS configuration",
                source: Box::new(e),
            })?;
        self.state.smdp.rotate_keys(keys, now);
        Ok(())
    }

    /// The DPtls certificate served now (DER).
    #[must_use]
    pub fn tls_leaf(&self) -> Vec<u8> {
        self.identity.leaf()
    }
}

/// The SM-DP+ server, ready to run.
pub struct Server {
    state: Arc<AppState<SessionCache<Store>>>,
    store: Store,
    tls: rustls::ServerConfig,
    /// The DPtls identity served, replaceable while running ([`Server::rotation`]).
    identity: Arc<simforge_server::ReloadableIdentity>,
    callbacks: simforge_server::CallbackWorker<Store>,
    smds: simforge_server::SmdsWorker<Store>,
    retention_days: u32,
    public_metrics: bool,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("address", &self.state.smdp.config().address())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Assembles the server: the SM-DP+, the credentials from `store`, the callback worker
    /// (client keys unsealed by `vault`) and the TLS configuration of `tls`.
    ///
    /// # Errors
    /// [`Error::Config`] if the callback worker or the TLS configuration cannot be built.
    pub fn new(
        store: Store,
        vault: Arc<dyn Vault>,
        smdp: PlatformSmdp,
        tls: &TlsIdentity,
        opts: ServerOptions,
    ) -> Result<Self> {
        let config_err = |context, e: simforge_server::Error| Error::Config {
            context,
            source: Box::new(e),
        };
        let address = smdp.config().address();
        // ES2+ HandleDownloadProgressInfo: the events outbox to the operators' endpoints.
        let mut callback_config = simforge_server::CallbackConfig::new(&address);
        callback_config.request_timeout = opts.callbacks.request_timeout();
        callback_config.lease = opts.callbacks.lease();
        let callbacks =
            simforge_server::CallbackWorker::new(Arc::new(store.clone()), callback_config)
                .map_err(|e| config_err("callback worker", e))?
                .with_settings(Arc::new(StoreEndpoints {
                    store: store.clone(),
                    vault,
                    server_identity_pem: tls.server_identity_pem.clone(),
                }));
        // ES12: the SM-DS operations ConfirmOrder with smdsAddress queues (and the deletes
        // when orders end), with the DPtls identity as client certificate; the SM-DSs
        // verified against the system roots and the PKI's CA file (a lab SM-DS's CI).
        let ca = std::fs::read(&tls.ca_pem).ok();
        // An identity rustls cannot present (a curve it lacks) leaves `serve` running for
        // everything else: the SM-DSs then refuse the calls (no client certificate), and
        // the operations are given up with that error.
        let es12 = simforge_server::Es12Client::resolving(
            &tls.server_identity_pem,
            ca.as_deref(),
            Duration::from_secs(10),
            opts.local_smds.as_ref().map(|(h, at)| (h.as_str(), *at)),
        )
        .unwrap_or_else(|e| {
            tracing::warn!(error = %simforge_server::ErrorChain(&e), "ES12 client without the DPtls identity");
            simforge_server::Es12Client::from_client(reqwest::Client::new())
        });
        let mut smds_config = simforge_server::SmdsWorkerConfig::new(&address);
        smds_config.forwarding_indicator = opts.smds_forwarding;
        let smds = simforge_server::SmdsWorker::new(Arc::new(store.clone()), es12, smds_config);
        let key = match opts.tls_key {
            Some(k) => k,
            None => simforge_server::TlsKey::Pkcs8(tls.key_pkcs8.to_vec()),
        };
        let (tls, identity) =
            simforge_server::tls_config_reloadable(tls.chain.clone(), key, opts.client_auth)
                .map_err(|e| config_err("TLS configuration", e))?;
        let state = Arc::new(AppState {
            smdp,
            credentials: CredentialCache::new(
                Arc::new(StoreCredentials(store.clone())),
                CREDENTIAL_CACHE_TTL,
            ),
            metrics: Metrics::with_log_write_errors(opts.log_errors),
            limits: simforge_server::SourceLimits::new(simforge_server::TrustedProxies(
                opts.trusted_proxies,
            )),
        });
        let metrics = Arc::clone(&state);
        let smds = smds.with_observer(Arc::new(move |op: &str, result: &str| {
            metrics.metrics.smds_op(op, result);
        }));
        Ok(Self {
            identity,
            state,
            store,
            tls,
            callbacks,
            smds,
            retention_days: opts.event_retention_days,
            public_metrics: opts.public_metrics,
        })
    }

    /// The TLS configuration of the ES9+ listener (its DPtls identity), for another listener
    /// of the same server (the operator API with `--admin-tls`).
    #[must_use]
    pub fn tls_config(&self) -> rustls::ServerConfig {
        self.tls.clone()
    }

    /// What takes new keys into use while this server runs (see [`Rotation`]).
    #[must_use]
    pub fn rotation(&self) -> Rotation {
        Rotation {
            state: self.state.clone(),
            identity: self.identity.clone(),
        }
    }

    /// `/metrics` of this server, for a private listener.
    pub fn metrics_router(&self) -> axum::Router {
        simforge_server::metrics_router(self.state.clone())
    }

    /// The SM-DP+ address (host:port).
    #[must_use]
    pub fn address(&self) -> String {
        self.state.smdp.config().address()
    }

    /// Serves on `listener` until `shutdown` resolves (or the server fails), with the purge
    /// (every [`PURGE_INTERVAL`]) and the callback worker running; then stops accepting and
    /// syncs the deferred commits of the last moments.
    ///
    /// # Errors
    /// [`Error::Server`], [`Error::ServerTask`], [`Error::Smdp`] (the final sync).
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let purge = {
            let state = self.state.clone();
            let store = self.store.clone();
            let retention_days = self.retention_days;
            tokio::spawn(async move {
                let mut every = tokio::time::interval(PURGE_INTERVAL);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    purge(&state.smdp, &store, unix_now(), retention_days).await;
                }
            })
        };
        let callbacks = self.callbacks.spawn();
        let smds = self.smds.spawn();
        // The accept loop runs on a worker thread, not on the caller's (the runtime's
        // `block_on` thread): each accepted connection's task then starts on the accepting
        // worker's own queue instead of waking a worker across threads (BENCHMARKS.md,
        // round 5).
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut server = tokio::spawn(simforge_server::serve_tls_until(
            listener,
            self.tls,
            match self.public_metrics {
                true => simforge_server::router(self.state),
                false => simforge_server::es_router(self.state),
            },
            simforge_server::Timeouts::default(),
            async {
                let _ = stopped.await;
            },
        ));
        let ended = tokio::select! {
            r = &mut server => Some(r),
            () = shutdown => None,
        };
        if let Some(r) = ended {
            callbacks.abort();
            smds.abort();
            purge.abort();
            r.map_err(Error::ServerTask)?.map_err(Error::Server)?;
        } else {
            // Stop accepting, let the requests in flight be answered (the drain), so that
            // no request is cut and none runs while the last deferred commits are synced.
            let _ = stop.send(());
            let _ = server.await;
            callbacks.abort();
            smds.abort();
            purge.abort();
        }
        // Deferred commits (InitiateAuthentication, AuthenticateClient, HandleNotification).
        self.store.sync_deferred().await?;
        Ok(())
    }
}

/// `t` in seconds since the Unix epoch (0 before it).
pub(crate) fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Seconds since the Unix epoch: the wall clock at this crate's edge.
pub(crate) fn unix_now() -> i64 {
    unix(SystemTime::now())
}

/// One purge at `now`: expired ES9+ sessions (downloads abandoned, install notifications
/// never sent) and, with a retention, outbox events older than `retention_days`. Failures
/// are logged (the next round tries again).
pub async fn purge(smdp: &PlatformSmdp, store: &Store, now: i64, retention_days: u32) {
    match smdp.purge_expired_sessions(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "expired ES9+ sessions deleted"),
        Err(e) => {
            tracing::warn!(error = %simforge_server::ErrorChain(&e), "purging expired ES9+ sessions")
        }
    }
    if retention_days > 0 {
        purge_events(store, now - i64::from(retention_days) * 86_400).await;
        purge_smds_ops(store, now - i64::from(retention_days) * 86_400).await;
    }
}

/// Deletes the finished SM-DS operations queued before `before`, in batches.
async fn purge_smds_ops(store: &Store, before: i64) {
    use simforge_smdp::SmdsQueue as _;
    const BATCH: u32 = 1000;
    let mut total = 0;
    loop {
        match store.purge_smds_ops(before, BATCH).await {
            Ok(n) => {
                total += n;
                if n < u64::from(BATCH) {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %simforge_server::ErrorChain(&e), "deleting SM-DS operations past retention");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(
            operations = total,
            "SM-DS operations past retention deleted"
        );
    }
}

/// Deletes the outbox events created before `before`, in batches (each its own short
/// transaction, so that the SM-DP+'s go on between them).
async fn purge_events(store: &Store, before: i64) {
    const BATCH: u32 = 1000;
    let mut total = 0;
    loop {
        match store.delete_events_before(before, BATCH).await {
            Ok(n) => {
                total += n;
                if n < u64::from(BATCH) {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %simforge_server::ErrorChain(&e), "deleting outbox events past retention");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(events = total, "outbox events past retention deleted");
    }
}

#[cfg(test)]
mod tests {
    use super::{CallbackTiming, ConfigFile, Duration, Error};

    #[test]
    fn unseals_are_audited_unless_the_file_says_not_to() {
        let default: ConfigFile = toml::from_str("").unwrap();
        assert!(default.smdp_config("smdp.test", 443, None).audit_unseals);
        let off: ConfigFile = toml::from_str("audit_unseals = false").unwrap();
        assert!(!off.smdp_config("smdp.test", 443, None).audit_unseals);
    }

    /// Several nodes share the outbox: a node must be done with its last POST before its
    /// claim runs out, or two nodes could send one operator's events at once.
    #[test]
    fn callback_lease_covers_three_timeouts() {
        let s = Duration::from_secs;
        assert_eq!(
            CallbackTiming::new(s(10), s(300)).unwrap(),
            CallbackTiming::default()
        );
        assert!(CallbackTiming::new(s(4), s(12)).is_ok());
        assert!(matches!(
            CallbackTiming::new(s(4), s(11)),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            CallbackTiming::new(s(0), s(300)),
            Err(Error::Invalid { .. })
        ));
        let file: ConfigFile =
            toml::from_str("callback_timeout_secs = 5\ncallback_lease_secs = 60").unwrap();
        assert_eq!(file.callback_lease_secs, Some(60));
    }
}
