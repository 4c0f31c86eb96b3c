//! Factory commands: operators, keys, batches, demo.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use simforge_sim as sim;
use simforge_store::{KeyKind, NewBatch, NewOperator, Range, Store};
use simforge_vault::{MasterKey, Vault};
use zeroize::Zeroizing;

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
            sim::Plmn::new(&a.mcc, &a.mnc)?;
            let prefix_ok = a.iccid_prefix.len() >= 2
                && (a.iccid_prefix.len() as i64) < a.iccid_length - 2
                && a.iccid_prefix.starts_with("89")
                && a.iccid_prefix.bytes().all(|b| b.is_ascii_digit());
            if !prefix_ok {
                return Err(fail(
                    Code::Input,
                    anyhow!(
                        "--iccid-prefix must be digits starting with 89, shorter than the ICCID body"
                    ),
                ));
            }
            sim::ef::spn(&a.spn, 0).map_err(|e| fail(Code::Input, e))?;
            if let Some(c) = &a.out_columns {
                sim::Column::parse_list(c)
                    .map_err(|e| fail(Code::Input, anyhow!("--out-columns: {e}")))?;
            }
            let name_ok = !a.name.is_empty()
                && a.name.len() <= 64
                && a.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                && !a.name.starts_with('.');
            if !name_ok {
                return Err(fail(
                    Code::Input,
                    anyhow!("operator name: 1 to 64 characters from A-Z a-z 0-9 - _ ."),
                ));
            }
            let mut op = store
                .create_operator(&NewOperator {
                    name: a.name,
                    mcc: a.mcc,
                    mnc: a.mnc,
                    iccid_prefix: a.iccid_prefix,
                    iccid_len: a.iccid_length,
                    spn: a.spn,
                    out_columns: a.out_columns,
                })
                .await?;
            if a.reuse_on_delete {
                op = store.set_operator_reuse_on_delete(&op.name, true).await?;
            }
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
            let op = if a.reuse_on_delete || a.no_reuse_on_delete {
                store
                    .set_operator_reuse_on_delete(&a.name, a.reuse_on_delete)
                    .await?
            } else {
                store.operator(&a.name).await?
            };
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

/// The largest key file read (bytes).
const MAX_KEY_FILE: usize = 4096;

/// Reads a small text file (TOML/JSON order, card profile): at most [`sim::text::MAX_TEXT`]
/// bytes, without a byte order mark. Too large or not UTF-8 is invalid input (exit code 3).
pub fn read_small_text(p: &Path) -> CliResult<Zeroizing<String>> {
    let f = File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
    sim::text::read_text(f, sim::text::MAX_TEXT)
        .map_err(|e| fail(Code::Input, anyhow!("{}: {e}", p.display())))
}

pub fn key_context(operator_id: i64, kind: KeyKind, index: i64) -> String {
    let k = match kind {
        KeyKind::Transport => "transport",
        KeyKind::Op => "op",
    };
    format!("simforge/operator/{operator_id}/{k}/{index}")
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
            // A key is at most 64 hex digits: a few KiB leave room for comments and line breaks.
            let text = match file.as_deref() {
                Some(p) if p != Path::new("-") => {
                    let f = File::open(p)
                        .with_context(|| format!("cannot read key file {}", p.display()))?;
                    sim::text::read_text(f, MAX_KEY_FILE)
                        .map_err(|e| fail(Code::Input, anyhow!("key file {}: {e}", p.display())))?
                }
                _ => sim::text::read_text(std::io::stdin().lock(), MAX_KEY_FILE)
                    .map_err(|e| fail(Code::Input, anyhow!("key from standard input: {e}")))?,
            };
            let (kind, bits, bytes) = match kind {
                KindArg::Transport => {
                    let k = sim::TransportKey::from_hex(&text).context("key file")?;
                    let mut b = Zeroizing::new(vec![0u8; k.bits() / 8]);
                    sim::secret::decode_hex_into(text.trim(), &mut b)?;
                    (KeyKind::Transport, k.bits(), b)
                }
                KindArg::Op => {
                    let v = sim::OperatorVariant::from_hex(&text).context("key file")?;
                    (
                        KeyKind::Op,
                        v.expose().len() * 8,
                        Zeroizing::new(v.expose().to_vec()),
                    )
                }
            };
            let vault = ctx.checked_vault(&store).await?;
            let sealed = vault.seal(&key_context(op.id, kind, i64::from(index)), &bytes)?;
            store
                .put_key(op.id, kind, i64::from(index), bits as i64, &sealed, replace)
                .await?;
            if !ctx.json {
                out!(
                    "imported {bits}-bit {} key {index} for operator {}",
                    if kind == KeyKind::Op {
                        "OP/TOP"
                    } else {
                        "transport"
                    },
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

/// Loads and unseals the operator's transport key and OP/TOP for a batch.
pub async fn load_keys(
    store: &Store,
    vault: &dyn Vault,
    operator_id: i64,
    kid: u32,
    opid: u32,
) -> CliResult<(sim::TransportKey, sim::OperatorVariant)> {
    let sealed_t = store
        .sealed_key(operator_id, KeyKind::Transport, i64::from(kid))
        .await
        .with_context(|| format!("unknown KID {kid}: import it with `simforge key import --kind transport --index {kid}`"))?;
    let t = vault.unseal(
        &key_context(operator_id, KeyKind::Transport, i64::from(kid)),
        &sealed_t,
    )?;
    let sealed_o = store
        .sealed_key(operator_id, KeyKind::Op, i64::from(opid))
        .await
        .with_context(|| {
            format!(
                "unknown OPID {opid}: import it with `simforge key import --kind op --index {opid}`"
            )
        })?;
    let o = vault.unseal(
        &key_context(operator_id, KeyKind::Op, i64::from(opid)),
        &sealed_o,
    )?;
    let transport = sim::TransportKey::from_bytes(&t)?;
    let variant = match o.len() {
        16 => sim::OperatorVariant::Op(
            o[..]
                .try_into()
                .map_err(|_| anyhow!("stored OP is damaged"))?,
        ),
        32 => sim::OperatorVariant::Top(
            o[..]
                .try_into()
                .map_err(|_| anyhow!("stored TOP is damaged"))?,
        ),
        _ => return Err(anyhow!("stored OP/TOP {opid} has an unexpected size").into()),
    };
    Ok((transport, variant))
}

pub fn operator_profile(op: &simforge_store::Operator) -> CliResult<sim::OperatorProfile> {
    Ok(sim::OperatorProfile {
        name: op.name.clone(),
        plmn: sim::Plmn::new(&op.mcc, &op.mnc)?,
        iccid_prefix: op.iccid_prefix.clone(),
        iccid_len: op.iccid_len as usize,
        spn: op.spn.clone(),
    })
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

/// What is kept (sealed) in the database to resume a batch.
#[derive(Serialize, Deserialize)]
struct StoredPlan {
    spec: sim::OrderSpec,
    first_iccid: String,
    first_imsi: String,
    header: Vec<String>,
    formats: Vec<String>,
}

fn format_names(f: &[FormatArg]) -> Vec<String> {
    f.iter().map(|f| format!("{f:?}").to_lowercase()).collect()
}

fn parse_formats(v: &[String]) -> Vec<FormatArg> {
    v.iter()
        .filter_map(|s| FormatArg::from_str(s, true).ok())
        .collect()
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
        BatchCmd::Resume { id, run } => resume(&ctx, id, run).await,
        BatchCmd::Release { id } => {
            let store = ctx.store().await?;
            let b = store.batch(id).await?;
            store.release_batch(id).await?;
            let _ = std::fs::remove_dir_all(partial_dir(Path::new(&b.output_dir)));
            out!(
                "released batch {id} ({}): its ICCID and IMSI ranges are free again",
                b.name
            )?;
            Ok(())
        }
    }
}

fn partial_dir(final_dir: &Path) -> PathBuf {
    let name = final_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_dir.with_file_name(format!(".{name}.partial"))
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

pub async fn generate(ctx: &Ctx, a: GenerateArgs) -> CliResult<Generated> {
    let store = ctx.store().await?;
    let op = store.operator(&a.operator).await?;
    let profile_op = operator_profile(&op)?;
    let default_name = format!("B{}", time_stamp());
    let ext = a
        .order
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let read = read_small_text;
    let (spec, plan) = if ext == "toml" || ext == "json" {
        let text = read(&a.order)?;
        let spec: sim::OrderSpec = if ext == "toml" {
            toml::from_str(&text)
                .map_err(|e| fail(Code::Input, anyhow!("order {}: {e}", a.order.display())))?
        } else {
            serde_json::from_str(&text)
                .map_err(|e| fail(Code::Input, anyhow!("order {}: {e}", a.order.display())))?
        };
        let first_iccid = match &spec.iccid_start {
            sim::Start::At(v) => v.clone(),
            sim::Start::Next => next_free_iccid(&store, &profile_op).await?,
        };
        let first_imsi = match &spec.imsi_start {
            sim::Start::At(v) => v.clone(),
            sim::Start::Next => next_free_imsi(&store, &profile_op).await?,
        };
        let plan = spec
            .plan(&profile_op, &first_iccid, &first_imsi, &default_name)
            .with_context(|| format!("order {}", a.order.display()))?;
        (spec, plan)
    } else {
        let profile: sim::CardProfile = match &a.profile {
            Some(p) => toml::from_str(&read(p)?)
                .map_err(|e| fail(Code::Input, anyhow!("profile {}: {e}", p.display())))?,
            None => sim::CardProfile::default(),
        };
        let f =
            File::open(&a.order).with_context(|| format!("cannot read {}", a.order.display()))?;
        let plan = sim::parse_order_file(BufReader::new(f), &profile_op, &profile, &default_name)
            .with_context(|| format!("order {}", a.order.display()))?;
        let spec = sim::OrderSpec {
            quantity: plan.quantity,
            iccid_start: sim::Start::At(plan.first_iccid.to_string()),
            imsi_start: sim::Start::At(plan.first_imsi.to_string()),
            msisdn_start: None,
            kid: plan.kid,
            opid: plan.opid,
            profile,
            name: Some(plan.name.clone()),
        };
        (spec, plan)
    };
    let formats = a.formats.clone().unwrap_or_else(|| {
        vec![
            FormatArg::Out,
            FormatArg::Elec,
            FormatArg::Laser,
            FormatArg::Pysim,
            FormatArg::Hlr,
        ]
    });
    // Keys must exist and unseal before anything is reserved or written.
    let vault = ctx.vault()?;
    let (transport, variant) = load_keys(&store, &vault, op.id, plan.kid, plan.opid).await?;
    sim::CardMaker::new(&plan, &variant).map_err(|e| fail(Code::Input, e))?;
    let columns = out_columns(&op, &plan)?;

    let out_root = a
        .out
        .clone()
        .unwrap_or_else(|| ctx.data_dir.join("batches").join(&op.name));
    let final_dir = out_root.join(&plan.name);
    if final_dir.exists() {
        return Err(fail(
            Code::Conflict,
            anyhow!("{} already exists", final_dir.display()),
        ));
    }
    let stored = StoredPlan {
        spec,
        first_iccid: plan.first_iccid.to_string(),
        first_imsi: plan.first_imsi.to_string(),
        header: plan.header.clone(),
        formats: format_names(&formats),
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
    run_batch(
        &store,
        id,
        &plan,
        &profile_op,
        &formats,
        columns,
        transport,
        &variant,
        &final_dir,
        &a.run,
        ctx.json,
    )
    .await
}

/// The operator's `.out` columns, or the defaults for the plan's OTA key sets.
fn out_columns(
    op: &simforge_store::Operator,
    plan: &sim::BatchPlan,
) -> CliResult<Vec<sim::Column>> {
    Ok(match &op.out_columns {
        Some(c) => sim::Column::parse_list(c).map_err(|e| anyhow!("operator .out columns: {e}"))?,
        None => sim::Column::defaults(plan.profile.ota_key_sets),
    })
}

fn plan_context(operator_id: i64, name: &str) -> String {
    format!("simforge/operator/{operator_id}/batch-plan/{name}")
}

async fn resume(ctx: &Ctx, id: i64, run: RunArgs) -> CliResult {
    let store = ctx.store().await?;
    let b = store.batch(id).await?;
    if b.state != simforge_store::BatchState::Generating {
        return Err(fail(
            Code::Conflict,
            anyhow!(
                "batch {id} is {:?}: only an interrupted batch can be resumed",
                b.state
            ),
        ));
    }
    let op = store
        .operators()
        .await?
        .into_iter()
        .find(|o| o.name == b.operator)
        .ok_or_else(|| fail(Code::NotFound, anyhow!("operator {}", b.operator)))?;
    let vault = ctx.vault()?;
    let sealed = sim::secret::decode_hex(&b.plan)
        .ok()
        .ok_or_else(|| anyhow!("stored plan of batch {id} is damaged"))?;
    let json = vault.unseal(&plan_context(op.id, &b.name), &sealed)?;
    let stored: StoredPlan = serde_json::from_slice(&json).context("stored plan")?;
    let profile_op = operator_profile(&op)?;
    let mut plan = stored.spec.plan(
        &profile_op,
        &stored.first_iccid,
        &stored.first_imsi,
        &b.name,
    )?;
    plan.header = stored.header.clone();
    let (transport, variant) = load_keys(&store, &vault, op.id, plan.kid, plan.opid).await?;
    let columns = out_columns(&op, &plan)?;
    let formats = parse_formats(&stored.formats);
    let g = run_batch(
        &store,
        id,
        &plan,
        &profile_op,
        &formats,
        columns,
        transport,
        &variant,
        Path::new(&b.output_dir),
        &run,
        ctx.json,
    )
    .await?;
    let _ = g;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn run_batch(
    store: &Store,
    id: i64,
    plan: &sim::BatchPlan,
    op: &sim::OperatorProfile,
    formats: &[FormatArg],
    columns: Vec<sim::Column>,
    transport: sim::TransportKey,
    variant: &sim::OperatorVariant,
    final_dir: &Path,
    run: &RunArgs,
    json: bool,
) -> CliResult<Generated> {
    let started = std::time::Instant::now();
    let partial = partial_dir(final_dir);
    let result = write_files(
        plan,
        op,
        formats,
        columns,
        transport,
        variant,
        &partial,
        run,
        || Ok(sim::OsRandom::new()),
    );
    let files = match result {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            let _ = store.release_batch(id).await;
            return Err(e);
        }
    };
    // Every file is complete and synced: make them appear at once.
    std::fs::rename(&partial, final_dir)
        .with_context(|| format!("cannot move the finished batch to {}", final_dir.display()))?;
    if let Some(parent) = final_dir.parent()
        && let Ok(d) = File::open(parent)
    {
        let _ = d.sync_all();
    }
    store.complete_batch(id).await?;
    let seconds = started.elapsed().as_secs_f64();
    let g = Generated {
        batch_id: id,
        name: plan.name.clone(),
        quantity: plan.quantity,
        dir: final_dir.to_owned(),
        files: files.iter().map(|f| final_dir.join(f)).collect(),
        seconds,
        cards_per_second: plan.quantity as f64 / seconds.max(1e-9),
    };
    if json {
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

#[allow(clippy::too_many_arguments)]
fn write_files<R: rand_core::TryCryptoRng>(
    plan: &sim::BatchPlan,
    op: &sim::OperatorProfile,
    formats: &[FormatArg],
    columns: Vec<sim::Column>,
    transport: sim::TransportKey,
    variant: &sim::OperatorVariant,
    dir: &Path,
    run: &RunArgs,
    make_rng: impl Fn() -> Result<R, sim::CardError> + Sync,
) -> CliResult<Vec<String>> {
    if dir.exists() {
        // Left by a run that died: nothing in it was ever delivered.
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    let mut parents = std::fs::DirBuilder::new();
    parents.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut parents, 0o700);
    parents
        .create(dir.parent().unwrap_or(Path::new(".")))
        .context("cannot create the output directory")?;
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;

    let transport: Arc<dyn sim::BlockCipher> = Arc::new(transport);
    let out = sim::OutFile::new(plan, columns, transport);
    let elec = sim::ElectricalFile::new(plan);
    let laser = sim::LaserFile::new(plan);
    let pysim = sim::PysimCsv::new(&op.plmn);
    let hlr = sim::OsmoHlrScript::new(plan);
    let chosen: Vec<&dyn sim::CardFormat> = formats
        .iter()
        .map(|f| -> &dyn sim::CardFormat {
            match f {
                FormatArg::Out => &out,
                FormatArg::Elec => &elec,
                FormatArg::Laser => &laser,
                FormatArg::Pysim => &pysim,
                FormatArg::Hlr => &hlr,
            }
        })
        .collect();
    let names: Vec<String> = chosen
        .iter()
        .map(|f| format!("{}{}", plan.name, f.suffix()))
        .collect();
    let mut sinks = Vec::new();
    for n in &names {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let f = opts
            .open(dir.join(n))
            .with_context(|| format!("cannot create {n}"))?;
        sinks.push(BufWriter::with_capacity(1 << 20, f));
    }
    let maker = sim::CardMaker::new(plan, variant)?;
    let threads = run
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let bar = if run.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(plan.quantity);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} cards ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    sim::run(
        &maker,
        plan.quantity,
        &chosen,
        &mut sinks,
        threads,
        make_rng,
        |n| bar.set_position(n),
    )?;
    bar.finish_and_clear();
    for (s, n) in sinks.into_iter().zip(&names) {
        let f = s
            .into_inner()
            .map_err(|e| anyhow!("writing {n}: {}", e.error()))?;
        f.sync_all().with_context(|| format!("cannot sync {n}"))?;
    }
    Ok(names)
}

fn time_stamp() -> String {
    time_stamp_at(std::time::SystemTime::now())
}

fn time_stamp_at(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}{:03}", d.as_secs(), d.subsec_millis())
}

/// Largest body value of `len`-digit ICCIDs under `prefix`, as (low, high).
fn prefix_bounds(prefix: &str, body_len: usize) -> Option<(u64, u64)> {
    let rest = body_len.checked_sub(prefix.len())?;
    let p: u64 = prefix.parse().ok()?;
    let scale = 10u64.checked_pow(rest as u32)?;
    Some((
        p.checked_mul(scale)?,
        p.checked_mul(scale)?.checked_add(scale - 1)?,
    ))
}

async fn next_free_iccid(store: &Store, op: &sim::OperatorProfile) -> CliResult<String> {
    let body_len = op.iccid_len - 1;
    let (lo, hi) =
        prefix_bounds(&op.iccid_prefix, body_len).ok_or_else(|| anyhow!("bad ICCID prefix"))?;
    let next = match store
        .highest_reserved(true, op.iccid_len as i64, lo as i64, hi as i64)
        .await?
    {
        Some(m) => m as u64 + 1,
        None => lo + 1,
    };
    if next > hi {
        return Err(fail(
            Code::Conflict,
            anyhow!(
                "the operator's ICCID prefix {} is exhausted",
                op.iccid_prefix
            ),
        ));
    }
    Ok(format!("{next:0body_len$}"))
}

async fn next_free_imsi(store: &Store, op: &sim::OperatorProfile) -> CliResult<String> {
    let prefix = format!("{}{}", op.plmn.mcc(), op.plmn.mnc());
    let (lo, hi) = prefix_bounds(&prefix, 15).ok_or_else(|| anyhow!("bad PLMN"))?;
    let next = match store
        .highest_reserved(false, 15, lo as i64, hi as i64)
        .await?
    {
        Some(m) => m as u64 + 1,
        None => lo + 1,
    };
    if next > hi {
        return Err(fail(
            Code::Conflict,
            anyhow!("the operator's IMSI range is exhausted"),
        ));
    }
    Ok(format!("{next:015}"))
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
    std::fs::write(
        &order,
        format!("quantity = {}\nkid = 1\nopid = 1\n\n[profile]\nalgorithm = \"milenage\"\nota_key_sets = 3\n", a.quantity),
    )
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
    Ok(match store.operator("demo").await {
        Ok(op) => op,
        Err(_) => {
            let op = store
                .create_operator(&NewOperator {
                    name: "demo".into(),
                    mcc: "001".into(),
                    mnc: "01".into(),
                    iccid_prefix: "8988211".into(),
                    iccid_len: 20,
                    spn: "simforge".into(),
                    out_columns: None,
                })
                .await?;
            for (kind, len) in [(KeyKind::Transport, 32usize), (KeyKind::Op, 16)] {
                let mut k = Zeroizing::new(vec![0u8; len]);
                getrandom_fill(&mut k)?;
                let sealed = vault.seal(&key_context(op.id, kind, 1), &k)?;
                store
                    .put_key(op.id, kind, 1, (len * 8) as i64, &sealed, false)
                    .await?;
            }
            out!(
                "created operator demo (PLMN 001-01) with a random AES-256 transport key (KID 1) and OP (OPID 1)"
            )?;
            op
        }
    })
}

fn getrandom_fill(b: &mut [u8]) -> CliResult {
    use sim::pipeline::OsRandom;
    use simforge_sim::CardError;
    let mut r = OsRandom::new();
    rand_fill(&mut r, b).map_err(|e: CardError| fail(Code::Failure, e))
}

fn rand_fill(r: &mut sim::OsRandom, b: &mut [u8]) -> Result<(), sim::CardError> {
    rand_core::TryRngCore::try_fill_bytes(r, b).map_err(|e| sim::CardError::Random(e.to_string()))
}

/// Pre-move golden harness (issue 10): writes two fixed-seed batches with every format to
/// `$SIMFORGE_GOLDEN_DIR` so that their SHA-256 can be recorded before the code moves.
#[cfg(test)]
mod golden_premove {
    use super::*;

    #[test]
    fn write_golden_batches() {
        let Ok(root) = std::env::var("SIMFORGE_GOLDEN_DIR") else {
            return;
        };
        let root = PathBuf::from(root);
        let op = sim::OperatorProfile {
            name: "golden".into(),
            plmn: sim::Plmn::new("001", "01").expect("plmn"),
            iccid_prefix: "8988211".into(),
            iccid_len: 20,
            spn: "simforge".into(),
        };
        let name = format!(
            "B{}",
            time_stamp_at(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123)
            )
        );
        let all = [
            FormatArg::Out,
            FormatArg::Elec,
            FormatArg::Laser,
            FormatArg::Pysim,
            FormatArg::Hlr,
        ];
        let transport = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let cases = [
            (
                "milenage",
                "quantity = 300\niccid_start = \"8988211000000000001\"\nimsi_start = \"001010000000001\"\nkid = 1\nopid = 1\n\n[profile]\nalgorithm = \"milenage\"\nota_key_sets = 3\n",
                "00112233445566778899aabbccddeeff",
                None,
            ),
            (
                "tuak",
                "quantity = 257\niccid_start = \"8988211000000001000\"\nimsi_start = \"001010000001000\"\nmsisdn_start = \"4915100000000\"\nkid = 1\nopid = 2\n\n[profile]\nalgorithm = \"tuak\"\nota_key_sets = 2\n",
                "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                Some(
                    "IMSI ICCID EKI KCV OPC EOPC PIN1 PUK1 PIN2 PUK2 ADM1 ACC KIC1 KID1 KIK1 EKIC2 EKID2 EKIK2",
                ),
            ),
        ];
        for (case, order, opv, cols) in cases {
            let spec: sim::OrderSpec = toml::from_str(order).expect("order");
            let (sim::Start::At(i), sim::Start::At(m)) = (&spec.iccid_start, &spec.imsi_start)
            else {
                panic!("fixed starts")
            };
            let plan = spec.plan(&op, i, m, &name).expect("plan");
            let columns = match cols {
                Some(c) => sim::Column::parse_list(c).expect("columns"),
                None => sim::Column::defaults(plan.profile.ota_key_sets),
            };
            let t = sim::TransportKey::from_hex(transport).expect("transport");
            let v = sim::OperatorVariant::from_hex(opv).expect("op");
            let dir = root.join(case);
            write_files(
                &plan,
                &op,
                &all,
                columns,
                t,
                &v,
                &dir,
                &RunArgs {
                    threads: Some(1),
                    quiet: true,
                },
                || Ok(<rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed([7u8; 32])),
            )
            .expect("write");
        }
    }
}
