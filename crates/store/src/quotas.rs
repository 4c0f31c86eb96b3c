//! Per-tenant quotas, beside the operators they limit (one set of statements for both databases).

use sqlx::Row;

use crate::sql::Dialect;
use crate::{PgStore, SqliteStore, StoreError};

/// A tenant's quotas; `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quotas {
    /// Operator API requests per second.
    pub api_rps: Option<u32>,
    /// Cards in batches ordered over any 24 hours.
    pub batch_cards_per_day: Option<u64>,
    /// Profiles in the eSIM inventory.
    pub inventory_max: Option<u64>,
}

fn opt<T: TryFrom<i64>>(v: Option<i64>) -> Option<T> {
    v.and_then(|v| T::try_from(v).ok())
}

/// The quota calls for a store with a `pool`, in dialect `$d`.
macro_rules! quotas_store {
    ($store:ty, $d:expr) => {
        impl $store {
            /// `operator_id`'s quotas (none set: no limits).
            pub async fn quotas(&self, operator_id: i64) -> Result<Quotas, StoreError> {
                let sql = $d.sql(
                    "SELECT api_rps, batch_cards_per_day, inventory_max FROM tenant_quotas WHERE operator_id = ?",
                );
                let row = sqlx::query(&sql)
                    .bind(operator_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    None => Quotas::default(),
                    Some(r) => Quotas {
                        api_rps: opt(r.try_get("api_rps")?),
                        batch_cards_per_day: opt(r.try_get("batch_cards_per_day")?),
                        inventory_max: opt(r.try_get("inventory_max")?),
                    },
                })
            }

            /// Sets `operator_id`'s quotas (all of them: `None` removes a limit).
            pub async fn set_quotas(&self, operator_id: i64, q: &Quotas) -> Result<(), StoreError> {
                let big = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
                let sql = $d.sql(
                    "INSERT INTO tenant_quotas (operator_id, api_rps, batch_cards_per_day, inventory_max)
                     VALUES (?, ?, ?, ?)
                     ON CONFLICT (operator_id) DO UPDATE SET api_rps = excluded.api_rps,
                       batch_cards_per_day = excluded.batch_cards_per_day, inventory_max = excluded.inventory_max",
                );
                sqlx::query(&sql)
                    .bind(operator_id)
                    .bind(q.api_rps.map(i64::from))
                    .bind(big(q.batch_cards_per_day))
                    .bind(big(q.inventory_max))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            /// Cards in `operator_id`'s batches created after `since` (Unix seconds), released ones
            /// excepted, and the creation time of the oldest of them.
            pub async fn cards_since(
                &self,
                operator_id: i64,
                since: i64,
            ) -> Result<(u64, Option<i64>), StoreError> {
                let created = $d.epoch("created_at");
                let sql = format!(
                    "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS n, MIN({created}) AS oldest
                     FROM batches WHERE operator_id = ? AND state != 'released' AND {created} > ?"
                );
                let row = sqlx::query(&$d.sql(&sql))
                    .bind(operator_id)
                    .bind(since)
                    .fetch_one(&self.pool)
                    .await?;
                let n: i64 = row.try_get("n")?;
                Ok((u64::try_from(n).unwrap_or(0), row.try_get("oldest")?))
            }
        }
    };
}

quotas_store!(SqliteStore, Dialect::Sqlite);
quotas_store!(PgStore, Dialect::Postgres);
