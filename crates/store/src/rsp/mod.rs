//! SQLite implementation of the SM-DP+ storage traits ([`simforge_smdp::SmdpStore`],
//! [`simforge_smdp::OutboxStore`]), by concern:
//!
//! - `tx`: the transactions ([`SqliteTx`]). Every transaction starts with `BEGIN IMMEDIATE`:
//!   it holds the write lock from its first read, so a load → decide → save sequence cannot
//!   interleave with another writer and two concurrent downloads can never bind the same
//!   profile. Profiles also carry a version that [`simforge_smdp::SmdpTx::put_profile`]
//!   checks. Every row carries its operator (tenant). The SM-DP+'s transactions run on one
//!   dedicated connection: its statements execute on the calling task (no thread hop per
//!   statement), the transactions of the process queue for it in order. Sealed profile
//!   packages live in `rsp_packages`, apart from the profile rows that change on every call.
//!   Every session is a row of `rsp_sessions`, the `Initiated` ones included, as on
//!   PostgreSQL; the in-memory cache of those is a wrapper above any store
//!   ([`crate::SessionCache`]).
//! - `group_commit`: durability follows [`crate::Synchronous`] (`FULL` by default, kept by
//!   group commit: `GroupSync`).
//! - `outbox`: the events outbox (`rsp_events`) is delivered to the operators' callback
//!   endpoints (`operator_callbacks`, [`OutboxAdmin::set_callback_url`]) through
//!   [`simforge_smdp::OutboxStore`]: claims take the write lock and lease what they return;
//!   every change is scoped to the event's operator.
//!
//! - `smds_ops`: the SM-DS operations queue (`rsp_smds_ops`, [`simforge_smdp::SmdsQueue`]):
//!   pushed in the SM-DP+'s transactions, claimed under the write lock like the outbox.
//!
//! Operator settings ([`crate::OperatorAdmin`]) are in `crate::settings`.

mod group_commit;
mod outbox;
pub(crate) mod smds_ops;
mod tx;

pub(crate) use group_commit::GroupSync;
pub(crate) use outbox::secs;
pub use outbox::{OutboxAdmin, OutboxRow};
pub use tx::SqliteTx;
pub(crate) use tx::profile_json;
#[cfg(test)]
pub(crate) use tx::tests;

use std::path::Path;
use std::time::Duration;

use simforge_smdp::{CancelSessionPolicy, Error};

use crate::StoreError;

pub(crate) fn db(e: sqlx::Error) -> Error {
    let what = crate::sqlx_disk_full(&e).unwrap_or("database");
    Error::Storage(simforge_smdp::error::Cause::with_source(what, e))
}

pub(crate) fn sq(e: rusqlite::Error) -> Error {
    let what = crate::rusqlite_disk_full(&e).unwrap_or("SQLite");
    Error::Storage(simforge_smdp::error::Cause::with_source(what, e))
}

/// A stored CancelSession policy (`None`: the default).
pub(crate) fn parse_policy(text: Option<&str>) -> Result<CancelSessionPolicy, Error> {
    text.map_or(Ok(CancelSessionPolicy::default()), |t| {
        t.parse()
            .map_err(|e| Error::Storage(format!("stored {e}").into()))
    })
}

/// An audit entry that could not be chained (a malformed head).
pub(crate) fn audit_err(e: StoreError) -> Error {
    Error::Storage(simforge_smdp::error::Cause::with_source("audit log", e))
}

pub(crate) fn json_err(e: serde_json::Error) -> Error {
    Error::Storage(simforge_smdp::error::Cause::with_source(
        "record encoding",
        e,
    ))
}

/// How long a transaction waits for the write lock held by another connection (the sqlx
/// pool's administrative work, another process) before it fails.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens the SM-DP+ connection (the schema is already migrated through the pool).
pub(crate) fn open_connection(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open(path)?;
    // WAL is a property of the database file (set by the pool); synchronous and foreign keys
    // are per connection.
    // A checkpoint every 8,000 WAL pages (≈ 32 MiB) rather than SQLite's 1,000: the pages a
    // download changes are a few hot ones (table and index leaves), written back once per
    // checkpoint however often they changed; and a page cache (32 MiB) that holds the profiles
    // and packages of the hot path.
    // `FULL` is kept by `GroupSync` (an fsync of the WAL after the commit, shared by the
    // commits of concurrent transactions) on a connection that commits as `NORMAL`.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 8000; PRAGMA cache_size = -32768;",
    )?;
    // Statements run on the caller's task: never sleep there waiting for a lock
    // (see `SmdpStore::begin`).
    conn.busy_timeout(Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
