//! The HTTP binding of ES9+ and ES2+ (SGP.22 §6.5).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode as Http, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use simforge_asn1::StatusCode;
use simforge_asn1::json::{self, Es2Function, Es9Function, HeaderOnlyResponse, RequestHeader};
use simforge_asn1::status::ResponseHeader;
use simforge_smdp::{Event, OperatorId, Smdp, SmdpStore};
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::Error;
use crate::auth::{
    ClientCertificate, CredentialCache, CredentialId, CredentialKind, OperatorCredential, PeerAddr,
    api_key_sha256,
};
use crate::limits::SourceLimits;
use crate::metrics::Metrics;

/// Largest request body accepted (a PrepareDownloadResponse or PIR is a few kB).
pub const MAX_BODY: usize = 64 * 1024;
pub(crate) const ADMIN_PROTOCOL: &str = "gsma/rsp/v2.2.0";
const API_KEY_HEADER: &str = "x-api-key";

/// Shared state of the handlers.
pub struct AppState<S> {
    /// The SM-DP+.
    pub smdp: Smdp<S>,
    /// ES2+ operator credentials (API keys, client certificates).
    pub credentials: CredentialCache,
    /// Metrics.
    pub metrics: Metrics,
    /// Per-source limits of ES9+ and the trusted proxies ([`SourceLimits::default`]: none).
    pub limits: SourceLimits,
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(crate) fn json_response<T: Serialize>(http: Http, body: &T) -> Response {
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

/// The answer to a refused or failed request: its HTTP status, an SGP.22 header (but for a
/// 404), Retry-After and `Connection: close` where they apply. An internal failure is logged
/// here with its source chain, and answered as an execution error without its text.
pub(crate) fn error_response(e: &Error) -> Response {
    if e.is_internal() {
        tracing::error!(error = %crate::error::ErrorChain(e), "internal error");
    }
    let Some(code) = e.status_code() else {
        return (e.http_status(), "").into_response();
    };
    let mut r = failed(&code, &e.peer_message());
    *r.status_mut() = e.http_status();
    if let Some(left) = e.retry_after() {
        r = retry_after(r, left);
    }
    if e.closes_connection() {
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

/// Whether `value` is an X-Admin-Protocol this SM-DP+ speaks: `gsma/rsp/v2.<y>.<z>` (SGP.22
/// §6.5.1: `gsma/rsp/v<x.y.z>`, mandatory), numbers only. Deployed LPAs and operator systems
/// send v2.0.0 to v2.5.0 (lpac v2.2.2, this project's LPA v2.2.0); every SGP.22 v2 release
/// uses the same ES9+/ES2+ JSON, so any 2.y.z is accepted and v1, v3 or anything else is not.
fn supported_admin_protocol(value: &str) -> bool {
    let Some(version) = value.trim().strip_prefix("gsma/rsp/v") else {
        return false;
    };
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 3
        && parts[0] == "2"
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The Content-Type and X-Admin-Protocol checks every ES9+ and ES2+ request goes through.
pub(crate) fn check_headers(headers: &HeaderMap) -> Result<(), Error> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .trim()
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(Error::ContentType);
    }
    match headers.get("x-admin-protocol").map(HeaderValue::to_str) {
        None => Err(Error::AdminProtocolMissing),
        Some(Ok(v)) if supported_admin_protocol(v) => Ok(()),
        Some(_) => Err(Error::AdminProtocolUnsupported),
    }
}

/// A body larger than [`MAX_BODY`] is still read (and dropped) up to this size, so that the
/// client, which sends its whole body before it reads, gets the answer instead of a reset.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// Why a request body was not read.
enum BodyError {
    /// Over [`MAX_BODY`].
    TooLarge,
    /// Not complete within the connection's body deadline.
    TimedOut,
    /// The connection failed.
    Broken,
}

/// Whether `e` (or an error it wraps) is a timeout.
fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Reads a request body of at most [`MAX_BODY`] bytes. A larger one (by its Content-Length,
/// or as it arrives) is read to its end and dropped when it is at most [`DRAIN_LIMIT`] bytes.
async fn collect_body(headers: &HeaderMap, mut body: Body) -> Result<Vec<u8>, BodyError> {
    use hyper::body::Body as _;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT) {
        return Err(BodyError::TooLarge);
    }
    let mut buf = Vec::new();
    let mut seen: u64 = 0;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => break,
            Some(Err(e)) => {
                return Err(if is_timeout(&e) {
                    BodyError::TimedOut
                } else {
                    BodyError::Broken
                });
            }
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                seen = seen.saturating_add(data.len() as u64);
                if seen > DRAIN_LIMIT {
                    return Err(BodyError::TooLarge);
                }
                if seen <= MAX_BODY as u64 {
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
    if seen > MAX_BODY as u64 || declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(BodyError::TooLarge);
    }
    Ok(buf)
}

/// What a peer is told about a malformed JSON body: the JSON member (its SGP.22 name, with
/// its path) and what is wrong with it, never a Rust type or field name nor a decoder's
/// internal value.
fn malformed_message(e: &simforge_asn1::Error) -> String {
    let simforge_asn1::Error::Json { field, reason } = e else {
        return "request body: malformed".to_owned();
    };
    let at = |member: &str| {
        if field == "$" || field.is_empty() {
            member.to_owned()
        } else {
            format!("{field}.{member}")
        }
    };
    let member_in = |reason: &str, prefix: &str| {
        reason
            .strip_prefix(prefix)
            .and_then(|r| r.split('`').next())
            .map(str::to_owned)
    };
    let (member, what) = if let Some(m) = member_in(reason, "missing field `") {
        (at(&m), "mandatory element missing".to_owned())
    } else if let Some(m) = member_in(reason, "unknown field `") {
        (at(&m), "unknown member".to_owned())
    } else if reason.starts_with("invalid base64") {
        (field.clone(), "not valid base64".to_owned())
    } else if reason.contains("ASN.1 decoding") || reason.contains("malformed TLV") {
        (
            field.clone(),
            "not a valid BER/DER encoding of this element".to_owned(),
        )
    } else if reason.starts_with("invalid type") || reason.starts_with("invalid value") {
        let expected = if reason.contains("expected struct") || reason.contains("expected a map") {
            "a JSON object"
        } else if reason.contains("expected a sequence") {
            "a JSON array"
        } else if reason.contains("expected a string")
            || reason.contains("expected a base64 string")
        {
            "a string"
        } else if reason.contains("integer") {
            "a number"
        } else {
            "another type"
        };
        (field.clone(), format!("wrong type, {expected} expected"))
    } else if reason.starts_with("invalid ") || !reason.contains(" at line ") {
        // Our identifiers' own errors (transactionId, EID, matchingId, ICCID …) and the like.
        (field.clone(), "invalid value".to_owned())
    } else {
        // serde_json's syntax errors (`expected value`, `EOF while parsing` …).
        ("request body".to_owned(), "not valid JSON".to_owned())
    };
    let member = if member == "$" || member.is_empty() {
        "request body".to_owned()
    } else {
        member
    };
    format!("{member}: {what}")
}

pub(crate) async fn read_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, Error> {
    let bytes = collect_body(headers, body).await.map_err(|e| match e {
        BodyError::TooLarge => Error::BodyTooLarge { limit: MAX_BODY },
        BodyError::TimedOut => Error::BodyTimedOut,
        BodyError::Broken => Error::BodyUnreadable,
    })?;
    json::from_json(&bytes).map_err(|source| Error::Malformed {
        message: malformed_message(&source),
        source,
    })
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

/// Records the operator on the request's span: its name when the credential source knows
/// it (cached), else its id.
async fn record_operator<S>(st: &AppState<S>, span: &Span, operator: OperatorId) {
    match st.credentials.operator_name(operator).await {
        Some(name) => span.record("operator", name.as_str()),
        None => span.record("operator", operator),
    };
}

/// Records the ICCID on the request's span unless `recorded` says it already is: a span
/// field recorded twice is printed twice on every line of the text log format.
fn record_iccid(span: &Span, recorded: &AtomicBool, iccid: &str) {
    if !recorded.swap(true, Ordering::Relaxed) {
        span.record("iccid", iccid);
    }
}

/// Records what a call revealed about the profile it concerned (ICCID, operator) on the
/// request's span, whatever its result: the reply's subject, else its events.
async fn record_subject<S>(
    st: &AppState<S>,
    span: &Span,
    iccid_recorded: &AtomicBool,
    subject: Option<&(OperatorId, simforge_asn1::Iccid)>,
    events: &[Event],
) {
    let from_events = events.last().map(|e| {
        let iccid = match e {
            Event::DownloadProgress { iccid, .. } | Event::ProfileState { iccid, .. } => iccid,
        };
        (e.operator_id(), iccid.clone())
    });
    if let Some((operator, iccid)) = subject.cloned().or(from_events) {
        record_iccid(span, iccid_recorded, iccid.as_str());
        record_operator(st, span, operator).await;
    }
}

/// The label of a function for metrics and logs: its name, or `unknown` — a client must not
/// be able to mint metric series or log text at will.
fn function_label<F: Copy>(function: Option<F>, name: impl Fn(F) -> &'static str) -> &'static str {
    function.map_or("unknown", name)
}

fn retry_after(mut r: Response, left: std::time::Duration) -> Response {
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(left.as_secs().max(1)),
    );
    r
}

async fn es9<S: SmdpStore + 'static>(
    State(st): State<Arc<AppState<S>>>,
    Path(function): Path<String>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let function = Es9Function::from_name(&function);
    let label = function_label(function, Es9Function::name);
    let client = peer.map(|Extension(PeerAddr(ip))| st.limits.client_addr(ip, &headers));
    let span = tracing::info_span!(
        "es9",
        function = %label,
        peer = client.map(tracing::field::display),
        transaction_id = Empty,
        iccid = Empty,
        operator = Empty,
    );
    let authenticate_client = function == Some(Es9Function::AuthenticateClient);
    let throttled = client
        .filter(|_| authenticate_client)
        .and_then(|ip| st.limits.matching_id_refused_for(ip));
    let (response, result) = match (throttled, function) {
        // Too many unknown matchingIds from this source: refused before any lookup.
        (Some(left), _) => {
            span.in_scope(|| tracing::info!("too many failed matchingId lookups"));
            let e = Error::MatchingIdThrottled { retry_after: left };
            (error_response(&e), e.result_label())
        }
        (None, None) => {
            // The headers are checked first, as for a known function.
            let e = check_headers(&headers)
                .err()
                .unwrap_or(Error::UnknownFunction);
            (error_response(&e), e.result_label())
        }
        (None, Some(function)) => {
            let (r, result) = es9_call(&st, function, client, &headers, body, &span)
                .instrument(span.clone())
                .await;
            if authenticate_client
                && result == StatusCode::MATCHING_ID_UNKNOWN.to_string()
                && let Some(ip) = client
            {
                st.limits.matching_id_failed(ip);
            }
            (r, result)
        }
    };
    let elapsed = started.elapsed();
    st.metrics.observe(label, &result, elapsed);
    span.in_scope(|| {
        tracing::info!(
            result = %result,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "ES9+ request"
        );
    });
    response
}

/// One ES9+ call: the response and its result label (`success` or `subject/reason`).
async fn es9_call<S: SmdpStore + 'static>(
    st: &AppState<S>,
    function: Es9Function,
    client: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    body: Body,
    span: &Span,
) -> (Response, String) {
    if let Err(e) = check_headers(headers) {
        return (error_response(&e), e.result_label());
    }
    let t = now();
    let s = &st.smdp;
    // Sessions of this source beyond its limit of unauthenticated ones: evicted below.
    let mut evict = Vec::new();
    let iccid_recorded = AtomicBool::new(false);
    macro_rules! call {
        ($req:ty, $method:ident, |$r:ident| $tid:expr, $ok:expr) => {{
            match read_body::<$req>(headers, body).await {
                Err(e) => (error_response(&e), e.result_label()),
                Ok($r) => {
                    if let Some(t) = $tid {
                        span.record("transaction_id", tracing::field::display(t));
                    }
                    let reply = s.$method(&$r, t).await;
                    record_subject(st, span, &iccid_recorded, reply.subject.as_ref(), &reply.events).await;
                    match reply.result {
                        Ok(resp) => {
                            let events = reply.events;
                            events_to_metrics(&st.metrics, &events);
                            #[allow(clippy::redundant_closure_call)]
                            (($ok)(resp), "success".to_owned())
                        }
                        Err(e) => {
                            let e = Error::Smdp(e);
                            if !e.is_internal() {
                                tracing::info!(error = %crate::ErrorChain(&e), "ES9+ call failed");
                            }
                            let label = e.result_label();
                            if matches!(function, Es9Function::GetBoundProfilePackage | Es9Function::AuthenticateClient) {
                                st.metrics.download(&label);
                            }
                            if function == Es9Function::HandleNotification && !e.is_internal() {
                                // SGP.22 §6.5.2.9: a notification is acknowledged whatever
                                // the SM-DP+ makes of it.
                                (Http::NO_CONTENT.into_response(), label)
                            } else {
                                (error_response(&e), label)
                            }
                        }
                    }
                }
            }
        }};
    }
    let out = match function {
        Es9Function::InitiateAuthentication => call!(
            json::InitiateAuthenticationRequest,
            initiate_authentication_reply,
            |_r| None::<&simforge_asn1::TransactionId>,
            |r: json::InitiateAuthenticationResponse| {
                if let Some(t) = &r.transaction_id {
                    span.record("transaction_id", tracing::field::display(t));
                    tracing::info!("session initiated");
                    if let Some(ip) = client {
                        let ttl = u64::try_from(s.config().session_ttl_secs).unwrap_or(0);
                        evict =
                            st.limits
                                .initiated(ip, t.clone(), std::time::Duration::from_secs(ttl));
                    }
                }
                json_response(Http::OK, &r)
            }
        ),
        Es9Function::AuthenticateClient => call!(
            json::AuthenticateClientRequest,
            authenticate_client_reply,
            |r| {
                if let Some(ip) = client {
                    st.limits.authenticated(ip, &r.transaction_id);
                }
                Some(&r.transaction_id)
            },
            |r: json::AuthenticateClientResponse| json_response(Http::OK, &r)
        ),
        Es9Function::GetBoundProfilePackage => call!(
            json::GetBoundProfilePackageRequest,
            get_bound_profile_package_reply,
            |r| Some(&r.transaction_id),
            |r: json::GetBoundProfilePackageResponse| json_response(Http::OK, &r)
        ),
        Es9Function::HandleNotification => call!(
            json::HandleNotificationRequest,
            handle_notification_reply,
            |r| {
                let target = simforge_smdp::es9::notification_target(&r);
                if let Some(i) = &target.iccid {
                    record_iccid(span, &iccid_recorded, i.as_str());
                }
                target.transaction_id
            },
            |(): ()| Http::NO_CONTENT.into_response()
        ),
        Es9Function::CancelSession => call!(
            json::CancelSessionRequest,
            cancel_session_reply,
            |r| Some(&r.transaction_id),
            |r: HeaderOnlyResponse| json_response(Http::OK, &r)
        ),
    };
    for tid in evict {
        match s.evict_initiated_session(&tid).await {
            Ok(true) => tracing::info!(
                evicted = %tid,
                "too many unauthenticated sessions from this source: its oldest evicted"
            ),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %crate::ErrorChain(&e), "evicting an unauthenticated session")
            }
        }
    }
    out
}

/// What every ES2+ request has.
trait Es2Request {
    fn header(&self) -> &RequestHeader;
    /// The profile the request names, if it names one.
    fn iccid(&self) -> Option<&str>;
}
macro_rules! es2_req {
    ($($t:ty => |$r:ident| $iccid:expr),*) => { $(impl Es2Request for $t {
        fn header(&self) -> &RequestHeader { &self.header }
        fn iccid(&self) -> Option<&str> { let $r = self; $iccid }
    })* };
}
es2_req!(
    json::DownloadOrderRequest => |r| r.iccid.as_deref(),
    json::ConfirmOrderRequest => |r| Some(r.iccid.as_str()),
    json::CancelOrderRequest => |r| Some(r.iccid.as_str()),
    json::ReleaseProfileRequest => |r| Some(r.iccid.as_str())
);

/// The operator behind an ES2+ request: its API key and/or its TLS client certificate. Each
/// credential presented must be an active one, and both must name the same operator.
async fn authenticate<S>(
    st: &AppState<S>,
    headers: &HeaderMap,
    cert: Option<&ClientCertificate>,
    client: Option<std::net::IpAddr>,
) -> Result<OperatorCredential, Error> {
    let peer = client.map(tracing::field::display);
    let mut found: Option<OperatorCredential> = None;
    if let Some(v) = headers.get(API_KEY_HEADER) {
        let key = v.to_str().map_err(|_| Error::Unauthorized)?;
        let c = st
            .credentials
            .lookup(CredentialKind::ApiKey, api_key_sha256(key))
            .await
            .map_err(Error::CredentialLookup)?
            .ok_or_else(|| {
                tracing::info!(
                    peer,
                    credential = "api_key",
                    "unknown or revoked ES2+ API key"
                );
                Error::Unauthorized
            })?;
        found = Some(c);
    }
    if let Some(cert) = cert {
        match st
            .credentials
            .lookup(CredentialKind::ClientCert, cert.sha256)
            .await
            .map_err(Error::CredentialLookup)?
        {
            Some(c) => {
                if found
                    .as_ref()
                    .is_some_and(|f| f.operator_id != c.operator_id)
                {
                    tracing::info!(
                        peer,
                        "API key and client certificate of different operators"
                    );
                    return Err(Error::Unauthorized);
                }
                found = Some(c);
            }
            // A certificate nobody registered: refused, unless an API key authenticated the
            // request (the certificate is then just the client's TLS identity).
            None if found.is_some() => {}
            None => {
                tracing::info!(
                    peer,
                    credential = "client_cert",
                    "unregistered or revoked ES2+ client certificate"
                );
                return Err(Error::Unauthorized);
            }
        }
    }
    found.ok_or_else(|| {
        tracing::info!(peer, "ES2+ request without credentials");
        Error::Unauthorized
    })
}

/// The credentials a request presents (an API key that is not text is none).
fn presented(headers: &HeaderMap, cert: Option<&ClientCertificate>) -> Vec<CredentialId> {
    let mut v = Vec::with_capacity(2);
    if let Some(k) = headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok()) {
        v.push((CredentialKind::ApiKey, api_key_sha256(k)));
    }
    if let Some(c) = cert {
        v.push((CredentialKind::ClientCert, c.sha256));
    }
    v
}

async fn es2<S: SmdpStore + 'static>(
    State(st): State<Arc<AppState<S>>>,
    Path(function): Path<String>,
    cert: Option<Extension<ClientCertificate>>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    // The SM-DP+ serves every ES2+ function but the operator's own.
    let function =
        Es2Function::from_name(&function).filter(|f| *f != Es2Function::HandleDownloadProgressInfo);
    let label = function_label(function, Es2Function::name);
    let client = peer.map(|Extension(PeerAddr(ip))| st.limits.client_addr(ip, &headers));
    let span = tracing::info_span!(
        "es2",
        function = %label,
        peer = client.map(tracing::field::display),
        operator = Empty,
        requester = Empty,
        function_call_id = Empty,
        iccid = Empty,
    );
    let cert = cert.map(|Extension(c)| c);
    let presented = presented(&headers, cert.as_ref());
    let refused = client.and_then(|ip| st.credentials.failures().refused_for(ip, &presented));
    let (response, result) = match refused {
        // Too many failed authentications from this source (with credentials not known to
        // be good) or with this credential: refused before any lookup.
        Some(left) => {
            span.in_scope(|| tracing::info!("too many failed ES2+ authentications"));
            let e = Error::AuthThrottled { retry_after: left };
            (error_response(&e), e.result_label())
        }
        None => {
            let r = es2_call(&st, function, &headers, cert.as_ref(), client, body, &span)
                .instrument(span.clone())
                .await;
            let (r, result) = match r {
                Ok(r) => (r, "success".to_owned()),
                Err(e) => {
                    if !e.is_internal() && e.status_code().is_some() {
                        span.in_scope(
                            || tracing::info!(error = %crate::ErrorChain(&e), "ES2+ call failed"),
                        );
                    }
                    (error_response(&e), e.result_label())
                }
            };
            if let (Some(ip), "unauthorized") = (client, result.as_str()) {
                st.credentials.failures().failed(ip, &presented);
            }
            (r, result)
        }
    };
    let elapsed = started.elapsed();
    st.metrics.observe(label, &result, elapsed);
    span.in_scope(|| {
        tracing::info!(
            result = %result,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "ES2+ request"
        );
    });
    response
}

async fn es2_call<S: SmdpStore + 'static>(
    st: &AppState<S>,
    function: Option<Es2Function>,
    headers: &HeaderMap,
    cert: Option<&ClientCertificate>,
    client: Option<std::net::IpAddr>,
    body: Body,
    span: &Span,
) -> Result<Response, Error> {
    let cred = authenticate(st, headers, cert, client).await?;
    record_operator(st, span, cred.operator_id).await;
    span.record("requester", cred.requester_id.as_str());
    check_headers(headers)?;
    let t = now();
    let s = &st.smdp;
    let op = cred.operator_id;
    let iccid_recorded = AtomicBool::new(false);
    macro_rules! call {
        ($req:ty, $method:ident) => {{
            let req = read_body::<$req>(headers, body).await?;
            span.record(
                "function_call_id",
                req.header().function_call_identifier.as_str(),
            );
            // The canonical form (no `F` padding), as the events and the store have it.
            if let Some(i) = req
                .iccid()
                .and_then(|i| simforge_asn1::Iccid::parse(i).ok())
            {
                record_iccid(span, &iccid_recorded, i.as_str());
            }
            if req.header().function_requester_identifier != cred.requester_id {
                tracing::info!("functionRequesterIdentifier is not the authenticated operator's");
                return Err(Error::RequesterMismatch);
            }
            let (resp, events) = s.$method(op, &req, t).await?;
            if let Some(e) = events.last() {
                let iccid = match e {
                    Event::DownloadProgress { iccid, .. } | Event::ProfileState { iccid, .. } => {
                        iccid
                    }
                };
                record_iccid(span, &iccid_recorded, iccid.as_str());
            }
            Ok(json_response(Http::OK, &resp))
        }};
    }
    match function {
        Some(Es2Function::DownloadOrder) => call!(json::DownloadOrderRequest, download_order),
        Some(Es2Function::ConfirmOrder) => call!(json::ConfirmOrderRequest, confirm_order),
        Some(Es2Function::CancelOrder) => call!(json::CancelOrderRequest, cancel_order),
        Some(Es2Function::ReleaseProfile) => call!(json::ReleaseProfileRequest, release_profile),
        Some(Es2Function::HandleDownloadProgressInfo) | None => Err(Error::UnknownFunction),
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
    es_router(state.clone()).merge(metrics_router(state))
}

/// ES9+ and ES2+ only (`/metrics` served elsewhere: [`metrics_router`]).
pub fn es_router<S: SmdpStore + 'static>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/gsma/rsp2/es9plus/{function}", post(es9::<S>))
        .route("/gsma/rsp2/es2plus/{function}", post(es2::<S>))
        .with_state(state)
}

/// `/metrics` only (Prometheus text), for a private listener.
pub fn metrics_router<S: SmdpStore + 'static>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/metrics", get(metrics::<S>))
        .with_state(state)
}
