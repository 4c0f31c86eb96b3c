//! One card's identity and secrets, and how they are drawn.

use std::fmt;

use rand_core::TryCryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::ids::{Iccid, Imsi, Msisdn};
use crate::keys::OperatorVariant;
use crate::order::{Algorithm, BatchPlan};
use crate::secret::{Adm, Key128, Pin};

/// A variable-length secret of up to 256 bits: OPc (128) or TUAK TOPc (256).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct VarKey {
    len: u8,
    bytes: [u8; 32],
}

impl VarKey {
    /// Wraps 1 to 32 bytes (longer input is cut).
    #[must_use]
    pub fn from_slice(b: &[u8]) -> Self {
        let len = b.len().min(32);
        let mut bytes = [0u8; 32];
        bytes[..len].copy_from_slice(&b[..len]);
        Self {
            len: len as u8,
            bytes,
        }
    }

    /// The key bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for VarKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VarKey(<redacted>)")
    }
}

/// One OTA key set (TS 102 225): ciphering key KIc, integrity key KID, key-encryption key KIK.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OtaKeySet {
    /// KIc.
    pub kic: Key128,
    /// KID.
    pub kid: Key128,
    /// KIK.
    pub kik: Key128,
}

/// Everything a card gets: identities, the subscriber key and its OPc, codes, OTA keys.
/// Zeroized on drop (every secret field is).
#[derive(Clone, Debug)]
pub struct Card {
    /// Position in the batch, from 0.
    pub index: u64,
    /// ICCID.
    pub iccid: Iccid,
    /// IMSI.
    pub imsi: Imsi,
    /// MSISDN, if the batch assigns numbers.
    pub msisdn: Option<Msisdn>,
    /// Subscriber key Ki (K).
    pub ki: Key128,
    /// OPc (MILENAGE) or TOPc (TUAK).
    pub opc: VarKey,
    /// PIN1.
    pub pin1: Pin,
    /// PIN2.
    pub pin2: Pin,
    /// PUK1.
    pub puk1: Pin,
    /// PUK2.
    pub puk2: Pin,
    /// ADM1.
    pub adm1: Adm,
    /// OTA key sets (0 to 3).
    pub ota: Vec<OtaKeySet>,
}

/// Why a card could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
    /// Ranges ran out (should have been caught when the plan was checked).
    #[error(transparent)]
    Id(#[from] crate::ids::IdError),
    /// The algorithm and the operator value do not match (MILENAGE needs OP, TUAK needs TOP).
    #[error("algorithm {0:?} needs {1}; the operator key at this OPID is the other kind")]
    VariantMismatch(Algorithm, &'static str),
    /// The authentication algorithm refused its input.
    #[error("authentication algorithm: {0}")]
    Aka(String),
}

/// Draws random decimal codes and keys from a cryptographic random source.
struct Draw<'r, R: TryCryptoRng> {
    rng: &'r mut R,
}

impl<R: TryCryptoRng> Draw<'_, R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], CardError> {
        let mut b = [0u8; N];
        self.rng
            .try_fill_bytes(&mut b)
            .map_err(|e| CardError::Random(e.to_string()))?;
        Ok(b)
    }

    fn key(&mut self) -> Result<Key128, CardError> {
        let mut b = self.bytes::<16>()?;
        let k = Key128::from_bytes(b);
        b.zeroize();
        Ok(k)
    }

    /// A uniformly random number of `len` decimal digits (rejection sampling: no modulo bias).
    fn code(&mut self, len: usize) -> Result<Pin, CardError> {
        // 4_000_000_000 is a multiple of 10^4 and 10^8: accept below it, reduce mod 10^len.
        const LIMIT: u32 = 4_000_000_000;
        let modulus = 10u32.pow(len as u32);
        loop {
            let v = self
                .rng
                .try_next_u32()
                .map_err(|e| CardError::Random(e.to_string()))?;
            if v < LIMIT {
                return Ok(Pin::from_number(v % modulus, len));
            }
        }
    }
}

/// Makes the cards of one plan. Cheap to share between threads.
pub struct CardMaker<'a> {
    plan: &'a BatchPlan,
    variant: &'a OperatorVariant,
}

impl<'a> CardMaker<'a> {
    /// Checks that the operator value suits the plan's algorithm.
    pub fn new(plan: &'a BatchPlan, variant: &'a OperatorVariant) -> Result<Self, CardError> {
        match (plan.profile.algorithm, variant) {
            (Algorithm::Milenage, OperatorVariant::Op(_))
            | (Algorithm::Tuak, OperatorVariant::Top(_)) => Ok(Self { plan, variant }),
            (Algorithm::Milenage, _) => Err(CardError::VariantMismatch(
                Algorithm::Milenage,
                "an OP (128 bits)",
            )),
            (Algorithm::Tuak, _) => Err(CardError::VariantMismatch(
                Algorithm::Tuak,
                "a TOP (256 bits)",
            )),
        }
    }

    /// Makes card number `index` of the batch, drawing its secrets from `rng`.
    pub fn card<R: TryCryptoRng>(&self, index: u64, rng: &mut R) -> Result<Card, CardError> {
        let p = &self.plan.profile;
        let mut d = Draw { rng };
        let ki = d.key()?;
        let opc = derive_opc(self.variant, &ki)?;
        let pin1 = match &p.pin1 {
            Some(v) => v.clone(),
            None => d.code(4)?,
        };
        let pin2 = match &p.pin2 {
            Some(v) => v.clone(),
            None => d.code(4)?,
        };
        let puk1 = match &p.puk1 {
            Some(v) => v.clone(),
            None => d.code(8)?,
        };
        let puk2 = match &p.puk2 {
            Some(v) => v.clone(),
            None => d.code(8)?,
        };
        let adm1 = match &p.adm1 {
            Some(v) => v.clone(),
            None => Adm::Digits(d.code(8)?),
        };
        let mut ota = Vec::with_capacity(usize::from(p.ota_key_sets));
        for _ in 0..p.ota_key_sets {
            ota.push(OtaKeySet {
                kic: d.key()?,
                kid: d.key()?,
                kik: d.key()?,
            });
        }
        Ok(Card {
            index,
            iccid: self.plan.first_iccid.checked_add(index)?,
            imsi: self.plan.first_imsi.checked_add(index)?,
            msisdn: self
                .plan
                .first_msisdn
                .map(|m| m.checked_add(index))
                .transpose()?,
            ki,
            opc,
            pin1,
            pin2,
            puk1,
            puk2,
            adm1,
            ota,
        })
    }
}

/// OPc = MILENAGE-OPc(Ki, OP) (TS 35.206 §4.1) or TOPc = TUAK-TOPc(K, TOP) (TS 35.231 §6.2).
pub fn derive_opc(variant: &OperatorVariant, ki: &Key128) -> Result<VarKey, CardError> {
    let k = simforge_aka::K::new_128(*ki.expose());
    match variant {
        OperatorVariant::Op(op) => {
            let op = simforge_aka::Op::from_bytes(*op);
            let opc =
                simforge_aka::milenage::opc(&k, &op).map_err(|e| CardError::Aka(e.to_string()))?;
            Ok(VarKey::from_slice(opc.as_bytes()))
        }
        OperatorVariant::Top(top) => {
            let top = simforge_aka::Top::from_bytes(*top);
            let topc =
                simforge_aka::tuak::topc(&k, &top, simforge_aka::tuak::KeccakIterations::ONE);
            Ok(VarKey::from_slice(topc.as_bytes()))
        }
    }
}
