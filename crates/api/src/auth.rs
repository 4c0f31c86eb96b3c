//! Who is calling and may they: the one middleware every routed request goes through.
//!
//! 1. The principal: an API token (`Authorization: Bearer sf_…`) or a session cookie
//!    ([`SESSION_COOKIE`]); with a cookie, a state-changing request must carry the session's
//!    CSRF token in [`CSRF_HEADER`] (a token is not ambient, so it needs none).
//! 2. The route's [`Need`](crate::policy::Need) from [`crate::policy::ROUTES`]: 401 without a
//!    principal, 404 for another tenant's (or an unknown) tenant, 403 for a role that may not.
//! 3. After the handler: every state-changing request of a principal (but the login, which
//!    the access service records itself) is appended to the audit log with its outcome.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use simforge_access::{Principal, Secret};
use simforge_audit::{AuditLog as _, Draft, Outcome};
use simforge_store::Operator;
use subtle::ConstantTimeEq;

use crate::policy::{self, Need};
use crate::{Api, Problem};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "simforge_session";
/// The header carrying the CSRF token of a cookie session.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF token of a session: derived from its secret (which only the cookie holds), so the
/// server keeps nothing more and another site cannot know it.
#[must_use]
pub fn csrf_token(session: &Secret) -> String {
    let mut h = Sha256::new();
    h.update(b"simforge csrf v1\0");
    h.update(session.expose().as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// What the middleware found, for the handlers.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The principal, if authenticated.
    pub principal: Option<Principal>,
    /// The session secret, when authenticated by cookie (for logout).
    pub session: Option<Secret>,
    /// The client's address.
    pub source: Option<String>,
}

impl Caller {
    /// The principal (the middleware guarantees one on non-public routes).
    ///
    /// # Errors
    /// 401 without one.
    pub fn principal(&self) -> Result<&Principal, Problem> {
        self.principal.as_ref().ok_or_else(Problem::unauthenticated)
    }

    /// The audit actor.
    #[must_use]
    pub fn actor(&self) -> simforge_audit::Actor {
        match &self.principal {
            Some(p) => match p.actor.split_once(':') {
                Some((kind, id)) => simforge_audit::Actor::named(kind, id),
                None => simforge_audit::Actor::named("api", &p.actor),
            },
            None => simforge_audit::Actor::named("api", "anonymous"),
        }
    }
}

/// The tenant named in the path, once the caller may act on it.
#[derive(Clone, Debug)]
pub struct Tenant(pub Operator);

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether a request of method `m` changes state (needs the CSRF token with a cookie, and is
/// audited).
#[must_use]
pub fn state_changing(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The principal of a request: a bearer token, else the session cookie (with the CSRF token in
/// [`CSRF_HEADER`] on a state-changing request; the console copies its forms' hidden field
/// there), else none.
///
/// # Errors
/// 401 for an unknown, expired or revoked token or session; 403 `csrf` without the token.
pub async fn principal(
    api: &Api,
    headers: &HeaderMap,
    method: &Method,
    now: i64,
) -> Result<(Option<Principal>, Option<Secret>), Problem> {
    if let Some(t) = bearer(headers) {
        let p = api.access.authenticate_token(&Secret::new(t), now).await?;
        return Ok((Some(p), None));
    }
    let Some(c) = cookie(headers, SESSION_COOKIE) else {
        return Ok((None, None));
    };
    let session = Secret::new(c);
    let p = api.access.authenticate_session(&session, now).await?;
    if state_changing(method) {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let want = csrf_token(&session);
        if !bool::from(sent.as_bytes().ct_eq(want.as_bytes())) {
            return Err(Problem::new(
                axum::http::StatusCode::FORBIDDEN,
                "csrf",
                format!(
                    "a state-changing request with a session cookie needs its {CSRF_HEADER} header (returned at login)"
                ),
            ));
        }
    }
    Ok((Some(p), Some(session)))
}

/// Whether principal `p` may do what `need` says, on the tenant named by the `tenant` path
/// parameter of `params`: the tenant when the need names one.
///
/// # Errors
/// 401 without a principal, 404 for an unknown or another tenant, 403 for a role the policy
/// refuses, 429 over the tenant's `api_rps` quota.
pub async fn check(
    api: &Api,
    need: Need,
    params: &RawPathParams,
    p: Option<&Principal>,
) -> Result<Option<Operator>, Problem> {
    let principal = || p.ok_or_else(Problem::unauthenticated);
    match need {
        Need::Public => Ok(None),
        Need::Authenticated => principal().map(|_| None),
        Need::Platform(a) => match principal()?.may(a, None) {
            true => Ok(None),
            false => Err(Problem::forbidden()),
        },
        Need::Tenant(a) => {
            let p = principal()?;
            let name = params
                .iter()
                .find(|(k, _)| *k == "tenant")
                .map(|(_, v)| v)
                .unwrap_or_default();
            let unknown = || Problem::not_found(format!("tenant {name}"));
            let op = match api.store.operator(name).await {
                Ok(op) => op,
                Err(simforge_store::StoreError::NotFound(_)) => return Err(unknown()),
                Err(e) => return Err(e.into()),
            };
            if !p.role.is_platform() && p.tenant != Some(op.id) {
                return Err(unknown());
            }
            if !p.may(a, Some(op.id)) {
                return Err(Problem::forbidden());
            }
            let rps = api.store.quotas(op.id).await?.api_rps;
            if let Some(rps) = rps.filter(|rps| !api.rate_ok(op.id, *rps, api.now())) {
                return Err(Problem::new(
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "quota",
                    format!("tenant {name}: more than {rps} API requests per second"),
                )
                .retry_after(1));
            }
            Ok(Some(op))
        }
    }
}

/// The middleware: principal, policy, then the handler, then the audit entry.
pub async fn authorize(
    State(api): State<Api>,
    matched: MatchedPath,
    params: RawPathParams,
    mut req: Request,
    next: Next,
) -> Response {
    let now = api.now();
    let method = req.method().clone();
    let route = matched.as_str().to_owned();
    let path = req.uri().path().to_owned();
    let source = source(&api, &req);
    let Some(rule) = policy::find(method.as_str(), &route) else {
        tracing::error!(%method, %route, "route without a policy");
        return Problem::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "no-policy",
            "this route has no access policy",
        )
        .into_response();
    };
    let mut caller = Caller {
        principal: None,
        session: None,
        source: source.clone(),
    };
    let mut tenant_id = None;
    let headers = req.headers().clone();
    let response = match principal(&api, &headers, &method, now).await {
        Err(p) if rule.need != Need::Public => p.into_response(),
        found => {
            if let Ok((p, s)) = found {
                caller.principal = p;
                caller.session = s;
            }
            match check(&api, rule.need, &params, caller.principal.as_ref()).await {
                Err(p) => p.into_response(),
                Ok(op) => {
                    tenant_id = op.as_ref().map(|o| o.id);
                    if let Some(op) = op {
                        req.extensions_mut().insert(Tenant(op));
                    }
                    req.extensions_mut().insert(caller.clone());
                    next.run(req).await
                }
            }
        }
    };
    let response = as_problem(response).await;
    // Recorded: every state-changing call by a principal (the login records itself, throttled;
    // a call without valid credentials is by no one, and recording each would let anyone grow
    // the chain).
    let login = method == Method::POST && route == "/api/v1/session";
    if state_changing(&method) && !login {
        record(
            &api,
            &caller,
            tenant_id,
            &format!("api.{method} {route}"),
            path,
            response.status(),
        )
        .await;
    }
    response
}

/// Appends a front door's state-changing call to the audit log: `action` (the door, method
/// and route template, e.g. `api.POST /api/v1/…`), on `target` (the path), with its outcome
/// from `status`. A call without a principal is not recorded (anyone could grow the chain
/// with them).
pub async fn record(
    api: &Api,
    caller: &Caller,
    tenant: Option<i64>,
    action: &str,
    target: String,
    status: axum::http::StatusCode,
) {
    let Some(p) = &caller.principal else { return };
    let mut d = Draft::new(api.now(), caller.actor().as_str(), action, target);
    d.tenant = tenant.or(p.tenant);
    d.source.clone_from(&caller.source);
    d.outcome = match status.as_u16() {
        200..=399 => Outcome::Ok,
        401 | 403 => Outcome::Denied,
        s => Outcome::Failed(format!("http-{s}")),
    };
    d = d.detail("status", status.as_u16());
    if let Err(e) = api.store.append(d).await {
        tracing::error!(error = %e, "audit entry of a call not written");
    }
}

/// The client's address of a request: the TCP peer, or behind a trusted proxy the client it
/// names.
#[must_use]
pub fn source(api: &Api, req: &Request) -> Option<String> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| {
        api.config
            .trusted_proxies
            .client_addr(c.0.ip(), req.headers())
            .to_string()
    })
}

/// A refusal that is not yet problem+json (axum's own: a body that is not the JSON asked for,
/// a path or query parameter that does not parse, a wrong content type, a body too large)
/// becomes one, keeping its status and its message.
async fn as_problem(r: Response) -> Response {
    let status = r.status();
    let is_problem = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return r;
    }
    let body = axum::body::to_bytes(r.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let code = match status.as_u16() {
        413 => "too-large",
        415 => "unsupported-media-type",
        405 => "method-not-allowed",
        s if s >= 500 => "internal",
        _ => "invalid",
    };
    let detail = String::from_utf8_lossy(&body).trim().to_owned();
    let detail = match detail.is_empty() {
        true => status.canonical_reason().unwrap_or("refused").to_owned(),
        false => detail,
    };
    Problem::new(status, code, detail).into_response()
}
