//! MILENAGE, the 3GPP example algorithm set for f1, f1*, f2, f3, f4, f5 and f5*
//! (3GPP TS 35.206 §4), on AES-128 (the RustCrypto `aes` crate, encrypt-only key schedule: AES-NI/VAES or ARMv8 AES
//! detected at run time, constant-time software otherwise).
//!
//! ```text
//! OPc  = OP ⊕ E_K(OP)                                              (§4)
//! TEMP = E_K(RAND ⊕ OPc)
//! OUT1 = E_K(TEMP ⊕ rot(IN1 ⊕ OPc, r1) ⊕ c1) ⊕ OPc,  IN1 = SQN‖AMF‖SQN‖AMF
//! OUTi = E_K(rot(TEMP ⊕ OPc, ri) ⊕ ci) ⊕ OPc           i = 2..5
//! f1 = OUT1[0..63]   f1* = OUT1[64..127]   f5 = OUT2[0..47]   f2 = OUT2[64..127]
//! f3 = OUT3          f4 = OUT4             f5* = OUT5[0..47]
//! ```

use aes::Aes128Enc;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{AkaError, Amf, K, Op, Opc, Rand, Sqn};

/// The rotation constants r1..r5 (in bits) and addition constants c1..c5 of TS 35.206 §4.
///
/// An operator may choose its own values (TS 35.206 gives guidance on the choice);
/// [`Default`] gives the standard ones: r = 64, 0, 32, 64, 96 and c1..c5 = 0, 1, 2, 4, 8
/// (as 128-bit big-endian numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MilenageConstants {
    r: [u8; 5],
    c: [u128; 5],
}

impl MilenageConstants {
    /// The standard constants of TS 35.206 §4.
    pub const STANDARD: Self = Self {
        r: [64, 0, 32, 64, 96],
        c: [0, 1, 2, 4, 8],
    };

    /// Operator-chosen constants: rotations `r[i]` in bits (0..=127, rotating towards the most
    /// significant bit) and 128-bit `c[i]` given as 16 big-endian bytes.
    pub fn new(r: [u8; 5], c: [[u8; 16]; 5]) -> Result<Self, AkaError> {
        for (i, &v) in r.iter().enumerate() {
            if v > 127 {
                return Err(AkaError::InvalidRotation {
                    index: i as u8 + 1,
                    value: v,
                });
            }
        }
        Ok(Self {
            r,
            c: c.map(u128::from_be_bytes),
        })
    }

    /// r1..r5, in bits.
    #[must_use]
    pub fn r(&self) -> [u8; 5] {
        self.r
    }

    /// c1..c5, as big-endian bytes.
    #[must_use]
    pub fn c(&self) -> [[u8; 16]; 5] {
        self.c.map(u128::to_be_bytes)
    }
}

impl Default for MilenageConstants {
    fn default() -> Self {
        Self::STANDARD
    }
}

fn aes_for(k: &K) -> Result<Aes128Enc, AkaError> {
    let kb = k.as_128().ok_or(AkaError::InvalidLength {
        what: "K (MILENAGE needs 128 bits)",
        expected: "16 bytes",
        actual: k.as_bytes().len(),
    })?;
    let mut key = Array::from(*kb);
    let aes = Aes128Enc::new(&key);
    key.zeroize();
    Ok(aes)
}

#[inline]
fn encrypt(aes: &Aes128Enc, x: u128) -> u128 {
    let mut block = Array::from(x.to_be_bytes());
    aes.encrypt_block(&mut block);
    u128::from_be_bytes(block.into())
}

/// OPc = OP ⊕ E_K(OP) (TS 35.206 §4): one AES key schedule and one block.
///
/// Fails only for a 256-bit K (MILENAGE is defined for 128-bit K).
pub fn opc(k: &K, op: &Op) -> Result<Opc, AkaError> {
    let aes = aes_for(k)?;
    Ok(opc_with(&aes, op))
}

fn opc_with(aes: &Aes128Enc, op: &Op) -> Opc {
    let op = u128::from_be_bytes(*op.as_bytes());
    Opc::from_bytes((encrypt(aes, op) ^ op).to_be_bytes())
}

/// OPc for many cards sharing one OP (TS 35.206 §4), e.g. a factory batch.
///
/// Each card still costs one key schedule and one AES block (the key differs per card); this
/// just avoids per-call overhead. Fails on the first 256-bit K.
pub fn opc_batch(op: &Op, keys: &[K]) -> Result<Vec<Opc>, AkaError> {
    let mut out = Vec::with_capacity(keys.len());
    opc_batch_into(op, keys, &mut out)?;
    Ok(out)
}

/// Like [`opc_batch`] but appends to a caller-owned vector (reuse it across batches).
/// On error, `out` holds the OPc values of the keys before the failing one.
pub fn opc_batch_into(op: &Op, keys: &[K], out: &mut Vec<Opc>) -> Result<(), AkaError> {
    out.reserve(keys.len());
    for k in keys {
        out.push(opc(k, op)?);
    }
    Ok(())
}

/// The outputs of f2, f3, f4 and f5 for one RAND (TS 35.206 §4). Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MilenageOutputs {
    /// RES (f2), 64 bits.
    pub res: [u8; 8],
    /// CK (f3), 128 bits.
    pub ck: [u8; 16],
    /// IK (f4), 128 bits.
    pub ik: [u8; 16],
    /// AK (f5), 48 bits.
    pub ak: [u8; 6],
}

impl core::fmt::Debug for MilenageOutputs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MilenageOutputs(<redacted>)")
    }
}

/// MILENAGE keyed for one subscriber: K's AES key schedule, OPc and the constants
/// (TS 35.206 §4). Zeroized on drop.
#[derive(Clone)]
pub struct Milenage {
    aes: Aes128Enc,
    opc: u128,
    constants: MilenageConstants,
}

impl Drop for Milenage {
    fn drop(&mut self) {
        self.opc.zeroize();
    }
}

impl core::fmt::Debug for Milenage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Milenage")
            .field("k", &"<redacted>")
            .field("opc", &"<redacted>")
            .field("constants", &self.constants)
            .finish()
    }
}

impl Milenage {
    /// MILENAGE with the standard constants. Fails only for a 256-bit K.
    pub fn new(k: &K, opc: &Opc) -> Result<Self, AkaError> {
        Self::with_constants(k, opc, MilenageConstants::STANDARD)
    }

    /// MILENAGE with operator-chosen constants. Fails only for a 256-bit K.
    pub fn with_constants(
        k: &K,
        opc: &Opc,
        constants: MilenageConstants,
    ) -> Result<Self, AkaError> {
        Ok(Self {
            aes: aes_for(k)?,
            opc: u128::from_be_bytes(*opc.as_bytes()),
            constants,
        })
    }

    /// MILENAGE for an operator that keeps OP: derives OPc first (TS 35.206 §4).
    pub fn from_op(k: &K, op: &Op, constants: MilenageConstants) -> Result<Self, AkaError> {
        let aes = aes_for(k)?;
        let opc = opc_with(&aes, op);
        Ok(Self {
            aes,
            opc: u128::from_be_bytes(*opc.as_bytes()),
            constants,
        })
    }

    /// This subscriber's OPc.
    #[must_use]
    pub fn opc(&self) -> Opc {
        Opc::from_bytes(self.opc.to_be_bytes())
    }

    #[inline]
    fn temp(&self, rand: &Rand) -> u128 {
        encrypt(&self.aes, u128::from_be_bytes(*rand) ^ self.opc)
    }

    fn out1(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> u128 {
        let temp = self.temp(rand);
        let mut in1 = [0u8; 16];
        in1[0..6].copy_from_slice(sqn);
        in1[6..8].copy_from_slice(amf);
        in1[8..14].copy_from_slice(sqn);
        in1[14..16].copy_from_slice(amf);
        let c = &self.constants;
        let x = (u128::from_be_bytes(in1) ^ self.opc).rotate_left(u32::from(c.r[0]));
        encrypt(&self.aes, temp ^ x ^ c.c[0]) ^ self.opc
    }

    /// OUTi for i = 2..=5 (`idx` = i - 1).
    #[inline]
    fn out(&self, temp: u128, idx: usize) -> u128 {
        let c = &self.constants;
        let x = (temp ^ self.opc).rotate_left(u32::from(c.r[idx])) ^ c.c[idx];
        encrypt(&self.aes, x) ^ self.opc
    }

    /// f1 and f1* together (one evaluation of OUT1): (MAC-A, MAC-S), TS 35.206 §4.
    #[must_use]
    pub fn f1_f1star(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> ([u8; 8], [u8; 8]) {
        let out1 = self.out1(rand, sqn, amf).to_be_bytes();
        let mut mac_a = [0u8; 8];
        let mut mac_s = [0u8; 8];
        mac_a.copy_from_slice(&out1[0..8]);
        mac_s.copy_from_slice(&out1[8..16]);
        (mac_a, mac_s)
    }

    /// f1: network authentication code MAC-A = OUT1[0..63] (TS 35.206 §4).
    #[must_use]
    pub fn f1(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> [u8; 8] {
        self.f1_f1star(rand, sqn, amf).0
    }

    /// f1*: resynchronisation authentication code MAC-S = OUT1[64..127] (TS 35.206 §4).
    #[must_use]
    pub fn f1star(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> [u8; 8] {
        self.f1_f1star(rand, sqn, amf).1
    }

    /// f2, f3, f4 and f5 for one RAND, sharing TEMP (TS 35.206 §4).
    #[must_use]
    pub fn f2345(&self, rand: &Rand) -> MilenageOutputs {
        let temp = self.temp(rand);
        let out2 = self.out(temp, 1).to_be_bytes();
        let mut o = MilenageOutputs {
            res: [0; 8],
            ck: self.out(temp, 2).to_be_bytes(),
            ik: self.out(temp, 3).to_be_bytes(),
            ak: [0; 6],
        };
        o.res.copy_from_slice(&out2[8..16]);
        o.ak.copy_from_slice(&out2[0..6]);
        o
    }

    /// f2: RES = OUT2[64..127] (TS 35.206 §4).
    #[must_use]
    pub fn f2(&self, rand: &Rand) -> [u8; 8] {
        let out2 = self.out(self.temp(rand), 1).to_be_bytes();
        let mut res = [0u8; 8];
        res.copy_from_slice(&out2[8..16]);
        res
    }

    /// f3: CK = OUT3 (TS 35.206 §4).
    #[must_use]
    pub fn f3(&self, rand: &Rand) -> [u8; 16] {
        self.out(self.temp(rand), 2).to_be_bytes()
    }

    /// f4: IK = OUT4 (TS 35.206 §4).
    #[must_use]
    pub fn f4(&self, rand: &Rand) -> [u8; 16] {
        self.out(self.temp(rand), 3).to_be_bytes()
    }

    /// f5: anonymity key AK = OUT2[0..47] (TS 35.206 §4).
    #[must_use]
    pub fn f5(&self, rand: &Rand) -> [u8; 6] {
        let out2 = self.out(self.temp(rand), 1).to_be_bytes();
        let mut ak = [0u8; 6];
        ak.copy_from_slice(&out2[0..6]);
        ak
    }

    /// f5*: resynchronisation anonymity key AK* = OUT5[0..47] (TS 35.206 §4).
    #[must_use]
    pub fn f5star(&self, rand: &Rand) -> [u8; 6] {
        let out5 = self.out(self.temp(rand), 4).to_be_bytes();
        let mut ak = [0u8; 6];
        ak.copy_from_slice(&out5[0..6]);
        ak
    }
}
