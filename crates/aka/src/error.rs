//! The crate's single error type.

/// Everything that can go wrong in `simforge-aka`.
///
/// No variant ever carries (part of) a secret value: hex errors say which field was wrong,
/// never what was in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AkaError {
    /// A hex string contained something other than hex digits (or had an odd number of them).
    #[error("{what}: invalid hex encoding")]
    InvalidHex {
        /// Which value was being parsed (e.g. `"K"`, `"OPc"`).
        what: &'static str,
    },
    /// A value had the wrong length.
    #[error("{what}: expected {expected}, got {actual} bytes")]
    InvalidLength {
        /// Which value had the wrong length.
        what: &'static str,
        /// The lengths allowed, in words (e.g. `"16 or 32 bytes"`).
        expected: &'static str,
        /// The length that was given, in bytes.
        actual: usize,
    },
    /// An output length that the algorithm's specification does not allow.
    #[error("{what}: a length of {bits} bits is not allowed")]
    UnsupportedLength {
        /// Which output (e.g. `"TUAK MAC"`, `"RES for c2"`).
        what: &'static str,
        /// The length asked for, in bits.
        bits: u32,
    },
    /// The number of Keccak iterations for TUAK was zero (TS 35.231: at least 1).
    #[error("TUAK: the number of Keccak iterations must be at least 1")]
    InvalidKeccakIterations,
    /// A MILENAGE rotation constant outside 0..=127 (TS 35.206 §4).
    #[error("MILENAGE: rotation constant r{index} = {value} is outside 0..=127")]
    InvalidRotation {
        /// 1..=5
        index: u8,
        /// The rejected value.
        value: u8,
    },
    /// The network side could not verify MAC-S in an AUTS (TS 33.102 §6.3.5).
    #[error("AUTS: MAC-S verification failed")]
    AutsMacFailure,
}
