//! GSMA SGP.22 v2.x message types (module `RSPDefinitions`, SGP.22 §5.x annex
//! "ASN.1 Definitions"), curated from the module as carried by osmocom/pysim,
//! compared with the lpac variant.
//!
//! Tagging follows X.680 for an `AUTOMATIC TAGS` module: a SEQUENCE whose
//! components carry no tag gets context tags `[0]`, `[1]`, …; a SEQUENCE with
//! any tagged component keeps the universal tags of its untagged ones; tagged
//! CHOICEs are EXPLICIT. Every SEQUENCE ends with an [`Extensions`] field and
//! every CHOICE has an `Unknown` alternative because the module is
//! `EXTENSIBILITY IMPLIED`: newer peers (SGP.22 v3) add fields, and those are
//! kept verbatim rather than rejected.
//!
//! X.509 certificates are carried as raw DER ([`Certificate`]); see
//! `simforge-pki` for their contents.

use rasn::types::{Any, BitString, FixedOctetString, ObjectIdentifier, OctetString};
#[allow(unused_imports)]
use rasn::{AsnType, Decode, Decoder, Encode, Encoder};

use crate::codec::{Extensions, app, ctx, ext_choice};
use crate::ids::TransactionId;

/// An X.509 certificate as raw DER (the whole `SEQUENCE`, tag `30`).
pub type Certificate = Any;
/// `SubjectKeyIdentifier` (RFC 5280): a CI public key identifier.
pub type SubjectKeyIdentifier = OctetString;
/// `Octet16`: 16 octets (challenges).
pub type Octet16 = FixedOctetString<16>;
/// `Octet32`: 32 octets (hash of the confirmation code).
pub type Octet32 = FixedOctetString<32>;

macro_rules! named_int {
    ($(#[$meta:meta])* $name:ident { $( $(#[$cm:meta])* $c:ident = $v:expr ),* $(,)? }) => {
        $(#[$meta])*
        ///
        /// An `INTEGER` with named numbers: values outside the named ones
        /// (from newer peers) decode as they are.
        #[derive(AsnType, Encode, Decode, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[rasn(delegate)]
        pub struct $name(
            /// The value as sent.
            pub i64,
        );
        impl $name {
            $(
                $(#[$cm])*
                #[doc = concat!("Named number `", stringify!($c), "` = ", stringify!($v), ".")]
                pub const $c: Self = Self($v);
            )*
        }
    };
}

macro_rules! named_bits {
    ($(#[$meta:meta])* $name:ident { $( $(#[$cm:meta])* $c:ident = $v:expr ),* $(,)? }) => {
        $(#[$meta])*
        ///
        /// A `BIT STRING` with named bits (bit 0 is the first, most significant bit).
        #[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Hash, Default)]
        #[rasn(delegate)]
        pub struct $name(
            /// The bits as sent.
            pub BitString,
        );
        impl $name {
            $(
                $(#[$cm])*
                #[doc = concat!("Named bit `", stringify!($c), "` = bit ", stringify!($v), ".")]
                pub const $c: usize = $v;
            )*
            /// Builds a bit string with exactly the given bits set (length = highest bit + 1).
            #[must_use]
            pub fn from_bits(bits: &[usize]) -> Self {
                let len = bits.iter().map(|b| b + 1).max().unwrap_or(0);
                let mut bs = BitString::repeat(false, len);
                for b in bits {
                    bs.set(*b, true);
                }
                Self(bs)
            }
            /// Whether `bit` is set.
            #[must_use]
            pub fn has(&self, bit: usize) -> bool {
                self.0.get(bit).is_some_and(|b| *b)
            }
        }
    };
}

// ---------------------------------------------------------------- basic types

/// `VersionType`: major/minor/revision as three binary octets, e.g. `02 02 00` for v2.2.0.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Hash)]
#[rasn(delegate)]
pub struct VersionType(pub FixedOctetString<3>);

impl VersionType {
    /// Builds a version from its three parts.
    #[must_use]
    pub fn new(major: u8, minor: u8, revision: u8) -> Self {
        Self(FixedOctetString::new([major, minor, revision]))
    }
}

impl std::fmt::Display for VersionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b: &[u8] = self.0.as_ref();
        write!(f, "{}.{}.{}", b[0], b[1], b[2])
    }
}

/// `Iccid ::= [APPLICATION 26] OCTET STRING (SIZE(10))`, tag `5A`: the ICCID
/// as coded in EF.ICCID (BCD, nibble-swapped).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Hash)]
#[rasn(delegate, tag(application, 26))]
pub struct Iccid(pub OctetString);

/// An ISD-P AID, `[APPLICATION 15] OctetTo16`, tag `4F`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Hash)]
#[rasn(delegate, tag(application, 15))]
pub struct IsdpAid(pub OctetString);

named_int!(
    /// `RemoteOpId ::= [2] INTEGER` (SGP.22 §5.5.1); used with tag `82`.
    RemoteOpId { INSTALL_BOUND_PROFILE_PACKAGE = 1 }
);
named_int!(
    /// `ProfileClass` (SGP.22 §2.4a.1.1).
    ProfileClass { TEST = 0, PROVISIONING = 1, OPERATIONAL = 2 }
);
named_int!(
    /// `ProfileState` (SGP.22 §5.7.15).
    ProfileState { DISABLED = 0, ENABLED = 1 }
);
named_int!(
    /// `IconType` (SGP.22 §5.7.15).
    IconType { JPG = 0, PNG = 1 }
);

fn default_profile_class() -> ProfileClass {
    ProfileClass::OPERATIONAL
}

named_bits!(
    /// `RspCapability` (SGP.22 §5.7.8, EUICCInfo2).
    RspCapability { ADDITIONAL_PROFILE = 0, CRL_SUPPORT = 1, RPM_SUPPORT = 2, TEST_PROFILE_SUPPORT = 3,
        /// v2.2+: ASN.1 extensibility in DeviceInfo.
        DEVICE_INFO_EXTENSIBILITY_SUPPORT = 4 }
);
named_bits!(
    /// `UICCCapability` (SGP.22 §5.7.8), derived from the SAIP ServicesList.
    UiccCapability { CONTACTLESS_SUPPORT = 0, USIM_SUPPORT = 1, ISIM_SUPPORT = 2, CSIM_SUPPORT = 3,
        AKA_MILENAGE = 4, AKA_CAVE = 5, AKA_TUAK128 = 6, AKA_TUAK256 = 7, GBA_AUTHEN_USIM = 10,
        GBA_AUTHEN_ISIM = 11, MBMS_AUTHEN_USIM = 12, EAP_CLIENT = 13, JAVACARD = 14, MULTOS = 15,
        MULTIPLE_USIM_SUPPORT = 16, MULTIPLE_ISIM_SUPPORT = 17, MULTIPLE_CSIM_SUPPORT = 18,
        BER_TLV_FILE_SUPPORT = 19, DF_LINK_SUPPORT = 20, CAT_TP = 21, GET_IDENTITY = 22,
        PROFILE_A_X25519 = 23, PROFILE_B_P256 = 24, SUCI_CALCULATOR_API = 25 }
);
named_bits!(
    /// `PprIds`: Profile Policy Rule identifiers (SGP.22 §2.9.1).
    PprIds { PPR_UPDATE_CONTROL = 0, PPR1 = 1, PPR2 = 2, PPR3 = 3 }
);
named_bits!(
    /// `NotificationEvent` (SGP.22 §5.7.10): which profile management operation.
    NotificationEvent { NOTIFICATION_INSTALL = 0, NOTIFICATION_ENABLE = 1, NOTIFICATION_DISABLE = 2,
        NOTIFICATION_DELETE = 3 }
);

// ------------------------------------------------------------- ES10a/b/c: info

/// `GetEuiccInfo1Request`, tag `BF20` (ES10b.GetEUICCInfo, SGP.22 §5.7.8).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 32))]
pub struct GetEuiccInfo1Request {
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EUICCInfo1`, tag `BF20` (SGP.22 §5.7.8): SVN and the CI key identifiers.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 32))]
pub struct EuiccInfo1 {
    /// `svn [2]`: the SGP.22 version supported.
    #[rasn(tag(context, 2))]
    pub svn: VersionType,
    /// `euiccCiPKIdListForVerification [9]`.
    #[rasn(tag(context, 9))]
    pub euicc_ci_pkid_list_for_verification: Vec<SubjectKeyIdentifier>,
    /// `euiccCiPKIdListForSigning [10]`.
    #[rasn(tag(context, 10))]
    pub euicc_ci_pkid_list_for_signing: Vec<SubjectKeyIdentifier>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `GetEuiccInfo2Request`, tag `BF22` (ES10b.GetEUICCInfo, SGP.22 §5.7.8).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 34))]
pub struct GetEuiccInfo2Request {
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EUICCInfo2`, tag `BF22` (SGP.22 §5.7.8). SGP.22 v3 eUICCs append more
/// fields (`treProperties`, `ipaMode`, …): they land in `extensions`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 34))]
pub struct EuiccInfo2 {
    /// `profileVersion [1]`: SIMalliance profile package version.
    #[rasn(tag(context, 1))]
    pub profile_version: VersionType,
    /// `svn [2]`: SGP.22 version.
    #[rasn(tag(context, 2))]
    pub svn: VersionType,
    /// `euiccFirmwareVer [3]`.
    #[rasn(tag(context, 3))]
    pub euicc_firmware_ver: VersionType,
    /// `extCardResource [4]`: ETSI TS 102 226 extended card resource information.
    #[rasn(tag(context, 4))]
    pub ext_card_resource: OctetString,
    /// `uiccCapability [5]`.
    #[rasn(tag(context, 5))]
    pub uicc_capability: UiccCapability,
    /// `javacardVersion [6]` (`ts102241Version` in v2.2+).
    #[rasn(tag(context, 6))]
    pub javacard_version: Option<VersionType>,
    /// `globalplatformVersion [7]`.
    #[rasn(tag(context, 7))]
    pub globalplatform_version: Option<VersionType>,
    /// `rspCapability [8]`.
    #[rasn(tag(context, 8))]
    pub rsp_capability: RspCapability,
    /// `euiccCiPKIdListForVerification [9]`.
    #[rasn(tag(context, 9))]
    pub euicc_ci_pkid_list_for_verification: Vec<SubjectKeyIdentifier>,
    /// `euiccCiPKIdListForSigning [10]`.
    #[rasn(tag(context, 10))]
    pub euicc_ci_pkid_list_for_signing: Vec<SubjectKeyIdentifier>,
    /// `euiccCategory [11]`.
    #[rasn(tag(context, 11))]
    pub euicc_category: Option<EuiccCategory>,
    /// `forbiddenProfilePolicyRules [25]`, tag `99`.
    #[rasn(tag(context, 25))]
    pub forbidden_profile_policy_rules: Option<PprIds>,
    /// `ppVersion`: Protection Profile version (universal OCTET STRING).
    pub pp_version: VersionType,
    /// `sasAcreditationNumber` (sic), UTF8String up to 64.
    pub sas_acreditation_number: String,
    /// `certificationDataObject [12]`.
    #[rasn(tag(context, 12))]
    pub certification_data_object: Option<CertificationDataObject>,
    /// Unknown fields from newer peers (v3: `treProperties [13]`, …).
    pub extensions: Extensions,
}

named_int!(
    /// `EUICCInfo2.euiccCategory`.
    EuiccCategory { OTHER = 0, BASIC_EUICC = 1, MEDIUM_EUICC = 2, CONTACTLESS_EUICC = 3 }
);

/// `CertificationDataObject` (SGP.22 §5.7.8, GlobalPlatform DLOA).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct CertificationDataObject {
    /// `platformLabel [0]`.
    #[rasn(tag(context, 0))]
    pub platform_label: String,
    /// `discoveryBaseURL [1]`.
    #[rasn(tag(context, 1))]
    pub discovery_base_url: String,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `DeviceInfo` (SGP.22 §4.2): TAC, capabilities, IMEI.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `tac [0]`: the Type Allocation Code, `Octet4` per SGP.22 (the pysim
    /// module says `Octet8`); any length is accepted on decode.
    #[rasn(tag(context, 0))]
    pub tac: OctetString,
    /// `deviceCapabilities [1]`.
    #[rasn(tag(context, 1))]
    pub device_capabilities: DeviceCapabilities,
    /// `imei [2]`: 8 octets.
    #[rasn(tag(context, 2))]
    pub imei: Option<OctetString>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `DeviceCapabilities` (SGP.22 §4.2): highest fully supported release per technology.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
pub struct DeviceCapabilities {
    /// `gsmSupportedRelease [0]`.
    #[rasn(tag(context, 0))]
    pub gsm_supported_release: Option<VersionType>,
    /// `utranSupportedRelease [1]`.
    #[rasn(tag(context, 1))]
    pub utran_supported_release: Option<VersionType>,
    /// `cdma2000onexSupportedRelease [2]`.
    #[rasn(tag(context, 2))]
    pub cdma2000onex_supported_release: Option<VersionType>,
    /// `cdma2000hrpdSupportedRelease [3]`.
    #[rasn(tag(context, 3))]
    pub cdma2000hrpd_supported_release: Option<VersionType>,
    /// `cdma2000ehrpdSupportedRelease [4]`.
    #[rasn(tag(context, 4))]
    pub cdma2000ehrpd_supported_release: Option<VersionType>,
    /// `eutranSupportedRelease [5]` (`eutranEpcSupportedRelease` in v2.2+).
    #[rasn(tag(context, 5))]
    pub eutran_supported_release: Option<VersionType>,
    /// `contactlessSupportedRelease [6]`.
    #[rasn(tag(context, 6))]
    pub contactless_supported_release: Option<VersionType>,
    /// `rspCrlSupportedVersion [7]`.
    #[rasn(tag(context, 7))]
    pub rsp_crl_supported_version: Option<VersionType>,
    /// `rspRpmSupportedVersion [8]`.
    #[rasn(tag(context, 8))]
    pub rsp_rpm_supported_version: Option<VersionType>,
    /// `nrEpcSupportedRelease [9]` (v2.2+).
    #[rasn(tag(context, 9))]
    pub nr_epc_supported_release: Option<VersionType>,
    /// `nr5gcSupportedRelease [10]` (v2.2+).
    #[rasn(tag(context, 10))]
    pub nr5gc_supported_release: Option<VersionType>,
    /// `eutran5gcSupportedRelease [11]` (v2.2+).
    #[rasn(tag(context, 11))]
    pub eutran5gc_supported_release: Option<VersionType>,
    /// Unknown fields from newer peers (v2.3+: `lpaSvn [12]`, …).
    pub extensions: Extensions,
}

// ------------------------------------------------------ ES10c: profile info

ext_choice!(
    /// `ProfileInfoListRequest.searchCriteria` (SGP.22 §5.7.15).
    pub enum ProfileSearchCriteria {
        /// `isdpAid`, tag `4F`.
        IsdpAid(IsdpAid) = implicit(app(15)),
        /// `iccid`, tag `5A`.
        Iccid(Iccid) = implicit(app(26)),
        /// `profileClass [21]`, tag `95`.
        ProfileClass(ProfileClass) = implicit(ctx(21)),
    }
);

/// `ProfileInfoListRequest`, tag `BF2D` (ES10c.GetProfilesInfo, SGP.22 §5.7.15).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 45))]
pub struct ProfileInfoListRequest {
    /// `searchCriteria [0]` (explicit, `A0`).
    #[rasn(tag(explicit(context, 0)))]
    pub search_criteria: Option<ProfileSearchCriteria>,
    /// `tagList`, tag `5C`: the tags wanted in each ProfileInfo.
    #[rasn(tag(application, 28))]
    pub tag_list: Option<OctetString>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `ProfileInfoListResponse`, tag `BF2D` (SGP.22 §5.7.15).
    pub enum ProfileInfoListResponse [outer ctx(45)] {
        /// `profileInfoListOk [0]`.
        ProfileInfoListOk(Vec<ProfileInfo>) = implicit(ctx(0)),
        /// `profileInfoListError [1]`.
        ProfileInfoListError(ProfileInfoListError) = implicit(ctx(1)),
    }
);

named_int!(
    /// `ProfileInfoListError`.
    ProfileInfoListError { INCORRECT_INPUT_VALUES = 1, UNDEFINED_ERROR = 127 }
);

/// `ProfileInfo`, tag `E3` (SGP.22 §5.7.15).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(private, 3))]
pub struct ProfileInfo {
    /// `iccid`, tag `5A`.
    pub iccid: Option<Iccid>,
    /// `isdpAid`, tag `4F`.
    pub isdp_aid: Option<IsdpAid>,
    /// `profileState [112]`, tag `9F70`.
    #[rasn(tag(context, 112))]
    pub profile_state: Option<ProfileState>,
    /// `profileNickname [16]`, tag `90`.
    #[rasn(tag(context, 16))]
    pub profile_nickname: Option<String>,
    /// `serviceProviderName [17]`, tag `91`.
    #[rasn(tag(context, 17))]
    pub service_provider_name: Option<String>,
    /// `profileName [18]`, tag `92`.
    #[rasn(tag(context, 18))]
    pub profile_name: Option<String>,
    /// `iconType [19]`, tag `93`.
    #[rasn(tag(context, 19))]
    pub icon_type: Option<IconType>,
    /// `icon [20]`, tag `94`.
    #[rasn(tag(context, 20))]
    pub icon: Option<OctetString>,
    /// `profileClass [21] DEFAULT operational`, tag `95` (omitted in DER when operational).
    #[rasn(tag(context, 21), default = "default_profile_class")]
    pub profile_class: ProfileClass,
    /// `notificationConfigurationInfo [22]`, tag `B6`.
    #[rasn(tag(context, 22))]
    pub notification_configuration_info: Option<Vec<NotificationConfigurationInformation>>,
    /// `profileOwner [23]`, tag `B7`.
    #[rasn(tag(context, 23))]
    pub profile_owner: Option<OperatorId>,
    /// `dpProprietaryData [24]`, tag `B8`.
    #[rasn(tag(context, 24))]
    pub dp_proprietary_data: Option<DpProprietaryData>,
    /// `profilePolicyRules [25]`, tag `99`.
    #[rasn(tag(context, 25))]
    pub profile_policy_rules: Option<PprIds>,
    /// Unknown fields from newer peers (v2.2+: `refArDo [118]`, …).
    pub extensions: Extensions,
}

/// `OperatorID` (SGP.22 §5.4.1): MCC/MNC and optional GID1/GID2.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct OperatorId {
    /// `mccMnc [0]`: 3 octets as in 3GPP TS 24.008.
    #[rasn(tag(context, 0))]
    pub mcc_mnc: OctetString,
    /// `gid1 [1]`.
    #[rasn(tag(context, 1))]
    pub gid1: Option<OctetString>,
    /// `gid2 [2]`.
    #[rasn(tag(context, 2))]
    pub gid2: Option<OctetString>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `NotificationConfigurationInformation` (SGP.22 §5.4.1).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct NotificationConfigurationInformation {
    /// `profileManagementOperation [0]`.
    #[rasn(tag(context, 0))]
    pub profile_management_operation: NotificationEvent,
    /// `notificationAddress [1]`: FQDN to forward the notification to.
    #[rasn(tag(context, 1))]
    pub notification_address: String,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `DpProprietaryData` (SGP.22 §5.5.2); additional SM-DP+ data objects may follow the OID
/// and are kept in `extensions`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct DpProprietaryData {
    /// `dpOid [0]`: OID in the tree of the SM-DP+ that created the profile.
    #[rasn(tag(context, 0))]
    pub dp_oid: ObjectIdentifier,
    /// Additional SM-DP+ data objects.
    pub extensions: Extensions,
}

// ------------------------------------------------ ES8+: metadata, BPP parts

/// `StoreMetadataRequest`, tag `BF25` (ES8+.StoreMetadata, SGP.22 §5.5.3);
/// also `profileMetaData` in the ES9+ AuthenticateClient response.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 37))]
pub struct StoreMetadataRequest {
    /// `iccid`, tag `5A`.
    pub iccid: Iccid,
    /// `serviceProviderName [17]`, tag `91`.
    #[rasn(tag(context, 17))]
    pub service_provider_name: String,
    /// `profileName [18]`, tag `92`.
    #[rasn(tag(context, 18))]
    pub profile_name: String,
    /// `iconType [19]`, tag `93`.
    #[rasn(tag(context, 19))]
    pub icon_type: Option<IconType>,
    /// `icon [20]`, tag `94` (present only with `iconType`).
    #[rasn(tag(context, 20))]
    pub icon: Option<OctetString>,
    /// `profileClass [21]`, tag `95` (operational when absent).
    #[rasn(tag(context, 21))]
    pub profile_class: Option<ProfileClass>,
    /// `notificationConfigurationInfo [22]`, tag `B6`.
    #[rasn(tag(context, 22))]
    pub notification_configuration_info: Option<Vec<NotificationConfigurationInformation>>,
    /// `profileOwner [23]`, tag `B7`.
    #[rasn(tag(context, 23))]
    pub profile_owner: Option<OperatorId>,
    /// `profilePolicyRules [25]`, tag `99`.
    #[rasn(tag(context, 25))]
    pub profile_policy_rules: Option<PprIds>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `UpdateMetadataRequest`, tag `BF2A` (ES6.UpdateMetadata, SGP.22 §5.4.1).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 42))]
pub struct UpdateMetadataRequest {
    /// `serviceProviderName [17]`.
    #[rasn(tag(context, 17))]
    pub service_provider_name: Option<String>,
    /// `profileName [18]`.
    #[rasn(tag(context, 18))]
    pub profile_name: Option<String>,
    /// `iconType [19]`.
    #[rasn(tag(context, 19))]
    pub icon_type: Option<IconType>,
    /// `icon [20]`.
    #[rasn(tag(context, 20))]
    pub icon: Option<OctetString>,
    /// `profilePolicyRules [25]`.
    #[rasn(tag(context, 25))]
    pub profile_policy_rules: Option<PprIds>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `InitialiseSecureChannelRequest`, tag `BF23` (ES8+.InitialiseSecureChannel, SGP.22 §5.5.1).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 35))]
pub struct InitialiseSecureChannelRequest {
    /// `remoteOpId`, tag `82`: installBoundProfilePackage(1).
    #[rasn(tag(context, 2))]
    pub remote_op_id: RemoteOpId,
    /// `transactionId [0]`, tag `80`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `controlRefTemplate [6] IMPLICIT`, tag `A6`.
    #[rasn(tag(context, 6))]
    pub control_ref_template: ControlRefTemplate,
    /// `smdpOtpk`, tag `5F49`: otPK.DP.ECKA (uncompressed point).
    #[rasn(tag(application, 73))]
    pub smdp_otpk: OctetString,
    /// `smdpSign`, tag `5F37`: the SM-DP+ signature (r‖s).
    #[rasn(tag(application, 55))]
    pub smdp_sign: OctetString,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `ControlRefTemplate` (SGP.22 §5.5.1; GlobalPlatform CRT for key agreement).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct ControlRefTemplate {
    /// `keyType [0]`, tag `80`: `88` for AES.
    #[rasn(tag(context, 0))]
    pub key_type: OctetString,
    /// `keyLen [1]`, tag `81`: `10` (16 bytes).
    #[rasn(tag(context, 1))]
    pub key_len: OctetString,
    /// `hostId [4]`, tag `84`: 1..16 octets.
    #[rasn(tag(context, 4))]
    pub host_id: OctetString,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `ConfigureISDPRequest`, tag `BF24` (ES8+.ConfigureISDP, SGP.22 §5.5.2).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 36))]
pub struct ConfigureIsdpRequest {
    /// `dpProprietaryData [24]`, tag `B8`.
    #[rasn(tag(context, 24))]
    pub dp_proprietary_data: Option<DpProprietaryData>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `ReplaceSessionKeysRequest`, tag `BF26` (ES8+.ReplaceSessionKeys, SGP.22 §5.5.4).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 38))]
pub struct ReplaceSessionKeysRequest {
    /// `initialMacChainingValue [0]`.
    #[rasn(tag(context, 0))]
    pub initial_mac_chaining_value: OctetString,
    /// `ppkEnc [1]`: PPK-ENC.
    #[rasn(tag(context, 1))]
    pub ppk_enc: OctetString,
    /// `ppkCmac [2]`: PPK-MAC.
    #[rasn(tag(context, 2))]
    pub ppk_cmac: OctetString,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `BoundProfilePackage`, tag `BF36` (SGP.22 §2.5.4): the container; each
/// `87`/`88`/`86` element is a BSP-protected segment (see `simforge-crypto`).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 54))]
pub struct BoundProfilePackage {
    /// `initialiseSecureChannelRequest`, tag `BF23`.
    pub initialise_secure_channel_request: InitialiseSecureChannelRequest,
    /// `firstSequenceOf87 [0]`, tag `A0`: ConfigureISDP, encrypted and MACed.
    #[rasn(tag(context, 0))]
    pub first_sequence_of87: Vec<Segment87>,
    /// `sequenceOf88 [1]`, tag `A1`: StoreMetadata, MACed.
    #[rasn(tag(context, 1))]
    pub sequence_of88: Vec<Segment88>,
    /// `secondSequenceOf87 [2]`, tag `A2`: ReplaceSessionKeys (pre-protected profiles only).
    #[rasn(tag(context, 2))]
    pub second_sequence_of87: Option<Vec<Segment87>>,
    /// `sequenceOf86 [3]`, tag `A3`: profile elements.
    #[rasn(tag(context, 3))]
    pub sequence_of86: Vec<Segment86>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// A `[7] OCTET STRING` (tag `87`) BPP segment: encrypted and MACed.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Hash)]
#[rasn(delegate, tag(context, 7))]
pub struct Segment87(pub OctetString);

/// A `[8] OCTET STRING` (tag `88`) BPP segment: MACed StoreMetadata.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Hash)]
#[rasn(delegate, tag(context, 8))]
pub struct Segment88(pub OctetString);

/// A `[6] OCTET STRING` (tag `86`) BPP segment: protected profile elements.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Hash)]
#[rasn(delegate, tag(context, 6))]
pub struct Segment86(pub OctetString);

// -------------------------------------------- ProfileInstallationResult

/// `ProfileInstallationResult`, tag `BF37` (SGP.22 §5.5.6 / §5.7.6).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 55))]
pub struct ProfileInstallationResult {
    /// `profileInstallationResultData`, tag `BF27` (the signed part).
    pub profile_installation_result_data: ProfileInstallationResultData,
    /// `euiccSignPIR`, tag `5F37`.
    pub euicc_sign_pir: EuiccSignPir,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EuiccSignPIR ::= [APPLICATION 55] OCTET STRING`, tag `5F37`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Hash)]
#[rasn(delegate, tag(application, 55))]
pub struct EuiccSignPir(pub OctetString);

/// `ProfileInstallationResultData`, tag `BF27` (SGP.22 §5.5.6).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 39))]
pub struct ProfileInstallationResultData {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `notificationMetadata [47]`, tag `BF2F`.
    pub notification_metadata: NotificationMetadata,
    /// `smdpOid`: the SM-DP+ OID from CERT.DPpb (mandatory in v2.2+).
    pub smdp_oid: Option<ObjectIdentifier>,
    /// `finalResult [2]` (explicit, `A2`).
    #[rasn(tag(explicit(context, 2)))]
    pub final_result: FinalResult,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `ProfileInstallationResultData.finalResult`.
    pub enum FinalResult {
        /// `successResult [0]`.
        SuccessResult(SuccessResult) = implicit(ctx(0)),
        /// `errorResult [1]`.
        ErrorResult(ErrorResult) = implicit(ctx(1)),
    }
);

/// `SuccessResult` (SGP.22 §5.5.6).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct SuccessResult {
    /// `aid`, tag `4F`: AID of the ISD-P (5..16 octets).
    pub aid: IsdpAid,
    /// `simaResponse`: the SAIP `EUICCResponse`(s).
    pub sima_response: OctetString,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `ErrorResult` (SGP.22 §5.5.6).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct ErrorResult {
    /// `bppCommandId [0]`.
    #[rasn(tag(context, 0))]
    pub bpp_command_id: BppCommandId,
    /// `errorReason [1]`.
    #[rasn(tag(context, 1))]
    pub error_reason: ErrorReason,
    /// `simaResponse [2]`.
    #[rasn(tag(context, 2))]
    pub sima_response: Option<OctetString>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

named_int!(
    /// `BppCommandId`: which BPP part failed.
    BppCommandId { INITIALISE_SECURE_CHANNEL = 0, CONFIGURE_ISDP = 1, STORE_METADATA = 2,
        STORE_METADATA2 = 3, REPLACE_SESSION_KEYS = 4, LOAD_PROFILE_ELEMENTS = 5 }
);
named_int!(
    /// `ErrorReason` of a failed installation (SGP.22 §5.5.6).
    ErrorReason { INCORRECT_INPUT_VALUES = 1, INVALID_SIGNATURE = 2, INVALID_TRANSACTION_ID = 3,
        UNSUPPORTED_CRT_VALUES = 4, UNSUPPORTED_REMOTE_OPERATION_TYPE = 5,
        UNSUPPORTED_PROFILE_CLASS = 6, SCP03T_STRUCTURE_ERROR = 7, SCP03T_SECURITY_ERROR = 8,
        INSTALL_FAILED_DUE_TO_ICCID_ALREADY_EXISTS_ON_EUICC = 9,
        INSTALL_FAILED_DUE_TO_INSUFFICIENT_MEMORY_FOR_PROFILE = 10,
        INSTALL_FAILED_DUE_TO_INTERRUPTION = 11, INSTALL_FAILED_DUE_TO_PE_PROCESSING_ERROR = 12,
        INSTALL_FAILED_DUE_TO_ICCID_MISMATCH = 13, TEST_PROFILE_INSTALL_FAILED_DUE_TO_INVALID_NAA_KEY = 14,
        PPR_NOT_ALLOWED = 15, INSTALL_FAILED_DUE_TO_UNKNOWN_ERROR = 127 }
);

// -------------------------------------------------------------- notifications

/// `NotificationMetadata`, tag `BF2F` (SGP.22 §5.7.10).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 47))]
pub struct NotificationMetadata {
    /// `seqNumber [0]`.
    #[rasn(tag(context, 0))]
    pub seq_number: i64,
    /// `profileManagementOperation [1]`: exactly one bit set.
    #[rasn(tag(context, 1))]
    pub profile_management_operation: NotificationEvent,
    /// `notificationAddress`: FQDN to forward the notification to.
    pub notification_address: String,
    /// `iccid`, tag `5A`.
    pub iccid: Option<Iccid>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `ListNotificationRequest`, tag `BF28` (ES10b.ListNotification, SGP.22 §5.7.9).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 40))]
pub struct ListNotificationRequest {
    /// `profileManagementOperation [1]`: filter.
    #[rasn(tag(context, 1))]
    pub profile_management_operation: Option<NotificationEvent>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `ListNotificationResponse`, tag `BF28` (SGP.22 §5.7.9).
    pub enum ListNotificationResponse [outer ctx(40)] {
        /// `notificationMetadataList [0]`.
        NotificationMetadataList(Vec<NotificationMetadata>) = implicit(ctx(0)),
        /// `listNotificationsResultError [1]`: undefinedError(127).
        ListNotificationsResultError(i64) = implicit(ctx(1)),
    }
);

ext_choice!(
    /// `RetrieveNotificationsListRequest.searchCriteria`.
    pub enum NotificationSearchCriteria {
        /// `seqNumber [0]`.
        SeqNumber(i64) = implicit(ctx(0)),
        /// `profileManagementOperation [1]`.
        ProfileManagementOperation(NotificationEvent) = implicit(ctx(1)),
    }
);

/// `RetrieveNotificationsListRequest`, tag `BF2B` (ES10b.RetrieveNotificationsList, SGP.22 §5.7.10).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 43))]
pub struct RetrieveNotificationsListRequest {
    /// `searchCriteria [0]` (automatic tag, explicit: `A0`).
    #[rasn(tag(explicit(context, 0)))]
    pub search_criteria: Option<NotificationSearchCriteria>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `RetrieveNotificationsListResponse`, tag `BF2B` (SGP.22 §5.7.10).
    pub enum RetrieveNotificationsListResponse [outer ctx(43)] {
        /// `notificationList [0]`.
        NotificationList(Vec<PendingNotification>) = implicit(ctx(0)),
        /// `notificationsListResultError [1]`: noResultAvailable(1), undefinedError(127).
        NotificationsListResultError(i64) = implicit(ctx(1)),
    }
);

ext_choice!(
    /// `PendingNotification` (SGP.22 §5.7.10): what ES9+.HandleNotification carries.
    pub enum PendingNotification {
        /// `profileInstallationResult`, tag `BF37`.
        ProfileInstallationResult(ProfileInstallationResult) = implicit(ctx(55)),
        /// `otherSignedNotification`, tag `30`.
        OtherSignedNotification(OtherSignedNotification) = implicit(rasn::types::Tag::SEQUENCE),
    }
);

/// `OtherSignedNotification` (SGP.22 §5.7.10): enable/disable/delete notifications.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct OtherSignedNotification {
    /// `tbsOtherNotification`, tag `BF2F` (the signed part).
    pub tbs_other_notification: NotificationMetadata,
    /// `euiccNotificationSignature`, tag `5F37`.
    #[rasn(tag(application, 55))]
    pub euicc_notification_signature: OctetString,
    /// `euiccCertificate`: CERT.EUICC.ECDSA.
    pub euicc_certificate: Certificate,
    /// `eumCertificate`: CERT.EUM.ECDSA.
    pub eum_certificate: Certificate,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `NotificationSentRequest`, tag `BF30` (ES10b.RemoveNotificationFromList, SGP.22 §5.7.11).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 48))]
pub struct NotificationSentRequest {
    /// `seqNumber [0]`.
    #[rasn(tag(context, 0))]
    pub seq_number: i64,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `NotificationSentResponse`, tag `BF30`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 48))]
pub struct NotificationSentResponse {
    /// `deleteNotificationStatus [0]`: ok(0), nothingToDelete(1), undefinedError(127).
    #[rasn(tag(context, 0))]
    pub delete_notification_status: ResultCode,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

named_int!(
    /// The small result INTEGERs of ES10c responses (`enableResult`, `deleteResult`, …);
    /// the meaning of values other than `OK` and `UNDEFINED_ERROR` depends on the command.
    ResultCode { OK = 0, ICCID_OR_AID_NOT_FOUND = 1, PROFILE_NOT_IN_EXPECTED_STATE = 2,
        DISALLOWED_BY_POLICY = 3, WRONG_PROFILE_REENABLING = 4, CAT_BUSY = 5, UNDEFINED_ERROR = 127 }
);

// ---------------------------------------------- ES10c: profile management

ext_choice!(
    /// `profileIdentifier` of Enable/DisableProfile, and DeleteProfileRequest's alternatives.
    pub enum ProfileIdentifier {
        /// `isdpAid`, tag `4F`.
        IsdpAid(IsdpAid) = implicit(app(15)),
        /// `iccid`, tag `5A`.
        Iccid(Iccid) = implicit(app(26)),
    }
);

/// `EnableProfileRequest`, tag `BF31` (ES10c.EnableProfile, SGP.22 §5.7.16).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 49))]
pub struct EnableProfileRequest {
    /// `profileIdentifier [0]` (explicit, `A0`).
    #[rasn(tag(explicit(context, 0)))]
    pub profile_identifier: ProfileIdentifier,
    /// `refreshFlag [1]`: whether REFRESH is required.
    #[rasn(tag(context, 1))]
    pub refresh_flag: bool,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EnableProfileResponse`, tag `BF31`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 49))]
pub struct EnableProfileResponse {
    /// `enableResult [0]`.
    #[rasn(tag(context, 0))]
    pub enable_result: ResultCode,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `DisableProfileRequest`, tag `BF32` (ES10c.DisableProfile, SGP.22 §5.7.17).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 50))]
pub struct DisableProfileRequest {
    /// `profileIdentifier [0]` (explicit, `A0`).
    #[rasn(tag(explicit(context, 0)))]
    pub profile_identifier: ProfileIdentifier,
    /// `refreshFlag [1]`.
    #[rasn(tag(context, 1))]
    pub refresh_flag: bool,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `DisableProfileResponse`, tag `BF32`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 50))]
pub struct DisableProfileResponse {
    /// `disableResult [0]`.
    #[rasn(tag(context, 0))]
    pub disable_result: ResultCode,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `DeleteProfileRequest ::= [51] CHOICE`, tag `BF33` (ES10c.DeleteProfile, SGP.22 §5.7.18).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(delegate, tag(explicit(context, 51)))]
pub struct DeleteProfileRequest(pub ProfileIdentifier);

/// `DeleteProfileResponse`, tag `BF33`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 51))]
pub struct DeleteProfileResponse {
    /// `deleteResult [0]`.
    #[rasn(tag(context, 0))]
    pub delete_result: ResultCode,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

named_bits!(
    /// `EuiccMemoryResetRequest.resetOptions`.
    ResetOptions { DELETE_OPERATIONAL_PROFILES = 0, DELETE_FIELD_LOADED_TEST_PROFILES = 1,
        RESET_DEFAULT_SMDP_ADDRESS = 2 }
);

/// `EuiccMemoryResetRequest`, tag `BF34` (ES10c.eUICCMemoryReset, SGP.22 §5.7.19).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 52))]
pub struct EuiccMemoryResetRequest {
    /// `resetOptions [2]`.
    #[rasn(tag(context, 2))]
    pub reset_options: ResetOptions,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EuiccMemoryResetResponse`, tag `BF34`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 52))]
pub struct EuiccMemoryResetResponse {
    /// `resetResult [0]`: ok(0), nothingToDelete(1), catBusy(5), undefinedError(127).
    #[rasn(tag(context, 0))]
    pub reset_result: ResultCode,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `GetEuiccDataRequest`, tag `BF3E` (ES10c.GetEID, SGP.22 §5.7.20).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 62))]
pub struct GetEuiccDataRequest {
    /// `tagList`, tag `5C`: `5A` for the EID.
    #[rasn(tag(application, 28))]
    pub tag_list: OctetString,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `GetEuiccDataResponse`, tag `BF3E`: the EID.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 62))]
pub struct GetEuiccDataResponse {
    /// `eidValue`, tag `5A`: 16 octets (32 BCD digits); see [`crate::Eid::from_bytes`].
    #[rasn(tag(application, 26))]
    pub eid_value: Octet16,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `SetNicknameRequest`, tag `BF29` (ES10c.SetNickname, SGP.22 §5.7.21).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 41))]
pub struct SetNicknameRequest {
    /// `iccid`, tag `5A`.
    pub iccid: Iccid,
    /// `profileNickname [16]`, tag `90`.
    #[rasn(tag(context, 16))]
    pub profile_nickname: String,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `SetNicknameResponse`, tag `BF29`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 41))]
pub struct SetNicknameResponse {
    /// `setNicknameResult [0]`: ok(0), iccidNotFound(1), undefinedError(127).
    #[rasn(tag(context, 0))]
    pub set_nickname_result: ResultCode,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EuiccConfiguredAddressesRequest`, tag `BF3C` (ES10a.GetEuiccConfiguredAddresses, SGP.22 §5.7.3).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 60))]
pub struct EuiccConfiguredAddressesRequest {
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EuiccConfiguredAddressesResponse`, tag `BF3C`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 60))]
pub struct EuiccConfiguredAddressesResponse {
    /// `defaultDpAddress [0]`: default SM-DP+ FQDN.
    #[rasn(tag(context, 0))]
    pub default_dp_address: Option<String>,
    /// `rootDsAddress [1]`: root SM-DS FQDN.
    #[rasn(tag(context, 1))]
    pub root_ds_address: String,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `SetDefaultDpAddressRequest`, tag `BF3F` (ES10a.SetDefaultDpAddress, SGP.22 §5.7.4).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 63))]
pub struct SetDefaultDpAddressRequest {
    /// `defaultDpAddress [0]`.
    #[rasn(tag(context, 0))]
    pub default_dp_address: String,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `SetDefaultDpAddressResponse`, tag `BF3F`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 63))]
pub struct SetDefaultDpAddressResponse {
    /// `setDefaultDpAddressResult [0]`: ok(0), undefinedError(127).
    #[rasn(tag(context, 0))]
    pub set_default_dp_address_result: ResultCode,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `GetRatRequest`, tag `BF43` (ES10b.GetRAT, SGP.22 §5.7.22).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 67))]
pub struct GetRatRequest {
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `GetRatResponse`, tag `BF43`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 67))]
pub struct GetRatResponse {
    /// `rat [0]`: the Rules Authorisation Table.
    #[rasn(tag(context, 0))]
    pub rat: RulesAuthorisationTable,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `RulesAuthorisationTable` (SGP.22 §2.9.2).
pub type RulesAuthorisationTable = Vec<ProfilePolicyAuthorisationRule>;

named_bits!(
    /// `ProfilePolicyAuthorisationRule.pprFlags`.
    PprFlags { CONSENT_REQUIRED = 0 }
);

/// `ProfilePolicyAuthorisationRule` (SGP.22 §2.9.2).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct ProfilePolicyAuthorisationRule {
    /// `pprIds [0]`.
    #[rasn(tag(context, 0))]
    pub ppr_ids: PprIds,
    /// `allowedOperators [1]`.
    #[rasn(tag(context, 1))]
    pub allowed_operators: Vec<OperatorId>,
    /// `pprFlags [2]`.
    #[rasn(tag(context, 2))]
    pub ppr_flags: PprFlags,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

// ------------------------------------------------- ES10b: challenge, auth

/// `GetEuiccChallengeRequest`, tag `BF2E` (ES10b.GetEUICCChallenge, SGP.22 §5.7.7).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
#[rasn(tag(context, 46))]
pub struct GetEuiccChallengeRequest {
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `GetEuiccChallengeResponse`, tag `BF2E`.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 46))]
pub struct GetEuiccChallengeResponse {
    /// `euiccChallenge [0]`: 16 random octets.
    #[rasn(tag(context, 0))]
    pub euicc_challenge: Octet16,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `AuthenticateServerRequest`, tag `BF38` (ES10b.AuthenticateServer, SGP.22 §5.7.13).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 56))]
pub struct AuthenticateServerRequest {
    /// `serverSigned1`: signed by the SM-DP+ (DPauth).
    pub server_signed1: ServerSigned1,
    /// `serverSignature1`, tag `5F37`.
    #[rasn(tag(application, 55))]
    pub server_signature1: OctetString,
    /// `euiccCiPKIdToBeUsed`: the CI key to be used.
    pub euicc_ci_pkid_to_be_used: SubjectKeyIdentifier,
    /// `serverCertificate`: CERT.DPauth.ECDSA.
    pub server_certificate: Certificate,
    /// `ctxParams1`.
    pub ctx_params1: CtxParams1,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `ServerSigned1` (SGP.22 §5.7.13).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct ServerSigned1 {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `euiccChallenge [1]`.
    #[rasn(tag(context, 1))]
    pub euicc_challenge: Octet16,
    /// `serverAddress [3]`.
    #[rasn(tag(context, 3))]
    pub server_address: String,
    /// `serverChallenge [4]`.
    #[rasn(tag(context, 4))]
    pub server_challenge: Octet16,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `CtxParams1` (SGP.22 §5.7.13).
    pub enum CtxParams1 {
        /// `ctxParamsForCommonAuthentication [0]`.
        CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication) = implicit(ctx(0)),
    }
);

/// `CtxParamsForCommonAuthentication` (SGP.22 §5.7.13).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct CtxParamsForCommonAuthentication {
    /// `matchingId [0]`: activation code token, event id, or absent.
    #[rasn(tag(context, 0))]
    pub matching_id: Option<String>,
    /// `deviceInfo [1]`.
    #[rasn(tag(context, 1))]
    pub device_info: DeviceInfo,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `AuthenticateServerResponse`, tag `BF38` (SGP.22 §5.7.13).
    pub enum AuthenticateServerResponse [outer ctx(56)] {
        /// `authenticateResponseOk [0]`.
        AuthenticateResponseOk(AuthenticateResponseOk) = implicit(ctx(0)),
        /// `authenticateResponseError [1]`.
        AuthenticateResponseError(AuthenticateResponseError) = implicit(ctx(1)),
    }
);

/// `AuthenticateResponseOk` (SGP.22 §5.7.13).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateResponseOk {
    /// `euiccSigned1`: the signed part.
    pub euicc_signed1: EuiccSigned1,
    /// `euiccSignature1`, tag `5F37`.
    #[rasn(tag(application, 55))]
    pub euicc_signature1: OctetString,
    /// `euiccCertificate`: CERT.EUICC.ECDSA.
    pub euicc_certificate: Certificate,
    /// `eumCertificate`: CERT.EUM.ECDSA.
    pub eum_certificate: Certificate,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EuiccSigned1` (SGP.22 §5.7.13). Verify `euiccSignature1` over the bytes
/// as received (see [`crate::codec::Tlv`]), not over a re-encoding.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct EuiccSigned1 {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `serverAddress [3]`.
    #[rasn(tag(context, 3))]
    pub server_address: String,
    /// `serverChallenge [4]`.
    #[rasn(tag(context, 4))]
    pub server_challenge: Octet16,
    /// `euiccInfo2`, tag `BF22`.
    pub euicc_info2: EuiccInfo2,
    /// `ctxParams1`.
    pub ctx_params1: CtxParams1,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `AuthenticateResponseError` (SGP.22 §5.7.13).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateResponseError {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `authenticateErrorCode`.
    pub authenticate_error_code: AuthenticateErrorCode,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

named_int!(
    /// `AuthenticateErrorCode` (SGP.22 §5.7.13).
    AuthenticateErrorCode { INVALID_CERTIFICATE = 1, INVALID_SIGNATURE = 2, UNSUPPORTED_CURVE = 3,
        NO_SESSION_CONTEXT = 4, INVALID_OID = 5, EUICC_CHALLENGE_MISMATCH = 6, CI_PK_UNKNOWN = 7,
        UNDEFINED_ERROR = 127 }
);

// ------------------------------------------------ ES10b: PrepareDownload

/// `PrepareDownloadRequest`, tag `BF21` (ES10b.PrepareDownload, SGP.22 §5.7.5).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 33))]
pub struct PrepareDownloadRequest {
    /// `smdpSigned2`: signed by the SM-DP+ (DPpb).
    pub smdp_signed2: SmdpSigned2,
    /// `smdpSignature2`, tag `5F37`.
    #[rasn(tag(application, 55))]
    pub smdp_signature2: OctetString,
    /// `hashCc`: hash of the confirmation code.
    pub hash_cc: Option<Octet32>,
    /// `smdpCertificate`: CERT.DPpb.ECDSA.
    pub smdp_certificate: Certificate,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `SmdpSigned2` (SGP.22 §5.7.5).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct SmdpSigned2 {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `ccRequiredFlag`: whether the confirmation code is required.
    pub cc_required_flag: bool,
    /// `bppEuiccOtpk`, tag `5F49`: otPK.EUICC.ECKA already used for binding (retry).
    #[rasn(tag(application, 73))]
    pub bpp_euicc_otpk: Option<OctetString>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `PrepareDownloadResponse`, tag `BF21` (SGP.22 §5.7.5).
    pub enum PrepareDownloadResponse [outer ctx(33)] {
        /// `downloadResponseOk [0]`.
        DownloadResponseOk(PrepareDownloadResponseOk) = implicit(ctx(0)),
        /// `downloadResponseError [1]`.
        DownloadResponseError(PrepareDownloadResponseError) = implicit(ctx(1)),
    }
);

/// `PrepareDownloadResponseOk` (SGP.22 §5.7.5).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct PrepareDownloadResponseOk {
    /// `euiccSigned2`: the signed part.
    pub euicc_signed2: EuiccSigned2,
    /// `euiccSignature2`, tag `5F37`.
    #[rasn(tag(application, 55))]
    pub euicc_signature2: OctetString,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EUICCSigned2` (SGP.22 §5.7.5).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct EuiccSigned2 {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `euiccOtpk`, tag `5F49`: otPK.EUICC.ECKA.
    #[rasn(tag(application, 73))]
    pub euicc_otpk: OctetString,
    /// `hashCc`: hash of the confirmation code.
    pub hash_cc: Option<Octet32>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `PrepareDownloadResponseError` (SGP.22 §5.7.5).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct PrepareDownloadResponseError {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `downloadErrorCode`.
    pub download_error_code: DownloadErrorCode,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

named_int!(
    /// `DownloadErrorCode` (SGP.22 §5.7.5).
    DownloadErrorCode { INVALID_CERTIFICATE = 1, INVALID_SIGNATURE = 2, UNSUPPORTED_CURVE = 3,
        NO_SESSION_CONTEXT = 4, INVALID_TRANSACTION_ID = 5, UNDEFINED_ERROR = 127 }
);

// --------------------------------------------------- ES10b: CancelSession

named_int!(
    /// `CancelSessionReason` (SGP.22 §5.7.14).
    CancelSessionReason { END_USER_REJECTION = 0, POSTPONED = 1, TIMEOUT = 2, PPR_NOT_ALLOWED = 3,
        METADATA_MISMATCH = 4, LOAD_BPP_EXECUTION_ERROR = 5, UNDEFINED_REASON = 127 }
);

/// `CancelSessionRequest`, tag `BF41` (ES10b.CancelSession, SGP.22 §5.7.14).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 65))]
pub struct CancelSessionRequest {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `reason [1]`.
    #[rasn(tag(context, 1))]
    pub reason: CancelSessionReason,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `CancelSessionResponse`, tag `BF41` (SGP.22 §5.7.14).
    pub enum CancelSessionResponse [outer ctx(65)] {
        /// `cancelSessionResponseOk [0]`.
        CancelSessionResponseOk(CancelSessionResponseOk) = implicit(ctx(0)),
        /// `cancelSessionResponseError [1]`: invalidTransactionId(5), undefinedError(127).
        CancelSessionResponseError(i64) = implicit(ctx(1)),
    }
);

/// `CancelSessionResponseOk` (SGP.22 §5.7.14).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct CancelSessionResponseOk {
    /// `euiccCancelSessionSigned`: the signed part.
    pub euicc_cancel_session_signed: EuiccCancelSessionSigned,
    /// `euiccCancelSessionSignature`, tag `5F37`.
    #[rasn(tag(application, 55))]
    pub euicc_cancel_session_signature: OctetString,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EuiccCancelSessionSigned` (SGP.22 §5.7.14).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct EuiccCancelSessionSigned {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `smdpOid [1]`: the SM-DP+ OID as in CERT.DPauth.ECDSA.
    #[rasn(tag(context, 1))]
    pub smdp_oid: ObjectIdentifier,
    /// `reason [2]`.
    #[rasn(tag(context, 2))]
    pub reason: CancelSessionReason,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

// ----------------------------------------------------------- ES9+ (ASN.1)

/// `InitiateAuthenticationRequest`, tag `BF39` (ES9+.InitiateAuthentication, SGP.22 §5.6.1).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 57))]
pub struct InitiateAuthenticationRequest {
    /// `euiccChallenge [1]`.
    #[rasn(tag(context, 1))]
    pub euicc_challenge: Octet16,
    /// `smdpAddress [3]`.
    #[rasn(tag(context, 3))]
    pub smdp_address: String,
    /// `euiccInfo1`, tag `BF20`.
    pub euicc_info1: EuiccInfo1,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `InitiateAuthenticationResponse`, tag `BF39` (SGP.22 §5.6.1).
    pub enum InitiateAuthenticationResponse [outer ctx(57)] {
        /// `initiateAuthenticationOk [0]`.
        InitiateAuthenticationOk(InitiateAuthenticationOkEs9) = implicit(ctx(0)),
        /// `initiateAuthenticationError [1]`: invalidDpAddress(1),
        /// euiccVersionNotSupportedByDp(2), ciPKNotSupported(3).
        InitiateAuthenticationError(i64) = implicit(ctx(1)),
    }
);

/// `InitiateAuthenticationOkEs9` (SGP.22 §5.6.1).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct InitiateAuthenticationOkEs9 {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `serverSigned1`.
    pub server_signed1: ServerSigned1,
    /// `serverSignature1`, tag `5F37`.
    #[rasn(tag(application, 55))]
    pub server_signature1: OctetString,
    /// `euiccCiPKIdToBeUsed`.
    pub euicc_ci_pkid_to_be_used: SubjectKeyIdentifier,
    /// `serverCertificate`: CERT.DPauth.ECDSA.
    pub server_certificate: Certificate,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `AuthenticateClientRequest`, tag `BF3B` (ES9+/ES11.AuthenticateClient, SGP.22 §5.6.3, §5.8.2).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 59))]
pub struct AuthenticateClientRequest {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `authenticateServerResponse`, tag `BF38`.
    pub authenticate_server_response: AuthenticateServerResponse,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `AuthenticateClientResponseEs9`, tag `BF3B` (SGP.22 §5.6.3).
    pub enum AuthenticateClientResponseEs9 [outer ctx(59)] {
        /// `authenticateClientOk [0]`.
        AuthenticateClientOk(AuthenticateClientOk) = implicit(ctx(0)),
        /// `authenticateClientError [1]`.
        AuthenticateClientError(i64) = implicit(ctx(1)),
    }
);

/// `AuthenticateClientOk` (SGP.22 §5.6.3).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateClientOk {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `profileMetaData`, tag `BF25`.
    pub profile_meta_data: StoreMetadataRequest,
    /// `prepareDownloadRequest`, tag `BF21`.
    pub prepare_download_request: PrepareDownloadRequest,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `GetBoundProfilePackageRequest`, tag `BF3A` (ES9+.GetBoundProfilePackage, SGP.22 §5.6.2).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 58))]
pub struct GetBoundProfilePackageRequest {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `prepareDownloadResponse`, tag `BF21`.
    pub prepare_download_response: PrepareDownloadResponse,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `GetBoundProfilePackageResponse`, tag `BF3A` (SGP.22 §5.6.2).
    pub enum GetBoundProfilePackageResponse [outer ctx(58)] {
        /// `getBoundProfilePackageOk [0]`.
        GetBoundProfilePackageOk(GetBoundProfilePackageOk) = implicit(ctx(0)),
        /// `getBoundProfilePackageError [1]`.
        GetBoundProfilePackageError(i64) = implicit(ctx(1)),
    }
);

/// `GetBoundProfilePackageOk` (SGP.22 §5.6.2).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct GetBoundProfilePackageOk {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `boundProfilePackage`, tag `BF36`.
    pub bound_profile_package: BoundProfilePackage,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `HandleNotification`, tag `BF3D` (ES9+.HandleNotification, SGP.22 §5.6.4).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 61))]
pub struct HandleNotification {
    /// `pendingNotification [0]` (automatic tag, explicit: `A0`).
    #[rasn(tag(explicit(context, 0)))]
    pub pending_notification: PendingNotification,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `CancelSessionRequestEs9`, tag `BF41` (ES9+.CancelSession, SGP.22 §5.6.5).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
#[rasn(tag(context, 65))]
pub struct CancelSessionRequestEs9 {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `cancelSessionResponse [1]` (replaces the `BF41` of the eUICC's response).
    #[rasn(tag(context, 1))]
    pub cancel_session_response: CancelSessionResponse,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

ext_choice!(
    /// `CancelSessionResponseEs9`, tag `BF41` (SGP.22 §5.6.5).
    pub enum CancelSessionResponseEs9 [outer ctx(65)] {
        /// `cancelSessionOk [0]`.
        CancelSessionOk(CancelSessionOk) = implicit(ctx(0)),
        /// `cancelSessionError [1]`: invalidTransactionId(1), euiccSignatureInvalid(2), undefinedError(127).
        CancelSessionError(i64) = implicit(ctx(1)),
    }
);

/// `CancelSessionOk`: no output data.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq, Default)]
pub struct CancelSessionOk {
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

// ----------------------------------------------------------- ES11 (SM-DS)

ext_choice!(
    /// `AuthenticateClientResponseEs11`, tag `BF40` (ES11.AuthenticateClient, SGP.22 §5.8.2).
    pub enum AuthenticateClientResponseEs11 [outer ctx(64)] {
        /// `authenticateClientOk [0]`.
        AuthenticateClientOk(AuthenticateClientOkEs11) = implicit(ctx(0)),
        /// `authenticateClientError [1]`.
        AuthenticateClientError(i64) = implicit(ctx(1)),
    }
);

/// `AuthenticateClientOkEs11` (SGP.22 §5.8.2).
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateClientOkEs11 {
    /// `transactionId [0]`.
    #[rasn(tag(context, 0))]
    pub transaction_id: TransactionId,
    /// `eventEntries [1]`.
    #[rasn(tag(context, 1))]
    pub event_entries: Vec<EventEntries>,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}

/// `EventEntries` (SGP.22 §5.8.2): an event registered at the SM-DS.
#[derive(AsnType, Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct EventEntries {
    /// `eventId [0]`.
    #[rasn(tag(context, 0))]
    pub event_id: String,
    /// `rspServerAddress [1]`.
    #[rasn(tag(context, 1))]
    pub rsp_server_address: String,
    /// Unknown fields from newer peers.
    pub extensions: Extensions,
}
