//! # simforge-factory
//!
//! The SIM factory's workflows, callable from any front door (the `simforge` command line today,
//! an operator HTTP API tomorrow): operators and their keys ([`operators`], [`keys`]), batches
//! from an order to files on disk ([`batch`]: plan, generate, resume, release, next free
//! ICCID/IMSI), the check of a delivered `.out` file ([`verify`]), and the demo operator
//! ([`demo`]).
//!
//! Everything works over a [`Store`](simforge_store::Store), a [`Vault`](simforge_vault::Vault)
//! and paths or `std::io` readers; randomness (an RNG factory) and time are injected, so that a
//! batch is byte-for-byte reproducible for a fixed seed (`tests/golden.rs`). Progress is reported
//! through [`batch::Progress`]. Errors are one [`Error`] type with an [`ErrorKind`] a front door
//! maps to its own codes (exit codes, HTTP statuses).

pub mod batch;
pub mod clock;
pub mod demo;
pub mod keys;
pub mod operators;
pub mod quotas;
pub mod verify;

pub use simforge_audit::Actor;
use simforge_audit::{AuditLog as _, Draft, Outcome};
use simforge_store::{Store, StoreError};

pub use batch::{
    Format, Generated, Order, OrderKind, Planned, Progress, Run, Summary, generate,
    next_free_iccid, next_free_imsi, parse_order, plan, read_order, release, resume,
};
pub use keys::{TransportKeyRef, TransportKeys, key_context, load_keys, operator_profile};

/// Boxed source error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a front door needs to know about an [`Error`] to answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Invalid input: an order, key, file or option value is malformed.
    Input,
    /// A name, range or key index is taken, or the object is in the wrong state.
    Conflict,
    /// Unknown operator, key index or batch.
    NotFound,
    /// A delivered file does not check out (or cannot be checked).
    Verify,
    /// Anything else: I/O, database, internal.
    Failure,
}

/// The factory's errors. Messages never carry secret values; sources are kept.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The vault failed (wrong master key, damaged sealed value).
    #[error(transparent)]
    Vault(#[from] simforge_vault::VaultError),
    /// A file could not be read, written, created or moved.
    #[error("{context}")]
    Io {
        /// What was being done (`cannot read …`).
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An identifier (PLMN, ICCID, IMSI) is malformed.
    #[error(transparent)]
    Id(#[from] simforge_sim::IdError),
    /// A service provider name does not fit EF.SPN.
    #[error(transparent)]
    Spn(#[from] simforge_sim::ef::SpnError),
    /// An order does not make a valid batch.
    #[error(transparent)]
    Order(#[from] simforge_sim::OrderError),
    /// An input is malformed; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// An input is malformed; `what` names it, the source says why.
    #[error("{what}")]
    InvalidValue {
        /// The input (`order batch.toml`, `key file`).
        what: String,
        /// What is wrong with it.
        #[source]
        source: BoxError,
    },
    /// The operator's ICCID prefix is not digits starting with 89, shorter than the ICCID body.
    #[error("the ICCID prefix must be digits starting with 89, shorter than the ICCID body")]
    IccidPrefix,
    /// An operator name outside 1 to 64 characters from A-Z a-z 0-9 - _ .
    #[error("operator name: 1 to 64 characters from A-Z a-z 0-9 - _ .")]
    OperatorName,
    /// The operator's `.out` columns do not parse.
    #[error("out columns: {0}")]
    OutColumns(String),
    /// A key index names no stored key.
    #[error("{what}")]
    UnknownKey {
        /// Which key, and how to import it.
        what: String,
        /// The store's answer.
        #[source]
        source: StoreError,
    },
    /// The object is in the wrong state or already exists.
    #[error("{0}")]
    Conflict(String),
    /// Unknown object.
    #[error("{0}")]
    NotFound(String),
    /// A value stored by the factory itself does not read back.
    #[error("{0}")]
    Damaged(String),
    /// The plan to keep for a resume could not be encoded.
    #[error("stored plan")]
    Json(#[from] serde_json::Error),
    /// The order's cards cannot be made with these keys.
    #[error(transparent)]
    Card(simforge_sim::CardError),
    /// Generating or writing the batch failed.
    #[error(transparent)]
    Pipeline(#[from] simforge_sim::PipelineError),
    /// The transport key's holder (an HSM) failed.
    #[error(transparent)]
    Cipher(#[from] simforge_sim::CipherError),
    /// OPc could not be derived.
    #[error(transparent)]
    Derive(simforge_sim::CardError),
    /// The random source failed.
    #[error("random source")]
    Random(#[source] simforge_sim::CardError),
    /// A file to verify cannot be checked at all (no `var_out:` line, bad header, …).
    #[error("{message}")]
    Unverifiable {
        /// What is wrong, with the file name.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

/// The factory's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// How a front door should answer this error.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Store(s) | Self::UnknownKey { source: s, .. } => store_kind(s),
            Self::Invalid(_)
            | Self::Id(_)
            | Self::Order(_)
            | Self::Spn(_)
            | Self::InvalidValue { .. }
            | Self::IccidPrefix
            | Self::OperatorName
            | Self::OutColumns(_)
            | Self::Card(_) => ErrorKind::Input,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Unverifiable { .. } => ErrorKind::Verify,
            Self::Vault(_)
            | Self::Io { .. }
            | Self::Damaged(_)
            | Self::Json(_)
            | Self::Pipeline(_)
            | Self::Cipher(_)
            | Self::Derive(_)
            | Self::Random(_) => ErrorKind::Failure,
        }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    pub(crate) fn invalid<E: Into<BoxError>>(what: impl Into<String>) -> impl FnOnce(E) -> Self {
        let what = what.into();
        move |e| Self::InvalidValue {
            what,
            source: e.into(),
        }
    }
}

impl ErrorKind {
    /// A short code, as the audit log records a failure (`failed:<code>`).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Conflict => "conflict",
            Self::NotFound => "not-found",
            Self::Verify => "verify",
            Self::Failure => "failure",
        }
    }
}

/// Creates `dir` (and missing parents) with mode 0700 if it does not exist; refuses it when
/// its group or others have any permission on it (it holds the database with released
/// profiles' matchingIds, the master key, batch outputs with card secrets).
///
/// # Errors
/// [`Error::Io`] if it cannot be created or read, [`Error::Damaged`] for a wrong mode.
pub fn private_dir(dir: &std::path::Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(Error::io(format!(
        "cannot create data directory {}",
        dir.display()
    )))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir).map_err(Error::io(dir.display().to_string()))?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(Error::Damaged(format!(
                "data directory {} has mode {mode:04o}: it must be accessible by its owner only (it holds the database, the master key and batch outputs); fix: chmod 700 {}",
                dir.display(),
                dir.display()
            )));
        }
    }
    Ok(())
}

/// The operating system user running this process: `$USER`, `$LOGNAME`, else the uid.
#[must_use]
pub fn os_user() -> String {
    let var = |v| std::env::var(v).ok().filter(|u: &String| !u.is_empty());
    var("USER").or_else(|| var("LOGNAME")).unwrap_or_else(uid)
}

#[cfg(unix)]
fn uid() -> String {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").map_or_else(|_| "unknown".into(), |m| m.uid().to_string())
}

#[cfg(not(unix))]
fn uid() -> String {
    "unknown".into()
}

/// The current time, Unix seconds (the audit log's clock at the service edge).
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Records `action` on `target` by `actor` with the outcome of `result` (details from
/// `details`, never a secret) and returns `result`; failing to record is the call's failure.
pub(crate) async fn audited<T>(
    store: &Store,
    actor: &Actor,
    (action, target, tenant): (&str, String, Option<i64>),
    details: impl FnOnce(&T, Draft) -> Draft,
    result: Result<T>,
) -> Result<T> {
    let mut draft = Draft::new(unix_now(), actor.as_str(), action, target);
    draft.tenant = tenant;
    let draft = match &result {
        Ok(v) => details(v, draft),
        Err(e) => Draft {
            outcome: Outcome::Failed(e.kind().code().into()),
            ..draft
        },
    };
    store.append(draft).await?;
    result
}

/// The kind of a store error (conflicts and unknown objects are the caller's).
#[must_use]
pub fn store_kind(s: &StoreError) -> ErrorKind {
    match s {
        StoreError::Exists(_) | StoreError::Overlap(_) | StoreError::State(..) => {
            ErrorKind::Conflict
        }
        StoreError::NotFound(_) => ErrorKind::NotFound,
        _ => ErrorKind::Failure,
    }
}

/// Reads a small text file (TOML/JSON order, card profile): at most
/// [`simforge_sim::text::MAX_TEXT`] bytes, without a byte order mark.
pub fn read_small_text(p: &std::path::Path) -> Result<zeroize::Zeroizing<String>> {
    let f = std::fs::File::open(p).map_err(Error::io(format!("cannot read {}", p.display())))?;
    simforge_sim::text::read_text(f, simforge_sim::text::MAX_TEXT)
        .map_err(Error::invalid(p.display().to_string()))
}
