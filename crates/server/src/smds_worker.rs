//! The SM-DP+'s SM-DS worker: delivers the queued SM-DS operations ([`SmdsQueue`], queued by
//! the SM-DP+ in the transactions of ES2+.ConfirmOrder and of whatever ends an order) with
//! the ES12 client ([`Es12Client`]), at least once, with backoff. The same worker delivers
//! an alternative SM-DS's ES15 forwards to the root SM-DS (`simforge_smds::ForwardQueue`,
//! with [`Es12Client::es15`] and the SM-DS's address).
//!
//! A register is ES12.RegisterEvent (EventID = the order's matchingId, rspServerAddress = this
//! SM-DP+, forwardingIndicator [`SmdsWorkerConfig::forwarding_indicator`]), a delete
//! ES12.DeleteEvent. "Already registered" and
//! "unknown event" count as done (a retry of a call that did arrive), so delivering twice is
//! harmless. An SM-DS that does not answer (or answers 1.2 / 4.2, or not as SGP.22) is tried
//! again after `backoff_base`, doubled per failure up to `backoff_max`, until `give_up_after`
//! from the operation's due time; an SM-DS that refuses the call with another code gives it up
//! at once (the same request would be refused again). Given-up operations stay in the queue
//! with their last error. The store serializes the operations of one event (a delete never
//! overtakes its register), and its claims lease what they return, so several workers (nodes)
//! never send the same operation at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use simforge_asn1::json::{DeleteEventRequest, RegisterEventRequest, RequestHeader};
use simforge_smdp::{SmdsOpEntry, SmdsOpKind, SmdsQueue};
use tokio::task::JoinSet;

use crate::es12::{Es12Client, Es12Outcome};

/// How the SM-DS worker delivers.
#[derive(Clone, Debug)]
pub struct SmdsWorkerConfig {
    /// functionRequesterIdentifier of the requests, and the events' rspServerAddress: this
    /// SM-DP+'s address (an alternative SM-DS's own, for its ES15 forwards).
    pub smdp_address: String,
    /// forwardingIndicator of the registrations: `true` asks an alternative SM-DS to register
    /// the event at the root SM-DS too (ES15); always `false` for an SM-DS's forwards.
    pub forwarding_indicator: bool,
    /// Prefix of functionCallIdentifier (`<prefix>-<queue id>`, the same on every retry).
    pub call_id_prefix: String,
    /// Pause between polls of an empty (or not yet due) queue.
    pub poll_interval: Duration,
    /// Delay before the first retry; doubled on every further failure…
    pub backoff_base: Duration,
    /// …up to this.
    pub backoff_max: Duration,
    /// How long after its due time an operation the SM-DS does not answer is retried.
    pub give_up_after: Duration,
    /// How long claimed operations are reserved for this worker.
    pub lease: Duration,
    /// Operations claimed per poll (sent concurrently: each is another event).
    pub batch: u32,
}

impl SmdsWorkerConfig {
    /// Defaults: poll every second, retries after 2 s, 4 s, … up to 10 min, for 7 days;
    /// 5 min lease, 64 operations per poll.
    #[must_use]
    pub fn new(smdp_address: &str) -> Self {
        Self {
            smdp_address: smdp_address.to_owned(),
            forwarding_indicator: false,
            call_id_prefix: "simforge-es12".to_owned(),
            poll_interval: Duration::from_secs(1),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(600),
            give_up_after: Duration::from_secs(7 * 86_400),
            lease: Duration::from_secs(300),
            batch: 64,
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

/// What became of the operations of one round.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SmdsRoundStats {
    /// Done at the SM-DS (or found done).
    pub done: usize,
    /// Failed, to be retried.
    pub retried: usize,
    /// Given up.
    pub given_up: usize,
}

/// What the worker reports each call to (`op`, `done` / `retry` / `given_up`): metrics.
pub type SmdsObserver = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// The SM-DS worker.
pub struct SmdsWorker<S> {
    store: Arc<S>,
    client: Es12Client,
    config: Arc<SmdsWorkerConfig>,
    observer: Option<SmdsObserver>,
}

impl<S> std::fmt::Debug for SmdsWorker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmdsWorker")
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

/// How one operation ended.
enum Sent {
    Done,
    Retry,
    GivenUp,
}

impl Sent {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Retry => "retry",
            Self::GivenUp => "given_up",
        }
    }
}

impl<S: SmdsQueue + 'static> SmdsWorker<S> {
    /// A worker over `store`, calling SM-DSs with `client` (the SM-DP+'s DPtls identity).
    #[must_use]
    pub fn new(store: Arc<S>, client: Es12Client, config: SmdsWorkerConfig) -> Self {
        Self {
            store,
            client,
            config: Arc::new(config),
            observer: None,
        }
    }

    /// Reports each call's outcome to `observer` (e.g. [`crate::Metrics::smds_op`]).
    #[must_use]
    pub fn with_observer(mut self, observer: SmdsObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Starts the worker on the current tokio runtime (it runs until aborted).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Polls and delivers forever, on the wall clock.
    pub async fn run(self) {
        loop {
            match self.run_once(now_ms()).await {
                Ok(s) if s.done + s.retried + s.given_up > 0 => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %crate::ErrorChain(&e), "SM-DS queue unavailable")
                }
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    /// One round at `now_ms` (milliseconds since the Unix epoch): claims what is due and
    /// sends it, every operation concurrently.
    ///
    /// # Errors
    /// The store's error if the claim fails.
    pub async fn run_once(&self, now_ms: i64) -> Result<SmdsRoundStats, simforge_smdp::Error> {
        let claimed = self
            .store
            .claim_smds_ops(now_ms, ms(self.config.lease), self.config.batch)
            .await?;
        let mut set = JoinSet::new();
        for entry in claimed {
            let store = Arc::clone(&self.store);
            let client = self.client.clone();
            let config = Arc::clone(&self.config);
            let observer = self.observer.clone();
            set.spawn(async move {
                let op = entry.op.kind.as_str();
                let sent = send(&*store, &client, &config, entry, now_ms).await;
                if let Some(o) = observer {
                    o(op, sent.as_str());
                }
                sent
            });
        }
        let mut stats = SmdsRoundStats::default();
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Sent::Done) => stats.done += 1,
                Ok(Sent::Retry) => stats.retried += 1,
                Ok(Sent::GivenUp) => stats.given_up += 1,
                Err(e) => tracing::error!(error = %e, "SM-DS delivery task failed"),
            }
        }
        Ok(stats)
    }
}

/// Sends one operation and records how it went.
async fn send<S: SmdsQueue>(
    store: &S,
    client: &Es12Client,
    config: &SmdsWorkerConfig,
    entry: SmdsOpEntry,
    now_ms: i64,
) -> Sent {
    let op = &entry.op;
    let header = RequestHeader {
        function_requester_identifier: config.smdp_address.clone(),
        function_call_identifier: format!("{}-{}", config.call_id_prefix, entry.id),
    };
    let outcome = match op.kind {
        SmdsOpKind::Register => {
            let req = RegisterEventRequest {
                header,
                eid: op.eid,
                rsp_server_address: config.smdp_address.clone(),
                event_id: op.event_id.as_str().to_owned(),
                forwarding_indicator: Some(config.forwarding_indicator),
            };
            client.register_event(&op.smds_address, &req).await
        }
        SmdsOpKind::Delete => {
            let req = DeleteEventRequest {
                header,
                eid: op.eid,
                event_id: op.event_id.as_str().to_owned(),
            };
            client.delete_event(&op.smds_address, &req).await
        }
    };
    let failures = entry.attempts + 1;
    let (sent, recorded) = match outcome {
        Es12Outcome::Done => {
            tracing::info!(
                operator = op.operator_id,
                iccid = op.iccid.as_ref().map(|i| i.as_str()),
                smds = op.smds_address,
                op = op.kind.as_str(),
                attempts = failures,
                "SM-DS event operation done"
            );
            (Sent::Done, store.smds_op_done(entry.id, now_ms).await)
        }
        Es12Outcome::Refused(code) => {
            let why = format!("refused by the SM-DS: {code}");
            tracing::warn!(operator = op.operator_id, iccid = op.iccid.as_ref().map(|i| i.as_str()), smds = op.smds_address, op = op.kind.as_str(), error = %why, "SM-DS event operation given up");
            (
                Sent::GivenUp,
                store.smds_op_failed(entry.id, &why, None, now_ms).await,
            )
        }
        Es12Outcome::Retry(why) => {
            let next = now_ms.saturating_add(ms(config.backoff(failures)));
            let horizon = op
                .due
                .saturating_mul(1000)
                .saturating_add(ms(config.give_up_after));
            if next <= horizon {
                tracing::info!(operator = op.operator_id, iccid = op.iccid.as_ref().map(|i| i.as_str()), smds = op.smds_address, op = op.kind.as_str(), attempts = failures, error = %why, "SM-DS event operation failed, will retry");
                (
                    Sent::Retry,
                    store
                        .smds_op_failed(entry.id, &why, Some(next), now_ms)
                        .await,
                )
            } else {
                tracing::warn!(operator = op.operator_id, iccid = op.iccid.as_ref().map(|i| i.as_str()), smds = op.smds_address, op = op.kind.as_str(), attempts = failures, error = %why, "SM-DS event operation given up");
                (
                    Sent::GivenUp,
                    store.smds_op_failed(entry.id, &why, None, now_ms).await,
                )
            }
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(operation = entry.id, error = %crate::ErrorChain(&e), "SM-DS queue update failed");
    }
    sent
}
