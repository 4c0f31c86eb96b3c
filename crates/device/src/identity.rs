//! eUICC identities: from a lab PKI directory (`simforge pki init`) or from certificate and
//! key files, checked before use.

use std::path::{Path, PathBuf};

use simforge_euicc::EuiccIdentity;

use crate::Error;

/// Where a new virtual eUICC's identity comes from.
#[derive(Clone, Debug)]
pub enum IdentitySource {
    /// A lab PKI directory (with ci/, eum/, euicc/): the eUICC `eid`, else the first one.
    Pki {
        /// The directory.
        dir: PathBuf,
        /// The EID of the eUICC certificate to use.
        eid: Option<String>,
    },
    /// Certificate and key files (PEM or DER), see [`identity_from_files`].
    Files {
        /// The eUICC certificate.
        euicc_cert: PathBuf,
        /// The eUICC private key.
        euicc_key: PathBuf,
        /// The EUM certificate.
        eum_cert: PathBuf,
        /// The trusted CIs.
        ci_certs: Vec<PathBuf>,
        /// The CI of the EUM, when not a trusted one.
        chain_ci: Option<PathBuf>,
        /// The EID expected.
        eid: Option<String>,
    },
}

impl IdentitySource {
    /// Loads (and with files, checks) the identity.
    ///
    /// # Errors
    /// See [`identity_from_dir`] and [`identity_from_files`].
    pub fn load(&self) -> Result<EuiccIdentity, Error> {
        match self {
            Self::Pki { dir, eid } => identity_from_dir(dir, eid.as_deref()),
            Self::Files {
                euicc_cert,
                euicc_key,
                eum_cert,
                ci_certs,
                chain_ci,
                eid,
            } => identity_from_files(
                euicc_cert,
                euicc_key,
                eum_cert,
                ci_certs,
                chain_ci.as_deref(),
                eid.as_deref(),
            ),
        }
    }
}

pub(crate) fn read(p: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(p).map_err(Error::io("reading", p))
}

/// The EIDs of the eUICC certificates (`<EID>.der`) in `dir`, sorted.
pub(crate) fn eids_in(dir: &Path) -> Result<Vec<String>, Error> {
    let mut eids: Vec<String> = std::fs::read_dir(dir)
        .map_err(Error::io("reading", dir))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".der")
                .map(str::to_owned)
        })
        .collect();
    eids.sort();
    Ok(eids)
}

/// The eUICC `eid` of a lab PKI directory, with its certificate and key from `euicc/`, EUM
/// from `eum/eum.der` and CI from `ci/ci.der`; `trusted_ci` given, or read once.
pub(crate) fn preissued(
    dir: &Path,
    eid: String,
    eum_certificate: Vec<u8>,
    trusted_ci: Vec<u8>,
) -> Result<EuiccIdentity, Error> {
    let key_path = dir.join("euicc").join(format!("{eid}.key.pem"));
    let pem = std::fs::read_to_string(&key_path).map_err(Error::io("reading", key_path))?;
    let key = simforge_pki::PrivateKey::from_pem(&pem).map_err(|source| Error::PkiItem {
        what: format!("eUICC {eid} key"),
        source,
    })?;
    Ok(EuiccIdentity {
        euicc_certificate: read(&dir.join("euicc").join(format!("{eid}.der")))?,
        eid,
        eum_certificate,
        euicc_private_key: simforge_euicc::Secret::new(key.to_pkcs8_der()?.to_vec()),
        trusted_ci: vec![trusted_ci],
    })
}

/// The eUICC `eid` (default: the first certificate in `euicc/`) of a lab PKI directory.
///
/// # Errors
/// [`Error::Io`], [`Error::PkiDir`] if there is no eUICC, [`Error::PkiItem`] for a bad key.
pub fn identity_from_dir(dir: &Path, eid: Option<&str>) -> Result<EuiccIdentity, Error> {
    let eid = match eid {
        Some(e) => e.to_owned(),
        None => eids_in(&dir.join("euicc"))?
            .into_iter()
            .next()
            .ok_or_else(|| Error::PkiDir("no eUICC certificate in the PKI directory".into()))?,
    };
    let eum = read(&dir.join("eum").join("eum.der"))?;
    let ci = read(&dir.join("ci").join("ci.der"))?;
    preissued(dir, eid, eum, ci)
}

/// The identity from certificate and key files (PEM or DER), checked before anything is
/// written: the EUM chains to one of the CIs (or to `chain_ci`), the eUICC certificate to the
/// EUM, the EID is permitted by the EUM, the key is the certificate's, and, if given, `eid` is
/// the certificate's EID.
///
/// # Errors
/// [`Error::Io`], [`Error::Identity`] saying which check failed, [`Error::EidMismatch`].
pub fn identity_from_files(
    euicc_cert: &Path,
    euicc_key: &Path,
    eum_cert: &Path,
    ci_certs: &[PathBuf],
    chain_ci: Option<&Path>,
    eid: Option<&str>,
) -> Result<EuiccIdentity, Error> {
    let key = zeroize::Zeroizing::new(read(euicc_key)?);
    let cis = ci_certs
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let chain_ci = chain_ci.map(read).transpose()?;
    let identity = EuiccIdentity::from_certificates(
        &read(euicc_cert)?,
        &key,
        &read(eum_cert)?,
        &cis,
        chain_ci.as_deref(),
        simforge_crypto::Clock::now_unix(&simforge_crypto::SystemClock),
    )
    .map_err(|source| Error::Identity {
        context: format!(
            "eUICC certificate {}, key {}, EUM certificate {}",
            euicc_cert.display(),
            euicc_key.display(),
            eum_cert.display()
        ),
        source,
    })?;
    if let Some(eid) = eid
        && eid != identity.eid
    {
        return Err(Error::EidMismatch {
            given: eid.to_owned(),
            actual: identity.eid,
        });
    }
    Ok(identity)
}
