//! The remaining PEs and module types: `PE-NonStandard`, `PE-End`, `PE-Dummy`,
//! `PEStatus`, `EUICCResponse` and `UICCCapability`.

use rasn::prelude::*;

use crate::types::common::{Extensions, PeHeader};

/// `PE-NonStandard` (SAIP 8.9): proprietary content identified by an issuer OID.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeNonStandard {
    /// `nonStandard-header`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `issuerID OBJECT IDENTIFIER`.
    #[rasn(tag(context, 1))]
    pub issuer_id: ObjectIdentifier,
    /// `content OCTET STRING`.
    #[rasn(tag(context, 2))]
    pub content: OctetString,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `PE-End` (SAIP 8.10): last PE of every package.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct PeEnd {
    /// `end-header`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `PE-Dummy ::= SEQUENCE {}`: placeholder type of the reserved `rfu1`…`rfu5` alternatives.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct PeDummy {
    /// Components defined by future versions.
    pub extensions: Extensions,
}

/// Named values of `PEStatus.status`.
pub mod pe_status {
    /// `ok`.
    pub const OK: u16 = 0;
    /// `pe-not-supported`.
    pub const PE_NOT_SUPPORTED: u16 = 1;
    /// `memory-failure`.
    pub const MEMORY_FAILURE: u16 = 2;
    /// `bad-values`.
    pub const BAD_VALUES: u16 = 3;
    /// `not-enough-memory`.
    pub const NOT_ENOUGH_MEMORY: u16 = 4;
    /// `invalid-request-format`.
    pub const INVALID_REQUEST_FORMAT: u16 = 5;
    /// `invalid-parameter`.
    pub const INVALID_PARAMETER: u16 = 6;
    /// `runtime-not-supported`.
    pub const RUNTIME_NOT_SUPPORTED: u16 = 7;
    /// `lib-not-supported`.
    pub const LIB_NOT_SUPPORTED: u16 = 8;
    /// `template-not-supported`.
    pub const TEMPLATE_NOT_SUPPORTED: u16 = 9;
    /// `feature-not-supported`.
    pub const FEATURE_NOT_SUPPORTED: u16 = 10;
    /// `pin-code-missing`.
    pub const PIN_CODE_MISSING: u16 = 11;
    /// `unsupported-profile-version`.
    pub const UNSUPPORTED_PROFILE_VERSION: u16 = 31;
}

/// `PEStatus` (SAIP 8.11): per-PE installation result (automatic tags).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeStatus {
    /// `status INTEGER {...}` (see [`pe_status`]; ISO 7816 and proprietary values up to 65535).
    #[rasn(tag(context, 0))]
    pub status: u16,
    /// `identification UInt15 OPTIONAL`: PE that triggered the error.
    #[rasn(tag(context, 1))]
    pub identification: Option<u16>,
    /// `additional-information UInt8 OPTIONAL`.
    #[rasn(tag(context, 2))]
    pub additional_information: Option<u8>,
    /// `offset UInt31 OPTIONAL`.
    #[rasn(tag(context, 3))]
    pub offset: Option<u32>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `EUICCResponse` (SAIP 8.11): the eUICC's answer to a profile installation.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EuiccResponse {
    /// `peStatus SEQUENCE OF PEStatus`.
    #[rasn(tag(context, 0))]
    pub pe_status: Vec<PeStatus>,
    /// `profileInstallationAborted NULL OPTIONAL`.
    #[rasn(tag(context, 1))]
    pub profile_installation_aborted: Option<()>,
    /// `statusMessage UTF8String (SIZE (2..64)) OPTIONAL`.
    #[rasn(tag(context, 2))]
    pub status_message: Option<Utf8String>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `UICCCapability ::= BIT STRING {...}` (exported to SGP.22 for eligibility checks).
/// Bit positions are the named bits of the module, see [`uicc_capability`].
pub type UiccCapability = BitString;

/// Named bits of [`UiccCapability`].
pub mod uicc_capability {
    /// `contactlessSupport(0)`.
    pub const CONTACTLESS_SUPPORT: usize = 0;
    /// `usimSupport(1)`.
    pub const USIM_SUPPORT: usize = 1;
    /// `isimSupport(2)`.
    pub const ISIM_SUPPORT: usize = 2;
    /// `csimSupport(3)`.
    pub const CSIM_SUPPORT: usize = 3;
    /// `akaMilenage(4)`.
    pub const AKA_MILENAGE: usize = 4;
    /// `akaCave(5)`.
    pub const AKA_CAVE: usize = 5;
    /// `akaTuak128(6)`.
    pub const AKA_TUAK128: usize = 6;
    /// `akaTuak256(7)`.
    pub const AKA_TUAK256: usize = 7;
    /// `usimTestAlgorithm(8)`.
    pub const USIM_TEST_ALGORITHM: usize = 8;
    /// `gbaAuthenUsim(10)`.
    pub const GBA_AUTHEN_USIM: usize = 10;
    /// `javacard(14)`.
    pub const JAVACARD: usize = 14;
    /// `berTlvFileSupport(19)`.
    pub const BER_TLV_FILE_SUPPORT: usize = 19;
    /// `getIdentity(22)`.
    pub const GET_IDENTITY: usize = 22;
    /// `profile-a-x25519(23)`.
    pub const PROFILE_A_X25519: usize = 23;
    /// `profile-b-p256(24)`.
    pub const PROFILE_B_P256: usize = 24;
    /// `suciCalculatorApi(25)`.
    pub const SUCI_CALCULATOR_API: usize = 25;
    /// `eaka(30)`.
    pub const EAKA: usize = 30;
    /// `iotminimal(31)`.
    pub const IOT_MINIMAL: usize = 31;
}
