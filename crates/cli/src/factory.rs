//! Factory commands (operators, keys, batches, demo): arguments, printing and exit codes. The
//! workflows are `simforge_factory`'s.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use simforge_factory::{self as factory, Error as FactoryError, batch, keys, operators};
use simforge_store::{KeyKind, Store};
use simforge_vault::MasterKey;

use crate::exit::{CliResult, Code, fail};

/// Shared command context: where things live.
pub struct Ctx {
    pub data_dir: PathBuf,
    master_key_file: Option<PathBuf>,
    pub json: bool,
}

impl Ctx {
    pub fn new(data_dir: &Path, master_key_file: Option<&Path>, json: bool) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            master_key_file: master_key_file.map(Path::to_owned),
            json,
        }
    }

    pub async fn store(&self) -> CliResult<Store> {
        crate::datadir::private_dir(&self.data_dir)?;
        Ok(Store::open_sqlite(&self.data_dir.join("simforge.sqlite")).await?)
    }

    /// The master key, checked against the check value sealed in `store` (refused if it is
    /// not the key the database was sealed with).
    pub async fn checked_vault(&self, store: &Store) -> CliResult<MasterKey> {
        let key = self.vault()?;
        crate::datadir::check_master_key(store, &key).await?;
        Ok(key)
    }

    pub fn vault(&self) -> CliResult<MasterKey> {
        if self.master_key_file.is_none() {
            crate::datadir::private_dir(&self.data_dir)?;
        }
        let path = self
            .master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"));
        let (key, created) = MasterKey::load_or_create(&path)?;
        if created {
            eprintln!(
                "note: created a new master key at {} (mode 0600). Back it up: without it the stored operator keys cannot be read.",
                path.display()
            );
        }
        Ok(key)
    }
}

// ---------------------------------------------------------------------------------------------
// operator
// ---------------------------------------------------------------------------------------------

#[derive(Subcommand)]
pub enum OperatorCmd {
    /// Create an operator.
    Create(OperatorCreate),
    /// Change an operator's settings.
    Update(OperatorUpdate),
    /// List operators.
    List,
    /// Issue a new ES2+ API key for an operator (printed once, only its SHA-256 is stored),
    /// list the operator's keys, or revoke one. A running `simforge serve` accepts a new key at
    /// once and refuses a revoked one within a second.
    ApiKey {
        /// Operator name.
        name: String,
        /// List the operator's API keys (id, prefix, created, revoked) instead.
        #[arg(long, conflicts_with = "revoke")]
        list: bool,
        /// Revoke the operator's API key with this id (from `--list`).
        #[arg(long, value_name = "ID")]
        revoke: Option<i64>,
    },
    /// Register a TLS client certificate (PEM or DER) with which the operator authenticates
    /// ES2+ calls (mutual TLS); list the operator's certificates, or revoke one.
    ClientCert {
        /// Operator name.
        name: String,
        /// The certificate file (PEM or DER): its SHA-256 fingerprint is registered.
        #[arg(long, conflicts_with_all = ["list", "revoke"])]
        cert: Option<std::path::PathBuf>,
        /// List the operator's client certificates instead.
        #[arg(long, conflicts_with = "revoke")]
        list: bool,
        /// Revoke the operator's client certificate with this id (from `--list`).
        #[arg(long, value_name = "ID")]
        revoke: Option<i64>,
    },
    /// Load a SIM-factory batch's credentials into the operator's SM-DP+ profile inventory.
    ImportProfiles(crate::serve::ImportArgs),
    /// The operator's SM-DP+ profile inventory: counts by state.
    Inventory {
        /// Operator name.
        name: String,
    },
    /// Set, clear or show the ES2+ HandleDownloadProgressInfo callback endpoint and its
    /// settings (client certificate, CA bundle, retry horizon); list or redeliver given-up
    /// events.
    Callback(crate::operator_ops::CallbackArgs),
    /// Take a profile out of Error: back to Released with its order (the same activation
    /// code works again), or to Available.
    ResetProfile(crate::operator_ops::ResetProfileArgs),
}

#[derive(Args)]
pub struct OperatorCreate {
    /// Unique operator name.
    pub name: String,
    /// Mobile country code (3 digits).
    #[arg(long)]
    pub mcc: String,
    /// Mobile network code (2 or 3 digits).
    #[arg(long)]
    pub mnc: String,
    /// ICCID issuer prefix: 89, country code, issuer identifier.
    #[arg(long)]
    pub iccid_prefix: String,
    /// Full ICCID length including the Luhn check digit.
    #[arg(long, default_value_t = 19, value_parser = clap::value_parser!(i64).range(19..=20))]
    pub iccid_length: i64,
    /// Service provider name (EF.SPN).
    #[arg(long)]
    pub spn: String,
    /// Columns of the server/HLR (.out) file, space- or comma-separated
    /// (default: IMSI EKI ICCID PIN1 PUK1 PIN2 PUK2 ADM1 ACC EKIC1 EKID1 EKIK1 …: OTA keys
    /// encrypted under the transport key; KIC1 KID1 KIK1 … put them in clear; KCV adds the check
    /// value of each clear Ki, so that the receiver can check its decryption of EKI).
    #[arg(long)]
    pub out_columns: Option<String>,
    /// SM-DP+ default for profiles imported without --reuse-on-delete/--no-reuse-on-delete:
    /// after a delete notification the profile returns to Available (reused) instead of
    /// Unavailable.
    #[arg(long)]
    pub reuse_on_delete: bool,
}

#[derive(Args)]
pub struct OperatorUpdate {
    /// Operator name.
    pub name: String,
    /// Profiles imported from now on without an explicit choice return to Available after a
    /// delete notification.
    #[arg(long, conflicts_with = "no_reuse_on_delete")]
    pub reuse_on_delete: bool,
    /// Profiles imported from now on without an explicit choice become Unavailable after a
    /// delete notification (the default).
    #[arg(long)]
    pub no_reuse_on_delete: bool,
    /// What ES9+.CancelSession does to the operator's profiles, from the next cancellation
    /// on: `default`, or comma-separated REASON=ACTION changing the default, REASON one of
    /// end-user-rejection, postponed, timeout, ppr-not-allowed, metadata-mismatch,
    /// load-bpp-execution-error, undefined-reason, all; ACTION release (back to Released),
    /// error, or retry (Released while download attempts remain). Default:
    /// end-user-rejection, postponed, timeout release; load-bpp-execution-error retry; the
    /// others error.
    #[arg(long, value_name = "POLICY")]
    pub cancel_session_policy: Option<String>,
}

pub async fn operator(ctx: Ctx, cmd: OperatorCmd) -> CliResult {
    let store = ctx.store().await?;
    match cmd {
        OperatorCmd::ApiKey { name, list, revoke } => {
            return crate::serve::api_key_cmd(&ctx, &store, &name, list, revoke).await;
        }
        OperatorCmd::ClientCert {
            name,
            cert,
            list,
            revoke,
        } => {
            return crate::serve::client_cert_cmd(&ctx, &store, &name, cert, list, revoke).await;
        }
        OperatorCmd::ImportProfiles(a) => return crate::serve::import_cmd(&ctx, &store, a).await,
        OperatorCmd::Inventory { name } => {
            return crate::serve::inventory_cmd(&ctx, &store, &name).await;
        }
        OperatorCmd::Callback(a) => {
            return crate::operator_ops::callback_cmd(&ctx, &store, a).await;
        }
        OperatorCmd::ResetProfile(a) => {
            return crate::operator_ops::reset_profile_cmd(&ctx, &store, a).await;
        }
        OperatorCmd::Create(a) => {
            let req = operators::NewOperatorRequest {
                name: a.name,
                mcc: a.mcc,
                mnc: a.mnc,
                iccid_prefix: a.iccid_prefix,
                iccid_len: a.iccid_length,
                spn: a.spn,
                out_columns: a.out_columns,
                reuse_on_delete: a.reuse_on_delete,
            };
            let op = operators::create(&store, req).await.map_err(|e| match e {
                FactoryError::IccidPrefix => fail(
                    Code::Input,
                    anyhow!("--iccid-prefix must be digits starting with 89, shorter than the ICCID body"),
                ),
                FactoryError::OutColumns(c) => fail(Code::Input, anyhow!("--out-columns: {c}")),
                e => e.into(),
            })?;
            if ctx.json {
                out!("{}", serde_json::to_string(&op)?)?;
            } else {
                out!(
                    "created operator {} (PLMN {}-{}, ICCID prefix {})",
                    op.name,
                    op.mcc,
                    op.mnc,
                    op.iccid_prefix
                )?;
            }
        }
        OperatorCmd::Update(a) => {
            if let Some(p) = &a.cancel_session_policy {
                let op = store.operator(&a.name).await?;
                crate::operator_ops::set_cancel_session_policy(&store, op.id, p).await?;
            }
            let reuse = (a.reuse_on_delete || a.no_reuse_on_delete).then_some(a.reuse_on_delete);
            let op = operators::update(&store, &a.name, reuse).await?;
            if ctx.json {
                out!("{}", serde_json::to_string(&op)?)?;
            } else {
                out!(
                    "operator {}: profiles imported without an explicit choice become {} after a delete notification",
                    op.name,
                    if op.reuse_on_delete {
                        "available"
                    } else {
                        "unavailable"
                    }
                )?;
                out!(
                    "operator {}: CancelSession policy {}",
                    op.name,
                    op.cancel_session_policy.clone().unwrap_or_else(|| {
                        simforge_smdp::CancelSessionPolicy::default().to_string()
                    })
                )?;
            }
        }
        OperatorCmd::List => {
            let ops = store.operators().await?;
            if ctx.json {
                out!("{}", serde_json::to_string(&ops)?)?;
            } else {
                out!(
                    "{:<20} {:<8} {:<12} {:<6} SPN",
                    "NAME",
                    "PLMN",
                    "ICCID PREFIX",
                    "LEN"
                )?;
                for o in ops {
                    out!(
                        "{:<20} {:<8} {:<12} {:<6} {}",
                        o.name,
                        format!("{}-{}", o.mcc, o.mnc),
                        o.iccid_prefix,
                        o.iccid_len,
                        o.spn
                    )?;
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// key
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// AES-128/192/256 transport key (KID).
    Transport,
    /// MILENAGE OP (128 bits) or TUAK TOP (256 bits) (OPID).
    Op,
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Import a key from a file or standard input (hex). Never from the command line.
    Import {
        /// Operator name.
        #[arg(long)]
        operator: String,
        /// Key kind.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Key index, as order files reference it (KID / OPID).
        #[arg(long)]
        index: u32,
        /// File holding the key as hex; `-` or absent reads standard input.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Replace an existing key at that index.
        #[arg(long)]
        replace: bool,
    },
    /// List an operator's keys (indexes and sizes, never values).
    List {
        /// Operator name.
        #[arg(long)]
        operator: String,
    },
}

pub async fn key(ctx: Ctx, cmd: KeyCmd) -> CliResult {
    let store = ctx.store().await?;
    match cmd {
        KeyCmd::Import {
            operator,
            kind,
            index,
            file,
            replace,
        } => {
            let op = store.operator(&operator).await?;
            let text = match file.as_deref() {
                Some(p) if p != Path::new("-") => {
                    let f = std::fs::File::open(p)
                        .with_context(|| format!("cannot read key file {}", p.display()))?;
                    keys::read_key_text(f, &format!("key file {}", p.display()))?
                }
                _ => keys::read_key_text(std::io::stdin().lock(), "key from standard input")?,
            };
            let kind = match kind {
                KindArg::Transport => KeyKind::Transport,
                KindArg::Op => KeyKind::Op,
            };
            let key = keys::parse_key(kind, &text)?;
            let vault = ctx.checked_vault(&store).await?;
            keys::store_key(&store, &vault, &op, &key, index, replace).await?;
            if !ctx.json {
                let what = if kind == KeyKind::Op {
                    "OP/TOP"
                } else {
                    "transport"
                };
                out!(
                    "imported {}-bit {what} key {index} for operator {}",
                    key.bits,
                    op.name
                )?;
            }
        }
        KeyCmd::List { operator } => {
            let op = store.operator(&operator).await?;
            let keys = store.keys(op.id).await?;
            if ctx.json {
                out!("{}", serde_json::to_string(&keys)?)?;
            } else {
                out!("{:<10} {:>6} {:>5} IMPORTED", "KIND", "INDEX", "BITS")?;
                for k in keys {
                    out!(
                        "{:<10} {:>6} {:>5} {}",
                        format!("{:?}", k.kind).to_lowercase(),
                        k.index,
                        k.bits,
                        k.created_at
                    )?;
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// batch
// ---------------------------------------------------------------------------------------------

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
pub enum FormatArg {
    /// Server/HLR file for the operator (.out).
    Out,
    /// Electrical personalization file for the card machines.
    Elec,
    /// Laser/graphic print file.
    Laser,
    /// pySim-prog CSV (labs).
    Pysim,
    /// osmo-hlr VTY provisioning script (labs).
    Hlr,
}

#[derive(Subcommand)]
pub enum BatchCmd {
    /// Generate a batch from an order: an operator order file (.i01 layout) or a TOML/JSON order.
    Generate(GenerateArgs),
    /// List batches.
    List {
        /// Only this operator's.
        #[arg(long)]
        operator: Option<String>,
    },
    /// Finish a batch whose run was interrupted (fresh secrets; nothing of the dead run was delivered).
    Resume {
        /// Batch id.
        id: i64,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Give an interrupted batch's ICCID/IMSI ranges back.
    Release {
        /// Batch id.
        id: i64,
    },
}

#[derive(Args, Clone)]
pub struct RunArgs {
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Operator name.
    #[arg(long)]
    pub operator: String,
    /// The order: `.toml` or `.json` for an API order; anything else is read as an operator order file.
    pub order: PathBuf,
    /// Card profile (TOML) for operator order files: algorithm, PIN policy, OTA key sets, AMF, SQN.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Output directory (default: <data-dir>/batches/<operator>). The batch's files go to
    /// <out>/<batch name>/, which appears only when every file is complete.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Which files to write (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub formats: Option<Vec<FormatArg>>,
    #[command(flatten)]
    pub run: RunArgs,
}

impl From<FormatArg> for factory::Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Out => Self::Out,
            FormatArg::Elec => Self::Elec,
            FormatArg::Laser => Self::Laser,
            FormatArg::Pysim => Self::Pysim,
            FormatArg::Hlr => Self::Hlr,
        }
    }
}

pub async fn batch(ctx: Ctx, cmd: BatchCmd) -> CliResult {
    match cmd {
        BatchCmd::Generate(a) => generate(&ctx, a).await.map(|_| ()),
        BatchCmd::List { operator } => {
            let store = ctx.store().await?;
            let batches = store.batches(operator.as_deref()).await?;
            if ctx.json {
                out!("{}", serde_json::to_string(&batches)?)?;
            } else {
                out!(
                    "{:>4} {:<12} {:<24} {:>10} {:<11} {:<20} OUTPUT",
                    "ID",
                    "OPERATOR",
                    "NAME",
                    "CARDS",
                    "STATE",
                    "FIRST ICCID"
                )?;
                for b in batches {
                    out!(
                        "{:>4} {:<12} {:<24} {:>10} {:<11} {:<20} {}",
                        b.id,
                        b.operator,
                        b.name,
                        b.quantity,
                        format!("{:?}", b.state).to_lowercase(),
                        b.iccid.first,
                        b.output_dir
                    )?;
                }
            }
            Ok(())
        }
        BatchCmd::Resume { id, run } => {
            let store = ctx.store().await?;
            let vault = ctx.vault()?;
            let started = Instant::now();
            let mut bar = Bar::new(run.quiet);
            let g = batch::resume(
                &store,
                &vault,
                id,
                factory::Run::os(threads(&run), &mut bar),
            )
            .await?;
            print_generated(&ctx, g, started).map(|_| ())
        }
        BatchCmd::Release { id } => {
            let store = ctx.store().await?;
            let b = factory::release(&store, id).await?;
            out!(
                "released batch {id} ({}): its ICCID and IMSI ranges are free again",
                b.name
            )?;
            Ok(())
        }
    }
}

/// The summary of a finished batch.
#[derive(Serialize)]
pub struct Generated {
    pub batch_id: i64,
    pub name: String,
    pub quantity: u64,
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub seconds: f64,
    pub cards_per_second: f64,
}

fn threads(run: &RunArgs) -> usize {
    run.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// The progress bar on standard error (hidden with --quiet or when it is not a terminal).
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new(quiet: bool) -> Self {
        Self(
            if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                indicatif::ProgressBar::hidden()
            } else {
                let b = indicatif::ProgressBar::new(0);
                b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} cards ({per_sec}, eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
                b
            },
        )
    }
}

impl factory::Progress for Bar {
    fn start(&mut self, cards: u64) {
        self.0.set_length(cards);
        self.0.reset_elapsed();
    }
    fn cards(&mut self, done: u64) {
        self.0.set_position(done);
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

fn print_generated(ctx: &Ctx, g: factory::Generated, started: Instant) -> CliResult<Generated> {
    let seconds = started.elapsed().as_secs_f64();
    let g = Generated {
        cards_per_second: g.quantity as f64 / seconds.max(1e-9),
        seconds,
        batch_id: g.batch_id,
        name: g.name,
        quantity: g.quantity,
        dir: g.dir,
        files: g.files,
    };
    if ctx.json {
        out!("{}", serde_json::to_string(&g)?)?;
    } else {
        out!(
            "batch {} ({}): {} cards in {:.2} s ({:.0} cards/s) -> {}",
            g.batch_id,
            g.name,
            g.quantity,
            g.seconds,
            g.cards_per_second,
            g.dir.display()
        )?;
        for f in &g.files {
            out!("  {}", f.display())?;
        }
    }
    Ok(g)
}

pub async fn generate(ctx: &Ctx, a: GenerateArgs) -> CliResult<Generated> {
    let store = ctx.store().await?;
    let op = store.operator(&a.operator).await?;
    let order = factory::read_order(&a.order, a.profile.as_deref())?;
    let label = a.order.display().to_string();
    let planned = factory::plan(&store, &op, order, &label, SystemTime::now()).await?;
    let formats: Vec<factory::Format> = match a.formats {
        Some(f) => f.into_iter().map(Into::into).collect(),
        None => factory::Format::ALL.to_vec(),
    };
    let vault = ctx.vault()?;
    let out_root = a
        .out
        .unwrap_or_else(|| ctx.data_dir.join("batches").join(&op.name));
    let started = Instant::now();
    let mut bar = Bar::new(a.run.quiet);
    let run = factory::Run::os(threads(&a.run), &mut bar);
    let g = factory::generate(&store, &vault, &planned, &out_root, &formats, run).await?;
    print_generated(ctx, g, started)
}

// ---------------------------------------------------------------------------------------------
// demo
// ---------------------------------------------------------------------------------------------

#[derive(Args)]
pub struct DemoArgs {
    /// Cards in the demo batch.
    #[arg(long, default_value_t = 1000)]
    pub quantity: u64,
}

pub async fn demo(ctx: Ctx, a: DemoArgs) -> CliResult {
    let store = ctx.store().await?;
    let vault = ctx.vault()?;
    let op = demo_operator(&store, &vault).await?;
    let order = ctx.data_dir.join("demo-order.toml");
    std::fs::write(&order, factory::demo::demo_order(a.quantity, 3))
        .context("cannot write the demo order")?;
    out!("order: {}", order.display())?;
    let g = generate(
        &ctx,
        GenerateArgs {
            operator: op.name,
            order,
            profile: None,
            out: None,
            formats: None,
            run: RunArgs {
                threads: None,
                quiet: false,
            },
        },
    )
    .await?;
    out!(
        "\nnext: `simforge verify --operator demo {}` checks the delivered .out file",
        g.files[0].display()
    )?;
    Ok(())
}

/// The `demo` operator (PLMN 001-01, 20-digit ICCIDs under 8988211) with a random AES-256
/// transport key (KID 1) and OP (OPID 1): created on first use.
pub async fn demo_operator(
    store: &Store,
    vault: &MasterKey,
) -> CliResult<simforge_store::Operator> {
    let mut rng = simforge_sim::OsRandom::new();
    let (op, created) = factory::demo::demo_operator(store, vault, &mut rng).await?;
    if created {
        out!(
            "created operator demo (PLMN 001-01) with a random AES-256 transport key (KID 1) and OP (OPID 1)"
        )?;
    }
    Ok(op)
}
