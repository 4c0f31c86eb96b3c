//! The SM-DS's event records in SQLite (`simforge_smds::SmdsStore`): one table in a database
//! file of its own (the SM-DS role runs apart from the SM-DP+'s database), created on open;
//! every registration and deletion committed (`synchronous = FULL`) before it is answered.
//! ES11 sessions (InitiateAuthentication to AuthenticateClient) stay in memory, as the
//! SM-DP+'s do: a restart only makes an LPA start again. An alternative SM-DS's ES15
//! forwards to the root SM-DS are queued in the same file, in the transaction that changes
//! the record, in a table of the SM-DP+'s queue's shape (`rsp_smds_ops`, operator 0, no
//! ICCID) through the SM-DP+'s queue statements (`crate::rsp::smds_ops`).

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{OptionalExtension, params};
use simforge_asn1::{Eid, Iccid, MatchingId, TransactionId};
use simforge_smdp::error::Cause;
use simforge_smdp::{Session, SmdsOp, SmdsOpEntry, SmdsOpKind, SmdsOpRow, SmdsOpState, UnixTime};
use simforge_smds::{Error, EventRecord, MemoryStore, Registrant, SmdsStore};

use crate::StoreError;
use crate::rsp::secs;
use crate::rsp::smds_ops as q;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS smds_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    eid TEXT NOT NULL,
    event_id TEXT NOT NULL,
    rsp_server_address TEXT NOT NULL,
    registrant TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    expires_at INTEGER,
    forwarding_indicator INTEGER NOT NULL,
    UNIQUE (eid, event_id)
);
CREATE INDEX IF NOT EXISTS smds_events_expiry ON smds_events (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS rsp_smds_ops (
    id            INTEGER PRIMARY KEY,
    operator_id   INTEGER NOT NULL,
    iccid         TEXT,
    kind          TEXT NOT NULL,
    smds_address  TEXT NOT NULL,
    eid           TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    due_at        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try_ms   INTEGER NOT NULL,
    done_at       INTEGER,
    last_error    TEXT
);
CREATE INDEX IF NOT EXISTS rsp_smds_ops_due ON rsp_smds_ops (next_try_ms) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS rsp_smds_ops_event ON rsp_smds_ops (eid, event_id) WHERE state = 'pending';
";

/// The SM-DS's records in a SQLite file, its sessions in memory.
#[derive(Debug)]
pub struct SqliteSmdsStore {
    conn: Mutex<rusqlite::Connection>,
    sessions: MemoryStore,
}

fn storage(e: rusqlite::Error) -> Error {
    Error::Storage(Cause::with_source("SQLite", StoreError::from(e)))
}

fn corrupt(what: &'static str) -> Error {
    Error::Storage(Cause::new(what))
}

impl SqliteSmdsStore {
    /// Opens (creating it, mode 0600, if needed) the SM-DS database at `path`.
    ///
    /// # Errors
    /// [`StoreError::InsecureMode`], [`StoreError::Sqlite`], [`StoreError::Config`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        crate::prepare_db_files(path)?;
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            sessions: MemoryStore::new(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

type Row = (String, String, String, String, i64, Option<i64>, bool);

fn record(r: Row) -> Result<EventRecord, Error> {
    let (eid, event_id, rsp_server_address, registrant, registered_at, expires_at, fwd) = r;
    Ok(EventRecord {
        eid: Eid::parse(&eid).map_err(|_| corrupt("an SM-DS record with a malformed EID"))?,
        event_id,
        rsp_server_address,
        registrant: Registrant::parse(&registrant)
            .map_err(|_| corrupt("an SM-DS record with a malformed registrant"))?,
        registered_at,
        expires_at,
        forwarding_indicator: fwd,
    })
}

const COLUMNS: &str = "eid, event_id, rsp_server_address, registrant, registered_at, expires_at, forwarding_indicator";

/// Queues `ops` on `conn` (inside the caller's transaction), superseding as the SM-DP+'s
/// queue does.
fn push_ops(conn: &rusqlite::Connection, ops: &[SmdsOp]) -> rusqlite::Result<()> {
    for o in ops {
        let eid = o.eid.to_string();
        conn.prepare_cached(q::SUPERSEDE_SQL)?.execute(params![
            o.operator_id,
            o.smds_address,
            eid,
            o.event_id.as_str(),
            o.at
        ])?;
        conn.prepare_cached(q::INSERT_SQL)?.execute(params![
            o.operator_id,
            o.iccid.as_ref().map(Iccid::as_str),
            o.kind.as_str(),
            o.smds_address,
            eid,
            o.event_id.as_str(),
            o.due,
            o.at,
            o.due.saturating_mul(1000)
        ])?;
    }
    Ok(())
}

/// The columns of the queue's `SELECT`s, in their order.
type OpRow = (
    i64,
    i64,
    Option<String>,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    String,
    Option<String>,
);

fn read_op(r: &rusqlite::Row<'_>) -> rusqlite::Result<OpRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn op_row(r: OpRow) -> Result<SmdsOpRow, Error> {
    let (
        id,
        operator_id,
        iccid,
        kind,
        smds_address,
        eid,
        event_id,
        due,
        at,
        attempts,
        state,
        last_error,
    ) = r;
    let bad = |what| corrupt(what);
    Ok(SmdsOpRow {
        entry: SmdsOpEntry {
            id,
            op: SmdsOp {
                operator_id,
                iccid: iccid
                    .map(|i| Iccid::parse(&i))
                    .transpose()
                    .map_err(|_| bad("an SM-DS operation with a malformed ICCID"))?,
                kind: SmdsOpKind::parse(&kind)
                    .ok_or_else(|| bad("an SM-DS operation of an unknown kind"))?,
                smds_address,
                eid: Eid::parse(&eid)
                    .map_err(|_| bad("an SM-DS operation with a malformed EID"))?,
                event_id: MatchingId::parse(&event_id)
                    .map_err(|_| bad("an SM-DS operation with a malformed EventID"))?,
                due,
                at,
            },
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        },
        state: SmdsOpState::parse(&state)
            .ok_or_else(|| bad("an SM-DS operation in an unknown state"))?,
        last_error,
    })
}

fn not_pending(id: i64) -> Error {
    Error::Storage(Cause::new(format!("SM-DS operation {id} is not pending")))
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

impl SmdsStore for SqliteSmdsStore {
    fn put_session(&self, session: Session) -> Result<(), Error> {
        self.sessions.put_session(session)
    }

    fn take_session(&self, tid: &TransactionId) -> Result<Option<Session>, Error> {
        self.sessions.take_session(tid)
    }

    fn insert_event(&self, r: EventRecord, forward: &[SmdsOp]) -> Result<bool, Error> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(storage)?;
        let n = tx
            .prepare_cached(&format!(
                "INSERT INTO smds_events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (eid, event_id) DO NOTHING"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    r.eid.to_string(),
                    r.event_id,
                    r.rsp_server_address,
                    r.registrant.as_str(),
                    r.registered_at,
                    r.expires_at,
                    r.forwarding_indicator,
                ])
            })
            .map_err(storage)?;
        if n == 1 {
            push_ops(&tx, forward).map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        Ok(n == 1)
    }

    fn events_for(&self, eid: &Eid) -> Result<Vec<EventRecord>, Error> {
        let rows: Vec<Row> = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM smds_events WHERE eid = ? ORDER BY seq"
            ))
            .and_then(|mut s| {
                s.query_map([eid.to_string()], read_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(storage)?;
        rows.into_iter().map(record).collect()
    }

    fn remove_event(
        &self,
        r: &EventRecord,
        forward: &[SmdsOp],
    ) -> Result<Option<EventRecord>, Error> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(storage)?;
        let row: Option<Row> = tx
            .prepare_cached(&format!(
                "DELETE FROM smds_events
                 WHERE eid = ? AND event_id = ? AND registrant = ? AND registered_at = ?
                 RETURNING {COLUMNS}"
            ))
            .and_then(|mut s| {
                s.query_row(
                    params![
                        r.eid.to_string(),
                        r.event_id,
                        r.registrant.as_str(),
                        r.registered_at
                    ],
                    read_row,
                )
                .optional()
            })
            .map_err(storage)?;
        if row.is_some() {
            push_ops(&tx, forward).map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        row.map(record).transpose()
    }

    fn purge_expired(&self, now: UnixTime) -> Result<Vec<EventRecord>, Error> {
        self.sessions.purge_expired(now)?;
        let rows: Vec<Row> = self
            .conn()
            .prepare_cached(&format!(
                "DELETE FROM smds_events WHERE expires_at IS NOT NULL AND expires_at <= ?
                 RETURNING {COLUMNS}"
            ))
            .and_then(|mut s| {
                s.query_map([now], read_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(storage)?;
        rows.into_iter().map(record).collect()
    }

    fn queue_ops(&self, ops: &[SmdsOp]) -> Result<(), Error> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(storage)?;
        push_ops(&tx, ops).map_err(storage)?;
        tx.commit().map_err(storage)
    }

    fn claim_ops(&self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<SmdsOpEntry>, Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(storage)?;
        let rows: Vec<OpRow> = tx
            .prepare_cached(q::DUE_SQL)
            .and_then(|mut s| {
                s.query_map(params![now_ms, i64::from(limit)], read_op)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(storage)?;
        let claimed = rows
            .into_iter()
            .map(|r| op_row(r).map(|r| r.entry))
            .collect::<Result<Vec<_>, _>>()?;
        for e in &claimed {
            tx.prepare_cached(q::LEASE_SQL)
                .and_then(|mut s| s.execute(params![now_ms.saturating_add(lease_ms), e.id]))
                .map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        Ok(claimed)
    }

    fn op_done(&self, id: i64, now_ms: i64) -> Result<(), Error> {
        let n = self
            .conn()
            .prepare_cached(q::DONE_SQL)
            .and_then(|mut s| s.execute(params![secs(now_ms), id]))
            .map_err(storage)?;
        if n != 1 {
            return Err(not_pending(id));
        }
        Ok(())
    }

    fn op_failed(
        &self,
        id: i64,
        error: &str,
        next_try_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), Error> {
        let conn = self.conn();
        let n = match next_try_ms {
            Some(next) => conn
                .prepare_cached(q::RETRY_SQL)
                .and_then(|mut s| s.execute(params![error, next, id])),
            None => conn
                .prepare_cached(q::GIVE_UP_SQL)
                .and_then(|mut s| s.execute(params![error, secs(now_ms), id])),
        }
        .map_err(storage)?;
        if n != 1 {
            return Err(not_pending(id));
        }
        Ok(())
    }

    fn purge_ops(&self, before: UnixTime, limit: u32) -> Result<u64, Error> {
        let n = self
            .conn()
            .prepare_cached(q::PURGE_SQL)
            .and_then(|mut s| s.execute(params![before, i64::from(limit)]))
            .map_err(storage)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn requeue_op(&self, id: i64, now_ms: i64) -> Result<bool, Error> {
        let n = self
            .conn()
            .prepare_cached(q::REQUEUE_SQL)
            .and_then(|mut s| s.execute(params![now_ms, secs(now_ms), id, 0_i64]))
            .map_err(storage)?;
        Ok(n == 1)
    }

    fn ops(&self, limit: u32) -> Result<Vec<SmdsOpRow>, Error> {
        let rows: Vec<OpRow> = self
            .conn()
            .prepare_cached(q::OF_OPERATOR_SQL)
            .and_then(|mut s| {
                s.query_map(params![0_i64, i64::from(limit)], read_op)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(storage)?;
        rows.into_iter().map(op_row).collect()
    }
}
