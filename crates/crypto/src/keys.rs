//! Curves, private keys (PKCS#8 / SEC1, PEM or DER) and public-key extraction from
//! SubjectPublicKeyInfo and X.509 certificates, parsed with the crate's own TLV reader.

use base64::Engine as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::tlv;

/// OID content bytes of id-ecPublicKey (1.2.840.10045.2.1).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// OID content bytes of prime256v1 / secp256r1 (1.2.840.10045.3.1.7).
const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// OID content bytes of brainpoolP256r1 (1.3.36.3.3.2.8.1.1.7).
const OID_BP256R1: &[u8] = &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07];

/// The elliptic curves SGP.22 uses for ECDSA and ECKA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 (secp256r1, prime256v1).
    NistP256,
    /// brainpoolP256r1 (RFC 5639).
    BrainpoolP256r1,
}

impl Curve {
    /// Both curves, for iterating in tests and benchmarks.
    pub const ALL: [Curve; 2] = [Curve::NistP256, Curve::BrainpoolP256r1];

    /// The DER content bytes of the curve's named-curve OID.
    pub fn oid(self) -> &'static [u8] {
        match self {
            Curve::NistP256 => OID_P256,
            Curve::BrainpoolP256r1 => OID_BP256R1,
        }
    }

    /// Looks a curve up by the DER content bytes of its OID.
    pub fn from_oid(oid: &[u8]) -> Result<Self> {
        match oid {
            OID_P256 => Ok(Curve::NistP256),
            OID_BP256R1 => Ok(Curve::BrainpoolP256r1),
            _ => Err(Error::Unsupported("curve OID")),
        }
    }

    /// Length of a scalar / field element in bytes (32 on both curves).
    pub fn scalar_len(self) -> usize {
        32
    }

    /// Length of an uncompressed SEC1 point (`04 ‖ x ‖ y`).
    pub fn uncompressed_point_len(self) -> usize {
        1 + 2 * self.scalar_len()
    }
}

/// An EC private key held in memory: the curve and the 32-byte big-endian scalar.
///
/// Zeroized on drop; `Debug` prints `<redacted>`. Use it to build a
/// [`SoftwareSigner`](crate::soft::SoftwareSigner); an HSM-backed signer never needs it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct EcPrivateKey {
    #[zeroize(skip)]
    curve: Curve,
    scalar: [u8; 32],
    #[zeroize(skip)]
    public_key: Option<Vec<u8>>,
}

impl core::fmt::Debug for EcPrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl EcPrivateKey {
    /// Builds a key from a raw big-endian scalar (range checking happens when it is used).
    pub fn from_scalar(curve: Curve, scalar: &[u8]) -> Result<Self> {
        let scalar: [u8; 32] = scalar
            .try_into()
            .map_err(|_| Error::InvalidPrivateKey("scalar must be 32 bytes"))?;
        if scalar.iter().all(|&b| b == 0) {
            return Err(Error::InvalidPrivateKey("zero scalar"));
        }
        Ok(Self {
            curve,
            scalar,
            public_key: None,
        })
    }

    /// The curve of the key.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The secret scalar. Handle with care.
    pub fn scalar(&self) -> &[u8; 32] {
        &self.scalar
    }

    /// The public key embedded in the encoding, if the encoding carried one.
    pub fn embedded_public_key(&self) -> Option<&[u8]> {
        self.public_key.as_deref()
    }

    /// Loads a PEM private key: `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1). Other PEM
    /// blocks in the same text (such as the `EC PARAMETERS` block OpenSSL writes first) are
    /// skipped.
    pub fn from_pem(pem: &str) -> Result<Self> {
        for (label, der) in pem_blocks(pem)? {
            match label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(&der),
                "EC PRIVATE KEY" => return Self::from_sec1_der(&der, None),
                _ => {}
            }
        }
        Err(Error::Pem("no PRIVATE KEY or EC PRIVATE KEY block"))
    }

    /// Loads a DER private key, PKCS#8 `PrivateKeyInfo` or SEC1 `ECPrivateKey`.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_pkcs8_der(der).or_else(|_| Self::from_sec1_der(der, None))
    }

    /// Loads a PKCS#8 (RFC 5208 / 5958 v1) `PrivateKeyInfo` holding an EC key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let bad = |_| Error::InvalidPrivateKey("malformed PKCS#8");
        let outer = tlv::parse_single(der).map_err(bad)?;
        outer.expect_tag(0x30)?;
        let items = tlv::parse_all(outer.value).map_err(bad)?;
        let (version, alg, key) = match items.as_slice() {
            [v, a, k, ..] => (v, a, k),
            _ => return Err(Error::InvalidPrivateKey("malformed PKCS#8")),
        };
        if version.tag != 0x02 || !matches!(version.value, [0] | [1]) {
            return Err(Error::InvalidPrivateKey("unsupported PKCS#8 version"));
        }
        let curve = parse_ec_algorithm_identifier(alg)?;
        if key.tag != 0x04 {
            return Err(Error::InvalidPrivateKey("malformed PKCS#8"));
        }
        Self::from_sec1_der(key.value, Some(curve))
    }

    /// Loads a SEC1 / RFC 5915 `ECPrivateKey`. `curve` is required when the encoding omits
    /// the parameters (as inside PKCS#8); when both are present they must agree.
    pub fn from_sec1_der(der: &[u8], curve: Option<Curve>) -> Result<Self> {
        let bad = |_| Error::InvalidPrivateKey("malformed ECPrivateKey");
        let outer = tlv::parse_single(der).map_err(bad)?;
        outer.expect_tag(0x30)?;
        let items = tlv::parse_all(outer.value).map_err(bad)?;
        let (version, key, rest) = match items.as_slice() {
            [v, k, rest @ ..] => (v, k, rest),
            _ => return Err(Error::InvalidPrivateKey("malformed ECPrivateKey")),
        };
        if version.tag != 0x02 || version.value != [1] {
            return Err(Error::InvalidPrivateKey("ECPrivateKey version must be 1"));
        }
        if key.tag != 0x04 {
            return Err(Error::InvalidPrivateKey("malformed ECPrivateKey"));
        }
        let mut params_curve = None;
        let mut public_key = None;
        for item in rest {
            match item.tag {
                0xA0 => {
                    let oid = tlv::parse_single(item.value).map_err(bad)?;
                    oid.expect_tag(0x06)?;
                    params_curve = Some(Curve::from_oid(oid.value)?);
                }
                0xA1 => {
                    let bits = tlv::parse_single(item.value).map_err(bad)?;
                    bits.expect_tag(0x03)?;
                    match bits.value.split_first() {
                        Some((0, point)) => public_key = Some(point.to_vec()),
                        _ => return Err(Error::InvalidPrivateKey("bad public key BIT STRING")),
                    }
                }
                _ => {}
            }
        }
        let curve = match (curve, params_curve) {
            (Some(a), Some(b)) if a != b => return Err(Error::CurveMismatch),
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => return Err(Error::InvalidPrivateKey("curve not specified")),
        };
        // Scalars may be encoded shorter than 32 bytes by some tools; left-pad.
        let mut scalar = Zeroizing::new([0u8; 32]);
        let len = key.value.len();
        if len == 0 || len > 32 {
            return Err(Error::InvalidPrivateKey("scalar length"));
        }
        scalar[32 - len..].copy_from_slice(key.value);
        let mut k = Self::from_scalar(curve, &scalar[..])?;
        k.public_key = public_key;
        Ok(k)
    }
}

/// Parses an `AlgorithmIdentifier { id-ecPublicKey, namedCurve }`.
fn parse_ec_algorithm_identifier(alg: &tlv::Tlv<'_>) -> Result<Curve> {
    alg.expect_tag(0x30)?;
    let parts = tlv::parse_all(alg.value)?;
    match parts.as_slice() {
        [oid, params, ..] if oid.tag == 0x06 && params.tag == 0x06 => {
            if oid.value != OID_EC_PUBLIC_KEY {
                return Err(Error::Unsupported("key algorithm is not id-ecPublicKey"));
            }
            Curve::from_oid(params.value)
        }
        _ => Err(Error::Unsupported("EC parameters must be a named curve")),
    }
}

/// Parses a DER `SubjectPublicKeyInfo` with an EC key; returns the curve and SEC1 point.
pub fn public_key_from_spki(der: &[u8]) -> Result<(Curve, Vec<u8>)> {
    let spki = tlv::parse_single(der)?;
    spki_parts(&spki)
}

fn spki_parts(spki: &tlv::Tlv<'_>) -> Result<(Curve, Vec<u8>)> {
    spki.expect_tag(0x30)?;
    let parts = tlv::parse_all(spki.value)?;
    let [alg, bits] = parts.as_slice() else {
        return Err(Error::InvalidPublicKey);
    };
    let curve = parse_ec_algorithm_identifier(alg)?;
    bits.expect_tag(0x03)?;
    match bits.value.split_first() {
        Some((0, point)) if !point.is_empty() => Ok((curve, point.to_vec())),
        _ => Err(Error::InvalidPublicKey),
    }
}

/// Loads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `CERTIFICATE`; returns curve and point.
pub fn public_key_from_pem(pem: &str) -> Result<(Curve, Vec<u8>)> {
    for (label, der) in pem_blocks(pem)? {
        match label.as_str() {
            "PUBLIC KEY" => return public_key_from_spki(&der),
            "CERTIFICATE" => return public_key_from_certificate(&der),
            _ => {}
        }
    }
    Err(Error::Pem("no PUBLIC KEY or CERTIFICATE block"))
}

/// Extracts the subject public key of a DER X.509 certificate (no validation whatsoever:
/// chain and policy checks belong to the PKI crate).
pub fn public_key_from_certificate(der: &[u8]) -> Result<(Curve, Vec<u8>)> {
    let cert = tlv::parse_single(der)?;
    cert.expect_tag(0x30)?;
    let tbs = tlv::parse_all(cert.value)?
        .into_iter()
        .next()
        .ok_or(Error::InvalidPublicKey)?;
    tbs.expect_tag(0x30)?;
    let fields = tlv::parse_all(tbs.value)?;
    // [0] version is optional; then serial, signature, issuer, validity, subject, spki.
    let skip = usize::from(fields.first().is_some_and(|f| f.tag == 0xA0));
    let spki = fields.get(skip + 5).ok_or(Error::InvalidPublicKey)?;
    spki_parts(spki)
}

/// Decodes every PEM block in `text`: returns (label, DER) pairs.
pub fn pem_blocks(text: &str) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
    let mut out = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut b64 = Zeroizing::new(String::new());
        let mut closed = false;
        for l in lines.by_ref() {
            if l == end {
                closed = true;
                break;
            }
            if l.contains(':') {
                return Err(Error::Pem("encrypted or headered PEM is not supported"));
            }
            b64.push_str(l);
        }
        if !closed {
            return Err(Error::Pem("unterminated PEM block"));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| Error::Pem("bad base64"))?;
        out.push((label.to_string(), Zeroizing::new(der)));
    }
    if out.is_empty() {
        return Err(Error::Pem("no PEM block"));
    }
    Ok(out)
}
