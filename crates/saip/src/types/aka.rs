//! Network access credentials: `PE-AKAParameter` (SAIP 8.4.1) and `PE-CDMAParameter`
//! (SAIP 8.4.2).
//!
//! Key material (K, OPc, A-Key, SSD, …) is redacted from `Debug` output.

use core::fmt;

use rasn::prelude::*;

use crate::types::common::{Extensions, PeHeader, saip_choice};

/// `AlgoParameter.algorithmID` value for MILENAGE.
pub const ALGORITHM_MILENAGE: u8 = 1;
/// `AlgoParameter.algorithmID` value for TUAK.
pub const ALGORITHM_TUAK: u8 = 2;
/// `AlgoParameter.algorithmID` value for the USIM test algorithm (TS 34.108).
pub const ALGORITHM_USIM_TEST: u8 = 3;

/// Default MILENAGE rotation constants r1..r5 (`'4000204060'H`).
pub const DEFAULT_ROTATION_CONSTANTS: [u8; 5] = [0x40, 0x00, 0x20, 0x40, 0x60];

/// Default MILENAGE XOR constants c1..c5 (c1 = 0, c2 = 1, c3 = 2, c4 = 4, c5 = 8).
pub const DEFAULT_XORING_CONSTANTS: [u8; 80] = {
    let mut c = [0u8; 80];
    c[31] = 1;
    c[47] = 2;
    c[63] = 4;
    c[79] = 8;
    c
};

/// Default `sqnOptions` (`'02'H`).
pub const DEFAULT_SQN_OPTIONS: u8 = 0x02;
/// Default `sqnDelta` / `sqnAgeLimit` (`'000010000000'H`).
pub const DEFAULT_SQN_DELTA: [u8; 6] = [0x00, 0x00, 0x10, 0x00, 0x00, 0x00];

/// `PE-AKAParameter` (automatic tags; the CHOICE `algoConfiguration` is explicitly tagged `[1]`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeAkaParameter {
    /// `aka-header`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `algoConfiguration CHOICE { mappingParameter, algoParameter }`.
    #[rasn(tag(explicit(context, 1)))]
    pub algo_configuration: AlgoConfiguration,
    /// `sqnOptions OCTET STRING (SIZE(1)) DEFAULT '02'H`.
    #[rasn(tag(context, 2))]
    pub sqn_options: Option<OctetString>,
    /// `sqnDelta OCTET STRING (SIZE(6)) DEFAULT '000010000000'H`.
    #[rasn(tag(context, 3))]
    pub sqn_delta: Option<OctetString>,
    /// `sqnAgeLimit OCTET STRING (SIZE(6)) DEFAULT '000010000000'H`.
    #[rasn(tag(context, 4))]
    pub sqn_age_limit: Option<OctetString>,
    /// `sqnInit SEQUENCE (SIZE (32)) OF OCTET STRING (SIZE (6))` (DEFAULT: all zero).
    #[rasn(tag(context, 5))]
    pub sqn_init: Option<Vec<OctetString>>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl PeAkaParameter {
    /// Effective `sqnOptions`.
    pub fn sqn_options_or_default(&self) -> u8 {
        self.sqn_options
            .as_ref()
            .and_then(|v| v.first().copied())
            .unwrap_or(DEFAULT_SQN_OPTIONS)
    }

    /// The `algoParameter` alternative, if that is what this PE carries.
    pub fn algo_parameter(&self) -> Option<&AlgoParameter> {
        match &self.algo_configuration {
            AlgoConfiguration::AlgoParameter(p) => Some(p),
            _ => None,
        }
    }

    /// Mutable access to the `algoParameter` alternative.
    pub fn algo_parameter_mut(&mut self) -> Option<&mut AlgoParameter> {
        match &mut self.algo_configuration {
            AlgoConfiguration::AlgoParameter(p) => Some(p),
            _ => None,
        }
    }
}

saip_choice! {
    /// `algoConfiguration CHOICE` of `PE-AKAParameter` (automatic tags `[0]`, `[1]`).
    #[derive(Debug)]
    pub enum AlgoConfiguration {
        /// `mappingParameter [0] MappingParameter`: reuse the key of another NAA.
        MappingParameter(MappingParameter) = Tag::new(Class::Context, 0), "mappingParameter";
        /// `algoParameter [1] AlgoParameter`: algorithm and keys.
        AlgoParameter(AlgoParameter) = Tag::new(Class::Context, 1), "algoParameter";
    }
}

/// `MappingParameter ::= SEQUENCE { mappingOptions OCTET STRING (SIZE(1)),
/// mappingSource ApplicationIdentifier }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct MappingParameter {
    /// `mappingOptions`.
    #[rasn(tag(context, 0))]
    pub mapping_options: OctetString,
    /// `mappingSource`: AID of the NAA whose parameters are reused.
    #[rasn(tag(context, 1))]
    pub mapping_source: OctetString,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `AlgoParameter` (automatic tags `[0]`…`[7]`).
#[derive(AsnType, Decode, Encode, Clone, PartialEq, Eq)]
pub struct AlgoParameter {
    /// `algorithmID INTEGER { milenage(1), tuak(2), usim-test-algorithm(3) }`.
    #[rasn(tag(context, 0))]
    pub algorithm_id: u8,
    /// `algorithmOptions OCTET STRING (SIZE(1))`.
    #[rasn(tag(context, 1))]
    pub algorithm_options: OctetString,
    /// `key OCTET STRING`: subscriber key K.
    #[rasn(tag(context, 2))]
    pub key: OctetString,
    /// `opc OCTET STRING`: OPc for MILENAGE, TOPc for TUAK.
    #[rasn(tag(context, 3))]
    pub opc: OctetString,
    /// `rotationConstants OCTET STRING (SIZE (5)) DEFAULT '4000204060'H` (MILENAGE only).
    #[rasn(tag(context, 4))]
    pub rotation_constants: Option<OctetString>,
    /// `xoringConstants OCTET STRING (SIZE (80)) DEFAULT c1..c5` (MILENAGE only).
    #[rasn(tag(context, 5))]
    pub xoring_constants: Option<OctetString>,
    /// `authCounterMax OCTET STRING (SIZE(3)) OPTIONAL`.
    #[rasn(tag(context, 6))]
    pub auth_counter_max: Option<OctetString>,
    /// `numberOfKeccak UInt8 DEFAULT 1` (TUAK only).
    #[rasn(tag(context, 7))]
    pub number_of_keccak: Option<u8>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl AlgoParameter {
    /// Effective rotation constants.
    pub fn rotation_constants_or_default(&self) -> Vec<u8> {
        self.rotation_constants
            .as_ref()
            .map_or_else(|| DEFAULT_ROTATION_CONSTANTS.to_vec(), |v| v.to_vec())
    }

    /// Effective XOR constants.
    pub fn xoring_constants_or_default(&self) -> Vec<u8> {
        self.xoring_constants
            .as_ref()
            .map_or_else(|| DEFAULT_XORING_CONSTANTS.to_vec(), |v| v.to_vec())
    }

    /// Effective number of Keccak iterations.
    pub fn number_of_keccak_or_default(&self) -> u8 {
        self.number_of_keccak.unwrap_or(1)
    }
}

impl fmt::Debug for AlgoParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlgoParameter")
            .field("algorithm_id", &self.algorithm_id)
            .field("algorithm_options", &self.algorithm_options)
            .field("key", &"<redacted>")
            .field("opc", &"<redacted>")
            .field("rotation_constants", &self.rotation_constants)
            .field("xoring_constants", &self.xoring_constants)
            .field("auth_counter_max", &self.auth_counter_max)
            .field("number_of_keccak", &self.number_of_keccak)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// `PE-CDMAParameter` (automatic tags `[0]`…`[5]`).
#[derive(AsnType, Decode, Encode, Clone, PartialEq, Eq)]
pub struct PeCdmaParameter {
    /// `cdma-header`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `authenticationKey OCTET STRING (SIZE(8))`: A-Key for CAVE.
    #[rasn(tag(context, 1))]
    pub authentication_key: OctetString,
    /// `ssd OCTET STRING (SIZE (16)) OPTIONAL`: SSD-A ‖ SSD-B.
    #[rasn(tag(context, 2))]
    pub ssd: Option<OctetString>,
    /// `hrpdAccessAuthenticationData OCTET STRING (SIZE (2..32)) OPTIONAL`.
    #[rasn(tag(context, 3))]
    pub hrpd_access_authentication_data: Option<OctetString>,
    /// `simpleIPAuthenticationData OCTET STRING (SIZE (3..483)) OPTIONAL`.
    #[rasn(tag(context, 4))]
    pub simple_ip_authentication_data: Option<OctetString>,
    /// `mobileIPAuthenticationData OCTET STRING (SIZE (5..957)) OPTIONAL`.
    #[rasn(tag(context, 5))]
    pub mobile_ip_authentication_data: Option<OctetString>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl fmt::Debug for PeCdmaParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeCdmaParameter")
            .field("header", &self.header)
            .field("authentication_key", &"<redacted>")
            .field("ssd", &self.ssd.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}
