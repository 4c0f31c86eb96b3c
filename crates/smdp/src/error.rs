//! The crate's single error type, and its mapping to SGP.22 status codes.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use simforge_asn1::StatusCode;

/// Why an internal failure (storage, profile sealing, crypto backend, configuration) happened:
/// what was being done and, when another error caused it, that error itself — kept whole for
/// the logs' source chain (`std::error::Error::source`), not flattened into text. Its
/// `Display` is the message only; an [`Error`] holding it displays its kind and the message
/// ("storage: SQLite") and has it as its source: [`ErrorChain`] prints the whole chain with
/// the message once. Two causes are equal when their messages and their sources' messages are.
#[derive(Clone)]
pub struct Cause {
    message: Cow<'static, str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
    /// The message is the source's own text: the chain goes on with the source's source.
    transparent: bool,
}

impl Cause {
    /// A cause with no underlying error.
    #[must_use]
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: message.into(),
            source: None,
            transparent: false,
        }
    }

    /// `source` itself, when there is nothing to add to its text (its sources follow it in
    /// the chain).
    #[must_use]
    pub fn transparent(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            message: source.to_string().into(),
            source: Some(Arc::new(source)),
            transparent: true,
        }
    }

    /// `message` (what was being done), caused by `source`.
    #[must_use]
    pub fn with_source(
        message: impl Into<Cow<'static, str>>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Arc::new(source)),
            transparent: false,
        }
    }

    /// The message (what was being done).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&'static str> for Cause {
    fn from(message: &'static str) -> Self {
        Self::new(message)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Cause");
        d.field("message", &self.message);
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let inner = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        if self.transparent {
            inner.and_then(std::error::Error::source)
        } else {
            inner
        }
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        let text = |c: &Self| c.source.as_ref().map(ToString::to_string);
        self.message == other.message && text(self) == text(other)
    }
}

impl Eq for Cause {}

/// Everything that can go wrong in the SM-DP+.
///
/// Protocol errors carry no secret material: messages name fields, never values of keys
/// or confirmation codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A mandatory element is missing or malformed (1.3.1 / 2.2).
    #[error("mandatory element missing or invalid: {0}")]
    MandatoryElement(&'static str),
    /// The `smdpAddress` / `serverAddress` is not this SM-DP+ (8.8.1 / 3.8).
    #[error("invalid SM-DP+ address")]
    InvalidSmdpAddress,
    /// The SM-DP+ OID does not match (8.8 / 3.1).
    #[error("invalid SM-DP+ OID")]
    InvalidSmdpOid,
    /// The eUICC's SVN is not supported (8.8.3 / 3.1).
    #[error("unsupported SVN {0}")]
    UnsupportedSvn(String),
    /// None of the eUICC's CI PKIDs is supported (8.8.2 / 3.1).
    #[error("no supported CI public key")]
    NoSupportedCiPublicKey,
    /// A CI is trusted but no DPauth certificate is signed by it (8.8.4 / 3.7).
    #[error("no DPauth certificate for the eUICC's CIs")]
    NoDpAuthForCi,
    /// The transactionId is unknown, expired, or the call is out of order (8.10.1 / 3.9).
    #[error("unknown transactionId")]
    UnknownTransactionId,
    /// The eUICC chain ends in an unknown CI (8.11.1 / 3.9).
    #[error("unknown CI public key")]
    UnknownCiPublicKey,
    /// eUICC signature or serverChallenge invalid (8.1 / 6.1).
    #[error("eUICC signature or serverChallenge invalid: {0}")]
    EuiccSignatureInvalid(&'static str),
    /// EUM certificate invalid (8.1.2 / 6.1).
    #[error("EUM certificate invalid: {0}")]
    EumCertificateInvalid(String),
    /// EUM certificate expired (8.1.2 / 6.3).
    #[error("EUM certificate expired")]
    EumCertificateExpired,
    /// eUICC certificate invalid (8.1.3 / 6.1).
    #[error("eUICC certificate invalid: {0}")]
    EuiccCertificateInvalid(String),
    /// eUICC certificate expired (8.1.3 / 6.3).
    #[error("eUICC certificate expired")]
    EuiccCertificateExpired,
    /// The EID is outside the EUM's permitted range (8.1.4 / 6.1).
    #[error("EID outside the EUM's permitted range")]
    EidOutsideRange,
    /// EID missing (8.1.1 / 2.2).
    #[error("EID missing")]
    EidMissing,
    /// A different EID is already bound to the profile (8.1.1 / 3.1).
    #[error("a different EID is already bound to the profile")]
    EidAlreadyBound,
    /// The EID does not match the order (8.1.1 / 3.8).
    #[error("EID refused")]
    EidRefused,
    /// The matchingId is unknown (8.2.6 / 3.1).
    #[error("matchingId unknown")]
    MatchingIdUnknown,
    /// The matchingId is already used by another order (8.2.6 / 3.3).
    #[error("matchingId conflicting")]
    MatchingIdConflict,
    /// The matchingId (or its absence) is refused (8.2.6 / 3.8). Also ConfirmOrder's answer
    /// when another operator's order uses the matchingId chosen: that it exists is not the
    /// caller's business.
    #[error("matchingId refused")]
    MatchingIdRefused,
    /// An operator-chosen matchingId is too easy to guess (8.2.6 / 3.8): its estimated
    /// entropy ([`crate::es2::matching_id_entropy_bits`]) is below the configured minimum.
    #[error(
        "matchingId refused: about {bits} bits of entropy, at least {min} required (or omit it to have one generated)"
    )]
    MatchingIdWeak {
        /// The estimate, in whole bits.
        bits: u32,
        /// The minimum ([`crate::SmdpConfig::min_matching_id_bits`]).
        min: u32,
    },
    /// The profile is not released (8.2 / 1.2).
    #[error("profile not released")]
    ProfileNotReleased,
    /// The BPP is not available for a new binding (8.2 / 3.7).
    #[error("BPP not available for a new binding")]
    BppNotAvailable,
    /// The ICCID is not owned by the caller or not allowed (8.2.1 / 1.2).
    #[error("ICCID not allowed")]
    IccidNotAllowed,
    /// The ICCID is malformed (8.2.1 / 3.1).
    #[error("ICCID invalid")]
    IccidInvalid,
    /// The ICCID is already in use (8.2.1 / 3.3).
    #[error("ICCID already in use")]
    IccidInUse,
    /// The profile is not in a state that allows the function (8.2.1 / 3.5).
    #[error("profile is {0}, which does not allow this function")]
    IccidInvalidState(&'static str),
    /// The ICCID is unknown to this operator (8.2.1 / 3.9).
    #[error("ICCID unknown")]
    IccidUnknown,
    /// No available profile of the requested type (8.2.5 / 3.7).
    #[error("no more profiles of this type")]
    NoMoreProfiles,
    /// Not eligible for this eUICC or device (8.2.5 / 4.3).
    #[error("no eligible profile for this eUICC/device: {0}")]
    NotEligible(&'static str),
    /// The eUICC has not enough free memory for the profile (8.1 / 4.8).
    #[error("insufficient eUICC memory for the profile")]
    InsufficientMemory,
    /// Confirmation code missing (8.2.7 / 2.2).
    #[error("confirmation code missing")]
    ConfirmationCodeMissing,
    /// Confirmation code refused (8.2.7 / 3.8).
    #[error("confirmation code refused")]
    ConfirmationCodeRefused,
    /// Confirmation code retries exceeded (8.2.7 / 6.4).
    #[error("confirmation code retries exceeded")]
    ConfirmationCodeRetriesExceeded,
    /// The order has expired (8.8.5 / 4.1).
    #[error("download order expired")]
    OrderExpired,
    /// Too many download attempts (8.8.5 / 6.4).
    #[error("download retries exceeded")]
    DownloadRetriesExceeded,
    /// The storage backend failed (not a protocol error).
    #[error("storage: {0}")]
    Storage(#[source] Cause),
    /// Building or sealing a profile failed (not a protocol error).
    #[error("profile: {0}")]
    Profile(#[source] Cause),
    /// A crypto backend failed (not a protocol error).
    #[error("crypto: {0}")]
    Crypto(#[source] Cause),
    /// Misconfiguration (keys, certificates).
    #[error("configuration: {0}")]
    Config(#[source] Cause),
}

impl Error {
    /// The SGP.22 subject/reason code to answer with, or `None` for internal failures
    /// (storage, crypto backend, configuration), which are not the caller's fault.
    #[must_use]
    pub fn status_code(&self) -> Option<StatusCode> {
        use Error as E;
        Some(match self {
            E::MandatoryElement(_) => StatusCode::MANDATORY_ELEMENT_MISSING,
            E::InvalidSmdpAddress => StatusCode::INVALID_SMDP_ADDRESS,
            E::InvalidSmdpOid => StatusCode::INVALID_SMDP_OID,
            E::UnsupportedSvn(_) => StatusCode::UNSUPPORTED_SVN,
            E::NoSupportedCiPublicKey => StatusCode::NO_SUPPORTED_CI_PUBLIC_KEY,
            E::NoDpAuthForCi => StatusCode::NO_DPAUTH_FOR_CI,
            E::UnknownTransactionId => StatusCode::UNKNOWN_TRANSACTION_ID,
            E::UnknownCiPublicKey => StatusCode::UNKNOWN_CI_PUBLIC_KEY,
            E::EuiccSignatureInvalid(_) => StatusCode::EUICC_SIGNATURE_INVALID,
            E::EumCertificateInvalid(_) => StatusCode::EUM_CERTIFICATE_INVALID,
            E::EumCertificateExpired => StatusCode::EUM_CERTIFICATE_EXPIRED,
            E::EuiccCertificateInvalid(_) => StatusCode::EUICC_CERTIFICATE_INVALID,
            E::EuiccCertificateExpired => StatusCode::EUICC_CERTIFICATE_EXPIRED,
            E::EidOutsideRange => StatusCode::EID_OUTSIDE_EUM_RANGE,
            E::EidMissing => StatusCode::EID_MISSING,
            E::EidAlreadyBound => StatusCode::EID_ALREADY_BOUND,
            E::EidRefused => StatusCode::EID_REFUSED,
            E::MatchingIdUnknown => StatusCode::MATCHING_ID_UNKNOWN,
            E::MatchingIdConflict => StatusCode::MATCHING_ID_CONFLICT,
            E::MatchingIdRefused | E::MatchingIdWeak { .. } => StatusCode::MATCHING_ID_REFUSED,
            E::ProfileNotReleased => StatusCode::PROFILE_NOT_RELEASED,
            E::BppNotAvailable => StatusCode::BPP_NOT_AVAILABLE,
            E::IccidNotAllowed => StatusCode::ICCID_NOT_ALLOWED,
            E::IccidInvalid => StatusCode::ICCID_INVALID,
            E::IccidInUse => StatusCode::ICCID_ALREADY_IN_USE,
            E::IccidInvalidState(_) => StatusCode::ICCID_INVALID_STATE,
            E::IccidUnknown => StatusCode::ICCID_UNKNOWN,
            E::NoMoreProfiles => StatusCode::NO_MORE_PROFILES,
            E::NotEligible(_) => StatusCode::NO_ELIGIBLE_PROFILE,
            E::InsufficientMemory => StatusCode::INSUFFICIENT_EUICC_MEMORY,
            E::ConfirmationCodeMissing => StatusCode::CONFIRMATION_CODE_MISSING,
            E::ConfirmationCodeRefused => StatusCode::CONFIRMATION_CODE_REFUSED,
            E::ConfirmationCodeRetriesExceeded => StatusCode::CONFIRMATION_CODE_RETRIES_EXCEEDED,
            E::OrderExpired => StatusCode::ORDER_EXPIRED,
            E::DownloadRetriesExceeded => StatusCode::DOWNLOAD_RETRIES_EXCEEDED,
            E::Storage(_) | E::Profile(_) | E::Crypto(_) | E::Config(_) => return None,
        })
    }

    /// Maps a certificate-chain error from `simforge-pki` to the protocol error.
    #[must_use]
    pub fn from_euicc_chain(e: &simforge_pki::Error) -> Self {
        use simforge_pki::Error as P;
        match e {
            P::EidOutsideNameConstraints { .. } | P::EidOutsidePermittedEins { .. } => {
                Self::EidOutsideRange
            }
            P::UnknownCi { .. } => Self::UnknownCiPublicKey,
            other => match other.sgp22_status() {
                Some(("8.1.2", "6.3")) => Self::EumCertificateExpired,
                Some(("8.1.2", _)) => Self::EumCertificateInvalid(other.to_string()),
                Some(("8.1.3", "6.3")) => Self::EuiccCertificateExpired,
                _ => Self::EuiccCertificateInvalid(other.to_string()),
            },
        }
    }
}

impl From<simforge_crypto::Error> for Error {
    fn from(e: simforge_crypto::Error) -> Self {
        Self::Crypto(Cause::transparent(e))
    }
}

/// An error and its sources, `: `-separated, for a log line (`error = %ErrorChain(&e)`); a
/// source whose text the line already ends with (a [`Cause`] under the variant that displays
/// it) is not repeated.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cur = self.0.source();
        while let Some(e) = cur {
            let text = e.to_string();
            if !line.ends_with(&text) {
                line = format!("{line}: {text}");
            }
            cur = e.source();
        }
        f.write_str(&line)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        ErrorChain(e).to_string()
    }

    #[test]
    fn an_internal_failure_keeps_its_cause_once() {
        let io = || std::io::Error::other("disk I/O error");
        let check = |e: Error, expect: &str| {
            assert_eq!(chain(&e), expect);
            assert!(expect.starts_with(&e.to_string()), "{e}");
            assert_eq!(e.status_code(), None);
        };
        check(
            Error::Storage(Cause::with_source("SQLite", io())),
            "storage: SQLite: disk I/O error",
        );
        check(
            Error::Storage(Cause::transparent(io())),
            "storage: disk I/O error",
        );
        check(
            Error::Config("no DPpb key".into()),
            "configuration: no DPpb key",
        );
        check(
            Error::Profile(Cause::new(format!("profile {} vanished", 7))),
            "profile: profile 7 vanished",
        );
        assert_eq!(
            Error::Storage(Cause::with_source("SQLite", io())),
            Error::Storage(Cause::with_source("SQLite", io()))
        );
        assert_ne!(
            Error::Storage(Cause::with_source("SQLite", io())),
            Error::Storage(Cause::new("SQLite"))
        );
    }
}
