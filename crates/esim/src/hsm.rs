//! The SM-DP+'s keys in a PKCS#11 HSM (`serve --hsm-*`): the token opened with the PIN file,
//! DPauth and DPpb signing in it instead of the PKI directory's key files (the certificates
//! still come from the PKI directory), and the vault's master key in it.

use std::path::Path;
use std::sync::Arc;

use simforge_crypto::Signer as _;
use simforge_hsm::{HsmSigner, HsmVault, Pin, Token};
use simforge_smdp::{DpKey, SmdpKeys};

use crate::error::{Error, Result};

/// Opens the token labelled `token` of `module`, logged in with the PIN in `pin_file`.
///
/// # Errors
/// [`Error::Hsm`]: the module, the token or the PIN file.
pub fn open(module: &Path, token: &str, pin_file: &Path) -> Result<Arc<Token>> {
    let pin = Pin::from_file(pin_file)?;
    Ok(Token::open(module, token, &pin)?)
}

/// Which DP key an HSM key took the place of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// `DPauth` or `DPpb`.
    pub role: &'static str,
    /// The key's label in the token.
    pub label: String,
    /// The subject key identifier of the CI above the certificate, hex.
    pub ci_pkid: String,
}

/// Puts the token's keys labelled `dpauth` and `dppb` in the place of the DPauth and DPpb
/// keys of `keys` whose certificate carries their public key: those then sign in the HSM.
///
/// # Errors
/// [`Error::Hsm`] for a key the token does not have (or will not sign with: extractable,
/// wrong curve); [`Error::Invalid`] for an HSM key that is no certificate's of the PKI.
pub fn take_dp_keys(
    keys: &mut SmdpKeys,
    token: &Arc<Token>,
    dpauth: &[String],
    dppb: &[String],
) -> Result<Vec<Taken>> {
    let mut taken = Vec::new();
    for (role, labels, list) in [
        ("DPauth", dpauth, &mut keys.auth),
        ("DPpb", dppb, &mut keys.pb),
    ] {
        for label in labels {
            let signer = HsmSigner::open(Arc::clone(token), label)?;
            let public_key = signer.public_key();
            let signer: Arc<dyn simforge_crypto::Signer> = Arc::new(signer);
            let Some(slot) = list
                .iter_mut()
                .find(|k| k.signer.public_key() == public_key)
            else {
                return Err(Error::invalid(format!(
                    "HSM key {label:?}: no {role} certificate of the PKI has its public key"
                )));
            };
            *slot = DpKey::with_signer(&slot.cert_der, signer)
                .map_err(|e| Error::invalid_because(format!("HSM key {label:?}"), e))?;
            taken.push(Taken {
                role,
                label: label.clone(),
                ci_pkid: slot.ci_pkid.iter().map(|b| format!("{b:02x}")).collect(),
            });
        }
    }
    Ok(taken)
}

/// The token's P-256 key labelled `label` as the DPtls key of `tls` (its certificate must
/// carry the key's public key): the TLS handshakes are then signed in the HSM.
///
/// # Errors
/// [`Error::Hsm`] for a key the token does not have or will not use (extractable, another
/// curve); [`Error::Invalid`] when the DPtls certificate is not the key's.
pub fn tls_key(
    token: &Arc<Token>,
    label: &str,
    tls: &crate::pki::TlsIdentity,
) -> Result<simforge_server::TlsKey> {
    let signer = Arc::new(HsmSigner::open(Arc::clone(token), label)?);
    let cert = tls
        .chain
        .first()
        .ok_or_else(|| Error::invalid("the DPtls chain is empty"))?;
    let cert = simforge_pki::Certificate::from_der(cert)
        .map_err(|e| Error::invalid_because("the DPtls certificate", e))?;
    if cert.public_key_sec1() != signer.public_key().as_slice() {
        return Err(Error::invalid(format!(
            "HSM key {label:?} is not the DPtls certificate's key"
        )));
    }
    let key = simforge_hsm::HsmTlsKey::new(signer)?;
    Ok(simforge_server::TlsKey::Signer(Arc::new(key)))
}

/// The vault whose master key is the token's AES-256 key labelled `label`.
///
/// # Errors
/// [`Error::Hsm`]: no such key, or one that is not a non-extractable AES-256 key.
pub fn vault(token: &Arc<Token>, label: &str) -> Result<HsmVault> {
    Ok(HsmVault::open(Arc::clone(token), label)?)
}
