//! File-system template profile elements (TCA SAIP 3.3.1, section 8.3 and Annex A).
//!
//! Every type here mirrors one `PE-…` SEQUENCE of `PE_Definitions-3.3.1.asn`. They all share one shape:
//! a `PEHeader`, the `templateID` OBJECT IDENTIFIER naming the file-system template, then one
//! [`File`] per file of the template. The module uses AUTOMATIC TAGS and none of these components
//! carries a tag of its own, so the components are tagged `[0]`, `[1]`, `[2]`, … in order.
//!
//! Generated from the ASN.1 module by a small script (one field per `File` component, in module
//! order) and then reviewed; the shape is regular enough that a macro-free listing is the clearest.

use rasn::prelude::*;

use crate::types::common::{Extensions, File, PeHeader};

/// `PE-MF`: the master file (MF) with EF.PL, EF.ICCID, EF.DIR, EF.ARR, EF.UMPC.
///
/// ASN.1: `PE-MF ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeMf {
    /// `mf-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `mf`.
    #[rasn(tag(context, 2))]
    pub mf: File,
    /// `ef-pl` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_pl: Option<File>,
    /// `ef-iccid`.
    #[rasn(tag(context, 4))]
    pub ef_iccid: File,
    /// `ef-dir`.
    #[rasn(tag(context, 5))]
    pub ef_dir: File,
    /// `ef-arr`.
    #[rasn(tag(context, 6))]
    pub ef_arr: File,
    /// `ef-umpc` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_umpc: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeMf {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] =
        &["mf", "ef-pl", "ef-iccid", "ef-dir", "ef-arr", "ef-umpc"];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "mf" => Some(&self.mf),
            "ef-pl" => self.ef_pl.as_ref(),
            "ef-iccid" => Some(&self.ef_iccid),
            "ef-dir" => Some(&self.ef_dir),
            "ef-arr" => Some(&self.ef_arr),
            "ef-umpc" => self.ef_umpc.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "mf" => Some(&mut self.mf),
            "ef-pl" => self.ef_pl.as_mut(),
            "ef-iccid" => Some(&mut self.ef_iccid),
            "ef-dir" => Some(&mut self.ef_dir),
            "ef-arr" => Some(&mut self.ef_arr),
            "ef-umpc" => self.ef_umpc.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-CD`: DF.CD (configuration data: launch pad, icons).
///
/// ASN.1: `PE-CD ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeCd {
    /// `cd-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `df-cd`.
    #[rasn(tag(context, 2))]
    pub df_cd: File,
    /// `ef-launchpad` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_launchpad: Option<File>,
    /// `ef-icon` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_icon: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeCd {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &["df-cd", "ef-launchpad", "ef-icon"];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "df-cd" => Some(&self.df_cd),
            "ef-launchpad" => self.ef_launchpad.as_ref(),
            "ef-icon" => self.ef_icon.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "df-cd" => Some(&mut self.df_cd),
            "ef-launchpad" => self.ef_launchpad.as_mut(),
            "ef-icon" => self.ef_icon.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-TELECOM`: DF.TELECOM with its graphics, phonebook, multimedia, MMSS, MCS and V2X sub-directories.
///
/// ASN.1: `PE-TELECOM ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeTelecom {
    /// `telecom-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `df-telecom`.
    #[rasn(tag(context, 2))]
    pub df_telecom: File,
    /// `ef-arr` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_arr: Option<File>,
    /// `ef-rma` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_rma: Option<File>,
    /// `ef-sume` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_sume: Option<File>,
    /// `ef-ice-dn` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_ice_dn: Option<File>,
    /// `ef-ice-ff` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_ice_ff: Option<File>,
    /// `ef-psismsc` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub ef_psismsc: Option<File>,
    /// `df-graphics` (OPTIONAL).
    #[rasn(tag(context, 9))]
    pub df_graphics: Option<File>,
    /// `ef-img` (OPTIONAL).
    #[rasn(tag(context, 10))]
    pub ef_img: Option<File>,
    /// `ef-iidf` (OPTIONAL).
    #[rasn(tag(context, 11))]
    pub ef_iidf: Option<File>,
    /// `ef-ice-graphics` (OPTIONAL).
    #[rasn(tag(context, 12))]
    pub ef_ice_graphics: Option<File>,
    /// `ef-launch-scws` (OPTIONAL).
    #[rasn(tag(context, 13))]
    pub ef_launch_scws: Option<File>,
    /// `ef-icon` (OPTIONAL).
    #[rasn(tag(context, 14))]
    pub ef_icon: Option<File>,
    /// `df-phonebook` (OPTIONAL).
    #[rasn(tag(context, 15))]
    pub df_phonebook: Option<File>,
    /// `ef-pbr` (OPTIONAL).
    #[rasn(tag(context, 16))]
    pub ef_pbr: Option<File>,
    /// `ef-ext1` (OPTIONAL).
    #[rasn(tag(context, 17))]
    pub ef_ext1: Option<File>,
    /// `ef-aas` (OPTIONAL).
    #[rasn(tag(context, 18))]
    pub ef_aas: Option<File>,
    /// `ef-gas` (OPTIONAL).
    #[rasn(tag(context, 19))]
    pub ef_gas: Option<File>,
    /// `ef-psc` (OPTIONAL).
    #[rasn(tag(context, 20))]
    pub ef_psc: Option<File>,
    /// `ef-cc` (OPTIONAL).
    #[rasn(tag(context, 21))]
    pub ef_cc: Option<File>,
    /// `ef-puid` (OPTIONAL).
    #[rasn(tag(context, 22))]
    pub ef_puid: Option<File>,
    /// `ef-iap` (OPTIONAL).
    #[rasn(tag(context, 23))]
    pub ef_iap: Option<File>,
    /// `ef-adn` (OPTIONAL).
    #[rasn(tag(context, 24))]
    pub ef_adn: Option<File>,
    /// `ef-pbc` (OPTIONAL).
    #[rasn(tag(context, 25))]
    pub ef_pbc: Option<File>,
    /// `ef-anr` (OPTIONAL).
    #[rasn(tag(context, 26))]
    pub ef_anr: Option<File>,
    /// `ef-puri` (OPTIONAL).
    #[rasn(tag(context, 27))]
    pub ef_puri: Option<File>,
    /// `ef-email` (OPTIONAL).
    #[rasn(tag(context, 28))]
    pub ef_email: Option<File>,
    /// `ef-sne` (OPTIONAL).
    #[rasn(tag(context, 29))]
    pub ef_sne: Option<File>,
    /// `ef-uid` (OPTIONAL).
    #[rasn(tag(context, 30))]
    pub ef_uid: Option<File>,
    /// `ef-grp` (OPTIONAL).
    #[rasn(tag(context, 31))]
    pub ef_grp: Option<File>,
    /// `ef-ccp1` (OPTIONAL).
    #[rasn(tag(context, 32))]
    pub ef_ccp1: Option<File>,
    /// `df-multimedia` (OPTIONAL).
    #[rasn(tag(context, 33))]
    pub df_multimedia: Option<File>,
    /// `ef-mml` (OPTIONAL).
    #[rasn(tag(context, 34))]
    pub ef_mml: Option<File>,
    /// `ef-mmdf` (OPTIONAL).
    #[rasn(tag(context, 35))]
    pub ef_mmdf: Option<File>,
    /// `df-mmss` (OPTIONAL).
    #[rasn(tag(context, 36))]
    pub df_mmss: Option<File>,
    /// `ef-mlpl` (OPTIONAL).
    #[rasn(tag(context, 37))]
    pub ef_mlpl: Option<File>,
    /// `ef-mspl` (OPTIONAL).
    #[rasn(tag(context, 38))]
    pub ef_mspl: Option<File>,
    /// `ef-mmssmode` (OPTIONAL).
    #[rasn(tag(context, 39))]
    pub ef_mmssmode: Option<File>,
    /// `df-mcs` (OPTIONAL).
    #[rasn(tag(context, 40))]
    pub df_mcs: Option<File>,
    /// `ef-mst` (OPTIONAL).
    #[rasn(tag(context, 41))]
    pub ef_mst: Option<File>,
    /// `ef-mcs-config` (OPTIONAL).
    #[rasn(tag(context, 42))]
    pub ef_mcs_config: Option<File>,
    /// `df-v2x` (OPTIONAL).
    #[rasn(tag(context, 43))]
    pub df_v2x: Option<File>,
    /// `ef-vst` (OPTIONAL).
    #[rasn(tag(context, 44))]
    pub ef_vst: Option<File>,
    /// `ef-v2x-config` (OPTIONAL).
    #[rasn(tag(context, 45))]
    pub ef_v2x_config: Option<File>,
    /// `ef-v2xp-pc5` (OPTIONAL).
    #[rasn(tag(context, 46))]
    pub ef_v2xp_pc5: Option<File>,
    /// `ef-v2xp-Uu` (OPTIONAL).
    #[rasn(tag(context, 47))]
    pub ef_v2xp_uu: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeTelecom {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "df-telecom",
        "ef-arr",
        "ef-rma",
        "ef-sume",
        "ef-ice-dn",
        "ef-ice-ff",
        "ef-psismsc",
        "df-graphics",
        "ef-img",
        "ef-iidf",
        "ef-ice-graphics",
        "ef-launch-scws",
        "ef-icon",
        "df-phonebook",
        "ef-pbr",
        "ef-ext1",
        "ef-aas",
        "ef-gas",
        "ef-psc",
        "ef-cc",
        "ef-puid",
        "ef-iap",
        "ef-adn",
        "ef-pbc",
        "ef-anr",
        "ef-puri",
        "ef-email",
        "ef-sne",
        "ef-uid",
        "ef-grp",
        "ef-ccp1",
        "df-multimedia",
        "ef-mml",
        "ef-mmdf",
        "df-mmss",
        "ef-mlpl",
        "ef-mspl",
        "ef-mmssmode",
        "df-mcs",
        "ef-mst",
        "ef-mcs-config",
        "df-v2x",
        "ef-vst",
        "ef-v2x-config",
        "ef-v2xp-pc5",
        "ef-v2xp-Uu",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "df-telecom" => Some(&self.df_telecom),
            "ef-arr" => self.ef_arr.as_ref(),
            "ef-rma" => self.ef_rma.as_ref(),
            "ef-sume" => self.ef_sume.as_ref(),
            "ef-ice-dn" => self.ef_ice_dn.as_ref(),
            "ef-ice-ff" => self.ef_ice_ff.as_ref(),
            "ef-psismsc" => self.ef_psismsc.as_ref(),
            "df-graphics" => self.df_graphics.as_ref(),
            "ef-img" => self.ef_img.as_ref(),
            "ef-iidf" => self.ef_iidf.as_ref(),
            "ef-ice-graphics" => self.ef_ice_graphics.as_ref(),
            "ef-launch-scws" => self.ef_launch_scws.as_ref(),
            "ef-icon" => self.ef_icon.as_ref(),
            "df-phonebook" => self.df_phonebook.as_ref(),
            "ef-pbr" => self.ef_pbr.as_ref(),
            "ef-ext1" => self.ef_ext1.as_ref(),
            "ef-aas" => self.ef_aas.as_ref(),
            "ef-gas" => self.ef_gas.as_ref(),
            "ef-psc" => self.ef_psc.as_ref(),
            "ef-cc" => self.ef_cc.as_ref(),
            "ef-puid" => self.ef_puid.as_ref(),
            "ef-iap" => self.ef_iap.as_ref(),
            "ef-adn" => self.ef_adn.as_ref(),
            "ef-pbc" => self.ef_pbc.as_ref(),
            "ef-anr" => self.ef_anr.as_ref(),
            "ef-puri" => self.ef_puri.as_ref(),
            "ef-email" => self.ef_email.as_ref(),
            "ef-sne" => self.ef_sne.as_ref(),
            "ef-uid" => self.ef_uid.as_ref(),
            "ef-grp" => self.ef_grp.as_ref(),
            "ef-ccp1" => self.ef_ccp1.as_ref(),
            "df-multimedia" => self.df_multimedia.as_ref(),
            "ef-mml" => self.ef_mml.as_ref(),
            "ef-mmdf" => self.ef_mmdf.as_ref(),
            "df-mmss" => self.df_mmss.as_ref(),
            "ef-mlpl" => self.ef_mlpl.as_ref(),
            "ef-mspl" => self.ef_mspl.as_ref(),
            "ef-mmssmode" => self.ef_mmssmode.as_ref(),
            "df-mcs" => self.df_mcs.as_ref(),
            "ef-mst" => self.ef_mst.as_ref(),
            "ef-mcs-config" => self.ef_mcs_config.as_ref(),
            "df-v2x" => self.df_v2x.as_ref(),
            "ef-vst" => self.ef_vst.as_ref(),
            "ef-v2x-config" => self.ef_v2x_config.as_ref(),
            "ef-v2xp-pc5" => self.ef_v2xp_pc5.as_ref(),
            "ef-v2xp-Uu" => self.ef_v2xp_uu.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "df-telecom" => Some(&mut self.df_telecom),
            "ef-arr" => self.ef_arr.as_mut(),
            "ef-rma" => self.ef_rma.as_mut(),
            "ef-sume" => self.ef_sume.as_mut(),
            "ef-ice-dn" => self.ef_ice_dn.as_mut(),
            "ef-ice-ff" => self.ef_ice_ff.as_mut(),
            "ef-psismsc" => self.ef_psismsc.as_mut(),
            "df-graphics" => self.df_graphics.as_mut(),
            "ef-img" => self.ef_img.as_mut(),
            "ef-iidf" => self.ef_iidf.as_mut(),
            "ef-ice-graphics" => self.ef_ice_graphics.as_mut(),
            "ef-launch-scws" => self.ef_launch_scws.as_mut(),
            "ef-icon" => self.ef_icon.as_mut(),
            "df-phonebook" => self.df_phonebook.as_mut(),
            "ef-pbr" => self.ef_pbr.as_mut(),
            "ef-ext1" => self.ef_ext1.as_mut(),
            "ef-aas" => self.ef_aas.as_mut(),
            "ef-gas" => self.ef_gas.as_mut(),
            "ef-psc" => self.ef_psc.as_mut(),
            "ef-cc" => self.ef_cc.as_mut(),
            "ef-puid" => self.ef_puid.as_mut(),
            "ef-iap" => self.ef_iap.as_mut(),
            "ef-adn" => self.ef_adn.as_mut(),
            "ef-pbc" => self.ef_pbc.as_mut(),
            "ef-anr" => self.ef_anr.as_mut(),
            "ef-puri" => self.ef_puri.as_mut(),
            "ef-email" => self.ef_email.as_mut(),
            "ef-sne" => self.ef_sne.as_mut(),
            "ef-uid" => self.ef_uid.as_mut(),
            "ef-grp" => self.ef_grp.as_mut(),
            "ef-ccp1" => self.ef_ccp1.as_mut(),
            "df-multimedia" => self.df_multimedia.as_mut(),
            "ef-mml" => self.ef_mml.as_mut(),
            "ef-mmdf" => self.ef_mmdf.as_mut(),
            "df-mmss" => self.df_mmss.as_mut(),
            "ef-mlpl" => self.ef_mlpl.as_mut(),
            "ef-mspl" => self.ef_mspl.as_mut(),
            "ef-mmssmode" => self.ef_mmssmode.as_mut(),
            "df-mcs" => self.df_mcs.as_mut(),
            "ef-mst" => self.ef_mst.as_mut(),
            "ef-mcs-config" => self.ef_mcs_config.as_mut(),
            "df-v2x" => self.df_v2x.as_mut(),
            "ef-vst" => self.ef_vst.as_mut(),
            "ef-v2x-config" => self.ef_v2x_config.as_mut(),
            "ef-v2xp-pc5" => self.ef_v2xp_pc5.as_mut(),
            "ef-v2xp-Uu" => self.ef_v2xp_uu.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-USIM`: ADF.USIM with the mandatory USIM files (EF.IMSI, EF.UST, EF.ACC, ...).
///
/// ASN.1: `PE-USIM ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeUsim {
    /// `usim-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `adf-usim`.
    #[rasn(tag(context, 2))]
    pub adf_usim: File,
    /// `ef-imsi`.
    #[rasn(tag(context, 3))]
    pub ef_imsi: File,
    /// `ef-arr`.
    #[rasn(tag(context, 4))]
    pub ef_arr: File,
    /// `ef-keys` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_keys: Option<File>,
    /// `ef-keysPS` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_keys_ps: Option<File>,
    /// `ef-hpplmn` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_hpplmn: Option<File>,
    /// `ef-ust`.
    #[rasn(tag(context, 8))]
    pub ef_ust: File,
    /// `ef-fdn` (OPTIONAL).
    #[rasn(tag(context, 9))]
    pub ef_fdn: Option<File>,
    /// `ef-sms` (OPTIONAL).
    #[rasn(tag(context, 10))]
    pub ef_sms: Option<File>,
    /// `ef-smsp` (OPTIONAL).
    #[rasn(tag(context, 11))]
    pub ef_smsp: Option<File>,
    /// `ef-smss` (OPTIONAL).
    #[rasn(tag(context, 12))]
    pub ef_smss: Option<File>,
    /// `ef-spn`.
    #[rasn(tag(context, 13))]
    pub ef_spn: File,
    /// `ef-est`.
    #[rasn(tag(context, 14))]
    pub ef_est: File,
    /// `ef-start-hfn` (OPTIONAL).
    #[rasn(tag(context, 15))]
    pub ef_start_hfn: Option<File>,
    /// `ef-threshold` (OPTIONAL).
    #[rasn(tag(context, 16))]
    pub ef_threshold: Option<File>,
    /// `ef-psloci` (OPTIONAL).
    #[rasn(tag(context, 17))]
    pub ef_psloci: Option<File>,
    /// `ef-acc`.
    #[rasn(tag(context, 18))]
    pub ef_acc: File,
    /// `ef-fplmn` (OPTIONAL).
    #[rasn(tag(context, 19))]
    pub ef_fplmn: Option<File>,
    /// `ef-loci` (OPTIONAL).
    #[rasn(tag(context, 20))]
    pub ef_loci: Option<File>,
    /// `ef-ad` (OPTIONAL).
    #[rasn(tag(context, 21))]
    pub ef_ad: Option<File>,
    /// `ef-ecc`.
    #[rasn(tag(context, 22))]
    pub ef_ecc: File,
    /// `ef-netpar` (OPTIONAL).
    #[rasn(tag(context, 23))]
    pub ef_netpar: Option<File>,
    /// `ef-epsloci` (OPTIONAL).
    #[rasn(tag(context, 24))]
    pub ef_epsloci: Option<File>,
    /// `ef-epsnsc` (OPTIONAL).
    #[rasn(tag(context, 25))]
    pub ef_epsnsc: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeUsim {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "adf-usim",
        "ef-imsi",
        "ef-arr",
        "ef-keys",
        "ef-keysPS",
        "ef-hpplmn",
        "ef-ust",
        "ef-fdn",
        "ef-sms",
        "ef-smsp",
        "ef-smss",
        "ef-spn",
        "ef-est",
        "ef-start-hfn",
        "ef-threshold",
        "ef-psloci",
        "ef-acc",
        "ef-fplmn",
        "ef-loci",
        "ef-ad",
        "ef-ecc",
        "ef-netpar",
        "ef-epsloci",
        "ef-epsnsc",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "adf-usim" => Some(&self.adf_usim),
            "ef-imsi" => Some(&self.ef_imsi),
            "ef-arr" => Some(&self.ef_arr),
            "ef-keys" => self.ef_keys.as_ref(),
            "ef-keysPS" => self.ef_keys_ps.as_ref(),
            "ef-hpplmn" => self.ef_hpplmn.as_ref(),
            "ef-ust" => Some(&self.ef_ust),
            "ef-fdn" => self.ef_fdn.as_ref(),
            "ef-sms" => self.ef_sms.as_ref(),
            "ef-smsp" => self.ef_smsp.as_ref(),
            "ef-smss" => self.ef_smss.as_ref(),
            "ef-spn" => Some(&self.ef_spn),
            "ef-est" => Some(&self.ef_est),
            "ef-start-hfn" => self.ef_start_hfn.as_ref(),
            "ef-threshold" => self.ef_threshold.as_ref(),
            "ef-psloci" => self.ef_psloci.as_ref(),
            "ef-acc" => Some(&self.ef_acc),
            "ef-fplmn" => self.ef_fplmn.as_ref(),
            "ef-loci" => self.ef_loci.as_ref(),
            "ef-ad" => self.ef_ad.as_ref(),
            "ef-ecc" => Some(&self.ef_ecc),
            "ef-netpar" => self.ef_netpar.as_ref(),
            "ef-epsloci" => self.ef_epsloci.as_ref(),
            "ef-epsnsc" => self.ef_epsnsc.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "adf-usim" => Some(&mut self.adf_usim),
            "ef-imsi" => Some(&mut self.ef_imsi),
            "ef-arr" => Some(&mut self.ef_arr),
            "ef-keys" => self.ef_keys.as_mut(),
            "ef-keysPS" => self.ef_keys_ps.as_mut(),
            "ef-hpplmn" => self.ef_hpplmn.as_mut(),
            "ef-ust" => Some(&mut self.ef_ust),
            "ef-fdn" => self.ef_fdn.as_mut(),
            "ef-sms" => self.ef_sms.as_mut(),
            "ef-smsp" => self.ef_smsp.as_mut(),
            "ef-smss" => self.ef_smss.as_mut(),
            "ef-spn" => Some(&mut self.ef_spn),
            "ef-est" => Some(&mut self.ef_est),
            "ef-start-hfn" => self.ef_start_hfn.as_mut(),
            "ef-threshold" => self.ef_threshold.as_mut(),
            "ef-psloci" => self.ef_psloci.as_mut(),
            "ef-acc" => Some(&mut self.ef_acc),
            "ef-fplmn" => self.ef_fplmn.as_mut(),
            "ef-loci" => self.ef_loci.as_mut(),
            "ef-ad" => self.ef_ad.as_mut(),
            "ef-ecc" => Some(&mut self.ef_ecc),
            "ef-netpar" => self.ef_netpar.as_mut(),
            "ef-epsloci" => self.ef_epsloci.as_mut(),
            "ef-epsnsc" => self.ef_epsnsc.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-OPT-USIM`: optional files of ADF.USIM.
///
/// ASN.1: `PE-OPT-USIM ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeOptUsim {
    /// `optusim-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `ef-li` (OPTIONAL).
    #[rasn(tag(context, 2))]
    pub ef_li: Option<File>,
    /// `ef-acmax` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_acmax: Option<File>,
    /// `ef-acm` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_acm: Option<File>,
    /// `ef-gid1` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_gid1: Option<File>,
    /// `ef-gid2` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_gid2: Option<File>,
    /// `ef-msisdn` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_msisdn: Option<File>,
    /// `ef-puct` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub ef_puct: Option<File>,
    /// `ef-cbmi` (OPTIONAL).
    #[rasn(tag(context, 9))]
    pub ef_cbmi: Option<File>,
    /// `ef-cbmid` (OPTIONAL).
    #[rasn(tag(context, 10))]
    pub ef_cbmid: Option<File>,
    /// `ef-sdn` (OPTIONAL).
    #[rasn(tag(context, 11))]
    pub ef_sdn: Option<File>,
    /// `ef-ext2` (OPTIONAL).
    #[rasn(tag(context, 12))]
    pub ef_ext2: Option<File>,
    /// `ef-ext3` (OPTIONAL).
    #[rasn(tag(context, 13))]
    pub ef_ext3: Option<File>,
    /// `ef-cbmir` (OPTIONAL).
    #[rasn(tag(context, 14))]
    pub ef_cbmir: Option<File>,
    /// `ef-plmnwact` (OPTIONAL).
    #[rasn(tag(context, 15))]
    pub ef_plmnwact: Option<File>,
    /// `ef-oplmnwact` (OPTIONAL).
    #[rasn(tag(context, 16))]
    pub ef_oplmnwact: Option<File>,
    /// `ef-hplmnwact` (OPTIONAL).
    #[rasn(tag(context, 17))]
    pub ef_hplmnwact: Option<File>,
    /// `ef-dck` (OPTIONAL).
    #[rasn(tag(context, 18))]
    pub ef_dck: Option<File>,
    /// `ef-cnl` (OPTIONAL).
    #[rasn(tag(context, 19))]
    pub ef_cnl: Option<File>,
    /// `ef-smsr` (OPTIONAL).
    #[rasn(tag(context, 20))]
    pub ef_smsr: Option<File>,
    /// `ef-bdn` (OPTIONAL).
    #[rasn(tag(context, 21))]
    pub ef_bdn: Option<File>,
    /// `ef-ext5` (OPTIONAL).
    #[rasn(tag(context, 22))]
    pub ef_ext5: Option<File>,
    /// `ef-ccp2` (OPTIONAL).
    #[rasn(tag(context, 23))]
    pub ef_ccp2: Option<File>,
    /// `ef-ext4` (OPTIONAL).
    #[rasn(tag(context, 24))]
    pub ef_ext4: Option<File>,
    /// `ef-acl` (OPTIONAL).
    #[rasn(tag(context, 25))]
    pub ef_acl: Option<File>,
    /// `ef-cmi` (OPTIONAL).
    #[rasn(tag(context, 26))]
    pub ef_cmi: Option<File>,
    /// `ef-ici` (OPTIONAL).
    #[rasn(tag(context, 27))]
    pub ef_ici: Option<File>,
    /// `ef-oci` (OPTIONAL).
    #[rasn(tag(context, 28))]
    pub ef_oci: Option<File>,
    /// `ef-ict` (OPTIONAL).
    #[rasn(tag(context, 29))]
    pub ef_ict: Option<File>,
    /// `ef-oct` (OPTIONAL).
    #[rasn(tag(context, 30))]
    pub ef_oct: Option<File>,
    /// `ef-vgcs` (OPTIONAL).
    #[rasn(tag(context, 31))]
    pub ef_vgcs: Option<File>,
    /// `ef-vgcss` (OPTIONAL).
    #[rasn(tag(context, 32))]
    pub ef_vgcss: Option<File>,
    /// `ef-vbs` (OPTIONAL).
    #[rasn(tag(context, 33))]
    pub ef_vbs: Option<File>,
    /// `ef-vbss` (OPTIONAL).
    #[rasn(tag(context, 34))]
    pub ef_vbss: Option<File>,
    /// `ef-emlpp` (OPTIONAL).
    #[rasn(tag(context, 35))]
    pub ef_emlpp: Option<File>,
    /// `ef-aaem` (OPTIONAL).
    #[rasn(tag(context, 36))]
    pub ef_aaem: Option<File>,
    /// `ef-hiddenkey` (OPTIONAL).
    #[rasn(tag(context, 37))]
    pub ef_hiddenkey: Option<File>,
    /// `ef-pnn` (OPTIONAL).
    #[rasn(tag(context, 38))]
    pub ef_pnn: Option<File>,
    /// `ef-opl` (OPTIONAL).
    #[rasn(tag(context, 39))]
    pub ef_opl: Option<File>,
    /// `ef-mbdn` (OPTIONAL).
    #[rasn(tag(context, 40))]
    pub ef_mbdn: Option<File>,
    /// `ef-ext6` (OPTIONAL).
    #[rasn(tag(context, 41))]
    pub ef_ext6: Option<File>,
    /// `ef-mbi` (OPTIONAL).
    #[rasn(tag(context, 42))]
    pub ef_mbi: Option<File>,
    /// `ef-mwis` (OPTIONAL).
    #[rasn(tag(context, 43))]
    pub ef_mwis: Option<File>,
    /// `ef-cfis` (OPTIONAL).
    #[rasn(tag(context, 44))]
    pub ef_cfis: Option<File>,
    /// `ef-ext7` (OPTIONAL).
    #[rasn(tag(context, 45))]
    pub ef_ext7: Option<File>,
    /// `ef-spdi` (OPTIONAL).
    #[rasn(tag(context, 46))]
    pub ef_spdi: Option<File>,
    /// `ef-mmsn` (OPTIONAL).
    #[rasn(tag(context, 47))]
    pub ef_mmsn: Option<File>,
    /// `ef-ext8` (OPTIONAL).
    #[rasn(tag(context, 48))]
    pub ef_ext8: Option<File>,
    /// `ef-mmsicp` (OPTIONAL).
    #[rasn(tag(context, 49))]
    pub ef_mmsicp: Option<File>,
    /// `ef-mmsup` (OPTIONAL).
    #[rasn(tag(context, 50))]
    pub ef_mmsup: Option<File>,
    /// `ef-mmsucp` (OPTIONAL).
    #[rasn(tag(context, 51))]
    pub ef_mmsucp: Option<File>,
    /// `ef-nia` (OPTIONAL).
    #[rasn(tag(context, 52))]
    pub ef_nia: Option<File>,
    /// `ef-vgcsca` (OPTIONAL).
    #[rasn(tag(context, 53))]
    pub ef_vgcsca: Option<File>,
    /// `ef-vbsca` (OPTIONAL).
    #[rasn(tag(context, 54))]
    pub ef_vbsca: Option<File>,
    /// `ef-gbabp` (OPTIONAL).
    #[rasn(tag(context, 55))]
    pub ef_gbabp: Option<File>,
    /// `ef-msk` (OPTIONAL).
    #[rasn(tag(context, 56))]
    pub ef_msk: Option<File>,
    /// `ef-muk` (OPTIONAL).
    #[rasn(tag(context, 57))]
    pub ef_muk: Option<File>,
    /// `ef-ehplmn` (OPTIONAL).
    #[rasn(tag(context, 58))]
    pub ef_ehplmn: Option<File>,
    /// `ef-gbanl` (OPTIONAL).
    #[rasn(tag(context, 59))]
    pub ef_gbanl: Option<File>,
    /// `ef-ehplmnpi` (OPTIONAL).
    #[rasn(tag(context, 60))]
    pub ef_ehplmnpi: Option<File>,
    /// `ef-lrplmnsi` (OPTIONAL).
    #[rasn(tag(context, 61))]
    pub ef_lrplmnsi: Option<File>,
    /// `ef-nafkca` (OPTIONAL).
    #[rasn(tag(context, 62))]
    pub ef_nafkca: Option<File>,
    /// `ef-spni` (OPTIONAL).
    #[rasn(tag(context, 63))]
    pub ef_spni: Option<File>,
    /// `ef-pnni` (OPTIONAL).
    #[rasn(tag(context, 64))]
    pub ef_pnni: Option<File>,
    /// `ef-ncp-ip` (OPTIONAL).
    #[rasn(tag(context, 65))]
    pub ef_ncp_ip: Option<File>,
    /// `ef-ufc` (OPTIONAL).
    #[rasn(tag(context, 66))]
    pub ef_ufc: Option<File>,
    /// `ef-nasconfig` (OPTIONAL).
    #[rasn(tag(context, 67))]
    pub ef_nasconfig: Option<File>,
    /// `ef-uicciari` (OPTIONAL).
    #[rasn(tag(context, 68))]
    pub ef_uicciari: Option<File>,
    /// `ef-pws` (OPTIONAL).
    #[rasn(tag(context, 69))]
    pub ef_pws: Option<File>,
    /// `ef-fdnuri` (OPTIONAL).
    #[rasn(tag(context, 70))]
    pub ef_fdnuri: Option<File>,
    /// `ef-bdnuri` (OPTIONAL).
    #[rasn(tag(context, 71))]
    pub ef_bdnuri: Option<File>,
    /// `ef-sdnuri` (OPTIONAL).
    #[rasn(tag(context, 72))]
    pub ef_sdnuri: Option<File>,
    /// `ef-ial` (OPTIONAL).
    #[rasn(tag(context, 73))]
    pub ef_ial: Option<File>,
    /// `ef-ips` (OPTIONAL).
    #[rasn(tag(context, 74))]
    pub ef_ips: Option<File>,
    /// `ef-ipd` (OPTIONAL).
    #[rasn(tag(context, 75))]
    pub ef_ipd: Option<File>,
    /// `ef-epdgid` (OPTIONAL).
    #[rasn(tag(context, 76))]
    pub ef_epdgid: Option<File>,
    /// `ef-epdgselection` (OPTIONAL).
    #[rasn(tag(context, 77))]
    pub ef_epdgselection: Option<File>,
    /// `ef-epdgidem` (OPTIONAL).
    #[rasn(tag(context, 78))]
    pub ef_epdgidem: Option<File>,
    /// `ef-epdgselectionem` (OPTIONAL).
    #[rasn(tag(context, 79))]
    pub ef_epdgselectionem: Option<File>,
    /// `ef-frompreferred` (OPTIONAL).
    #[rasn(tag(context, 80))]
    pub ef_frompreferred: Option<File>,
    /// `ef-imsconfigdata` (OPTIONAL).
    #[rasn(tag(context, 81))]
    pub ef_imsconfigdata: Option<File>,
    /// `ef-3gpppsdataoff` (OPTIONAL).
    #[rasn(tag(context, 82))]
    pub ef_3gpppsdataoff: Option<File>,
    /// `ef-3gpppsdataoffservicelist` (OPTIONAL).
    #[rasn(tag(context, 83))]
    pub ef_3gpppsdataoffservicelist: Option<File>,
    /// `ef-xcapconfigdata` (OPTIONAL).
    #[rasn(tag(context, 84))]
    pub ef_xcapconfigdata: Option<File>,
    /// `ef-earfcnlist` (OPTIONAL).
    #[rasn(tag(context, 85))]
    pub ef_earfcnlist: Option<File>,
    /// `ef-mudmidconfigdata` (OPTIONAL).
    #[rasn(tag(context, 86))]
    pub ef_mudmidconfigdata: Option<File>,
    /// `ef-eaka` (OPTIONAL).
    #[rasn(tag(context, 87))]
    pub ef_eaka: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeOptUsim {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "ef-li",
        "ef-acmax",
        "ef-acm",
        "ef-gid1",
        "ef-gid2",
        "ef-msisdn",
        "ef-puct",
        "ef-cbmi",
        "ef-cbmid",
        "ef-sdn",
        "ef-ext2",
        "ef-ext3",
        "ef-cbmir",
        "ef-plmnwact",
        "ef-oplmnwact",
        "ef-hplmnwact",
        "ef-dck",
        "ef-cnl",
        "ef-smsr",
        "ef-bdn",
        "ef-ext5",
        "ef-ccp2",
        "ef-ext4",
        "ef-acl",
        "ef-cmi",
        "ef-ici",
        "ef-oci",
        "ef-ict",
        "ef-oct",
        "ef-vgcs",
        "ef-vgcss",
        "ef-vbs",
        "ef-vbss",
        "ef-emlpp",
        "ef-aaem",
        "ef-hiddenkey",
        "ef-pnn",
        "ef-opl",
        "ef-mbdn",
        "ef-ext6",
        "ef-mbi",
        "ef-mwis",
        "ef-cfis",
        "ef-ext7",
        "ef-spdi",
        "ef-mmsn",
        "ef-ext8",
        "ef-mmsicp",
        "ef-mmsup",
        "ef-mmsucp",
        "ef-nia",
        "ef-vgcsca",
        "ef-vbsca",
        "ef-gbabp",
        "ef-msk",
        "ef-muk",
        "ef-ehplmn",
        "ef-gbanl",
        "ef-ehplmnpi",
        "ef-lrplmnsi",
        "ef-nafkca",
        "ef-spni",
        "ef-pnni",
        "ef-ncp-ip",
        "ef-ufc",
        "ef-nasconfig",
        "ef-uicciari",
        "ef-pws",
        "ef-fdnuri",
        "ef-bdnuri",
        "ef-sdnuri",
        "ef-ial",
        "ef-ips",
        "ef-ipd",
        "ef-epdgid",
        "ef-epdgselection",
        "ef-epdgidem",
        "ef-epdgselectionem",
        "ef-frompreferred",
        "ef-imsconfigdata",
        "ef-3gpppsdataoff",
        "ef-3gpppsdataoffservicelist",
        "ef-xcapconfigdata",
        "ef-earfcnlist",
        "ef-mudmidconfigdata",
        "ef-eaka",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "ef-li" => self.ef_li.as_ref(),
            "ef-acmax" => self.ef_acmax.as_ref(),
            "ef-acm" => self.ef_acm.as_ref(),
            "ef-gid1" => self.ef_gid1.as_ref(),
            "ef-gid2" => self.ef_gid2.as_ref(),
            "ef-msisdn" => self.ef_msisdn.as_ref(),
            "ef-puct" => self.ef_puct.as_ref(),
            "ef-cbmi" => self.ef_cbmi.as_ref(),
            "ef-cbmid" => self.ef_cbmid.as_ref(),
            "ef-sdn" => self.ef_sdn.as_ref(),
            "ef-ext2" => self.ef_ext2.as_ref(),
            "ef-ext3" => self.ef_ext3.as_ref(),
            "ef-cbmir" => self.ef_cbmir.as_ref(),
            "ef-plmnwact" => self.ef_plmnwact.as_ref(),
            "ef-oplmnwact" => self.ef_oplmnwact.as_ref(),
            "ef-hplmnwact" => self.ef_hplmnwact.as_ref(),
            "ef-dck" => self.ef_dck.as_ref(),
            "ef-cnl" => self.ef_cnl.as_ref(),
            "ef-smsr" => self.ef_smsr.as_ref(),
            "ef-bdn" => self.ef_bdn.as_ref(),
            "ef-ext5" => self.ef_ext5.as_ref(),
            "ef-ccp2" => self.ef_ccp2.as_ref(),
            "ef-ext4" => self.ef_ext4.as_ref(),
            "ef-acl" => self.ef_acl.as_ref(),
            "ef-cmi" => self.ef_cmi.as_ref(),
            "ef-ici" => self.ef_ici.as_ref(),
            "ef-oci" => self.ef_oci.as_ref(),
            "ef-ict" => self.ef_ict.as_ref(),
            "ef-oct" => self.ef_oct.as_ref(),
            "ef-vgcs" => self.ef_vgcs.as_ref(),
            "ef-vgcss" => self.ef_vgcss.as_ref(),
            "ef-vbs" => self.ef_vbs.as_ref(),
            "ef-vbss" => self.ef_vbss.as_ref(),
            "ef-emlpp" => self.ef_emlpp.as_ref(),
            "ef-aaem" => self.ef_aaem.as_ref(),
            "ef-hiddenkey" => self.ef_hiddenkey.as_ref(),
            "ef-pnn" => self.ef_pnn.as_ref(),
            "ef-opl" => self.ef_opl.as_ref(),
            "ef-mbdn" => self.ef_mbdn.as_ref(),
            "ef-ext6" => self.ef_ext6.as_ref(),
            "ef-mbi" => self.ef_mbi.as_ref(),
            "ef-mwis" => self.ef_mwis.as_ref(),
            "ef-cfis" => self.ef_cfis.as_ref(),
            "ef-ext7" => self.ef_ext7.as_ref(),
            "ef-spdi" => self.ef_spdi.as_ref(),
            "ef-mmsn" => self.ef_mmsn.as_ref(),
            "ef-ext8" => self.ef_ext8.as_ref(),
            "ef-mmsicp" => self.ef_mmsicp.as_ref(),
            "ef-mmsup" => self.ef_mmsup.as_ref(),
            "ef-mmsucp" => self.ef_mmsucp.as_ref(),
            "ef-nia" => self.ef_nia.as_ref(),
            "ef-vgcsca" => self.ef_vgcsca.as_ref(),
            "ef-vbsca" => self.ef_vbsca.as_ref(),
            "ef-gbabp" => self.ef_gbabp.as_ref(),
            "ef-msk" => self.ef_msk.as_ref(),
            "ef-muk" => self.ef_muk.as_ref(),
            "ef-ehplmn" => self.ef_ehplmn.as_ref(),
            "ef-gbanl" => self.ef_gbanl.as_ref(),
            "ef-ehplmnpi" => self.ef_ehplmnpi.as_ref(),
            "ef-lrplmnsi" => self.ef_lrplmnsi.as_ref(),
            "ef-nafkca" => self.ef_nafkca.as_ref(),
            "ef-spni" => self.ef_spni.as_ref(),
            "ef-pnni" => self.ef_pnni.as_ref(),
            "ef-ncp-ip" => self.ef_ncp_ip.as_ref(),
            "ef-ufc" => self.ef_ufc.as_ref(),
            "ef-nasconfig" => self.ef_nasconfig.as_ref(),
            "ef-uicciari" => self.ef_uicciari.as_ref(),
            "ef-pws" => self.ef_pws.as_ref(),
            "ef-fdnuri" => self.ef_fdnuri.as_ref(),
            "ef-bdnuri" => self.ef_bdnuri.as_ref(),
            "ef-sdnuri" => self.ef_sdnuri.as_ref(),
            "ef-ial" => self.ef_ial.as_ref(),
            "ef-ips" => self.ef_ips.as_ref(),
            "ef-ipd" => self.ef_ipd.as_ref(),
            "ef-epdgid" => self.ef_epdgid.as_ref(),
            "ef-epdgselection" => self.ef_epdgselection.as_ref(),
            "ef-epdgidem" => self.ef_epdgidem.as_ref(),
            "ef-epdgselectionem" => self.ef_epdgselectionem.as_ref(),
            "ef-frompreferred" => self.ef_frompreferred.as_ref(),
            "ef-imsconfigdata" => self.ef_imsconfigdata.as_ref(),
            "ef-3gpppsdataoff" => self.ef_3gpppsdataoff.as_ref(),
            "ef-3gpppsdataoffservicelist" => self.ef_3gpppsdataoffservicelist.as_ref(),
            "ef-xcapconfigdata" => self.ef_xcapconfigdata.as_ref(),
            "ef-earfcnlist" => self.ef_earfcnlist.as_ref(),
            "ef-mudmidconfigdata" => self.ef_mudmidconfigdata.as_ref(),
            "ef-eaka" => self.ef_eaka.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "ef-li" => self.ef_li.as_mut(),
            "ef-acmax" => self.ef_acmax.as_mut(),
            "ef-acm" => self.ef_acm.as_mut(),
            "ef-gid1" => self.ef_gid1.as_mut(),
            "ef-gid2" => self.ef_gid2.as_mut(),
            "ef-msisdn" => self.ef_msisdn.as_mut(),
            "ef-puct" => self.ef_puct.as_mut(),
            "ef-cbmi" => self.ef_cbmi.as_mut(),
            "ef-cbmid" => self.ef_cbmid.as_mut(),
            "ef-sdn" => self.ef_sdn.as_mut(),
            "ef-ext2" => self.ef_ext2.as_mut(),
            "ef-ext3" => self.ef_ext3.as_mut(),
            "ef-cbmir" => self.ef_cbmir.as_mut(),
            "ef-plmnwact" => self.ef_plmnwact.as_mut(),
            "ef-oplmnwact" => self.ef_oplmnwact.as_mut(),
            "ef-hplmnwact" => self.ef_hplmnwact.as_mut(),
            "ef-dck" => self.ef_dck.as_mut(),
            "ef-cnl" => self.ef_cnl.as_mut(),
            "ef-smsr" => self.ef_smsr.as_mut(),
            "ef-bdn" => self.ef_bdn.as_mut(),
            "ef-ext5" => self.ef_ext5.as_mut(),
            "ef-ccp2" => self.ef_ccp2.as_mut(),
            "ef-ext4" => self.ef_ext4.as_mut(),
            "ef-acl" => self.ef_acl.as_mut(),
            "ef-cmi" => self.ef_cmi.as_mut(),
            "ef-ici" => self.ef_ici.as_mut(),
            "ef-oci" => self.ef_oci.as_mut(),
            "ef-ict" => self.ef_ict.as_mut(),
            "ef-oct" => self.ef_oct.as_mut(),
            "ef-vgcs" => self.ef_vgcs.as_mut(),
            "ef-vgcss" => self.ef_vgcss.as_mut(),
            "ef-vbs" => self.ef_vbs.as_mut(),
            "ef-vbss" => self.ef_vbss.as_mut(),
            "ef-emlpp" => self.ef_emlpp.as_mut(),
            "ef-aaem" => self.ef_aaem.as_mut(),
            "ef-hiddenkey" => self.ef_hiddenkey.as_mut(),
            "ef-pnn" => self.ef_pnn.as_mut(),
            "ef-opl" => self.ef_opl.as_mut(),
            "ef-mbdn" => self.ef_mbdn.as_mut(),
            "ef-ext6" => self.ef_ext6.as_mut(),
            "ef-mbi" => self.ef_mbi.as_mut(),
            "ef-mwis" => self.ef_mwis.as_mut(),
            "ef-cfis" => self.ef_cfis.as_mut(),
            "ef-ext7" => self.ef_ext7.as_mut(),
            "ef-spdi" => self.ef_spdi.as_mut(),
            "ef-mmsn" => self.ef_mmsn.as_mut(),
            "ef-ext8" => self.ef_ext8.as_mut(),
            "ef-mmsicp" => self.ef_mmsicp.as_mut(),
            "ef-mmsup" => self.ef_mmsup.as_mut(),
            "ef-mmsucp" => self.ef_mmsucp.as_mut(),
            "ef-nia" => self.ef_nia.as_mut(),
            "ef-vgcsca" => self.ef_vgcsca.as_mut(),
            "ef-vbsca" => self.ef_vbsca.as_mut(),
            "ef-gbabp" => self.ef_gbabp.as_mut(),
            "ef-msk" => self.ef_msk.as_mut(),
            "ef-muk" => self.ef_muk.as_mut(),
            "ef-ehplmn" => self.ef_ehplmn.as_mut(),
            "ef-gbanl" => self.ef_gbanl.as_mut(),
            "ef-ehplmnpi" => self.ef_ehplmnpi.as_mut(),
            "ef-lrplmnsi" => self.ef_lrplmnsi.as_mut(),
            "ef-nafkca" => self.ef_nafkca.as_mut(),
            "ef-spni" => self.ef_spni.as_mut(),
            "ef-pnni" => self.ef_pnni.as_mut(),
            "ef-ncp-ip" => self.ef_ncp_ip.as_mut(),
            "ef-ufc" => self.ef_ufc.as_mut(),
            "ef-nasconfig" => self.ef_nasconfig.as_mut(),
            "ef-uicciari" => self.ef_uicciari.as_mut(),
            "ef-pws" => self.ef_pws.as_mut(),
            "ef-fdnuri" => self.ef_fdnuri.as_mut(),
            "ef-bdnuri" => self.ef_bdnuri.as_mut(),
            "ef-sdnuri" => self.ef_sdnuri.as_mut(),
            "ef-ial" => self.ef_ial.as_mut(),
            "ef-ips" => self.ef_ips.as_mut(),
            "ef-ipd" => self.ef_ipd.as_mut(),
            "ef-epdgid" => self.ef_epdgid.as_mut(),
            "ef-epdgselection" => self.ef_epdgselection.as_mut(),
            "ef-epdgidem" => self.ef_epdgidem.as_mut(),
            "ef-epdgselectionem" => self.ef_epdgselectionem.as_mut(),
            "ef-frompreferred" => self.ef_frompreferred.as_mut(),
            "ef-imsconfigdata" => self.ef_imsconfigdata.as_mut(),
            "ef-3gpppsdataoff" => self.ef_3gpppsdataoff.as_mut(),
            "ef-3gpppsdataoffservicelist" => self.ef_3gpppsdataoffservicelist.as_mut(),
            "ef-xcapconfigdata" => self.ef_xcapconfigdata.as_mut(),
            "ef-earfcnlist" => self.ef_earfcnlist.as_mut(),
            "ef-mudmidconfigdata" => self.ef_mudmidconfigdata.as_mut(),
            "ef-eaka" => self.ef_eaka.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-ISIM`: ADF.ISIM with the mandatory ISIM files (EF.IMPI, EF.IMPU, EF.DOMAIN, EF.IST, ...).
///
/// ASN.1: `PE-ISIM ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeIsim {
    /// `isim-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `adf-isim`.
    #[rasn(tag(context, 2))]
    pub adf_isim: File,
    /// `ef-impi`.
    #[rasn(tag(context, 3))]
    pub ef_impi: File,
    /// `ef-impu`.
    #[rasn(tag(context, 4))]
    pub ef_impu: File,
    /// `ef-domain`.
    #[rasn(tag(context, 5))]
    pub ef_domain: File,
    /// `ef-ist`.
    #[rasn(tag(context, 6))]
    pub ef_ist: File,
    /// `ef-ad` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_ad: Option<File>,
    /// `ef-arr`.
    #[rasn(tag(context, 8))]
    pub ef_arr: File,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeIsim {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "adf-isim",
        "ef-impi",
        "ef-impu",
        "ef-domain",
        "ef-ist",
        "ef-ad",
        "ef-arr",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "adf-isim" => Some(&self.adf_isim),
            "ef-impi" => Some(&self.ef_impi),
            "ef-impu" => Some(&self.ef_impu),
            "ef-domain" => Some(&self.ef_domain),
            "ef-ist" => Some(&self.ef_ist),
            "ef-ad" => self.ef_ad.as_ref(),
            "ef-arr" => Some(&self.ef_arr),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "adf-isim" => Some(&mut self.adf_isim),
            "ef-impi" => Some(&mut self.ef_impi),
            "ef-impu" => Some(&mut self.ef_impu),
            "ef-domain" => Some(&mut self.ef_domain),
            "ef-ist" => Some(&mut self.ef_ist),
            "ef-ad" => self.ef_ad.as_mut(),
            "ef-arr" => Some(&mut self.ef_arr),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-OPT-ISIM`: optional files of ADF.ISIM.
///
/// ASN.1: `PE-OPT-ISIM ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeOptIsim {
    /// `optisim-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `ef-pcscf` (OPTIONAL).
    #[rasn(tag(context, 2))]
    pub ef_pcscf: Option<File>,
    /// `ef-sms` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_sms: Option<File>,
    /// `ef-smsp` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_smsp: Option<File>,
    /// `ef-smss` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_smss: Option<File>,
    /// `ef-smsr` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_smsr: Option<File>,
    /// `ef-gbabp` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_gbabp: Option<File>,
    /// `ef-gbanl` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub ef_gbanl: Option<File>,
    /// `ef-nafkca` (OPTIONAL).
    #[rasn(tag(context, 9))]
    pub ef_nafkca: Option<File>,
    /// `ef-uicciari` (OPTIONAL).
    #[rasn(tag(context, 10))]
    pub ef_uicciari: Option<File>,
    /// `ef-frompreferred` (OPTIONAL).
    #[rasn(tag(context, 11))]
    pub ef_frompreferred: Option<File>,
    /// `ef-imsconfigdata` (OPTIONAL).
    #[rasn(tag(context, 12))]
    pub ef_imsconfigdata: Option<File>,
    /// `ef-xcapconfigdata` (OPTIONAL).
    #[rasn(tag(context, 13))]
    pub ef_xcapconfigdata: Option<File>,
    /// `ef-webrtcuri` (OPTIONAL).
    #[rasn(tag(context, 14))]
    pub ef_webrtcuri: Option<File>,
    /// `ef-mudmidconfigdata` (OPTIONAL).
    #[rasn(tag(context, 15))]
    pub ef_mudmidconfigdata: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeOptIsim {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "ef-pcscf",
        "ef-sms",
        "ef-smsp",
        "ef-smss",
        "ef-smsr",
        "ef-gbabp",
        "ef-gbanl",
        "ef-nafkca",
        "ef-uicciari",
        "ef-frompreferred",
        "ef-imsconfigdata",
        "ef-xcapconfigdata",
        "ef-webrtcuri",
        "ef-mudmidconfigdata",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "ef-pcscf" => self.ef_pcscf.as_ref(),
            "ef-sms" => self.ef_sms.as_ref(),
            "ef-smsp" => self.ef_smsp.as_ref(),
            "ef-smss" => self.ef_smss.as_ref(),
            "ef-smsr" => self.ef_smsr.as_ref(),
            "ef-gbabp" => self.ef_gbabp.as_ref(),
            "ef-gbanl" => self.ef_gbanl.as_ref(),
            "ef-nafkca" => self.ef_nafkca.as_ref(),
            "ef-uicciari" => self.ef_uicciari.as_ref(),
            "ef-frompreferred" => self.ef_frompreferred.as_ref(),
            "ef-imsconfigdata" => self.ef_imsconfigdata.as_ref(),
            "ef-xcapconfigdata" => self.ef_xcapconfigdata.as_ref(),
            "ef-webrtcuri" => self.ef_webrtcuri.as_ref(),
            "ef-mudmidconfigdata" => self.ef_mudmidconfigdata.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "ef-pcscf" => self.ef_pcscf.as_mut(),
            "ef-sms" => self.ef_sms.as_mut(),
            "ef-smsp" => self.ef_smsp.as_mut(),
            "ef-smss" => self.ef_smss.as_mut(),
            "ef-smsr" => self.ef_smsr.as_mut(),
            "ef-gbabp" => self.ef_gbabp.as_mut(),
            "ef-gbanl" => self.ef_gbanl.as_mut(),
            "ef-nafkca" => self.ef_nafkca.as_mut(),
            "ef-uicciari" => self.ef_uicciari.as_mut(),
            "ef-frompreferred" => self.ef_frompreferred.as_mut(),
            "ef-imsconfigdata" => self.ef_imsconfigdata.as_mut(),
            "ef-xcapconfigdata" => self.ef_xcapconfigdata.as_mut(),
            "ef-webrtcuri" => self.ef_webrtcuri.as_mut(),
            "ef-mudmidconfigdata" => self.ef_mudmidconfigdata.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-PHONEBOOK`: DF.PHONEBOOK inside ADF.USIM.
///
/// ASN.1: `PE-PHONEBOOK ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PePhonebook {
    /// `phonebook-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `df-phonebook`.
    #[rasn(tag(context, 2))]
    pub df_phonebook: File,
    /// `ef-pbr` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_pbr: Option<File>,
    /// `ef-ext1` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_ext1: Option<File>,
    /// `ef-aas` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_aas: Option<File>,
    /// `ef-gas` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_gas: Option<File>,
    /// `ef-psc` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_psc: Option<File>,
    /// `ef-cc` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub ef_cc: Option<File>,
    /// `ef-puid` (OPTIONAL).
    #[rasn(tag(context, 9))]
    pub ef_puid: Option<File>,
    /// `ef-iap` (OPTIONAL).
    #[rasn(tag(context, 10))]
    pub ef_iap: Option<File>,
    /// `ef-adn` (OPTIONAL).
    #[rasn(tag(context, 11))]
    pub ef_adn: Option<File>,
    /// `ef-pbc` (OPTIONAL).
    #[rasn(tag(context, 12))]
    pub ef_pbc: Option<File>,
    /// `ef-anr` (OPTIONAL).
    #[rasn(tag(context, 13))]
    pub ef_anr: Option<File>,
    /// `ef-puri` (OPTIONAL).
    #[rasn(tag(context, 14))]
    pub ef_puri: Option<File>,
    /// `ef-email` (OPTIONAL).
    #[rasn(tag(context, 15))]
    pub ef_email: Option<File>,
    /// `ef-sne` (OPTIONAL).
    #[rasn(tag(context, 16))]
    pub ef_sne: Option<File>,
    /// `ef-uid` (OPTIONAL).
    #[rasn(tag(context, 17))]
    pub ef_uid: Option<File>,
    /// `ef-grp` (OPTIONAL).
    #[rasn(tag(context, 18))]
    pub ef_grp: Option<File>,
    /// `ef-ccp1` (OPTIONAL).
    #[rasn(tag(context, 19))]
    pub ef_ccp1: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PePhonebook {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "df-phonebook",
        "ef-pbr",
        "ef-ext1",
        "ef-aas",
        "ef-gas",
        "ef-psc",
        "ef-cc",
        "ef-puid",
        "ef-iap",
        "ef-adn",
        "ef-pbc",
        "ef-anr",
        "ef-puri",
        "ef-email",
        "ef-sne",
        "ef-uid",
        "ef-grp",
        "ef-ccp1",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "df-phonebook" => Some(&self.df_phonebook),
            "ef-pbr" => self.ef_pbr.as_ref(),
            "ef-ext1" => self.ef_ext1.as_ref(),
            "ef-aas" => self.ef_aas.as_ref(),
            "ef-gas" => self.ef_gas.as_ref(),
            "ef-psc" => self.ef_psc.as_ref(),
            "ef-cc" => self.ef_cc.as_ref(),
            "ef-puid" => self.ef_puid.as_ref(),
            "ef-iap" => self.ef_iap.as_ref(),
            "ef-adn" => self.ef_adn.as_ref(),
            "ef-pbc" => self.ef_pbc.as_ref(),
            "ef-anr" => self.ef_anr.as_ref(),
            "ef-puri" => self.ef_puri.as_ref(),
            "ef-email" => self.ef_email.as_ref(),
            "ef-sne" => self.ef_sne.as_ref(),
            "ef-uid" => self.ef_uid.as_ref(),
            "ef-grp" => self.ef_grp.as_ref(),
            "ef-ccp1" => self.ef_ccp1.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "df-phonebook" => Some(&mut self.df_phonebook),
            "ef-pbr" => self.ef_pbr.as_mut(),
            "ef-ext1" => self.ef_ext1.as_mut(),
            "ef-aas" => self.ef_aas.as_mut(),
            "ef-gas" => self.ef_gas.as_mut(),
            "ef-psc" => self.ef_psc.as_mut(),
            "ef-cc" => self.ef_cc.as_mut(),
            "ef-puid" => self.ef_puid.as_mut(),
            "ef-iap" => self.ef_iap.as_mut(),
            "ef-adn" => self.ef_adn.as_mut(),
            "ef-pbc" => self.ef_pbc.as_mut(),
            "ef-anr" => self.ef_anr.as_mut(),
            "ef-puri" => self.ef_puri.as_mut(),
            "ef-email" => self.ef_email.as_mut(),
            "ef-sne" => self.ef_sne.as_mut(),
            "ef-uid" => self.ef_uid.as_mut(),
            "ef-grp" => self.ef_grp.as_mut(),
            "ef-ccp1" => self.ef_ccp1.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-GSM-ACCESS`: DF.GSM-ACCESS inside ADF.USIM.
///
/// ASN.1: `PE-GSM-ACCESS ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeGsmAccess {
    /// `gsm-access-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `df-gsm-access`.
    #[rasn(tag(context, 2))]
    pub df_gsm_access: File,
    /// `ef-kc` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_kc: Option<File>,
    /// `ef-kcgprs` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_kcgprs: Option<File>,
    /// `ef-cpbcch` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_cpbcch: Option<File>,
    /// `ef-invscan` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_invscan: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeGsmAccess {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "df-gsm-access",
        "ef-kc",
        "ef-kcgprs",
        "ef-cpbcch",
        "ef-invscan",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "df-gsm-access" => Some(&self.df_gsm_access),
            "ef-kc" => self.ef_kc.as_ref(),
            "ef-kcgprs" => self.ef_kcgprs.as_ref(),
            "ef-cpbcch" => self.ef_cpbcch.as_ref(),
            "ef-invscan" => self.ef_invscan.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "df-gsm-access" => Some(&mut self.df_gsm_access),
            "ef-kc" => self.ef_kc.as_mut(),
            "ef-kcgprs" => self.ef_kcgprs.as_mut(),
            "ef-cpbcch" => self.ef_cpbcch.as_mut(),
            "ef-invscan" => self.ef_invscan.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-CSIM`: ADF.CSIM with the mandatory CSIM files.
///
/// ASN.1: `PE-CSIM ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeCsim {
    /// `csim-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `adf-csim`.
    #[rasn(tag(context, 2))]
    pub adf_csim: File,
    /// `ef-arr`.
    #[rasn(tag(context, 3))]
    pub ef_arr: File,
    /// `ef-call-count`.
    #[rasn(tag(context, 4))]
    pub ef_call_count: File,
    /// `ef-imsi-m`.
    #[rasn(tag(context, 5))]
    pub ef_imsi_m: File,
    /// `ef-imsi-t`.
    #[rasn(tag(context, 6))]
    pub ef_imsi_t: File,
    /// `ef-tmsi`.
    #[rasn(tag(context, 7))]
    pub ef_tmsi: File,
    /// `ef-ah`.
    #[rasn(tag(context, 8))]
    pub ef_ah: File,
    /// `ef-aop`.
    #[rasn(tag(context, 9))]
    pub ef_aop: File,
    /// `ef-aloc`.
    #[rasn(tag(context, 10))]
    pub ef_aloc: File,
    /// `ef-cdmahome`.
    #[rasn(tag(context, 11))]
    pub ef_cdmahome: File,
    /// `ef-znregi`.
    #[rasn(tag(context, 12))]
    pub ef_znregi: File,
    /// `ef-snregi`.
    #[rasn(tag(context, 13))]
    pub ef_snregi: File,
    /// `ef-distregi`.
    #[rasn(tag(context, 14))]
    pub ef_distregi: File,
    /// `ef-accolc`.
    #[rasn(tag(context, 15))]
    pub ef_accolc: File,
    /// `ef-term`.
    #[rasn(tag(context, 16))]
    pub ef_term: File,
    /// `ef-acp`.
    #[rasn(tag(context, 17))]
    pub ef_acp: File,
    /// `ef-prl`.
    #[rasn(tag(context, 18))]
    pub ef_prl: File,
    /// `ef-ruimid`.
    #[rasn(tag(context, 19))]
    pub ef_ruimid: File,
    /// `ef-csim-st`.
    #[rasn(tag(context, 20))]
    pub ef_csim_st: File,
    /// `ef-spc`.
    #[rasn(tag(context, 21))]
    pub ef_spc: File,
    /// `ef-otapaspc`.
    #[rasn(tag(context, 22))]
    pub ef_otapaspc: File,
    /// `ef-namlock`.
    #[rasn(tag(context, 23))]
    pub ef_namlock: File,
    /// `ef-ota`.
    #[rasn(tag(context, 24))]
    pub ef_ota: File,
    /// `ef-sp`.
    #[rasn(tag(context, 25))]
    pub ef_sp: File,
    /// `ef-esn-meid-me`.
    #[rasn(tag(context, 26))]
    pub ef_esn_meid_me: File,
    /// `ef-li`.
    #[rasn(tag(context, 27))]
    pub ef_li: File,
    /// `ef-usgind`.
    #[rasn(tag(context, 28))]
    pub ef_usgind: File,
    /// `ef-ad`.
    #[rasn(tag(context, 29))]
    pub ef_ad: File,
    /// `ef-max-prl`.
    #[rasn(tag(context, 30))]
    pub ef_max_prl: File,
    /// `ef-spcs`.
    #[rasn(tag(context, 31))]
    pub ef_spcs: File,
    /// `ef-mecrp`.
    #[rasn(tag(context, 32))]
    pub ef_mecrp: File,
    /// `ef-home-tag`.
    #[rasn(tag(context, 33))]
    pub ef_home_tag: File,
    /// `ef-group-tag`.
    #[rasn(tag(context, 34))]
    pub ef_group_tag: File,
    /// `ef-specific-tag`.
    #[rasn(tag(context, 35))]
    pub ef_specific_tag: File,
    /// `ef-call-prompt`.
    #[rasn(tag(context, 36))]
    pub ef_call_prompt: File,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeCsim {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "adf-csim",
        "ef-arr",
        "ef-call-count",
        "ef-imsi-m",
        "ef-imsi-t",
        "ef-tmsi",
        "ef-ah",
        "ef-aop",
        "ef-aloc",
        "ef-cdmahome",
        "ef-znregi",
        "ef-snregi",
        "ef-distregi",
        "ef-accolc",
        "ef-term",
        "ef-acp",
        "ef-prl",
        "ef-ruimid",
        "ef-csim-st",
        "ef-spc",
        "ef-otapaspc",
        "ef-namlock",
        "ef-ota",
        "ef-sp",
        "ef-esn-meid-me",
        "ef-li",
        "ef-usgind",
        "ef-ad",
        "ef-max-prl",
        "ef-spcs",
        "ef-mecrp",
        "ef-home-tag",
        "ef-group-tag",
        "ef-specific-tag",
        "ef-call-prompt",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "adf-csim" => Some(&self.adf_csim),
            "ef-arr" => Some(&self.ef_arr),
            "ef-call-count" => Some(&self.ef_call_count),
            "ef-imsi-m" => Some(&self.ef_imsi_m),
            "ef-imsi-t" => Some(&self.ef_imsi_t),
            "ef-tmsi" => Some(&self.ef_tmsi),
            "ef-ah" => Some(&self.ef_ah),
            "ef-aop" => Some(&self.ef_aop),
            "ef-aloc" => Some(&self.ef_aloc),
            "ef-cdmahome" => Some(&self.ef_cdmahome),
            "ef-znregi" => Some(&self.ef_znregi),
            "ef-snregi" => Some(&self.ef_snregi),
            "ef-distregi" => Some(&self.ef_distregi),
            "ef-accolc" => Some(&self.ef_accolc),
            "ef-term" => Some(&self.ef_term),
            "ef-acp" => Some(&self.ef_acp),
            "ef-prl" => Some(&self.ef_prl),
            "ef-ruimid" => Some(&self.ef_ruimid),
            "ef-csim-st" => Some(&self.ef_csim_st),
            "ef-spc" => Some(&self.ef_spc),
            "ef-otapaspc" => Some(&self.ef_otapaspc),
            "ef-namlock" => Some(&self.ef_namlock),
            "ef-ota" => Some(&self.ef_ota),
            "ef-sp" => Some(&self.ef_sp),
            "ef-esn-meid-me" => Some(&self.ef_esn_meid_me),
            "ef-li" => Some(&self.ef_li),
            "ef-usgind" => Some(&self.ef_usgind),
            "ef-ad" => Some(&self.ef_ad),
            "ef-max-prl" => Some(&self.ef_max_prl),
            "ef-spcs" => Some(&self.ef_spcs),
            "ef-mecrp" => Some(&self.ef_mecrp),
            "ef-home-tag" => Some(&self.ef_home_tag),
            "ef-group-tag" => Some(&self.ef_group_tag),
            "ef-specific-tag" => Some(&self.ef_specific_tag),
            "ef-call-prompt" => Some(&self.ef_call_prompt),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "adf-csim" => Some(&mut self.adf_csim),
            "ef-arr" => Some(&mut self.ef_arr),
            "ef-call-count" => Some(&mut self.ef_call_count),
            "ef-imsi-m" => Some(&mut self.ef_imsi_m),
            "ef-imsi-t" => Some(&mut self.ef_imsi_t),
            "ef-tmsi" => Some(&mut self.ef_tmsi),
            "ef-ah" => Some(&mut self.ef_ah),
            "ef-aop" => Some(&mut self.ef_aop),
            "ef-aloc" => Some(&mut self.ef_aloc),
            "ef-cdmahome" => Some(&mut self.ef_cdmahome),
            "ef-znregi" => Some(&mut self.ef_znregi),
            "ef-snregi" => Some(&mut self.ef_snregi),
            "ef-distregi" => Some(&mut self.ef_distregi),
            "ef-accolc" => Some(&mut self.ef_accolc),
            "ef-term" => Some(&mut self.ef_term),
            "ef-acp" => Some(&mut self.ef_acp),
            "ef-prl" => Some(&mut self.ef_prl),
            "ef-ruimid" => Some(&mut self.ef_ruimid),
            "ef-csim-st" => Some(&mut self.ef_csim_st),
            "ef-spc" => Some(&mut self.ef_spc),
            "ef-otapaspc" => Some(&mut self.ef_otapaspc),
            "ef-namlock" => Some(&mut self.ef_namlock),
            "ef-ota" => Some(&mut self.ef_ota),
            "ef-sp" => Some(&mut self.ef_sp),
            "ef-esn-meid-me" => Some(&mut self.ef_esn_meid_me),
            "ef-li" => Some(&mut self.ef_li),
            "ef-usgind" => Some(&mut self.ef_usgind),
            "ef-ad" => Some(&mut self.ef_ad),
            "ef-max-prl" => Some(&mut self.ef_max_prl),
            "ef-spcs" => Some(&mut self.ef_spcs),
            "ef-mecrp" => Some(&mut self.ef_mecrp),
            "ef-home-tag" => Some(&mut self.ef_home_tag),
            "ef-group-tag" => Some(&mut self.ef_group_tag),
            "ef-specific-tag" => Some(&mut self.ef_specific_tag),
            "ef-call-prompt" => Some(&mut self.ef_call_prompt),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-OPT-CSIM`: optional files of ADF.CSIM.
///
/// ASN.1: `PE-OPT-CSIM ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeOptCsim {
    /// `optcsim-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `ef-ssci` (OPTIONAL).
    #[rasn(tag(context, 2))]
    pub ef_ssci: Option<File>,
    /// `ef-fdn` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_fdn: Option<File>,
    /// `ef-sms` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_sms: Option<File>,
    /// `ef-smsp` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_smsp: Option<File>,
    /// `ef-smss` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_smss: Option<File>,
    /// `ef-ssfc` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_ssfc: Option<File>,
    /// `ef-spn` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub ef_spn: Option<File>,
    /// `ef-mdn` (OPTIONAL).
    #[rasn(tag(context, 9))]
    pub ef_mdn: Option<File>,
    /// `ef-ecc` (OPTIONAL).
    #[rasn(tag(context, 10))]
    pub ef_ecc: Option<File>,
    /// `ef-me3gpdopc` (OPTIONAL).
    #[rasn(tag(context, 11))]
    pub ef_me3gpdopc: Option<File>,
    /// `ef-3gpdopm` (OPTIONAL).
    #[rasn(tag(context, 12))]
    pub ef_3gpdopm: Option<File>,
    /// `ef-sipcap` (OPTIONAL).
    #[rasn(tag(context, 13))]
    pub ef_sipcap: Option<File>,
    /// `ef-mipcap` (OPTIONAL).
    #[rasn(tag(context, 14))]
    pub ef_mipcap: Option<File>,
    /// `ef-sipupp` (OPTIONAL).
    #[rasn(tag(context, 15))]
    pub ef_sipupp: Option<File>,
    /// `ef-mipupp` (OPTIONAL).
    #[rasn(tag(context, 16))]
    pub ef_mipupp: Option<File>,
    /// `ef-sipsp` (OPTIONAL).
    #[rasn(tag(context, 17))]
    pub ef_sipsp: Option<File>,
    /// `ef-mipsp` (OPTIONAL).
    #[rasn(tag(context, 18))]
    pub ef_mipsp: Option<File>,
    /// `ef-sippapss` (OPTIONAL).
    #[rasn(tag(context, 19))]
    pub ef_sippapss: Option<File>,
    /// `ef-puzl` (OPTIONAL).
    #[rasn(tag(context, 20))]
    pub ef_puzl: Option<File>,
    /// `ef-maxpuzl` (OPTIONAL).
    #[rasn(tag(context, 21))]
    pub ef_maxpuzl: Option<File>,
    /// `ef-hrpdcap` (OPTIONAL).
    #[rasn(tag(context, 22))]
    pub ef_hrpdcap: Option<File>,
    /// `ef-hrpdupp` (OPTIONAL).
    #[rasn(tag(context, 23))]
    pub ef_hrpdupp: Option<File>,
    /// `ef-csspr` (OPTIONAL).
    #[rasn(tag(context, 24))]
    pub ef_csspr: Option<File>,
    /// `ef-atc` (OPTIONAL).
    #[rasn(tag(context, 25))]
    pub ef_atc: Option<File>,
    /// `ef-eprl` (OPTIONAL).
    #[rasn(tag(context, 26))]
    pub ef_eprl: Option<File>,
    /// `ef-bcsmscfg` (OPTIONAL).
    #[rasn(tag(context, 27))]
    pub ef_bcsmscfg: Option<File>,
    /// `ef-bcsmspref` (OPTIONAL).
    #[rasn(tag(context, 28))]
    pub ef_bcsmspref: Option<File>,
    /// `ef-bcsmstable` (OPTIONAL).
    #[rasn(tag(context, 29))]
    pub ef_bcsmstable: Option<File>,
    /// `ef-bcsmsp` (OPTIONAL).
    #[rasn(tag(context, 30))]
    pub ef_bcsmsp: Option<File>,
    /// `ef-bakpara` (OPTIONAL).
    #[rasn(tag(context, 31))]
    pub ef_bakpara: Option<File>,
    /// `ef-upbakpara` (OPTIONAL).
    #[rasn(tag(context, 32))]
    pub ef_upbakpara: Option<File>,
    /// `ef-mmsn` (OPTIONAL).
    #[rasn(tag(context, 33))]
    pub ef_mmsn: Option<File>,
    /// `ef-ext8` (OPTIONAL).
    #[rasn(tag(context, 34))]
    pub ef_ext8: Option<File>,
    /// `ef-mmsicp` (OPTIONAL).
    #[rasn(tag(context, 35))]
    pub ef_mmsicp: Option<File>,
    /// `ef-mmsup` (OPTIONAL).
    #[rasn(tag(context, 36))]
    pub ef_mmsup: Option<File>,
    /// `ef-mmsucp` (OPTIONAL).
    #[rasn(tag(context, 37))]
    pub ef_mmsucp: Option<File>,
    /// `ef-auth-capability` (OPTIONAL).
    #[rasn(tag(context, 38))]
    pub ef_auth_capability: Option<File>,
    /// `ef-3gcik` (OPTIONAL).
    #[rasn(tag(context, 39))]
    pub ef_3gcik: Option<File>,
    /// `ef-dck` (OPTIONAL).
    #[rasn(tag(context, 40))]
    pub ef_dck: Option<File>,
    /// `ef-gid1` (OPTIONAL).
    #[rasn(tag(context, 41))]
    pub ef_gid1: Option<File>,
    /// `ef-gid2` (OPTIONAL).
    #[rasn(tag(context, 42))]
    pub ef_gid2: Option<File>,
    /// `ef-cdmacnl` (OPTIONAL).
    #[rasn(tag(context, 43))]
    pub ef_cdmacnl: Option<File>,
    /// `ef-sf-euimid` (OPTIONAL).
    #[rasn(tag(context, 44))]
    pub ef_sf_euimid: Option<File>,
    /// `ef-est` (OPTIONAL).
    #[rasn(tag(context, 45))]
    pub ef_est: Option<File>,
    /// `ef-hidden-key` (OPTIONAL).
    #[rasn(tag(context, 46))]
    pub ef_hidden_key: Option<File>,
    /// `ef-lcsver` (OPTIONAL).
    #[rasn(tag(context, 47))]
    pub ef_lcsver: Option<File>,
    /// `ef-lcscp` (OPTIONAL).
    #[rasn(tag(context, 48))]
    pub ef_lcscp: Option<File>,
    /// `ef-sdn` (OPTIONAL).
    #[rasn(tag(context, 49))]
    pub ef_sdn: Option<File>,
    /// `ef-ext2` (OPTIONAL).
    #[rasn(tag(context, 50))]
    pub ef_ext2: Option<File>,
    /// `ef-ext3` (OPTIONAL).
    #[rasn(tag(context, 51))]
    pub ef_ext3: Option<File>,
    /// `ef-ici` (OPTIONAL).
    #[rasn(tag(context, 52))]
    pub ef_ici: Option<File>,
    /// `ef-oci` (OPTIONAL).
    #[rasn(tag(context, 53))]
    pub ef_oci: Option<File>,
    /// `ef-ext5` (OPTIONAL).
    #[rasn(tag(context, 54))]
    pub ef_ext5: Option<File>,
    /// `ef-ccp2` (OPTIONAL).
    #[rasn(tag(context, 55))]
    pub ef_ccp2: Option<File>,
    /// `ef-applabels` (OPTIONAL).
    #[rasn(tag(context, 56))]
    pub ef_applabels: Option<File>,
    /// `ef-model` (OPTIONAL).
    #[rasn(tag(context, 57))]
    pub ef_model: Option<File>,
    /// `ef-rc` (OPTIONAL).
    #[rasn(tag(context, 58))]
    pub ef_rc: Option<File>,
    /// `ef-smscap` (OPTIONAL).
    #[rasn(tag(context, 59))]
    pub ef_smscap: Option<File>,
    /// `ef-mipflags` (OPTIONAL).
    #[rasn(tag(context, 60))]
    pub ef_mipflags: Option<File>,
    /// `ef-3gpduppext` (OPTIONAL).
    #[rasn(tag(context, 61))]
    pub ef_3gpduppext: Option<File>,
    /// `ef-ipv6cap` (OPTIONAL).
    #[rasn(tag(context, 62))]
    pub ef_ipv6cap: Option<File>,
    /// `ef-tcpconfig` (OPTIONAL).
    #[rasn(tag(context, 63))]
    pub ef_tcpconfig: Option<File>,
    /// `ef-dgc` (OPTIONAL).
    #[rasn(tag(context, 64))]
    pub ef_dgc: Option<File>,
    /// `ef-wapbrowsercp` (OPTIONAL).
    #[rasn(tag(context, 65))]
    pub ef_wapbrowsercp: Option<File>,
    /// `ef-wapbrowserbm` (OPTIONAL).
    #[rasn(tag(context, 66))]
    pub ef_wapbrowserbm: Option<File>,
    /// `ef-mmsconfig` (OPTIONAL).
    #[rasn(tag(context, 67))]
    pub ef_mmsconfig: Option<File>,
    /// `ef-jdl` (OPTIONAL).
    #[rasn(tag(context, 68))]
    pub ef_jdl: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeOptCsim {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "ef-ssci",
        "ef-fdn",
        "ef-sms",
        "ef-smsp",
        "ef-smss",
        "ef-ssfc",
        "ef-spn",
        "ef-mdn",
        "ef-ecc",
        "ef-me3gpdopc",
        "ef-3gpdopm",
        "ef-sipcap",
        "ef-mipcap",
        "ef-sipupp",
        "ef-mipupp",
        "ef-sipsp",
        "ef-mipsp",
        "ef-sippapss",
        "ef-puzl",
        "ef-maxpuzl",
        "ef-hrpdcap",
        "ef-hrpdupp",
        "ef-csspr",
        "ef-atc",
        "ef-eprl",
        "ef-bcsmscfg",
        "ef-bcsmspref",
        "ef-bcsmstable",
        "ef-bcsmsp",
        "ef-bakpara",
        "ef-upbakpara",
        "ef-mmsn",
        "ef-ext8",
        "ef-mmsicp",
        "ef-mmsup",
        "ef-mmsucp",
        "ef-auth-capability",
        "ef-3gcik",
        "ef-dck",
        "ef-gid1",
        "ef-gid2",
        "ef-cdmacnl",
        "ef-sf-euimid",
        "ef-est",
        "ef-hidden-key",
        "ef-lcsver",
        "ef-lcscp",
        "ef-sdn",
        "ef-ext2",
        "ef-ext3",
        "ef-ici",
        "ef-oci",
        "ef-ext5",
        "ef-ccp2",
        "ef-applabels",
        "ef-model",
        "ef-rc",
        "ef-smscap",
        "ef-mipflags",
        "ef-3gpduppext",
        "ef-ipv6cap",
        "ef-tcpconfig",
        "ef-dgc",
        "ef-wapbrowsercp",
        "ef-wapbrowserbm",
        "ef-mmsconfig",
        "ef-jdl",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "ef-ssci" => self.ef_ssci.as_ref(),
            "ef-fdn" => self.ef_fdn.as_ref(),
            "ef-sms" => self.ef_sms.as_ref(),
            "ef-smsp" => self.ef_smsp.as_ref(),
            "ef-smss" => self.ef_smss.as_ref(),
            "ef-ssfc" => self.ef_ssfc.as_ref(),
            "ef-spn" => self.ef_spn.as_ref(),
            "ef-mdn" => self.ef_mdn.as_ref(),
            "ef-ecc" => self.ef_ecc.as_ref(),
            "ef-me3gpdopc" => self.ef_me3gpdopc.as_ref(),
            "ef-3gpdopm" => self.ef_3gpdopm.as_ref(),
            "ef-sipcap" => self.ef_sipcap.as_ref(),
            "ef-mipcap" => self.ef_mipcap.as_ref(),
            "ef-sipupp" => self.ef_sipupp.as_ref(),
            "ef-mipupp" => self.ef_mipupp.as_ref(),
            "ef-sipsp" => self.ef_sipsp.as_ref(),
            "ef-mipsp" => self.ef_mipsp.as_ref(),
            "ef-sippapss" => self.ef_sippapss.as_ref(),
            "ef-puzl" => self.ef_puzl.as_ref(),
            "ef-maxpuzl" => self.ef_maxpuzl.as_ref(),
            "ef-hrpdcap" => self.ef_hrpdcap.as_ref(),
            "ef-hrpdupp" => self.ef_hrpdupp.as_ref(),
            "ef-csspr" => self.ef_csspr.as_ref(),
            "ef-atc" => self.ef_atc.as_ref(),
            "ef-eprl" => self.ef_eprl.as_ref(),
            "ef-bcsmscfg" => self.ef_bcsmscfg.as_ref(),
            "ef-bcsmspref" => self.ef_bcsmspref.as_ref(),
            "ef-bcsmstable" => self.ef_bcsmstable.as_ref(),
            "ef-bcsmsp" => self.ef_bcsmsp.as_ref(),
            "ef-bakpara" => self.ef_bakpara.as_ref(),
            "ef-upbakpara" => self.ef_upbakpara.as_ref(),
            "ef-mmsn" => self.ef_mmsn.as_ref(),
            "ef-ext8" => self.ef_ext8.as_ref(),
            "ef-mmsicp" => self.ef_mmsicp.as_ref(),
            "ef-mmsup" => self.ef_mmsup.as_ref(),
            "ef-mmsucp" => self.ef_mmsucp.as_ref(),
            "ef-auth-capability" => self.ef_auth_capability.as_ref(),
            "ef-3gcik" => self.ef_3gcik.as_ref(),
            "ef-dck" => self.ef_dck.as_ref(),
            "ef-gid1" => self.ef_gid1.as_ref(),
            "ef-gid2" => self.ef_gid2.as_ref(),
            "ef-cdmacnl" => self.ef_cdmacnl.as_ref(),
            "ef-sf-euimid" => self.ef_sf_euimid.as_ref(),
            "ef-est" => self.ef_est.as_ref(),
            "ef-hidden-key" => self.ef_hidden_key.as_ref(),
            "ef-lcsver" => self.ef_lcsver.as_ref(),
            "ef-lcscp" => self.ef_lcscp.as_ref(),
            "ef-sdn" => self.ef_sdn.as_ref(),
            "ef-ext2" => self.ef_ext2.as_ref(),
            "ef-ext3" => self.ef_ext3.as_ref(),
            "ef-ici" => self.ef_ici.as_ref(),
            "ef-oci" => self.ef_oci.as_ref(),
            "ef-ext5" => self.ef_ext5.as_ref(),
            "ef-ccp2" => self.ef_ccp2.as_ref(),
            "ef-applabels" => self.ef_applabels.as_ref(),
            "ef-model" => self.ef_model.as_ref(),
            "ef-rc" => self.ef_rc.as_ref(),
            "ef-smscap" => self.ef_smscap.as_ref(),
            "ef-mipflags" => self.ef_mipflags.as_ref(),
            "ef-3gpduppext" => self.ef_3gpduppext.as_ref(),
            "ef-ipv6cap" => self.ef_ipv6cap.as_ref(),
            "ef-tcpconfig" => self.ef_tcpconfig.as_ref(),
            "ef-dgc" => self.ef_dgc.as_ref(),
            "ef-wapbrowsercp" => self.ef_wapbrowsercp.as_ref(),
            "ef-wapbrowserbm" => self.ef_wapbrowserbm.as_ref(),
            "ef-mmsconfig" => self.ef_mmsconfig.as_ref(),
            "ef-jdl" => self.ef_jdl.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "ef-ssci" => self.ef_ssci.as_mut(),
            "ef-fdn" => self.ef_fdn.as_mut(),
            "ef-sms" => self.ef_sms.as_mut(),
            "ef-smsp" => self.ef_smsp.as_mut(),
            "ef-smss" => self.ef_smss.as_mut(),
            "ef-ssfc" => self.ef_ssfc.as_mut(),
            "ef-spn" => self.ef_spn.as_mut(),
            "ef-mdn" => self.ef_mdn.as_mut(),
            "ef-ecc" => self.ef_ecc.as_mut(),
            "ef-me3gpdopc" => self.ef_me3gpdopc.as_mut(),
            "ef-3gpdopm" => self.ef_3gpdopm.as_mut(),
            "ef-sipcap" => self.ef_sipcap.as_mut(),
            "ef-mipcap" => self.ef_mipcap.as_mut(),
            "ef-sipupp" => self.ef_sipupp.as_mut(),
            "ef-mipupp" => self.ef_mipupp.as_mut(),
            "ef-sipsp" => self.ef_sipsp.as_mut(),
            "ef-mipsp" => self.ef_mipsp.as_mut(),
            "ef-sippapss" => self.ef_sippapss.as_mut(),
            "ef-puzl" => self.ef_puzl.as_mut(),
            "ef-maxpuzl" => self.ef_maxpuzl.as_mut(),
            "ef-hrpdcap" => self.ef_hrpdcap.as_mut(),
            "ef-hrpdupp" => self.ef_hrpdupp.as_mut(),
            "ef-csspr" => self.ef_csspr.as_mut(),
            "ef-atc" => self.ef_atc.as_mut(),
            "ef-eprl" => self.ef_eprl.as_mut(),
            "ef-bcsmscfg" => self.ef_bcsmscfg.as_mut(),
            "ef-bcsmspref" => self.ef_bcsmspref.as_mut(),
            "ef-bcsmstable" => self.ef_bcsmstable.as_mut(),
            "ef-bcsmsp" => self.ef_bcsmsp.as_mut(),
            "ef-bakpara" => self.ef_bakpara.as_mut(),
            "ef-upbakpara" => self.ef_upbakpara.as_mut(),
            "ef-mmsn" => self.ef_mmsn.as_mut(),
            "ef-ext8" => self.ef_ext8.as_mut(),
            "ef-mmsicp" => self.ef_mmsicp.as_mut(),
            "ef-mmsup" => self.ef_mmsup.as_mut(),
            "ef-mmsucp" => self.ef_mmsucp.as_mut(),
            "ef-auth-capability" => self.ef_auth_capability.as_mut(),
            "ef-3gcik" => self.ef_3gcik.as_mut(),
            "ef-dck" => self.ef_dck.as_mut(),
            "ef-gid1" => self.ef_gid1.as_mut(),
            "ef-gid2" => self.ef_gid2.as_mut(),
            "ef-cdmacnl" => self.ef_cdmacnl.as_mut(),
            "ef-sf-euimid" => self.ef_sf_euimid.as_mut(),
            "ef-est" => self.ef_est.as_mut(),
            "ef-hidden-key" => self.ef_hidden_key.as_mut(),
            "ef-lcsver" => self.ef_lcsver.as_mut(),
            "ef-lcscp" => self.ef_lcscp.as_mut(),
            "ef-sdn" => self.ef_sdn.as_mut(),
            "ef-ext2" => self.ef_ext2.as_mut(),
            "ef-ext3" => self.ef_ext3.as_mut(),
            "ef-ici" => self.ef_ici.as_mut(),
            "ef-oci" => self.ef_oci.as_mut(),
            "ef-ext5" => self.ef_ext5.as_mut(),
            "ef-ccp2" => self.ef_ccp2.as_mut(),
            "ef-applabels" => self.ef_applabels.as_mut(),
            "ef-model" => self.ef_model.as_mut(),
            "ef-rc" => self.ef_rc.as_mut(),
            "ef-smscap" => self.ef_smscap.as_mut(),
            "ef-mipflags" => self.ef_mipflags.as_mut(),
            "ef-3gpduppext" => self.ef_3gpduppext.as_mut(),
            "ef-ipv6cap" => self.ef_ipv6cap.as_mut(),
            "ef-tcpconfig" => self.ef_tcpconfig.as_mut(),
            "ef-dgc" => self.ef_dgc.as_mut(),
            "ef-wapbrowsercp" => self.ef_wapbrowsercp.as_mut(),
            "ef-wapbrowserbm" => self.ef_wapbrowserbm.as_mut(),
            "ef-mmsconfig" => self.ef_mmsconfig.as_mut(),
            "ef-jdl" => self.ef_jdl.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-EAP`: DF.EAP.
///
/// ASN.1: `PE-EAP ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeEap {
    /// `eap-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `df-eap`.
    #[rasn(tag(context, 2))]
    pub df_eap: File,
    /// `ef-eapkeys` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_eapkeys: Option<File>,
    /// `ef-eapstatus`.
    #[rasn(tag(context, 4))]
    pub ef_eapstatus: File,
    /// `ef-puid` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_puid: Option<File>,
    /// `ef-ps` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_ps: Option<File>,
    /// `ef-curid` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_curid: Option<File>,
    /// `ef-reid` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub ef_reid: Option<File>,
    /// `ef-realm` (OPTIONAL).
    #[rasn(tag(context, 9))]
    pub ef_realm: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeEap {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "df-eap",
        "ef-eapkeys",
        "ef-eapstatus",
        "ef-puid",
        "ef-ps",
        "ef-curid",
        "ef-reid",
        "ef-realm",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "df-eap" => Some(&self.df_eap),
            "ef-eapkeys" => self.ef_eapkeys.as_ref(),
            "ef-eapstatus" => Some(&self.ef_eapstatus),
            "ef-puid" => self.ef_puid.as_ref(),
            "ef-ps" => self.ef_ps.as_ref(),
            "ef-curid" => self.ef_curid.as_ref(),
            "ef-reid" => self.ef_reid.as_ref(),
            "ef-realm" => self.ef_realm.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "df-eap" => Some(&mut self.df_eap),
            "ef-eapkeys" => self.ef_eapkeys.as_mut(),
            "ef-eapstatus" => Some(&mut self.ef_eapstatus),
            "ef-puid" => self.ef_puid.as_mut(),
            "ef-ps" => self.ef_ps.as_mut(),
            "ef-curid" => self.ef_curid.as_mut(),
            "ef-reid" => self.ef_reid.as_mut(),
            "ef-realm" => self.ef_realm.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-DF-5GS`: DF.5GS inside ADF.USIM (5G files: SUCI calculation info, routing indicator, ...).
///
/// ASN.1: `PE-DF-5GS ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeDf5gs {
    /// `df-5gs-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `df-df-5gs`.
    #[rasn(tag(context, 2))]
    pub df_df_5gs: File,
    /// `ef-5gs3gpploci` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_5gs3gpploci: Option<File>,
    /// `ef-5gsn3gpploci` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_5gsn3gpploci: Option<File>,
    /// `ef-5gs3gppnsc` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_5gs3gppnsc: Option<File>,
    /// `ef-5gsn3gppnsc` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_5gsn3gppnsc: Option<File>,
    /// `ef-5gauthkeys` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_5gauthkeys: Option<File>,
    /// `ef-uac-aic` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub ef_uac_aic: Option<File>,
    /// `ef-suci-calc-info` (OPTIONAL).
    #[rasn(tag(context, 9))]
    pub ef_suci_calc_info: Option<File>,
    /// `ef-opl5g` (OPTIONAL).
    #[rasn(tag(context, 10))]
    pub ef_opl5g: Option<File>,
    /// `ef-supinai` (OPTIONAL).
    #[rasn(tag(context, 11))]
    pub ef_supinai: Option<File>,
    /// `ef-routing-indicator` (OPTIONAL).
    #[rasn(tag(context, 12))]
    pub ef_routing_indicator: Option<File>,
    /// `ef-ursp` (OPTIONAL).
    #[rasn(tag(context, 13))]
    pub ef_ursp: Option<File>,
    /// `ef-tn3gppsnn` (OPTIONAL).
    #[rasn(tag(context, 14))]
    pub ef_tn3gppsnn: Option<File>,
    /// `ef-cag` (OPTIONAL).
    #[rasn(tag(context, 15))]
    pub ef_cag: Option<File>,
    /// `ef-sor-cmci` (OPTIONAL).
    #[rasn(tag(context, 16))]
    pub ef_sor_cmci: Option<File>,
    /// `ef-dri` (OPTIONAL).
    #[rasn(tag(context, 17))]
    pub ef_dri: Option<File>,
    /// `ef-5gsedrx` (OPTIONAL).
    #[rasn(tag(context, 18))]
    pub ef_5gsedrx: Option<File>,
    /// `ef-5gnswo-conf` (OPTIONAL).
    #[rasn(tag(context, 19))]
    pub ef_5gnswo_conf: Option<File>,
    /// `ef-mchpplmn` (OPTIONAL).
    #[rasn(tag(context, 20))]
    pub ef_mchpplmn: Option<File>,
    /// `ef-kausf-derivation` (OPTIONAL).
    #[rasn(tag(context, 21))]
    pub ef_kausf_derivation: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeDf5gs {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "df-df-5gs",
        "ef-5gs3gpploci",
        "ef-5gsn3gpploci",
        "ef-5gs3gppnsc",
        "ef-5gsn3gppnsc",
        "ef-5gauthkeys",
        "ef-uac-aic",
        "ef-suci-calc-info",
        "ef-opl5g",
        "ef-supinai",
        "ef-routing-indicator",
        "ef-ursp",
        "ef-tn3gppsnn",
        "ef-cag",
        "ef-sor-cmci",
        "ef-dri",
        "ef-5gsedrx",
        "ef-5gnswo-conf",
        "ef-mchpplmn",
        "ef-kausf-derivation",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "df-df-5gs" => Some(&self.df_df_5gs),
            "ef-5gs3gpploci" => self.ef_5gs3gpploci.as_ref(),
            "ef-5gsn3gpploci" => self.ef_5gsn3gpploci.as_ref(),
            "ef-5gs3gppnsc" => self.ef_5gs3gppnsc.as_ref(),
            "ef-5gsn3gppnsc" => self.ef_5gsn3gppnsc.as_ref(),
            "ef-5gauthkeys" => self.ef_5gauthkeys.as_ref(),
            "ef-uac-aic" => self.ef_uac_aic.as_ref(),
            "ef-suci-calc-info" => self.ef_suci_calc_info.as_ref(),
            "ef-opl5g" => self.ef_opl5g.as_ref(),
            "ef-supinai" => self.ef_supinai.as_ref(),
            "ef-routing-indicator" => self.ef_routing_indicator.as_ref(),
            "ef-ursp" => self.ef_ursp.as_ref(),
            "ef-tn3gppsnn" => self.ef_tn3gppsnn.as_ref(),
            "ef-cag" => self.ef_cag.as_ref(),
            "ef-sor-cmci" => self.ef_sor_cmci.as_ref(),
            "ef-dri" => self.ef_dri.as_ref(),
            "ef-5gsedrx" => self.ef_5gsedrx.as_ref(),
            "ef-5gnswo-conf" => self.ef_5gnswo_conf.as_ref(),
            "ef-mchpplmn" => self.ef_mchpplmn.as_ref(),
            "ef-kausf-derivation" => self.ef_kausf_derivation.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "df-df-5gs" => Some(&mut self.df_df_5gs),
            "ef-5gs3gpploci" => self.ef_5gs3gpploci.as_mut(),
            "ef-5gsn3gpploci" => self.ef_5gsn3gpploci.as_mut(),
            "ef-5gs3gppnsc" => self.ef_5gs3gppnsc.as_mut(),
            "ef-5gsn3gppnsc" => self.ef_5gsn3gppnsc.as_mut(),
            "ef-5gauthkeys" => self.ef_5gauthkeys.as_mut(),
            "ef-uac-aic" => self.ef_uac_aic.as_mut(),
            "ef-suci-calc-info" => self.ef_suci_calc_info.as_mut(),
            "ef-opl5g" => self.ef_opl5g.as_mut(),
            "ef-supinai" => self.ef_supinai.as_mut(),
            "ef-routing-indicator" => self.ef_routing_indicator.as_mut(),
            "ef-ursp" => self.ef_ursp.as_mut(),
            "ef-tn3gppsnn" => self.ef_tn3gppsnn.as_mut(),
            "ef-cag" => self.ef_cag.as_mut(),
            "ef-sor-cmci" => self.ef_sor_cmci.as_mut(),
            "ef-dri" => self.ef_dri.as_mut(),
            "ef-5gsedrx" => self.ef_5gsedrx.as_mut(),
            "ef-5gnswo-conf" => self.ef_5gnswo_conf.as_mut(),
            "ef-mchpplmn" => self.ef_mchpplmn.as_mut(),
            "ef-kausf-derivation" => self.ef_kausf_derivation.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-DF-SAIP`: DF.SAIP inside ADF.USIM (SUCI calculation info for the USIM).
///
/// ASN.1: `PE-DF-SAIP ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeDfSaip {
    /// `df-saip-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `df-df-saip`.
    #[rasn(tag(context, 2))]
    pub df_df_saip: File,
    /// `ef-suci-calc-info-usim` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_suci_calc_info_usim: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeDfSaip {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &["df-df-saip", "ef-suci-calc-info-usim"];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "df-df-saip" => Some(&self.df_df_saip),
            "ef-suci-calc-info-usim" => self.ef_suci_calc_info_usim.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "df-df-saip" => Some(&mut self.df_df_saip),
            "ef-suci-calc-info-usim" => self.ef_suci_calc_info_usim.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-DF-SNPN`: DF.SNPN inside ADF.USIM.
///
/// ASN.1: `PE-DF-SNPN ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeDfSnpn {
    /// `df-snpn-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `df-df-snpn`.
    #[rasn(tag(context, 2))]
    pub df_df_snpn: File,
    /// `ef-pws-snpn` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_pws_snpn: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeDfSnpn {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &["df-df-snpn", "ef-pws-snpn"];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "df-df-snpn" => Some(&self.df_df_snpn),
            "ef-pws-snpn" => self.ef_pws_snpn.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "df-df-snpn" => Some(&mut self.df_df_snpn),
            "ef-pws-snpn" => self.ef_pws_snpn.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-DF-5GPROSE`: DF.5G_ProSe inside ADF.USIM.
///
/// ASN.1: `PE-DF-5GPROSE ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeDf5gprose {
    /// `df-5g-prose-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `df-df-5g-prose`.
    #[rasn(tag(context, 2))]
    pub df_df_5g_prose: File,
    /// `ef-5g-prose-st` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_5g_prose_st: Option<File>,
    /// `ef-5g-prose-dd` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_5g_prose_dd: Option<File>,
    /// `ef-5g-prose-dc` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_5g_prose_dc: Option<File>,
    /// `ef-5g-prose-u2nru` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_5g_prose_u2nru: Option<File>,
    /// `ef-5g-prose-ru` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_5g_prose_ru: Option<File>,
    /// `ef-5g-prose-uir` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub ef_5g_prose_uir: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeDf5gprose {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "df-df-5g-prose",
        "ef-5g-prose-st",
        "ef-5g-prose-dd",
        "ef-5g-prose-dc",
        "ef-5g-prose-u2nru",
        "ef-5g-prose-ru",
        "ef-5g-prose-uir",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "df-df-5g-prose" => Some(&self.df_df_5g_prose),
            "ef-5g-prose-st" => self.ef_5g_prose_st.as_ref(),
            "ef-5g-prose-dd" => self.ef_5g_prose_dd.as_ref(),
            "ef-5g-prose-dc" => self.ef_5g_prose_dc.as_ref(),
            "ef-5g-prose-u2nru" => self.ef_5g_prose_u2nru.as_ref(),
            "ef-5g-prose-ru" => self.ef_5g_prose_ru.as_ref(),
            "ef-5g-prose-uir" => self.ef_5g_prose_uir.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "df-df-5g-prose" => Some(&mut self.df_df_5g_prose),
            "ef-5g-prose-st" => self.ef_5g_prose_st.as_mut(),
            "ef-5g-prose-dd" => self.ef_5g_prose_dd.as_mut(),
            "ef-5g-prose-dc" => self.ef_5g_prose_dc.as_mut(),
            "ef-5g-prose-u2nru" => self.ef_5g_prose_u2nru.as_mut(),
            "ef-5g-prose-ru" => self.ef_5g_prose_ru.as_mut(),
            "ef-5g-prose-uir" => self.ef_5g_prose_uir.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-IoT`: the IoT minimal profile file system (MF + reduced USIM).
///
/// ASN.1: `PE-IoT ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeIot {
    /// `iot-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `mf` (OPTIONAL).
    #[rasn(tag(context, 2))]
    pub mf: Option<File>,
    /// `ef-pl` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_pl: Option<File>,
    /// `ef-iccid` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_iccid: Option<File>,
    /// `ef-dir` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_dir: Option<File>,
    /// `ef-arr` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_arr: Option<File>,
    /// `ef-umpc` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_umpc: Option<File>,
    /// `adf-usim` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub adf_usim: Option<File>,
    /// `ef-imsi`.
    #[rasn(tag(context, 9))]
    pub ef_imsi: File,
    /// `ef-arr-usim` (OPTIONAL).
    #[rasn(tag(context, 10))]
    pub ef_arr_usim: Option<File>,
    /// `ef-keys` (OPTIONAL).
    #[rasn(tag(context, 11))]
    pub ef_keys: Option<File>,
    /// `ef-keysPS` (OPTIONAL).
    #[rasn(tag(context, 12))]
    pub ef_keys_ps: Option<File>,
    /// `ef-hpplmn` (OPTIONAL).
    #[rasn(tag(context, 13))]
    pub ef_hpplmn: Option<File>,
    /// `ef-ust` (OPTIONAL).
    #[rasn(tag(context, 14))]
    pub ef_ust: Option<File>,
    /// `ef-start-hfn` (OPTIONAL).
    #[rasn(tag(context, 15))]
    pub ef_start_hfn: Option<File>,
    /// `ef-threshold` (OPTIONAL).
    #[rasn(tag(context, 16))]
    pub ef_threshold: Option<File>,
    /// `ef-psloci` (OPTIONAL).
    #[rasn(tag(context, 17))]
    pub ef_psloci: Option<File>,
    /// `ef-acc`.
    #[rasn(tag(context, 18))]
    pub ef_acc: File,
    /// `ef-fplmn` (OPTIONAL).
    #[rasn(tag(context, 19))]
    pub ef_fplmn: Option<File>,
    /// `ef-loci` (OPTIONAL).
    #[rasn(tag(context, 20))]
    pub ef_loci: Option<File>,
    /// `ef-ad` (OPTIONAL).
    #[rasn(tag(context, 21))]
    pub ef_ad: Option<File>,
    /// `ef-ecc` (OPTIONAL).
    #[rasn(tag(context, 22))]
    pub ef_ecc: Option<File>,
    /// `ef-netpar` (OPTIONAL).
    #[rasn(tag(context, 23))]
    pub ef_netpar: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeIot {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "mf",
        "ef-pl",
        "ef-iccid",
        "ef-dir",
        "ef-arr",
        "ef-umpc",
        "adf-usim",
        "ef-imsi",
        "ef-arr-usim",
        "ef-keys",
        "ef-keysPS",
        "ef-hpplmn",
        "ef-ust",
        "ef-start-hfn",
        "ef-threshold",
        "ef-psloci",
        "ef-acc",
        "ef-fplmn",
        "ef-loci",
        "ef-ad",
        "ef-ecc",
        "ef-netpar",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "mf" => self.mf.as_ref(),
            "ef-pl" => self.ef_pl.as_ref(),
            "ef-iccid" => self.ef_iccid.as_ref(),
            "ef-dir" => self.ef_dir.as_ref(),
            "ef-arr" => self.ef_arr.as_ref(),
            "ef-umpc" => self.ef_umpc.as_ref(),
            "adf-usim" => self.adf_usim.as_ref(),
            "ef-imsi" => Some(&self.ef_imsi),
            "ef-arr-usim" => self.ef_arr_usim.as_ref(),
            "ef-keys" => self.ef_keys.as_ref(),
            "ef-keysPS" => self.ef_keys_ps.as_ref(),
            "ef-hpplmn" => self.ef_hpplmn.as_ref(),
            "ef-ust" => self.ef_ust.as_ref(),
            "ef-start-hfn" => self.ef_start_hfn.as_ref(),
            "ef-threshold" => self.ef_threshold.as_ref(),
            "ef-psloci" => self.ef_psloci.as_ref(),
            "ef-acc" => Some(&self.ef_acc),
            "ef-fplmn" => self.ef_fplmn.as_ref(),
            "ef-loci" => self.ef_loci.as_ref(),
            "ef-ad" => self.ef_ad.as_ref(),
            "ef-ecc" => self.ef_ecc.as_ref(),
            "ef-netpar" => self.ef_netpar.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "mf" => self.mf.as_mut(),
            "ef-pl" => self.ef_pl.as_mut(),
            "ef-iccid" => self.ef_iccid.as_mut(),
            "ef-dir" => self.ef_dir.as_mut(),
            "ef-arr" => self.ef_arr.as_mut(),
            "ef-umpc" => self.ef_umpc.as_mut(),
            "adf-usim" => self.adf_usim.as_mut(),
            "ef-imsi" => Some(&mut self.ef_imsi),
            "ef-arr-usim" => self.ef_arr_usim.as_mut(),
            "ef-keys" => self.ef_keys.as_mut(),
            "ef-keysPS" => self.ef_keys_ps.as_mut(),
            "ef-hpplmn" => self.ef_hpplmn.as_mut(),
            "ef-ust" => self.ef_ust.as_mut(),
            "ef-start-hfn" => self.ef_start_hfn.as_mut(),
            "ef-threshold" => self.ef_threshold.as_mut(),
            "ef-psloci" => self.ef_psloci.as_mut(),
            "ef-acc" => Some(&mut self.ef_acc),
            "ef-fplmn" => self.ef_fplmn.as_mut(),
            "ef-loci" => self.ef_loci.as_mut(),
            "ef-ad" => self.ef_ad.as_mut(),
            "ef-ecc" => self.ef_ecc.as_mut(),
            "ef-netpar" => self.ef_netpar.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}

/// `PE-OPT-IoT`: optional files of the IoT minimal profile.
///
/// ASN.1: `PE-OPT-IoT ::= SEQUENCE { header PEHeader, templateID OBJECT IDENTIFIER, <files> }`.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeOptIot {
    /// `optiot-header`: common PE header.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `templateID`: OID of the file-system template this PE instantiates.
    #[rasn(tag(context, 1))]
    pub template_id: ObjectIdentifier,
    /// `ef-fdn` (OPTIONAL).
    #[rasn(tag(context, 2))]
    pub ef_fdn: Option<File>,
    /// `ef-sms` (OPTIONAL).
    #[rasn(tag(context, 3))]
    pub ef_sms: Option<File>,
    /// `ef-smsp` (OPTIONAL).
    #[rasn(tag(context, 4))]
    pub ef_smsp: Option<File>,
    /// `ef-smss` (OPTIONAL).
    #[rasn(tag(context, 5))]
    pub ef_smss: Option<File>,
    /// `ef-spn` (OPTIONAL).
    #[rasn(tag(context, 6))]
    pub ef_spn: Option<File>,
    /// `ef-est` (OPTIONAL).
    #[rasn(tag(context, 7))]
    pub ef_est: Option<File>,
    /// `ef-oplmnwact` (OPTIONAL).
    #[rasn(tag(context, 8))]
    pub ef_oplmnwact: Option<File>,
    /// `ef-hplmnwact` (OPTIONAL).
    #[rasn(tag(context, 9))]
    pub ef_hplmnwact: Option<File>,
    /// `ef-ehplmn` (OPTIONAL).
    #[rasn(tag(context, 10))]
    pub ef_ehplmn: Option<File>,
    /// `ef-epsloci` (OPTIONAL).
    #[rasn(tag(context, 11))]
    pub ef_epsloci: Option<File>,
    /// `ef-epsnsc` (OPTIONAL).
    #[rasn(tag(context, 12))]
    pub ef_epsnsc: Option<File>,
    /// `df-df-5gs` (OPTIONAL).
    #[rasn(tag(context, 13))]
    pub df_df_5gs: Option<File>,
    /// `ef-5gs3gpploci` (OPTIONAL).
    #[rasn(tag(context, 14))]
    pub ef_5gs3gpploci: Option<File>,
    /// `ef-5gsn3gpploci` (OPTIONAL).
    #[rasn(tag(context, 15))]
    pub ef_5gsn3gpploci: Option<File>,
    /// `ef-5gs3gppnsc` (OPTIONAL).
    #[rasn(tag(context, 16))]
    pub ef_5gs3gppnsc: Option<File>,
    /// `ef-5gsn3gppnsc` (OPTIONAL).
    #[rasn(tag(context, 17))]
    pub ef_5gsn3gppnsc: Option<File>,
    /// `ef-5gauthkeys` (OPTIONAL).
    #[rasn(tag(context, 18))]
    pub ef_5gauthkeys: Option<File>,
    /// `ef-uac-aic` (OPTIONAL).
    #[rasn(tag(context, 19))]
    pub ef_uac_aic: Option<File>,
    /// `ef-suci-calc-info` (OPTIONAL).
    #[rasn(tag(context, 20))]
    pub ef_suci_calc_info: Option<File>,
    /// `ef-opl5g` (OPTIONAL).
    #[rasn(tag(context, 21))]
    pub ef_opl5g: Option<File>,
    /// `ef-supi-nai` (OPTIONAL).
    #[rasn(tag(context, 22))]
    pub ef_supi_nai: Option<File>,
    /// `ef-routing-indicator` (OPTIONAL).
    #[rasn(tag(context, 23))]
    pub ef_routing_indicator: Option<File>,
    /// `ef-ursp` (OPTIONAL).
    #[rasn(tag(context, 24))]
    pub ef_ursp: Option<File>,
    /// `ef-tn3gppsnn` (OPTIONAL).
    #[rasn(tag(context, 25))]
    pub ef_tn3gppsnn: Option<File>,
    /// `df-df-saip` (OPTIONAL).
    #[rasn(tag(context, 26))]
    pub df_df_saip: Option<File>,
    /// `ef-suci-calc-info-usim` (OPTIONAL).
    #[rasn(tag(context, 27))]
    pub ef_suci_calc_info_usim: Option<File>,
    /// Unknown extension components from newer module versions (kept verbatim).
    pub extensions: Extensions,
}

impl PeOptIot {
    /// ASN.1 component names of the files of this template, in module order.
    pub const FILE_NAMES: &'static [&'static str] = &[
        "ef-fdn",
        "ef-sms",
        "ef-smsp",
        "ef-smss",
        "ef-spn",
        "ef-est",
        "ef-oplmnwact",
        "ef-hplmnwact",
        "ef-ehplmn",
        "ef-epsloci",
        "ef-epsnsc",
        "df-df-5gs",
        "ef-5gs3gpploci",
        "ef-5gsn3gpploci",
        "ef-5gs3gppnsc",
        "ef-5gsn3gppnsc",
        "ef-5gauthkeys",
        "ef-uac-aic",
        "ef-suci-calc-info",
        "ef-opl5g",
        "ef-supi-nai",
        "ef-routing-indicator",
        "ef-ursp",
        "ef-tn3gppsnn",
        "df-df-saip",
        "ef-suci-calc-info-usim",
    ];

    /// The file called `name` (ASN.1 component name, e.g. `"ef-imsi"`), if present.
    pub fn file(&self, name: &str) -> Option<&File> {
        match name {
            "ef-fdn" => self.ef_fdn.as_ref(),
            "ef-sms" => self.ef_sms.as_ref(),
            "ef-smsp" => self.ef_smsp.as_ref(),
            "ef-smss" => self.ef_smss.as_ref(),
            "ef-spn" => self.ef_spn.as_ref(),
            "ef-est" => self.ef_est.as_ref(),
            "ef-oplmnwact" => self.ef_oplmnwact.as_ref(),
            "ef-hplmnwact" => self.ef_hplmnwact.as_ref(),
            "ef-ehplmn" => self.ef_ehplmn.as_ref(),
            "ef-epsloci" => self.ef_epsloci.as_ref(),
            "ef-epsnsc" => self.ef_epsnsc.as_ref(),
            "df-df-5gs" => self.df_df_5gs.as_ref(),
            "ef-5gs3gpploci" => self.ef_5gs3gpploci.as_ref(),
            "ef-5gsn3gpploci" => self.ef_5gsn3gpploci.as_ref(),
            "ef-5gs3gppnsc" => self.ef_5gs3gppnsc.as_ref(),
            "ef-5gsn3gppnsc" => self.ef_5gsn3gppnsc.as_ref(),
            "ef-5gauthkeys" => self.ef_5gauthkeys.as_ref(),
            "ef-uac-aic" => self.ef_uac_aic.as_ref(),
            "ef-suci-calc-info" => self.ef_suci_calc_info.as_ref(),
            "ef-opl5g" => self.ef_opl5g.as_ref(),
            "ef-supi-nai" => self.ef_supi_nai.as_ref(),
            "ef-routing-indicator" => self.ef_routing_indicator.as_ref(),
            "ef-ursp" => self.ef_ursp.as_ref(),
            "ef-tn3gppsnn" => self.ef_tn3gppsnn.as_ref(),
            "df-df-saip" => self.df_df_saip.as_ref(),
            "ef-suci-calc-info-usim" => self.ef_suci_calc_info_usim.as_ref(),
            _ => None,
        }
    }

    /// Mutable access to the file called `name`, if present.
    pub fn file_mut(&mut self, name: &str) -> Option<&mut File> {
        match name {
            "ef-fdn" => self.ef_fdn.as_mut(),
            "ef-sms" => self.ef_sms.as_mut(),
            "ef-smsp" => self.ef_smsp.as_mut(),
            "ef-smss" => self.ef_smss.as_mut(),
            "ef-spn" => self.ef_spn.as_mut(),
            "ef-est" => self.ef_est.as_mut(),
            "ef-oplmnwact" => self.ef_oplmnwact.as_mut(),
            "ef-hplmnwact" => self.ef_hplmnwact.as_mut(),
            "ef-ehplmn" => self.ef_ehplmn.as_mut(),
            "ef-epsloci" => self.ef_epsloci.as_mut(),
            "ef-epsnsc" => self.ef_epsnsc.as_mut(),
            "df-df-5gs" => self.df_df_5gs.as_mut(),
            "ef-5gs3gpploci" => self.ef_5gs3gpploci.as_mut(),
            "ef-5gsn3gpploci" => self.ef_5gsn3gpploci.as_mut(),
            "ef-5gs3gppnsc" => self.ef_5gs3gppnsc.as_mut(),
            "ef-5gsn3gppnsc" => self.ef_5gsn3gppnsc.as_mut(),
            "ef-5gauthkeys" => self.ef_5gauthkeys.as_mut(),
            "ef-uac-aic" => self.ef_uac_aic.as_mut(),
            "ef-suci-calc-info" => self.ef_suci_calc_info.as_mut(),
            "ef-opl5g" => self.ef_opl5g.as_mut(),
            "ef-supi-nai" => self.ef_supi_nai.as_mut(),
            "ef-routing-indicator" => self.ef_routing_indicator.as_mut(),
            "ef-ursp" => self.ef_ursp.as_mut(),
            "ef-tn3gppsnn" => self.ef_tn3gppsnn.as_mut(),
            "df-df-saip" => self.df_df_saip.as_mut(),
            "ef-suci-calc-info-usim" => self.ef_suci_calc_info_usim.as_mut(),
            _ => None,
        }
    }

    /// All present files with their ASN.1 component names, in module order.
    pub fn files(&self) -> Vec<(&'static str, &File)> {
        Self::FILE_NAMES
            .iter()
            .filter_map(|n| self.file(n).map(|f| (*n, f)))
            .collect()
    }
}
