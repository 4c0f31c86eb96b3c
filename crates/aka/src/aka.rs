//! The AKA procedure around the algorithm sets (3GPP TS 33.102 §6.3): authentication vectors
//! on the network side (HLR/AuC), AUTN verification and AUTS generation on the card side
//! (USIM), and SQN recovery from AUTS (resynchronisation) back on the network side.
//!
//! ```text
//! network: AK = f5(RAND)   AUTN = SQN ⊕ AK ‖ AMF ‖ f1(SQN, RAND, AMF)        (§6.3.2)
//!          AV = RAND ‖ XRES=f2 ‖ CK=f3 ‖ IK=f4 ‖ AUTN
//! USIM:    SQN = AUTN[0..6] ⊕ f5(RAND); check MAC-A; check SQN; RES, CK, IK  (§6.3.3)
//!          on an SQN failure: AUTS = SQN_MS ⊕ f5*(RAND) ‖ f1*(SQN_MS, RAND, AMF=0000)
//! network: SQN_MS = AUTS[0..6] ⊕ f5*(RAND); check MAC-S                       (§6.3.5)
//! ```

use core::fmt;

use crate::gsm::{c2, c3};
use crate::milenage::{Milenage, MilenageConstants};
use crate::octets::{Autn, Auts, Mac, Res};
use crate::secret::ct_eq;
use crate::tuak::{KeccakIterations, Tuak, TuakLengths};
use crate::xor::{self, Xdout};
use crate::{AkaError, Amf, K, Kc, Opc, Rand, SessionKey, Sqn, Topc};

/// The AMF used in the resynchronisation MAC-S: all zeros (TS 33.102 §6.3.3).
pub const RESYNC_AMF: Amf = [0, 0];

/// A subscriber's algorithm and its operator/card parameters — everything but K.
///
/// This is what an HLR stores next to K (and what a USIM keeps in its authentication
/// parameters). `Debug` redacts OPc/TOPc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// MILENAGE (TS 35.206).
    Milenage {
        /// The card's OPc.
        opc: Opc,
        /// r1..r5, c1..c5 (standard ones by default).
        constants: MilenageConstants,
    },
    /// TUAK (TS 35.231).
    Tuak {
        /// The card's TOPc.
        topc: Topc,
        /// Keccak iterations (1 by default).
        iterations: KeccakIterations,
        /// Output lengths.
        lengths: TuakLengths,
    },
    /// The 3GPP test algorithm (TS 34.108 §8.1.2, "XOR"), of test USIMs and test networks
    /// only: K is 128 bits, there are no operator parameters. See [`crate::xor`].
    TestXor {
        /// RES length in bytes, 4 ..= 16 ([`Algorithm::test_xor`]: 16, the whole XDOUT).
        res_bytes: u8,
    },
}

/// An authentication vector (quintet), TS 33.102 §6.3.2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthVector {
    /// The challenge.
    pub rand: Rand,
    /// The expected response (f2).
    pub xres: Res,
    /// Cipher key (f3).
    pub ck: SessionKey,
    /// Integrity key (f4).
    pub ik: SessionKey,
    /// The authentication token.
    pub autn: Autn,
}

impl AuthVector {
    /// SRES of the GSM triplet = c2(XRES) (TS 33.102 §6.8.1.2).
    pub fn sres(&self) -> Result<[u8; 4], AkaError> {
        c2(&self.xres)
    }

    /// Kc of the GSM triplet = c3(CK, IK) (TS 33.102 §6.8.1.2).
    pub fn kc(&self) -> Result<Kc, AkaError> {
        c3(self.ck.as_bytes(), self.ik.as_bytes())
    }
}

/// The USIM's result of a successful authentication (TS 33.102 §6.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSuccess {
    /// The response to send back (f2).
    pub res: Res,
    /// Cipher key (f3).
    pub ck: SessionKey,
    /// Integrity key (f4).
    pub ik: SessionKey,
    /// The SQN recovered from AUTN (already accepted if a check was given).
    pub sqn: Sqn,
    /// The AMF from AUTN (e.g. for the separation bit check of TS 33.401).
    pub amf: Amf,
}

impl AuthSuccess {
    /// Kc = c3(CK, IK), returned by a USIM in 3G context with GSM access (TS 33.102 §6.8.1.2).
    pub fn kc(&self) -> Result<Kc, AkaError> {
        c3(self.ck.as_bytes(), self.ik.as_bytes())
    }

    /// SRES = c2(RES) (TS 33.102 §6.8.1.2).
    pub fn sres(&self) -> Result<[u8; 4], AkaError> {
        c2(&self.res)
    }
}

/// Why the USIM rejected a challenge (TS 33.102 §6.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// XMAC ≠ MAC-A: the network (or the message) is not authentic.
    MacFailure,
    /// MAC-A was right but the SQN was refused; send AUTS to the network.
    SyncFailure {
        /// SQN_MS ⊕ AK* ‖ MAC-S.
        auts: Auts,
    },
    /// The inputs themselves were unusable (wrong K length for MILENAGE, wrong AUTN length).
    Invalid(AkaError),
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MacFailure => f.write_str("authentication failed: MAC-A mismatch"),
            Self::SyncFailure { auts } => write!(f, "synchronisation failure, AUTS {auts}"),
            Self::Invalid(e) => write!(f, "authentication input invalid: {e}"),
        }
    }
}

impl From<AkaError> for AuthFailure {
    fn from(e: AkaError) -> Self {
        Self::Invalid(e)
    }
}

/// The card's verdict on the SQN recovered from AUTN, given to
/// [`Algorithm::authenticate_with`] (TS 33.102 §6.3.3, annex C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqnCheck {
    /// SQN is in the correct range: go on.
    Accept,
    /// SQN is not acceptable: answer with AUTS built from the card's `sqn_ms` (its highest
    /// accepted SQN, SQN_MS).
    Resync {
        /// SQN_MS, the value the card reports.
        sqn_ms: Sqn,
    },
}

/// The f-functions of either algorithm for one K.
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived on the stack; boxing would allocate on every vector"
)]
enum Keyed {
    Milenage(Milenage),
    Tuak(Tuak),
    /// The test algorithm is keyed by (K, RAND) together: K alone, and the RES length.
    Xor {
        k: K,
        res_bytes: u8,
    },
}

struct F2345 {
    res: Res,
    ck: SessionKey,
    ik: SessionKey,
    ak: [u8; 6],
}

impl Keyed {
    fn f1(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> Result<Mac, AkaError> {
        Ok(match self {
            Self::Milenage(m) => Mac::concat(&[&m.f1(rand, sqn, amf)]),
            Self::Tuak(t) => t.f1(rand, sqn, amf),
            Self::Xor { k, .. } => Mac::concat(&[&Xdout::new(k, rand)?.f1(sqn, amf)]),
        })
    }

    fn f1star(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> Result<Mac, AkaError> {
        Ok(match self {
            Self::Milenage(m) => Mac::concat(&[&m.f1star(rand, sqn, amf)]),
            Self::Tuak(t) => t.f1star(rand, sqn, amf),
            Self::Xor { k, .. } => Mac::concat(&[&Xdout::new(k, rand)?.f1star(sqn, amf)]),
        })
    }

    fn f2345(&self, rand: &Rand) -> Result<F2345, AkaError> {
        Ok(match self {
            Self::Milenage(m) => {
                let o = m.f2345(rand);
                F2345 {
                    res: Res::concat(&[&o.res]),
                    ck: SessionKey::from_valid(&o.ck),
                    ik: SessionKey::from_valid(&o.ik),
                    ak: o.ak,
                }
            }
            Self::Tuak(t) => {
                let o = t.f2345(rand);
                F2345 {
                    res: o.res,
                    ck: o.ck,
                    ik: o.ik,
                    ak: o.ak,
                }
            }
            Self::Xor { k, res_bytes } => {
                let x = Xdout::new(k, rand)?;
                F2345 {
                    res: Res::concat(&[x.f2(*res_bytes)?]),
                    ck: SessionKey::from_valid(&x.f3()),
                    ik: SessionKey::from_valid(&x.f4()),
                    ak: x.f5(),
                }
            }
        })
    }

    fn f5star(&self, rand: &Rand) -> Result<[u8; 6], AkaError> {
        Ok(match self {
            Self::Milenage(m) => m.f5star(rand),
            Self::Tuak(t) => t.f5star(rand),
            Self::Xor { k, .. } => Xdout::new(k, rand)?.f5star(),
        })
    }

    fn mac_len(&self) -> usize {
        match self {
            Self::Milenage(_) | Self::Xor { .. } => 8,
            Self::Tuak(t) => t.lengths().mac.bytes(),
        }
    }
}

fn xor6(a: &[u8], b: &[u8; 6]) -> [u8; 6] {
    let mut out = [0u8; 6];
    for (i, o) in out.iter_mut().enumerate() {
        *o = a[i] ^ b[i];
    }
    out
}

impl Algorithm {
    /// MILENAGE with the standard constants.
    #[must_use]
    pub fn milenage(opc: Opc) -> Self {
        Self::Milenage {
            opc,
            constants: MilenageConstants::STANDARD,
        }
    }

    /// The 3GPP test algorithm (TS 34.108 §8.1.2) with a 128-bit RES (all of XDOUT, as
    /// libosmocore's and test networks' AuCs give it).
    #[must_use]
    pub fn test_xor() -> Self {
        Self::TestXor {
            res_bytes: xor::RES_MAX_BYTES,
        }
    }

    /// TUAK with one Keccak iteration and the default lengths (MAC 64, RES 64, CK/IK 128).
    #[must_use]
    pub fn tuak(topc: Topc) -> Self {
        Self::Tuak {
            topc,
            iterations: KeccakIterations::ONE,
            lengths: TuakLengths::default(),
        }
    }

    fn keyed(&self, k: &K) -> Result<Keyed, AkaError> {
        match self {
            Self::Milenage { opc, constants } => Ok(Keyed::Milenage(Milenage::with_constants(
                k, opc, *constants,
            )?)),
            Self::Tuak {
                topc,
                iterations,
                lengths,
            } => Ok(Keyed::Tuak(Tuak::new(k, topc, *iterations, *lengths))),
            Self::TestXor { res_bytes } => {
                if k.as_128().is_none() {
                    return Err(AkaError::InvalidLength {
                        what: "K (the 3GPP test algorithm needs 128 bits)",
                        expected: "16 bytes",
                        actual: k.as_bytes().len(),
                    });
                }
                if !(xor::RES_MIN_BYTES..=xor::RES_MAX_BYTES).contains(res_bytes) {
                    return Err(AkaError::UnsupportedLength {
                        what: "test algorithm RES",
                        bits: u32::from(*res_bytes) * 8,
                    });
                }
                Ok(Keyed::Xor {
                    k: k.clone(),
                    res_bytes: *res_bytes,
                })
            }
        }
    }

    /// Length of AUTN: 16 bytes, or 24/40 with a longer TUAK MAC.
    #[must_use]
    pub fn autn_len(&self) -> usize {
        6 + 2 + self.mac_len()
    }

    /// Length of AUTS: 14 bytes, or 22/38 with a longer TUAK MAC.
    #[must_use]
    pub fn auts_len(&self) -> usize {
        6 + self.mac_len()
    }

    fn mac_len(&self) -> usize {
        match self {
            Self::Milenage { .. } | Self::TestXor { .. } => 8,
            Self::Tuak { lengths, .. } => lengths.mac.bytes(),
        }
    }

    /// Network side: an authentication vector for (RAND, SQN, AMF) (TS 33.102 §6.3.2).
    ///
    /// Fails only for a 256-bit K with MILENAGE.
    pub fn generate_vector(
        &self,
        k: &K,
        rand: &Rand,
        sqn: &Sqn,
        amf: &Amf,
    ) -> Result<AuthVector, AkaError> {
        let f = self.keyed(k)?;
        let mac = f.f1(rand, sqn, amf)?;
        let o = f.f2345(rand)?;
        let conc = xor6(sqn, &o.ak);
        Ok(AuthVector {
            rand: *rand,
            xres: o.res,
            ck: o.ck,
            ik: o.ik,
            autn: Autn::concat(&[&conc, amf, &mac]),
        })
    }

    /// USIM side, accepting any SQN (TS 33.102 §6.3.3): recovers SQN, verifies MAC-A, computes
    /// RES, CK and IK. The caller checks [`AuthSuccess::sqn`] itself and, if it refuses it,
    /// answers with [`Algorithm::auts`].
    pub fn authenticate(
        &self,
        k: &K,
        rand: &Rand,
        autn: &[u8],
    ) -> Result<AuthSuccess, AuthFailure> {
        self.authenticate_with(k, rand, autn, |_, _| SqnCheck::Accept)
    }

    /// USIM side with the card's SQN check (TS 33.102 §6.3.3): recovers SQN = AUTN[0..6] ⊕ AK,
    /// verifies MAC-A (→ [`AuthFailure::MacFailure`]), then asks `check_sqn(SQN, AMF)`; on
    /// [`SqnCheck::Resync`] answers [`AuthFailure::SyncFailure`] with AUTS, otherwise computes
    /// RES, CK and IK.
    pub fn authenticate_with(
        &self,
        k: &K,
        rand: &Rand,
        autn: &[u8],
        check_sqn: impl FnOnce(&Sqn, &Amf) -> SqnCheck,
    ) -> Result<AuthSuccess, AuthFailure> {
        let f = self.keyed(k)?;
        if autn.len() != 8 + f.mac_len() {
            return Err(AuthFailure::Invalid(AkaError::InvalidLength {
                what: "AUTN",
                expected: "SQN⊕AK ‖ AMF ‖ MAC of the configured length",
                actual: autn.len(),
            }));
        }
        let o = f.f2345(rand)?;
        let sqn = xor6(&autn[0..6], &o.ak);
        let amf: Amf = [autn[6], autn[7]];
        let xmac = f.f1(rand, &sqn, &amf)?;
        if !ct_eq(&xmac, &autn[8..]) {
            return Err(AuthFailure::MacFailure);
        }
        match check_sqn(&sqn, &amf) {
            SqnCheck::Accept => Ok(AuthSuccess {
                res: o.res,
                ck: o.ck,
                ik: o.ik,
                sqn,
                amf,
            }),
            SqnCheck::Resync { sqn_ms } => Err(AuthFailure::SyncFailure {
                auts: auts_with(&f, rand, &sqn_ms)?,
            }),
        }
    }

    /// USIM side: AUTS = SQN_MS ⊕ f5*(RAND) ‖ f1*(SQN_MS, RAND, AMF = 0000) for a
    /// resynchronisation (TS 33.102 §6.3.3).
    pub fn auts(&self, k: &K, rand: &Rand, sqn_ms: &Sqn) -> Result<Auts, AkaError> {
        auts_with(&self.keyed(k)?, rand, sqn_ms)
    }

    /// Network side (HLR/AuC) of a resynchronisation (TS 33.102 §6.3.5): recovers SQN_MS from
    /// AUTS and the RAND it belongs to, and verifies MAC-S.
    pub fn resync(&self, k: &K, rand: &Rand, auts: &[u8]) -> Result<Sqn, AkaError> {
        let f = self.keyed(k)?;
        if auts.len() != 6 + f.mac_len() {
            return Err(AkaError::InvalidLength {
                what: "AUTS",
                expected: "SQN_MS⊕AK* ‖ MAC-S of the configured length",
                actual: auts.len(),
            });
        }
        let sqn_ms = xor6(&auts[0..6], &f.f5star(rand)?);
        let xmac_s = f.f1star(rand, &sqn_ms, &RESYNC_AMF)?;
        if ct_eq(&xmac_s, &auts[6..]) {
            Ok(sqn_ms)
        } else {
            Err(AkaError::AutsMacFailure)
        }
    }
}

fn auts_with(f: &Keyed, rand: &Rand, sqn_ms: &Sqn) -> Result<Auts, AkaError> {
    let conc = xor6(sqn_ms, &f.f5star(rand)?);
    let mac_s = f.f1star(rand, sqn_ms, &RESYNC_AMF)?;
    Ok(Auts::concat(&[&conc, &mac_s]))
}
