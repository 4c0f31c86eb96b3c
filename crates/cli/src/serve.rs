//! `simforge serve`: the SM-DP+ (ES9+ for LPAs, ES2+ for operators, `/metrics`) over HTTPS on
//! the embedded defaults — SQLite and the master key in the data directory, a lab PKI created
//! under `<data-dir>/pki` on first start — plus the operator-side helpers it needs: ES2+ API
//! keys (`simforge operator api-key`), loading a SIM-factory batch into the profile inventory
//! (`simforge operator import-profiles`) and the inventory counts (`simforge operator
//! inventory`).
//!
//! ES2+ operators authenticate with an API key (printed once; only its SHA-256 is kept) or a
//! TLS client certificate (its SHA-256 fingerprint registered with `simforge operator
//! client-cert`). Both live in the database and are looked up per request, so adding or
//! revoking one needs no restart. The listener asks every client for a certificate (without
//! requiring one: LPAs have none); by default any certificate whose private key the client
//! proves is let through TLS and only registered ones authenticate an operator (pinning, which
//! suits self-signed operator certificates); with `--operator-ca` only certificates issued by
//! those CAs pass the handshake, and they too must be registered.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use clap::Args;
use serde::{Deserialize, Serialize};
use simforge_asn1::ActivationCode;
use simforge_asn1::json::{ConfirmOrderRequest, DownloadOrderRequest, RequestHeader};
use simforge_crypto::{SoftwareKeyAgreement, SystemRandom};
use simforge_pki::{Certificate, Curve, Issued, LabPki, LabPkiOptions, PrivateKey, SmdpCerts};
use simforge_server::{
    AppState, ClientAuth, CredentialCache, CredentialSource, LookupError, Metrics,
    OperatorCredential,
};
use simforge_sim as sim;
use simforge_smdp::{
    NewProfile, ProfileMetadata, ProfileState, Smdp, SmdpConfig, SmdpKeys, SmdpStore, SmdpTx,
};
use simforge_store::{CredentialId, CredentialKind, Operator, OutboxAdmin as _, Sha256Hex, Store};
use simforge_vault::{MasterKey, Vault};
use zeroize::Zeroizing;

use crate::exit::{CliResult, Code, fail};
use crate::factory::{self, Ctx};

const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
const DEMO_PROFILE_TYPE: &str = "demo";
/// How long the server trusts a credential lookup: a revoked key or certificate is refused
/// at most this long after `simforge operator … --revoke`.
const CREDENTIAL_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);
/// How often expired ES9+ sessions and old outbox events are deleted.
const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// Days an outbox event is kept by default.
const DEFAULT_EVENT_RETENTION_DAYS: u32 = 90;

/// Stops the accept loop and waits until it has ended (its listener closed), so that no
/// connection is accepted while the last deferred commits are synced.
async fn stop(server: tokio::task::JoinHandle<Result<(), simforge_server::Error>>) {
    server.abort();
    let _ = server.await;
}

/// Resolves on SIGTERM (how service managers and containers stop a server); never where
/// the signal cannot be watched.
async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        s.recv().await;
        return;
    }
    std::future::pending::<()>().await;
}

/// Deletes the outbox events created before `before`, in batches (each its own short
/// transaction, so that the SM-DP+'s go on between them).
async fn purge_events(store: &Store, before: i64) {
    const BATCH: u32 = 1000;
    let mut total = 0;
    loop {
        match store.delete_events_before(before, BATCH).await {
            Ok(n) => {
                total += n;
                if n < u64::from(BATCH) {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "deleting outbox events past retention");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(events = total, "outbox events past retention deleted");
    }
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on (HTTPS). Default 127.0.0.1:8443.
    #[arg(long, env = "SIMFORGE_LISTEN")]
    listen: Option<SocketAddr>,
    /// The SM-DP+ FQDN, as in activation codes and the DPtls certificate. Default: the DPtls
    /// certificate's name; `localhost` for a PKI created on first start.
    #[arg(long, env = "SIMFORGE_FQDN")]
    fqdn: Option<String>,
    /// The port of the SM-DP+ address (default: the listening port; set it behind a proxy).
    #[arg(long, env = "SIMFORGE_PUBLIC_PORT")]
    public_port: Option<u16>,
    /// Lab PKI directory (`simforge pki init`): one PKI (ci/, smdp/) or one per curve
    /// (nist/, brainpool/). Default: <data-dir>/pki, created on first start.
    #[arg(long, env = "SIMFORGE_PKI")]
    pki: Option<PathBuf>,
    /// GSMA SGP.26 test PKI directory (CertificateIssuer/, DPauth/, DPpb/, DPtls/, as in
    /// `simforge pki sgp26`): its DPauth/DPpb keys are added next to the lab PKI's, for eUICCs
    /// that list an SGP.26 CI in euiccCiPKIdListForVerification, and eUICC chains under the
    /// SGP.26 CIs are accepted.
    #[arg(long, env = "SIMFORGE_SGP26")]
    sgp26: Option<PathBuf>,
    /// Serve the SGP.26 DPtls certificate (NIST; its name is testsmdpplus1.example.com, it
    /// expired 2026-08-02) over TLS instead of the lab PKI's; needs --sgp26. LPAs then need to
    /// skip TLS checks (`simforge lpa --insecure`, as lpac does), or resolve that name here.
    #[arg(long)]
    tls_sgp26: bool,
    /// The SM-DP+ OID, used only if the DPauth certificate carries no subjectAltName
    /// registeredID (the certificate's OID wins). Default 2.999.10, the lab PKI's.
    #[arg(long, env = "SIMFORGE_SMDP_OID")]
    oid: Option<String>,
    /// TOML configuration file with any of: listen, fqdn, public_port, pki, sgp26, tls_sgp26,
    /// oid, operator_ca, session_ttl_secs, max_cc_attempts, max_download_attempts,
    /// order_ttl_secs, event_retention_days, trusted_proxies (a list of CIDR networks),
    /// min_matching_id_bits (least estimated entropy of an operator-chosen matchingId, 64).
    /// Command-line options and environment variables take precedence.
    #[arg(long, env = "SIMFORGE_CONFIG")]
    config: Option<PathBuf>,
    /// CA certificates (PEM bundle or DER) that issue the operators' ES2+ client
    /// certificates: the TLS handshake then refuses client certificates from other issuers.
    /// Default: any client certificate passes the handshake and only a registered one (`simforge
    /// operator client-cert`) authenticates an operator.
    #[arg(long, env = "SIMFORGE_OPERATOR_CA", conflicts_with = "no_client_certs")]
    operator_ca: Option<PathBuf>,
    /// Days the ES2+ callback outbox keeps an event, delivered or not (0: for ever). Default
    /// 90.
    #[arg(long, env = "SIMFORGE_EVENT_RETENTION_DAYS")]
    event_retention_days: Option<u32>,
    /// Do not ask TLS clients for certificates (ES2+ by API key only).
    #[arg(long)]
    no_client_certs: bool,
    /// A reverse proxy (address or CIDR network, repeatable) whose `X-Forwarded-For` (else
    /// `Forwarded`) header names the client: per-source limits and logs then use the
    /// rightmost address in it that is not a trusted proxy. The proxy must append to
    /// X-Forwarded-For. Default: none, the TCP peer is the client.
    #[arg(
        long = "trusted-proxy",
        env = "SIMFORGE_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    trusted_proxy: Vec<simforge_server::Cidr>,
    /// Also set up a demo: operator `demo` with an ES2+ API key, profiles made from a SIM
    /// factory batch, one of them released; prints its activation code, QR code and the LPA
    /// command that downloads it.
    #[arg(long)]
    demo: bool,
    /// Profiles in the demo batch (made only when the demo operator has none available).
    #[arg(long, default_value_t = 5)]
    demo_profiles: u64,
    /// A SAIP template (unprotected profile package, DER) to personalize completely for the
    /// demo profiles instead of building each profile from scratch; refused, naming the
    /// element, if it holds a code or key the card data cannot replace.
    #[arg(long)]
    template: Option<PathBuf>,
}

/// The TOML configuration file.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    fqdn: Option<String>,
    public_port: Option<u16>,
    pki: Option<PathBuf>,
    sgp26: Option<PathBuf>,
    tls_sgp26: Option<bool>,
    oid: Option<String>,
    operator_ca: Option<PathBuf>,
    session_ttl_secs: Option<i64>,
    max_cc_attempts: Option<u32>,
    max_download_attempts: Option<u32>,
    order_ttl_secs: Option<i64>,
    event_retention_days: Option<u32>,
    trusted_proxies: Option<Vec<String>>,
    min_matching_id_bits: Option<u32>,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

use simforge_sim::secret::to_hex as hex;

fn unhex(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    simforge_sim::secret::decode_hex(s.trim()).ok()
}

// ---------------------------------------------------------------------------------------------
// PKI
// ---------------------------------------------------------------------------------------------

/// The PKI directories under `root`: `root` itself when it holds one PKI, else its `nist/`
/// and `brainpool/` subdirectories (the layout of `simforge pki init --curve both`).
fn pki_dirs(root: &Path) -> Vec<PathBuf> {
    if root.join("ci").join("ci.der").exists() {
        return vec![root.to_owned()];
    }
    ["nist", "brainpool"]
        .iter()
        .map(|c| root.join(c))
        .filter(|d| d.join("ci").join("ci.der").exists())
        .collect()
}

fn read_issued(dir: &Path, stem: &str) -> anyhow::Result<Issued> {
    let cert_path = dir.join(format!("{stem}.der"));
    let key_path = dir.join(format!("{stem}.key.pem"));
    let cert = Certificate::from_der(
        &std::fs::read(&cert_path).with_context(|| format!("reading {}", cert_path.display()))?,
    )
    .with_context(|| format!("parsing {}", cert_path.display()))?;
    let pem = Zeroizing::new(
        std::fs::read_to_string(&key_path)
            .with_context(|| format!("reading {}", key_path.display()))?,
    );
    let key =
        PrivateKey::from_pem(&pem).with_context(|| format!("parsing {}", key_path.display()))?;
    Ok(Issued { cert, key })
}

/// Loads the SM-DP+ side of a lab PKI directory: CI, DPauth, DPpb, DPtls.
fn load_pki(dir: &Path) -> anyhow::Result<LabPki> {
    let ci_path = dir.join("ci").join("ci.der");
    let ci = Certificate::from_der(
        &std::fs::read(&ci_path).with_context(|| format!("reading {}", ci_path.display()))?,
    )
    .with_context(|| format!("parsing {}", ci_path.display()))?;
    let smdp = dir.join("smdp");
    let tls = read_issued(&smdp, "dptls")?;
    Ok(LabPki {
        curve: ci.curve(),
        smdp: SmdpCerts {
            fqdn: tls.cert.dns_names().first().cloned().unwrap_or_default(),
            auth: read_issued(&smdp, "dpauth")?,
            pb: read_issued(&smdp, "dppb")?,
            tls,
        },
        ci,
        ci_key: None,
        eum: None,
        euiccs: Vec::new(),
    })
}

/// Creates a lab PKI per curve under `root` (`nist/`, `brainpool/`), as `pki init` does.
fn create_pki(root: &Path, fqdn: &str) -> CliResult {
    for (curve, sub) in [(Curve::P256, "nist"), (Curve::BrainpoolP256r1, "brainpool")] {
        let dir = root.join(sub);
        let pki = simforge_pki::write_lab_pki(&dir, &LabPkiOptions::new(curve, fqdn))
            .map_err(|e| fail(Code::Input, e))?;
        eprintln!(
            "note: created a {curve:?} lab PKI for {fqdn} in {} (eUICC {})",
            dir.display(),
            pki.euiccs.first().map_or("-", |e| e.eid.as_str())
        );
    }
    Ok(())
}

/// Loads the GSMA SGP.26 test PKI in `dir` (every curve present) and checks, now, that its
/// DPauth and DPpb certificates chain to its CI; the DPtls certificate may have expired
/// (it matters only with --tls-sgp26, which warns).
fn load_sgp26_pkis(dir: &Path) -> anyhow::Result<Vec<LabPki>> {
    let pkis = simforge_pki::load_sgp26(dir)
        .with_context(|| format!("SGP.26 test PKI in {}", dir.display()))?;
    let now = simforge_crypto::Clock::now_unix(&simforge_crypto::SystemClock);
    for p in &pkis {
        let store = p.ci_store()?;
        for (role, cert) in [
            (simforge_pki::Role::DpAuth, &p.smdp.auth.cert),
            (simforge_pki::Role::DpPb, &p.smdp.pb.cert),
        ] {
            simforge_pki::verify_dp_cert(&store, cert.der(), role, now).with_context(|| {
                format!(
                    "SGP.26 {:?} {role:?} certificate in {}",
                    p.curve,
                    dir.display()
                )
            })?;
        }
        eprintln!(
            "note: SGP.26 {:?} DPauth/DPpb served to eUICCs that trust CI {}",
            p.curve,
            p.ci.subject_key_id().map(hex).unwrap_or_default()
        );
    }
    Ok(pkis)
}

// ---------------------------------------------------------------------------------------------
// ES2+ API keys
// ---------------------------------------------------------------------------------------------

/// The file in which API key hashes were kept before they moved into the database.
#[derive(Default, Deserialize)]
struct ApiKeyFile {
    keys: Vec<ApiKeyEntry>,
}

#[derive(Deserialize)]
struct ApiKeyEntry {
    operator: String,
    /// SHA-256 of the key, hex.
    sha256: String,
    created_at: i64,
}

fn api_key_path(ctx: &Ctx) -> PathBuf {
    ctx.data_dir.join("es2-api-keys.json")
}

/// Moves the API key hashes of an `es2-api-keys.json` (older versions) into the database and
/// renames the file to `es2-api-keys.json.migrated`.
async fn migrate_api_key_file(ctx: &Ctx, store: &Store) -> CliResult {
    let p = api_key_path(ctx);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(anyhow::Error::from(e).context(format!("reading {}", p.display())))?,
    };
    let file: ApiKeyFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
    let mut moved = 0;
    for k in file.keys {
        let digest: Option<[u8; 32]> = unhex(&k.sha256).and_then(|d| d.as_slice().try_into().ok());
        let (Some(digest), Ok(op)) = (digest, store.operator(&k.operator).await) else {
            eprintln!(
                "warning: {}: API key of operator {} skipped (unknown operator or bad hash)",
                p.display(),
                k.operator
            );
            continue;
        };
        match store
            .add_credential(
                op.id,
                CredentialKind::ApiKey,
                &Sha256Hex::from_digest(digest),
                "(migrated)",
                k.created_at,
            )
            .await
        {
            Ok(_) => moved += 1,
            Err(simforge_store::StoreError::Exists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let done = p.with_extension("json.migrated");
    std::fs::rename(&p, &done)
        .with_context(|| format!("renaming {} to {}", p.display(), done.display()))?;
    eprintln!(
        "note: moved {moved} ES2+ API key hash(es) from {} into the database",
        p.display()
    );
    Ok(())
}

/// Makes a new API key for `operator`, stores its hash; returns the key and its id.
async fn new_api_key(store: &Store, operator: &Operator) -> CliResult<(String, CredentialId)> {
    use rand_core::TryRngCore;
    let mut raw = Zeroizing::new([0u8; 32]);
    rand_core::OsRng
        .try_fill_bytes(raw.as_mut())
        .map_err(|e| anyhow!("random source: {e}"))?;
    let key = format!("sfk_{}", hex(raw.as_ref()).to_ascii_lowercase());
    // The label is the key's first characters (16 of its 256 bits), to tell keys apart.
    let label = format!("{}…", &key[..8]);
    let id = store
        .add_credential(
            operator.id,
            CredentialKind::ApiKey,
            &Sha256Hex::from_digest(simforge_server::api_key_sha256(&key)),
            &label,
            unix_now(),
        )
        .await?;
    Ok((key, id))
}

/// ES2+ credentials, looked up in the database per request (through the server's cache).
struct StoreCredentials(Store);

impl CredentialSource for StoreCredentials {
    fn lookup(
        &self,
        kind: simforge_server::CredentialKind,
        sha256: [u8; 32],
    ) -> simforge_server::BoxFuture<'_, Result<Option<OperatorCredential>, LookupError>> {
        Box::pin(async move {
            let kind = match kind {
                simforge_server::CredentialKind::ApiKey => CredentialKind::ApiKey,
                simforge_server::CredentialKind::ClientCert => CredentialKind::ClientCert,
            };
            let c = self
                .0
                .active_credential(kind, &Sha256Hex::from_digest(sha256))
                .await?;
            Ok(c.map(|c| OperatorCredential {
                operator_id: c.operator_id,
                requester_id: c.operator,
            }))
        })
    }

    fn operator_name(
        &self,
        operator: simforge_smdp::OperatorId,
    ) -> simforge_server::BoxFuture<'_, Result<Option<String>, LookupError>> {
        Box::pin(async move {
            match self.0.operator_by_id(operator).await {
                Ok(op) => Ok(Some(op.name)),
                Err(simforge_store::StoreError::NotFound(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// Prints an operator's credentials of one kind.
async fn list_credentials(
    ctx: &Ctx,
    store: &Store,
    op: &Operator,
    kind: CredentialKind,
) -> CliResult {
    let all: Vec<_> = store
        .credentials(op.id)
        .await?
        .into_iter()
        .filter(|c| c.kind == kind)
        .collect();
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"operator": op.name, "credentials": all})
        );
    } else {
        for c in &all {
            let state = c.revoked_at.map_or_else(
                || "active".to_owned(),
                |t| format!("revoked {}", rfc3339(t)),
            );
            println!(
                "{:<6} {}  {}  created {}  {}",
                c.id,
                c.sha256.as_str(),
                c.label,
                rfc3339(c.created_at),
                state
            );
        }
        if all.is_empty() {
            eprintln!("operator {} has no {}", op.name, kind.as_str());
        }
    }
    Ok(())
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

async fn revoke(ctx: &Ctx, store: &Store, op: &Operator, id: i64) -> CliResult {
    store
        .revoke_credential(op.id, CredentialId(id), unix_now())
        .await?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"operator": op.name, "revoked": id})
        );
    } else {
        eprintln!(
            "revoked credential {id} of operator {}: a running `simforge serve` refuses it within a second",
            op.name
        );
    }
    Ok(())
}

pub async fn api_key_cmd(
    ctx: &Ctx,
    store: &Store,
    name: &str,
    list: bool,
    revoke_id: Option<i64>,
) -> CliResult {
    let op = store.operator(name).await?;
    migrate_api_key_file(ctx, store).await?;
    if list {
        return list_credentials(ctx, store, &op, CredentialKind::ApiKey).await;
    }
    if let Some(id) = revoke_id {
        return revoke(ctx, store, &op, id).await;
    }
    let (key, id) = new_api_key(store, &op).await?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"operator": op.name, "id": id, "apiKey": key, "functionRequesterIdentifier": op.name})
        );
    } else {
        println!("{key}");
        eprintln!(
            "ES2+ API key {id} for operator {} (shown only now): send it as X-Api-Key, with functionRequesterIdentifier \"{}\". A running `simforge serve` accepts it at once.",
            op.name, op.name
        );
    }
    Ok(())
}

/// `simforge operator client-cert NAME --cert FILE | --list | --revoke ID`.
pub async fn client_cert_cmd(
    ctx: &Ctx,
    store: &Store,
    name: &str,
    cert: Option<PathBuf>,
    list: bool,
    revoke_id: Option<i64>,
) -> CliResult {
    let op = store.operator(name).await?;
    if let Some(id) = revoke_id {
        return revoke(ctx, store, &op, id).await;
    }
    let Some(path) = cert.filter(|_| !list) else {
        return list_credentials(ctx, store, &op, CredentialKind::ClientCert).await;
    };
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let certs = simforge_server::read_certificates(&bytes)
        .with_context(|| path.display().to_string())
        .map_err(|e| fail(Code::Input, e))?;
    let Some(der) = certs.first() else {
        return Err(fail(
            Code::Input,
            anyhow!("{}: no certificate", path.display()),
        ));
    };
    // The subject is a label only (this parser knows ECDSA certificates; others get none).
    let subject = Certificate::from_der(der)
        .map(|c| c.subject())
        .unwrap_or_default();
    let sha256 = Sha256Hex::from_digest(simforge_server::cert_sha256(der));
    let id = store
        .add_credential(
            op.id,
            CredentialKind::ClientCert,
            &sha256,
            &subject,
            unix_now(),
        )
        .await?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"operator": op.name, "id": id, "sha256": sha256, "subject": subject})
        );
    } else {
        println!("{id} {}", sha256.as_str());
        eprintln!(
            "client certificate {id} ({subject}) registered for operator {}: ES2+ requests over a TLS connection with it are the operator's (functionRequesterIdentifier \"{}\"); a running `simforge serve` accepts it at once",
            op.name, op.name
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ES2+ callback endpoint (HandleDownloadProgressInfo)
// ---------------------------------------------------------------------------------------------

/// `simforge operator callback NAME [--url URL | --clear]`: sets, clears or shows the endpoint
/// that receives the operator's ES2+ HandleDownloadProgressInfo requests. A running `simforge
/// serve` picks a change up at its next delivery (no restart); events recorded while no
/// endpoint was set are delivered once one is.
// ---------------------------------------------------------------------------------------------
// Profile inventory from a factory batch
// ---------------------------------------------------------------------------------------------

#[derive(Args)]
pub struct ImportArgs {
    /// Operator name.
    pub name: String,
    /// Batch id (`simforge batch list`): its electrical personalization file is read.
    #[arg(long)]
    pub batch: i64,
    /// Profile type for ES2+ DownloadOrder by type.
    #[arg(long, default_value = "default")]
    pub profile_type: String,
    /// A SAIP template (DER) to personalize completely with each card's data instead of
    /// building each profile; refused (exit 3), naming the element, if it holds a code or key
    /// the card data cannot replace (the TS.48 test profiles' ADM2 and CDMA credentials do).
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// SM-DP+ address (host[:port]) the eUICC notifies on enable/disable/delete.
    #[arg(long)]
    pub notification_address: Option<String>,
    /// Import at most this many cards.
    #[arg(long)]
    pub limit: Option<usize>,
    /// After a delete notification, return the profile to Available (reuse) instead of
    /// Unavailable. Neither this nor --no-reuse-on-delete: the operator's default
    /// (`simforge operator update NAME --reuse-on-delete`).
    #[arg(long, conflicts_with = "no_reuse_on_delete")]
    pub reuse_on_delete: bool,
    /// After a delete notification, make the profile Unavailable, whatever the operator's
    /// default.
    #[arg(long)]
    pub no_reuse_on_delete: bool,
    /// The radio access technologies the profile's network serves (repeatable or
    /// comma-separated: gsm, utran, eutran-epc, nr-epc, nr5gc, eutran5gc, cdma2000-onex,
    /// cdma2000-hrpd, cdma2000-ehrpd): a device supporting none of them is not eligible
    /// (SGP.22 8.2.5 / 4.3). Default: any device.
    #[arg(long = "radio-access", value_delimiter = ',', value_parser = parse_radio_access)]
    pub radio_access: Vec<simforge_smdp::RadioAccess>,
}

fn parse_radio_access(s: &str) -> Result<simforge_smdp::RadioAccess, String> {
    simforge_smdp::RadioAccess::parse(s).ok_or_else(|| {
        let all: Vec<&str> = simforge_smdp::RadioAccess::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        format!(
            "unknown radio access technology {s:?}: one of {}",
            all.join(", ")
        )
    })
}

struct ImportOpts<'a> {
    profile_type: &'a str,
    template: Option<Zeroizing<Vec<u8>>>,
    notification_address: Option<String>,
    limit: Option<usize>,
    /// `None`: the operator's default.
    reuse_on_delete: Option<bool>,
    radio_access: Vec<simforge_smdp::RadioAccess>,
}

/// One card of an electrical file, back as a [`sim::Card`].
fn card_from_elec(
    head: &[&str],
    line: &str,
    index: u64,
    plmn: &sim::Plmn,
) -> anyhow::Result<sim::Card> {
    let fields: Vec<&str> = line.split(',').collect();
    let get = |name: &str| -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let i = head
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| anyhow!("no {name} column"))?;
        let f = fields
            .get(i)
            .ok_or_else(|| anyhow!("line {}: no {name} field", index + 2))?;
        unhex(f).ok_or_else(|| anyhow!("line {}: {name} is not hex", index + 2))
    };
    let code = |name: &'static str| -> anyhow::Result<sim::Pin> {
        let ef = get(name)?;
        let digits: Vec<u8> = ef.iter().copied().take_while(|b| *b != 0xFF).collect();
        let s =
            Zeroizing::new(String::from_utf8(digits).map_err(|_| anyhow!("{name} is not digits"))?);
        Ok(sim::Pin::parse(&s, name)?)
    };
    let key128 = |v: &[u8], name: &str| -> anyhow::Result<sim::Key128> {
        let a: [u8; 16] = v
            .try_into()
            .map_err(|_| anyhow!("line {}: {name} is not 16 octets", index + 2))?;
        Ok(sim::Key128::from_bytes(a))
    };
    let adm_ef = get("ADM1")?;
    let adm1 = if adm_ef.iter().all(u8::is_ascii_digit) && adm_ef.len() == 8 {
        let s = Zeroizing::new(String::from_utf8(adm_ef.to_vec()).unwrap_or_default());
        sim::Adm::Digits(sim::Pin::parse(&s, "ADM1")?)
    } else {
        let a: [u8; 8] = adm_ef[..]
            .try_into()
            .map_err(|_| anyhow!("line {}: ADM1 is not 8 octets", index + 2))?;
        sim::Adm::Hex(a)
    };
    let mut ota = Vec::new();
    for n in 1.. {
        if !head.contains(&format!("KIC{n}").as_str()) {
            break;
        }
        ota.push(sim::OtaKeySet {
            kic: key128(&get(&format!("KIC{n}"))?, "KIC")?,
            kid: key128(&get(&format!("KID{n}"))?, "KID")?,
            kik: key128(&get(&format!("KIK{n}"))?, "KIK")?,
        });
    }
    Ok(sim::Card {
        index,
        iccid: sim::Iccid::from_ef(&get("ICCID")?)?,
        imsi: sim::Imsi::from_ef(&get("IMSI")?, plmn)?,
        msisdn: None,
        ki: key128(&get("KI")?, "KI")?,
        opc: sim::VarKey::from_slice(&get("OPC")?),
        pin1: code("PIN1")?,
        pin2: code("PIN2")?,
        puk1: code("PUK1")?,
        puk2: code("PUK2")?,
        adm1,
        ota,
    })
}

/// The unprotected profile package of `card`: the template personalized, or built.
fn package_for(
    card: &sim::Card,
    spn: &str,
    template: Option<&[u8]>,
) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let algorithm = match card.opc.expose().len() {
        16 => sim::Algorithm::Milenage,
        _ => sim::Algorithm::Tuak,
    };
    let spec = simforge_saip::ProfileSpec::from_card(
        card,
        algorithm,
        spn,
        simforge_saip::OtaKeyType::Aes,
    )?;
    match template {
        Some(t) => Ok(simforge_smdp::profile::personalize(t, &spec)?),
        None => Ok(Zeroizing::new(simforge_saip::build_profile_der(&spec)?)),
    }
}

/// Adds every card of the electrical file in `batch_dir` to `op`'s inventory (cards already
/// there are skipped). Returns the ICCIDs added.
async fn import_dir(
    store: &Store,
    vault: &dyn Vault,
    op: &Operator,
    batch_dir: &Path,
    opts: &ImportOpts<'_>,
) -> CliResult<Vec<String>> {
    let elec = std::fs::read_dir(batch_dir)
        .with_context(|| format!("reading {}", batch_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".elec.csv"))
        .ok_or_else(|| {
            fail(
                Code::NotFound,
                anyhow!(
                    "no electrical file (.elec.csv) in {}: generate the batch with --formats including elec",
                    batch_dir.display()
                ),
            )
        })?;
    let text = Zeroizing::new(
        std::fs::read_to_string(&elec).with_context(|| format!("reading {}", elec.display()))?,
    );
    let mut lines = text.lines();
    let head: Vec<&str> = lines
        .next()
        .ok_or_else(|| fail(Code::Input, anyhow!("{} is empty", elec.display())))?
        .split(',')
        .collect();
    let plmn = sim::Plmn::new(&op.mcc, &op.mnc)?;
    let template = opts.template.as_deref().map(Vec::as_slice);
    let now = unix_now();
    let mut records = Vec::new();
    for (i, line) in lines.enumerate() {
        if opts.limit.is_some_and(|l| records.len() >= l) {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let card = card_from_elec(&head, line, i as u64, &plmn)
            .with_context(|| format!("{}", elec.display()))
            .map_err(|e| fail(Code::Input, e))?;
        let package = package_for(&card, &op.spn, template)
            .with_context(|| format!("profile for ICCID {}", card.iccid))
            .map_err(|e| fail(Code::Input, e))?;
        let iccid = card.iccid.to_string();
        let new = NewProfile {
            iccid: simforge_asn1::Iccid::parse(&iccid)
                .context("ICCID")
                .map_err(|e| fail(Code::Input, e))?,
            profile_type: opts.profile_type.to_owned(),
            metadata: ProfileMetadata {
                service_provider_name: op.spn.clone(),
                profile_name: format!("{} {}", op.spn, &iccid[iccid.len().saturating_sub(4)..]),
                profile_class: 2,
                notification_address: opts.notification_address.clone(),
            },
            package,
            reuse_on_delete: opts.reuse_on_delete.unwrap_or(op.reuse_on_delete),
        };
        let mut record = simforge_smdp::profile::new_record(op.id, new, vault, now)?;
        record.requirements.radio_access = opts.radio_access.clone();
        records.push(record);
    }
    let mut tx = SmdpStore::begin(store).await?;
    let mut added = Vec::new();
    for r in &records {
        if tx.profile_any_operator(&r.iccid).await?.is_some() {
            continue;
        }
        tx.insert_profile(r).await?;
        added.push(r.iccid.to_string());
    }
    tx.commit().await?;
    Ok(added)
}

pub async fn import_cmd(ctx: &Ctx, store: &Store, a: ImportArgs) -> CliResult {
    let op = store.operator(&a.name).await?;
    let b = store.batch(a.batch).await?;
    if b.operator != op.name {
        return Err(fail(
            Code::NotFound,
            anyhow!("batch {} is not operator {}'s", a.batch, op.name),
        ));
    }
    if b.state != simforge_store::BatchState::Complete {
        return Err(fail(
            Code::Conflict,
            anyhow!("batch {} is {:?}, not completed", a.batch, b.state),
        ));
    }
    let template = match &a.template {
        Some(p) => Some(Zeroizing::new(
            std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )),
        None => None,
    };
    let vault = ctx.vault()?;
    let added = import_dir(
        store,
        &vault,
        &op,
        Path::new(&b.output_dir),
        &ImportOpts {
            profile_type: &a.profile_type,
            template,
            notification_address: a.notification_address,
            limit: a.limit,
            reuse_on_delete: match (a.reuse_on_delete, a.no_reuse_on_delete) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            radio_access: a.radio_access,
        },
    )
    .await?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"operator": op.name, "batch": a.batch, "profileType": a.profile_type, "added": added})
        );
    } else {
        println!(
            "added {} profile(s) of type {} to operator {}'s SM-DP+ inventory",
            added.len(),
            a.profile_type,
            op.name
        );
    }
    Ok(())
}

async fn counts(store: &Store, operator_id: i64) -> CliResult<Vec<(ProfileState, u64)>> {
    let mut tx = SmdpStore::begin(store).await?;
    let c = tx.count_by_state(operator_id).await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn inventory_cmd(ctx: &Ctx, store: &Store, name: &str) -> CliResult {
    let op = store.operator(name).await?;
    let c = counts(store, op.id).await?;
    if ctx.json {
        let m: serde_json::Map<String, serde_json::Value> = c
            .iter()
            .map(|(s, n)| (s.as_str().to_owned(), serde_json::Value::from(*n)))
            .collect();
        println!("{}", serde_json::Value::Object(m));
    } else {
        for (s, n) in c {
            println!("{:<12} {n}", s.as_str());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// serve
// ---------------------------------------------------------------------------------------------

/// What the demo set up.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DemoInfo {
    operator: String,
    api_key: Option<String>,
    batch_dir: Option<PathBuf>,
    iccid: String,
    matching_id: String,
    activation_code: String,
    qr_png: PathBuf,
    ca: PathBuf,
    euicc_pki: PathBuf,
    lpa_command: String,
}

#[allow(clippy::too_many_arguments)]
async fn demo(
    ctx: &Ctx,
    store: &Store,
    vault: &MasterKey,
    smdp: &Smdp<Store>,
    count: u64,
    template: Option<Zeroizing<Vec<u8>>>,
    ca: &Path,
    euicc_pki: &Path,
) -> CliResult<DemoInfo> {
    let op = factory::demo_operator(store, vault).await?;
    let available = counts(store, op.id)
        .await?
        .iter()
        .find(|(s, _)| *s == ProfileState::Available)
        .map_or(0, |(_, n)| *n);
    let mut batch_dir = None;
    if available == 0 {
        let order = ctx.data_dir.join("demo-esim-order.toml");
        std::fs::write(
            &order,
            format!(
                "quantity = {count}\nkid = 1\nopid = 1\n\n[profile]\nalgorithm = \"milenage\"\nota_key_sets = 1\n"
            ),
        )
        .context("cannot write the demo order")?;
        let g = factory::generate(
            ctx,
            factory::GenerateArgs {
                operator: op.name.clone(),
                order,
                profile: None,
                out: None,
                formats: Some(vec![
                    factory::FormatArg::Out,
                    factory::FormatArg::Elec,
                    factory::FormatArg::Hlr,
                ]),
                run: factory::RunArgs {
                    threads: Some(1),
                    quiet: true,
                },
            },
        )
        .await?;
        let added = import_dir(
            store,
            vault,
            &op,
            &g.dir,
            &ImportOpts {
                profile_type: DEMO_PROFILE_TYPE,
                template,
                notification_address: Some(smdp.config().address()),
                limit: None,
                reuse_on_delete: None,
                radio_access: Vec::new(),
            },
        )
        .await?;
        if !ctx.json {
            println!(
                "demo: {} profile(s) of type {DEMO_PROFILE_TYPE} from batch {} ({})",
                added.len(),
                g.batch_id,
                g.dir.display()
            );
        }
        batch_dir = Some(g.dir);
    }
    let has_key = store
        .credentials(op.id)
        .await?
        .iter()
        .any(|c| c.kind == CredentialKind::ApiKey && c.revoked_at.is_none());
    let api_key = if has_key {
        None
    } else {
        Some(new_api_key(store, &op).await?.0)
    };

    // Order and release one profile with the ES2+ logic, as an operator would over HTTPS.
    let now = unix_now();
    let header = |n: &str| RequestHeader {
        function_requester_identifier: op.name.clone(),
        function_call_identifier: format!("serve-demo-{now}-{n}"),
    };
    let es2 = |e: simforge_smdp::Error| fail(Code::Conflict, anyhow!("demo ES2+: {e}"));
    let (order, _) = smdp
        .download_order(
            op.id,
            &DownloadOrderRequest {
                header: header("1"),
                eid: None,
                iccid: None,
                profile_type: Some(DEMO_PROFILE_TYPE.to_owned()),
            },
            now,
        )
        .await
        .map_err(es2)?;
    let iccid = order
        .iccid
        .ok_or_else(|| anyhow!("DownloadOrder returned no ICCID"))?;
    let (confirmed, _) = smdp
        .confirm_order(
            op.id,
            &ConfirmOrderRequest {
                header: header("2"),
                iccid: iccid.clone(),
                eid: None,
                matching_id: None,
                confirmation_code: None,
                smds_address: None,
                release_flag: true,
            },
            now,
        )
        .await
        .map_err(es2)?;
    let matching_id = confirmed
        .matching_id
        .ok_or_else(|| anyhow!("ConfirmOrder returned no matchingId"))?;
    let ac = ActivationCode::new(
        &smdp.config().address(),
        Some(matching_id.clone()),
        Some(smdp.smdp_oid()),
        false,
    )?;
    let qr_png = ctx.data_dir.join(format!("demo-activation-{iccid}.png"));
    std::fs::write(&qr_png, ac.to_png(8)?)
        .with_context(|| format!("writing {}", qr_png.display()))?;
    let activation_code = ac.to_qr_text();
    let lpa_command = format!(
        "simforge euicc init --pki {pki} --file euicc.json && simforge lpa --euicc euicc.json --ca {ca} download '{activation_code}'",
        pki = euicc_pki.display(),
        ca = ca.display()
    );
    let info = DemoInfo {
        operator: op.name,
        api_key,
        batch_dir,
        iccid,
        matching_id: matching_id.as_str().to_owned(),
        activation_code,
        qr_png,
        ca: ca.to_owned(),
        euicc_pki: euicc_pki.to_owned(),
        lpa_command,
    };
    if ctx.json {
        println!("{}", serde_json::json!({ "demo": &info }));
    } else {
        if let Some(k) = &info.api_key {
            println!(
                "demo: ES2+ API key of operator demo (shown only now; header X-Api-Key, functionRequesterIdentifier \"demo\"):\n  {k}"
            );
        }
        println!(
            "demo: released profile {} — activation code:\n  {}\n{}\nQR code: {}\ndownload it with the project's LPA into a virtual eUICC:\n  {}",
            info.iccid,
            info.activation_code,
            ac.to_terminal()?,
            info.qr_png.display(),
            info.lpa_command
        );
    }
    Ok(info)
}

pub async fn serve(
    ctx: Ctx,
    a: ServeArgs,
    log_errors: simforge_server::LogWriteErrors,
) -> CliResult {
    let file: FileConfig = match &a.config {
        Some(p) => {
            let t =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str(&t).map_err(|e| fail(Code::Input, anyhow!("{}: {e}", p.display())))?
        }
        None => FileConfig::default(),
    };
    let listen = a.listen.or(file.listen).unwrap_or_else(|| {
        DEFAULT_LISTEN
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8443)))
    });
    let configured_pki = a.pki.clone().or(file.pki.clone());
    let pki_root = configured_pki
        .clone()
        .unwrap_or_else(|| ctx.data_dir.join("pki"));
    let fqdn_arg = a.fqdn.clone().or(file.fqdn.clone());
    let sgp26_dir = a.sgp26.clone().or(file.sgp26.clone());
    let tls_sgp26 = a.tls_sgp26 || file.tls_sgp26.unwrap_or(false);
    let sgp26 = match &sgp26_dir {
        Some(d) => load_sgp26_pkis(d).map_err(|e| fail(Code::Input, e))?,
        None if tls_sgp26 => {
            return Err(fail(
                Code::Input,
                anyhow!("--tls-sgp26 needs the SGP.26 directory (--sgp26 DIR)"),
            ));
        }
        None => Vec::new(),
    };

    let store = ctx.store().await?;
    let vault = Arc::new(ctx.checked_vault(&store).await?);
    migrate_api_key_file(&ctx, &store).await?;

    if pki_dirs(&pki_root).is_empty() {
        if configured_pki.is_some() {
            return Err(fail(
                Code::NotFound,
                anyhow!(
                    "no lab PKI in {} (make one with `simforge pki init --dir {}`)",
                    pki_root.display(),
                    pki_root.display()
                ),
            ));
        }
        create_pki(&pki_root, fqdn_arg.as_deref().unwrap_or("localhost"))?;
    }
    let dirs = pki_dirs(&pki_root);
    let mut pkis = Vec::new();
    for d in &dirs {
        pkis.push(load_pki(d).map_err(|e| fail(Code::Input, e))?);
    }
    let (Some(first), Some(first_dir)) = (pkis.first(), dirs.first()) else {
        return Err(fail(
            Code::NotFound,
            anyhow!("no lab PKI in {}", pki_root.display()),
        ));
    };
    // The DPtls chain served: the lab PKI's, or with --tls-sgp26 the SGP.26 NIST one (rustls
    // has no brainpool).
    let (tls_pki, tls_source, ca_pem) = match (&sgp26_dir, tls_sgp26) {
        (Some(d), true) => {
            let p = sgp26
                .iter()
                .find(|p| p.curve == Curve::P256)
                .ok_or_else(|| {
                    fail(
                        Code::Input,
                        anyhow!("--tls-sgp26: no NIST P-256 DPtls in {}", d.display()),
                    )
                })?;
            let ca = d.join("CertificateIssuer").join("CERT_CI_ECDSA_NIST.pem");
            (p, d.clone(), ca)
        }
        _ => (
            first,
            first_dir.clone(),
            first_dir.join("smdp").join("dptls-chain.pem"),
        ),
    };
    let tls_expiry = tls_pki.smdp.tls.cert.not_after();
    if tls_expiry < SystemTime::now() {
        eprintln!(
            "warning: the DPtls certificate in {} expired at {}: LPAs that check TLS certificates refuse it (lpac and `simforge lpa --insecure` do not check)",
            tls_source.display(),
            rfc3339(
                tls_expiry
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            )
        );
    }
    let tls_names = tls_pki.smdp.tls.cert.dns_names().to_vec();
    let fqdn = match fqdn_arg {
        Some(f) => f,
        None => tls_names
            .first()
            .cloned()
            .unwrap_or_else(|| "localhost".to_owned()),
    };
    if !tls_names.iter().any(|n| n.eq_ignore_ascii_case(&fqdn)) {
        eprintln!(
            "warning: the DPtls certificate in {} is for {tls_names:?}, not {fqdn}: LPAs will refuse the TLS connection",
            tls_source.display()
        );
    }
    // Bind first: the SM-DP+ address carries the real port (`--listen 127.0.0.1:0` works), and
    // the demo releases nothing when the port is taken.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let mut config = SmdpConfig::new(&fqdn);
    config.port = a.public_port.or(file.public_port).unwrap_or(local.port());
    if let Some(oid) = a.oid.clone().or(file.oid.clone()) {
        config.oid = oid;
    }
    if let Some(v) = file.session_ttl_secs {
        config.session_ttl_secs = v;
    }
    if let Some(v) = file.max_cc_attempts {
        config.max_cc_attempts = v;
    }
    if let Some(v) = file.max_download_attempts {
        config.max_download_attempts = v;
    }
    if file.order_ttl_secs.is_some() {
        config.order_ttl_secs = file.order_ttl_secs;
    }
    if let Some(v) = file.min_matching_id_bits {
        config.min_matching_id_bits = v;
    }
    let trusted_proxies = if a.trusted_proxy.is_empty() {
        file.trusted_proxies
            .iter()
            .flatten()
            .map(|c| c.parse::<simforge_server::Cidr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(Code::Input, e))?
    } else {
        a.trusted_proxy.clone()
    };
    let refs: Vec<&LabPki> = pkis.iter().chain(&sgp26).collect();
    let keys = SmdpKeys::from_pkis(&refs).map_err(|e| fail(Code::Input, e))?;
    let tls_chain = vec![
        tls_pki.smdp.tls.cert.der().to_vec(),
        tls_pki.ci.der().to_vec(),
    ];
    let tls_key = tls_pki.smdp.tls.key.to_pkcs8_der()?.to_vec();
    // `operator callback NAME --use-server-identity`: the DPtls chain and key as PEM.
    let server_identity_pem = {
        let key = tls_pki.smdp.tls.key.to_pkcs8_pem()?;
        let pem = format!(
            "{}{}{}",
            tls_pki.smdp.tls.cert.to_pem(),
            tls_pki.ci.to_pem(),
            key.as_str()
        );
        Zeroizing::new(pem.into_bytes())
    };

    let template = match &a.template {
        Some(p) => Some(Zeroizing::new(
            std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )),
        None => None,
    };
    let shared_vault: Arc<dyn Vault> = vault.clone();
    let smdp = Smdp::new(
        store.clone(),
        config,
        keys,
        Arc::new(SystemRandom::new()),
        Arc::new(SoftwareKeyAgreement::new(SystemRandom::new())),
        shared_vault,
    );
    if a.demo {
        demo(
            &ctx,
            &store,
            &vault,
            &smdp,
            a.demo_profiles,
            template,
            &ca_pem,
            first_dir,
        )
        .await?;
    }
    let address = smdp.config().address();
    let state = Arc::new(AppState {
        smdp,
        credentials: CredentialCache::new(
            Arc::new(StoreCredentials(store.clone())),
            CREDENTIAL_CACHE_TTL,
        ),
        metrics: Metrics::with_log_write_errors(log_errors),
        limits: simforge_server::SourceLimits::new(simforge_server::TrustedProxies(
            trusted_proxies,
        )),
    });
    // Once a minute: expired ES9+ sessions (downloads abandoned, install notifications never
    // sent) and outbox events past their retention leave the store.
    let retention_days = a
        .event_retention_days
        .or(file.event_retention_days)
        .unwrap_or(DEFAULT_EVENT_RETENTION_DAYS);
    let purge = {
        let state = state.clone();
        let store = store.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PURGE_INTERVAL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let now = unix_now();
                match state.smdp.purge_expired_sessions(now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sessions = n, "expired ES9+ sessions deleted"),
                    Err(e) => tracing::warn!(error = %e, "purging expired ES9+ sessions"),
                }
                if retention_days > 0 {
                    let before = now - i64::from(retention_days) * 86_400;
                    purge_events(&store, before).await;
                }
            }
        })
    };
    // ES2+ HandleDownloadProgressInfo: deliver the events outbox to the operators' endpoints.
    let callbacks = simforge_server::CallbackWorker::new(
        Arc::new(store.clone()),
        simforge_server::CallbackConfig::new(&address),
    )
    .map_err(|e| fail(Code::Input, e))?
    .with_settings(Arc::new(crate::operator_ops::StoreEndpoints {
        store: store.clone(),
        vault: vault.clone(),
        server_identity_pem,
    }))
    .spawn();
    let client_auth = match a.operator_ca.clone().or(file.operator_ca.clone()) {
        _ if a.no_client_certs => ClientAuth::None,
        Some(p) => {
            let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            ClientAuth::Roots(
                simforge_server::read_certificates(&bytes)
                    .with_context(|| p.display().to_string())
                    .map_err(|e| fail(Code::Input, e))?,
            )
        }
        None => ClientAuth::Pinned,
    };
    let tls = simforge_server::tls_config_with_client_auth(tls_chain, tls_key, client_auth)
        .map_err(|e| fail(Code::Input, e))?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"listening": local, "smdpAddress": address, "ca": ca_pem, "pki": pki_root})
        );
    } else {
        println!(
            "SM-DP+ {address} listening on https://{local} (ES9+ /gsma/rsp2/es9plus/…, ES2+ /gsma/rsp2/es2plus/…, /metrics); TLS chain {}",
            ca_pem.display()
        );
    }
    // The accept loop runs on a worker thread, not on this one (the runtime's `block_on`
    // thread): each accepted connection's task then starts on the accepting worker's own queue
    // instead of waking a worker across threads (BENCHMARKS.md, round 5).
    let mut server = tokio::spawn(simforge_server::serve_tls(
        listener,
        tls,
        simforge_server::router(state),
    ));
    tokio::select! {
        r = &mut server => {
            r.context("server task")?.context("server")?;
        }
        _ = tokio::signal::ctrl_c() => {
            eprintln!("stopping");
            stop(server).await;
        }
        () = terminated() => {
            eprintln!("stopping (SIGTERM)");
            stop(server).await;
        }
    }
    callbacks.abort();
    purge.abort();
    // Deferred commits (InitiateAuthentication, AuthenticateClient, HandleNotification) of the last moments.
    store
        .sync_deferred()
        .await
        .map_err(|e| fail(Code::Failure, e))?;
    Ok(())
}
