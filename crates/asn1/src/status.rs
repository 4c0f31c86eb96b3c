//! SGP.22 status codes (§5.2.6: subject code / reason code) and the
//! `header.functionExecutionStatus` of ES2+/ES9+/ES11 JSON responses (§6.5.1.4).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A subject code / reason code pair, e.g. `8.1.1` / `3.8` (EID refused).
///
/// Both parts are dotted decimal numbers. The named constants are the codes
/// this platform uses (see DESIGN.md §5); parse others with [`StatusCode::parse`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode {
    subject: Cow<'static, str>,
    reason: Cow<'static, str>,
}

macro_rules! codes {
    ($( $(#[$m:meta])* $name:ident = ($s:literal, $r:literal); )*) => {
        impl StatusCode {
            $( $(#[$m])* pub const $name: StatusCode = StatusCode::constant($s, $r); )*
            /// Every named constant, with its name.
            pub const ALL: &'static [(&'static str, StatusCode)] = &[ $( (stringify!($name), Self::$name), )* ];
        }
    };
}

codes! {
    /// 1.2.1 / 2.1: the HTTP Content-Type is not the one required.
    BAD_CONTENT_TYPE = ("1.2.1", "2.1");
    /// 1.2.2 / 2.1: unsupported X-Admin-Protocol.
    UNSUPPORTED_ADMIN_PROTOCOL = ("1.2.2", "2.1");
    /// 1.3.1 / 2.2: a mandatory element of the function is missing.
    MANDATORY_ELEMENT_MISSING = ("1.3.1", "2.2");
    /// 8.1 / 6.1: eUICC signature invalid, or serverChallenge invalid.
    EUICC_SIGNATURE_INVALID = ("8.1", "6.1");
    /// 8.1 / 4.8: insufficient memory on the eUICC.
    INSUFFICIENT_EUICC_MEMORY = ("8.1", "4.8");
    /// 8.1.1 / 2.2: EID missing.
    EID_MISSING = ("8.1.1", "2.2");
    /// 8.1.1 / 3.1: a different EID is already associated with the profile.
    EID_ALREADY_BOUND = ("8.1.1", "3.1");
    /// 8.1.1 / 3.8: EID refused.
    EID_REFUSED = ("8.1.1", "3.8");
    /// 8.1.2 / 6.1: EUM certificate invalid.
    EUM_CERTIFICATE_INVALID = ("8.1.2", "6.1");
    /// 8.1.2 / 6.3: EUM certificate expired.
    EUM_CERTIFICATE_EXPIRED = ("8.1.2", "6.3");
    /// 8.1.3 / 6.1: eUICC certificate invalid.
    EUICC_CERTIFICATE_INVALID = ("8.1.3", "6.1");
    /// 8.1.3 / 6.3: eUICC certificate expired.
    EUICC_CERTIFICATE_EXPIRED = ("8.1.3", "6.3");
    /// 8.1.4 / 6.1: the EID is outside the EUM's permitted range.
    EID_OUTSIDE_EUM_RANGE = ("8.1.4", "6.1");
    /// 8.2 / 1.2: profile not released.
    PROFILE_NOT_RELEASED = ("8.2", "1.2");
    /// 8.2 / 3.7: BPP not available for a new binding.
    BPP_NOT_AVAILABLE = ("8.2", "3.7");
    /// 8.2.1 / 1.2: profile ICCID not allowed (not released / not owned).
    ICCID_NOT_ALLOWED = ("8.2.1", "1.2");
    /// 8.2.1 / 3.1: profile ICCID invalid.
    ICCID_INVALID = ("8.2.1", "3.1");
    /// 8.2.1 / 3.3: profile ICCID already in use.
    ICCID_ALREADY_IN_USE = ("8.2.1", "3.3");
    /// 8.2.1 / 3.5: profile ICCID not in the expected state.
    ICCID_INVALID_STATE = ("8.2.1", "3.5");
    /// 8.2.1 / 3.9: profile ICCID unknown.
    ICCID_UNKNOWN = ("8.2.1", "3.9");
    /// 8.2.5 / 3.7: no more profiles available of this profile type.
    NO_MORE_PROFILES = ("8.2.5", "3.7");
    /// 8.2.5 / 4.3: no eligible profile for this eUICC / device.
    NO_ELIGIBLE_PROFILE = ("8.2.5", "4.3");
    /// 8.2.6 / 3.1: matchingId unknown.
    MATCHING_ID_UNKNOWN = ("8.2.6", "3.1");
    /// 8.2.6 / 3.3: matchingId conflicting (already in use).
    MATCHING_ID_CONFLICT = ("8.2.6", "3.3");
    /// 8.2.6 / 3.8: matchingId refused.
    MATCHING_ID_REFUSED = ("8.2.6", "3.8");
    /// 8.2.7 / 2.2: confirmation code missing.
    CONFIRMATION_CODE_MISSING = ("8.2.7", "2.2");
    /// 8.2.7 / 3.8: confirmation code refused.
    CONFIRMATION_CODE_REFUSED = ("8.2.7", "3.8");
    /// 8.2.7 / 6.4: confirmation code retries exceeded.
    CONFIRMATION_CODE_RETRIES_EXCEEDED = ("8.2.7", "6.4");
    /// 8.8 / 3.1: invalid SM-DP+ OID.
    INVALID_SMDP_OID = ("8.8", "3.1");
    /// 8.8.1 / 3.8: invalid SM-DP+ address.
    INVALID_SMDP_ADDRESS = ("8.8.1", "3.8");
    /// 8.8.2 / 3.1: none of the eUICC's CI public keys is supported.
    NO_SUPPORTED_CI_PUBLIC_KEY = ("8.8.2", "3.1");
    /// 8.8.3 / 3.1: unsupported SVN.
    UNSUPPORTED_SVN = ("8.8.3", "3.1");
    /// 8.8.4 / 3.7: no DPauth certificate signed by a CI the eUICC supports.
    NO_DPAUTH_FOR_CI = ("8.8.4", "3.7");
    /// 8.8.5 / 4.1: the download order has expired.
    ORDER_EXPIRED = ("8.8.5", "4.1");
    /// 8.8.5 / 6.4: maximum number of download retries exceeded.
    DOWNLOAD_RETRIES_EXCEEDED = ("8.8.5", "6.4");
    /// 8.9 / 4.2: the root SM-DS returned an error (ES12 cascade).
    SMDS_ROOT_ERROR = ("8.9", "4.2");
    /// 8.9 / 5.1: the root SM-DS (or the SM-DS given) was unreachable.
    SMDS_UNREACHABLE = ("8.9", "5.1");
    /// 8.9.1 / 3.8: invalid SM-DS address (ES11).
    INVALID_SMDS_ADDRESS = ("8.9.1", "3.8");
    /// 8.9.2 / 3.1: the SM-DS supports none of the eUICC's CI public keys (ES11).
    SMDS_NO_SUPPORTED_CI_PUBLIC_KEY = ("8.9.2", "3.1");
    /// 8.9.3 / 3.1: the SM-DS does not support the eUICC's SVN (ES11).
    SMDS_UNSUPPORTED_SVN = ("8.9.3", "3.1");
    /// 8.9.4 / 3.7: no DSauth certificate signed by a CI the eUICC supports (ES11).
    NO_DSAUTH_FOR_CI = ("8.9.4", "3.7");
    /// 8.9.5 / 3.3: the EventID is already registered for this EID (ES12.RegisterEvent).
    EVENT_ID_CONFLICT = ("8.9.5", "3.3");
    /// 8.9.5 / 3.9: no event with this EventID for this EID (ES12.DeleteEvent, ES11).
    EVENT_ID_UNKNOWN = ("8.9.5", "3.9");
    /// 8.10.1 / 3.9: unknown TransactionID.
    UNKNOWN_TRANSACTION_ID = ("8.10.1", "3.9");
    /// 8.11.1 / 3.9: unknown CI public key.
    UNKNOWN_CI_PUBLIC_KEY = ("8.11.1", "3.9");
}

fn valid_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.split('.')
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

impl StatusCode {
    const fn constant(subject: &'static str, reason: &'static str) -> Self {
        Self {
            subject: Cow::Borrowed(subject),
            reason: Cow::Borrowed(reason),
        }
    }

    /// Parses a subject and a reason code (dotted decimal, e.g. `"8.2.6"`, `"3.8"`).
    ///
    /// # Errors
    /// [`Error::InvalidStatusCode`] if either is not dotted decimal.
    pub fn parse(subject: &str, reason: &str) -> Result<Self, Error> {
        for (what, v) in [("subjectCode", subject), ("reasonCode", reason)] {
            if !valid_code(v) {
                return Err(Error::InvalidStatusCode(format!(
                    "{what} {v:?} is not a dotted decimal code"
                )));
            }
        }
        Ok(Self {
            subject: Cow::Owned(subject.to_owned()),
            reason: Cow::Owned(reason.to_owned()),
        })
    }

    /// The subject code, e.g. `"8.1.1"`.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The reason code, e.g. `"3.8"`.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The name of the constant for this code, if it is one of the named ones.
    #[must_use]
    pub fn name(&self) -> Option<&'static str> {
        Self::ALL.iter().find(|(_, c)| c == self).map(|(n, _)| *n)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.subject, self.reason)
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "StatusCode({n} {self})"),
            None => write!(f, "StatusCode({self})"),
        }
    }
}

/// `functionExecutionStatus.status` (SGP.22 §6.5.1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecutionStatus {
    /// `Executed-Success`.
    #[serde(rename = "Executed-Success")]
    ExecutedSuccess,
    /// `Executed-WithWarning`.
    #[serde(rename = "Executed-WithWarning")]
    ExecutedWithWarning,
    /// `Failed`.
    #[serde(rename = "Failed")]
    Failed,
    /// `Expired`.
    #[serde(rename = "Expired")]
    Expired,
}

/// `statusCodeData` (SGP.22 §6.5.1.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCodeData {
    /// `subjectCode`, e.g. `"8.2.6"`.
    pub subject_code: String,
    /// `reasonCode`, e.g. `"3.8"`.
    pub reason_code: String,
    /// `subjectIdentifier`: the identifier of the subject (e.g. the ICCID), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_identifier: Option<String>,
    /// `message`: human-readable text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl StatusCodeData {
    /// Builds the data for `code` with an optional message.
    #[must_use]
    pub fn new(code: &StatusCode, message: Option<String>) -> Self {
        Self {
            subject_code: code.subject().to_owned(),
            reason_code: code.reason().to_owned(),
            subject_identifier: None,
            message,
        }
    }

    /// The parsed status code.
    ///
    /// # Errors
    /// [`Error::InvalidStatusCode`] if the peer sent something that is not dotted decimal.
    pub fn code(&self) -> Result<StatusCode, Error> {
        StatusCode::parse(&self.subject_code, &self.reason_code)
    }
}

/// `functionExecutionStatus` (SGP.22 §6.5.1.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionExecutionStatus {
    /// `status`.
    pub status: ExecutionStatus,
    /// `statusCodeData`: present with `Failed` (and warnings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code_data: Option<StatusCodeData>,
}

impl FunctionExecutionStatus {
    /// `Executed-Success` without status code data.
    #[must_use]
    pub fn success() -> Self {
        Self {
            status: ExecutionStatus::ExecutedSuccess,
            status_code_data: None,
        }
    }

    /// `Failed` with `code` and an optional message.
    #[must_use]
    pub fn failed(code: &StatusCode, message: Option<String>) -> Self {
        Self {
            status: ExecutionStatus::Failed,
            status_code_data: Some(StatusCodeData::new(code, message)),
        }
    }

    /// True for `Executed-Success` and `Executed-WithWarning`.
    #[must_use]
    pub fn is_executed(&self) -> bool {
        matches!(
            self.status,
            ExecutionStatus::ExecutedSuccess | ExecutionStatus::ExecutedWithWarning
        )
    }
}

/// `header` of every ES2+/ES9+/ES11 response (SGP.22 §6.5.1.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseHeader {
    /// `functionExecutionStatus`.
    pub function_execution_status: FunctionExecutionStatus,
}

impl ResponseHeader {
    /// A success header.
    #[must_use]
    pub fn success() -> Self {
        Self {
            function_execution_status: FunctionExecutionStatus::success(),
        }
    }

    /// A failure header for `code`.
    #[must_use]
    pub fn failed(code: &StatusCode, message: Option<String>) -> Self {
        Self {
            function_execution_status: FunctionExecutionStatus::failed(code, message),
        }
    }
}
