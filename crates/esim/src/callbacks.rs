//! The operators' ES2+ callback (HandleDownloadProgressInfo): endpoint, TLS client identity
//! (its private key sealed by the vault), CA bundle, retry horizon; the outbox's given-up
//! events listed and redelivered; and the settings as the callback worker reads them
//! ([`StoreEndpoints`]). On either database (`OperatorAdmin` + `OutboxAdmin`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use simforge_store::rsp::OutboxRow;
use simforge_store::{CallbackSettings, Operator, OperatorAdmin, OutboxAdmin, Store};
use simforge_vault::Vault;
use zeroize::Zeroizing;

use simforge_audit::{Actor, AuditLog, Draft, action};
use simforge_store::StoreError;

use crate::credentials::record;
use crate::error::{Error, Result};

/// How many outbox rows the status and the given-up list look at.
const RECENT: u32 = 1000;

/// A callback URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl {
    /// The URL, normalized.
    pub url: String,
    /// `http://`: callbacks (EIDs, ICCIDs) go in the clear.
    pub plain_http: bool,
}

/// Checks a callback URL: `https://host[:port]/path` (or `http://`, flagged).
///
/// # Errors
/// [`Error::Invalid`].
pub fn check_url(u: &str) -> Result<CallbackUrl> {
    let parsed = reqwest::Url::parse(u)
        .map_err(|e| Error::invalid_because(format!("callback URL {u}"), e))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(Error::invalid(format!(
            "callback URL {u}: must be https://host[:port]/path"
        )));
    }
    Ok(CallbackUrl {
        plain_http: parsed.scheme() == "http",
        url: parsed.as_str().to_owned(),
    })
}

fn pem_text(bytes: &[u8], what: &str) -> Result<String> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| Error::invalid(format!("{what}: not PEM text")))
}

/// A TLS client certificate with its private key sealed by the vault, for one operator.
/// Built only by [`seal_client_identity`].
#[derive(Clone)]
pub struct SealedClientIdentity {
    cert_pem: String,
    key_sealed: Vec<u8>,
}

impl std::fmt::Debug for SealedClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedClientIdentity")
            .field("key_sealed", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Checks that `cert_pem` (chain) and `key_pem` make a TLS client identity and seals the key
/// for `operator_id` (context [`simforge_store::callback_key_context`]).
///
/// # Errors
/// [`Error::Invalid`] (never showing the key), [`Error::Vault`].
pub fn seal_client_identity(
    vault: &dyn Vault,
    operator_id: i64,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<SealedClientIdentity> {
    let cert_pem = pem_text(cert_pem, "client certificate")?;
    std::str::from_utf8(key_pem).map_err(|_| Error::invalid("client key: not PEM text"))?;
    let mut both = Zeroizing::new(cert_pem.as_bytes().to_vec());
    both.extend_from_slice(b"\n");
    both.extend_from_slice(key_pem);
    if let Err(e) = reqwest::Identity::from_pem(&both) {
        return Err(Error::invalid_because(
            "not a certificate and private key in PEM",
            e.without_url(),
        ));
    }
    let key_sealed = vault.seal(&simforge_store::callback_key_context(operator_id), key_pem)?;
    Ok(SealedClientIdentity {
        cert_pem,
        key_sealed,
    })
}

/// The TLS client identity the SM-DP+ presents to an operator's endpoint.
#[derive(Debug, Clone)]
pub enum ClientIdentity {
    /// A certificate of the operator's choosing.
    Certificate(SealedClientIdentity),
    /// The SM-DP+'s own TLS identity (its DPtls certificate).
    Server,
    /// None.
    None,
}

/// A change of an operator's callback settings; what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct CallbackUpdate {
    /// The endpoint (checked by [`check_url`]); needed unless the operator has one.
    pub url: Option<String>,
    /// The client identity.
    pub client_identity: Option<ClientIdentity>,
    /// The CA bundle (PEM) the endpoint's certificate is verified against, besides the web
    /// PKI.
    pub ca_bundle_pem: Option<Vec<u8>>,
    /// Hours an event is retried before it is given up; `Some(0)`: back to the default.
    pub retry_hours: Option<u32>,
}

/// What `operator callback`'s options ask to change, with the files they name: a client
/// certificate and key (PEM, sealed by the vault), a CA bundle (PEM).
#[derive(Debug, Default)]
pub struct UpdateFiles<'a> {
    /// The endpoint.
    pub url: Option<String>,
    /// The client certificate and key files.
    pub client_cert_key: Option<(&'a Path, &'a Path)>,
    /// Present the server's own TLS identity.
    pub use_server_identity: bool,
    /// Present no client certificate.
    pub no_client_cert: bool,
    /// The CA bundle file.
    pub ca_bundle: Option<&'a Path>,
    /// Hours an event is retried.
    pub retry_hours: Option<u32>,
}

fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })
}

impl UpdateFiles<'_> {
    /// The update, files read; `vault` (needed with a client certificate only) seals the
    /// client key for operator `operator_id`.
    pub fn read(self, vault: Option<&dyn Vault>, operator_id: i64) -> Result<CallbackUpdate> {
        let client_identity = match (self.client_cert_key, vault) {
            (Some((cert, key)), Some(vault)) => {
                let (c, k) = (read_file(cert)?, read_file(key)?);
                let sealed = seal_client_identity(vault, operator_id, &c, &k).map_err(|e| {
                    if e.kind() != crate::error::ErrorKind::Invalid {
                        return e;
                    }
                    let what = format!(
                        "--client-cert {} / --client-key {}",
                        cert.display(),
                        key.display()
                    );
                    Error::invalid_because(what, e)
                })?;
                Some(ClientIdentity::Certificate(sealed))
            }
            _ if self.use_server_identity => Some(ClientIdentity::Server),
            _ if self.no_client_cert => Some(ClientIdentity::None),
            _ => None,
        };
        let ca_bundle_pem = self.ca_bundle.map(read_file).transpose()?;
        Ok(CallbackUpdate {
            url: self.url,
            client_identity,
            ca_bundle_pem: ca_bundle_pem.map(|b| b.to_vec()),
            retry_hours: self.retry_hours,
        })
    }
}

/// Checks, before anything else is read or sealed, that a change of settings will have an
/// endpoint: `url` (checked), or the one `operator` has.
///
/// # Errors
/// [`Error::Invalid`], [`Error::Store`].
pub async fn check_endpoint<S: OperatorAdmin>(
    store: &S,
    operator: &Operator,
    url: Option<&str>,
) -> Result<()> {
    if let Some(u) = url {
        check_url(u)?;
    } else if store
        .callback_settings(operator.id)
        .await?
        .is_none_or(|s| s.url.is_empty())
    {
        return Err(no_endpoint(operator));
    }
    Ok(())
}

fn no_endpoint(operator: &Operator) -> Error {
    Error::invalid(format!(
        "operator {} has no callback endpoint: give --url",
        operator.name
    ))
}

/// Applies `update` to `operator`'s callback settings (creating them with its URL).
///
/// # Errors
/// [`Error::Invalid`] (URL, CA bundle, no endpoint and no URL given), [`Error::Store`].
///
/// Recorded in the audit log as done by `actor` (which settings were given, never the key).
pub async fn update<S: OperatorAdmin + AuditLog<Error = StoreError>>(
    store: &S,
    actor: &Actor,
    operator: &Operator,
    update: CallbackUpdate,
    now: i64,
) -> Result<()> {
    let d = Draft::new(now, actor.as_str(), action::OPERATOR_UPDATE, "callback")
        .tenant(operator.id)
        .detail("operator", operator.name.as_str())
        .detail("url", update.url.is_some())
        .detail("client_identity", update.client_identity.is_some())
        .detail("ca_bundle", update.ca_bundle_pem.is_some())
        .detail("retry_hours", update.retry_hours);
    let result = update_unaudited(store, operator, update, now).await;
    record(store, d, result).await
}

async fn update_unaudited<S: OperatorAdmin>(
    store: &S,
    operator: &Operator,
    update: CallbackUpdate,
    now: i64,
) -> Result<()> {
    let mut s = store
        .callback_settings(operator.id)
        .await?
        .unwrap_or_default();
    match &update.url {
        Some(u) => s.url = check_url(u)?.url,
        None if s.url.is_empty() => return Err(no_endpoint(operator)),
        None => {}
    }
    match update.client_identity {
        Some(ClientIdentity::Certificate(c)) => {
            s.client_cert_pem = Some(c.cert_pem);
            s.client_key_sealed = Some(c.key_sealed);
            s.use_server_identity = false;
        }
        Some(ClientIdentity::Server) => {
            s.client_cert_pem = None;
            s.client_key_sealed = None;
            s.use_server_identity = true;
        }
        Some(ClientIdentity::None) => {
            s.client_cert_pem = None;
            s.client_key_sealed = None;
            s.use_server_identity = false;
        }
        None => {}
    }
    if let Some(pem) = &update.ca_bundle_pem {
        let text = pem_text(pem, "CA bundle")?;
        if !reqwest::Certificate::from_pem_bundle(pem).is_ok_and(|c| !c.is_empty()) {
            return Err(Error::invalid("CA bundle: no PEM certificate in it"));
        }
        s.ca_bundle_pem = Some(text);
    }
    if let Some(h) = update.retry_hours {
        s.retry_hours = (h > 0).then_some(h);
    }
    store.set_callback_settings(operator.id, &s, now).await?;
    Ok(())
}

/// Removes `operator`'s callback endpoint and its settings.
///
/// # Errors
/// [`Error::Store`].
/// Recorded in the audit log as done by `actor`.
pub async fn clear<S: OutboxAdmin + AuditLog<Error = StoreError>>(
    store: &S,
    actor: &Actor,
    operator: &Operator,
    now: i64,
) -> Result<()> {
    let result = store.set_callback_url(operator.id, None, now).await;
    let d = Draft::new(now, actor.as_str(), action::OPERATOR_UPDATE, "callback")
        .tenant(operator.id)
        .detail("operator", operator.name.as_str())
        .detail("cleared", true);
    record(store, d, result.map_err(Error::from)).await
}

/// `operator`'s callback settings and the state of its recent outbox.
#[derive(Debug, Clone)]
pub struct CallbackStatus {
    /// The settings (the client key sealed; its `Debug` redacts it).
    pub settings: Option<CallbackSettings>,
    /// Events neither delivered nor given up, of the recent ones.
    pub pending: usize,
    /// Events given up, of the recent ones.
    pub given_up: usize,
    /// How many recent events were looked at.
    pub recent: usize,
}

impl CallbackStatus {
    /// The client identity presented: `server`, `certificate` or `none`; `None` without an
    /// endpoint.
    #[must_use]
    pub fn identity(&self) -> Option<&'static str> {
        self.settings.as_ref().map(|s| {
            if s.use_server_identity {
                "server"
            } else if s.client_cert_pem.is_some() {
                "certificate"
            } else {
                "none"
            }
        })
    }
}

/// `operator`'s callback settings and outbox state.
///
/// # Errors
/// [`Error::Store`].
pub async fn status<S: OperatorAdmin + OutboxAdmin>(
    store: &S,
    operator: &Operator,
) -> Result<CallbackStatus> {
    let settings = store.callback_settings(operator.id).await?;
    let recent = store.outbox_rows(operator.id, RECENT).await?;
    Ok(CallbackStatus {
        settings,
        pending: recent
            .iter()
            .filter(|r| r.delivered_at.is_none() && r.failed_at.is_none())
            .count(),
        given_up: recent.iter().filter(|r| r.failed_at.is_some()).count(),
        recent: recent.len(),
    })
}

/// `operator`'s given-up events, newest first.
///
/// # Errors
/// [`Error::Store`].
pub async fn failed_events<S: OperatorAdmin>(
    store: &S,
    operator: &Operator,
) -> Result<Vec<OutboxRow>> {
    Ok(store.failed_events(operator.id, RECENT).await?)
}

/// Puts `operator`'s given-up event `id` (or, with `None`, all of them) back in the queue,
/// due at `now_ms`; how many.
///
/// # Errors
/// [`Error::NotFound`] if `id` is not a given-up event of the operator, [`Error::Store`].
pub async fn redeliver<S: OperatorAdmin>(
    store: &S,
    operator: &Operator,
    id: Option<i64>,
    now_ms: i64,
) -> Result<u64> {
    let n = store.redeliver_events(operator.id, id, now_ms).await?;
    if let (Some(id), 0) = (id, n) {
        return Err(Error::NotFound(format!(
            "operator {}: no given-up event {id} (see `simforge operator callback {} --failed`)",
            operator.name, operator.name
        )));
    }
    Ok(n)
}

/// The callback settings of each operator from the store, the client key unsealed by the
/// vault; `server_identity_pem` is the SM-DP+'s DPtls chain and key (PEM).
pub struct StoreEndpoints {
    /// The store.
    pub store: Store,
    /// The vault that sealed the client keys.
    pub vault: Arc<dyn Vault>,
    /// The SM-DP+'s TLS identity (PEM chain and key).
    pub server_identity_pem: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for StoreEndpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreEndpoints").finish_non_exhaustive()
    }
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
