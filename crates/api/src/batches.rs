//! Orders, batches and their files. Generation runs as a job (poll `GET …/jobs/{id}`); the
//! batch itself is the factory's (`simforge_factory::generate`), as on the command line.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use simforge_access::Action;
use simforge_factory::{self as factory, Format, OrderKind};
use simforge_store::{Batch, BatchState};
use utoipa::ToSchema;

use crate::auth::{Caller, Tenant};
use crate::{Api, Problem};

/// Running and finished generation jobs of this process, by id.
pub(crate) type Jobs = HashMap<u64, Arc<Mutex<JobOut>>>;

/// An order, uploaded.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderIn {
    /// `toml` or `json` (an API order) or `i01` (an operator order file).
    pub format: String,
    /// The order's text.
    pub order: String,
    /// The card profile (TOML) applied to an `i01` order (default: the default profile).
    #[serde(default)]
    pub profile: Option<String>,
    /// Files to write: `out`, `elec`, `laser`, `pysim`, `hlr` (default: all).
    #[serde(default)]
    pub files: Option<Vec<String>>,
}

/// A checked order: what a batch of it would be.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    /// Batch name.
    pub name: String,
    /// Cards.
    pub quantity: u64,
    /// First ICCID.
    pub first_iccid: String,
    /// First IMSI.
    pub first_imsi: String,
    /// Transport key index.
    pub kid: u32,
    /// OP/TOP index.
    pub opid: u32,
}

/// A generation job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobOut {
    /// Its id.
    pub id: u64,
    #[serde(skip)]
    tenant: i64,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// The batch's name.
    pub batch_name: String,
    /// Cards to make.
    pub total: u64,
    /// Cards written so far.
    pub done: u64,
    /// The batch's id, once done.
    pub batch_id: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Cards.
    pub quantity: i64,
    /// `generating`, `complete` or `released`.
    pub state: String,
    /// First ICCID body (without its check digit).
    pub first_iccid_body: String,
    /// Last ICCID body.
    pub last_iccid_body: String,
    /// First IMSI.
    pub first_imsi: String,
    /// Last IMSI.
    pub last_imsi: String,
    /// Transport key index.
    pub kid: i64,
    /// OP/TOP index.
    pub opid: i64,
}

fn digits(v: i64, len: i64) -> String {
    format!("{v:0w$}", w = usize::try_from(len).unwrap_or(0))
}

impl From<Batch> for BatchOut {
    fn from(b: Batch) -> Self {
        Self {
            id: b.id,
            state: format!("{:?}", b.state).to_lowercase(),
            first_iccid_body: digits(b.iccid.first, b.iccid.len - 1),
            last_iccid_body: digits(b.iccid.last, b.iccid.len - 1),
            first_imsi: digits(b.imsi.first, b.imsi.len),
            last_imsi: digits(b.imsi.last, b.imsi.len),
            name: b.name,
            quantity: b.quantity,
            kid: b.kid,
            opid: b.opid,
        }
    }
}

fn order_kind(s: &str) -> Result<OrderKind, Problem> {
    match s {
        "toml" => Ok(OrderKind::Toml),
        "json" => Ok(OrderKind::Json),
        "i01" => Ok(OrderKind::File),
        _ => Err(Problem::invalid(format!(
            "order format {s:?}: toml, json or i01"
        ))),
    }
}

async fn plan(
    api: &Api,
    op: &simforge_store::Operator,
    o: &OrderIn,
) -> Result<factory::Planned, Problem> {
    let order = factory::parse_order(
        order_kind(&o.format)?,
        &o.order,
        o.profile.as_deref(),
        ("upload", "upload"),
    )?;
    let now = UNIX_EPOCH + Duration::from_secs(u64::try_from(api.now()).unwrap_or(0));
    Ok(factory::plan(&api.store, op, order, "upload", now).await?)
}

fn plan_out(p: &factory::Planned) -> PlanOut {
    PlanOut {
        name: p.plan.name.clone(),
        quantity: p.plan.quantity,
        first_iccid: p.plan.first_iccid.to_string(),
        first_imsi: p.plan.first_imsi.to_string(),
        kid: p.plan.kid,
        opid: p.plan.opid,
    }
}

/// Checks an order without making anything: the same line and field errors as the command
/// line; the ranges it would take now.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/orders/validate", tag = "factory",
    params(("tenant" = String, Path)), request_body = OrderIn,
    responses((status = 200, body = PlanOut),
        (status = 422, description = "The order is invalid (line and field named)", body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn validate_order(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(o): Json<OrderIn>,
) -> Result<Json<PlanOut>, Problem> {
    Ok(Json(check_order(&api, &op, &o).await?))
}

/// Order `o` of tenant `op` checked and planned, nothing made.
///
/// # Errors
/// 422 naming the line and field, 409 for ranges already taken.
pub async fn check_order(
    api: &Api,
    op: &simforge_store::Operator,
    o: &OrderIn,
) -> Result<PlanOut, Problem> {
    Ok(plan_out(&plan(api, op, o).await?))
}

struct JobProgress(Arc<Mutex<JobOut>>);

impl factory::Progress for JobProgress {
    fn start(&mut self, cards: u64) {
        if let Ok(mut j) = self.0.lock() {
            j.total = cards;
        }
    }
    fn cards(&mut self, done: u64) {
        if let Ok(mut j) = self.0.lock() {
            j.done = done;
        }
    }
}

/// Orders a batch: the order is checked and its ranges planned now (errors: 422); the batch
/// is then generated in the background (202 and the job to poll).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/batches", tag = "factory",
    params(("tenant" = String, Path)), request_body = OrderIn,
    responses((status = 202, description = "Generating", body = JobOut),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn create_batch(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(o): Json<OrderIn>,
) -> Result<(StatusCode, Json<JobOut>), Problem> {
    Ok((
        StatusCode::ACCEPTED,
        Json(start(&api, &caller, &op, &o).await?),
    ))
}

/// Plans order `o` now and generates its batch in the background: the job to follow.
///
/// # Errors
/// 422, 409 as [`check_order`]; 429 over the tenant's batch quota.
pub async fn start(
    api: &Api,
    caller: &Caller,
    op: &simforge_store::Operator,
    o: &OrderIn,
) -> Result<JobOut, Problem> {
    let formats = match &o.files {
        None => Format::ALL.to_vec(),
        Some(f) => f
            .iter()
            .map(|n| {
                Format::parse(n).ok_or_else(|| {
                    Problem::invalid(format!("file {n:?}: out, elec, laser, pysim or hlr"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let planned = plan(api, op, o).await?;
    let quantity = planned.plan.quantity;
    if let Err(e) = factory::quotas::check_batch(&api.store, op.id, quantity, api.now()).await? {
        return Err(Problem::quota(e));
    }
    let job = {
        let mut jobs = api.jobs.lock().map_err(|_| Problem::conflict("jobs"))?;
        let id = jobs.keys().max().map_or(1, |m| m + 1);
        // Finished jobs are kept for polling; the oldest go beyond the last 1000.
        if jobs.len() >= 1000 {
            let finished: Vec<u64> = jobs
                .iter()
                .filter(|(_, j)| j.lock().is_ok_and(|j| j.state != "running"))
                .map(|(id, _)| *id)
                .collect();
            if let Some(oldest) = finished.iter().min() {
                jobs.remove(oldest);
            }
        }
        let job = Arc::new(Mutex::new(JobOut {
            id,
            tenant: op.id,
            state: "running".into(),
            batch_name: planned.plan.name.clone(),
            total: planned.plan.quantity,
            done: 0,
            batch_id: None,
            error: None,
        }));
        jobs.insert(id, job.clone());
        job
    };
    let first = job
        .lock()
        .map(|j| j.clone())
        .map_err(|_| Problem::conflict("job"))?;
    let out_root: PathBuf = api.config.data_dir.join("batches").join(&op.name);
    let actor = caller.actor();
    let handle = tokio::runtime::Handle::current();
    let api2 = api.clone();
    tokio::task::spawn_blocking(move || {
        let mut progress = JobProgress(job.clone());
        let run = factory::Run::os(api2.config.threads.max(1), &mut progress);
        let result = handle.block_on(factory::generate(
            &api2.store,
            &*api2.vault,
            &actor,
            &planned,
            &out_root,
            &formats,
            run,
        ));
        if let Ok(mut j) = job.lock() {
            match result {
                Ok(g) => {
                    j.state = "done".into();
                    j.done = g.quantity;
                    j.batch_id = Some(g.batch_id);
                }
                Err(e) => {
                    j.state = "failed".into();
                    j.error = Some(Problem::from(e).detail);
                }
            }
        }
    });
    Ok(first)
}

/// A generation job's progress.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/jobs/{id}", tag = "factory",
    params(("tenant" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = JobOut), (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn get_job(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, u64)>,
) -> Result<Json<JobOut>, Problem> {
    let job = job_of(&api, &op, id)?;
    let job = job
        .lock()
        .map(|j| j.clone())
        .map_err(|_| Problem::conflict("job"))?;
    Ok(Json(job))
}

/// Job `id` of tenant `op` as it is now.
///
/// # Errors
/// 404 for another tenant's or an unknown job.
pub fn job(api: &Api, op: &simforge_store::Operator, id: u64) -> Result<JobOut, Problem> {
    job_of(api, op, id)?
        .lock()
        .map(|j| j.clone())
        .map_err(|_| Problem::conflict("job"))
}

/// Tenant `op`'s generation jobs of this process (running and the last finished), newest
/// first.
#[must_use]
pub fn jobs_of(api: &Api, op: &simforge_store::Operator) -> Vec<JobOut> {
    let Ok(jobs) = api.jobs.lock() else {
        return Vec::new();
    };
    let mut out: Vec<JobOut> = jobs
        .values()
        .filter_map(|j| j.lock().ok().map(|j| j.clone()))
        .filter(|j| j.tenant == op.id)
        .collect();
    out.sort_by_key(|j| std::cmp::Reverse(j.id));
    out
}

/// A job of the tenant, shared with its generator.
fn job_of(
    api: &Api,
    op: &simforge_store::Operator,
    id: u64,
) -> Result<Arc<Mutex<JobOut>>, Problem> {
    api.jobs
        .lock()
        .ok()
        .and_then(|j| j.get(&id).cloned())
        .filter(|j| j.lock().is_ok_and(|j| j.tenant == op.id))
        .ok_or_else(|| Problem::not_found(format!("job {id}")))
}

/// A generation job's progress as it happens (Server-Sent Events): a `progress` event with the
/// job (as `GET …/jobs/{id}` answers it) whenever it changed, at most every half second, and
/// a last `done` or `failed` event.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/jobs/{id}/events", tag = "factory",
    params(("tenant" = String, Path), ("id" = u64, Path)),
    responses((status = 200, description = "`progress` events, then `done` or `failed`; each one's data is the job (JSON)", content_type = "text/event-stream"),
        (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn job_events(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, u64)>,
) -> Result<Response, Problem> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let job = job_of(&api, &op, id)?;
    // (job, the last state sent, ended)
    let stream =
        futures_util::stream::unfold((job, None, false), |(job, last, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let now = job.lock().ok().map(|j| j.clone())?;
                let fresh = last.as_ref() != Some(&(now.done, now.state.clone()));
                if fresh {
                    let kind = match now.state.as_str() {
                        "running" => "progress",
                        s => s,
                    };
                    let ended = now.state != "running";
                    let data = serde_json::to_string(&now).unwrap_or_default();
                    let ev = Event::default().event(kind).data(data);
                    let seen = Some((now.done, now.state));
                    return Some((Ok::<_, std::convert::Infallible>(ev), (job, seen, ended)));
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// The tenant's batch `id` (another tenant's: 404).
async fn batch_of(api: &Api, op: &simforge_store::Operator, id: i64) -> Result<Batch, Problem> {
    match api.store.batch(id).await {
        Ok(b) if b.operator == op.name => Ok(b),
        Ok(_) | Err(simforge_store::StoreError::NotFound(_)) => {
            Err(Problem::not_found(format!("batch {id}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The tenant's batches.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/batches", tag = "factory",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<BatchOut>)),
    security(("session" = []), ("token" = [])))]
pub async fn list_batches(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Result<Json<Vec<BatchOut>>, Problem> {
    Ok(Json(batches_of(&api, &op).await?))
}

/// Tenant `op`'s batches.
///
/// # Errors
/// The store's.
pub async fn batches_of(
    api: &Api,
    op: &simforge_store::Operator,
) -> Result<Vec<BatchOut>, Problem> {
    let b = api.store.batches(Some(&op.name)).await?;
    Ok(b.into_iter().map(Into::into).collect())
}

/// One batch.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/batches/{id}", tag = "factory",
    params(("tenant" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = BatchOut), (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn get_batch(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Json<BatchOut>, Problem> {
    Ok(Json(batch_of(&api, &op, id).await?.into()))
}

/// Gives an interrupted batch's ranges back.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/batches/{id}/release", tag = "factory",
    params(("tenant" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = BatchOut), (status = 409, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn release_batch(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Json<BatchOut>, Problem> {
    batch_of(&api, &op, id).await?;
    factory::release(&api.store, &caller.actor(), id).await?;
    Ok(Json(batch_of(&api, &op, id).await?.into()))
}

/// Finishes an interrupted batch (fresh secrets, its recorded directory); waits for it.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/batches/{id}/resume", tag = "factory",
    params(("tenant" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = BatchOut), (status = 409, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn resume_batch(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Json<BatchOut>, Problem> {
    let b = batch_of(&api, &op, id).await?;
    if b.state != BatchState::Generating {
        return Err(Problem::conflict(format!(
            "batch {id} is {}: only an interrupted batch can be resumed",
            format!("{:?}", b.state).to_lowercase()
        )));
    }
    let actor = caller.actor();
    let handle = tokio::runtime::Handle::current();
    let api2 = api.clone();
    tokio::task::spawn_blocking(move || {
        let mut progress = ();
        let run = factory::Run::os(api2.config.threads.max(1), &mut progress);
        handle.block_on(factory::resume(&api2.store, &*api2.vault, &actor, id, run))
    })
    .await
    .map_err(|e| Problem::internal(&e))??;
    Ok(Json(batch_of(&api, &op, id).await?.into()))
}

/// A file of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileOut {
    /// File name.
    pub name: String,
    /// `out`, `elec`, `laser`, `pysim` or `hlr`.
    pub format: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether the caller's role may download it (operator files: the operator's roles;
    /// production files: the factory).
    pub allowed: bool,
}

/// Who may receive a file of this format.
fn audience(f: Format) -> Action {
    match f {
        Format::Elec | Format::Laser => Action::ReceiveProductionFiles,
        Format::Out | Format::Pysim | Format::Hlr => Action::ReceiveOperatorFiles,
    }
}

fn files_of(b: &Batch) -> Vec<(String, Format, u64)> {
    let Ok(dir) = std::fs::read_dir(&b.output_dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let f = Format::of_file(&b.name, &name)?;
            Some((name, f, e.metadata().ok()?.len()))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A complete batch's files and which of them the caller may download.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/batches/{id}/files", tag = "factory",
    params(("tenant" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Vec<FileOut>)),
    security(("session" = []), ("token" = [])))]
pub async fn list_files(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Json<Vec<FileOut>>, Problem> {
    Ok(Json(files(&api, &caller, &op, id).await?))
}

/// Batch `id`'s files (none until it is complete) and which of them the caller may download.
///
/// # Errors
/// 404 for another tenant's batch.
pub async fn files(
    api: &Api,
    caller: &Caller,
    op: &simforge_store::Operator,
    id: i64,
) -> Result<Vec<FileOut>, Problem> {
    let b = batch_of(api, op, id).await?;
    let p = caller.principal()?;
    if b.state != BatchState::Complete {
        return Ok(Vec::new());
    }
    Ok(files_of(&b)
        .into_iter()
        .map(|(name, f, size)| FileOut {
            name,
            format: f.name().into(),
            size,
            allowed: p.may(audience(f), Some(op.id)),
        })
        .collect())
}

/// Downloads a file of a complete batch (403 when the caller's role may not receive it).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/batches/{id}/files/{name}", tag = "factory",
    params(("tenant" = String, Path), ("id" = i64, Path), ("name" = String, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn get_file(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id, name)): Path<(String, i64, String)>,
) -> Result<Response, Problem> {
    let b = batch_of(&api, &op, id).await?;
    let missing = || Problem::not_found(format!("file {name} of batch {id}"));
    if b.state != BatchState::Complete {
        return Err(missing());
    }
    let (file, format, _) = files_of(&b)
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(missing)?;
    if !caller.principal()?.may(audience(format), Some(op.id)) {
        return Err(Problem::forbidden());
    }
    let path = std::path::Path::new(&b.output_dir).join(&file);
    // Streamed: a batch of millions of cards has files of gigabytes.
    let f = tokio::fs::File::open(&path)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let len = f.metadata().await.map_err(|e| Problem::internal(&e))?.len();
    let mut r = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024))
        .into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
