//! Operator settings of the SM-DP+: the ES2+ callback (endpoint, client identity, CA bundle,
//! retry horizon; given-up events listed and redelivered), the CancelSession policy, and the
//! reset of a profile in Error — the command line over `simforge_esim::{callbacks, policy}`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, ValueEnum};
use simforge_esim::callbacks::{self, CallbackUpdate, ClientIdentity};
use simforge_smdp::ResetTarget;
use simforge_store::Store;
use zeroize::Zeroizing;

use crate::exit::CliResult;
use crate::factory::Ctx;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `simforge operator callback`.
#[derive(Args)]
pub struct CallbackArgs {
    /// Operator name.
    pub name: String,
    /// Endpoint URL (https://…). Given alone, the other settings stay as they are.
    #[arg(long, conflicts_with = "clear")]
    pub url: Option<String>,
    /// Remove the endpoint (and its settings).
    #[arg(long)]
    pub clear: bool,
    /// TLS client certificate (chain, PEM) the SM-DP+ presents to the endpoint (ES2+ is
    /// mutually authenticated). Needs --client-key.
    #[arg(long, requires = "client_key", conflicts_with = "use_server_identity")]
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM); stored sealed by the vault, never shown.
    #[arg(long, requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Present the SM-DP+'s own TLS identity (its DPtls certificate) as client certificate.
    #[arg(long)]
    pub use_server_identity: bool,
    /// Present no client certificate (drops --client-cert/--use-server-identity).
    #[arg(long, conflicts_with_all = ["client_cert", "use_server_identity"])]
    pub no_client_cert: bool,
    /// CA bundle (PEM) the endpoint's certificate is verified against, besides the web PKI.
    #[arg(long)]
    pub ca_bundle: Option<PathBuf>,
    /// Retry an event for this many hours before giving it up (default: 12 attempts with
    /// backoff, about an hour); `0` goes back to the default; at most 87,600 (ten years).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=87_600))]
    pub retry_hours: Option<u32>,
    /// List the operator's given-up events.
    #[arg(long, conflicts_with_all = ["redeliver", "redeliver_all"])]
    pub failed: bool,
    /// Put the given-up event with this id (from --failed) back in the queue.
    #[arg(long, value_name = "ID", conflicts_with = "redeliver_all")]
    pub redeliver: Option<i64>,
    /// Put every given-up event of the operator back in the queue.
    #[arg(long)]
    pub redeliver_all: bool,
}

fn read(p: &Path, what: &str) -> CliResult<Zeroizing<Vec<u8>>> {
    Ok(Zeroizing::new(std::fs::read(p).with_context(|| {
        format!("cannot read {what} {}", p.display())
    })?))
}

/// An error of the service about the file(s) named by `what`.
fn about(e: simforge_esim::Error, what: String) -> anyhow::Error {
    anyhow::Error::new(e).context(what)
}

/// The change of settings the options ask for (the client key sealed by the checked vault).
async fn settings_update(
    ctx: &Ctx,
    store: &Store,
    op_id: i64,
    a: &CallbackArgs,
) -> CliResult<CallbackUpdate> {
    let client_identity = match (&a.client_cert, &a.client_key) {
        (Some(cert), Some(key)) => {
            let (cert_pem, key_pem) = (read(cert, "client certificate")?, read(key, "client key")?);
            let vault = ctx.checked_vault(store).await?;
            let sealed = callbacks::seal_client_identity(&vault, op_id, &cert_pem, &key_pem)
                .map_err(|e| {
                    let what = format!(
                        "--client-cert {} / --client-key {}",
                        cert.display(),
                        key.display()
                    );
                    about(e, what)
                })?;
            Some(ClientIdentity::Certificate(sealed))
        }
        _ if a.use_server_identity => Some(ClientIdentity::Server),
        _ if a.no_client_cert => Some(ClientIdentity::None),
        _ => None,
    };
    let ca_bundle_pem = match &a.ca_bundle {
        Some(p) => Some(read(p, "CA bundle")?.to_vec()),
        None => None,
    };
    Ok(CallbackUpdate {
        url: a.url.clone(),
        client_identity,
        ca_bundle_pem,
        retry_hours: a.retry_hours,
    })
}

/// `simforge operator callback`.
pub async fn callback_cmd(ctx: &Ctx, store: &Store, a: CallbackArgs) -> CliResult {
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
        if ctx.json {
            println!(
                "{}",
                serde_json::json!({"operator": op.name, "redelivered": n})
            );
        } else {
            println!(
                "operator {}: {n} event(s) back in the queue (a running `simforge serve` delivers them)",
                op.name
            );
        }
        return Ok(());
    }

    let changes_settings = a.client_cert.is_some()
        || a.use_server_identity
        || a.no_client_cert
        || a.ca_bundle.is_some()
        || a.retry_hours.is_some();
    if a.clear {
        callbacks::clear(store, &op, unix_now()).await?;
    } else if a.url.is_some() || changes_settings {
        if let Some(u) = &a.url
            && callbacks::check_url(u)?.plain_http
        {
            eprintln!("warning: {u} is plain HTTP: ES2+ callbacks carry EIDs and ICCIDs");
        }
        callbacks::check_endpoint(store, &op, a.url.as_deref()).await?;
        let update = settings_update(ctx, store, op.id, &a).await?;
        callbacks::update(store, &op, update, unix_now()).await?;
    }

    let st = callbacks::status(store, &op).await?;
    if ctx.json {
        let s = st.settings.as_ref();
        println!(
            "{}",
            serde_json::json!({
                "operator": op.name,
                "url": s.map(|s| s.url.clone()),
                "clientIdentity": st.identity(),
                "caBundle": s.is_some_and(|s| s.ca_bundle_pem.is_some()),
                "retryHours": s.and_then(|s| s.retry_hours),
                "pending": st.pending,
                "givenUp": st.given_up,
            })
        );
        return Ok(());
    }
    match &st.settings {
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
            eprintln!(
                "client identity: {}; CA bundle: {ca}; retry: {retry}",
                st.identity().unwrap_or("none")
            );
        }
        None => println!("(no callback endpoint)"),
    }
    eprintln!(
        "operator {}: {} event(s) pending, {} given up (of the last {})",
        op.name, st.pending, st.given_up, st.recent
    );
    Ok(())
}

/// Sets the operator's CancelSession policy (`default` resets it).
pub async fn set_cancel_session_policy(store: &Store, op_id: i64, text: &str) -> CliResult {
    simforge_esim::policy::set_cancel_session_policy(store, op_id, text).await?;
    Ok(())
}

/// Where `operator reset-profile` puts the profile.
#[derive(Clone, Copy, ValueEnum)]
pub enum ResetTo {
    /// Released with its order: the same activation code downloads it again.
    Released,
    /// Available: back to the inventory, the order dropped.
    Available,
}

/// `simforge operator reset-profile`.
#[derive(Args)]
pub struct ResetProfileArgs {
    /// Operator name.
    pub name: String,
    /// The profile's ICCID (in Error).
    #[arg(long)]
    pub iccid: String,
    /// Where it goes.
    #[arg(long, value_enum, default_value = "released")]
    pub to: ResetTo,
}

/// `simforge operator reset-profile`.
pub async fn reset_profile_cmd(ctx: &Ctx, store: &Store, a: ResetProfileArgs) -> CliResult {
    let op = store.operator(&a.name).await?;
    let (target, to) = match a.to {
        ResetTo::Released => (ResetTarget::Released, "released"),
        ResetTo::Available => (ResetTarget::Available, "available"),
    };
    let iccid = a.iccid.trim().to_owned();
    let from = simforge_esim::policy::reset_profile(store, &op, &iccid, target, unix_now()).await?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"operator": op.name, "iccid": iccid, "from": from.as_str(), "to": to})
        );
    } else {
        println!("profile {iccid} of {}: {} -> {to}", op.name, from.as_str());
    }
    Ok(())
}
