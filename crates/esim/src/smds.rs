//! The SM-DS role (`simforge smds`): the SM-DS of `simforge_smds` on the lab PKIs' DSauth and
//! DStls certificates (`pki init` writes them under `smds/`), its event records in a SQLite
//! file of their own (`simforge_store::smds`) or in memory,
//! ES12 open to the SM-DP+ client certificates registered on the command line, served over
//! HTTPS by `simforge_server::smds_router` with the expired records purged every minute.
//! As an alternative SM-DS ([`SmdsOptions::root`]) it forwards the events registered with
//! forwardingIndicator to the root SM-DS (ES15): queued in its store with the record,
//! delivered by the SM-DP+'s SM-DS worker (`simforge_server::SmdsWorker` over
//! `simforge_smds::ForwardQueue`) with its DStls identity as client certificate.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use simforge_crypto::SystemRandom;
use simforge_pki::LabPki;
use simforge_server::{
    ClientAuth, Es12Client, Metrics, Registrants, SmdsState, SmdsWorker, SmdsWorkerConfig,
};
use simforge_smds::{
    ForwardQueue, MemoryStore, Registrant, Smds, SmdsConfig, SmdsKeys, SmdsStore,
    valid_rsp_server_address,
};
use tokio::net::TcpListener;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::pki::{load_lab_pki, pki_dirs};

/// How often expired event records and ES11 sessions are purged.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// What `simforge smds` is given.
#[derive(Clone, Debug)]
pub struct SmdsOptions {
    /// The lab PKI directory (one PKI, or `nist/` and `brainpool/`).
    pub pki: PathBuf,
    /// The SM-DS FQDN (default: the DStls certificate's name).
    pub fqdn: Option<String>,
    /// The port of the SM-DS address.
    pub port: u16,
    /// Event record lifetime in seconds (`None`: until deleted).
    pub event_ttl_secs: Option<i64>,
    /// ES12 callers: a registrant name and the file of its client certificate (PEM or DER).
    pub registrants: Vec<(String, PathBuf)>,
    /// ES12 callers given by their certificate (DER): a registrant name and the certificate
    /// (`serve --with-smds`: the co-hosted SM-DP+'s DPtls).
    pub registrant_certs: Vec<(String, Vec<u8>)>,
    /// The SQLite file of the event records (created 0600); `None`: in memory, lost with the
    /// process.
    pub db: Option<PathBuf>,
    /// The root SM-DS (`host[:port]`) to forward events registered with forwardingIndicator
    /// to (ES15): this SM-DS is then an alternative SM-DS. `None`: a root SM-DS.
    pub root: Option<String>,
}

/// Where the SM-DS keeps its records.
pub type AnySmdsStore = Arc<dyn SmdsStore>;

/// An assembled SM-DS, ready to serve.
pub struct SmdsServer {
    state: Arc<SmdsState<AnySmdsStore>>,
    tls: rustls::ServerConfig,
    /// The ES15 forwards' worker (an alternative SM-DS's).
    forwarder: Option<SmdsWorker<ForwardQueue<dyn SmdsStore>>>,
}

impl std::fmt::Debug for SmdsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmdsServer")
            .field("address", &self.state.smds.config().address())
            .finish_non_exhaustive()
    }
}

fn pki_err(context: String, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Pki {
        context,
        source: source.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

/// The registrants of ES12 from `(name, certificate file)` pairs.
///
/// # Errors
/// [`Error::Invalid`] for a bad name, [`Error::Read`] / [`Error::Pki`] for a certificate.
pub fn registrants(list: &[(String, PathBuf)]) -> Result<Registrants> {
    let mut map = HashMap::new();
    for (name, path) in list {
        let who = Registrant::parse(name)
            .map_err(|e| Error::invalid_because(format!("registrant name '{name}'"), e))?;
        let certs = simforge_server::read_certificates(&read(path)?)
            .map_err(|e| pki_err(format!("certificate of {name} in {}", path.display()), e))?;
        let first = certs
            .first()
            .ok_or_else(|| Error::invalid(format!("no certificate in {}", path.display())))?;
        map.insert(simforge_server::cert_sha256(first), who);
    }
    Ok(Registrants(map))
}

impl SmdsServer {
    /// Loads the PKIs under `options.pki` (each must have its `smds/` certificates) and
    /// assembles the SM-DS.
    ///
    /// # Errors
    /// [`Error::NoPki`], [`Error::Pki`], [`Error::Invalid`].
    pub fn assemble(options: &SmdsOptions) -> Result<Self> {
        let dirs = pki_dirs(&options.pki);
        if dirs.is_empty() {
            return Err(Error::NoPki {
                dir: options.pki.clone(),
            });
        }
        let pkis: Vec<LabPki> = dirs
            .iter()
            .map(|d| load_lab_pki(d))
            .collect::<Result<_>>()?;
        let mut keys = SmdsKeys::default();
        for (d, p) in dirs.iter().zip(&pkis) {
            keys.add_pki(p).map_err(|e| {
                pki_err(
                    format!(
                        "SM-DS certificates in {} (a PKI made before the SM-DS: make a new one with `simforge pki init`)",
                        d.display()
                    ),
                    e,
                )
            })?;
        }
        let ds = pkis
            .iter()
            .find_map(|p| p.smds.as_ref().map(|s| (p, s)))
            .ok_or_else(|| Error::invalid("no SM-DS certificates"))?;
        let (pki, certs) = ds;
        let fqdn = options.fqdn.clone().unwrap_or_else(|| certs.fqdn.clone());
        let mut config = SmdsConfig::new(&fqdn);
        config.port = options.port;
        config.event_ttl_secs = options.event_ttl_secs;
        if let Some(root) = &options.root {
            if !valid_rsp_server_address(root) {
                return Err(Error::invalid(format!(
                    "root SM-DS '{root}': an address (host[:port]) expected"
                )));
            }
            if config.accepts_address(root) {
                return Err(Error::invalid(format!(
                    "root SM-DS '{root}' is this SM-DS's own address"
                )));
            }
            config.root = Some(root.clone());
        }
        let key_pkcs8 = Zeroizing::new(
            certs
                .tls
                .key
                .to_pkcs8_der()
                .map_err(|e| pki_err("DStls key".into(), e))?,
        );
        let tls = simforge_server::tls_config_with_client_auth(
            vec![certs.tls.cert.der().to_vec(), pki.ci.der().to_vec()],
            key_pkcs8.to_vec(),
            ClientAuth::Pinned,
        )
        .map_err(Error::Server)?;
        let store: AnySmdsStore = match &options.db {
            Some(path) => Arc::new(simforge_store::smds::SqliteSmdsStore::open(path)?),
            None => Arc::new(MemoryStore::new()),
        };
        let forwarder = match config.root.is_some() {
            true => {
                // ES15 client: the DStls identity, the root trusted by the system roots and
                // the PKIs' CIs (a lab root SM-DS).
                let mut identity = certs.tls.cert.to_pem().into_bytes();
                identity.extend_from_slice(
                    certs
                        .tls
                        .key
                        .to_pkcs8_pem()
                        .map_err(|e| pki_err("DStls key".into(), e))?
                        .as_bytes(),
                );
                let cas: String = pkis.iter().map(|p| p.ci.to_pem()).collect();
                let client =
                    Es12Client::new(&identity, Some(cas.as_bytes()), Duration::from_secs(10))
                        .map_err(Error::Server)?
                        .es15();
                let mut wc = SmdsWorkerConfig::new(&config.address());
                wc.call_id_prefix = "simforge-es15".to_owned();
                Some(SmdsWorker::new(
                    Arc::new(ForwardQueue(Arc::clone(&store))),
                    client,
                    wc,
                ))
            }
            false => None,
        };
        let smds = Smds::new(config, keys, store, Arc::new(SystemRandom::new()));
        Ok(Self {
            forwarder,
            state: Arc::new(SmdsState {
                smds,
                registrants: {
                    let mut r = registrants(&options.registrants)?;
                    for (name, der) in &options.registrant_certs {
                        let who = Registrant::parse(name).map_err(|e| {
                            Error::invalid_because(format!("registrant name '{name}'"), e)
                        })?;
                        r.0.insert(simforge_server::cert_sha256(der), who);
                    }
                    r
                },
                metrics: Metrics::default(),
                limits: simforge_server::SourceLimits::default(),
            }),
            tls,
        })
    }

    /// The SM-DS address (what LPAs are given).
    #[must_use]
    pub fn address(&self) -> String {
        self.state.smds.config().address()
    }

    /// The SM-DS FQDN (its DStls name).
    #[must_use]
    pub fn fqdn(&self) -> String {
        self.state.smds.config().fqdn.clone()
    }

    /// The root SM-DS this alternative SM-DS forwards to.
    #[must_use]
    pub fn root(&self) -> Option<String> {
        self.state.smds.config().root.clone()
    }

    /// Serves on `listener` until `shutdown` resolves (or the server fails), purging expired
    /// records every [`PURGE_INTERVAL`] (and, at an alternative SM-DS, forwarding to the
    /// root SM-DS).
    ///
    /// # Errors
    /// [`Error::Server`], [`Error::ServerTask`].
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let purge = {
            let state = self.state.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(PURGE_INTERVAL);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    let now = unix_now();
                    if let Err(e) = state.smds.purge_expired(now) {
                        tracing::warn!(error = %e, "SM-DS purge failed");
                    }
                    // Finished ES15 forwards are kept 90 days (as the SM-DP+'s operations).
                    if let Err(e) = state.smds.store().purge_ops(now - 90 * 86_400, 1000) {
                        tracing::warn!(error = %e, "SM-DS forwards purge failed");
                    }
                }
            })
        };
        let forwarder = self.forwarder.map(SmdsWorker::spawn);
        let r = simforge_server::serve_tls_until(
            listener,
            self.tls,
            simforge_server::smds_router(self.state),
            simforge_server::Timeouts::default(),
            shutdown,
        )
        .await;
        purge.abort();
        if let Some(f) = forwarder {
            f.abort();
        }
        r.map_err(Error::Server)
    }
}

/// An alternative SM-DS's ES15 forwards in its database `db` (newest first, at most `limit`):
/// pending, done, superseded, or given up with the last error.
///
/// # Errors
/// [`Error::Store`] (the file), [`Error::Smds`] (reading it).
pub fn forwards(db: &Path, limit: u32) -> Result<Vec<simforge_smdp::SmdsOpRow>> {
    let store = simforge_store::smds::SqliteSmdsStore::open(db)?;
    Ok(store.ops(limit)?)
}

/// Puts the given-up ES15 forward `id` of the SM-DS database `db` back in its queue, due at
/// `now_ms` (a running alternative SM-DS sends it again); refused when it is not a given-up
/// forward, or a later forward of the same event was done or given up.
///
/// # Errors
/// [`Error::NotFound`], [`Error::Store`] (the file), [`Error::Smds`] (updating it).
pub fn requeue_forward(db: &Path, id: i64, now_ms: i64) -> Result<()> {
    let store = simforge_store::smds::SqliteSmdsStore::open(db)?;
    if !store.requeue_op(id, now_ms)? {
        return Err(Error::NotFound(format!(
            "no given-up ES15 forward {id} in {} that can be sent again (unknown, not given up, or a later forward of its event was done or given up)",
            db.display()
        )));
    }
    Ok(())
}

use crate::platform::unix_now;
