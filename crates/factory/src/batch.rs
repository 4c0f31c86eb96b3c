//! Batches: an order planned against the operator's free ranges, reserved in the store,
//! generated into a hidden `.<name>.partial` directory and renamed into place only when every
//! file is complete and synced; an interrupted batch is resumed (fresh secrets: nothing of the
//! dead run was delivered) or released (its ranges free again).

use simforge_audit::{Draft, action};

use crate::{Actor, audited};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::TryCryptoRng;
use serde::{Deserialize, Serialize};
use simforge_sim as sim;
use simforge_store::{Batch, BatchState, NewBatch, Operator, Range, Store};
use simforge_vault::Vault;
use zeroize::Zeroizing;

use crate::keys::{TransportKeys, load_keys, operator_profile};
use crate::{Error, Result, read_small_text};

/// An output file format.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// Server/HLR file for the operator (`.out`).
    Out,
    /// Electrical personalization file for the card machines (`.elec.csv`).
    Elec,
    /// Laser/graphic print file (`.laser.csv`).
    Laser,
    /// pySim-prog CSV (labs).
    Pysim,
    /// osmo-hlr VTY provisioning script (labs).
    Hlr,
}

impl Format {
    /// Every format, in file order.
    pub const ALL: [Format; 5] = [
        Format::Out,
        Format::Elec,
        Format::Laser,
        Format::Pysim,
        Format::Hlr,
    ];

    /// The format's name (`out`, `elec`, `laser`, `pysim`, `hlr`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Out => "out",
            Self::Elec => "elec",
            Self::Laser => "laser",
            Self::Pysim => "pysim",
            Self::Hlr => "hlr",
        }
    }

    /// The suffix of its file after the batch name (`.out`, `.elec.csv`…).
    #[must_use]
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Out => ".out",
            Self::Elec => ".elec.csv",
            Self::Laser => ".laser.csv",
            Self::Pysim => ".pysim.csv",
            Self::Hlr => ".osmo-hlr.vty",
        }
    }

    /// The format of batch `batch`'s file `file_name`, if it is one of its files.
    #[must_use]
    pub fn of_file(batch: &str, file_name: &str) -> Option<Self> {
        let suffix = file_name.strip_prefix(batch)?;
        Self::ALL.into_iter().find(|f| f.suffix() == suffix)
    }

    /// The format of a name (case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
    }
}

/// Progress of a batch run, reported on the caller's thread.
pub trait Progress {
    /// The run starts: `cards` will be made.
    fn start(&mut self, _cards: u64) {}
    /// `done` cards are written so far.
    fn cards(&mut self, _done: u64) {}
    /// The run ended (successfully or not).
    fn finish(&mut self) {}
}

/// No progress reporting.
impl Progress for () {}

/// How to run the generator: worker threads, the random source of each, where progress goes.
pub struct Run<'a, F> {
    /// Worker threads (at least 1). With a seeded source, 1 thread makes a reproducible batch.
    pub threads: usize,
    /// Makes each worker's random source.
    pub make_rng: F,
    /// Receives the progress.
    pub progress: &'a mut (dyn Progress + Send),
    /// The HSM holding the operators' transport keys that are stored as HSM keys
    /// ([`keys::store_hsm_transport_key`](crate::keys::store_hsm_transport_key)).
    pub hsm: Option<&'a dyn TransportKeys>,
}

impl<'a, F> Run<'a, F> {
    /// The same run, with the HSM that holds transport keys.
    #[must_use]
    pub fn with_hsm(mut self, hsm: &'a dyn TransportKeys) -> Self {
        self.hsm = Some(hsm);
        self
    }
}

/// The operating system's CSPRNG, per worker ([`sim::OsRandom`]).
pub type OsRngFactory = fn() -> Result<sim::OsRandom, sim::CardError>;

impl<'a> Run<'a, OsRngFactory> {
    /// A run on the operating system's CSPRNG.
    pub fn os(threads: usize, progress: &'a mut (dyn Progress + Send)) -> Self {
        Self {
            threads,
            make_rng: || Ok(sim::OsRandom::new()),
            progress,
            hsm: None,
        }
    }
}

/// An order, before planning.
pub enum Order<'a> {
    /// An API order (TOML or JSON).
    Spec(sim::OrderSpec),
    /// An operator order file (`.i01` layout) and the card profile to apply to it.
    File {
        /// The order file.
        input: Box<dyn BufRead + Send + 'a>,
        /// Algorithm, PIN policy, OTA key sets, AMF, SQN.
        profile: sim::CardProfile,
    },
}

/// How an order is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// An API order in TOML.
    Toml,
    /// An API order in JSON.
    Json,
    /// An operator order file (`.i01` layout).
    File,
}

impl OrderKind {
    /// The kind of an order file by its extension: `.toml`, `.json`, anything else `.i01`.
    #[must_use]
    pub fn of_path(path: &Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase()
            .as_str()
        {
            "toml" => Self::Toml,
            "json" => Self::Json,
            _ => Self::File,
        }
    }
}

/// Parses an order of `kind` from `text` (an upload); `profile` is the card profile (TOML)
/// applied to an operator order file (default: the default profile). `label` names the order
/// and `profile_label` the profile in errors, which say the line and field as for a file.
pub fn parse_order(
    kind: OrderKind,
    text: &str,
    profile: Option<&str>,
    (label, profile_label): (&str, &str),
) -> Result<Order<'static>> {
    let what = || format!("order {label}");
    match kind {
        OrderKind::Toml => Ok(Order::Spec(
            toml::from_str(text).map_err(Error::invalid(what()))?,
        )),
        OrderKind::Json => Ok(Order::Spec(
            serde_json::from_str(text).map_err(Error::invalid(what()))?,
        )),
        OrderKind::File => Ok(Order::File {
            input: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            profile: card_profile(profile, profile_label)?,
        }),
    }
}

fn card_profile(text: Option<&str>, label: &str) -> Result<sim::CardProfile> {
    match text {
        Some(t) => toml::from_str(t).map_err(Error::invalid(format!("profile {label}"))),
        None => Ok(sim::CardProfile::default()),
    }
}

/// Reads an order from a file: `.toml` or `.json` is an API order, anything else an operator
/// order file, to which the card profile (TOML) at `profile` applies (default: the default
/// profile).
pub fn read_order(path: &Path, profile: Option<&Path>) -> Result<Order<'static>> {
    let label = path.display().to_string();
    let kind = OrderKind::of_path(path);
    if kind != OrderKind::File {
        return parse_order(kind, &read_small_text(path)?, None, (&label, ""));
    }
    let profile_text = profile.map(read_small_text).transpose()?;
    let profile_label = profile.map(|p| p.display().to_string()).unwrap_or_default();
    let profile = card_profile(profile_text.as_deref().map(|t| t.as_str()), &profile_label)?;
    let f = File::open(path).map_err(Error::io(format!("cannot read {}", path.display())))?;
    Ok(Order::File {
        input: Box::new(BufReader::new(f)),
        profile,
    })
}

/// A checked order of an operator, with its ranges chosen.
pub struct Planned {
    /// The operator.
    pub operator: Operator,
    /// The generator's view of it.
    pub profile: sim::OperatorProfile,
    /// The order as an API order (kept, sealed, to resume the batch).
    pub spec: sim::OrderSpec,
    /// The checked plan.
    pub plan: sim::BatchPlan,
}

/// The default batch name at `now`: `B` and the Unix time in milliseconds.
#[must_use]
pub fn default_name(now: SystemTime) -> String {
    let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("B{}{:03}", d.as_secs(), d.subsec_millis())
}

/// Plans `order` for `op`: `next` ranges become the operator's next free ones; a batch without
/// a name gets [`default_name`]`(now)`. `label` names the order in errors (e.g. its path).
pub async fn plan(
    store: &Store,
    op: &Operator,
    order: Order<'_>,
    label: &str,
    now: SystemTime,
) -> Result<Planned> {
    let profile = operator_profile(op)?;
    let name = default_name(now);
    let what = || format!("order {label}");
    let (spec, plan) = match order {
        Order::Spec(spec) => {
            let first_iccid = match &spec.iccid_start {
                sim::Start::At(v) => v.clone(),
                sim::Start::Next => next_free_iccid(store, &profile).await?,
            };
            let first_imsi = match &spec.imsi_start {
                sim::Start::At(v) => v.clone(),
                sim::Start::Next => next_free_imsi(store, &profile).await?,
            };
            let plan = spec
                .plan(&profile, &first_iccid, &first_imsi, &name)
                .map_err(Error::invalid(what()))?;
            (spec, plan)
        }
        Order::File {
            input,
            profile: card,
        } => {
            let plan = sim::parse_order_file(input, &profile, &card, &name)
                .map_err(Error::invalid(what()))?;
            let spec = sim::OrderSpec {
                quantity: plan.quantity,
                iccid_start: sim::Start::At(plan.first_iccid.to_string()),
                imsi_start: sim::Start::At(plan.first_imsi.to_string()),
                msisdn_start: None,
                kid: plan.kid,
                opid: plan.opid,
                profile: card,
                name: Some(plan.name.clone()),
            };
            (spec, plan)
        }
    };
    Ok(Planned {
        operator: op.clone(),
        profile,
        spec,
        plan,
    })
}

/// A finished batch.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    /// Batch id.
    pub batch_id: i64,
    /// Batch name.
    pub name: String,
    /// Cards.
    pub quantity: u64,
    /// Its directory.
    pub dir: PathBuf,
    /// Its files, in the order of the formats asked.
    pub files: Vec<PathBuf>,
}

impl Generated {
    /// This batch, made in `seconds`: what a front door reports.
    #[must_use]
    pub fn summary(self, seconds: f64) -> Summary {
        Summary {
            cards_per_second: self.quantity as f64 / seconds.max(1e-9),
            seconds,
            batch: self,
        }
    }
}

/// A finished batch and how fast it was made (JSON: the batch's fields, then these).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The batch.
    #[serde(flatten)]
    pub batch: Generated,
    /// Seconds it took.
    pub seconds: f64,
    /// Cards per second.
    pub cards_per_second: f64,
}

/// What is kept (sealed) in the database to resume a batch.
#[derive(Serialize, Deserialize)]
struct StoredPlan {
    spec: sim::OrderSpec,
    first_iccid: String,
    first_imsi: String,
    header: Vec<String>,
    formats: Vec<String>,
}

fn plan_context(operator_id: i64, name: &str) -> String {
    format!("simforge/operator/{operator_id}/batch-plan/{name}")
}

/// The operator's `.out` columns, or the defaults for the plan's OTA key sets.
fn out_columns(op: &Operator, plan: &sim::BatchPlan) -> Result<Vec<sim::Column>> {
    Ok(match &op.out_columns {
        Some(c) => sim::Column::parse_list(c)
            .map_err(|e| Error::Damaged(format!("operator .out columns: {e}")))?,
        None => sim::Column::defaults(plan.profile.ota_key_sets),
    })
}

/// Reserves the planned batch's ranges and writes `formats` into `out_root/<batch name>/`,
/// which appears only when every file is complete and synced. The keys must exist and unseal
/// before anything is reserved or written. On a failure while writing, nothing is left on disk
/// and the ranges are released.
///
/// Recorded in the audit log as done by `actor` (batch name, operator, quantity, KID/OPID
/// indexes; never a key or card secret).
pub async fn generate<R, F>(
    store: &Store,
    vault: &dyn Vault,
    actor: &Actor,
    planned: &Planned,
    out_root: &Path,
    formats: &[Format],
    run: Run<'_, F>,
) -> Result<Generated>
where
    R: TryCryptoRng,
    F: Fn() -> Result<R, sim::CardError> + Sync + Send,
{
    let plan = &planned.plan;
    let target = (
        action::BATCH_GENERATE,
        format!("batch:{}", plan.name),
        Some(planned.operator.id),
    );
    let result = generate_unaudited(store, vault, actor, planned, out_root, formats, run).await;
    let details = |g: &Generated, d: simforge_audit::Draft| {
        d.detail("batch_id", g.batch_id)
            .detail("quantity", g.quantity)
            .detail("kid", plan.kid)
            .detail("opid", plan.opid)
    };
    audited(store, actor, target, details, result).await
}

async fn generate_unaudited<R, F>(
    store: &Store,
    vault: &dyn Vault,
    actor: &Actor,
    planned: &Planned,
    out_root: &Path,
    formats: &[Format],
    run: Run<'_, F>,
) -> Result<Generated>
where
    R: TryCryptoRng,
    F: Fn() -> Result<R, sim::CardError> + Sync + Send,
{
    let Planned {
        operator: op,
        profile,
        spec,
        plan,
    } = planned;
    let (transport, variant) =
        load_keys(store, vault, actor, (op.id, "batch"), plan.kid, plan.opid).await?;
    let transport = transport.cipher(plan.kid, run.hsm)?;
    sim::CardMaker::new(plan, &variant).map_err(Error::Card)?;
    let columns = out_columns(op, plan)?;
    let final_dir = out_root.join(&plan.name);
    if final_dir.exists() {
        return Err(Error::Conflict(format!(
            "{} already exists",
            final_dir.display()
        )));
    }
    let stored = StoredPlan {
        spec: spec.clone(),
        first_iccid: plan.first_iccid.to_string(),
        first_imsi: plan.first_imsi.to_string(),
        header: plan.header.clone(),
        formats: formats.iter().map(|f| f.name().to_owned()).collect(),
    };
    let plan_json = Zeroizing::new(serde_json::to_vec(&stored)?);
    let sealed_plan = vault.seal(&plan_context(op.id, &plan.name), &plan_json)?;
    let last_iccid = plan.last_iccid()?;
    let last_imsi = plan.last_imsi()?;
    let id = store
        .reserve_batch(&NewBatch {
            operator_id: op.id,
            name: plan.name.clone(),
            quantity: plan.quantity as i64,
            iccid: Range {
                len: plan.first_iccid.len() as i64,
                first: plan.first_iccid.body_value() as i64,
                last: last_iccid.body_value() as i64,
            },
            imsi: Range {
                len: plan.first_imsi.len() as i64,
                first: plan.first_imsi.value() as i64,
                last: last_imsi.value() as i64,
            },
            kid: i64::from(plan.kid),
            opid: i64::from(plan.opid),
            plan: sim::secret::to_hex(&sealed_plan),
            output_dir: final_dir.display().to_string(),
        })
        .await?;
    let keys = Keys {
        columns,
        transport,
        variant: &variant,
    };
    run_batch(store, id, plan, profile, formats, keys, &final_dir, run).await
}

/// Finishes a batch whose run was interrupted, with fresh secrets, into its recorded directory.
/// Recorded in the audit log as done by `actor`.
pub async fn resume<R, F>(
    store: &Store,
    vault: &dyn Vault,
    actor: &Actor,
    id: i64,
    run: Run<'_, F>,
) -> Result<Generated>
where
    R: TryCryptoRng,
    F: Fn() -> Result<R, sim::CardError> + Sync + Send,
{
    let tenant = batch_tenant(store, id).await;
    let result = resume_unaudited(store, vault, actor, id, run).await;
    let target = (action::BATCH_RESUME, format!("batch:{id}"), tenant);
    let details = |g: &Generated, d: simforge_audit::Draft| {
        Draft {
            target: format!("batch:{}", g.name),
            ..d
        }
        .detail("batch_id", g.batch_id)
        .detail("quantity", g.quantity)
    };
    audited(store, actor, target, details, result).await
}

async fn resume_unaudited<R, F>(
    store: &Store,
    vault: &dyn Vault,
    actor: &Actor,
    id: i64,
    run: Run<'_, F>,
) -> Result<Generated>
where
    R: TryCryptoRng,
    F: Fn() -> Result<R, sim::CardError> + Sync + Send,
{
    let b = store.batch(id).await?;
    if b.state != BatchState::Generating {
        return Err(Error::Conflict(format!(
            "batch {id} is {:?}: only an interrupted batch can be resumed",
            b.state
        )));
    }
    let op = store
        .operators()
        .await?
        .into_iter()
        .find(|o| o.name == b.operator)
        .ok_or_else(|| Error::NotFound(format!("operator {}", b.operator)))?;
    let sealed = sim::secret::decode_hex(&b.plan)
        .ok()
        .ok_or_else(|| Error::Damaged(format!("stored plan of batch {id} is damaged")))?;
    let json = vault.unseal(&plan_context(op.id, &b.name), &sealed)?;
    let stored: StoredPlan = serde_json::from_slice(&json)?;
    let profile = operator_profile(&op)?;
    let mut plan = stored
        .spec
        .plan(&profile, &stored.first_iccid, &stored.first_imsi, &b.name)?;
    plan.header = stored.header.clone();
    let (transport, variant) =
        load_keys(store, vault, actor, (op.id, "batch"), plan.kid, plan.opid).await?;
    let transport = transport.cipher(plan.kid, run.hsm)?;
    let keys = Keys {
        columns: out_columns(&op, &plan)?,
        transport,
        variant: &variant,
    };
    let formats: Vec<Format> = stored
        .formats
        .iter()
        .filter_map(|s| Format::parse(s))
        .collect();
    let dir = PathBuf::from(&b.output_dir);
    run_batch(store, id, &plan, &profile, &formats, keys, &dir, run).await
}

/// Gives an interrupted batch's ICCID/IMSI ranges back and removes what its dead run left.
///
/// Recorded in the audit log as done by `actor`.
pub async fn release(store: &Store, actor: &Actor, id: i64) -> Result<Batch> {
    let tenant = batch_tenant(store, id).await;
    let result = release_unaudited(store, id).await;
    let target = (action::BATCH_RELEASE, format!("batch:{id}"), tenant);
    let details = |b: &Batch, d: Draft| {
        Draft {
            target: format!("batch:{}", b.name),
            ..d
        }
        .detail("batch_id", b.id)
        .detail("operator", b.operator.as_str())
        .detail("quantity", b.quantity)
    };
    audited(store, actor, target, details, result).await
}

/// The operator id of batch `id`, if it exists (the tenant of its audit entries).
async fn batch_tenant(store: &Store, id: i64) -> Option<i64> {
    let b = store.batch(id).await.ok()?;
    store.operator(&b.operator).await.ok().map(|o| o.id)
}

async fn release_unaudited(store: &Store, id: i64) -> Result<Batch> {
    let b = store.batch(id).await?;
    store.release_batch(id).await?;
    let _ = std::fs::remove_dir_all(partial_dir(Path::new(&b.output_dir)));
    Ok(b)
}

/// The hidden directory a batch is written into before it is renamed to `final_dir`.
#[must_use]
pub fn partial_dir(final_dir: &Path) -> PathBuf {
    let name = final_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_dir.with_file_name(format!(".{name}.partial"))
}

/// The batch's keys and `.out` columns.
struct Keys<'v> {
    columns: Vec<sim::Column>,
    transport: Arc<dyn sim::BatchCipher>,
    variant: &'v sim::OperatorVariant,
}

#[allow(clippy::too_many_arguments)]
async fn run_batch<R, F>(
    store: &Store,
    id: i64,
    plan: &sim::BatchPlan,
    op: &sim::OperatorProfile,
    formats: &[Format],
    keys: Keys<'_>,
    final_dir: &Path,
    run: Run<'_, F>,
) -> Result<Generated>
where
    R: TryCryptoRng,
    F: Fn() -> Result<R, sim::CardError> + Sync + Send,
{
    let partial = partial_dir(final_dir);
    let files = match write_files(plan, op, formats, keys, &partial, run) {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            let _ = store.release_batch(id).await;
            return Err(e);
        }
    };
    // Every file is complete and synced: make them appear at once.
    std::fs::rename(&partial, final_dir).map_err(Error::io(format!(
        "cannot move the finished batch to {}",
        final_dir.display()
    )))?;
    if let Some(parent) = final_dir.parent()
        && let Ok(d) = File::open(parent)
    {
        let _ = d.sync_all();
    }
    store.complete_batch(id).await?;
    Ok(Generated {
        batch_id: id,
        name: plan.name.clone(),
        quantity: plan.quantity,
        dir: final_dir.to_owned(),
        files: files.iter().map(|f| final_dir.join(f)).collect(),
    })
}

/// Writes the batch's files into `dir` (created 0700, files 0600); returns their names.
fn write_files<R, F>(
    plan: &sim::BatchPlan,
    op: &sim::OperatorProfile,
    formats: &[Format],
    keys: Keys<'_>,
    dir: &Path,
    run: Run<'_, F>,
) -> Result<Vec<String>>
where
    R: TryCryptoRng,
    F: Fn() -> Result<R, sim::CardError> + Sync,
{
    if dir.exists() {
        // Left by a run that died: nothing in it was ever delivered.
        std::fs::remove_dir_all(dir)
            .map_err(Error::io(format!("cannot clear {}", dir.display())))?;
    }
    let mut parents = std::fs::DirBuilder::new();
    parents.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut parents, 0o700);
    parents
        .create(dir.parent().unwrap_or(Path::new(".")))
        .map_err(Error::io("cannot create the output directory"))?;
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(Error::io(format!("cannot create {}", dir.display())))?;

    let out = sim::OutFile::new(plan, keys.columns, keys.transport);
    let elec = sim::ElectricalFile::new(plan);
    let laser = sim::LaserFile::new(plan);
    let pysim = sim::PysimCsv::new(&op.plmn);
    let hlr = sim::OsmoHlrScript::new(plan);
    let chosen: Vec<&dyn sim::CardFormat> = formats
        .iter()
        .map(|f| -> &dyn sim::CardFormat {
            match f {
                Format::Out => &out,
                Format::Elec => &elec,
                Format::Laser => &laser,
                Format::Pysim => &pysim,
                Format::Hlr => &hlr,
            }
        })
        .collect();
    let names: Vec<String> = chosen
        .iter()
        .zip(formats)
        .map(|(f, format)| {
            debug_assert_eq!(f.suffix(), format.suffix());
            format!("{}{}", plan.name, format.suffix())
        })
        .collect();
    let mut sinks = Vec::new();
    for n in &names {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let f = opts
            .open(dir.join(n))
            .map_err(Error::io(format!("cannot create {n}")))?;
        sinks.push(BufWriter::with_capacity(1 << 20, f));
    }
    let maker = sim::CardMaker::new(plan, keys.variant).map_err(Error::Card)?;
    let Run {
        threads,
        make_rng,
        progress,
        hsm: _,
    } = run;
    progress.start(plan.quantity);
    let result = sim::run(
        &maker,
        plan.quantity,
        &chosen,
        &mut sinks,
        threads,
        make_rng,
        |n| progress.cards(n),
    );
    progress.finish();
    result?;
    for (s, n) in sinks.into_iter().zip(&names) {
        let f = s
            .into_inner()
            .map_err(|e| Error::io(format!("writing {n}"))(e.into_error()))?;
        f.sync_all()
            .map_err(Error::io(format!("cannot sync {n}")))?;
    }
    Ok(names)
}

/// Lowest and highest body value of `body_len`-digit ICCIDs under `prefix`.
fn prefix_bounds(prefix: &str, body_len: usize) -> Option<(u64, u64)> {
    let rest = body_len.checked_sub(prefix.len())?;
    let p: u64 = prefix.parse().ok()?;
    let scale = 10u64.checked_pow(rest as u32)?;
    Some((
        p.checked_mul(scale)?,
        p.checked_mul(scale)?.checked_add(scale - 1)?,
    ))
}

/// The operator's next free ICCID body (after every reserved range; the first is prefix…01).
pub async fn next_free_iccid(store: &Store, op: &sim::OperatorProfile) -> Result<String> {
    let body_len = op.iccid_len - 1;
    let (lo, hi) = prefix_bounds(&op.iccid_prefix, body_len)
        .ok_or_else(|| Error::Damaged("bad ICCID prefix".into()))?;
    let next = match store
        .highest_reserved(true, op.iccid_len as i64, lo as i64, hi as i64)
        .await?
    {
        Some(m) => m as u64 + 1,
        None => lo + 1,
    };
    if next > hi {
        return Err(Error::Conflict(format!(
            "the operator's ICCID prefix {} is exhausted",
            op.iccid_prefix
        )));
    }
    Ok(format!("{next:0body_len$}"))
}

/// The operator's next free IMSI (after every reserved range; the first is MCC MNC 0…01).
pub async fn next_free_imsi(store: &Store, op: &sim::OperatorProfile) -> Result<String> {
    let prefix = format!("{}{}", op.plmn.mcc(), op.plmn.mnc());
    let (lo, hi) = prefix_bounds(&prefix, 15).ok_or_else(|| Error::Damaged("bad PLMN".into()))?;
    let next = match store
        .highest_reserved(false, 15, lo as i64, hi as i64)
        .await?
    {
        Some(m) => m as u64 + 1,
        None => lo + 1,
    };
    if next > hi {
        return Err(Error::Conflict(
            "the operator's IMSI range is exhausted".into(),
        ));
    }
    Ok(format!("{next:015}"))
}
