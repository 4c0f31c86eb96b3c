//! The SM-DP+'s transactions on the dedicated SQLite connection ([`SqliteTx`]).

use std::time::Duration;

use rusqlite::OptionalExtension as _;
use simforge_asn1::{Eid, Iccid, TransactionId};
use simforge_smdp::{
    CancelSessionPolicy, Error, Event, OperatorId, ProfileRecord, ProfileState, SealedPackage,
    Session, SmdpStore, SmdpTx, SmdsOp, Unseal,
};
use tokio::sync::OwnedMutexGuard;

use super::{BUSY_TIMEOUT, GroupSync, audit_err, is_busy, json_err, parse_policy, sq};
use crate::{SqliteStore, Synchronous, audit};

/// What `put_profile` compares with: the package and the indexed columns as loaded.
#[derive(Debug)]
struct Loaded {
    iccid: String,
    package: Vec<u8>,
    state: ProfileState,
    eid: Option<Eid>,
    matching_id: Option<String>,
}

/// Stored sessions the purge looks at per call: `rsp_sessions` has no index on `expires_at`
/// (every download would write it twice), so each call scans one window of the primary key
/// (a few milliseconds under the write lock) and the next call the following one: a table of
/// millions of sessions is covered in hours, well within the 30 days sessions are kept.
const PURGE_WINDOW: i64 = 5_000;

fn lock(m: &std::sync::Mutex<String>) -> std::sync::MutexGuard<'_, String> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
    /// Whether `BEGIN IMMEDIATE` ran (at the first statement).
    begun: bool,
    synchronous: Synchronous,
    group: std::sync::Arc<GroupSync>,
    /// Profiles as loaded in this transaction: `put_profile` rewrites the package and the
    /// indexed columns only when they changed (an index whose columns an UPDATE does not
    /// set is left alone, one page write fewer per index).
    loaded: Vec<Loaded>,
    /// Where the purge of stored sessions goes on (see `PURGE_WINDOW`).
    purge_cursor: std::sync::Arc<std::sync::Mutex<String>>,
    /// Whether a statement of this transaction changed the database (otherwise the commit
    /// has nothing to make durable).
    dirty: bool,
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
        if let Some(conn) = self.conn.take()
            && self.begun
        {
            // Not committed: roll back before the connection is handed to the next transaction.
            // Should the rollback fail, the next BEGIN fails too ("cannot start a transaction
            // within a transaction") rather than joining this one.
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

impl SmdpStore for SqliteStore {
    type Tx = SqliteTx;

    async fn begin(&self) -> Result<SqliteTx, Error> {
        // The connection is ours from here; the database transaction begins with the first
        // statement (a transaction with none, e.g. an InitiateAuthentication whose session a
        // `SessionCache` keeps, costs no database work).
        let conn = self.rsp.clone().lock_owned().await;
        Ok(SqliteTx {
            conn: Some(conn),
            begun: false,
            synchronous: self.synchronous,
            group: self.group.clone(),
            loaded: Vec::new(),
            purge_cursor: self.purge_cursor.clone(),
            dirty: false,
        })
    }
}

impl SqliteTx {
    /// Begins the database transaction (`BEGIN IMMEDIATE`) unless begun.
    async fn begin_db(&mut self) -> Result<(), Error> {
        if self.begun {
            return Ok(());
        }
        let conn = self
            .conn
            .take()
            .ok_or_else(|| Error::Storage("transaction already ended".into()))?;
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
            .map_err(|e| {
                Error::Storage(simforge_smdp::error::Cause::with_source("database task", e))
            })?
            .map_err(sq)?,
            Err(e) => return Err(sq(e)),
        };
        self.conn = Some(conn);
        self.begun = true;
        Ok(())
    }

    fn conn(&self) -> Result<&rusqlite::Connection, Error> {
        self.conn
            .as_deref()
            .ok_or_else(|| Error::Storage("transaction already ended".into()))
    }

    fn exec(&mut self, sql: &str, params: impl rusqlite::Params) -> Result<usize, Error> {
        let n = self
            .conn()?
            .prepare_cached(sql)
            .map_err(sq)?
            .execute(params)
            .map_err(sq)?;
        if n > 0 {
            self.dirty = true;
        }
        Ok(n)
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
        let loaded = Loaded {
            iccid: p.iccid.to_string(),
            package: package.clone(),
            state: p.state,
            eid: p.eid,
            matching_id: p.matching_id.as_ref().map(|m| m.as_str().to_owned()),
        };
        match self.loaded.iter_mut().find(|l| l.iccid == p.iccid.as_str()) {
            Some(slot) => *slot = loaded,
            None => self.loaded.push(loaded),
        }
        p.package = SealedPackage(package);
        Ok(Some(p))
    }
}

/// The profile's JSON record, without the package (a column of its own).
pub(crate) fn profile_json(p: &ProfileRecord) -> Result<String, Error> {
    let mut light = p.clone();
    light.package = SealedPackage(Vec::new());
    serde_json::to_string(&light).map_err(json_err)
}

/// The columns [`SqliteTx::one_profile`] reads, and the tables they come from.
const COLS: &str = "record, package, version";
const PROFILES: &str = "rsp_profiles JOIN rsp_packages USING (iccid)";

impl SmdpTx for SqliteTx {
    async fn session(&mut self, tid: &TransactionId) -> Result<Option<Session>, Error> {
        self.begin_db().await?;
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
        self.begin_db().await?;
        let key = s.transaction_id.to_string();
        let record = serde_json::to_string(s).map_err(json_err)?;
        // An existing session: only its record (and owner) change, not its expiry.
        let n = self.exec(
            "UPDATE rsp_sessions SET operator_id = ?, record = ? WHERE transaction_id = ? AND expires_at = ?",
            rusqlite::params![s.operator_id, record, key, s.expires_at],
        )?;
        if n == 1 {
            return Ok(());
        }
        self.exec(
            "INSERT INTO rsp_sessions (transaction_id, operator_id, expires_at, record) VALUES (?, ?, ?, ?)
             ON CONFLICT (transaction_id) DO UPDATE SET operator_id = excluded.operator_id,
             expires_at = excluded.expires_at, record = excluded.record",
            rusqlite::params![key, s.operator_id, s.expires_at, record],
        )?;
        Ok(())
    }

    async fn delete_expired_sessions(
        &mut self,
        before: i64,
        unbound_before: i64,
        limit: usize,
    ) -> Result<usize, Error> {
        if limit == 0 {
            return Ok(0);
        }
        // One window of the primary key after the cursor (see `PURGE_WINDOW`).
        let cursor = lock(&self.purge_cursor).clone();
        let window = PURGE_WINDOW.min(i64::try_from(limit).unwrap_or(i64::MAX).max(1) * 10);
        self.begin_db().await?;
        let end: Option<String> = self
            .conn()?
            .prepare_cached(
                "SELECT MAX(transaction_id) FROM (SELECT transaction_id FROM rsp_sessions
                 WHERE transaction_id > ? ORDER BY transaction_id LIMIT ?)",
            )
            .map_err(sq)?
            .query_row(rusqlite::params![cursor, window], |r| r.get(0))
            .map_err(sq)?;
        let Some(end) = end else {
            // Past the last session: the next call starts again from the beginning.
            lock(&self.purge_cursor).clear();
            return Ok(0);
        };
        let n = self.exec(
            "DELETE FROM rsp_sessions WHERE transaction_id IN
                 (SELECT transaction_id FROM rsp_sessions
                  WHERE transaction_id > ? AND transaction_id <= ?
                  AND (expires_at < ? OR (operator_id IS NULL AND expires_at < ?)) LIMIT ?)",
            rusqlite::params![
                cursor,
                end,
                before,
                unbound_before,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
        )?;
        // The window is done unless the limit stopped the deletion: then the next call
        // scans it again.
        if n < limit {
            *lock(&self.purge_cursor) = end;
        }
        Ok(n)
    }

    async fn delete_session(&mut self, tid: &TransactionId) -> Result<(), Error> {
        self.begin_db().await?;
        self.exec(
            "DELETE FROM rsp_sessions WHERE transaction_id = ?",
            [tid.to_string()],
        )?;
        Ok(())
    }

    async fn profile(
        &mut self,
        operator: OperatorId,
        iccid: &Iccid,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.begin_db().await?;
        self.one_profile(
            &format!("SELECT {COLS} FROM {PROFILES} WHERE operator_id = ? AND iccid = ?"),
            rusqlite::params![operator, iccid.as_str()],
        )
    }

    async fn profile_any_operator(
        &mut self,
        iccid: &Iccid,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.begin_db().await?;
        self.one_profile(
            &format!("SELECT {COLS} FROM {PROFILES} WHERE iccid = ?"),
            [iccid.as_str()],
        )
    }

    async fn profile_by_matching_id(
        &mut self,
        matching_id: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.begin_db().await?;
        self.one_profile(
            &format!("SELECT {COLS} FROM {PROFILES} WHERE matching_id = ?"),
            [matching_id],
        )
    }

    async fn pending_profile_for_eid(&mut self, eid: &Eid) -> Result<Option<ProfileRecord>, Error> {
        self.begin_db().await?;
        self.one_profile(
            &format!(
                "SELECT {COLS} FROM {PROFILES} WHERE eid = ? AND state IN ('released', 'downloaded')
                 ORDER BY updated_at, rsp_profiles.iccid LIMIT 1"
            ),
            [eid.as_str()],
        )
    }

    async fn available_profile(
        &mut self,
        operator: OperatorId,
        profile_type: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        self.begin_db().await?;
        self.one_profile(
            &format!(
                "SELECT {COLS} FROM {PROFILES} WHERE operator_id = ? AND profile_type = ? AND state = 'available'
                 ORDER BY rsp_profiles.iccid LIMIT 1"
            ),
            rusqlite::params![operator, profile_type],
        )
    }

    async fn insert_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        self.begin_db().await?;
        let exists = self
            .conn()?
            .prepare_cached("SELECT 1 FROM rsp_profiles WHERE iccid = ?")
            .map_err(sq)?
            .exists([p.iccid.as_str()])
            .map_err(sq)?;
        if exists {
            return Err(Error::IccidInUse);
        }
        self.exec(
            "INSERT INTO rsp_profiles (iccid, operator_id, profile_type, state, eid, matching_id, version, updated_at, record)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params![
                p.iccid.as_str(),
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
            rusqlite::params![p.iccid.as_str(), p.package.0],
        )?;
        Ok(())
    }

    async fn put_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        self.begin_db().await?;
        let eid = p.eid.as_ref().map(Eid::as_str);
        let matching_id = p.matching_id.as_ref().map(|m| m.as_str());
        let before = self.loaded.iter().find(|l| l.iccid == p.iccid.as_str());
        let unchanged = before.is_some_and(|l| l.package == p.package.0);
        // Which indexed columns to set: those that changed since loaded (all when not loaded).
        let set_state = before.is_none_or(|l| l.state != p.state);
        let set_eid = before.is_none_or(|l| l.eid != p.eid);
        let set_mid = before.is_none_or(|l| l.matching_id.as_deref() != matching_id);
        let state = p.state.as_str();
        let record = profile_json(p)?;
        let mut sql = String::from("UPDATE rsp_profiles SET ");
        let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(8);
        if set_state {
            sql.push_str("state = ?, ");
            params.push(&state);
        }
        if set_eid {
            sql.push_str("eid = ?, ");
            params.push(&eid);
        }
        if set_mid {
            sql.push_str("matching_id = ?, ");
            params.push(&matching_id);
        }
        sql.push_str(
            "version = version + 1, updated_at = ?, record = ? \
             WHERE iccid = ? AND operator_id = ? AND version = ?",
        );
        let iccid = p.iccid.as_str();
        params.extend_from_slice(&[&p.updated_at, &record, &iccid, &p.operator_id, &p.version]);
        let n = match self
            .conn()?
            .prepare_cached(&sql)
            .map_err(sq)?
            .execute(params.as_slice())
        {
            Ok(n) => n,
            // `matching_id` is UNIQUE: another profile holds it (as PostgreSQL reports it).
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                return Err(Error::MatchingIdConflict);
            }
            Err(e) => return Err(sq(e)),
        };
        if n > 0 {
            self.dirty = true;
        }
        if n == 1 && !unchanged {
            self.exec(
                "UPDATE rsp_packages SET package = ? WHERE iccid = ?",
                rusqlite::params![p.package.0, p.iccid.as_str()],
            )?;
        }
        if n != 1 {
            return Err(Error::Storage(
                format!("profile {} changed concurrently", p.iccid).into(),
            ));
        }
        Ok(())
    }

    async fn record_unseal(&mut self, unseal: &Unseal) -> Result<(), Error> {
        // The audit append of `AuditLog for Store`, in this transaction: `BEGIN IMMEDIATE`
        // holds the database's write lock, so the head read here is the head the entry
        // chains to (the pool's appends wait for the same lock). No fsync of its own: the
        // call's commit makes it durable with the state change.
        self.begin_db().await?;
        let head: Option<(i64, String)> = self
            .conn()?
            .prepare_cached(audit::HEAD_SQL)
            .map_err(sq)?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(sq)?;
        let e = audit::next(head, audit::unseal_draft(unseal)).map_err(audit_err)?;
        let s = simforge_audit::Stored::from(&e);
        self.exec(
            audit::INSERT_SQLITE,
            rusqlite::params![
                audit::seq_i64(s.seq),
                s.at,
                s.actor,
                s.tenant,
                s.action,
                s.target,
                s.outcome,
                s.source,
                s.details,
                s.prev_hash,
                s.hash
            ],
        )?;
        Ok(())
    }

    async fn push_events(&mut self, events: &[Event]) -> Result<(), Error> {
        self.begin_db().await?;
        for e in events {
            self.exec(
                "INSERT INTO rsp_events (operator_id, iccid, kind, record, created_at) VALUES (?, ?, ?, ?, ?)",
                rusqlite::params![
                    e.operator_id(),
                    e.iccid().as_str(),
                    e.kind(),
                    serde_json::to_string(e).map_err(json_err)?,
                    e.at()
                ],
            )?;
        }
        Ok(())
    }

    async fn push_smds_ops(&mut self, ops: &[SmdsOp]) -> Result<(), Error> {
        self.begin_db().await?;
        for o in ops {
            let eid = o.eid.to_string();
            self.exec(
                super::smds_ops::SUPERSEDE_SQL,
                rusqlite::params![
                    o.operator_id,
                    o.smds_address,
                    eid,
                    o.event_id.as_str(),
                    o.at
                ],
            )?;
            self.exec(
                super::smds_ops::INSERT_SQL,
                rusqlite::params![
                    o.operator_id,
                    o.iccid.as_ref().map(|i| i.as_str()),
                    o.kind.as_str(),
                    o.smds_address,
                    eid,
                    o.event_id.as_str(),
                    o.due,
                    o.at,
                    o.due.saturating_mul(1000)
                ],
            )?;
        }
        Ok(())
    }

    async fn count_by_state(
        &mut self,
        operator: OperatorId,
    ) -> Result<Vec<(ProfileState, u64)>, Error> {
        self.begin_db().await?;
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

    async fn cancel_session_policy(
        &mut self,
        operator: OperatorId,
    ) -> Result<CancelSessionPolicy, Error> {
        self.begin_db().await?;
        let text: Option<String> = self
            .conn()?
            .prepare_cached("SELECT cancel_session_policy FROM operators WHERE id = ?")
            .map_err(sq)?
            .query_row([operator], |r| r.get(0))
            .optional()
            .map_err(sq)?
            .flatten();
        parse_policy(text.as_deref())
    }

    async fn default_smds_address(
        &mut self,
        operator: OperatorId,
    ) -> Result<Option<String>, Error> {
        self.begin_db().await?;
        let text: Option<String> = self
            .conn()?
            .prepare_cached("SELECT default_smds_address FROM operators WHERE id = ?")
            .map_err(sq)?
            .query_row([operator], |r| r.get(0))
            .optional()
            .map_err(sq)?
            .flatten();
        Ok(text)
    }

    async fn commit(self) -> Result<(), Error> {
        self.finish(true).await
    }

    async fn commit_deferred(self) -> Result<(), Error> {
        self.finish(false).await
    }
}

impl SqliteTx {
    /// Commits; with `durable`, returns once the commit is on stable storage (`FULL`).
    async fn finish(mut self, durable: bool) -> Result<(), Error> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| Error::Storage("transaction already ended".into()))?;
        let begun = self.begun;
        if begun {
            // Into the WAL, without fsync (see `GroupSync` for `FULL`).
            let r = conn.execute_batch("COMMIT");
            if r.is_err() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            r.map_err(sq)?;
        }
        // Its place in the commit order, taken while the connection is still held; a
        // transaction that wrote nothing waits for what it may have read.
        let seq = (begun && self.synchronous == Synchronous::Full)
            .then(|| self.group.committed(self.dirty));
        drop(conn);
        match seq {
            // `FULL`: the caller answers once the commit is on stable storage. Other
            // transactions run meanwhile; the fsync is shared with theirs.
            Some(seq) if durable => self.group.sync_to(seq).await?,
            // Deferred: durable with the next durable commit or the timer's fsync.
            Some(seq) if self.dirty => self.group.sync_soon(seq),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{NewOperator, OutboxAdmin as _};
    use simforge_smdp::ProfileMetadata;

    /// A fresh SQLite store with two operators, `a` and `b` (their ids): the crate's one
    /// test fixture.
    pub(crate) async fn store() -> (tempfile::TempDir, SqliteStore, i64, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let a = operator(&store, "a").await;
        let b = operator(&store, "b").await;
        (dir, store, a, b)
    }

    /// Creates a test operator `name`; its id.
    pub(crate) async fn operator(store: &SqliteStore, name: &str) -> i64 {
        store
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
            .unwrap()
            .id
    }

    fn record(op: i64, iccid: &str) -> ProfileRecord {
        ProfileRecord {
            operator_id: op,
            iccid: iccid.parse().expect("iccid"),
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
            smds_address: None,
        }
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
            let mut p = tx
                .profile(a, &"8949440000000000029".parse().expect("iccid"))
                .await
                .unwrap()
                .unwrap();
            p.state = ProfileState::Error;
            tx.put_profile(&p).await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        let p = tx
            .profile(a, &"8949440000000000029".parse().expect("iccid"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.state, p.version, p.package.0),
            (ProfileState::Available, 0, vec![1, 2, 3])
        );
        tx.commit().await.unwrap();
        assert_eq!(store.outbox_rows(a, 10).await.unwrap().len(), 1);
    }
}

#[cfg(test)]
mod session_tests {
    use super::*;
    use simforge_smdp::SessionState;

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

    async fn rows(store: &SqliteStore) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM rsp_sessions")
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn expired_sessions_are_purged_in_batches() {
        let (_d, store, a, _) = super::tests::store().await;
        // expires_at: 100 (`session`) or 300.
        let mut put = Vec::new();
        for (i, (state, expires_at)) in [
            (SessionState::Initiated, 100),
            (SessionState::Initiated, 300),
            (SessionState::Authenticated, 100),
            (SessionState::BppDelivered, 100),
            (SessionState::BppDelivered, 300),
        ]
        .into_iter()
        .enumerate()
        {
            let mut s = session(&format!("0{i}"), state, Some(a));
            s.expires_at = expires_at;
            put.push(s);
        }
        let mut tx = store.begin().await.unwrap();
        for s in &put {
            tx.put_session(s).await.unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(rows(&store).await, 5);

        // One purge transaction: how many sessions it deleted.
        async fn purge(store: &SqliteStore, before: i64, limit: usize) -> usize {
            let mut tx = store.begin().await.unwrap();
            let n = tx
                .delete_expired_sessions(before, i64::MIN, limit)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            n
        }
        // Nothing expired before 100.
        assert_eq!(purge(&store, 100, 10).await, 0);
        // Three expired before 200, at most two per call. The scan of stored sessions had
        // reached the end of the table (the call above): the first call wraps around, the
        // next ones find them.
        let mut deleted = Vec::new();
        for _ in 0..4 {
            deleted.push(purge(&store, 200, 2).await);
        }
        assert_eq!(deleted, vec![0, 2, 1, 0], "{deleted:?}");
        assert_eq!(rows(&store).await, 2);
        // A session stored later is found within a pass of the table, wherever the scan is.
        let mut s = session("00FF", SessionState::BppDelivered, Some(a));
        s.expires_at = 100;
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&s).await.unwrap();
        tx.commit().await.unwrap();
        let passes = [purge(&store, 200, 2).await, purge(&store, 200, 2).await];
        assert_eq!(passes.iter().sum::<usize>(), 1, "{passes:?}");
        assert_eq!(rows(&store).await, 2);
        let mut tx = store.begin().await.unwrap();
        for s in &put {
            let found = tx.session(&s.transaction_id).await.unwrap();
            assert_eq!(
                found.is_some(),
                s.expires_at == 300,
                "{:?}",
                s.transaction_id
            );
        }
        tx.commit().await.unwrap();
    }

    /// A bound session as large as a download makes it: 16-octet transactionId, EID, ICCID,
    /// two signing CIs, PK.EUICC.ECDSA and smdpSignature2.
    fn large_bound_session(a: i64) -> Session {
        let mut s = session(
            "000102030405060708090A0B0C0D0E0F",
            SessionState::BppDelivered,
            Some(a),
        );
        s.smdp_address = "smdp-plus.rsp.operator.example.com".into();
        s.signing_ci_pkids = vec![vec![3; 20], vec![4; 20]];
        s.eid = Some(simforge_asn1::Eid::parse("89049032123451234512345678901235").unwrap());
        s.euicc_public_key = Some((simforge_smdp::KeyCurve::NistP256, vec![0xA5; 65]));
        s.iccid = Some("89882110000000000028".parse().expect("iccid"));
        s.smdp_signature2 = Some(vec![0xF7; 67]);
        s
    }

    #[tokio::test]
    async fn a_bound_session_needs_no_overflow_page_and_older_records_still_load() {
        let (_d, store, a, _) = super::tests::store().await;
        let s = large_bound_session(a);
        let record = serde_json::to_string(&s).unwrap();
        // SQLite keeps at most (4096 - 12) * 64 / 255 - 23 = 1002 payload bytes of a
        // WITHOUT ROWID row on its page; the row is the transactionId, two integers, the
        // record and a header of a few bytes.
        let payload = 32 + 9 + 9 + 6 + record.len();
        assert!(payload <= 1002, "session row of {payload} bytes: {record}");

        // A record written before (byte fields as JSON number arrays) loads unchanged.
        let mut old: serde_json::Value = serde_json::from_str(&record).unwrap();
        let arr = |b: &[u8]| serde_json::json!(b);
        old["euicc_challenge"] = arr(&s.euicc_challenge);
        old["server_challenge"] = arr(&s.server_challenge);
        old["ci_pkid"] = arr(&s.ci_pkid);
        old["signing_ci_pkids"] = serde_json::json!(s.signing_ci_pkids);
        old["euicc_public_key"] = serde_json::json!(s.euicc_public_key);
        old["smdp_signature2"] = serde_json::json!(s.smdp_signature2);
        assert!(
            old.to_string().len() > 1002,
            "the old form needed an overflow page"
        );
        sqlx::query(
            "INSERT INTO rsp_sessions (transaction_id, operator_id, expires_at, record) VALUES (?, ?, ?, ?)",
        )
        .bind(s.transaction_id.to_string())
        .bind(a)
        .bind(s.expires_at)
        .bind(old.to_string())
        .execute(&store.pool)
        .await
        .unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.session(&s.transaction_id).await.unwrap().as_ref(),
            Some(&s)
        );
        // Rewritten in the new form, it reads back the same.
        tx.put_session(&s).await.unwrap();
        tx.commit().await.unwrap();
        let stored: String = sqlx::query_scalar("SELECT record FROM rsp_sessions")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(stored, record);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.session(&s.transaction_id).await.unwrap(), Some(s));
        tx.commit().await.unwrap();
    }
}
