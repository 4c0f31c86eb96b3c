//! # simforge-console
//!
//! The operator console: the platform in a web browser, a front door beside the operator API
//! on the admin listener (`/console/…`). Pages are rendered on the server (maud templates,
//! compiled into the binary); the stylesheet and the one small script are embedded
//! ([`assets`]); nothing is fetched from elsewhere (SIM factories are often air-gapped).
//!
//! No workflow is written here, and no second access policy:
//! - every console route names the API route whose policy it shares ([`ROUTES`]); [`gate`]
//!   looks it up in `simforge_api::policy::ROUTES` and runs the API's own checks
//!   (`simforge_api::auth::{principal, check}`: session, role, tenant — 404 across tenants —,
//!   quota) before any page handler;
//! - the session is the API's (the same cookie, set by the same login call); every form
//!   carries the session's CSRF token (the API's derivation) in a hidden field, which [`gate`]
//!   checks as the API checks its header;
//! - pages read and write through `simforge_api::ops`, the calls the API's handlers make;
//! - every state-changing call is appended to the audit log by `simforge_api::auth::record`.
//!
//! Security headers on every answer: a Content-Security-Policy of `default-src 'self'` (no
//! inline script or style), no framing, no caching of pages, no referrer across origins.

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest as _, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Redirect, Response};
use axum::routing::get;
use simforge_api::auth::{self, CSRF_HEADER, Caller};
use simforge_api::policy::Need;
use simforge_api::{Api, Problem};

pub mod assets;
mod audit;
mod batches;
mod bulk;
mod html;
mod inventory;
mod session;
mod settings;

/// Where the console lives.
pub const BASE: &str = "/console";

/// The name of a form's CSRF field.
pub const CSRF_FIELD: &str = "_csrf";

/// One console route and the API route whose policy it shares.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The HTTP method.
    pub method: &'static str,
    /// The path template, as routed.
    pub path: &'static str,
    /// The API route (method, path template) whose row of `simforge_api::policy::ROUTES` is
    /// this route's policy; `None`: public (the login page, the assets).
    pub policy: Option<(&'static str, &'static str)>,
}

const fn c(
    method: &'static str,
    path: &'static str,
    policy: (&'static str, &'static str),
) -> Route {
    Route {
        method,
        path,
        policy: Some(policy),
    }
}

const fn public(method: &'static str, path: &'static str) -> Route {
    Route {
        method,
        path,
        policy: None,
    }
}

macro_rules! api {
    ($m:literal, $p:literal) => {
        ($m, concat!("/api/v1/tenants/{tenant}", $p))
    };
}

/// Every console route and its policy (the API route it stands for). A route missing here
/// answers 500 (and the tests fail); a policy route missing from the API's table too.
pub const ROUTES: &[Route] = &[
    public("GET", "/console"),
    public("GET", "/console/login"),
    public("POST", "/console/login"),
    public("GET", "/console/assets/{file}"),
    c("POST", "/console/logout", ("DELETE", "/api/v1/session")),
    c("GET", "/console/tenants", ("GET", "/api/v1/tenants")),
    c("POST", "/console/tenants", ("POST", "/api/v1/tenants")),
    c("GET", "/console/account", ("GET", "/api/v1/me")),
    c("GET", "/console/platform/users", ("GET", "/api/v1/users")),
    c("POST", "/console/platform/users", ("POST", "/api/v1/users")),
    c(
        "POST",
        "/console/platform/users/{username}/unlock",
        ("POST", "/api/v1/users/{username}/unlock"),
    ),
    c(
        "POST",
        "/console/platform/tokens",
        ("POST", "/api/v1/tokens"),
    ),
    c(
        "POST",
        "/console/platform/tokens/{id}/revoke",
        ("DELETE", "/api/v1/tokens/{id}"),
    ),
    c("GET", "/console/t/{tenant}/quotas", api!("GET", "/quotas")),
    c("POST", "/console/t/{tenant}/quotas", api!("PUT", "/quotas")),
    c(
        "POST",
        "/console/account/logout-everywhere",
        ("POST", "/api/v1/me/logout-everywhere"),
    ),
    c(
        "POST",
        "/console/account/password",
        ("POST", "/api/v1/me/password"),
    ),
    c("POST", "/console/account/totp", ("POST", "/api/v1/me/totp")),
    c(
        "POST",
        "/console/account/totp/confirm",
        ("PUT", "/api/v1/me/totp"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/batches/{id}/import",
        api!("POST", "/inventory/import"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/es2/client-certs",
        api!("POST", "/credentials/client-certs"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/es2/callback",
        api!("PUT", "/callback"),
    ),
    c("GET", "/console/audit", ("GET", "/api/v1/audit")),
    c("GET", "/console/t/{tenant}", api!("GET", "/summary")),
    c(
        "GET",
        "/console/t/{tenant}/profiles",
        api!("GET", "/profiles"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/profiles.csv",
        api!("GET", "/profiles"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/profiles/{iccid}",
        api!("GET", "/profiles/{iccid}"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/profiles/{iccid}/qr.svg",
        api!("GET", "/profiles/{iccid}/activation-code"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/profiles/{iccid}/release",
        api!("POST", "/profiles/{iccid}/release"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/profiles/{iccid}/release",
        api!("POST", "/profiles/{iccid}/release"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/profiles/{iccid}/cancel",
        api!("POST", "/profiles/{iccid}/cancel-order"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/profiles/{iccid}/cancel",
        api!("POST", "/profiles/{iccid}/cancel-order"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/profiles/{iccid}/order",
        api!("POST", "/profiles/{iccid}/download-order"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/profiles/{iccid}/order",
        api!("POST", "/profiles/{iccid}/download-order"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/profiles/{iccid}/confirm",
        api!("POST", "/profiles/{iccid}/confirm-order"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/profiles/{iccid}/confirm",
        api!("POST", "/profiles/{iccid}/confirm-order"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/profiles/{iccid}/reset",
        api!("POST", "/profiles/{iccid}/reset"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/profiles/{iccid}/reset",
        api!("POST", "/profiles/{iccid}/reset"),
    ),
    c("GET", "/console/t/{tenant}/bulk", api!("POST", "/releases")),
    c(
        "GET",
        "/console/t/{tenant}/bulk/release",
        api!("POST", "/releases"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/bulk/release",
        api!("POST", "/releases"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/bulk/codes.csv",
        api!("GET", "/activation-codes"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/bulk/codes.zip",
        api!("GET", "/activation-codes"),
    ),
    c("GET", "/console/t/{tenant}/audit", api!("GET", "/audit")),
    c(
        "GET",
        "/console/t/{tenant}/batches",
        api!("GET", "/batches"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/batches/preview",
        api!("POST", "/orders/validate"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/batches",
        api!("POST", "/batches"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/batches/{id}",
        api!("GET", "/batches/{id}/files"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/jobs/{id}",
        api!("GET", "/jobs/{id}"),
    ),
    c("GET", "/console/t/{tenant}/keys", api!("GET", "/keys")),
    c("POST", "/console/t/{tenant}/keys", api!("POST", "/keys")),
    c("GET", "/console/t/{tenant}/users", api!("GET", "/users")),
    c("POST", "/console/t/{tenant}/users", api!("POST", "/users")),
    c(
        "POST",
        "/console/t/{tenant}/users/{username}/unlock",
        api!("POST", "/users/{username}/unlock"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/tokens",
        api!("POST", "/tokens"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/tokens/{id}/revoke",
        api!("DELETE", "/tokens/{id}"),
    ),
    c(
        "GET",
        "/console/t/{tenant}/es2",
        api!("GET", "/credentials"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/es2/keys",
        api!("POST", "/credentials"),
    ),
    c(
        "POST",
        "/console/t/{tenant}/es2/{id}/revoke",
        api!("DELETE", "/credentials/{id}"),
    ),
];

/// The console route of `method` and `path` (a template).
#[must_use]
pub fn find(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// What route `r` needs: its API route's need (`None` when that route is missing from the
/// API's table: refused).
#[must_use]
pub fn need(r: &Route) -> Option<Need> {
    match r.policy {
        None => Some(Need::Public),
        Some((m, p)) => simforge_api::policy::find(m, p).map(|a| a.need),
    }
}

/// Whether the caller may call API route `(method, path)` on tenant `tenant` (the same
/// table): what decides which buttons and links a page shows.
#[must_use]
pub fn may(caller: &Caller, tenant: Option<i64>, method: &str, path: &str) -> bool {
    let Some(p) = &caller.principal else {
        return false;
    };
    match simforge_api::policy::find(method, path).map(|r| r.need) {
        Some(Need::Public | Need::Authenticated) => true,
        Some(Need::Platform(a)) => p.may(a, None),
        Some(Need::Tenant(a)) => p.may(a, tenant),
        None => false,
    }
}

/// The console's router: every page behind [`gate`], for the API's state.
pub fn router(api: Api) -> Router {
    use axum::routing::post;
    Router::new()
        .route("/console", get(session::home))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/assets/{file}", get(assets::serve))
        .route(
            "/console/tenants",
            get(session::tenants).post(session::create_tenant),
        )
        .route("/console/audit", get(audit::platform))
        .route("/console/t/{tenant}", get(inventory::dashboard))
        .route("/console/t/{tenant}/profiles", get(inventory::search))
        .route("/console/t/{tenant}/profiles.csv", get(inventory::export))
        .route(
            "/console/t/{tenant}/profiles/{iccid}",
            get(inventory::profile),
        )
        .route(
            "/console/t/{tenant}/profiles/{iccid}/qr.svg",
            get(inventory::qr),
        )
        .route(
            "/console/t/{tenant}/profiles/{iccid}/{action}",
            get(inventory::confirm).post(inventory::act),
        )
        .route("/console/t/{tenant}/bulk", get(bulk::page))
        .route(
            "/console/t/{tenant}/bulk/release",
            get(bulk::confirm).post(bulk::release),
        )
        .route("/console/t/{tenant}/bulk/codes.csv", get(bulk::codes_csv))
        .route("/console/t/{tenant}/bulk/codes.zip", get(bulk::codes_zip))
        .route("/console/t/{tenant}/audit", get(audit::tenant))
        .route(
            "/console/t/{tenant}/batches",
            get(batches::list).post(batches::generate),
        )
        .route(
            "/console/t/{tenant}/batches/preview",
            post(batches::preview),
        )
        .route("/console/t/{tenant}/batches/{id}", get(batches::batch))
        .route(
            "/console/t/{tenant}/batches/{id}/import",
            post(batches::import),
        )
        .route("/console/t/{tenant}/jobs/{id}", get(batches::job))
        .route(
            "/console/t/{tenant}/keys",
            get(settings::keys).post(settings::import_key),
        )
        .route(
            "/console/t/{tenant}/users",
            get(settings::people).post(settings::create_user),
        )
        .route(
            "/console/t/{tenant}/users/{username}/unlock",
            post(settings::unlock),
        )
        .route("/console/t/{tenant}/tokens", post(settings::create_token))
        .route(
            "/console/t/{tenant}/tokens/{id}/revoke",
            post(settings::revoke_token),
        )
        .route("/console/t/{tenant}/es2", get(settings::es2))
        .route(
            "/console/t/{tenant}/es2/client-certs",
            post(settings::register_client_cert),
        )
        .route("/console/account", get(session::account))
        .route(
            "/console/platform/users",
            get(settings::platform_people).post(settings::create_platform_user),
        )
        .route(
            "/console/platform/users/{username}/unlock",
            post(settings::unlock_platform_user),
        )
        .route(
            "/console/platform/tokens",
            post(settings::create_platform_token),
        )
        .route(
            "/console/platform/tokens/{id}/revoke",
            post(settings::revoke_platform_token),
        )
        .route(
            "/console/t/{tenant}/quotas",
            get(settings::quotas).post(settings::set_quotas),
        )
        .route(
            "/console/account/logout-everywhere",
            post(session::logout_everywhere),
        )
        .route("/console/account/password", post(session::change_password))
        .route("/console/account/totp", post(session::begin_totp))
        .route("/console/account/totp/confirm", post(session::confirm_totp))
        .route(
            "/console/t/{tenant}/es2/callback",
            post(settings::set_callback),
        )
        .route(
            "/console/t/{tenant}/es2/keys",
            post(settings::create_api_key),
        )
        .route(
            "/console/t/{tenant}/es2/{id}/revoke",
            post(settings::revoke_credential),
        )
        .route_layer(axum::middleware::from_fn_with_state(api.clone(), gate))
        .layer(axum::Extension(std::sync::Arc::new(
            audit::ChainCheck::default(),
        )))
        .layer(axum::extract::DefaultBodyLimit::max(simforge_api::MAX_BODY))
        .layer(axum::middleware::from_fn(headers))
        .with_state(api)
}

/// The console with `/` redirecting to it: what `simforge serve` mounts beside the API on
/// the admin listener.
pub fn beside_api(api: Api) -> Router {
    router(api).route("/", get(|| async { Redirect::to(BASE) }))
}

/// The console and the API on one router, `/` redirecting to the console.
pub fn with_api(api: Api) -> Router {
    beside_api(api.clone()).merge(simforge_api::router(api))
}

/// The security headers of every console answer.
async fn headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

/// The CSRF token a form sent in its [`CSRF_FIELD`] (an URL-encoded or multipart body, read
/// whole within the body limit), and the body again for the handler.
async fn form_csrf(req: Request) -> Result<(Option<String>, Request), Problem> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, simforge_api::MAX_BODY)
        .await
        .map_err(|_| Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "form too large"))?;
    let ctype = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut found = None;
    if ctype.starts_with("application/x-www-form-urlencoded") {
        #[derive(serde::Deserialize)]
        struct F {
            #[serde(rename = "_csrf")]
            csrf: Option<String>,
        }
        let req = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
        if let Ok(axum::Form(f)) = axum::Form::<F>::from_request(req, &()).await {
            found = f.csrf;
        }
    } else if ctype.starts_with("multipart/form-data") {
        let req = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
        if let Ok(mut m) = axum::extract::Multipart::from_request(req, &()).await {
            while let Ok(Some(field)) = m.next_field().await {
                if field.name() == Some(CSRF_FIELD) {
                    found = field.text().await.ok();
                    break;
                }
            }
        }
    }
    Ok((found, Request::from_parts(parts, Body::from(bytes))))
}

/// The console's gate, the API's checks: the route's policy (its API route's row), the
/// principal (session cookie; a form's CSRF field checked as the API checks its header), the
/// need (401: to the login page; 403; 404 across tenants), then the page, then the audit
/// entry of a state-changing call.
pub async fn gate(
    State(api): State<Api>,
    matched: MatchedPath,
    params: RawPathParams,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let template = matched.as_str().to_owned();
    // One axum route serves the three confirmed actions; its policy is the action's.
    let route = match template.as_str() {
        "/console/t/{tenant}/profiles/{iccid}/{action}" => {
            let action = params
                .iter()
                .find(|(k, _)| *k == "action")
                .map(|(_, v)| v)
                .unwrap_or_default();
            format!("/console/t/{{tenant}}/profiles/{{iccid}}/{action}")
        }
        _ => template,
    };
    let Some(need) = find(method.as_str(), &route).and_then(need) else {
        if route != matched.as_str() {
            return html::error_page(&Problem::not_found("no such page"), None);
        }
        tracing::error!(%method, %route, "console route without a policy");
        let p = Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no-policy",
            "this page has no access policy",
        );
        return html::error_page(&p, None);
    };
    let path = req.uri().path().to_owned();
    let mut req = req;
    // A bearer token is the API's; the console is for people with a session.
    req.headers_mut().remove(header::AUTHORIZATION);
    // A form of no one is refused before its body is read: the session first (its CSRF
    // token, in the body, is checked below).
    if need != Need::Public && auth::state_changing(&method) {
        let anyone = auth::principal(&api, req.headers(), &axum::http::Method::GET, api.now());
        if !matches!(anyone.await, Ok((Some(_), _))) {
            return session::to_login(None);
        }
    }
    if auth::state_changing(&method) {
        match form_csrf(req).await {
            Ok((sent, r)) => {
                req = r;
                req.headers_mut().remove(CSRF_HEADER);
                if let Some(v) = sent.and_then(|s| HeaderValue::from_str(&s).ok()) {
                    req.headers_mut().insert(CSRF_HEADER, v);
                }
            }
            Err(p) => return html::error_page(&p, None),
        }
    }
    let mut caller = Caller {
        principal: None,
        session: None,
        source: auth::source(&api, &req),
    };
    let found = auth::principal(&api, req.headers(), &method, api.now()).await;
    let mut tenant = None;
    let response = match found {
        Err(p) if need != Need::Public => refusal(&p, &path, &caller),
        found => {
            if let Ok((p, s)) = found {
                caller.principal = p;
                caller.session = s;
            }
            match auth::check(&api, need, &params, caller.principal.as_ref()).await {
                Err(p) => refusal(&p, &path, &caller),
                Ok(op) => {
                    tenant = op.as_ref().map(|o| o.id);
                    if let Some(op) = op {
                        req.extensions_mut().insert(auth::Tenant(op));
                    }
                    req.extensions_mut().insert(caller.clone());
                    next.run(req).await
                }
            }
        }
    };
    if auth::state_changing(&method) && route != "/console/login" {
        auth::record(
            &api,
            &caller,
            tenant,
            &format!("console.{method} {route}"),
            path,
            response.status(),
        )
        .await;
    }
    response
}

/// A refusal of the gate as a page: without a session, the login page (and back here after).
fn refusal(p: &Problem, path: &str, caller: &Caller) -> Response {
    if p.status == StatusCode::UNAUTHORIZED {
        return session::to_login(Some(path));
    }
    html::error_page(p, Some(&html::Ctx::new(caller, None)))
}
