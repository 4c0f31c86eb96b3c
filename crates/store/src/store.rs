//! [`Store`]: the platform database, one type over SQLite ([`SqliteStore`]) or PostgreSQL
//! ([`PgStore`]). Every call and every trait the platform uses dispatches to the backend
//! (`dispatch!`, `forward!`, `forward_trait!`), so that a service written over `Store` runs
//! on either database unchanged; where a backend has no such thing (SQLite's durability
//! setting on PostgreSQL), the other answers what holds there.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use simforge_access::{AccessStore, NewToken, NewUser, SessionRecord, Throttle, TokenRecord, User};
use simforge_asn1::{Eid, Iccid, TransactionId};
use simforge_audit::{AuditLog, Draft, Entry, Query};
use simforge_smdp::{
    Activity, CancelSessionPolicy, Error, Event, HistoryEntry, Inventory, OperatorId, OutboxEntry,
    OutboxStore, ProfileFilter, ProfileRecord, ProfileState, SearchPage, Session, SmdpStore,
    SmdpTx, SmdsOp, SmdsOpEntry, SmdsOpRow, SmdsQueue, UnixTime, Unseal,
};

use crate::pg::PgTx;
use crate::rsp::{OutboxAdmin, OutboxRow, SqliteTx};
use crate::{
    Batch, CallbackSettings, Credential, CredentialId, CredentialKind, KeyInfo, KeyKind, NewBatch,
    NewOperator, Operator, OperatorAdmin, PgStore, Quotas, Sha256Hex, SqliteStore, StoreError,
    Synchronous,
};

/// Connections to PostgreSQL that [`Store::open`] keeps at most.
pub const DEFAULT_PG_CONNECTIONS: u32 = 16;

/// Where the platform database is: a PostgreSQL URL (`postgres://…` or `postgresql://…`)
/// or the path of a SQLite file (`sqlite:` in front is allowed), parsed once
/// ([`FromStr`]). Shown ([`fmt::Display`], [`fmt::Debug`]) without the URL's password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (libpq-style parameters such as `sslmode=verify-full` included).
    Postgres(String),
}

impl DatabaseLocation {
    /// The environment variable a front door reads it from when no option gives it.
    pub const ENV: &'static str = "SIMFORGE_DATABASE_URL";
}

impl FromStr for DatabaseLocation {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Self::Postgres(s.to_owned()));
        }
        let path = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
            .unwrap_or(s);
        if path.is_empty() {
            return Err(StoreError::Config(
                "database: expected a SQLite file path or a postgres:// URL".into(),
            ));
        }
        if path.contains("://") {
            return Err(StoreError::Config(format!(
                "database {:?}: only postgres:// and postgresql:// URLs (or a SQLite file path) are supported",
                redact(path)
            )));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// `url` with the password of its user information (if any) replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    // libpq also takes the password as a parameter (`?password=…`).
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl fmt::Display for DatabaseLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "{}", p.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Self::Postgres(url) => f.debug_tuple("Postgres").field(&redact(url)).finish(),
        }
    }
}

/// The platform database: SQLite (embedded, the default) or PostgreSQL (several nodes on one
/// database). Cloning shares the connections.
#[derive(Debug, Clone)]
pub enum Store {
    /// On a SQLite file.
    Sqlite(SqliteStore),
    /// On a PostgreSQL server.
    Postgres(PgStore),
}

impl From<SqliteStore> for Store {
    fn from(s: SqliteStore) -> Self {
        Self::Sqlite(s)
    }
}

impl From<PgStore> for Store {
    fn from(s: PgStore) -> Self {
        Self::Postgres(s)
    }
}

/// `$e` with `$s` bound to the backend store (or transaction) of `$self`.
macro_rules! dispatch {
    ($ty:ident, $self:expr, $s:ident => $e:expr) => {
        match $self {
            $ty::Sqlite($s) => $e,
            $ty::Postgres($s) => $e,
        }
    };
}

/// Inherent methods of [`Store`] that call the backend's method of the same name.
macro_rules! forward {
    ($($(#[$m:meta])* pub async fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;)*) => {
        impl Store {
            $(
                $(#[$m])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    dispatch!(Store, self, s => s.$name($($arg),*).await)
                }
            )*
        }
    };
}

/// `impl $trait for $ty`, every method calling the backend's.
macro_rules! forward_trait {
    ($ty:ident: $tr:ident { $($item:item)* } $(fn $name:ident(&self $(, $arg:ident: $aty:ty)* $(,)?) -> $ret:ty;)*) => {
        impl $tr for $ty {
            $($item)*
            $(
                async fn $name(&self $(, $arg: $aty)*) -> $ret {
                    dispatch!($ty, self, s => $tr::$name(s $(, $arg)*).await)
                }
            )*
        }
    };
}

impl Store {
    /// Opens the database at `location`, bringing its schema up to date: SQLite as
    /// [`Store::open_sqlite`], PostgreSQL as [`Store::connect_postgres`] with up to
    /// [`DEFAULT_PG_CONNECTIONS`] connections.
    ///
    /// # Errors
    /// As those two; [`StoreError::SchemaTooNew`] for a database a newer simforge migrated.
    pub async fn open(location: &DatabaseLocation) -> Result<Self, StoreError> {
        match location {
            DatabaseLocation::Sqlite(path) => Self::open_sqlite(path).await,
            DatabaseLocation::Postgres(url) => {
                Self::connect_postgres(url, DEFAULT_PG_CONNECTIONS).await
            }
        }
    }

    /// Opens (creating if needed) the SQLite database at `path` and brings its schema up to
    /// date, with the durability [`Synchronous::from_env`] selects.
    ///
    /// # Errors
    /// See [`SqliteStore::open_sqlite`].
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        SqliteStore::open_sqlite(path).await.map(Self::Sqlite)
    }

    /// Opens the SQLite database at `path` with the given durability.
    ///
    /// # Errors
    /// See [`SqliteStore::open_sqlite_with`].
    pub async fn open_sqlite_with(
        path: &Path,
        synchronous: Synchronous,
    ) -> Result<Self, StoreError> {
        SqliteStore::open_sqlite_with(path, synchronous)
            .await
            .map(Self::Sqlite)
    }

    /// Connects to the PostgreSQL database at `url` with up to `max_connections`
    /// connections and brings its schema up to date.
    ///
    /// # Errors
    /// See [`PgStore::connect`].
    pub async fn connect_postgres(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        PgStore::connect(url, max_connections)
            .await
            .map(Self::Postgres)
    }

    /// Applies the migrations the database at `location` lacks, and nothing else (`simforge
    /// db migrate`); the schema version it is at afterwards.
    ///
    /// # Errors
    /// [`StoreError::SchemaTooNew`], a failed migration, a database error.
    pub async fn migrate(location: &DatabaseLocation) -> Result<i64, StoreError> {
        let store = match location {
            DatabaseLocation::Sqlite(path) => Self::open_sqlite(path).await?,
            DatabaseLocation::Postgres(url) => Self::connect_postgres(url, 1).await?,
        };
        let version = store.schema_version().await;
        store.close().await;
        version
    }

    /// The database's schema version (the highest migration applied).
    ///
    /// # Errors
    /// A database error.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        dispatch!(Store, self, s => s.schema_version().await)
    }

    /// Whether the database answers (`SELECT 1` on the pool): the readiness probe.
    ///
    /// # Errors
    /// A database error.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(Store, self, s => s.ping().await)
    }

    /// Closes the connections (waiting for those in use to come back).
    pub async fn close(&self) {
        dispatch!(Store, self, s => s.close().await);
    }

    /// Which database this is: `"sqlite"` or `"postgres"`.
    #[must_use]
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// The durability this store was opened with: PostgreSQL's commits are durable when they
    /// return ([`Synchronous::Full`]).
    #[must_use]
    pub fn synchronous(&self) -> Synchronous {
        match self {
            Self::Sqlite(s) => s.synchronous(),
            Self::Postgres(_) => Synchronous::Full,
        }
    }

    /// Makes every commit of the SM-DP+ so far durable, the deferred ones included (for a
    /// clean shutdown). On PostgreSQL nothing to do: the server makes deferred commits
    /// durable within its WAL writer's delay, whether this process lives or not.
    ///
    /// # Errors
    /// A failed fsync.
    pub async fn sync_deferred(&self) -> Result<(), Error> {
        match self {
            Self::Sqlite(s) => s.sync_deferred().await,
            Self::Postgres(_) => Ok(()),
        }
    }

    /// The query plan of `f`'s search (SQLite's `EXPLAIN QUERY PLAN` or PostgreSQL's
    /// `EXPLAIN`, one line per step).
    ///
    /// # Errors
    /// [`Error::Storage`] if the database fails.
    pub async fn explain_search(&self, f: &ProfileFilter) -> Result<Vec<String>, Error> {
        dispatch!(Store, self, s => s.explain_search(f).await)
    }

    /// `operator`'s profile `iccid` as recorded, without its package, read on the pool (see
    /// [`SqliteStore::profile_view`]).
    ///
    /// # Errors
    /// A database failure or a record that does not decode.
    pub async fn profile_view(
        &self,
        operator: OperatorId,
        iccid: &Iccid,
    ) -> Result<Option<ProfileRecord>, Error> {
        dispatch!(Store, self, s => s.profile_view(operator, iccid).await)
    }

    /// Checks that the master key is the one this database was sealed with (see
    /// [`SqliteStore::check_master_key`]).
    ///
    /// # Errors
    /// [`StoreError::WrongMasterKey`], a database error.
    pub async fn check_master_key(
        &self,
        fingerprint: &str,
        seal: impl FnOnce() -> Option<Vec<u8>>,
        unseals: impl FnOnce(&[u8]) -> bool,
    ) -> Result<(), StoreError> {
        dispatch!(Store, self, s => s.check_master_key(fingerprint, seal, unseals).await)
    }
}

forward! {
    /// The master key check value and its key's fingerprint; `None` before the first.
    pub async fn vault_check(&self) -> Result<Option<(String, Vec<u8>)>, StoreError>;
    /// Stores the master key check unless one is stored; the one stored afterwards.
    pub async fn init_vault_check(&self, fingerprint: &str, sealed: &[u8]) -> Result<(String, Vec<u8>), StoreError>;
    /// Creates an operator.
    pub async fn create_operator(&self, op: &NewOperator) -> Result<Operator, StoreError>;
    /// The operator with that id.
    pub async fn operator_by_id(&self, id: i64) -> Result<Operator, StoreError>;
    /// Sets the operator's SM-DP+ default for profiles imported without an explicit choice.
    pub async fn set_operator_reuse_on_delete(&self, name: &str, reuse_on_delete: bool) -> Result<Operator, StoreError>;
    /// The operator of that name.
    pub async fn operator(&self, name: &str) -> Result<Operator, StoreError>;
    /// All operators, by name.
    pub async fn operators(&self) -> Result<Vec<Operator>, StoreError>;
    /// Stores a sealed key. Refuses to replace an existing key unless `replace` is set.
    pub async fn put_key(&self, operator_id: i64, kind: KeyKind, index: i64, bits: i64, sealed: &[u8], replace: bool) -> Result<(), StoreError>;
    /// The sealed value of a key.
    pub async fn sealed_key(&self, operator_id: i64, kind: KeyKind, index: i64) -> Result<Vec<u8>, StoreError>;
    /// The operator's keys (without their values).
    pub async fn keys(&self, operator_id: i64) -> Result<Vec<KeyInfo>, StoreError>;
    /// Reserves a batch's ranges (no overlap with a batch that is not released, whichever
    /// node reserves concurrently); the batch is `generating`.
    pub async fn reserve_batch(&self, b: &NewBatch) -> Result<i64, StoreError>;
    /// Marks a generating batch complete.
    pub async fn complete_batch(&self, id: i64) -> Result<(), StoreError>;
    /// Gives a generating (unfinished) batch's ranges back.
    pub async fn release_batch(&self, id: i64) -> Result<(), StoreError>;
    /// One batch.
    pub async fn batch(&self, id: i64) -> Result<Batch, StoreError>;
    /// Batches, newest first, optionally of one operator.
    pub async fn batches(&self, operator: Option<&str>) -> Result<Vec<Batch>, StoreError>;
    /// The highest reserved value of a column within `[lo, hi]`.
    pub async fn highest_reserved(&self, iccid: bool, len: i64, lo: i64, hi: i64) -> Result<Option<i64>, StoreError>;
    /// Registers a credential for an operator.
    pub async fn add_credential(&self, operator_id: i64, kind: CredentialKind, sha256: &Sha256Hex, label: &str, now: i64) -> Result<CredentialId, StoreError>;
    /// The active (not revoked) credential with this hash, with its operator.
    pub async fn active_credential(&self, kind: CredentialKind, sha256: &Sha256Hex) -> Result<Option<Credential>, StoreError>;
    /// An operator's credentials, active and revoked, oldest first.
    pub async fn credentials(&self, operator_id: i64) -> Result<Vec<Credential>, StoreError>;
    /// Revokes an operator's active credential.
    pub async fn revoke_credential(&self, operator_id: i64, id: CredentialId, now: i64) -> Result<(), StoreError>;
    /// `operator_id`'s quotas (none set: no limits).
    pub async fn quotas(&self, operator_id: i64) -> Result<Quotas, StoreError>;
    /// Sets `operator_id`'s quotas.
    pub async fn set_quotas(&self, operator_id: i64, q: &Quotas) -> Result<(), StoreError>;
    /// Cards in `operator_id`'s batches created after `since`, and the oldest's creation time.
    pub async fn cards_since(&self, operator_id: i64, since: i64) -> Result<(u64, Option<i64>), StoreError>;
    /// The cluster counter `name` (0 if never bumped).
    pub async fn cluster_counter(&self, name: &str) -> Result<i64, StoreError>;
    /// Adds one to the cluster counter `name`; its new value.
    pub async fn bump_cluster_counter(&self, name: &str) -> Result<i64, StoreError>;
}

/// A transaction of the SM-DP+ on either database.
#[derive(Debug)]
pub enum StoreTx {
    /// On SQLite.
    Sqlite(SqliteTx),
    /// On PostgreSQL.
    Postgres(PgTx),
}

impl SmdpStore for Store {
    type Tx = StoreTx;

    async fn begin(&self) -> Result<StoreTx, Error> {
        match self {
            Self::Sqlite(s) => s.begin().await.map(StoreTx::Sqlite),
            Self::Postgres(s) => s.begin().await.map(StoreTx::Postgres),
        }
    }
}

/// `impl SmdpTx for StoreTx`: every method calling the backend transaction's.
macro_rules! forward_tx {
    ($(fn $name:ident(&mut self $(, $arg:ident: $aty:ty)* $(,)?) -> $ret:ty;)*) => {
        impl SmdpTx for StoreTx {
            $(
                async fn $name(&mut self $(, $arg: $aty)*) -> $ret {
                    dispatch!(StoreTx, self, t => SmdpTx::$name(t $(, $arg)*).await)
                }
            )*

            async fn commit(self) -> Result<(), Error> {
                dispatch!(StoreTx, self, t => t.commit().await)
            }

            async fn commit_deferred(self) -> Result<(), Error> {
                dispatch!(StoreTx, self, t => t.commit_deferred().await)
            }
        }
    };
}

forward_tx! {
    fn session(&mut self, tid: &TransactionId) -> Result<Option<Session>, Error>;
    fn put_session(&mut self, s: &Session) -> Result<(), Error>;
    fn delete_session(&mut self, tid: &TransactionId) -> Result<(), Error>;
    fn delete_expired_sessions(&mut self, before: UnixTime, unbound_before: UnixTime, limit: usize) -> Result<usize, Error>;
    fn profile(&mut self, operator: OperatorId, iccid: &Iccid) -> Result<Option<ProfileRecord>, Error>;
    fn profile_any_operator(&mut self, iccid: &Iccid) -> Result<Option<ProfileRecord>, Error>;
    fn profile_by_matching_id(&mut self, matching_id: &str) -> Result<Option<ProfileRecord>, Error>;
    fn pending_profile_for_eid(&mut self, eid: &Eid) -> Result<Option<ProfileRecord>, Error>;
    fn available_profile(&mut self, operator: OperatorId, profile_type: &str) -> Result<Option<ProfileRecord>, Error>;
    fn insert_profile(&mut self, p: &ProfileRecord) -> Result<(), Error>;
    fn put_profile(&mut self, p: &ProfileRecord) -> Result<(), Error>;
    fn push_events(&mut self, events: &[Event]) -> Result<(), Error>;
    fn record_unseal(&mut self, unseal: &Unseal) -> Result<(), Error>;
    fn push_smds_ops(&mut self, ops: &[SmdsOp]) -> Result<(), Error>;
    fn count_by_state(&mut self, operator: OperatorId) -> Result<Vec<(ProfileState, u64)>, Error>;
    fn cancel_session_policy(&mut self, operator: OperatorId) -> Result<CancelSessionPolicy, Error>;
    fn default_smds_address(&mut self, operator: OperatorId) -> Result<Option<String>, Error>;
}

forward_trait! {
    Store: OutboxStore {}
    fn claim_outbox(&self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<OutboxEntry>, Error>;
    fn outbox_delivered(&self, operator: OperatorId, id: i64, now_ms: i64) -> Result<(), Error>;
    fn outbox_skip(&self, operator: OperatorId, ids: &[i64], now_ms: i64) -> Result<(), Error>;
    fn outbox_failed(&self, operator: OperatorId, id: i64, error: &str, next_try_ms: Option<i64>, now_ms: i64) -> Result<(), Error>;
    fn outbox_release(&self, operator: OperatorId, ids: &[i64]) -> Result<(), Error>;
}

forward_trait! {
    Store: SmdsQueue {}
    fn claim_smds_ops(&self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<SmdsOpEntry>, Error>;
    fn smds_op_done(&self, id: i64, now_ms: i64) -> Result<(), Error>;
    fn smds_op_failed(&self, id: i64, error: &str, next_try_ms: Option<i64>, now_ms: i64) -> Result<(), Error>;
    fn purge_smds_ops(&self, before: i64, limit: u32) -> Result<u64, Error>;
    fn smds_ops_of(&self, operator: OperatorId, limit: u32) -> Result<Vec<SmdsOpRow>, Error>;
    fn requeue_smds_op(&self, operator: OperatorId, id: i64, now_ms: i64) -> Result<bool, Error>;
}

forward_trait! {
    Store: OutboxAdmin {}
    fn set_callback_url(&self, operator_id: i64, url: Option<&str>, now: i64) -> Result<(), StoreError>;
    fn callback_url(&self, operator_id: i64) -> Result<Option<String>, StoreError>;
    fn delete_events_before(&self, before: i64, limit: u32) -> Result<u64, StoreError>;
    fn outbox_rows(&self, operator_id: i64, limit: u32) -> Result<Vec<OutboxRow>, StoreError>;
}

forward_trait! {
    Store: OperatorAdmin {}
    fn set_cancel_session_policy(&self, operator_id: i64, policy: Option<&CancelSessionPolicy>) -> Result<(), StoreError>;
    fn cancel_session_policy(&self, operator_id: i64) -> Result<CancelSessionPolicy, StoreError>;
    fn set_default_smds_address(&self, operator_id: i64, address: Option<&str>) -> Result<(), StoreError>;
    fn default_smds_address(&self, operator_id: i64) -> Result<Option<String>, StoreError>;
    fn set_callback_settings(&self, operator_id: i64, settings: &CallbackSettings, now: i64) -> Result<(), StoreError>;
    fn callback_settings(&self, operator_id: i64) -> Result<Option<CallbackSettings>, StoreError>;
    fn failed_events(&self, operator_id: i64, limit: u32) -> Result<Vec<OutboxRow>, StoreError>;
    fn redeliver_events(&self, operator_id: i64, id: Option<i64>, now_ms: i64) -> Result<u64, StoreError>;
}

forward_trait! {
    Store: Inventory {}
    fn search(&self, f: &ProfileFilter) -> Result<SearchPage, Error>;
    fn history(&self, operator: OperatorId, iccid: &Iccid, after: Option<i64>, limit: u32) -> Result<Vec<HistoryEntry>, Error>;
    fn activity(&self, operator: OperatorId, since: UnixTime, until: UnixTime) -> Result<Activity, Error>;
}

forward_trait! {
    Store: AuditLog { type Error = StoreError; }
    fn append(&self, draft: Draft) -> Result<Entry, StoreError>;
    fn entries(&self, q: &Query) -> Result<Vec<Entry>, StoreError>;
}

forward_trait! {
    Store: AccessStore { type Error = StoreError; }
    fn create_user(&self, u: &NewUser) -> Result<Option<User>, StoreError>;
    fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError>;
    fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError>;
    fn users(&self, tenant: Option<i64>) -> Result<Vec<User>, StoreError>;
    fn set_throttle(&self, user_id: i64, t: Throttle) -> Result<(), StoreError>;
    fn set_password(&self, user_id: i64, password_phc: &str) -> Result<(), StoreError>;
    fn set_totp_last_step(&self, user_id: i64, step: i64) -> Result<(), StoreError>;
    fn set_totp(&self, user_id: i64, totp_sealed: &[u8], last_step: i64) -> Result<(), StoreError>;
    fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError>;
    fn session(&self, hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    fn touch_session(&self, hash: &str, now: i64) -> Result<(), StoreError>;
    fn delete_session(&self, hash: &str) -> Result<(), StoreError>;
    fn delete_sessions_of(&self, user_id: i64) -> Result<u64, StoreError>;
    fn create_token(&self, t: &NewToken) -> Result<TokenRecord, StoreError>;
    fn live_token(&self, hash: &str, now: i64) -> Result<Option<TokenRecord>, StoreError>;
    fn revoke_token(&self, id: i64, at: i64) -> Result<bool, StoreError>;
    fn tokens(&self, tenant: Option<i64>) -> Result<Vec<TokenRecord>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_a_postgres_url_or_a_sqlite_path() {
        let pg: DatabaseLocation = "postgres://u:secret@db:5432/simforge?sslmode=verify-full"
            .parse()
            .unwrap();
        assert!(matches!(&pg, DatabaseLocation::Postgres(u) if u.contains("secret")));
        assert_eq!(
            pg.to_string(),
            "postgres://u:***@db:5432/simforge?sslmode=verify-full"
        );
        assert!(!format!("{pg:?}").contains("secret"));
        let q: DatabaseLocation = "postgres://u@db/x?sslmode=require&password=secret"
            .parse()
            .unwrap();
        assert_eq!(
            q.to_string(),
            "postgres://u@db/x?sslmode=require&password=***"
        );
        assert!(matches!(
            "postgresql://db/x".parse::<DatabaseLocation>().unwrap(),
            DatabaseLocation::Postgres(_)
        ));
        for (text, path) in [
            ("data/simforge.sqlite", "data/simforge.sqlite"),
            ("sqlite:/var/lib/simforge/db", "/var/lib/simforge/db"),
            ("sqlite:///var/lib/simforge/db", "/var/lib/simforge/db"),
        ] {
            assert_eq!(
                text.parse::<DatabaseLocation>().unwrap(),
                DatabaseLocation::Sqlite(PathBuf::from(path))
            );
        }
        for bad in ["", "  ", "mysql://u:pw@h/x", "sqlite:"] {
            let e = bad.parse::<DatabaseLocation>().unwrap_err();
            assert!(!e.to_string().contains("pw@"), "{e}");
        }
    }
}
