//! Loading the GSMA SGP.26 test PKI (CI certificates and SM-DP+ certificates with keys) as a
//! [`LabPki`], so that a lab SM-DP+ can serve the real SGP.26 test eUICCs.
//!
//! Files read (`X` = `NIST` or `BRP`), relative to the SGP.26 directory:
//!
//! ```text
//! CertificateIssuer/CERT_CI_ECDSA_X.der
//! DPauth/CERT_S_SM_DPauth_ECDSA_X.der   DPauth/SK_S_SM_DPauth_ECDSA_X.pem
//! DPpb/CERT_S_SM_DPpb_ECDSA_X.der       DPpb/SK_S_SM_DPpb_ECDSA_X.pem
//! DPtls/CERT_S_SM_DP_TLS_X.der          DPtls/SK_S_SM_DP_TLS_X.pem
//! ```
//!
//! The SGP.26 DPtls certificates expire on 2026-08-02; the others last until 2030 (DPauth,
//! DPpb) and 2055 (CI). Loading does not check validity (verification takes an injected time).

use std::fs;
use std::path::Path;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::generate::{Issued, LabPki, SmdpCerts};
use crate::keys::{Curve, PrivateKey};

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn load_issued(dir: &Path, cert_file: &str, key_file: &str) -> Result<Issued> {
    let cert = Certificate::from_der_or_pem(&read(&dir.join(cert_file))?)?;
    let key_bytes = zeroize::Zeroizing::new(read(&dir.join(key_file))?);
    let key_text = std::str::from_utf8(&key_bytes)
        .map_err(|_| Error::InvalidPrivateKey(format!("{key_file} is not PEM text")))?;
    let key = PrivateKey::from_pem(key_text)?;
    if key.curve() != cert.curve() || key.public_key_sec1() != cert.public_key_sec1() {
        return Err(Error::InvalidPrivateKey(format!(
            "{key_file} does not belong to {cert_file}"
        )));
    }
    Ok(Issued { cert, key })
}

/// Loads one curve of the SGP.26 material in `dir` (the folder holding `CertificateIssuer`,
/// `DPauth`, `DPpb`, `DPtls`). The result has no CI key, no EUM and no eUICCs.
pub fn load_sgp26_curve(dir: &Path, curve: Curve) -> Result<LabPki> {
    let x = curve.sgp26_name();
    let ci_path = dir
        .join("CertificateIssuer")
        .join(format!("CERT_CI_ECDSA_{x}.der"));
    let ci = Certificate::from_der_or_pem(&read(&ci_path)?)?;
    if ci.curve() != curve {
        return Err(Error::UnsupportedCurve(format!(
            "{} holds a {} key, expected {curve}",
            ci_path.display(),
            ci.curve()
        )));
    }
    let auth = load_issued(
        &dir.join("DPauth"),
        &format!("CERT_S_SM_DPauth_ECDSA_{x}.der"),
        &format!("SK_S_SM_DPauth_ECDSA_{x}.pem"),
    )?;
    let pb = load_issued(
        &dir.join("DPpb"),
        &format!("CERT_S_SM_DPpb_ECDSA_{x}.der"),
        &format!("SK_S_SM_DPpb_ECDSA_{x}.pem"),
    )?;
    let tls = load_issued(
        &dir.join("DPtls"),
        &format!("CERT_S_SM_DP_TLS_{x}.der"),
        &format!("SK_S_SM_DP_TLS_{x}.pem"),
    )?;
    let fqdn = tls
        .cert
        .dns_names()
        .first()
        .cloned()
        .ok_or_else(|| Error::Malformed("SGP.26 DPtls certificate has no dNSName".into()))?;
    Ok(LabPki {
        curve,
        ci,
        ci_key: None,
        eum: None,
        euiccs: Vec::new(),
        smdp: SmdpCerts {
            fqdn,
            auth,
            pb,
            tls,
        },
        smds: None,
    })
}

/// Loads the SGP.26 material in `dir` for every curve whose CI certificate is present
/// (NIST first, then BRP). Fails if neither is, or if a present curve is incomplete.
pub fn load_sgp26(dir: &Path) -> Result<Vec<LabPki>> {
    let mut out = Vec::new();
    for curve in [Curve::P256, Curve::BrainpoolP256r1] {
        let ci = dir
            .join("CertificateIssuer")
            .join(format!("CERT_CI_ECDSA_{}.der", curve.sgp26_name()));
        if ci.exists() {
            out.push(load_sgp26_curve(dir, curve)?);
        }
    }
    if out.is_empty() {
        let path = dir.join("CertificateIssuer");
        return Err(Error::Io {
            path,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no SGP.26 CI certificate"),
        });
    }
    Ok(out)
}
