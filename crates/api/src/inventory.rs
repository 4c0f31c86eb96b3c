//! The eSIM inventory: import, search, a profile with its history, reset, activation codes,
//! counts. Each call is an `simforge_esim` / `simforge_smdp` service call, as on the command
//! line.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use simforge_asn1::{ActivationCode, Eid, Iccid, MatchingId};
use simforge_smdp::{
    Event, HistoryEntry, IccidPrefix, Inventory as _, ProfileFilter, ProfileRecord, ProfileState,
    ProfileSummary, ResetTarget,
};
use simforge_store::Operator;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Tenant;
use crate::{Api, Problem};

/// What to import.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportIn {
    /// A complete batch of the tenant.
    pub batch_id: i64,
    /// The profile type (ES2+ DownloadOrder by type).
    pub profile_type: String,
    /// Import at most this many cards.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// What was imported.
#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    /// Profiles added (cards already in an inventory are skipped).
    pub added: usize,
    /// The first ICCID added.
    pub first_iccid: Option<String>,
    /// The last ICCID added.
    pub last_iccid: Option<String>,
}

/// 429 `quota` when `adding` more profiles (of `from`) could take the tenant's inventory past
/// its `inventory_max` (profiles already there are counted as added: conservative).
async fn inventory_quota(api: &Api, op: &Operator, adding: u64, from: &str) -> Result<(), Problem> {
    let Some(max) = api.store.quotas(op.id).await?.inventory_max else {
        return Ok(());
    };
    let have: u64 = simforge_esim::inventory::counts(&api.store, op)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    if have.saturating_add(adding) <= max {
        return Ok(());
    }
    Err(Problem::quota(simforge_factory::quotas::Exceeded {
        what: format!("inventory quota: {have} of {max} profiles, up to {adding} more in {from}"),
        retry_after: None,
    }))
}

/// Adds a complete batch's cards to the tenant's inventory (one profile package each).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/inventory/import", tag = "inventory",
    params(("tenant" = String, Path)), request_body = ImportIn,
    responses((status = 200, body = Imported),
        (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn import_batch(
    State(api): State<Api>,
    Extension(caller): Extension<crate::auth::Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(i): Json<ImportIn>,
) -> Result<Json<Imported>, Problem> {
    Ok(Json(import_batch_in(&api, &caller, &op, &i).await?))
}

/// Adds complete batch `i.batch_id`'s cards to tenant `op`'s inventory.
///
/// # Errors
/// 422, 404 for another tenant's batch, 409 for an incomplete one, 429 over the inventory
/// quota.
pub async fn import_batch_in(
    api: &Api,
    caller: &crate::auth::Caller,
    op: &Operator,
    i: &ImportIn,
) -> Result<Imported, Problem> {
    if i.profile_type.is_empty() || i.profile_type.len() > 64 {
        return Err(Problem::invalid("profile_type has 1 to 64 characters"));
    }
    let batch = simforge_esim::inventory::completed_batch(&api.store, op, i.batch_id).await?;
    let adding = u64::try_from(batch.quantity).unwrap_or(0);
    let adding = i.limit.map_or(adding, |l| adding.min(l as u64));
    inventory_quota(api, op, adding, &format!("batch {}", i.batch_id)).await?;
    let mut opts = simforge_esim::inventory::ImportOptions::of_type(&i.profile_type);
    opts.limit = i.limit;
    let added = simforge_esim::inventory::import_batch_dir(
        &api.store,
        (&api.store, &caller.actor()),
        &*api.vault,
        op,
        std::path::Path::new(&batch.output_dir),
        &opts,
        api.now(),
    )
    .await?;
    Ok(Imported {
        added: added.len(),
        first_iccid: added.first().map(ToString::to_string),
        last_iccid: added.last().map(ToString::to_string),
    })
}

/// A profile of the inventory (never its package).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileOut {
    /// ICCID.
    pub iccid: String,
    /// Profile type.
    pub profile_type: String,
    /// State (`available`, `allocated`, `linked`, `confirmed`, `released`, `downloaded`,
    /// `installed`, `error`, `unavailable`).
    pub state: String,
    /// The EID it is linked or bound to.
    pub eid: Option<String>,
    /// The order's matchingId.
    pub matching_id: Option<String>,
    /// Delivered BPPs of the current order.
    pub download_attempts: u32,
    /// Last change (Unix seconds).
    pub updated_at: i64,
}

/// A profile and its order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileDetail {
    /// The profile.
    #[serde(flatten)]
    pub profile: ProfileOut,
    /// A confirmation code is required.
    pub confirmation_code_required: bool,
    /// Failed confirmation code attempts.
    pub confirmation_code_attempts: u32,
    /// The order expires (Unix seconds).
    pub order_expires_at: Option<i64>,
    /// After a delete notification: back to Available.
    pub reuse_on_delete: bool,
    /// Service provider name (metadata).
    pub service_provider_name: String,
    /// Profile name (metadata).
    pub profile_name: String,
    /// Its history, oldest first (the first 1000 events; more with `…/history?after=`).
    pub history: Vec<HistoryOut>,
}

fn profile_out(p: &ProfileRecord) -> ProfileOut {
    ProfileOut {
        iccid: p.iccid.to_string(),
        profile_type: p.profile_type.clone(),
        state: p.state.as_str().to_owned(),
        eid: p.eid.as_ref().map(ToString::to_string),
        matching_id: p.matching_id.as_ref().map(ToString::to_string),
        download_attempts: p.download_attempts,
        updated_at: p.updated_at,
    }
}

fn iccid(s: &str) -> Result<Iccid, Problem> {
    Iccid::parse(s).map_err(|_| Problem::invalid(format!("{s:?} is not an ICCID")))
}

async fn record(api: &Api, op: &Operator, i: &Iccid) -> Result<ProfileRecord, Problem> {
    // On the store's pool, not in an SM-DP+ transaction (which takes the SM-DP+'s connection
    // and write lock): see `Store::profile_view`.
    let p = api.store.profile_view(op.id, i).await?;
    p.ok_or_else(|| Problem::not_found(format!("profile {i}")))
}

/// 404 unless the tenant has profile `i`, read on the store's pool like a search (the whole
/// ICCID as a prefix: it sorts before every longer ICCID with that prefix). Not through
/// [`record`]: an SM-DP+ transaction takes the SM-DP+'s one connection and write lock and,
/// under `synchronous = full`, waits for the fsync of the ES9+ commits before it (BENCHMARKS.md,
/// "eSIM inventory search over the operator API").
async fn exists(api: &Api, op: &Operator, i: &Iccid) -> Result<(), Problem> {
    let f = ProfileFilter {
        iccid_prefix: Some(IccidPrefix::parse(i.as_str())?),
        limit: 1,
        ..ProfileFilter::new(op.id)
    };
    match api.store.search(&f).await?.rows.first() {
        Some(p) if p.iccid == *i => Ok(()),
        _ => Err(Problem::not_found(format!("profile {i}"))),
    }
}

/// A profile of the tenant (another tenant's: 404).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/profiles/{iccid}", tag = "inventory",
    params(("tenant" = String, Path), ("iccid" = String, Path)),
    responses((status = 200, body = ProfileDetail), (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn profile(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, i)): Path<(String, String)>,
) -> Result<Json<ProfileDetail>, Problem> {
    Ok(Json(detail(&api, &op, &i).await?))
}

/// Profile `i` of tenant `op` with its history (another tenant's: 404).
///
/// # Errors
/// 422 for a malformed ICCID, 404 for a profile the tenant does not have.
pub async fn detail(api: &Api, op: &Operator, i: &str) -> Result<ProfileDetail, Problem> {
    let i = iccid(i)?;
    let p = record(api, op, &i).await?;
    let history = api.store.history(op.id, &i, None, 1000).await?;
    Ok(ProfileDetail {
        history: history.iter().map(history_out).collect(),
        profile: profile_out(&p),
        confirmation_code_required: p.cc_hash.is_some(),
        confirmation_code_attempts: p.cc_attempts,
        order_expires_at: p.order_expires_at,
        reuse_on_delete: p.reuse_on_delete,
        service_provider_name: p.metadata.service_provider_name.clone(),
        profile_name: p.metadata.profile_name.clone(),
    })
}

/// Where a reset profile goes.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetIn {
    /// `released` (the same activation code works again) or `available` (the order dropped).
    pub to: String,
}

/// Takes a profile out of Error.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/profiles/{iccid}/reset", tag = "inventory",
    params(("tenant" = String, Path), ("iccid" = String, Path)), request_body = ResetIn,
    responses((status = 200, body = ProfileOut),
        (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn reset(
    State(api): State<Api>,
    Extension(caller): Extension<crate::auth::Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, i)): Path<(String, String)>,
    Json(r): Json<ResetIn>,
) -> Result<Json<ProfileOut>, Problem> {
    Ok(Json(reset_to(&api, &caller, &op, &i, &r.to).await?))
}

/// Takes profile `i` of `op` out of Error, to `to` (`released` or `available`).
///
/// # Errors
/// 422 for a bad target or ICCID, 404, 409 when the profile is not in Error.
pub async fn reset_to(
    api: &Api,
    caller: &crate::auth::Caller,
    op: &Operator,
    i: &str,
    to: &str,
) -> Result<ProfileOut, Problem> {
    let target = match to {
        "released" => ResetTarget::Released,
        "available" => ResetTarget::Available,
        t => {
            return Err(Problem::invalid(format!(
                "reset to {t:?}: released or available"
            )));
        }
    };
    let i = iccid(i)?;
    simforge_esim::policy::reset_profile(
        &api.store,
        &caller.actor(),
        op,
        &i.to_string(),
        target,
        api.now(),
    )
    .await?;
    Ok(profile_out(&record(api, op, &i).await?))
}

/// The form of an activation code.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeQuery {
    /// `text` (default), `png` or `svg`.
    pub format: Option<String>,
}

/// The activation code of a released profile's order (text, or its QR code as PNG or SVG).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/profiles/{iccid}/activation-code", tag = "inventory",
    params(("tenant" = String, Path), ("iccid" = String, Path), CodeQuery),
    responses((status = 200, description = "`LPA:1$…` text, or a PNG or SVG QR code", content_type = "text/plain"),
        (status = 409, description = "No order with a matchingId", body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn activation_code(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, i)): Path<(String, String)>,
    Query(q): Query<CodeQuery>,
) -> Result<Response, Problem> {
    let (body, ctype) = code(&api, &op, &i, q.format.as_deref().unwrap_or("text")).await?;
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The activation code of profile `i`'s order as `format` (`text`, `png`, `svg`), with its
/// content type.
///
/// # Errors
/// 404, 409 without an order or an SM-DP+ address, 422 for another format.
pub async fn code(
    api: &Api,
    op: &Operator,
    i: &str,
    format: &str,
) -> Result<(Vec<u8>, &'static str), Problem> {
    let p = record(api, op, &iccid(i)?).await?;
    let Some(address) = &api.config.smdp_address else {
        return Err(Problem::conflict(
            "this platform has no SM-DP+ address configured",
        ));
    };
    let Some(mid) = p.matching_id.clone() else {
        return Err(Problem::conflict(format!(
            "profile {i} has no order with a matchingId"
        )));
    };
    let code = ActivationCode::new(address, Some(mid), None, p.cc_hash.is_some())
        .map_err(|e| Problem::invalid(e.to_string()))?;
    let (body, ctype): (Vec<u8>, &str) = match format {
        "text" => (code.to_qr_text().into_bytes(), "text/plain; charset=utf-8"),
        "png" => (
            code.to_png(8).map_err(|e| Problem::internal(&e))?,
            "image/png",
        ),
        "svg" => (
            code.to_svg(256)
                .map_err(|e| Problem::internal(&e))?
                .into_bytes(),
            "image/svg+xml",
        ),
        f => return Err(Problem::invalid(format!("format {f:?}: text, png or svg"))),
    };
    Ok((body, ctype))
}

/// Counts for a dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryOut {
    /// Profiles by state.
    #[schema(value_type = Object)]
    pub profiles: serde_json::Map<String, serde_json::Value>,
    /// Batches by state.
    #[schema(value_type = Object)]
    pub batches: serde_json::Map<String, serde_json::Value>,
}

/// The tenant's profiles by state and batches by state.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/summary", tag = "inventory",
    params(("tenant" = String, Path)), responses((status = 200, body = SummaryOut)),
    security(("session" = []), ("token" = [])))]
pub async fn summary(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Result<Json<SummaryOut>, Problem> {
    Ok(Json(summary_of(&api, &op).await?))
}

/// Counting a tenant's profiles by state reads one index entry per profile (≈ 70 ms for
/// 1,000,000 on SQLite): when it took longer than this, the counts are kept for
/// [`COUNTS_FRESH`] and dashboards show them up to that old; small inventories are always
/// counted afresh.
const SLOW_COUNT: std::time::Duration = std::time::Duration::from_millis(20);
/// How long slow counts are reused.
const COUNTS_FRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// A tenant's counts by state, when they were made and how long they took.
pub(crate) struct CachedCounts {
    at: std::time::Instant,
    counts: Vec<(ProfileState, u64)>,
}

/// Tenant `op`'s profiles by state: counted, or, for a large inventory, as counted within the
/// last [`COUNTS_FRESH`].
async fn counts_of(api: &Api, op: &Operator) -> Result<Vec<(ProfileState, u64)>, Problem> {
    let lock = || {
        api.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(c) = lock().get(&op.id)
        && c.at.elapsed() < COUNTS_FRESH
    {
        return Ok(c.counts.clone());
    }
    let started = std::time::Instant::now();
    let counts = simforge_esim::inventory::counts(&api.store, op).await?;
    if started.elapsed() > SLOW_COUNT {
        let cached = CachedCounts {
            at: std::time::Instant::now(),
            counts: counts.clone(),
        };
        lock().insert(op.id, cached);
    } else {
        lock().remove(&op.id);
    }
    Ok(counts)
}

/// The window of [`activity`].
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Hours back from now, the current hour included (1 to 744; default 24).
    #[serde(default)]
    pub hours: Option<u32>,
}

/// The tenant's downloads per hour (installed, failed) and failures by SGP.22
/// `subjectCode/reasonCode` over the last `hours` hours, for dashboards.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/activity", tag = "inventory",
    params(("tenant" = String, Path), ActivityQuery),
    responses((status = 200, description = "Per hour, oldest first; failures most frequent first", body = Object)),
    security(("session" = []), ("token" = [])))]
pub async fn activity(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(q): Query<ActivityQuery>,
) -> Result<Json<simforge_smdp::Activity>, Problem> {
    Ok(Json(activity_of(&api, &op, q.hours.unwrap_or(24)).await?))
}

/// Tenant `op`'s activity over the last `hours` hours (clamped to 1..=744).
///
/// # Errors
/// The store's.
pub async fn activity_of(
    api: &Api,
    op: &Operator,
    hours: u32,
) -> Result<simforge_smdp::Activity, Problem> {
    let (since, until) = simforge_smdp::Activity::window(api.now(), hours);
    Ok(api.store.activity(op.id, since, until).await?)
}

/// Tenant `op`'s profiles by state and batches by state.
///
/// # Errors
/// The store's.
pub async fn summary_of(api: &Api, op: &Operator) -> Result<SummaryOut, Problem> {
    let mut profiles = serde_json::Map::new();
    for (s, n) in counts_of(api, op).await? {
        profiles.insert(s.as_str().to_owned(), n.into());
    }
    let mut batches = serde_json::Map::new();
    for b in api.store.batches(Some(&op.name)).await? {
        let k = format!("{:?}", b.state).to_lowercase();
        let n = batches
            .get(&k)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        batches.insert(k, (n + 1).into());
    }
    Ok(SummaryOut { profiles, batches })
}

/// Which profiles (every filter optional, AND-ed), a page at a time in ICCID order.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// State (`available`, `released`, `installed`, `error`…).
    pub state: Option<String>,
    /// Profile type.
    pub profile_type: Option<String>,
    /// EID (32 digits).
    pub eid: Option<String>,
    /// The order's matchingId.
    pub matching_id: Option<String>,
    /// ICCIDs starting with these digits.
    pub iccid: Option<String>,
    /// The page after this ICCID (the previous page's `next`).
    pub after: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Only profiles changed at or after this time: RFC 3339 (`2026-12-01T08:00:00Z`) or a
    /// date (`2026-12-01`: its midnight UTC). A search by date examines at most 5,000
    /// profiles per page: a page may hold fewer than `limit` profiles, or none, and still
    /// have a `next` (see `scanned`).
    pub updated_from: Option<String>,
    /// Only profiles changed before this time (exclusive): RFC 3339 or a date (its midnight
    /// UTC, so `updated_until=2026-12-02` ends with the day 2026-12-01).
    pub updated_until: Option<String>,
}

/// A page of profiles.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchOut {
    /// The profiles, ascending by ICCID.
    pub profiles: Vec<ProfileOut>,
    /// Pass as `after` for the next page (with the same filters); absent on the last page.
    pub next: Option<String>,
    /// A search by date that stopped at its bound before it found `limit` profiles: how many
    /// profiles it examined (up to the ICCID in `next`, where the next page goes on).
    pub scanned: Option<u32>,
}

/// A time of a query: RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`) or a date
/// (`YYYY-MM-DD`, its midnight UTC), as Unix seconds (a fraction rounded up: `updated_at`
/// is whole seconds, so `>=` and `<` mean the same after it).
#[must_use]
pub fn parse_time(s: &str) -> Option<i64> {
    fn num(s: &str) -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    }
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(&s[..4])?, num(&s[5..7])?, num(&s[8..10])?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let month = usize::try_from(m).ok().filter(|m| (1..=12).contains(m))?;
    if !(1970..=9999).contains(&y) || d < 1 || d > days_in[month - 1] {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let midnight = (era * 146_097 + doe - 719_468) * 86_400;
    if b.len() == 10 {
        return Some(midnight);
    }
    let rest = &s[10..];
    let rest = rest.strip_prefix(['T', 't'])?;
    if rest.len() < 9 || rest.as_bytes()[2] != b':' || rest.as_bytes()[5] != b':' {
        return None;
    }
    let (hh, mm, ss) = (num(&rest[..2])?, num(&rest[3..5])?, num(&rest[6..8])?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut rest = &rest[8..];
    let mut frac = false;
    if let Some(f) = rest.strip_prefix('.') {
        let digits = f.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        frac = f.bytes().take(digits).any(|b| b != b'0');
        rest = &f[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let (oh, om) = (num(&rest[1..3])?, num(&rest[4..6])?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(midnight + hh * 3600 + mm * 60 + ss - offset + i64::from(frac))
}

/// A time parameter of a query: `None` when absent or empty, 422 naming it when malformed.
fn time_param(name: &str, v: Option<&str>) -> Result<Option<i64>, Problem> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    parse_time(v).map(Some).ok_or_else(|| {
        Problem::invalid(format!(
            "{name} {v:?} is not valid: an RFC 3339 time (2026-12-01T08:00:00Z) or a date \
             (2026-12-01, midnight UTC)"
        ))
    })
}

fn summary_out(p: ProfileSummary) -> ProfileOut {
    ProfileOut {
        iccid: p.iccid.to_string(),
        profile_type: p.profile_type,
        state: p.state.as_str().to_owned(),
        eid: p.eid.as_ref().map(ToString::to_string),
        matching_id: p.matching_id.as_ref().map(ToString::to_string),
        download_attempts: p.download_attempts,
        updated_at: p.updated_at,
    }
}

fn bad(what: &str, v: &str) -> Problem {
    Problem::invalid(format!("{what} {v:?} is not valid"))
}

/// Searches the tenant's inventory by state, profile type, EID, matchingId, ICCID prefix or
/// time of last change (`updated_from`, `updated_until`: a bounded scan, see `scanned`), with
/// keyset pagination.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/profiles", tag = "inventory",
    params(("tenant" = String, Path), SearchQuery),
    responses((status = 200, body = SearchOut),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn search(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchOut>, Problem> {
    Ok(Json(search_in(&api, &op, &q).await?))
}

/// A page of tenant `op`'s profiles matching `q`.
///
/// # Errors
/// 422 naming a malformed filter.
pub async fn search_in(api: &Api, op: &Operator, q: &SearchQuery) -> Result<SearchOut, Problem> {
    let mut f = ProfileFilter::new(op.id);
    if let Some(s) = &q.state {
        f.state = Some(ProfileState::parse(s).ok_or_else(|| bad("state", s))?);
    }
    f.profile_type = q.profile_type.clone();
    if let Some(e) = &q.eid {
        f.eid = Some(Eid::parse(e).map_err(|_| bad("EID", e))?);
    }
    if let Some(m) = &q.matching_id {
        f.matching_id = Some(MatchingId::parse(m).map_err(|_| bad("matchingId", m))?);
    }
    if let Some(p) = &q.iccid {
        f.iccid_prefix = Some(IccidPrefix::parse(p).map_err(|_| bad("ICCID prefix", p))?);
    }
    if let Some(a) = &q.after {
        f.after = Some(Iccid::parse(a).map_err(|_| bad("after", a))?);
    }
    f.updated_from = time_param("updated_from", q.updated_from.as_deref())?;
    f.updated_until = time_param("updated_until", q.updated_until.as_deref())?;
    f.limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let page = api.store.search(&f).await?;
    Ok(SearchOut {
        profiles: page.rows.into_iter().map(summary_out).collect(),
        next: page.next_after.map(|i| i.to_string()),
        scanned: page.scanned,
    })
}

/// One event of a profile's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    /// Its id (pass the last one as `after` for the next page).
    pub id: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// `state` (a state change) or `download` (an ES9+ progress point, as notified to the
    /// operator).
    pub kind: String,
    /// A state change: from.
    pub from: Option<String>,
    /// A state change: to.
    pub to: Option<String>,
    /// A download point: 1 eligibility, 2 confirmation, 3 BPP delivered, 4 installation,
    /// 5 deleted.
    pub point: Option<u32>,
    /// The EID, when known.
    pub eid: Option<String>,
    /// A failed point's SGP.22 subject code.
    pub subject_code: Option<String>,
    /// A failed point's SGP.22 reason code.
    pub reason_code: Option<String>,
    /// A failed installation's bppCommandId (from the eUICC's ProfileInstallationResult).
    pub bpp_command_id: Option<i64>,
    /// A failed installation's errorReason.
    pub error_reason: Option<i64>,
}

fn history_out(h: &HistoryEntry) -> HistoryOut {
    let mut o = HistoryOut {
        id: h.id,
        at: 0,
        kind: String::new(),
        from: None,
        to: None,
        point: None,
        eid: None,
        subject_code: None,
        reason_code: None,
        bpp_command_id: None,
        error_reason: None,
    };
    match &h.event {
        Event::ProfileState { from, to, at, .. } => {
            o.kind = "state".into();
            o.at = *at;
            o.from = Some(from.as_str().into());
            o.to = Some(to.as_str().into());
        }
        Event::DownloadProgress {
            point,
            failure,
            eid,
            at,
            ..
        } => {
            o.kind = "download".into();
            o.at = *at;
            o.point = Some(*point);
            o.eid = eid.as_ref().map(ToString::to_string);
            if let Some((s, r)) = failure {
                o.subject_code = Some(s.clone());
                o.reason_code = Some(r.clone());
            }
            if let Some(e) = h.installation_error() {
                o.bpp_command_id = Some(e.bpp_command_id.0);
                o.error_reason = Some(e.error_reason.0);
            }
        }
    }
    o
}

/// A page of history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Events after this id.
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A profile's history: every state change and download point (with failures, and a failed
/// installation's bppCommandId and errorReason), oldest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/profiles/{iccid}/history", tag = "inventory",
    params(("tenant" = String, Path), ("iccid" = String, Path), HistoryQuery),
    responses((status = 200, body = Vec<HistoryOut>),
        (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn history(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, i)): Path<(String, String)>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<HistoryOut>>, Problem> {
    let i = iccid(&i)?;
    exists(&api, &op, &i).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let h = api.store.history(op.id, &i, q.after, limit).await?;
    Ok(Json(h.iter().map(history_out).collect()))
}

/// Activation codes of many profiles, as CSV or as a ZIP.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodesQuery {
    /// Profiles in this state (default `released`).
    pub state: Option<String>,
    /// Of this profile type.
    pub profile_type: Option<String>,
    /// The page after this ICCID.
    pub after: Option<String>,
    /// At most this many (default 1000, at most 1000).
    pub limit: Option<u32>,
    /// `csv` (default) or `zip` (the CSV as `activation-codes.csv` and each profile's QR code
    /// as `<iccid>.png`).
    pub format: Option<String>,
}

/// The activation code of one profile's order.
#[derive(Debug, Clone)]
pub struct CodeRow {
    /// The profile's ICCID.
    pub iccid: String,
    /// The EID its order names (empty: none).
    pub eid: String,
    /// The order's matchingId.
    pub matching_id: String,
    /// Its activation code.
    pub code: ActivationCode,
}

/// A page of activation codes.
#[derive(Debug)]
pub struct CodesPage {
    /// The codes, in ICCID order.
    pub rows: Vec<CodeRow>,
    /// The last ICCID of a full page (the next page starts after it).
    pub next: Option<String>,
}

/// The activation code of an order (`matching_id`), on the platform's SM-DP+ address.
fn code_row(
    address: &str,
    iccid: &Iccid,
    eid: Option<&Eid>,
    mid: &MatchingId,
) -> Result<CodeRow, Problem> {
    let code = ActivationCode::new(address, Some(mid.clone()), None, false)
        .map_err(|e| Problem::invalid(e.to_string()))?;
    Ok(CodeRow {
        iccid: iccid.to_string(),
        eid: eid.map(ToString::to_string).unwrap_or_default(),
        matching_id: mid.to_string(),
        code,
    })
}

fn smdp_address(api: &Api) -> Result<&str, Problem> {
    api.config
        .smdp_address
        .as_deref()
        .ok_or_else(|| Problem::conflict("this platform has no SM-DP+ address configured"))
}

/// A page of the activation codes of tenant `op`'s profiles with an order, by state
/// (default `released`) and type.
///
/// # Errors
/// 409 without an SM-DP+ address, 422 for a bad state or ICCID.
pub async fn codes_in(api: &Api, op: &Operator, q: &CodesQuery) -> Result<CodesPage, Problem> {
    let address = smdp_address(api)?;
    let mut f = ProfileFilter::new(op.id);
    let state = q.state.as_deref().unwrap_or("released");
    f.state = Some(ProfileState::parse(state).ok_or_else(|| bad("state", state))?);
    f.profile_type = q.profile_type.clone().filter(|t| !t.is_empty());
    if let Some(a) = q.after.as_deref().filter(|a| !a.is_empty()) {
        f.after = Some(Iccid::parse(a).map_err(|_| bad("after", a))?);
    }
    f.limit = q.limit.unwrap_or(1000).clamp(1, 1000);
    let found = api.store.search(&f).await?;
    let mut rows = Vec::with_capacity(found.rows.len());
    for p in &found.rows {
        if let Some(mid) = &p.matching_id {
            rows.push(code_row(address, &p.iccid, p.eid.as_ref(), mid)?);
        }
    }
    let next = found.next_after.map(|last| last.to_string());
    Ok(CodesPage { rows, next })
}

/// The activation codes of tenant `op`'s profiles `iccids` (at most [`RELEASE_MAX`]), each
/// the tenant's (404 otherwise) with an order (409 otherwise).
///
/// # Errors
/// 404, 409, 422.
pub async fn codes_of(
    api: &Api,
    op: &Operator,
    iccids: &[String],
) -> Result<Vec<CodeRow>, Problem> {
    let address = smdp_address(api)?;
    if iccids.len() > RELEASE_MAX as usize {
        return Err(Problem::invalid(format!(
            "at most {RELEASE_MAX} profiles at once"
        )));
    }
    let mut rows = Vec::with_capacity(iccids.len());
    for i in iccids {
        let p = record(api, op, &iccid(i)?).await?;
        let Some(mid) = &p.matching_id else {
            return Err(Problem::conflict(format!(
                "profile {i} has no order with a matchingId"
            )));
        };
        rows.push(code_row(address, &p.iccid, p.eid.as_ref(), mid)?);
    }
    Ok(rows)
}

/// Activation codes as CSV: `iccid,eid,matching_id,activation_code`, a header line first.
#[must_use]
pub fn codes_csv(rows: &[CodeRow]) -> String {
    let mut csv = String::from("iccid,eid,matching_id,activation_code\r\n");
    for r in rows {
        csv.push_str(&format!(
            "{},{},{},{}\r\n",
            r.iccid,
            r.eid,
            r.matching_id,
            r.code.to_qr_text()
        ));
    }
    csv
}

/// Activation codes as a ZIP: the CSV ([`codes_csv`]) as `activation-codes.csv`, and each
/// profile's QR code as `<iccid>.png`.
///
/// # Errors
/// 500 if a QR code or the archive cannot be made.
pub fn codes_zip(rows: &[CodeRow]) -> Result<Vec<u8>, Problem> {
    use std::io::Write as _;
    use zip::write::SimpleFileOptions;
    let internal = |e: &(dyn std::error::Error + 'static)| Problem::internal(e);
    let csv_opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    // A PNG is compressed already.
    let png_opts = csv_opts.compression_method(zip::CompressionMethod::Stored);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("activation-codes.csv", csv_opts)
        .map_err(|e| internal(&e))?;
    z.write_all(codes_csv(rows).as_bytes())
        .map_err(|e| internal(&e))?;
    for r in rows {
        let png = r.code.to_png(8).map_err(|e| internal(&e))?;
        z.start_file(format!("{}.png", r.iccid), png_opts)
            .map_err(|e| internal(&e))?;
        z.write_all(&png).map_err(|e| internal(&e))?;
    }
    Ok(z.finish().map_err(|e| internal(&e))?.into_inner())
}

/// `rows` as `format` (`csv` or `zip`): the body and its content type.
///
/// # Errors
/// 422 for another format, 500 if the ZIP cannot be made.
pub fn codes_as(rows: &[CodeRow], format: &str) -> Result<(Vec<u8>, &'static str), Problem> {
    match format {
        "csv" => Ok((codes_csv(rows).into_bytes(), "text/csv; charset=utf-8")),
        "zip" => Ok((codes_zip(rows)?, "application/zip")),
        f => Err(Problem::invalid(format!("format {f:?}: csv or zip"))),
    }
}

/// The activation codes of the tenant's profiles with an order (`iccid,eid,matching_id,
/// activation_code`), a page at a time (the `Link: <…>; rel="next"` header names the next);
/// with `format=zip`, that CSV and each profile's QR code as a PNG in one ZIP.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/activation-codes", tag = "inventory",
    params(("tenant" = String, Path), CodesQuery),
    responses((status = 200, description = "CSV with a header line (`text/csv`), or a ZIP of it and one PNG QR code per profile (`application/zip`)", content_type = "text/csv"),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn activation_codes(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(q): Query<CodesQuery>,
) -> Result<Response, Problem> {
    let page = codes_in(&api, &op, &q).await?;
    let format = q.format.as_deref().unwrap_or("csv");
    let (body, ctype) = codes_as(&page.rows, format)?;
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let state = q.state.as_deref().unwrap_or("released");
    let next = page.next.map(|after| {
        let mut link = format!(
            "</api/v1/tenants/{}/activation-codes?state={state}&after={after}",
            op.name
        );
        if let Some(t) = q.profile_type.as_deref().filter(|t| !t.is_empty()) {
            link.push_str(&format!("&profile_type={}", pct(t)));
        }
        if format != "csv" {
            link.push_str(&format!("&format={format}"));
        }
        link.push_str(">; rel=\"next\"");
        link
    });
    if let Some(v) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
        h.insert(header::LINK, v);
    }
    Ok(r)
}

/// Percent-encodes a query value.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The most profiles one bulk release takes.
pub const RELEASE_MAX: u32 = 1000;

/// A bulk release: `count` profiles of `profile_type`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReleaseManyIn {
    /// The profile type (ES2+ DownloadOrder by type).
    pub profile_type: String,
    /// How many (1 to 1000).
    pub count: u32,
}

/// What a bulk release did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleasedOut {
    /// The ICCIDs released, in the order they were.
    pub released: Vec<String>,
    /// Why the release stopped before `count` (the SM-DP+'s refusal: no profile of the type
    /// available, …); `None`: all were released.
    pub stopped: Option<String>,
}

/// Releases `count` available profiles of a type: for each, ES2+ DownloadOrder by profile
/// type, then ConfirmOrder with release (a matchingId of the SM-DP+'s making). Stops at the
/// first refusal, answering what was released until then; their activation codes are at
/// `activation-codes`.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/releases", tag = "inventory",
    params(("tenant" = String, Path)), request_body = ReleaseManyIn,
    responses((status = 200, body = ReleasedOut),
        (status = 409, description = "Refused by the SM-DP+ before any was released (the SGP.22 status in the detail)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn release_profiles(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(b): Json<ReleaseManyIn>,
) -> Result<Json<ReleasedOut>, Problem> {
    Ok(Json(release_many(&api, &op, &b).await?))
}

/// Releases `b.count` available profiles of type `b.profile_type` of tenant `op` (ES2+
/// DownloadOrder by type, ConfirmOrder with release, one after the other).
///
/// # Errors
/// 422 for a bad type or count; the SM-DP+'s refusal (409, …) when not even the first could
/// be released (a later refusal stops the release and is answered in
/// [`ReleasedOut::stopped`]).
pub async fn release_many(
    api: &Api,
    op: &Operator,
    b: &ReleaseManyIn,
) -> Result<ReleasedOut, Problem> {
    if b.profile_type.is_empty() || b.profile_type.len() > 64 {
        return Err(Problem::invalid("profile_type has 1 to 64 characters"));
    }
    if b.count == 0 || b.count > RELEASE_MAX {
        return Err(Problem::invalid(format!("count is 1 to {RELEASE_MAX}")));
    }
    let smdp = smdp(api)?;
    let mut released = Vec::new();
    for n in 0..b.count {
        let now = api.now();
        let one = async {
            let req = es2_request(serde_json::json!({
                "header": es2_header(op, &format!("bulk-order-{n}"), now),
                "profileType": b.profile_type,
            }))?;
            let (order, _) = smdp.download_order(op.id, &req, now).await?;
            let Some(i) = order.iccid else {
                return Err(Problem::conflict("DownloadOrder answered no ICCID"));
            };
            let req = es2_request(serde_json::json!({
                "header": es2_header(op, &format!("bulk-confirm-{n}"), now),
                "iccid": i.to_string(), "releaseFlag": true,
            }))?;
            if let Err(e) = smdp.confirm_order(op.id, &req, now).await {
                // The order stands with its profile allocated: cancelled, the profile is
                // available again (or the answer names it).
                let mut p = Problem::from(e);
                if let Err(c) = cancel(api, op, &i.to_string(), "Available").await {
                    p.detail = format!(
                        "{}; profile {i} stays allocated: cancelling its order failed: {}",
                        p.detail, c.detail
                    );
                }
                return Err(p);
            }
            Ok::<_, Problem>(i.to_string())
        };
        match one.await {
            Ok(i) => released.push(i),
            Err(p) if released.is_empty() => return Err(p),
            Err(p) => {
                return Ok(ReleasedOut {
                    released,
                    stopped: Some(p.detail),
                });
            }
        }
    }
    Ok(ReleasedOut {
        released,
        stopped: None,
    })
}

fn smdp(api: &Api) -> Result<&simforge_esim::platform::PlatformSmdp, Problem> {
    api.config
        .smdp
        .as_deref()
        .ok_or_else(|| Problem::conflict("this API is not attached to an SM-DP+"))
}

fn es2_header(op: &Operator, what: &str, now: i64) -> serde_json::Value {
    serde_json::json!({
        "functionRequesterIdentifier": op.name,
        "functionCallIdentifier": format!("api-{what}-{now}"),
    })
}

fn es2_request<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, Problem> {
    serde_json::from_value(v).map_err(|e| Problem::invalid(e.to_string()))
}

/// An order for one profile (ES2+ DownloadOrder by ICCID).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DownloadOrderIn {
    /// Link the order to this EID.
    #[serde(default)]
    pub eid: Option<String>,
}

/// Orders the profile (ES2+ DownloadOrder): Available → Allocated, or Linked with an EID.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/profiles/{iccid}/download-order", tag = "inventory",
    params(("tenant" = String, Path), ("iccid" = String, Path)), request_body = DownloadOrderIn,
    responses((status = 200, body = ProfileOut),
        (status = 409, description = "Refused by the SM-DP+ (the SGP.22 status in the detail)", body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn download_order(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, i)): Path<(String, String)>,
    Json(b): Json<DownloadOrderIn>,
) -> Result<Json<ProfileOut>, Problem> {
    Ok(Json(order(&api, &op, &i, &b).await?))
}

/// Orders profile `i` (ES2+ DownloadOrder): Allocated, or Linked with an EID.
///
/// # Errors
/// 404, 422, 409 refused by the SM-DP+.
pub async fn order(
    api: &Api,
    op: &Operator,
    i: &str,
    b: &DownloadOrderIn,
) -> Result<ProfileOut, Problem> {
    let (i, now) = (iccid(i)?, api.now());
    let req = es2_request(serde_json::json!({
        "header": es2_header(op, "download-order", now), "iccid": i.to_string(), "eid": b.eid,
    }))?;
    smdp(api)?.download_order(op.id, &req, now).await?;
    Ok(profile_out(&record(api, op, &i).await?))
}

/// Confirms an order (ES2+ ConfirmOrder).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ConfirmOrderIn {
    /// The EID (if the order has none yet).
    #[serde(default)]
    pub eid: Option<String>,
    /// A matchingId of the operator's choosing (default: one the SM-DP+ makes).
    #[serde(default)]
    pub matching_id: Option<String>,
    /// A confirmation code the end user will have to enter.
    #[serde(default)]
    pub confirmation_code: Option<String>,
    /// Release at once (default true).
    #[serde(default)]
    pub release: Option<bool>,
}

/// Confirms the profile's order (ES2+ ConfirmOrder): its matchingId, and Released unless
/// `release` is false.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/profiles/{iccid}/confirm-order", tag = "inventory",
    params(("tenant" = String, Path), ("iccid" = String, Path)), request_body = ConfirmOrderIn,
    responses((status = 200, body = ProfileOut),
        (status = 409, description = "Refused by the SM-DP+ (the SGP.22 status in the detail)", body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn confirm_order(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, i)): Path<(String, String)>,
    Json(b): Json<ConfirmOrderIn>,
) -> Result<Json<ProfileOut>, Problem> {
    Ok(Json(confirm(&api, &op, &i, &b).await?))
}

/// Confirms profile `i`'s order (ES2+ ConfirmOrder), released unless `b.release` is false.
///
/// # Errors
/// 404, 422, 409 refused by the SM-DP+.
pub async fn confirm(
    api: &Api,
    op: &Operator,
    i: &str,
    b: &ConfirmOrderIn,
) -> Result<ProfileOut, Problem> {
    let (i, now) = (iccid(i)?, api.now());
    let req = es2_request(serde_json::json!({
        "header": es2_header(op, "confirm-order", now), "iccid": i.to_string(), "eid": b.eid,
        "matchingId": b.matching_id, "confirmationCode": b.confirmation_code,
        "releaseFlag": b.release.unwrap_or(true),
    }))?;
    smdp(api)?.confirm_order(op.id, &req, now).await?;
    Ok(profile_out(&record(api, op, &i).await?))
}

/// Releases a confirmed order (ES2+ ReleaseProfile).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/profiles/{iccid}/release", tag = "inventory",
    params(("tenant" = String, Path), ("iccid" = String, Path)),
    responses((status = 200, body = ProfileOut),
        (status = 409, description = "Refused by the SM-DP+ (the SGP.22 status in the detail)", body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn release_profile(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, i)): Path<(String, String)>,
) -> Result<Json<ProfileOut>, Problem> {
    Ok(Json(release(&api, &op, &i).await?))
}

/// Releases profile `i`'s confirmed order (ES2+ ReleaseProfile).
///
/// # Errors
/// 404, 409 refused by the SM-DP+ (its SGP.22 status in the detail).
pub async fn release(api: &Api, op: &Operator, i: &str) -> Result<ProfileOut, Problem> {
    let (i, now) = (iccid(i)?, api.now());
    let req = es2_request(serde_json::json!({
        "header": es2_header(op, "release", now), "iccid": i.to_string(),
    }))?;
    smdp(api)?.release_profile(op.id, &req, now).await?;
    Ok(profile_out(&record(api, op, &i).await?))
}

/// Cancels an order (ES2+ CancelOrder).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CancelOrderIn {
    /// `Available` (the profile can be used again) or `Unavailable`.
    pub final_status: String,
}

/// Cancels the profile's order (ES2+ CancelOrder).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/profiles/{iccid}/cancel-order", tag = "inventory",
    params(("tenant" = String, Path), ("iccid" = String, Path)), request_body = CancelOrderIn,
    responses((status = 200, body = ProfileOut),
        (status = 409, description = "Refused by the SM-DP+ (the SGP.22 status in the detail)", body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn cancel_order(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, i)): Path<(String, String)>,
    Json(b): Json<CancelOrderIn>,
) -> Result<Json<ProfileOut>, Problem> {
    Ok(Json(cancel(&api, &op, &i, &b.final_status).await?))
}

/// Cancels profile `i`'s order (ES2+ CancelOrder) to `final_status` (`Available` or
/// `Unavailable`).
///
/// # Errors
/// 404, 422, 409 refused by the SM-DP+.
pub async fn cancel(
    api: &Api,
    op: &Operator,
    i: &str,
    final_status: &str,
) -> Result<ProfileOut, Problem> {
    let (i, now) = (iccid(i)?, api.now());
    let p = record(api, op, &i).await?;
    let req = es2_request(serde_json::json!({
        "header": es2_header(op, "cancel-order", now), "iccid": i.to_string(),
        "eid": p.eid.map(|e| e.to_string()), "matchingId": p.matching_id.map(|m| m.to_string()),
        "finalProfileStatusIndicator": final_status,
    }))?;
    smdp(api)?.cancel_order(op.id, &req, now).await?;
    Ok(profile_out(&record(api, op, &i).await?))
}

/// Profile packages to import.
#[derive(Deserialize, ToSchema)]
pub struct PackagesIn {
    /// The profile type.
    pub profile_type: String,
    /// Unprotected profile packages (DER, personalized), base64; each one's ICCID is its
    /// ProfileHeader's.
    pub packages: Vec<String>,
}

/// Adds uploaded profile packages to the tenant's inventory (all or none; ICCIDs already in
/// an inventory are skipped).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/inventory/packages", tag = "inventory",
    params(("tenant" = String, Path)), request_body = PackagesIn,
    responses((status = 200, body = Imported),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn import_packages(
    State(api): State<Api>,
    Extension(caller): Extension<crate::auth::Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(b): Json<PackagesIn>,
) -> Result<Json<Imported>, Problem> {
    use base64::Engine as _;
    if b.profile_type.is_empty() || b.profile_type.len() > 64 {
        return Err(Problem::invalid("profile_type has 1 to 64 characters"));
    }
    let mut packages = Vec::with_capacity(b.packages.len());
    for (n, p) in b.packages.iter().enumerate() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(p)
            .map_err(|_| Problem::invalid(format!("package {n}: not base64")))?;
        packages.push(zeroize::Zeroizing::new(der));
    }
    inventory_quota(&api, &op, packages.len() as u64, "the upload").await?;
    let opts = simforge_esim::inventory::ImportOptions::of_type(&b.profile_type);
    let added = simforge_esim::inventory::import_packages(
        &api.store,
        (&api.store, &caller.actor()),
        &*api.vault,
        &op,
        packages,
        &opts,
        api.now(),
    )
    .await?;
    Ok(Json(Imported {
        added: added.len(),
        first_iccid: added.first().map(ToString::to_string),
        last_iccid: added.last().map(ToString::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_are_rfc3339_or_days_in_utc() {
        assert_eq!(parse_time("1970-01-01"), Some(0));
        assert_eq!(parse_time("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_time("2026-11-30T00:53:20Z"), Some(1_796_000_000));
        assert_eq!(parse_time("2026-11-30t00:53:20z"), Some(1_796_000_000));
        assert_eq!(parse_time("2026-11-30T02:53:20+02:00"), Some(1_796_000_000));
        assert_eq!(parse_time("2026-11-29T23:53:20-01:00"), Some(1_796_000_000));
        // A fraction rounds up (whole seconds: `>=` and `<` keep their meaning).
        assert_eq!(parse_time("2026-11-30T00:53:19.25Z"), Some(1_796_000_000));
        assert_eq!(parse_time("2026-11-30T00:53:20.000Z"), Some(1_796_000_000));
        for bad in [
            "",
            "x",
            "2026-13-01",
            "2026-02-29",
            "2026-11-31",
            "1969-12-31",
            "2026-1-01",
            "2026-11-30T",
            "2026-11-30T00:53:20",
            "2026-11-30T24:00:00Z",
            "2026-11-30T00:60:00Z",
            "2026-11-30T00:53:20.Z",
            "2026-11-30T00:53:20+0200",
            "2026-11-30 00:53:20Z",
            "2026-11-30T00:53:20Zx",
            "２０２６-11-30",
            "2026-11-3é",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }
}
