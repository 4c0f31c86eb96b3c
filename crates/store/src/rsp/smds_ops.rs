//! The SM-DS operations queue (`rsp_smds_ops`) on either database: the SM-DP+'s transactions
//! push (`SmdpTx::push_smds_ops`, in `tx` and `crate::pg`), the SM-DS worker claims and
//! records through [`SmdsQueue`]. One set of statements (written with `?`, numbered for
//! PostgreSQL); a claim holds SQLite's write lock (`BEGIN IMMEDIATE`) or, on PostgreSQL, the
//! transaction-scoped advisory lock [`SMDS_CLAIM_LOCK`], so the workers of several nodes never
//! claim the same operation.

use simforge_asn1::{Eid, Iccid, MatchingId};
use simforge_smdp::{
    Error, OperatorId, SmdsOp, SmdsOpEntry, SmdsOpKind, SmdsOpRow, SmdsOpState, SmdsQueue,
};
use sqlx::Row;

use super::{db, secs};
use crate::sql::Dialect;
use crate::{PgStore, SqliteStore};

/// Supersedes the pending operations of an event (operator, SM-DS, EID, EventID) that were
/// never attempted and are not yet due at `?` (the new operation's time, seconds): the
/// scheduled delete at an order's expiry, once another operation of the event is queued.
pub(crate) const SUPERSEDE_SQL: &str = "UPDATE rsp_smds_ops SET state = 'superseded'
    WHERE state = 'pending' AND attempts = 0 AND operator_id = ? AND smds_address = ?
      AND eid = ? AND event_id = ? AND due_at > ?";

/// Queues one operation.
pub(crate) const INSERT_SQL: &str = "INSERT INTO rsp_smds_ops
    (operator_id, iccid, kind, smds_address, eid, event_id, due_at, created_at, next_try_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// The due operations no earlier pending operation of the same event holds back.
pub(crate) const DUE_SQL: &str =
    "SELECT o.id, o.operator_id, o.iccid, o.kind, o.smds_address, o.eid,
        o.event_id, o.due_at, o.created_at, o.attempts, o.state, o.last_error
    FROM rsp_smds_ops o
    WHERE o.state = 'pending' AND o.next_try_ms <= ?
      AND NOT EXISTS (SELECT 1 FROM rsp_smds_ops p
          WHERE p.state = 'pending' AND p.eid = o.eid AND p.event_id = o.event_id
            AND p.smds_address = o.smds_address AND p.id < o.id)
    ORDER BY o.id LIMIT ?";

pub(crate) const LEASE_SQL: &str =
    "UPDATE rsp_smds_ops SET next_try_ms = ? WHERE id = ? AND state = 'pending'";

pub(crate) const DONE_SQL: &str = "UPDATE rsp_smds_ops
    SET state = 'done', attempts = attempts + 1, last_error = NULL, done_at = ?
    WHERE id = ? AND state = 'pending'";

pub(crate) const RETRY_SQL: &str = "UPDATE rsp_smds_ops
    SET attempts = attempts + 1, last_error = ?, next_try_ms = ?
    WHERE id = ? AND state = 'pending'";

pub(crate) const GIVE_UP_SQL: &str = "UPDATE rsp_smds_ops
    SET state = 'failed', attempts = attempts + 1, last_error = ?, done_at = ?
    WHERE id = ? AND state = 'pending'";

/// The oldest finished operations queued before `?` (at most `?`).
pub(crate) const PURGE_SQL: &str = "DELETE FROM rsp_smds_ops WHERE id IN
    (SELECT id FROM rsp_smds_ops WHERE state <> 'pending' AND created_at < ? ORDER BY id LIMIT ?)";

pub(crate) const OF_OPERATOR_SQL: &str = "SELECT id, operator_id, iccid, kind, smds_address, eid,
        event_id, due_at, created_at, attempts, state, last_error
    FROM rsp_smds_ops WHERE operator_id = ? ORDER BY id DESC LIMIT ?";

/// Puts a given-up operation (`id`, `operator_id`) back, due now (`next_try_ms`, `due_at`),
/// unless a later operation of its event was done or given up.
pub(crate) const REQUEUE_SQL: &str = "UPDATE rsp_smds_ops
    SET state = 'pending', next_try_ms = ?, due_at = ?, done_at = NULL
    WHERE id = ? AND operator_id = ? AND state = 'failed'
      AND NOT EXISTS (SELECT 1 FROM rsp_smds_ops l
          WHERE l.id > rsp_smds_ops.id AND l.state IN ('done', 'failed')
            AND l.eid = rsp_smds_ops.eid AND l.event_id = rsp_smds_ops.event_id
            AND l.smds_address = rsp_smds_ops.smds_address)";

/// The advisory lock (`pg_advisory_xact_lock`) that serializes SM-DS queue claims across
/// instances ("SMDSQUEU").
const SMDS_CLAIM_LOCK: i64 = 0x534d_4453_5155_4555;

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("stored SM-DS operation: {what}: {e}").into())
}

fn not_pending(id: i64) -> Error {
    Error::Storage(format!("SM-DS operation {id} is not pending").into())
}

/// One row (either database's) as a [`SmdsOpRow`].
fn row<R: Row>(r: &R) -> Result<SmdsOpRow, Error>
where
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    let text = |c: &str| -> Result<String, Error> { r.try_get::<String, _>(c).map_err(db) };
    let kind = text("kind")?;
    let state = text("state")?;
    let attempts: i64 = r.try_get("attempts").map_err(db)?;
    Ok(SmdsOpRow {
        entry: SmdsOpEntry {
            id: r.try_get("id").map_err(db)?,
            op: SmdsOp {
                operator_id: r.try_get("operator_id").map_err(db)?,
                iccid: r
                    .try_get::<Option<String>, _>("iccid")
                    .map_err(db)?
                    .map(|i| Iccid::parse(&i).map_err(|e| corrupt("iccid", e)))
                    .transpose()?,
                kind: SmdsOpKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
                smds_address: text("smds_address")?,
                eid: Eid::parse(&text("eid")?).map_err(|e| corrupt("eid", e))?,
                event_id: MatchingId::parse(&text("event_id")?)
                    .map_err(|e| corrupt("event id", e))?,
                due: r.try_get("due_at").map_err(db)?,
                at: r.try_get("created_at").map_err(db)?,
            },
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        },
        state: SmdsOpState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        last_error: r.try_get("last_error").map_err(db)?,
    })
}

/// `SmdsQueue` for a store over an sqlx pool: `$begin` opens the claim's transaction and
/// takes its lock.
macro_rules! smds_queue {
    ($store:ty, $dialect:expr, |$pool:ident| $begin:expr, |$tx:ident| $commit:expr) => {
        impl SmdsQueue for $store {
            async fn claim_smds_ops(
                &self,
                now_ms: i64,
                lease_ms: i64,
                limit: u32,
            ) -> Result<Vec<SmdsOpEntry>, Error> {
                let d: Dialect = $dialect;
                let due = d.sql(DUE_SQL);
                // Look without the lock first: most polls find nothing.
                let any = sqlx::query(&due)
                    .bind(now_ms)
                    .bind(1_i64)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                if any.is_none() {
                    return Ok(Vec::new());
                }
                let $pool = &self.pool;
                let mut tx = $begin;
                let rows = sqlx::query(&due)
                    .bind(now_ms)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db)?;
                let claimed = rows
                    .iter()
                    .map(|r| row(r).map(|r| r.entry))
                    .collect::<Result<Vec<_>, _>>()?;
                let lease = d.sql(LEASE_SQL);
                for e in &claimed {
                    sqlx::query(&lease)
                        .bind(now_ms.saturating_add(lease_ms))
                        .bind(e.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                let $tx = tx;
                $commit.await.map_err(db)?;
                Ok(claimed)
            }

            async fn smds_op_done(&self, id: i64, now_ms: i64) -> Result<(), Error> {
                let d: Dialect = $dialect;
                let r = sqlx::query(&d.sql(DONE_SQL))
                    .bind(secs(now_ms))
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                if r.rows_affected() != 1 {
                    return Err(not_pending(id));
                }
                Ok(())
            }

            async fn smds_op_failed(
                &self,
                id: i64,
                error: &str,
                next_try_ms: Option<i64>,
                now_ms: i64,
            ) -> Result<(), Error> {
                let d: Dialect = $dialect;
                let r = match next_try_ms {
                    Some(next) => {
                        sqlx::query(&d.sql(RETRY_SQL))
                            .bind(error)
                            .bind(next)
                            .bind(id)
                            .execute(&self.pool)
                            .await
                    }
                    None => {
                        sqlx::query(&d.sql(GIVE_UP_SQL))
                            .bind(error)
                            .bind(secs(now_ms))
                            .bind(id)
                            .execute(&self.pool)
                            .await
                    }
                }
                .map_err(db)?;
                if r.rows_affected() != 1 {
                    return Err(not_pending(id));
                }
                Ok(())
            }

            async fn purge_smds_ops(&self, before: i64, limit: u32) -> Result<u64, Error> {
                let d: Dialect = $dialect;
                let r = sqlx::query(&d.sql(PURGE_SQL))
                    .bind(before)
                    .bind(i64::from(limit))
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(r.rows_affected())
            }

            async fn smds_ops_of(
                &self,
                operator: OperatorId,
                limit: u32,
            ) -> Result<Vec<SmdsOpRow>, Error> {
                let d: Dialect = $dialect;
                let rows = sqlx::query(&d.sql(OF_OPERATOR_SQL))
                    .bind(operator)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.iter().map(row).collect()
            }

            async fn requeue_smds_op(
                &self,
                operator: OperatorId,
                id: i64,
                now_ms: i64,
            ) -> Result<bool, Error> {
                let d: Dialect = $dialect;
                let r = sqlx::query(&d.sql(REQUEUE_SQL))
                    .bind(now_ms)
                    .bind(secs(now_ms))
                    .bind(id)
                    .bind(operator)
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(r.rows_affected() == 1)
            }
        }
    };
}

smds_queue!(
    SqliteStore,
    Dialect::Sqlite,
    |pool| pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?,
    |tx| tx.commit()
);

smds_queue!(
    PgStore,
    Dialect::Postgres,
    |pool| {
        let mut tx = crate::pg::begin(pool).await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SMDS_CLAIM_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx
    },
    |tx| crate::pg::commit(tx)
);
