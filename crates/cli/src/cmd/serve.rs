//! `simforge serve`: the SM-DP+ (ES9+, ES2+) over HTTPS on the embedded defaults, and the
//! operator API (`simforge_api`) with `/metrics` on a private listener,
//! (SQLite and the master key in the data directory, a lab PKI created under `<data-dir>/pki`
//! on first start), assembled by `simforge_esim::platform`; `--demo` adds the demo's batch
//! (`simforge_factory`) and profiles (`simforge_esim::demo`). ES2+ operators authenticate with
//! an API key or a registered TLS client certificate (pinned; with `--operator-ca` also
//! issued by those CAs), looked up per request: no restart needed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow};
use clap::Args;
use simforge_esim::{demo::DEMO_PROFILE_TYPE, pki, platform};
use simforge_server::ClientAuth;
use simforge_store::{Operator, Store};
use simforge_vault::Vault;
use zeroize::Zeroizing;

use crate::ctx::{Ctx, read_file, rfc3339, unix, unix_now};
use crate::exit::{CliResult, Code, fail};

const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8443);
const DEFAULT_ADMIN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8444);

/// Resolves on Ctrl-C or SIGTERM (where it can be watched), saying so.
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
    /// The SM-DP+ FQDN (activation codes, DPtls). Default: the DPtls certificate's name;
    /// `localhost` for a PKI created on first start.
    #[arg(long, env = "SIMFORGE_FQDN")]
    fqdn: Option<String>,
    /// The port of the SM-DP+ address (default: the listening port; set it behind a proxy).
    #[arg(long, env = "SIMFORGE_PUBLIC_PORT")]
    public_port: Option<u16>,
    /// Lab PKI directory (`simforge pki init`): one PKI (ci/, smdp/) or one per curve
    /// (nist/, brainpool/). Default: <data-dir>/pki, created on first start.
    #[arg(long, env = "SIMFORGE_PKI")]
    pki: Option<PathBuf>,
    /// GSMA SGP.26 test PKI directory (as in `simforge pki sgp26`): its DPauth/DPpb serve eUICCs
    /// that trust an SGP.26 CI, and eUICC chains under the SGP.26 CIs are accepted.
    #[arg(long, env = "SIMFORGE_SGP26")]
    sgp26: Option<PathBuf>,
    /// Serve the SGP.26 DPtls certificate (NIST, testsmdpplus1.example.com, expired 2026-08-02)
    /// instead of the lab PKI's; needs --sgp26. LPAs then skip TLS checks (`lpa --insecure`).
    #[arg(long)]
    tls_sgp26: bool,
    /// The SM-DP+ OID if the DPauth certificate has no registeredID (default 2.999.10).
    #[arg(long, env = "SIMFORGE_SMDP_OID")]
    oid: Option<String>,
    /// TOML configuration file with any of: listen, fqdn, public_port, pki, sgp26, tls_sgp26,
    /// oid, operator_ca, session_ttl_secs, max_cc_attempts, max_download_attempts,
    /// order_ttl_secs, event_retention_days, trusted_proxies (a list of CIDR networks),
    /// min_matching_id_bits (least estimated entropy of an operator-chosen matchingId, 64),
    /// audit_unseals (true; false only for benchmarking, as --no-audit-unseals),
    /// callback_timeout_secs, callback_lease_secs.
    /// Command-line options and environment variables take precedence.
    #[arg(long, env = "SIMFORGE_CONFIG")]
    config: Option<PathBuf>,
    /// CA certificates (PEM bundle or DER) issuing the operators' ES2+ client certificates: TLS
    /// refuses others. Default: any passes TLS; only registered ones (`operator client-cert`)
    /// authenticate an operator.
    #[arg(long, env = "SIMFORGE_OPERATOR_CA", conflicts_with = "no_client_certs")]
    operator_ca: Option<PathBuf>,
    /// Days the ES2+ callback outbox keeps an event (0: for ever). Default 90.
    #[arg(long, env = "SIMFORGE_EVENT_RETENTION_DAYS")]
    event_retention_days: Option<u32>,
    /// Seconds one ES2+ callback POST to an operator may take. Default 10.
    #[arg(long, env = "SIMFORGE_CALLBACK_TIMEOUT_SECS", value_name = "SECS")]
    callback_timeout_secs: Option<u64>,
    /// Seconds a node holds the callback events it claimed: when a node dies mid-delivery,
    /// another sends them after this. At least three times the timeout. Default 300.
    #[arg(long, env = "SIMFORGE_CALLBACK_LEASE_SECS", value_name = "SECS")]
    callback_lease_secs: Option<u64>,
    /// Seconds between two looks at the cluster's key generation (`simforge pki reload`
    /// moves it: every node then reloads its keys); 0: never look. Default 10.
    #[arg(
        long,
        env = "SIMFORGE_KEY_POLL_SECS",
        value_name = "SECS",
        default_value_t = 10
    )]
    key_poll_secs: u64,
    /// The operator API's address (`/api/v1`, plain HTTP: keep it private). Default
    /// 127.0.0.1:8444.
    #[arg(long, env = "SIMFORGE_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,
    /// Do not serve the operator API (`/metrics` then stays on the ES9+ listener).
    #[arg(long, conflicts_with = "admin_listen")]
    no_admin: bool,
    /// Serve the operator API over TLS with the SM-DP+'s own TLS identity (DPtls), for
    /// administrators reaching it from elsewhere (the session cookie is `Secure`).
    #[arg(long, conflicts_with = "no_admin")]
    admin_tls: bool,
    /// Serve `/metrics` on the ES9+ listener too (by default only on the operator API's).
    #[arg(long)]
    public_metrics: bool,
    /// Do not ask TLS clients for certificates (ES2+ by API key only).
    #[arg(long)]
    no_client_certs: bool,
    /// For benchmarking only: do not audit the profile packages unsealed for ES9+ downloads
    /// (`profile.unseal`, on by default; also `audit_unseals = false` in --config), to
    /// measure what the audit costs (BENCHMARKS.md).
    #[arg(long)]
    no_audit_unseals: bool,
    /// A reverse proxy (address or CIDR, repeatable) appending to `X-Forwarded-For` (else
    /// `Forwarded`): limits and logs use its rightmost untrusted address. Default: the TCP peer.
    #[arg(
        long = "trusted-proxy",
        env = "SIMFORGE_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    trusted_proxy: Vec<simforge_server::Cidr>,
    /// Also set up a demo: operator `demo`, an ES2+ API key, profiles from a factory batch, one
    /// released; prints its activation code, QR code and the LPA command that downloads it.
    #[arg(long)]
    demo: bool,
    /// Profiles in the demo batch (made only when the demo operator has none available).
    #[arg(long, default_value_t = 5)]
    demo_profiles: u64,
    /// An EC key in the token (repeatable) that signs as the DPauth whose certificate (in the
    /// PKI directory) carries its public key.
    /// Needs the HSM (--hsm-module, --hsm-token, --hsm-pin-file).
    #[arg(long = "hsm-dpauth-label")]
    hsm_dpauth_label: Vec<String>,
    /// An EC key in the token (repeatable) that signs as the DPpb whose certificate carries its
    /// public key.
    #[arg(long = "hsm-dppb-label")]
    hsm_dppb_label: Vec<String>,
    /// A P-256 key in the token that signs the TLS handshakes as the DPtls key (the DPtls
    /// certificate in the PKI directory must carry its public key).
    #[arg(long = "hsm-dptls-label")]
    hsm_dptls_label: Option<String>,
    /// A SAIP template (DER) to personalize for the demo profiles instead of building them;
    /// refused, naming the element, if it holds a code or key the card data cannot replace.
    #[arg(long)]
    template: Option<PathBuf>,
    /// Register the orders' events with forwardingIndicator true (ES12): the SM-DSs they
    /// name are alternative SM-DSs, asked to register each event at the root SM-DS too (ES15).
    #[arg(long)]
    smds_forwarding: bool,
    /// Also run an SM-DS in this process (a lab's two roles in one), listening on LISTEN
    /// (default 127.0.0.1:8445): the `simforge smds` of the same PKI (its `smds/`
    /// certificates; records in <data-dir>/smds.sqlite), with this SM-DP+'s DPtls
    /// certificate as its ES12 registrant. ConfirmOrder with an EID then registers the event
    /// there when neither the order nor the operator names an SM-DS.
    #[arg(
        long,
        value_name = "LISTEN",
        num_args = 0..=1,
        default_missing_value = "127.0.0.1:8445"
    )]
    with_smds: Option<SocketAddr>,
}

/// The demo's factory batch of `count` cards (out, elec, hlr): its id and directory.
async fn demo_batch(
    ctx: &Ctx,
    sv: (&Store, &dyn Vault),
    op: &Operator,
    count: u64,
) -> CliResult<(i64, PathBuf)> {
    use simforge_factory::{self as factory, Format};
    let order = factory::demo::demo_order_spec(count, 1)?;
    let planned = factory::plan(sv.0, op, order, "demo", SystemTime::now()).await?;
    let formats = vec![Format::Out, Format::Elec, Format::Hlr];
    let g = ctx
        .generate(sv, &planned, None, Some(formats), (Some(1), true))
        .await?;
    Ok((g.batch_id, g.dir))
}

/// `serve --demo`: operator `demo`, a batch if it has no profile left, an API key; one
/// profile released, its activation code printed.
#[allow(clippy::too_many_arguments)]
async fn demo(
    ctx: &Ctx,
    store: &Store,
    vault: &Arc<dyn Vault>,
    smdp: &simforge_esim::platform::PlatformSmdp,
    count: u64,
    template: Option<Zeroizing<Vec<u8>>>,
    ca: &Path,
    euicc_pki: &Path,
) -> CliResult {
    let op = ctx.demo_operator(store, vault.as_ref()).await?;
    let v: Arc<dyn simforge_vault::Vault> = vault.clone();
    match simforge_esim::users::demo_login(store, v, &op, unix_now()).await? {
        Some((u, p)) => eprintln!(
            "demo: operator console and API login (shown only now): user {u}, password {}",
            p.expose()
        ),
        None => eprintln!(
            "demo: operator console and API user `demo` exists (its password was shown when it was made)"
        ),
    }
    let batch = match simforge_esim::demo::needs_batch(store, &op).await? {
        true => Some(demo_batch(ctx, (store, vault.as_ref()), &op, count).await?),
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
    let qr_png = ctx
        .data_dir
        .join(format!("demo-activation-{}.png", d.released.iccid));
    let ac = &d.released.activation_code;
    std::fs::write(&qr_png, ac.to_png(8)?)
        .with_context(|| format!("writing {}", qr_png.display()))?;
    let info = d.info(&op.name, qr_png, ca, euicc_pki);
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
    let listen = a.listen.or(file.listen).unwrap_or(DEFAULT_LISTEN);
    let configured_pki = a.pki.clone().or(file.pki.clone());
    let pki_root = configured_pki
        .clone()
        .unwrap_or_else(|| ctx.data_dir.join("pki"));
    let fqdn_arg = a.fqdn.clone().or(file.fqdn.clone());
    let tls_sgp26 = a.tls_sgp26 || file.tls_sgp26.unwrap_or(false);
    let sgp26 = match a.sgp26.clone().or(file.sgp26.clone()) {
        Some(d) => {
            let pkis = pki::load_sgp26(&d, crate::ctx::unix_now())?;
            for p in &pkis {
                let ci = p.ci.subject_key_id().map(simforge_sim::secret::to_hex);
                let (curve, ci) = (p.curve, ci.unwrap_or_default());
                eprintln!("note: SGP.26 {curve:?} DPauth/DPpb served to eUICCs that trust CI {ci}");
            }
            Some((d, pkis))
        }
        None if tls_sgp26 => {
            let e = anyhow!("--tls-sgp26 needs the SGP.26 directory (--sgp26 DIR)");
            return Err(fail(Code::Input, e));
        }
        None => None,
    };

    let store = ctx.store().await?;
    let hsm = ctx.hsm_token()?;
    let labels = !a.hsm_dpauth_label.is_empty()
        || !a.hsm_dppb_label.is_empty()
        || a.hsm_dptls_label.is_some();
    if hsm.is_none() && labels {
        let e = anyhow!("--hsm-*-label needs the HSM: --hsm-module, --hsm-token, --hsm-pin-file");
        return Err(fail(Code::Input, e));
    }
    let vault: Arc<dyn Vault> = Arc::from(ctx.checked_vault(&store).await?);
    if let Some(label) = &ctx.hsm_master_key_label {
        let fp = vault.fingerprint();
        eprintln!("note: the vault's master key is HSM key {label:?} (fingerprint {fp})");
    }
    ctx.migrate_api_key_file(&store).await?;
    // The cluster's key generation the keys loaded now reflect (read before they are).
    let keys_generation = store
        .cluster_counter(simforge_store::cluster::KEYS_GENERATION)
        .await?;

    let (create, now) = (configured_pki.is_none(), SystemTime::now());
    let reload_from = (fqdn_arg.clone(), sgp26.clone(), tls_sgp26);
    let p = pki::prepare(&pki_root, create, fqdn_arg, sgp26, tls_sgp26, now)?;
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
                rfc3339(unix(*not_after))
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
    let mut config = file.smdp_config(&fqdn, port, a.oid.clone().or(file.oid.clone()));
    // The co-hosted SM-DS (`--with-smds`): bound and assembled now, its address the SM-DP+'s
    // default SM-DS.
    let local_smds = match a.with_smds {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} (--with-smds)"))?;
            let bound = l.local_addr()?;
            simforge_factory::private_dir(&ctx.data_dir)?;
            let leaf = tls.chain.first().cloned().unwrap_or_default();
            let ds =
                simforge_esim::smds::SmdsServer::assemble(&simforge_esim::smds::SmdsOptions {
                    pki: pki_root.clone(),
                    fqdn: None,
                    port: bound.port(),
                    event_ttl_secs: Some(90 * 86_400),
                    registrants: Vec::new(),
                    registrant_certs: vec![("smdp".to_owned(), leaf)],
                    db: Some(ctx.data_dir.join("smds.sqlite")),
                    root: None,
                })?;
            config.default_smds_address = Some(ds.address());
            let reach = match bound.ip().is_unspecified() {
                true => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port()),
                false => bound,
            };
            Some((ds, l, bound, reach))
        }
        None => None,
    };
    if a.no_audit_unseals {
        config.audit_unseals = false;
    }
    if !config.audit_unseals {
        eprintln!(
            "warning: profile unseals are not audited (for benchmarking only: no `profile.unseal` entries)"
        );
    }
    let trusted_proxies = if a.trusted_proxy.is_empty() {
        file.trusted_proxies()?
    } else {
        a.trusted_proxy.clone()
    };
    let template = a.template.as_deref().map(|p| read_file(p, "reading"));
    let template = template.transpose()?;
    let mut keys = pkis.keys()?;
    if let Some(token) = &hsm {
        let (auth, pb) = (&a.hsm_dpauth_label, &a.hsm_dppb_label);
        for t in simforge_esim::hsm::take_dp_keys(&mut keys, token, auth, pb)? {
            eprintln!(
                "note: {} (CI {}) signs in the HSM with key {:?}",
                t.role, t.ci_pkid, t.label
            );
        }
    }
    let es2 = Arc::new(platform::smdp(
        store.clone(),
        config.clone(),
        keys.clone(),
        vault.clone(),
    ));
    let smdp = platform::smdp(store.clone(), config, keys, vault.clone());
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
        Some(p) => platform::client_auth_roots(&read_file(&p, "reading")?)
            .map_err(|e| anyhow::Error::new(e).context(p.display().to_string()))?,
        None => ClientAuth::Pinned,
    };
    let days = a.event_retention_days.or(file.event_retention_days);
    let api_proxies = trusted_proxies.clone();
    let tls_key = match (&hsm, &a.hsm_dptls_label) {
        (Some(token), Some(label)) => {
            let key = simforge_esim::hsm::tls_key(token, label, &tls)?;
            eprintln!("note: DPtls signs the TLS handshakes in the HSM with key {label:?}");
            Some(key)
        }
        _ => None,
    };
    let default_timing = platform::CallbackTiming::default();
    let callbacks = platform::CallbackTiming::new(
        a.callback_timeout_secs
            .or(file.callback_timeout_secs)
            .map_or(default_timing.request_timeout(), Duration::from_secs),
        a.callback_lease_secs
            .or(file.callback_lease_secs)
            .map_or(default_timing.lease(), Duration::from_secs),
    )?;
    let opts = platform::ServerOptions {
        callbacks,
        trusted_proxies,
        event_retention_days: days.unwrap_or(platform::DEFAULT_EVENT_RETENTION_DAYS),
        client_auth,
        log_errors,
        public_metrics: a.public_metrics || a.no_admin,
        tls_key,
        smds_forwarding: a.smds_forwarding,
        local_smds: local_smds
            .as_ref()
            .map(|(ds, _, _, reach)| (ds.fqdn(), *reach)),
    };
    // The operator API: a taken default address is a warning (another simforge runs), an
    // address asked for must be had.
    let admin = match (a.no_admin, a.admin_listen) {
        (true, _) => None,
        (false, Some(at)) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} (--admin-listen)"))?,
        ),
        (false, None) => match tokio::net::TcpListener::bind(DEFAULT_ADMIN).await {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!(
                    "warning: operator API and /metrics not served: {DEFAULT_ADMIN}: {e} (set --admin-listen)"
                );
                None
            }
        },
    };
    let admin_at = admin.as_ref().and_then(|l| l.local_addr().ok());
    let server = platform::Server::new(store.clone(), vault.clone(), smdp, &tls, opts)?;
    // Key rotation without a restart: SIGHUP reloads the PKI directory (and the HSM keys
    // named by the --hsm-*-label options) on this node; a move of the cluster's key
    // generation (`simforge pki reload`, the operator API) on every node. Sessions in flight
    // finish with their keys.
    let (fqdn, sgp26, tls_sgp26) = reload_from;
    let reloader = Arc::new(
        simforge_esim::reload::KeyReloader::new(
            server.rotation(),
            simforge_esim::reload::KeySource {
                pki_root: pki_root.clone(),
                fqdn,
                sgp26,
                tls_sgp26,
                hsm: hsm.clone(),
                hsm_dpauth: a.hsm_dpauth_label.clone(),
                hsm_dppb: a.hsm_dppb_label.clone(),
                hsm_dptls: a.hsm_dptls_label.clone(),
            },
        )
        .also(es2.clone())
        .loaded_at_generation(keys_generation),
    );
    if a.key_poll_secs > 0 {
        let every = Duration::from_secs(a.key_poll_secs);
        Arc::clone(&reloader).watch(store.clone(), every);
    }
    #[cfg(unix)]
    {
        let reloader = Arc::clone(&reloader);
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("SIGHUP handler")?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match reloader.reload().await {
                    Ok(()) => eprintln!(
                        "note: keys reloaded from {} (SIGHUP): new sessions use them",
                        reloader.pki_root().display()
                    ),
                    Err(e) => eprintln!(
                        "warning: keys not reloaded (SIGHUP): {:#}; the ones in use stay",
                        anyhow::Error::from(e)
                    ),
                }
            }
        });
    }
    // One stop for both listeners: each drains its requests in flight.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let admin_stop = move || {
        let mut stopping = stopping.clone();
        async move {
            let _ = stopping.wait_for(|s| *s).await;
        }
    };
    let admin = admin.map(|l| {
        let config = simforge_api::ApiConfig {
            data_dir: ctx.data_dir.clone(),
            threads: crate::ctx::threads_or_cores(None),
            smdp_address: Some(server.address()),
            secure_cookies: true,
            smdp: Some(es2.clone()),
            keys: Some(reloader),
            trusted_proxies: simforge_server::TrustedProxies(api_proxies),
        };
        let v: Arc<dyn simforge_vault::Vault> = vault.clone();
        let api = simforge_api::Api::new(store, v, config);
        let metrics = server.metrics_router();
        match a.admin_tls {
            true => {
                let app = metrics.merge(simforge_console::with_api(api));
                let tls = server.tls_config();
                let timeouts = simforge_server::Timeouts::default();
                tokio::spawn(async move {
                    let r =
                        simforge_server::serve_tls_until(l, tls, app, timeouts, admin_stop()).await;
                    r.map_err(std::io::Error::other)
                })
            }
            false => {
                let extra = metrics.merge(simforge_console::beside_api(api.clone()));
                tokio::spawn(simforge_api::serve(l, api, extra, admin_stop()))
            }
        }
    });
    let smds = local_smds.map(|(ds, l, bound, _)| {
        let address = ds.address();
        let mut stopping = stop.subscribe();
        let task = tokio::spawn(ds.run(l, async move {
            let _ = stopping.wait_for(|s| *s).await;
        }));
        (address, bound, task)
    });
    let smds_line = smds
        .as_ref()
        .map(|(address, bound, _)| (address.clone(), *bound));
    let (address, ca_pem) = (server.address(), &tls.ca_pem);
    let j = serde_json::json!({"listening": local, "smdpAddress": address, "ca": ca_pem, "pki": pki_root, "api": admin_at, "smdsAddress": smds_line.as_ref().map(|s| &s.0)});
    ctx.print(&j, || {
        let scheme = if a.admin_tls { "https" } else { "http" };
        let api = admin_at.map(|at| {
            let login = if a.demo { " (sign in as the demo user above)" } else { "" };
            format!("\noperator console on {scheme}://{at}/console{login}\noperator API on {scheme}://{at}/api/v1 (OpenAPI: /api/v1/openapi.json), metrics on {scheme}://{at}/metrics")
        });
        let ds = smds_line.as_ref().map(|(ds, at)| {
            format!("\nSM-DS {ds} listening on https://{at} (ES11, ES12, ES15): the default SM-DS of orders with an EID")
        });
        format!(
            "SM-DP+ {address} listening on https://{local} (ES9+ /gsma/rsp2/es9plus/…, ES2+ /gsma/rsp2/es2plus/…); TLS chain {}{}{}",
            ca_pem.display(),
            api.unwrap_or_default(),
            ds.unwrap_or_default()
        )
    });
    server
        .run(listener, async move {
            shutdown().await;
            let _ = stop.send(true);
        })
        .await?;
    if let Some(admin) = admin {
        let _ = admin.await;
    }
    if let Some((_, _, task)) = smds {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: the co-hosted SM-DS failed: {e}"),
            Err(e) => eprintln!("warning: the co-hosted SM-DS task failed: {e}"),
        }
    }
    Ok(())
}
