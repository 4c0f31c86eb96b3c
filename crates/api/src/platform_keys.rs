//! The platform's own keys: `POST /api/v1/platform/keys/reload` takes a new PKI directory
//! (DPauth, DPpb, DPtls, CIs; HSM labels) into use on every node without a restart
//! ([`simforge_esim::reload`]): this node reloads first (a PKI that does not load changes
//! nothing, anywhere), then the cluster's key generation moves and every other node reloads
//! within its `--key-poll-secs`.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::{Api, Problem};

/// A key reload.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeysReloaded {
    /// The cluster's key generation now: every node reloads once it sees it.
    pub generation: i64,
    /// This node: `reloaded`, or `none` when it serves no SM-DP+ (the other nodes still
    /// reload).
    pub this_node: &'static str,
}

/// Reloads the SM-DP+'s keys on every node (the platform's administrators).
#[utoipa::path(post, path = "/api/v1/platform/keys/reload", tag = "platform",
    responses((status = 200, body = KeysReloaded),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn reload_keys(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<KeysReloaded>, Problem> {
    Ok(Json(reload_keys_in(&api, &caller).await?))
}

/// Reloads this node's keys, if it serves an SM-DP+, then moves the cluster's generation.
///
/// # Errors
/// The keys do not load (nothing changed), or the store's.
pub async fn reload_keys_in(api: &Api, caller: &Caller) -> Result<KeysReloaded, Problem> {
    let actor = caller.actor();
    Ok(match &api.config.keys {
        Some(reloader) => KeysReloaded {
            generation: reloader.reload_cluster(&api.store, &actor).await?,
            this_node: "reloaded",
        },
        None => KeysReloaded {
            generation: simforge_esim::reload::request_reload(&api.store, &actor).await?,
            this_node: "none",
        },
    })
}
