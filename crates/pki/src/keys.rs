//! Curves, private keys and ECDSA signature helpers (NIST P-256 and brainpoolP256r1).

use std::fmt;

use aws_lc_rs::signature as lc_sig;
use der::asn1::ObjectIdentifier;
use ecdsa::signature::{Signer, Verifier};
use elliptic_curve::Generate;
use elliptic_curve::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::oids;

type BpSecretKey = elliptic_curve::SecretKey<bp256::BrainpoolP256r1>;
type BpSigningKey = ecdsa::SigningKey<bp256::BrainpoolP256r1>;
type BpVerifyingKey = ecdsa::VerifyingKey<bp256::BrainpoolP256r1>;

/// The two elliptic curves SGP.22 certificates use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 (secp256r1), "NIST" in SGP.26 file names.
    P256,
    /// brainpoolP256r1, "BRP" in SGP.26 file names.
    BrainpoolP256r1,
}

impl Curve {
    /// The curve's named-curve OID (SPKI algorithm parameters).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Curve::P256 => oids::SECP256R1,
            Curve::BrainpoolP256r1 => oids::BRAINPOOL_P256R1,
        }
    }

    /// The curve for a named-curve OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Curve> {
        if *oid == oids::SECP256R1 {
            Some(Curve::P256)
        } else if *oid == oids::BRAINPOOL_P256R1 {
            Some(Curve::BrainpoolP256r1)
        } else {
            None
        }
    }

    /// Short name as in SGP.26 file names: `NIST` or `BRP`.
    pub fn sgp26_name(self) -> &'static str {
        match self {
            Curve::P256 => "NIST",
            Curve::BrainpoolP256r1 => "BRP",
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Curve::P256 => "NIST P-256",
            Curve::BrainpoolP256r1 => "brainpoolP256r1",
        })
    }
}

#[derive(Clone)]
enum Inner {
    P256(p256::SecretKey),
    Bp256(BpSecretKey),
}

/// An ECDSA private key on [`Curve::P256`] or [`Curve::BrainpoolP256r1`].
///
/// The scalar is zeroized on drop (RustCrypto `SecretKey`), PEM/DER exports are returned in
/// [`Zeroizing`] buffers, and `Debug` prints `<redacted>`.
#[derive(Clone)]
pub struct PrivateKey(Inner);

// Both variants hold a RustCrypto `SecretKey`, which zeroizes its scalar on drop.
impl zeroize::ZeroizeOnDrop for PrivateKey {}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, <redacted>)", self.curve())
    }
}

impl PrivateKey {
    /// Generates a fresh key from the operating system's random number generator.
    pub fn generate(curve: Curve) -> Result<PrivateKey> {
        Ok(PrivateKey(match curve {
            Curve::P256 => Inner::P256(p256::SecretKey::try_generate().map_err(|_| Error::Rng)?),
            Curve::BrainpoolP256r1 => {
                Inner::Bp256(BpSecretKey::try_generate().map_err(|_| Error::Rng)?)
            }
        }))
    }

    /// Parses a PEM private key: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, possibly
    /// preceded by an `EC PARAMETERS` block as in the SGP.26 files), on either curve.
    pub fn from_pem(pem: &str) -> Result<PrivateKey> {
        if let Some(block) = pem_block(pem, "PRIVATE KEY") {
            if let Ok(k) = p256::SecretKey::from_pkcs8_pem(&block) {
                return Ok(PrivateKey(Inner::P256(k)));
            }
            return BpSecretKey::from_pkcs8_pem(&block)
                .map(|k| PrivateKey(Inner::Bp256(k)))
                .map_err(|e| Error::InvalidPrivateKey(e.to_string()));
        }
        if let Some(block) = pem_block(pem, "EC PRIVATE KEY") {
            if let Ok(k) = p256::SecretKey::from_sec1_pem(&block) {
                return Ok(PrivateKey(Inner::P256(k)));
            }
            return BpSecretKey::from_sec1_pem(&block)
                .map(|k| PrivateKey(Inner::Bp256(k)))
                .map_err(|e| Error::InvalidPrivateKey(e.to_string()));
        }
        Err(Error::InvalidPrivateKey(
            "no PRIVATE KEY or EC PRIVATE KEY PEM block".into(),
        ))
    }

    /// Parses a PKCS#8 DER private key on either curve.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey> {
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
            return Ok(PrivateKey(Inner::P256(k)));
        }
        BpSecretKey::from_pkcs8_der(der)
            .map(|k| PrivateKey(Inner::Bp256(k)))
            .map_err(|e| Error::InvalidPrivateKey(e.to_string()))
    }

    /// The key's curve.
    pub fn curve(&self) -> Curve {
        match self.0 {
            Inner::P256(_) => Curve::P256,
            Inner::Bp256(_) => Curve::BrainpoolP256r1,
        }
    }

    /// The public key as an uncompressed SEC1 point (65 bytes, `04 || X || Y`).
    pub fn public_key_sec1(&self) -> Vec<u8> {
        match &self.0 {
            Inner::P256(k) => k.public_key().to_sec1_bytes().into_vec(),
            Inner::Bp256(k) => k.public_key().to_sec1_bytes().into_vec(),
        }
    }

    /// PKCS#8 DER encoding (with the public key).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = match &self.0 {
            Inner::P256(k) => k.to_pkcs8_der(),
            Inner::Bp256(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| Error::Encoding(e.to_string()))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// PKCS#8 PEM encoding (`-----BEGIN PRIVATE KEY-----`, LF line endings).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        match &self.0 {
            Inner::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            Inner::Bp256(k) => k.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| Error::Encoding(e.to_string()))
    }

    /// ECDSA-SHA256 signature over `msg`, DER-encoded (as inside X.509 certificates).
    pub fn sign_der(&self, msg: &[u8]) -> Vec<u8> {
        match &self.0 {
            Inner::P256(k) => {
                let sk = p256::ecdsa::SigningKey::from(k);
                let sig: p256::ecdsa::DerSignature = sk.sign(msg);
                sig.as_bytes().to_vec()
            }
            Inner::Bp256(k) => {
                let sk = BpSigningKey::from(k);
                let sig: ecdsa::der::Signature<bp256::BrainpoolP256r1> = sk.sign(msg);
                sig.as_bytes().to_vec()
            }
        }
    }

    /// ECDSA-SHA256 signature over `msg` as plain `r || s` (64 bytes, BSI TR-03111), the
    /// format SGP.22 uses inside RSP messages.
    pub fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        let bytes = match &self.0 {
            Inner::P256(k) => {
                let sk = p256::ecdsa::SigningKey::from(k);
                let sig: p256::ecdsa::Signature = sk.sign(msg);
                sig.to_bytes()
            }
            Inner::Bp256(k) => {
                let sk = BpSigningKey::from(k);
                let sig: ecdsa::Signature<bp256::BrainpoolP256r1> = sk.sign(msg);
                sig.to_bytes()
            }
        };
        let mut out = [0u8; 64];
        out.copy_from_slice(&bytes);
        out
    }
}

/// P-256 ECDSA-SHA256 verification through aws-lc-rs (constant-time, assembly; several times
/// faster than the pure-Rust `p256` arithmetic). An unusable public key is an `Err`, as with
/// the RustCrypto path: aws-lc-rs reports only "did not verify", so the key is checked on
/// that (rare) path only.
fn p256_verify(
    alg: &'static lc_sig::EcdsaVerificationAlgorithm,
    public_key_sec1: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<bool> {
    if lc_sig::UnparsedPublicKey::new(alg, public_key_sec1)
        .verify(msg, sig)
        .is_ok()
    {
        return Ok(true);
    }
    if p256::PublicKey::from_sec1_bytes(public_key_sec1).is_err() {
        return Err(Error::InvalidPublicKey {
            subject: String::new(),
        });
    }
    Ok(false)
}

/// Verifies a DER-encoded ECDSA-SHA256 signature over `msg` with an SEC1-encoded public key.
/// Returns `Ok(false)` for a signature that does not verify, `Err` for an unusable key.
pub fn verify_der_signature(
    curve: Curve,
    public_key_sec1: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<bool> {
    match curve {
        Curve::P256 => p256_verify(&lc_sig::ECDSA_P256_SHA256_ASN1, public_key_sec1, msg, sig),
        Curve::BrainpoolP256r1 => {
            let vk = BpVerifyingKey::from_sec1_bytes(public_key_sec1).map_err(|_| {
                Error::InvalidPublicKey {
                    subject: String::new(),
                }
            })?;
            let Ok(sig) = ecdsa::der::Signature::<bp256::BrainpoolP256r1>::from_bytes(sig) else {
                return Ok(false);
            };
            Ok(vk.verify(msg, &sig).is_ok())
        }
    }
}

/// Verifies a plain `r || s` (64-byte) ECDSA-SHA256 signature, as used inside RSP messages.
pub fn verify_raw_signature(
    curve: Curve,
    public_key_sec1: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<bool> {
    match curve {
        Curve::P256 => p256_verify(&lc_sig::ECDSA_P256_SHA256_FIXED, public_key_sec1, msg, sig),
        Curve::BrainpoolP256r1 => {
            let vk = BpVerifyingKey::from_sec1_bytes(public_key_sec1).map_err(|_| {
                Error::InvalidPublicKey {
                    subject: String::new(),
                }
            })?;
            let Ok(sig) = ecdsa::Signature::<bp256::BrainpoolP256r1>::from_slice(sig) else {
                return Ok(false);
            };
            Ok(vk.verify(msg, &sig).is_ok())
        }
    }
}

/// Checks that `public_key_sec1` is a valid point on `curve`.
pub(crate) fn check_public_key(curve: Curve, public_key_sec1: &[u8]) -> bool {
    match curve {
        Curve::P256 => p256::PublicKey::from_sec1_bytes(public_key_sec1).is_ok(),
        Curve::BrainpoolP256r1 => {
            elliptic_curve::PublicKey::<bp256::BrainpoolP256r1>::from_sec1_bytes(public_key_sec1)
                .is_ok()
        }
    }
}

/// Extracts one PEM block (with its BEGIN/END lines) by label from a text that may hold several.
pub(crate) fn pem_block(text: &str, label: &str) -> Option<Zeroizing<String>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(Zeroizing::new(format!("{}\n", &text[start..stop])))
}
