//! The outbox of a [`MemoryStore`]: [`OutboxStore`] as the SQL stores keep it (the same
//! contract, `simforge-store`'s `tests/contract.rs`), and what an operator's administration
//! reads and changes (callback endpoints, retention, the delivery state of each event).

use crate::error::{Error, Result};
use crate::model::{Event, OperatorId};
use crate::outbox::{OutboxEntry, OutboxStore};
use crate::store::{MemData, MemoryStore};

/// One outbox event's delivery state (times in seconds, `next_try_ms` in milliseconds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Outbox id (increasing in recording order).
    pub id: i64,
    /// Delivery attempts.
    pub attempts: u32,
    /// When delivered (or skipped).
    pub delivered_at: Option<i64>,
    /// When given up.
    pub failed_at: Option<i64>,
    /// Next attempt (or lease end).
    pub next_try_ms: i64,
    /// The last delivery error.
    pub last_error: Option<String>,
}

impl Delivery {
    fn pending(&self) -> bool {
        self.delivered_at.is_none() && self.failed_at.is_none()
    }
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

fn not_pending(operator: OperatorId, id: i64) -> Error {
    Error::Storage(format!("outbox event {id} of operator {operator} is not pending").into())
}

impl MemData {
    /// The event `id` of `operator`.
    fn event_mut(&mut self, operator: OperatorId, id: i64) -> Option<&mut Delivery> {
        let events = &self.events;
        self.deliveries
            .iter_mut()
            .zip(events)
            .find(|(d, e)| d.id == id && e.operator_id() == operator)
            .map(|(d, _)| d)
    }
}

impl MemoryStore {
    /// Sets (or with `None` removes) the callback endpoint of an operator.
    pub async fn set_callback_url(&self, operator: OperatorId, url: Option<&str>) {
        let mut d = self.data.lock().await;
        match url {
            Some(u) => d.callback_urls.insert(operator, u.to_owned()),
            None => d.callback_urls.remove(&operator),
        };
    }

    /// The callback endpoint of an operator.
    pub async fn callback_url(&self, operator: OperatorId) -> Option<String> {
        self.data.lock().await.callback_urls.get(&operator).cloned()
    }

    /// Deletes up to `limit` events created before `before` (seconds), oldest first; how
    /// many (only the `limit` oldest are looked at, as the SQL stores do).
    pub async fn delete_events_before(&self, before: i64, limit: usize) -> usize {
        let mut d = self.data.lock().await;
        let doomed: Vec<bool> = d
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| i < limit && event_at(e) < before)
            .collect();
        let mut keep = doomed.iter().map(|x| !x);
        d.events.retain(|_| keep.next().unwrap_or(true));
        let mut keep = doomed.iter().map(|x| !x);
        d.deliveries.retain(|_| keep.next().unwrap_or(true));
        doomed.iter().filter(|x| **x).count()
    }

    /// An operator's events with their delivery state, newest first (at most `limit`).
    pub async fn outbox(&self, operator: OperatorId, limit: usize) -> Vec<(Event, Delivery)> {
        let d = self.data.lock().await;
        d.events
            .iter()
            .zip(&d.deliveries)
            .rev()
            .filter(|(e, _)| e.operator_id() == operator)
            .take(limit)
            .map(|(e, d)| (e.clone(), d.clone()))
            .collect()
    }
}

/// When an event happened (seconds).
fn event_at(e: &Event) -> i64 {
    match e {
        Event::DownloadProgress { at, .. } | Event::ProfileState { at, .. } => *at,
    }
}

impl OutboxStore for MemoryStore {
    async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>> {
        let mut d = self.data.lock().await;
        let d = &mut *d;
        // Each operator's oldest pending event: its queue is due when that one is.
        let mut due = Vec::new();
        for (op, url) in &d.callback_urls {
            let mut queue = d
                .events
                .iter()
                .zip(d.deliveries.iter().enumerate())
                .filter(|(e, (_, del))| e.operator_id() == *op && del.pending());
            let Some((_, (_, head))) = queue.clone().next() else {
                continue;
            };
            if head.next_try_ms > now_ms {
                continue;
            }
            due.extend(queue.by_ref().map(|(e, (i, del))| {
                (
                    i,
                    OutboxEntry {
                        id: del.id,
                        operator_id: *op,
                        event: e.clone(),
                        attempts: del.attempts,
                        endpoint: url.clone(),
                    },
                )
            }));
        }
        due.sort_by_key(|(_, e)| e.id);
        due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        for (i, _) in &due {
            if let Some(del) = d.deliveries.get_mut(*i) {
                del.next_try_ms = now_ms.saturating_add(lease_ms);
            }
        }
        Ok(due.into_iter().map(|(_, e)| e).collect())
    }

    async fn outbox_delivered(&self, operator: OperatorId, id: i64, now_ms: i64) -> Result<()> {
        let mut d = self.data.lock().await;
        match d.event_mut(operator, id) {
            Some(del) if del.delivered_at.is_none() => {
                del.delivered_at = Some(secs(now_ms));
                del.attempts = del.attempts.saturating_add(1);
                del.last_error = None;
                Ok(())
            }
            _ => Err(not_pending(operator, id)),
        }
    }

    async fn outbox_skip(&self, operator: OperatorId, ids: &[i64], now_ms: i64) -> Result<()> {
        let mut d = self.data.lock().await;
        for id in ids {
            if let Some(del) = d.event_mut(operator, *id)
                && del.delivered_at.is_none()
            {
                del.delivered_at = Some(secs(now_ms));
            }
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
    ) -> Result<()> {
        let mut d = self.data.lock().await;
        match d.event_mut(operator, id) {
            Some(del) if del.pending() => {
                del.last_error = Some(error.to_owned());
                del.attempts = del.attempts.saturating_add(1);
                match next_try_ms {
                    Some(next) => del.next_try_ms = next,
                    None => del.failed_at = Some(secs(now_ms)),
                }
                Ok(())
            }
            _ => Err(not_pending(operator, id)),
        }
    }

    async fn outbox_release(&self, operator: OperatorId, ids: &[i64]) -> Result<()> {
        let mut d = self.data.lock().await;
        for id in ids {
            if let Some(del) = d.event_mut(operator, *id)
                && del.pending()
            {
                del.next_try_ms = 0;
            }
        }
        Ok(())
    }
}
