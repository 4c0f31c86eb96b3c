//! Operator settings of the SM-DP+: the ES2+ callback (endpoint, client identity, CA bundle,
//! retry horizon; given-up events listed and redelivered), the CancelSession policy, and the
//! reset of a profile in Error.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use simforge_smdp::{CancelSessionPolicy, ResetTarget};
use simforge_store::{CallbackSettings, OperatorAdmin as _, OutboxAdmin as _, Store};
use simforge_vault::Vault;
use zeroize::Zeroizing;

use crate::exit::{CliResult, Code, fail};
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

fn read_text(p: &PathBuf, what: &str) -> CliResult<Zeroizing<String>> {
    let bytes = Zeroizing::new(
        std::fs::read(p).with_context(|| format!("cannot read {what} {}", p.display()))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| fail(Code::Input, anyhow!("{what} {}: not PEM text", p.display())))?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn check_url(u: &str) -> CliResult<String> {
    let parsed =
        reqwest::Url::parse(u).map_err(|e| fail(Code::Input, anyhow!("callback URL {u}: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(fail(
            Code::Input,
            anyhow!("callback URL {u}: must be https://host[:port]/path"),
        ));
    }
    if parsed.scheme() == "http" {
        eprintln!("warning: {u} is plain HTTP: ES2+ callbacks carry EIDs and ICCIDs");
    }
    Ok(parsed.as_str().to_owned())
}

pub async fn callback_cmd(ctx: &Ctx, store: &Store, a: CallbackArgs) -> CliResult {
    let op = store.operator(&a.name).await?;
    if a.failed {
        let rows = store.failed_events(op.id, 1000).await?;
        if ctx.json {
            println!("{}", serde_json::to_string(&rows)?);
        } else {
            println!(
                "{:<8} {:<18} {:<12} {:<9} LAST ERROR",
                "ID", "KIND", "CREATED", "ATTEMPTS"
            );
            for r in &rows {
                println!(
                    "{:<8} {:<18} {:<12} {:<9} {}",
                    r.id,
                    r.kind,
                    r.created_at,
                    r.attempts,
                    r.last_error.as_deref().unwrap_or("-")
                );
            }
            eprintln!("operator {}: {} event(s) given up", op.name, rows.len());
        }
        return Ok(());
    }
    if a.redeliver.is_some() || a.redeliver_all {
        let n = store.redeliver_events(op.id, a.redeliver, now_ms()).await?;
        if let (Some(id), 0) = (a.redeliver, n) {
            return Err(fail(
                Code::NotFound,
                anyhow!(
                    "operator {}: no given-up event {id} (see `simforge operator callback {} --failed`)",
                    op.name,
                    op.name
                ),
            ));
        }
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
        store.set_callback_url(op.id, None, unix_now()).await?;
    } else if a.url.is_some() || changes_settings {
        let mut s = store.callback_settings(op.id).await?.unwrap_or_default();
        match &a.url {
            Some(u) => s.url = check_url(u)?,
            None if s.url.is_empty() => {
                return Err(fail(
                    Code::Input,
                    anyhow!("operator {} has no callback endpoint: give --url", op.name),
                ));
            }
            None => {}
        }
        if let (Some(cert), Some(key)) = (&a.client_cert, &a.client_key) {
            let cert_pem = read_text(cert, "client certificate")?;
            let key_pem = read_text(key, "client key")?;
            // The pair must make a TLS client identity (the error never shows the key).
            let mut both = Zeroizing::new(cert_pem.as_bytes().to_vec());
            both.extend_from_slice(b"\n");
            both.extend_from_slice(key_pem.as_bytes());
            reqwest::Identity::from_pem(&both).map_err(|e| {
                fail(
                    Code::Input,
                    anyhow!(
                        "--client-cert {} / --client-key {}: not a certificate and private key in PEM ({})",
                        cert.display(),
                        key.display(),
                        e.without_url()
                    ),
                )
            })?;
            let vault = ctx.checked_vault(store).await?;
            let sealed = vault.seal(
                &simforge_store::callback_key_context(op.id),
                key_pem.as_bytes(),
            )?;
            s.client_cert_pem = Some(cert_pem.as_str().to_owned());
            s.client_key_sealed = Some(sealed);
            s.use_server_identity = false;
        }
        if a.use_server_identity {
            s.client_cert_pem = None;
            s.client_key_sealed = None;
            s.use_server_identity = true;
        }
        if a.no_client_cert {
            s.client_cert_pem = None;
            s.client_key_sealed = None;
            s.use_server_identity = false;
        }
        if let Some(p) = &a.ca_bundle {
            let pem = read_text(p, "CA bundle")?;
            if !reqwest::Certificate::from_pem_bundle(pem.as_bytes()).is_ok_and(|c| !c.is_empty()) {
                return Err(fail(
                    Code::Input,
                    anyhow!("--ca-bundle {}: no PEM certificate in it", p.display()),
                ));
            }
            s.ca_bundle_pem = Some(pem.as_str().to_owned());
        }
        if let Some(h) = a.retry_hours {
            s.retry_hours = (h > 0).then_some(h);
        }
        store.set_callback_settings(op.id, &s, unix_now()).await?;
    }

    let current = store.callback_settings(op.id).await?;
    let recent = store.outbox_rows(op.id, 1000).await?;
    let pending = recent
        .iter()
        .filter(|r| r.delivered_at.is_none() && r.failed_at.is_none())
        .count();
    let failed = recent.iter().filter(|r| r.failed_at.is_some()).count();
    let identity = current.as_ref().map(|s| {
        if s.use_server_identity {
            "server"
        } else if s.client_cert_pem.is_some() {
            "certificate"
        } else {
            "none"
        }
    });
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({
                "operator": op.name,
                "url": current.as_ref().map(|s| s.url.clone()),
                "clientIdentity": identity,
                "caBundle": current.as_ref().is_some_and(|s| s.ca_bundle_pem.is_some()),
                "retryHours": current.as_ref().and_then(|s| s.retry_hours),
                "pending": pending,
                "givenUp": failed,
            })
        );
    } else {
        match &current {
            Some(s) => {
                println!("{}", s.url);
                eprintln!(
                    "client identity: {}; CA bundle: {}; retry: {}",
                    identity.unwrap_or("none"),
                    if s.ca_bundle_pem.is_some() {
                        "yes"
                    } else {
                        "web PKI only"
                    },
                    s.retry_hours
                        .map_or("12 attempts (about an hour)".to_owned(), |h| format!(
                            "{h} hours"
                        ))
                );
            }
            None => println!("(no callback endpoint)"),
        }
        eprintln!(
            "operator {}: {pending} event(s) pending, {failed} given up (of the last {})",
            op.name,
            recent.len()
        );
    }
    Ok(())
}

/// Sets the operator's CancelSession policy (`default` resets it).
pub async fn set_cancel_session_policy(store: &Store, op_id: i64, text: &str) -> CliResult {
    let policy: CancelSessionPolicy = text.parse().map_err(|e| {
        fail(
            Code::Input,
            anyhow!("--cancel-session-policy {text:?}: {e}"),
        )
    })?;
    let stored = (policy != CancelSessionPolicy::default()).then_some(policy);
    store
        .set_cancel_session_policy(op_id, stored.as_ref())
        .await?;
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

pub async fn reset_profile_cmd(ctx: &Ctx, store: &Store, a: ResetProfileArgs) -> CliResult {
    let op = store.operator(&a.name).await?;
    let target = match a.to {
        ResetTo::Released => ResetTarget::Released,
        ResetTo::Available => ResetTarget::Available,
    };
    let iccid = a.iccid.trim().to_owned();
    let from = simforge_smdp::reset_profile(store, op.id, &iccid, target, unix_now())
        .await
        .map_err(|e| match e {
            simforge_smdp::Error::IccidUnknown => fail(
                Code::NotFound,
                anyhow!("operator {}: no profile {iccid}", op.name),
            ),
            simforge_smdp::Error::IccidInvalidState(s) => fail(
                Code::Conflict,
                anyhow!("profile {iccid} is {s}: only a profile in error can be reset"),
            ),
            other => fail(Code::Failure, anyhow!("reset profile {iccid}: {other}")),
        })?;
    let to = match a.to {
        ResetTo::Released => "released",
        ResetTo::Available => "available",
    };
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

/// The callback settings of each operator from the store, the client key unsealed by the
/// vault; `server_identity_pem` is the SM-DP+'s DPtls chain and key (PEM).
pub struct StoreEndpoints {
    pub store: Store,
    pub vault: Arc<dyn Vault>,
    pub server_identity_pem: Zeroizing<Vec<u8>>,
}

impl simforge_server::EndpointSettings for StoreEndpoints {
    fn endpoint(&self, operator: i64) -> simforge_server::EndpointFuture<'_> {
        Box::pin(async move {
            let s: CallbackSettings = self
                .store
                .callback_settings(operator)
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            let identity_pem = if s.use_server_identity {
                Some(self.server_identity_pem.clone())
            } else if let (Some(cert), Some(sealed)) = (&s.client_cert_pem, &s.client_key_sealed) {
                let key = self
                    .vault
                    .unseal(&simforge_store::callback_key_context(operator), sealed)
                    .map_err(|e| format!("client key: {e}"))?;
                let mut pem = Zeroizing::new(cert.as_bytes().to_vec());
                pem.extend_from_slice(b"\n");
                pem.extend_from_slice(&key);
                Some(pem)
            } else {
                None
            };
            Ok(simforge_server::OperatorEndpoint {
                identity_pem,
                ca_bundle_pem: s.ca_bundle_pem.map(String::into_bytes),
                retry_horizon: s
                    .retry_hours
                    .map(|h| Duration::from_secs(u64::from(h) * 3600)),
            })
        })
    }
}
