//! The audit log ([`simforge_audit::AuditLog`]) on either database. An append reads the
//! last entry, chains the new one to it and inserts it in one write transaction: SQLite's
//! `BEGIN IMMEDIATE` (one writer at a time), on PostgreSQL a transaction-scoped advisory
//! lock ([`AUDIT_LOCK`]) taken first. Two concurrent appends therefore never read the same
//! head, and `seq` (the primary key) could not take a fork anyway.

use simforge_audit::{Actor, AuditLog, Draft, Entry, GENESIS, Outcome, Query, Stored, action};
use simforge_smdp::{Unseal, UnsealResult};
use sqlx::Row;

use crate::{PgStore, SqliteStore, StoreError};

/// The advisory lock that serializes audit appends on PostgreSQL.
pub const AUDIT_LOCK: i64 = 0x5346_4155_4449_5431; // "SFAUDIT1"

const COLUMNS: &str =
    "seq, at, actor, tenant, action, target, outcome, source, details, prev_hash, hash";

pub(crate) fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn from_row<R>(r: &R) -> Result<Entry, StoreError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let seq: i64 = r.try_get("seq")?;
    Ok(Entry::try_from(Stored {
        seq: u64::try_from(seq).unwrap_or(0),
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        tenant: r.try_get("tenant")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        outcome: r.try_get("outcome")?,
        source: r.try_get("source")?,
        details: r.try_get("details")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })?)
}

/// The audit entry of a profile package the SM-DP+ unsealed: by `system` (the platform
/// serving an ES9+ download), for the profile's operator, target `profile:<iccid>`, the
/// transactionId and EID in the details (never the package nor any key).
#[must_use]
pub fn unseal_draft(u: &Unseal) -> Draft {
    let mut d = Draft::new(
        u.at,
        Actor::system().as_str(),
        action::PROFILE_UNSEAL,
        format!("profile:{}", u.iccid),
    )
    .tenant(u.operator_id)
    .detail("function", "GetBoundProfilePackage")
    .detail("transactionId", u.transaction_id.to_string());
    if let Some(eid) = &u.eid {
        d = d.detail("eid", eid.as_str());
    }
    d.outcome = match &u.result {
        UnsealResult::Delivered => Outcome::Ok,
        UnsealResult::NotDelivered(code) => Outcome::Failed(code.clone()),
        UnsealResult::UnsealFailed => Outcome::Failed("unseal".into()),
    };
    d
}

/// The last entry's seq and hash, as SQL reads it.
pub(crate) const HEAD_SQL: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

/// The head (last seq and hash) read in the current transaction, and the entry after it.
pub(crate) fn next(head: Option<(i64, String)>, draft: Draft) -> Result<Entry, StoreError> {
    let (seq, prev) = match head {
        None => (0, GENESIS),
        Some((seq, hash)) => (
            u64::try_from(seq).unwrap_or(0),
            simforge_audit::from_hex(&hash).ok_or(simforge_audit::Error::Malformed {
                seq: u64::try_from(seq).unwrap_or(0),
                field: "hash",
            })?,
        ),
    };
    Ok(draft.seal(seq + 1, prev))
}

macro_rules! insert_sql {
    ($($p:literal),*) => {
        concat!("INSERT INTO audit_log (seq, at, actor, tenant, action, target, outcome, source, details, prev_hash, hash) VALUES (", $($p),*, ")")
    };
}

/// The SQLite insert of an entry (`?` placeholders, in [`Stored`]'s field order).
pub(crate) const INSERT_SQLITE: &str = insert_sql!("?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?");
/// The PostgreSQL insert of an entry.
pub(crate) const INSERT_PG: &str = insert_sql!("$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11");

/// `SELECT … WHERE` the query's conditions, with the placeholders `p(n)` gives (every
/// parameter is used: PostgreSQL refuses unused ones).
fn select_sql(q: &Query, p: impl Fn(usize) -> String) -> String {
    let (seq, at, tenant) = (p(1), p(2), p(3));
    let mut sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq > {seq} AND ({at} IS NULL OR at >= {at})
         AND ({tenant} IS NULL OR tenant = {tenant}) ORDER BY seq"
    );
    if let Some(limit) = q.limit {
        sql += &format!(" LIMIT {limit}");
    }
    sql
}

impl AuditLog for SqliteStore {
    type Error = StoreError;

    async fn append(&self, draft: Draft) -> Result<Entry, StoreError> {
        // On a task of its own: a caller that gives up (a client that disconnects) cannot
        // leave the connection inside `BEGIN IMMEDIATE`, holding the write lock.
        let store = self.clone();
        tokio::spawn(async move { store.append_serialized(draft).await })
            .await
            .map_err(|e| StoreError::Config(format!("audit append: {e}")))?
    }

    async fn entries(&self, q: &Query) -> Result<Vec<Entry>, StoreError> {
        // SQLite numbers its placeholders `?N`.
        let sql = select_sql(q, |n| format!("?{n}"));
        let rows = sqlx::query(&sql)
            .bind(seq_i64(q.after_seq))
            .bind(q.since_at)
            .bind(q.tenant)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }
}

impl SqliteStore {
    /// [`AuditLog::append`] in `BEGIN IMMEDIATE`.
    async fn append_serialized(&self, draft: Draft) -> Result<Entry, StoreError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let result = async {
            let head: Option<(i64, String)> =
                sqlx::query_as(HEAD_SQL).fetch_optional(&mut *conn).await?;
            let e = next(head, draft)?;
            let s = Stored::from(&e);
            sqlx::query(INSERT_SQLITE)
                .bind(seq_i64(s.seq))
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
                .execute(&mut *conn)
                .await?;
            Ok::<_, StoreError>(e)
        }
        .await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        sqlx::query(end).execute(&mut *conn).await?;
        result
    }
}

impl AuditLog for PgStore {
    type Error = StoreError;

    async fn append(&self, draft: Draft) -> Result<Entry, StoreError> {
        let mut tx = crate::pg::begin(&self.pool).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK)
            .execute(&mut *tx)
            .await?;
        let head: Option<(i64, String)> = sqlx::query_as(HEAD_SQL).fetch_optional(&mut *tx).await?;
        let e = next(head, draft)?;
        let s = Stored::from(&e);
        sqlx::query(INSERT_PG)
            .bind(seq_i64(s.seq))
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
            .execute(&mut *tx)
            .await?;
        crate::pg::commit(tx).await?;
        Ok(e)
    }

    async fn entries(&self, q: &Query) -> Result<Vec<Entry>, StoreError> {
        let sql = select_sql(q, |n| format!("${n}::BIGINT"));
        let rows = sqlx::query(&sql)
            .bind(seq_i64(q.after_seq))
            .bind(q.since_at)
            .bind(q.tenant)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }
}
