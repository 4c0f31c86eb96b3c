//! Profile builder: a complete USIM profile package made from scratch, with no input file.
//!
//! [`build_profile`] turns a [`ProfileSpec`] (the credentials of one card of a SIM factory batch:
//! ICCID, IMSI, K/OPc or TUAK keys, PIN/PUK/ADM codes, OTA keys, …) into the list of profile
//! elements of an unprotected SAIP package; [`build_profile_der`] encodes it. The result reads
//! back through [`crate::Profile`]'s accessors and can be re-personalized like any template.
//!
//! ## Which TS.48 profile it follows
//!
//! The package is shaped like the GSMA TS.48 v5 generic eUICC test profile
//! `TS48v5_SAIP2.3_NoBERTLV` (SAIP 2.3 header, no BER-TLV files), restricted to the UICC and
//! USIM parts: the same profile elements in the same order, with the CSIM and ISIM NAAs (and
//! their PIN, AKA/CDMA parameter and RFM elements) and the test-specific
//! `genericFileManagement` elements left out. File identifiers, file descriptors, sizes,
//! access rules (EF.ARR records and the ARR references of every file) and default contents are
//! the TS.48 ones; everything subscriber-specific comes from the [`ProfileSpec`].
//!
//! | # | element | contents |
//! | --- | --- | --- |
//! | 1 | `header` | SAIP version 2.3, `profileType`, ICCID (plain BCD), mandatory services (`usim`, the AKA algorithm, and `get-identity`/`profile-a-x25519`/`profile-b-p256` for SUCI as TS.48 v5 has them), the list of file-system templates used |
//! | 2 | `mf` | MF; EF.PL (`en`), EF.ICCID (swapped BCD), EF.DIR (one record: the USIM AID, label `USIM`), EF.ARR (the 14 TS.48 access rules), EF.UMPC |
//! | 3 | `pukCodes` | PUK1 (key reference 1), PUK2 (129) |
//! | 4 | `pinCodes` | MF level: PIN1 (1, unblocked by PUK1), ADM1 (10), ADM2 (11, if given) |
//! | 5 | `telecom` | minimal DF.TELECOM: EF.ARR, EF.SUME, EF.PSISMSC (empty), DF.GRAPHICS/EF.IMG, EF.LAUNCH-SCWS, DF.MMSS/EF.MLPL/EF.MSPL (no phone book: TS.48 creates it with `genericFileManagement`) |
//! | 6 | `pinCodes` | DF.TELECOM level: PIN2 (129) |
//! | 7 | `usim` | ADF.USIM with EF.IMSI, EF.ARR (15 rules), EF.KEYS/KEYSPS, EF.HPPLMN, EF.UST (TS.48 service table), EF.FDN, EF.SMS, EF.SMSP, EF.SMSS, EF.SPN, EF.EST, EF.START-HFN, EF.THRESHOLD, EF.PSLOCI, EF.ACC, EF.FPLMN, EF.LOCI, EF.AD, EF.ECC (112, 911), EF.NETPAR, EF.EPSLOCI, EF.EPSNSC |
//! | 8 | `opt-usim` | the optional USIM files of TS.48 (EF.LI … EF.SDNURI); EF.MSISDN carries the MSISDN if one is given |
//! | 9 | `pinCodes` | ADF.USIM level: PIN2 (129) |
//! | 10 | `akaParameter` | MILENAGE (K, OPc, optional r/c constants) or TUAK (K, TOPc, Keccak iterations, lengths); SQN options |
//! | 11 | `gsm-access` | DF.GSM-ACCESS: EF.Kc, EF.KcGPRS, EF.CPBCCH, EF.InvScan |
//! | 12 | `df-5gs` | DF.5GS: 5GS location/NSC files (home PLMN in the TAI), EF.5GAUTHKEYS, EF.UAC_AIC, EF.SUCI_Calc_Info (null scheme), EF.OPL5G, EF.Routing_Indicator |
//! | 13 | `df-saip` | DF.SAIP: EF.SUCI_Calc_Info_USIM (null scheme) |
//! | 14 | `securityDomain` | the MNO-SD (instance, privileges and install parameters as TS.48) with one SCP80 key set per [`OtaKeys`]: KIc (key id 1), KID (2), KIK (3), AES or 3DES |
//! | 15 | `rfm` | UICC RFM instance (TAR `B00120`) |
//! | 16 | `rfm` | USIM RFM instance (TAR `B00140`, ADF.USIM) |
//! | 17 | `end` | |
//!
//! Elements are numbered 1, 2, 3, … in their `PEHeader.identification` and all are `mandated`.
//!
//! File contents use the encodings of `simforge-sim`: EF.ICCID [`simforge_sim::Iccid::to_ef`],
//! EF.IMSI [`simforge_sim::Imsi::to_ef`], EF.ACC / EF.AD / EF.SPN [`simforge_sim::ef`], PIN
//! blocks [`Pin::to_ef`] / [`Adm::to_ef`].
//!
//! ```
//! use simforge_saip::build::{AkaAlgorithm, Adm, Pin, ProfileSpec, build_profile_der};
//!
//! let mut spec = ProfileSpec::parse(
//!     "8944476000000000014",
//!     "001019876543210",
//!     2,
//!     AkaAlgorithm::milenage(&[0x11; 16], &[0x22; 16])?,
//! )?;
//! spec.pin1 = Pin::parse("1234", "PIN1").map_err(|e| simforge_saip::Error::InvalidValue {
//!     field: "pin1",
//!     reason: e.to_string(),
//! })?;
//! let der = build_profile_der(&spec)?;
//! let profile = simforge_saip::Profile::decode(&der)?;
//! assert_eq!(profile.imsi().as_deref(), Some("001019876543210"));
//! # Ok::<(), simforge_saip::Error>(())
//! ```

use rasn::types::{ObjectIdentifier, OctetString, Oid};

pub use simforge_sim::{Adm, Key128, OtaKeySet, Pin, VarKey};
use simforge_sim::{Iccid, Imsi, Msisdn, Plmn};

use crate::types::*;
use crate::{Error, ProfileElement, encode_profile};

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidValue {
        field,
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The specification
// ---------------------------------------------------------------------------------------------

/// MILENAGE rotation (r1…r5) and XOR (c1…c5) constants, written explicitly into the
/// `AlgoParameter` (leave [`AkaAlgorithm::Milenage::constants`] `None` for the defaults).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MilenageConstants {
    /// r1…r5 (`rotationConstants`).
    pub rotation: [u8; 5],
    /// c1…c5, 16 octets each (`xoringConstants`).
    pub xoring: [u8; 80],
}

impl Default for MilenageConstants {
    /// The 3GPP TS 35.206 constants (the module's DEFAULT values).
    fn default() -> Self {
        Self {
            rotation: DEFAULT_ROTATION_CONSTANTS,
            xoring: DEFAULT_XORING_CONSTANTS,
        }
    }
}

/// TUAK output lengths (3GPP TS 35.231), coded into `algorithmOptions`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TuakLengths {
    /// RES length in bits: 32, 64, 128 or 256.
    pub res_bits: u16,
    /// MAC-A/MAC-S length in bits: 64, 128 or 256.
    pub mac_bits: u16,
    /// CK and IK length in bits: 128 or 256.
    pub ckik_bits: u16,
}

impl Default for TuakLengths {
    /// RES 64 bits, MAC 64 bits, CK/IK 128 bits (what MILENAGE produces).
    fn default() -> Self {
        Self {
            res_bits: 64,
            mac_bits: 64,
            ckik_bits: 128,
        }
    }
}

impl TuakLengths {
    /// The `algorithmOptions` octet: b1–b2 RES length (`00` 32, `01` 64, `10` 128, `11` 256
    /// bits), b3–b4 MAC length (`00` 64, `01` 128, `10` 256 bits), b5 CK/IK length (`0` 128,
    /// `1` 256 bits), b6–b8 zero.
    pub fn algorithm_options(&self) -> Result<u8, Error> {
        let res = match self.res_bits {
            32 => 0,
            64 => 1,
            128 => 2,
            256 => 3,
            _ => {
                return Err(invalid(
                    "tuak lengths",
                    "RES must be 32, 64, 128 or 256 bits",
                ));
            }
        };
        let mac = match self.mac_bits {
            64 => 0,
            128 => 1,
            256 => 2,
            _ => return Err(invalid("tuak lengths", "MAC must be 64, 128 or 256 bits")),
        };
        let ckik = match self.ckik_bits {
            128 => 0,
            256 => 1,
            _ => return Err(invalid("tuak lengths", "CK/IK must be 128 or 256 bits")),
        };
        Ok(res | (mac << 2) | (ckik << 4))
    }
}

/// `algorithmOptions` written for MILENAGE (the value the TS.48 profiles carry).
pub const MILENAGE_ALGORITHM_OPTIONS: u8 = 0x02;

/// The network authentication algorithm and its secrets. Keys zeroize on drop and are redacted
/// from `Debug`.
#[derive(Clone, Debug)]
pub enum AkaAlgorithm {
    /// MILENAGE (3GPP TS 35.206).
    Milenage {
        /// Subscriber key K.
        k: Key128,
        /// OPc.
        opc: Key128,
        /// Rotation/XOR constants to write explicitly; `None` = the defaults (omitted).
        constants: Option<MilenageConstants>,
    },
    /// TUAK (3GPP TS 35.231).
    Tuak {
        /// Subscriber key K, 16 or 32 octets.
        k: VarKey,
        /// TOPc, 32 octets.
        topc: VarKey,
        /// Number of Keccak iterations (at least 1; 1 is the DEFAULT and is then omitted).
        keccak_iterations: u8,
        /// Output lengths.
        lengths: TuakLengths,
    },
}

impl AkaAlgorithm {
    /// MILENAGE with default constants; K and OPc must be 16 octets.
    pub fn milenage(k: &[u8], opc: &[u8]) -> Result<Self, Error> {
        let k: [u8; 16] = k.try_into().map_err(|_| {
            invalid(
                "k",
                format!("MILENAGE K must be 16 octets, got {}", k.len()),
            )
        })?;
        let opc: [u8; 16] = opc.try_into().map_err(|_| {
            invalid(
                "opc",
                format!("MILENAGE OPc must be 16 octets, got {}", opc.len()),
            )
        })?;
        Ok(Self::Milenage {
            k: Key128::from_bytes(k),
            opc: Key128::from_bytes(opc),
            constants: None,
        })
    }

    /// TUAK; K must be 16 or 32 octets, TOPc 32 octets, `keccak_iterations` at least 1.
    pub fn tuak(
        k: &[u8],
        topc: &[u8],
        keccak_iterations: u8,
        lengths: TuakLengths,
    ) -> Result<Self, Error> {
        check_tuak(k, topc, keccak_iterations, lengths)?;
        Ok(Self::Tuak {
            k: VarKey::from_slice(k),
            topc: VarKey::from_slice(topc),
            keccak_iterations,
            lengths,
        })
    }
}

fn check_tuak(k: &[u8], topc: &[u8], iterations: u8, lengths: TuakLengths) -> Result<(), Error> {
    if !(k.len() == 16 || k.len() == 32) {
        return Err(invalid(
            "k",
            format!("TUAK K must be 16 or 32 octets, got {}", k.len()),
        ));
    }
    if topc.len() != 32 {
        return Err(invalid(
            "topc",
            format!("TUAK TOPc must be 32 octets, got {}", topc.len()),
        ));
    }
    if iterations == 0 {
        return Err(invalid("keccak_iterations", "must be at least 1"));
    }
    lengths.algorithm_options().map(drop)
}

/// SQN management options of the `akaParameter` (`None` = omitted = the SAIP DEFAULT, as in
/// the TS.48 profiles).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SqnConfig {
    /// `sqnOptions` (DEFAULT `02`).
    pub options: Option<u8>,
    /// `sqnDelta` (DEFAULT `000010000000`).
    pub delta: Option<[u8; 6]>,
    /// `sqnAgeLimit` (DEFAULT `000010000000`).
    pub age_limit: Option<[u8; 6]>,
    /// `sqnInit`: exactly 32 initial SQN values (DEFAULT all zero).
    pub init: Option<Vec<[u8; 6]>>,
}

/// Key type of an SCP80 key set.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum OtaKeyType {
    /// AES (GlobalPlatform key type `88`).
    #[default]
    Aes,
    /// Triple DES in CBC mode (GlobalPlatform key type `80`).
    Des3,
}

impl OtaKeyType {
    fn gp_key_type(self) -> u8 {
        match self {
            Self::Aes => 0x88,
            Self::Des3 => 0x80,
        }
    }
}

/// One SCP80 (OTA) key set of the MNO-SD: KIc, KID and KIK of key version `kvn`.
#[derive(Clone, Debug)]
pub struct OtaKeys {
    /// Key version number, 1 to 15 (TS 102 225).
    pub kvn: u8,
    /// Key type.
    pub key_type: OtaKeyType,
    /// The keys (zeroized on drop, redacted from `Debug`).
    pub keys: OtaKeySet,
}

/// Everything subscriber-specific in a built profile.
///
/// Identities are `simforge-sim`'s identifier types, built only by parsing (see
/// [`ProfileSpec::parse`]); secrets are the zeroizing,
/// `Debug`-redacted types of `simforge-sim`. `ProfileSpec`'s `Debug` output therefore holds
/// no secret.
#[derive(Clone, Debug)]
pub struct ProfileSpec {
    /// ICCID: 19 or 20 digits starting `89`, the last one the Luhn check digit.
    pub iccid: Iccid,
    /// IMSI: 6 to 15 digits, with its PLMN (the number of MNC digits is written into EF.AD).
    pub imsi: Imsi,
    /// Service provider name (EF.SPN; at most 16 octets once encoded).
    pub spn: String,
    /// EF.SPN display condition byte.
    pub spn_display_condition: u8,
    /// `ProfileHeader.profileType` (1 to 100 characters). The profile *name* shown to users
    /// is SGP.22 metadata (`ProfileInfo.profileName`), not part of the package.
    pub profile_type: String,
    /// Authentication algorithm and keys.
    pub algorithm: AkaAlgorithm,
    /// SQN options.
    pub sqn: SqnConfig,
    /// PIN1 (global PIN, key reference 1).
    pub pin1: Pin,
    /// PIN2 (local PIN, key reference 129).
    pub pin2: Pin,
    /// PUK1.
    pub puk1: Pin,
    /// PUK2.
    pub puk2: Pin,
    /// ADM1 (key reference 10).
    pub adm1: Adm,
    /// ADM2 (key reference 11): defined only if given, as TS.48 does.
    pub adm2: Option<Adm>,
    /// SCP80 key sets of the MNO-SD (none: the SD gets no key list).
    pub ota_keys: Vec<OtaKeys>,
    /// MSISDN, written into EF.MSISDN record 1.
    pub msisdn: Option<Msisdn>,
    /// CDMA (CSIM) credentials, for [`crate::personalize`] of a template with a
    /// `cdmaParameter` PE. The SIM factory makes none ([`Self::from_card`] leaves this `None`),
    /// and [`build_profile`] builds no CSIM.
    pub cdma: Option<crate::personalize::CdmaCredentials>,
}

impl ProfileSpec {
    /// A spec with the given identities and algorithm and TS.48-like defaults for the rest:
    /// SPN `simforge`, profile type `simforge USIM profile`, PIN1 `0000`, PIN2 `9999`, PUK1
    /// `11111111`, PUK2 `22222222`, ADM1 `55555555`, no ADM2, no OTA keys, no MSISDN. Callers
    /// set the real codes and keys before building.
    #[must_use]
    pub fn new(iccid: Iccid, imsi: Imsi, algorithm: AkaAlgorithm) -> Self {
        Self {
            iccid,
            imsi,
            spn: "simforge".to_owned(),
            spn_display_condition: 0x01,
            profile_type: "simforge USIM profile".to_owned(),
            algorithm,
            sqn: SqnConfig::default(),
            pin1: Pin::from_number(0, 4),
            pin2: Pin::from_number(9999, 4),
            puk1: Pin::from_number(11_111_111, 8),
            puk2: Pin::from_number(22_222_222, 8),
            adm1: Adm::Digits(Pin::from_number(55_555_555, 8)),
            adm2: None,
            ota_keys: Vec::new(),
            msisdn: None,
            cdma: None,
        }
    }

    /// [`ProfileSpec::new`] from the identities' text: `iccid` 19 or 20 digits with its Luhn
    /// check digit, `imsi` 6 to 15 digits of which `mnc_len` (2 or 3) after the MCC are the MNC.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming the field (`iccid`, `imsi`, `mnc_len`).
    pub fn parse(
        iccid: &str,
        imsi: &str,
        mnc_len: u8,
        algorithm: AkaAlgorithm,
    ) -> Result<Self, Error> {
        Ok(Self::new(
            parse_iccid(iccid)?,
            parse_imsi(imsi, mnc_len)?,
            algorithm,
        ))
    }

    /// The spec of one card of a SIM factory batch: its ICCID, IMSI (and MNC length), MSISDN,
    /// Ki and OPc/TOPc, PIN/PUK/ADM codes and OTA key sets (KVN 1, 2, 3, … in batch order, of
    /// type `ota_key_type`). TUAK cards get one Keccak iteration and the default lengths.
    pub fn from_card(
        card: &simforge_sim::Card,
        algorithm: simforge_sim::Algorithm,
        spn: &str,
        ota_key_type: OtaKeyType,
    ) -> Result<Self, Error> {
        let algorithm = match algorithm {
            simforge_sim::Algorithm::Milenage => {
                AkaAlgorithm::milenage(card.ki.expose(), card.opc.expose())?
            }
            simforge_sim::Algorithm::Tuak => AkaAlgorithm::tuak(
                card.ki.expose(),
                card.opc.expose(),
                1,
                TuakLengths::default(),
            )?,
        };
        let mut spec = Self::new(card.iccid, card.imsi, algorithm);
        spec.spn = spn.to_owned();
        spec.pin1 = card.pin1.clone();
        spec.pin2 = card.pin2.clone();
        spec.puk1 = card.puk1.clone();
        spec.puk2 = card.puk2.clone();
        spec.adm1 = card.adm1.clone();
        spec.msisdn = card.msisdn;
        spec.ota_keys = (1u8..)
            .zip(&card.ota)
            .map(|(kvn, keys)| OtaKeys {
                kvn,
                key_type: ota_key_type,
                keys: keys.clone(),
            })
            .collect();
        Ok(spec)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// The validated identities of a spec.
pub(crate) struct Ids {
    pub(crate) iccid: Iccid,
    pub(crate) imsi: Imsi,
    pub(crate) plmn: Plmn,
    pub(crate) msisdn: Option<Msisdn>,
}

/// An ICCID given as text (19 or 20 digits, Luhn-checked).
pub(crate) fn parse_iccid(iccid: &str) -> Result<Iccid, Error> {
    Iccid::parse(iccid).map_err(|e| invalid("iccid", e.to_string()))
}

/// An IMSI given as text, `mnc_len` (2 or 3) of its digits after the MCC being the MNC.
pub(crate) fn parse_imsi(imsi: &str, mnc_len: u8) -> Result<Imsi, Error> {
    if !(mnc_len == 2 || mnc_len == 3) {
        return Err(invalid("mnc_len", "the MNC has 2 or 3 digits"));
    }
    if !imsi.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("imsi", "only decimal digits are allowed"));
    }
    if !(6..=15).contains(&imsi.len()) {
        return Err(invalid(
            "imsi",
            format!("an IMSI has 6 to 15 digits, got {}", imsi.len()),
        ));
    }
    let mnc_end = 3 + usize::from(mnc_len);
    let (Some(mcc), Some(mnc)) = (imsi.get(..3), imsi.get(3..mnc_end)) else {
        return Err(invalid("imsi", "too short for its MCC and MNC"));
    };
    let plmn = Plmn::new(mcc, mnc).map_err(|e| invalid("imsi", e.to_string()))?;
    Imsi::parse(imsi, &plmn).map_err(|e| invalid("imsi", e.to_string()))
}

pub(crate) fn validate(spec: &ProfileSpec) -> Result<Ids, Error> {
    let iccid = spec.iccid;
    let imsi = spec.imsi;
    let plmn = imsi.plmn();
    simforge_sim::ef::spn(&spec.spn, spec.spn_display_condition)
        .map_err(|e| invalid("spn", e.to_string()))?;
    let type_len = spec.profile_type.chars().count();
    if !(1..=100).contains(&type_len) {
        return Err(invalid("profile_type", "must be 1 to 100 characters"));
    }
    match &spec.algorithm {
        AkaAlgorithm::Milenage { .. } => {}
        AkaAlgorithm::Tuak {
            k,
            topc,
            keccak_iterations,
            lengths,
        } => check_tuak(k.expose(), topc.expose(), *keccak_iterations, *lengths)?,
    }
    if let Some(init) = &spec.sqn.init
        && init.len() != 32
    {
        return Err(invalid(
            "sqn init",
            format!("exactly 32 SQN values are needed, got {}", init.len()),
        ));
    }
    let mut kvns = Vec::new();
    for set in &spec.ota_keys {
        if !(1..=15).contains(&set.kvn) {
            return Err(invalid("ota key version", "an SCP80 KVN is 1 to 15"));
        }
        if kvns.contains(&set.kvn) {
            return Err(invalid(
                "ota key version",
                format!("KVN {} is used twice", set.kvn),
            ));
        }
        kvns.push(set.kvn);
    }
    let msisdn = spec.msisdn;
    Ok(Ids {
        iccid,
        imsi,
        plmn,
        msisdn,
    })
}

// ---------------------------------------------------------------------------------------------
// File building blocks
// ---------------------------------------------------------------------------------------------

/// Decodes a hex literal at compile time (invalid hex is a build error).
const fn decode_hex<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'F' => c - b'A' + 10,
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("invalid hex digit"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 2 * N, "odd number of hex digits");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// `hex!("0A0B")` is a `&'static [u8]` decoded at compile time.
macro_rules! hex {
    ($s:literal) => {{
        const S: &str = $s;
        const A: [u8; S.len() / 2] = decode_hex(S);
        &A
    }};
}

/// An empty PLMN/access-technology entry of EF.PLMNwAcT / OPLMNwAcT / HPLMNwAcT.
const EMPTY_PLMN_ACT: [u8; 5] = [0xFF, 0xFF, 0xFF, 0x00, 0x00];

/// Minimal big-endian encoding of a size (at least one octet).
fn be_min(n: u32) -> Vec<u8> {
    let b = n.to_be_bytes();
    let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

/// One file of a template PE under construction: its FCP and content elements.
struct F {
    fcp: Fcp,
    body: Vec<FileElement>,
    rec_len: usize,
}

/// Security attributes referenced: ARR file `sec >> 8`, record `sec & 0xFF`.
fn sec3(sec: u32) -> OctetString {
    let b = sec.to_be_bytes();
    OctetString::from_slice(&b[1..])
}

fn base(descriptor: Option<Vec<u8>>, fid: Option<u16>, sec: u32) -> Fcp {
    Fcp {
        file_descriptor: descriptor.map(OctetString::from),
        file_id: fid.map(|f| OctetString::from_slice(&f.to_be_bytes())),
        security_attributes_referenced: Some(sec3(sec)),
        ..Fcp::default()
    }
}

/// The MF (file ID and descriptor from the template).
fn mf_df(sec: u32) -> F {
    F {
        fcp: base(None, None, sec),
        body: Vec::new(),
        rec_len: 0,
    }
}

/// A DF or ADF.
fn df(fid: u16, sec: u32) -> F {
    F {
        fcp: base(None, Some(fid), sec),
        body: Vec::new(),
        rec_len: 0,
    }
}

/// A transparent EF (file descriptor `41 21`).
fn tr(fid: u16, sec: u32) -> F {
    F {
        fcp: base(Some(vec![0x41, 0x21]), Some(fid), sec),
        body: Vec::new(),
        rec_len: 0,
    }
}

/// A linear fixed EF with records of `rec_len` octets (file descriptor `42 21 rr rr`).
fn lf(fid: u16, rec_len: u16, sec: u32) -> F {
    let [hi, lo] = rec_len.to_be_bytes();
    F {
        fcp: base(Some(vec![0x42, 0x21, hi, lo]), Some(fid), sec),
        body: Vec::new(),
        rec_len: usize::from(rec_len),
    }
}

/// A cyclic EF with records of `rec_len` octets (file descriptor `46 21 rr rr`).
fn cy(fid: u16, rec_len: u16, sec: u32) -> F {
    let [hi, lo] = rec_len.to_be_bytes();
    F {
        fcp: base(Some(vec![0x46, 0x21, hi, lo]), Some(fid), sec),
        body: Vec::new(),
        rec_len: usize::from(rec_len),
    }
}

impl F {
    fn prop(&mut self) -> &mut ProprietaryInfo {
        self.fcp
            .proprietary_ef_info
            .get_or_insert_with(ProprietaryInfo::default)
    }

    fn df_name(mut self, aid: &[u8]) -> Self {
        self.fcp.df_name = Some(OctetString::from_slice(aid));
        self
    }

    fn size(mut self, n: u32) -> Self {
        self.fcp.ef_file_size = Some(OctetString::from(be_min(n)));
        self
    }

    fn pst(mut self, pst: &[u8]) -> Self {
        self.fcp.pin_status_template_do = Some(OctetString::from_slice(pst));
        self
    }

    fn sfi(mut self, sfi: u8) -> Self {
        self.fcp.short_ef_id = Some(OctetString::from_slice(&[sfi]));
        self
    }

    /// `specialFileInformation` (`40` high update activity, `80` readable when deactivated).
    fn special(mut self, b: u8) -> Self {
        self.prop().special_file_information = Some(OctetString::from_slice(&[b]));
        self
    }

    fn fill(mut self, pattern: &[u8]) -> Self {
        self.prop().fill_pattern = Some(OctetString::from_slice(pattern));
        self
    }

    fn repeat(mut self, pattern: &[u8]) -> Self {
        self.prop().repeat_pattern = Some(OctetString::from_slice(pattern));
        self
    }

    fn content(mut self, c: &[u8]) -> Self {
        self.body
            .push(FileElement::FillFileContent(OctetString::from_slice(c)));
        self
    }

    fn offset(mut self, n: u16) -> Self {
        self.body.push(FileElement::FillFileOffset(n));
        self
    }

    /// Writes records 1, 2, … (each padded to the record length by an offset).
    fn records(mut self, records: &[&[u8]]) -> Self {
        let last = records.len().saturating_sub(1);
        for (i, r) in records.iter().enumerate() {
            self = self.content(r);
            let pad = self.rec_len.saturating_sub(r.len());
            if i < last && pad > 0 {
                self = self.offset(u16::try_from(pad).unwrap_or(u16::MAX));
            }
        }
        self
    }

    fn file(self) -> File {
        let mut v = Vec::with_capacity(1 + self.body.len());
        v.push(FileElement::FileDescriptor(Box::new(self.fcp)));
        v.extend(self.body);
        File(v)
    }
}

// ---------------------------------------------------------------------------------------------
// Constants taken from TS48v5_SAIP2.3_NoBERTLV
// ---------------------------------------------------------------------------------------------

/// AID of the USIM (`A0000000871002` + `FF49FF0589`, as in the TS.48 profiles).
pub const USIM_AID: &[u8] = hex!("A0000000871002FF49FF0589");

const OID_MF: &Oid = Oid::const_new(&[2, 23, 143, 1, 2, 1]);
const OID_TELECOM: &Oid = Oid::const_new(&[2, 23, 143, 1, 2, 3]);
const OID_USIM: &Oid = Oid::const_new(&[2, 23, 143, 1, 2, 4]);
const OID_OPT_USIM: &Oid = Oid::const_new(&[2, 23, 143, 1, 2, 5]);
const OID_GSM_ACCESS: &Oid = Oid::const_new(&[2, 23, 143, 1, 2, 7]);
const OID_DF_5GS: &Oid = Oid::const_new(&[2, 23, 143, 1, 2, 13]);
const OID_DF_SAIP: &Oid = Oid::const_new(&[2, 23, 143, 1, 2, 14]);

/// Key usage qualifiers of the SCP80 keys (GlobalPlatform): KIc (C-DEC, R-ENC), KID
/// (C-MAC, R-MAC), KIK (key encryption).
const KUQ_KIC: u8 = 0x18;
const KUQ_KID: u8 = 0x14;
const KUQ_KIK: u8 = 0x48;

/// Fill pattern of an empty EF.ICI record (TS.48).
const ICI_FILL: &[u8] =
    hex!("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF0000000000FF");

/// Fill pattern of an empty EF.OCI record (TS.48).
const OCI_FILL: &[u8] =
    hex!("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FF");

/// EF.UST: the TS.48 USIM service table.
const USIM_SERVICE_TABLE: &[u8] = hex!("9EFFBF1DFF3E0083410310010400007E11");

/// EF.ARR of the MF (record n = security attributes `2F06 0n`).
const MF_ARR_RECORDS: &[&[u8]] = &[
    hex!("80015EA40683010A9501088401D4A40683010A950108"),
    hex!("800101900080015AA40683010A9501088401D4A40683010A950108"),
    hex!("8001019000800118A40683010A950108"),
    hex!("8001019000800102A4068301019501088401D4A40683010A950108800158A40683010A950108"),
    hex!(
        "800103A406830101950108800118A406830181950108800140A40683010A9501088401D4A40683010A950108"
    ),
    hex!(
        "800101A406830101950108800102A406830181950108800158A40683010A9501088401D4A40683010A950108"
    ),
    hex!("800103A406830101950108800158A40683010A9501088401D4A40683010A950108"),
    hex!("800101A40683010195010880015AA40683010A9501088401D4A40683010A950108"),
    hex!("800101A406830101950108800152A40683010A950108"),
    hex!("800101A40683010195010880015AA40683010A9501088401D4A40683010A950108"),
    hex!("800103A4068301019501088401D4A40683010A950108800158A40683010A950108"),
    hex!("800101A406830101950108800102A40683010A950108"),
    hex!(
        "800101A406830101950108800102A4068301819501088401D4A40683010A950108800158A40683010A950108"
    ),
    hex!("8001039000800158A40683010A9501088401D4A40683010A950108"),
];

/// EF.ARR of ADF.USIM (record n = security attributes `6F06 0n`).
const USIM_ARR_RECORDS: &[&[u8]] = &[
    hex!("800101A406830101950108800102A406830181950108800158A40683010A950108"),
    hex!("800103A406830101950108800158A40683010A950108"),
    hex!("800101A40683010195010880015AA40683010A950108"),
    hex!("800101A40683010195010880015AA40683010A9501088401D4A40683010A950108"),
    hex!("8001019000800102A4068301019501088401D4A40683010A950108800158A40683010A950108"),
    hex!("800103A4068301019501088401D4A40683010A950108800158A40683010A950108"),
    hex!("800101900080015AA40683010A950108"),
    hex!("800101900080015AA40683010A9501088401D4A40683010A950108"),
    hex!(
        "800101A406830101950108800102A4068301819501088401D4A40683010A950108800158A40683010A950108"
    ),
    hex!("800101A40683010195010880011AA40683010A950108"),
    hex!(
        "800101A406830101950108800158A40683010A950108840132A406830101950108800102A010A406830101950108A406830181950108"
    ),
    hex!("800103A40683010A950108"),
    hex!("80015EA40683010A9501088401D4A40683010A950108"),
    hex!("80010390008401D4A40683010A950108800158A40683010A950108"),
    hex!("80015FA40683010A9501088401D4A40683010A950108"),
];

/// EF.ECC: 112 "Euro Emer" and 911 "Emergency".
const ECC_RECORDS: &[&[u8]] = &[
    hex!("11F2FF4575726F20456D6572FF00"),
    hex!("19F1FF456D657267656E6379FF00"),
];

// ---------------------------------------------------------------------------------------------
// Encodings not provided by simforge-sim
// ---------------------------------------------------------------------------------------------

/// PLMN in the 3-octet coding of TS 24.008 10.5.1.3 (MCC2 MCC1, MNC3 MCC3, MNC2 MNC1; `F`
/// for a 2-digit MNC's third digit).
fn plmn_bytes(plmn: &Plmn) -> [u8; 3] {
    let d = |s: String| -> Vec<u8> { s.bytes().map(|b| b - b'0').collect() };
    let mcc = d(plmn.mcc());
    let mnc = d(plmn.mnc());
    let m = |v: &Vec<u8>, i: usize| v.get(i).copied().unwrap_or(0xF);
    [
        (m(&mcc, 1) << 4) | m(&mcc, 0),
        (m(&mnc, 2) << 4) | m(&mcc, 2),
        (m(&mnc, 1) << 4) | m(&mnc, 0),
    ]
}

/// Digits as plain BCD (first digit in the high nibble), `F`-padded to `len` octets: the
/// coding of `ProfileHeader.iccid` in practice (see [`crate::Profile::iccid`]).
fn plain_bcd(digits: &str, len: usize) -> Vec<u8> {
    let mut out = vec![0xFFu8; len];
    for (i, c) in digits.bytes().take(len * 2).enumerate() {
        let n = c.wrapping_sub(b'0') & 0x0F;
        let byte = &mut out[i / 2];
        *byte = if i % 2 == 0 {
            (*byte & 0x0F) | (n << 4)
        } else {
            (*byte & 0xF0) | n
        };
    }
    out
}

/// EF.MSISDN record (TS 31.102 4.2.26, `rec_len` octets): no alpha identifier, BCD length,
/// TON/NPI `91` (international, E.164), the number in swapped BCD, no CCP/extension.
pub(crate) fn msisdn_record(msisdn: &Msisdn, rec_len: usize) -> Vec<u8> {
    let digits = msisdn.to_string();
    let mut bcd = [0xFFu8; 10];
    for (i, c) in digits.bytes().take(20).enumerate() {
        let n = c.wrapping_sub(b'0') & 0x0F;
        let byte = &mut bcd[i / 2];
        *byte = if i % 2 == 0 {
            (*byte & 0xF0) | n
        } else {
            (*byte & 0x0F) | (n << 4)
        };
    }
    let alpha = rec_len.saturating_sub(14);
    let mut rec = vec![0xFFu8; alpha];
    rec.push(u8::try_from(1 + digits.len().div_ceil(2)).unwrap_or(0xFF));
    rec.push(0x91);
    rec.extend_from_slice(&bcd);
    rec.extend_from_slice(&[0xFF, 0xFF]);
    rec
}

/// EF.DIR record for the USIM: application template with the AID and the label `USIM`.
fn dir_record(aid: &[u8]) -> Vec<u8> {
    let label = b"USIM";
    let mut inner = vec![0x4F, aid.len() as u8];
    inner.extend_from_slice(aid);
    inner.extend_from_slice(&[0x50, label.len() as u8]);
    inner.extend_from_slice(label);
    let mut rec = vec![0x61, inner.len() as u8];
    rec.extend(inner);
    rec
}

/// EF.MSISDN (2 records of 39 octets, as TS.48), record 1 holding the MSISDN if given.
fn msisdn_file(record: Option<&[u8]>) -> File {
    let f = lf(0x6F40, 0x0027, 0x6F0604).size(0x4E);
    match record {
        Some(r) => f.content(r),
        None => f,
    }
    .file()
}

// ---------------------------------------------------------------------------------------------
// The builder
// ---------------------------------------------------------------------------------------------

/// Hands out `PEHeader`s numbered 1, 2, 3, … (all mandated).
struct Ids16(u16);

impl Ids16 {
    fn next(&mut self) -> PeHeader {
        self.0 += 1;
        PeHeader {
            mandated: Some(()),
            identification: self.0,
            extensions: Extensions::new(),
        }
    }
}

fn pin_config(
    key_reference: u8,
    value: [u8; 8],
    unblocking: Option<u8>,
    attributes: u8,
    max_attempts: Option<u8>,
) -> PinConfiguration {
    PinConfiguration {
        key_reference,
        pin_value: OctetString::from_slice(&value),
        unblocking_pin_reference: unblocking,
        pin_attributes: Some(attributes),
        max_num_of_attemps_retry_num_left: max_attempts,
        extensions: Extensions::new(),
    }
}

fn pin_codes(header: PeHeader, pins: Vec<PinConfiguration>) -> ProfileElement {
    ProfileElement::PinCodes(PePinCodes {
        header,
        pin_codes: PinCodes::PinConfig(pins),
        extensions: Extensions::new(),
    })
}

/// PIN2 (local, key reference 129), as defined for DF.TELECOM and ADF.USIM.
fn pin2_codes(header: PeHeader, spec: &ProfileSpec) -> ProfileElement {
    pin_codes(
        header,
        vec![pin_config(
            key_ref::SECOND_PIN_APPL1,
            spec.pin2.to_ef(),
            Some(key_ref::SECOND_PIN_APPL1),
            3,
            None,
        )],
    )
}

fn key_object(kvn: u8, kid: u8, usage: u8, key_type: u8, key: &[u8]) -> KeyObject {
    KeyObject {
        key_usage_qualifier: OctetString::from_slice(&[usage]),
        key_access: None,
        key_identifier: OctetString::from_slice(&[kid]),
        key_version_number: OctetString::from_slice(&[kvn]),
        key_counter_value: None,
        key_components: vec![KeyComponent {
            key_type: OctetString::from_slice(&[key_type]),
            key_data: OctetString::from_slice(key),
            mac_length: None,
            extensions: Extensions::new(),
        }],
        extensions: Extensions::new(),
    }
}

fn rfm(header: PeHeader, n: u8, tar: [u8; 3], adf: Option<&[u8]>) -> ProfileElement {
    ProfileElement::Rfm(PeRfm {
        header,
        instance_aid: OctetString::from_slice(&[0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0x00, n]),
        security_domain_aid: None,
        tar_list: Some(vec![OctetString::from_slice(&tar)]),
        minimum_security_level: OctetString::from_slice(&[0x02]),
        uicc_access_domain: OctetString::from_slice(&[0x00]),
        uicc_admin_access_domain: OctetString::from_slice(&[0x00]),
        adf_rfm_access: adf.map(|aid| AdfRfmAccess {
            adf_aid: OctetString::from_slice(aid),
            adf_access_domain: OctetString::from_slice(&[0x00]),
            adf_admin_access_domain: OctetString::from_slice(&[0x00]),
            extensions: Extensions::new(),
        }),
        extensions: Extensions::new(),
    })
}

/// Builds the profile elements of a complete USIM profile package (see the module docs for
/// what each element holds). Every field of `spec` is validated first; a bad value gives
/// [`Error::InvalidValue`] naming the field.
pub fn build_profile(spec: &ProfileSpec) -> Result<Vec<ProfileElement>, Error> {
    let ids = validate(spec)?;
    let plmn = plmn_bytes(&ids.plmn);
    let mut h = Ids16(0);
    let mut out = Vec::with_capacity(17);

    // Key references listed in the PIN status templates: ADM2 only if it is defined.
    let (pst_mf, pst_df): (&[u8], &[u8]) = if spec.adm2.is_some() {
        (hex!("010A0B"), hex!("81010A0B"))
    } else {
        (hex!("010A"), hex!("81010A"))
    };

    // 1. ProfileHeader.
    let mut services = ServicesList {
        usim: Some(()),
        get_identity: Some(()),
        profile_a_x25519: Some(()),
        profile_b_p256: Some(()),
        ..ServicesList::default()
    };
    match &spec.algorithm {
        AkaAlgorithm::Milenage { .. } => services.milenage = Some(()),
        AkaAlgorithm::Tuak { k, .. } if k.expose().len() == 32 => services.tuak256 = Some(()),
        AkaAlgorithm::Tuak { .. } => services.tuak128 = Some(()),
    }
    out.push(ProfileElement::Header(ProfileHeader {
        major_version: 2,
        minor_version: 3,
        profile_type: Some(spec.profile_type.clone()),
        iccid: OctetString::from(plain_bcd(&ids.iccid.to_string(), 10)),
        pol: None,
        euicc_mandatory_services: services,
        euicc_mandatory_gfste_list: [
            OID_MF,
            OID_TELECOM,
            OID_USIM,
            OID_OPT_USIM,
            OID_GSM_ACCESS,
            OID_DF_5GS,
            OID_DF_SAIP,
        ]
        .into_iter()
        .map(ObjectIdentifier::from)
        .collect(),
        connectivity_parameters: None,
        euicc_mandatory_aids: None,
        iot_options: None,
        extensions: Extensions::new(),
    }));

    // 2. MF.
    out.push(ProfileElement::Mf(Box::new(PeMf {
        header: h.next(),
        template_id: OID_MF.into(),
        mf: mf_df(0x2F0601).pst(pst_mf).file(),
        ef_pl: Some(
            tr(0x2F05, 0x2F0604)
                .size(0x06)
                .special(0x40)
                .fill(hex!("656EFF"))
                .file(),
        ),
        ef_iccid: tr(0x2FE2, 0x2F0603)
            .sfi(0x10)
            .special(0x40)
            .content(&ids.iccid.to_ef())
            .file(),
        ef_dir: lf(0x2F00, 0x0021, 0x2F0602)
            .size(0x84)
            .special(0x40)
            .records(&[&dir_record(USIM_AID)])
            .file(),
        ef_arr: lf(0x2F06, 0x002E, 0x2F0602)
            .size(0x02B2)
            .sfi(0x30)
            .special(0x40)
            .records(MF_ARR_RECORDS)
            .file(),
        ef_umpc: Some(
            tr(0x2F08, 0x2F0602)
                .sfi(0x40)
                .special(0x40)
                .content(hex!("3C3C000000"))
                .file(),
        ),
        extensions: Extensions::new(),
    })));

    // 3. PUKs.
    out.push(ProfileElement::PukCodes(PePukCodes {
        header: h.next(),
        puk_codes: [
            (key_ref::PIN_APPL1, &spec.puk1),
            (key_ref::SECOND_PIN_APPL1, &spec.puk2),
        ]
        .into_iter()
        .map(|(key_reference, puk)| PukConfiguration {
            key_reference,
            puk_value: OctetString::from_slice(&puk.to_ef()),
            max_num_of_attemps_retry_num_left: None,
            extensions: Extensions::new(),
        })
        .collect(),
        extensions: Extensions::new(),
    }));

    // 4. MF-level PINs: PIN1, ADM1, ADM2.
    let mut pins = vec![
        pin_config(
            key_ref::PIN_APPL1,
            spec.pin1.to_ef(),
            Some(key_ref::PIN_APPL1),
            6,
            None,
        ),
        pin_config(key_ref::ADM1, spec.adm1.to_ef(), None, 3, Some(0xAA)),
    ];
    if let Some(adm2) = &spec.adm2 {
        pins.push(pin_config(key_ref::ADM2, adm2.to_ef(), None, 3, Some(0xAA)));
    }
    out.push(pin_codes(h.next(), pins));

    // 5. DF.TELECOM (minimal) and 6. its PIN2.
    out.push(ProfileElement::Telecom(Box::new(PeTelecom {
        header: h.next(),
        template_id: OID_TELECOM.into(),
        df_telecom: df(0x7F10, 0x2F0601).pst(pst_df).file(),
        ef_arr: Some(
            lf(0x6F06, 0x0014, 0x2F0602)
                .size(0x14)
                .sfi(0xB8)
                .special(0x40)
                .content(hex!("FF"))
                .file(),
        ),
        ef_rma: None,
        ef_sume: Some(tr(0x6F54, 0x2F0601).size(0x12).fill(hex!("8500FF")).file()),
        ef_ice_dn: None,
        ef_ice_ff: None,
        ef_psismsc: Some(lf(0x6FE5, 0x0016, 0x2F0607).size(0x16).special(0x40).file()),
        df_graphics: Some(df(0x5F50, 0x2F0601).pst(pst_df).file()),
        ef_img: Some(
            lf(0x4F20, 0x000A, 0x2F060A)
                .size(0x0A)
                .special(0x40)
                .fill(hex!("00FF"))
                .file(),
        ),
        ef_iidf: None,
        ef_ice_graphics: None,
        ef_launch_scws: Some(
            tr(0x4F01, 0x2F060A)
                .size(0x0200)
                .special(0x40)
                .content(hex!("FF"))
                .file(),
        ),
        ef_icon: None,
        // The phone book: TS.48 creates its files with genericFileManagement.
        df_phonebook: None,
        ef_pbr: None,
        ef_ext1: None,
        ef_aas: None,
        ef_gas: None,
        ef_psc: None,
        ef_cc: None,
        ef_puid: None,
        ef_iap: None,
        ef_adn: None,
        ef_pbc: None,
        ef_anr: None,
        ef_puri: None,
        ef_email: None,
        ef_sne: None,
        ef_uid: None,
        ef_grp: None,
        ef_ccp1: None,
        df_multimedia: None,
        ef_mml: None,
        ef_mmdf: None,
        df_mmss: Some(df(0x5F3C, 0x2F0601).pst(pst_df).file()),
        ef_mlpl: Some(
            tr(0x4F20, 0x2F060A)
                .size(0x12)
                .special(0x40)
                .fill(hex!("000901000101010001FF"))
                .file(),
        ),
        ef_mspl: Some(
            tr(0x4F21, 0x2F060A)
                .size(0x12)
                .special(0x40)
                .fill(hex!("000F0100010101030708020C003E00FF"))
                .file(),
        ),
        ef_mmssmode: None,
        df_mcs: None,
        ef_mst: None,
        ef_mcs_config: None,
        df_v2x: None,
        ef_vst: None,
        ef_v2x_config: None,
        ef_v2xp_pc5: None,
        ef_v2xp_uu: None,
        extensions: Extensions::new(),
    })));
    out.push(pin2_codes(h.next(), spec));

    // 7. ADF.USIM.
    let spn = simforge_sim::ef::spn(&spec.spn, spec.spn_display_condition)
        .map_err(|e| invalid("spn", e.to_string()))?;
    let mut loci = vec![0xFF; 4];
    loci.extend_from_slice(&plmn);
    loci.extend_from_slice(&[0xFF, 0xFE, 0xFF, 0x01]);
    let mut psloci = vec![0xFF; 7];
    psloci.extend_from_slice(&plmn);
    psloci.extend_from_slice(&[0xFF, 0xFE, 0xFF, 0x01]);
    out.push(ProfileElement::Usim(Box::new(PeUsim {
        header: h.next(),
        template_id: OID_USIM.into(),
        adf_usim: df(0x7FD0, 0x2F0601).df_name(USIM_AID).pst(pst_df).file(),
        ef_imsi: tr(0x6F07, 0x6F060A).content(&ids.imsi.to_ef()).file(),
        ef_arr: lf(0x6F06, 0x0036, 0x6F0608)
            .size(0x032A)
            .records(USIM_ARR_RECORDS)
            .file(),
        ef_keys: Some(tr(0x6F08, 0x6F0602).special(0x80).fill(hex!("07FF")).file()),
        ef_keys_ps: Some(tr(0x6F09, 0x6F0602).special(0x80).fill(hex!("07FF")).file()), // ef-keysPS
        ef_hpplmn: Some(tr(0x6F31, 0x6F0603).content(hex!("00")).file()),
        ef_ust: tr(0x6F38, 0x6F0604)
            .size(0x11)
            .content(USIM_SERVICE_TABLE)
            .file(),
        ef_fdn: Some(lf(0x6F3B, 0x001C, 0x6F0601).size(0x8C).file()),
        ef_sms: Some(
            lf(0x6F3C, 0x00B0, 0x6F0602)
                .size(0x06E0)
                .fill(hex!("00FF"))
                .file(),
        ),
        ef_smsp: Some(lf(0x6F42, 0x002A, 0x6F0602).size(0x54).file()),
        ef_smss: Some(tr(0x6F43, 0x6F0602).file()),
        ef_spn: tr(0x6F46, 0x6F0607).content(&spn).file(),
        ef_est: tr(0x6F56, 0x6F0601).content(hex!("00")).file(),
        ef_start_hfn: Some(
            tr(0x6F5B, 0x6F0602)
                .special(0x80)
                .content(hex!("F00000F00000"))
                .file(),
        ),
        ef_threshold: Some(tr(0x6F5C, 0x6F0603).repeat(hex!("FF")).file()),
        ef_psloci: Some(tr(0x6F73, 0x6F0602).special(0x80).content(&psloci).file()),
        ef_acc: tr(0x6F78, 0x6F0603)
            .content(&simforge_sim::ef::acc(&ids.imsi))
            .file(),
        ef_fplmn: Some(tr(0x6F7B, 0x6F0606).file()),
        ef_loci: Some(tr(0x6F7E, 0x6F0602).special(0x80).content(&loci).file()),
        ef_ad: Some(
            tr(0x6FAD, 0x6F0607)
                .content(&simforge_sim::ef::ad(spec.imsi.plmn().mnc_len()))
                .file(),
        ),
        ef_ecc: lf(0x6FB7, 0x000E, 0x6F0608)
            .size(0x1C)
            .records(ECC_RECORDS)
            .file(),
        ef_netpar: Some(tr(0x6FC4, 0x6F0602).size(0x32).special(0x80).file()),
        ef_epsloci: Some(
            tr(0x6FE3, 0x6F0602)
                .special(0xC0)
                .offset(12)
                .content(hex!("000000000001"))
                .file(),
        ),
        ef_epsnsc: Some(lf(0x6FE4, 0x0036, 0x6F0602).size(0x36).special(0xC0).file()),
        extensions: Extensions::new(),
    })));

    // 8. Optional USIM files.
    let msisdn = ids.msisdn.as_ref().map(|m| msisdn_record(m, 0x27));
    out.push(ProfileElement::OptUsim(Box::new(PeOptUsim {
        header: h.next(),
        template_id: OID_OPT_USIM.into(),
        ef_li: Some(tr(0x6F05, 0x6F0605).file()),
        ef_acmax: Some(tr(0x6F37, 0x6F0609).special(0x40).repeat(hex!("00")).file()),
        ef_acm: Some(
            cy(0x6F39, 0x0003, 0x6F060B)
                .size(0x0F)
                .sfi(0xE0)
                .special(0x80)
                .repeat(hex!("00"))
                .file(),
        ),
        ef_gid1: Some(tr(0x6F3E, 0x6F0604).size(0x02).content(hex!("FFFF")).file()),
        ef_gid2: Some(tr(0x6F3F, 0x6F0604).size(0x02).content(hex!("FFFF")).file()),
        ef_msisdn: Some(msisdn_file(msisdn.as_deref())),
        ef_puct: Some(tr(0x6F41, 0x6F0601).content(hex!("FFFFFF0000")).file()),
        ef_cbmi: Some(tr(0x6F45, 0x6F0602).size(0x08).file()),
        ef_cbmid: Some(tr(0x6F48, 0x6F0604).size(0x08).file()),
        ef_sdn: Some(lf(0x6F49, 0x001C, 0x6F060A).size(0x8C).file()),
        ef_ext2: Some(
            lf(0x6F4B, 0x000D, 0x6F0601)
                .size(0x41)
                .fill(hex!("00FF"))
                .file(),
        ),
        ef_ext3: Some(
            lf(0x6F4C, 0x000D, 0x6F0603)
                .size(0x41)
                .fill(hex!("00FF"))
                .file(),
        ),
        ef_cbmir: Some(tr(0x6F50, 0x6F0606).size(0x10).file()),
        ef_plmnwact: Some(
            tr(0x6F60, 0x6F0606)
                .size(0xAA)
                .content(&EMPTY_PLMN_ACT.repeat(34))
                .file(),
        ),
        ef_oplmnwact: Some(
            tr(0x6F61, 0x6F0603)
                .size(0xFA)
                .content(&EMPTY_PLMN_ACT.repeat(50))
                .file(),
        ),
        ef_hplmnwact: Some(
            tr(0x6F62, 0x6F0603)
                .size(0xFA)
                .content(&EMPTY_PLMN_ACT.repeat(50))
                .file(),
        ),
        ef_dck: Some(tr(0x6F2C, 0x6F0602).special(0x40).file()),
        ef_cnl: Some(tr(0x6F32, 0x6F0603).size(0x3C).special(0x40).file()),
        ef_smsr: Some(
            lf(0x6F47, 0x001E, 0x6F0602)
                .size(0x012C)
                .fill(hex!("00FF"))
                .file(),
        ),
        ef_bdn: Some(lf(0x6F4D, 0x0015, 0x6F0601).size(0x3F).special(0x40).file()),
        ef_ext5: Some(
            lf(0x6F4E, 0x000D, 0x6F0602)
                .size(0x41)
                .fill(hex!("00FF"))
                .file(),
        ),
        ef_ccp2: Some(lf(0x6F4F, 0x000F, 0x6F0602).file()),
        ef_ext4: None,
        ef_acl: Some(tr(0x6F57, 0x6F0601).size(0xC8).fill(hex!("00FF")).file()),
        ef_cmi: Some(lf(0x6F58, 0x0055, 0x6F0603).size(0xAA).special(0x40).file()),
        ef_ici: Some(
            cy(0x6F80, 0x002A, 0x6F0602)
                .size(0xD2)
                .special(0x80)
                .fill(ICI_FILL)
                .file(),
        ),
        ef_oci: Some(
            cy(0x6F81, 0x0029, 0x6F0602)
                .size(0xCD)
                .special(0x80)
                .fill(OCI_FILL)
                .file(),
        ),
        ef_ict: Some(
            cy(0x6F82, 0x0003, 0x6F060B)
                .size(0x1E)
                .special(0x80)
                .repeat(hex!("00"))
                .file(),
        ),
        ef_oct: Some(
            cy(0x6F83, 0x0003, 0x6F060B)
                .size(0x1E)
                .special(0x80)
                .repeat(hex!("00"))
                .file(),
        ),
        ef_vgcs: Some(tr(0x6FB1, 0x6F0604).size(0xC8).special(0x40).file()),
        ef_vgcss: Some(tr(0x6FB2, 0x6F0603).special(0x40).file()),
        ef_vbs: Some(tr(0x6FB3, 0x6F0604).size(0xC8).special(0x40).file()),
        ef_vbss: Some(tr(0x6FB4, 0x6F0603).special(0x40).file()),
        ef_emlpp: Some(tr(0x6FB5, 0x6F0603).special(0x40).repeat(hex!("00")).file()),
        ef_aaem: Some(
            tr(0x6FB6, 0x6F0602)
                .special(0x40)
                .content(hex!("00"))
                .file(),
        ),
        ef_hiddenkey: Some(tr(0x6FC3, 0x6F0602).file()),
        ef_pnn: Some(
            lf(0x6FC5, 0x0014, 0x6F0608)
                .size(0x64)
                .content(hex!("FF"))
                .file(),
        ),
        ef_opl: Some(
            lf(0x6FC6, 0x0008, 0x6F0608)
                .size(0x50)
                .content(hex!("FF"))
                .file(),
        ),
        ef_mbdn: None,
        ef_ext6: None,
        ef_mbi: None,
        ef_mwis: None,
        ef_cfis: None,
        ef_ext7: None,
        ef_spdi: None,
        ef_mmsn: Some(
            lf(0x6FCE, 0x0005, 0x6F0606)
                .size(0x05)
                .fill(hex!("000000FF"))
                .file(),
        ),
        ef_ext8: Some(lf(0x6FCF, 0x000D, 0x6F0606).fill(hex!("00FF")).file()),
        ef_mmsicp: Some(tr(0x6FD0, 0x6F0604).size(0x17).file()),
        ef_mmsup: Some(lf(0x6FD1, 0x000A, 0x6F0606).size(0x0A).file()),
        ef_mmsucp: Some(tr(0x6FD2, 0x6F0609).size(0x17).file()),
        ef_nia: Some(lf(0x6FD3, 0x0020, 0x6F060A).size(0xA0).special(0x40).file()),
        ef_vgcsca: Some(
            tr(0x6FD4, 0x6F0604)
                .size(0x02)
                .special(0x40)
                .content(hex!("0103"))
                .file(),
        ),
        ef_vbsca: Some(
            tr(0x6FD5, 0x6F0604)
                .size(0x02)
                .special(0x40)
                .content(hex!("0103"))
                .file(),
        ),
        ef_gbabp: None,
        ef_msk: None,
        ef_muk: None,
        ef_ehplmn: Some(tr(0x6FD9, 0x6F0603).size(0x1E).special(0x40).file()),
        ef_gbanl: None,
        ef_ehplmnpi: Some(
            tr(0x6FDB, 0x6F0603)
                .special(0x40)
                .content(hex!("00"))
                .file(),
        ),
        ef_lrplmnsi: Some(
            tr(0x6FDC, 0x6F0603)
                .special(0x40)
                .content(hex!("00"))
                .file(),
        ),
        ef_nafkca: None,
        ef_spni: None,
        ef_pnni: None,
        ef_ncp_ip: None,
        ef_ufc: None,
        ef_nasconfig: Some(
            tr(0x6FE8, 0x6F0604)
                .size(0x1C)
                .special(0x40)
                .content(hex!("FF"))
                .file(),
        ),
        ef_uicciari: None,
        ef_pws: None,
        ef_fdnuri: Some(lf(0x6FED, 0x0014, 0x6F0601).size(0x28).special(0x40).file()),
        ef_bdnuri: None,
        ef_sdnuri: Some(lf(0x6FEF, 0x0014, 0x6F0603).size(0x28).special(0x40).file()),
        ef_ial: None,
        ef_ips: None,
        ef_ipd: None,
        ef_epdgid: None,
        ef_epdgselection: None,
        ef_epdgidem: None,
        ef_epdgselectionem: None,
        ef_frompreferred: None,
        ef_imsconfigdata: None,
        ef_3gpppsdataoff: None,
        ef_3gpppsdataoffservicelist: None,
        ef_xcapconfigdata: None,
        ef_earfcnlist: None,
        ef_mudmidconfigdata: None,
        ef_eaka: None,
        extensions: Extensions::new(),
    })));

    // 9. ADF.USIM PIN2.
    out.push(pin2_codes(h.next(), spec));

    // 10. AKA parameters.
    let algo = match &spec.algorithm {
        AkaAlgorithm::Milenage { k, opc, constants } => AlgoParameter {
            algorithm_id: ALGORITHM_MILENAGE,
            algorithm_options: OctetString::from_slice(&[MILENAGE_ALGORITHM_OPTIONS]),
            key: OctetString::from_slice(k.expose()),
            opc: OctetString::from_slice(opc.expose()),
            rotation_constants: constants
                .as_ref()
                .map(|c| OctetString::from_slice(&c.rotation)),
            xoring_constants: constants
                .as_ref()
                .map(|c| OctetString::from_slice(&c.xoring)),
            auth_counter_max: None,
            number_of_keccak: None,
            extensions: Extensions::new(),
        },
        AkaAlgorithm::Tuak {
            k,
            topc,
            keccak_iterations,
            lengths,
        } => AlgoParameter {
            algorithm_id: ALGORITHM_TUAK,
            algorithm_options: OctetString::from_slice(&[lengths.algorithm_options()?]),
            key: OctetString::from_slice(k.expose()),
            opc: OctetString::from_slice(topc.expose()),
            rotation_constants: None,
            xoring_constants: None,
            auth_counter_max: None,
            number_of_keccak: (*keccak_iterations != 1).then_some(*keccak_iterations),
            extensions: Extensions::new(),
        },
    };
    out.push(ProfileElement::AkaParameter(PeAkaParameter {
        header: h.next(),
        algo_configuration: AlgoConfiguration::AlgoParameter(algo),
        sqn_options: spec.sqn.options.map(|o| OctetString::from_slice(&[o])),
        sqn_delta: spec.sqn.delta.map(|d| OctetString::from_slice(&d)),
        sqn_age_limit: spec.sqn.age_limit.map(|d| OctetString::from_slice(&d)),
        sqn_init: spec
            .sqn
            .init
            .as_ref()
            .map(|v| v.iter().map(|s| OctetString::from_slice(s)).collect()),
        extensions: Extensions::new(),
    }));

    // 11. DF.GSM-ACCESS.
    out.push(ProfileElement::GsmAccess(Box::new(PeGsmAccess {
        header: h.next(),
        template_id: OID_GSM_ACCESS.into(),
        df_gsm_access: df(0x5F3B, 0x6F060D).pst(pst_df).file(),
        ef_kc: Some(
            tr(0x4F20, 0x6F0602)
                .special(0x80)
                .offset(8)
                .content(hex!("07"))
                .file(),
        ),
        ef_kcgprs: Some(
            tr(0x4F52, 0x6F0602)
                .special(0x80)
                .offset(8)
                .content(hex!("07"))
                .file(),
        ),
        ef_cpbcch: Some(tr(0x4F63, 0x6F0602).size(0x14).special(0x80).file()),
        ef_invscan: Some(tr(0x4F64, 0x6F0603).content(hex!("00")).file()),
        extensions: Extensions::new(),
    })));

    // 12. DF.5GS: TAI of the 5GS location files = home PLMN, TAC 000000, status "not updated".
    let mut tai = plmn.to_vec();
    tai.extend_from_slice(&[0x00, 0x00, 0x00, 0x01]);
    out.push(ProfileElement::Df5gs(Box::new(PeDf5gs {
        header: h.next(),
        template_id: OID_DF_5GS.into(),
        df_df_5gs: df(0x5FC0, 0x6F060D).pst(pst_df).file(),
        ef_5gs3gpploci: Some(
            tr(0x4F01, 0x6F0606)
                .special(0xC0)
                .offset(13)
                .content(&tai)
                .file(),
        ),
        ef_5gsn3gpploci: Some(
            tr(0x4F02, 0x6F0606)
                .special(0xC0)
                .offset(13)
                .content(&tai)
                .file(),
        ),
        ef_5gs3gppnsc: Some(lf(0x4F03, 0x0039, 0x6F0606).size(0x39).special(0xC0).file()),
        ef_5gsn3gppnsc: Some(lf(0x4F04, 0x0039, 0x6F0606).size(0x39).special(0xC0).file()),
        ef_5gauthkeys: Some(tr(0x4F05, 0x6F0606).size(0x6E).special(0xC0).file()),
        ef_uac_aic: Some(
            tr(0x4F06, 0x6F0604)
                .special(0x40)
                .content(hex!("FF"))
                .file(),
        ),
        ef_suci_calc_info: Some(
            tr(0x4F07, 0x6F0604)
                .size(0x76)
                .special(0x40)
                .fill(hex!("A0020000FF"))
                .file(),
        ),
        ef_opl5g: Some(lf(0x4F08, 0x000A, 0x6F0608).size(0x32).special(0x40).file()),
        ef_supinai: None,
        ef_routing_indicator: Some(tr(0x4F0A, 0x6F0604).special(0x40).fill(hex!("F0FF")).file()),
        ef_ursp: None,
        ef_tn3gppsnn: None,
        ef_cag: None,
        ef_sor_cmci: None,
        ef_dri: None,
        ef_5gsedrx: None,
        ef_5gnswo_conf: None,
        ef_mchpplmn: None,
        ef_kausf_derivation: None,
        extensions: Extensions::new(),
    })));

    // 13. DF.SAIP.
    out.push(ProfileElement::DfSaip(Box::new(PeDfSaip {
        header: h.next(),
        template_id: OID_DF_SAIP.into(),
        df_df_saip: df(0x5FD0, 0x6F060D).pst(pst_df).file(),
        ef_suci_calc_info_usim: Some(
            tr(0x4F01, 0x6F060F)
                .size(0x76)
                .special(0x40)
                .fill(hex!("A0020000FF"))
                .file(),
        ),
        extensions: Extensions::new(),
    })));

    // 14. MNO-SD with the SCP80 key sets.
    let key_list: Vec<KeyObject> = spec
        .ota_keys
        .iter()
        .flat_map(|set| {
            let t = set.key_type.gp_key_type();
            [
                key_object(set.kvn, 1, KUQ_KIC, t, set.keys.kic.expose()),
                key_object(set.kvn, 2, KUQ_KID, t, set.keys.kid.expose()),
                key_object(set.kvn, 3, KUQ_KIK, t, set.keys.kik.expose()),
            ]
        })
        .collect();
    out.push(ProfileElement::SecurityDomain(Box::new(PeSecurityDomain {
        header: h.next(),
        instance: ApplicationInstance {
            application_load_package_aid: OctetString::from_slice(hex!("A0000001515350")),
            class_aid: OctetString::from_slice(hex!("A000000151535041")),
            instance_aid: OctetString::from_slice(hex!("A000000151000000")),
            extradite_security_domain_aid: None,
            application_privileges: OctetString::from_slice(hex!("82DC00")),
            life_cycle_state: Some(OctetString::from_slice(&[0x0F])),
            application_specific_parameters_c9: OctetString::from_slice(hex!(
                "810280008201F08301F08701F0"
            )),
            system_specific_parameters: None,
            application_parameters: Some(UiccApplicationParameters {
                uicc_toolkit_application_specific_parameters_field: Some(
                    OctetString::from_slice(hex!("010000000002010206B2010000000000")),
                ),
                uicc_access_application_specific_parameters_field: None,
                uicc_administrative_access_application_specific_parameters_field: None,
                extensions: Extensions::new(),
            }),
            process_data: None,
            control_reference_template: None,
            extensions: Extensions::new(),
        },
        key_list: (!key_list.is_empty()).then_some(key_list),
        sd_perso_data: Some(vec![OctetString::from_slice(hex!(
            "0070326630732E06072A864886FC6B01600B06092A864886FC6B020202630906072A864886FC6B03640B06092A864886FC6B048000"
        ))]),
        open_perso_data: None,
        cat_tp_parameters: None,
        extensions: Extensions::new(),
    })));

    // 15., 16. RFM for the UICC and for the USIM.
    out.push(rfm(h.next(), 1, [0xB0, 0x01, 0x20], None));
    out.push(rfm(h.next(), 2, [0xB0, 0x01, 0x40], Some(USIM_AID)));

    // 17. End.
    out.push(ProfileElement::End(PeEnd {
        header: h.next(),
        extensions: Extensions::new(),
    }));
    Ok(out)
}

/// [`build_profile`], encoded as a DER profile package.
pub fn build_profile_der(spec: &ProfileSpec) -> Result<Vec<u8>, Error> {
    encode_profile(&build_profile(spec)?)
}
