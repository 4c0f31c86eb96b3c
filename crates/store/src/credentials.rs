//! ES2+ operator credentials: API keys and client certificates, stored as the SHA-256 of the
//! key or of the certificate's DER (never the key itself), per operator, revocable. The server
//! looks them up per request, so a credential added or revoked takes effect on a running
//! SM-DP+ without a restart. One set of statements for both databases.

use sqlx::Row;

use crate::sql::Dialect;
use crate::{PgStore, SqliteStore, StoreError};

/// What a credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// An API key (HTTP header `X-Api-Key`); the hash is of its UTF-8 text.
    ApiKey,
    /// A TLS client certificate; the hash is of its DER.
    ClientCert,
}

impl CredentialKind {
    /// The database spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::ClientCert => "client_cert",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "api_key" => Ok(Self::ApiKey),
            "client_cert" => Ok(Self::ClientCert),
            other => Err(StoreError::NotFound(format!("credential kind {other}"))),
        }
    }
}

/// The row id of a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CredentialId(pub i64);

impl std::fmt::Display for CredentialId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A SHA-256 digest as 64 lowercase hex digits: the only form in which a credential is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// The digest (32 octets) of a key or certificate, as computed by the caller.
    #[must_use]
    pub fn from_digest(digest: [u8; 32]) -> Self {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(64);
        for b in digest {
            let _ = write!(s, "{b:02x}");
        }
        Self(s)
    }

    /// The hex text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored credential.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Credential {
    /// Row id (what `revoke` takes).
    pub id: CredentialId,
    /// The operator's row id.
    pub operator_id: i64,
    /// The operator's name (its functionRequesterIdentifier).
    pub operator: String,
    /// Kind.
    pub kind: CredentialKind,
    /// SHA-256 of the key or certificate.
    pub sha256: Sha256Hex,
    /// A non-secret hint: the key's first characters or the certificate's subject.
    pub label: String,
    /// When added (seconds since the Unix epoch).
    pub created_at: i64,
    /// When revoked, if it is.
    pub revoked_at: Option<i64>,
}

const SELECT: &str =
    "SELECT c.id, c.operator_id, o.name, c.kind, c.sha256, c.label, c.created_at, c.revoked_at
     FROM operator_credentials c JOIN operators o ON o.id = c.operator_id";

/// The credential calls for a store with a `pool`, in dialect `$d`, rows of type `$row`.
macro_rules! credentials_store {
    ($store:ty, $d:expr, $row:ty) => {
        impl $store {
            fn credential_from_row(r: &$row) -> Result<Credential, StoreError> {
                Ok(Credential {
                    id: CredentialId(r.try_get("id")?),
                    operator_id: r.try_get("operator_id")?,
                    operator: r.try_get("name")?,
                    kind: CredentialKind::parse(r.try_get("kind")?)?,
                    sha256: Sha256Hex(r.try_get("sha256")?),
                    label: r.try_get("label")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            }

            /// Registers a credential for an operator.
            ///
            /// # Errors
            /// [`StoreError::Exists`] if the same key or certificate is already active (for any
            /// operator); [`StoreError::Db`].
            pub async fn add_credential(
                &self,
                operator_id: i64,
                kind: CredentialKind,
                sha256: &Sha256Hex,
                label: &str,
                now: i64,
            ) -> Result<CredentialId, StoreError> {
                let sql = $d.sql(
                    "INSERT INTO operator_credentials (operator_id, kind, sha256, label, created_at)
                     VALUES (?, ?, ?, ?, ?) RETURNING id",
                );
                let r = sqlx::query_scalar::<_, i64>(&sql)
                    .bind(operator_id)
                    .bind(kind.as_str())
                    .bind(sha256.as_str())
                    .bind(label)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await;
                match r {
                    Ok(id) => Ok(CredentialId(id)),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Exists(
                        format!("an active {} with this SHA-256", kind.as_str()),
                    )),
                    Err(e) => Err(e.into()),
                }
            }

            /// The active (not revoked) credential with this hash, with its operator.
            ///
            /// # Errors
            /// [`StoreError::Db`].
            pub async fn active_credential(
                &self,
                kind: CredentialKind,
                sha256: &Sha256Hex,
            ) -> Result<Option<Credential>, StoreError> {
                let sql = format!("{SELECT} WHERE c.kind = ? AND c.sha256 = ? AND c.revoked_at IS NULL");
                let row = sqlx::query(&$d.sql(&sql))
                    .bind(kind.as_str())
                    .bind(sha256.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::credential_from_row).transpose()
            }

            /// An operator's credentials, active and revoked, oldest first.
            ///
            /// # Errors
            /// [`StoreError::Db`].
            pub async fn credentials(&self, operator_id: i64) -> Result<Vec<Credential>, StoreError> {
                let sql = format!("{SELECT} WHERE c.operator_id = ? ORDER BY c.id");
                let rows = sqlx::query(&$d.sql(&sql))
                    .bind(operator_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::credential_from_row).collect()
            }

            /// Revokes an operator's active credential.
            ///
            /// # Errors
            /// [`StoreError::NotFound`] if the operator has no active credential with this id.
            pub async fn revoke_credential(
                &self,
                operator_id: i64,
                id: CredentialId,
                now: i64,
            ) -> Result<(), StoreError> {
                let sql = $d.sql(
                    "UPDATE operator_credentials SET revoked_at = ?
                     WHERE id = ? AND operator_id = ? AND revoked_at IS NULL",
                );
                let r = sqlx::query(&sql)
                    .bind(now)
                    .bind(id.0)
                    .bind(operator_id)
                    .execute(&self.pool)
                    .await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound(format!("active credential {id}")));
                }
                Ok(())
            }
        }
    };
}

credentials_store!(SqliteStore, Dialect::Sqlite, sqlx::sqlite::SqliteRow);
credentials_store!(PgStore, Dialect::Postgres, sqlx::postgres::PgRow);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rsp::tests::store;

    #[tokio::test]
    async fn add_look_up_list_revoke() {
        let (_d, store, a, b) = store().await;
        let h = Sha256Hex::from_digest([0xAB; 32]);
        assert_eq!(h.as_str(), "ab".repeat(32));

        let id = store
            .add_credential(a, CredentialKind::ApiKey, &h, "sfk_0123", 10)
            .await
            .unwrap();
        // The same hash is one operator's only, as long as it is active.
        assert!(matches!(
            store
                .add_credential(b, CredentialKind::ApiKey, &h, "", 11)
                .await,
            Err(StoreError::Exists(_))
        ));
        // The same hash as another kind is another credential.
        store
            .add_credential(b, CredentialKind::ClientCert, &h, "CN=b", 11)
            .await
            .unwrap();
        let c = store
            .active_credential(CredentialKind::ApiKey, &h)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((c.id, c.operator_id, c.operator.as_str()), (id, a, "a"));
        let c = store
            .active_credential(CredentialKind::ClientCert, &h)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((c.operator.as_str(), c.label.as_str()), ("b", "CN=b"));

        // Operator b cannot revoke a's credential.
        assert!(matches!(
            store.revoke_credential(b, id, 12).await,
            Err(StoreError::NotFound(_))
        ));
        store.revoke_credential(a, id, 12).await.unwrap();
        assert!(
            store
                .active_credential(CredentialKind::ApiKey, &h)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.revoke_credential(a, id, 13).await.is_err());
        let list = store.credentials(a).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].revoked_at, Some(12));
        // Once revoked, the hash can be registered again.
        store
            .add_credential(b, CredentialKind::ApiKey, &h, "", 14)
            .await
            .unwrap();
    }
}
