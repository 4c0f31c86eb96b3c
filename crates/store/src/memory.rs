//! [`OutboxAdmin`] on [`simforge_smdp::MemoryStore`], so that the outbox contract
//! (`tests/contract.rs`) runs on it as on the SQL stores.

use simforge_smdp::{Event, MemoryStore};

use crate::StoreError;
use crate::rsp::{OutboxAdmin, OutboxRow};

impl OutboxAdmin for MemoryStore {
    async fn set_callback_url(
        &self,
        operator_id: i64,
        url: Option<&str>,
        _now: i64,
    ) -> Result<(), StoreError> {
        MemoryStore::set_callback_url(self, operator_id, url).await;
        Ok(())
    }

    async fn callback_url(&self, operator_id: i64) -> Result<Option<String>, StoreError> {
        Ok(MemoryStore::callback_url(self, operator_id).await)
    }

    async fn delete_events_before(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let n = MemoryStore::delete_events_before(
            self,
            before,
            usize::try_from(limit).unwrap_or(usize::MAX),
        )
        .await;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    async fn outbox_rows(
        &self,
        operator_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = self
            .outbox(operator_id, usize::try_from(limit).unwrap_or(usize::MAX))
            .await;
        Ok(rows
            .into_iter()
            .map(|(e, d)| OutboxRow {
                id: d.id,
                kind: e.kind().to_owned(),
                created_at: match e {
                    Event::DownloadProgress { at, .. } | Event::ProfileState { at, .. } => at,
                },
                attempts: i64::from(d.attempts),
                delivered_at: d.delivered_at,
                failed_at: d.failed_at,
                next_try_ms: d.next_try_ms,
                last_error: d.last_error,
            })
            .collect())
    }
}
