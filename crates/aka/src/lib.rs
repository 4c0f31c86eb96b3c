//! # simforge-aka — 3GPP authentication algorithms
//!
//! Pure functions, no I/O:
//!
//! * [`milenage`] — MILENAGE f1, f1*, f2, f3, f4, f5, f5* and OPc (3GPP TS 35.206; test data
//!   TS 35.208), with the standard or operator-chosen constants.
//! * [`tuak`] — TUAK f1, f1*, f2, f3, f4, f5, f5* and TOPc (3GPP TS 35.231; test data
//!   TS 35.233), 128/256-bit K, every output length, any number of Keccak iterations.
//! * [`xor`] — the 3GPP test algorithm of test USIMs and test networks (TS 34.108 §8.1.2,
//!   "XOR"; `algorithmID` 3 of SAIP / TS.48 profiles), no cryptographic strength.
//! * [`aka`] — the AKA procedure of TS 33.102 §6.3 on top of any of them: [`Algorithm`] with
//!   [`Algorithm::generate_vector`] (HLR/AuC), [`Algorithm::authenticate`] /
//!   [`Algorithm::authenticate_with`] (USIM), [`Algorithm::auts`] and [`Algorithm::resync`].
//! * [`gsm`] — the conversion functions c2 (SRES) and c3 (Kc), TS 33.102 §6.8.1.2.
//!
//! Secrets ([`K`], [`Op`], [`Opc`], [`Top`], [`Topc`], [`SessionKey`], [`Kc`]) zeroize on
//! drop, print as `<redacted>` and never appear in errors.
//!
//! ```
//! use simforge_aka::{Algorithm, K, Op, milenage};
//!
//! let k = K::from_hex("465b5ce8b199b49faa5f0a2ee238a6bc")?;
//! let op = Op::from_hex("cdc202d5123e20f62b6d676ac72cb318")?;
//! let opc = milenage::opc(&k, &op)?;
//! let alg = Algorithm::milenage(opc);
//! let rand = [0x23; 16];
//! let av = alg.generate_vector(&k, &rand, &simforge_aka::sqn_from_u64(32), &[0x80, 0x00])?;
//! let ok = alg.authenticate(&k, &rand, &av.autn).expect("genuine AUTN");
//! assert_eq!(ok.res, av.xres);
//! assert_eq!(simforge_aka::sqn_to_u64(&ok.sqn), 32);
//! # Ok::<(), simforge_aka::AkaError>(())
//! ```

pub mod aka;
mod error;
pub mod gsm;
mod hex;
pub mod milenage;
mod octets;
mod secret;
pub mod tuak;
pub mod xor;

pub use aka::{Algorithm, AuthFailure, AuthSuccess, AuthVector, SqnCheck};
pub use error::AkaError;
pub use octets::{Autn, Auts, Mac, Octets, Res};
pub use secret::{K, Kc, Op, Opc, SessionKey, Top, Topc};

/// RAND, the 128-bit random challenge.
pub type Rand = [u8; 16];
/// SQN, the 48-bit sequence number (big-endian).
pub type Sqn = [u8; 6];
/// AMF, the 16-bit authentication management field.
pub type Amf = [u8; 2];

/// The largest SQN (2^48 - 1).
pub const SQN_MAX: u64 = (1 << 48) - 1;

/// SQN from an integer; bits above the 48th are dropped.
#[must_use]
pub fn sqn_from_u64(v: u64) -> Sqn {
    let b = (v & SQN_MAX).to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// SQN as an integer.
#[must_use]
pub fn sqn_to_u64(sqn: &Sqn) -> u64 {
    let mut b = [0u8; 8];
    b[2..].copy_from_slice(sqn);
    u64::from_be_bytes(b)
}
