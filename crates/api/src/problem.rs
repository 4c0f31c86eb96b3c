//! Errors as `application/problem+json` (RFC 9457), with a stable `code` per kind of refusal:
//! the one map from every service's error to an HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// A refusal or failure, as the API answers it.
#[derive(Debug, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code (`not-found`, `forbidden`, `invalid`…), also the `type` URI's last part.
    pub code: &'static str,
    /// What happened, for a person; never a secret, never internals.
    pub detail: String,
    /// Seconds to wait (429, 423), sent as `Retry-After`.
    pub retry_after: Option<i64>,
}

/// The problem+json document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemBody {
    /// `urn:simforge:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened.
    pub detail: String,
    /// The stable code.
    pub code: String,
}

impl Problem {
    /// A problem with this status, code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 422 `invalid`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail)
    }

    /// 404 `not-found` (also what another tenant's resource looks like).
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", what)
    }

    /// 403 `forbidden`.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role may not do this",
        )
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in (POST /api/v1/session) or send an API token (Authorization: Bearer)",
        )
    }

    /// 409 `conflict`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 500 `internal`: the detail is logged, the caller sees none of it.
    pub fn internal(e: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %simforge_smdp::error::ErrorChain(e), "API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the platform could not do this now; the failure is logged",
        )
    }

    /// 429 `quota`: a tenant quota would be exceeded (with `Retry-After` when waiting helps).
    pub fn quota(e: simforge_factory::quotas::Exceeded) -> Self {
        let p = Self::new(StatusCode::TOO_MANY_REQUESTS, "quota", e.what);
        match e.retry_after {
            Some(s) => p.retry_after(s),
            None => p,
        }
    }

    /// With a `Retry-After`.
    #[must_use]
    pub fn retry_after(mut self, secs: i64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// The document.
    pub fn body(&self) -> ProblemBody {
        ProblemBody {
            kind: format!("urn:simforge:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut r = (self.status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(v) = self
            .retry_after
            .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

impl From<simforge_factory::Error> for Problem {
    fn from(e: simforge_factory::Error) -> Self {
        use simforge_factory::ErrorKind as K;
        match e.kind() {
            K::Input | K::Verify => Self::invalid(e.to_string()),
            K::Conflict => Self::conflict(e.to_string()),
            K::NotFound => Self::not_found(e.to_string()),
            K::Failure => Self::internal(&e),
        }
    }
}

impl From<simforge_esim::Error> for Problem {
    fn from(e: simforge_esim::Error) -> Self {
        use simforge_esim::ErrorKind as K;
        match e.kind() {
            K::Invalid => Self::invalid(e.to_string()),
            K::Conflict => Self::conflict(e.to_string()),
            K::NotFound => Self::not_found(e.to_string()),
            _ => Self::internal(&e),
        }
    }
}

impl Problem {
    /// An access error; a lock or throttle says when it ends (`until - now`, `now` the API's
    /// clock) in `Retry-After`.
    pub fn access(e: simforge_access::Error, now: i64) -> Self {
        use simforge_access::Error as E;
        match e {
            E::Locked(until) | E::Throttled(until) => Self::from(e).retry_after(until - now),
            e => Self::from(e),
        }
    }
}

impl From<simforge_access::Error> for Problem {
    fn from(e: simforge_access::Error) -> Self {
        use simforge_access::Error as E;
        match &e {
            E::UnknownRole(_) | E::WeakPassword(_) | E::Invalid(_) => Self::invalid(e.to_string()),
            E::BadCredentials | E::Unauthenticated => {
                Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
            }
            E::TotpRequired => Self::new(StatusCode::UNAUTHORIZED, "totp-required", e.to_string()),
            E::Locked(_) => Self::new(StatusCode::LOCKED, "locked", e.to_string()),
            E::Throttled(_) => Self::new(StatusCode::TOO_MANY_REQUESTS, "throttled", e.to_string()),
            E::Exists(_) => Self::conflict(e.to_string()),
            E::NotFound(_) => Self::not_found(e.to_string()),
            E::Hash | E::Random | E::Vault(_) | E::Store(_) => Self::internal(&e),
        }
    }
}

impl From<simforge_store::StoreError> for Problem {
    fn from(e: simforge_store::StoreError) -> Self {
        match simforge_factory::store_kind(&e) {
            simforge_factory::ErrorKind::NotFound => Self::not_found(e.to_string()),
            simforge_factory::ErrorKind::Conflict => Self::conflict(e.to_string()),
            _ => Self::internal(&e),
        }
    }
}

impl From<simforge_smdp::Error> for Problem {
    fn from(e: simforge_smdp::Error) -> Self {
        use simforge_smdp::Error as E;
        match (&e, e.status_code()) {
            (E::IccidUnknown, _) => Self::not_found(e.to_string()),
            (_, Some(code)) => Self::new(
                StatusCode::CONFLICT,
                "refused",
                format!("{e} (SGP.22 status {code})"),
            ),
            (_, None) => Self::internal(&e),
        }
    }
}
