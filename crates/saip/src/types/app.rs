//! GlobalPlatform-related profile elements: `PE-SecurityDomain` (SAIP 8.6),
//! `PE-Application` (8.7), `PE-RFM` (8.8) and the types they use.
//!
//! Several of these SEQUENCEs carry explicit tags on some components, which (X.680 25.3)
//! switches automatic tagging off for the whole SEQUENCE: untagged components then keep their
//! universal tags (e.g. `processData` is a plain `30`, `uiccAccessDomain` a plain `04`).
//! Key data is redacted from `Debug` output.

use core::fmt;

use rasn::prelude::*;

use crate::types::common::{Extensions, PeHeader};

/// `PE-SecurityDomain` (automatic tags `[0]`…`[5]`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeSecurityDomain {
    /// `sd-Header`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `instance ApplicationInstance`: the SD instance to create (SAIP 8.7.3).
    #[rasn(tag(context, 1))]
    pub instance: ApplicationInstance,
    /// `keyList SEQUENCE (SIZE (1..MAX)) OF KeyObject OPTIONAL` (SAIP 8.6.3).
    #[rasn(tag(context, 2))]
    pub key_list: Option<Vec<KeyObject>>,
    /// `sdPersoData SEQUENCE (SIZE (1..MAX)) OF OCTET STRING OPTIONAL`: STORE DATA payloads.
    #[rasn(tag(context, 3))]
    pub sd_perso_data: Option<Vec<OctetString>>,
    /// `openPersoData SEQUENCE {...} OPTIONAL` (SAIP 8.6.6).
    #[rasn(tag(context, 4))]
    pub open_perso_data: Option<OpenPersoData>,
    /// `catTpParameters SEQUENCE {...} OPTIONAL` (SAIP 8.6.7).
    #[rasn(tag(context, 5))]
    pub cat_tp_parameters: Option<CatTpParameters>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl PeSecurityDomain {
    /// The key object with the given key version number and key identifier.
    pub fn key(&self, kvn: u8, kid: u8) -> Option<&KeyObject> {
        self.key_list.as_ref()?.iter().find(|k| k.is(kvn, kid))
    }

    /// Mutable access to the key object with the given KVN and key identifier.
    pub fn key_mut(&mut self, kvn: u8, kid: u8) -> Option<&mut KeyObject> {
        self.key_list.as_mut()?.iter_mut().find(|k| k.is(kvn, kid))
    }
}

/// `openPersoData` of `PE-SecurityDomain`. `restrictParameter` is tagged, so
/// `contactlessProtocolParameters` keeps the universal OCTET STRING tag.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenPersoData {
    /// `restrictParameter [PRIVATE 25] OCTET STRING (SIZE(1)) OPTIONAL`.
    #[rasn(tag(private, 25))]
    pub restrict_parameter: Option<OctetString>,
    /// `contactlessProtocolParameters OCTET STRING OPTIONAL`.
    pub contactless_protocol_parameters: Option<OctetString>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `catTpParameters` of `PE-SecurityDomain` (automatic tags).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct CatTpParameters {
    /// `catTpMaxSduSize UInt16`.
    #[rasn(tag(context, 0))]
    pub cat_tp_max_sdu_size: u16,
    /// `catTpMaxPduSize UInt16`.
    #[rasn(tag(context, 1))]
    pub cat_tp_max_pdu_size: u16,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `KeyObject` (SAIP 8.6.3, GP key information). Components carry their own tags;
/// `keyComponents` is a plain SEQUENCE OF.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct KeyObject {
    /// `keyUsageQualifier [21] OCTET STRING (SIZE (1..2))` (GPCS 11.1.9).
    #[rasn(tag(context, 21))]
    pub key_usage_qualifier: OctetString,
    /// `keyAccess [22] OCTET STRING (SIZE (1)) DEFAULT '00'H`.
    #[rasn(tag(context, 22))]
    pub key_access: Option<OctetString>,
    /// `keyIdentifier [2] OCTET STRING (SIZE (1))`.
    #[rasn(tag(context, 2))]
    pub key_identifier: OctetString,
    /// `keyVersionNumber [3] OCTET STRING (SIZE (1))`.
    #[rasn(tag(context, 3))]
    pub key_version_number: OctetString,
    /// `keyCounterValue [5] OCTET STRING OPTIONAL`.
    #[rasn(tag(context, 5))]
    pub key_counter_value: Option<OctetString>,
    /// `keyComponents SEQUENCE (SIZE (1..MAX)) OF SEQUENCE {...}`.
    pub key_components: Vec<KeyComponent>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl KeyObject {
    fn is(&self, kvn: u8, kid: u8) -> bool {
        self.key_version_number.as_ref() == [kvn] && self.key_identifier.as_ref() == [kid]
    }
}

/// Element of `KeyObject.keyComponents`.
#[derive(AsnType, Decode, Encode, Clone, PartialEq, Eq)]
pub struct KeyComponent {
    /// `keyType [0] OCTET STRING` (GP key type, e.g. `88` AES, `80` DES).
    #[rasn(tag(context, 0))]
    pub key_type: OctetString,
    /// `keyData [6] OCTET STRING`: the key value.
    #[rasn(tag(context, 6))]
    pub key_data: OctetString,
    /// `macLength [7] UInt8 DEFAULT 8`.
    #[rasn(tag(context, 7))]
    pub mac_length: Option<u8>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl fmt::Debug for KeyComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyComponent")
            .field("key_type", &self.key_type)
            .field("key_data", &"<redacted>")
            .field("mac_length", &self.mac_length)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// `PE-Application` (SAIP 8.7, automatic tags).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeApplication {
    /// `app-Header`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `loadBlock ApplicationLoadPackage OPTIONAL`.
    #[rasn(tag(context, 1))]
    pub load_block: Option<ApplicationLoadPackage>,
    /// `instanceList SEQUENCE (SIZE (1..MAX)) OF ApplicationInstance OPTIONAL`.
    #[rasn(tag(context, 2))]
    pub instance_list: Option<Vec<ApplicationInstance>>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `ApplicationLoadPackage` (SAIP 8.7.2; GP INSTALL [for load] + LOAD).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ApplicationLoadPackage {
    /// `loadPackageAID [APPLICATION 15] ApplicationIdentifier`.
    #[rasn(tag(application, 15))]
    pub load_package_aid: OctetString,
    /// `securityDomainAID [APPLICATION 15] ApplicationIdentifier OPTIONAL`.
    #[rasn(tag(application, 15))]
    pub security_domain_aid: Option<OctetString>,
    /// `nonVolatileCodeLimitC6 [PRIVATE 6] OCTET STRING OPTIONAL`.
    #[rasn(tag(private, 6))]
    pub non_volatile_code_limit_c6: Option<OctetString>,
    /// `volatileDataLimitC7 [PRIVATE 7] OCTET STRING OPTIONAL`.
    #[rasn(tag(private, 7))]
    pub volatile_data_limit_c7: Option<OctetString>,
    /// `nonVolatileDataLimitC8 [PRIVATE 8] OCTET STRING OPTIONAL`.
    #[rasn(tag(private, 8))]
    pub non_volatile_data_limit_c8: Option<OctetString>,
    /// `hashValue [PRIVATE 1] OCTET STRING OPTIONAL`.
    #[rasn(tag(private, 1))]
    pub hash_value: Option<OctetString>,
    /// `loadBlockObject [PRIVATE 4] OCTET STRING`: the CAP/IJC load file.
    #[rasn(tag(private, 4))]
    pub load_block_object: OctetString,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `ApplicationInstance` (SAIP 8.7.3; GP INSTALL [for install]).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ApplicationInstance {
    /// `applicationLoadPackageAID [APPLICATION 15] ApplicationIdentifier`.
    #[rasn(tag(application, 15))]
    pub application_load_package_aid: OctetString,
    /// `classAID [APPLICATION 15] ApplicationIdentifier`.
    #[rasn(tag(application, 15))]
    pub class_aid: OctetString,
    /// `instanceAID [APPLICATION 15] ApplicationIdentifier`.
    #[rasn(tag(application, 15))]
    pub instance_aid: OctetString,
    /// `extraditeSecurityDomainAID [APPLICATION 15] ApplicationIdentifier OPTIONAL`.
    #[rasn(tag(application, 15))]
    pub extradite_security_domain_aid: Option<OctetString>,
    /// `applicationPrivileges [2] OCTET STRING`.
    #[rasn(tag(context, 2))]
    pub application_privileges: OctetString,
    /// `lifeCycleState [3] OCTET STRING (SIZE(1)) DEFAULT '07'H`.
    #[rasn(tag(context, 3))]
    pub life_cycle_state: Option<OctetString>,
    /// `applicationSpecificParametersC9 [PRIVATE 9] OCTET STRING`.
    #[rasn(tag(private, 9))]
    pub application_specific_parameters_c9: OctetString,
    /// `systemSpecificParameters [PRIVATE 15] ApplicationSystemParameters OPTIONAL`.
    #[rasn(tag(private, 15))]
    pub system_specific_parameters: Option<ApplicationSystemParameters>,
    /// `applicationParameters [PRIVATE 10] UICCApplicationParameters OPTIONAL`.
    #[rasn(tag(private, 10))]
    pub application_parameters: Option<UiccApplicationParameters>,
    /// `processData SEQUENCE (SIZE (1..MAX)) OF OCTET STRING OPTIONAL`: APDUs to process.
    pub process_data: Option<Vec<OctetString>>,
    /// `controlReferenceTemplate [16] ControlReferenceTemplate OPTIONAL`.
    #[rasn(tag(context, 16))]
    pub control_reference_template: Option<ControlReferenceTemplate>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `ApplicationSystemParameters` (GP system specific parameters, tag `EF`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicationSystemParameters {
    /// `volatileMemoryQuotaC7 [PRIVATE 7]`.
    #[rasn(tag(private, 7))]
    pub volatile_memory_quota_c7: Option<OctetString>,
    /// `nonVolatileMemoryQuotaC8 [PRIVATE 8]`.
    #[rasn(tag(private, 8))]
    pub non_volatile_memory_quota_c8: Option<OctetString>,
    /// `globalServiceParameters [PRIVATE 11]`.
    #[rasn(tag(private, 11))]
    pub global_service_parameters: Option<OctetString>,
    /// `implicitSelectionParameter [PRIVATE 15]`.
    #[rasn(tag(private, 15))]
    pub implicit_selection_parameter: Option<OctetString>,
    /// `volatileReservedMemory [PRIVATE 23]`.
    #[rasn(tag(private, 23))]
    pub volatile_reserved_memory: Option<OctetString>,
    /// `nonVolatileReservedMemory [PRIVATE 24]`.
    #[rasn(tag(private, 24))]
    pub non_volatile_reserved_memory: Option<OctetString>,
    /// `ts102226SIMFileAccessToolkitParameter [PRIVATE 10]`.
    #[rasn(tag(private, 10))]
    pub ts102226_sim_file_access_toolkit_parameter: Option<OctetString>,
    /// `ts102226AdditionalContactlessParameters [0]`.
    #[rasn(tag(context, 0))]
    pub ts102226_additional_contactless_parameters: Option<Ts102226AdditionalContactlessParameters>,
    /// `contactlessProtocolParameters [PRIVATE 25]` (GP Amd C).
    #[rasn(tag(private, 25))]
    pub contactless_protocol_parameters: Option<OctetString>,
    /// `userInteractionContactlessParameters [PRIVATE 26]` (GP Amd C).
    #[rasn(tag(private, 26))]
    pub user_interaction_contactless_parameters: Option<OctetString>,
    /// `cumulativeGrantedVolatileMemory [2]`.
    #[rasn(tag(context, 2))]
    pub cumulative_granted_volatile_memory: Option<OctetString>,
    /// `cumulativeGrantedNonVolatileMemory [3]`.
    #[rasn(tag(context, 3))]
    pub cumulative_granted_non_volatile_memory: Option<OctetString>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `UICCApplicationParameters` (TS 102 226 application specific parameters, tag `EA`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct UiccApplicationParameters {
    /// `uiccToolkitApplicationSpecificParametersField [0]`.
    #[rasn(tag(context, 0))]
    pub uicc_toolkit_application_specific_parameters_field: Option<OctetString>,
    /// `uiccAccessApplicationSpecificParametersField [1]`.
    #[rasn(tag(context, 1))]
    pub uicc_access_application_specific_parameters_field: Option<OctetString>,
    /// `uiccAdministrativeAccessApplicationSpecificParametersField [2]`.
    #[rasn(tag(context, 2))]
    pub uicc_administrative_access_application_specific_parameters_field: Option<OctetString>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `TS102226AdditionalContactlessParameters ::= SEQUENCE { protocolParameterData OCTET STRING }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct Ts102226AdditionalContactlessParameters {
    /// `protocolParameterData` (automatic tag `[0]`).
    #[rasn(tag(context, 0))]
    pub protocol_parameter_data: OctetString,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `ControlReferenceTemplate ::= SEQUENCE { applicationProviderIdentifier [APPLICATION 32] }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlReferenceTemplate {
    /// `applicationProviderIdentifier [APPLICATION 32] OCTET STRING` (tag `5F20`).
    #[rasn(tag(application, 32))]
    pub application_provider_identifier: OctetString,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `PE-RFM` (SAIP 8.8): a Remote File Management instance. Components carry their own tags,
/// so the untagged ones keep universal tags.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeRfm {
    /// `rfm-header [0] PEHeader`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `instanceAID [APPLICATION 15] ApplicationIdentifier`.
    #[rasn(tag(application, 15))]
    pub instance_aid: OctetString,
    /// `securityDomainAID [APPLICATION 15] ApplicationIdentifier OPTIONAL`.
    #[rasn(tag(application, 15))]
    pub security_domain_aid: Option<OctetString>,
    /// `tarList [0] SEQUENCE (SIZE (1..MAX)) OF OCTET STRING (SIZE(3)) OPTIONAL`.
    #[rasn(tag(context, 0))]
    pub tar_list: Option<Vec<OctetString>>,
    /// `minimumSecurityLevel [1] OCTET STRING (SIZE (1))`.
    #[rasn(tag(context, 1))]
    pub minimum_security_level: OctetString,
    /// `uiccAccessDomain OCTET STRING`.
    pub uicc_access_domain: OctetString,
    /// `uiccAdminAccessDomain OCTET STRING`.
    pub uicc_admin_access_domain: OctetString,
    /// `adfRFMAccess ADFRFMAccess OPTIONAL`: default-selected ADF for RFM scripts.
    pub adf_rfm_access: Option<AdfRfmAccess>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `ADFRFMAccess` (automatic tags `[0]`…`[2]`).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct AdfRfmAccess {
    /// `adfAID ApplicationIdentifier`.
    #[rasn(tag(context, 0))]
    pub adf_aid: OctetString,
    /// `adfAccessDomain OCTET STRING`.
    #[rasn(tag(context, 1))]
    pub adf_access_domain: OctetString,
    /// `adfAdminAccessDomain OCTET STRING`.
    #[rasn(tag(context, 2))]
    pub adf_admin_access_domain: OctetString,
    /// Unknown extension components.
    pub extensions: Extensions,
}
