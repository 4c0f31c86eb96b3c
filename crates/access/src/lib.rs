//! # simforge-access
//!
//! Principals and roles: who may act on the platform and what each role may do.
//!
//! - [`Role`], [`Action`] and [`allowed`]: the policy table (platform roles act on every
//!   tenant; tenant roles only on their own);
//! - [`secret`]: passwords hashed with argon2id (parameters in the PHC string), random API
//!   and session token secrets stored only as SHA-256, all secrets in zeroizing types with a
//!   `<redacted>` Debug;
//! - [`totp`]: RFC 6238 second factor for administrators;
//! - [`throttle`]: login throttling per account and per source, session timeouts;
//! - [`AccessStore`]: users, sessions and API tokens at rest (`simforge-store` implements it
//!   on SQLite and PostgreSQL); [`Access`]: the service calls (create a user, log in, log out
//!   everywhere, issue, revoke and check API tokens, unlock), each audited.
//!
//! Pure: no I/O, no clock, no thread RNG — the time is passed in (Unix seconds), randomness
//! through a [`rand_core::TryCryptoRng`].

pub mod policy;
pub mod secret;
pub mod service;
pub mod store;
pub mod throttle;
pub mod totp;

pub use policy::{Action, Role, allowed};
pub use secret::{Secret, hash_password, token_hash, verify_password};
pub use service::{
    Access, CreateUser, Created, Login, Principal, TOTP_ENROLLMENT_SECS, TotpEnrollment,
};
pub use store::{AccessStore, NewToken, NewUser, SessionRecord, TokenRecord, User};
pub use throttle::{SessionPolicy, Throttle, ThrottlePolicy};
pub use totp::TotpSecret;

/// Errors of access control. Messages never hold a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not a role name.
    #[error("unknown role {0:?} (platform-admin, factory, operator-admin, operator, viewer)")]
    UnknownRole(String),
    /// The password does not meet the policy.
    #[error("password refused: {0}")]
    WeakPassword(&'static str),
    /// A user name, tenant or role that does not fit.
    #[error("{0}")]
    Invalid(String),
    /// Hashing failed.
    #[error("password hashing failed")]
    Hash,
    /// The random source failed.
    #[error("random source failed")]
    Random,
    /// Wrong user name, password or second factor (which one is not said).
    #[error("login refused")]
    BadCredentials,
    /// The account is locked (too many failures) until then (Unix seconds).
    #[error("account locked until {0}")]
    Locked(i64),
    /// Too many failures from this source: refused until then (Unix seconds).
    #[error("too many failed logins from this address; retry after {0}")]
    Throttled(i64),
    /// A TOTP code is required for this account.
    #[error("a TOTP code is required")]
    TotpRequired,
    /// The session or token is unknown, expired or revoked.
    #[error("not authenticated")]
    Unauthenticated,
    /// A name that must be unique is taken.
    #[error("{0} already exists")]
    Exists(String),
    /// Something asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The vault failed (its message).
    #[error("vault: {0}")]
    Vault(String),
    /// The store or the audit log failed (its message).
    #[error("store: {0}")]
    Store(String),
}

impl Error {
    /// The kind of error, for front doors to map (exit codes, HTTP statuses).
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::UnknownRole(_) | Self::WeakPassword(_) | Self::Invalid(_) => "invalid",
            Self::BadCredentials | Self::TotpRequired | Self::Unauthenticated => "unauthenticated",
            Self::Locked(_) | Self::Throttled(_) => "locked",
            Self::Exists(_) => "exists",
            Self::NotFound(_) => "not-found",
            Self::Hash | Self::Random | Self::Vault(_) | Self::Store(_) => "internal",
        }
    }
}
