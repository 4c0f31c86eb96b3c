//! The SM-DS over HTTP: ES11 for LPAs, served on both path pairs deployed clients use
//! (`/gsma/rsp2/es9plus/{initiateAuthentication,authenticateClient}` — lpac, euicc-go, the
//! G+D IPA — and `/gsma/rsp2/es11/…` — the Eastcompeace SDK; the address member read as
//! `smdpAddress` or `smdsAddress`), and ES12 (`/gsma/rsp2/es12/{registerEvent,deleteEvent}`)
//! for SM-DP+s identified by their TLS client certificate, registered by the SHA-256 of its
//! DER ([`Registrants`]); ES15 (`/gsma/rsp2/es15/…`, the same functions and members) for
//! alternative SM-DSs forwarding to this one as their root, registered the same way (by
//! their DStls certificate). The registrant is what the SM-DS keeps with each event record: only
//! it may delete the record.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as Http};
use axum::response::Response;
use axum::routing::post;
use simforge_asn1::json::{
    AuthenticateClientRequest, DeleteEventRequest, Es11Function, Es12Function, HeaderOnlyResponse,
    InitiateAuthenticationRequest, RegisterEventRequest,
};
use simforge_asn1::status::ResponseHeader;
use simforge_smds::{Registrant, Smds, SmdsStore};
use tracing::Instrument;

use crate::Error;
use crate::auth::{ClientCertificate, PeerAddr};
use crate::http::{check_headers, error_response, json_response, now, read_body};
use crate::limits::SourceLimits;
use crate::metrics::Metrics;

/// The SM-DP+s (and alternative SM-DSs) allowed to call ES12: the SHA-256 of a client
/// certificate's DER → the registrant it authenticates.
#[derive(Clone, Debug, Default)]
pub struct Registrants(pub HashMap<[u8; 32], Registrant>);

impl Registrants {
    /// The registrant of a presented client certificate.
    #[must_use]
    pub fn get(&self, cert: &ClientCertificate) -> Option<&Registrant> {
        self.0.get(&cert.sha256)
    }
}

/// Shared state of the SM-DS handlers.
pub struct SmdsState<S> {
    /// The SM-DS.
    pub smds: Smds<S>,
    /// Who may register and delete events.
    pub registrants: Registrants,
    /// Metrics (per function and result).
    pub metrics: Metrics,
    /// Per-source limits of ES11 (sessions only initiated, at most
    /// [`crate::MAX_INITIATED_PER_SOURCE`] per source, the oldest evicted) and the trusted
    /// proxies: the same as ES9+'s.
    pub limits: SourceLimits,
}

/// The SM-DS's routes: ES11 (both path pairs) and ES12.
pub fn smds_router<S: SmdsStore + 'static>(state: Arc<SmdsState<S>>) -> Router {
    Router::new()
        .route("/gsma/rsp2/es9plus/{function}", post(es11::<S>))
        .route("/gsma/rsp2/es11/{function}", post(es11::<S>))
        .route("/gsma/rsp2/es12/{function}", post(es12::<S>))
        .route("/gsma/rsp2/es15/{function}", post(es12::<S>))
        .with_state(state)
}

fn outcome(
    metrics: &Metrics,
    label: &'static str,
    started: Instant,
    r: Result<Response, Error>,
) -> Response {
    let (response, result) = match r {
        Ok(r) => (r, "success".to_owned()),
        Err(e) => {
            if !e.is_internal() && e.status_code().is_some() {
                tracing::info!(error = %crate::ErrorChain(&e), "SM-DS call failed");
            }
            (error_response(&e), e.result_label())
        }
    };
    let elapsed = started.elapsed();
    metrics.observe(label, &result, elapsed);
    tracing::info!(
        result = %result,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "SM-DS request"
    );
    response
}

async fn es11<S: SmdsStore + 'static>(
    State(st): State<Arc<SmdsState<S>>>,
    Path(function): Path<String>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let function = Es11Function::from_name(&function);
    let label = function.map_or("unknown", Es11Function::name);
    let client = peer.map(|Extension(PeerAddr(ip))| st.limits.client_addr(ip, &headers));
    let span = tracing::info_span!(
        "es11",
        function = %label,
        peer = client.map(tracing::field::display),
    );
    let r = async {
        let function = function.ok_or(Error::UnknownFunction)?;
        check_headers(&headers)?;
        match function {
            Es11Function::InitiateAuthentication => {
                let req: InitiateAuthenticationRequest = read_body(&headers, body).await?;
                let resp = st.smds.initiate_authentication(&req, now())?;
                if let (Some(ip), Some(tid)) = (client, &resp.transaction_id) {
                    let ttl = u64::try_from(st.smds.config().session_ttl_secs).unwrap_or(0);
                    let evict = st.limits.initiated(ip, tid.clone(), Duration::from_secs(ttl));
                    for old in evict {
                        // Failing to evict only leaves the session to expire.
                        if let Ok(true) = st.smds.evict_session(&old) {
                            tracing::info!(
                                evicted = %old,
                                "too many unauthenticated sessions from this source: its oldest evicted"
                            );
                        }
                    }
                }
                Ok(json_response(Http::OK, &resp))
            }
            Es11Function::AuthenticateClient => {
                let req: AuthenticateClientRequest = read_body(&headers, body).await?;
                if let Some(ip) = client {
                    st.limits.authenticated(ip, &req.transaction_id);
                }
                let resp = st.smds.authenticate_client(&req, now())?;
                tracing::info!(events = resp.event_entries.len(), "events answered");
                Ok(json_response(Http::OK, &resp))
            }
        }
    }
    .instrument(span.clone())
    .await;
    let _enter = span.enter();
    outcome(&st.metrics, label, started, r)
}

async fn es12<S: SmdsStore + 'static>(
    State(st): State<Arc<SmdsState<S>>>,
    Path(function): Path<String>,
    cert: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let function = Es12Function::from_name(&function);
    let label = function.map_or("unknown", Es12Function::name);
    let span = tracing::info_span!("es12", function = %label, registrant = tracing::field::Empty);
    let r = async {
        let function = function.ok_or(Error::UnknownFunction)?;
        check_headers(&headers)?;
        // Mutual TLS: only a registered client certificate may register or delete.
        let registrant = cert
            .as_ref()
            .and_then(|Extension(c)| st.registrants.get(c))
            .ok_or(Error::Unauthorized)?
            .clone();
        span.record("registrant", registrant.as_str());
        match function {
            Es12Function::RegisterEvent => {
                let req: RegisterEventRequest = read_body(&headers, body).await?;
                st.smds.register_event(&registrant, &req, now())?;
            }
            Es12Function::DeleteEvent => {
                let req: DeleteEventRequest = read_body(&headers, body).await?;
                st.smds.delete_event(&registrant, &req, now())?;
            }
        }
        Ok(json_response(
            Http::OK,
            &HeaderOnlyResponse {
                header: ResponseHeader::success(),
            },
        ))
    }
    .instrument(span.clone())
    .await;
    let _enter = span.enter();
    outcome(&st.metrics, label, started, r)
}
