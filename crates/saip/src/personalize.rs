//! Complete personalization of a profile package template with one card's data.
//!
//! [`personalize`] (and [`Profile::personalize`]) take any SAIP template — a GSMA TS.48 test
//! profile, an operator's own package, or one made by [`crate::build_profile`] — and the data
//! of one card ([`ProfileSpec`], e.g. [`ProfileSpec::from_card`] of a SIM factory batch) and
//! replace **every** subscriber value and secret of the template:
//!
//! | template element | becomes |
//! | --- | --- |
//! | `header` | ICCID (plain BCD), `profileType`; the mandatory services `milenage` / `tuak128` / `tuak256` / `usim-test-algorithm` follow the algorithm every `akaParameter` now uses |
//! | `mf` | EF.ICCID |
//! | `usim` (each) | EF.IMSI, EF.ACC (access class of the IMSI), EF.AD (normal operation, MNC length), EF.SPN |
//! | `opt-usim` | EF.MSISDN: the card's number, or an empty record where the template had one |
//! | `isim` (each) | EF.IMPI, EF.IMPU, EF.DOMAIN derived from the IMSI (TS 23.003 13.3, 13.4B, 13.2) |
//! | `akaParameter` (each NAA: USIM, ISIM, …) | the card's algorithm (MILENAGE or TUAK), K, OPc/TOPc, MILENAGE constants or TUAK options, and SQN options (`authCounterMax` kept); a `mappingParameter` (reuse of another NAA's key) is kept and gets the SQN options |
//! | `cdmaParameter` | the card's CDMA credentials ([`CdmaCredentials`]) |
//! | `pinCodes` (each) | PIN1 (key reference 1), PIN2 (129), ADM1 (10), ADM2 (11) |
//! | `pukCodes` | PUK1 (1), PUK2 (129) |
//! | `securityDomain` (each) | every key set (keys of one KVN) gets the values of the card's next OTA key set: key identifier 1 KIc, 2 KID, 3 KIK; the template's KVN, key type and usage are kept |
//! | `genericFileManagement` | content written into EF.IMSI, EF.ICCID, EF.ACC, EF.AD, EF.SPN, EF.MSISDN, EF.IMPI, EF.IMPU, EF.DOMAIN is replaced like the template's own files |
//!
//! Anything the card data cannot replace is refused with [`Error::Unreplaceable`], naming the
//! element: a PIN or PUK key reference the card has no code for, more key sets than the card
//! has OTA key sets, a key identifier other than 1–3, a key that is not 16 octets of DES or AES
//! (the factory makes 16-octet keys), a CDMA credential the card lacks, an `akaParameter` or
//! `pinCodes` alternative this version does not know, and `nonStandard` or unknown profile
//! elements (their content cannot be checked for secrets).
//!
//! The AMF is not part of a profile package (the network chooses it per authentication
//! vector), so the card's AMF setting has nothing to replace here.

use core::fmt;

use rasn::types::OctetString;
use simforge_sim::ef;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::build::{AkaAlgorithm, Ids, ProfileSpec, msisdn_record, validate};
use crate::types::*;
use crate::{Error, Profile, ProfileElement};

/// The CDMA credentials of a card with a CSIM (`PE-CDMAParameter`, SAIP 8.4.2). Zeroized on
/// drop; `Debug` prints nothing secret.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct CdmaCredentials {
    /// A-Key for CAVE (8 octets).
    pub authentication_key: [u8; 8],
    /// SSD-A ‖ SSD-B (16 octets).
    pub ssd: Option<[u8; 16]>,
    /// HRPD access authentication data (2 to 32 octets).
    pub hrpd_access_authentication_data: Option<Vec<u8>>,
    /// Simple IP authentication data (3 to 483 octets).
    pub simple_ip_authentication_data: Option<Vec<u8>>,
    /// Mobile IP authentication data (5 to 957 octets).
    pub mobile_ip_authentication_data: Option<Vec<u8>>,
}

impl fmt::Debug for CdmaCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CdmaCredentials(<redacted>)")
    }
}

/// Personalizes the template `template` (an unprotected profile package, BER or DER) with the
/// card data `spec` and returns the DER package. See the [module documentation](self).
///
/// # Errors
/// [`Error::Unreplaceable`] naming the template element the card data cannot replace; a
/// decoding error for a malformed template; [`Error::InvalidValue`] for a bad `spec` or a
/// value that does not fit the template's file.
pub fn personalize(template: &[u8], spec: &ProfileSpec) -> Result<Vec<u8>, Error> {
    let mut profile = Profile::decode(template)?;
    profile.personalize(spec)?;
    profile.encode()
}

/// Where an element is, for error messages: `securityDomain #1 (PE 25, identification 24)`.
struct At {
    name: &'static str,
    nth: usize,
    index: usize,
    id: Option<u16>,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{} (PE {}", self.name, self.nth, self.index + 1)?;
        if let Some(id) = self.id {
            write!(f, ", identification {id}")?;
        }
        f.write_str(")")
    }
}

fn refuse(element: String, reason: impl Into<String>) -> Error {
    Error::Unreplaceable {
        element,
        reason: reason.into(),
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidValue {
        field,
        reason: reason.into(),
    }
}

/// The name of a PIN/PUK key reference (TS 102 221 9.5.1).
fn key_ref_name(r: u8) -> String {
    match r {
        1..=8 => format!("PIN of application {r}"),
        10..=14 => format!("ADM{}", r - 9),
        0x81..=0x88 => format!("second PIN of application {}", r - 0x80),
        0x8A..=0x8E => format!("ADM{}", r - 0x84),
        _ => "key reference".to_owned(),
    }
}

/// Values computed once from the spec.
struct Card<'a> {
    spec: &'a ProfileSpec,
    ids: Ids,
    imsi_ef: [u8; 9],
    iccid_ef: [u8; 10],
    acc: [u8; 2],
    ad: [u8; 4],
    spn: [u8; 17],
    /// ISIM private identity `<IMSI>@ims.mnc<MNC>.mcc<MCC>.3gppnetwork.org` and home domain.
    impi: String,
    domain: String,
}

impl<'a> Card<'a> {
    fn new(spec: &'a ProfileSpec) -> Result<Self, Error> {
        let ids = validate(spec)?;
        let spn = ef::spn(&spec.spn, spec.spn_display_condition)
            .map_err(|e| invalid("spn", e.to_string()))?;
        let domain = format!(
            "ims.mnc{:0>3}.mcc{}.3gppnetwork.org",
            ids.plmn.mnc(),
            ids.plmn.mcc()
        );
        Ok(Self {
            imsi_ef: ids.imsi.to_ef(),
            iccid_ef: ids.iccid.to_ef(),
            acc: ef::acc(&ids.imsi),
            ad: ef::ad(spec.imsi.plmn().mnc_len()),
            spn,
            impi: format!("{}@{domain}", ids.imsi),
            domain,
            spec,
            ids,
        })
    }

    /// A PIN/ADM value (8-octet block) for key reference `r`, if the card has one.
    fn pin(&self, r: u8) -> Option<[u8; 8]> {
        match r {
            key_ref::PIN_APPL1 => Some(self.spec.pin1.to_ef()),
            key_ref::SECOND_PIN_APPL1 => Some(self.spec.pin2.to_ef()),
            key_ref::ADM1 => Some(self.spec.adm1.to_ef()),
            key_ref::ADM2 => self.spec.adm2.as_ref().map(simforge_sim::Adm::to_ef),
            _ => None,
        }
    }

    /// A PUK value (8-octet block) for key reference `r`, if the card has one.
    fn puk(&self, r: u8) -> Option<[u8; 8]> {
        match r {
            key_ref::PIN_APPL1 => Some(self.spec.puk1.to_ef()),
            key_ref::SECOND_PIN_APPL1 => Some(self.spec.puk2.to_ef()),
            _ => None,
        }
    }
}

/// A TLV with a one-octet tag and a short or one-octet long length (values < 256 octets).
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if value.len() < 0x80 {
        out.push(value.len() as u8);
    } else {
        out.push(0x81);
        out.push(value.len() as u8);
    }
    out.extend_from_slice(value);
    out
}

/// `content` padded with `FF` to at least `len` octets.
fn padded(mut content: Vec<u8>, len: usize) -> Vec<u8> {
    if content.len() < len {
        content.resize(len, 0xFF);
    }
    content
}

/// Replaces the whole content of `file` with `value`: the template's fill and repeat patterns
/// are dropped and the value is padded with `FF` to the file's declared size (or to the length
/// the template wrote), so that no template byte is left behind a shorter value. A file whose
/// declared size is too small for the value is enlarged.
fn replace(file: &mut File, value: &[u8]) {
    let old = file.content().map_or(0, |c| c.len());
    let mut size = 0usize;
    if let Some(FileElement::FileDescriptor(fcp)) = file
        .0
        .iter_mut()
        .find(|e| matches!(e, FileElement::FileDescriptor(_)))
    {
        if let Some(p) = &mut fcp.proprietary_ef_info {
            p.fill_pattern = None;
            p.repeat_pattern = None;
        }
        if let Some(declared) = fcp.file_size() {
            size = usize::try_from(declared).unwrap_or(usize::MAX);
            if size < value.len() {
                let n = u32::try_from(value.len()).unwrap_or(u32::MAX).to_be_bytes();
                let skip = n.iter().take(3).take_while(|&&b| b == 0).count();
                fcp.ef_file_size = Some(OctetString::from_slice(&n[skip..]));
                size = value.len();
            }
        }
    }
    file.set_content(padded(value.to_vec(), old.max(size)));
}

/// Like [`replace`], for a file the template may leave out of the PE.
fn replace_opt(file: &mut Option<File>, value: &[u8]) {
    match file {
        Some(f) => replace(f, value),
        None => *file = Some(File::with_content(value.to_vec())),
    }
}

/// The record length of a linear fixed file from its FCP, if the template gives it.
fn record_len(file: &File) -> Option<usize> {
    let d = file.fcp()?.file_descriptor.as_ref()?;
    (d.len() >= 4).then(|| usize::from(u16::from_be_bytes([d[2], d[3]])))
}

impl Profile {
    /// Personalizes this (template) profile with the card data `spec`; see
    /// [`crate::personalize`](mod@crate::personalize). On error the profile is left partly
    /// changed: discard it.
    ///
    /// # Errors
    /// As [`personalize`].
    pub fn personalize(&mut self, spec: &ProfileSpec) -> Result<(), Error> {
        let card = Card::new(spec)?;
        let mut nth = std::collections::HashMap::<&'static str, usize>::new();
        let mut sets_used = 0usize;
        let mut any_algo = false;
        for (index, pe) in self.elements.iter_mut().enumerate() {
            let name = pe.name();
            let n = nth.entry(name).or_default();
            *n += 1;
            let at = At {
                name,
                nth: *n,
                index,
                id: pe.pe_header().map(|h| h.identification),
            };
            match pe {
                ProfileElement::Header(h) => {
                    h.iccid = OctetString::from(plain_bcd(&card.ids.iccid.to_string()));
                    h.profile_type = Some(spec.profile_type.clone());
                }
                ProfileElement::Mf(mf) => replace(&mut mf.ef_iccid, &card.iccid_ef),
                ProfileElement::Usim(u) => {
                    replace(&mut u.ef_imsi, &card.imsi_ef);
                    replace(&mut u.ef_acc, &card.acc);
                    replace_opt(&mut u.ef_ad, &card.ad);
                    replace(&mut u.ef_spn, &card.spn);
                }
                ProfileElement::OptUsim(o) => {
                    if let Some(f) = &mut o.ef_msisdn {
                        msisdn(f, &card)?;
                    }
                }
                ProfileElement::Isim(i) => {
                    replace(&mut i.ef_impi, &tlv(0x80, card.impi.as_bytes()));
                    let impu = tlv(0x80, format!("sip:{}", card.impi).as_bytes());
                    let rec = record_len(&i.ef_impu).unwrap_or(impu.len());
                    if impu.len() > rec {
                        return Err(invalid(
                            "ef.impu",
                            format!(
                                "the IMPU takes {} octets, the template's records {rec}",
                                impu.len()
                            ),
                        ));
                    }
                    replace(&mut i.ef_impu, &padded(impu, rec));
                    replace(&mut i.ef_domain, &tlv(0x80, card.domain.as_bytes()));
                }
                ProfileElement::AkaParameter(a) => {
                    aka(a, &card, &at)?;
                    any_algo |= a.algo_parameter().is_some();
                }
                ProfileElement::CdmaParameter(c) => cdma(c, &card, &at)?,
                ProfileElement::PinCodes(pc) => match &mut pc.pin_codes {
                    PinCodes::PinConfig(list) => {
                        for c in list {
                            let v = card.pin(c.key_reference).ok_or_else(|| {
                                refuse(
                                    format!(
                                        "{at} keyReference 0x{:02X} ({})",
                                        c.key_reference,
                                        key_ref_name(c.key_reference)
                                    ),
                                    "no card data for it",
                                )
                            })?;
                            c.pin_value = OctetString::from_slice(&v);
                        }
                    }
                    PinCodes::FilePath(_) => {}
                    PinCodes::Unknown(_) => {
                        return Err(refuse(
                            format!("{at} pinCodes"),
                            "an alternative unknown to this version",
                        ));
                    }
                },
                ProfileElement::PukCodes(pc) => {
                    for c in &mut pc.puk_codes {
                        let v = card.puk(c.key_reference).ok_or_else(|| {
                            refuse(
                                format!(
                                    "{at} keyReference 0x{:02X} (PUK of the {})",
                                    c.key_reference,
                                    key_ref_name(c.key_reference)
                                ),
                                "no card data for it",
                            )
                        })?;
                        c.puk_value = OctetString::from_slice(&v);
                    }
                }
                ProfileElement::SecurityDomain(sd) => {
                    security_domain(sd, &card, &at, &mut sets_used)?;
                }
                ProfileElement::GenericFileManagement(g) => gfm(g, &at)?,
                ProfileElement::NonStandard(_) | ProfileElement::Unknown { .. } => {
                    return Err(refuse(
                        at.to_string(),
                        "its content cannot be checked for template secrets",
                    ));
                }
                _ => {}
            }
        }
        let h = self.header_mut().ok_or(Error::MissingElement("header"))?;
        let s = &mut h.euicc_mandatory_services;
        s.milenage = None;
        s.tuak128 = None;
        s.tuak256 = None;
        s.usim_test_algorithm = None;
        if any_algo {
            match &spec.algorithm {
                AkaAlgorithm::Milenage { .. } => s.milenage = Some(()),
                AkaAlgorithm::Tuak { k, .. } if k.expose().len() == 32 => s.tuak256 = Some(()),
                AkaAlgorithm::Tuak { .. } => s.tuak128 = Some(()),
            }
        }
        Ok(())
    }
}

/// Plain BCD, `F`-padded to 10 octets (`ProfileHeader.iccid`).
fn plain_bcd(digits: &str) -> Vec<u8> {
    let mut out = vec![0xFFu8; 10];
    for (i, c) in digits.bytes().take(20).enumerate() {
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

/// EF.MSISDN: record 1 the card's number (or empty), every other record the template wrote
/// emptied.
fn msisdn(f: &mut File, card: &Card<'_>) -> Result<(), Error> {
    let old = f.content();
    let rec = record_len(f).or_else(|| old.as_ref().map(Vec::len));
    match (&card.ids.msisdn, rec) {
        (Some(m), Some(rec)) if rec >= 14 => {
            replace(f, &msisdn_record(m, rec));
            Ok(())
        }
        (Some(_), _) => Err(invalid(
            "msisdn",
            "the template's EF.MSISDN has no record length of at least 14 octets",
        )),
        (None, _) => {
            if old.is_some() {
                replace(f, &[]);
            }
            Ok(())
        }
    }
}

fn aka(a: &mut PeAkaParameter, card: &Card<'_>, at: &At) -> Result<(), Error> {
    let spec = card.spec;
    match &mut a.algo_configuration {
        AlgoConfiguration::AlgoParameter(p) => match &spec.algorithm {
            AkaAlgorithm::Milenage { k, opc, constants } => {
                p.algorithm_id = ALGORITHM_MILENAGE;
                p.algorithm_options =
                    OctetString::from_slice(&[crate::build::MILENAGE_ALGORITHM_OPTIONS]);
                p.key = OctetString::from_slice(k.expose());
                p.opc = OctetString::from_slice(opc.expose());
                p.rotation_constants = constants
                    .as_ref()
                    .map(|c| OctetString::from_slice(&c.rotation));
                p.xoring_constants = constants
                    .as_ref()
                    .map(|c| OctetString::from_slice(&c.xoring));
                p.number_of_keccak = None;
            }
            AkaAlgorithm::Tuak {
                k,
                topc,
                keccak_iterations,
                lengths,
            } => {
                p.algorithm_id = ALGORITHM_TUAK;
                p.algorithm_options = OctetString::from_slice(&[lengths.algorithm_options()?]);
                p.key = OctetString::from_slice(k.expose());
                p.opc = OctetString::from_slice(topc.expose());
                p.rotation_constants = None;
                p.xoring_constants = None;
                p.number_of_keccak = (*keccak_iterations != 1).then_some(*keccak_iterations);
            }
        },
        AlgoConfiguration::MappingParameter(_) => {}
        AlgoConfiguration::Unknown(_) => {
            return Err(refuse(
                format!("{at} algoConfiguration"),
                "an alternative unknown to this version",
            ));
        }
    }
    a.sqn_options = spec.sqn.options.map(|o| OctetString::from_slice(&[o]));
    a.sqn_delta = spec.sqn.delta.map(|d| OctetString::from_slice(&d));
    a.sqn_age_limit = spec.sqn.age_limit.map(|d| OctetString::from_slice(&d));
    a.sqn_init = spec
        .sqn
        .init
        .as_ref()
        .map(|v| v.iter().map(|s| OctetString::from_slice(s)).collect());
    Ok(())
}

fn cdma(c: &mut PeCdmaParameter, card: &Card<'_>, at: &At) -> Result<(), Error> {
    let missing = |what: &str| refuse(format!("{at} {what}"), "no card data for it");
    let Some(cd) = &card.spec.cdma else {
        return Err(missing("authenticationKey (CAVE A-Key)"));
    };
    c.authentication_key = OctetString::from_slice(&cd.authentication_key);
    if c.ssd.is_some() {
        let ssd = cd.ssd.ok_or_else(|| missing("ssd"))?;
        c.ssd = Some(OctetString::from_slice(&ssd));
    }
    let slots = [
        (
            &mut c.hrpd_access_authentication_data,
            &cd.hrpd_access_authentication_data,
            "hrpdAccessAuthenticationData",
        ),
        (
            &mut c.simple_ip_authentication_data,
            &cd.simple_ip_authentication_data,
            "simpleIPAuthenticationData",
        ),
        (
            &mut c.mobile_ip_authentication_data,
            &cd.mobile_ip_authentication_data,
            "mobileIPAuthenticationData",
        ),
    ];
    for (slot, value, what) in slots {
        if slot.is_some() {
            let v = value.as_ref().ok_or_else(|| missing(what))?;
            *slot = Some(OctetString::from_slice(v));
        }
    }
    Ok(())
}

fn security_domain(
    sd: &mut PeSecurityDomain,
    card: &Card<'_>,
    at: &At,
    sets_used: &mut usize,
) -> Result<(), Error> {
    let Some(list) = &mut sd.key_list else {
        return Ok(());
    };
    // Key sets in the order their KVN first appears.
    let mut kvns: Vec<Vec<u8>> = Vec::new();
    for k in list.iter() {
        if !kvns.contains(&k.key_version_number.to_vec()) {
            kvns.push(k.key_version_number.to_vec());
        }
    }
    for kvn in kvns {
        *sets_used += 1;
        let set_no = *sets_used;
        let set = card.spec.ota_keys.get(set_no - 1);
        for k in list
            .iter_mut()
            .filter(|k| k.key_version_number.as_ref() == kvn.as_slice())
        {
            let id = k.key_identifier.first().copied().unwrap_or(0);
            let what = |role: &str| {
                format!(
                    "{at} keyList key KVN 0x{} id 0x{id:02X} ({role} of set {set_no})",
                    hex::encode_upper(&kvn)
                )
            };
            let role = match id {
                1 => "KIc",
                2 => "KID",
                3 => "KIK",
                _ => {
                    return Err(refuse(
                        what("key"),
                        "the card's OTA key sets have only keys 1 (KIc), 2 (KID) and 3 (KIK)",
                    ));
                }
            };
            let Some(set) = set else {
                return Err(refuse(what(role), "no card data for it"));
            };
            let value = match id {
                1 => set.keys.kic.expose(),
                2 => set.keys.kid.expose(),
                _ => set.keys.kik.expose(),
            };
            for c in &mut k.key_components {
                let t = c.key_type.first().copied().unwrap_or(0);
                // GlobalPlatform key types: 80 DES (ECB/CBC implicit), 82 3DES-CBC, 83 DES-ECB,
                // 84 DES-CBC, 88 AES.
                let symmetric = matches!(t, 0x80 | 0x82..=0x84 | 0x88);
                if !symmetric || c.key_data.len() != value.len() {
                    return Err(refuse(
                        what(role),
                        format!(
                            "key type 0x{t:02X} of {} octets: the factory makes 16-octet DES/AES keys only",
                            c.key_data.len()
                        ),
                    ));
                }
                c.key_data = OctetString::from_slice(value);
            }
        }
    }
    Ok(())
}

/// The files the card data fills, by file identifier: content a `genericFileManagement`
/// writes into them is refused (it would survive personalization).
fn card_file(fid: [u8; 2]) -> Option<&'static str> {
    Some(match fid {
        [0x2F, 0xE2] => "EF.ICCID",
        [0x6F, 0x07] => "EF.IMSI",
        [0x6F, 0x78] => "EF.ACC",
        [0x6F, 0xAD] => "EF.AD",
        [0x6F, 0x46] => "EF.SPN",
        [0x6F, 0x40] => "EF.MSISDN",
        [0x6F, 0x02] => "EF.IMPI",
        [0x6F, 0x03] => "EF.DOMAIN",
        [0x6F, 0x04] => "EF.IMPU",
        _ => return None,
    })
}

fn gfm(g: &PeGenericFileManagement, at: &At) -> Result<(), Error> {
    for (n, cmds) in g.file_management_cmd.iter().enumerate() {
        let mut current: Option<[u8; 2]> = None;
        for c in cmds {
            match c {
                FileManagementCmd::FilePath(p) => {
                    current = p.len().checked_sub(2).map(|i| [p[i], p[i + 1]]);
                }
                FileManagementCmd::CreateFcp(f) => {
                    current = f
                        .file_id
                        .as_ref()
                        .and_then(|id| <[u8; 2]>::try_from(id.as_ref()).ok());
                }
                FileManagementCmd::FillFileContent(_) => {
                    if let Some(fid) = current
                        && let Some(file) = card_file(fid)
                    {
                        return Err(refuse(
                            format!(
                                "{at} fileManagementCMD #{} fillFileContent of {file} ({})",
                                n + 1,
                                hex::encode_upper(fid)
                            ),
                            "card data written outside the file's template PE; only the template PE's content is replaced",
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}
