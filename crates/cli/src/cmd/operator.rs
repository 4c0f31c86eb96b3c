//! `simforge operator`: operators (`simforge_factory::operators`) and their SM-DP+ side
//! (`simforge_esim`): ES2+ API keys and client certificates, the profile inventory imported
//! from a factory batch, the ES2+ callback, the CancelSession policy, the reset of a profile
//! in Error.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use simforge_esim::callbacks;
use simforge_esim::{credentials, inventory, policy};
use simforge_factory::{Error as FactoryError, operators};
use simforge_smdp::{RadioAccess, ResetTarget};
use simforge_store::{CredentialId, CredentialKind, Operator, Store};

use crate::ctx::{Ctx, now_ms, read_file, rfc3339, unix_now};
use crate::exit::{CliResult, Code, fail};

#[derive(Subcommand)]
pub enum OperatorCmd {
    /// Create an operator.
    Create(OperatorCreate),
    /// Change an operator's settings.
    Update(OperatorUpdate),
    /// List operators.
    List,
    /// Issue an ES2+ API key (printed once; only its SHA-256 is kept), list them or revoke one;
    /// a running `simforge serve` sees the change within a second.
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
        cert: Option<PathBuf>,
        /// List the operator's client certificates instead.
        #[arg(long, conflicts_with = "revoke")]
        list: bool,
        /// Revoke the operator's client certificate with this id (from `--list`).
        #[arg(long, value_name = "ID")]
        revoke: Option<i64>,
    },
    /// Load a SIM-factory batch's credentials into the operator's SM-DP+ profile inventory.
    ImportProfiles(ImportArgs),
    /// The operator's SM-DP+ profile inventory: counts by state.
    Inventory {
        /// Operator name.
        name: String,
    },
    /// Set, clear or show the ES2+ callback endpoint (client certificate, CA bundle, retries);
    /// list or redeliver given-up events.
    Callback(CallbackArgs),
    /// Take a profile out of Error: back to Released (same activation code) or Available.
    ResetProfile(ResetProfileArgs),
    /// The SM-DS operations of the operator's orders (events registered at ConfirmOrder with
    /// smdsAddress, deleted when the order ends), newest first: pending, done, superseded,
    /// or failed (given up, with the last error); `--requeue ID` sends a given-up one again.
    SmdsEvents {
        /// Operator name.
        name: String,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Put the given-up operation ID back in the queue (the SM-DS worker of `serve`
        /// sends it again); refused when a later operation of its event was done or given up.
        #[arg(long, value_name = "ID")]
        requeue: Option<i64>,
    },
}

#[derive(Args)]
pub struct OperatorCreate {
    /// Unique operator name.
    name: String,
    /// Mobile country code (3 digits).
    #[arg(long)]
    mcc: String,
    /// Mobile network code (2 or 3 digits).
    #[arg(long)]
    mnc: String,
    /// ICCID issuer prefix: 89, country code, issuer identifier.
    #[arg(long)]
    iccid_prefix: String,
    /// Full ICCID length including the Luhn check digit.
    #[arg(long, default_value_t = 19, value_parser = clap::value_parser!(i64).range(19..=20))]
    iccid_length: i64,
    /// Service provider name (EF.SPN).
    #[arg(long)]
    spn: String,
    /// Columns of the .out file, space- or comma-separated (default: IMSI EKI ICCID PIN1 PUK1
    /// PIN2 PUK2 ADM1 ACC EKIC1 EKID1 EKIK1 …, encrypted under the transport key; KIC1 KID1
    /// KIK1 … in clear; KCV: the check value of each clear Ki).
    #[arg(long)]
    out_columns: Option<String>,
    /// SM-DP+ default for imported profiles: a delete notification returns them to Available
    /// (reused) instead of Unavailable.
    #[arg(long)]
    reuse_on_delete: bool,
}

#[derive(Args)]
pub struct OperatorUpdate {
    /// Operator name.
    name: String,
    /// Profiles imported from now on return to Available after a delete notification.
    #[arg(long, conflicts_with = "no_reuse_on_delete")]
    reuse_on_delete: bool,
    /// Profiles imported from now on become Unavailable after one (the default).
    #[arg(long)]
    no_reuse_on_delete: bool,
    /// What ES9+.CancelSession does to the profiles: `default`, or comma-separated
    /// REASON=ACTION; REASON end-user-rejection, postponed, timeout, ppr-not-allowed,
    /// metadata-mismatch, load-bpp-execution-error, undefined-reason or all; ACTION release,
    /// error, or retry (Released while download attempts remain). Default: release for the
    /// first three, retry for load-bpp-execution-error, error for the others.
    #[arg(long, value_name = "POLICY")]
    cancel_session_policy: Option<String>,
    /// The SM-DS (`host[:port]`) at which ES2+.ConfirmOrder registers an event for an order
    /// with an EID that names no smdsAddress; `none` for no default.
    #[arg(long, value_name = "ADDRESS")]
    smds_address: Option<String>,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Operator name.
    name: String,
    /// Batch id (`simforge batch list`): its electrical personalization file is read.
    #[arg(long)]
    batch: i64,
    /// Profile type for ES2+ DownloadOrder by type.
    #[arg(long, default_value = "default")]
    profile_type: String,
    /// A SAIP template (DER) to personalize with each card's data instead of building each
    /// profile; refused (exit 3), naming the element, if it holds a code or key the card data
    /// cannot replace (as the TS.48 test profiles' ADM2 and CDMA credentials).
    #[arg(long)]
    template: Option<PathBuf>,
    /// SM-DP+ address (host[:port]) the eUICC notifies on enable/disable/delete.
    #[arg(long)]
    notification_address: Option<String>,
    /// Import at most this many cards.
    #[arg(long)]
    limit: Option<usize>,
    /// After a delete notification, the profile returns to Available (operator default aside).
    #[arg(long, conflicts_with = "no_reuse_on_delete")]
    reuse_on_delete: bool,
    /// After a delete notification, the profile becomes Unavailable (operator default aside).
    #[arg(long)]
    no_reuse_on_delete: bool,
    /// Radio access technologies of the network (gsm, utran, eutran-epc, nr-epc, nr5gc,
    /// eutran5gc, cdma2000-onex, cdma2000-hrpd, cdma2000-ehrpd; repeatable or comma-separated):
    /// a device supporting none is not eligible (SGP.22 8.2.5). Default: any device.
    #[arg(long = "radio-access", value_delimiter = ',', value_parser = parse_radio_access)]
    radio_access: Vec<RadioAccess>,
}

fn parse_radio_access(s: &str) -> Result<RadioAccess, String> {
    RadioAccess::parse(s).ok_or_else(|| {
        let all: Vec<&str> = RadioAccess::ALL.iter().map(|r| r.as_str()).collect();
        format!(
            "unknown radio access technology {s:?}: one of {}",
            all.join(", ")
        )
    })
}

#[derive(Args)]
pub struct CallbackArgs {
    /// Operator name.
    name: String,
    /// Endpoint URL (https://…). Given alone, the other settings stay as they are.
    #[arg(long, conflicts_with = "clear")]
    url: Option<String>,
    /// Remove the endpoint (and its settings).
    #[arg(long)]
    clear: bool,
    /// TLS client certificate (chain, PEM) the SM-DP+ presents to the endpoint; needs --client-key.
    #[arg(long, requires = "client_key", conflicts_with = "use_server_identity")]
    client_cert: Option<PathBuf>,
    /// Its private key (PEM); stored sealed by the vault, never shown.
    #[arg(long, requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Present the SM-DP+'s own TLS identity (its DPtls certificate) as client certificate.
    #[arg(long)]
    use_server_identity: bool,
    /// Present no client certificate (drops --client-cert/--use-server-identity).
    #[arg(long, conflicts_with_all = ["client_cert", "use_server_identity"])]
    no_client_cert: bool,
    /// CA bundle (PEM) the endpoint's certificate is verified against, besides the web PKI.
    #[arg(long)]
    ca_bundle: Option<PathBuf>,
    /// Hours to retry an event before giving it up (default, or 0: 12 attempts, about an hour;
    /// at most 87,600).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=87_600))]
    retry_hours: Option<u32>,
    /// List the operator's given-up events.
    #[arg(long, conflicts_with_all = ["redeliver", "redeliver_all"])]
    failed: bool,
    /// Put the given-up event with this id (from --failed) back in the queue.
    #[arg(long, value_name = "ID", conflicts_with = "redeliver_all")]
    redeliver: Option<i64>,
    /// Put every given-up event of the operator back in the queue.
    #[arg(long)]
    redeliver_all: bool,
}

/// Where `operator reset-profile` puts the profile.
#[derive(Clone, Copy, ValueEnum)]
pub enum ResetTo {
    /// Released with its order: the same activation code downloads it again.
    Released,
    /// Available: back to the inventory, the order dropped.
    Available,
}

#[derive(Args)]
pub struct ResetProfileArgs {
    /// Operator name.
    name: String,
    /// The profile's ICCID (in Error).
    #[arg(long)]
    iccid: String,
    /// Where it goes.
    #[arg(long, value_enum, default_value = "released")]
    to: ResetTo,
}

pub async fn operator(ctx: Ctx, cmd: OperatorCmd) -> CliResult {
    let store = ctx.store().await?;
    let store = &store;
    match cmd {
        OperatorCmd::Create(a) => create(&ctx, store, a).await,
        OperatorCmd::Update(a) => update(&ctx, store, a).await,
        OperatorCmd::List => {
            let ops = store.operators().await?;
            ctx.out(&ops, || {
                let mut s = format!(
                    "{:<20} {:<8} {:<12} {:<6} SPN",
                    "NAME", "PLMN", "ICCID PREFIX", "LEN"
                );
                for o in &ops {
                    let plmn = format!("{}-{}", o.mcc, o.mnc);
                    s += &format!(
                        "\n{:<20} {plmn:<8} {:<12} {:<6} {}",
                        o.name, o.iccid_prefix, o.iccid_len, o.spn
                    );
                }
                s
            })
        }
        OperatorCmd::ApiKey { name, list, revoke } => {
            let op = store.operator(&name).await?;
            ctx.migrate_api_key_file(store).await?;
            match (list, revoke) {
                (true, _) => list_credentials(&ctx, store, &op, CredentialKind::ApiKey).await,
                (_, Some(id)) => revoke_credential(&ctx, store, &op, id).await,
                _ => api_key(&ctx, store, &op).await,
            }
        }
        OperatorCmd::ClientCert {
            name,
            cert,
            list,
            revoke,
        } => {
            let op = store.operator(&name).await?;
            match (revoke, cert.filter(|_| !list)) {
                (Some(id), _) => revoke_credential(&ctx, store, &op, id).await,
                (None, Some(path)) => client_cert(&ctx, store, &op, path).await,
                _ => list_credentials(&ctx, store, &op, CredentialKind::ClientCert).await,
            }
        }
        OperatorCmd::ImportProfiles(a) => import(&ctx, store, a).await,
        OperatorCmd::Inventory { name } => {
            let op = store.operator(&name).await?;
            let c = inventory::counts(store, &op).await?;
            let m: serde_json::Map<String, serde_json::Value> = c
                .iter()
                .map(|(s, n)| (s.as_str().to_owned(), (*n).into()))
                .collect();
            let lines = c.iter().map(|(s, n)| format!("{:<12} {n}", s.as_str()));
            match ctx.json {
                true => println!("{}", serde_json::Value::Object(m)),
                false => lines.for_each(|l| println!("{l}")),
            }
            Ok(())
        }
        OperatorCmd::Callback(a) => callback(&ctx, store, a).await,
        OperatorCmd::SmdsEvents {
            name,
            limit: _,
            requeue: Some(id),
        } => {
            let op = store.operator(&name).await?;
            policy::requeue_smds_operation(store, &ctx.actor, (op.id, now_ms()), id).await?;
            ctx.print(&json!({"operator": op.name, "requeued": id}), || {
                format!("SM-DS operation {id} of {} queued again", op.name)
            });
            Ok(())
        }
        OperatorCmd::SmdsEvents { name, limit, .. } => {
            let op = store.operator(&name).await?;
            let rows = policy::smds_operations(store, op.id, limit).await?;
            let j: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let o = &r.entry.op;
                    json!({
                        "id": r.entry.id, "op": o.kind.as_str(), "state": r.state.as_str(),
                        "smdsAddress": o.smds_address, "eid": o.eid.to_string(),
                        "eventId": o.event_id.as_str(), "iccid": o.iccid.as_ref().map(|i| i.as_str()),
                        "due": o.due, "attempts": r.entry.attempts, "lastError": r.last_error,
                    })
                })
                .collect();
            ctx.print(&serde_json::Value::Array(j), || {
                rows.iter()
                    .map(|r| {
                        let o = &r.entry.op;
                        let error = r.last_error.as_deref().unwrap_or("");
                        format!(
                            "{:>6} {:<8} {:<10} {} {} {} {} {error}",
                            r.entry.id,
                            o.kind.as_str(),
                            r.state.as_str(),
                            o.smds_address,
                            o.eid,
                            o.event_id.as_str(),
                            o.iccid.as_ref().map_or("-", |i| i.as_str())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        OperatorCmd::ResetProfile(a) => {
            let op = store.operator(&a.name).await?;
            let (target, to) = match a.to {
                ResetTo::Released => (ResetTarget::Released, "released"),
                ResetTo::Available => (ResetTarget::Available, "available"),
            };
            let iccid = a.iccid.trim().to_owned();
            let from =
                policy::reset_profile(store, &ctx.actor, &op, &iccid, target, unix_now()).await?;
            let from = from.as_str();
            let j = json!({"operator": op.name, "iccid": iccid, "from": from, "to": to});
            ctx.print(&j, || {
                format!("profile {iccid} of {}: {from} -> {to}", op.name)
            });
            Ok(())
        }
    }
}

async fn create(ctx: &Ctx, store: &Store, a: OperatorCreate) -> CliResult {
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
    let op = operators::create(store, &ctx.actor, req).await;
    let op = op.map_err(|e| match e {
        FactoryError::IccidPrefix => fail(
            Code::Input,
            anyhow!("--iccid-prefix must be digits starting with 89, shorter than the ICCID body"),
        ),
        FactoryError::OutColumns(c) => fail(Code::Input, anyhow!("--out-columns: {c}")),
        e => e.into(),
    })?;
    ctx.out(&op, || {
        let (name, mcc, mnc, prefix) = (&op.name, &op.mcc, &op.mnc, &op.iccid_prefix);
        format!("created operator {name} (PLMN {mcc}-{mnc}, ICCID prefix {prefix})")
    })
}

async fn update(ctx: &Ctx, store: &Store, a: OperatorUpdate) -> CliResult {
    if let Some(p) = &a.cancel_session_policy {
        let op = store.operator(&a.name).await?;
        policy::set_cancel_session_policy(store, &ctx.actor, (op.id, unix_now()), p).await?;
    }
    if let Some(addr) = &a.smds_address {
        let op = store.operator(&a.name).await?;
        policy::set_default_smds_address(store, &ctx.actor, (op.id, unix_now()), addr).await?;
    }
    let reuse = (a.reuse_on_delete || a.no_reuse_on_delete).then_some(a.reuse_on_delete);
    let op = operators::update(store, &ctx.actor, &a.name, reuse).await?;
    ctx.out(&op, || {
        let to = if op.reuse_on_delete { "available" } else { "unavailable" };
        let policy = op.cancel_session_policy.clone();
        let policy = policy.unwrap_or_else(|| simforge_smdp::CancelSessionPolicy::default().to_string());
        format!(
            "operator {name}: profiles imported without an explicit choice become {to} after a delete notification\noperator {name}: CancelSession policy {policy}",
            name = op.name
        )
    })
}

async fn api_key(ctx: &Ctx, store: &Store, op: &Operator) -> CliResult {
    let rng = &mut rand_core::OsRng;
    let k = credentials::create_api_key(store, &ctx.actor, op, rng, unix_now()).await?;
    let (key, id, name) = (k.key.as_str(), k.id, &op.name);
    let j = json!({"operator": name, "id": id, "apiKey": key, "functionRequesterIdentifier": name});
    ctx.print(&j, || key.to_owned());
    if !ctx.json {
        eprintln!(
            "ES2+ API key {id} for operator {name} (shown only now): send it as X-Api-Key, with functionRequesterIdentifier \"{name}\". A running `simforge serve` accepts it at once."
        );
    }
    Ok(())
}

async fn client_cert(ctx: &Ctx, store: &Store, op: &Operator, path: PathBuf) -> CliResult {
    let bytes = read_file(&path, "reading")?;
    let c = credentials::register_client_cert(store, &ctx.actor, op, &bytes, unix_now())
        .await
        .map_err(|e| anyhow::Error::new(e).context(path.display().to_string()))?;
    let (id, subject, sha256, name) = (c.id, &c.subject, &c.sha256, &op.name);
    let j = json!({"operator": name, "id": id, "sha256": sha256, "subject": subject});
    ctx.print(&j, || format!("{id} {}", sha256.as_str()));
    if !ctx.json {
        eprintln!(
            "client certificate {id} ({subject}) registered for operator {name}: ES2+ requests over a TLS connection with it are the operator's (functionRequesterIdentifier \"{name}\"); a running `simforge serve` accepts it at once"
        );
    }
    Ok(())
}

/// Prints an operator's credentials of one kind.
async fn list_credentials(
    ctx: &Ctx,
    store: &Store,
    op: &Operator,
    kind: CredentialKind,
) -> CliResult {
    let all = credentials::list(store, op, kind).await?;
    if ctx.json {
        println!("{}", json!({"operator": op.name, "credentials": all}));
        return Ok(());
    }
    for c in &all {
        let state = c
            .revoked_at
            .map_or("active".to_owned(), |t| format!("revoked {}", rfc3339(t)));
        let (id, sha, label, created) = (c.id, c.sha256.as_str(), &c.label, rfc3339(c.created_at));
        println!("{id:<6} {sha}  {label}  created {created}  {state}");
    }
    if all.is_empty() {
        eprintln!("operator {} has no {}", op.name, kind.as_str());
    }
    Ok(())
}

async fn revoke_credential(ctx: &Ctx, store: &Store, op: &Operator, id: i64) -> CliResult {
    credentials::revoke(store, &ctx.actor, op, CredentialId(id), unix_now()).await?;
    match ctx.json {
        true => println!("{}", json!({"operator": op.name, "revoked": id})),
        false => eprintln!(
            "revoked credential {id} of operator {}: a running `simforge serve` refuses it within a second",
            op.name
        ),
    }
    Ok(())
}

async fn import(ctx: &Ctx, store: &Store, a: ImportArgs) -> CliResult {
    let op = store.operator(&a.name).await?;
    let b = inventory::completed_batch(store, &op, a.batch).await?;
    let template = a
        .template
        .as_deref()
        .map(|p| read_file(p, "reading"))
        .transpose()?;
    let vault = ctx.vault()?;
    let opts = inventory::ImportOptions {
        profile_type: a.profile_type.clone(),
        template,
        notification_address: a.notification_address,
        limit: a.limit,
        reuse_on_delete: (a.reuse_on_delete || a.no_reuse_on_delete).then_some(a.reuse_on_delete),
        radio_access: a.radio_access,
    };
    let dir = std::path::Path::new(&b.output_dir);
    let log = (store, &ctx.actor);
    let added =
        inventory::import_batch_dir(store, log, &vault, &op, dir, &opts, unix_now()).await?;
    let (name, batch, profile_type) = (&op.name, a.batch, &a.profile_type);
    let j = json!({"operator": name, "batch": batch, "profileType": profile_type, "added": added});
    ctx.print(&j, || {
        let n = added.len();
        format!("added {n} profile(s) of type {profile_type} to operator {name}'s SM-DP+ inventory")
    });
    Ok(())
}

/// `simforge operator callback`.
async fn callback(ctx: &Ctx, store: &Store, a: CallbackArgs) -> CliResult {
    let op = store.operator(&a.name).await?;
    if a.failed {
        let rows = callbacks::failed_events(store, &op).await?;
        if ctx.json {
            println!("{}", serde_json::to_string(&rows)?);
            return Ok(());
        }
        println!(
            "{:<8} {:<18} {:<12} {:<9} LAST ERROR",
            "ID", "KIND", "CREATED", "ATTEMPTS"
        );
        for r in &rows {
            let last = r.last_error.as_deref().unwrap_or("-");
            println!(
                "{:<8} {:<18} {:<12} {:<9} {last}",
                r.id, r.kind, r.created_at, r.attempts
            );
        }
        eprintln!("operator {}: {} event(s) given up", op.name, rows.len());
        return Ok(());
    }
    if a.redeliver.is_some() || a.redeliver_all {
        let n = callbacks::redeliver(store, &op, a.redeliver, now_ms()).await?;
        ctx.print(&json!({"operator": op.name, "redelivered": n}), || {
            format!(
                "operator {}: {n} event(s) back in the queue (a running `simforge serve` delivers them)",
                op.name
            )
        });
        return Ok(());
    }
    let changes_settings = a.client_cert.is_some()
        || a.use_server_identity
        || a.no_client_cert
        || a.ca_bundle.is_some()
        || a.retry_hours.is_some();
    if a.clear {
        callbacks::clear(store, &ctx.actor, &op, unix_now()).await?;
    } else if a.url.is_some() || changes_settings {
        if let Some(u) = &a.url
            && callbacks::check_url(u)?.plain_http
        {
            eprintln!("warning: {u} is plain HTTP: ES2+ callbacks carry EIDs and ICCIDs");
        }
        callbacks::check_endpoint(store, &op, a.url.as_deref()).await?;
        let vault = match (&a.client_cert, &a.client_key) {
            (Some(_), Some(_)) => Some(ctx.checked_vault(store).await?),
            _ => None,
        };
        let update = callbacks::UpdateFiles {
            url: a.url.clone(),
            client_cert_key: a.client_cert.as_deref().zip(a.client_key.as_deref()),
            use_server_identity: a.use_server_identity,
            no_client_cert: a.no_client_cert,
            ca_bundle: a.ca_bundle.as_deref(),
            retry_hours: a.retry_hours,
        }
        .read(
            vault.as_ref().map(|v| v as &dyn simforge_vault::Vault),
            op.id,
        )?;
        callbacks::update(store, &ctx.actor, &op, update, unix_now()).await?;
    }
    let st = callbacks::status(store, &op).await?;
    let s = st.settings.as_ref();
    if ctx.json {
        let j = json!({
            "operator": op.name,
            "url": s.map(|s| s.url.clone()),
            "clientIdentity": st.identity(),
            "caBundle": s.is_some_and(|s| s.ca_bundle_pem.is_some()),
            "retryHours": s.and_then(|s| s.retry_hours),
            "pending": st.pending,
            "givenUp": st.given_up,
        });
        println!("{j}");
        return Ok(());
    }
    match s {
        Some(s) => {
            println!("{}", s.url);
            let ca = if s.ca_bundle_pem.is_some() {
                "yes"
            } else {
                "web PKI only"
            };
            let retry = s
                .retry_hours
                .map_or("12 attempts (about an hour)".to_owned(), |h| {
                    format!("{h} hours")
                });
            let identity = st.identity().unwrap_or("none");
            eprintln!("client identity: {identity}; CA bundle: {ca}; retry: {retry}");
        }
        None => println!("(no callback endpoint)"),
    }
    eprintln!(
        "operator {}: {} event(s) pending, {} given up (of the last {})",
        op.name, st.pending, st.given_up, st.recent
    );
    Ok(())
}
