//! # simforge-smdp
//!
//! The SM-DP+ of the simforge eSIM platform (GSMA SGP.22 v2.x), sans I/O:
//!
//! - [`es9`]: ES9+ (LPA-facing) — InitiateAuthentication, AuthenticateClient,
//!   GetBoundProfilePackage, HandleNotification, CancelSession; its common mutual
//!   authentication ([`es9::open_session`], [`es9::verify_client_with`], parametrized by the
//!   server's address check and auth keys through [`es9::AuthServer`]) is also the SM-DS's
//!   (`simforge-smds`, ES11 with DSauth);
//! - [`es2`]: ES2+ (operator-facing) — DownloadOrder, ConfirmOrder, CancelOrder, ReleaseProfile.
//!
//! Each operation is a pure function of (request, state, [`Ctx`]) returning an [`Outcome`]:
//! the response or an [`Error`] (mapped to its SGP.22 subject/reason code by
//! [`Error::status_code`]), the new state (session and profile) and [`Event`]s for the
//! operator outbox. No sockets, no SQL, no wall clock, no thread RNG: time, randomness, key
//! agreement and the vault are injected through [`Ctx`].
//!
//! State is plain serialisable structs ([`Session`], [`ProfileRecord`]) persisted through the
//! [`SmdpStore`] trait (transactional; [`MemoryStore`] here, SQLite in `simforge-store`).
//! [`Smdp`] is the driver that runs load → function → save in one transaction.
//!
//! Operator notifications: [`outbox::progress_info`] maps an [`Event`] to its ES2+
//! HandleDownloadProgressInfo body; [`OutboxStore`] is what a delivery worker needs from the store.
//!
//! Inventory: [`Inventory`] searches an operator's profiles ([`ProfileFilter`], keyset pages in
//! ICCID order) and reads a profile's history (its outbox [`Event`]s); [`MemoryStore`] here,
//! the SQL stores in `simforge-store`.
//!
//! Profiles: [`profile::personalize`] fills a SAIP template with a subscriber's
//! [`simforge_saip::ProfileSpec`]; packages are sealed with the vault before they are stored.

pub mod cancel;
pub mod config;
pub mod error;
pub mod es2;
pub mod es9;
pub mod inventory;
mod memory_outbox;
pub mod model;
pub mod outbox;
pub mod profile;
pub mod service;
pub mod smds_queue;
pub mod store;

pub use cancel::{CancelAction, CancelSessionPolicy, ResetTarget, reset_profile};
pub use config::{Ctx, DpKey, SmdpConfig, SmdpKeys, address_designates};
pub use error::{Error, Result};
pub use inventory::{
    Activity, HistoryEntry, HourActivity, IccidPrefix, InstallationError, Inventory, ProfileFilter,
    ProfileSummary, SCAN_MAX, SearchPage,
};
pub use model::{
    BppBinding, Event, KeyCurve, OperatorId, Outcome, ProfileMetadata, ProfileRecord,
    ProfileRequirements, ProfileState, RadioAccess, SealedPackage, Session, SessionChange,
    SessionState, Subject, UnixTime, Unseal, UnsealResult,
};
pub use outbox::{OutboxEntry, OutboxStore};
pub use profile::NewProfile;
pub use service::{Reply, Smdp, add_profiles};
pub use smds_queue::{
    MemorySmdsQueue, Registration, SmdsOp, SmdsOpEntry, SmdsOpKind, SmdsOpRow, SmdsOpState,
    SmdsQueue, registration, smds_ops,
};
pub use store::{Delivery, MemData, MemoryStore, MemoryTx, SmdpStore, SmdpTx};
