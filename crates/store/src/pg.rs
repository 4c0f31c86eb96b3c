//! The SM-DP+ state on PostgreSQL: [`PgStore`], a second implementation of
//! [`SmdpStore`] beside the SQLite [`Store`](crate::Store), for several SM-DP+ instances
//! sharing one database.
//!
//! How it keeps the trait's promises:
//! - **One transaction per call.** Each [`PgTx`] is one PostgreSQL transaction (`READ
//!   COMMITTED`); dropping it without a commit rolls back.
//! - **No profile handed out twice.** Every profile a transaction loads is locked
//!   (`SELECT … FOR UPDATE`) until it ends. A concurrent call on the same profile waits, then
//!   sees the committed state. [`SmdpTx::available_profile`] skips rows another
//!   transaction holds (`FOR UPDATE SKIP LOCKED`), so concurrent allocations take different
//!   profiles instead of queueing on one. [`SmdpTx::put_profile`] still checks the version
//!   loaded.
//! - **Sessions.** Sessions are rows here, the `Initiated` ones included. Unlike the SQLite
//!   store, which keeps those in one process's memory, any instance can serve any call of a
//!   download: no sticky routing.
//! - **Durability.** [`SmdpTx::commit`] returns once PostgreSQL has flushed the commit
//!   (`synchronous_commit` as the server is configured, `on` by default).
//!   [`SmdpTx::commit_deferred`] commits with `synchronous_commit = off` for that transaction
//!   alone: visible at once, durable within the WAL writer's delay (3 × `wal_writer_delay`
//!   at most).
//! - **Lock order.** Calls lock a session before its profile, as the SM-DP+ loads them. A
//!   deadlock PostgreSQL still detects fails that call with [`Error::Storage`].
//!
//! Not here yet: operators, credentials and the outbox's delivery side. The SQLite store owns
//! those, so `serve` runs on SQLite.

use simforge_asn1::{Eid, TransactionId};
use simforge_smdp::{
    Error, Event, OperatorId, ProfileRecord, ProfileState, SealedPackage, Session, SmdpStore,
    SmdpTx, UnixTime,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};

use crate::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-pg");

fn db(e: sqlx::Error) -> Error {
    Error::Storage(format!("database: {e}"))
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Storage(format!("stored record: {e}"))
}

/// Whether `e` is PostgreSQL's unique_violation (SQLSTATE 23505).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

/// The SM-DP+ state in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, libpq-style
    /// parameters such as `sslmode=verify-full` included) with up to `max_connections`
    /// connections, and brings the schema up to date.
    ///
    /// # Errors
    /// [`StoreError::Config`] for a malformed URL, [`StoreError::Db`] if the server cannot be
    /// reached, [`StoreError::Migrate`] if the schema cannot be brought up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Config(format!("PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool (for administration and tests).
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// One transaction of the SM-DP+ on PostgreSQL.
pub struct PgTx {
    tx: Transaction<'static, Postgres>,
    /// The packages of the profiles loaded in this transaction, by ICCID: `put_profile`
    /// rewrites a package only when it changed.
    packages: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for PgTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTx").finish_non_exhaustive()
    }
}

impl SmdpStore for PgStore {
    type Tx = PgTx;

    async fn begin(&self) -> Result<PgTx, Error> {
        let tx = self.pool.begin().await.map_err(db)?;
        Ok(PgTx {
            tx,
            packages: Vec::new(),
        })
    }
}

/// The columns [`PgTx::one_profile`] reads, and the tables they come from.
const COLS: &str = "p.record, k.package, p.version";
const PROFILES: &str = "rsp_profiles p JOIN rsp_packages k ON k.iccid = p.iccid";

/// The profile's JSON record, without the package (a table of its own).
fn profile_json(p: &ProfileRecord) -> Result<String, Error> {
    let mut light = p.clone();
    light.package = SealedPackage(Vec::new());
    serde_json::to_string(&light).map_err(json_err)
}

impl PgTx {
    /// The one profile `query` selects (locked until the transaction ends), if any.
    async fn one_profile(
        &mut self,
        query: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Option<ProfileRecord>, Error> {
        let Some(row) = query.fetch_optional(&mut *self.tx).await.map_err(db)? else {
            return Ok(None);
        };
        let record: String = row.try_get(0).map_err(db)?;
        let package: Vec<u8> = row.try_get(1).map_err(db)?;
        let version: i64 = row.try_get(2).map_err(db)?;
        let mut p: ProfileRecord = serde_json::from_str(&record).map_err(json_err)?;
        p.version = version;
        match self.packages.iter_mut().find(|(i, _)| *i == p.iccid) {
            Some(slot) => slot.1.clone_from(&package),
            None => self.packages.push((p.iccid.clone(), package.clone())),
        }
        p.package = SealedPackage(package);
        Ok(Some(p))
    }
}

impl SmdpTx for PgTx {
    async fn session(&mut self, tid: &TransactionId) -> Result<Option<Session>, Error> {
        let record: Option<String> = sqlx::query_scalar(
            "SELECT record FROM rsp_sessions WHERE transaction_id = $1 FOR UPDATE",
        )
        .bind(tid.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db)?;
        record
            .map(|s| serde_json::from_str(&s).map_err(json_err))
            .transpose()
    }

    async fn put_session(&mut self, s: &Session) -> Result<(), Error> {
        let record = serde_json::to_string(s).map_err(json_err)?;
        sqlx::query(
            "INSERT INTO rsp_sessions (transaction_id, operator_id, expires_at, record)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (transaction_id) DO UPDATE SET operator_id = excluded.operator_id,
             expires_at = excluded.expires_at, record = excluded.record",
        )
        .bind(s.transaction_id.to_string())
        .bind(s.operator_id)
        .bind(s.expires_at)
        .bind(record)
        .execute(&mut *self.tx)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn delete_session(&mut self, tid: &TransactionId) -> Result<(), Error> {
        sqlx::query("DELETE FROM rsp_sessions WHERE transaction_id = $1")
            .bind(tid.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn delete_expired_sessions(
        &mut self,
        before: UnixTime,
        limit: usize,
    ) -> Result<usize, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // SKIP LOCKED: a session a live call holds is left for a later purge.
        let r = sqlx::query(
            "DELETE FROM rsp_sessions WHERE transaction_id IN
                 (SELECT transaction_id FROM rsp_sessions WHERE expires_at < $1
                  ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(before)
        .bind(limit)
        .execute(&mut *self.tx)
        .await
        .map_err(db)?;
        Ok(usize::try_from(r.rows_affected()).unwrap_or(usize::MAX))
    }

    async fn profile(
        &mut self,
        operator: OperatorId,
        iccid: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        let sql = format!(
            "SELECT {COLS} FROM {PROFILES} WHERE p.operator_id = $1 AND p.iccid = $2 FOR UPDATE OF p"
        );
        self.one_profile(sqlx::query(&sql).bind(operator).bind(iccid))
            .await
    }

    async fn profile_any_operator(&mut self, iccid: &str) -> Result<Option<ProfileRecord>, Error> {
        let sql = format!("SELECT {COLS} FROM {PROFILES} WHERE p.iccid = $1 FOR UPDATE OF p");
        self.one_profile(sqlx::query(&sql).bind(iccid)).await
    }

    async fn profile_by_matching_id(
        &mut self,
        matching_id: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        let sql = format!("SELECT {COLS} FROM {PROFILES} WHERE p.matching_id = $1 FOR UPDATE OF p");
        self.one_profile(sqlx::query(&sql).bind(matching_id)).await
    }

    async fn pending_profile_for_eid(&mut self, eid: &Eid) -> Result<Option<ProfileRecord>, Error> {
        let sql = format!(
            "SELECT {COLS} FROM {PROFILES} WHERE p.eid = $1 AND p.state IN ('released', 'downloaded')
             ORDER BY p.updated_at LIMIT 1 FOR UPDATE OF p"
        );
        self.one_profile(sqlx::query(&sql).bind(eid.as_str())).await
    }

    async fn available_profile(
        &mut self,
        operator: OperatorId,
        profile_type: &str,
    ) -> Result<Option<ProfileRecord>, Error> {
        let sql = format!(
            "SELECT {COLS} FROM {PROFILES}
             WHERE p.operator_id = $1 AND p.profile_type = $2 AND p.state = 'available'
             ORDER BY p.iccid LIMIT 1 FOR UPDATE OF p SKIP LOCKED"
        );
        self.one_profile(sqlx::query(&sql).bind(operator).bind(profile_type))
            .await
    }

    async fn insert_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        let r = sqlx::query(
            "INSERT INTO rsp_profiles
                 (iccid, operator_id, profile_type, state, eid, matching_id, version, updated_at, record)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (iccid) DO NOTHING",
        )
        .bind(&p.iccid)
        .bind(p.operator_id)
        .bind(&p.profile_type)
        .bind(p.state.as_str())
        .bind(p.eid.as_ref().map(Eid::as_str))
        .bind(p.matching_id.as_ref().map(|m| m.as_str()))
        .bind(p.version)
        .bind(p.updated_at)
        .bind(profile_json(p)?)
        .execute(&mut *self.tx)
        .await;
        match r {
            Ok(r) if r.rows_affected() == 0 => return Err(Error::IccidInUse),
            Ok(_) => {}
            // The matchingId's uniqueness: the ICCID is new, its order's matchingId is not.
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Storage(format!("profile {}: {e}", p.iccid)));
            }
            Err(e) => return Err(db(e)),
        }
        sqlx::query("INSERT INTO rsp_packages (iccid, package) VALUES ($1, $2)")
            .bind(&p.iccid)
            .bind(&p.package.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn put_profile(&mut self, p: &ProfileRecord) -> Result<(), Error> {
        let r = sqlx::query(
            "UPDATE rsp_profiles SET state = $1, eid = $2, matching_id = $3, version = version + 1,
                 updated_at = $4, record = $5
             WHERE iccid = $6 AND operator_id = $7 AND version = $8",
        )
        .bind(p.state.as_str())
        .bind(p.eid.as_ref().map(Eid::as_str))
        .bind(p.matching_id.as_ref().map(|m| m.as_str()))
        .bind(p.updated_at)
        .bind(profile_json(p)?)
        .bind(&p.iccid)
        .bind(p.operator_id)
        .bind(p.version)
        .execute(&mut *self.tx)
        .await
        .map_err(db)?;
        if r.rows_affected() != 1 {
            return Err(Error::Storage(format!(
                "profile {} changed concurrently",
                p.iccid
            )));
        }
        let unchanged = self
            .packages
            .iter()
            .any(|(i, pkg)| *i == p.iccid && *pkg == p.package.0);
        if !unchanged {
            sqlx::query("UPDATE rsp_packages SET package = $1 WHERE iccid = $2")
                .bind(&p.package.0)
                .bind(&p.iccid)
                .execute(&mut *self.tx)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    async fn push_events(&mut self, events: &[Event]) -> Result<(), Error> {
        for e in events {
            let at = match e {
                Event::DownloadProgress { at, .. } | Event::ProfileState { at, .. } => *at,
            };
            sqlx::query(
                "INSERT INTO rsp_events (operator_id, kind, record, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(e.operator_id())
            .bind(e.kind())
            .bind(serde_json::to_string(e).map_err(json_err)?)
            .bind(at)
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    async fn count_by_state(
        &mut self,
        operator: OperatorId,
    ) -> Result<Vec<(ProfileState, u64)>, Error> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM rsp_profiles WHERE operator_id = $1 GROUP BY state",
        )
        .bind(operator)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db)?;
        let mut out: Vec<(ProfileState, u64)> = ProfileState::ALL.iter().map(|s| (*s, 0)).collect();
        for row in rows {
            let state: String = row.try_get(0).map_err(db)?;
            let n: i64 = row.try_get(1).map_err(db)?;
            if let Some(slot) = out.iter_mut().find(|(st, _)| st.as_str() == state) {
                slot.1 = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(out)
    }

    async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await.map_err(db)
    }

    async fn commit_deferred(mut self) -> Result<(), Error> {
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        self.tx.commit().await.map_err(db)
    }
}
