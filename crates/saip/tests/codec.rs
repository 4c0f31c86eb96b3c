//! Codec tests that need no reference data: BER input forms, forward compatibility
//! (unknown extensions / alternatives / PEs), per-element API, and property tests.

use proptest::prelude::*;
use rasn::types::{Any, ObjectIdentifier, OctetString};
use simforge_saip::*;

fn os(b: &[u8]) -> OctetString {
    OctetString::from_slice(b)
}

#[test]
fn ber_indefinite_lengths_decode_and_re_encode_as_der() {
    // PE-End [10] { end-header [0] { identification [1] 5 } } with indefinite lengths.
    let ber = [0xAA, 0x80, 0xA0, 0x80, 0x81, 0x01, 0x05, 0, 0, 0, 0];
    let pes = decode_profile(&ber).unwrap();
    assert_eq!(pes.len(), 1);
    let ProfileElement::End(end) = &pes[0] else {
        panic!("not End: {pes:?}")
    };
    assert_eq!(end.header.identification, 5);
    assert_eq!(
        encode_profile(&pes).unwrap(),
        [0xAA, 0x05, 0xA0, 0x03, 0x81, 0x01, 0x05]
    );
    let raw: Vec<_> = elements(&ber).collect::<Result<_, _>>().unwrap();
    assert_eq!(raw.len(), 1);
    assert!(raw[0].indefinite);
    assert_eq!(raw[0].tag_number, 10);
    assert_eq!(raw[0].profile_element_name(), Some("end"));
}

#[test]
fn unknown_extension_component_is_kept() {
    // PE-End whose PEHeader carries an unknown trailing component [5].
    let der = [0xAA, 0x08, 0xA0, 0x06, 0x81, 0x01, 0x05, 0x85, 0x01, 0xFF];
    let pe = ProfileElement::from_ber(&der).unwrap();
    let ProfileElement::End(end) = &pe else {
        panic!()
    };
    assert_eq!(end.header.extensions.0.len(), 1);
    assert_eq!(pe.to_der().unwrap(), der);
}

#[test]
fn unknown_profile_element_is_kept_verbatim() {
    let mut pkg = vec![0xBF, 0x28, 0x03, 0x80, 0x01, 0x00]; // [40], unknown
    pkg.extend_from_slice(&[0xAA, 0x05, 0xA0, 0x03, 0x81, 0x01, 0x07]);
    let pes = decode_profile(&pkg).unwrap();
    assert!(matches!(
        pes[0],
        ProfileElement::Unknown { tag_number: 40, .. }
    ));
    assert_eq!(pes[1].pe_header().unwrap().identification, 7);
    assert_eq!(encode_profile(&pes).unwrap(), pkg);
}

#[test]
fn unknown_choice_alternative_is_kept() {
    let gfm = PeGenericFileManagement {
        header: PeHeader::new(3),
        file_management_cmd: vec![vec![
            FileManagementCmd::FilePath(os(&[0x3F, 0x00])),
            FileManagementCmd::Unknown(Any::new(vec![0x9F, 0x40, 0x01, 0x01])),
            FileManagementCmd::FillFileOffset(3),
        ]],
        extensions: Extensions::new(),
    };
    let pe = ProfileElement::GenericFileManagement(gfm);
    let der = pe.to_der().unwrap();
    assert_eq!(ProfileElement::from_ber(&der).unwrap(), pe);
}

#[test]
fn malformed_input_is_an_error() {
    assert!(decode_profile(&[0xAA]).is_err());
    assert!(decode_profile(&[0xAA, 0x05, 0xA0]).is_err());
    assert!(decode_profile(&[0x04, 0x00]).is_err()); // not a context tag
    assert!(ProfileElement::from_ber(&[0xAA, 0x00, 0x00]).is_err());
}

#[test]
fn secrets_are_not_in_debug_output() {
    let algo = AlgoParameter {
        algorithm_id: ALGORITHM_MILENAGE,
        algorithm_options: os(&[0]),
        key: os(&[0xAB; 16]),
        opc: os(&[0xCD; 16]),
        rotation_constants: None,
        xoring_constants: None,
        auth_counter_max: None,
        number_of_keccak: None,
        extensions: Extensions::new(),
    };
    let dbg = format!("{algo:?}");
    assert!(
        !dbg.contains("171") && !dbg.contains("ab") && !dbg.contains("AB"),
        "{dbg}"
    );
}

// ---------- property tests ----------

fn octets(max: usize) -> impl Strategy<Value = OctetString> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(OctetString::from)
}

fn opt_octets(max: usize) -> impl Strategy<Value = Option<OctetString>> {
    prop::option::of(octets(max))
}

fn pe_header() -> impl Strategy<Value = PeHeader> {
    (any::<bool>(), 0u16..=32767).prop_map(|(m, id)| PeHeader {
        mandated: m.then_some(()),
        identification: id,
        extensions: Extensions::new(),
    })
}

fn oid() -> impl Strategy<Value = ObjectIdentifier> {
    (0u32..2, 0u32..40, prop::collection::vec(any::<u32>(), 0..6)).prop_map(|(a, b, rest)| {
        let mut arcs = vec![a, b];
        arcs.extend(rest);
        ObjectIdentifier::new(arcs).expect("valid arcs")
    })
}

fn profile_header() -> impl Strategy<Value = ProfileHeader> {
    (
        any::<u8>(),
        any::<u8>(),
        prop::option::of("[ -~]{1,40}"),
        prop::collection::vec(any::<u8>(), 10),
        opt_octets(8),
        any::<u32>(),
        prop::collection::vec(oid(), 0..4),
        opt_octets(40),
        prop::option::of(prop::collection::vec((octets(16), octets(3)), 0..3)),
        prop::option::of(octets(11)),
    )
        .prop_map(
            |(major, minor, ty, iccid, pol, services, gfste, conn, aids, pix)| {
                let mut list = ServicesList::default();
                for (i, name) in ServicesList::NAMES.iter().enumerate() {
                    list.set(name, services & (1 << i) != 0);
                }
                ProfileHeader {
                    major_version: major,
                    minor_version: minor,
                    profile_type: ty,
                    iccid: OctetString::from(iccid),
                    pol,
                    euicc_mandatory_services: list,
                    euicc_mandatory_gfste_list: gfste,
                    connectivity_parameters: conn,
                    euicc_mandatory_aids: aids.map(|v| {
                        v.into_iter()
                            .map(|(aid, version)| MandatoryAid {
                                aid,
                                version,
                                extensions: Extensions::new(),
                            })
                            .collect()
                    }),
                    iot_options: pix.map(|pix| IotOptions {
                        pix,
                        extensions: Extensions::new(),
                    }),
                    extensions: Extensions::new(),
                }
            },
        )
}

fn pin_codes() -> impl Strategy<Value = PePinCodes> {
    let cfg = (
        any::<u8>(),
        octets(9),
        prop::option::of(any::<u8>()),
        prop::option::of(any::<u8>()),
        prop::option::of(any::<u8>()),
    )
        .prop_map(|(k, v, u, a, m)| PinConfiguration {
            key_reference: k,
            pin_value: v,
            unblocking_pin_reference: u,
            pin_attributes: a,
            max_num_of_attemps_retry_num_left: m,
            extensions: Extensions::new(),
        });
    let choice = prop_oneof![
        prop::collection::vec(cfg, 1..5).prop_map(PinCodes::PinConfig),
        octets(8).prop_map(PinCodes::FilePath),
    ];
    (pe_header(), choice).prop_map(|(header, pin_codes)| PePinCodes {
        header,
        pin_codes,
        extensions: Extensions::new(),
    })
}

fn puk_codes() -> impl Strategy<Value = PePukCodes> {
    let cfg = (any::<u8>(), octets(9), prop::option::of(any::<u8>())).prop_map(|(k, v, m)| {
        PukConfiguration {
            key_reference: k,
            puk_value: v,
            max_num_of_attemps_retry_num_left: m,
            extensions: Extensions::new(),
        }
    });
    (pe_header(), prop::collection::vec(cfg, 1..5)).prop_map(|(header, puk_codes)| PePukCodes {
        header,
        puk_codes,
        extensions: Extensions::new(),
    })
}

fn aka() -> impl Strategy<Value = PeAkaParameter> {
    let algo = (
        any::<u8>(),
        octets(2),
        octets(33),
        octets(33),
        opt_octets(6),
        opt_octets(81),
        opt_octets(4),
        prop::option::of(any::<u8>()),
    )
        .prop_map(|(id, opt, k, opc, rot, xor, acm, kec)| {
            AlgoConfiguration::AlgoParameter(AlgoParameter {
                algorithm_id: id,
                algorithm_options: opt,
                key: k,
                opc,
                rotation_constants: rot,
                xoring_constants: xor,
                auth_counter_max: acm,
                number_of_keccak: kec,
                extensions: Extensions::new(),
            })
        });
    let mapping = (octets(2), octets(16)).prop_map(|(o, s)| {
        AlgoConfiguration::MappingParameter(MappingParameter {
            mapping_options: o,
            mapping_source: s,
            extensions: Extensions::new(),
        })
    });
    (
        pe_header(),
        prop_oneof![algo, mapping],
        opt_octets(2),
        opt_octets(7),
        opt_octets(7),
        prop::option::of(prop::collection::vec(octets(7), 0..33)),
    )
        .prop_map(|(header, cfg, o, d, a, init)| PeAkaParameter {
            header,
            algo_configuration: cfg,
            sqn_options: o,
            sqn_delta: d,
            sqn_age_limit: a,
            sqn_init: init,
            extensions: Extensions::new(),
        })
}

fn fcp() -> impl Strategy<Value = Fcp> {
    (
        opt_octets(5),
        opt_octets(3),
        opt_octets(17),
        opt_octets(2),
        opt_octets(4),
        opt_octets(3),
        opt_octets(6),
        opt_octets(2),
        prop::option::of((opt_octets(2), opt_octets(8), opt_octets(8), opt_octets(3))),
        opt_octets(9),
    )
        .prop_map(
            |(fd, fid, dfn, lcsi, sar, size, pst, sfi, prop_info, link)| Fcp {
                file_descriptor: fd,
                file_id: fid,
                df_name: dfn,
                lcsi,
                security_attributes_referenced: sar,
                ef_file_size: size,
                pin_status_template_do: pst,
                short_ef_id: sfi,
                proprietary_ef_info: prop_info.map(|(s, f, r, m)| ProprietaryInfo {
                    special_file_information: s,
                    fill_pattern: f,
                    repeat_pattern: r,
                    maximum_file_size: m,
                    file_details: None,
                    extensions: Extensions::new(),
                }),
                link_path: link,
                extensions: Extensions::new(),
            },
        )
}

fn gfm() -> impl Strategy<Value = PeGenericFileManagement> {
    let cmd = prop_oneof![
        octets(9).prop_map(FileManagementCmd::FilePath),
        fcp().prop_map(|f| FileManagementCmd::CreateFcp(Box::new(f))),
        any::<u16>().prop_map(FileManagementCmd::FillFileOffset),
        octets(64).prop_map(FileManagementCmd::FillFileContent),
    ];
    (
        pe_header(),
        prop::collection::vec(prop::collection::vec(cmd, 1..6), 1..4),
    )
        .prop_map(|(header, cmds)| PeGenericFileManagement {
            header,
            file_management_cmd: cmds,
            extensions: Extensions::new(),
        })
}

fn file() -> impl Strategy<Value = File> {
    let el = prop_oneof![
        Just(FileElement::DoNotCreate(())),
        fcp().prop_map(|f| FileElement::FileDescriptor(Box::new(f))),
        any::<u16>().prop_map(FileElement::FillFileOffset),
        octets(32).prop_map(FileElement::FillFileContent),
    ];
    prop::collection::vec(el, 0..5).prop_map(File)
}

fn element() -> impl Strategy<Value = ProfileElement> {
    prop_oneof![
        profile_header().prop_map(ProfileElement::Header),
        pin_codes().prop_map(ProfileElement::PinCodes),
        puk_codes().prop_map(ProfileElement::PukCodes),
        aka().prop_map(ProfileElement::AkaParameter),
        gfm().prop_map(ProfileElement::GenericFileManagement),
        (pe_header(), oid(), file(), prop::option::of(file())).prop_map(
            |(header, template_id, df, ef)| {
                ProfileElement::DfSaip(Box::new(PeDfSaip {
                    header,
                    template_id,
                    df_df_saip: df,
                    ef_suci_calc_info_usim: ef,
                    extensions: Extensions::new(),
                }))
            }
        ),
        pe_header().prop_map(|header| ProfileElement::End(PeEnd {
            header,
            extensions: Extensions::new(),
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_decode_identity(pes in prop::collection::vec(element(), 1..5)) {
        let der = encode_profile(&pes).unwrap();
        let back = decode_profile(&der).unwrap();
        prop_assert_eq!(&back, &pes);
        prop_assert_eq!(encode_profile(&back).unwrap(), der);
    }

    #[test]
    fn decode_random_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(pes) = decode_profile(&bytes) {
            let der = encode_profile(&pes).unwrap();
            let again = decode_profile(&der).unwrap();
            prop_assert_eq!(again, pes);
        }
        let _ = ProfileElement::from_ber(&bytes);
        let _ = elements(&bytes).count();
    }

    #[test]
    fn decode_mutated_pe_never_panics(pes in prop::collection::vec(element(), 1..3), pos in any::<usize>(), val in any::<u8>()) {
        let mut der = encode_profile(&pes).unwrap();
        let i = pos % der.len();
        der[i] = val;
        if let Ok(pes) = decode_profile(&der) {
            let re = encode_profile(&pes).unwrap();
            prop_assert_eq!(decode_profile(&re).unwrap(), pes);
        }
    }
}
