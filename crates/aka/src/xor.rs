//! The 3GPP test algorithm ("XOR"), 3GPP TS 34.108 §8.1.2: the algorithm of test USIMs
//! (TS 31.102 test cards, GSMA TS.48 test profiles, `algorithmID` 3 usim-test-algorithm) and of
//! test networks. It has no cryptographic strength at all — anyone who sees one RAND and RES
//! knows K — and exists only so that test equipment can authenticate a test card.
//!
//! ```text
//! §8.1.2.1  XDOUT = K ⊕ RAND                                   (128 bits)
//!           RES = f2  = XDOUT[bits 0 .. n-1]                    (n = 32 … 128)
//!           CK  = f3  = XDOUT[bits 8 .. 127, 0 .. 7]            (XDOUT rotated by 8 bits)
//!           IK  = f4  = XDOUT[bits 16 .. 127, 0 .. 15]          (rotated by 16 bits)
//!           AK  = f5  = XDOUT[bits 24 .. 71]
//!           CDOUT = SQN ‖ AMF;  MAC = f1 = XDOUT[bits 0 .. 63] ⊕ CDOUT
//! §8.1.2.2  AK  = f5* = XDOUT[bits 24 .. 71]                    (the same as f5)
//!           CDOUT = SQN_MS ‖ AMF* (AMF* = 0000);  MAC-S = f1* = XDOUT[bits 0 .. 63] ⊕ CDOUT
//! ```
//!
//! (Cross-checked against libosmocore's `auth_xor.c`, which quotes the same clauses, and its
//! `osmo-auc-gen -3 -a XOR`, see `tests/osmo_auc_gen.rs`.)

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{AkaError, Amf, K, Rand, Sqn};

/// The shortest RES the test algorithm gives, in bytes (32 bits).
pub const RES_MIN_BYTES: u8 = 4;
/// The longest RES, in bytes (the whole 128-bit XDOUT).
pub const RES_MAX_BYTES: u8 = 16;

/// XDOUT = K ⊕ RAND for one (K, RAND). XDOUT *is* K for anyone who knows RAND, so it is
/// zeroized on drop like a key.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Xdout([u8; 16]);

impl Xdout {
    /// Step 1 of §8.1.2.1. Fails for a 256-bit K (the test algorithm's K has the length of
    /// RAND, 128 bits).
    pub fn new(k: &K, rand: &Rand) -> Result<Self, AkaError> {
        let kb = k.as_128().ok_or(AkaError::InvalidLength {
            what: "K (the 3GPP test algorithm needs 128 bits)",
            expected: "16 bytes",
            actual: k.as_bytes().len(),
        })?;
        let mut x = [0u8; 16];
        for (o, (a, b)) in x.iter_mut().zip(kb.iter().zip(rand)) {
            *o = a ^ b;
        }
        Ok(Self(x))
    }

    /// f1 (network authentication, MAC-A/XMAC-A) = XDOUT[0..64] ⊕ (SQN ‖ AMF).
    #[must_use]
    pub fn f1(&self, sqn: &Sqn, amf: &Amf) -> [u8; 8] {
        let mut cdout = [0u8; 8];
        cdout[..6].copy_from_slice(sqn);
        cdout[6..].copy_from_slice(amf);
        for (c, x) in cdout.iter_mut().zip(&self.0) {
            *c ^= x;
        }
        cdout
    }

    /// f1* (resynchronisation, MAC-S) = XDOUT[0..64] ⊕ (SQN_MS ‖ AMF*); the caller gives
    /// AMF* (all zeros in a resynchronisation, TS 33.102 §6.3.3).
    #[must_use]
    pub fn f1star(&self, sqn_ms: &Sqn, amf: &Amf) -> [u8; 8] {
        self.f1(sqn_ms, amf)
    }

    /// f2: RES = the first `bytes` bytes of XDOUT (4 ..= 16).
    pub fn f2(&self, bytes: u8) -> Result<&[u8], AkaError> {
        if !(RES_MIN_BYTES..=RES_MAX_BYTES).contains(&bytes) {
            return Err(AkaError::UnsupportedLength {
                what: "test algorithm RES",
                bits: u32::from(bytes) * 8,
            });
        }
        Ok(&self.0[..usize::from(bytes)])
    }

    /// f3: CK = XDOUT rotated left by 8 bits.
    #[must_use]
    pub fn f3(&self) -> [u8; 16] {
        self.rotated(1)
    }

    /// f4: IK = XDOUT rotated left by 16 bits.
    #[must_use]
    pub fn f4(&self) -> [u8; 16] {
        self.rotated(2)
    }

    /// f5: AK = XDOUT[24..72].
    #[must_use]
    pub fn f5(&self) -> [u8; 6] {
        let mut ak = [0u8; 6];
        ak.copy_from_slice(&self.0[3..9]);
        ak
    }

    /// f5*: AK for a resynchronisation, the same bits as f5 (§8.1.2.2).
    #[must_use]
    pub fn f5star(&self) -> [u8; 6] {
        self.f5()
    }

    fn rotated(&self, by: usize) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.0[(i + by) % 16];
        }
        out
    }
}

impl core::fmt::Debug for Xdout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Xdout(<redacted>)")
    }
}
