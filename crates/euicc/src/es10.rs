//! ES10a/b/c (SGP.22 §5.7) and the eUICC side of ES8+ (LoadBoundProfilePackage).

use simforge_asn1::rasn::types::{Any, ObjectIdentifier, OctetString};
use simforge_asn1::rsp::*;
use simforge_asn1::{Extensions, Tlv, TransactionId, from_ber, signed, to_der};
use simforge_crypto::{
    BppLoader, BppVerifyParams, Curve, EphemeralKeyHandle, LoadProgress, ParsedBpp,
    SoftwareKeyAgreement, SystemRandom,
};
use simforge_pki::Role;
use zeroize::Zeroizing;

use crate::apdu::sw;
use crate::identity::crypto_curve;
use crate::state::{InstalledProfile, StoredNotification};
use crate::{Euicc, usim};

/// The RSP session in progress (volatile: lost on reset, as on a real eUICC).
#[derive(Default)]
pub(crate) struct Session {
    challenge: Option<[u8; 16]>,
    auth: Option<AuthCtx>,
    prepared: Option<Prepared>,
    loading: Option<Box<Loading>>,
}

#[derive(Clone)]
struct AuthCtx {
    transaction_id: TransactionId,
    server_address: String,
    smdp_oid: Option<ObjectIdentifier>,
    euicc_signature1: Vec<u8>,
}

#[derive(Clone)]
struct Prepared {
    auth: AuthCtx,
    dp_pb_curve: Curve,
    dp_pb_public_key: Vec<u8>,
    smdp_oid: Option<ObjectIdentifier>,
    euicc_otpk: Vec<u8>,
}

struct Loading {
    loader: BppLoader,
    prepared: Prepared,
}

/// otSK.EUICC.ECKA kept for a retried download (`bppEuiccOtpk`).
pub(crate) struct RetainedOtk {
    curve: Curve,
    public_key: Vec<u8>,
    scalar: Zeroizing<Vec<u8>>,
}

type Res = Result<Vec<u8>, u16>;

fn der<T: simforge_asn1::rasn::Encode>(v: &T) -> Res {
    to_der(v).map_err(|_| sw::TECHNICAL)
}

fn ext() -> Extensions {
    Extensions::default()
}

fn sig_do(sig: &[u8]) -> Vec<u8> {
    let mut v = vec![0x5F, 0x37, u8::try_from(sig.len()).unwrap_or(0)];
    v.extend_from_slice(sig);
    v
}

impl Euicc {
    fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    fn sign(&self, data: &[u8]) -> Res {
        simforge_crypto::Signer::sign(&self.id.signer, data)
            .map(|s| s.as_bytes().to_vec())
            .map_err(|_| sw::TECHNICAL)
    }

    fn next_seq(&mut self) -> i64 {
        let s = self.state.next_seq_number;
        self.state.next_seq_number = s.saturating_add(1);
        s
    }
}

/// Dispatches one complete ES10 command (the data of a STORE DATA sequence).
pub(crate) fn handle(e: &mut Euicc, req: &[u8]) -> Res {
    let header = simforge_crypto::tlv::parse_header(req).map_err(|_| sw::WRONG_DATA)?;
    let bpp_piece = header.tag == 0xBF36
        || (e.session.loading.is_some()
            && matches!(header.tag, 0xA0 | 0xA1 | 0xA2 | 0xA3 | 0x86 | 0x88));
    if bpp_piece {
        return load_bpp_piece(e, req, header.tag);
    }
    let (tlv, rest) = Tlv::parse(req).map_err(|_| sw::WRONG_DATA)?;
    if !rest.is_empty() {
        return Err(sw::WRONG_DATA);
    }
    match tlv.tag {
        [0xBF, 0x20] => get_euicc_info1(e, req),
        [0xBF, 0x22] => get_euicc_info2(e, req),
        [0xBF, 0x2E] => get_euicc_challenge(e, req),
        [0xBF, 0x38] => authenticate_server(e, req),
        [0xBF, 0x21] => prepare_download(e, req),
        [0xBF, 0x41] => cancel_session(e, req),
        [0xBF, 0x2D] => list_profile_info(e, req),
        [0xBF, 0x31] => enable_profile(e, req),
        [0xBF, 0x32] => disable_profile(e, req),
        [0xBF, 0x33] => delete_profile(e, req),
        [0xBF, 0x34] => memory_reset(e, req),
        [0xBF, 0x3E] => get_eid(e, req),
        [0xBF, 0x29] => set_nickname(e, req),
        [0xBF, 0x3C] => configured_addresses(e, req),
        [0xBF, 0x3F] => set_default_dp_address(e, req),
        [0xBF, 0x43] => get_rat(req),
        [0xBF, 0x28] => list_notification(e, req),
        [0xBF, 0x2B] => retrieve_notifications(e, req),
        [0xBF, 0x30] => remove_notification(e, req),
        _ => Err(sw::DATA_NOT_FOUND),
    }
}

fn decode<T: simforge_asn1::rasn::Decode>(req: &[u8]) -> Result<T, u16> {
    from_ber::<T>(req).map_err(|_| sw::WRONG_DATA)
}

// ------------------------------------------------------------------ info

fn to_pkids(list: &[Vec<u8>]) -> Vec<SubjectKeyIdentifier> {
    list.iter().map(|p| OctetString::from(p.clone())).collect()
}

/// euiccCiPKIdListForVerification: the trusted CIs.
fn pkids(e: &Euicc) -> Vec<SubjectKeyIdentifier> {
    to_pkids(&e.id.ci_pkids)
}

/// euiccCiPKIdListForSigning: the CI of the eUICC's own certificate chain.
fn signing_pkids(e: &Euicc) -> Vec<SubjectKeyIdentifier> {
    to_pkids(&e.id.signing_ci_pkids)
}

fn get_euicc_info1(e: &mut Euicc, req: &[u8]) -> Res {
    decode::<GetEuiccInfo1Request>(req)?;
    der(&euicc_info1(e))
}

fn euicc_info1(e: &Euicc) -> EuiccInfo1 {
    EuiccInfo1 {
        svn: VersionType::new(2, 2, 2),
        euicc_ci_pkid_list_for_verification: pkids(e),
        euicc_ci_pkid_list_for_signing: signing_pkids(e),
        extensions: ext(),
    }
}

/// The eUICC's non-volatile memory for profiles, in bytes (what free NVM starts from).
pub(crate) const NVM_CAPACITY: u64 = 0x10_0000;
/// Free volatile memory announced in extCardResource, in bytes.
const FREE_RAM: u64 = 0x4000;

/// Free non-volatile memory: the capacity less what the installed profiles take.
pub(crate) fn free_nvm(e: &Euicc) -> u64 {
    let used = e
        .state
        .profiles
        .iter()
        .fold(0u64, |acc, p| acc.saturating_add(p.nvm_size));
    NVM_CAPACITY.saturating_sub(used)
}

/// A TS 102 226 unsigned integer: big-endian, no leading zero bytes, at least one byte.
fn uint_bytes(v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len() - 1);
    b[first..].to_vec()
}

/// ETSI TS 102 226 §8.2.1.7.2 extended card resource information: `81` number of installed
/// applications, `82` free non-volatile memory, `83` free volatile memory.
fn ext_card_resource(e: &Euicc) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, v) in [
        (0x81u8, e.state.profiles.len() as u64),
        (0x82, free_nvm(e)),
        (0x83, FREE_RAM),
    ] {
        let bytes = uint_bytes(v);
        out.push(tag);
        out.push(u8::try_from(bytes.len()).unwrap_or(8));
        out.extend_from_slice(&bytes);
    }
    out
}

fn euicc_info2(e: &Euicc) -> EuiccInfo2 {
    EuiccInfo2 {
        profile_version: VersionType::new(2, 3, 1),
        svn: VersionType::new(2, 2, 2),
        euicc_firmware_ver: VersionType::new(1, 0, 0),
        ext_card_resource: ext_card_resource(e).into(),
        uicc_capability: UiccCapability::from_bits(&[
            UiccCapability::USIM_SUPPORT,
            UiccCapability::ISIM_SUPPORT,
            UiccCapability::AKA_MILENAGE,
            UiccCapability::AKA_TUAK128,
            UiccCapability::AKA_TUAK256,
            UiccCapability::BER_TLV_FILE_SUPPORT,
        ]),
        // ts102241Version [6] (javacardVersion in SGP.22 v2.1): the UICC API for Java Card.
        javacard_version: Some(VersionType::new(9, 2, 0)),
        globalplatform_version: Some(VersionType::new(2, 3, 0)),
        rsp_capability: RspCapability::from_bits(&[
            RspCapability::ADDITIONAL_PROFILE,
            RspCapability::TEST_PROFILE_SUPPORT,
        ]),
        euicc_ci_pkid_list_for_verification: pkids(e),
        euicc_ci_pkid_list_for_signing: signing_pkids(e),
        euicc_category: Some(EuiccCategory::OTHER),
        forbidden_profile_policy_rules: None,
        pp_version: VersionType::new(0, 0, 1),
        sas_acreditation_number: "SIMFORGE-LAB-0001".into(),
        certification_data_object: None,
        extensions: ext(),
    }
}

fn get_euicc_info2(e: &mut Euicc, req: &[u8]) -> Res {
    decode::<GetEuiccInfo2Request>(req)?;
    der(&euicc_info2(e))
}

fn get_euicc_challenge(e: &mut Euicc, req: &[u8]) -> Res {
    decode::<GetEuiccChallengeRequest>(req)?;
    let mut c = [0u8; 16];
    e.rng.fill(&mut c).map_err(|_| sw::TECHNICAL)?;
    e.session = Session {
        challenge: Some(c),
        ..Session::default()
    };
    der(&GetEuiccChallengeResponse {
        euicc_challenge: c.into(),
        extensions: ext(),
    })
}

// --------------------------------------------------- AuthenticateServer

/// The SM-DP+ OID: the registeredID of the certificate's subjectAltName, as `pki` read it
/// (`None` if absent, or if an arc does not fit the 32 bits of an ASN.1 OID of `rasn`).
fn smdp_oid(dp: &simforge_pki::VerifiedDp) -> Option<ObjectIdentifier> {
    let arcs = dp
        .registered_id
        .as_deref()?
        .split('.')
        .map(|a| a.parse::<u32>().ok())
        .collect::<Option<Vec<u32>>>()?;
    ObjectIdentifier::new(arcs)
}

fn valid_server_address(a: &str) -> bool {
    let host = a
        .rsplit_once(':')
        .map_or(a, |(h, p)| if p.parse::<u16>().is_ok() { h } else { a });
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

fn authenticate_server(e: &mut Euicc, req: &[u8]) -> Res {
    let r: AuthenticateServerRequest = decode(req)?;
    let tid = r.server_signed1.transaction_id.clone();
    let fail = |code: AuthenticateErrorCode| {
        der(&AuthenticateServerResponse::AuthenticateResponseError(
            AuthenticateResponseError {
                transaction_id: tid.clone(),
                authenticate_error_code: code,
                extensions: ext(),
            },
        ))
    };
    let Some(challenge) = e.session.challenge else {
        return fail(AuthenticateErrorCode::NO_SESSION_CONTEXT);
    };
    // The CI the SM-DP+ chose must be one this eUICC trusts.
    let chosen: &[u8] = r.euicc_ci_pkid_to_be_used.as_ref();
    if !e.id.ci_pkids.iter().any(|p| p.as_slice() == chosen) {
        return fail(AuthenticateErrorCode::CI_PK_UNKNOWN);
    }
    let cert_der = r.server_certificate.as_bytes();
    // serverCertificate is CERT.XXauth (SGP.22 §5.7.13): DPauth from an SM-DP+ (ES9+),
    // DSauth from an SM-DS (ES11); the certificate's policy says which it claims to be.
    let role = match simforge_pki::Certificate::from_der(cert_der).map(|c| c.role()) {
        Ok(Some(Role::DsAuth)) => Role::DsAuth,
        _ => Role::DpAuth,
    };
    let dp = match simforge_pki::verify_dp_cert(&e.id.ci_store, cert_der, role, e.now()) {
        Ok(dp) => dp,
        // The chosen CI is trusted, but the certificate does not chain to it (or to any
        // trusted CI): invalidCertificate.
        Err(simforge_pki::Error::UnsupportedCurve(_)) => {
            return fail(AuthenticateErrorCode::UNSUPPORTED_CURVE);
        }
        Err(_) => return fail(AuthenticateErrorCode::INVALID_CERTIFICATE),
    };
    if dp.ci_pkid != chosen {
        return fail(AuthenticateErrorCode::INVALID_CERTIFICATE);
    }
    let Ok(signed1) = signed::server_signed1(req) else {
        return Err(sw::WRONG_DATA);
    };
    let sig_ok = simforge_pki::verify_raw_signature(
        dp.curve,
        &dp.public_key,
        signed1,
        r.server_signature1.as_ref(),
    )
    .unwrap_or(false);
    if !sig_ok {
        return fail(AuthenticateErrorCode::INVALID_SIGNATURE);
    }
    let got: &[u8] = r.server_signed1.euicc_challenge.as_ref();
    if got != challenge.as_slice() {
        return fail(AuthenticateErrorCode::EUICC_CHALLENGE_MISMATCH);
    }
    if !valid_server_address(&r.server_signed1.server_address) {
        return fail(AuthenticateErrorCode::UNDEFINED_ERROR);
    }
    let smdp_oid = smdp_oid(&dp);
    let signed = EuiccSigned1 {
        transaction_id: tid.clone(),
        server_address: r.server_signed1.server_address.clone(),
        server_challenge: r.server_signed1.server_challenge,
        euicc_info2: euicc_info2(e),
        ctx_params1: r.ctx_params1.clone(),
        extensions: ext(),
    };
    let sig = e.sign(&der(&signed)?)?;
    e.session = Session {
        challenge: None,
        auth: Some(AuthCtx {
            transaction_id: tid,
            server_address: r.server_signed1.server_address.clone(),
            smdp_oid,
            euicc_signature1: sig.clone(),
        }),
        prepared: None,
        loading: None,
    };
    der(&AuthenticateServerResponse::AuthenticateResponseOk(
        AuthenticateResponseOk {
            euicc_signed1: signed,
            euicc_signature1: sig.into(),
            euicc_certificate: Any::new(e.id.euicc_cert.clone()),
            eum_certificate: Any::new(e.id.eum_cert.clone()),
            extensions: ext(),
        },
    ))
}

// ------------------------------------------------------ PrepareDownload

fn new_otk(e: &Euicc, curve: Curve) -> Result<(EphemeralKeyHandle, RetainedOtk), u16> {
    for _ in 0..64 {
        let mut scalar = Zeroizing::new(vec![0u8; 32]);
        e.rng.fill(&mut scalar).map_err(|_| sw::TECHNICAL)?;
        if let Ok(h) = SoftwareKeyAgreement::<SystemRandom>::import(curve, &scalar) {
            let public_key = h.public_key().to_vec();
            return Ok((
                h,
                RetainedOtk {
                    curve,
                    public_key,
                    scalar,
                },
            ));
        }
    }
    Err(sw::TECHNICAL)
}

fn prepare_download(e: &mut Euicc, req: &[u8]) -> Res {
    let r: PrepareDownloadRequest = decode(req)?;
    let tid = r.smdp_signed2.transaction_id.clone();
    let fail = |code: DownloadErrorCode| {
        der(&PrepareDownloadResponse::DownloadResponseError(
            PrepareDownloadResponseError {
                transaction_id: tid.clone(),
                download_error_code: code,
                extensions: ext(),
            },
        ))
    };
    let Some(auth) = e.session.auth.clone() else {
        return fail(DownloadErrorCode::NO_SESSION_CONTEXT);
    };
    let cert_der = r.smdp_certificate.as_bytes();
    let dp = match simforge_pki::verify_dp_cert(&e.id.ci_store, cert_der, Role::DpPb, e.now()) {
        Ok(dp) => dp,
        Err(simforge_pki::Error::UnsupportedCurve(_)) => {
            return fail(DownloadErrorCode::UNSUPPORTED_CURVE);
        }
        Err(_) => return fail(DownloadErrorCode::INVALID_CERTIFICATE),
    };
    let Ok(signed2) = signed::smdp_signed2(req) else {
        return Err(sw::WRONG_DATA);
    };
    let mut signed_data = signed2.to_vec();
    signed_data.extend_from_slice(&sig_do(&auth.euicc_signature1));
    let sig_ok = simforge_pki::verify_raw_signature(
        dp.curve,
        &dp.public_key,
        &signed_data,
        r.smdp_signature2.as_ref(),
    )
    .unwrap_or(false);
    if !sig_ok {
        return fail(DownloadErrorCode::INVALID_SIGNATURE);
    }
    if tid != auth.transaction_id {
        return fail(DownloadErrorCode::INVALID_TRANSACTION_ID);
    }
    if r.smdp_signed2.cc_required_flag && r.hash_cc.is_none() {
        return fail(DownloadErrorCode::UNDEFINED_ERROR);
    }
    let curve = crypto_curve(dp.curve);
    // A retried download may ask for the one-time key already used (bppEuiccOtpk).
    let reuse = match (&r.smdp_signed2.bpp_euicc_otpk, &e.retained_otk) {
        (Some(want), Some(k)) => {
            let want: &[u8] = want.as_ref();
            k.curve == curve && k.public_key == want
        }
        _ => false,
    };
    let euicc_otpk = if reuse {
        e.retained_otk
            .as_ref()
            .map(|k| k.public_key.clone())
            .unwrap_or_default()
    } else {
        let (_, retained) = new_otk(e, curve)?;
        let pk = retained.public_key.clone();
        e.retained_otk = Some(retained);
        pk
    };
    let signed = EuiccSigned2 {
        transaction_id: tid.clone(),
        euicc_otpk: euicc_otpk.clone().into(),
        hash_cc: r.hash_cc,
        extensions: ext(),
    };
    let mut to_sign = der(&signed)?;
    to_sign.extend_from_slice(&sig_do(r.smdp_signature2.as_ref()));
    let sig = e.sign(&to_sign)?;
    e.session.prepared = Some(Prepared {
        auth,
        dp_pb_curve: curve,
        dp_pb_public_key: dp.public_key.clone(),
        smdp_oid: smdp_oid(&dp),
        euicc_otpk,
    });
    e.session.loading = None;
    der(&PrepareDownloadResponse::DownloadResponseOk(
        PrepareDownloadResponseOk {
            euicc_signed2: signed,
            euicc_signature2: sig.into(),
            extensions: ext(),
        },
    ))
}

// --------------------------------------------- LoadBoundProfilePackage

fn error_reason(err: &simforge_crypto::Error, cmd: BppCommandId) -> ErrorReason {
    use simforge_crypto::Error as C;
    match err {
        C::BadSignature | C::MalformedSignature(_) => ErrorReason::INVALID_SIGNATURE,
        C::Bpp(m) if m.contains("transactionId does not match") => {
            ErrorReason::INVALID_TRANSACTION_ID
        }
        C::Bpp(m) if m.contains("remoteOpId") => ErrorReason::UNSUPPORTED_REMOTE_OPERATION_TYPE,
        C::Unsupported(_) => ErrorReason::UNSUPPORTED_CRT_VALUES,
        C::BadMac | C::BadPadding => ErrorReason::SCP03T_SECURITY_ERROR,
        _ if cmd == BppCommandId::INITIALISE_SECURE_CHANNEL => ErrorReason::INCORRECT_INPUT_VALUES,
        _ => ErrorReason::SCP03T_STRUCTURE_ERROR,
    }
}

fn load_bpp_piece(e: &mut Euicc, piece: &[u8], tag: u32) -> Res {
    let cmd = match tag {
        0xBF36 => BppCommandId::INITIALISE_SECURE_CHANNEL,
        0xA0 => BppCommandId::CONFIGURE_ISDP,
        0xA1 | 0x88 => BppCommandId::STORE_METADATA,
        0xA2 => BppCommandId::REPLACE_SESSION_KEYS,
        _ => BppCommandId::LOAD_PROFILE_ELEMENTS,
    };
    if tag == 0xBF36 {
        let Some(prepared) = e.session.prepared.take() else {
            return Err(sw::CONDITIONS);
        };
        let Some(k) = e
            .retained_otk
            .as_ref()
            .filter(|k| k.public_key == prepared.euicc_otpk)
        else {
            return Err(sw::CONDITIONS);
        };
        let otsk = SoftwareKeyAgreement::<SystemRandom>::import(k.curve, &k.scalar)
            .map_err(|_| sw::TECHNICAL)?;
        let tid = prepared.auth.transaction_id.as_bytes().to_vec();
        let loader = BppLoader::new(
            otsk,
            &BppVerifyParams {
                eid: &e.id.eid_bytes,
                dp_pb_curve: prepared.dp_pb_curve,
                dp_pb_public_key: &prepared.dp_pb_public_key,
                transaction_id: Some(&tid),
            },
        );
        e.session.loading = Some(Box::new(Loading { loader, prepared }));
    }
    let Some(loading) = e.session.loading.as_mut() else {
        return Err(sw::CONDITIONS);
    };
    match loading.loader.process(piece) {
        Ok(LoadProgress::NeedMore) => Ok(Vec::new()),
        Ok(LoadProgress::Complete(parsed)) => {
            let Some(loading) = e.session.loading.take() else {
                return Err(sw::TECHNICAL);
            };
            e.session = Session::default();
            install(e, &loading.prepared, *parsed)
        }
        Err(err) => {
            let Some(loading) = e.session.loading.take() else {
                return Err(sw::TECHNICAL);
            };
            e.session = Session::default();
            let reason = error_reason(&err, cmd);
            pir(e, &loading.prepared, None, error_result(cmd, reason))
        }
    }
}

fn error_result(cmd: BppCommandId, reason: ErrorReason) -> FinalResult {
    FinalResult::ErrorResult(ErrorResult {
        bpp_command_id: cmd,
        error_reason: reason,
        sima_response: None,
        extensions: ext(),
    })
}

/// Signs a ProfileInstallationResult, stores it as a pending notification and returns it.
fn pir(e: &mut Euicc, p: &Prepared, iccid: Option<Iccid>, result: FinalResult) -> Res {
    let seq = e.next_seq();
    let data = ProfileInstallationResultData {
        transaction_id: p.auth.transaction_id.clone(),
        notification_metadata: NotificationMetadata {
            seq_number: seq,
            profile_management_operation: NotificationEvent::from_bits(&[
                NotificationEvent::NOTIFICATION_INSTALL,
            ]),
            notification_address: p.auth.server_address.clone(),
            iccid: iccid.clone(),
            extensions: ext(),
        },
        smdp_oid: p.smdp_oid.clone().or_else(|| p.auth.smdp_oid.clone()),
        final_result: result,
        extensions: ext(),
    };
    let sig = e.sign(&der(&data)?)?;
    let out = der(&ProfileInstallationResult {
        profile_installation_result_data: data,
        euicc_sign_pir: EuiccSignPir(sig.into()),
        extensions: ext(),
    })?;
    e.state.notifications.push(StoredNotification {
        seq_number: seq,
        operation: NotificationEvent::NOTIFICATION_INSTALL,
        address: p.auth.server_address.clone(),
        iccid: iccid.map(|i| i.0.to_vec()),
        pending: out.clone(),
    });
    e.dirty = true;
    Ok(out)
}

fn install(e: &mut Euicc, p: &Prepared, parsed: ParsedBpp) -> Res {
    let content = parsed.content;
    let Ok(meta) = from_ber::<StoreMetadataRequest>(&content.store_metadata) else {
        return pir(
            e,
            p,
            None,
            error_result(
                BppCommandId::STORE_METADATA,
                ErrorReason::INCORRECT_INPUT_VALUES,
            ),
        );
    };
    let iccid = meta.iccid.clone();
    if e.state.profiles.iter().any(|x| x.iccid == iccid.0.as_ref()) {
        return pir(
            e,
            p,
            Some(iccid),
            error_result(
                BppCommandId::STORE_METADATA,
                ErrorReason::INSTALL_FAILED_DUE_TO_ICCID_ALREADY_EXISTS_ON_EUICC,
            ),
        );
    }
    if from_ber::<ConfigureIsdpRequest>(&content.configure_isdp).is_err() {
        return pir(
            e,
            p,
            Some(iccid),
            error_result(
                BppCommandId::CONFIGURE_ISDP,
                ErrorReason::INCORRECT_INPUT_VALUES,
            ),
        );
    }
    let profile = match simforge_saip::Profile::decode(&content.profile) {
        Ok(pr) if pr.header().is_some() => pr,
        _ => {
            return pir(
                e,
                p,
                Some(iccid),
                error_result(
                    BppCommandId::LOAD_PROFILE_ELEMENTS,
                    ErrorReason::INSTALL_FAILED_DUE_TO_PE_PROCESSING_ERROR,
                ),
            );
        }
    };
    if profile.iccid().as_deref() != Some(simforge_asn1::Iccid::bcd_digits(&iccid.0).as_str()) {
        return pir(
            e,
            p,
            Some(iccid),
            error_result(
                BppCommandId::LOAD_PROFILE_ELEMENTS,
                ErrorReason::INSTALL_FAILED_DUE_TO_ICCID_MISMATCH,
            ),
        );
    }
    let nvm_size = [
        content.profile.len(),
        content.store_metadata.len(),
        content.configure_isdp.len(),
    ]
    .iter()
    .fold(0u64, |acc, n| acc.saturating_add(*n as u64));
    if nvm_size > free_nvm(e) {
        return pir(
            e,
            p,
            Some(iccid),
            error_result(
                BppCommandId::LOAD_PROFILE_ELEMENTS,
                ErrorReason::INSTALL_FAILED_DUE_TO_INSUFFICIENT_MEMORY_FOR_PROFILE,
            ),
        );
    }
    let usim = usim::from_profile(&profile);
    let Some(aid) = next_isdp_aid(e) else {
        return pir(
            e,
            p,
            Some(iccid),
            error_result(
                BppCommandId::LOAD_PROFILE_ELEMENTS,
                ErrorReason::INSTALL_FAILED_DUE_TO_INSUFFICIENT_MEMORY_FOR_PROFILE,
            ),
        );
    };
    e.state.profiles.push(InstalledProfile {
        iccid: iccid.0.to_vec(),
        isdp_aid: aid.clone(),
        enabled: false,
        nickname: None,
        metadata: content.store_metadata.clone(),
        configure_isdp: content.configure_isdp.clone(),
        usim,
        nvm_size,
    });
    // EUICCResponse ::= SEQUENCE { peStatus [0] SEQUENCE OF PEStatus { status [0] ok } }
    let sima = vec![0x30, 0x07, 0xA0, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00];
    pir(
        e,
        p,
        Some(iccid),
        FinalResult::SuccessResult(SuccessResult {
            aid: IsdpAid(aid.into()),
            sima_response: sima.into(),
            extensions: ext(),
        }),
    )
}

fn next_isdp_aid(e: &mut Euicc) -> Option<Vec<u8>> {
    for _ in 0..0xF0 {
        let n = e.state.isdp_counter;
        e.state.isdp_counter = (n + 1) % 0xF0;
        let mut aid = crate::apdu::AID_ISD_R.to_vec();
        aid[14] = 0x10 + u8::try_from(n % 0xF0).unwrap_or(0);
        if !e.state.profiles.iter().any(|p| p.isdp_aid == aid) {
            return Some(aid);
        }
    }
    None
}

// -------------------------------------------------------- CancelSession

fn cancel_session(e: &mut Euicc, req: &[u8]) -> Res {
    let r: CancelSessionRequest = decode(req)?;
    let auth = e
        .session
        .auth
        .clone()
        .or_else(|| e.session.prepared.as_ref().map(|p| p.auth.clone()))
        .or_else(|| e.session.loading.as_ref().map(|l| l.prepared.auth.clone()));
    let Some(auth) = auth.filter(|a| a.transaction_id == r.transaction_id) else {
        return der(&CancelSessionResponse::CancelSessionResponseError(5));
    };
    let Some(oid) = auth.smdp_oid.clone() else {
        return der(&CancelSessionResponse::CancelSessionResponseError(127));
    };
    let signed = EuiccCancelSessionSigned {
        transaction_id: auth.transaction_id.clone(),
        smdp_oid: oid,
        reason: r.reason,
        extensions: ext(),
    };
    let sig = e.sign(&der(&signed)?)?;
    e.session = Session::default();
    e.retained_otk = None;
    der(&CancelSessionResponse::CancelSessionResponseOk(
        CancelSessionResponseOk {
            euicc_cancel_session_signed: signed,
            euicc_cancel_session_signature: sig.into(),
            extensions: ext(),
        },
    ))
}

// ------------------------------------------------------- profile info

fn metadata_of(p: &InstalledProfile) -> Option<StoreMetadataRequest> {
    from_ber::<StoreMetadataRequest>(&p.metadata).ok()
}

fn class_of(p: &InstalledProfile) -> ProfileClass {
    metadata_of(p)
        .and_then(|m| m.profile_class)
        .unwrap_or(ProfileClass::OPERATIONAL)
}

fn ppr_of(p: &InstalledProfile) -> Option<PprIds> {
    metadata_of(p).and_then(|m| m.profile_policy_rules)
}

/// Splits a tagList into BER tags.
fn split_tags(list: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < list.len() {
        let start = i;
        if list[i] & 0x1F == 0x1F {
            i += 1;
            while i < list.len() && list[i] & 0x80 != 0 {
                i += 1;
            }
        }
        i += 1;
        out.push(list[start..i.min(list.len())].to_vec());
    }
    out
}

fn profile_info(p: &InstalledProfile, tags: Option<&[Vec<u8>]>) -> ProfileInfo {
    let want = |t: &[u8]| tags.is_none_or(|l| l.iter().any(|x| x == t));
    let meta = metadata_of(p);
    let isdp = from_ber::<ConfigureIsdpRequest>(&p.configure_isdp).ok();
    ProfileInfo {
        iccid: want(&[0x5A]).then(|| Iccid(p.iccid.clone().into())),
        isdp_aid: want(&[0x4F]).then(|| IsdpAid(p.isdp_aid.clone().into())),
        profile_state: want(&[0x9F, 0x70]).then_some(if p.enabled {
            ProfileState::ENABLED
        } else {
            ProfileState::DISABLED
        }),
        profile_nickname: if want(&[0x90]) {
            p.nickname.clone()
        } else {
            None
        },
        service_provider_name: if want(&[0x91]) {
            meta.as_ref().map(|m| m.service_provider_name.clone())
        } else {
            None
        },
        profile_name: if want(&[0x92]) {
            meta.as_ref().map(|m| m.profile_name.clone())
        } else {
            None
        },
        icon_type: if want(&[0x93]) {
            meta.as_ref().and_then(|m| m.icon_type)
        } else {
            None
        },
        icon: if want(&[0x94]) {
            meta.as_ref().and_then(|m| m.icon.clone())
        } else {
            None
        },
        profile_class: if want(&[0x95]) {
            class_of(p)
        } else {
            ProfileClass::OPERATIONAL
        },
        notification_configuration_info: if want(&[0xB6]) {
            meta.as_ref()
                .and_then(|m| m.notification_configuration_info.clone())
        } else {
            None
        },
        profile_owner: if want(&[0xB7]) {
            meta.as_ref().and_then(|m| m.profile_owner.clone())
        } else {
            None
        },
        dp_proprietary_data: if want(&[0xB8]) {
            isdp.and_then(|i| i.dp_proprietary_data)
        } else {
            None
        },
        profile_policy_rules: if want(&[0x99]) {
            meta.and_then(|m| m.profile_policy_rules)
        } else {
            None
        },
        extensions: ext(),
    }
}

fn list_profile_info(e: &mut Euicc, req: &[u8]) -> Res {
    let r: ProfileInfoListRequest = decode(req)?;
    let tags = r.tag_list.as_ref().map(|t| split_tags(t));
    let mut out = Vec::new();
    for p in &e.state.profiles {
        let keep = match &r.search_criteria {
            None => true,
            Some(ProfileSearchCriteria::IsdpAid(a)) => p.isdp_aid.as_slice() == a.0.as_ref(),
            Some(ProfileSearchCriteria::Iccid(i)) => p.iccid.as_slice() == i.0.as_ref(),
            Some(ProfileSearchCriteria::ProfileClass(c)) => class_of(p) == *c,
            Some(ProfileSearchCriteria::Unknown(_)) => {
                return der(&ProfileInfoListResponse::ProfileInfoListError(
                    ProfileInfoListError::INCORRECT_INPUT_VALUES,
                ));
            }
        };
        if keep {
            out.push(profile_info(p, tags.as_deref()));
        }
    }
    der(&ProfileInfoListResponse::ProfileInfoListOk(out))
}

// ------------------------------------------------- profile management

fn find(e: &Euicc, id: &ProfileIdentifier) -> Option<usize> {
    e.state.profiles.iter().position(|p| match id {
        ProfileIdentifier::IsdpAid(a) => p.isdp_aid.as_slice() == a.0.as_ref(),
        ProfileIdentifier::Iccid(i) => p.iccid.as_slice() == i.0.as_ref(),
        ProfileIdentifier::Unknown(_) => false,
    })
}

/// Creates the enable/disable/delete notification if the profile's metadata asks for one.
fn notify(e: &mut Euicc, p: &InstalledProfile, op: usize) -> Result<(), u16> {
    let Some(meta) = metadata_of(p) else {
        return Ok(());
    };
    let Some(address) = meta
        .notification_configuration_info
        .iter()
        .flatten()
        .find(|c| c.profile_management_operation.has(op))
        .map(|c| c.notification_address.clone())
    else {
        return Ok(());
    };
    let seq = e.next_seq();
    let tbs = NotificationMetadata {
        seq_number: seq,
        profile_management_operation: NotificationEvent::from_bits(&[op]),
        notification_address: address.clone(),
        iccid: Some(Iccid(p.iccid.clone().into())),
        extensions: ext(),
    };
    let sig = e.sign(&der(&tbs)?)?;
    let n = OtherSignedNotification {
        tbs_other_notification: tbs,
        euicc_notification_signature: sig.into(),
        euicc_certificate: Any::new(e.id.euicc_cert.clone()),
        eum_certificate: Any::new(e.id.eum_cert.clone()),
        extensions: ext(),
    };
    e.state.notifications.push(StoredNotification {
        seq_number: seq,
        operation: op,
        address,
        iccid: Some(p.iccid.clone()),
        pending: der(&n)?,
    });
    Ok(())
}

/// After the enabled profile changed, channels that had its USIM selected fall back to the MF.
fn usim_changed(e: &mut Euicc) {
    for ch in e.channels.iter_mut().flatten() {
        if ch.selected == crate::apdu::Selected::Usim || ch.current_ef.is_some() {
            ch.selected = crate::apdu::Selected::Mf;
            ch.current_ef = None;
        }
    }
}

fn enable_profile(e: &mut Euicc, req: &[u8]) -> Res {
    let r: EnableProfileRequest = decode(req)?;
    let result = |c: ResultCode| {
        der(&EnableProfileResponse {
            enable_result: c,
            extensions: ext(),
        })
    };
    let Some(idx) = find(e, &r.profile_identifier) else {
        return result(ResultCode::ICCID_OR_AID_NOT_FOUND);
    };
    if e.state.profiles[idx].enabled {
        return result(ResultCode::PROFILE_NOT_IN_EXPECTED_STATE);
    }
    let current = e.state.profiles.iter().position(|p| p.enabled);
    if let Some(c) = current
        && ppr_of(&e.state.profiles[c]).is_some_and(|p| p.has(PprIds::PPR1))
    {
        return result(ResultCode::DISALLOWED_BY_POLICY);
    }
    if let Some(c) = current {
        e.state.profiles[c].enabled = false;
        let p = e.state.profiles[c].clone();
        notify(e, &p, NotificationEvent::NOTIFICATION_DISABLE)?;
    }
    e.state.profiles[idx].enabled = true;
    let p = e.state.profiles[idx].clone();
    notify(e, &p, NotificationEvent::NOTIFICATION_ENABLE)?;
    usim_changed(e);
    e.dirty = true;
    result(ResultCode::OK)
}

fn disable_profile(e: &mut Euicc, req: &[u8]) -> Res {
    let r: DisableProfileRequest = decode(req)?;
    let result = |c: ResultCode| {
        der(&DisableProfileResponse {
            disable_result: c,
            extensions: ext(),
        })
    };
    let Some(idx) = find(e, &r.profile_identifier) else {
        return result(ResultCode::ICCID_OR_AID_NOT_FOUND);
    };
    if !e.state.profiles[idx].enabled {
        return result(ResultCode::PROFILE_NOT_IN_EXPECTED_STATE);
    }
    if ppr_of(&e.state.profiles[idx]).is_some_and(|p| p.has(PprIds::PPR1)) {
        return result(ResultCode::DISALLOWED_BY_POLICY);
    }
    e.state.profiles[idx].enabled = false;
    let p = e.state.profiles[idx].clone();
    notify(e, &p, NotificationEvent::NOTIFICATION_DISABLE)?;
    usim_changed(e);
    e.dirty = true;
    result(ResultCode::OK)
}

fn delete_profile(e: &mut Euicc, req: &[u8]) -> Res {
    let r: DeleteProfileRequest = decode(req)?;
    let result = |c: ResultCode| {
        der(&DeleteProfileResponse {
            delete_result: c,
            extensions: ext(),
        })
    };
    let Some(idx) = find(e, &r.0) else {
        return result(ResultCode::ICCID_OR_AID_NOT_FOUND);
    };
    if e.state.profiles[idx].enabled {
        return result(ResultCode::PROFILE_NOT_IN_EXPECTED_STATE);
    }
    if ppr_of(&e.state.profiles[idx]).is_some_and(|p| p.has(PprIds::PPR2)) {
        return result(ResultCode::DISALLOWED_BY_POLICY);
    }
    let p = e.state.profiles.remove(idx);
    notify(e, &p, NotificationEvent::NOTIFICATION_DELETE)?;
    e.dirty = true;
    result(ResultCode::OK)
}

fn memory_reset(e: &mut Euicc, req: &[u8]) -> Res {
    let r: EuiccMemoryResetRequest = decode(req)?;
    let o = &r.reset_options;
    let before = e.state.profiles.len();
    let del_op = o.has(ResetOptions::DELETE_OPERATIONAL_PROFILES);
    let del_test = o.has(ResetOptions::DELETE_FIELD_LOADED_TEST_PROFILES);
    e.state.profiles.retain(|p| {
        let c = class_of(p);
        !((del_op && c == ProfileClass::OPERATIONAL) || (del_test && c == ProfileClass::TEST))
    });
    let mut changed = e.state.profiles.len() != before;
    if o.has(ResetOptions::RESET_DEFAULT_SMDP_ADDRESS) && e.state.default_dp_address.is_some() {
        e.state.default_dp_address = None;
        changed = true;
    }
    if changed {
        usim_changed(e);
        e.dirty = true;
    }
    der(&EuiccMemoryResetResponse {
        reset_result: if changed {
            ResultCode::OK
        } else {
            ResultCode::ICCID_OR_AID_NOT_FOUND
        },
        extensions: ext(),
    })
}

fn get_eid(e: &mut Euicc, req: &[u8]) -> Res {
    let r: GetEuiccDataRequest = decode(req)?;
    let tl: &[u8] = r.tag_list.as_ref();
    if tl != [0x5A] {
        return Err(sw::DATA_NOT_FOUND);
    }
    der(&GetEuiccDataResponse {
        eid_value: e.id.eid_bytes.into(),
        extensions: ext(),
    })
}

fn set_nickname(e: &mut Euicc, req: &[u8]) -> Res {
    let r: SetNicknameRequest = decode(req)?;
    let code = match e
        .state
        .profiles
        .iter_mut()
        .find(|p| p.iccid.as_slice() == r.iccid.0.as_ref())
    {
        Some(p) if r.profile_nickname.len() <= 64 => {
            p.nickname = Some(r.profile_nickname.clone());
            e.dirty = true;
            ResultCode::OK
        }
        Some(_) => ResultCode::UNDEFINED_ERROR,
        None => ResultCode::ICCID_OR_AID_NOT_FOUND,
    };
    der(&SetNicknameResponse {
        set_nickname_result: code,
        extensions: ext(),
    })
}

fn configured_addresses(e: &mut Euicc, req: &[u8]) -> Res {
    decode::<EuiccConfiguredAddressesRequest>(req)?;
    der(&EuiccConfiguredAddressesResponse {
        default_dp_address: e.state.default_dp_address.clone(),
        root_ds_address: e.state.root_ds_address.clone(),
        extensions: ext(),
    })
}

fn set_default_dp_address(e: &mut Euicc, req: &[u8]) -> Res {
    let r: SetDefaultDpAddressRequest = decode(req)?;
    e.state.default_dp_address = if r.default_dp_address.is_empty() {
        None
    } else {
        Some(r.default_dp_address)
    };
    e.dirty = true;
    der(&SetDefaultDpAddressResponse {
        set_default_dp_address_result: ResultCode::OK,
        extensions: ext(),
    })
}

fn get_rat(req: &[u8]) -> Res {
    decode::<GetRatRequest>(req)?;
    der(&GetRatResponse {
        rat: Vec::new(),
        extensions: ext(),
    })
}

// ------------------------------------------------------- notifications

fn metadata_of_notification(n: &StoredNotification) -> NotificationMetadata {
    NotificationMetadata {
        seq_number: n.seq_number,
        profile_management_operation: NotificationEvent::from_bits(&[n.operation]),
        notification_address: n.address.clone(),
        iccid: n.iccid.clone().map(|i| Iccid(i.into())),
        extensions: ext(),
    }
}

fn op_matches(filter: &NotificationEvent, op: usize) -> bool {
    filter.0.not_any() || filter.has(op)
}

fn list_notification(e: &mut Euicc, req: &[u8]) -> Res {
    let r: ListNotificationRequest = decode(req)?;
    let list = e
        .state
        .notifications
        .iter()
        .filter(|n| {
            r.profile_management_operation
                .as_ref()
                .is_none_or(|f| op_matches(f, n.operation))
        })
        .map(metadata_of_notification)
        .collect();
    der(&ListNotificationResponse::NotificationMetadataList(list))
}

fn retrieve_notifications(e: &mut Euicc, req: &[u8]) -> Res {
    let r: RetrieveNotificationsListRequest = decode(req)?;
    let mut list = Vec::new();
    for n in &e.state.notifications {
        let keep = match &r.search_criteria {
            None => true,
            Some(NotificationSearchCriteria::SeqNumber(s)) => n.seq_number == *s,
            Some(NotificationSearchCriteria::ProfileManagementOperation(f)) => {
                op_matches(f, n.operation)
            }
            Some(NotificationSearchCriteria::Unknown(_)) => false,
        };
        if keep {
            let p = from_ber::<PendingNotification>(&n.pending).map_err(|_| sw::TECHNICAL)?;
            list.push(p);
        }
    }
    if list.is_empty()
        && matches!(
            r.search_criteria,
            Some(NotificationSearchCriteria::SeqNumber(_))
        )
    {
        return der(&RetrieveNotificationsListResponse::NotificationsListResultError(1));
    }
    der(&RetrieveNotificationsListResponse::NotificationList(list))
}

fn remove_notification(e: &mut Euicc, req: &[u8]) -> Res {
    let r: NotificationSentRequest = decode(req)?;
    let before = e.state.notifications.len();
    e.state
        .notifications
        .retain(|n| n.seq_number != r.seq_number);
    let removed = e.state.notifications.len() != before;
    if removed {
        e.dirty = true;
    }
    der(&NotificationSentResponse {
        delete_notification_status: if removed {
            ResultCode::OK
        } else {
            ResultCode::ICCID_OR_AID_NOT_FOUND
        },
        extensions: ext(),
    })
}
