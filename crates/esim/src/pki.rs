//! The SM-DP+'s PKI: lab PKIs (one, or one per curve) loaded or created on first start, the
//! GSMA SGP.26 test PKI added beside them, and the TLS identity served.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use simforge_pki::{
    Certificate, Curve, Issued, LabPki, LabPkiOptions, PrivateKey, SmdpCerts, SmdsCerts,
};
use simforge_smdp::SmdpKeys;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

fn pki_err(
    context: impl Into<String>,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::Pki {
        context: context.into(),
        source: source.into(),
    }
}

/// The PKI directories under `root`: `root` itself when it holds one PKI, else its `nist/`
/// and `brainpool/` subdirectories (the layout of `simforge pki init --curve both`).
#[must_use]
pub fn pki_dirs(root: &Path) -> Vec<PathBuf> {
    if root.join("ci").join("ci.der").exists() {
        return vec![root.to_owned()];
    }
    ["nist", "brainpool"]
        .iter()
        .map(|c| root.join(c))
        .filter(|d| d.join("ci").join("ci.der").exists())
        .collect()
}

fn read_certificate(path: &Path) -> Result<Certificate> {
    let der = std::fs::read(path).map_err(|e| pki_err(format!("reading {}", path.display()), e))?;
    Certificate::from_der(&der).map_err(|e| pki_err(format!("parsing {}", path.display()), e))
}

fn read_issued(dir: &Path, stem: &str) -> Result<Issued> {
    let cert = read_certificate(&dir.join(format!("{stem}.der")))?;
    let key_path = dir.join(format!("{stem}.key.pem"));
    let pem = Zeroizing::new(
        std::fs::read_to_string(&key_path)
            .map_err(|e| pki_err(format!("reading {}", key_path.display()), e))?,
    );
    let key = PrivateKey::from_pem(&pem)
        .map_err(|e| pki_err(format!("parsing {}", key_path.display()), e))?;
    Ok(Issued { cert, key })
}

/// Loads the server side of a lab PKI directory: CI, DPauth, DPpb, DPtls, and DSauth and
/// DStls when the directory has them (`smds/`, written by `pki init` since the SM-DS).
///
/// # Errors
/// [`Error::Pki`] naming the file that cannot be read or parsed.
pub fn load_lab_pki(dir: &Path) -> Result<LabPki> {
    let ci = read_certificate(&dir.join("ci").join("ci.der"))?;
    let smdp = dir.join("smdp");
    let tls = read_issued(&smdp, "dptls")?;
    let smds_dir = dir.join("smds");
    let smds = if smds_dir.join("dsauth.der").exists() {
        let ds_tls = read_issued(&smds_dir, "dstls")?;
        Some(SmdsCerts {
            fqdn: ds_tls.cert.dns_names().first().cloned().unwrap_or_default(),
            auth: read_issued(&smds_dir, "dsauth")?,
            tls: ds_tls,
        })
    } else {
        None
    };
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
        smds,
    })
}

/// A lab PKI created by [`create_lab_pkis`].
#[derive(Debug)]
pub struct CreatedPki {
    /// Its curve.
    pub curve: Curve,
    /// Its directory.
    pub dir: PathBuf,
    /// The EID of its first eUICC, if any.
    pub eid: Option<String>,
}

/// Creates a lab PKI per curve under `root` (`nist/`, `brainpool/`), as `pki init` does.
///
/// # Errors
/// [`Error::Pki`] if a PKI cannot be written.
pub fn create_lab_pkis(root: &Path, fqdn: &str) -> Result<Vec<CreatedPki>> {
    let mut created = Vec::new();
    for (curve, sub) in [(Curve::P256, "nist"), (Curve::BrainpoolP256r1, "brainpool")] {
        let dir = root.join(sub);
        let pki = simforge_pki::write_lab_pki(&dir, &LabPkiOptions::new(curve, fqdn))
            .map_err(|e| pki_err(format!("creating a lab PKI in {}", dir.display()), e))?;
        created.push(CreatedPki {
            curve,
            eid: pki.euiccs.first().map(|e| e.eid.as_str().to_owned()),
            dir,
        });
    }
    Ok(created)
}

/// Loads the GSMA SGP.26 test PKI in `dir` (every curve present) and checks, at `now`, that
/// its DPauth and DPpb certificates chain to its CI; the DPtls certificate may have expired
/// (it matters only when served, see [`TlsIdentity::not_after`]).
///
/// # Errors
/// [`Error::Pki`].
pub fn load_sgp26(dir: &Path, now: simforge_crypto::UnixTime) -> Result<Vec<LabPki>> {
    let context = || format!("SGP.26 test PKI in {}", dir.display());
    let pkis = simforge_pki::load_sgp26(dir).map_err(|e| pki_err(context(), e))?;
    for p in &pkis {
        let store = p.ci_store().map_err(|e| pki_err(context(), e))?;
        for (role, cert) in [
            (simforge_pki::Role::DpAuth, &p.smdp.auth.cert),
            (simforge_pki::Role::DpPb, &p.smdp.pb.cert),
        ] {
            simforge_pki::verify_dp_cert(&store, cert.der(), role, now).map_err(|e| {
                pki_err(
                    format!(
                        "SGP.26 {:?} {role:?} certificate in {}",
                        p.curve,
                        dir.display()
                    ),
                    e,
                )
            })?;
        }
    }
    Ok(pkis)
}

/// The PKIs an SM-DP+ runs with: its lab PKIs (with their directories) and the SGP.26 ones.
#[derive(Debug)]
pub struct SmdpPkis {
    /// The lab PKIs, in the order of [`pki_dirs`].
    pub lab: Vec<(PathBuf, LabPki)>,
    /// The SGP.26 test PKIs (empty without one) and their directory.
    pub sgp26: Option<(PathBuf, Vec<LabPki>)>,
}

impl SmdpPkis {
    /// Loads the lab PKIs under `root` and, with `sgp26`, the SGP.26 test PKI (checked at
    /// `now`).
    ///
    /// # Errors
    /// [`Error::NoPki`] if `root` holds none, else [`Error::Pki`].
    pub fn load(root: &Path, sgp26: Option<&Path>, now: simforge_crypto::UnixTime) -> Result<Self> {
        let sgp26 = match sgp26 {
            Some(d) => Some((d.to_owned(), load_sgp26(d, now)?)),
            None => None,
        };
        Self::load_with(root, sgp26)
    }

    /// Loads the lab PKIs under `root` beside already loaded SGP.26 ones.
    ///
    /// # Errors
    /// [`Error::NoPki`] if `root` holds none, else [`Error::Pki`].
    pub fn load_with(root: &Path, sgp26: Option<(PathBuf, Vec<LabPki>)>) -> Result<Self> {
        let mut lab = Vec::new();
        for d in pki_dirs(root) {
            let pki = load_lab_pki(&d)?;
            lab.push((d, pki));
        }
        if lab.is_empty() {
            return Err(Error::NoPki {
                dir: root.to_owned(),
            });
        }
        Ok(Self { lab, sgp26 })
    }

    /// The first lab PKI's directory (its eUICC side is what `simforge euicc init --pki`
    /// takes).
    #[must_use]
    pub fn first_dir(&self) -> Option<&Path> {
        self.lab.first().map(|(d, _)| d.as_path())
    }

    /// The SM-DP+'s keys: every lab and SGP.26 PKI's CI, DPauth and DPpb.
    ///
    /// # Errors
    /// [`Error::Config`] if a certificate or key is unusable.
    pub fn keys(&self) -> Result<SmdpKeys> {
        let refs: Vec<&LabPki> = self
            .lab
            .iter()
            .map(|(_, p)| p)
            .chain(self.sgp26.iter().flat_map(|(_, p)| p))
            .collect();
        SmdpKeys::from_pkis(&refs).map_err(|e| Error::Config {
            context: "SM-DP+ keys",
            source: Box::new(e),
        })
    }

    /// The TLS identity to serve: the first lab PKI's DPtls, or with `sgp26_tls` the SGP.26
    /// NIST one (rustls has no brainpool).
    ///
    /// # Errors
    /// [`Error::Invalid`] if `sgp26_tls` without an SGP.26 NIST DPtls; [`Error::Pki`] if the
    /// key cannot be encoded.
    pub fn tls_identity(&self, sgp26_tls: bool) -> Result<TlsIdentity> {
        let (pki, source, ca_pem) = match (&self.sgp26, sgp26_tls) {
            (Some((d, pkis)), true) => {
                let p = pkis
                    .iter()
                    .find(|p| p.curve == Curve::P256)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "--tls-sgp26: no NIST P-256 DPtls in {}",
                            d.display()
                        ))
                    })?;
                let ca = d.join("CertificateIssuer").join("CERT_CI_ECDSA_NIST.pem");
                (p, d.clone(), ca)
            }
            (None, true) => {
                return Err(Error::invalid(
                    "--tls-sgp26 needs the SGP.26 directory (--sgp26 DIR)",
                ));
            }
            _ => {
                let (d, p) = self
                    .lab
                    .first()
                    .ok_or_else(|| Error::invalid("no lab PKI"))?;
                (p, d.clone(), d.join("smdp").join("dptls-chain.pem"))
            }
        };
        let tls = &pki.smdp.tls;
        let key_err = |e| {
            pki_err(
                "DPtls key",
                Box::new(e) as Box<dyn std::error::Error + Send + Sync>,
            )
        };
        let key_pkcs8 = Zeroizing::new(tls.key.to_pkcs8_der().map_err(key_err)?.to_vec());
        let key_pem = tls.key.to_pkcs8_pem().map_err(key_err)?;
        let pem = format!(
            "{}{}{}",
            tls.cert.to_pem(),
            pki.ci.to_pem(),
            key_pem.as_str()
        );
        Ok(TlsIdentity {
            chain: vec![tls.cert.der().to_vec(), pki.ci.der().to_vec()],
            key_pkcs8,
            server_identity_pem: Zeroizing::new(pem.into_bytes()),
            ca_pem,
            source,
            not_after: tls.cert.not_after(),
            names: tls.cert.dns_names().to_vec(),
        })
    }
}

/// The DPtls chain and key the SM-DP+ serves.
pub struct TlsIdentity {
    /// DPtls certificate then CI (DER).
    pub chain: Vec<Vec<u8>>,
    /// The DPtls private key (PKCS#8 DER).
    pub key_pkcs8: Zeroizing<Vec<u8>>,
    /// The chain and key as PEM: the client identity of `operator callback
    /// --use-server-identity`.
    pub server_identity_pem: Zeroizing<Vec<u8>>,
    /// The PEM file LPAs trust it with.
    pub ca_pem: PathBuf,
    /// The PKI directory it comes from.
    pub source: PathBuf,
    /// The certificate's expiry.
    pub not_after: SystemTime,
    /// The certificate's DNS names.
    pub names: Vec<String>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("ca_pem", &self.ca_pem)
            .field("source", &self.source)
            .field("names", &self.names)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Something [`prepare`] did or found that an operator should hear about.
#[derive(Debug)]
pub enum Notice {
    /// A lab PKI was created (first start).
    Created(CreatedPki),
    /// The DPtls certificate served has expired: LPAs that check TLS certificates refuse it.
    TlsExpired {
        /// Its PKI directory.
        source: PathBuf,
        /// Its expiry.
        not_after: SystemTime,
    },
    /// The DPtls certificate served is not for the SM-DP+'s FQDN: LPAs refuse the connection.
    TlsNameMismatch {
        /// Its PKI directory.
        source: PathBuf,
        /// Its DNS names.
        names: Vec<String>,
        /// The FQDN.
        fqdn: String,
    },
}

/// The PKIs, TLS identity and FQDN an SM-DP+ starts with.
#[derive(Debug)]
pub struct Prepared {
    /// The PKIs.
    pub pkis: SmdpPkis,
    /// The TLS identity served.
    pub tls: TlsIdentity,
    /// The SM-DP+'s FQDN: the one given, else the DPtls certificate's first name, else
    /// `localhost`.
    pub fqdn: String,
    /// What an operator should hear about.
    pub notices: Vec<Notice>,
}

/// Prepares an SM-DP+'s PKIs: under `root` (created, one per curve, for `fqdn` or
/// `localhost`, when `create_if_missing` and it holds none), beside `sgp26` (from
/// [`load_sgp26`]), the TLS identity (the SGP.26 one with `tls_sgp26`), checked at `now`.
///
/// # Errors
/// As [`create_lab_pkis`], [`SmdpPkis::load_with`] and [`SmdpPkis::tls_identity`].
pub fn prepare(
    root: &Path,
    create_if_missing: bool,
    fqdn: Option<String>,
    sgp26: Option<(PathBuf, Vec<LabPki>)>,
    tls_sgp26: bool,
    now: SystemTime,
) -> Result<Prepared> {
    let mut notices = Vec::new();
    if create_if_missing && pki_dirs(root).is_empty() {
        let created = create_lab_pkis(root, fqdn.as_deref().unwrap_or("localhost"))?;
        notices.extend(created.into_iter().map(Notice::Created));
    }
    let pkis = SmdpPkis::load_with(root, sgp26)?;
    let tls = pkis.tls_identity(tls_sgp26)?;
    if tls.not_after < now {
        notices.push(Notice::TlsExpired {
            source: tls.source.clone(),
            not_after: tls.not_after,
        });
    }
    let fqdn = fqdn
        .or_else(|| tls.names.first().cloned())
        .unwrap_or_else(|| "localhost".to_owned());
    if !tls.names.iter().any(|n| n.eq_ignore_ascii_case(&fqdn)) {
        notices.push(Notice::TlsNameMismatch {
            source: tls.source.clone(),
            names: tls.names.clone(),
            fqdn: fqdn.clone(),
        });
    }
    Ok(Prepared {
        pkis,
        tls,
        fqdn,
        notices,
    })
}
