//! # simforge-saip — TCA eUICC Profile Package (SAIP) codec
//!
//! Encoder/decoder for the *eUICC Profile Package: Interoperable Format Technical
//! Specification* (TCA, a.k.a. SIMalliance "SAIP") version 3.3.1, ASN.1 module
//! `PEDefinitions` (`PE_Definitions-3.3.1.asn`). An unprotected profile package is a plain
//! concatenation of DER-encoded `ProfileElement`s: `ProfileHeader` first, `PE-End` last.
//!
//! * [`decode_profile`] / [`encode_profile`]: whole packages. Decoding accepts BER (including
//!   indefinite lengths); encoding produces DER. A DER package decodes and re-encodes
//!   byte-identically: `DEFAULT` components keep their presence (see [`types`]).
//! * [`ProfileElement::from_ber`] / [`ProfileElement::to_der`]: one element at a time (the
//!   eUICC installs element by element).
//! * [`elements`]: iterate over element TLV boundaries without decoding.
//! * [`Profile`]: personalization accessors (ICCID, IMSI, MILENAGE/TUAK keys, SQN options,
//!   PIN/PUK/ADM, security-domain keys).
//! * [`personalize()`]: complete personalization of any template with one card's data
//!   ([`ProfileSpec`]): every NAA's AKA parameters, every PIN/PUK/ADM, every security domain key,
//!   the identity files and the header's algorithm services; refuses, naming the element, a
//!   template secret the card data cannot replace.
//!
//! ```
//! use simforge_saip::{Extensions, PeEnd, PeHeader, ProfileElement, decode_profile, encode_profile};
//!
//! let end = ProfileElement::End(PeEnd { header: PeHeader::new(1), extensions: Extensions::new() });
//! let der = encode_profile(std::slice::from_ref(&end))?;
//! assert_eq!(der, [0xAA, 0x05, 0xA0, 0x03, 0x81, 0x01, 0x01]); // [10] { [0] { [1] 1 } }
//! assert_eq!(decode_profile(&der)?, vec![end]);
//! # Ok::<(), simforge_saip::Error>(())
//! ```
//!
//! Personalizing a template (the SM-DP+ side):
//!
//! ```no_run
//! # fn demo(template: &[u8]) -> Result<Vec<u8>, simforge_saip::Error> {
//! let mut profile = simforge_saip::Profile::decode(template)?;
//! profile.set_iccid("8944476000000000123")?;
//! profile.set_imsi("001019876543210")?;
//! profile.set_milenage(&[0x11; 16], &[0x22; 16])?;
//! profile.set_pin(simforge_saip::key_ref::PIN_APPL1, b"4321")?;
//! profile.encode()
//! # }
//! ```
//!
//! Forward compatibility (the module is `EXTENSIBILITY IMPLIED`): unknown trailing components
//! of any SEQUENCE are kept in an [`Extensions`] field, unknown alternatives of the inner
//! CHOICEs in an `Unknown` variant and unknown top-level PEs as
//! [`ProfileElement::Unknown`]; all of them are re-encoded verbatim.
//!
//! The Rust types are built on [`rasn`] derives. They were written from the ASN.1 module
//! (the file-system templates with a small generator) rather than taken verbatim from
//! `rasn-compiler`, to fix what a generic generator gets wrong for this module: tags on
//! CHOICE components are explicit, automatic tagging applies only to SEQUENCEs/CHOICEs
//! without any tagged component, and `DEFAULT` presence must survive a round trip.

pub mod build;
pub mod element;
pub mod personalize;
pub mod profile;
pub mod tlv;
pub mod types;

pub use build::{AkaAlgorithm, OtaKeyType, OtaKeys, ProfileSpec, build_profile, build_profile_der};
pub use element::ProfileElement;
pub use personalize::{CdmaCredentials, personalize};
pub use profile::Profile;
pub use tlv::{Elements, RawElement, TagClass, elements};
pub use types::*;

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The TLV structure itself is malformed (truncated, bad length, …).
    #[error("malformed TLV at offset {offset}: {reason}")]
    Tlv {
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A profile element could not be decoded.
    #[error("cannot decode profile element #{index} ({element}) at offset {offset}: {message}")]
    Decode {
        /// Index of the element in the package.
        index: usize,
        /// Byte offset of the element.
        offset: usize,
        /// ASN.1 name of the alternative (`?` if unknown).
        element: &'static str,
        /// Decoder message.
        message: String,
    },
    /// A profile element could not be encoded.
    #[error("cannot encode profile element {element}: {message}")]
    Encode {
        /// ASN.1 name of the alternative.
        element: &'static str,
        /// Encoder message.
        message: String,
    },
    /// A value passed to an accessor is not acceptable.
    #[error("invalid {field}: {reason}")]
    InvalidValue {
        /// What was being set.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The profile lacks an element an accessor needs.
    #[error("profile has no {0}")]
    MissingElement(&'static str),
    /// A template holds a secret, code or algorithm the card data cannot replace
    /// ([`personalize()`]): the element is named, e.g. `securityDomain #1 (PE 25,
    /// identification 24) keyList key KVN 0x03 id 0x03 (KIK of set 3)`.
    #[error("template {element}: {reason}")]
    Unreplaceable {
        /// The template element, located by PE name, ordinal and position.
        element: String,
        /// Why it cannot be personalized.
        reason: String,
    },
}

/// Decodes a profile package (a concatenation of BER/DER `ProfileElement`s).
pub fn decode_profile(bytes: &[u8]) -> Result<Vec<ProfileElement>, Error> {
    let mut out = Vec::new();
    for (index, raw) in elements(bytes).enumerate() {
        out.push(ProfileElement::decode_raw(&raw?, index)?);
    }
    Ok(out)
}

/// Encodes profile elements into a DER profile package.
pub fn encode_profile(elements: &[ProfileElement]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for pe in elements {
        pe.encode_into(&mut out)?;
    }
    Ok(out)
}
