//! What the SM-DS keeps: ES11 sessions (between InitiateAuthentication and
//! AuthenticateClient), ES12 event records and, at an alternative SM-DS, the queue of its
//! ES15 forwards to the root SM-DS (the SM-DP+'s SM-DS operations queue, the same
//! [`SmdsOp`]s and rules); the [`SmdsStore`] trait and its in-memory implementation.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use simforge_asn1::{Eid, TransactionId};
use simforge_smdp::{MemorySmdsQueue, Session, SmdsOp, SmdsOpEntry, SmdsOpRow, UnixTime};

use crate::error::Result;
use crate::service::EventRecord;

/// The SM-DS's state. Every method is one atomic step; the rules (who may delete, expiry,
/// single use) are the caller's ([`crate::Smds`]), the store only keeps.
pub trait SmdsStore: Send + Sync {
    /// Keeps an ES11 session opened by InitiateAuthentication.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn put_session(&self, session: Session) -> Result<()>;

    /// Removes and returns the session of `tid` (a transactionId is used once).
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn take_session(&self, tid: &TransactionId) -> Result<Option<Session>>;

    /// Adds a record after the EID's others and queues `forward` (its ES15 forward) in the
    /// same step; `false` (nothing changed, nothing queued) when the EID already has a
    /// record with this EventID.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn insert_event(&self, record: EventRecord, forward: &[SmdsOp]) -> Result<bool>;

    /// The EID's records, in arrival order (expired ones included).
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn events_for(&self, eid: &Eid) -> Result<Vec<EventRecord>>;

    /// Removes and returns `record` — the EID's record with its EventID, registrant and
    /// registration time, not another registered since it was read —, queueing `forward` in
    /// the same step when it was there.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn remove_event(&self, record: &EventRecord, forward: &[SmdsOp])
    -> Result<Option<EventRecord>>;

    /// Removes the sessions expired at `now` and returns the records expired at `now`,
    /// removed.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn purge_expired(&self, now: UnixTime) -> Result<Vec<EventRecord>>;

    /// Queues ES15 operations (the SM-DP+'s queue rules: a not yet due, never attempted
    /// operation of the same event is superseded).
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn queue_ops(&self, ops: &[SmdsOp]) -> Result<()>;

    /// As [`simforge_smdp::SmdsQueue::claim_smds_ops`].
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn claim_ops(&self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<SmdsOpEntry>>;

    /// As [`simforge_smdp::SmdsQueue::smds_op_done`].
    ///
    /// # Errors
    /// [`crate::Error::Storage`] (also when `id` is not pending).
    fn op_done(&self, id: i64, now_ms: i64) -> Result<()>;

    /// As [`simforge_smdp::SmdsQueue::smds_op_failed`].
    ///
    /// # Errors
    /// [`crate::Error::Storage`] (also when `id` is not pending).
    fn op_failed(&self, id: i64, error: &str, next_try_ms: Option<i64>, now_ms: i64) -> Result<()>;

    /// As [`simforge_smdp::SmdsQueue::purge_smds_ops`].
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn purge_ops(&self, before: UnixTime, limit: u32) -> Result<u64>;

    /// The queued operations, newest first (at most `limit`).
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn ops(&self, limit: u32) -> Result<Vec<SmdsOpRow>>;

    /// As [`simforge_smdp::SmdsQueue::requeue_smds_op`].
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    fn requeue_op(&self, id: i64, now_ms: i64) -> Result<bool>;
}

macro_rules! delegate {
    ($t:ty) => {
        impl<T: SmdsStore + ?Sized> SmdsStore for $t {
            fn put_session(&self, session: Session) -> Result<()> {
                (**self).put_session(session)
            }
            fn take_session(&self, tid: &TransactionId) -> Result<Option<Session>> {
                (**self).take_session(tid)
            }
            fn insert_event(&self, record: EventRecord, forward: &[SmdsOp]) -> Result<bool> {
                (**self).insert_event(record, forward)
            }
            fn events_for(&self, eid: &Eid) -> Result<Vec<EventRecord>> {
                (**self).events_for(eid)
            }
            fn remove_event(
                &self,
                record: &EventRecord,
                forward: &[SmdsOp],
            ) -> Result<Option<EventRecord>> {
                (**self).remove_event(record, forward)
            }
            fn purge_expired(&self, now: UnixTime) -> Result<Vec<EventRecord>> {
                (**self).purge_expired(now)
            }
            fn queue_ops(&self, ops: &[SmdsOp]) -> Result<()> {
                (**self).queue_ops(ops)
            }
            fn claim_ops(
                &self,
                now_ms: i64,
                lease_ms: i64,
                limit: u32,
            ) -> Result<Vec<SmdsOpEntry>> {
                (**self).claim_ops(now_ms, lease_ms, limit)
            }
            fn op_done(&self, id: i64, now_ms: i64) -> Result<()> {
                (**self).op_done(id, now_ms)
            }
            fn op_failed(
                &self,
                id: i64,
                error: &str,
                next_try_ms: Option<i64>,
                now_ms: i64,
            ) -> Result<()> {
                (**self).op_failed(id, error, next_try_ms, now_ms)
            }
            fn purge_ops(&self, before: UnixTime, limit: u32) -> Result<u64> {
                (**self).purge_ops(before, limit)
            }
            fn ops(&self, limit: u32) -> Result<Vec<SmdsOpRow>> {
                (**self).ops(limit)
            }
            fn requeue_op(&self, id: i64, now_ms: i64) -> Result<bool> {
                (**self).requeue_op(id, now_ms)
            }
        }
    };
}

delegate!(Box<T>);
delegate!(Arc<T>);

/// Sessions kept at most by a [`MemoryStore`]; beyond, the oldest is dropped (its
/// AuthenticateClient then answers "transactionId unknown").
pub const MAX_SESSIONS: usize = 65_536;

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<TransactionId, Session>,
    /// Session insertion order, for eviction (may name sessions already taken).
    order: VecDeque<TransactionId>,
    events: HashMap<Eid, Vec<EventRecord>>,
    forwards: MemorySmdsQueue,
}

/// The SM-DS's state in memory (tests, labs): lost with the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state is consistent after every statement: a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of sessions held (tests).
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.lock().sessions.len()
    }
}

impl SmdsStore for MemoryStore {
    fn put_session(&self, session: Session) -> Result<()> {
        let mut g = self.lock();
        while g.sessions.len() >= MAX_SESSIONS {
            let Some(old) = g.order.pop_front() else {
                break;
            };
            g.sessions.remove(&old);
        }
        if g.order.len() > 2 * MAX_SESSIONS {
            let Inner {
                sessions, order, ..
            } = &mut *g;
            order.retain(|t| sessions.contains_key(t));
        }
        g.order.push_back(session.transaction_id.clone());
        g.sessions.insert(session.transaction_id.clone(), session);
        Ok(())
    }

    fn take_session(&self, tid: &TransactionId) -> Result<Option<Session>> {
        Ok(self.lock().sessions.remove(tid))
    }

    fn insert_event(&self, record: EventRecord, forward: &[SmdsOp]) -> Result<bool> {
        let mut g = self.lock();
        let list = g.events.entry(record.eid).or_default();
        if list.iter().any(|r| r.event_id == record.event_id) {
            return Ok(false);
        }
        list.push(record);
        g.forwards.push(forward);
        Ok(true)
    }

    fn events_for(&self, eid: &Eid) -> Result<Vec<EventRecord>> {
        Ok(self.lock().events.get(eid).cloned().unwrap_or_default())
    }

    fn remove_event(
        &self,
        record: &EventRecord,
        forward: &[SmdsOp],
    ) -> Result<Option<EventRecord>> {
        let mut g = self.lock();
        let Some(list) = g.events.get_mut(&record.eid) else {
            return Ok(None);
        };
        let removed = list
            .iter()
            .position(|r| {
                r.event_id == record.event_id
                    && r.registrant == record.registrant
                    && r.registered_at == record.registered_at
            })
            .map(|i| list.remove(i));
        if list.is_empty() {
            g.events.remove(&record.eid);
        }
        if removed.is_some() {
            g.forwards.push(forward);
        }
        Ok(removed)
    }

    fn purge_expired(&self, now: UnixTime) -> Result<Vec<EventRecord>> {
        let mut g = self.lock();
        g.sessions.retain(|_, s| s.expires_at > now);
        let mut purged = Vec::new();
        g.events.retain(|_, list| {
            let (gone, kept): (Vec<_>, Vec<_>) = list.drain(..).partition(|r| r.is_expired(now));
            purged.extend(gone);
            *list = kept;
            !list.is_empty()
        });
        Ok(purged)
    }

    fn queue_ops(&self, ops: &[SmdsOp]) -> Result<()> {
        self.lock().forwards.push(ops);
        Ok(())
    }

    fn claim_ops(&self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<SmdsOpEntry>> {
        Ok(self.lock().forwards.claim(now_ms, lease_ms, limit))
    }

    fn op_done(&self, id: i64, _now_ms: i64) -> Result<()> {
        self.lock().forwards.done(id).map_err(queue_error)
    }

    fn op_failed(
        &self,
        id: i64,
        error: &str,
        next_try_ms: Option<i64>,
        _now_ms: i64,
    ) -> Result<()> {
        self.lock()
            .forwards
            .failed(id, error, next_try_ms)
            .map_err(queue_error)
    }

    fn purge_ops(&self, before: UnixTime, limit: u32) -> Result<u64> {
        Ok(self.lock().forwards.purge(before, limit))
    }

    fn ops(&self, limit: u32) -> Result<Vec<SmdsOpRow>> {
        Ok(self.lock().forwards.of(0, limit))
    }

    fn requeue_op(&self, id: i64, now_ms: i64) -> Result<bool> {
        Ok(self.lock().forwards.requeue(0, id, now_ms))
    }
}

fn queue_error(e: simforge_smdp::Error) -> crate::Error {
    crate::Error::Storage(simforge_smdp::error::Cause::transparent(e))
}
