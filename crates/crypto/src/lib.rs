//! SGP.22 (GSMA RSP) cryptography for simforge, behind traits so that keys can later live in
//! a PKCS#11 HSM.
//!
//! * [`provider`]: the [`Signer`], [`KeyAgreement`], [`Random`] and [`Clock`] traits.
//! * [`soft`]: the software provider — NIST P-256 on aws-lc-rs, brainpoolP256r1 on RustCrypto —
//!   and the signature [`verify`] function.
//! * [`signature`]: plain `r‖s` signatures and their DER form.
//! * [`keys`]: curves, PKCS#8 / SEC1 private keys, public keys from SPKI and certificates.
//! * [`kdf`]: the X9.63 KDF and BSP session keys (SGP.22 Annex G).
//! * [`bsp`]: the BPP Protection Protocol (SCP03t) for both ends.
//! * [`bpp`]: BoundProfilePackage build, parse and the LPA's segmentation.
//! * [`tlv`]: a small non-panicking BER-TLV reader and writer.
//!
//! No wall clock and no hidden randomness inside: the callers inject a [`Random`] (and a
//! [`Clock`] where needed). Private keys and session keys zeroize and print as `<redacted>`.

pub mod bpp;
pub mod bsp;
pub mod error;
pub mod kdf;
pub mod keys;
pub mod provider;
pub mod signature;
pub mod soft;
pub mod tlv;

pub use bpp::{
    BppBuildParams, BppLoader, BppVerifyParams, BuiltBpp, InitialiseSecureChannel, LoadProgress,
    ParsedBpp, ProfileSource, UnprotectedBpp, build_bpp, parse_bpp, parse_bpp_parts,
    protect_profile, segment_bpp,
};
pub use bsp::{BspSession, MAX_SEGMENT_LEN};
pub use error::{Error, Result};
pub use kdf::{SessionKeys, derive_session_keys};
pub use keys::{Curve, EcPrivateKey};
pub use provider::{
    Clock, EphemeralKeyHandle, EphemeralSecret, FixedClock, KeyAgreement, Random, SharedSecret,
    Signer, SystemClock, UnixTime,
};
pub use signature::Signature;
pub use soft::{SoftwareKeyAgreement, SoftwareSigner, SystemRandom, verify};
