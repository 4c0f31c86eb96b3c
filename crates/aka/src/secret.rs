//! Secret values: subscriber key K, operator variant values OP/OPc (MILENAGE, TS 35.206)
//! and TOP/TOPc (TUAK, TS 35.231), and the derived session keys CK, IK and Kc.
//!
//! Every type here zeroizes its memory on drop, prints as `<redacted>` in `Debug`, compares in
//! constant time and parses from hex without echoing the input in errors. The bytes are reachable
//! only through an explicit `as_bytes()`.

use core::fmt;
use core::str::FromStr;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::AkaError;
use crate::hex::decode_into;

/// Constant-time equality of two byte strings (the lengths are not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

macro_rules! fixed_secret {
    ($(#[$meta:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$meta])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Wraps the given bytes. The caller's copy of the array is not zeroized.
            #[must_use]
            pub fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Copies the value from a slice of exactly [`Self::LEN`] bytes.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, AkaError> {
                let arr: [u8; $len] = bytes.try_into().map_err(|_| AkaError::InvalidLength {
                    what: $what,
                    expected: concat!(stringify!($len), " bytes"),
                    actual: bytes.len(),
                })?;
                Ok(Self(arr))
            }

            /// Parses hex (upper or lower case, surrounding whitespace ignored). Errors never
            /// contain the input.
            pub fn from_hex(s: &str) -> Result<Self, AkaError> {
                let mut v = Self([0u8; $len]);
                let n = decode_into(s, &mut v.0, $what, concat!(stringify!($len), " bytes"))?;
                if n != $len {
                    return Err(AkaError::InvalidLength {
                        what: $what,
                        expected: concat!(stringify!($len), " bytes"),
                        actual: n,
                    });
                }
                Ok(v)
            }

            /// The secret bytes. Handle with care.
            #[must_use]
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl From<[u8; $len]> for $name {
            fn from(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
        }

        impl FromStr for $name {
            type Err = AkaError;
            fn from_str(s: &str) -> Result<Self, AkaError> {
                Self::from_hex(s)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                ct_eq(&self.0, &other.0)
            }
        }

        impl Eq for $name {}
    };
}

fixed_secret!(
    /// OP, the 128-bit MILENAGE operator variant algorithm configuration field (TS 35.206).
    Op, 16, "OP"
);
fixed_secret!(
    /// OPc = OP ⊕ E_K(OP), the per-card MILENAGE value derived from OP and K (TS 35.206 §4).
    Opc, 16, "OPc"
);
fixed_secret!(
    /// TOP, the 256-bit TUAK operator variant algorithm configuration field (TS 35.231).
    Top, 32, "TOP"
);
fixed_secret!(
    /// TOPc, the per-card TUAK value derived from TOP and K (TS 35.231).
    Topc, 32, "TOPc"
);
fixed_secret!(
    /// Kc, the 64-bit GSM cipher key (from CK and IK by c3, TS 33.102 §6.8.1.2).
    Kc, 8, "Kc"
);

/// K, the subscriber's long-term secret key: 128 bits (MILENAGE, TUAK) or 256 bits (TUAK only),
/// TS 33.102 §6.3.2, TS 35.231.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct K {
    bytes: [u8; 32],
    len: u8,
}

impl K {
    const EXPECTED: &'static str = "16 or 32 bytes";

    /// A 128-bit K. The caller's copy of the array is not zeroized.
    #[must_use]
    pub fn new_128(bytes: [u8; 16]) -> Self {
        let mut k = Self {
            bytes: [0; 32],
            len: 16,
        };
        k.bytes[..16].copy_from_slice(&bytes);
        k
    }

    /// A 256-bit K (TUAK only). The caller's copy of the array is not zeroized.
    #[must_use]
    pub fn new_256(bytes: [u8; 32]) -> Self {
        Self { bytes, len: 32 }
    }

    /// Copies K from a slice of 16 or 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AkaError> {
        if bytes.len() != 16 && bytes.len() != 32 {
            return Err(AkaError::InvalidLength {
                what: "K",
                expected: Self::EXPECTED,
                actual: bytes.len(),
            });
        }
        let mut k = Self {
            bytes: [0; 32],
            len: bytes.len() as u8,
        };
        k.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(k)
    }

    /// Parses 32 or 64 hex digits. Errors never contain the input.
    pub fn from_hex(s: &str) -> Result<Self, AkaError> {
        let mut k = Self {
            bytes: [0; 32],
            len: 0,
        };
        let n = decode_into(s, &mut k.bytes, "K", Self::EXPECTED)?;
        if n != 16 && n != 32 {
            return Err(AkaError::InvalidLength {
                what: "K",
                expected: Self::EXPECTED,
                actual: n,
            });
        }
        k.len = n as u8;
        Ok(k)
    }

    /// The secret bytes (16 or 32). Handle with care.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The 16 bytes of a 128-bit K, or `None` for a 256-bit K.
    #[must_use]
    pub fn as_128(&self) -> Option<&[u8; 16]> {
        if self.len == 16 {
            self.bytes[..16].try_into().ok()
        } else {
            None
        }
    }

    /// Key length in bits: 128 or 256.
    #[must_use]
    pub fn bits(&self) -> u32 {
        u32::from(self.len) * 8
    }
}

impl From<[u8; 16]> for K {
    fn from(bytes: [u8; 16]) -> Self {
        Self::new_128(bytes)
    }
}

impl From<[u8; 32]> for K {
    fn from(bytes: [u8; 32]) -> Self {
        Self::new_256(bytes)
    }
}

impl FromStr for K {
    type Err = AkaError;
    fn from_str(s: &str) -> Result<Self, AkaError> {
        Self::from_hex(s)
    }
}

impl fmt::Debug for K {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "K{}(<redacted>)", self.bits())
    }
}

impl PartialEq for K {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.as_bytes(), other.as_bytes())
    }
}

impl Eq for K {}

/// A session key: CK (f3) or IK (f4), 128 bits (MILENAGE) or 128/256 bits (TUAK).
/// Zeroized on drop, `Debug` prints `<redacted>`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionKey {
    bytes: [u8; 32],
    len: u8,
}

impl SessionKey {
    /// Copies a 16- or 32-byte key.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AkaError> {
        if bytes.len() != 16 && bytes.len() != 32 {
            return Err(AkaError::InvalidLength {
                what: "CK/IK",
                expected: "16 or 32 bytes",
                actual: bytes.len(),
            });
        }
        let mut k = Self {
            bytes: [0; 32],
            len: bytes.len() as u8,
        };
        k.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(k)
    }

    /// The secret bytes (16 or 32). Handle with care.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Key length in bits: 128 or 256.
    #[must_use]
    pub fn bits(&self) -> u32 {
        u32::from(self.len) * 8
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey{}(<redacted>)", self.bits())
    }
}

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.as_bytes(), other.as_bytes())
    }
}

impl Eq for SessionKey {}

impl SessionKey {
    /// For internal callers that already hold 16 or 32 bytes.
    pub(crate) fn from_valid(bytes: &[u8]) -> Self {
        debug_assert!(bytes.len() == 16 || bytes.len() == 32);
        let len = bytes.len().min(32);
        let mut k = Self {
            bytes: [0; 32],
            len: len as u8,
        };
        k.bytes[..len].copy_from_slice(&bytes[..len]);
        k
    }
}
