//! Persistence behind a trait: transactional load/save of sessions, profiles and events.
//!
//! A [`SmdpStore`] hands out transactions ([`SmdpTx`]); everything one request changes is
//! saved in one transaction, so two concurrent downloads can never bind the same profile and
//! a crash never leaves half a state change. The trait speaks only in the crate's types —
//! nothing in it is specific to SQLite (a PostgreSQL implementation runs the same calls
//! under `SERIALIZABLE` or `SELECT … FOR UPDATE`). [`ProfileRecord::version`] is an
//! optimistic-concurrency check: [`SmdpTx::put_profile`] fails with [`Error::Storage`] when
//! the stored version is not the one loaded, and increments it.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use simforge_asn1::{Eid, Iccid, TransactionId};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::cancel::CancelSessionPolicy;
use crate::error::{Error, Result};
pub use crate::memory_outbox::Delivery;
use crate::model::{Event, OperatorId, ProfileRecord, ProfileState, Session, UnixTime, Unseal};
use crate::smds_queue::{MemorySmdsQueue, SmdsOp};

/// One transaction. Dropping it without [`SmdpTx::commit`] rolls back.
pub trait SmdpTx: Send {
    /// The session with this transactionId.
    fn session(
        &mut self,
        tid: &TransactionId,
    ) -> impl Future<Output = Result<Option<Session>>> + Send;
    /// Inserts or replaces a session.
    fn put_session(&mut self, s: &Session) -> impl Future<Output = Result<()>> + Send;
    /// Deletes a session (no error if absent).
    fn delete_session(&mut self, tid: &TransactionId) -> impl Future<Output = Result<()>> + Send;
    /// Deletes up to `limit` sessions that expired before `before`, or before
    /// `unbound_before` when no profile is bound to them (`Session::operator_id` is `None`);
    /// how many it deleted. A store may look at a bounded part of its sessions per call (so
    /// that a call is short whatever their number) and go on with the next part in the next
    /// call: fewer than `limit` does not mean none is left.
    fn delete_expired_sessions(
        &mut self,
        before: UnixTime,
        unbound_before: UnixTime,
        limit: usize,
    ) -> impl Future<Output = Result<usize>> + Send;
    /// A profile of `operator` by ICCID.
    fn profile(
        &mut self,
        operator: OperatorId,
        iccid: &Iccid,
    ) -> impl Future<Output = Result<Option<ProfileRecord>>> + Send;
    /// A profile by ICCID whatever its operator (ES9+ notifications, which carry no tenant).
    fn profile_any_operator(
        &mut self,
        iccid: &Iccid,
    ) -> impl Future<Output = Result<Option<ProfileRecord>>> + Send;
    /// The profile whose order has this matchingId.
    fn profile_by_matching_id(
        &mut self,
        matching_id: &str,
    ) -> impl Future<Output = Result<Option<ProfileRecord>>> + Send;
    /// A released (or downloaded, for a retry) order linked to `eid` without a matchingId
    /// requirement: the oldest one.
    fn pending_profile_for_eid(
        &mut self,
        eid: &Eid,
    ) -> impl Future<Output = Result<Option<ProfileRecord>>> + Send;
    /// An Available profile of `operator` and `profile_type`.
    fn available_profile(
        &mut self,
        operator: OperatorId,
        profile_type: &str,
    ) -> impl Future<Output = Result<Option<ProfileRecord>>> + Send;
    /// Inserts a new profile ([`Error::IccidInUse`] if the ICCID exists).
    fn insert_profile(&mut self, p: &ProfileRecord) -> impl Future<Output = Result<()>> + Send;
    /// Saves a loaded profile (version check, then version + 1).
    fn put_profile(&mut self, p: &ProfileRecord) -> impl Future<Output = Result<()>> + Send;
    /// Appends events (the operator notification outbox).
    fn push_events(&mut self, events: &[Event]) -> impl Future<Output = Result<()>> + Send;
    /// Queues operations for SM-DSs (ES12 register / delete, see [`crate::smds_queue`]),
    /// delivered after the commit by the SM-DS worker ([`crate::SmdsQueue`]). A pending
    /// operation not yet due (`due` after the new one's `at`) of the same operator, SM-DS,
    /// EID and EventID is superseded by each new one.
    fn push_smds_ops(&mut self, ops: &[SmdsOp]) -> impl Future<Output = Result<()>> + Send;
    /// Records that the SM-DP+ unsealed a profile package (the platform's stores append a
    /// `profile.unseal` entry to the audit log, in this transaction: it commits, or rolls
    /// back, with the state change of the call that unsealed).
    fn record_unseal(&mut self, unseal: &Unseal) -> impl Future<Output = Result<()>> + Send;
    /// Profile counts of `operator` by state.
    fn count_by_state(
        &mut self,
        operator: OperatorId,
    ) -> impl Future<Output = Result<Vec<(ProfileState, u64)>>> + Send;
    /// What ES9+.CancelSession does to `operator`'s profiles (its setting, else the default).
    /// The default implementation knows no settings.
    fn cancel_session_policy(
        &mut self,
        operator: OperatorId,
    ) -> impl Future<Output = Result<CancelSessionPolicy>> + Send {
        let _ = operator;
        async { Ok(CancelSessionPolicy::default()) }
    }
    /// The SM-DS at which `operator`'s orders with an EID register their events when
    /// ConfirmOrder names none (its setting). The default implementation knows no settings.
    fn default_smds_address(
        &mut self,
        operator: OperatorId,
    ) -> impl Future<Output = Result<Option<String>>> + Send {
        let _ = operator;
        async { Ok(None) }
    }
    /// Commits: atomically, and durably before it returns.
    fn commit(self) -> impl Future<Output = Result<()>> + Send;
    /// Commits atomically and visibly at once, but returns before the commit is durable: it
    /// becomes durable with the next durable commit (stores keep commits in order, so a
    /// durable commit covers every earlier one) or within a short bound of the store's
    /// (PostgreSQL's `synchronous_commit = off` for one transaction). For a change whose loss on
    /// power failure equals the call never having arrived, and whose answer promises nothing
    /// that a later call does not check again. The default commits durably.
    fn commit_deferred(self) -> impl Future<Output = Result<()>> + Send
    where
        Self: Sized,
    {
        self.commit()
    }
}

/// A store of SM-DP+ state.
pub trait SmdpStore: Send + Sync {
    /// Its transactions.
    type Tx: SmdpTx;
    /// Begins a write transaction.
    fn begin(&self) -> impl Future<Output = Result<Self::Tx>> + Send;
}

/// An in-memory store, for tests and demos: one transaction at a time; its outbox too
/// ([`crate::OutboxStore`], in `memory_outbox`).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    pub(crate) data: Arc<Mutex<MemData>>,
}

/// The content of a [`MemoryStore`].
#[derive(Clone, Debug, Default)]
pub struct MemData {
    /// Sessions by transactionId.
    pub sessions: BTreeMap<TransactionId, Session>,
    /// Profiles by ICCID.
    pub profiles: BTreeMap<Iccid, ProfileRecord>,
    /// The outbox.
    pub events: Vec<Event>,
    /// The delivery state of each event of `events` (same index; see [`OutboxStore`]).
    ///
    /// [`OutboxStore`]: crate::OutboxStore
    pub deliveries: Vec<Delivery>,
    /// The last outbox id given.
    pub last_event_id: i64,
    /// Operators' callback endpoints (URLs).
    pub callback_urls: BTreeMap<OperatorId, String>,
    /// Operators' CancelSession policies (absent: the default).
    pub cancel_policies: BTreeMap<OperatorId, CancelSessionPolicy>,
    /// The profile packages unsealed, in order (what the SQL stores append to the audit log).
    pub unseals: Vec<Unseal>,
    /// The SM-DS operations queued, in order, with their delivery state.
    pub smds: MemorySmdsQueue,
    /// Operators' default SM-DS addresses.
    pub default_smds_addresses: BTreeMap<OperatorId, String>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `data` (e.g. a [`MemoryStore::snapshot`] of another one: what a
    /// restarted server finds on disk).
    #[must_use]
    pub fn from_data(data: MemData) -> Self {
        Self {
            data: Arc::new(Mutex::new(data)),
        }
    }

    /// Sets an operator's CancelSession policy.
    pub async fn set_cancel_session_policy(
        &self,
        operator: OperatorId,
        policy: CancelSessionPolicy,
    ) {
        self.data
            .lock()
            .await
            .cancel_policies
            .insert(operator, policy);
    }

    /// Sets (or with `None` removes) an operator's default SM-DS address.
    pub async fn set_default_smds_address(&self, operator: OperatorId, address: Option<&str>) {
        let mut d = self.data.lock().await;
        match address {
            Some(a) => d.default_smds_addresses.insert(operator, a.to_owned()),
            None => d.default_smds_addresses.remove(&operator),
        };
    }

    /// A copy of the current content.
    pub async fn snapshot(&self) -> MemData {
        self.data.lock().await.clone()
    }
}

/// A [`MemoryStore`] transaction: works on a copy, written back on commit.
#[derive(Debug)]
pub struct MemoryTx {
    guard: OwnedMutexGuard<MemData>,
    work: MemData,
}

impl SmdpStore for MemoryStore {
    type Tx = MemoryTx;
    async fn begin(&self) -> Result<MemoryTx> {
        let guard = Arc::clone(&self.data).lock_owned().await;
        let work = guard.clone();
        Ok(MemoryTx { guard, work })
    }
}

impl MemoryTx {
    /// Whether another profile holds `p`'s matchingId (unique, as in the SQL stores).
    fn matching_id_taken(&self, p: &ProfileRecord) -> bool {
        p.matching_id.as_ref().is_some_and(|m| {
            self.work
                .profiles
                .values()
                .any(|o| o.iccid != p.iccid && o.matching_id.as_ref() == Some(m))
        })
    }
}

impl SmdpTx for MemoryTx {
    async fn session(&mut self, tid: &TransactionId) -> Result<Option<Session>> {
        Ok(self.work.sessions.get(tid).cloned())
    }
    async fn put_session(&mut self, s: &Session) -> Result<()> {
        self.work
            .sessions
            .insert(s.transaction_id.clone(), s.clone());
        Ok(())
    }
    async fn delete_session(&mut self, tid: &TransactionId) -> Result<()> {
        self.work.sessions.remove(tid);
        Ok(())
    }
    async fn delete_expired_sessions(
        &mut self,
        before: UnixTime,
        unbound_before: UnixTime,
        limit: usize,
    ) -> Result<usize> {
        let expired: Vec<TransactionId> = self
            .work
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.expires_at < before || (s.operator_id.is_none() && s.expires_at < unbound_before)
            })
            .map(|(t, _)| t.clone())
            .take(limit)
            .collect();
        for t in &expired {
            self.work.sessions.remove(t);
        }
        Ok(expired.len())
    }
    async fn profile(
        &mut self,
        operator: OperatorId,
        iccid: &Iccid,
    ) -> Result<Option<ProfileRecord>> {
        Ok(self
            .work
            .profiles
            .get(iccid)
            .filter(|p| p.operator_id == operator)
            .cloned())
    }
    async fn profile_any_operator(&mut self, iccid: &Iccid) -> Result<Option<ProfileRecord>> {
        Ok(self.work.profiles.get(iccid).cloned())
    }
    async fn profile_by_matching_id(&mut self, matching_id: &str) -> Result<Option<ProfileRecord>> {
        Ok(self
            .work
            .profiles
            .values()
            .find(|p| p.matching_id.as_ref().map(|m| m.as_str()) == Some(matching_id))
            .cloned())
    }
    async fn pending_profile_for_eid(&mut self, eid: &Eid) -> Result<Option<ProfileRecord>> {
        Ok(self
            .work
            .profiles
            .values()
            .filter(|p| {
                p.eid.as_ref() == Some(eid)
                    && matches!(p.state, ProfileState::Released | ProfileState::Downloaded)
            })
            .min_by_key(|p| p.updated_at)
            .cloned())
    }
    async fn available_profile(
        &mut self,
        operator: OperatorId,
        profile_type: &str,
    ) -> Result<Option<ProfileRecord>> {
        Ok(self
            .work
            .profiles
            .values()
            .find(|p| {
                p.operator_id == operator
                    && p.profile_type == profile_type
                    && p.state == ProfileState::Available
            })
            .cloned())
    }
    async fn insert_profile(&mut self, p: &ProfileRecord) -> Result<()> {
        if self.work.profiles.contains_key(&p.iccid) {
            return Err(Error::IccidInUse);
        }
        if self.matching_id_taken(p) {
            return Err(Error::Storage(
                format!("profile {}: matchingId in use", p.iccid).into(),
            ));
        }
        self.work.profiles.insert(p.iccid.clone(), p.clone());
        Ok(())
    }
    async fn put_profile(&mut self, p: &ProfileRecord) -> Result<()> {
        if self.matching_id_taken(p) {
            return Err(Error::MatchingIdConflict);
        }
        let Some(cur) = self.work.profiles.get_mut(&p.iccid) else {
            return Err(Error::Storage(
                format!("profile {} vanished", p.iccid).into(),
            ));
        };
        if cur.version != p.version || cur.operator_id != p.operator_id {
            return Err(Error::Storage(
                format!("profile {} changed concurrently", p.iccid).into(),
            ));
        }
        *cur = p.clone();
        cur.version += 1;
        Ok(())
    }
    async fn push_events(&mut self, events: &[Event]) -> Result<()> {
        for e in events {
            self.work.last_event_id += 1;
            self.work.events.push(e.clone());
            self.work.deliveries.push(Delivery {
                id: self.work.last_event_id,
                ..Delivery::default()
            });
        }
        Ok(())
    }
    async fn record_unseal(&mut self, unseal: &Unseal) -> Result<()> {
        self.work.unseals.push(unseal.clone());
        Ok(())
    }
    async fn push_smds_ops(&mut self, ops: &[SmdsOp]) -> Result<()> {
        self.work.smds.push(ops);
        Ok(())
    }
    async fn count_by_state(&mut self, operator: OperatorId) -> Result<Vec<(ProfileState, u64)>> {
        let mut out = Vec::new();
        for st in ProfileState::ALL {
            let n = self
                .work
                .profiles
                .values()
                .filter(|p| p.operator_id == operator && p.state == st)
                .count();
            out.push((st, n as u64));
        }
        Ok(out)
    }
    async fn cancel_session_policy(&mut self, operator: OperatorId) -> Result<CancelSessionPolicy> {
        Ok(self
            .work
            .cancel_policies
            .get(&operator)
            .copied()
            .unwrap_or_default())
    }
    async fn default_smds_address(&mut self, operator: OperatorId) -> Result<Option<String>> {
        Ok(self.work.default_smds_addresses.get(&operator).cloned())
    }
    async fn commit(mut self) -> Result<()> {
        *self.guard = std::mem::take(&mut self.work);
        Ok(())
    }
}
