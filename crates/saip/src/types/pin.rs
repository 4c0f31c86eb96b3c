//! `PE-PINCodes` and `PE-PUKCodes` (SAIP section 8.4.3 / 8.4.4).
//!
//! PIN/PUK/ADM values are redacted from `Debug` output.

use core::fmt;

use rasn::prelude::*;

use crate::types::common::{Extensions, PeHeader, saip_choice};

/// Named values of `PINKeyReferenceValue` / `PUKKeyReferenceValue` (TS 102 221 key references).
pub mod key_ref {
    /// `pinAppl1` (global PIN1) / `pukAppl1`.
    pub const PIN_APPL1: u8 = 1;
    /// `adm1`: administrative key 1 (the "ADM" code).
    pub const ADM1: u8 = 10;
    /// `adm2`.
    pub const ADM2: u8 = 11;
    /// `adm3`.
    pub const ADM3: u8 = 12;
    /// `adm4`.
    pub const ADM4: u8 = 13;
    /// `adm5`.
    pub const ADM5: u8 = 14;
    /// `secondPINAppl1` (local PIN2 of application 1) / `secondPUKAppl1`.
    pub const SECOND_PIN_APPL1: u8 = 129;
    /// `adm6`.
    pub const ADM6: u8 = 138;
}

/// `PINConfiguration` (automatic tags `[0]`…`[4]`).
#[derive(AsnType, Decode, Encode, Clone, PartialEq, Eq)]
pub struct PinConfiguration {
    /// `keyReference PINKeyReferenceValue` (see [`key_ref`]).
    #[rasn(tag(context, 0))]
    pub key_reference: u8,
    /// `pinValue OCTET STRING (SIZE (8))`: digits as ASCII, padded with `FF`.
    #[rasn(tag(context, 1))]
    pub pin_value: OctetString,
    /// `unblockingPINReference PUKKeyReferenceValue OPTIONAL`.
    #[rasn(tag(context, 2))]
    pub unblocking_pin_reference: Option<u8>,
    /// `pinAttributes UInt8 DEFAULT 7`.
    #[rasn(tag(context, 3))]
    pub pin_attributes: Option<u8>,
    /// `maxNumOfAttemps-retryNumLeft UInt8 DEFAULT 51` (high nibble max, low nibble left).
    #[rasn(tag(context, 4))]
    pub max_num_of_attemps_retry_num_left: Option<u8>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl PinConfiguration {
    /// Effective `pinAttributes`.
    pub fn pin_attributes_or_default(&self) -> u8 {
        self.pin_attributes.unwrap_or(7)
    }

    /// Effective `maxNumOfAttemps-retryNumLeft`.
    pub fn max_attempts_or_default(&self) -> u8 {
        self.max_num_of_attemps_retry_num_left.unwrap_or(51)
    }
}

impl fmt::Debug for PinConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinConfiguration")
            .field("key_reference", &self.key_reference)
            .field("pin_value", &"<redacted>")
            .field("unblocking_pin_reference", &self.unblocking_pin_reference)
            .field("pin_attributes", &self.pin_attributes)
            .field(
                "max_num_of_attemps_retry_num_left",
                &self.max_num_of_attemps_retry_num_left,
            )
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// `PE-PINCodes` (automatic tags; the CHOICE `pinCodes` is explicitly tagged `[1]`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PePinCodes {
    /// `pin-Header`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `pinCodes CHOICE { pinconfig, filePath }`.
    #[rasn(tag(explicit(context, 1)))]
    pub pin_codes: PinCodes,
    /// Unknown extension components.
    pub extensions: Extensions,
}

saip_choice! {
    /// `pinCodes CHOICE` of `PE-PINCodes` (automatic tags `[0]`, `[1]`).
    #[derive(Debug)]
    pub enum PinCodes {
        /// `pinconfig SEQUENCE (SIZE (1..26)) OF PINConfiguration`: PINs of this DF/ADF.
        PinConfig(Vec<PinConfiguration>) = Tag::new(Class::Context, 0), "pinconfig";
        /// `filePath OCTET STRING (SIZE (0..8))`: share the PINs of another DF/ADF.
        FilePath(OctetString) = Tag::new(Class::Context, 1), "filePath";
    }
}

/// `PUKConfiguration` (automatic tags `[0]`…`[2]`).
#[derive(AsnType, Decode, Encode, Clone, PartialEq, Eq)]
pub struct PukConfiguration {
    /// `keyReference PUKKeyReferenceValue`.
    #[rasn(tag(context, 0))]
    pub key_reference: u8,
    /// `pukValue OCTET STRING (SIZE (8))`: ASCII digits.
    #[rasn(tag(context, 1))]
    pub puk_value: OctetString,
    /// `maxNumOfAttemps-retryNumLeft UInt8 DEFAULT 170`.
    #[rasn(tag(context, 2))]
    pub max_num_of_attemps_retry_num_left: Option<u8>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl PukConfiguration {
    /// Effective `maxNumOfAttemps-retryNumLeft`.
    pub fn max_attempts_or_default(&self) -> u8 {
        self.max_num_of_attemps_retry_num_left.unwrap_or(170)
    }
}

impl fmt::Debug for PukConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PukConfiguration")
            .field("key_reference", &self.key_reference)
            .field("puk_value", &"<redacted>")
            .field(
                "max_num_of_attemps_retry_num_left",
                &self.max_num_of_attemps_retry_num_left,
            )
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// `PE-PUKCodes` (automatic tags).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PePukCodes {
    /// `puk-Header`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `pukCodes SEQUENCE (SIZE (1..16)) OF PUKConfiguration`.
    #[rasn(tag(context, 1))]
    pub puk_codes: Vec<PukConfiguration>,
    /// Unknown extension components.
    pub extensions: Extensions,
}
