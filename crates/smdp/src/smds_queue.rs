//! The SM-DP+'s SM-DS operations (ES12 RegisterEvent / DeleteEvent) as a durable queue, in
//! the same transaction as the state change that asks for them.
//!
//! An ES2+.ConfirmOrder with `smdsAddress` (and its EID) makes the order's event live: EventID
//! = the order's matchingId (what sysmocom's ES2+ helpers do; the LPA sends the EventID back
//! as `matchingId`), rspServerAddress = this SM-DP+. [`smds_ops`] compares the profile's
//! registration before and after a call and queues a register for a new one and a delete for
//! one that ends; the driver ([`crate::Smdp`]) stores them with [`crate::SmdpTx::push_smds_ops`]
//! before it commits, so a down SM-DS neither blocks ES2+ nor loses an event, and a rolled
//! back call queues nothing. A worker (`simforge-server`'s `SmdsWorker`) delivers them through
//! [`SmdsQueue`]; the store orders them per event (an op waits while an earlier one of the
//! same SM-DS, EID and EventID is pending), so a delete never overtakes its register.
//!
//! When the event ends (SGP.22 §3.6.3, Event Deletion by its registrant; §5.6.5 asks
//! CancelSession to run it "if required" once the download is terminated, so the event
//! outlives the BPP's delivery): the order leaves the states in which the event can still
//! lead to a download (Confirmed, Released, Downloaded). That is the installation result
//! (Installed, or Error for a failed installation), a CancelSession that ends the order
//! (Error), ES2+.CancelOrder, an operator's reset. An order with an expiry gets its delete
//! queued at ConfirmOrder, due when the order expires ([`SmdsOp::due`]); a delete queued
//! earlier for the same event supersedes it (the store drops a pending op that is not yet
//! due when another op for the same event of the same operator is queued).

use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};
use simforge_asn1::{Eid, Iccid, MatchingId};

use crate::error::Result;
use crate::model::{OperatorId, ProfileRecord, ProfileState, UnixTime};

/// Register or delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SmdsOpKind {
    /// ES12.RegisterEvent.
    Register,
    /// ES12.DeleteEvent.
    Delete,
}

impl SmdsOpKind {
    /// `register` or `delete`, as stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Delete => "delete",
        }
    }

    /// Parses [`SmdsOpKind::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "register" => Some(Self::Register),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

impl fmt::Display for SmdsOpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One operation for an SM-DS, queued by the profile's operator (or, in an alternative
/// SM-DS's own queue, an ES15 forward of an event to the root SM-DS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmdsOp {
    /// The profile's operator (the tenant whose order asked for it); 0 in an SM-DS's queue
    /// (an SM-DS has no operators).
    pub operator_id: OperatorId,
    /// The profile; `None` in an SM-DS's queue (an ES15 forward is of an event, not of a
    /// profile).
    pub iccid: Option<Iccid>,
    /// Register or delete.
    pub kind: SmdsOpKind,
    /// The SM-DS (`host[:port]`), from ConfirmOrder's `smdsAddress` (the root SM-DS for an
    /// ES15 forward).
    pub smds_address: String,
    /// The eUICC.
    pub eid: Eid,
    /// The EventID: the order's matchingId (the forwarded event's EventID).
    pub event_id: MatchingId,
    /// When it is due (seconds): now, or the order's expiry for its scheduled delete.
    pub due: UnixTime,
    /// When it was queued (seconds).
    pub at: UnixTime,
}

/// An event live at an SM-DS for a profile's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The SM-DS.
    pub smds_address: String,
    /// The eUICC.
    pub eid: Eid,
    /// The EventID (the matchingId).
    pub event_id: MatchingId,
}

/// The event `p`'s order keeps at an SM-DS: an SM-DS address, an EID and a matchingId, in a
/// state in which the event can still lead to a download.
#[must_use]
pub fn registration(p: &ProfileRecord) -> Option<Registration> {
    if !matches!(
        p.state,
        ProfileState::Confirmed | ProfileState::Released | ProfileState::Downloaded
    ) {
        return None;
    }
    Some(Registration {
        smds_address: p.smds_address.clone()?,
        eid: p.eid?,
        event_id: p.matching_id.clone()?,
    })
}

/// The SM-DS operations a change of a profile from `before` (its [`registration`] as loaded)
/// to `after` needs: a delete of an event that ends, a register of one that begins (and its
/// delete due at the order's expiry). `after.smds_address` is cleared when no event remains
/// (so a later state change never registers it again).
pub fn smds_ops(
    before: Option<&Registration>,
    after: &mut ProfileRecord,
    now: UnixTime,
) -> Vec<SmdsOp> {
    let now_reg = registration(after);
    if now_reg.is_none() {
        after.smds_address = None;
    }
    let op = |r: &Registration, kind, due| SmdsOp {
        operator_id: after.operator_id,
        iccid: Some(after.iccid.clone()),
        kind,
        smds_address: r.smds_address.clone(),
        eid: r.eid,
        event_id: r.event_id.clone(),
        due,
        at: now,
    };
    let mut ops = Vec::new();
    if let Some(b) = before
        && now_reg.as_ref() != Some(b)
    {
        ops.push(op(b, SmdsOpKind::Delete, now));
    }
    if let Some(r) = &now_reg
        && before != Some(r)
    {
        ops.push(op(r, SmdsOpKind::Register, now));
        if let Some(t) = after.order_expires_at {
            ops.push(op(r, SmdsOpKind::Delete, t.max(now)));
        }
    }
    ops
}

/// A queued operation with its delivery state (times in milliseconds since the Unix epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmdsOpEntry {
    /// Queue id (increasing in queueing order).
    pub id: i64,
    /// The operation.
    pub op: SmdsOp,
    /// Delivery attempts made so far.
    pub attempts: u32,
}

/// Where a queued operation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SmdsOpState {
    /// Waiting (or leased, or waiting for a retry).
    Pending,
    /// The SM-DS did it (or had it done already).
    Done,
    /// Given up (refused by the SM-DS, or retried past the horizon).
    Failed,
    /// Dropped before it was due: a later operation of the same event replaced it.
    Superseded,
}

impl SmdsOpState {
    /// As stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
        }
    }

    /// Parses [`SmdsOpState::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Done, Self::Failed, Self::Superseded]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One row of an operator's SM-DS queue, as [`SmdsQueue::smds_ops_of`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmdsOpRow {
    /// The queued operation and its attempts.
    pub entry: SmdsOpEntry,
    /// Where it is.
    pub state: SmdsOpState,
    /// The last delivery error.
    pub last_error: Option<String>,
}

/// What the SM-DS worker needs from the store. Times in milliseconds since the Unix epoch.
pub trait SmdsQueue: Send + Sync {
    /// Claims due operations (at most `limit`, by id): pending ones whose next try is at or
    /// before `now_ms` and that no earlier pending operation of the same event (SM-DS, EID,
    /// EventID) holds back. They are leased until `now_ms + lease_ms`: no other claim returns
    /// them before (on PostgreSQL claims of several nodes are serialized by an advisory lock).
    fn claim_smds_ops(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<SmdsOpEntry>>> + Send;
    /// Records that the SM-DS did operation `id` (one more attempt).
    fn smds_op_done(&self, id: i64, now_ms: i64) -> impl Future<Output = Result<()>> + Send;
    /// Records a failed attempt of `id`: retried at `next_try_ms`, or given up when `None`.
    fn smds_op_failed(
        &self,
        id: i64,
        error: &str,
        next_try_ms: Option<i64>,
        now_ms: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes up to `limit` operations queued before `before` (Unix seconds) that are no
    /// longer pending (done, given up, superseded), oldest first; how many (the queue's
    /// retention, with the outbox's).
    fn purge_smds_ops(
        &self,
        before: UnixTime,
        limit: u32,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// `operator`'s queued operations, newest first (at most `limit`).
    fn smds_ops_of(
        &self,
        operator: OperatorId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<SmdsOpRow>>> + Send;
    /// Puts `operator`'s given-up operation `id` back in the queue, due at `now_ms` (its
    /// retry horizon counted from then, its attempts and last error kept); `false` when `id`
    /// is not a given-up operation of `operator`, or when a later operation of the same event
    /// was done or given up (sending this one again would undo or reorder it).
    fn requeue_smds_op(
        &self,
        operator: OperatorId,
        id: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// The same key: one event at one SM-DS.
fn same_event(a: &SmdsOp, b: &SmdsOp) -> bool {
    a.smds_address == b.smds_address && a.eid == b.eid && a.event_id == b.event_id
}

fn not_pending(id: i64) -> crate::Error {
    crate::Error::Storage(format!("SM-DS operation {id} is not pending").into())
}

/// An SM-DS operations queue in memory, with the rules of the SQL one (`rsp_smds_ops`):
/// the SM-DP+'s [`crate::MemoryStore`] keeps one, and so does the SM-DS's memory store (its
/// ES15 forwards). Times in milliseconds, as [`SmdsQueue`]'s.
#[derive(Clone, Debug, Default)]
pub struct MemorySmdsQueue {
    rows: Vec<SmdsOpRow>,
    /// Next try (or lease end) of each row, same index.
    next_try_ms: Vec<i64>,
    last_id: i64,
}

impl MemorySmdsQueue {
    /// Queues `ops`, each superseding the pending operations of its event (same operator,
    /// SM-DS, EID and EventID) never attempted and not yet due at its time.
    pub fn push(&mut self, ops: &[SmdsOp]) {
        for op in ops {
            for row in &mut self.rows {
                let o = &row.entry.op;
                if row.state == SmdsOpState::Pending
                    && row.entry.attempts == 0
                    && o.due > op.at
                    && o.operator_id == op.operator_id
                    && same_event(o, op)
                {
                    row.state = SmdsOpState::Superseded;
                }
            }
            self.last_id = self.last_id.saturating_add(1);
            self.rows.push(SmdsOpRow {
                entry: SmdsOpEntry {
                    id: self.last_id,
                    op: op.clone(),
                    attempts: 0,
                },
                state: SmdsOpState::Pending,
                last_error: None,
            });
            self.next_try_ms.push(op.due.saturating_mul(1000));
        }
    }

    /// As [`SmdsQueue::claim_smds_ops`].
    pub fn claim(&mut self, now_ms: i64, lease_ms: i64, limit: u32) -> Vec<SmdsOpEntry> {
        let mut out = Vec::new();
        for i in 0..self.rows.len() {
            if out.len() >= limit as usize {
                break;
            }
            let row = &self.rows[i];
            if row.state != SmdsOpState::Pending || self.next_try_ms[i] > now_ms {
                continue;
            }
            let held = self.rows[..i]
                .iter()
                .any(|r| r.state == SmdsOpState::Pending && same_event(&r.entry.op, &row.entry.op));
            if held {
                continue;
            }
            out.push(row.entry.clone());
            self.next_try_ms[i] = now_ms.saturating_add(lease_ms);
        }
        out
    }

    /// As [`SmdsQueue::smds_op_done`].
    ///
    /// # Errors
    /// [`crate::Error::Storage`] when `id` is not pending.
    pub fn done(&mut self, id: i64) -> Result<()> {
        let row = self
            .rows
            .iter_mut()
            .find(|r| r.entry.id == id && r.state == SmdsOpState::Pending)
            .ok_or_else(|| not_pending(id))?;
        row.state = SmdsOpState::Done;
        row.entry.attempts += 1;
        row.last_error = None;
        Ok(())
    }

    /// As [`SmdsQueue::smds_op_failed`].
    ///
    /// # Errors
    /// [`crate::Error::Storage`] when `id` is not pending.
    pub fn failed(&mut self, id: i64, error: &str, next_try_ms: Option<i64>) -> Result<()> {
        let i = self
            .rows
            .iter()
            .position(|r| r.entry.id == id && r.state == SmdsOpState::Pending)
            .ok_or_else(|| not_pending(id))?;
        let row = &mut self.rows[i];
        row.entry.attempts += 1;
        row.last_error = Some(error.to_owned());
        match next_try_ms {
            Some(t) => self.next_try_ms[i] = t,
            None => row.state = SmdsOpState::Failed,
        }
        Ok(())
    }

    /// As [`SmdsQueue::purge_smds_ops`].
    pub fn purge(&mut self, before: UnixTime, limit: u32) -> u64 {
        let mut n = 0u64;
        let doomed: Vec<bool> = self
            .rows
            .iter()
            .map(|r| {
                let gone = n < u64::from(limit)
                    && r.state != SmdsOpState::Pending
                    && r.entry.op.at < before;
                n += u64::from(gone);
                gone
            })
            .collect();
        let mut keep = doomed.iter().map(|x| !x);
        self.rows.retain(|_| keep.next().unwrap_or(true));
        let mut keep = doomed.iter().map(|x| !x);
        self.next_try_ms.retain(|_| keep.next().unwrap_or(true));
        n
    }

    /// As [`SmdsQueue::requeue_smds_op`].
    pub fn requeue(&mut self, operator: OperatorId, id: i64, now_ms: i64) -> bool {
        let Some(i) = self.rows.iter().position(|r| {
            r.entry.id == id && r.entry.op.operator_id == operator && r.state == SmdsOpState::Failed
        }) else {
            return false;
        };
        let later_settled = self.rows[i + 1..].iter().any(|r| {
            matches!(r.state, SmdsOpState::Done | SmdsOpState::Failed)
                && same_event(&r.entry.op, &self.rows[i].entry.op)
        });
        if later_settled {
            return false;
        }
        let row = &mut self.rows[i];
        row.state = SmdsOpState::Pending;
        row.entry.op.due = now_ms.div_euclid(1000);
        self.next_try_ms[i] = now_ms;
        true
    }

    /// `operator`'s operations, newest first (at most `limit`).
    #[must_use]
    pub fn of(&self, operator: OperatorId, limit: u32) -> Vec<SmdsOpRow> {
        self.rows
            .iter()
            .rev()
            .filter(|r| r.entry.op.operator_id == operator)
            .take(limit as usize)
            .cloned()
            .collect()
    }
}

impl SmdsQueue for crate::MemoryStore {
    async fn claim_smds_ops(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<SmdsOpEntry>> {
        Ok(self.data.lock().await.smds.claim(now_ms, lease_ms, limit))
    }

    async fn smds_op_done(&self, id: i64, _now_ms: i64) -> Result<()> {
        self.data.lock().await.smds.done(id)
    }

    async fn smds_op_failed(
        &self,
        id: i64,
        error: &str,
        next_try_ms: Option<i64>,
        _now_ms: i64,
    ) -> Result<()> {
        self.data.lock().await.smds.failed(id, error, next_try_ms)
    }

    async fn purge_smds_ops(&self, before: UnixTime, limit: u32) -> Result<u64> {
        Ok(self.data.lock().await.smds.purge(before, limit))
    }

    async fn smds_ops_of(&self, operator: OperatorId, limit: u32) -> Result<Vec<SmdsOpRow>> {
        Ok(self.data.lock().await.smds.of(operator, limit))
    }

    async fn requeue_smds_op(&self, operator: OperatorId, id: i64, now_ms: i64) -> Result<bool> {
        Ok(self.data.lock().await.smds.requeue(operator, id, now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ProfileMetadata, SealedPackage};

    fn profile(state: ProfileState) -> ProfileRecord {
        ProfileRecord {
            operator_id: 7,
            iccid: "8949449999999990023".parse().expect("iccid"),
            profile_type: "t".into(),
            state,
            eid: Some("89049032123451234512345678901235".parse().expect("eid")),
            matching_id: Some(MatchingId::parse("EV-1").expect("m")),
            cc_hash: None,
            cc_attempts: 0,
            download_attempts: 0,
            order_expires_at: None,
            session: None,
            session_expires_at: None,
            metadata: ProfileMetadata {
                service_provider_name: "s".into(),
                profile_name: "p".into(),
                profile_class: 2,
                notification_address: None,
            },
            package: SealedPackage(vec![]),
            reuse_on_delete: true,
            version: 0,
            updated_at: 0,
            requirements: Default::default(),
            binding: None,
            last_notification: None,
            smds_address: Some("smds.test".into()),
        }
    }

    #[test]
    fn registers_once_deletes_when_the_order_ends_and_schedules_the_expiry() {
        let mut p = profile(ProfileState::Released);
        p.order_expires_at = Some(5_000);
        let ops = smds_ops(None, &mut p, 100);
        let kinds: Vec<_> = ops.iter().map(|o| (o.kind, o.due)).collect();
        assert_eq!(
            kinds,
            [(SmdsOpKind::Register, 100), (SmdsOpKind::Delete, 5_000)]
        );
        assert_eq!(ops[0].event_id.as_str(), "EV-1");
        let before = registration(&p);
        assert!(before.is_some());
        // Released → Downloaded: the event stays (the installation result ends it).
        p.state = ProfileState::Downloaded;
        assert!(smds_ops(before.as_ref(), &mut p, 200).is_empty());
        p.state = ProfileState::Installed;
        let ops = smds_ops(before.as_ref(), &mut p, 300);
        assert_eq!(ops.len(), 1);
        assert_eq!((ops[0].kind, ops[0].due), (SmdsOpKind::Delete, 300));
        assert_eq!(p.smds_address, None);
        // Nothing registered: nothing to do.
        let mut q = profile(ProfileState::Released);
        q.smds_address = None;
        assert!(smds_ops(None, &mut q, 0).is_empty());
        // Cancelled: the order is reset, the event deleted.
        let mut c = profile(ProfileState::Released);
        let before = registration(&c);
        c.reset_order(ProfileState::Available);
        let ops = smds_ops(before.as_ref(), &mut c, 9);
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].kind, SmdsOpKind::Delete);
        assert_eq!(ops[0].eid.to_string(), "89049032123451234512345678901235");
    }
}
