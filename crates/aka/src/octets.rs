//! Small fixed-capacity byte strings for the public (non-secret) variable-length AKA values:
//! RES/XRES, MAC-A/MAC-S, AUTN and AUTS. No allocation, `Copy`, `Debug` prints hex.

use core::fmt;
use core::ops::Deref;

use crate::AkaError;

/// A byte string of at most `N` bytes stored inline.
///
/// Bytes past `len` are always zero, so the derived equality and hashing are exact.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Octets<const N: usize> {
    buf: [u8; N],
    len: u8,
}

impl<const N: usize> Octets<N> {
    /// Maximum length in bytes.
    pub const CAPACITY: usize = N;

    /// Copies `bytes` (at most `N` of them).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AkaError> {
        if bytes.len() > N || bytes.len() > usize::from(u8::MAX) {
            return Err(AkaError::InvalidLength {
                what: "octet string",
                expected: "at most the capacity",
                actual: bytes.len(),
            });
        }
        let mut buf = [0u8; N];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(Self {
            buf,
            len: bytes.len() as u8,
        })
    }

    /// Concatenation of `parts`, for internal callers that know the total fits.
    pub(crate) fn concat(parts: &[&[u8]]) -> Self {
        let mut buf = [0u8; N];
        let mut len = 0usize;
        for p in parts {
            let end = (len + p.len()).min(N);
            buf[len..end].copy_from_slice(&p[..end - len]);
            len = end;
        }
        Self {
            buf,
            len: len as u8,
        }
    }

    /// The bytes.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// Length in bits.
    #[must_use]
    pub fn bits(&self) -> u32 {
        u32::from(self.len) * 8
    }
}

impl<const N: usize> Deref for Octets<N> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> AsRef<[u8]> for Octets<N> {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> fmt::Debug for Octets<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hex::fmt_hex(self.as_slice(), f)
    }
}

impl<const N: usize> fmt::Display for Octets<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hex::fmt_hex(self.as_slice(), f)
    }
}

/// RES / XRES (f2): 64 bits for MILENAGE; 32, 64, 128 or 256 bits for TUAK.
pub type Res = Octets<32>;
/// MAC-A (f1) or MAC-S (f1*): 64 bits for MILENAGE; 64, 128 or 256 bits for TUAK.
pub type Mac = Octets<32>;
/// AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A (TS 33.102 §6.3.2): 16 bytes with a 64-bit MAC, up to 40 with
/// TUAK's longer MACs.
pub type Autn = Octets<40>;
/// AUTS = SQN_MS ⊕ AK* ‖ MAC-S (TS 33.102 §6.3.3): 14 bytes with a 64-bit MAC-S, up to 38.
pub type Auts = Octets<38>;
