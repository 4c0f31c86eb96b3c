//! Callback endpoints and the outbox on SQLite ([`OutboxStore`], [`OutboxAdmin`]).

use std::future::Future;

use simforge_smdp::{Error, OperatorId, OutboxEntry, OutboxStore};
use sqlx::Row;

use super::{db, json_err};
use crate::{SqliteStore, StoreError};

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

impl OutboxAdmin for SqliteStore {
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

impl SqliteStore {
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

impl OutboxStore for SqliteStore {
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
            return Err(Error::Storage(
                format!("outbox event {id} of operator {operator} is not pending").into(),
            ));
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
            return Err(Error::Storage(
                format!("outbox event {id} of operator {operator} is not pending").into(),
            ));
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
