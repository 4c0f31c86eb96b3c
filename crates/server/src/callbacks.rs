//! ES2+.HandleDownloadProgressInfo delivery: a worker that drains the events outbox
//! ([`OutboxStore`]) to each operator's callback endpoint.
//!
//! Per operator, events go out one at a time in the order they were recorded; a 2xx answer
//! marks an event delivered, anything else (or no answer within the timeout) schedules a
//! retry with exponential backoff and holds that operator's later events back until the event
//! is delivered or, after [`CallbackConfig::max_attempts`], given up. Attempts and retry times
//! are persisted, so a restart continues where the last run stopped; an event being sent when
//! the process died is sent again after its lease (at least once: its functionCallIdentifier
//! `<prefix>-<outbox id>` is the same on every attempt, for the operator to drop duplicates).
//!
//! Per operator ([`EndpointSettings`], e.g. from the store): the TLS client identity the
//! SM-DP+ presents (ES2+ is mutually authenticated: the SM-DP+ authenticates to the operator
//! too), the CA bundle the operator's endpoint is verified against (besides the web PKI and
//! [`CallbackConfig::extra_roots_pem`]) and a retry horizon (an event is given up once its
//! next attempt would fall after the horizon, counted from the event, instead of after
//! [`CallbackConfig::max_attempts`]). Given-up events stay in the outbox for the operator's
//! administrator to redeliver.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use simforge_asn1::json;
use simforge_smdp::outbox::progress_info;
use simforge_smdp::{Event, OperatorId, OutboxEntry, OutboxStore};
use tokio::task::JoinSet;

use crate::Error;
use crate::http::ADMIN_PROTOCOL;

/// How the worker delivers.
#[derive(Clone, Debug)]
pub struct CallbackConfig {
    /// functionRequesterIdentifier of the requests: the SM-DP+ (its address).
    pub requester_id: String,
    /// Prefix of functionCallIdentifier (`<prefix>-<outbox id>`).
    pub call_id_prefix: String,
    /// Pause between polls of an empty (or not yet due) outbox.
    pub poll_interval: Duration,
    /// Timeout of one POST.
    pub request_timeout: Duration,
    /// Delay before the first retry; doubled on every further failure…
    pub backoff_base: Duration,
    /// …up to this.
    pub backoff_max: Duration,
    /// Attempts per event before it is given up.
    pub max_attempts: u32,
    /// How long claimed events are reserved for this worker.
    pub lease: Duration,
    /// Events claimed per poll.
    pub batch: u32,
    /// Extra trust anchors (PEM) for the operators' HTTPS endpoints, besides the web PKI.
    pub extra_roots_pem: Option<Vec<u8>>,
}

impl CallbackConfig {
    /// Defaults: poll every second, 10 s timeout, retries after 2 s, 4 s, … up to 10 min,
    /// 12 attempts (about an hour), 5 min lease, 64 events per poll.
    #[must_use]
    pub fn new(requester_id: &str) -> Self {
        Self {
            requester_id: requester_id.to_owned(),
            call_id_prefix: "simforge-hdpi".to_owned(),
            poll_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(600),
            max_attempts: 12,
            lease: Duration::from_secs(300),
            batch: 64,
            extra_roots_pem: None,
        }
    }

    /// Delay after the `failures`-th failed attempt (1-based).
    #[must_use]
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1).min(30))
            .unwrap_or(u32::MAX);
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

/// One operator's delivery settings, resolved (the client key unsealed) by the caller.
#[derive(Clone, Default)]
pub struct OperatorEndpoint {
    /// The TLS client identity: the certificate chain and its private key (PKCS#8, SEC1 or
    /// PKCS#1), PEM, in one buffer.
    pub identity_pem: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// Trust anchors (PEM) for the endpoint, besides the web PKI.
    pub ca_bundle_pem: Option<Vec<u8>>,
    /// How long after the event it is retried before it is given up (`None`:
    /// [`CallbackConfig::max_attempts`]).
    pub retry_horizon: Option<Duration>,
}

impl std::fmt::Debug for OperatorEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorEndpoint")
            .field(
                "identity",
                &self.identity_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("ca_bundle", &self.ca_bundle_pem.is_some())
            .field("retry_horizon", &self.retry_horizon)
            .finish()
    }
}

/// The future [`EndpointSettings::endpoint`] returns.
pub type EndpointFuture<'a> =
    Pin<Box<dyn Future<Output = Result<OperatorEndpoint, String>> + Send + 'a>>;

/// Where the worker finds each operator's delivery settings (looked up again after
/// [`SETTINGS_TTL`]).
pub trait EndpointSettings: Send + Sync {
    /// The settings of `operator`; `Err` says why they cannot be used (e.g. the client key
    /// does not unseal), and counts as a failed attempt.
    fn endpoint(&self, operator: OperatorId) -> EndpointFuture<'_>;
}

/// How long the worker keeps an operator's settings (and HTTP client) before it looks again.
pub const SETTINGS_TTL: Duration = Duration::from_secs(10);

/// An operator's HTTP client and retry horizon, as built from its settings.
#[derive(Clone)]
struct OperatorClient {
    client: reqwest::Client,
    retry_horizon: Option<Duration>,
    at: Instant,
}

/// The delivery worker.
pub struct CallbackWorker<S> {
    store: Arc<S>,
    client: reqwest::Client,
    config: Arc<CallbackConfig>,
    settings: Option<Arc<dyn EndpointSettings>>,
    clients: Arc<Mutex<HashMap<OperatorId, OperatorClient>>>,
}

impl<S> std::fmt::Debug for CallbackWorker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackWorker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What became of one operator's claimed events in one round.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundStats {
    /// Delivered (2xx).
    pub delivered: usize,
    /// Failed attempts (to be retried or given up).
    pub failed: usize,
    /// Not notification points: marked done without a request.
    pub skipped: usize,
}

impl<S: OutboxStore + 'static> CallbackWorker<S> {
    /// A worker over `store`.
    ///
    /// # Errors
    /// [`Error::Tls`] if the HTTP client cannot be built (bad extra roots).
    pub fn new(store: Arc<S>, config: CallbackConfig) -> Result<Self, Error> {
        let client = build_client(&config, &OperatorEndpoint::default())?;
        Ok(Self {
            store,
            client,
            config: Arc::new(config),
            settings: None,
            clients: Arc::default(),
        })
    }

    /// Delivers with each operator's own settings (client identity, CA bundle, retry
    /// horizon) from `settings`.
    #[must_use]
    pub fn with_settings(mut self, settings: Arc<dyn EndpointSettings>) -> Self {
        self.settings = Some(settings);
        self
    }

    /// The HTTP client and retry horizon for `op`: the shared client without settings,
    /// else one built from the operator's settings (kept for [`SETTINGS_TTL`]).
    async fn client_for(
        &self,
        op: OperatorId,
    ) -> Result<(reqwest::Client, Option<Duration>), String> {
        let Some(settings) = &self.settings else {
            return Ok((self.client.clone(), None));
        };
        if let Some(c) = lock(&self.clients).get(&op)
            && c.at.elapsed() < SETTINGS_TTL
        {
            return Ok((c.client.clone(), c.retry_horizon));
        }
        let endpoint = settings.endpoint(op).await?;
        let client =
            build_client(&self.config, &endpoint).map_err(|e| format!("callback settings: {e}"))?;
        lock(&self.clients).insert(
            op,
            OperatorClient {
                client: client.clone(),
                retry_horizon: endpoint.retry_horizon,
                at: Instant::now(),
            },
        );
        Ok((client, endpoint.retry_horizon))
    }

    /// Starts the worker on the current tokio runtime (it runs until aborted).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Polls and delivers forever.
    pub async fn run(self) {
        loop {
            match self.run_once().await {
                Ok(s) if s.delivered + s.failed + s.skipped > 0 => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %crate::ErrorChain(&e), "callback outbox unavailable")
                }
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    /// One round: claims what is due and delivers it, operators in parallel.
    ///
    /// # Errors
    /// The store's error if the claim fails.
    pub async fn run_once(&self) -> Result<RoundStats, simforge_smdp::Error> {
        let started = Instant::now();
        let claimed = self
            .store
            .claim_outbox(now_ms(), ms(self.config.lease), self.config.batch)
            .await?;
        let mut by_op: BTreeMap<OperatorId, Vec<OutboxEntry>> = BTreeMap::new();
        for e in claimed {
            by_op.entry(e.operator_id).or_default().push(e);
        }
        let mut set = JoinSet::new();
        for (op, events) in by_op {
            let store = Arc::clone(&self.store);
            let config = Arc::clone(&self.config);
            let client = self.client_for(op).await;
            set.spawn(async move {
                deliver_operator(&*store, client, &config, op, events, started).await
            });
        }
        let mut total = RoundStats::default();
        while let Some(r) = set.join_next().await {
            match r {
                Ok(s) => {
                    total.delivered += s.delivered;
                    total.failed += s.failed;
                    total.skipped += s.skipped;
                }
                Err(e) => tracing::error!(error = %e, "callback delivery task failed"),
            }
        }
        Ok(total)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The HTTP client for an operator: the worker's defaults, plus the operator's CA bundle and
/// client identity.
fn build_client(config: &CallbackConfig, ep: &OperatorEndpoint) -> Result<reqwest::Client, Error> {
    let mut b = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .redirect(reqwest::redirect::Policy::none());
    for pem in [&config.extra_roots_pem, &ep.ca_bundle_pem]
        .into_iter()
        .flatten()
    {
        for c in reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| Error::tls("callback CA bundle", e))?
        {
            b = b.add_root_certificate(c);
        }
    }
    if let Some(pem) = &ep.identity_pem {
        // The error names what is wrong with the PEM, never its content.
        let id = reqwest::Identity::from_pem(pem)
            .map_err(|e| Error::tls("callback client identity", e.without_url()))?;
        b = b.identity(id);
    }
    b.build().map_err(|e| Error::tls("callback HTTP client", e))
}

/// When the event happened, milliseconds since the Unix epoch.
fn event_at_ms(e: &Event) -> i64 {
    let at = match e {
        Event::DownloadProgress { at, .. } | Event::ProfileState { at, .. } => *at,
    };
    at.saturating_mul(1000)
}

fn iccid(e: &Event) -> &str {
    match e {
        Event::DownloadProgress { iccid, .. } | Event::ProfileState { iccid, .. } => iccid.as_str(),
    }
}

/// Delivers one operator's claimed events in order, stopping at the first failure.
async fn deliver_operator<S: OutboxStore>(
    store: &S,
    client: Result<(reqwest::Client, Option<Duration>), String>,
    config: &CallbackConfig,
    op: OperatorId,
    events: Vec<OutboxEntry>,
    started: Instant,
) -> RoundStats {
    let (client, horizon) = match client {
        Ok((c, h)) => (Some(c), h),
        Err(why) => {
            tracing::warn!(operator = op, error = %why, "operator callback settings unusable");
            (None, None)
        }
    };
    let mut stats = RoundStats::default();
    let mut pending = events.into_iter();
    let mut skipped = Vec::new();
    while let Some(entry) = pending.next() {
        let call_id = format!("{}-{}", config.call_id_prefix, entry.id);
        let body = match progress_info(&entry.event, &config.requester_id, &call_id).and_then(|r| {
            r.map(|r| {
                json::to_json(&r).map_err(|e| {
                    simforge_smdp::Error::Storage(simforge_smdp::error::Cause::with_source(
                        "encoding the callback request",
                        e,
                    ))
                })
            })
            .transpose()
        }) {
            Ok(Some(b)) => b,
            Ok(None) => {
                skipped.push(entry.id);
                continue;
            }
            Err(e) => {
                tracing::error!(operator = op, event = entry.id, iccid = iccid(&entry.event), error = %e, "undeliverable event given up");
                if let Err(e) = store
                    .outbox_failed(op, entry.id, &e.to_string(), None, now_ms())
                    .await
                {
                    tracing::warn!(operator = op, event = entry.id, iccid = iccid(&entry.event), error = %crate::ErrorChain(&e), "outbox update failed");
                }
                stats.failed += 1;
                continue;
            }
        };
        // Events skipped so far are done whatever happens next.
        if !skipped.is_empty() {
            flush_skipped(store, op, &mut skipped, &mut stats).await;
        }
        let sent = match &client {
            Some(c) => post(c, &entry.endpoint, body).await,
            None => Err("operator callback settings unusable (see the log)".to_owned()),
        };
        match sent {
            Ok(()) => {
                stats.delivered += 1;
                tracing::info!(
                    operator = op,
                    event = entry.id,
                    iccid = iccid(&entry.event),
                    attempts = entry.attempts + 1,
                    "HandleDownloadProgressInfo delivered"
                );
                if let Err(e) = store.outbox_delivered(op, entry.id, now_ms()).await {
                    tracing::warn!(operator = op, event = entry.id, iccid = iccid(&entry.event), error = %crate::ErrorChain(&e), "outbox update failed");
                    release_rest(store, op, pending).await;
                    return stats;
                }
            }
            Err(why) => {
                stats.failed += 1;
                let failures = entry.attempts + 1;
                let next_at = now_ms().saturating_add(ms(config.backoff(failures)));
                let retry = match horizon {
                    Some(h) => next_at <= event_at_ms(&entry.event).saturating_add(ms(h)),
                    None => failures < config.max_attempts,
                };
                let next = retry.then_some(next_at);
                if next.is_some() {
                    tracing::info!(operator = op, event = entry.id, iccid = iccid(&entry.event), attempts = failures, error = %why, "HandleDownloadProgressInfo failed, will retry");
                } else {
                    tracing::warn!(operator = op, event = entry.id, iccid = iccid(&entry.event), attempts = failures, error = %why, "HandleDownloadProgressInfo given up");
                }
                if let Err(e) = store
                    .outbox_failed(op, entry.id, &why, next, now_ms())
                    .await
                {
                    tracing::warn!(operator = op, event = entry.id, iccid = iccid(&entry.event), error = %crate::ErrorChain(&e), "outbox update failed");
                }
                if next.is_some() {
                    // Later events wait behind this one.
                    release_rest(store, op, pending).await;
                    return stats;
                }
            }
        }
        if started.elapsed() > config.lease / 2 {
            release_rest(store, op, pending).await;
            return stats;
        }
    }
    flush_skipped(store, op, &mut skipped, &mut stats).await;
    stats
}

async fn flush_skipped<S: OutboxStore>(
    store: &S,
    op: OperatorId,
    skipped: &mut Vec<i64>,
    stats: &mut RoundStats,
) {
    if skipped.is_empty() {
        return;
    }
    match store.outbox_skip(op, skipped, now_ms()).await {
        Ok(()) => stats.skipped += skipped.len(),
        Err(e) => {
            tracing::warn!(operator = op, error = %crate::ErrorChain(&e), "outbox update failed")
        }
    }
    skipped.clear();
}

async fn release_rest<S: OutboxStore>(
    store: &S,
    op: OperatorId,
    rest: impl Iterator<Item = OutboxEntry>,
) {
    let ids: Vec<i64> = rest.map(|e| e.id).collect();
    if ids.is_empty() {
        return;
    }
    if let Err(e) = store.outbox_release(op, &ids).await {
        tracing::warn!(operator = op, error = %crate::ErrorChain(&e), "outbox release failed");
    }
}

/// POSTs one ES2+ request; `Err` describes why it does not count as delivered.
async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<(), String> {
    let resp = client
        .post(url)
        .header("content-type", "application/json;charset=UTF-8")
        .header("x-admin-protocol", ADMIN_PROTOCOL)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            // reqwest errors carry the URL; keep only what went wrong.
            let e = e.without_url();
            format!("request failed: {e}")
        })?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", status.as_u16()))
    }
}
