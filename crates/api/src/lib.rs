//! # simforge-api
//!
//! The operator platform's HTTP API (`/api/v1/…`), a front door like the command line: every
//! handler parses, calls a service of `simforge_factory`, `simforge_esim` or
//! `simforge_access`, and answers JSON or `application/problem+json` ([`problem`]). No
//! workflow is written here.
//!
//! - [`policy::ROUTES`]: every route with what it needs (public, any principal, a platform
//!   action, a tenant action); [`auth`] enforces it before any handler runs, so that a route
//!   without a policy cannot be reached, and a tenant's principal asking for another tenant's
//!   resources gets 404 (never 403: existence is not revealed).
//! - Principals: people by session (an HttpOnly, Secure, SameSite=Strict cookie; a CSRF token
//!   for every state-changing request), machines by API token (`Authorization: Bearer`).
//! - Every state-changing call is appended to the audit log (actor, tenant, route, outcome,
//!   source address), on top of what the services record.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers (utoipa), served at
//!   `/api/v1/openapi.json`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use simforge_access::Access;
use simforge_store::Store;
use simforge_vault::Vault;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub mod auth;
mod batches;
mod health;
mod inventory;
pub mod ops;
mod platform_keys;
pub mod policy;
pub mod problem;
mod session;
mod tenants;

pub use problem::Problem;

/// The largest request body (bytes): an upload of profile packages or an order file.
pub const MAX_BODY: usize = 8 << 20;

/// The time (Unix seconds), injected so that tests can move it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// What the API needs to know about the platform it fronts.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The data directory (batches are written under `batches/<operator>/`).
    pub data_dir: PathBuf,
    /// Generator threads per batch.
    pub threads: usize,
    /// The SM-DP+ address (`host[:port]`) activation codes name; `None`: no activation codes.
    pub smdp_address: Option<String>,
    /// Session cookies carry `Secure` (false only for plain-HTTP tests).
    pub secure_cookies: bool,
    /// Reverse proxies whose forwarding headers name the client (as for ES9+): the source
    /// address of logins (throttling) and of audit entries.
    pub trusted_proxies: simforge_server::TrustedProxies,
    /// The SM-DP+ whose ES2+ functions console users call (order, confirm, release,
    /// cancel); `None`: those routes answer 409.
    pub smdp: Option<Arc<simforge_esim::platform::PlatformSmdp>>,
    /// This node's key reloader (`POST /api/v1/platform/keys/reload`); `None`: the call only
    /// moves the cluster's key generation.
    pub keys: Option<Arc<simforge_esim::reload::KeyReloader>>,
}

/// The API's state: the services' handles, shared by every request.
#[derive(Clone)]
pub struct Api(Arc<Inner>);

/// See [`Api`].
pub struct Inner {
    /// The platform database.
    pub store: Store,
    /// The vault (operator keys, profile packages, TOTP secrets).
    pub vault: Arc<dyn Vault>,
    /// Users, sessions, tokens (one instance: it keeps the per-source login throttle).
    pub access: Access<Store, Store>,
    /// The configuration.
    pub config: ApiConfig,
    /// The clock.
    pub clock: Clock,
    jobs: Mutex<batches::Jobs>,
    /// Requests of each tenant in the current second (the `api_rps` quota).
    rates: Mutex<HashMap<i64, (i64, u32)>>,
    /// Each tenant's profile counts by state, when counting was slow (see
    /// [`inventory::summary_of`]).
    counts: Mutex<HashMap<i64, inventory::CachedCounts>>,
}

impl std::ops::Deref for Api {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Api {
    /// The API over `store` and `vault`, on the wall clock.
    pub fn new(store: Store, vault: Arc<dyn Vault>, config: ApiConfig) -> Self {
        Self::with_clock(
            store,
            vault,
            config,
            Arc::new(simforge_factory::clock::unix_now),
        )
    }

    /// The same on `clock`.
    pub fn with_clock(
        store: Store,
        vault: Arc<dyn Vault>,
        config: ApiConfig,
        clock: Clock,
    ) -> Self {
        let access = Access::new(store.clone(), store.clone(), vault.clone());
        Self(Arc::new(Inner {
            store,
            vault,
            access,
            config,
            clock,
            jobs: Mutex::new(HashMap::new()),
            rates: Mutex::new(HashMap::new()),
            counts: Mutex::new(HashMap::new()),
        }))
    }

    /// Now (Unix seconds).
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Counts a request of `tenant` at `now` against its `api_rps` quota: `false` when over.
    fn rate_ok(&self, tenant: i64, rps: u32, now: i64) -> bool {
        let mut rates = self
            .rates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = rates.entry(tenant).or_insert((now, 0));
        if e.0 != now {
            *e = (now, 0);
        }
        e.1 += 1;
        e.1 <= rps
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "simforge operator API",
        description = "The operator platform: tenants, users and tokens, keys, ES2+ credentials, orders and batches, the eSIM inventory, audit. Errors are application/problem+json (RFC 9457) with a stable `code`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(schemas(problem::ProblemBody)),
    modifiers(&Security),
    tags(
        (name = "session", description = "Log in and out"),
        (name = "platform", description = "Tenants (the SIM maker's administrators)"),
        (name = "people", description = "Users and API tokens"),
        (name = "keys", description = "Transport keys and OP/TOP (never readable back)"),
        (name = "es2", description = "ES2+ credentials"),
        (name = "factory", description = "Orders, batches and their files"),
        (name = "inventory", description = "The eSIM inventory"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "operations", description = "Liveness and readiness"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder};
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "token",
            utoipa::openapi::security::SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build(),
            ),
        );
        c.add_security_scheme(
            "session",
            utoipa::openapi::security::SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                auth::SESSION_COOKIE,
            ))),
        );
    }
}

fn open_router() -> OpenApiRouter<Api> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::login, session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::logout_everywhere))
        .routes(routes!(session::change_password))
        .routes(routes!(session::begin_totp, session::enroll_totp))
        .routes(routes!(tenants::list_tenants, tenants::create_tenant))
        .routes(routes!(tenants::get_tenant))
        .routes(routes!(
            tenants::list_platform_users,
            tenants::create_platform_user
        ))
        .routes(routes!(tenants::unlock_any_user))
        .routes(routes!(
            tenants::list_platform_tokens,
            tenants::create_platform_token
        ))
        .routes(routes!(tenants::revoke_platform_token))
        .routes(routes!(tenants::list_users, tenants::create_user))
        .routes(routes!(tenants::unlock_user))
        .routes(routes!(tenants::list_tokens, tenants::create_token))
        .routes(routes!(tenants::revoke_token))
        .routes(routes!(tenants::list_keys, tenants::import_key))
        .routes(routes!(
            tenants::list_credentials,
            tenants::create_credential
        ))
        .routes(routes!(tenants::revoke_credential))
        .routes(routes!(tenants::register_client_cert))
        .routes(routes!(tenants::callback_status, tenants::set_callback))
        .routes(routes!(tenants::smds_events))
        .routes(routes!(tenants::requeue_smds_event))
        .routes(routes!(tenants::tenant_audit))
        .routes(routes!(tenants::get_quotas, tenants::set_quotas))
        .routes(routes!(tenants::platform_audit))
        .routes(routes!(platform_keys::reload_keys))
        .routes(routes!(batches::validate_order))
        .routes(routes!(batches::list_batches, batches::create_batch))
        .routes(routes!(batches::get_job))
        .routes(routes!(batches::job_events))
        .routes(routes!(batches::get_batch))
        .routes(routes!(batches::release_batch))
        .routes(routes!(batches::resume_batch))
        .routes(routes!(batches::list_files))
        .routes(routes!(batches::get_file))
        .routes(routes!(inventory::import_batch))
        .routes(routes!(inventory::import_packages))
        .routes(routes!(inventory::search))
        .routes(routes!(inventory::profile))
        .routes(routes!(inventory::history))
        .routes(routes!(inventory::reset))
        .routes(routes!(inventory::activation_code))
        .routes(routes!(inventory::activation_codes))
        .routes(routes!(inventory::release_profiles))
        .routes(routes!(inventory::download_order))
        .routes(routes!(inventory::confirm_order))
        .routes(routes!(inventory::release_profile))
        .routes(routes!(inventory::cancel_order))
        .routes(routes!(inventory::summary))
        .routes(routes!(inventory::activity))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

/// The OpenAPI 3.1 document of every route.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = open_router().split_for_parts();
    doc.paths.paths.insert(
        "/api/v1/openapi.json".into(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .operation_id(Some("openapi"))
                .summary(Some("This document"))
                .tag("session")
                .response(
                    "200",
                    utoipa::openapi::ResponseBuilder::new().description("The OpenAPI document"),
                ),
        ),
    );
    describe_responses(doc)
}

/// OpenAPI requires a description on every response: the status's reason phrase where the
/// handler gave none.
fn describe_responses(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let Ok(mut v) = serde_json::to_value(&doc) else {
        return doc;
    };
    if let Some(paths) = v.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for item in paths.values_mut().filter_map(|i| i.as_object_mut()) {
            for op in item.values_mut() {
                let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut())
                else {
                    continue;
                };
                for (status, r) in responses.iter_mut() {
                    let Some(r) = r.as_object_mut() else { continue };
                    let empty = r
                        .get("description")
                        .and_then(|d| d.as_str())
                        .is_none_or(str::is_empty);
                    if empty {
                        let reason = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                            .and_then(|s| s.canonical_reason())
                            .unwrap_or("Response");
                        r.insert("description".into(), reason.into());
                    }
                }
            }
        }
    }
    serde_json::from_value(v).unwrap_or(doc)
}

/// The API's router (every route under `/api/v1`, the policy enforced, calls audited).
pub fn router(api: Api) -> Router {
    let (routes, _) = open_router().split_for_parts();
    let doc = openapi();
    routes
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            api.clone(),
            auth::authorize,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .fallback(|| async { Problem::not_found("no such route") })
        .with_state(api)
}

/// Serves the API, and `extra` routes beside it (e.g. the SM-DP+'s `/metrics`), on
/// `listener` (plain HTTP: bind it to a private address) until `shutdown` (then drains the
/// requests in flight), behind the same
/// edge as the SM-DP+'s TLS listener (connection caps, read deadlines:
/// [`simforge_server::serve_plain`]).
///
/// # Errors
/// The listener's I/O error.
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Api,
    extra: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = extra.merge(router(api));
    let timeouts = simforge_server::Timeouts::default();
    simforge_server::serve_plain_until(listener, app, timeouts, shutdown)
        .await
        .map_err(std::io::Error::other)
}
