//! Liveness and readiness for a load balancer or an orchestrator, on the admin listener:
//! `/healthz` (the process answers) and `/readyz` (it can serve: the database answers, its
//! schema is this binary's — checked when the store was opened —, the SM-DP+'s keys are
//! loaded).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{Api, Problem};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process answers", content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// What readiness checked.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// The database answered.
    pub database: &'static str,
    /// Whether this node serves the SM-DP+ (its keys loaded): `loaded` or `none`.
    pub smdp: &'static str,
}

/// Ready to serve: the database answers (its schema was checked when it was opened).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Not ready: the database does not answer", body = crate::problem::ProblemBody)))]
pub async fn readyz(State(api): State<Api>) -> Result<Json<Ready>, Problem> {
    match api.store.ping().await {
        Ok(()) => Ok(Json(Ready {
            database: "ok",
            smdp: if api.config.smdp.is_some() {
                "loaded"
            } else {
                "none"
            },
        })),
        Err(e) => {
            tracing::warn!(error = %simforge_smdp::error::ErrorChain(&e), "readiness: the database does not answer");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                "the database does not answer",
            ))
        }
    }
}
