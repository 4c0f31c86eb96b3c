//! ES15: an alternative SM-DS's forwards to the root SM-DS, delivered by the SM-DP+'s own
//! SM-DS worker (`simforge-server`'s `SmdsWorker`, one mechanism): [`ForwardQueue`] is the
//! SM-DP+'s [`SmdsQueue`] over an [`SmdsStore`]'s queue of forwards.
//!
//! SGP.22 §3.6 (Event Registration and Deletion through an alternative SM-DS): a
//! registration with `forwardingIndicator` true at an alternative SM-DS makes it register,
//! at the root SM-DS, a record of the same EID and EventID whose RSP server address is the
//! alternative SM-DS's own (so an LPA that discovers it at the root asks the alternative
//! SM-DS next, with the EventID as matchingId); the deletion of the record is forwarded
//! likewise. The alternative SM-DS answers its caller once the record and its forward are
//! committed; the forward is then delivered at least once, retried while the root does not
//! answer, and kept with its last error when the root refuses it.

use std::sync::Arc;

use simforge_smdp::error::Cause;
use simforge_smdp::{SmdsOpEntry, SmdsOpRow, SmdsQueue, UnixTime};

use crate::store::SmdsStore;

/// An SM-DS store's ES15 forwards as the SM-DP+'s [`SmdsQueue`] (for its worker).
#[derive(Debug)]
pub struct ForwardQueue<S: ?Sized>(pub Arc<S>);

fn smdp_error(e: crate::Error) -> simforge_smdp::Error {
    match e {
        crate::Error::Storage(c) => simforge_smdp::Error::Storage(c),
        other => simforge_smdp::Error::Storage(Cause::transparent(other)),
    }
}

impl<S: SmdsStore + ?Sized> SmdsQueue for ForwardQueue<S> {
    async fn claim_smds_ops(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> simforge_smdp::Result<Vec<SmdsOpEntry>> {
        self.0
            .claim_ops(now_ms, lease_ms, limit)
            .map_err(smdp_error)
    }

    async fn smds_op_done(&self, id: i64, now_ms: i64) -> simforge_smdp::Result<()> {
        self.0.op_done(id, now_ms).map_err(smdp_error)
    }

    async fn smds_op_failed(
        &self,
        id: i64,
        error: &str,
        next_try_ms: Option<i64>,
        now_ms: i64,
    ) -> simforge_smdp::Result<()> {
        self.0
            .op_failed(id, error, next_try_ms, now_ms)
            .map_err(smdp_error)
    }

    async fn purge_smds_ops(&self, before: UnixTime, limit: u32) -> simforge_smdp::Result<u64> {
        self.0.purge_ops(before, limit).map_err(smdp_error)
    }

    async fn smds_ops_of(
        &self,
        _operator: simforge_smdp::OperatorId,
        limit: u32,
    ) -> simforge_smdp::Result<Vec<SmdsOpRow>> {
        self.0.ops(limit).map_err(smdp_error)
    }

    async fn requeue_smds_op(
        &self,
        _operator: simforge_smdp::OperatorId,
        id: i64,
        now_ms: i64,
    ) -> simforge_smdp::Result<bool> {
        self.0.requeue_op(id, now_ms).map_err(smdp_error)
    }
}
