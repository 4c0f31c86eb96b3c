//! [`SessionCache`]: the RSP sessions that only went through InitiateAuthentication, in
//! memory, above any [`SmdpStore`].
//!
//! A session in state `Initiated` is a transactionId and two challenges, no profile bound
//! yet. SGP.22 does not ask an ES9+ session to survive a restart of the SM-DP+ (the LPA starts
//! again with a new InitiateAuthentication), so a single SM-DP+ instance may keep those in its
//! memory: an InitiateAuthentication then costs no database write (on SQLite, where every
//! write queues for one connection, that is most of its throughput: see BENCHMARKS.md). They
//! move into the store, in the AuthenticateClient transaction that binds a profile, from
//! when a profile depends on them. Beyond [`SessionCache::CAPACITY`] unexpired ones, new ones
//! go to the store.
//!
//! The stores themselves keep every session (SQLite and PostgreSQL alike); the cache is this
//! wrapper, for any of them. It suits one SM-DP+ instance: several instances behind a load
//! balancer without sticky routing share sessions only through the database, so they use
//! the plain store.
//!
//! Transactions: the cache changes with the inner transaction's commit, never without it (a
//! transaction dropped or failed leaves it as it was). A transaction that reads a cached
//! session takes it out of the cache until it ends (put back unless it changed it): a
//! concurrent transaction does not see it meanwhile, as a row lock would keep it waiting.
//! The other traits of the inner store ([`OutboxStore`], [`OutboxAdmin`], [`OperatorAdmin`])
//! and its inherent methods (through [`std::ops::Deref`]) pass through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use simforge_asn1::{Eid, Iccid, TransactionId};
use simforge_smdp::{
    CancelSessionPolicy, Error, Event, OperatorId, OutboxEntry, OutboxStore, ProfileRecord,
    ProfileState, Session, SessionState, SmdpStore, SmdpTx, UnixTime, Unseal,
};

use crate::StoreError;
use crate::rsp::{OutboxAdmin, OutboxRow};
use crate::settings::{CallbackSettings, OperatorAdmin};

/// Sessions in state `Initiated` in memory, above the store `S` (see the module).
#[derive(Debug, Clone)]
pub struct SessionCache<S> {
    inner: S,
    sessions: Arc<Mutex<HashMap<TransactionId, Session>>>,
    /// Sessions kept in memory at most ([`SessionCache::CAPACITY`], or 0: every session in
    /// the store).
    capacity: usize,
}

impl<S> SessionCache<S> {
    /// At most this many (unexpired) sessions are kept in memory; more go to the store.
    pub const CAPACITY: usize = 65_536;

    /// An empty cache above `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            sessions: Arc::default(),
            capacity: Self::CAPACITY,
        }
    }

    /// No cache: every session goes to the store, so that several SM-DP+ nodes on one
    /// database serve any call of any download (no sticky routing).
    pub fn passthrough(inner: S) -> Self {
        Self {
            inner,
            sessions: Arc::default(),
            capacity: 0,
        }
    }

    /// The store below.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// How many sessions are in memory.
    pub fn cached(&self) -> usize {
        lock(&self.sessions).len()
    }
}

impl<S> std::ops::Deref for SessionCache<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.inner
    }
}

fn lock(
    m: &Mutex<HashMap<TransactionId, Session>>,
) -> MutexGuard<'_, HashMap<TransactionId, Session>> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A transaction of a [`SessionCache`]: the inner store's, and its changes to the cache.
#[derive(Debug)]
pub struct SessionCacheTx<T> {
    inner: Option<T>,
    sessions: Arc<Mutex<HashMap<TransactionId, Session>>>,
    capacity: usize,
    /// Sessions this transaction took out of the cache: put back when it ends, unless it
    /// changed them.
    taken: Vec<Session>,
    /// This transaction's changes to the cache, applied at commit: `Some` puts, `None`
    /// removes.
    staged: Vec<(TransactionId, Option<Session>)>,
}

impl<S: SmdpStore> SmdpStore for SessionCache<S> {
    type Tx = SessionCacheTx<S::Tx>;

    async fn begin(&self) -> Result<Self::Tx, Error> {
        Ok(SessionCacheTx {
            inner: Some(self.inner.begin().await?),
            sessions: self.sessions.clone(),
            capacity: self.capacity,
            taken: Vec::new(),
            staged: Vec::new(),
        })
    }
}

impl<T> Drop for SessionCacheTx<T> {
    fn drop(&mut self) {
        if self.taken.is_empty() {
            return;
        }
        let mut c = lock(&self.sessions);
        for s in self.taken.drain(..) {
            c.insert(s.transaction_id.clone(), s);
        }
    }
}

impl<T: SmdpTx> SessionCacheTx<T> {
    fn inner(&mut self) -> Result<&mut T, Error> {
        self.inner
            .as_mut()
            .ok_or_else(|| Error::Storage("transaction already ended".into()))
    }

    /// The cached session `tid` as this transaction sees it: `Some(None)` when this
    /// transaction removed it from memory, `None` when memory does not know it. Taken out of
    /// the shared cache on first sight.
    fn cached(&mut self, tid: &TransactionId) -> Option<Option<Session>> {
        if let Some((_, s)) = self.staged.iter().rev().find(|(k, _)| k == tid) {
            return Some(s.clone());
        }
        if let Some(s) = self.taken.iter().find(|s| &s.transaction_id == tid) {
            return Some(Some(s.clone()));
        }
        let s = lock(&self.sessions).remove(tid)?;
        self.taken.push(s.clone());
        Some(Some(s))
    }

    /// Commits the inner transaction, then (only if that succeeded) the cache's changes.
    async fn finish(mut self, durable: bool) -> Result<(), Error> {
        let inner = self
            .inner
            .take()
            .ok_or_else(|| Error::Storage("transaction already ended".into()))?;
        if durable {
            inner.commit().await?;
        } else {
            inner.commit_deferred().await?;
        }
        let taken = std::mem::take(&mut self.taken);
        let staged = std::mem::take(&mut self.staged);
        let mut c = lock(&self.sessions);
        for s in taken {
            if !staged.iter().any(|(k, _)| k == &s.transaction_id) {
                c.insert(s.transaction_id.clone(), s);
            }
        }
        for (k, s) in staged {
            match s {
                Some(s) => {
                    c.insert(k, s);
                }
                None => {
                    c.remove(&k);
                }
            }
        }
        Ok(())
    }
}

impl<T: SmdpTx> SmdpTx for SessionCacheTx<T> {
    async fn session(&mut self, tid: &TransactionId) -> Result<Option<Session>, Error> {
        match self.cached(tid) {
            Some(Some(s)) => Ok(Some(s)),
            // Moved to the store in this transaction, or not cached.
            Some(None) | None => self.inner()?.session(tid).await,
        }
    }

    async fn put_session(&mut self, s: &Session) -> Result<(), Error> {
        let tid = &s.transaction_id;
        let cached = matches!(self.cached(tid), Some(Some(_)));
        if s.state == SessionState::Initiated {
            let room = cached || {
                let staged_new = self.staged.iter().filter(|(_, v)| v.is_some()).count();
                let mut c = lock(&self.sessions);
                if c.len() + staged_new >= self.capacity {
                    c.retain(|_, v| v.expires_at >= s.created_at);
                }
                c.len() + staged_new < self.capacity
            };
            if room {
                self.staged.push((tid.clone(), Some(s.clone())));
                return Ok(());
            }
        }
        self.inner()?.put_session(s).await?;
        if cached {
            // Leaves memory for the store (a profile is bound to it from now on).
            self.staged.push((tid.clone(), None));
        }
        Ok(())
    }

    async fn delete_session(&mut self, tid: &TransactionId) -> Result<(), Error> {
        if let Some(Some(_)) = self.cached(tid) {
            // Only in memory.
            self.staged.push((tid.clone(), None));
            return Ok(());
        }
        self.inner()?.delete_session(tid).await
    }

    async fn delete_expired_sessions(
        &mut self,
        before: UnixTime,
        unbound_before: UnixTime,
        limit: usize,
    ) -> Result<usize, Error> {
        let expired: Vec<Session> = {
            let mut c = lock(&self.sessions);
            let keys: Vec<TransactionId> = c
                .iter()
                .filter(|(_, s)| {
                    s.expires_at < before
                        || (s.operator_id.is_none() && s.expires_at < unbound_before)
                })
                .map(|(k, _)| k.clone())
                .take(limit)
                .collect();
            keys.iter().filter_map(|k| c.remove(k)).collect()
        };
        let in_memory = expired.len();
        for s in expired {
            self.staged.push((s.transaction_id.clone(), None));
            self.taken.push(s);
        }
        let left = limit - in_memory;
        if left == 0 {
            return Ok(in_memory);
        }
        let stored = self
            .inner()?
            .delete_expired_sessions(before, unbound_before, left)
            .await?;
        Ok(in_memory + stored)
    }

    async fn profile(
        &mut self,
        operator: OperatorId,
        iccid: &Iccid,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.inner()?.profile(operator, iccid).await
    }

    async fn profile_any_operator(
        &mut self,
        iccid: &Iccid,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.inner()?.profile_any_operator(iccid).await
    }

    async fn profile_by_matching_id(
        &mut self,
        matching_id: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.inner()?.profile_by_matching_id(matching_id).await
    }

    async fn pending_profile_for_eid(&mut self, eid: &Eid) -> Result<Option<ProfileRecord>, Error> {
        self.inner()?.pending_profile_for_eid(eid).await
    }

    async fn available_profile(
        &mut self,
        operator: OperatorId,
        profile_type: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.inner()?
            .available_profile(operator, profile_type)
            .await
    }

    async fn insert_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        self.inner()?.insert_profile(p).await
    }

    async fn put_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        self.inner()?.put_profile(p).await
    }

    async fn push_events(&mut self, events: &[Event]) -> Result<(), Error> {
        self.inner()?.push_events(events).await
    }

    async fn record_unseal(&mut self, unseal: &Unseal) -> Result<(), Error> {
        self.inner()?.record_unseal(unseal).await
    }

    async fn push_smds_ops(&mut self, ops: &[simforge_smdp::SmdsOp]) -> Result<(), Error> {
        self.inner()?.push_smds_ops(ops).await
    }

    async fn default_smds_address(
        &mut self,
        operator: OperatorId,
    ) -> Result<Option<String>, Error> {
        self.inner()?.default_smds_address(operator).await
    }

    async fn count_by_state(
        &mut self,
        operator: OperatorId,
    ) -> Result<Vec<(ProfileState, u64)>, Error> {
        self.inner()?.count_by_state(operator).await
    }

    async fn cancel_session_policy(
        &mut self,
        operator: OperatorId,
    ) -> Result<CancelSessionPolicy, Error> {
        self.inner()?.cancel_session_policy(operator).await
    }

    async fn commit(self) -> Result<(), Error> {
        self.finish(true).await
    }

    async fn commit_deferred(self) -> Result<(), Error> {
        self.finish(false).await
    }
}

impl<S: OutboxStore> OutboxStore for SessionCache<S> {
    async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, Error> {
        self.inner.claim_outbox(now_ms, lease_ms, limit).await
    }

    async fn outbox_delivered(
        &self,
        operator: OperatorId,
        id: i64,
        now_ms: i64,
    ) -> Result<(), Error> {
        self.inner.outbox_delivered(operator, id, now_ms).await
    }

    async fn outbox_skip(
        &self,
        operator: OperatorId,
        ids: &[i64],
        now_ms: i64,
    ) -> Result<(), Error> {
        self.inner.outbox_skip(operator, ids, now_ms).await
    }

    async fn outbox_failed(
        &self,
        operator: OperatorId,
        id: i64,
        error: &str,
        next_try_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), Error> {
        self.inner
            .outbox_failed(operator, id, error, next_try_ms, now_ms)
            .await
    }

    async fn outbox_release(&self, operator: OperatorId, ids: &[i64]) -> Result<(), Error> {
        self.inner.outbox_release(operator, ids).await
    }
}

impl<S: simforge_smdp::SmdsQueue> simforge_smdp::SmdsQueue for SessionCache<S> {
    async fn claim_smds_ops(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<simforge_smdp::SmdsOpEntry>, Error> {
        self.inner.claim_smds_ops(now_ms, lease_ms, limit).await
    }

    async fn smds_op_done(&self, id: i64, now_ms: i64) -> Result<(), Error> {
        self.inner.smds_op_done(id, now_ms).await
    }

    async fn smds_op_failed(
        &self,
        id: i64,
        error: &str,
        next_try_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), Error> {
        self.inner
            .smds_op_failed(id, error, next_try_ms, now_ms)
            .await
    }

    async fn purge_smds_ops(&self, before: i64, limit: u32) -> Result<u64, Error> {
        self.inner.purge_smds_ops(before, limit).await
    }

    async fn smds_ops_of(
        &self,
        operator: OperatorId,
        limit: u32,
    ) -> Result<Vec<simforge_smdp::SmdsOpRow>, Error> {
        self.inner.smds_ops_of(operator, limit).await
    }

    async fn requeue_smds_op(
        &self,
        operator: OperatorId,
        id: i64,
        now_ms: i64,
    ) -> Result<bool, Error> {
        self.inner.requeue_smds_op(operator, id, now_ms).await
    }
}

impl<S: OutboxAdmin> OutboxAdmin for SessionCache<S> {
    async fn set_callback_url(
        &self,
        operator_id: i64,
        url: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.inner.set_callback_url(operator_id, url, now).await
    }

    async fn callback_url(&self, operator_id: i64) -> Result<Option<String>, StoreError> {
        self.inner.callback_url(operator_id).await
    }

    async fn delete_events_before(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.inner.delete_events_before(before, limit).await
    }

    async fn outbox_rows(
        &self,
        operator_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.inner.outbox_rows(operator_id, limit).await
    }
}

impl<S: OperatorAdmin> OperatorAdmin for SessionCache<S> {
    async fn set_cancel_session_policy(
        &self,
        operator_id: i64,
        policy: Option<&CancelSessionPolicy>,
    ) -> Result<(), StoreError> {
        self.inner
            .set_cancel_session_policy(operator_id, policy)
            .await
    }

    async fn cancel_session_policy(
        &self,
        operator_id: i64,
    ) -> Result<CancelSessionPolicy, StoreError> {
        self.inner.cancel_session_policy(operator_id).await
    }

    async fn set_default_smds_address(
        &self,
        operator_id: i64,
        address: Option<&str>,
    ) -> Result<(), StoreError> {
        self.inner
            .set_default_smds_address(operator_id, address)
            .await
    }

    async fn default_smds_address(&self, operator_id: i64) -> Result<Option<String>, StoreError> {
        self.inner.default_smds_address(operator_id).await
    }

    async fn set_callback_settings(
        &self,
        operator_id: i64,
        settings: &CallbackSettings,
        now: i64,
    ) -> Result<(), StoreError> {
        self.inner
            .set_callback_settings(operator_id, settings, now)
            .await
    }

    async fn callback_settings(
        &self,
        operator_id: i64,
    ) -> Result<Option<CallbackSettings>, StoreError> {
        self.inner.callback_settings(operator_id).await
    }

    async fn failed_events(
        &self,
        operator_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.inner.failed_events(operator_id, limit).await
    }

    async fn redeliver_events(
        &self,
        operator_id: i64,
        id: Option<i64>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        self.inner.redeliver_events(operator_id, id, now_ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simforge_smdp::MemoryStore;

    fn session(tid: &str, state: SessionState, op: Option<i64>) -> Session {
        Session {
            transaction_id: TransactionId::parse_hex(tid).unwrap(),
            state,
            created_at: 1,
            expires_at: 100,
            smdp_address: "x".into(),
            euicc_challenge: vec![1; 16],
            server_challenge: vec![2; 16],
            ci_pkid: vec![3; 20],
            signing_ci_pkids: vec![vec![3; 20]],
            eid: None,
            euicc_public_key: None,
            operator_id: op,
            iccid: None,
            smdp_signature2: None,
            cc_required: false,
        }
    }

    /// Sessions the store below holds.
    async fn stored(store: &SessionCache<MemoryStore>) -> usize {
        store.inner().snapshot().await.sessions.len()
    }

    #[tokio::test]
    async fn initiated_sessions_stay_in_memory_until_a_profile_is_bound() {
        let store = SessionCache::new(MemoryStore::new());
        let tid = TransactionId::parse_hex("01AB").unwrap();
        let initiated = session("01AB", SessionState::Initiated, None);

        // A rolled-back transaction changes nothing, in memory either.
        {
            let mut tx = store.begin().await.unwrap();
            tx.put_session(&initiated).await.unwrap();
            assert_eq!(tx.session(&tid).await.unwrap().as_ref(), Some(&initiated));
        }
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.session(&tid).await.unwrap(), None);
        tx.put_session(&initiated).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((store.cached(), stored(&store).await), (1, 0));

        // Read and dropped: still cached.
        {
            let mut tx = store.begin().await.unwrap();
            assert!(tx.session(&tid).await.unwrap().is_some());
        }
        assert_eq!(store.cached(), 1);

        // AuthenticateClient: into the store, out of memory.
        let mut authed = session("01AB", SessionState::Authenticated, Some(1));
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.session(&tid).await.unwrap(), Some(initiated));
        tx.put_session(&authed).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((store.cached(), stored(&store).await), (0, 1));

        // Later changes update the stored record.
        authed.state = SessionState::BppDelivered;
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&authed).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.session(&tid).await.unwrap().as_ref(), Some(&authed));
        tx.delete_session(&tid).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(stored(&store).await, 0);

        // Deleting an initiated session (a failed AuthenticateClient, CancelSession).
        let other = TransactionId::parse_hex("02CD").unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&session("02CD", SessionState::Initiated, None))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.delete_session(&other).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.cached(), 0);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.session(&other).await.unwrap(), None);
        tx.commit().await.unwrap();
    }

    /// A session read by one transaction is not seen by another until the first ends.
    #[tokio::test]
    async fn a_cached_session_is_held_by_the_transaction_that_read_it() {
        let store = SessionCache::new(MemoryStore::new());
        let tid = TransactionId::parse_hex("0A").unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&session("0A", SessionState::Initiated, None))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(tx.session(&tid).await.unwrap().is_some());
        assert_eq!(store.cached(), 0);
        // Held: not purged by this transaction's purge either (it is not in the cache); back
        // in the cache when the transaction ends.
        assert_eq!(tx.delete_expired_sessions(200, 200, 10).await.unwrap(), 0);
        drop(tx);
        assert_eq!(store.cached(), 1);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.delete_expired_sessions(200, 200, 10).await.unwrap(), 1);
        drop(tx);
        assert_eq!(store.cached(), 1, "rolled back");
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.delete_expired_sessions(200, 200, 10).await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert_eq!(store.cached(), 0);
    }

    #[tokio::test]
    async fn beyond_the_capacity_sessions_go_to_the_store() {
        let store = SessionCache::new(MemoryStore::new());
        {
            let mut c = lock(&store.sessions);
            for i in 0..SessionCache::<()>::CAPACITY {
                let s = session(&format!("{i:08X}"), SessionState::Initiated, None);
                c.insert(s.transaction_id.clone(), s);
            }
        }
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&session("FFFFFFFFFF", SessionState::Initiated, None))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(stored(&store).await, 1);
        // Once the cached ones expired, there is room again.
        let mut late = session("FFFFFFFFFE", SessionState::Initiated, None);
        late.created_at = 101;
        late.expires_at = 200;
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&late).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((store.cached(), stored(&store).await), (1, 1));
    }
}
