//! The traits behind which keys live: a [`Signer`] that never exposes its private key, a
//! one-time [`KeyAgreement`], a [`Random`] source and a [`Clock`]. All are object-safe and
//! `Send + Sync`, so an HSM (PKCS#11) implementation can replace the software one.

use zeroize::Zeroizing;

use crate::error::Result;
use crate::keys::Curve;
use crate::signature::Signature;

/// A private signing key that never leaves its holder (software or HSM).
pub trait Signer: Send + Sync {
    /// The curve of the key.
    fn curve(&self) -> Curve;
    /// The public key, SEC1 uncompressed (`04 ‖ x ‖ y`).
    fn public_key(&self) -> Vec<u8>;
    /// Signs `msg` with ECDSA-SHA256 and returns the plain `r‖s` signature.
    fn sign(&self, msg: &[u8]) -> Result<Signature>;
}

/// A shared secret from ECDH: the x-coordinate of the shared point (ShS in SGP.22 Annex G).
/// Zeroized on drop; `Debug` prints `<redacted>`.
#[derive(Clone)]
pub struct SharedSecret(Zeroizing<Vec<u8>>);

impl SharedSecret {
    /// Wraps raw secret bytes.
    pub fn new(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl core::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A one-time private key held by a [`KeyAgreement`] provider. Implementations own the secret
/// (or an HSM object handle) and destroy it when dropped or used.
pub trait EphemeralSecret: Send + Sync {
    /// The curve of the key.
    fn curve(&self) -> Curve;
    /// The public key, SEC1 uncompressed.
    fn public_key(&self) -> &[u8];
    /// Performs ECDH with `peer_public` (SEC1) and consumes the key.
    fn agree(self: Box<Self>, peer_public: &[u8]) -> Result<SharedSecret>;
}

/// Handle to a one-time key pair (otSK). Moving it into [`KeyAgreement::agree`] consumes it, so
/// a key is used at most once; dropping it destroys the key.
pub struct EphemeralKeyHandle(Box<dyn EphemeralSecret>);

impl EphemeralKeyHandle {
    /// Wraps a provider's secret.
    pub fn new(secret: Box<dyn EphemeralSecret>) -> Self {
        Self(secret)
    }

    /// The curve of the key.
    pub fn curve(&self) -> Curve {
        self.0.curve()
    }

    /// The public key (otPK), SEC1 uncompressed.
    pub fn public_key(&self) -> &[u8] {
        self.0.public_key()
    }

    /// Performs ECDH and consumes the handle.
    pub fn agree(self, peer_public: &[u8]) -> Result<SharedSecret> {
        self.0.agree(peer_public)
    }
}

impl core::fmt::Debug for EphemeralKeyHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EphemeralKeyHandle")
            .field("curve", &self.curve())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// One-time ECDH key agreement (ECKA-EG / ECKA-DH as used by SGP.22 §2.6.4.1).
pub trait KeyAgreement: Send + Sync {
    /// Generates a fresh one-time key pair on `curve`: returns its public key (SEC1
    /// uncompressed) and the handle to the private key.
    fn generate_ephemeral(&self, curve: Curve) -> Result<(Vec<u8>, EphemeralKeyHandle)>;

    /// Computes the shared secret (x-coordinate) with `peer_public`, consuming the handle.
    fn agree(&self, handle: EphemeralKeyHandle, peer_public: &[u8]) -> Result<SharedSecret> {
        handle.agree(peer_public)
    }
}

/// A source of cryptographically secure random bytes.
pub trait Random: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<()>;
}

/// The workspace's one time type for "now" (and every instant the protocol crates compute
/// with): seconds since the Unix epoch, UTC. `SystemTime`s are converted at the edges.
pub type UnixTime = i64;

/// A source of the current time, injected so that pure code stays deterministic in tests.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch (UTC).
    fn now_unix(&self) -> UnixTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A fixed clock, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}
