//! The crate's single error type.

/// Everything that can go wrong in `simforge-crypto`.
///
/// The BSP variants are deliberately distinct (bad MAC, bad padding, bad length, out of order,
/// too large) so an eUICC can map them onto the right ProfileInstallationResult reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A BER-TLV structure is malformed (truncated, bad length, bad tag, …).
    #[error("malformed TLV: {0}")]
    Tlv(&'static str),
    /// A TLV carried another tag than the one required at this position.
    #[error("unexpected tag {found:#X} (expected {expected:#X})")]
    UnexpectedTag {
        /// The tag that was required.
        expected: u32,
        /// The tag that was found.
        found: u32,
    },
    /// A signature is not well-formed (wrong length, bad DER, zero or oversized integer).
    #[error("malformed signature: {0}")]
    MalformedSignature(&'static str),
    /// A well-formed signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A public key is not a valid point on the curve in question.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// A private key could not be loaded.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(&'static str),
    /// The curve (or key type / key length) is not supported.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// Two keys that must be on the same curve are not.
    #[error("curve mismatch")]
    CurveMismatch,
    /// ECDH failed (peer key invalid for the handle's curve, or backend failure).
    #[error("key agreement failed")]
    KeyAgreement,
    /// The random source failed.
    #[error("random source failed")]
    Random,
    /// BSP: the C-MAC of a segment did not verify.
    #[error("BSP: MAC verification failed")]
    BadMac,
    /// BSP: the decrypted data does not end in a valid `80 00…` padding.
    #[error("BSP: bad padding")]
    BadPadding,
    /// BSP: a segment has an impossible length (e.g. ciphertext not a multiple of 16).
    #[error("BSP: bad segment length: {0}")]
    BadLength(&'static str),
    /// A segment or BPP part arrived in the wrong place or order.
    #[error("out of order: {0}")]
    OutOfOrder(&'static str),
    /// A BSP segment is larger than the limit (1020 bytes by default).
    #[error("BSP segment of {len} bytes exceeds the limit of {max}")]
    SegmentTooLarge {
        /// Length of the whole segment (tag, length, value).
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The content of a BPP or InitialiseSecureChannelRequest is invalid.
    #[error("BPP: {0}")]
    Bpp(&'static str),
    /// A caller-supplied argument is invalid.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// PEM decoding failed.
    #[error("PEM: {0}")]
    Pem(&'static str),
    /// A key-holding backend (software or HSM) failed.
    #[error("crypto backend: {0}")]
    Backend(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
