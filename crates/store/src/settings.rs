//! Operator settings of the SM-DP+ on either database ([`crate::Store`], [`crate::PgStore`]):
//! the CancelSession policy, the ES2+ callback settings (client identity, CA bundle, retry
//! horizon) and the redelivery of given-up callback events.

use std::fmt;
use std::future::Future;

use simforge_smdp::CancelSessionPolicy;
use sqlx::Row;

use crate::rsp::OutboxRow;
use crate::{PgStore, SqliteStore, StoreError};

/// How the SM-DP+ reaches one operator's ES2+ endpoint (HandleDownloadProgressInfo).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CallbackSettings {
    /// The endpoint (URL).
    pub url: String,
    /// The TLS client certificate chain (PEM) the SM-DP+ presents (ES2+ is mutually
    /// authenticated: the SM-DP+ authenticates to the operator too).
    pub client_cert_pem: Option<String>,
    /// Its private key, sealed by the vault ([`callback_key_context`]). Never shown.
    pub client_key_sealed: Option<Vec<u8>>,
    /// Present the SM-DP+'s own TLS identity (DPtls) instead of a certificate of its own.
    pub use_server_identity: bool,
    /// Trust anchors (PEM) for the endpoint, besides the web PKI (operators' BSS endpoints
    /// usually sit under a private CA).
    pub ca_bundle_pem: Option<String>,
    /// How long an event is retried before it is given up, in hours (`None`: the server's
    /// default, a number of attempts).
    pub retry_hours: Option<u32>,
}

impl fmt::Debug for CallbackSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackSettings")
            .field("url", &self.url)
            .field("client_cert", &self.client_cert_pem.is_some())
            .field(
                "client_key_sealed",
                &self.client_key_sealed.as_ref().map(|_| "<redacted>"),
            )
            .field("use_server_identity", &self.use_server_identity)
            .field("ca_bundle", &self.ca_bundle_pem.is_some())
            .field("retry_hours", &self.retry_hours)
            .finish()
    }
}

/// The vault context the callback client key of `operator_id` is sealed for.
#[must_use]
pub fn callback_key_context(operator_id: i64) -> String {
    format!("callback-client-key:{operator_id}")
}

/// Operator settings of the SM-DP+ and the callback outbox's redelivery.
pub trait OperatorAdmin: Send + Sync {
    /// Sets (`None`: back to the default) what ES9+.CancelSession does to the operator's
    /// profiles; it applies to the next cancellation.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown operator (SQLite), a database error.
    fn set_cancel_session_policy(
        &self,
        operator_id: i64,
        policy: Option<&CancelSessionPolicy>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The operator's CancelSession policy.
    ///
    /// # Errors
    /// A database error, or a stored policy that does not parse.
    fn cancel_session_policy(
        &self,
        operator_id: i64,
    ) -> impl Future<Output = Result<CancelSessionPolicy, StoreError>> + Send;
    /// Sets (`None`: none) the SM-DS at which the operator's orders register their events
    /// when ES2+.ConfirmOrder names none but the order has an EID.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown operator (SQLite), a database error.
    fn set_default_smds_address(
        &self,
        operator_id: i64,
        address: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The operator's default SM-DS address.
    ///
    /// # Errors
    /// A database error.
    fn default_smds_address(
        &self,
        operator_id: i64,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Sets the operator's callback endpoint and its settings (replacing all of them).
    ///
    /// # Errors
    /// A database error.
    fn set_callback_settings(
        &self,
        operator_id: i64,
        settings: &CallbackSettings,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The operator's callback endpoint and settings, if it has one.
    ///
    /// # Errors
    /// A database error.
    fn callback_settings(
        &self,
        operator_id: i64,
    ) -> impl Future<Output = Result<Option<CallbackSettings>, StoreError>> + Send;
    /// The operator's given-up events, newest first (at most `limit`).
    ///
    /// # Errors
    /// A database error.
    fn failed_events(
        &self,
        operator_id: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, StoreError>> + Send;
    /// Puts given-up events of the operator (one by id, or all) back in the queue, due at
    /// `now_ms` with a fresh count of attempts; how many. An event that is not given up (or
    /// is another operator's) is not touched.
    ///
    /// # Errors
    /// A database error.
    fn redeliver_events(
        &self,
        operator_id: i64,
        id: Option<i64>,
        now_ms: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

fn parse_policy(text: Option<String>) -> Result<CancelSessionPolicy, StoreError> {
    text.map_or(Ok(CancelSessionPolicy::default()), |t| {
        t.parse()
            .map_err(|e| StoreError::Config(format!("stored {e}")))
    })
}

fn retry_hours(v: Option<i64>) -> Option<u32> {
    v.and_then(|h| u32::try_from(h).ok())
}

impl OperatorAdmin for SqliteStore {
    async fn set_default_smds_address(
        &self,
        operator_id: i64,
        address: Option<&str>,
    ) -> Result<(), StoreError> {
        let r = sqlx::query("UPDATE operators SET default_smds_address = ? WHERE id = ?")
            .bind(address)
            .bind(operator_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("operator id {operator_id}")));
        }
        Ok(())
    }

    async fn default_smds_address(&self, operator_id: i64) -> Result<Option<String>, StoreError> {
        let text: Option<Option<String>> =
            sqlx::query_scalar("SELECT default_smds_address FROM operators WHERE id = ?")
                .bind(operator_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(text.flatten())
    }

    async fn set_cancel_session_policy(
        &self,
        operator_id: i64,
        policy: Option<&CancelSessionPolicy>,
    ) -> Result<(), StoreError> {
        let r = sqlx::query("UPDATE operators SET cancel_session_policy = ? WHERE id = ?")
            .bind(policy.map(ToString::to_string))
            .bind(operator_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("operator id {operator_id}")));
        }
        Ok(())
    }

    async fn cancel_session_policy(
        &self,
        operator_id: i64,
    ) -> Result<CancelSessionPolicy, StoreError> {
        let text: Option<Option<String>> =
            sqlx::query_scalar("SELECT cancel_session_policy FROM operators WHERE id = ?")
                .bind(operator_id)
                .fetch_optional(&self.pool)
                .await?;
        parse_policy(text.flatten())
    }

    async fn set_callback_settings(
        &self,
        operator_id: i64,
        s: &CallbackSettings,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO operator_callbacks (operator_id, url, updated_at, client_cert_pem,
                 client_key_sealed, use_server_identity, ca_bundle_pem, retry_hours)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (operator_id) DO UPDATE SET url = excluded.url,
                 updated_at = excluded.updated_at, client_cert_pem = excluded.client_cert_pem,
                 client_key_sealed = excluded.client_key_sealed,
                 use_server_identity = excluded.use_server_identity,
                 ca_bundle_pem = excluded.ca_bundle_pem, retry_hours = excluded.retry_hours",
        )
        .bind(operator_id)
        .bind(&s.url)
        .bind(now)
        .bind(&s.client_cert_pem)
        .bind(&s.client_key_sealed)
        .bind(s.use_server_identity)
        .bind(&s.ca_bundle_pem)
        .bind(s.retry_hours.map(i64::from))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn callback_settings(
        &self,
        operator_id: i64,
    ) -> Result<Option<CallbackSettings>, StoreError> {
        let row = sqlx::query(
            "SELECT url, client_cert_pem, client_key_sealed, use_server_identity, ca_bundle_pem,
                 retry_hours FROM operator_callbacks WHERE operator_id = ?",
        )
        .bind(operator_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(CallbackSettings {
                url: r.try_get("url")?,
                client_cert_pem: r.try_get("client_cert_pem")?,
                client_key_sealed: r.try_get("client_key_sealed")?,
                use_server_identity: r.try_get("use_server_identity")?,
                ca_bundle_pem: r.try_get("ca_bundle_pem")?,
                retry_hours: retry_hours(r.try_get("retry_hours")?),
            })
        })
        .transpose()
    }

    async fn failed_events(
        &self,
        operator_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, created_at, attempts, delivered_at, failed_at, next_try_ms, last_error
             FROM rsp_events WHERE operator_id = ? AND failed_at IS NOT NULL
             AND delivered_at IS NULL ORDER BY id DESC LIMIT ?",
        )
        .bind(operator_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(OutboxRow::from_sqlite).collect()
    }

    async fn redeliver_events(
        &self,
        operator_id: i64,
        id: Option<i64>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE rsp_events SET failed_at = NULL, attempts = 0, next_try_ms = ?, last_error = NULL
             WHERE operator_id = ? AND failed_at IS NOT NULL AND delivered_at IS NULL
             AND (? IS NULL OR id = ?)",
        )
        .bind(now_ms)
        .bind(operator_id)
        .bind(id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }
}

impl OperatorAdmin for PgStore {
    async fn set_default_smds_address(
        &self,
        operator_id: i64,
        address: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO operator_settings (operator_id, default_smds_address) VALUES ($1, $2)
             ON CONFLICT (operator_id) DO UPDATE SET default_smds_address = excluded.default_smds_address",
        )
        .bind(operator_id)
        .bind(address)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn default_smds_address(&self, operator_id: i64) -> Result<Option<String>, StoreError> {
        let text: Option<Option<String>> = sqlx::query_scalar(
            "SELECT default_smds_address FROM operator_settings WHERE operator_id = $1",
        )
        .bind(operator_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(text.flatten())
    }

    async fn set_cancel_session_policy(
        &self,
        operator_id: i64,
        policy: Option<&CancelSessionPolicy>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO operator_settings (operator_id, cancel_session_policy) VALUES ($1, $2)
             ON CONFLICT (operator_id) DO UPDATE SET cancel_session_policy = excluded.cancel_session_policy",
        )
        .bind(operator_id)
        .bind(policy.map(ToString::to_string))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cancel_session_policy(
        &self,
        operator_id: i64,
    ) -> Result<CancelSessionPolicy, StoreError> {
        let text: Option<Option<String>> = sqlx::query_scalar(
            "SELECT cancel_session_policy FROM operator_settings WHERE operator_id = $1",
        )
        .bind(operator_id)
        .fetch_optional(&self.pool)
        .await?;
        parse_policy(text.flatten())
    }

    async fn set_callback_settings(
        &self,
        operator_id: i64,
        s: &CallbackSettings,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO operator_callbacks (operator_id, url, updated_at, client_cert_pem,
                 client_key_sealed, use_server_identity, ca_bundle_pem, retry_hours)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (operator_id) DO UPDATE SET url = excluded.url,
                 updated_at = excluded.updated_at, client_cert_pem = excluded.client_cert_pem,
                 client_key_sealed = excluded.client_key_sealed,
                 use_server_identity = excluded.use_server_identity,
                 ca_bundle_pem = excluded.ca_bundle_pem, retry_hours = excluded.retry_hours",
        )
        .bind(operator_id)
        .bind(&s.url)
        .bind(now)
        .bind(&s.client_cert_pem)
        .bind(&s.client_key_sealed)
        .bind(s.use_server_identity)
        .bind(&s.ca_bundle_pem)
        .bind(s.retry_hours.map(|h| i32::try_from(h).unwrap_or(i32::MAX)))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn callback_settings(
        &self,
        operator_id: i64,
    ) -> Result<Option<CallbackSettings>, StoreError> {
        let row = sqlx::query(
            "SELECT url, client_cert_pem, client_key_sealed, use_server_identity, ca_bundle_pem,
                 retry_hours FROM operator_callbacks WHERE operator_id = $1",
        )
        .bind(operator_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let hours: Option<i32> = r.try_get("retry_hours")?;
            Ok(CallbackSettings {
                url: r.try_get("url")?,
                client_cert_pem: r.try_get("client_cert_pem")?,
                client_key_sealed: r.try_get("client_key_sealed")?,
                use_server_identity: r.try_get("use_server_identity")?,
                ca_bundle_pem: r.try_get("ca_bundle_pem")?,
                retry_hours: retry_hours(hours.map(i64::from)),
            })
        })
        .transpose()
    }

    async fn failed_events(
        &self,
        operator_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, created_at, attempts, delivered_at, failed_at, next_try_ms, last_error
             FROM rsp_events WHERE operator_id = $1 AND failed_at IS NOT NULL
             AND delivered_at IS NULL ORDER BY id DESC LIMIT $2",
        )
        .bind(operator_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(OutboxRow::from_pg).collect()
    }

    async fn redeliver_events(
        &self,
        operator_id: i64,
        id: Option<i64>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE rsp_events SET failed_at = NULL, attempts = 0, next_try_ms = $1, last_error = NULL
             WHERE operator_id = $2 AND failed_at IS NOT NULL AND delivered_at IS NULL
             AND ($3::BIGINT IS NULL OR id = $3)",
        )
        .bind(now_ms)
        .bind(operator_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }
}
