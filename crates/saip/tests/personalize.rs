#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Complete personalization (`simforge_saip::personalize`) of the 18 GSMA TS.48 generic test
//! profiles in `../shared/profiles/ts48` and of a built profile: every template secret is
//! collected by decoding the template with the codec, the template is personalized with
//! generated card data, and the decoded result must hold none of them — and every NAA's
//! algorithm, every code and every key must be the card's. Templates with an element the card
//! data cannot replace are refused with a message naming it.

use std::path::PathBuf;

use simforge_saip::build::{Adm, Key128, OtaKeySet, Pin, TuakLengths};
use simforge_saip::*;

const ICCID: &str = "8944476000000000014"; // Luhn-valid
const IMSI: &str = "262019876543210";
const MSISDN: &str = "+4915112345678";

fn ts48_profiles() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/profiles/ts48");
    if !dir.is_dir() {
        if std::env::var_os("CI").is_some() {
            panic!("../shared/profiles/ts48 not found (CI is set)");
        }
        println!("skipped: ../shared/profiles/ts48 not found");
        return None;
    }
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("read ts48 dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "der"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).expect("read profile"),
            )
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 18, "expected the 18 TS.48 profiles");
    Some(out)
}

/// A small deterministic generator for card secrets (xorshift64*).
struct Gen(u64);

impl Gen {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        core::array::from_fn(|_| {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
    }
    fn vec(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.bytes::<1>()[0]).collect()
    }
    fn key(&mut self) -> Key128 {
        Key128::from_bytes(self.bytes())
    }
    fn code(&mut self, digits: u32) -> Pin {
        Pin::from_number(
            u32::from_be_bytes(self.bytes()) % 10u32.pow(digits),
            digits as usize,
        )
    }
}

/// Generated card data: every secret random, three OTA key sets, ADM2 and CDMA credentials.
fn card(seed: u64, tuak: bool) -> ProfileSpec {
    let mut g = Gen(seed | 1);
    let algorithm = if tuak {
        AkaAlgorithm::tuak(
            &g.bytes::<32>(),
            &g.bytes::<32>(),
            1,
            TuakLengths::default(),
        )
        .unwrap()
    } else {
        AkaAlgorithm::milenage(&g.bytes::<16>(), &g.bytes::<16>()).unwrap()
    };
    let mut spec = ProfileSpec::parse(ICCID, IMSI, 2, algorithm).unwrap();
    spec.spn = "Simforge".into();
    spec.profile_type = "Simforge test".into();
    spec.pin1 = g.code(4);
    spec.pin2 = g.code(5);
    spec.puk1 = g.code(8);
    spec.puk2 = g.code(8);
    spec.adm1 = Adm::Hex(g.bytes());
    spec.adm2 = Some(Adm::Digits(g.code(8)));
    spec.msisdn = Some(simforge_sim::Msisdn::parse(MSISDN).unwrap());
    spec.ota_keys = (1..=3)
        .map(|kvn| OtaKeys {
            kvn,
            key_type: OtaKeyType::Aes,
            keys: OtaKeySet {
                kic: g.key(),
                kid: g.key(),
                kik: g.key(),
            },
        })
        .collect();
    spec.cdma = Some(CdmaCredentials {
        authentication_key: g.bytes(),
        ssd: Some(g.bytes()),
        hrpd_access_authentication_data: Some(g.vec(17)),
        simple_ip_authentication_data: Some(g.vec(18)),
        mobile_ip_authentication_data: Some(g.vec(35)),
    });
    spec
}

/// A template value and where it came from.
struct Secret {
    what: String,
    value: Vec<u8>,
}

/// Every secret and subscriber value of a decoded template.
fn template_secrets(p: &Profile) -> Vec<Secret> {
    let mut out = Vec::new();
    let mut push = |what: String, value: &[u8]| {
        out.push(Secret {
            what,
            value: value.to_vec(),
        })
    };
    for (i, pe) in p.elements.iter().enumerate() {
        match pe {
            ProfileElement::Header(h) => push("header iccid".into(), &h.iccid),
            ProfileElement::Mf(m) => push("EF.ICCID".into(), &m.ef_iccid.content().unwrap()),
            ProfileElement::Usim(u) => {
                if let Some(c) = u.ef_imsi.content() {
                    push("EF.IMSI".into(), &c);
                    // The IMSI's digits, as ASCII in the ISIM's identities.
                    let digits = simforge_saip::profile::decode_ef_imsi(&c).unwrap();
                    push("IMSI digits".into(), digits.as_bytes());
                }
            }
            ProfileElement::Isim(s) => {
                for (n, f) in [("EF.IMPI", &s.ef_impi), ("EF.IMPU", &s.ef_impu)] {
                    if let Some(c) = f.content() {
                        push(format!("PE {i} {n}"), &c);
                    }
                }
            }
            ProfileElement::AkaParameter(a) => {
                if let Some(x) = a.algo_parameter() {
                    push(format!("PE {i} AKA key"), &x.key);
                    push(format!("PE {i} AKA OPc"), &x.opc);
                }
            }
            ProfileElement::CdmaParameter(c) => {
                push(format!("PE {i} A-Key"), &c.authentication_key);
                for v in [
                    &c.ssd,
                    &c.hrpd_access_authentication_data,
                    &c.simple_ip_authentication_data,
                    &c.mobile_ip_authentication_data,
                ]
                .into_iter()
                .flatten()
                {
                    push(format!("PE {i} CDMA data"), v);
                }
            }
            ProfileElement::SecurityDomain(sd) => {
                for k in sd.key_list.iter().flatten() {
                    for c in &k.key_components {
                        push(
                            format!(
                                "PE {i} SD key {:02X}/{:02X}",
                                k.key_version_number[0], k.key_identifier[0]
                            ),
                            &c.key_data,
                        );
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The PIN/PUK values of a profile as (PE index, PIN or PUK, key reference, value).
fn codes(p: &Profile) -> Vec<(usize, &'static str, u8, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, pe) in p.elements.iter().enumerate() {
        match pe {
            ProfileElement::PinCodes(pc) => {
                if let PinCodes::PinConfig(v) = &pc.pin_codes {
                    for c in v {
                        out.push((i, "PIN", c.key_reference, c.pin_value.to_vec()));
                    }
                }
            }
            ProfileElement::PukCodes(pc) => {
                for c in &pc.puk_codes {
                    out.push((i, "PUK", c.key_reference, c.puk_value.to_vec()));
                }
            }
            _ => {}
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The one check of this boundary: `template` personalized with `spec` holds no template
/// secret, and every NAA, code, key and identity file is the card's.
fn check(name: &str, template: &[u8], spec: &ProfileSpec) {
    let before = Profile::decode(template).unwrap();
    let secrets = template_secrets(&before);
    assert!(secrets.len() >= 8, "{name}: too few secrets found");
    let out = personalize(template, spec).unwrap_or_else(|e| panic!("{name}: {e}"));
    let after = Profile::decode(&out).unwrap_or_else(|e| panic!("{name}: re-decode: {e}"));
    assert_eq!(after.encode().unwrap(), out, "{name}: re-encoding differs");
    assert_eq!(after.elements.len(), before.elements.len(), "{name}");

    // No template secret of 8 octets or more anywhere in the package. Values of at most two
    // distinct octets (the all-zero TS.48 OPc, the A-Key 00000000FFFFFFFF) also occur in file
    // contents: they are checked in place below instead.
    for s in &secrets {
        let mut distinct = s.value.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let trivial = distinct.len() <= 2;
        if s.value.len() >= 8 && !trivial {
            assert!(
                !contains(&out, &s.value),
                "{name}: template {} ({} octets) remains",
                s.what,
                s.value.len()
            );
        }
    }

    // Every NAA's algorithm and keys are the card's.
    let (alg, k, opc) = match &spec.algorithm {
        AkaAlgorithm::Milenage { k, opc, .. } => (
            ALGORITHM_MILENAGE,
            k.expose().to_vec(),
            opc.expose().to_vec(),
        ),
        AkaAlgorithm::Tuak { k, topc, .. } => {
            (ALGORITHM_TUAK, k.expose().to_vec(), topc.expose().to_vec())
        }
    };
    let mut naas = 0;
    for a in after.aka_parameters() {
        if let Some(x) = a.algo_parameter() {
            naas += 1;
            assert_eq!(x.algorithm_id, alg, "{name}: NAA algorithm");
            assert_eq!(&x.key[..], &k[..], "{name}: NAA key");
            assert_eq!(&x.opc[..], &opc[..], "{name}: NAA OPc");
        }
    }
    assert!(naas >= 1, "{name}: no AKA parameters");

    // The header's mandatory services are consistent with the algorithms present.
    let services = &after.header().unwrap().euicc_mandatory_services;
    assert!(!services.has("usim-test-algorithm"), "{name}");
    let present = |id: u8| {
        after
            .aka_parameters()
            .any(|a| a.algo_parameter().is_some_and(|x| x.algorithm_id == id))
    };
    assert_eq!(
        services.has("milenage"),
        present(ALGORITHM_MILENAGE),
        "{name}"
    );
    assert_eq!(
        services.has("tuak128") || services.has("tuak256"),
        present(ALGORITHM_TUAK),
        "{name}"
    );
    assert!(!present(ALGORITHM_USIM_TEST), "{name}");

    // Every PIN/PUK/ADM is the card's, PE by PE, and none is the template's value.
    let template_codes = codes(&before);
    let result_codes = codes(&after);
    assert_eq!(template_codes.len(), result_codes.len(), "{name}");
    for ((i, kind, r, old), (_, _, r2, new)) in template_codes.iter().zip(&result_codes) {
        assert_eq!(r, r2);
        let want = match (*kind, *r) {
            ("PIN", 1) => spec.pin1.to_ef(),
            ("PIN", 0x81) => spec.pin2.to_ef(),
            ("PIN", 10) => spec.adm1.to_ef(),
            ("PIN", 11) => spec.adm2.as_ref().unwrap().to_ef(),
            ("PUK", 1) => spec.puk1.to_ef(),
            ("PUK", 0x81) => spec.puk2.to_ef(),
            other => panic!("{name}: unexpected code {other:?}"),
        };
        assert_eq!(new, &want, "{name}: PE {i} {kind} {r:#04x}");
        assert_ne!(
            new, old,
            "{name}: PE {i} {kind} {r:#04x} kept the template value"
        );
    }

    // Every security-domain key is one of the card's OTA keys: set n of the template = set n
    // of the card, key id 1/2/3 = KIc/KID/KIK.
    let mut kvns: Vec<u8> = Vec::new();
    for sd in after.security_domains() {
        for key in sd.key_list.iter().flatten() {
            let kvn = key.key_version_number[0];
            if !kvns.contains(&kvn) {
                kvns.push(kvn);
            }
            let set = &spec.ota_keys[kvns.iter().position(|v| *v == kvn).unwrap()].keys;
            let want = match key.key_identifier[0] {
                1 => set.kic.expose(),
                2 => set.kid.expose(),
                3 => set.kik.expose(),
                other => panic!("{name}: key id {other}"),
            };
            for c in &key.key_components {
                assert_eq!(&c.key_data[..], &want[..], "{name}: SD key {kvn}");
            }
        }
    }
    assert!(!kvns.is_empty(), "{name}: no SD keys");

    // Identity files.
    let imsi =
        simforge_sim::Imsi::parse(IMSI, &simforge_sim::Plmn::new("262", "01").unwrap()).unwrap();
    let usim = after.usim().unwrap();
    assert_eq!(usim.ef_acc.content().unwrap(), simforge_sim::ef::acc(&imsi));
    assert_eq!(
        usim.ef_ad.as_ref().unwrap().content().unwrap()[..4],
        simforge_sim::ef::ad(2)
    );
    assert_eq!(
        usim.ef_spn.content().unwrap()[..17],
        simforge_sim::ef::spn("Simforge", spec.spn_display_condition).unwrap()
    );
    assert_eq!(after.imsi().unwrap(), IMSI, "{name}");
    assert_eq!(after.iccid().unwrap(), ICCID, "{name}");
    assert_eq!(after.ef_iccid().unwrap(), ICCID, "{name}");
    for pe in &after.elements {
        if let ProfileElement::Isim(s) = pe {
            let impi = s.ef_impi.content().unwrap();
            let want = format!("{IMSI}@ims.mnc001.mcc262.3gppnetwork.org");
            assert_eq!(&impi[2..2 + want.len()], want.as_bytes(), "{name}: IMPI");
        }
        if let ProfileElement::CdmaParameter(c) = pe {
            let cd = spec.cdma.as_ref().unwrap();
            assert_eq!(&c.authentication_key[..], &cd.authentication_key[..]);
            assert_eq!(c.ssd.as_deref(), cd.ssd.as_ref().map(|v| &v[..]));
            for (got, want) in [
                (
                    &c.hrpd_access_authentication_data,
                    &cd.hrpd_access_authentication_data,
                ),
                (
                    &c.simple_ip_authentication_data,
                    &cd.simple_ip_authentication_data,
                ),
                (
                    &c.mobile_ip_authentication_data,
                    &cd.mobile_ip_authentication_data,
                ),
            ] {
                if let Some(got) = got {
                    assert_eq!(Some(&got[..]), want.as_deref(), "{name}: CDMA data");
                }
            }
        }
    }
}

#[test]
fn every_ts48_profile_is_completely_personalized_with_milenage() {
    let Some(profiles) = ts48_profiles() else {
        return;
    };
    for (i, (name, der)) in profiles.iter().enumerate() {
        check(name, der, &card(0x5EED + i as u64, false));
        println!("{name}: personalized, no template secret left");
    }
}

#[test]
fn every_ts48_profile_is_completely_personalized_with_tuak() {
    let Some(profiles) = ts48_profiles() else {
        return;
    };
    for (i, (name, der)) in profiles.iter().enumerate() {
        let spec = card(0xBEEF + i as u64, true);
        check(name, der, &spec);
        let out = Profile::decode(&personalize(der, &spec).unwrap()).unwrap();
        let s = &out.header().unwrap().euicc_mandatory_services;
        assert!(
            s.has("tuak256") && !s.has("tuak128") && !s.has("milenage"),
            "{name}"
        );
    }
}

/// The defect: the ISIM kept algorithm 3 with the TS.48 test key, PIN2/PUK2/ADM2 and
/// the OTA keys kept the template's values, the header kept `usim-test-algorithm`.
#[test]
fn ts48_isim_codes_and_ota_keys_no_longer_keep_template_values() {
    let Some(profiles) = ts48_profiles() else {
        return;
    };
    let (name, der) = profiles
        .iter()
        .find(|(n, _)| n == "TS48v5_SAIP2.3_NoBERTLV.der")
        .unwrap();
    let before = Profile::decode(der).unwrap();
    let isim_aka = before
        .aka_parameters()
        .nth(1)
        .unwrap()
        .algo_parameter()
        .unwrap();
    assert_eq!(
        isim_aka.algorithm_id, ALGORITHM_USIM_TEST,
        "{name}: template changed?"
    );
    assert!(
        before
            .header()
            .unwrap()
            .euicc_mandatory_services
            .has("usim-test-algorithm")
    );
    let after = Profile::decode(&personalize(der, &card(7, false)).unwrap()).unwrap();
    let isim_aka = after
        .aka_parameters()
        .nth(1)
        .unwrap()
        .algo_parameter()
        .unwrap();
    assert_eq!(isim_aka.algorithm_id, ALGORITHM_MILENAGE);
    assert_ne!(&isim_aka.key[..], before.k().unwrap());
    assert_ne!(after.puk(0x81), before.puk(0x81));
    assert_ne!(after.pin(0x81), before.pin(0x81));
    assert_ne!(after.pin(11), before.pin(11));
    assert_ne!(after.sd_key(1, 1), before.sd_key(1, 1));
    assert_ne!(after.sd_key(2, 3), before.sd_key(2, 3));
    let s = &after.header().unwrap().euicc_mandatory_services;
    assert!(s.has("milenage") && !s.has("usim-test-algorithm"));
}

/// A profile built by `build_profile` for one card is a template too: personalized for
/// another card, nothing of the first remains (runs without ../shared).
#[test]
fn a_built_profile_personalized_for_another_card_keeps_nothing_of_the_first() {
    let mut first = card(1, false);
    let ids = ProfileSpec::parse(
        "8949440000001155314",
        "262011111111111",
        2,
        first.algorithm.clone(),
    )
    .unwrap();
    first.iccid = ids.iccid;
    first.imsi = ids.imsi;
    first.cdma = None;
    first.ota_keys.truncate(2);
    let template = build_profile_der(&first).unwrap();
    check("built", &template, &card(2, false));
    check("built (TUAK)", &template, &card(3, true));
}

fn ts48_template() -> Option<Vec<u8>> {
    ts48_profiles().map(|mut v| v.pop().unwrap().1)
}

fn refused(template: &[u8], spec: &ProfileSpec) -> String {
    match personalize(template, spec) {
        Err(e @ Error::Unreplaceable { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_template_with_more_key_sets_than_the_card_is_refused_naming_the_key() {
    let Some(t) = ts48_template() else {
        return;
    };
    let mut spec = card(4, false);
    spec.ota_keys.truncate(1);
    let msg = refused(&t, &spec);
    assert!(
        msg.contains("securityDomain #1") && msg.contains("KVN 0x02 id 0x01 (KIc of set 2)"),
        "{msg}"
    );
    assert!(msg.contains("no card data for it"), "{msg}");
    spec.ota_keys.clear();
    assert!(refused(&t, &spec).contains("(KIc of set 1)"));
}

#[test]
fn a_template_code_the_card_has_no_value_for_is_refused_naming_it() {
    let Some(t) = ts48_template() else {
        return;
    };
    let mut spec = card(5, false);
    spec.adm2 = None;
    let msg = refused(&t, &spec);
    assert!(
        msg.contains("pinCodes #1") && msg.contains("keyReference 0x0B (ADM2)"),
        "{msg}"
    );

    // A PIN of application 2 (key reference 2): no card has one.
    let mut p = Profile::decode(&t).unwrap();
    for pe in &mut p.elements {
        if let ProfileElement::PinCodes(pc) = pe
            && let PinCodes::PinConfig(v) = &mut pc.pin_codes
            && let Some(c) = v.iter_mut().find(|c| c.key_reference == 0x81)
        {
            c.key_reference = 2;
            break;
        }
    }
    let msg = refused(&p.encode().unwrap(), &card(5, false));
    assert!(
        msg.contains("keyReference 0x02 (PIN of application 2)"),
        "{msg}"
    );
}

#[test]
fn a_template_with_cdma_credentials_is_refused_for_a_card_without_them() {
    let Some(t) = ts48_template() else {
        return;
    };
    let mut spec = card(6, false);
    spec.cdma = None;
    let msg = refused(&t, &spec);
    assert!(
        msg.contains("cdmaParameter #1") && msg.contains("authenticationKey (CAVE A-Key)"),
        "{msg}"
    );
    let mut spec = card(6, false);
    if let Some(c) = &mut spec.cdma {
        c.mobile_ip_authentication_data = None;
    }
    assert!(refused(&t, &spec).contains("mobileIPAuthenticationData"));
}

/// Templates built here (no ../shared needed) with an element no card data can replace.
#[test]
fn unreplaceable_elements_of_a_template_are_refused_naming_them() {
    let mut base = card(8, false);
    base.cdma = None;
    let built = build_profile(&base).unwrap();
    let spec = base.clone();
    let personalize_pes =
        |pes: &[ProfileElement]| -> String { refused(&encode_profile(pes).unwrap(), &spec) };

    // An AES-256 key (32 octets): the factory makes 16-octet keys.
    let mut pes = built.clone();
    for pe in &mut pes {
        if let ProfileElement::SecurityDomain(sd) = pe {
            let key = &mut sd.key_list.as_mut().unwrap()[2];
            key.key_components[0].key_data = vec![0x5A; 32].into();
        }
    }
    let msg = personalize_pes(&pes);
    assert!(
        msg.contains("securityDomain #1")
            && msg.contains("KVN 0x01 id 0x03 (KIK of set 1)")
            && msg.contains("key type 0x88 of 32 octets"),
        "{msg}"
    );

    // A key identifier outside KIc/KID/KIK.
    let mut pes = built.clone();
    for pe in &mut pes {
        if let ProfileElement::SecurityDomain(sd) = pe {
            sd.key_list.as_mut().unwrap()[1].key_identifier = vec![0x70].into();
        }
    }
    assert!(personalize_pes(&pes).contains("id 0x70"));

    // A genericFileManagement writing EF.IMSI behind the template PE's back.
    let mut pes = built.clone();
    pes.insert(
        pes.len() - 1,
        ProfileElement::GenericFileManagement(PeGenericFileManagement {
            header: PeHeader::new(99),
            file_management_cmd: vec![vec![
                FileManagementCmd::FilePath(vec![0x7F, 0xF0, 0x6F, 0x07].into()),
                FileManagementCmd::FillFileContent(vec![0x08, 0x29, 0x26, 0x01].into()),
            ]],
            extensions: Extensions::new(),
        }),
    );
    let msg = personalize_pes(&pes);
    assert!(
        msg.contains("genericFileManagement #1") && msg.contains("EF.IMSI (6F07)"),
        "{msg}"
    );

    // A nonStandard PE: its content cannot be checked.
    let mut pes = built.clone();
    pes.insert(
        pes.len() - 1,
        ProfileElement::NonStandard(PeNonStandard {
            header: PeHeader::new(98),
            issuer_id: rasn::types::ObjectIdentifier::new(vec![1, 2, 3]).unwrap(),
            content: vec![1, 2, 3].into(),
            extensions: Extensions::new(),
        }),
    );
    assert!(personalize_pes(&pes).contains("nonStandard #1"));

    // The unmodified built profile personalizes.
    personalize(&encode_profile(&built).unwrap(), &spec).unwrap();
}

#[test]
fn personalization_errors_hold_no_secret() {
    let mut spec = card(9, false);
    spec.ota_keys.truncate(0);
    let built = build_profile_der(&card(10, false)).unwrap();
    let e = personalize(&built, &spec).unwrap_err();
    let text = format!("{e} {e:?}");
    let AkaAlgorithm::Milenage { k, .. } = &spec.algorithm else {
        unreachable!()
    };
    let hex: String = k.expose().iter().map(|b| format!("{b:02X}")).collect();
    assert!(!text.to_uppercase().contains(&hex), "{text}");
}

/// Writes every TS.48 template and its personalization into `$SIMFORGE_SAIP_DUMP_DIR` for the
/// independent asn1tools check `tests/independent/check_personalized.py` (run by hand:
/// `--ignored`).
#[test]
#[ignore = "writes files for tests/independent/check_personalized.py"]
fn dump_personalized_ts48() {
    let dir =
        PathBuf::from(std::env::var_os("SIMFORGE_SAIP_DUMP_DIR").expect("SIMFORGE_SAIP_DUMP_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(profiles) = ts48_profiles() else {
        return;
    };
    for (i, (name, der)) in profiles.iter().enumerate() {
        let stem = name.trim_end_matches(".der");
        let out = personalize(der, &card(0x5EED + i as u64, i % 2 == 1)).unwrap();
        std::fs::write(dir.join(format!("{stem}.template.der")), der).unwrap();
        std::fs::write(dir.join(format!("{stem}.card.der")), out).unwrap();
    }
}
