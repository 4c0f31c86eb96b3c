//! [`HsmTlsKey`]: the DPtls key in the token as a rustls signing key, so the SM-DP+'s TLS
//! identity can sign handshakes in the HSM (`rustls::sign::CertifiedKey` with this key, served
//! through a certificate resolver).

use std::sync::Arc;

use rustls::sign::{Signer as TlsSigner, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};
use simforge_crypto::{Curve, Signer as _};

use crate::signer::HsmSigner;

/// A P-256 ECDSA key in the token for TLS (`ecdsa_secp256r1_sha256`): the handshake's
/// signature is computed by [`HsmSigner`] and handed to rustls in DER.
#[derive(Debug, Clone)]
pub struct HsmTlsKey(Arc<HsmSigner>);

impl HsmTlsKey {
    /// The TLS key of `signer`, which must be on P-256 (the curve TLS clients offer for ECDSA;
    /// SGP.22's DPtls is on it).
    ///
    /// # Errors
    /// [`crate::HsmError::BadKey`] for a key on another curve.
    pub fn new(signer: Arc<HsmSigner>) -> crate::Result<Self> {
        if signer.curve() != Curve::NistP256 {
            return Err(crate::HsmError::BadKey {
                label: signer.label().to_owned(),
                reason: "a TLS key must be on P-256",
            });
        }
        Ok(Self(signer))
    }
}

impl SigningKey for HsmTlsKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn TlsSigner>> {
        offered
            .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
            .then(|| Box::new(self.clone()) as Box<dyn TlsSigner>)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }
}

impl TlsSigner for HsmTlsKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        self.0
            .sign(message)
            .map(|s| s.to_der())
            .map_err(|e| rustls::Error::General(format!("HSM signature: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ECDSA_NISTP256_SHA256
    }
}
