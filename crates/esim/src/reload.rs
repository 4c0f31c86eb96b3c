//! Key rotation on a running cluster: the SM-DP+'s keys (DPauth, DPpb, DPtls, the CIs) read
//! again from where they came from — the PKI directory, the SGP.26 one, the HSM labels — and
//! taken into use without a restart ([`crate::platform::Rotation`]: sessions in flight finish
//! with the keys they started with).
//!
//! One node reloads on SIGHUP ([`KeyReloader::reload`]). Every node reloads when the cluster's
//! key generation (`cluster_state`, [`KEYS_GENERATION`]) moves: [`request_reload`] moves it
//! (`simforge pki reload`, `POST /api/v1/platform/keys/reload`), each node polls it
//! ([`KeyReloader::watch`]). The PKI directory is shared by the nodes (docs/deployment.md);
//! a PKI that does not load changes nothing on that node.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use simforge_audit::{Actor, Draft, action};
use simforge_hsm::Token;
use simforge_pki::LabPki;
use simforge_store::Store;
use simforge_store::cluster::KEYS_GENERATION;

use crate::error::{Error, Result};
use crate::platform::{PlatformSmdp, Rotation, unix, unix_now};

/// Where a server's keys come from, to read them again.
#[derive(Clone)]
pub struct KeySource {
    /// The PKI directory (one lab PKI per curve).
    pub pki_root: PathBuf,
    /// The SM-DP+'s FQDN, if given.
    pub fqdn: Option<String>,
    /// The SGP.26 directory and its PKIs, if served.
    pub sgp26: Option<(PathBuf, Vec<LabPki>)>,
    /// Serve the SGP.26 DPtls certificate.
    pub tls_sgp26: bool,
    /// The HSM holding keys, and the labels of the DPauth, DPpb and DPtls keys in it.
    pub hsm: Option<Arc<Token>>,
    /// DPauth key labels in the HSM.
    pub hsm_dpauth: Vec<String>,
    /// DPpb key labels in the HSM.
    pub hsm_dppb: Vec<String>,
    /// The DPtls key's label in the HSM.
    pub hsm_dptls: Option<String>,
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySource")
            .field("pki_root", &self.pki_root)
            .field("fqdn", &self.fqdn)
            .field("hsm", &self.hsm.is_some())
            .finish_non_exhaustive()
    }
}

/// Reloads one node's keys into its SM-DP+ instances.
pub struct KeyReloader {
    rotation: Rotation,
    also: Vec<Arc<PlatformSmdp>>,
    source: KeySource,
    /// The cluster key generation this node has acted on.
    applied: AtomicI64,
}

impl std::fmt::Debug for KeyReloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyReloader")
            .field("source", &self.source)
            .field("applied", &self.applied.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl KeyReloader {
    /// Reloads into the server behind `rotation` (its ES9+ SM-DP+ and DPtls identity).
    #[must_use]
    pub fn new(rotation: Rotation, source: KeySource) -> Self {
        Self {
            rotation,
            also: Vec::new(),
            source,
            applied: AtomicI64::new(0),
        }
    }

    /// Another SM-DP+ instance of the node (the operator API's ES2+ one) that takes the new
    /// DPauth/DPpb keys too.
    #[must_use]
    pub fn also(mut self, smdp: Arc<PlatformSmdp>) -> Self {
        self.also.push(smdp);
        self
    }

    /// The PKI directory keys are read from.
    #[must_use]
    pub fn pki_root(&self) -> &std::path::Path {
        &self.source.pki_root
    }

    /// Reads the keys and takes them into use at `now`; blocking (files, the HSM).
    ///
    /// # Errors
    /// The PKI's or the HSM's: nothing changed.
    pub fn reload_blocking(&self, now: SystemTime) -> Result<()> {
        let s = &self.source;
        let p = crate::pki::prepare(
            &s.pki_root,
            false,
            s.fqdn.clone(),
            s.sgp26.clone(),
            s.tls_sgp26,
            now,
        )?;
        let mut keys = p.pkis.keys()?;
        let key = match &s.hsm {
            Some(token) => {
                crate::hsm::take_dp_keys(&mut keys, token, &s.hsm_dpauth, &s.hsm_dppb)?;
                match &s.hsm_dptls {
                    Some(label) => crate::hsm::tls_key(token, label, &p.tls)?,
                    None => simforge_server::TlsKey::Pkcs8(p.tls.key_pkcs8.to_vec()),
                }
            }
            None => simforge_server::TlsKey::Pkcs8(p.tls.key_pkcs8.to_vec()),
        };
        let at = unix(now);
        self.rotation
            .apply(keys.clone(), p.tls.chain.clone(), key, at)?;
        for smdp in &self.also {
            smdp.rotate_keys(keys.clone(), at);
        }
        Ok(())
    }

    /// [`Self::reload_blocking`] now, off the runtime's workers.
    ///
    /// # Errors
    /// As [`Self::reload_blocking`].
    pub async fn reload(self: &Arc<Self>) -> Result<()> {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.reload_blocking(SystemTime::now()))
            .await
            .map_err(Error::ServerTask)?
    }

    /// Reloads this node, then moves the cluster's key generation so that every other node
    /// reloads too (within its [`Self::watch`] interval); the new generation. When this node
    /// cannot load the keys the generation stays: nothing changes anywhere.
    ///
    /// # Errors
    /// The reload's, or the store's.
    pub async fn reload_cluster(self: &Arc<Self>, store: &Store, actor: &Actor) -> Result<i64> {
        if let Err(e) = self.reload().await {
            let d = Draft::new(unix_now(), actor.as_str(), action::KEYS_RELOAD, "keys");
            return crate::credentials::record(store, d, Err(e)).await;
        }
        let generation = request_reload(store, actor).await?;
        self.applied.fetch_max(generation, Ordering::SeqCst);
        Ok(generation)
    }

    /// The cluster's key generation this node's keys already reflect: read before the keys
    /// were loaded at start ([`Store::cluster_counter`]), so that a reload asked for between
    /// that read and the first poll is not missed.
    #[must_use]
    pub fn loaded_at_generation(self, generation: i64) -> Self {
        self.applied.store(generation, Ordering::SeqCst);
        self
    }

    /// Polls the cluster's key generation every `every` and reloads when it moved past the
    /// one this node's keys reflect; a reload that fails (the new PKI not yet complete on this
    /// node, say) is tried again at the next poll, the keys in use staying meanwhile.
    pub fn watch(self: Arc<Self>, store: Store, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut failed_at = None;
            loop {
                match store.cluster_counter(KEYS_GENERATION).await {
                    Ok(g) if g > self.applied.load(Ordering::SeqCst) => {
                        match self.reload().await {
                            Ok(()) => {
                                self.applied.fetch_max(g, Ordering::SeqCst);
                                failed_at = None;
                                tracing::info!(
                                    generation = g,
                                    pki = %self.source.pki_root.display(),
                                    "keys reloaded (cluster key generation moved): new sessions use them"
                                );
                            }
                            // Said once per generation; tried again at every poll.
                            Err(e) if failed_at != Some(g) => {
                                failed_at = Some(g);
                                tracing::warn!(
                                    generation = g,
                                    error = %simforge_server::ErrorChain(&e),
                                    "keys not reloaded (tried again at every poll); the ones in use stay"
                                );
                            }
                            Err(_) => {}
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %simforge_server::ErrorChain(&e), "reading the cluster key generation");
                    }
                }
                tokio::time::sleep(every).await;
            }
        })
    }
}

/// Checks that the PKI directory `root` loads (certificates, keys, chains at `now`) as a node
/// would load it: what `simforge pki reload` does before it moves the generation.
///
/// # Errors
/// The PKI's, naming the file.
pub fn check_pki(root: &std::path::Path, now: SystemTime) -> Result<()> {
    let p = crate::pki::prepare(root, false, None, None, false, now)?;
    p.pkis.keys()?;
    Ok(())
}

/// Moves the cluster's key generation: every node watching it reloads its keys. The new
/// generation. Recorded in the audit log as done by `actor`.
///
/// # Errors
/// The store's.
pub async fn request_reload(store: &Store, actor: &Actor) -> Result<i64> {
    let generation = store.bump_cluster_counter(KEYS_GENERATION).await?;
    let d = Draft::new(
        unix_now(),
        actor.as_str(),
        action::KEYS_RELOAD,
        format!("keys:{generation}"),
    );
    crate::credentials::record(store, d, Ok(generation)).await
}
