//! # simforge-store
//!
//! The platform database: [`Store`], one type over SQLite (embedded, the default:
//! [`SqliteStore`]) or PostgreSQL (several nodes on one database: [`PgStore`]), chosen by a
//! [`DatabaseLocation`]. Operators, their sealed keys, batches with the ICCID and IMSI ranges
//! they reserve, credentials, quotas, users and the audit log, and the SM-DP+'s state. This is
//! the only crate that knows SQL. Range reservation is one transaction that no other
//! reservation interleaves with (`BEGIN IMMEDIATE`, or PostgreSQL's advisory lock): the overlap
//! check and the insert cannot interleave with another writer, so no ICCID or IMSI is ever
//! issued twice, across batches, processes, nodes and crashes. A database migrated by a newer
//! simforge is refused at open ([`StoreError::SchemaTooNew`]).

pub mod access;
pub mod audit;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cluster;
pub mod credentials;
mod inventory;
mod memory;
pub mod pg;
mod platform;
pub mod quotas;
pub mod rsp;
pub mod session_cache;
pub mod settings;
pub mod smds;
mod sql;
mod store;

pub use credentials::{Credential, CredentialId, CredentialKind, Sha256Hex};
pub use pg::PgStore;
pub use platform::BATCH_LOCK;
pub use quotas::Quotas;
pub use rsp::OutboxAdmin;
pub use session_cache::SessionCache;
pub use settings::{CallbackSettings, OperatorAdmin, callback_key_context};
pub use store::{DEFAULT_PG_CONNECTIONS, DatabaseLocation, Store, StoreTx};

use std::path::Path;
use std::str::FromStr;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(sqlx::Error),
    /// Schema migration failed.
    #[error("database migration")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was migrated by a newer simforge: this one does not know its schema.
    #[error(
        "database schema version {found} is newer than this simforge (knows up to {known}): run the simforge that migrated it, or a newer one"
    )]
    SchemaTooNew {
        /// The highest migration applied to the database.
        found: i64,
        /// The highest migration this binary knows.
        known: i64,
    },
    /// The SM-DP+ connection failed.
    #[error("database: {0}")]
    Sqlite(rusqlite::Error),
    /// The database's file system is full (SQLITE_FULL, or a shared-memory file that could
    /// not grow): said once, in words, instead of SQLite's code.
    #[error("{0}")]
    DiskFull(&'static str),
    /// A database file (or the master key's) can be read by others than its owner.
    #[error(
        "{path} has mode {mode:04o}: it must be readable by its owner only (it holds released profiles' matchingIds and sealed keys); fix: {fix}"
    )]
    InsecureMode {
        /// The file or directory.
        path: String,
        /// Its permission bits.
        mode: u32,
        /// The command that fixes it.
        fix: String,
    },
    /// The master key is not the one that sealed this database.
    #[error(
        "the master key (fingerprint {given}) is not the one this database was sealed with (fingerprint {stored}): start with the master key file or SIMFORGE_MASTER_KEY the database was created with"
    )]
    WrongMasterKey {
        /// Fingerprint of the key given.
        given: String,
        /// Fingerprint of the key that sealed the database.
        stored: String,
    },
    /// A stored audit entry does not decode.
    #[error(transparent)]
    Audit(#[from] simforge_audit::Error),
    /// A database setting is invalid.
    #[error("{0}")]
    Config(String),
    /// A name that must be unique is taken.
    #[error("{0} already exists")]
    Exists(String),
    /// Something asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The requested range overlaps a reserved one.
    #[error("{0}")]
    Overlap(Box<RangeConflict>),
    /// The operation does not apply to the batch in its current state.
    #[error("batch {0} is {1}: {2}")]
    State(i64, String, &'static str),
}

/// SQLite's (extended) result codes that mean the disk is full, in words: SQLITE_FULL (13,
/// what a write that meets ENOSPC returns) and SQLITE_IOERR_SHMSIZE (4874, the WAL index
/// `-shm` could not grow: on a full file system that is where a write fails first).
#[must_use]
pub fn disk_full_message(extended_code: i32) -> Option<&'static str> {
    match extended_code {
        13 => Some(
            "disk full: the database could not be written (SQLITE_FULL); free space on the data directory's file system",
        ),
        4874 => Some(
            "disk full: the database's shared-memory file could not grow (SQLITE_IOERR_SHMSIZE); free space on the data directory's file system",
        ),
        _ => None,
    }
}

/// The disk-full message of an sqlx error, if it is one.
pub(crate) fn sqlx_disk_full(e: &sqlx::Error) -> Option<&'static str> {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .and_then(disk_full_message),
        _ => None,
    }
}

/// The disk-full message of a rusqlite error, if it is one.
pub(crate) fn rusqlite_disk_full(e: &rusqlite::Error) -> Option<&'static str> {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => disk_full_message(f.extended_code),
        _ => None,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        sqlx_disk_full(&e).map_or(Self::Db(e), Self::DiskFull)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        rusqlite_disk_full(&e).map_or(Self::Sqlite(e), Self::DiskFull)
    }
}

/// Creates the database file (mode 0600) if it does not exist, and refuses the database, its
/// `-wal` and its `-shm` when others than the owner may read them. SQLite creates `-wal` and
/// `-shm` with the database file's mode.
fn prepare_db_files(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| StoreError::Config(format!("{}: {e}", path.display()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let name = path.as_os_str().to_owned();
        let files: Vec<std::path::PathBuf> = ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| {
                let mut n = name.clone();
                n.push(suffix);
                std::path::PathBuf::from(n)
            })
            .collect();
        for f in &files {
            let mode = match std::fs::metadata(f) {
                Ok(m) => m.permissions().mode() & 0o7777,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            };
            if mode & 0o077 != 0 {
                let all: Vec<String> = files
                    .iter()
                    .filter(|f| f.exists())
                    .map(|f| f.display().to_string())
                    .collect();
                return Err(StoreError::InsecureMode {
                    path: f.display().to_string(),
                    mode,
                    fix: format!("chmod 600 {}", all.join(" ")),
                });
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A range that overlaps one already reserved, and who holds it.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{what} range {first}..{last} overlaps batch {batch} (id {batch_id}) of operator {operator}, state {state}"
)]
pub struct RangeConflict {
    /// "ICCID" or "IMSI".
    pub what: &'static str,
    /// First value asked for.
    pub first: String,
    /// Last value asked for.
    pub last: String,
    /// The batch holding it.
    pub batch: String,
    /// Its id.
    pub batch_id: i64,
    /// Its operator.
    pub operator: String,
    /// Its state.
    pub state: String,
}

/// A stored operator.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Operator {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// MCC.
    pub mcc: String,
    /// MNC.
    pub mnc: String,
    /// ICCID issuer prefix.
    pub iccid_prefix: String,
    /// Full ICCID length.
    pub iccid_len: i64,
    /// Service provider name.
    pub spn: String,
    /// `.out` columns, `None` = defaults.
    pub out_columns: Option<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// SM-DP+ default for profiles imported without an explicit choice: after a delete
    /// notification, back to Available (`true`) or Unavailable.
    pub reuse_on_delete: bool,
    /// What ES9+.CancelSession does to the operator's profiles
    /// (`simforge_smdp::CancelSessionPolicy` as text); `None`: the default policy.
    pub cancel_session_policy: Option<String>,
}

/// A new operator.
#[derive(Debug, Clone)]
pub struct NewOperator {
    /// Unique name.
    pub name: String,
    /// MCC.
    pub mcc: String,
    /// MNC.
    pub mnc: String,
    /// ICCID issuer prefix.
    pub iccid_prefix: String,
    /// Full ICCID length.
    pub iccid_len: i64,
    /// Service provider name.
    pub spn: String,
    /// `.out` columns, `None` = defaults.
    pub out_columns: Option<String>,
}

/// The kind of an operator key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// A transport key (the `KID` of order files).
    Transport,
    /// An OP or TOP (the `OPID` of order files).
    Op,
}

impl KeyKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Transport => "transport",
            Self::Op => "op",
        }
    }
}

/// A stored key's public facts (its sealed value is fetched separately).
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    /// Kind.
    pub kind: KeyKind,
    /// Index.
    pub index: i64,
    /// Size in bits.
    pub bits: i64,
    /// When imported.
    pub created_at: String,
}

/// A batch's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchState {
    /// Reserved, files being written (or the run died: resume or release it).
    Generating,
    /// Files complete under their final names.
    Complete,
    /// Range given back; the batch's files were never completed.
    Released,
}

impl FromStr for BatchState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "generating" => Ok(Self::Generating),
            "complete" => Ok(Self::Complete),
            "released" => Ok(Self::Released),
            other => Err(StoreError::NotFound(format!("batch state {other}"))),
        }
    }
}

/// A range of ICCID bodies or IMSIs as integers, with their digit count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Range {
    /// Digit count (ICCID: full length incl. check digit; IMSI: digits).
    pub len: i64,
    /// First value.
    pub first: i64,
    /// Last value (inclusive).
    pub last: i64,
}

/// A batch to reserve.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// Operator id.
    pub operator_id: i64,
    /// Name, unique per operator.
    pub name: String,
    /// Cards.
    pub quantity: i64,
    /// ICCID bodies.
    pub iccid: Range,
    /// IMSIs.
    pub imsi: Range,
    /// Transport key index.
    pub kid: i64,
    /// OP index.
    pub opid: i64,
    /// The plan, serialized by the caller, to resume a run.
    pub plan: String,
    /// Where the files go.
    pub output_dir: String,
}

/// A stored batch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Batch {
    /// Row id.
    pub id: i64,
    /// Operator name.
    pub operator: String,
    /// Batch name.
    pub name: String,
    /// Cards.
    pub quantity: i64,
    /// ICCID bodies.
    pub iccid: Range,
    /// IMSIs.
    pub imsi: Range,
    /// Transport key index.
    pub kid: i64,
    /// OP index.
    pub opid: i64,
    /// State.
    pub state: BatchState,
    /// The serialized plan.
    #[serde(skip)]
    pub plan: String,
    /// Output directory.
    pub output_dir: String,
    /// Created.
    pub created_at: String,
    /// Completed.
    pub completed_at: Option<String>,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The platform database on SQLite (see [`Store`], which holds it or a [`PgStore`]).
///
/// Two kinds of connection share the database file: an sqlx pool for the platform's
/// administrative work (operators, batches, credentials, the outbox), and one dedicated
/// connection for the SM-DP+'s hot path ([`simforge_smdp::SmdpStore`], see [`rsp`]), which
/// runs its statements on the calling task without a thread hop per statement.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    rsp: std::sync::Arc<tokio::sync::Mutex<rusqlite::Connection>>,
    /// Where the purge of expired sessions goes on (see [`rsp`]).
    purge_cursor: std::sync::Arc<std::sync::Mutex<String>>,
    /// Group commit of the SM-DP+ connection under `synchronous = FULL`.
    group: std::sync::Arc<rsp::GroupSync>,
    synchronous: Synchronous,
}

/// How hard SQLite works to make a commit durable (`PRAGMA synchronous`, WAL mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `FULL` (the default): every commit is fsync'd before it returns; a committed
    /// transaction survives a process crash, an OS crash and a power loss.
    #[default]
    Full,
    /// `NORMAL`: commits are written to the WAL without fsync (the WAL is fsync'd at each
    /// checkpoint). A committed transaction survives a process crash (`kill -9`); an OS crash
    /// or power loss can lose the last transactions (never corrupts the database).
    Normal,
}

impl Synchronous {
    /// The environment variable that selects it (`full` or `normal`).
    pub const ENV: &'static str = "SIMFORGE_DB_SYNCHRONOUS";

    /// The value of [`Synchronous::ENV`], [`Synchronous::Full`] when unset.
    pub fn from_env() -> Result<Self, StoreError> {
        match std::env::var(Self::ENV) {
            Ok(v) => v.parse(),
            Err(std::env::VarError::NotPresent) => Ok(Self::Full),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(StoreError::Config(format!("{} is not UTF-8", Self::ENV)))
            }
        }
    }

    /// The pragma value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Normal => "normal",
        }
    }
}

impl FromStr for Synchronous {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(StoreError::Config(format!(
                "database synchronous mode {other:?}: expected \"full\" or \"normal\""
            ))),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the SQLite database at `path` and brings its schema up to date,
    /// with the durability [`Synchronous::from_env`] selects (`FULL` unless
    /// `SIMFORGE_DB_SYNCHRONOUS=normal`).
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        Self::open_sqlite_with(path, Synchronous::from_env()?).await
    }

    /// Opens (creating if needed) the SQLite database at `path` with the given durability and
    /// brings its schema up to date.
    pub async fn open_sqlite_with(
        path: &Path,
        synchronous: Synchronous,
    ) -> Result<Self, StoreError> {
        prepare_db_files(path)?;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match synchronous {
                Synchronous::Full => SqliteSynchronous::Full,
                Synchronous::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts.clone())
            .await?;
        let applied = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&pool)
        .await?;
        if applied > 0 {
            check_schema(
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
                    .fetch_one(&pool)
                    .await?,
                &SQLITE_MIGRATOR,
            )?;
        }
        SQLITE_MIGRATOR.run(&pool).await?;
        // A connection opened before a migration changed a table can prepare a statement on
        // the schema it read then; SQLite prepares it again when it runs, with the new
        // columns, but sqlx keeps the old column list (a `SELECT *` then indexes past its
        // end: a panic in sqlx's worker and an empty answer). Fresh connections after the
        // migrations read the new schema.
        pool.close().await;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        let rsp = rsp::open_connection(path)?;
        Ok(Self {
            pool,
            rsp: std::sync::Arc::new(tokio::sync::Mutex::new(rsp)),
            purge_cursor: std::sync::Arc::default(),
            group: std::sync::Arc::new(rsp::GroupSync::new(path)),
            synchronous,
        })
    }

    /// The durability this store was opened with.
    pub fn synchronous(&self) -> Synchronous {
        self.synchronous
    }

    /// The highest migration applied.
    ///
    /// # Errors
    /// A database error.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(v.unwrap_or(0))
    }

    /// Whether the database answers.
    ///
    /// # Errors
    /// A database error.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool's connections (the SM-DP+'s connection closes with the last clone).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The SQLite schema's migrations.
pub(crate) static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Refuses a database whose highest applied migration (`applied`) is newer than the last
/// one `migrator` knows: a newer simforge migrated it, and this one would misread it.
pub(crate) fn check_schema(
    applied: Option<i64>,
    migrator: &sqlx::migrate::Migrator,
) -> Result<(), StoreError> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(found) if found > known => Err(StoreError::SchemaTooNew { found, known }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database of an older schema (before 0016 added a column to `operators`), opened by
    /// this simforge: migrated, then read right (sqlx once kept the old column list of a
    /// statement prepared on a connection opened before the migration: a panic in its worker
    /// and an empty list of operators).
    #[tokio::test]
    async fn an_older_database_reads_right_right_after_its_migration() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("migrations-0015");
        std::fs::create_dir(&old).unwrap();
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for e in std::fs::read_dir(&here).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            if name.as_str() < "0016" {
                std::fs::copy(e.path(), old.join(&name)).unwrap();
            }
        }
        let path = dir.path().join("old.sqlite");
        prepare_db_files(&path).unwrap();
        {
            let opts = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts)
                .await
                .unwrap();
            sqlx::migrate::Migrator::new(old.as_path())
                .await
                .unwrap()
                .run(&pool)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO operators (name, mcc, mnc, iccid_prefix, iccid_len, spn, created_at)
                 VALUES ('old', '001', '01', '894944', 19, 'Old', '2026-01-01T00:00:00Z')",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        for _ in 0..2 {
            let s = Store::open_sqlite(&path).await.unwrap();
            let ops = s.operators().await.unwrap();
            assert_eq!(ops.len(), 1, "{ops:?}");
            assert_eq!(ops[0].name, "old");
            assert_eq!(s.operator("old").await.unwrap().name, "old");
            s.close().await;
        }
    }

    async fn store() -> (tempfile::TempDir, Store, Operator) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let op = s
            .create_operator(&NewOperator {
                name: "a".into(),
                mcc: "001".into(),
                mnc: "01".into(),
                iccid_prefix: "8988211".into(),
                iccid_len: 20,
                spn: "A".into(),
                out_columns: None,
            })
            .await
            .unwrap();
        (dir, s, op)
    }

    fn batch(op: i64, name: &str, iccid: (i64, i64), imsi: (i64, i64)) -> NewBatch {
        NewBatch {
            operator_id: op,
            name: name.into(),
            quantity: iccid.1 - iccid.0 + 1,
            iccid: Range {
                len: 20,
                first: iccid.0,
                last: iccid.1,
            },
            imsi: Range {
                len: 15,
                first: imsi.0,
                last: imsi.1,
            },
            kid: 1,
            opid: 1,
            plan: "{}".into(),
            output_dir: "/tmp/x".into(),
        }
    }

    #[tokio::test]
    async fn ranges_never_overlap_until_released() {
        let (_d, s, op) = store().await;
        let a = s
            .reserve_batch(&batch(op.id, "a", (100, 199), (1000, 1099)))
            .await
            .unwrap();
        assert!(matches!(
            s.reserve_batch(&batch(op.id, "b", (199, 250), (2000, 2051))).await,
            Err(StoreError::Overlap(c)) if c.what == "ICCID"
        ));
        assert!(matches!(
            s.reserve_batch(&batch(op.id, "b", (200, 250), (1050, 1100))).await,
            Err(StoreError::Overlap(c)) if c.what == "IMSI"
        ));
        assert!(matches!(
            s.reserve_batch(&batch(op.id, "a", (300, 301), (3000, 3001)))
                .await,
            Err(StoreError::Exists(_))
        ));
        assert_eq!(
            s.highest_reserved(true, 20, 0, 1_000).await.unwrap(),
            Some(199)
        );
        s.release_batch(a).await.unwrap();
        assert!(s.release_batch(a).await.is_err());
        assert_eq!(s.highest_reserved(true, 20, 0, 1_000).await.unwrap(), None);
        let b = s
            .reserve_batch(&batch(op.id, "b", (150, 160), (1050, 1060)))
            .await
            .unwrap();
        s.complete_batch(b).await.unwrap();
        assert!(matches!(
            s.release_batch(b).await,
            Err(StoreError::State(..))
        ));
        assert_eq!(s.batches(Some("a")).await.unwrap().len(), 2);
    }

    /// Issue 16 item 3: the database, its -wal and -shm were created 0644.
    #[cfg(unix)]
    #[tokio::test]
    async fn database_files_are_created_owner_only_and_refused_otherwise() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, s, _) = store().await;
        let db = dir.path().join("db.sqlite");
        for f in ["db.sqlite", "db.sqlite-wal", "db.sqlite-shm"] {
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}: {mode:o}");
        }
        drop(s);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Store::open_sqlite(&db).await.unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, StoreError::InsecureMode { mode: 0o644, .. }),
            "{msg}"
        );
        assert!(msg.contains("0644") && msg.contains("chmod 600"), "{msg}");
        assert!(msg.contains(&db.display().to_string()), "{msg}");
    }

    /// Issue 16 item 9: disk-full errors read "(code: 4874) disk I/O error".
    #[test]
    fn disk_full_codes_are_named() {
        assert!(disk_full_message(13).unwrap().starts_with("disk full"));
        assert!(disk_full_message(4874).unwrap().starts_with("disk full"));
        assert_eq!(disk_full_message(10), None);
        assert_eq!(disk_full_message(778), None);
        let e: StoreError = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error {
                code: rusqlite::ErrorCode::SystemIoFailure,
                extended_code: 4874,
            },
            None,
        )
        .into();
        assert!(matches!(e, StoreError::DiskFull(_)), "{e}");
        assert_eq!(e.to_string().matches("disk full").count(), 1, "{e}");
    }

    /// Issue 16 item 9: a wrong master key was noticed only at the first download.
    #[tokio::test]
    async fn master_key_check_refuses_another_key() {
        let (_d, s, _) = store().await;
        assert!(s.vault_check().await.unwrap().is_none());
        s.check_master_key(
            "aa",
            || Some(b"sealed-by-aa".to_vec()),
            |v| v == b"sealed-by-aa",
        )
        .await
        .unwrap();
        // Again with the right key: nothing new is stored.
        s.check_master_key("aa", || panic!("sealed again"), |v| v == b"sealed-by-aa")
            .await
            .unwrap();
        let e = s
            .check_master_key("bb", || None, |_| false)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::WrongMasterKey { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("bb") && msg.contains("aa"), "{msg}");
    }

    #[tokio::test]
    async fn keys_and_operators() {
        let (_d, s, op) = store().await;
        s.put_key(op.id, KeyKind::Transport, 135, 256, b"sealed", false)
            .await
            .unwrap();
        assert!(matches!(
            s.put_key(op.id, KeyKind::Transport, 135, 256, b"x", false)
                .await,
            Err(StoreError::Exists(_))
        ));
        s.put_key(op.id, KeyKind::Transport, 135, 128, b"sealed2", true)
            .await
            .unwrap();
        assert_eq!(
            s.sealed_key(op.id, KeyKind::Transport, 135).await.unwrap(),
            b"sealed2"
        );
        assert!(matches!(
            s.sealed_key(op.id, KeyKind::Op, 135).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.keys(op.id).await.unwrap().len(), 1);
        assert!(matches!(
            s.operator("zz").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.operators().await.unwrap().len(), 1);
    }
}
