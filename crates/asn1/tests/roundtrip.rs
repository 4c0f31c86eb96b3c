//! Property tests: decode(encode(x)) == x for every top-level SGP.22 message,
//! with unknown extension fields and CHOICE alternatives mixed in, for the
//! JSON bodies, and parse(format(ac)) == ac for activation codes.

// Helpers and strategies outside #[test] functions unwrap too (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used)]

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use rasn::types::{Any, BitString, FixedOctetString, ObjectIdentifier, OctetString};
use simforge_asn1::json::{self, Asn1B64, B64Bytes};
use simforge_asn1::rsp::*;
use simforge_asn1::status::{
    ExecutionStatus, FunctionExecutionStatus, ResponseHeader, StatusCodeData,
};
use simforge_asn1::{ActivationCode, Extensions, MatchingId, TransactionId, from_ber, to_der};

fn octs(max: usize) -> impl Strategy<Value = OctetString> {
    vec(any::<u8>(), 0..=max).prop_map(OctetString::from)
}
fn ver() -> impl Strategy<Value = VersionType> {
    any::<[u8; 3]>().prop_map(|b| VersionType::new(b[0], b[1], b[2]))
}
fn o16() -> impl Strategy<Value = Octet16> {
    any::<[u8; 16]>().prop_map(FixedOctetString::new)
}
fn o32() -> impl Strategy<Value = Octet32> {
    any::<[u8; 32]>().prop_map(FixedOctetString::new)
}
fn txid() -> impl Strategy<Value = TransactionId> {
    vec(any::<u8>(), 1..=16).prop_map(|b| TransactionId::from_bytes(&b).unwrap())
}
fn bits() -> impl Strategy<Value = BitString> {
    vec(any::<bool>(), 0..24).prop_map(|v| v.into_iter().collect())
}
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}
fn int() -> impl Strategy<Value = i64> {
    prop_oneof![0i64..200, any::<i64>()]
}
fn oid() -> impl Strategy<Value = ObjectIdentifier> {
    vec(0u32..100_000, 0..5).prop_map(|tail| {
        let mut arcs = vec![2, 999];
        arcs.extend(tail);
        ObjectIdentifier::new(arcs).unwrap()
    })
}
fn tlv(tag: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    let n = body.len();
    if n < 128 {
        out.push(n as u8);
    } else if n < 256 {
        out.extend([0x81, n as u8]);
    } else {
        out.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(body);
    out
}
/// A fake certificate: any DER SEQUENCE.
fn cert() -> impl Strategy<Value = Any> {
    vec(any::<u8>(), 0..300).prop_map(|b| Any::new(tlv(&[0x30], &b)))
}
/// Unknown extension fields a newer peer might append: `[90]` (tag `9F5A`).
fn ext() -> impl Strategy<Value = Extensions> {
    prop_oneof![
        3 => Just(Extensions::default()),
        1 => vec(vec(any::<u8>(), 0..20), 1..3)
            .prop_map(|v| Extensions(v.iter().map(|b| Any::new(tlv(&[0x9F, 0x5A], b))).collect())),
    ]
}
fn unknown_alt() -> impl Strategy<Value = Any> {
    vec(any::<u8>(), 0..10).prop_map(|b| Any::new(tlv(&[0x9F, 0x5B], &b)))
}
fn iccid() -> impl Strategy<Value = Iccid> {
    vec(any::<u8>(), 10).prop_map(|b| Iccid(b.into()))
}
fn aid() -> impl Strategy<Value = IsdpAid> {
    vec(any::<u8>(), 5..=16).prop_map(|b| IsdpAid(b.into()))
}

fn euicc_info1() -> impl Strategy<Value = EuiccInfo1> {
    (ver(), vec(octs(20), 0..3), vec(octs(20), 0..3), ext()).prop_map(|(svn, v, s, extensions)| {
        EuiccInfo1 {
            svn,
            euicc_ci_pkid_list_for_verification: v,
            euicc_ci_pkid_list_for_signing: s,
            extensions,
        }
    })
}

fn euicc_info2() -> impl Strategy<Value = EuiccInfo2> {
    (
        (
            ver(),
            ver(),
            ver(),
            octs(16),
            bits(),
            option::of(ver()),
            option::of(ver()),
            bits(),
        ),
        (
            vec(octs(20), 0..3),
            vec(octs(20), 0..3),
            option::of(int()),
            option::of(bits()),
            ver(),
            text(),
            option::of((text(), text(), ext())),
            ext(),
        ),
    )
        .prop_map(
            |((pv, svn, fw, ecr, uc, jc, gp, rc), (v, s, cat, fpr, pp, sas, cdo, extensions))| {
                EuiccInfo2 {
                    profile_version: pv,
                    svn,
                    euicc_firmware_ver: fw,
                    ext_card_resource: ecr,
                    uicc_capability: UiccCapability(uc),
                    javacard_version: jc,
                    globalplatform_version: gp,
                    rsp_capability: RspCapability(rc),
                    euicc_ci_pkid_list_for_verification: v,
                    euicc_ci_pkid_list_for_signing: s,
                    euicc_category: cat.map(EuiccCategory),
                    forbidden_profile_policy_rules: fpr.map(PprIds),
                    pp_version: pp,
                    sas_acreditation_number: sas,
                    certification_data_object: cdo.map(|(p, d, e)| CertificationDataObject {
                        platform_label: p,
                        discovery_base_url: d,
                        extensions: e,
                    }),
                    extensions,
                }
            },
        )
}

fn device_info() -> impl Strategy<Value = DeviceInfo> {
    (
        prop_oneof![octs(4), vec(any::<u8>(), 8).prop_map(OctetString::from)],
        vec(option::of(ver()), 12),
        option::of(vec(any::<u8>(), 8).prop_map(OctetString::from)),
        ext(),
    )
        .prop_map(|(tac, r, imei, extensions)| DeviceInfo {
            tac,
            device_capabilities: DeviceCapabilities {
                gsm_supported_release: r[0].clone(),
                utran_supported_release: r[1].clone(),
                cdma2000onex_supported_release: r[2].clone(),
                cdma2000hrpd_supported_release: r[3].clone(),
                cdma2000ehrpd_supported_release: r[4].clone(),
                eutran_supported_release: r[5].clone(),
                contactless_supported_release: r[6].clone(),
                rsp_crl_supported_version: r[7].clone(),
                rsp_rpm_supported_version: r[8].clone(),
                nr_epc_supported_release: r[9].clone(),
                nr5gc_supported_release: r[10].clone(),
                eutran5gc_supported_release: r[11].clone(),
                extensions: Extensions::default(),
            },
            imei,
            extensions,
        })
}

fn ctx_params1() -> impl Strategy<Value = CtxParams1> {
    prop_oneof![
        4 => (option::of("[A-Z0-9-]{0,30}"), device_info(), ext()).prop_map(|(m, d, e)| {
            CtxParams1::CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication {
                matching_id: m,
                device_info: d,
                extensions: e,
            })
        }),
        1 => unknown_alt().prop_map(CtxParams1::Unknown),
    ]
}

fn server_signed1() -> impl Strategy<Value = ServerSigned1> {
    (txid(), o16(), text(), o16(), ext()).prop_map(|(t, ec, a, sc, e)| ServerSigned1 {
        transaction_id: t,
        euicc_challenge: ec,
        server_address: a,
        server_challenge: sc,
        extensions: e,
    })
}

fn authenticate_server_request() -> impl Strategy<Value = AuthenticateServerRequest> {
    (
        server_signed1(),
        octs(64),
        octs(20),
        cert(),
        ctx_params1(),
        ext(),
    )
        .prop_map(|(s, sig, ci, c, ctx, e)| AuthenticateServerRequest {
            server_signed1: s,
            server_signature1: sig,
            euicc_ci_pkid_to_be_used: ci,
            server_certificate: c,
            ctx_params1: ctx,
            extensions: e,
        })
}

fn authenticate_server_response() -> impl Strategy<Value = AuthenticateServerResponse> {
    let ok = (
        (txid(), text(), o16(), euicc_info2(), ctx_params1(), ext()),
        octs(64),
        cert(),
        cert(),
        ext(),
    )
        .prop_map(|((t, a, sc, i2, ctx, e1), sig, c1, c2, e)| {
            AuthenticateServerResponse::AuthenticateResponseOk(AuthenticateResponseOk {
                euicc_signed1: EuiccSigned1 {
                    transaction_id: t,
                    server_address: a,
                    server_challenge: sc,
                    euicc_info2: i2,
                    ctx_params1: ctx,
                    extensions: e1,
                },
                euicc_signature1: sig,
                euicc_certificate: c1,
                eum_certificate: c2,
                extensions: e,
            })
        });
    let err = (txid(), int(), ext()).prop_map(|(t, c, e)| {
        AuthenticateServerResponse::AuthenticateResponseError(AuthenticateResponseError {
            transaction_id: t,
            authenticate_error_code: AuthenticateErrorCode(c),
            extensions: e,
        })
    });
    prop_oneof![4 => ok, 2 => err, 1 => unknown_alt().prop_map(AuthenticateServerResponse::Unknown)]
}

fn prepare_download_request() -> impl Strategy<Value = PrepareDownloadRequest> {
    (
        txid(),
        any::<bool>(),
        option::of(octs(65)),
        ext(),
        octs(64),
        option::of(o32()),
        cert(),
        ext(),
    )
        .prop_map(|(t, cc, otpk, e1, sig, h, c, e)| PrepareDownloadRequest {
            smdp_signed2: SmdpSigned2 {
                transaction_id: t,
                cc_required_flag: cc,
                bpp_euicc_otpk: otpk,
                extensions: e1,
            },
            smdp_signature2: sig,
            hash_cc: h,
            smdp_certificate: c,
            extensions: e,
        })
}

fn prepare_download_response() -> impl Strategy<Value = PrepareDownloadResponse> {
    let ok = (txid(), octs(65), option::of(o32()), ext(), octs(64), ext()).prop_map(
        |(t, otpk, h, e1, sig, e)| {
            PrepareDownloadResponse::DownloadResponseOk(PrepareDownloadResponseOk {
                euicc_signed2: EuiccSigned2 {
                    transaction_id: t,
                    euicc_otpk: otpk,
                    hash_cc: h,
                    extensions: e1,
                },
                euicc_signature2: sig,
                extensions: e,
            })
        },
    );
    let err = (txid(), int(), ext()).prop_map(|(t, c, e)| {
        PrepareDownloadResponse::DownloadResponseError(PrepareDownloadResponseError {
            transaction_id: t,
            download_error_code: DownloadErrorCode(c),
            extensions: e,
        })
    });
    prop_oneof![
        ok,
        err,
        unknown_alt().prop_map(PrepareDownloadResponse::Unknown)
    ]
}

fn notification_metadata() -> impl Strategy<Value = NotificationMetadata> {
    (int(), bits(), text(), option::of(iccid()), ext()).prop_map(|(s, p, a, i, e)| {
        NotificationMetadata {
            seq_number: s,
            profile_management_operation: NotificationEvent(p),
            notification_address: a,
            iccid: i,
            extensions: e,
        }
    })
}

fn profile_installation_result() -> impl Strategy<Value = ProfileInstallationResult> {
    let fin = prop_oneof![
        (aid(), octs(40), ext()).prop_map(|(a, s, e)| FinalResult::SuccessResult(SuccessResult {
            aid: a,
            sima_response: s,
            extensions: e
        })),
        (int(), int(), option::of(octs(40)), ext()).prop_map(|(b, r, s, e)| {
            FinalResult::ErrorResult(ErrorResult {
                bpp_command_id: BppCommandId(b),
                error_reason: ErrorReason(r),
                sima_response: s,
                extensions: e,
            })
        }),
        unknown_alt().prop_map(FinalResult::Unknown),
    ];
    (
        txid(),
        notification_metadata(),
        option::of(oid()),
        fin,
        ext(),
        octs(64),
        ext(),
    )
        .prop_map(|(t, n, o, f, e1, sig, e)| ProfileInstallationResult {
            profile_installation_result_data: ProfileInstallationResultData {
                transaction_id: t,
                notification_metadata: n,
                smdp_oid: o,
                final_result: f,
                extensions: e1,
            },
            euicc_sign_pir: EuiccSignPir(sig),
            extensions: e,
        })
}

fn pending_notification() -> impl Strategy<Value = PendingNotification> {
    prop_oneof![
        profile_installation_result().prop_map(PendingNotification::ProfileInstallationResult),
        (notification_metadata(), octs(64), cert(), cert(), ext()).prop_map(|(n, s, c1, c2, e)| {
            PendingNotification::OtherSignedNotification(OtherSignedNotification {
                tbs_other_notification: n,
                euicc_notification_signature: s,
                euicc_certificate: c1,
                eum_certificate: c2,
                extensions: e,
            })
        }),
        unknown_alt().prop_map(PendingNotification::Unknown),
    ]
}

fn operator_id() -> impl Strategy<Value = OperatorId> {
    (octs(3), option::of(octs(4)), option::of(octs(4)), ext()).prop_map(|(m, g1, g2, e)| {
        OperatorId {
            mcc_mnc: m,
            gid1: g1,
            gid2: g2,
            extensions: e,
        }
    })
}

fn nci() -> impl Strategy<Value = Vec<NotificationConfigurationInformation>> {
    vec(
        (bits(), text(), ext()).prop_map(|(b, a, e)| NotificationConfigurationInformation {
            profile_management_operation: NotificationEvent(b),
            notification_address: a,
            extensions: e,
        }),
        0..3,
    )
}

fn profile_info() -> impl Strategy<Value = ProfileInfo> {
    (
        (
            option::of(iccid()),
            option::of(aid()),
            option::of(0i64..2),
            option::of(text()),
            option::of(text()),
            option::of(text()),
        ),
        (
            option::of(0i64..2),
            option::of(octs(50)),
            0i64..3,
            option::of(nci()),
            option::of(operator_id()),
            option::of((oid(), ext())),
            option::of(bits()),
            ext(),
        ),
    )
        .prop_map(
            |((i, a, st, nn, spn, pn), (it, ic, pc, n, po, dp, ppr, e))| ProfileInfo {
                iccid: i,
                isdp_aid: a,
                profile_state: st.map(ProfileState),
                profile_nickname: nn,
                service_provider_name: spn,
                profile_name: pn,
                icon_type: it.map(IconType),
                icon: ic,
                profile_class: ProfileClass(pc),
                notification_configuration_info: n,
                profile_owner: po,
                dp_proprietary_data: dp.map(|(o, e)| DpProprietaryData {
                    dp_oid: o,
                    extensions: e,
                }),
                profile_policy_rules: ppr.map(PprIds),
                extensions: e,
            },
        )
}

fn store_metadata() -> impl Strategy<Value = StoreMetadataRequest> {
    (
        (
            iccid(),
            text(),
            text(),
            option::of(0i64..2),
            option::of(octs(50)),
        ),
        (
            option::of(0i64..3),
            option::of(nci()),
            option::of(operator_id()),
            option::of(bits()),
            ext(),
        ),
    )
        .prop_map(
            |((i, spn, pn, it, ic), (pc, n, po, ppr, e))| StoreMetadataRequest {
                iccid: i,
                service_provider_name: spn,
                profile_name: pn,
                icon_type: it.map(IconType),
                icon: ic,
                profile_class: pc.map(ProfileClass),
                notification_configuration_info: n,
                profile_owner: po,
                profile_policy_rules: ppr.map(PprIds),
                extensions: e,
            },
        )
}

fn bpp() -> impl Strategy<Value = BoundProfilePackage> {
    (
        (txid(), octs(16), octs(65), octs(64), ext()),
        vec(octs(40).prop_map(Segment87), 0..3),
        vec(octs(40).prop_map(Segment88), 0..3),
        option::of(vec(octs(40).prop_map(Segment87), 0..2)),
        vec(octs(300).prop_map(Segment86), 0..4),
        ext(),
    )
        .prop_map(
            |((t, host, otpk, sig, e1), a0, a1, a2, a3, e)| BoundProfilePackage {
                initialise_secure_channel_request: InitialiseSecureChannelRequest {
                    remote_op_id: RemoteOpId::INSTALL_BOUND_PROFILE_PACKAGE,
                    transaction_id: t,
                    control_ref_template: ControlRefTemplate {
                        key_type: vec![0x88].into(),
                        key_len: vec![0x10].into(),
                        host_id: host,
                        extensions: Extensions::default(),
                    },
                    smdp_otpk: otpk,
                    smdp_sign: sig,
                    extensions: e1,
                },
                first_sequence_of87: a0,
                sequence_of88: a1,
                second_sequence_of87: a2,
                sequence_of86: a3,
                extensions: e,
            },
        )
}

fn roundtrip<T: rasn::Encode + rasn::Decode + PartialEq + std::fmt::Debug>(
    v: &T,
) -> Result<(), TestCaseError> {
    let der = to_der(v).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: T =
        from_ber(&der).map_err(|e| TestCaseError::fail(format!("{e} in {}", hex::encode(&der))))?;
    prop_assert_eq!(&back, v);
    // DER is canonical: re-encoding gives the same bytes.
    prop_assert_eq!(
        to_der(&back).map_err(|e| TestCaseError::fail(e.to_string()))?,
        der
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn initiate_authentication_request(c in o16(), a in text(), i in euicc_info1(), e in ext()) {
        roundtrip(&InitiateAuthenticationRequest { euicc_challenge: c, smdp_address: a, euicc_info1: i, extensions: e })?;
    }

    #[test]
    fn initiate_authentication_response(t in txid(), s in server_signed1(), sig in octs(64), ci in octs(20), c in cert(), e in ext(), err in int(), pick in 0..2) {
        let v = if pick == 0 {
            InitiateAuthenticationResponse::InitiateAuthenticationOk(InitiateAuthenticationOkEs9 {
                transaction_id: t, server_signed1: s, server_signature1: sig, euicc_ci_pkid_to_be_used: ci,
                server_certificate: c, extensions: e })
        } else {
            InitiateAuthenticationResponse::InitiateAuthenticationError(err)
        };
        roundtrip(&v)?;
    }

    #[test]
    fn euicc_info1_rt(v in euicc_info1()) { roundtrip(&v)?; }

    #[test]
    fn euicc_info2_rt(v in euicc_info2()) { roundtrip(&v)?; }

    #[test]
    fn authenticate_server_request_rt(v in authenticate_server_request()) { roundtrip(&v)?; }

    #[test]
    fn authenticate_server_response_rt(v in authenticate_server_response()) { roundtrip(&v)?; }

    #[test]
    fn authenticate_client_request_rt(t in txid(), r in authenticate_server_response(), e in ext()) {
        roundtrip(&AuthenticateClientRequest { transaction_id: t, authenticate_server_response: r, extensions: e })?;
    }

    #[test]
    fn authenticate_client_response_es9_rt(t in txid(), m in store_metadata(), p in prepare_download_request(), e in ext(), err in int(), pick in 0..2) {
        let v = if pick == 0 {
            AuthenticateClientResponseEs9::AuthenticateClientOk(AuthenticateClientOk {
                transaction_id: t, profile_meta_data: m, prepare_download_request: p, extensions: e })
        } else {
            AuthenticateClientResponseEs9::AuthenticateClientError(err)
        };
        roundtrip(&v)?;
    }

    #[test]
    fn prepare_download_request_rt(v in prepare_download_request()) { roundtrip(&v)?; }

    #[test]
    fn prepare_download_response_rt(v in prepare_download_response()) {
        roundtrip(&v)?;
        if let PrepareDownloadResponse::DownloadResponseOk(ok) = &v {
            let der = to_der(&v).unwrap();
            prop_assert_eq!(simforge_asn1::signed::euicc_signed2(&der).unwrap().to_vec(), to_der(&ok.euicc_signed2).unwrap());
        }
    }

    #[test]
    fn signed_parts(r in authenticate_server_response(), q in authenticate_server_request(), p in prepare_download_request(), pir in profile_installation_result()) {
        if let AuthenticateServerResponse::AuthenticateResponseOk(ok) = &r {
            let der = to_der(&r).unwrap();
            prop_assert_eq!(simforge_asn1::signed::euicc_signed1(&der).unwrap().to_vec(), to_der(&ok.euicc_signed1).unwrap());
        }
        prop_assert_eq!(simforge_asn1::signed::server_signed1(&to_der(&q).unwrap()).unwrap().to_vec(), to_der(&q.server_signed1).unwrap());
        prop_assert_eq!(simforge_asn1::signed::smdp_signed2(&to_der(&p).unwrap()).unwrap().to_vec(), to_der(&p.smdp_signed2).unwrap());
        prop_assert_eq!(
            simforge_asn1::signed::profile_installation_result_data(&to_der(&pir).unwrap()).unwrap().to_vec(),
            to_der(&pir.profile_installation_result_data).unwrap());
    }

    #[test]
    fn get_bpp_request_rt(t in txid(), r in prepare_download_response(), e in ext()) {
        roundtrip(&GetBoundProfilePackageRequest { transaction_id: t, prepare_download_response: r, extensions: e })?;
    }

    #[test]
    fn get_bpp_response_rt(t in txid(), b in bpp(), e in ext(), err in int(), pick in 0..2) {
        let v = if pick == 0 {
            GetBoundProfilePackageResponse::GetBoundProfilePackageOk(GetBoundProfilePackageOk {
                transaction_id: t, bound_profile_package: b, extensions: e })
        } else {
            GetBoundProfilePackageResponse::GetBoundProfilePackageError(err)
        };
        roundtrip(&v)?;
    }

    #[test]
    fn bound_profile_package_rt(v in bpp()) { roundtrip(&v)?; }

    #[test]
    fn profile_installation_result_rt(v in profile_installation_result()) { roundtrip(&v)?; }

    #[test]
    fn pending_notification_rt(v in pending_notification()) { roundtrip(&v)?; }

    #[test]
    fn handle_notification_rt(v in pending_notification(), e in ext()) {
        roundtrip(&HandleNotification { pending_notification: v, extensions: e })?;
    }

    #[test]
    fn notification_lists_rt(l in vec(notification_metadata(), 0..3), p in vec(pending_notification(), 0..3), seq in option::of(int())) {
        roundtrip(&ListNotificationResponse::NotificationMetadataList(l))?;
        roundtrip(&RetrieveNotificationsListResponse::NotificationList(p))?;
        roundtrip(&RetrieveNotificationsListRequest {
            search_criteria: seq.map(NotificationSearchCriteria::SeqNumber), extensions: Extensions::default() })?;
    }

    #[test]
    fn profile_info_list_response_rt(l in vec(profile_info(), 0..4), err in int(), pick in 0..2) {
        let v = if pick == 0 {
            ProfileInfoListResponse::ProfileInfoListOk(l)
        } else {
            ProfileInfoListResponse::ProfileInfoListError(ProfileInfoListError(err))
        };
        roundtrip(&v)?;
    }

    #[test]
    fn store_metadata_rt(v in store_metadata()) { roundtrip(&v)?; }

    #[test]
    fn cancel_session_rt(t in txid(), o in oid(), r in int(), sig in octs(64), e in ext(), err in int(), pick in 0..2) {
        roundtrip(&CancelSessionRequest { transaction_id: t.clone(), reason: CancelSessionReason(r), extensions: e.clone() })?;
        let resp = if pick == 0 {
            CancelSessionResponse::CancelSessionResponseOk(CancelSessionResponseOk {
                euicc_cancel_session_signed: EuiccCancelSessionSigned {
                    transaction_id: t.clone(), smdp_oid: o, reason: CancelSessionReason(r), extensions: e.clone() },
                euicc_cancel_session_signature: sig, extensions: e })
        } else {
            CancelSessionResponse::CancelSessionResponseError(err)
        };
        roundtrip(&resp)?;
        roundtrip(&CancelSessionRequestEs9 { transaction_id: t, cancel_session_response: resp, extensions: Extensions::default() })?;
        roundtrip(&CancelSessionResponseEs9::CancelSessionOk(CancelSessionOk::default()))?;
    }

    #[test]
    fn es11_rt(t in txid(), ev in vec((text(), text(), ext()), 0..3), err in int(), pick in 0..2) {
        let v = if pick == 0 {
            AuthenticateClientResponseEs11::AuthenticateClientOk(AuthenticateClientOkEs11 {
                transaction_id: t,
                event_entries: ev.into_iter().map(|(i, a, e)| EventEntries { event_id: i, rsp_server_address: a, extensions: e }).collect(),
                extensions: Extensions::default() })
        } else {
            AuthenticateClientResponseEs11::AuthenticateClientError(err)
        };
        roundtrip(&v)?;
    }

    #[test]
    fn profile_management_rt(i in iccid(), a in aid(), f in any::<bool>(), r in int(), n in text(), b in bits()) {
        roundtrip(&EnableProfileRequest { profile_identifier: ProfileIdentifier::Iccid(i.clone()), refresh_flag: f, extensions: Extensions::default() })?;
        roundtrip(&DisableProfileRequest { profile_identifier: ProfileIdentifier::IsdpAid(a.clone()), refresh_flag: f, extensions: Extensions::default() })?;
        roundtrip(&DeleteProfileRequest(ProfileIdentifier::IsdpAid(a)))?;
        roundtrip(&EnableProfileResponse { enable_result: ResultCode(r), extensions: Extensions::default() })?;
        roundtrip(&SetNicknameRequest { iccid: i.clone(), profile_nickname: n.clone(), extensions: Extensions::default() })?;
        roundtrip(&EuiccMemoryResetRequest { reset_options: ResetOptions(b), extensions: Extensions::default() })?;
        roundtrip(&ProfileInfoListRequest { search_criteria: Some(ProfileSearchCriteria::Iccid(i)), tag_list: Some(vec![0x5A, 0x90].into()), extensions: Extensions::default() })?;
        roundtrip(&EuiccConfiguredAddressesResponse { default_dp_address: Some(n.clone()), root_ds_address: n.clone(), extensions: Extensions::default() })?;
        roundtrip(&SetDefaultDpAddressRequest { default_dp_address: n, extensions: Extensions::default() })?;
    }

    #[test]
    fn rat_rt(rules in vec((bits(), vec(operator_id(), 0..3), bits()), 0..3)) {
        roundtrip(&GetRatResponse {
            rat: rules.into_iter().map(|(p, o, f)| ProfilePolicyAuthorisationRule {
                ppr_ids: PprIds(p), allowed_operators: o, ppr_flags: PprFlags(f), extensions: Extensions::default() }).collect(),
            extensions: Extensions::default() })?;
    }

    // ------------------------------------------------------------------ JSON

    #[test]
    fn json_initiate_authentication(c in vec(any::<u8>(), 16), i in euicc_info1(), a in "[a-z0-9.]{1,20}(:[0-9]{1,5})?") {
        let v = json::InitiateAuthenticationRequest {
            euicc_challenge: B64Bytes(c), euicc_info1: Asn1B64::new(i).unwrap(), smdp_address: a };
        let back: json::InitiateAuthenticationRequest = json::from_json(&json::to_json(&v).unwrap()).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn json_initiate_authentication_response(t in txid(), s in server_signed1(), sig in vec(any::<u8>(), 0..70), ok in any::<bool>()) {
        let v = if ok {
            json::InitiateAuthenticationResponse {
                header: ResponseHeader::success(), transaction_id: Some(t),
                server_signed1: Some(Asn1B64::new(s).unwrap()), server_signature1: Some(B64Bytes(sig.clone())),
                euicc_ci_pk_id_to_be_used: Some(B64Bytes(sig.clone())), server_certificate: Some(B64Bytes(sig)) }
        } else {
            json::InitiateAuthenticationResponse {
                header: ResponseHeader::failed(&simforge_asn1::StatusCode::INVALID_SMDP_ADDRESS, Some("no".into())),
                transaction_id: None, server_signed1: None, server_signature1: None,
                euicc_ci_pk_id_to_be_used: None, server_certificate: None }
        };
        let back: json::InitiateAuthenticationResponse = json::from_json(&json::to_json(&v).unwrap()).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn json_authenticate_client(t in txid(), r in authenticate_server_response(), m in store_metadata(), p in prepare_download_request()) {
        let v = json::AuthenticateClientRequest { transaction_id: t.clone(), authenticate_server_response: Asn1B64::new(r).unwrap() };
        let back: json::AuthenticateClientRequest = json::from_json(&json::to_json(&v).unwrap()).unwrap();
        prop_assert_eq!(back, v);
        let resp = json::AuthenticateClientResponse {
            header: ResponseHeader::success(), transaction_id: Some(t),
            profile_metadata: Some(Asn1B64::new(m).unwrap()),
            smdp_signed2: Some(Asn1B64::new(p.smdp_signed2).unwrap()),
            smdp_signature2: Some(B64Bytes(p.smdp_signature2.to_vec())),
            smdp_certificate: Some(B64Bytes(p.smdp_certificate.as_bytes().to_vec())) };
        let back: json::AuthenticateClientResponse = json::from_json(&json::to_json(&resp).unwrap()).unwrap();
        prop_assert_eq!(back, resp);
    }

    #[test]
    fn json_get_bpp(t in txid(), r in prepare_download_response(), b in bpp()) {
        let v = json::GetBoundProfilePackageRequest { transaction_id: t.clone(), prepare_download_response: Asn1B64::new(r).unwrap() };
        let back: json::GetBoundProfilePackageRequest = json::from_json(&json::to_json(&v).unwrap()).unwrap();
        prop_assert_eq!(back, v);
        let resp = json::GetBoundProfilePackageResponse { header: ResponseHeader::success(), transaction_id: Some(t), bound_profile_package: Some(Asn1B64::new(b).unwrap()) };
        let back: json::GetBoundProfilePackageResponse = json::from_json(&json::to_json(&resp).unwrap()).unwrap();
        prop_assert_eq!(back, resp);
    }

    #[test]
    fn json_handle_notification_and_cancel(p in pending_notification(), t in txid(), code in 0usize..36, msg in option::of(text()), status in 0..4) {
        let v = json::HandleNotificationRequest { pending_notification: Asn1B64::new(p).unwrap() };
        let back: json::HandleNotificationRequest = json::from_json(&json::to_json(&v).unwrap()).unwrap();
        prop_assert_eq!(back, v);
        let c = json::CancelSessionRequest { transaction_id: t, cancel_session_response: Asn1B64::new(CancelSessionResponse::CancelSessionResponseError(5)).unwrap() };
        let back: json::CancelSessionRequest = json::from_json(&json::to_json(&c).unwrap()).unwrap();
        prop_assert_eq!(back, c);
        let (_, sc) = &simforge_asn1::StatusCode::ALL[code % simforge_asn1::StatusCode::ALL.len()];
        let st = [ExecutionStatus::ExecutedSuccess, ExecutionStatus::ExecutedWithWarning, ExecutionStatus::Failed, ExecutionStatus::Expired][status as usize];
        let h = json::HeaderOnlyResponse { header: ResponseHeader { function_execution_status: FunctionExecutionStatus {
            status: st, status_code_data: Some(StatusCodeData { subject_identifier: Some("8900".into()), ..StatusCodeData::new(sc, msg) }) } } };
        let back: json::HeaderOnlyResponse = json::from_json(&json::to_json(&h).unwrap()).unwrap();
        prop_assert_eq!(&back, &h);
        prop_assert_eq!(back.header.function_execution_status.status_code_data.unwrap().code().unwrap(), sc.clone());
    }

    #[test]
    fn json_es2plus(req in "[A-Za-z0-9]{1,10}", call in "[A-Za-z0-9-]{1,20}", iccid in "[0-9]{19,20}", mid in option::of("[A-Z0-9-]{1,30}"), rf in any::<bool>(), pir in profile_installation_result()) {
        let header = json::RequestHeader { function_requester_identifier: req, function_call_identifier: call };
        let eid: simforge_asn1::Eid = "89049032123451234512345678901235".parse().unwrap();
        let v = json::ConfirmOrderRequest { header: header.clone(), iccid: iccid.clone(), eid: Some(eid),
            matching_id: mid.map(|m| MatchingId::parse(&m).unwrap()), confirmation_code: None, smds_address: None, release_flag: rf };
        let back: json::ConfirmOrderRequest = json::from_json(&json::to_json(&v).unwrap()).unwrap();
        prop_assert_eq!(back, v);
        let d = json::DownloadOrderRequest { header: header.clone(), eid: Some(eid), iccid: None, profile_type: Some("Test".into()) };
        let back: json::DownloadOrderRequest = json::from_json(&json::to_json(&d).unwrap()).unwrap();
        prop_assert_eq!(back, d);
        let c = json::CancelOrderRequest { header: header.clone(), iccid: iccid.clone(), eid: None, matching_id: None,
            final_profile_status_indicator: json::FinalProfileStatus::Available };
        let back: json::CancelOrderRequest = json::from_json(&json::to_json(&c).unwrap()).unwrap();
        prop_assert_eq!(back, c);
        let r = json::ReleaseProfileRequest { header: header.clone(), iccid: iccid.clone() };
        let back: json::ReleaseProfileRequest = json::from_json(&json::to_json(&r).unwrap()).unwrap();
        prop_assert_eq!(back, r);
        let h = json::HandleDownloadProgressInfoRequest { header, eid: Some(eid), iccid, profile_type: "Test".into(),
            timestamp: "2026-11-27T12:00:00Z".into(), notification_point_id: 4,
            notification_point_status: FunctionExecutionStatus::success(), result_data: Some(Asn1B64::new(pir).unwrap()) };
        let back: json::HandleDownloadProgressInfoRequest = json::from_json(&json::to_json(&h).unwrap()).unwrap();
        prop_assert_eq!(back, h);
    }

    // ------------------------------------------------------- activation codes

    #[test]
    fn activation_code_format_parse(
        host in "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
        port in option::of(1u16..),
        mid in option::of("[A-Z0-9-]{1,40}"),
        oid in option::of("[12](\\.[0-9]{1,6}){1,8}"),
        cc in any::<bool>(),
    ) {
        let addr = match port { Some(p) => format!("{host}:{p}"), None => host };
        let ac = ActivationCode::new(&addr, mid.map(|m| MatchingId::parse(&m).unwrap()), oid.as_deref(), cc).unwrap();
        prop_assert_eq!(ActivationCode::parse(&ac.to_string()).unwrap(), ac.clone());
        prop_assert_eq!(ActivationCode::parse(&ac.to_qr_text()).unwrap(), ac);
    }
}

// -------------------------------------------- robustness (no panics)

fn decode_all(data: &[u8]) {
    let _ = from_ber::<EuiccInfo2>(data);
    let _ = from_ber::<AuthenticateServerResponse>(data);
    let _ = from_ber::<PrepareDownloadResponse>(data);
    let _ = from_ber::<BoundProfilePackage>(data);
    let _ = from_ber::<ProfileInstallationResult>(data);
    let _ = from_ber::<PendingNotification>(data);
    let _ = from_ber::<ProfileInfoListResponse>(data);
    let _ = from_ber::<RetrieveNotificationsListResponse>(data);
    let _ = simforge_asn1::Tlv::parse_all(data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(data in vec(any::<u8>(), 0..200)) {
        decode_all(&data);
    }

    #[test]
    fn mutated_messages_never_panic(p in pending_notification(), r in authenticate_server_response(), flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>()) {
        for mut der in [to_der(&p).unwrap(), to_der(&r).unwrap()] {
            for (i, x) in &flips {
                let i = i.index(der.len());
                der[i] ^= x;
            }
            decode_all(&der);
            decode_all(&der[..cut.index(der.len() + 1)]);
        }
    }

    #[test]
    fn activation_code_parse_never_panics(s in "\\PC{0,80}", t in "(LPA:)?1\\$[a-z.:0-9$-]{0,30}\\$?[A-Z0-9$.-]{0,30}") {
        let _ = ActivationCode::parse(&s);
        if let Ok(ac) = ActivationCode::parse(&t) {
            prop_assert_eq!(ActivationCode::parse(&ac.to_string()).unwrap(), ac);
        }
    }
}
