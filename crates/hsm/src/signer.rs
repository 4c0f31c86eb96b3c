//! [`HsmSigner`]: an EC private key in the token behind `simforge_crypto::Signer`.

use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use sha2::{Digest, Sha256};
use simforge_crypto::{Curve, Signature, Signer};

use crate::error::{HsmError, Result};
use crate::token::{KeyRef, Token, curve_of_params};

/// An ECDSA key (P-256 or brainpoolP256r1) that never leaves the token: the SHA-256 digest is
/// computed here and signed with `CKM_ECDSA` in the token.
pub struct HsmSigner {
    token: Arc<Token>,
    key: KeyRef,
    label: String,
    curve: Curve,
    public_key: Vec<u8>,
}

impl std::fmt::Debug for HsmSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmSigner")
            .field("token", &self.token.label())
            .field("label", &self.label)
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

impl HsmSigner {
    /// The private key labelled `label` and its public key (the public-key object with the
    /// same label). The private key must be an EC key on a supported curve, allowed to sign,
    /// sensitive and not extractable.
    ///
    /// # Errors
    /// [`HsmError::NoKey`], [`HsmError::Ambiguous`], [`HsmError::BadKey`], or the module's
    /// refusal.
    pub fn open(token: Arc<Token>, label: &str) -> Result<Self> {
        let bad = |reason| HsmError::BadKey {
            label: label.to_owned(),
            reason,
        };
        let key_ref = token.key(ObjectClass::PRIVATE_KEY, "private key", label)?;
        let key = key_ref.handle();
        let attrs = token.with_session(
            |s| {
                s.get_attributes(
                    key,
                    &[
                        AttributeType::KeyType,
                        AttributeType::EcParams,
                        AttributeType::Sign,
                        AttributeType::Sensitive,
                        AttributeType::Extractable,
                    ],
                )
            },
            "C_GetAttributeValue",
        )?;
        let (mut key_type, mut curve, mut sign, mut sensitive, mut extractable) =
            (None, None, false, false, true);
        for a in attrs {
            match a {
                Attribute::KeyType(k) => key_type = Some(k),
                Attribute::EcParams(p) => curve = curve_of_params(&p),
                Attribute::Sign(b) => sign = b,
                Attribute::Sensitive(b) => sensitive = b,
                Attribute::Extractable(b) => extractable = b,
                _ => {}
            }
        }
        if key_type != Some(KeyType::EC) {
            return Err(bad("not an EC key"));
        }
        let curve = curve.ok_or_else(|| bad("not on P-256 or brainpoolP256r1"))?;
        if !sign {
            return Err(bad("not allowed to sign (CKA_SIGN false)"));
        }
        if !sensitive || extractable {
            return Err(bad(
                "extractable or not sensitive: a signing key must never leave the HSM",
            ));
        }
        let public = token.find_one(ObjectClass::PUBLIC_KEY, "public key", label)?;
        let point = token.with_session(
            |s| s.get_attributes(public, &[AttributeType::EcPoint]),
            "C_GetAttributeValue",
        )?;
        let point = point
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            })
            .ok_or_else(|| bad("public key has no CKA_EC_POINT"))?;
        let public_key = sec1_point(curve, &point).ok_or_else(|| bad("malformed CKA_EC_POINT"))?;
        simforge_crypto::soft::validate_public_key(curve, &public_key)?;
        Ok(Self {
            token,
            key: key_ref,
            label: label.to_owned(),
            curve,
            public_key,
        })
    }

    /// The key's label.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// CKA_EC_POINT is a DER OCTET STRING around the SEC1 point (PKCS#11 2.40 §2.3.3); some
/// modules give the bare point. Returns the uncompressed SEC1 point.
fn sec1_point(curve: Curve, ec_point: &[u8]) -> Option<Vec<u8>> {
    let n = curve.uncompressed_point_len();
    match ec_point {
        [0x04, len, rest @ ..] if usize::from(*len) == n && rest.len() == n && rest[0] == 0x04 => {
            Some(rest.to_vec())
        }
        [0x04, ..] if ec_point.len() == n => Some(ec_point.to_vec()),
        _ => None,
    }
}

impl Signer for HsmSigner {
    fn curve(&self) -> Curve {
        self.curve
    }

    fn public_key(&self) -> Vec<u8> {
        self.public_key.clone()
    }

    fn sign(&self, msg: &[u8]) -> simforge_crypto::Result<Signature> {
        let digest = Sha256::digest(msg);
        let raw = self
            .token
            .with_key(
                &self.key,
                |s, key| s.sign(&Mechanism::Ecdsa, key, &digest),
                "C_Sign",
            )
            .map_err(|e| simforge_crypto::Error::Backend(e.to_string()))?;
        // CKM_ECDSA returns r ‖ s, each as long as the order; a module that answers in DER is
        // accepted too.
        if raw.len() == 64 {
            Signature::from_slice(&raw)
        } else {
            Signature::from_der(&raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_forms() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[7; 64]);
        let mut der = vec![0x04, 65];
        der.extend_from_slice(&point);
        assert_eq!(sec1_point(Curve::NistP256, &der), Some(point.clone()));
        assert_eq!(sec1_point(Curve::NistP256, &point), Some(point.clone()));
        assert_eq!(sec1_point(Curve::NistP256, &der[..20]), None);
        assert_eq!(sec1_point(Curve::NistP256, &[0x02; 33]), None);
    }
}
