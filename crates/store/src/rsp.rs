//! SQLite implementation of the SM-DP+ storage trait ([`simforge_smdp::SmdpStore`]).
//!
//! Every transaction starts with `BEGIN IMMEDIATE`: it holds the write lock from its first
//! read, so a load → decide → save sequence cannot interleave with another writer and two
//! concurrent downloads can never bind the same profile. Profiles also carry a version that
//! [`SmdpTx::put_profile`] checks. Every row carries its operator (tenant).
//!
//! The SM-DP+'s transactions run on one dedicated connection ([`SqliteTx`]): its statements
//! execute on the calling task (no thread hop per statement), the transactions of the process
//! queue for it in order. Durability follows [`Synchronous`] (`FULL` by default, kept by group
//! commit: `GroupSync`). Sealed profile packages live in `rsp_packages`, apart from the profile
//! rows that change on every call.
//!
//! RSP sessions that only went through InitiateAuthentication (state `Initiated`: a
//! transactionId and two challenges, no profile bound yet) are kept in memory
//! (`PendingSessions`, bounded) instead of in `rsp_sessions`: SGP.22 does not ask an ES9+
//! session to survive a restart of the SM-DP+ (the LPA starts again with a new
//! InitiateAuthentication), and an InitiateAuthentication then costs no database write. They
//! move into the database, in the AuthenticateClient transaction that binds a profile, from
//! when a profile depends on them. They are changed only together with the transaction's
//! commit, under the connection's lock; beyond `PendingSessions::CAPACITY` unexpired ones,
//! new ones go to the database as before.
//!
//! The events outbox (`rsp_events`) is delivered to the operators' callback endpoints
//! (`operator_callbacks`, [`Store::set_callback_url`]) through [`OutboxStore`]: claims take
//! the write lock and lease what they return; every change is scoped to the event's operator.

use simforge_asn1::{Eid, Iccid, TransactionId};
use simforge_smdp::{
    CancelSessionPolicy, Error, Event, OperatorId, OutboxEntry, OutboxStore, ProfileRecord,
    ProfileState, SealedPackage, Session, SmdpStore, SmdpTx,
};
use std::path::Path;
use std::time::Duration;

use rusqlite::OptionalExtension as _;
use sqlx::Row;
use tokio::sync::OwnedMutexGuard;

use crate::{Store, StoreError, Synchronous};

pub(crate) fn db(e: sqlx::Error) -> Error {
    Error::Storage(crate::sqlx_disk_full(&e).map_or_else(|| e.to_string(), str::to_owned))
}

fn sq(e: rusqlite::Error) -> Error {
    Error::Storage(crate::rusqlite_disk_full(&e).map_or_else(|| e.to_string(), str::to_owned))
}

/// A stored CancelSession policy (`None`: the default).
pub(crate) fn parse_policy(text: Option<&str>) -> Result<CancelSessionPolicy, Error> {
    text.map_or(Ok(CancelSessionPolicy::default()), |t| {
        t.parse().map_err(|e| Error::Storage(format!("stored {e}")))
    })
}

pub(crate) fn json_err(e: serde_json::Error) -> Error {
    Error::Storage(format!("record encoding: {e}"))
}

/// How long a transaction waits for the write lock held by another connection (the sqlx
/// pool's administrative work, another process) before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens the SM-DP+ connection (the schema is already migrated through the pool).
pub(crate) fn open_connection(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open(path)?;
    // WAL is a property of the database file (set by the pool); synchronous and foreign keys
    // are per connection.
    // A checkpoint every 8,000 WAL pages (≈ 32 MiB) rather than SQLite's 1,000: the pages a
    // download changes are a few hot ones (table and index leaves), written back once per
    // checkpoint however often they changed; and a page cache (32 MiB) that holds the profiles
    // and packages of the hot path.
    // `FULL` is kept by `GroupSync` (an fsync of the WAL after the commit, shared by the
    // commits of concurrent transactions) on a connection that commits as `NORMAL`.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 8000; PRAGMA cache_size = -32768;",
    )?;
    // Statements run on the caller's task: never sleep there waiting for a lock
    // (see `SmdpStore::begin`).
    conn.busy_timeout(Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Group commit for `synchronous = FULL`: the SM-DP+ connection commits into the WAL without
/// fsync (`NORMAL`), then [`GroupSync::sync_to`] waits until an fsync of the WAL that started
/// after that commit has completed, before the transaction's caller answers. One fsync
/// covers every commit written before it, so transactions that commit while an fsync runs
/// share the next one. The durability promise is FULL's: an answered state change survives
/// an OS crash or power loss; atomicity is SQLite's (a commit not yet fsync'd is lost whole
/// or kept whole). Checkpoints sync the WAL and the database themselves (as in `NORMAL`).
#[derive(Debug)]
pub(crate) struct GroupSync {
    wal: std::path::PathBuf,
    dir: Option<std::path::PathBuf>,
    state: std::sync::Mutex<SyncState>,
    rounds: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Commits written (a sequence number per commit).
    written: u64,
    /// Commits known durable.
    synced: u64,
    /// An fsync failed: the kernel may have dropped the pages it could not write, so no
    /// later fsync proves the commits before it durable. Every later durable commit fails
    /// (as PostgreSQL stops on a failed fsync); the server needs a restart, which recovers
    /// from what is on disk.
    failed: bool,
    /// An fsync is running.
    syncing: bool,
    /// The directory's entry of the WAL file was fsync'd.
    dir_synced: bool,
    /// The latest deferred commit ([`SmdpTx::commit_deferred`]) waiting for the timer.
    deferred: u64,
    /// The deferred-commit timer is armed.
    timer_armed: bool,
}

/// A deferred commit is on stable storage at most this long after it was written (plus the
/// fsync's own time): the next durable commit's fsync covers it, or the timer's.
pub(crate) const DEFERRED_SYNC: Duration = Duration::from_millis(20);

impl GroupSync {
    pub(crate) fn new(db: &Path) -> Self {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal: wal.into(),
            dir: db.parent().map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".").to_path_buf()
                } else {
                    d.to_path_buf()
                }
            }),
            state: std::sync::Mutex::default(),
            rounds: tokio::sync::watch::Sender::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a commit just written (call while the connection is still held, so that the
    /// sequence follows the commit order); `dirty = false` only asks for what is written.
    fn committed(&self, dirty: bool) -> u64 {
        let mut st = self.lock();
        if dirty {
            st.written += 1;
        }
        st.written
    }

    /// Waits until commit `seq` and all before it are on stable storage.
    async fn sync_to(self: &std::sync::Arc<Self>, seq: u64) -> Result<(), Error> {
        let mut rounds = self.rounds.subscribe();
        loop {
            {
                let mut st = self.lock();
                if st.synced >= seq {
                    return Ok(());
                }
                if st.failed {
                    return Err(Error::Storage(format!(
                        "an fsync of {} failed: commits may be lost; restart the server",
                        self.wal.display()
                    )));
                }
                if !st.syncing {
                    // This round covers every commit written so far. It runs to its end
                    // on the blocking pool even if this task is dropped.
                    st.syncing = true;
                    let target = st.written;
                    let sync_dir = !st.dir_synced;
                    let me = self.clone();
                    drop(tokio::task::spawn_blocking(move || {
                        me.round(target, sync_dir);
                    }));
                }
            }
            rounds
                .changed()
                .await
                .map_err(|e| Error::Storage(format!("group commit: {e}")))?;
        }
    }

    /// Makes commit `seq` durable within [`DEFERRED_SYNC`], without waiting for it. One
    /// timer at a time, armed by the first deferred commit not yet durable, syncs up to the
    /// latest deferred commit when it fires, unless a durable commit's fsync has covered it
    /// by then (under load it has: the timer then costs no fsync).
    fn sync_soon(self: &std::sync::Arc<Self>, seq: u64) {
        {
            let mut st = self.lock();
            if st.synced >= seq {
                return;
            }
            st.deferred = st.deferred.max(seq);
            if st.timer_armed {
                return;
            }
            st.timer_armed = true;
        }
        let me = self.clone();
        drop(tokio::spawn(async move {
            tokio::time::sleep(DEFERRED_SYNC).await;
            let target = {
                let mut st = me.lock();
                st.timer_armed = false;
                st.deferred
            };
            // A failed fsync is recorded (`failed`): every later durable commit reports it.
            let _ = me.sync_to(target).await;
        }));
    }

    fn round(&self, target: u64, sync_dir: bool) {
        let fsync = |p: &Path| std::fs::File::open(p).and_then(|f| f.sync_data());
        let r = fsync(&self.wal);
        // The directory entry of the WAL file, once; best effort, as SQLite's own directory
        // sync (a file system that cannot sync a directory does not fail the commit).
        let dir_ok = r.is_ok() && sync_dir && self.dir.as_deref().is_some_and(|d| fsync(d).is_ok());
        {
            let mut st = self.lock();
            st.syncing = false;
            match r {
                Ok(()) => {
                    st.synced = st.synced.max(target);
                    st.dir_synced |= dir_ok;
                }
                Err(_) => st.failed = true,
            }
        }
        self.rounds.send_modify(|n| *n += 1);
    }
}

/// What `put_profile` compares with: the package and the indexed columns as loaded.
#[derive(Debug)]
struct Loaded {
    iccid: String,
    package: Vec<u8>,
    state: ProfileState,
    eid: Option<Eid>,
    matching_id: Option<String>,
}

/// Sessions in state `Initiated`, in memory, by transactionId (upper-case hex).
#[derive(Debug, Default)]
pub(crate) struct PendingSessions {
    sessions: std::collections::HashMap<String, Session>,
    /// Where the purge of stored sessions goes on (`delete_expired_sessions`): the last
    /// transactionId of the window it scanned, empty to start from the beginning.
    purge_cursor: String,
}

/// Stored sessions the purge looks at per call: `rsp_sessions` has no index on `expires_at`
/// (every download would write it twice), so each call scans one window of the primary key
/// (a few milliseconds under the write lock) and the next call the following one: a table of
/// millions of sessions is covered in hours, well within the 30 days sessions are kept.
const PURGE_WINDOW: i64 = 5_000;

impl PendingSessions {
    /// At most this many (unexpired) sessions are kept in memory; more go to the database.
    pub(crate) const CAPACITY: usize = 65_536;

    /// Whether a new session created at `now` fits, forgetting expired sessions if needed.
    fn has_room(&mut self, now: i64) -> bool {
        if self.sessions.len() >= Self::CAPACITY {
            self.sessions.retain(|_, s| s.expires_at >= now);
        }
        self.sessions.len() < Self::CAPACITY
    }
}

fn lock_pending(
    m: &std::sync::Mutex<PendingSessions>,
) -> std::sync::MutexGuard<'_, PendingSessions> {
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
    /// The in-memory sessions, and this transaction's changes to them (applied at commit:
    /// `Some` puts, `None` removes).
    pending: std::sync::Arc<std::sync::Mutex<PendingSessions>>,
    staged: Vec<(String, Option<Session>)>,
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

impl SmdpStore for Store {
    type Tx = SqliteTx;

    async fn begin(&self) -> Result<SqliteTx, Error> {
        // The connection is ours from here; the database transaction begins with the first
        // statement (an InitiateAuthentication, whose session stays in memory, has none).
        let conn = self.rsp.clone().lock_owned().await;
        Ok(SqliteTx {
            conn: Some(conn),
            begun: false,
            synchronous: self.synchronous,
            group: self.group.clone(),
            loaded: Vec::new(),
            pending: self.pending.clone(),
            staged: Vec::new(),
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
            .map_err(|e| Error::Storage(format!("database task: {e}")))?
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

    /// The in-memory session `key` as this transaction sees it: `Some(None)` when this
    /// transaction removed it, `None` when memory does not know it.
    fn pending_session(&self, key: &str) -> Option<Option<Session>> {
        if let Some((_, s)) = self.staged.iter().rev().find(|(k, _)| k == key) {
            return Some(s.clone());
        }
        lock_pending(&self.pending)
            .sessions
            .get(key)
            .cloned()
            .map(Some)
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
        let key = tid.to_string();
        match self.pending_session(&key) {
            Some(Some(s)) => return Ok(Some(s)),
            // Moved to the database in this transaction.
            Some(None) | None => self.begin_db().await?,
        }
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
        let key = s.transaction_id.to_string();
        if s.state == simforge_smdp::SessionState::Initiated {
            let staged_new = self.staged.iter().filter(|(_, v)| v.is_some()).count();
            let known = self.pending_session(&key).is_some();
            let room = known || {
                let mut p = lock_pending(&self.pending);
                p.has_room(s.created_at)
                    && p.sessions.len() + staged_new < PendingSessions::CAPACITY
            };
            if room {
                self.staged.push((key, Some(s.clone())));
                return Ok(());
            }
        }
        self.begin_db().await?;
        let record = serde_json::to_string(s).map_err(json_err)?;
        if let Some(Some(_)) = self.pending_session(&key) {
            // Leaves memory for the database (a profile is bound to it from now on).
            self.staged.push((key.clone(), None));
        } else {
            // An existing session: only its record (and owner) change, not its expiry.
            let n = self.exec(
                "UPDATE rsp_sessions SET operator_id = ?, record = ? WHERE transaction_id = ? AND expires_at = ?",
                rusqlite::params![s.operator_id, record, key, s.expires_at],
            )?;
            if n == 1 {
                return Ok(());
            }
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
        let expired: Vec<String> = lock_pending(&self.pending)
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.expires_at < before || (s.operator_id.is_none() && s.expires_at < unbound_before)
            })
            .map(|(k, _)| k.clone())
            .take(limit)
            .collect();
        let in_memory = expired.len();
        self.staged.extend(expired.into_iter().map(|k| (k, None)));
        let left = limit - in_memory;
        if left == 0 {
            return Ok(in_memory);
        }
        // One window of the primary key after the cursor (see `PURGE_WINDOW`).
        let cursor = lock_pending(&self.pending).purge_cursor.clone();
        let window = PURGE_WINDOW.min(i64::try_from(left).unwrap_or(i64::MAX).max(1) * 10);
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
            lock_pending(&self.pending).purge_cursor.clear();
            return Ok(in_memory);
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
                i64::try_from(left).unwrap_or(i64::MAX)
            ],
        )?;
        // The window is done unless the limit stopped the deletion: then the next call
        // scans it again.
        if n < left {
            lock_pending(&self.pending).purge_cursor = end;
        }
        Ok(in_memory + n)
    }

    async fn delete_session(&mut self, tid: &TransactionId) -> Result<(), Error> {
        let key = tid.to_string();
        if let Some(Some(_)) = self.pending_session(&key) {
            // Only in memory.
            self.staged.push((key, None));
            return Ok(());
        }
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
        let n = self.exec(&sql, params.as_slice())?;
        if n == 1 && !unchanged {
            self.exec(
                "UPDATE rsp_packages SET package = ? WHERE iccid = ?",
                rusqlite::params![p.package.0, p.iccid.as_str()],
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
        self.begin_db().await?;
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
        let staged = std::mem::take(&mut self.staged);
        let apply = |pending: &std::sync::Mutex<PendingSessions>| {
            let mut p = lock_pending(pending);
            for (k, s) in staged {
                match s {
                    Some(s) => {
                        p.sessions.insert(k, s);
                    }
                    None => {
                        p.sessions.remove(&k);
                    }
                }
            }
        };
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
        // The in-memory sessions change while the connection is still held (the next
        // transaction sees them), and only when the database changes committed.
        apply(&self.pending);
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

impl OutboxRow {
    /// One `rsp_events` row of the SQLite store.
    pub(crate) fn from_sqlite(r: &sqlx::sqlite::SqliteRow) -> Result<Self, StoreError> {
        use sqlx::Row;
        Ok(Self {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            created_at: r.try_get("created_at")?,
            attempts: r.try_get("attempts")?,
            delivered_at: r.try_get("delivered_at")?,
            failed_at: r.try_get("failed_at")?,
            next_try_ms: r.try_get("next_try_ms")?,
            last_error: r.try_get("last_error")?,
        })
    }

    /// One `rsp_events` row of the PostgreSQL store (`attempts` is an INTEGER there).
    pub(crate) fn from_pg(r: &sqlx::postgres::PgRow) -> Result<Self, StoreError> {
        use sqlx::Row;
        let attempts: i32 = r.try_get("attempts")?;
        Ok(Self {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            created_at: r.try_get("created_at")?,
            attempts: i64::from(attempts),
            delivered_at: r.try_get("delivered_at")?,
            failed_at: r.try_get("failed_at")?,
            next_try_ms: r.try_get("next_try_ms")?,
            last_error: r.try_get("last_error")?,
        })
    }
}

/// The operators' callback endpoints and the outbox's administration, on either database
/// ([`Store`], [`crate::PgStore`]); the delivery side is [`OutboxStore`].
pub trait OutboxAdmin: Send + Sync {
    /// Sets (or with `None` removes) the ES2+ callback endpoint of an operator.
    ///
    /// # Errors
    /// A database error.
    fn set_callback_url(
        &self,
        operator_id: i64,
        url: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The ES2+ callback endpoint of an operator.
    ///
    /// # Errors
    /// A database error.
    fn callback_url(
        &self,
        operator_id: i64,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Deletes up to `limit` outbox events created before `before` (Unix seconds), delivered
    /// or not, oldest first; how many it deleted (retention of the ES2+ callback outbox).
    ///
    /// # Errors
    /// A database error.
    fn delete_events_before(
        &self,
        before: i64,
        limit: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// An operator's outbox, newest first (at most `limit` rows).
    ///
    /// # Errors
    /// A database error.
    fn outbox_rows(
        &self,
        operator_id: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, StoreError>> + Send;
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

pub(crate) fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

impl OutboxAdmin for Store {
    /// Sets (or with `None` removes) the ES2+ callback endpoint of an operator.
    async fn set_callback_url(
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
    async fn callback_url(&self, operator_id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT url FROM operator_callbacks WHERE operator_id = ?")
            .bind(operator_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("url")).transpose()?)
    }

    /// Deletes up to `limit` outbox events created before `before` (Unix seconds), delivered
    /// or not, oldest first; how many it deleted (retention of the ES2+ callback outbox).
    ///
    /// # Errors
    /// A database error.
    async fn delete_events_before(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        // Ids grow with time: only the `limit` oldest rows are read (no index on
        // `created_at`), so the statement holds the write lock for one batch's work however
        // large the table is.
        let r = sqlx::query(
            "DELETE FROM rsp_events WHERE id IN
                 (SELECT id FROM (SELECT id, created_at FROM rsp_events ORDER BY id LIMIT ?)
                  WHERE created_at < ?)",
        )
        .bind(limit)
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// An operator's outbox, newest first (at most `limit` rows).
    async fn outbox_rows(
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
        rows.iter().map(OutboxRow::from_sqlite).collect()
    }
}

impl Store {
    /// Makes every commit of the SM-DP+ so far durable, the deferred ones included (for a
    /// clean shutdown: the timer that would have synced them stops with the runtime).
    ///
    /// # Errors
    /// A failed fsync.
    pub async fn sync_deferred(&self) -> Result<(), Error> {
        if self.synchronous != Synchronous::Full {
            return Ok(());
        }
        let written = self.group.lock().written;
        self.group.sync_to(written).await
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
pub(crate) mod tests {
    use super::*;
    use crate::NewOperator;
    use simforge_smdp::ProfileMetadata;

    /// A fresh SQLite store with two operators, `a` and `b` (their ids): the crate's one
    /// test fixture.
    pub(crate) async fn store() -> (tempfile::TempDir, Store, i64, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let a = operator(&store, "a").await;
        let b = operator(&store, "b").await;
        (dir, store, a, b)
    }

    /// Creates a test operator `name`; its id.
    pub(crate) async fn operator(store: &Store, name: &str) -> i64 {
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
            tx.profile(b, &"8949440000000000011".parse().expect("iccid"))
                .await
                .unwrap()
                .is_none()
        );
        let mut p = tx
            .profile(a, &"8949440000000000011".parse().expect("iccid"))
            .await
            .unwrap()
            .unwrap();
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
            iccid: "8949440000000000011".parse().expect("iccid"),
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
mod group_sync_tests {
    use super::*;

    #[test]
    fn a_bare_file_name_syncs_the_current_directory() {
        let g = GroupSync::new(Path::new("db.sqlite"));
        assert_eq!(g.wal, Path::new("db.sqlite-wal"));
        assert_eq!(g.dir.as_deref(), Some(Path::new(".")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_full_commits_share_fsyncs_and_all_complete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_with(&dir.path().join("db.sqlite"), Synchronous::Full)
            .await
            .unwrap();
        let a = super::tests::operator(&store, "a").await;
        let mut tasks = Vec::new();
        for i in 0..32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.push_events(&[Event::ProfileState {
                    operator_id: a,
                    iccid: format!("89{i:017}").parse().expect("iccid"),
                    from: ProfileState::Available,
                    to: ProfileState::Allocated,
                    at: 1,
                }])
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        {
            let st = store.group.lock();
            assert_eq!(st.written, 32);
            assert_eq!(st.synced, 32, "every answered commit is fsync'd");
            assert!(!st.syncing);
        }
        assert!(*store.group.rounds.borrow() <= 32);
        assert_eq!(store.outbox_rows(a, 100).await.unwrap().len(), 32);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deferred_commits_are_visible_at_once_and_durable_soon_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_with(&dir.path().join("db.sqlite"), Synchronous::Full)
            .await
            .unwrap();
        let a = super::tests::operator(&store, "a").await;
        let event = |i: u32| Event::ProfileState {
            operator_id: a,
            iccid: format!("89{i:017}").parse().expect("iccid"),
            from: ProfileState::Available,
            to: ProfileState::Allocated,
            at: 1,
        };
        for i in 0..3 {
            let mut tx = store.begin().await.unwrap();
            tx.push_events(&[event(i)]).await.unwrap();
            tx.commit_deferred().await.unwrap();
        }
        // Visible to the next transaction (before any fsync, unless the timer was quicker).
        assert_eq!(store.outbox_rows(a, 10).await.unwrap().len(), 3);
        assert_eq!(store.group.lock().written, 3);
        // Durable within the bound, by the timer, with no further commit.
        tokio::time::sleep(DEFERRED_SYNC * 10).await;
        {
            let st = store.group.lock();
            assert_eq!(st.synced, 3);
            assert!(!st.timer_armed && !st.syncing);
        }
        assert!((1..=3).contains(&*store.group.rounds.borrow()));
        // A durable commit after a deferred one covers it with its own fsync; the timer then
        // finds nothing to do.
        let mut tx = store.begin().await.unwrap();
        tx.push_events(&[event(3)]).await.unwrap();
        tx.commit_deferred().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.push_events(&[event(4)]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.group.lock().synced, 5);
        let rounds = *store.group.rounds.borrow();
        tokio::time::sleep(DEFERRED_SYNC * 10).await;
        assert_eq!(
            *store.group.rounds.borrow(),
            rounds,
            "the timer found the deferred commit durable and synced nothing"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_failed_fsync_no_commit_is_reported_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_with(&dir.path().join("db.sqlite"), Synchronous::Full)
            .await
            .unwrap();
        let a = super::tests::operator(&store, "a").await;
        store.group.lock().failed = true;
        let mut tx = store.begin().await.unwrap();
        tx.push_events(&[Event::ProfileState {
            operator_id: a,
            iccid: "8949440000000000011".parse().expect("iccid"),
            from: ProfileState::Available,
            to: ProfileState::Allocated,
            at: 1,
        }])
        .await
        .unwrap();
        let e = tx.commit().await.expect_err("not durable");
        assert!(e.to_string().contains("restart the server"), "{e}");
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

    async fn rows(store: &Store) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM rsp_sessions")
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn initiated_sessions_stay_in_memory_until_a_profile_is_bound() {
        let (_d, store, a, _) = super::tests::store().await;
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
        assert_eq!(rows(&store).await, 0, "not written to the database");

        // AuthenticateClient: into the database, out of memory.
        let mut authed = session("01AB", SessionState::Authenticated, Some(a));
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.session(&tid).await.unwrap(), Some(initiated));
        tx.put_session(&authed).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(rows(&store).await, 1);
        assert!(lock_pending(&store.pending).sessions.is_empty());

        // Later changes update the stored record.
        authed.state = SessionState::BppDelivered;
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&authed).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.session(&tid).await.unwrap().as_ref(), Some(&authed));
        tx.delete_session(&tid).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(rows(&store).await, 0);

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
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.session(&other).await.unwrap(), None);
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn sessions_never_bound_are_purged_once_expired() {
        let (_d, store, a, _) = super::tests::store().await;
        // Both expire at 100: one never bound (in memory), one bound (in the database).
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&session("0A", SessionState::Initiated, None))
            .await
            .unwrap();
        tx.put_session(&session("0B", SessionState::Authenticated, Some(a)))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.delete_expired_sessions(0, 100, 10).await.unwrap(), 0);
        assert_eq!(tx.delete_expired_sessions(0, 101, 10).await.unwrap(), 1);
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let tid = |h| TransactionId::parse_hex(h).unwrap();
        assert_eq!(tx.session(&tid("0A")).await.unwrap(), None);
        assert!(tx.session(&tid("0B")).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn expired_sessions_are_purged_from_memory_and_database_in_batches() {
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
        assert_eq!(rows(&store).await, 3);

        // One purge transaction: how many sessions it deleted.
        async fn purge(store: &Store, before: i64, limit: usize) -> usize {
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
        // Three expired before 200, at most two per call: one in memory, two stored. The
        // scan of stored sessions had reached the end of the table (the call above): the
        // first call wraps around, the next ones find them.
        let mut deleted = Vec::new();
        for _ in 0..4 {
            deleted.push(purge(&store, 200, 2).await);
        }
        assert_eq!(deleted, vec![1, 2, 0, 0], "{deleted:?}");
        assert_eq!(rows(&store).await, 1);
        // A session stored later is found within a pass of the table, wherever the scan is.
        let mut s = session("00FF", SessionState::BppDelivered, Some(a));
        s.expires_at = 100;
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&s).await.unwrap();
        tx.commit().await.unwrap();
        let passes = [purge(&store, 200, 2).await, purge(&store, 200, 2).await];
        assert_eq!(passes.iter().sum::<usize>(), 1, "{passes:?}");
        assert_eq!(rows(&store).await, 1);
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

    #[tokio::test]
    async fn initiated_sessions_do_not_survive_a_restart_bound_ones_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let store = Store::open_sqlite(&path).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.put_session(&session("0A", SessionState::Initiated, None))
            .await
            .unwrap();
        tx.put_session(&session("0B", SessionState::Authenticated, None))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        drop(store);
        let store = Store::open_sqlite(&path).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let a = TransactionId::parse_hex("0A").unwrap();
        let b = TransactionId::parse_hex("0B").unwrap();
        assert_eq!(tx.session(&a).await.unwrap(), None);
        assert!(tx.session(&b).await.unwrap().is_some());
        tx.commit().await.unwrap();
    }
}
