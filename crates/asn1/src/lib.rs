//! # simforge-asn1
//!
//! GSMA SGP.22 v2.x (Remote SIM Provisioning, consumer) message types and
//! codecs, with no I/O:
//!
//! - [`rsp`]: the ASN.1 messages of ES8+, ES9+, ES10a/b/c and ES11 and the
//!   BoundProfilePackage container, DER encoding and BER decoding (including
//!   indefinite lengths) through [`to_der`] / [`from_ber`]. Unknown extension
//!   fields and CHOICE alternatives from newer peers are kept, not fatal.
//! - [`ids`]: [`Eid`], [`Iccid`], [`TransactionId`], [`MatchingId`], built only by parsing,
//!   each accepting every form SGP.22 allows and keeping one canonical form.
//! - [`json`]: the ES9+/ES11 (SGP.22 §6.5) and ES2+ (§5.3) JSON bodies.
//! - [`status`]: [`StatusCode`] with the SGP.22 subject/reason codes.
//! - [`activation`]: activation codes (SGP.22 §4.1) and their QR codes.
//! - [`signed`]: the signed parts of messages as received, for signature checks.
//!
//! ```
//! use simforge_asn1::rsp::{EuiccInfo1, VersionType};
//! use simforge_asn1::{ActivationCode, Extensions, from_ber, to_der};
//!
//! let info = EuiccInfo1 {
//!     svn: VersionType::new(2, 2, 2),
//!     euicc_ci_pkid_list_for_verification: vec![vec![0x81; 20].into()],
//!     euicc_ci_pkid_list_for_signing: vec![vec![0x81; 20].into()],
//!     extensions: Extensions::default(),
//! };
//! let der = to_der(&info)?;
//! assert_eq!(&der[..2], &[0xBF, 0x20]);
//! assert_eq!(from_ber::<EuiccInfo1>(&der)?, info);
//!
//! let ac = ActivationCode::parse("LPA:1$rsp.example.com$04386-AGYFT-A74Y8-3F815$$1")?;
//! assert!(ac.confirmation_code_required());
//! assert_eq!(ac.to_string(), "1$rsp.example.com$04386-AGYFT-A74Y8-3F815$$1");
//! # Ok::<(), simforge_asn1::Error>(())
//! ```

#![warn(missing_docs)]

pub mod activation;
pub mod codec;
pub mod ids;
pub mod json;
pub mod rsp;
pub mod signed;
pub mod status;

pub use codec::{Extensions, Tlv, from_ber, to_der};
pub use rasn;

pub use activation::ActivationCode;
pub use ids::{Eid, Iccid, MatchingId, TransactionId};
pub use status::StatusCode;

/// Every error this crate returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// rasn refused to encode a value.
    #[error("ASN.1 encoding failed: {0}")]
    Encode(String),
    /// Malformed BER/DER for the named type.
    #[error("ASN.1 decoding of {what} failed: {reason}")]
    Decode {
        /// The Rust type that was being decoded.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A raw TLV could not be read.
    #[error("malformed TLV: {0}")]
    Tlv(String),
    /// Not a valid EID.
    #[error("invalid EID: {0}")]
    InvalidEid(String),
    /// Not a valid ICCID.
    #[error("invalid ICCID: {0}")]
    InvalidIccid(String),
    /// Not a valid TransactionID.
    #[error("invalid transactionId: {0}")]
    InvalidTransactionId(String),
    /// Not a valid MatchingID.
    #[error("invalid matchingId: {0}")]
    InvalidMatchingId(String),
    /// Not a valid activation code.
    #[error("invalid activation code: {0}")]
    InvalidActivationCode(String),
    /// Not a valid subject/reason status code.
    #[error("invalid status code: {0}")]
    InvalidStatusCode(String),
    /// A JSON body (or one of its fields) is malformed.
    #[error("JSON field `{field}`: {reason}")]
    Json {
        /// The JSON path of the field (`$` for the body itself).
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// A QR code could not be built (e.g. data too long).
    #[error("QR code: {0}")]
    QrCode(String),
}
