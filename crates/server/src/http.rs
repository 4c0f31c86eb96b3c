//! The HTTP binding of ES9+ and ES2+ (SGP.22 §6.5).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode as Http, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use simforge_asn1::StatusCode;
use simforge_asn1::json::{self, HeaderOnlyResponse, RequestHeader};
use simforge_asn1::status::ResponseHeader;
use simforge_smdp::{Error as SmdpError, Event, OperatorId, Smdp, SmdpStore};

use crate::metrics::Metrics;

/// Largest request body accepted (a PrepareDownloadResponse or PIR is a few kB).
pub const MAX_BODY: usize = 64 * 1024;
pub(crate) const ADMIN_PROTOCOL: &str = "gsma/rsp/v2.2.0";
const API_KEY_HEADER: &str = "x-api-key";

/// An operator as ES2+ authenticates it.
#[derive(Clone, Debug)]
pub struct OperatorCredential {
    /// The tenant.
    pub operator_id: OperatorId,
    /// The functionRequesterIdentifier it must use.
    pub requester_id: String,
}

/// Shared state of the handlers.
pub struct AppState<S> {
    /// The SM-DP+.
    pub smdp: Smdp<S>,
    /// ES2+ credentials by SHA-256 (hex) of the API key.
    pub operators: HashMap<String, OperatorCredential>,
    /// Metrics.
    pub metrics: Metrics,
}

impl<S> AppState<S> {
    /// The key under which an API key is registered.
    #[must_use]
    pub fn api_key_id(key: &str) -> String {
        hex::encode(Sha256::digest(key.as_bytes()))
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn json_response<T: Serialize>(http: Http, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = (http, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    h.insert("x-admin-protocol", HeaderValue::from_static(ADMIN_PROTOCOL));
    r
}

fn failed(code: &StatusCode, message: &str) -> Response {
    json_response(
        Http::OK,
        &HeaderOnlyResponse {
            header: ResponseHeader::failed(code, Some(message.to_owned())),
        },
    )
}

fn result_label(e: &SmdpError) -> String {
    e.status_code()
        .map_or_else(|| "internal".to_owned(), |c| c.to_string())
}

fn error_response(e: &SmdpError) -> Response {
    match e.status_code() {
        Some(c) => failed(&c, &e.to_string()),
        None => {
            tracing::error!(error = %e, "internal error");
            let mut r = failed(
                &StatusCode::MANDATORY_ELEMENT_MISSING,
                "temporarily unavailable",
            );
            *r.status_mut() = Http::SERVICE_UNAVAILABLE;
            r
        }
    }
}

#[allow(clippy::result_large_err)] // built only on the error path
fn check_headers(headers: &HeaderMap, need_admin: bool) -> Result<(), Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .trim()
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(failed(
            &StatusCode::BAD_CONTENT_TYPE,
            "Content-Type must be application/json",
        ));
    }
    if need_admin {
        let ap = headers
            .get("x-admin-protocol")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ap.starts_with("gsma/rsp/v2.") {
            return Err(failed(
                &StatusCode::UNSUPPORTED_ADMIN_PROTOCOL,
                "unsupported X-Admin-Protocol",
            ));
        }
    }
    Ok(())
}

#[allow(clippy::result_large_err)]
async fn read_body<T: DeserializeOwned>(body: Body) -> Result<T, Response> {
    let bytes: Bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        failed(
            &StatusCode::MANDATORY_ELEMENT_MISSING,
            "request body too large or unreadable",
        )
    })?;
    json::from_json(&bytes)
        .map_err(|e| failed(&StatusCode::MANDATORY_ELEMENT_MISSING, &e.to_string()))
}

fn events_to_metrics(metrics: &Metrics, events: &[Event]) {
    for e in events {
        if let Event::DownloadProgress {
            point: 4, failure, ..
        } = e
        {
            metrics.download(if failure.is_none() {
                "installed"
            } else {
                "install_failed"
            });
        }
    }
}

async fn es9<S: SmdpStore + 'static>(
    State(st): State<Arc<AppState<S>>>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    if let Err(r) = check_headers(&headers, true) {
        st.metrics
            .observe(&function, "bad_request", started.elapsed());
        return r;
    }
    let t = now();
    let s = &st.smdp;
    macro_rules! call {
        ($req:ty, $method:ident, $ok:expr) => {{
            match read_body::<$req>(body).await {
                Err(r) => {
                    st.metrics.observe(&function, "malformed", started.elapsed());
                    r
                }
                Ok(req) => match s.$method(&req, t).await {
                    Ok((resp, events)) => {
                        events_to_metrics(&st.metrics, &events);
                        st.metrics.observe(&function, "success", started.elapsed());
                        #[allow(clippy::redundant_closure_call)]
                        ($ok)(resp)
                    }
                    Err(e) => {
                        tracing::info!(function = %function, error = %e, "ES9+ call failed");
                        let label = result_label(&e);
                        if function == "getBoundProfilePackage" || function == "authenticateClient" {
                            st.metrics.download(&label);
                        }
                        st.metrics.observe(&function, &label, started.elapsed());
                        if function == "handleNotification" && e.status_code().is_some() {
                            Http::NO_CONTENT.into_response()
                        } else {
                            error_response(&e)
                        }
                    }
                },
            }
        }};
    }
    match function.as_str() {
        "initiateAuthentication" => call!(
            json::InitiateAuthenticationRequest,
            initiate_authentication,
            |r: json::InitiateAuthenticationResponse| {
                if let Some(t) = &r.transaction_id {
                    tracing::info!(transaction_id = %t, "session initiated");
                }
                json_response(Http::OK, &r)
            }
        ),
        "authenticateClient" => call!(
            json::AuthenticateClientRequest,
            authenticate_client,
            |r: json::AuthenticateClientResponse| json_response(Http::OK, &r)
        ),
        "getBoundProfilePackage" => call!(
            json::GetBoundProfilePackageRequest,
            get_bound_profile_package,
            |r: json::GetBoundProfilePackageResponse| json_response(Http::OK, &r)
        ),
        "handleNotification" => call!(
            json::HandleNotificationRequest,
            handle_notification,
            |(): ()| Http::NO_CONTENT.into_response()
        ),
        "cancelSession" => call!(
            json::CancelSessionRequest,
            cancel_session,
            |r: HeaderOnlyResponse| json_response(Http::OK, &r)
        ),
        _ => (Http::NOT_FOUND, "").into_response(),
    }
}

/// What every ES2+ request has.
trait Es2Request {
    fn header(&self) -> &RequestHeader;
}
macro_rules! es2_req {
    ($($t:ty),*) => { $(impl Es2Request for $t { fn header(&self) -> &RequestHeader { &self.header } })* };
}
es2_req!(
    json::DownloadOrderRequest,
    json::ConfirmOrderRequest,
    json::CancelOrderRequest,
    json::ReleaseProfileRequest
);

async fn es2<S: SmdpStore + 'static>(
    State(st): State<Arc<AppState<S>>>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Some(cred) = headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|k| st.operators.get(&AppState::<S>::api_key_id(k)))
        .cloned()
    else {
        st.metrics
            .observe(&function, "unauthorized", started.elapsed());
        return (Http::UNAUTHORIZED, "").into_response();
    };
    if let Err(r) = check_headers(&headers, false) {
        return r;
    }
    let t = now();
    let s = &st.smdp;
    let op = cred.operator_id;
    macro_rules! call {
        ($req:ty, $method:ident) => {{
            match read_body::<$req>(body).await {
                Err(r) => r,
                Ok(req) if req.header().function_requester_identifier != cred.requester_id => {
                    let code = StatusCode::parse("1.2", "1.2").unwrap_or(StatusCode::ICCID_NOT_ALLOWED);
                    failed(&code, "functionRequesterIdentifier does not match the authenticated operator")
                }
                Ok(req) => match s.$method(op, &req, t).await {
                    Ok((resp, _)) => {
                        st.metrics.observe(&function, "success", started.elapsed());
                        json_response(Http::OK, &resp)
                    }
                    Err(e) => {
                        tracing::info!(function = %function, operator = op, error = %e, "ES2+ call failed");
                        st.metrics.observe(&function, &result_label(&e), started.elapsed());
                        error_response(&e)
                    }
                },
            }
        }};
    }
    match function.as_str() {
        "downloadOrder" => call!(json::DownloadOrderRequest, download_order),
        "confirmOrder" => call!(json::ConfirmOrderRequest, confirm_order),
        "cancelOrder" => call!(json::CancelOrderRequest, cancel_order),
        "releaseProfile" => call!(json::ReleaseProfileRequest, release_profile),
        _ => (Http::NOT_FOUND, "").into_response(),
    }
}

async fn metrics<S: SmdpStore + 'static>(State(st): State<Arc<AppState<S>>>) -> Response {
    let mut r = st.metrics.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// The router: ES9+, ES2+ and `/metrics`.
pub fn router<S: SmdpStore + 'static>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/gsma/rsp2/es9plus/{function}", post(es9::<S>))
        .route("/gsma/rsp2/es2plus/{function}", post(es2::<S>))
        .route("/metrics", get(metrics::<S>))
        .with_state(state)
}
