//! The platform on PostgreSQL: [`PgStore`], the second backend of [`crate::Store`] beside
//! SQLite ([`crate::SqliteStore`]), for several nodes sharing one database.
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
//! - **Sessions.** Sessions are rows here, the `Initiated` ones included (as on SQLite), so
//!   any instance can serve any call of a download: no sticky routing. (A single instance may
//!   keep the `Initiated` ones in memory with [`crate::SessionCache`].)
//! - **Durability.** [`SmdpTx::commit`] returns once PostgreSQL has flushed the commit
//!   (`synchronous_commit` as the server is configured, `on` by default).
//!   [`SmdpTx::commit_deferred`] commits with `synchronous_commit = off` for that transaction
//!   alone: visible at once, durable within the WAL writer's delay (3 × `wal_writer_delay`
//!   at most).
//! - **Lock order.** Calls lock a session before its profile, as the SM-DP+ loads them.
//!   ConfirmOrder locks its profile, then whichever profile holds the matchingId it is
//!   given: two crossed ConfirmOrders can deadlock, and PostgreSQL then fails one of them
//!   with [`Error::Storage`] (`deadlock_timeout`, 1 s by default). A matchingId taken by a
//!   concurrent transaction that committed first is [`Error::MatchingIdConflict`], as the
//!   SM-DP+ would have found it.
//!
//! - **The outbox** ([`OutboxStore`], [`OutboxAdmin`]): a claim takes a transaction-scoped
//!   advisory lock first, so that the delivery workers of several instances never claim the
//!   same events; an operator's queue waits while any of its events is leased or waiting for
//!   a retry (ids are not in commit order across concurrent transactions: see `CLAIM_SQL`).
//!
//! - **The platform's records** (operators, keys, batches, credentials, quotas: `platform`,
//!   `credentials`, `quotas`) share their statements with SQLite; [`crate::Store`] holds this
//!   store or the SQLite one.
//! - **Cancelled callers.** sqlx 0.8.6 leaves a pooled connection inside a transaction when
//!   the future running `BEGIN` is dropped at the wrong moment (the `BEGIN` is queued, the
//!   transaction not yet counted: nothing rolls it back, and the next user of the connection
//!   runs in that transaction). A client that disconnects mid-request drops its handler's
//!   future, so every transaction here begins, and commits, on a task of its own
//!   ([`begin`], [`commit`]): a cancelled caller cannot interrupt them, and a transaction it
//!   drops afterwards is rolled back by sqlx (tested by cancelling begins and commits at
//!   random points, a test that fails without the task). Range reservations and audit
//!   appends run whole on a task of their own too.
//! - **Schema.** [`PgStore::connect`] refuses a database migrated by a newer simforge
//!   ([`StoreError::SchemaTooNew`]) before it migrates.

use simforge_asn1::{Eid, Iccid, TransactionId};
use simforge_smdp::{
    CancelSessionPolicy, Error, Event, OperatorId, OutboxEntry, OutboxStore, ProfileRecord,
    ProfileState, SealedPackage, Session, SmdpStore, SmdpTx, SmdsOp, UnixTime, Unseal,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};

use crate::rsp::{
    OutboxAdmin, OutboxRow, audit_err, db, json_err, parse_policy, profile_json, secs,
};
use crate::{StoreError, audit, check_schema};

/// Begins a transaction on a task of its own, so that a caller's cancellation cannot
/// interrupt `BEGIN` (see the module documentation); a transaction whose caller is gone is
/// dropped there, and rolled back.
///
/// # Errors
/// The database's, or a task that did not complete (the runtime shutting down).
pub(crate) async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin().await })
        .await
        .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
}

/// Commits `tx` on a task of its own: once asked, the commit completes (or fails) whether or
/// not its caller waits for it.
///
/// # Errors
/// The database's, or a task that did not complete.
pub(crate) async fn commit(tx: Transaction<'static, Postgres>) -> Result<(), sqlx::Error> {
    tokio::spawn(tx.commit())
        .await
        .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
}

/// How long a statement waits for a row lock (PostgreSQL's `lock_timeout`): far longer than
/// any SM-DP+ transaction holds one (milliseconds), short enough that a stuck holder does not
/// hang every call behind it.
const LOCK_TIMEOUT: &str = "10s";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-pg");

/// Whether `e` is PostgreSQL's unique_violation (SQLSTATE 23505).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

/// The SM-DP+ state in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(crate) pool: PgPool,
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
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Config(
                "PostgreSQL URL: expected postgres://user@host:port/database".into(),
            ));
        }
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Config(format!("PostgreSQL URL: {e}")))?;
        // sqlx builds its sslmode=verify-ca verifier on rustls' process-wide provider; several
        // are compiled in (aws-lc-rs, ring), so none is chosen by default and that would
        // panic. Keep one installed earlier, if any.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        // The schema first, on a connection of its own: the migrator waits for other
        // instances' migrations (an advisory lock) as long as they take.
        {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect_with(&options).await?;
            let migrated: bool =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(&mut conn)
                    .await?;
            if migrated {
                check_schema(
                    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
                        .fetch_one(&mut conn)
                        .await?,
                    &MIGRATOR,
                )?;
            }
            MIGRATOR.run(&mut conn).await?;
            conn.close().await?;
        }
        // A call that waits more than LOCK_TIMEOUT for a row another transaction holds fails
        // (Error::Storage) instead of hanging behind a stuck holder.
        let options = options.options([("lock_timeout", LOCK_TIMEOUT)]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
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

    /// Whether the database answers (`SELECT 1`).
    ///
    /// # Errors
    /// A database error.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool's connections.
    pub async fn close(&self) {
        self.pool.close().await;
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
        let tx = begin(&self.pool).await.map_err(db)?;
        Ok(PgTx {
            tx,
            packages: Vec::new(),
        })
    }
}

/// The columns [`PgTx::one_profile`] reads, and the tables they come from.
const COLS: &str = "p.record, k.package, p.version";
const PROFILES: &str = "rsp_profiles p JOIN rsp_packages k ON k.iccid = p.iccid";

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
        match self
            .packages
            .iter_mut()
            .find(|(i, _)| *i == p.iccid.as_str())
        {
            Some(slot) => slot.1.clone_from(&package),
            None => self.packages.push((p.iccid.to_string(), package.clone())),
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
        unbound_before: UnixTime,
        limit: usize,
    ) -> Result<usize, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // SKIP LOCKED: a session a live call holds is left for a later purge. The unbound
        // ones first, then the others: two index ranges (rsp_sessions_unbound_expiry,
        // rsp_sessions_expiry), each read only as far as it has sessions to delete.
        let mut deleted = 0;
        for (sql, expired_before) in [
            (
                "DELETE FROM rsp_sessions WHERE transaction_id IN
                     (SELECT transaction_id FROM rsp_sessions
                      WHERE operator_id IS NULL AND expires_at < $1
                      ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                unbound_before,
            ),
            (
                "DELETE FROM rsp_sessions WHERE transaction_id IN
                     (SELECT transaction_id FROM rsp_sessions WHERE expires_at < $1
                      ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                before,
            ),
        ] {
            let left = limit - deleted;
            if left <= 0 {
                break;
            }
            let r = sqlx::query(sql)
                .bind(expired_before)
                .bind(left)
                .execute(&mut *self.tx)
                .await
                .map_err(db)?;
            deleted += i64::try_from(r.rows_affected()).unwrap_or(i64::MAX);
        }
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    async fn profile(
        &mut self,
        operator: OperatorId,
        iccid: &Iccid,
    ) -> Result<Option<ProfileRecord>, Error> {
        let sql = format!(
            "SELECT {COLS} FROM {PROFILES} WHERE p.operator_id = $1 AND p.iccid = $2 FOR UPDATE OF p"
        );
        self.one_profile(sqlx::query(&sql).bind(operator).bind(iccid.as_str()))
            .await
    }

    async fn profile_any_operator(
        &mut self,
        iccid: &Iccid,
    ) -> Result<Option<ProfileRecord>, Error> {
        let sql = format!("SELECT {COLS} FROM {PROFILES} WHERE p.iccid = $1 FOR UPDATE OF p");
        self.one_profile(sqlx::query(&sql).bind(iccid.as_str()))
            .await
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
             ORDER BY p.updated_at, p.iccid LIMIT 1 FOR UPDATE OF p"
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
        .bind(p.iccid.as_str())
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
                return Err(Error::Storage(format!("profile {}: {e}", p.iccid).into()));
            }
            Err(e) => return Err(db(e)),
        }
        sqlx::query("INSERT INTO rsp_packages (iccid, package) VALUES ($1, $2)")
            .bind(p.iccid.as_str())
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
        .bind(p.iccid.as_str())
        .bind(p.operator_id)
        .bind(p.version)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            // Another transaction, concurrent with this one, gave the same matchingId to
            // another profile and committed first (SQLite's serial writes never get here:
            // the SM-DP+ checked the matchingId was free when it loaded the profile).
            if is_unique_violation(&e) {
                Error::MatchingIdConflict
            } else {
                db(e)
            }
        })?;
        if r.rows_affected() != 1 {
            return Err(Error::Storage(
                format!("profile {} changed concurrently", p.iccid).into(),
            ));
        }
        let unchanged = self
            .packages
            .iter()
            .any(|(i, pkg)| *i == p.iccid.as_str() && *pkg == p.package.0);
        if !unchanged {
            sqlx::query("UPDATE rsp_packages SET package = $1 WHERE iccid = $2")
                .bind(&p.package.0)
                .bind(p.iccid.as_str())
                .execute(&mut *self.tx)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    async fn push_events(&mut self, events: &[Event]) -> Result<(), Error> {
        for e in events {
            sqlx::query(
                "INSERT INTO rsp_events (operator_id, iccid, kind, record, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(e.operator_id())
            .bind(e.iccid().as_str())
            .bind(e.kind())
            .bind(serde_json::to_string(e).map_err(json_err)?)
            .bind(e.at())
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    async fn push_smds_ops(&mut self, ops: &[SmdsOp]) -> Result<(), Error> {
        for o in ops {
            let eid = o.eid.to_string();
            sqlx::query(&crate::sql::pg_sql(crate::rsp::smds_ops::SUPERSEDE_SQL))
                .bind(o.operator_id)
                .bind(&o.smds_address)
                .bind(&eid)
                .bind(o.event_id.as_str())
                .bind(o.at)
                .execute(&mut *self.tx)
                .await
                .map_err(db)?;
            sqlx::query(&crate::sql::pg_sql(crate::rsp::smds_ops::INSERT_SQL))
                .bind(o.operator_id)
                .bind(o.iccid.as_ref().map(|i| i.as_str()))
                .bind(o.kind.as_str())
                .bind(&o.smds_address)
                .bind(&eid)
                .bind(o.event_id.as_str())
                .bind(o.due)
                .bind(o.at)
                .bind(o.due.saturating_mul(1000))
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

    async fn cancel_session_policy(
        &mut self,
        operator: OperatorId,
    ) -> Result<CancelSessionPolicy, Error> {
        let text: Option<Option<String>> = sqlx::query_scalar(
            "SELECT cancel_session_policy FROM operator_settings WHERE operator_id = $1",
        )
        .bind(operator)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db)?;
        parse_policy(text.flatten().as_deref())
    }

    async fn default_smds_address(
        &mut self,
        operator: OperatorId,
    ) -> Result<Option<String>, Error> {
        let text: Option<Option<String>> = sqlx::query_scalar(
            "SELECT default_smds_address FROM operator_settings WHERE operator_id = $1",
        )
        .bind(operator)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db)?;
        Ok(text.flatten())
    }

    async fn record_unseal(&mut self, unseal: &Unseal) -> Result<(), Error> {
        // The audit append of `AuditLog for PgStore`, in this transaction: the advisory lock
        // (held to the commit) orders it with every other append; READ COMMITTED reads the
        // head committed before the lock was granted.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(audit::AUDIT_LOCK)
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        let head: Option<(i64, String)> = sqlx::query_as(audit::HEAD_SQL)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db)?;
        let e = audit::next(head, audit::unseal_draft(unseal)).map_err(audit_err)?;
        let s = simforge_audit::Stored::from(&e);
        sqlx::query(audit::INSERT_PG)
            .bind(audit::seq_i64(s.seq))
            .bind(s.at)
            .bind(s.actor)
            .bind(s.tenant)
            .bind(s.action)
            .bind(s.target)
            .bind(s.outcome)
            .bind(s.source)
            .bind(s.details)
            .bind(s.prev_hash)
            .bind(s.hash)
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn commit(self) -> Result<(), Error> {
        commit(self.tx).await.map_err(db)
    }

    async fn commit_deferred(mut self) -> Result<(), Error> {
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *self.tx)
            .await
            .map_err(db)?;
        commit(self.tx).await.map_err(db)
    }
}

// ---------------------------------------------------------------------------------------------
// Callback endpoints and the outbox
// ---------------------------------------------------------------------------------------------

/// The pending events of every operator none of whose pending events is leased or waiting
/// for a retry (see [`OutboxStore::claim_outbox`]).
///
/// Unlike SQLite, whose writes are serial, PostgreSQL hands out `BIGSERIAL` ids at INSERT
/// time: two concurrent transactions of one operator may commit their events in the other
/// order than their ids. An operator whose oldest pending event is not leased may then still
/// have a leased one (a later id that committed first), so the SQLite store's test, "the
/// head is due", is not enough here: any leased or waiting event holds the operator's queue.
/// Events of one profile (or of one download) come from transactions that lock that profile
/// one after the other, so their ids keep their causal order.
const CLAIM_SQL: &str = "WITH due AS (
        SELECT operator_id FROM rsp_events
        WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY operator_id
        HAVING MAX(next_try_ms) <= $1
    )
    SELECT e.id, e.operator_id, e.record, e.attempts, c.url
    FROM due d
    JOIN operator_callbacks c ON c.operator_id = d.operator_id
    JOIN rsp_events e ON e.operator_id = d.operator_id
    WHERE e.delivered_at IS NULL AND e.failed_at IS NULL
    ORDER BY e.id LIMIT $2";

/// The advisory lock (`pg_advisory_xact_lock`) that serializes outbox claims across instances.
const CLAIM_LOCK: i64 = 0x5349_4d46_4f52_4745; // "SIMFORGE"

impl PgStore {
    async fn due(
        conn: &mut sqlx::PgConnection,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, Error> {
        let rows = sqlx::query(CLAIM_SQL)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                let record: String = r.try_get("record").map_err(db)?;
                let attempts: i32 = r.try_get("attempts").map_err(db)?;
                Ok(OutboxEntry {
                    id: r.try_get("id").map_err(db)?,
                    operator_id: r.try_get("operator_id").map_err(db)?,
                    event: serde_json::from_str(&record).map_err(json_err)?,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                    endpoint: r.try_get("url").map_err(db)?,
                })
            })
            .collect()
    }

    /// Runs an UPDATE of one event of `operator`: `$1…` are `binds`, then the id and the
    /// operator. How many rows it changed.
    async fn event_update(
        &self,
        sql: &str,
        binds: (Option<&str>, Option<i64>),
        operator: OperatorId,
        id: i64,
    ) -> Result<u64, Error> {
        let mut q = sqlx::query(sql);
        if let Some(t) = binds.0 {
            q = q.bind(t);
        }
        if let Some(n) = binds.1 {
            q = q.bind(n);
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

fn not_pending(operator: OperatorId, id: i64) -> Error {
    Error::Storage(format!("outbox event {id} of operator {operator} is not pending").into())
}

impl OutboxStore for PgStore {
    async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, Error> {
        // Look without the lock first: most polls find nothing.
        {
            let mut conn = self.pool.acquire().await.map_err(db)?;
            if Self::due(&mut conn, now_ms, 1).await?.is_empty() {
                return Ok(Vec::new());
            }
        }
        let mut tx = begin(&self.pool).await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CLAIM_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let claimed = Self::due(&mut tx, now_ms, limit).await?;
        let ids: Vec<i64> = claimed.iter().map(|e| e.id).collect();
        sqlx::query(
            "UPDATE rsp_events SET next_try_ms = $1
             WHERE id = ANY($2) AND delivered_at IS NULL AND failed_at IS NULL",
        )
        .bind(now_ms.saturating_add(lease_ms))
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        commit(tx).await.map_err(db)?;
        Ok(claimed)
    }

    async fn outbox_delivered(
        &self,
        operator: OperatorId,
        id: i64,
        now_ms: i64,
    ) -> Result<(), Error> {
        let n = self
            .event_update(
                "UPDATE rsp_events SET delivered_at = $1, attempts = attempts + 1, last_error = NULL
                 WHERE id = $2 AND operator_id = $3 AND delivered_at IS NULL",
                (None, Some(secs(now_ms))),
                operator,
                id,
            )
            .await?;
        if n != 1 {
            return Err(not_pending(operator, id));
        }
        Ok(())
    }

    async fn outbox_skip(
        &self,
        operator: OperatorId,
        ids: &[i64],
        now_ms: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE rsp_events SET delivered_at = $1
             WHERE id = ANY($2) AND operator_id = $3 AND delivered_at IS NULL",
        )
        .bind(secs(now_ms))
        .bind(ids)
        .bind(operator)
        .execute(&self.pool)
        .await
        .map_err(db)?;
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
                self.event_update(
                    "UPDATE rsp_events SET last_error = $1, attempts = attempts + 1, next_try_ms = $2
                     WHERE id = $3 AND operator_id = $4 AND delivered_at IS NULL AND failed_at IS NULL",
                    (Some(error), Some(next)),
                    operator,
                    id,
                )
                .await?
            }
            None => {
                self.event_update(
                    "UPDATE rsp_events SET last_error = $1, attempts = attempts + 1, failed_at = $2
                     WHERE id = $3 AND operator_id = $4 AND delivered_at IS NULL AND failed_at IS NULL",
                    (Some(error), Some(secs(now_ms))),
                    operator,
                    id,
                )
                .await?
            }
        };
        if n != 1 {
            return Err(not_pending(operator, id));
        }
        Ok(())
    }

    async fn outbox_release(&self, operator: OperatorId, ids: &[i64]) -> Result<(), Error> {
        sqlx::query(
            "UPDATE rsp_events SET next_try_ms = 0
             WHERE id = ANY($1) AND operator_id = $2 AND delivered_at IS NULL AND failed_at IS NULL",
        )
        .bind(ids)
        .bind(operator)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }
}

impl OutboxAdmin for PgStore {
    async fn set_callback_url(
        &self,
        operator_id: i64,
        url: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        match url {
            Some(u) => {
                sqlx::query(
                    "INSERT INTO operator_callbacks (operator_id, url, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (operator_id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at",
                )
                .bind(operator_id)
                .bind(u)
                .bind(now)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM operator_callbacks WHERE operator_id = $1")
                    .bind(operator_id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    async fn callback_url(&self, operator_id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT url FROM operator_callbacks WHERE operator_id = $1")
                .bind(operator_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn delete_events_before(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "DELETE FROM rsp_events WHERE id IN
                 (SELECT id FROM (SELECT id, created_at FROM rsp_events ORDER BY id LIMIT $1) oldest
                  WHERE created_at < $2)",
        )
        .bind(i64::from(limit))
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn outbox_rows(
        &self,
        operator_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, created_at, attempts, delivered_at, failed_at, next_try_ms, last_error
             FROM rsp_events WHERE operator_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(operator_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(OutboxRow::from_pg).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use simforge_smdp::SmdpStore as _;
    use simforge_testkit::postgres::Postgres;

    use super::PgStore;

    /// `f`, given up (dropped) unless it completes within `within`: polled between yields,
    /// so that the cancellation point falls anywhere, microseconds apart (the runtime's
    /// timers have a millisecond's granularity).
    async fn cancel_after<F: std::future::Future>(f: F, within: Duration) -> Option<F::Output> {
        use std::task::Poll;
        let deadline = std::time::Instant::now() + within;
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) =
                std::future::poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx))).await
            {
                return Some(v);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::task::yield_now().await;
        }
    }

    /// Whether the (only) pooled connection is outside any transaction: `now()` is the
    /// transaction's start, `statement_timestamp()` this statement's (one simple-protocol
    /// message: the same instant outside a transaction); a transaction begun before the
    /// pause would show an older `now()`.
    async fn idle_outside_a_transaction(store: &PgStore) -> bool {
        use sqlx::Row as _;
        tokio::time::sleep(Duration::from_millis(3)).await;
        sqlx::raw_sql("SELECT now() = statement_timestamp()")
            .fetch_one(&store.pool)
            .await
            .unwrap()
            .get::<bool, _>(0)
    }

    /// The sqlx issue of the module documentation: callers cancelled at every point of
    /// `begin` (and of a commit) never leave the pool's one connection inside a transaction.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_begins_never_leave_a_pooled_connection_in_a_transaction() {
        let Some(pg) =
            Postgres::start("cancelled_begins_never_leave_a_pooled_connection_in_a_transaction")
        else {
            return;
        };
        let store = PgStore::connect(&pg.url(), 1).await.unwrap();
        assert!(idle_outside_a_transaction(&store).await);
        // A fixed xorshift sequence of cancellation points, 0 to 300 µs after the call.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut cancelled = 0;
        for round in 0..500 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let after = Duration::from_micros(x % 300);
            if round % 4 == 3 {
                // A commit cancelled part-way.
                let tx = store.begin().await.unwrap();
                let _ = cancel_after(simforge_smdp::SmdpTx::commit(tx), after).await;
            } else if cancel_after(store.begin(), after).await.is_none() {
                cancelled += 1;
            }
            assert!(
                idle_outside_a_transaction(&store).await,
                "round {round}: the connection is inside a transaction"
            );
        }
        assert!(cancelled > 10, "only {cancelled} begins were cancelled");
    }
}
