//! The crate's one error type. Never carries a PIN or key material.

use std::path::PathBuf;

/// Why a PKCS#11 operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("PKCS#11 module {}: {source}", path.display())]
    Module {
        /// The module (shared library).
        path: PathBuf,
        /// Why.
        source: cryptoki::error::Error,
    },
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {op}: {source}")]
    Pkcs11 {
        /// What was being done.
        op: &'static str,
        /// The module's answer.
        source: cryptoki::error::Error,
    },
    /// The token refused the PIN when logging in again after it lost the login: no further
    /// login is tried (each would count against the PIN's retry limit) until a restart.
    #[error(
        "PKCS#11 token {0:?} refused the PIN when logging in again; no further login is tried (fix the PIN file and restart)"
    )]
    LoginRefused(String),
    /// No initialised token carries this label.
    #[error("no PKCS#11 token labelled {0:?} (simforge hsm list shows the slots and tokens)")]
    NoToken(String),
    /// The PIN file could not be read.
    #[error("PIN file {}: {source}", path.display())]
    PinFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The PIN file is unusable (empty, not UTF-8, readable by others).
    #[error("PIN file {}: {reason}", path.display())]
    BadPinFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// No object of this class carries the label.
    #[error("no {class} labelled {label:?} in the token")]
    NoKey {
        /// The label looked for.
        label: String,
        /// The object class looked for.
        class: &'static str,
    },
    /// Several objects of one class carry the label.
    #[error("several {class} objects labelled {label:?} in the token: labels must be unique")]
    Ambiguous {
        /// The label.
        label: String,
        /// The object class.
        class: &'static str,
    },
    /// The object is not a key of the kind needed.
    #[error("key {label:?}: {reason}")]
    BadKey {
        /// The key's label.
        label: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// A key with this label exists already.
    #[error("a key labelled {0:?} exists already in the token")]
    Exists(String),
    /// A software part of an operation failed (public key derivation, signature form).
    #[error("crypto: {0}")]
    Crypto(#[from] simforge_crypto::Error),
    /// The random source failed.
    #[error("random source failed")]
    Random,
}

/// `Result` with [`HsmError`].
pub type Result<T> = std::result::Result<T, HsmError>;

pub(crate) fn p11(op: &'static str) -> impl FnOnce(cryptoki::error::Error) -> HsmError {
    move |source| HsmError::Pkcs11 { op, source }
}
