//! ES9+ (SGP.22 §5.6): the LPA-facing functions, as pure functions of (request, state, ctx)
//! returning an [`Outcome`]: response, state changes and events.
//!
//! Every failure terminates the RSP session (its transactionId becomes unknown) and releases
//! the profile it held; counters (confirmation code attempts) are persisted even on failure.

use sha2::{Digest, Sha256};
use simforge_asn1::json::{
    Asn1B64, AuthenticateClientRequest, AuthenticateClientResponse, B64Bytes, CancelSessionRequest,
    GetBoundProfilePackageRequest, GetBoundProfilePackageResponse, HandleNotificationRequest,
    HeaderOnlyResponse, InitiateAuthenticationRequest, InitiateAuthenticationResponse,
};
use simforge_asn1::rsp::{
    self, AuthenticateServerResponse, CancelSessionResponse, CtxParams1, FinalResult,
    PendingNotification, PrepareDownloadResponse,
};
use simforge_asn1::status::ResponseHeader;
use simforge_asn1::{Eid, Extensions, Iccid, TransactionId, signed};
use std::sync::{Arc, Mutex};

use simforge_crypto::{
    BppBuildParams, EphemeralKeyHandle, EphemeralSecret, KeyAgreement, ProfileSource, Random,
    SharedSecret, Signature, build_bpp,
};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::cancel::{CancelAction, CancelSessionPolicy};
use crate::config::{Ctx, DpKey};
use crate::error::{Error, Result};
use crate::model::{
    BppBinding, Event, KeyCurve, Outcome, ProfileRecord, ProfileState, RadioAccess, Session,
    SessionChange, SessionState, Unseal, UnsealResult,
};
use crate::profile;

/// `5F37 40 ‖ r‖s`: a signature as the data object SGP.22 signs over and sends.
pub(crate) fn sig_tlv(sig: &Signature) -> Vec<u8> {
    let mut v = Vec::with_capacity(67);
    v.extend_from_slice(&[0x5F, 0x37, 0x40]);
    v.extend_from_slice(sig.as_bytes());
    v
}

fn asn1_err(e: simforge_asn1::Error) -> Error {
    Error::Crypto(crate::error::Cause::with_source("encoding", e))
}

fn verify_sig(key: &(KeyCurve, Vec<u8>), msg: &[u8], sig: &[u8], what: &'static str) -> Result<()> {
    let sig = Signature::from_slice(sig).map_err(|_| Error::EuiccSignatureInvalid(what))?;
    simforge_crypto::verify(key.0.crypto(), &key.1, msg, &sig)
        .map_err(|_| Error::EuiccSignatureInvalid(what))
}

fn live_session(session: Option<Session>, now: i64) -> Result<Session> {
    match session {
        Some(s) if s.expires_at > now => Ok(s),
        _ => Err(Error::UnknownTransactionId),
    }
}

fn oid_string(oid: &rasn::types::ObjectIdentifier) -> String {
    let arcs: &[u32] = oid.as_ref();
    arcs.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

use simforge_asn1::rasn;

// ------------------------------------------------------------ InitiateAuthentication

/// ES9+.InitiateAuthentication: checks the address, SVN and CI PKIDs, opens a session with a
/// fresh random transactionId and serverChallenge, and signs serverSigned1 with DPauth.
pub fn initiate_authentication(
    req: &InitiateAuthenticationRequest,
    ctx: &Ctx<'_>,
) -> Outcome<InitiateAuthenticationResponse> {
    match initiate_inner(req, ctx) {
        Ok((resp, session)) => Outcome {
            result: Ok(resp),
            session: SessionChange::Put(session),
            profile: None,
            events: Vec::new(),
            subject: None,
            unseal: None,
        },
        Err(e) => Outcome::fail(e),
    }
}

fn initiate_inner(
    req: &InitiateAuthenticationRequest,
    ctx: &Ctx<'_>,
) -> Result<(InitiateAuthenticationResponse, Session)> {
    let keys = ctx.keys;
    // A CI is usable only when both DPauth and DPpb certificates under it exist.
    let usable = |p: &[u8]| keys.pb_for(p).is_some();
    let accepts = |a: &str| ctx.config.accepts_address(a);
    open_session(
        req,
        &AuthServer {
            ci: &keys.ci,
            auth: &keys.auth,
            usable_ci: &usable,
            accepts_address: &accepts,
            session_ttl_secs: ctx.config.session_ttl_secs,
            rng: ctx.rng,
            now: ctx.now,
        },
    )
}

// ---------------------------------------------- the common mutual authentication

/// The server side of the common mutual authentication (SGP.22 §3.1.2: InitiateAuthentication
/// then AuthenticateClient), shared by the SM-DP+ (ES9+, DPauth) and the SM-DS (ES11,
/// DSauth): who answers, with which keys, trusting which CIs.
#[derive(Clone, Copy)]
pub struct AuthServer<'a> {
    /// Trusted CIs: the PKIDs accepted from euiccInfo1, the eUICC chains' anchors.
    pub ci: &'a simforge_pki::CiStore,
    /// The authentication keys (CERT.DPauth or CERT.DSauth), one per CI.
    pub auth: &'a [DpKey],
    /// Whether the server can serve under a CI (by PKID) besides having its auth key (the
    /// SM-DP+ also needs DPpb there); `|_| true` when the auth key is enough.
    pub usable_ci: &'a dyn Fn(&[u8]) -> bool,
    /// Whether an address the LPA sent (`smdpAddress`, `host[:port]`) designates this server.
    pub accepts_address: &'a dyn Fn(&str) -> bool,
    /// Lifetime of the session opened, in seconds.
    pub session_ttl_secs: i64,
    /// Randomness (transactionId, serverChallenge).
    pub rng: &'a dyn Random,
    /// Now.
    pub now: crate::model::UnixTime,
}

impl std::fmt::Debug for AuthServer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthServer")
            .field("auth", &self.auth)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// InitiateAuthentication (SGP.22 §5.6.1, §5.8.1): checks the address, SVN and CI PKIDs,
/// and opens a session with a fresh random transactionId and serverChallenge, signing
/// serverSigned1 (serverAddress = the address the LPA sent) with the auth key under the
/// first CI of euiccCiPKIdListForVerification the server can use.
///
/// # Errors
/// [`Error::InvalidSmdpAddress`], [`Error::UnsupportedSvn`], [`Error::NoSupportedCiPublicKey`],
/// [`Error::NoDpAuthForCi`] (the SM-DS maps them to its 8.9.x codes), or a crypto failure.
pub fn open_session(
    req: &InitiateAuthenticationRequest,
    server: &AuthServer<'_>,
) -> Result<(InitiateAuthenticationResponse, Session)> {
    let euicc_challenge: [u8; 16] = req
        .euicc_challenge
        .0
        .as_slice()
        .try_into()
        .map_err(|_| Error::MandatoryElement("euiccChallenge (16 octets)"))?;
    if !(server.accepts_address)(&req.smdp_address) {
        return Err(Error::InvalidSmdpAddress);
    }
    let info1 = req.euicc_info1.value();
    if info1.svn.0[0] != 2 {
        return Err(Error::UnsupportedSvn(info1.svn.to_string()));
    }
    let trusted = server.ci.pkids();
    let is_trusted = |p: &[u8]| trusted.iter().any(|t| t.as_slice() == p);
    let verification: Vec<&[u8]> = info1
        .euicc_ci_pkid_list_for_verification
        .iter()
        .map(|p| &p[..])
        .filter(|p| is_trusted(p))
        .collect();
    let signing: Vec<Vec<u8>> = info1
        .euicc_ci_pkid_list_for_signing
        .iter()
        .map(|p| p.to_vec())
        .filter(|p| is_trusted(p))
        .collect();
    if verification.is_empty() || signing.is_empty() {
        return Err(Error::NoSupportedCiPublicKey);
    }
    let (ci_pkid, auth) = verification
        .iter()
        .find_map(|p| {
            server
                .auth
                .iter()
                .find(|k| k.ci_pkid == *p && (server.usable_ci)(p))
                .map(|k| (p.to_vec(), k))
        })
        .ok_or(Error::NoDpAuthForCi)?;

    let mut tid_bytes = [0u8; 16];
    server.rng.fill(&mut tid_bytes)?;
    let tid = TransactionId::from_bytes(&tid_bytes).map_err(asn1_err)?;
    let mut server_challenge = [0u8; 16];
    server.rng.fill(&mut server_challenge)?;
    let server_signed1 = Asn1B64::new(rsp::ServerSigned1 {
        transaction_id: tid.clone(),
        euicc_challenge: euicc_challenge.into(),
        server_address: req.smdp_address.clone(),
        server_challenge: server_challenge.into(),
        extensions: Extensions::default(),
    })
    .map_err(asn1_err)?;
    let signature = auth.signer.sign(server_signed1.raw())?;
    let mut pkid_tlv = vec![0x04, u8::try_from(ci_pkid.len()).unwrap_or(20)];
    pkid_tlv.extend_from_slice(&ci_pkid);

    let session = Session {
        transaction_id: tid.clone(),
        state: SessionState::Initiated,
        created_at: server.now,
        expires_at: server.now + server.session_ttl_secs,
        smdp_address: req.smdp_address.clone(),
        euicc_challenge: euicc_challenge.to_vec(),
        server_challenge: server_challenge.to_vec(),
        ci_pkid,
        signing_ci_pkids: signing,
        eid: None,
        euicc_public_key: None,
        operator_id: None,
        iccid: None,
        smdp_signature2: None,
        cc_required: false,
    };
    let resp = InitiateAuthenticationResponse {
        header: ResponseHeader::success(),
        transaction_id: Some(tid),
        server_signed1: Some(server_signed1),
        server_signature1: Some(B64Bytes(sig_tlv(&signature))),
        euicc_ci_pk_id_to_be_used: Some(B64Bytes(pkid_tlv)),
        server_certificate: Some(B64Bytes(auth.cert_der.clone())),
    };
    Ok((resp, session))
}

// --------------------------------------------------------------- AuthenticateClient

/// How the profile of an authenticated eUICC is to be found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileLookup {
    /// By the matchingId of the activation code / event.
    MatchingId(String),
    /// No matchingId: a released order for this EID (default SM-DP+ / SM-DS).
    Eid(Eid),
}

/// A verified eUICC (first half of AuthenticateClient): what the store needs to find the
/// profile, and what the second half needs to bind it.
#[derive(Clone, Debug)]
pub struct ClientAuth {
    session: Session,
    eid: Eid,
    matching_id: Option<String>,
    euicc_key: (KeyCurve, Vec<u8>),
    euicc_signature1_tlv: Vec<u8>,
    caps: EuiccCapabilities,
    device: DeviceSupport,
}

/// What the device declared in ctxParams1.deviceInfo (SGP.22 §4.2) that the eligibility
/// check uses: the radio access technologies of its deviceCapabilities (a technology is
/// supported when a release is given for it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceSupport {
    /// The supported technologies, in [`RadioAccess::ALL`] order.
    pub radio_access: Vec<RadioAccess>,
}

impl DeviceSupport {
    /// From DeviceInfo.
    #[must_use]
    pub fn from_device_info(info: &rsp::DeviceInfo) -> Self {
        let c = &info.device_capabilities;
        let declared = |r: RadioAccess| {
            match r {
                RadioAccess::Gsm => &c.gsm_supported_release,
                RadioAccess::Utran => &c.utran_supported_release,
                RadioAccess::Cdma2000Onex => &c.cdma2000onex_supported_release,
                RadioAccess::Cdma2000Hrpd => &c.cdma2000hrpd_supported_release,
                RadioAccess::Cdma2000Ehrpd => &c.cdma2000ehrpd_supported_release,
                RadioAccess::EutranEpc => &c.eutran_supported_release,
                RadioAccess::NrEpc => &c.nr_epc_supported_release,
                RadioAccess::Nr5gc => &c.nr5gc_supported_release,
                RadioAccess::Eutran5gc => &c.eutran5gc_supported_release,
            }
            .is_some()
        };
        Self {
            radio_access: RadioAccess::ALL
                .into_iter()
                .filter(|r| declared(*r))
                .collect(),
        }
    }
}

/// What the eUICC declared in euiccInfo2 that the eligibility check uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EuiccCapabilities {
    /// profileVersion: the highest SAIP version the eUICC fully supports (major, minor, rev).
    pub profile_version: [u8; 3],
    /// Free non-volatile memory from extCardResource (TS 102 226 tag `82`), if given.
    pub free_nvm: Option<u64>,
    /// forbiddenProfilePolicyRules, as PprIds bit numbers.
    pub forbidden_ppr: Vec<u8>,
}

impl EuiccCapabilities {
    /// From euiccInfo2.
    #[must_use]
    pub fn from_info2(info2: &rsp::EuiccInfo2) -> Self {
        let v: &[u8] = info2.profile_version.0.as_ref();
        let mut profile_version = [0u8; 3];
        for (d, s) in profile_version.iter_mut().zip(v) {
            *d = *s;
        }
        Self {
            profile_version,
            free_nvm: ext_card_resource_value(&info2.ext_card_resource, 0x82),
            forbidden_ppr: info2
                .forbidden_profile_policy_rules
                .as_ref()
                .map(|f| (0u8..8).filter(|b| f.has(usize::from(*b))).collect())
                .unwrap_or_default(),
        }
    }
}

/// A value of ETSI TS 102 226 §8.2.1.7.2 extended card resource information (`81`
/// installed applications, `82` free non-volatile memory, `83` free volatile memory).
fn ext_card_resource_value(data: &[u8], tag: u32) -> Option<u64> {
    let tlvs = simforge_crypto::tlv::parse_all(data).ok()?;
    let t = tlvs.iter().find(|t| t.tag == tag)?;
    if t.value.is_empty() || t.value.len() > 8 {
        return None;
    }
    Some(
        t.value
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    )
}

impl ClientAuth {
    /// The profile to load.
    #[must_use]
    pub fn lookup(&self) -> ProfileLookup {
        match &self.matching_id {
            Some(m) if !m.is_empty() => ProfileLookup::MatchingId(m.clone()),
            _ => ProfileLookup::Eid(self.eid),
        }
    }

    /// The authenticated EID.
    #[must_use]
    pub fn eid(&self) -> &Eid {
        &self.eid
    }

    /// ctxParams1.matchingId as the eUICC signed it (`None` when absent).
    #[must_use]
    pub fn matching_id(&self) -> Option<&str> {
        self.matching_id.as_deref()
    }

    /// The session's transactionId.
    #[must_use]
    pub fn transaction_id(&self) -> &TransactionId {
        &self.session.transaction_id
    }
}

/// AuthenticateClient, first half: session, transactionId, serverAddress, serverChallenge,
/// eUICC → EUM → CI chain (validity, EID range), CI among euiccCiPKIdListForSigning and
/// euiccSignature1.
///
/// # Errors
/// The protocol error to answer with; the caller then ends the session ([`fail_session`]).
pub fn verify_client(
    req: &AuthenticateClientRequest,
    session: Option<Session>,
    ctx: &Ctx<'_>,
) -> Result<ClientAuth> {
    let created_at = session.as_ref().map_or(ctx.now, |s| s.created_at);
    verify_client_with(req, session, &ctx.keys_of(created_at).ci, ctx.now)
}

/// AuthenticateClient's verification of the eUICC, as [`verify_client`], against the CIs
/// `ci` at `now`: the common mutual authentication's second half, shared by the SM-DP+
/// (ES9+) and the SM-DS (ES11). `session` is the one InitiateAuthentication opened (its
/// address is the server's: euiccSigned1.serverAddress must be it).
///
/// # Errors
/// The protocol error to answer with.
pub fn verify_client_with(
    req: &AuthenticateClientRequest,
    session: Option<Session>,
    ci: &simforge_pki::CiStore,
    now: crate::model::UnixTime,
) -> Result<ClientAuth> {
    let session = live_session(session, now)?;
    if session.state != SessionState::Initiated {
        return Err(Error::UnknownTransactionId);
    }
    let AuthenticateServerResponse::AuthenticateResponseOk(ok) =
        req.authenticate_server_response.value()
    else {
        return Err(Error::MandatoryElement("authenticateResponseOk"));
    };
    let signed1 = &ok.euicc_signed1;
    if signed1.transaction_id != session.transaction_id
        || req.transaction_id != session.transaction_id
    {
        return Err(Error::UnknownTransactionId);
    }
    let signed1_raw = signed::euicc_signed1(req.authenticate_server_response.raw())
        .map_err(|_| Error::MandatoryElement("euiccSigned1"))?;
    if signed1.server_address != session.smdp_address {
        return Err(Error::InvalidSmdpAddress);
    }
    if signed1.server_challenge.as_ref() != session.server_challenge.as_slice() {
        return Err(Error::EuiccSignatureInvalid("serverChallenge"));
    }
    let verified = simforge_pki::verify_euicc_chain(
        ci,
        ok.eum_certificate.as_bytes(),
        ok.euicc_certificate.as_bytes(),
        now,
    )
    .map_err(|e| Error::from_euicc_chain(&e))?;
    // Chains are built by key identifier and signature; a differing issuer name (SGP.26 v1
    // EUMs under the v3 CI) is accepted, and said.
    for m in &verified.issuer_name_mismatches {
        tracing::warn!(
            role = %m.role,
            issuer_name = %m.issuer_name,
            issuer_subject = %m.issuer_subject,
            key_id = %m.key_id,
            "eUICC chain accepted by key identifier and signature despite an issuer name mismatch"
        );
    }
    if !session.signing_ci_pkids.contains(&verified.ci_pkid) {
        return Err(Error::UnknownCiPublicKey);
    }
    let euicc_key = (KeyCurve::from_pki(verified.curve), verified.public_key);
    verify_sig(
        &euicc_key,
        signed1_raw,
        &ok.euicc_signature1,
        "euiccSignature1",
    )?;
    let eid =
        Eid::parse(&verified.eid).map_err(|_| Error::EuiccCertificateInvalid("EID".into()))?;
    let (matching_id, device) = match &signed1.ctx_params1 {
        CtxParams1::CtxParamsForCommonAuthentication(c) => (
            c.matching_id.clone(),
            DeviceSupport::from_device_info(&c.device_info),
        ),
        _ => return Err(Error::MandatoryElement("ctxParamsForCommonAuthentication")),
    };
    let sig = Signature::from_slice(&ok.euicc_signature1)
        .map_err(|_| Error::EuiccSignatureInvalid("euiccSignature1"))?;
    Ok(ClientAuth {
        session,
        eid,
        matching_id,
        euicc_key,
        euicc_signature1_tlv: sig_tlv(&sig),
        caps: EuiccCapabilities::from_info2(&signed1.euicc_info2),
        device,
    })
}

/// The outcome of any ES9+ failure on a known session: the session ends and the profile it
/// held (if given) is released.
pub fn fail_session<R>(
    e: Error,
    tid: Option<&TransactionId>,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<R> {
    let profile = profile.and_then(|mut p| {
        (tid.is_some() && p.session.as_ref() == tid).then(|| {
            p.unlock();
            p.updated_at = ctx.now;
            p
        })
    });
    Outcome {
        result: Err(e),
        session: tid.map_or(SessionChange::Keep, |t| SessionChange::Delete(t.clone())),
        profile,
        events: Vec::new(),
        subject: None,
        unseal: None,
    }
}

fn progress(p: &ProfileRecord, point: u32, failure: Option<&Error>, at: i64) -> Event {
    Event::DownloadProgress {
        operator_id: p.operator_id,
        iccid: p.iccid.clone(),
        profile_type: p.profile_type.clone(),
        eid: p.eid,
        point,
        failure: failure
            .and_then(Error::status_code)
            .map(|c| (c.subject().to_owned(), c.reason().to_owned())),
        result_data: None,
        at,
    }
}

fn state_event(p: &ProfileRecord, from: ProfileState, at: i64) -> Option<Event> {
    (from != p.state).then(|| Event::ProfileState {
        operator_id: p.operator_id,
        iccid: p.iccid.clone(),
        from,
        to: p.state,
        at,
    })
}

fn check_eligible(p: &ProfileRecord, eid: &Eid, ctx: &Ctx<'_>) -> Result<()> {
    if let Some(bound) = &p.eid
        && bound != eid
    {
        return Err(Error::EidRefused);
    }
    if p.download_attempts >= ctx.config.max_download_attempts
        && matches!(
            p.state,
            ProfileState::Released | ProfileState::Downloaded | ProfileState::Error
        )
    {
        return Err(Error::DownloadRetriesExceeded);
    }
    match p.state {
        ProfileState::Released => {}
        // A retried download of the same order to the same eUICC.
        ProfileState::Downloaded if p.eid.as_ref() == Some(eid) => {}
        ProfileState::Allocated | ProfileState::Linked | ProfileState::Confirmed => {
            return Err(Error::ProfileNotReleased);
        }
        _ => return Err(Error::BppNotAvailable),
    }
    if p.order_expires_at.is_some_and(|t| t <= ctx.now) {
        return Err(Error::OrderExpired);
    }
    if p.download_attempts >= ctx.config.max_download_attempts {
        return Err(Error::DownloadRetriesExceeded);
    }
    if p.cc_hash.is_some() && p.cc_attempts >= ctx.config.max_cc_attempts {
        return Err(Error::ConfirmationCodeRetriesExceeded);
    }
    Ok(())
}

/// The eligibility check of SGP.22 §3.1.3.2 against what the eUICC declared in euiccInfo2:
/// the profile's SAIP version against profileVersion and its Profile Policy Rules against
/// forbiddenProfilePolicyRules (8.2.5 / 4.3), its size against the free non-volatile memory
/// of extCardResource (8.1 / 4.8).
///
/// # Errors
/// [`Error::NotEligible`] or [`Error::InsufficientMemory`].
pub fn check_euicc_eligible(p: &ProfileRecord, caps: &EuiccCapabilities) -> Result<()> {
    if let Some((major, minor)) = p.requirements.saip_version {
        let [emaj, emin, _] = caps.profile_version;
        if (major, minor) > (emaj, emin) {
            return Err(Error::NotEligible(
                "SAIP version above euiccInfo2.profileVersion",
            ));
        }
    }
    if p.requirements
        .ppr
        .iter()
        .any(|r| caps.forbidden_ppr.contains(r))
    {
        return Err(Error::NotEligible(
            "a PPR of the profile is forbidden on the eUICC",
        ));
    }
    if let (Some(size), Some(free)) = (p.requirements.package_size, caps.free_nvm)
        && size > free
    {
        return Err(Error::InsufficientMemory);
    }
    Ok(())
}

/// The eligibility check of SGP.22 §3.1.3.2 against what the device declared in
/// ctxParams1.deviceInfo (§4.2 DeviceCapabilities): a profile restricted to some radio access
/// technologies needs a device supporting at least one of them, else "no eligible profile for
/// this eUICC/Device" (8.2.5 / 4.3, as for the eUICC-side checks).
///
/// # Errors
/// [`Error::NotEligible`].
pub fn check_device_eligible(p: &ProfileRecord, device: &DeviceSupport) -> Result<()> {
    let needed = &p.requirements.radio_access;
    if needed.is_empty() || needed.iter().any(|r| device.radio_access.contains(r)) {
        Ok(())
    } else {
        Err(Error::NotEligible(
            "the device supports none of the profile's radio access technologies",
        ))
    }
}

/// AuthenticateClient, second half: checks the order (matchingId/EID binding, state,
/// expiry, retry limits), the eligibility of the eUICC and the device, binds the profile to
/// the EID and the session, and signs smdpSigned2 with DPpb.
pub fn authenticate_client(
    auth: ClientAuth,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<AuthenticateClientResponse> {
    let subject = profile.as_ref().map(ProfileRecord::subject);
    authenticate_client_inner(auth, profile, ctx).about(subject)
}

fn authenticate_client_inner(
    auth: ClientAuth,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<AuthenticateClientResponse> {
    let tid = auth.session.transaction_id.clone();
    let Some(mut p) = profile else {
        let e = match auth.lookup() {
            ProfileLookup::MatchingId(_) => Error::MatchingIdUnknown,
            ProfileLookup::Eid(_) => Error::MatchingIdRefused,
        };
        return fail_session(e, Some(&tid), None, ctx);
    };
    // A live session of *another* eUICC holds the profile. The same eUICC coming back with a
    // new session (its LPA gone, the server restarted) supersedes its abandoned one: the
    // old transactionId no longer matches the profile, so it can neither fetch the BPP nor
    // change the profile.
    if p.locked_by_other(Some(&tid), ctx.now) && p.eid.as_ref() != Some(&auth.eid) {
        let mut out = fail_session(Error::BppNotAvailable, Some(&tid), None, ctx);
        out.events
            .push(progress(&p, 1, Some(&Error::BppNotAvailable), ctx.now));
        return out;
    }
    if let Err(e) = check_eligible(&p, &auth.eid, ctx)
        .and_then(|()| check_euicc_eligible(&p, &auth.caps))
        .and_then(|()| check_device_eligible(&p, &auth.device))
    {
        let mut out = fail_session(e, Some(&tid), None, ctx);
        if let Err(e) = &out.result {
            out.events.push(progress(&p, 1, Some(e), ctx.now));
        }
        return out;
    }
    match bind(&auth, &mut p, ctx) {
        Ok((resp, session)) => {
            let events = vec![progress(&p, 1, None, ctx.now)];
            Outcome {
                result: Ok(resp),
                session: SessionChange::Put(session),
                profile: Some(p),
                events,
                subject: None,
                unseal: None,
            }
        }
        Err(e) => fail_session(e, Some(&tid), None, ctx),
    }
}

fn bind(
    auth: &ClientAuth,
    p: &mut ProfileRecord,
    ctx: &Ctx<'_>,
) -> Result<(AuthenticateClientResponse, Session)> {
    let mut session = auth.session.clone();
    let tid = session.transaction_id.clone();
    let pb = ctx
        .keys_of(session.created_at)
        .pb_for(&session.ci_pkid)
        .ok_or_else(|| Error::Config("no DPpb key for the selected CI".into()))?;
    let cc_required = p.cc_hash.is_some();
    // A retried download of an order already bound to this eUICC: offer the one-time key
    // of the previous binding so the eUICC may reuse it (SGP.22 §3.1.3, bppEuiccOtpk).
    let bpp_euicc_otpk = p
        .binding
        .as_ref()
        .filter(|_| p.eid.as_ref() == Some(&auth.eid))
        .map(|b| b.euicc_otpk.clone().into());
    let smdp_signed2 = Asn1B64::new(rsp::SmdpSigned2 {
        transaction_id: tid.clone(),
        cc_required_flag: cc_required,
        bpp_euicc_otpk,
        extensions: Extensions::default(),
    })
    .map_err(asn1_err)?;
    let mut msg = smdp_signed2.raw().to_vec();
    msg.extend_from_slice(&auth.euicc_signature1_tlv);
    let sig2 = sig_tlv(&pb.signer.sign(&msg)?);
    let metadata = Asn1B64::new(profile::store_metadata(p)?).map_err(asn1_err)?;

    p.eid = Some(auth.eid);
    p.session = Some(tid.clone());
    p.session_expires_at = Some(session.expires_at);
    p.updated_at = ctx.now;

    session.state = SessionState::Authenticated;
    session.eid = Some(auth.eid);
    session.euicc_public_key = Some(auth.euicc_key.clone());
    session.operator_id = Some(p.operator_id);
    session.iccid = Some(p.iccid.clone());
    session.smdp_signature2 = Some(sig2.clone());
    session.cc_required = cc_required;
    Ok((
        AuthenticateClientResponse {
            header: ResponseHeader::success(),
            transaction_id: Some(tid),
            profile_metadata: Some(metadata),
            smdp_signed2: Some(smdp_signed2),
            smdp_signature2: Some(B64Bytes(sig2)),
            smdp_certificate: Some(B64Bytes(pb.cert_der.clone())),
        },
        session,
    ))
}

// ----------------------------------------------------------- GetBoundProfilePackage

/// The SGP.22 hashed confirmation code: SHA-256(SHA-256(CC) ‖ transactionId).
#[must_use]
pub fn hashed_cc(cc_hash: &[u8], tid: &TransactionId) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(cc_hash);
    h.update(tid.as_bytes());
    h.finalize().into()
}

/// ES9+.GetBoundProfilePackage: verifies euiccSignature2 and the hashed confirmation code,
/// then binds the profile with a fresh one-time key and hostId (BSP).
pub fn get_bound_profile_package(
    req: &GetBoundProfilePackageRequest,
    session: Option<Session>,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<GetBoundProfilePackageResponse> {
    let subject = session.as_ref().and_then(Session::subject);
    get_bpp_inner(req, session, profile, ctx).about(subject)
}

fn get_bpp_inner(
    req: &GetBoundProfilePackageRequest,
    session: Option<Session>,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<GetBoundProfilePackageResponse> {
    let session = match live_session(session, ctx.now) {
        Ok(s) if s.state == SessionState::Authenticated => s,
        // A replay after delivery: refuse, but keep the session for the PIR.
        Ok(s) if s.state == SessionState::BppDelivered => {
            return Outcome::fail(Error::UnknownTransactionId);
        }
        Ok(s) => {
            return fail_session(
                Error::UnknownTransactionId,
                Some(&s.transaction_id),
                profile,
                ctx,
            );
        }
        Err(e) => return Outcome::fail(e),
    };
    let tid = session.transaction_id.clone();
    let Some(mut p) = profile.filter(|p| p.session.as_ref() == Some(&tid)) else {
        return fail_session(Error::BppNotAvailable, Some(&tid), None, ctx);
    };
    let mut unsealed = Unsealed::No;
    let result = bpp_inner(req, &session, &mut p, ctx, &mut unsealed);
    let unseal = |result| Unseal {
        operator_id: p.operator_id,
        iccid: p.iccid.clone(),
        transaction_id: tid.clone(),
        eid: session.eid,
        at: ctx.now,
        result,
    };
    let unseal = match (&unsealed, &result) {
        (Unsealed::No, _) => None,
        (Unsealed::Failed, _) => Some(unseal(UnsealResult::UnsealFailed)),
        (Unsealed::Yes, Ok(_)) => Some(unseal(UnsealResult::Delivered)),
        (Unsealed::Yes, Err(e)) => Some(unseal(UnsealResult::NotDelivered(
            e.status_code()
                .map_or_else(|| "internal".to_owned(), |c| c.to_string()),
        ))),
    };
    match result {
        Ok(resp) => {
            let from = p.state;
            p.state = ProfileState::Downloaded;
            p.download_attempts += 1;
            p.updated_at = ctx.now;
            let mut events = vec![progress(&p, 3, None, ctx.now)];
            events.extend(state_event(&p, from, ctx.now));
            let mut s = session;
            s.state = SessionState::BppDelivered;
            Outcome {
                result: Ok(resp),
                session: SessionChange::Put(s),
                profile: Some(p),
                events,
                subject: None,
                unseal,
            }
        }
        Err(e) => {
            let point = match e {
                Error::ConfirmationCodeMissing
                | Error::ConfirmationCodeRefused
                | Error::ConfirmationCodeRetriesExceeded => 2,
                _ => 3,
            };
            let event = progress(&p, point, Some(&e), ctx.now);
            let mut out = fail_session(e, Some(&tid), Some(p), ctx);
            out.events.push(event);
            out.unseal = unseal;
            out
        }
    }
}

/// Whether GetBoundProfilePackage unsealed the profile package.
enum Unsealed {
    /// Not (refused before).
    No,
    /// Tried, and the vault refused.
    Failed,
    /// Unsealed.
    Yes,
}

fn bpp_inner(
    req: &GetBoundProfilePackageRequest,
    session: &Session,
    p: &mut ProfileRecord,
    ctx: &Ctx<'_>,
    unsealed: &mut Unsealed,
) -> Result<GetBoundProfilePackageResponse> {
    let tid = &session.transaction_id;
    if &req.transaction_id != tid {
        return Err(Error::UnknownTransactionId);
    }
    let PrepareDownloadResponse::DownloadResponseOk(ok) = req.prepare_download_response.value()
    else {
        return Err(Error::MandatoryElement("downloadResponseOk"));
    };
    if &ok.euicc_signed2.transaction_id != tid {
        return Err(Error::UnknownTransactionId);
    }
    let signed2_raw = signed::euicc_signed2(req.prepare_download_response.raw())
        .map_err(|_| Error::MandatoryElement("euiccSigned2"))?;
    let (Some(key), Some(sig2), Some(eid)) = (
        &session.euicc_public_key,
        &session.smdp_signature2,
        &session.eid,
    ) else {
        return Err(Error::UnknownTransactionId);
    };
    let mut msg = signed2_raw.to_vec();
    msg.extend_from_slice(sig2);
    verify_sig(key, &msg, &ok.euicc_signature2, "euiccSignature2")?;

    if session.cc_required {
        let stored = p.cc_hash.clone().ok_or(Error::ConfirmationCodeMissing)?;
        let outcome = match &ok.euicc_signed2.hash_cc {
            None => Err(Error::ConfirmationCodeMissing),
            Some(h) => {
                let expected = hashed_cc(&stored, tid);
                if bool::from(expected.ct_eq(h.as_ref())) {
                    Ok(())
                } else {
                    Err(Error::ConfirmationCodeRefused)
                }
            }
        };
        if let Err(e) = outcome {
            p.cc_attempts += 1;
            p.updated_at = ctx.now;
            if p.cc_attempts >= ctx.config.max_cc_attempts {
                return Err(Error::ConfirmationCodeRetriesExceeded);
            }
            return Err(e);
        }
    }
    check_eligible(p, eid, ctx)?;

    let pb = ctx
        .keys_of(session.created_at)
        .pb_for(&session.ci_pkid)
        .ok_or_else(|| Error::Config("no DPpb key for the selected CI".into()))?;
    *unsealed = Unsealed::Failed;
    let upp = profile::unseal(p, ctx.vault)?;
    *unsealed = Unsealed::Yes;
    let configure_isdp = simforge_asn1::to_der(&rsp::ConfigureIsdpRequest {
        dp_proprietary_data: None,
        extensions: Extensions::default(),
    })
    .map_err(asn1_err)?;
    let store_metadata = simforge_asn1::to_der(&profile::store_metadata(p)?).map_err(asn1_err)?;
    let eid_bytes = eid.to_bytes();
    let euicc_otpk: &[u8] = &ok.euicc_signed2.euicc_otpk;
    let curve = pb.signer.curve();
    // The eUICC reused the one-time key of the previous binding: reuse ours too (same
    // otPK.DP, hostId, hence session keys); otherwise a fresh key pair and hostId.
    let reused = p
        .binding
        .as_ref()
        .filter(|b| b.euicc_otpk.as_slice() == euicc_otpk && p.eid.as_ref() == Some(eid));
    // Fresh: the injected provider's one-time key, whose ECDH result (ShS) is captured to
    // be sealed. Reused: the sealed ShS of the previous binding stands in for the key.
    let captured: Arc<Mutex<Option<Zeroizing<Vec<u8>>>>> = Arc::default();
    let (key, host_id) = match reused {
        Some(b) => {
            let shs = ctx
                .vault
                .unseal(&binding_context(p), &b.sealed_shs)
                .map_err(|e| {
                    Error::Profile(crate::error::Cause::with_source(
                        "unsealing the retained ShS",
                        e,
                    ))
                })?;
            let key = EphemeralKeyHandle::new(Box::new(RetainedShs {
                curve,
                public: b.smdp_otpk.clone(),
                shs,
            }));
            (key, b.host_id.clone())
        }
        None => {
            let (_, inner) = ctx.key_agreement.generate_ephemeral(curve)?;
            let key = EphemeralKeyHandle::new(Box::new(Capturing {
                inner,
                slot: Arc::clone(&captured),
            }));
            let host_id: [u8; simforge_crypto::bpp::HOST_ID_LEN] = ctx.random()?;
            (key, host_id.to_vec())
        }
    };
    let built = build_bpp(
        &BppBuildParams {
            transaction_id: tid.as_bytes(),
            euicc_otpk,
            eid: &eid_bytes,
            configure_isdp: &configure_isdp,
            store_metadata: &store_metadata,
            profile: ProfileSource::Unprotected(&upp),
        },
        pb.signer.as_ref(),
        &OneKey(Mutex::new(Some(key))),
        &FixedBytes(host_id.clone()),
    )
    .map_err(|e| match e {
        simforge_crypto::Error::InvalidPublicKey => Error::MandatoryElement("euiccOtpk"),
        other => Error::from(other),
    })?;
    if built.host_id != host_id {
        return Err(Error::Crypto("BPP built with another hostId".into()));
    }
    let sealed_shs = match reused {
        Some(b) => b.sealed_shs.clone(),
        None => {
            let shs = captured
                .lock()
                .ok()
                .and_then(|mut s| s.take())
                .ok_or_else(|| Error::Crypto("key agreement not performed".into()))?;
            ctx.vault.seal(&binding_context(p), &shs).map_err(|e| {
                Error::Profile(crate::error::Cause::with_source("sealing the ShS", e))
            })?
        }
    };
    p.binding = Some(BppBinding {
        euicc_otpk: euicc_otpk.to_vec(),
        smdp_otpk: built.smdp_otpk,
        sealed_shs,
        host_id,
    });
    let bpp = Asn1B64::from_bytes(built.bpp).map_err(asn1_err)?;
    Ok(GetBoundProfilePackageResponse {
        header: ResponseHeader::success(),
        transaction_id: Some(tid.clone()),
        bound_profile_package: Some(bpp),
    })
}

fn binding_context(p: &ProfileRecord) -> String {
    format!("smdp-bpp-shs:{}:{}", p.operator_id, p.iccid)
}

/// The injected provider's otSK.DP, passing its ECDH result on to `slot` as well (to be
/// sealed and kept for a retried download).
struct Capturing {
    inner: EphemeralKeyHandle,
    slot: Arc<Mutex<Option<Zeroizing<Vec<u8>>>>>,
}

impl EphemeralSecret for Capturing {
    fn curve(&self) -> simforge_crypto::Curve {
        self.inner.curve()
    }
    fn public_key(&self) -> &[u8] {
        self.inner.public_key()
    }
    fn agree(self: Box<Self>, peer_public: &[u8]) -> simforge_crypto::Result<SharedSecret> {
        let shs = self.inner.agree(peer_public)?;
        let mut slot = self
            .slot
            .lock()
            .map_err(|_| simforge_crypto::Error::KeyAgreement)?;
        *slot = Some(Zeroizing::new(shs.as_bytes().to_vec()));
        Ok(shs)
    }
}

/// The retained binding of an earlier BPP: otPK.DP and the ECDH result it gave with the
/// eUICC's (reused) otPK.EUICC.
struct RetainedShs {
    curve: simforge_crypto::Curve,
    public: Vec<u8>,
    shs: Zeroizing<Vec<u8>>,
}

impl EphemeralSecret for RetainedShs {
    fn curve(&self) -> simforge_crypto::Curve {
        self.curve
    }
    fn public_key(&self) -> &[u8] {
        &self.public
    }
    fn agree(self: Box<Self>, _peer_public: &[u8]) -> simforge_crypto::Result<SharedSecret> {
        // Only built for the otPK.EUICC the ShS was computed with (checked by the caller).
        Ok(SharedSecret::new(&self.shs))
    }
}

/// A [`KeyAgreement`] handing out one given key (the BPP's otSK.DP).
struct OneKey(Mutex<Option<EphemeralKeyHandle>>);

impl KeyAgreement for OneKey {
    fn generate_ephemeral(
        &self,
        curve: simforge_crypto::Curve,
    ) -> simforge_crypto::Result<(Vec<u8>, EphemeralKeyHandle)> {
        let key = self
            .0
            .lock()
            .ok()
            .and_then(|mut k| k.take())
            .filter(|k| k.curve() == curve)
            .ok_or(simforge_crypto::Error::KeyAgreement)?;
        Ok((key.public_key().to_vec(), key))
    }
}

/// A [`Random`] that yields the given bytes (the BPP's hostId, the only randomness
/// `build_bpp` draws).
struct FixedBytes(Vec<u8>);

impl Random for FixedBytes {
    fn fill(&self, buf: &mut [u8]) -> simforge_crypto::Result<()> {
        if buf.len() != self.0.len() {
            return Err(simforge_crypto::Error::Random);
        }
        buf.copy_from_slice(&self.0);
        Ok(())
    }
}

// --------------------------------------------------------------- HandleNotification

/// Which state a notification concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationTarget {
    /// The session (ProfileInstallationResult).
    pub transaction_id: Option<TransactionId>,
    /// The profile, by ICCID digits.
    pub iccid: Option<Iccid>,
}

/// What to load for a notification.
#[must_use]
pub fn notification_target(req: &HandleNotificationRequest) -> NotificationTarget {
    match req.pending_notification.value() {
        PendingNotification::ProfileInstallationResult(pir) => {
            let data = &pir.profile_installation_result_data;
            NotificationTarget {
                transaction_id: Some(data.transaction_id.clone()),
                iccid: data
                    .notification_metadata
                    .iccid
                    .as_ref()
                    .and_then(|i| Iccid::try_from(i).ok()),
            }
        }
        PendingNotification::OtherSignedNotification(n) => NotificationTarget {
            transaction_id: None,
            iccid: n
                .tbs_other_notification
                .iccid
                .as_ref()
                .and_then(|i| Iccid::try_from(i).ok()),
        },
        _ => NotificationTarget {
            transaction_id: None,
            iccid: None,
        },
    }
}

/// ES9+.HandleNotification (always answered with HTTP 204). Idempotent: a notification
/// seen before changes nothing. An `Err` result is for logs only.
pub fn handle_notification(
    req: &HandleNotificationRequest,
    session: Option<Session>,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<()> {
    let subject = profile
        .as_ref()
        .map(ProfileRecord::subject)
        .or_else(|| session.as_ref().and_then(Session::subject));
    handle_notification_inner(req, session, profile, ctx).about(subject)
}

fn handle_notification_inner(
    req: &HandleNotificationRequest,
    session: Option<Session>,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<()> {
    match req.pending_notification.value() {
        PendingNotification::ProfileInstallationResult(pir) => {
            installation_result(req, pir, session, profile, ctx)
        }
        PendingNotification::OtherSignedNotification(n) => other_notification(req, n, profile, ctx),
        _ => Outcome::fail(Error::MandatoryElement("pendingNotification")),
    }
}

fn installation_result(
    req: &HandleNotificationRequest,
    pir: &rsp::ProfileInstallationResult,
    session: Option<Session>,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<()> {
    // Without the session there is no eUICC key to check the signature with: ignore.
    let Some(session) = session else {
        return Outcome::fail(Error::UnknownTransactionId);
    };
    let Some(key) = &session.euicc_public_key else {
        return Outcome::fail(Error::UnknownTransactionId);
    };
    let Ok(data_raw) = signed::profile_installation_result_data(req.pending_notification.raw())
    else {
        return Outcome::fail(Error::MandatoryElement("profileInstallationResultData"));
    };
    if let Err(e) = verify_sig(key, data_raw, &pir.euicc_sign_pir.0, "euiccSignPIR") {
        return Outcome::fail(e);
    }
    // A result naming another SM-DP+ (smdpOid, from the DPpb certificate) is not ours.
    if let Some(oid) = &pir.profile_installation_result_data.smdp_oid
        && oid_string(oid)
            != ctx
                .keys_of(session.created_at)
                .oid_for(&session.ci_pkid, &ctx.config.oid)
    {
        return Outcome::fail(Error::InvalidSmdpOid);
    }
    let tid = session.transaction_id.clone();
    let data = &pir.profile_installation_result_data;
    // The result of the session holding the profile; or the success of an earlier session of
    // the same eUICC that a retry superseded (its BPP did get installed after all).
    let success = matches!(data.final_result, FinalResult::SuccessResult(_));
    let Some(mut p) = profile.filter(|p| {
        p.state == ProfileState::Downloaded
            && (p.session.as_ref() == Some(&tid)
                || (success && session.eid.is_some() && p.eid == session.eid))
    }) else {
        // Already processed (or the profile moved on): idempotent.
        return Outcome {
            result: Ok(()),
            session: SessionChange::Delete(tid),
            profile: None,
            events: Vec::new(),
            subject: None,
            unseal: None,
        };
    };
    let from = p.state;
    if let Some(eid) = &p.eid {
        p.last_notification = Some((
            eid.as_str().to_owned(),
            data.notification_metadata.seq_number,
        ));
    }
    let failure = match &data.final_result {
        FinalResult::SuccessResult(_) => {
            p.state = ProfileState::Installed;
            p.binding = None;
            None
        }
        FinalResult::ErrorResult(err) => {
            p.state = if p.download_attempts < ctx.config.max_download_attempts {
                ProfileState::Released
            } else {
                p.binding = None;
                ProfileState::Error
            };
            Some(
                if err.error_reason
                    == rsp::ErrorReason::INSTALL_FAILED_DUE_TO_INSUFFICIENT_MEMORY_FOR_PROFILE
                {
                    ("8.1".to_owned(), "4.8".to_owned())
                } else {
                    ("8.2".to_owned(), "3.7".to_owned())
                },
            )
        }
        _ => Some(("8.2".to_owned(), "3.7".to_owned())),
    };
    p.unlock();
    p.updated_at = ctx.now;
    let mut events = vec![Event::DownloadProgress {
        operator_id: p.operator_id,
        iccid: p.iccid.clone(),
        profile_type: p.profile_type.clone(),
        eid: p.eid,
        point: 4,
        failure,
        result_data: Some(req.pending_notification.raw().to_vec()),
        at: ctx.now,
    }];
    events.extend(state_event(&p, from, ctx.now));
    Outcome {
        result: Ok(()),
        session: SessionChange::Delete(tid),
        profile: Some(p),
        events,
        subject: None,
        unseal: None,
    }
}

fn other_notification(
    req: &HandleNotificationRequest,
    n: &rsp::OtherSignedNotification,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<()> {
    let verified = match simforge_pki::verify_euicc_chain(
        &ctx.keys.ci,
        n.eum_certificate.as_bytes(),
        n.euicc_certificate.as_bytes(),
        ctx.now,
    ) {
        Ok(v) => v,
        Err(e) => return Outcome::fail(Error::from_euicc_chain(&e)),
    };
    let Ok(tbs) = signed::tbs_other_notification(req.pending_notification.raw()) else {
        return Outcome::fail(Error::MandatoryElement("tbsOtherNotification"));
    };
    let key = (KeyCurve::from_pki(verified.curve), verified.public_key);
    if let Err(e) = verify_sig(
        &key,
        tbs,
        &n.euicc_notification_signature,
        "euiccNotificationSignature",
    ) {
        return Outcome::fail(e);
    }
    let op = &n.tbs_other_notification.profile_management_operation;
    let seq = n.tbs_other_notification.seq_number;
    // Idempotent: a notification this eUICC sent before (same or older seqNumber) is
    // acknowledged and changes nothing.
    let seen = |p: &ProfileRecord| {
        p.last_notification
            .as_ref()
            .is_some_and(|(e, s)| e == &verified.eid && seq <= *s)
    };
    let Some(mut p) = profile
        .filter(|p| p.eid.as_ref().map(Eid::as_str) == Some(verified.eid.as_str()) && !seen(p))
    else {
        return Outcome {
            result: Ok(()),
            session: SessionChange::Keep,
            profile: None,
            events: Vec::new(),
            subject: None,
            unseal: None,
        };
    };
    if op.has(rsp::NotificationEvent::NOTIFICATION_DELETE)
        && matches!(p.state, ProfileState::Installed | ProfileState::Downloaded)
    {
        let from = p.state;
        // Notification point 5 (profile deleted), reported with the EID it was deleted from.
        let mut events = vec![progress(&p, 5, None, ctx.now)];
        p.last_notification = Some((verified.eid.clone(), seq));
        p.reset_order(if p.reuse_on_delete {
            ProfileState::Available
        } else {
            ProfileState::Unavailable
        });
        p.updated_at = ctx.now;
        events.extend(state_event(&p, from, ctx.now));
        return Outcome {
            result: Ok(()),
            session: SessionChange::Keep,
            profile: Some(p),
            events,
            subject: None,
            unseal: None,
        };
    }
    if op.has(rsp::NotificationEvent::NOTIFICATION_INSTALL) && p.state == ProfileState::Downloaded {
        let from = p.state;
        p.last_notification = Some((verified.eid.clone(), seq));
        p.binding = None;
        p.state = ProfileState::Installed;
        p.unlock();
        p.updated_at = ctx.now;
        let events = state_event(&p, from, ctx.now).into_iter().collect();
        return Outcome {
            result: Ok(()),
            session: SessionChange::Keep,
            profile: Some(p),
            events,
            subject: None,
            unseal: None,
        };
    }
    Outcome {
        result: Ok(()),
        session: SessionChange::Keep,
        profile: None,
        events: Vec::new(),
        subject: None,
        unseal: None,
    }
}

// -------------------------------------------------------------------- CancelSession

/// ES9+.CancelSession: verifies the eUICC's signed cancellation (transactionId, SM-DP+
/// OID, signature), ends the session and releases or fails the profile by reason, under the
/// default [`CancelSessionPolicy`].
pub fn cancel_session(
    req: &CancelSessionRequest,
    session: Option<Session>,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<HeaderOnlyResponse> {
    cancel_session_with(req, session, profile, &CancelSessionPolicy::default(), ctx)
}

/// ES9+.CancelSession under the profile's operator's `policy` (SGP.22 §3.1.5, §5.6.5: what
/// becomes of the order is the SM-DP+'s decision; see [`crate::cancel`]).
pub fn cancel_session_with(
    req: &CancelSessionRequest,
    session: Option<Session>,
    profile: Option<ProfileRecord>,
    policy: &CancelSessionPolicy,
    ctx: &Ctx<'_>,
) -> Outcome<HeaderOnlyResponse> {
    let subject = session.as_ref().and_then(Session::subject);
    cancel_session_inner(req, session, profile, policy, ctx).about(subject)
}

fn cancel_session_inner(
    req: &CancelSessionRequest,
    session: Option<Session>,
    profile: Option<ProfileRecord>,
    policy: &CancelSessionPolicy,
    ctx: &Ctx<'_>,
) -> Outcome<HeaderOnlyResponse> {
    let session = match live_session(session, ctx.now) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(e),
    };
    let tid = session.transaction_id.clone();
    let reason = match cancel_inner(req, &session, ctx) {
        Ok(r) => r,
        Err(e) => return fail_session(e, Some(&tid), profile, ctx),
    };
    let mut events = Vec::new();
    let profile = profile
        .filter(|p| p.session.as_ref() == Some(&tid))
        .map(|mut p| {
            let from = p.state;
            p.unlock();
            let retry = match policy.action(reason) {
                CancelAction::Release => true,
                CancelAction::Error => false,
                CancelAction::Retry => p.download_attempts < ctx.config.max_download_attempts,
            };
            if matches!(p.state, ProfileState::Released | ProfileState::Downloaded) {
                p.state = if retry {
                    ProfileState::Released
                } else {
                    p.binding = None;
                    ProfileState::Error
                };
            }
            p.updated_at = ctx.now;
            events.extend(state_event(&p, from, ctx.now));
            p
        });
    Outcome {
        result: Ok(HeaderOnlyResponse {
            header: ResponseHeader::success(),
        }),
        session: SessionChange::Delete(tid),
        profile,
        events,
        subject: None,
        unseal: None,
    }
}

fn cancel_inner(
    req: &CancelSessionRequest,
    session: &Session,
    ctx: &Ctx<'_>,
) -> Result<rsp::CancelSessionReason> {
    if req.transaction_id != session.transaction_id {
        return Err(Error::UnknownTransactionId);
    }
    let CancelSessionResponse::CancelSessionResponseOk(ok) = req.cancel_session_response.value()
    else {
        return Err(Error::MandatoryElement("cancelSessionResponseOk"));
    };
    let signed = &ok.euicc_cancel_session_signed;
    if signed.transaction_id != session.transaction_id {
        return Err(Error::UnknownTransactionId);
    }
    if let Some(key) = &session.euicc_public_key {
        let raw = signed::euicc_cancel_session_signed(req.cancel_session_response.raw())
            .map_err(|_| Error::MandatoryElement("euiccCancelSessionSigned"))?;
        verify_sig(
            key,
            raw,
            &ok.euicc_cancel_session_signature,
            "euiccCancelSessionSignature",
        )?;
    }
    if oid_string(&signed.smdp_oid)
        != ctx
            .keys_of(session.created_at)
            .oid_for(&session.ci_pkid, &ctx.config.oid)
    {
        return Err(Error::InvalidSmdpOid);
    }
    Ok(signed.reason)
}

/// The OID the eUICC put into a cancellation, dotted.
#[must_use]
pub fn cancel_session_oid(req: &CancelSessionRequest) -> Option<String> {
    match req.cancel_session_response.value() {
        CancelSessionResponse::CancelSessionResponseOk(ok) => {
            Some(oid_string(&ok.euicc_cancel_session_signed.smdp_oid))
        }
        _ => None,
    }
}
