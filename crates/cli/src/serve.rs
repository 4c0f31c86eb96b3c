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
use serde::Serialize;
use simforge_esim::inventory::ImportOptions;
use simforge_esim::{credentials, demo::DEMO_PROFILE_TYPE, inventory, pki, platform};
use simforge_server::ClientAuth;
use simforge_store::{CredentialKind, Operator, Store};
use simforge_vault::MasterKey;
use zeroize::Zeroizing;

use crate::exit::{CliResult, Code, fail};
use crate::factory::{self, Ctx};

const DEFAULT_LISTEN: &str = "127.0.0.1:8443";

/// Resolves on Ctrl-C or SIGTERM (how service managers and containers stop a server; never
/// where that signal cannot be watched), saying so.
async fn shutdown() {
    let terminated = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => eprintln!("stopping"),
        () = terminated => eprintln!("stopping (SIGTERM)"),
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

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
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

fn read_file(p: &Path) -> CliResult<Zeroizing<Vec<u8>>> {
    Ok(Zeroizing::new(
        std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
    ))
}

/// Moves the API key hashes of an `es2-api-keys.json` (older versions) into the database.
async fn migrate_api_key_file(ctx: &Ctx, store: &Store) -> CliResult {
    if let Some(m) = credentials::migrate_api_key_file(store, &ctx.data_dir).await? {
        for op in &m.skipped {
            eprintln!(
                "warning: {}: API key of operator {op} skipped (unknown operator or bad hash)",
                m.file.display()
            );
        }
        eprintln!(
            "note: moved {} ES2+ API key hash(es) from {} into the database",
            m.moved,
            m.file.display()
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
        println!(
            "{}",
            serde_json::json!({"operator": op.name, "credentials": all})
        );
        return Ok(());
    }
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
    Ok(())
}

async fn revoke(ctx: &Ctx, store: &Store, op: &Operator, id: i64) -> CliResult {
    credentials::revoke(store, op, simforge_store::CredentialId(id), unix_now()).await?;
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

/// `simforge operator api-key NAME [--list | --revoke ID]`.
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
    let k = credentials::create_api_key(store, &op, &mut rand_core::OsRng, unix_now()).await?;
    let (key, id) = (k.key.as_str(), k.id);
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
    let bytes = read_file(&path)?;
    let c = credentials::register_client_cert(store, &op, &bytes, unix_now())
        .await
        .map_err(|e| anyhow::Error::new(e).context(path.display().to_string()))?;
    let (id, subject) = (c.id, &c.subject);
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"operator": op.name, "id": id, "sha256": c.sha256, "subject": subject})
        );
    } else {
        println!("{id} {}", c.sha256.as_str());
        eprintln!(
            "client certificate {id} ({subject}) registered for operator {}: ES2+ requests over a TLS connection with it are the operator's (functionRequesterIdentifier \"{}\"); a running `simforge serve` accepts it at once",
            op.name, op.name
        );
    }
    Ok(())
}

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

/// `simforge operator import-profiles`.
pub async fn import_cmd(ctx: &Ctx, store: &Store, a: ImportArgs) -> CliResult {
    let op = store.operator(&a.name).await?;
    let b = inventory::completed_batch(store, &op, a.batch).await?;
    let template = a.template.as_deref().map(read_file).transpose()?;
    let vault = ctx.vault()?;
    let opts = ImportOptions {
        profile_type: a.profile_type.clone(),
        template,
        notification_address: a.notification_address,
        limit: a.limit,
        reuse_on_delete: match (a.reuse_on_delete, a.no_reuse_on_delete) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        radio_access: a.radio_access,
    };
    let dir = Path::new(&b.output_dir);
    let added = inventory::import_batch_dir(store, &vault, &op, dir, &opts, unix_now()).await?;
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

/// `simforge operator inventory NAME`.
pub async fn inventory_cmd(ctx: &Ctx, store: &Store, name: &str) -> CliResult {
    let op = store.operator(name).await?;
    let c = inventory::counts(store, &op).await?;
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

/// The demo's SIM factory batch of `count` cards for `op` (formats out, elec, hlr): its id
/// and directory.
async fn generate_demo_batch(ctx: &Ctx, op: &Operator, count: u64) -> CliResult<(i64, PathBuf)> {
    let order = ctx.data_dir.join("demo-esim-order.toml");
    std::fs::write(
        &order,
        format!(
            "quantity = {count}\nkid = 1\nopid = 1\n\n[profile]\nalgorithm = \"milenage\"\nota_key_sets = 1\n"
        ),
    )
    .context("cannot write the demo order")?;
    let formats = vec![
        factory::FormatArg::Out,
        factory::FormatArg::Elec,
        factory::FormatArg::Hlr,
    ];
    let run = factory::RunArgs {
        threads: Some(1),
        quiet: true,
    };
    let g = factory::generate(
        ctx,
        factory::GenerateArgs {
            operator: op.name.clone(),
            order,
            profile: None,
            out: None,
            formats: Some(formats),
            run,
        },
    )
    .await?;
    Ok((g.batch_id, g.dir))
}

/// `serve --demo`: operator `demo` with profiles from a factory batch (made when it has none
/// available) and an API key; one profile released, its activation code printed.
#[allow(clippy::too_many_arguments)]
async fn demo(
    ctx: &Ctx,
    store: &Store,
    vault: &MasterKey,
    smdp: &simforge_esim::platform::PlatformSmdp,
    count: u64,
    template: Option<Zeroizing<Vec<u8>>>,
    ca: &Path,
    euicc_pki: &Path,
) -> CliResult {
    let op = factory::demo_operator(store, vault).await?;
    let batch = match simforge_esim::demo::needs_batch(store, &op).await? {
        true => Some(generate_demo_batch(ctx, &op, count).await?),
        false => None,
    };
    let d = simforge_esim::demo::setup(
        smdp,
        &op,
        batch,
        template,
        &mut rand_core::OsRng,
        unix_now(),
    )
    .await?;
    if let (Some(b), false) = (&d.batch, ctx.json) {
        println!(
            "demo: {} profile(s) of type {DEMO_PROFILE_TYPE} from batch {} ({})",
            b.added.len(),
            b.id,
            b.dir.display()
        );
    }
    let r = d.released;
    let ac = &r.activation_code;
    let qr_png = ctx
        .data_dir
        .join(format!("demo-activation-{}.png", r.iccid));
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
        api_key: d.api_key.map(|k| k.key.as_str().to_owned()),
        batch_dir: d.batch.map(|b| b.dir),
        iccid: r.iccid,
        matching_id: r.matching_id,
        activation_code,
        qr_png,
        ca: ca.to_owned(),
        euicc_pki: euicc_pki.to_owned(),
        lpa_command,
    };
    if ctx.json {
        println!("{}", serde_json::json!({ "demo": &info }));
        return Ok(());
    }
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
    Ok(())
}

/// `simforge serve`.
pub async fn serve(
    ctx: Ctx,
    a: ServeArgs,
    log_errors: simforge_server::LogWriteErrors,
) -> CliResult {
    let file = match &a.config {
        Some(p) => platform::ConfigFile::read(p)?,
        None => platform::ConfigFile::default(),
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
    let tls_sgp26 = a.tls_sgp26 || file.tls_sgp26.unwrap_or(false);
    let sgp26 = match a.sgp26.clone().or(file.sgp26.clone()) {
        Some(d) => {
            let pkis = pki::load_sgp26(&d, SystemTime::now())?;
            for p in &pkis {
                eprintln!(
                    "note: SGP.26 {:?} DPauth/DPpb served to eUICCs that trust CI {}",
                    p.curve,
                    p.ci.subject_key_id()
                        .map(simforge_sim::secret::to_hex)
                        .unwrap_or_default()
                );
            }
            Some((d, pkis))
        }
        None if tls_sgp26 => {
            return Err(fail(
                Code::Input,
                anyhow!("--tls-sgp26 needs the SGP.26 directory (--sgp26 DIR)"),
            ));
        }
        None => None,
    };

    let store = ctx.store().await?;
    let vault = Arc::new(ctx.checked_vault(&store).await?);
    migrate_api_key_file(&ctx, &store).await?;

    let create = configured_pki.is_none();
    let p = pki::prepare(
        &pki_root,
        create,
        fqdn_arg,
        sgp26,
        tls_sgp26,
        SystemTime::now(),
    )?;
    for n in &p.notices {
        match n {
            pki::Notice::Created(c) => eprintln!(
                "note: created a {:?} lab PKI for {} in {} (eUICC {})",
                c.curve,
                p.fqdn,
                c.dir.display(),
                c.eid.as_deref().unwrap_or("-")
            ),
            pki::Notice::TlsExpired { source, not_after } => eprintln!(
                "warning: the DPtls certificate in {} expired at {}: LPAs that check TLS certificates refuse it (lpac and `simforge lpa --insecure` do not check)",
                source.display(),
                rfc3339(
                    not_after
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| { i64::try_from(d.as_secs()).unwrap_or(i64::MAX) })
                )
            ),
            pki::Notice::TlsNameMismatch {
                source,
                names,
                fqdn,
            } => eprintln!(
                "warning: the DPtls certificate in {} is for {names:?}, not {fqdn}: LPAs will refuse the TLS connection",
                source.display()
            ),
        }
    }
    let (pkis, tls, fqdn) = (p.pkis, p.tls, p.fqdn);
    // Bind first: the SM-DP+ address carries the real port (`--listen 127.0.0.1:0` works), and
    // the demo releases nothing when the port is taken.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let port = a.public_port.or(file.public_port).unwrap_or(local.port());
    let config = file.smdp_config(&fqdn, port, a.oid.clone().or(file.oid.clone()));
    let trusted_proxies = if a.trusted_proxy.is_empty() {
        file.trusted_proxies()?
    } else {
        a.trusted_proxy.clone()
    };
    let template = a.template.as_deref().map(read_file).transpose()?;
    let smdp = platform::smdp(store.clone(), config, pkis.keys()?, vault.clone());
    let euicc_pki = pkis.first_dir().unwrap_or(&pki_root).to_owned();
    if a.demo {
        demo(
            &ctx,
            &store,
            &vault,
            &smdp,
            a.demo_profiles,
            template,
            &tls.ca_pem,
            &euicc_pki,
        )
        .await?;
    }
    let client_auth = match a.operator_ca.clone().or(file.operator_ca.clone()) {
        _ if a.no_client_certs => ClientAuth::None,
        Some(p) => platform::client_auth_roots(&read_file(&p)?)
            .map_err(|e| anyhow::Error::new(e).context(p.display().to_string()))?,
        None => ClientAuth::Pinned,
    };
    let opts = platform::ServerOptions {
        trusted_proxies,
        event_retention_days: a
            .event_retention_days
            .or(file.event_retention_days)
            .unwrap_or(platform::DEFAULT_EVENT_RETENTION_DAYS),
        client_auth,
        log_errors,
    };
    let server = platform::Server::new(store, vault, smdp, &tls, opts)?;
    let (address, ca_pem) = (server.address(), &tls.ca_pem);
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
    server.run(listener, shutdown()).await?;
    Ok(())
}
