//! The software provider: NIST P-256 through aws-lc-rs, brainpoolP256r1 through RustCrypto
//! (`bp256` / `ecdsa` / `elliptic-curve`), randomness from the operating system.

use aws_lc_rs::{agreement, rand as lc_rand, signature as lc_sig};
use bp256::BrainpoolP256r1;
use ecdsa::signature::{Signer as _, Verifier as _};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::{Curve, EcPrivateKey};
use crate::provider::{
    EphemeralKeyHandle, EphemeralSecret, KeyAgreement, Random, SharedSecret, Signer,
};
use crate::signature::Signature;

/// Verifies an ECDSA-SHA256 signature (plain `r‖s`) over `msg` with a SEC1 public key.
pub fn verify(curve: Curve, public_key: &[u8], msg: &[u8], sig: &Signature) -> Result<()> {
    match curve {
        Curve::NistP256 => {
            lc_sig::UnparsedPublicKey::new(&lc_sig::ECDSA_P256_SHA256_FIXED, public_key)
                .verify(msg, sig.as_bytes())
                .map_err(|_| Error::BadSignature)
        }
        Curve::BrainpoolP256r1 => {
            let vk = ecdsa::VerifyingKey::<BrainpoolP256r1>::from_sec1_bytes(public_key)
                .map_err(|_| Error::InvalidPublicKey)?;
            let s = ecdsa::Signature::<BrainpoolP256r1>::from_slice(sig.as_bytes())
                .map_err(|_| Error::BadSignature)?;
            vk.verify(msg, &s).map_err(|_| Error::BadSignature)
        }
    }
}

/// Checks that `public_key` is a valid uncompressed point on `curve`.
pub fn validate_public_key(curve: Curve, public_key: &[u8]) -> Result<()> {
    if public_key.first() != Some(&0x04) || public_key.len() != curve.uncompressed_point_len() {
        return Err(Error::InvalidPublicKey);
    }
    match curve {
        Curve::NistP256 => {
            agreement::ParsedPublicKey::try_from(agreement::UnparsedPublicKey::new(
                &agreement::ECDH_P256,
                public_key,
            ))
            .map_err(|_| Error::InvalidPublicKey)?;
        }
        Curve::BrainpoolP256r1 => {
            elliptic_curve::PublicKey::<BrainpoolP256r1>::from_sec1_bytes(public_key)
                .map_err(|_| Error::InvalidPublicKey)?;
        }
    }
    Ok(())
}

/// Operating-system randomness (through AWS-LC's DRBG).
#[derive(Debug, Default)]
pub struct SystemRandom(lc_rand::SystemRandom);

impl SystemRandom {
    /// A new system random source.
    pub fn new() -> Self {
        Self(lc_rand::SystemRandom::new())
    }
}

impl Random for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<()> {
        lc_rand::SecureRandom::fill(&self.0, buf).map_err(|_| Error::Random)
    }
}

enum SignerInner {
    P256(lc_sig::EcdsaKeyPair),
    Bp256(Box<ecdsa::SigningKey<BrainpoolP256r1>>),
}

/// A software ECDSA signing key. The private key stays inside (and is zeroized on drop by the
/// backends); `Debug` prints only the curve and public key.
pub struct SoftwareSigner {
    curve: Curve,
    inner: SignerInner,
    public_key: Vec<u8>,
    rng: lc_rand::SystemRandom,
}

impl core::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("curve", &self.curve)
            .field("private_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl SoftwareSigner {
    /// Builds a signer from a private key. If the key's encoding carried a public key, it must
    /// match the one derived from the scalar.
    pub fn new(key: &EcPrivateKey) -> Result<Self> {
        let scalar = key.scalar();
        let (inner, public_key) = match key.curve() {
            Curve::NistP256 => {
                let public = p256_public_from_scalar(scalar)?;
                let kp = lc_sig::EcdsaKeyPair::from_private_key_and_public_key(
                    &lc_sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    scalar,
                    &public,
                )
                .map_err(|_| Error::InvalidPrivateKey("rejected by aws-lc"))?;
                (SignerInner::P256(kp), public)
            }
            Curve::BrainpoolP256r1 => {
                let sk = ecdsa::SigningKey::<BrainpoolP256r1>::from_slice(scalar)
                    .map_err(|_| Error::InvalidPrivateKey("scalar out of range"))?;
                let public = sk.verifying_key().to_sec1_bytes().to_vec();
                (SignerInner::Bp256(Box::new(sk)), public)
            }
        };
        if let Some(embedded) = key.embedded_public_key()
            && embedded != public_key.as_slice()
        {
            return Err(Error::InvalidPrivateKey(
                "embedded public key does not match",
            ));
        }
        Ok(Self {
            curve: key.curve(),
            inner,
            public_key,
            rng: lc_rand::SystemRandom::new(),
        })
    }

    /// Loads a PEM private key (PKCS#8 or SEC1).
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::new(&EcPrivateKey::from_pem(pem)?)
    }

    /// Loads a DER private key (PKCS#8 or SEC1).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::new(&EcPrivateKey::from_der(der)?)
    }

    /// Generates a fresh key on `curve` from `rng`.
    pub fn generate(curve: Curve, rng: &dyn Random) -> Result<Self> {
        let scalar = random_scalar(curve, rng)?;
        Self::new(&EcPrivateKey::from_scalar(curve, &scalar[..])?)
    }
}

impl Signer for SoftwareSigner {
    fn curve(&self) -> Curve {
        self.curve
    }

    fn public_key(&self) -> Vec<u8> {
        self.public_key.clone()
    }

    fn sign(&self, msg: &[u8]) -> Result<Signature> {
        match &self.inner {
            SignerInner::P256(kp) => {
                let sig = kp
                    .sign(&self.rng, msg)
                    .map_err(|_| Error::Backend("aws-lc ECDSA signing failed".into()))?;
                Signature::from_slice(sig.as_ref())
            }
            SignerInner::Bp256(sk) => {
                let sig: ecdsa::Signature<BrainpoolP256r1> = sk
                    .try_sign(msg)
                    .map_err(|_| Error::Backend("brainpool ECDSA signing failed".into()))?;
                Signature::from_slice(&sig.to_bytes())
            }
        }
    }
}

fn p256_public_from_scalar(scalar: &[u8]) -> Result<Vec<u8>> {
    let sk = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, scalar)
        .map_err(|_| Error::InvalidPrivateKey("scalar out of range"))?;
    let pk = sk
        .compute_public_key()
        .map_err(|_| Error::Backend("aws-lc public key".into()))?;
    Ok(pk.as_ref().to_vec())
}

/// Draws a uniformly random valid scalar for `curve` (rejection sampling).
/// The order n of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// Whether the big-endian scalar `s` is in [1, n) for P-256, in constant time.
fn p256_scalar_in_range(s: &[u8; 32]) -> bool {
    // s − n borrows iff s < n.
    let mut borrow = 0u16;
    let mut any = 0u8;
    for (a, b) in s.iter().zip(P256_ORDER.iter()).rev() {
        let d = u16::from(*a)
            .wrapping_sub(u16::from(*b))
            .wrapping_sub(borrow);
        borrow = (d >> 8) & 1;
        any |= *a;
    }
    (borrow == 1) & (any != 0)
}

fn random_scalar(curve: Curve, rng: &dyn Random) -> Result<Zeroizing<[u8; 32]>> {
    for _ in 0..64 {
        let mut s = Zeroizing::new([0u8; 32]);
        rng.fill(&mut s[..])?;
        let ok = match curve {
            // 1 ≤ s < n, checked without a scalar multiplication (building an aws-lc key
            // from it would compute its public key only to drop it).
            Curve::NistP256 => p256_scalar_in_range(&s),
            Curve::BrainpoolP256r1 => {
                elliptic_curve::SecretKey::<BrainpoolP256r1>::from_slice(&s[..]).is_ok()
            }
        };
        if ok {
            return Ok(s);
        }
    }
    Err(Error::Random)
}

/// Software one-time key agreement on both curves. Key pairs are drawn from the injected
/// [`Random`] so tests can be deterministic.
pub struct SoftwareKeyAgreement<R: Random> {
    rng: R,
}

impl<R: Random> core::fmt::Debug for SoftwareKeyAgreement<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SoftwareKeyAgreement")
    }
}

impl<R: Random> SoftwareKeyAgreement<R> {
    /// A provider drawing its keys from `rng`.
    pub fn new(rng: R) -> Self {
        Self { rng }
    }

    /// Imports an existing one-time private key (e.g. an eUICC's otSK kept in its state, or
    /// a test vector). The scalar is copied; the caller should zeroize its own copy.
    pub fn import(curve: Curve, scalar: &[u8]) -> Result<EphemeralKeyHandle> {
        let secret = SoftEphemeral::from_scalar(curve, scalar)?;
        Ok(EphemeralKeyHandle::new(Box::new(secret)))
    }
}

impl<R: Random> KeyAgreement for SoftwareKeyAgreement<R> {
    fn generate_ephemeral(&self, curve: Curve) -> Result<(Vec<u8>, EphemeralKeyHandle)> {
        let scalar = random_scalar(curve, &self.rng)?;
        let secret = SoftEphemeral::from_scalar(curve, &scalar[..])?;
        let public = secret.public.clone();
        Ok((public, EphemeralKeyHandle::new(Box::new(secret))))
    }
}

enum EphemeralInner {
    P256(agreement::PrivateKey),
    Bp256(elliptic_curve::SecretKey<BrainpoolP256r1>),
}

struct SoftEphemeral {
    curve: Curve,
    inner: EphemeralInner,
    public: Vec<u8>,
}

impl SoftEphemeral {
    fn from_scalar(curve: Curve, scalar: &[u8]) -> Result<Self> {
        match curve {
            Curve::NistP256 => {
                let sk = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, scalar)
                    .map_err(|_| Error::InvalidPrivateKey("scalar out of range"))?;
                let public = sk
                    .compute_public_key()
                    .map_err(|_| Error::Backend("aws-lc public key".into()))?
                    .as_ref()
                    .to_vec();
                Ok(Self {
                    curve,
                    inner: EphemeralInner::P256(sk),
                    public,
                })
            }
            Curve::BrainpoolP256r1 => {
                let sk = elliptic_curve::SecretKey::<BrainpoolP256r1>::from_slice(scalar)
                    .map_err(|_| Error::InvalidPrivateKey("scalar out of range"))?;
                let public = sk.public_key().to_sec1_bytes().to_vec();
                Ok(Self {
                    curve,
                    inner: EphemeralInner::Bp256(sk),
                    public,
                })
            }
        }
    }
}

impl EphemeralSecret for SoftEphemeral {
    fn curve(&self) -> Curve {
        self.curve
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn agree(self: Box<Self>, peer_public: &[u8]) -> Result<SharedSecret> {
        validate_public_key(self.curve, peer_public).map_err(|_| Error::KeyAgreement)?;
        match &self.inner {
            EphemeralInner::P256(sk) => agreement::agree(
                sk,
                agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, peer_public),
                Error::KeyAgreement,
                |s| Ok(SharedSecret::new(s)),
            ),
            EphemeralInner::Bp256(sk) => {
                let pk = elliptic_curve::PublicKey::<BrainpoolP256r1>::from_sec1_bytes(peer_public)
                    .map_err(|_| Error::KeyAgreement)?;
                let shared =
                    elliptic_curve::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine());
                Ok(SharedSecret::new(shared.raw_secret_bytes()))
            }
        }
    }
}

#[cfg(test)]
mod scalar_range_tests {
    use super::*;

    fn aws_lc_accepts(s: &[u8; 32]) -> bool {
        agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, &s[..]).is_ok()
    }

    #[test]
    fn p256_range_check_agrees_with_aws_lc() {
        let mut cases: Vec<[u8; 32]> = vec![[0; 32], [0xFF; 32], P256_ORDER];
        let mut one = [0u8; 32];
        one[31] = 1;
        cases.push(one);
        for delta in [1u8, 2, 0x51, 0x52] {
            let mut below = P256_ORDER;
            below[31] = below[31].wrapping_sub(delta);
            cases.push(below);
        }
        let mut above = P256_ORDER;
        above[31] += 1;
        cases.push(above);
        let mut high = P256_ORDER;
        high[4] = 1;
        cases.push(high);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut c = [0u8; 32];
            for b in &mut c {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            // Mostly near the order's top bytes, where the comparison is decided late.
            c[..8].copy_from_slice(&P256_ORDER[..8]);
            if x.is_multiple_of(3) {
                c[8..16].copy_from_slice(&P256_ORDER[8..16]);
            }
            cases.push(c);
        }
        for c in &cases {
            assert_eq!(p256_scalar_in_range(c), aws_lc_accepts(c), "{c:02X?}");
        }
    }
}
