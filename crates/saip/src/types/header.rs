//! `ProfileHeader` (SAIP section 8.2) and the types it uses.

use rasn::prelude::*;

use crate::types::common::Extensions;

/// `ProfileHeader`: the first PE of every package. Components are automatically tagged
/// `[0]`…`[9]`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ProfileHeader {
    /// `major-version UInt8` (3 for SAIP 3.x; TS.48 profiles use 2).
    #[rasn(tag(context, 0))]
    pub major_version: u8,
    /// `minor-version UInt8`.
    #[rasn(tag(context, 1))]
    pub minor_version: u8,
    /// `profileType UTF8String (SIZE (1..100)) OPTIONAL`.
    #[rasn(tag(context, 2))]
    pub profile_type: Option<Utf8String>,
    /// `iccid OCTET STRING (SIZE (10))`: ICCID, BCD with swapped nibbles (as in EF.ICCID).
    #[rasn(tag(context, 3))]
    pub iccid: OctetString,
    /// `pol OCTET STRING OPTIONAL`: profile policy rules.
    #[rasn(tag(context, 4))]
    pub pol: Option<OctetString>,
    /// `eUICC-Mandatory-services ServicesList`.
    #[rasn(tag(context, 5))]
    pub euicc_mandatory_services: ServicesList,
    /// `eUICC-Mandatory-GFSTEList SEQUENCE OF OBJECT IDENTIFIER`: mandatory file-system templates.
    #[rasn(tag(context, 6))]
    pub euicc_mandatory_gfste_list: Vec<ObjectIdentifier>,
    /// `connectivityParameters OCTET STRING OPTIONAL`.
    #[rasn(tag(context, 7))]
    pub connectivity_parameters: Option<OctetString>,
    /// `eUICC-Mandatory-AIDs SEQUENCE OF SEQUENCE { aid, version } OPTIONAL`.
    #[rasn(tag(context, 8))]
    pub euicc_mandatory_aids: Option<Vec<MandatoryAid>>,
    /// `iotOptions IotOptions OPTIONAL` (mandatory for IoT minimal profiles).
    #[rasn(tag(context, 9))]
    pub iot_options: Option<IotOptions>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// Element of `ProfileHeader.eUICC-Mandatory-AIDs`: `SEQUENCE { aid ApplicationIdentifier,
/// version OCTET STRING (SIZE(2)) }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct MandatoryAid {
    /// `aid ApplicationIdentifier` (5..16 octets).
    #[rasn(tag(context, 0))]
    pub aid: OctetString,
    /// `version OCTET STRING (SIZE(2))`.
    #[rasn(tag(context, 1))]
    pub version: OctetString,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `IotOptions ::= SEQUENCE { pix OCTET STRING (SIZE (7..11)) }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct IotOptions {
    /// `pix`: PIX value to be used for IoT minimal profiles.
    #[rasn(tag(context, 0))]
    pub pix: OctetString,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `ServicesList`: eUICC services the profile requires; every component is `NULL OPTIONAL`
/// with automatic tags `[0]`…`[29]`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct ServicesList {
    /// `contactless NULL OPTIONAL`.
    #[rasn(tag(context, 0))]
    pub contactless: Option<()>,
    /// `usim NULL OPTIONAL`.
    #[rasn(tag(context, 1))]
    pub usim: Option<()>,
    /// `isim NULL OPTIONAL`.
    #[rasn(tag(context, 2))]
    pub isim: Option<()>,
    /// `csim NULL OPTIONAL`.
    #[rasn(tag(context, 3))]
    pub csim: Option<()>,
    /// `milenage NULL OPTIONAL`.
    #[rasn(tag(context, 4))]
    pub milenage: Option<()>,
    /// `tuak128 NULL OPTIONAL`.
    #[rasn(tag(context, 5))]
    pub tuak128: Option<()>,
    /// `cave NULL OPTIONAL`.
    #[rasn(tag(context, 6))]
    pub cave: Option<()>,
    /// `gba-usim NULL OPTIONAL`.
    #[rasn(tag(context, 7))]
    pub gba_usim: Option<()>,
    /// `gba-isim NULL OPTIONAL`.
    #[rasn(tag(context, 8))]
    pub gba_isim: Option<()>,
    /// `mbms NULL OPTIONAL`.
    #[rasn(tag(context, 9))]
    pub mbms: Option<()>,
    /// `eap NULL OPTIONAL`.
    #[rasn(tag(context, 10))]
    pub eap: Option<()>,
    /// `javacard NULL OPTIONAL`.
    #[rasn(tag(context, 11))]
    pub javacard: Option<()>,
    /// `multos NULL OPTIONAL`.
    #[rasn(tag(context, 12))]
    pub multos: Option<()>,
    /// `multiple-usim NULL OPTIONAL`.
    #[rasn(tag(context, 13))]
    pub multiple_usim: Option<()>,
    /// `multiple-isim NULL OPTIONAL`.
    #[rasn(tag(context, 14))]
    pub multiple_isim: Option<()>,
    /// `multiple-csim NULL OPTIONAL`.
    #[rasn(tag(context, 15))]
    pub multiple_csim: Option<()>,
    /// `tuak256 NULL OPTIONAL`.
    #[rasn(tag(context, 16))]
    pub tuak256: Option<()>,
    /// `usim-test-algorithm NULL OPTIONAL`.
    #[rasn(tag(context, 17))]
    pub usim_test_algorithm: Option<()>,
    /// `ber-tlv NULL OPTIONAL`.
    #[rasn(tag(context, 18))]
    pub ber_tlv: Option<()>,
    /// `dfLink NULL OPTIONAL`.
    #[rasn(tag(context, 19))]
    pub df_link: Option<()>,
    /// `cat-tp NULL OPTIONAL`.
    #[rasn(tag(context, 20))]
    pub cat_tp: Option<()>,
    /// `get-identity NULL OPTIONAL`.
    #[rasn(tag(context, 21))]
    pub get_identity: Option<()>,
    /// `profile-a-x25519 NULL OPTIONAL`.
    #[rasn(tag(context, 22))]
    pub profile_a_x25519: Option<()>,
    /// `profile-b-p256 NULL OPTIONAL`.
    #[rasn(tag(context, 23))]
    pub profile_b_p256: Option<()>,
    /// `suciCalculatorApi NULL OPTIONAL`.
    #[rasn(tag(context, 24))]
    pub suci_calculator_api: Option<()>,
    /// `dns-resolution NULL OPTIONAL`.
    #[rasn(tag(context, 25))]
    pub dns_resolution: Option<()>,
    /// `scp11ac NULL OPTIONAL`.
    #[rasn(tag(context, 26))]
    pub scp11ac: Option<()>,
    /// `scp11c-authorization-mechanism NULL OPTIONAL`.
    #[rasn(tag(context, 27))]
    pub scp11c_authorization_mechanism: Option<()>,
    /// `s16mode NULL OPTIONAL`.
    #[rasn(tag(context, 28))]
    pub s16mode: Option<()>,
    /// `eaka NULL OPTIONAL`.
    #[rasn(tag(context, 29))]
    pub eaka: Option<()>,
    /// Unknown extension components (services defined by newer versions).
    pub extensions: Extensions,
}

impl ServicesList {
    /// ASN.1 names of all services known to this version, in tag order.
    pub const NAMES: &'static [&'static str] = &[
        "contactless",
        "usim",
        "isim",
        "csim",
        "milenage",
        "tuak128",
        "cave",
        "gba-usim",
        "gba-isim",
        "mbms",
        "eap",
        "javacard",
        "multos",
        "multiple-usim",
        "multiple-isim",
        "multiple-csim",
        "tuak256",
        "usim-test-algorithm",
        "ber-tlv",
        "dfLink",
        "cat-tp",
        "get-identity",
        "profile-a-x25519",
        "profile-b-p256",
        "suciCalculatorApi",
        "dns-resolution",
        "scp11ac",
        "scp11c-authorization-mechanism",
        "s16mode",
        "eaka",
    ];

    /// Whether the service with ASN.1 name `name` (e.g. `"milenage"`) is required.
    pub fn has(&self, name: &str) -> bool {
        match name {
            "contactless" => self.contactless.is_some(),
            "usim" => self.usim.is_some(),
            "isim" => self.isim.is_some(),
            "csim" => self.csim.is_some(),
            "milenage" => self.milenage.is_some(),
            "tuak128" => self.tuak128.is_some(),
            "cave" => self.cave.is_some(),
            "gba-usim" => self.gba_usim.is_some(),
            "gba-isim" => self.gba_isim.is_some(),
            "mbms" => self.mbms.is_some(),
            "eap" => self.eap.is_some(),
            "javacard" => self.javacard.is_some(),
            "multos" => self.multos.is_some(),
            "multiple-usim" => self.multiple_usim.is_some(),
            "multiple-isim" => self.multiple_isim.is_some(),
            "multiple-csim" => self.multiple_csim.is_some(),
            "tuak256" => self.tuak256.is_some(),
            "usim-test-algorithm" => self.usim_test_algorithm.is_some(),
            "ber-tlv" => self.ber_tlv.is_some(),
            "dfLink" => self.df_link.is_some(),
            "cat-tp" => self.cat_tp.is_some(),
            "get-identity" => self.get_identity.is_some(),
            "profile-a-x25519" => self.profile_a_x25519.is_some(),
            "profile-b-p256" => self.profile_b_p256.is_some(),
            "suciCalculatorApi" => self.suci_calculator_api.is_some(),
            "dns-resolution" => self.dns_resolution.is_some(),
            "scp11ac" => self.scp11ac.is_some(),
            "scp11c-authorization-mechanism" => self.scp11c_authorization_mechanism.is_some(),
            "s16mode" => self.s16mode.is_some(),
            "eaka" => self.eaka.is_some(),
            _ => false,
        }
    }

    /// Marks the service with ASN.1 name `name` as required or not; returns `false` if the
    /// name is unknown to this version.
    pub fn set(&mut self, name: &str, required: bool) -> bool {
        let slot = match name {
            "contactless" => &mut self.contactless,
            "usim" => &mut self.usim,
            "isim" => &mut self.isim,
            "csim" => &mut self.csim,
            "milenage" => &mut self.milenage,
            "tuak128" => &mut self.tuak128,
            "cave" => &mut self.cave,
            "gba-usim" => &mut self.gba_usim,
            "gba-isim" => &mut self.gba_isim,
            "mbms" => &mut self.mbms,
            "eap" => &mut self.eap,
            "javacard" => &mut self.javacard,
            "multos" => &mut self.multos,
            "multiple-usim" => &mut self.multiple_usim,
            "multiple-isim" => &mut self.multiple_isim,
            "multiple-csim" => &mut self.multiple_csim,
            "tuak256" => &mut self.tuak256,
            "usim-test-algorithm" => &mut self.usim_test_algorithm,
            "ber-tlv" => &mut self.ber_tlv,
            "dfLink" => &mut self.df_link,
            "cat-tp" => &mut self.cat_tp,
            "get-identity" => &mut self.get_identity,
            "profile-a-x25519" => &mut self.profile_a_x25519,
            "profile-b-p256" => &mut self.profile_b_p256,
            "suciCalculatorApi" => &mut self.suci_calculator_api,
            "dns-resolution" => &mut self.dns_resolution,
            "scp11ac" => &mut self.scp11ac,
            "scp11c-authorization-mechanism" => &mut self.scp11c_authorization_mechanism,
            "s16mode" => &mut self.s16mode,
            "eaka" => &mut self.eaka,
            _ => return false,
        };
        *slot = required.then_some(());
        true
    }

    /// Names of the required services.
    pub fn required(&self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .copied()
            .filter(|n| self.has(n))
            .collect()
    }
}
