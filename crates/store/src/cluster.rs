//! Counters shared by every node of a cluster (one set of statements for both databases):
//! a node bumps one (e.g. [`KEYS_GENERATION`]) to ask every node to act on it; each node
//! polls the value and acts when it changes.

use sqlx::Row;

use crate::sql::Dialect;
use crate::{PgStore, SqliteStore, StoreError};

/// The key generation: bumped to have every node reload its PKI directory and HSM keys.
pub const KEYS_GENERATION: &str = "keys";

/// The counter calls for a store with a `pool`, in dialect `$d`.
macro_rules! cluster_store {
    ($store:ty, $d:expr) => {
        impl $store {
            /// The counter `name` (0 if never bumped).
            pub async fn cluster_counter(&self, name: &str) -> Result<i64, StoreError> {
                let sql = $d.sql("SELECT value FROM cluster_state WHERE name = ?");
                let row = sqlx::query(&sql)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => r.try_get("value")?,
                    None => 0,
                })
            }

            /// Adds one to the counter `name` (atomically, whichever nodes bump it at once);
            /// its new value.
            pub async fn bump_cluster_counter(&self, name: &str) -> Result<i64, StoreError> {
                let sql = $d.sql(
                    "INSERT INTO cluster_state (name, value) VALUES (?, 1)
                     ON CONFLICT (name) DO UPDATE SET value = cluster_state.value + 1
                     RETURNING value",
                );
                let row = sqlx::query(&sql).bind(name).fetch_one(&self.pool).await?;
                Ok(row.try_get("value")?)
            }
        }
    };
}

cluster_store!(SqliteStore, Dialect::Sqlite);
cluster_store!(PgStore, Dialect::Postgres);
