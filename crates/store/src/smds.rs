//! The SM-DS's event records in SQLite (`simforge_smds::SmdsStore`): one table in a database
//! file of its own (the SM-DS role runs apart from the SM-DP+'s database), created on open;
//! every registration and deletion committed (`synchronous = FULL`) before it is answered.
//! ES11 sessions (InitiateAuthentication to AuthenticateClient) stay in memory, as the
//! SM-DP+'s do: a restart only makes an LPA start again.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{OptionalExtension, params};
use simforge_asn1::{Eid, TransactionId};
use simforge_smdp::error::Cause;
use simforge_smdp::{Session, UnixTime};
use simforge_smds::{Error, EventRecord, MemoryStore, Registrant, SmdsStore};

use crate::StoreError;

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

    fn insert_event(&self, r: EventRecord) -> Result<bool, Error> {
        let n = self
            .conn()
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

    fn remove_event(&self, eid: &Eid, event_id: &str) -> Result<Option<EventRecord>, Error> {
        let row: Option<Row> = self
            .conn()
            .prepare_cached(&format!(
                "DELETE FROM smds_events WHERE eid = ? AND event_id = ? RETURNING {COLUMNS}"
            ))
            .and_then(|mut s| {
                s.query_row(params![eid.to_string(), event_id], read_row)
                    .optional()
            })
            .map_err(storage)?;
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
}
