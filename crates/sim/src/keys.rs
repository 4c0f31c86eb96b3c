//! Operator keys as the batch generator uses them: the transport key that protects Ki in the
//! operator's files (EKI = AES-K(transport, Ki), one block, as the trade does) and the operator
//! variant value (MILENAGE OP or TUAK TOP) from which every card's OPc/TOPc is derived.
//!
//! These are in-memory forms. At rest they are sealed by the platform's key vault; a transport
//! key held by a PKCS#11 HSM reaches the `.out` writer as a [`BatchCipher`] backed by it
//! (`simforge_hsm::HsmTransportKey`), and never enters the process.

use std::fmt;

use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::secret::{SecretError, decode_hex_into};

/// Anything that encrypts and decrypts single AES blocks under a key it does not reveal.
pub trait BlockCipher: Send + Sync {
    /// Encrypts one 16-byte block in place.
    fn encrypt_block(&self, block: &mut [u8; 16]);
    /// Decrypts one 16-byte block in place.
    fn decrypt_block(&self, block: &mut [u8; 16]);
}

/// Why a [`BatchCipher`] could not encrypt (an HSM that failed or refused). Never carries key
/// material.
#[derive(Debug, thiserror::Error)]
#[error("transport key cipher")]
pub struct CipherError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Encrypts many AES blocks in one call under a key it does not reveal: what the `.out` file's
/// encrypted columns need. A PKCS#11 HSM implements it with one `C_Encrypt` per chunk of
/// cards; every [`BlockCipher`] is one, block by block.
pub trait BatchCipher: Send + Sync {
    /// Encrypts every block in place (AES-ECB, each block on its own).
    ///
    /// # Errors
    /// [`CipherError`] if the key holder fails.
    fn encrypt_blocks(&self, blocks: &mut [[u8; 16]]) -> Result<(), CipherError>;
    /// Decrypts every block in place (`simforge verify` of a delivered `.out`).
    ///
    /// # Errors
    /// [`CipherError`] if the key holder fails.
    fn decrypt_blocks(&self, blocks: &mut [[u8; 16]]) -> Result<(), CipherError>;
    /// The key's check value ([`kcv`]).
    fn check_value(&self) -> [u8; 3];
}

impl<T: BlockCipher + ?Sized> BatchCipher for T {
    fn encrypt_blocks(&self, blocks: &mut [[u8; 16]]) -> Result<(), CipherError> {
        for b in blocks {
            self.encrypt_block(b);
        }
        Ok(())
    }

    fn decrypt_blocks(&self, blocks: &mut [[u8; 16]]) -> Result<(), CipherError> {
        for b in blocks {
            self.decrypt_block(b);
        }
        Ok(())
    }

    fn check_value(&self) -> [u8; 3] {
        let mut block = [0x01u8; 16];
        self.encrypt_block(&mut block);
        let out = [block[0], block[1], block[2]];
        block.zeroize();
        out
    }
}

/// An operator transport key: AES-128, AES-192 or AES-256, kept as an expanded key schedule
/// (zeroized on drop).
pub enum TransportKey {
    /// AES-128.
    Aes128(aes::Aes128),
    /// AES-192.
    Aes192(aes::Aes192),
    /// AES-256.
    Aes256(aes::Aes256),
}

impl TransportKey {
    /// Builds the key from 16, 24 or 32 raw bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, SecretError> {
        let bad = |n: usize| SecretError::HexLength {
            expected: 64,
            got: n * 2,
        };
        let n = b.len();
        Ok(match n {
            16 => Self::Aes128(aes::Aes128::new_from_slice(b).map_err(|_| bad(n))?),
            24 => Self::Aes192(aes::Aes192::new_from_slice(b).map_err(|_| bad(n))?),
            32 => Self::Aes256(aes::Aes256::new_from_slice(b).map_err(|_| bad(n))?),
            n => return Err(bad(n)),
        })
    }

    /// Parses 32, 48 or 64 hex digits. The error never contains the input.
    pub fn from_hex(s: &str) -> Result<Self, SecretError> {
        let s = s.trim();
        if ![32, 48, 64].contains(&s.len()) {
            return Err(SecretError::Code {
                what: "transport key",
                reason: "expected 32, 48 or 64 hex digits (AES-128/192/256)",
            });
        }
        let mut buf = zeroize::Zeroizing::new([0u8; 32]);
        let n = s.len() / 2;
        decode_hex_into(s, &mut buf[..n])?;
        Self::from_bytes(&buf[..n])
    }

    /// Key size in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        match self {
            Self::Aes128(_) => 128,
            Self::Aes192(_) => 192,
            Self::Aes256(_) => 256,
        }
    }
}

impl BlockCipher for TransportKey {
    fn encrypt_block(&self, block: &mut [u8; 16]) {
        let mut b = Array::from(*block);
        match self {
            Self::Aes128(c) => c.encrypt_block(&mut b),
            Self::Aes192(c) => c.encrypt_block(&mut b),
            Self::Aes256(c) => c.encrypt_block(&mut b),
        }
        *block = b.into();
    }

    fn decrypt_block(&self, block: &mut [u8; 16]) {
        let mut b = Array::from(*block);
        match self {
            Self::Aes128(c) => c.decrypt_block(&mut b),
            Self::Aes192(c) => c.decrypt_block(&mut b),
            Self::Aes256(c) => c.decrypt_block(&mut b),
        }
        *block = b.into();
    }
}

/// The key check value of an AES key: the first 3 bytes of AES(key, 16 bytes of 0x01), as
/// GlobalPlatform Card Specification v2.2 Amendment D (SCP03, GPC_SPE_014) defines it for AES
/// keys (PUT KEY's check value). Tells a receiver that it holds the same key without revealing it.
#[must_use]
pub fn kcv(key: &dyn BlockCipher) -> [u8; 3] {
    let mut block = [0x01u8; 16];
    key.encrypt_block(&mut block);
    let out = [block[0], block[1], block[2]];
    block.zeroize();
    out
}

/// The [`kcv`] of a 128-bit key given as bytes (a card's Ki).
#[must_use]
pub fn kcv128(key: &[u8; 16]) -> [u8; 3] {
    kcv(&TransportKey::Aes128(aes::Aes128::new(&Array::from(*key))))
}

impl fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransportKey(AES-{}, <redacted>)", self.bits())
    }
}

/// The operator's variant configuration value: MILENAGE OP (128 bits) or TUAK TOP (256 bits).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub enum OperatorVariant {
    /// MILENAGE OP (TS 35.206).
    Op([u8; 16]),
    /// TUAK TOP (TS 35.231).
    Top([u8; 32]),
}

impl OperatorVariant {
    /// Parses 32 hex digits as an OP or 64 as a TOP. The error never contains the input.
    pub fn from_hex(s: &str) -> Result<Self, SecretError> {
        let s = s.trim();
        match s.len() {
            32 => {
                let mut b = [0u8; 16];
                decode_hex_into(s, &mut b)?;
                Ok(Self::Op(b))
            }
            64 => {
                let mut b = [0u8; 32];
                decode_hex_into(s, &mut b)?;
                Ok(Self::Top(b))
            }
            _ => Err(SecretError::Code {
                what: "OP/TOP",
                reason: "expected 32 hex digits (MILENAGE OP) or 64 (TUAK TOP)",
            }),
        }
    }

    /// The raw bytes (for sealing at rest).
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        match self {
            Self::Op(b) => b,
            Self::Top(b) => b,
        }
    }
}

impl fmt::Debug for OperatorVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Op(_) => f.write_str("Op(<redacted>)"),
            Self::Top(_) => f.write_str("Top(<redacted>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_check_values() {
        // Expected values from openssl (a peer, not this code):
        // 16 x 01 | openssl enc -aes-{128,256}-ecb -K <key> -nopad, first 3 bytes.
        let k = TransportKey::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(kcv(&k), [0xC3, 0x52, 0x80]);
        assert_eq!(
            kcv128(&[
                0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d,
                0x4e, 0x4f
            ]),
            [0x50, 0x4A, 0x77]
        );
        let k = TransportKey::from_hex(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        )
        .unwrap();
        assert_eq!(kcv(&k), [0x75, 0xE2, 0x08]);
    }

    #[test]
    fn aes_fips197_vectors() {
        // FIPS-197 Appendix C.1/C.2/C.3.
        let pt = *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff";
        for (key, ct) in [
            (
                "000102030405060708090a0b0c0d0e0f",
                "69c4e0d86a7b0430d8cdb78070b4c55a",
            ),
            (
                "000102030405060708090a0b0c0d0e0f1011121314151617",
                "dda97ca4864cdfe06eaf70a0ec0d7191",
            ),
            (
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "8ea2b7ca516745bfeafc49904b496089",
            ),
        ] {
            let k = TransportKey::from_hex(key).unwrap();
            let mut b = pt;
            k.encrypt_block(&mut b);
            let mut hex = Vec::new();
            crate::secret::push_hex(&mut hex, &b);
            assert_eq!(String::from_utf8(hex).unwrap(), ct.to_uppercase());
            k.decrypt_block(&mut b);
            assert_eq!(b, pt);
        }
    }

    #[test]
    fn truncated_keys_are_refused_without_echo() {
        let e = TransportKey::from_hex("000102030405060708090a0b0c0d0e").unwrap_err();
        assert!(!e.to_string().contains("0001"));
        assert!(OperatorVariant::from_hex("abcd").is_err());
        assert!(
            format!("{:?}", TransportKey::from_hex(&"11".repeat(16)).unwrap()).contains("redacted")
        );
    }
}
