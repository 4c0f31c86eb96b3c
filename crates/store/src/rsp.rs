//! SQLite implementation of the SM-DP+ storage trait ([`simforge_smdp::SmdpStore`]).
//!
//! Every transaction starts with `BEGIN IMMEDIATE`: it holds the write lock from its first
//! read, so a load → decide → save sequence cannot interleave with another writer and two
//! concurrent downloads can never bind the same profile. Profiles also carry a version that
//! [`SmdpTx::put_profile`] checks. Every row carries its operator (tenant).
//!
//! The SM-DP+'s transactions run on one dedicated connection ([`SqliteTx`]): its statements
//! execute on the calling task (no thread hop per statement), the transactions of the process
//! queue for it in order. Durability follows [`Synchronous`] (`FULL` by default). Sealed profile
//! packages live in `rsp_packages`, apart from the profile rows that change on every call.
//!
//! The events outbox (`rsp_events`) is delivered to the operators' callback endpoints
//! (`operator_callbacks`, [`Store::set_callback_url`]) through [`OutboxStore`]: claims take
//! the write lock and lease what they return; every change is scoped to the event's operator.

use simforge_asn1::{Eid, TransactionId};
use simforge_smdp::{
    Error, Event, OperatorId, OutboxEntry, OutboxStore, ProfileRecord, ProfileState, SealedPackage,
    Session, SmdpStore, SmdpTx,
};
use std::path::Path;
use std::time::Duration;

use rusqlite::OptionalExtension as _;
use sqlx::Row;
use tokio::sync::OwnedMutexGuard;

use crate::{Store, StoreError, Synchronous};

fn db(e: sqlx::Error) -> Error {
    Error::Storage(e.to_string())
}

fn sq(e: rusqlite::Error) -> Error {
    Error::Storage(e.to_string())
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Storage(format!("record encoding: {e}"))
}

/// How long a transaction waits for the write lock held by another connection (the sqlx
/// pool's administrative work, another process) before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens the SM-DP+ connection (the schema is already migrated through the pool).
pub(crate) fn open_connection(
    path: &Path,
    synchronous: Synchronous,
) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open(path)?;
    // WAL is a property of the database file (set by the pool); synchronous and foreign keys
    // are per connection.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;",
        synchronous.as_str()
    ))?;
    // Statements run on the caller's task: never sleep there waiting for a lock
    // (see `SmdpStore::begin`).
    conn.busy_timeout(Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A write transaction of the SM-DP+ on its dedicated connection.
///
/// The connection is held (async mutex) from `begin` to commit or drop, so the SM-DP+'s
/// transactions are serialized in the process as `BEGIN IMMEDIATE` serializes them in the
/// database. Statements are prepared once (statement cache) and run on the calling task: each
/// is a few microseconds of SQLite work on an in-memory page cache, cheaper than handing it to
/// another thread and waking back. Only what can block runs on the blocking pool: waiting for
/// the write lock another connection holds, and a commit that fsyncs (`synchronous = FULL`).
pub struct SqliteTx {
    conn: Option<OwnedMutexGuard<rusqlite::Connection>>,
    synchronous: Synchronous,
    /// Sealed packages as loaded in this transaction, by ICCID: `put_profile` rewrites the
    /// package column only when it changed.
    loaded_packages: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx")
            .field("open", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Not committed: roll back before the connection is handed to the next transaction.
            // Should the rollback fail, the next BEGIN fails too ("cannot start a transaction
            // within a transaction") rather than joining this one.
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

impl SmdpStore for Store {
    type Tx = SqliteTx;

    async fn begin(&self) -> Result<SqliteTx, Error> {
        let conn = self.rsp.clone().lock_owned().await;
        let conn = match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => conn,
            // Another connection holds the write lock: wait for it off the async workers.
            Err(e) if is_busy(&e) => tokio::task::spawn_blocking(move || {
                conn.busy_timeout(BUSY_TIMEOUT)?;
                let begun = conn.execute_batch("BEGIN IMMEDIATE");
                if let Err(e) = conn.busy_timeout(Duration::ZERO) {
                    if begun.is_ok() {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    return Err(e);
                }
                begun.map(|()| conn)
            })
            .await
            .map_err(|e| Error::Storage(format!("database task: {e}")))?
            .map_err(sq)?,
            Err(e) => return Err(sq(e)),
        };
        Ok(SqliteTx {
            conn: Some(conn),
            synchronous: self.synchronous,
            loaded_packages: Vec::new(),
        })
    }
}

impl SqliteTx {
    fn conn(&self) -> Result<&rusqlite::Connection, Error> {
        self.conn
            .as_deref()
            .ok_or_else(|| Error::Storage("transaction already ended".into()))
    }

    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize, Error> {
        self.conn()?
            .prepare_cached(sql)
            .map_err(sq)?
            .execute(params)
            .map_err(sq)
    }

    fn one_profile(
        &mut self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Option<ProfileRecord>, Error> {
        let row = self
            .conn()?
            .prepare_cached(sql)
            .map_err(sq)?
            .query_row(params, |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()
            .map_err(sq)?;
        let Some((record, package, version)) = row else {
            return Ok(None);
        };
        let mut p: ProfileRecord = serde_json::from_str(&record).map_err(json_err)?;
        p.version = version;
        match self.loaded_packages.iter_mut().find(|(i, _)| *i == p.iccid) {
            Some(slot) => slot.1.clone_from(&package),
            None => self
                .loaded_packages
                .push((p.iccid.clone(), package.clone())),
        }
        p.package = SealedPackage(package);
        Ok(Some(p))
    }
}

/// The profile's JSON record, without the package (a column of its own).
fn profile_json(p: &ProfileRecord) -> Result<String, Error> {
    let mut light = p.clone();
    light.package = SealedPackage(Vec::new());
    serde_json::to_string(&light).map_err(json_err)
}

/// The columns [`SqliteTx::one_profile`] reads, and the tables they come from.
const COLS: &str = "record, package, version";
const PROFILES: &str = "rsp_profiles JOIN rsp_packages USING (iccid)";

impl SmdpTx for SqliteTx {
    async fn session(&mut self, tid: &TransactionId) -> Result<Option<Session>, Error> {
        let record = self
            .conn()?
            .prepare_cached("SELECT record FROM rsp_sessions WHERE transaction_id = ?")
            .map_err(sq)?
            .query_row([tid.to_string()], |r| r.get::<_, String>(0))
            .optional()
            .map_err(sq)?;
        record
            .map(|s| serde_json::from_str(&s).map_err(json_err))
            .transpose()
    }

    async fn put_session(&mut self, s: &Session) -> Result<(), Error> {
        let record = serde_json::to_string(s).map_err(json_err)?;
        self.exec(
            "INSERT INTO rsp_sessions (transaction_id, operator_id, expires_at, record) VALUES (?, ?, ?, ?)
             ON CONFLICT (transaction_id) DO UPDATE SET operator_id = excluded.operator_id,
             expires_at = excluded.expires_at, record = excluded.record",
            rusqlite::params![s.transaction_id.to_string(), s.operator_id, s.expires_at, record],
        )?;
        Ok(())
    }

    async fn delete_session(&mut self, tid: &TransactionId) -> Result<(), Error> {
        self.exec(
            "DELETE FROM rsp_sessions WHERE transaction_id = ?",
            [tid.to_string()],
        )?;
        Ok(())
    }

    async fn profile(
        &mut self,
        operator: OperatorId,
        iccid: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.one_profile(
            &format!("SELECT {COLS} FROM {PROFILES} WHERE operator_id = ? AND iccid = ?"),
            rusqlite::params![operator, iccid],
        )
    }

    async fn profile_any_operator(&mut self, iccid: &str) -> Result<Option<ProfileRecord>, Error> {
        self.one_profile(
            &format!("SELECT {COLS} FROM {PROFILES} WHERE iccid = ?"),
            [iccid],
        )
    }

    async fn profile_by_matching_id(
        &mut self,
        matching_id: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.one_profile(
            &format!("SELECT {COLS} FROM {PROFILES} WHERE matching_id = ?"),
            [matching_id],
        )
    }

    async fn pending_profile_for_eid(&mut self, eid: &Eid) -> Result<Option<ProfileRecord>, Error> {
        self.one_profile(
            &format!(
                "SELECT {COLS} FROM {PROFILES} WHERE eid = ? AND state IN ('released', 'downloaded')
                 ORDER BY updated_at LIMIT 1"
            ),
            [eid.as_str()],
        )
    }

    async fn available_profile(
        &mut self,
        operator: OperatorId,
        profile_type: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.one_profile(
            &format!(
                "SELECT {COLS} FROM {PROFILES} WHERE operator_id = ? AND profile_type = ? AND state = 'available'
                 ORDER BY rsp_profiles.iccid LIMIT 1"
            ),
            rusqlite::params![operator, profile_type],
        )
    }

    async fn insert_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        let exists = self
            .conn()?
            .prepare_cached("SELECT 1 FROM rsp_profiles WHERE iccid = ?")
            .map_err(sq)?
            .exists([&p.iccid])
            .map_err(sq)?;
        if exists {
            return Err(Error::IccidInUse);
        }
        self.exec(
            "INSERT INTO rsp_profiles (iccid, operator_id, profile_type, state, eid, matching_id, version, updated_at, record)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params![
                p.iccid,
                p.operator_id,
                p.profile_type,
                p.state.as_str(),
                p.eid.as_ref().map(Eid::as_str),
                p.matching_id.as_ref().map(|m| m.as_str()),
                p.version,
                p.updated_at,
                profile_json(p)?,
            ],
        )?;
        self.exec(
            "INSERT INTO rsp_packages (iccid, package) VALUES (?, ?)",
            rusqlite::params![p.iccid, p.package.0],
        )?;
        Ok(())
    }

    async fn put_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        let unchanged = self
            .loaded_packages
            .iter()
            .any(|(i, pkg)| *i == p.iccid && *pkg == p.package.0);
        let eid = p.eid.as_ref().map(Eid::as_str);
        let matching_id = p.matching_id.as_ref().map(|m| m.as_str());
        let record = profile_json(p)?;
        let n = self.exec(
            "UPDATE rsp_profiles SET state = ?, eid = ?, matching_id = ?, version = version + 1, updated_at = ?, record = ?
             WHERE iccid = ? AND operator_id = ? AND version = ?",
            rusqlite::params![
                p.state.as_str(),
                eid,
                matching_id,
                p.updated_at,
                record,
                p.iccid,
                p.operator_id,
                p.version,
            ],
        )?;
        if n == 1 && !unchanged {
            self.exec(
                "UPDATE rsp_packages SET package = ? WHERE iccid = ?",
                rusqlite::params![p.package.0, p.iccid],
            )?;
        }
        if n != 1 {
            return Err(Error::Storage(format!(
                "profile {} changed concurrently",
                p.iccid
            )));
        }
        Ok(())
    }

    async fn push_events(&mut self, events: &[Event]) -> Result<(), Error> {
        for e in events {
            let at = match e {
                Event::DownloadProgress { at, .. } | Event::ProfileState { at, .. } => *at,
            };
            self.exec(
                "INSERT INTO rsp_events (operator_id, kind, record, created_at) VALUES (?, ?, ?, ?)",
                rusqlite::params![
                    e.operator_id(),
                    e.kind(),
                    serde_json::to_string(e).map_err(json_err)?,
                    at
                ],
            )?;
        }
        Ok(())
    }

    async fn count_by_state(
        &mut self,
        operator: OperatorId,
    ) -> Result<Vec<(ProfileState, u64)>, Error> {
        let mut out: Vec<(ProfileState, u64)> = ProfileState::ALL.iter().map(|s| (*s, 0)).collect();
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT state, COUNT(*) AS n FROM rsp_profiles WHERE operator_id = ? GROUP BY state",
            )
            .map_err(sq)?;
        let rows = stmt
            .query_map([operator], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(sq)?;
        for r in rows {
            let (s, n) = r.map_err(sq)?;
            if let Some(slot) = out.iter_mut().find(|(st, _)| st.as_str() == s) {
                slot.1 = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(out)
    }

    async fn commit(mut self) -> Result<(), Error> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| Error::Storage("transaction already ended".into()))?;
        match self.synchronous {
            // No fsync: the commit is a write into the WAL.
            Synchronous::Normal => {
                let r = conn.execute_batch("COMMIT");
                if r.is_err() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                r.map_err(sq)
            }
            // The commit waits for an fsync: not on an async worker.
            Synchronous::Full => tokio::task::spawn_blocking(move || {
                let r = conn.execute_batch("COMMIT");
                if r.is_err() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                r
            })
            .await
            .map_err(|e| Error::Storage(format!("database task: {e}")))?
            .map_err(sq),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Callback endpoints and the outbox
// ---------------------------------------------------------------------------------------------

/// One outbox event's delivery state, as [`Store::outbox_rows`] lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OutboxRow {
    /// Outbox id.
    pub id: i64,
    /// `download_progress` or `profile_state`.
    pub kind: String,
    /// When the event happened (seconds).
    pub created_at: i64,
    /// Delivery attempts.
    pub attempts: i64,
    /// When delivered (or skipped), seconds.
    pub delivered_at: Option<i64>,
    /// When given up, seconds.
    pub failed_at: Option<i64>,
    /// Next attempt (or lease end), milliseconds.
    pub next_try_ms: i64,
    /// The last delivery error.
    pub last_error: Option<String>,
}

/// The due heads of the operators' queues and what follows them (see
/// [`OutboxStore::claim_outbox`]).
const CLAIM_SQL: &str = "WITH heads AS (
        SELECT operator_id, MIN(id) AS head FROM rsp_events
        WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY operator_id
    )
    SELECT e.id, e.operator_id, e.record, e.attempts, c.url
    FROM heads h
    JOIN rsp_events hd ON hd.id = h.head
    JOIN operator_callbacks c ON c.operator_id = h.operator_id
    JOIN rsp_events e ON e.operator_id = h.operator_id AND e.id >= h.head
    WHERE hd.next_try_ms <= ? AND e.delivered_at IS NULL AND e.failed_at IS NULL
    ORDER BY e.id LIMIT ?";

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

impl Store {
    /// Sets (or with `None` removes) the ES2+ callback endpoint of an operator.
    pub async fn set_callback_url(
        &self,
        operator_id: i64,
        url: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        match url {
            Some(u) => {
                sqlx::query(
                    "INSERT INTO operator_callbacks (operator_id, url, updated_at) VALUES (?, ?, ?)
                     ON CONFLICT (operator_id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at",
                )
                .bind(operator_id)
                .bind(u)
                .bind(now)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM operator_callbacks WHERE operator_id = ?")
                    .bind(operator_id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The ES2+ callback endpoint of an operator.
    pub async fn callback_url(&self, operator_id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT url FROM operator_callbacks WHERE operator_id = ?")
            .bind(operator_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("url")).transpose()?)
    }

    /// An operator's outbox, newest first (at most `limit` rows).
    pub async fn outbox_rows(
        &self,
        operator_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, created_at, attempts, delivered_at, failed_at, next_try_ms, last_error
             FROM rsp_events WHERE operator_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(operator_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    created_at: r.try_get("created_at")?,
                    attempts: r.try_get("attempts")?,
                    delivered_at: r.try_get("delivered_at")?,
                    failed_at: r.try_get("failed_at")?,
                    next_try_ms: r.try_get("next_try_ms")?,
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }

    async fn due(
        conn: &mut sqlx::SqliteConnection,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, Error> {
        let rows = sqlx::query(CLAIM_SQL)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(conn)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                let record: String = r.try_get("record").map_err(db)?;
                let attempts: i64 = r.try_get("attempts").map_err(db)?;
                Ok(OutboxEntry {
                    id: r.try_get("id").map_err(db)?,
                    operator_id: r.try_get("operator_id").map_err(db)?,
                    event: serde_json::from_str(&record).map_err(json_err)?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    endpoint: r.try_get("url").map_err(db)?,
                })
            })
            .collect()
    }

    async fn one_event_update(
        &self,
        sql: &str,
        operator: OperatorId,
        id: i64,
        binds: &[Option<i64>],
        text: Option<&str>,
    ) -> Result<u64, Error> {
        let mut q = sqlx::query(sql);
        if let Some(t) = text {
            q = q.bind(t);
        }
        for b in binds {
            q = q.bind(*b);
        }
        let r = q
            .bind(id)
            .bind(operator)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(r.rows_affected())
    }
}

impl OutboxStore for Store {
    async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, Error> {
        // Look without the write lock first: most polls find nothing.
        {
            let mut conn = self.pool.acquire().await.map_err(db)?;
            if Self::due(&mut conn, now_ms, 1).await?.is_empty() {
                return Ok(Vec::new());
            }
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let claimed = Self::due(&mut tx, now_ms, limit).await?;
        for e in &claimed {
            sqlx::query("UPDATE rsp_events SET next_try_ms = ? WHERE id = ?")
                .bind(now_ms.saturating_add(lease_ms))
                .bind(e.id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(claimed)
    }

    async fn outbox_delivered(
        &self,
        operator: OperatorId,
        id: i64,
        now_ms: i64,
    ) -> Result<(), Error> {
        let n = self
            .one_event_update(
                "UPDATE rsp_events SET delivered_at = ?, attempts = attempts + 1, last_error = NULL
                 WHERE id = ? AND operator_id = ? AND delivered_at IS NULL",
                operator,
                id,
                &[Some(secs(now_ms))],
                None,
            )
            .await?;
        if n != 1 {
            return Err(Error::Storage(format!(
                "outbox event {id} of operator {operator} is not pending"
            )));
        }
        Ok(())
    }

    async fn outbox_skip(
        &self,
        operator: OperatorId,
        ids: &[i64],
        now_ms: i64,
    ) -> Result<(), Error> {
        for id in ids {
            self.one_event_update(
                "UPDATE rsp_events SET delivered_at = ? WHERE id = ? AND operator_id = ? AND delivered_at IS NULL",
                operator,
                *id,
                &[Some(secs(now_ms))],
                None,
            )
            .await?;
        }
        Ok(())
    }

    async fn outbox_failed(
        &self,
        operator: OperatorId,
        id: i64,
        error: &str,
        next_try_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), Error> {
        let n = match next_try_ms {
            Some(next) => {
                self.one_event_update(
                    "UPDATE rsp_events SET last_error = ?, attempts = attempts + 1, next_try_ms = ?
                     WHERE id = ? AND operator_id = ? AND delivered_at IS NULL AND failed_at IS NULL",
                    operator,
                    id,
                    &[Some(next)],
                    Some(error),
                )
                .await?
            }
            None => {
                self.one_event_update(
                    "UPDATE rsp_events SET last_error = ?, attempts = attempts + 1, failed_at = ?
                     WHERE id = ? AND operator_id = ? AND delivered_at IS NULL AND failed_at IS NULL",
                    operator,
                    id,
                    &[Some(secs(now_ms))],
                    Some(error),
                )
                .await?
            }
        };
        if n != 1 {
            return Err(Error::Storage(format!(
                "outbox event {id} of operator {operator} is not pending"
            )));
        }
        Ok(())
    }

    async fn outbox_release(&self, operator: OperatorId, ids: &[i64]) -> Result<(), Error> {
        for id in ids {
            self.one_event_update(
                "UPDATE rsp_events SET next_try_ms = 0
                 WHERE id = ? AND operator_id = ? AND delivered_at IS NULL AND failed_at IS NULL",
                operator,
                *id,
                &[],
                None,
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewOperator;
    use simforge_smdp::ProfileMetadata;

    pub(super) async fn store() -> (tempfile::TempDir, Store, i64, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for name in ["a", "b"] {
            let op = store
                .create_operator(&NewOperator {
                    name: name.into(),
                    mcc: "001".into(),
                    mnc: "01".into(),
                    iccid_prefix: "894944".into(),
                    iccid_len: 19,
                    spn: "Test".into(),
                    out_columns: None,
                })
                .await
                .unwrap();
            ids.push(op.id);
        }
        (dir, store, ids[0], ids[1])
    }

    fn record(op: i64, iccid: &str) -> ProfileRecord {
        ProfileRecord {
            operator_id: op,
            iccid: iccid.into(),
            profile_type: "t".into(),
            state: ProfileState::Available,
            eid: None,
            matching_id: None,
            cc_hash: None,
            cc_attempts: 0,
            download_attempts: 0,
            order_expires_at: None,
            session: None,
            session_expires_at: None,
            metadata: ProfileMetadata {
                service_provider_name: "S".into(),
                profile_name: "P".into(),
                profile_class: 2,
                notification_address: None,
            },
            package: SealedPackage(vec![1, 2, 3]),
            reuse_on_delete: false,
            version: 0,
            updated_at: 0,
            requirements: Default::default(),
            binding: None,
            last_notification: None,
        }
    }

    #[tokio::test]
    async fn round_trip_and_tenant_isolation() {
        let (_d, store, a, b) = store().await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_profile(&record(a, "8949440000000000011"))
            .await
            .unwrap();
        assert!(matches!(
            tx.insert_profile(&record(b, "8949440000000000011")).await,
            Err(Error::IccidInUse)
        ));
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.profile(b, "8949440000000000011")
                .await
                .unwrap()
                .is_none()
        );
        let mut p = tx.profile(a, "8949440000000000011").await.unwrap().unwrap();
        assert_eq!(p.package.0, vec![1, 2, 3]);
        p.state = ProfileState::Released;
        p.matching_id = Some(simforge_asn1::MatchingId::parse("ABC-123").unwrap());
        tx.put_profile(&p).await.unwrap();
        // A stale version is refused.
        assert!(tx.put_profile(&p).await.is_err());
        tx.commit().await.unwrap();

        // Uncommitted changes are rolled back.
        {
            let mut tx = store.begin().await.unwrap();
            let mut p = tx.profile_by_matching_id("ABC-123").await.unwrap().unwrap();
            p.state = ProfileState::Error;
            tx.put_profile(&p).await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        let p = tx.profile_by_matching_id("ABC-123").await.unwrap().unwrap();
        assert_eq!(p.state, ProfileState::Released);
        assert_eq!(p.version, 1);
        let counts = tx.count_by_state(a).await.unwrap();
        assert!(counts.contains(&(ProfileState::Released, 1)));
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn concurrent_allocation_never_hands_out_a_profile_twice() {
        let (_d, store, a, _) = store().await;
        let mut tx = store.begin().await.unwrap();
        for i in 0..10 {
            tx.insert_profile(&record(a, &format!("89494400000000001{i:02}")))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..25 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let mut p = tx.available_profile(a, "t").await.unwrap()?;
                p.state = ProfileState::Allocated;
                tx.put_profile(&p).await.unwrap();
                tx.commit().await.unwrap();
                Some(p.iccid)
            }));
        }
        let mut got = Vec::new();
        for t in tasks {
            if let Some(i) = t.await.unwrap() {
                got.push(i);
            }
        }
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 10);
        let mut tx = store.begin().await.unwrap();
        let counts = tx.count_by_state(a).await.unwrap();
        assert!(counts.contains(&(ProfileState::Allocated, 10)));
        assert!(counts.contains(&(ProfileState::Available, 0)));
    }

    #[tokio::test]
    async fn a_transaction_waits_for_a_writer_on_another_connection() {
        let (_d, store, a, _) = store().await;
        // Another connection (the sqlx pool) holds the write lock.
        let mut other = store.pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("INSERT INTO rsp_events (operator_id, kind, record, created_at) VALUES (?, 'x', '{}', 0)")
            .bind(a)
            .execute(&mut *other)
            .await
            .unwrap();
        let waiting = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.insert_profile(&record(a, "8949440000000000029"))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!waiting.is_finished());
        other.commit().await.unwrap();
        waiting.await.unwrap();
        // Both writes are there; a dropped transaction rolls back and frees the connection.
        {
            let mut tx = store.begin().await.unwrap();
            let mut p = tx.profile(a, "8949440000000000029").await.unwrap().unwrap();
            p.state = ProfileState::Error;
            tx.put_profile(&p).await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        let p = tx.profile(a, "8949440000000000029").await.unwrap().unwrap();
        assert_eq!(
            (p.state, p.version, p.package.0),
            (ProfileState::Available, 0, vec![1, 2, 3])
        );
        tx.commit().await.unwrap();
        assert_eq!(store.outbox_rows(a, 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn sessions_and_events() {
        let (_d, store, a, _) = store().await;
        let tid = TransactionId::parse_hex("0A0B").unwrap();
        let s = Session {
            transaction_id: tid.clone(),
            state: simforge_smdp::SessionState::Initiated,
            created_at: 1,
            expires_at: 2,
            smdp_address: "x".into(),
            euicc_challenge: vec![1; 16],
            server_challenge: vec![2; 16],
            ci_pkid: vec![3; 20],
            signing_ci_pkids: vec![vec![3; 20]],
            eid: None,
            euicc_public_key: None,
            operator_id: Some(a),
            iccid: None,
            smdp_signature2: None,
            cc_required: false,
        };
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&s).await.unwrap();
        tx.push_events(&[Event::ProfileState {
            operator_id: a,
            iccid: "1".into(),
            from: ProfileState::Available,
            to: ProfileState::Allocated,
            at: 5,
        }])
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        // Lower-case hex finds the same transaction.
        let lower = TransactionId::parse_hex("0a0b").unwrap();
        assert_eq!(tx.session(&lower).await.unwrap(), Some(s));
        tx.delete_session(&tid).await.unwrap();
        assert!(tx.session(&tid).await.unwrap().is_none());
        tx.commit().await.unwrap();
    }
}

#[cfg(test)]
mod outbox_tests {
    use super::*;
    use crate::NewOperator;

    use super::tests::store;

    fn progress(op: i64, point: u32) -> Event {
        Event::DownloadProgress {
            operator_id: op,
            iccid: format!("89494400000000000{point}1"),
            profile_type: "t".into(),
            eid: None,
            point,
            failure: None,
            result_data: None,
            at: 100,
        }
    }

    async fn push(store: &Store, events: &[Event]) {
        let mut tx = store.begin().await.unwrap();
        tx.push_events(events).await.unwrap();
        tx.commit().await.unwrap();
    }

    fn ids(v: &[OutboxEntry]) -> Vec<(i64, i64)> {
        v.iter().map(|e| (e.operator_id, e.id)).collect()
    }

    #[tokio::test]
    async fn callback_urls() {
        let (_d, store, a, b) = store().await;
        assert_eq!(store.callback_url(a).await.unwrap(), None);
        store
            .set_callback_url(a, Some("https://op-a.test/es2"), 1)
            .await
            .unwrap();
        store
            .set_callback_url(a, Some("https://op-a.test/v2"), 2)
            .await
            .unwrap();
        assert_eq!(
            store.callback_url(a).await.unwrap().as_deref(),
            Some("https://op-a.test/v2")
        );
        assert_eq!(store.callback_url(b).await.unwrap(), None);
        store.set_callback_url(a, None, 3).await.unwrap();
        assert_eq!(store.callback_url(a).await.unwrap(), None);
    }

    #[tokio::test]
    async fn claim_deliver_retry_in_order_per_tenant() {
        let (_d, store, a, b) = store().await;
        // Interleaved events of two operators; no endpoint yet: nothing to claim.
        push(&store, &[progress(a, 1), progress(b, 1), progress(a, 3)]).await;
        push(&store, &[progress(b, 3), progress(a, 4)]).await;
        assert!(
            store
                .claim_outbox(1_000, 60_000, 10)
                .await
                .unwrap()
                .is_empty()
        );

        // Only operators with an endpoint are claimed, each with its own URL.
        store
            .set_callback_url(a, Some("http://a/cb"), 0)
            .await
            .unwrap();
        let c = store.claim_outbox(1_000, 60_000, 10).await.unwrap();
        assert_eq!(ids(&c), vec![(a, 1), (a, 3), (a, 5)]);
        assert!(
            c.iter()
                .all(|e| e.endpoint == "http://a/cb" && e.attempts == 0)
        );
        assert_eq!(c[0].event, progress(a, 1));
        // Leased: a second claim gets nothing of a until the lease ends.
        store
            .set_callback_url(b, Some("http://b/cb"), 0)
            .await
            .unwrap();
        let c2 = store.claim_outbox(2_000, 60_000, 10).await.unwrap();
        assert_eq!(ids(&c2), vec![(b, 2), (b, 4)]);

        // Tenant scoping: b cannot mark a's event.
        assert!(store.outbox_delivered(b, 1, 3_000).await.is_err());
        assert!(store.outbox_failed(b, 1, "x", None, 3_000).await.is_err());

        // a: first delivered, second fails (retry at 10 s), third released.
        store.outbox_delivered(a, 1, 3_000).await.unwrap();
        assert!(store.outbox_delivered(a, 1, 3_000).await.is_err());
        store
            .outbox_failed(a, 3, "HTTP 500", Some(10_000), 3_000)
            .await
            .unwrap();
        store.outbox_release(a, &[5]).await.unwrap();
        // b: everything released (e.g. the worker stopped early).
        store.outbox_release(b, &[2, 4]).await.unwrap();

        // Before the retry time: a's head (3) is not due, so 5 waits behind it; b is due.
        let c = store.claim_outbox(5_000, 60_000, 10).await.unwrap();
        assert_eq!(ids(&c), vec![(b, 2), (b, 4)]);
        store.outbox_skip(b, &[2, 4], 5_000).await.unwrap();
        // After it: 3 then 5, with the attempt counted.
        let c = store.claim_outbox(10_000, 60_000, 10).await.unwrap();
        assert_eq!(ids(&c), vec![(a, 3), (a, 5)]);
        assert_eq!(c[0].attempts, 1);
        // The limit cuts the list, in order.
        store.outbox_release(a, &[3, 5]).await.unwrap();
        let c = store.claim_outbox(10_000, 60_000, 1).await.unwrap();
        assert_eq!(ids(&c), vec![(a, 3)]);

        // Giving up on 3 lets 5 through.
        store
            .outbox_failed(a, 3, "HTTP 500", None, 11_000)
            .await
            .unwrap();
        store.outbox_release(a, &[5]).await.unwrap();
        let c = store.claim_outbox(11_000, 60_000, 10).await.unwrap();
        assert_eq!(ids(&c), vec![(a, 5)]);
        store.outbox_delivered(a, 5, 12_000).await.unwrap();
        assert!(
            store
                .claim_outbox(100_000, 60_000, 10)
                .await
                .unwrap()
                .is_empty()
        );

        let rows = store.outbox_rows(a, 10).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![5, 3, 1]);
        assert_eq!(rows[0].delivered_at, Some(12));
        assert_eq!(rows[0].attempts, 1);
        assert_eq!(rows[1].failed_at, Some(11));
        assert_eq!(rows[1].attempts, 2);
        assert_eq!(rows[1].delivered_at, None);
        assert_eq!(rows[1].last_error.as_deref(), Some("HTTP 500"));
        assert_eq!(rows[2].delivered_at, Some(3));
        let rows_b = store.outbox_rows(b, 10).await.unwrap();
        assert_eq!(rows_b.iter().map(|r| r.id).collect::<Vec<_>>(), vec![4, 2]);
        assert!(
            rows_b
                .iter()
                .all(|r| r.attempts == 0 && r.delivered_at == Some(5))
        );
    }

    #[tokio::test]
    async fn outbox_survives_reopen_and_lease_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let a = {
            let store = Store::open_sqlite(&path).await.unwrap();
            let a = store
                .create_operator(&NewOperator {
                    name: "a".into(),
                    mcc: "001".into(),
                    mnc: "01".into(),
                    iccid_prefix: "894944".into(),
                    iccid_len: 19,
                    spn: "Test".into(),
                    out_columns: None,
                })
                .await
                .unwrap()
                .id;
            store
                .set_callback_url(a, Some("http://a/cb"), 0)
                .await
                .unwrap();
            push(&store, &[progress(a, 1)]).await;
            // Claimed, then the process "dies" without marking it.
            assert_eq!(
                store.claim_outbox(1_000, 30_000, 10).await.unwrap().len(),
                1
            );
            a
        };
        let store = Store::open_sqlite(&path).await.unwrap();
        assert!(
            store
                .claim_outbox(2_000, 30_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let c = store.claim_outbox(31_000, 30_000, 10).await.unwrap();
        assert_eq!(ids(&c), vec![(a, 1)]);
    }
}
