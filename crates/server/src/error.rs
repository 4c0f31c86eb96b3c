//! The crate's one error type: what can fail while starting the server (TLS material,
//! sockets) and every way an ES9+/ES2+ request can be refused, with the one map from each to
//! its HTTP status and SGP.22 subject/reason code.

pub use simforge_smdp::error::ErrorChain;
use std::time::Duration;

use simforge_asn1::StatusCode;

use crate::auth::LookupError;

/// A boxed error kept as the source of another.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// 1.2 / 4.2, Function Provider / Execution Error: the SM-DP+ failed for a reason that is not
/// the caller's (its database, a crypto backend, its configuration). The caller may retry.
#[must_use]
pub fn execution_error() -> StatusCode {
    StatusCode::parse("1.2", "4.2").unwrap_or(StatusCode::MANDATORY_ELEMENT_MISSING)
}

/// 1.1 / 1.1, Function Requester / Unauthorized: the ES2+ request's credentials are missing,
/// unknown, revoked or disagree.
#[must_use]
pub fn unauthorized() -> StatusCode {
    StatusCode::parse("1.1", "1.1").unwrap_or(StatusCode::MANDATORY_ELEMENT_MISSING)
}

/// 1.1 / 6.4, Function Requester / Maximum number of retries exceeded.
#[must_use]
pub fn requester_retries_exceeded() -> StatusCode {
    StatusCode::parse("1.1", "6.4").unwrap_or_else(|_| unauthorized())
}

/// 1.2 / 1.2: the body's functionRequesterIdentifier is not the authenticated operator's.
#[must_use]
pub fn requester_mismatch() -> StatusCode {
    StatusCode::parse("1.2", "1.2").unwrap_or(StatusCode::ICCID_NOT_ALLOWED)
}

/// Errors of this crate: starting the server, and refusing a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// TLS configuration failed (bad certificate, key or CA bundle).
    #[error("TLS: {context}")]
    Tls {
        /// What was being built or read.
        context: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// Socket error.
    #[error("I/O")]
    Io(#[from] std::io::Error),

    /// No such ES9+/ES2+ function (HTTP 404).
    #[error("no such function")]
    UnknownFunction,
    /// The request's Content-Type is not JSON (1.2.1 / 2.1).
    #[error("Content-Type must be application/json")]
    ContentType,
    /// X-Admin-Protocol missing (1.2.2 / 2.1).
    #[error("X-Admin-Protocol missing (gsma/rsp/v2.y.z expected)")]
    AdminProtocolMissing,
    /// X-Admin-Protocol not one this SM-DP+ speaks (1.2.2 / 2.1).
    #[error("unsupported X-Admin-Protocol (gsma/rsp/v2.y.z expected)")]
    AdminProtocolUnsupported,
    /// The body is larger than the limit (HTTP 413, 1.3.1 / 2.2).
    #[error("request body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body did not arrive within the connection's deadline (HTTP 408).
    #[error("request body not received within the time limit")]
    BodyTimedOut,
    /// The connection failed while the body was read.
    #[error("request body unreadable")]
    BodyUnreadable,
    /// The body is not the function's JSON; the message names the member (1.3.1 / 2.2).
    #[error("{message}")]
    Malformed {
        /// What the peer is told: the JSON member and what is wrong with it.
        message: String,
        /// The decoder's error (logged, never sent).
        #[source]
        source: simforge_asn1::Error,
    },
    /// The ES2+ credentials are missing, unknown, revoked or disagree (HTTP 401, 1.1 / 1.1).
    #[error("the request's credentials are not accepted")]
    Unauthorized,
    /// Looking the credentials up failed (HTTP 503, execution error).
    #[error("credential lookup failed")]
    CredentialLookup(#[source] LookupError),
    /// The functionRequesterIdentifier is not the authenticated operator's (1.2 / 1.2).
    #[error("functionRequesterIdentifier does not match the authenticated operator")]
    RequesterMismatch,
    /// Too many failed ES2+ authentications from this source or with this credential
    /// (HTTP 429, 1.1 / 6.4).
    #[error("too many failed authentications from this address: retry later")]
    AuthThrottled {
        /// How long until the source may try again.
        retry_after: Duration,
    },
    /// Too many unknown matchingIds from this source (8.2.6 / 6.4, Retry-After).
    #[error("too many unknown matchingIds from this address; retry later")]
    MatchingIdThrottled {
        /// How long until the source may try again.
        retry_after: Duration,
    },
    /// The SM-DP+ refused or failed the call.
    #[error(transparent)]
    Smdp(#[from] simforge_smdp::Error),
    /// The SM-DS refused or failed the call.
    #[error(transparent)]
    Smds(#[from] simforge_smds::Error),
}

impl Error {
    /// A TLS error with its source.
    pub(crate) fn tls(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Tls {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// Whether the failure is the server's own (database, crypto backend, configuration,
    /// credential store), not the caller's: answered as an execution error and logged with
    /// its source.
    #[must_use]
    pub fn is_internal(&self) -> bool {
        match self {
            Self::Smdp(e) => e.status_code().is_none(),
            Self::Smds(e) => e.status_code().is_none(),
            Self::CredentialLookup(_) | Self::Tls { .. } | Self::Io(_) => true,
            _ => false,
        }
    }

    /// The SGP.22 subject/reason code of the answer, `None` for a 404 (no SGP.22 body).
    #[must_use]
    pub fn status_code(&self) -> Option<StatusCode> {
        Some(match self {
            Self::UnknownFunction => return None,
            Self::ContentType => StatusCode::BAD_CONTENT_TYPE,
            Self::AdminProtocolMissing | Self::AdminProtocolUnsupported => {
                StatusCode::UNSUPPORTED_ADMIN_PROTOCOL
            }
            Self::BodyTooLarge { .. }
            | Self::BodyTimedOut
            | Self::BodyUnreadable
            | Self::Malformed { .. } => StatusCode::MANDATORY_ELEMENT_MISSING,
            Self::Unauthorized => unauthorized(),
            Self::RequesterMismatch => requester_mismatch(),
            Self::AuthThrottled { .. } => requester_retries_exceeded(),
            Self::MatchingIdThrottled { .. } => crate::limits::matching_id_retries_exceeded(),
            Self::Smdp(e) => e.status_code().unwrap_or_else(execution_error),
            Self::Smds(e) => e.status_code().unwrap_or_else(execution_error),
            Self::CredentialLookup(_) | Self::Tls { .. } | Self::Io(_) => execution_error(),
        })
    }

    /// The HTTP status of the answer. SGP.22 answers a function's failure with 200 and the
    /// status in the body; the transport-level refusals have their HTTP meaning too.
    #[must_use]
    pub fn http_status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode as H;
        match self {
            Self::UnknownFunction => H::NOT_FOUND,
            Self::BodyTooLarge { .. } => H::PAYLOAD_TOO_LARGE,
            Self::BodyTimedOut => H::REQUEST_TIMEOUT,
            Self::Unauthorized => H::UNAUTHORIZED,
            Self::AuthThrottled { .. } => H::TOO_MANY_REQUESTS,
            _ if self.is_internal() => H::SERVICE_UNAVAILABLE,
            _ => H::OK,
        }
    }

    /// How long the caller should wait before trying again (the Retry-After header).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::AuthThrottled { retry_after } | Self::MatchingIdThrottled { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// Whether the connection is closed after the answer (the body was not read to its end).
    #[must_use]
    pub fn closes_connection(&self) -> bool {
        matches!(self, Self::BodyTooLarge { .. } | Self::BodyTimedOut)
    }

    /// The message sent to the peer: names JSON members and limits, never a secret, a Rust
    /// type or an internal error's text.
    #[must_use]
    pub fn peer_message(&self) -> String {
        if self.is_internal() {
            "temporarily unavailable".to_owned()
        } else {
            self.to_string()
        }
    }

    /// The result label of metrics and logs: `subject/reason`, or a word for the refusals
    /// that happen before a function runs.
    #[must_use]
    pub fn result_label(&self) -> String {
        match self {
            Self::UnknownFunction => "not_found".to_owned(),
            Self::ContentType | Self::AdminProtocolMissing | Self::AdminProtocolUnsupported => {
                "bad_request".to_owned()
            }
            Self::BodyTooLarge { .. }
            | Self::BodyTimedOut
            | Self::BodyUnreadable
            | Self::Malformed { .. } => "malformed".to_owned(),
            Self::Unauthorized => "unauthorized".to_owned(),
            Self::AuthThrottled { .. } | Self::MatchingIdThrottled { .. } => "throttled".to_owned(),
            _ if self.is_internal() => "internal".to_owned(),
            _ => self
                .status_code()
                .map_or_else(|| "internal".to_owned(), |c| c.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per refusal: the HTTP status, the SGP.22 code and the label.
    fn check(e: &Error, http: u16, code: Option<(&str, &str)>, label: &str) {
        assert_eq!(e.http_status().as_u16(), http, "{e:?}");
        assert_eq!(
            e.status_code()
                .map(|c| (c.subject().to_owned(), c.reason().to_owned())),
            code.map(|(s, r)| (s.to_owned(), r.to_owned())),
            "{e:?}"
        );
        assert_eq!(e.result_label(), label, "{e:?}");
    }

    #[test]
    fn every_refusal_has_its_status_and_code() {
        let lookup: LookupError = "database down".into();
        check(&Error::UnknownFunction, 404, None, "not_found");
        check(
            &Error::ContentType,
            200,
            Some(("1.2.1", "2.1")),
            "bad_request",
        );
        check(
            &Error::AdminProtocolMissing,
            200,
            Some(("1.2.2", "2.1")),
            "bad_request",
        );
        check(
            &Error::BodyTooLarge { limit: 1 },
            413,
            Some(("1.3.1", "2.2")),
            "malformed",
        );
        check(
            &Error::BodyTimedOut,
            408,
            Some(("1.3.1", "2.2")),
            "malformed",
        );
        check(
            &Error::Unauthorized,
            401,
            Some(("1.1", "1.1")),
            "unauthorized",
        );
        check(
            &Error::CredentialLookup(lookup),
            503,
            Some(("1.2", "4.2")),
            "internal",
        );
        check(
            &Error::RequesterMismatch,
            200,
            Some(("1.2", "1.2")),
            "1.2/1.2",
        );
        let wait = Duration::from_secs(3);
        check(
            &Error::AuthThrottled { retry_after: wait },
            429,
            Some(("1.1", "6.4")),
            "throttled",
        );
        check(
            &Error::MatchingIdThrottled { retry_after: wait },
            200,
            Some(("8.2.6", "6.4")),
            "throttled",
        );
        check(
            &Error::Smdp(simforge_smdp::Error::MatchingIdUnknown),
            200,
            Some(("8.2.6", "3.1")),
            "8.2.6/3.1",
        );
    }

    #[test]
    fn an_internal_failure_is_an_execution_error_and_keeps_its_source() {
        let e = Error::Smdp(simforge_smdp::Error::Storage("disk I/O error".into()));
        check(&e, 503, Some(("1.2", "4.2")), "internal");
        assert_eq!(e.peer_message(), "temporarily unavailable");
        let e = Error::CredentialLookup("pool timed out".into());
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("pool timed out"));
    }
}
