//! The tenant quotas the factory's workflows answer to (set by the platform's administrators,
//! [`simforge_store::Quotas`]): cards ordered per 24 hours.

use simforge_store::Store;

use crate::Result;

/// A quota a request would exceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// Which quota, and by how much.
    pub what: String,
    /// Seconds until the request may fit (`None`: not by waiting).
    pub retry_after: Option<i64>,
}

const DAY: i64 = 86_400;

/// May `operator_id` order a batch of `quantity` cards at `now`? Counts the cards of its
/// batches of the last 24 hours (released ones excepted).
///
/// # Errors
/// A storage failure (outer); the quota exceeded (inner).
pub async fn check_batch(
    store: &Store,
    operator_id: i64,
    quantity: u64,
    now: i64,
) -> Result<std::result::Result<(), Exceeded>> {
    let Some(max) = store.quotas(operator_id).await?.batch_cards_per_day else {
        return Ok(Ok(()));
    };
    let (used, oldest) = store.cards_since(operator_id, now - DAY).await?;
    if used.saturating_add(quantity) <= max {
        return Ok(Ok(()));
    }
    Ok(Err(Exceeded {
        what: format!(
            "batch quota: {used} of {max} cards ordered in the last 24 hours, {quantity} more asked"
        ),
        retry_after: match quantity <= max {
            true => oldest.map(|t| (t + DAY - now).clamp(1, DAY)),
            false => None,
        },
    }))
}
