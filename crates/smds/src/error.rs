//! The crate's error, and its one map to SGP.22 status codes.

use simforge_asn1::StatusCode;
use simforge_smdp::error::Cause;

/// Everything the SM-DS refuses or fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The common mutual authentication refused the eUICC or the request (the SM-DP+'s
    /// error; [`Error::status_code`] maps the address, SVN and CI errors to the SM-DS's
    /// 8.9.x codes).
    #[error("{}", auth_message(.0))]
    Auth(#[from] simforge_smdp::Error),
    /// A member is missing or invalid (1.3.1 / 2.2).
    #[error("mandatory element missing or invalid: {0}")]
    Invalid(&'static str),
    /// The EventID is already registered for this EID (8.9.5 / 3.3).
    #[error("EventID already registered for this EID")]
    EventIdConflict,
    /// No event with this EventID for this EID (8.9.5 / 3.9): ES12.DeleteEvent of an unknown
    /// record or of another registrant's, ES11 with an unknown EventID as matchingId.
    #[error("no event with this EventID for this EID")]
    EventUnknown,
    /// The storage backend failed (not the caller's fault).
    #[error("storage: {0}")]
    Storage(#[source] Cause),
    /// Misconfiguration (keys, certificates).
    #[error("configuration: {0}")]
    Config(#[source] Cause),
}

/// The shared authentication's message, said of the SM-DS where the SM-DP+'s names itself.
fn auth_message(e: &simforge_smdp::Error) -> String {
    use simforge_smdp::Error as A;
    match e {
        A::InvalidSmdpAddress => "invalid SM-DS address".to_owned(),
        A::NoSupportedCiPublicKey => "the SM-DS supports none of the eUICC's CI keys".to_owned(),
        A::UnsupportedSvn(v) => format!("the SM-DS does not support SVN {v}"),
        A::NoDpAuthForCi => "no DSauth certificate for the eUICC's CIs".to_owned(),
        other => other.to_string(),
    }
}

impl Error {
    /// The SGP.22 subject/reason code to answer with, `None` for a failure of our own.
    #[must_use]
    pub fn status_code(&self) -> Option<StatusCode> {
        use simforge_smdp::Error as A;
        Some(match self {
            Self::Auth(A::InvalidSmdpAddress) => StatusCode::INVALID_SMDS_ADDRESS,
            Self::Auth(A::NoSupportedCiPublicKey) => StatusCode::SMDS_NO_SUPPORTED_CI_PUBLIC_KEY,
            Self::Auth(A::UnsupportedSvn(_)) => StatusCode::SMDS_UNSUPPORTED_SVN,
            Self::Auth(A::NoDpAuthForCi) => StatusCode::NO_DSAUTH_FOR_CI,
            Self::Auth(other) => return other.status_code(),
            Self::Invalid(_) => StatusCode::MANDATORY_ELEMENT_MISSING,
            Self::EventIdConflict => StatusCode::EVENT_ID_CONFLICT,
            Self::EventUnknown => StatusCode::EVENT_ID_UNKNOWN,
            Self::Storage(_) | Self::Config(_) => return None,
        })
    }

    /// The `authenticateClientError` of the ASN.1 binding (SGP.22 §5.8.2
    /// `AuthenticateClientResponseEs11`): eumCertificateInvalid(1), eumCertificateExpired(2),
    /// euiccCertificateInvalid(3), euiccCertificateExpired(4), euiccSignatureInvalid(5),
    /// eventIdUnknown(6), invalidTransactionId(7), undefinedError(127).
    #[must_use]
    pub fn es11_error_code(&self) -> i64 {
        use simforge_smdp::Error as A;
        match self {
            Self::Auth(A::EumCertificateInvalid(_)) => 1,
            Self::Auth(A::EumCertificateExpired) => 2,
            Self::Auth(
                A::EuiccCertificateInvalid(_) | A::EidOutsideRange | A::UnknownCiPublicKey,
            ) => 3,
            Self::Auth(A::EuiccCertificateExpired) => 4,
            Self::Auth(A::EuiccSignatureInvalid(_)) => 5,
            Self::EventUnknown => 6,
            Self::Auth(A::UnknownTransactionId) => 7,
            _ => 127,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
