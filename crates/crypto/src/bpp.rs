//! BoundProfilePackage (SGP.22 §2.5.4–2.5.5, ES8+ §5.5) at the BER-TLV byte level: build
//! (SM-DP+), parse and unprotect (eUICC), and the LPA's cutting into STORE DATA pieces.
//!
//! ```text
//! BoundProfilePackage ::= [54] SEQUENCE {                    -- BF36
//!   initialiseSecureChannelRequest [35] …,                   -- BF23
//!   firstSequenceOf87 [0] SEQUENCE OF [7] OCTET STRING,      -- A0 { 87 … }  ConfigureISDP
//!   sequenceOf88 [1] SEQUENCE OF [8] OCTET STRING,           -- A1 { 88 … }  StoreMetadata
//!   secondSequenceOf87 [2] SEQUENCE OF [7] OCTET STRING OPT, -- A2 { 87 … }  ReplaceSessionKeys
//!   sequenceOf86 [3] SEQUENCE OF [6] OCTET STRING }          -- A3 { 86 … }  profile elements
//! ```
//! Each `87`/`88`/`86` TLV *is* a BSP segment (its value is ciphertext or data, then the MAC).

use zeroize::Zeroizing;

use crate::bsp::{BspSession, TAG_86, TAG_87, TAG_88};
use crate::error::{Error, Result};
use crate::kdf::{self, KEY_LEN_AES128, KEY_TYPE_AES, SessionKeys};
use crate::keys::Curve;
use crate::provider::{EphemeralKeyHandle, KeyAgreement, Random, Signer};
use crate::signature::Signature;
use crate::soft;
use crate::tlv::{self, Tlv};

/// Tag of BoundProfilePackage.
pub const TAG_BPP: u32 = 0xBF36;
/// Tag of InitialiseSecureChannelRequest.
pub const TAG_INITIALISE_SECURE_CHANNEL: u32 = 0xBF23;
/// Tag of ConfigureISDPRequest.
pub const TAG_CONFIGURE_ISDP: u32 = 0xBF24;
/// Tag of StoreMetadataRequest.
pub const TAG_STORE_METADATA: u32 = 0xBF25;
/// Tag of ReplaceSessionKeysRequest.
pub const TAG_REPLACE_SESSION_KEYS: u32 = 0xBF26;
/// Tag of smdpOtpk / euiccOtpk (`[APPLICATION 73]`).
pub const TAG_OTPK: u32 = 0x5F49;
/// Tag of smdpSign (`[APPLICATION 55]`).
pub const TAG_SMDP_SIGN: u32 = 0x5F37;
/// remoteOpId value installBoundProfilePackage.
pub const REMOTE_OP_INSTALL_BPP: u8 = 1;
/// Length of the random hostId the builder generates.
pub const HOST_ID_LEN: usize = 16;
/// Length of an EID.
pub const EID_LEN: usize = 16;

/// InitialiseSecureChannelRequest (`BF23`, SGP.22 §5.5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialiseSecureChannel {
    /// transactionId (1..16 bytes).
    pub transaction_id: Vec<u8>,
    /// CRT keyType (0x88 = AES).
    pub key_type: u8,
    /// CRT keyLen (0x10).
    pub key_len: u8,
    /// CRT hostId (1..16 bytes).
    pub host_id: Vec<u8>,
    /// otPK.DP.ECKA, SEC1 uncompressed.
    pub smdp_otpk: Vec<u8>,
    /// smdpSign, plain `r‖s`.
    pub smdp_sign: Signature,
    /// The encoded data objects remoteOpId … smdpOtpk exactly as signed / received.
    signed_part: Vec<u8>,
}

fn check_len(v: &[u8], min: usize, max: usize, what: &'static str) -> Result<()> {
    if v.len() < min || v.len() > max {
        return Err(Error::Bpp(what));
    }
    Ok(())
}

impl InitialiseSecureChannel {
    /// DER of `remoteOpId ‖ transactionId ‖ controlRefTemplate ‖ smdpOtpk` (the part of the
    /// request that is signed).
    fn encode_signed_part(
        transaction_id: &[u8],
        key_type: u8,
        key_len: u8,
        host_id: &[u8],
        smdp_otpk: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        tlv::write_tlv(0x82, &[REMOTE_OP_INSTALL_BPP], &mut out);
        tlv::write_tlv(0x80, transaction_id, &mut out);
        let mut crt = Vec::with_capacity(24);
        tlv::write_tlv(0x80, &[key_type], &mut crt);
        tlv::write_tlv(0x81, &[key_len], &mut crt);
        tlv::write_tlv(0x84, host_id, &mut crt);
        tlv::write_tlv(0xA6, &crt, &mut out);
        tlv::write_tlv(TAG_OTPK, smdp_otpk, &mut out);
        out
    }

    /// The data smdpSign covers: the request's data objects remoteOpId … smdpOtpk followed
    /// by the eUICC's one-time public key as a `5F49` TLV (SGP.22 §5.5.1).
    pub fn data_to_sign(&self, euicc_otpk: &[u8]) -> Vec<u8> {
        let mut d = self.signed_part.clone();
        tlv::write_tlv(TAG_OTPK, euicc_otpk, &mut d);
        d
    }

    /// Creates and signs a request with the DPpb `signer`.
    pub fn create(
        transaction_id: &[u8],
        host_id: &[u8],
        smdp_otpk: &[u8],
        euicc_otpk: &[u8],
        signer: &dyn Signer,
    ) -> Result<Self> {
        check_len(transaction_id, 1, 16, "transactionId must be 1..16 bytes")?;
        check_len(host_id, 1, 16, "hostId must be 1..16 bytes")?;
        let signed_part = Self::encode_signed_part(
            transaction_id,
            KEY_TYPE_AES,
            KEY_LEN_AES128,
            host_id,
            smdp_otpk,
        );
        let mut req = Self {
            transaction_id: transaction_id.to_vec(),
            key_type: KEY_TYPE_AES,
            key_len: KEY_LEN_AES128,
            host_id: host_id.to_vec(),
            smdp_otpk: smdp_otpk.to_vec(),
            smdp_sign: Signature::from_bytes([1; 64]),
            signed_part,
        };
        req.smdp_sign = signer.sign(&req.data_to_sign(euicc_otpk))?;
        Ok(req)
    }

    /// Verifies smdpSign with the DPpb public key, given the eUICC's otPK.
    pub fn verify(&self, curve: Curve, dp_pb_public_key: &[u8], euicc_otpk: &[u8]) -> Result<()> {
        soft::verify(
            curve,
            dp_pb_public_key,
            &self.data_to_sign(euicc_otpk),
            &self.smdp_sign,
        )
    }

    /// DER encoding (`BF23 …`).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = self.signed_part.clone();
        tlv::write_tlv(TAG_SMDP_SIGN, self.smdp_sign.as_bytes(), &mut body);
        tlv::tlv(TAG_INITIALISE_SECURE_CHANNEL, &body)
    }

    /// Decodes a `BF23` TLV (BER accepted; unknown trailing extension fields ignored).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let outer = tlv::parse_single(bytes)?;
        Self::from_tlv(&outer)
    }

    fn from_tlv(outer: &Tlv<'_>) -> Result<Self> {
        outer.expect_tag(TAG_INITIALISE_SECURE_CHANNEL)?;
        let items = tlv::parse_all(outer.value)?;
        let [op, tid, crt, otpk, sign, ..] = items.as_slice() else {
            return Err(Error::Bpp("InitialiseSecureChannelRequest incomplete"));
        };
        op.expect_tag(0x82)?;
        if op.value != [REMOTE_OP_INSTALL_BPP] {
            return Err(Error::Bpp("remoteOpId is not installBoundProfilePackage"));
        }
        tid.expect_tag(0x80)?;
        check_len(tid.value, 1, 16, "transactionId must be 1..16 bytes")?;
        crt.expect_tag(0xA6)?;
        let crt_items = tlv::parse_all(crt.value)?;
        let [kt, kl, hid, ..] = crt_items.as_slice() else {
            return Err(Error::Bpp("controlRefTemplate incomplete"));
        };
        kt.expect_tag(0x80)?;
        kl.expect_tag(0x81)?;
        hid.expect_tag(0x84)?;
        let ([key_type], [key_len]) = (kt.value, kl.value) else {
            return Err(Error::Bpp("keyType / keyLen must be one byte"));
        };
        check_len(hid.value, 1, 16, "hostId must be 1..16 bytes")?;
        otpk.expect_tag(TAG_OTPK)?;
        sign.expect_tag(TAG_SMDP_SIGN)?;
        let smdp_sign = Signature::from_slice(sign.value)?;
        // The signed part is the received encoding from remoteOpId through smdpOtpk.
        let end = op.raw.len() + tid.raw.len() + crt.raw.len() + otpk.raw.len();
        let signed_part = outer
            .value
            .get(..end)
            .ok_or(Error::Bpp("internal: signed part"))?
            .to_vec();
        Ok(Self {
            transaction_id: tid.value.to_vec(),
            key_type: *key_type,
            key_len: *key_len,
            host_id: hid.value.to_vec(),
            smdp_otpk: otpk.value.to_vec(),
            smdp_sign,
            signed_part,
        })
    }
}

/// Encodes a ReplaceSessionKeysRequest (`BF26 { 80 initialMCV, 81 ppkEnc, 82 ppkCmac }`).
pub fn encode_replace_session_keys(ppk: &SessionKeys) -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(Vec::with_capacity(54));
    tlv::write_tlv(0x80, &ppk.initial_mcv, &mut body);
    tlv::write_tlv(0x81, &ppk.s_enc, &mut body);
    tlv::write_tlv(0x82, &ppk.s_mac, &mut body);
    Zeroizing::new(tlv::tlv(TAG_REPLACE_SESSION_KEYS, &body))
}

/// Decodes a ReplaceSessionKeysRequest.
pub fn decode_replace_session_keys(bytes: &[u8]) -> Result<SessionKeys> {
    let outer = tlv::parse_single(bytes)?;
    outer.expect_tag(TAG_REPLACE_SESSION_KEYS)?;
    let items = tlv::parse_all(outer.value)?;
    let [mcv, enc, mac, ..] = items.as_slice() else {
        return Err(Error::Bpp("ReplaceSessionKeysRequest incomplete"));
    };
    mcv.expect_tag(0x80)?;
    enc.expect_tag(0x81)?;
    mac.expect_tag(0x82)?;
    let k16 = |v: &[u8]| -> Result<[u8; 16]> {
        v.try_into()
            .map_err(|_| Error::Bpp("ReplaceSessionKeys values must be 16 bytes"))
    };
    Ok(SessionKeys {
        initial_mcv: k16(mcv.value)?,
        s_enc: k16(enc.value)?,
        s_mac: k16(mac.value)?,
    })
}

/// Protects an unprotected profile package with PPKs (a Protected Profile Package, SGP.22
/// §2.5.3): the `86` segments, to be bound later with [`ProfileSource::PreProtected`].
pub fn protect_profile(upp: &[u8], ppk: &SessionKeys) -> Result<Vec<Vec<u8>>> {
    BspSession::new(ppk).encrypt(TAG_86, upp)
}

/// The profile to bind.
#[derive(Debug, Clone, Copy)]
pub enum ProfileSource<'a> {
    /// An unprotected profile package (DER sequence of profile elements), protected with the
    /// session keys.
    Unprotected(&'a [u8]),
    /// A profile already protected with PPKs ([`protect_profile`]); the BPP then carries a
    /// ReplaceSessionKeys (`A2`).
    PreProtected {
        /// The PPKs the segments were protected with.
        ppk: &'a SessionKeys,
        /// The `86` segments.
        segments: &'a [Vec<u8>],
    },
}

/// What the SM-DP+ needs to bind a profile to one eUICC (ES8+ / getBoundProfilePackage).
#[derive(Debug, Clone, Copy)]
pub struct BppBuildParams<'a> {
    /// transactionId of the RSP session (1..16 bytes).
    pub transaction_id: &'a [u8],
    /// otPK.EUICC.ECKA from PrepareDownloadResponse (SEC1 uncompressed).
    pub euicc_otpk: &'a [u8],
    /// The eUICC's EID (16 bytes).
    pub eid: &'a [u8],
    /// DER of ConfigureISDPRequest (`BF24`).
    pub configure_isdp: &'a [u8],
    /// DER of StoreMetadataRequest (`BF25`).
    pub store_metadata: &'a [u8],
    /// The profile.
    pub profile: ProfileSource<'a>,
}

/// A built BPP.
#[derive(Debug, Clone)]
pub struct BuiltBpp {
    /// DER of the BoundProfilePackage.
    pub bpp: Vec<u8>,
    /// otPK.DP.ECKA used for this BPP (fresh per call).
    pub smdp_otpk: Vec<u8>,
    /// The hostId used (fresh per call).
    pub host_id: Vec<u8>,
}

fn expect_single(bytes: &[u8], tag: u32, what: &'static str) -> Result<()> {
    let t = tlv::parse_single(bytes).map_err(|_| Error::InvalidInput(what))?;
    t.expect_tag(tag).map(|_| ())
}

/// Builds a BoundProfilePackage: generates a fresh one-time key pair on the signer's curve
/// and a random hostId, derives the session keys with the eUICC's otPK and the EID, signs the
/// InitialiseSecureChannelRequest with the DPpb `signer`, and protects the parts with BSP.
pub fn build_bpp(
    params: &BppBuildParams<'_>,
    signer: &dyn Signer,
    key_agreement: &dyn KeyAgreement,
    rng: &dyn Random,
) -> Result<BuiltBpp> {
    check_len(
        params.transaction_id,
        1,
        16,
        "transactionId must be 1..16 bytes",
    )?;
    if params.eid.len() != EID_LEN {
        return Err(Error::InvalidInput("EID must be 16 bytes"));
    }
    expect_single(
        params.configure_isdp,
        TAG_CONFIGURE_ISDP,
        "ConfigureISDPRequest",
    )?;
    expect_single(
        params.store_metadata,
        TAG_STORE_METADATA,
        "StoreMetadataRequest",
    )?;
    let curve = signer.curve();
    soft::validate_public_key(curve, params.euicc_otpk)?;
    match params.profile {
        ProfileSource::Unprotected(upp) => {
            if upp.is_empty() || tlv::parse_all(upp).is_err() {
                return Err(Error::InvalidInput(
                    "profile must be a non-empty sequence of TLVs",
                ));
            }
        }
        ProfileSource::PreProtected { segments, .. } => {
            if segments.is_empty() {
                return Err(Error::InvalidInput("no protected profile segments"));
            }
            for s in segments {
                let t = tlv::parse_single(s).map_err(|_| Error::InvalidInput("bad 86 segment"))?;
                t.expect_tag(u32::from(TAG_86))?;
            }
        }
    }

    let mut host_id = vec![0u8; HOST_ID_LEN];
    rng.fill(&mut host_id)?;
    let (smdp_otpk, otsk) = key_agreement.generate_ephemeral(curve)?;
    let iscr = InitialiseSecureChannel::create(
        params.transaction_id,
        &host_id,
        &smdp_otpk,
        params.euicc_otpk,
        signer,
    )?;
    let shs = key_agreement.agree(otsk, params.euicc_otpk)?;
    let keys = kdf::derive_session_keys(
        shs.as_bytes(),
        KEY_TYPE_AES,
        KEY_LEN_AES128,
        &host_id,
        params.eid,
    )?;
    drop(shs);
    let mut bsp = BspSession::new(&keys);

    let seq = |segs: Vec<Vec<u8>>| -> Vec<u8> { segs.concat() };
    let first87 = seq(bsp.encrypt(TAG_87, params.configure_isdp)?);
    let seq88 = seq(bsp.mac_only(TAG_88, params.store_metadata)?);
    let (second87, seq86) = match params.profile {
        ProfileSource::Unprotected(upp) => (None, seq(bsp.encrypt(TAG_86, upp)?)),
        ProfileSource::PreProtected { ppk, segments } => {
            let rsk = encode_replace_session_keys(ppk);
            (Some(seq(bsp.encrypt(TAG_87, &rsk)?)), segments.concat())
        }
    };

    let iscr_der = iscr.encode();
    let mut body = Vec::with_capacity(
        iscr_der.len()
            + first87.len()
            + seq88.len()
            + seq86.len()
            + 64
            + second87.as_ref().map_or(0, Vec::len),
    );
    body.extend_from_slice(&iscr_der);
    tlv::write_tlv(0xA0, &first87, &mut body);
    tlv::write_tlv(0xA1, &seq88, &mut body);
    if let Some(s) = &second87 {
        tlv::write_tlv(0xA2, s, &mut body);
    }
    tlv::write_tlv(0xA3, &seq86, &mut body);
    Ok(BuiltBpp {
        bpp: tlv::tlv(TAG_BPP, &body),
        smdp_otpk,
        host_id,
    })
}

/// The structure of a BPP, borrowing from the input: containers and their segments.
#[derive(Debug, Clone)]
pub struct BppParts<'a> {
    /// The outer `BF36`.
    pub outer: Tlv<'a>,
    /// `BF23` InitialiseSecureChannelRequest.
    pub initialise_secure_channel: Tlv<'a>,
    /// `A0` firstSequenceOf87.
    pub first_sequence_of_87: Tlv<'a>,
    /// `A1` sequenceOf88.
    pub sequence_of_88: Tlv<'a>,
    /// `A2` secondSequenceOf87, if present.
    pub second_sequence_of_87: Option<Tlv<'a>>,
    /// `A3` sequenceOf86.
    pub sequence_of_86: Tlv<'a>,
    /// Unknown extension fields after `A3` (ignored).
    pub extensions: Vec<Tlv<'a>>,
}

fn segments_of<'a>(container: &Tlv<'a>, tag: u8) -> Result<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    for item in container.children() {
        let t = item?;
        if t.tag != u32::from(tag) {
            return Err(Error::OutOfOrder(
                "unexpected segment tag inside a sequence",
            ));
        }
        out.push(t.raw);
    }
    if out.is_empty() {
        return Err(Error::Bpp("empty segment sequence"));
    }
    Ok(out)
}

fn order_error(found: u32) -> Error {
    match found {
        TAG_INITIALISE_SECURE_CHANNEL | 0xA0 | 0xA1 | 0xA2 | 0xA3 => {
            Error::OutOfOrder("BPP parts in the wrong order")
        }
        _ => Error::Bpp("unexpected element in BoundProfilePackage"),
    }
}

/// Parses the structure of a BPP (BER, indefinite lengths allowed) without any crypto.
pub fn parse_bpp_parts(bpp: &[u8]) -> Result<BppParts<'_>> {
    let outer = tlv::parse_single(bpp)?;
    outer.expect_tag(TAG_BPP)?;
    let items = tlv::parse_all(outer.value)?;
    let mut it = items.into_iter().peekable();
    let mut next = |tag: u32| -> Result<Tlv<'_>> {
        match it.next() {
            Some(t) if t.tag == tag => Ok(t),
            Some(t) => Err(order_error(t.tag)),
            None => Err(Error::Bpp("BoundProfilePackage incomplete")),
        }
    };
    let iscr = next(TAG_INITIALISE_SECURE_CHANNEL)?;
    let a0 = next(0xA0)?;
    let a1 = next(0xA1)?;
    let a2_or_a3 = match it.next() {
        Some(t) if t.tag == 0xA2 || t.tag == 0xA3 => t,
        Some(t) => return Err(order_error(t.tag)),
        None => return Err(Error::Bpp("BoundProfilePackage incomplete")),
    };
    let (a2, a3) = if a2_or_a3.tag == 0xA2 {
        match it.next() {
            Some(t) if t.tag == 0xA3 => (Some(a2_or_a3), t),
            Some(t) => return Err(order_error(t.tag)),
            None => return Err(Error::Bpp("BoundProfilePackage incomplete")),
        }
    } else {
        (None, a2_or_a3)
    };
    let extensions: Vec<Tlv<'_>> = it.collect();
    if let Some(t) = extensions
        .iter()
        .find(|t| matches!(t.tag, 0xBF23 | 0xA0..=0xA3))
    {
        return Err(order_error(t.tag));
    }
    for c in [&a0, &a1, &a3].into_iter().chain(a2.as_ref()) {
        if !c.constructed {
            return Err(Error::Bpp("segment sequence must be constructed"));
        }
    }
    Ok(BppParts {
        outer,
        initialise_secure_channel: iscr,
        first_sequence_of_87: a0,
        sequence_of_88: a1,
        second_sequence_of_87: a2,
        sequence_of_86: a3,
        extensions,
    })
}

/// The plaintext content of a BPP, as the eUICC sees it.
#[derive(Debug, Clone)]
pub struct UnprotectedBpp {
    /// ConfigureISDPRequest (`BF24`).
    pub configure_isdp: Vec<u8>,
    /// StoreMetadataRequest (`BF25`).
    pub store_metadata: Vec<u8>,
    /// The PPKs, if the BPP carried a ReplaceSessionKeys.
    pub replaced_session_keys: Option<SessionKeys>,
    /// The profile elements (zeroized on drop: they carry Ki/OPc and friends).
    pub profile: Zeroizing<Vec<u8>>,
}

impl BppParts<'_> {
    /// Verifies and decrypts all segments with `session` (already keyed from the ECKA), in
    /// order: `87`s, `88`s, optional `A2` `87`s (then switching to the PPKs), `86`s.
    pub fn unprotect(&self, session: &mut BspSession) -> Result<UnprotectedBpp> {
        let mut configure_isdp = Vec::new();
        for s in segments_of(&self.first_sequence_of_87, TAG_87)? {
            configure_isdp.extend_from_slice(&session.decrypt_segment(TAG_87, s)?);
        }
        expect_single(&configure_isdp, TAG_CONFIGURE_ISDP, "ConfigureISDPRequest")
            .map_err(|_| Error::Bpp("first sequence of 87 is not a ConfigureISDPRequest"))?;
        let mut store_metadata = Vec::new();
        for s in segments_of(&self.sequence_of_88, TAG_88)? {
            store_metadata.extend_from_slice(&session.verify_mac_only_segment(TAG_88, s)?);
        }
        expect_single(&store_metadata, TAG_STORE_METADATA, "StoreMetadataRequest")
            .map_err(|_| Error::Bpp("sequence of 88 is not a StoreMetadataRequest"))?;
        let mut replaced_session_keys = None;
        if let Some(a2) = &self.second_sequence_of_87 {
            let mut rsk = Zeroizing::new(Vec::new());
            for s in segments_of(a2, TAG_87)? {
                rsk.extend_from_slice(&session.decrypt_segment(TAG_87, s)?);
            }
            let ppk = decode_replace_session_keys(&rsk)?;
            session.replace_keys(&ppk);
            replaced_session_keys = Some(ppk);
        }
        let mut profile = Zeroizing::new(Vec::new());
        for s in segments_of(&self.sequence_of_86, TAG_86)? {
            profile.extend_from_slice(&session.decrypt_segment(TAG_86, s)?);
        }
        Ok(UnprotectedBpp {
            configure_isdp,
            store_metadata,
            replaced_session_keys,
            profile,
        })
    }
}

/// What the eUICC checks a BPP against.
#[derive(Debug, Clone, Copy)]
pub struct BppVerifyParams<'a> {
    /// The eUICC's EID (KDF input).
    pub eid: &'a [u8],
    /// Curve of the DPpb key.
    pub dp_pb_curve: Curve,
    /// PK.DPpb.ECDSA (SEC1), from the CERT.DPpb.ECDSA verified during PrepareDownload.
    pub dp_pb_public_key: &'a [u8],
    /// The transactionId of the session, if it must be checked.
    pub transaction_id: Option<&'a [u8]>,
}

/// A parsed, verified and decrypted BPP.
#[derive(Debug, Clone)]
pub struct ParsedBpp {
    /// The InitialiseSecureChannelRequest.
    pub initialise_secure_channel: InitialiseSecureChannel,
    /// The decrypted content.
    pub content: UnprotectedBpp,
}

/// eUICC side: parses a BPP, verifies smdpSign (over the request data and this eUICC's
/// otPK), runs ECKA with the one-time key `otsk` (consumed), derives the session keys and
/// verifies and decrypts every segment.
pub fn parse_bpp(
    bpp: &[u8],
    otsk: EphemeralKeyHandle,
    params: &BppVerifyParams<'_>,
) -> Result<ParsedBpp> {
    let parts = parse_bpp_parts(bpp)?;
    let iscr = InitialiseSecureChannel::from_tlv(&parts.initialise_secure_channel)?;
    if let Some(tid) = params.transaction_id
        && tid != iscr.transaction_id.as_slice()
    {
        return Err(Error::Bpp("transactionId does not match the session"));
    }
    if otsk.curve() != params.dp_pb_curve {
        return Err(Error::CurveMismatch);
    }
    iscr.verify(
        params.dp_pb_curve,
        params.dp_pb_public_key,
        otsk.public_key(),
    )?;
    let shs = otsk.agree(&iscr.smdp_otpk)?;
    let keys = kdf::derive_session_keys(
        shs.as_bytes(),
        iscr.key_type,
        iscr.key_len,
        &iscr.host_id,
        params.eid,
    )?;
    drop(shs);
    let mut session = BspSession::new(&keys);
    let content = parts.unprotect(&mut session)?;
    Ok(ParsedBpp {
        initialise_secure_channel: iscr,
        content,
    })
}

/// The LPA's cutting of a BPP into the payloads of successive STORE DATA sequences (SGP.22
/// §2.5.5): `BF36` tag+length with the whole `BF23`; the whole `A0`; the `A1` tag+length
/// alone; each `88`; the whole `A2` if present; the `A3` tag+length alone; each `86`.
///
/// BER input (indefinite or non-minimal lengths on the containers) is first re-encoded with
/// definite lengths; segments themselves are passed on byte for byte.
pub fn segment_bpp(bpp: &[u8]) -> Result<Vec<Vec<u8>>> {
    let normalized = tlv::normalize(bpp)?;
    let parts = parse_bpp_parts(&normalized)?;
    let mut out = Vec::new();
    let mut first = parts.outer.header().to_vec();
    first.extend_from_slice(parts.initialise_secure_channel.raw);
    out.push(first);
    segments_of(&parts.first_sequence_of_87, TAG_87)?;
    out.push(parts.first_sequence_of_87.raw.to_vec());
    out.push(parts.sequence_of_88.header().to_vec());
    for s in segments_of(&parts.sequence_of_88, TAG_88)? {
        out.push(s.to_vec());
    }
    if let Some(a2) = &parts.second_sequence_of_87 {
        segments_of(a2, TAG_87)?;
        out.push(a2.raw.to_vec());
    }
    out.push(parts.sequence_of_86.header().to_vec());
    for s in segments_of(&parts.sequence_of_86, TAG_86)? {
        out.push(s.to_vec());
    }
    for e in &parts.extensions {
        out.push(e.raw.to_vec());
    }
    Ok(out)
}

/// Progress of a [`BppLoader`].
#[derive(Debug)]
pub enum LoadProgress {
    /// The piece was accepted; more are expected (the eUICC answers `9000`).
    NeedMore,
    /// The last `86` segment arrived: the whole BPP is verified and decrypted.
    Complete(Box<ParsedBpp>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoaderState {
    ExpectInitialise,
    ExpectFirst87,
    ExpectSeq88Header,
    InSeq88 { remaining: usize },
    AfterSeq88,
    AfterSecond87,
    InSeq86 { remaining: usize },
    Done,
    Failed,
}

/// eUICC side, piece by piece: consumes the STORE DATA payloads in the order the LPA sends
/// them ([`segment_bpp`]) and checks each immediately (signature and ECKA on the first piece,
/// MACs on every segment), as an eUICC does during LoadBoundProfilePackage. Any error aborts
/// the load; later pieces are then refused.
pub struct BppLoader {
    state: LoaderState,
    otsk: Option<EphemeralKeyHandle>,
    eid: Vec<u8>,
    dp_pb_curve: Curve,
    dp_pb_public_key: Vec<u8>,
    transaction_id: Option<Vec<u8>>,
    bpp_remaining: usize,
    session: Option<BspSession>,
    iscr: Option<InitialiseSecureChannel>,
    configure_isdp: Vec<u8>,
    store_metadata: Vec<u8>,
    replaced_session_keys: Option<SessionKeys>,
    profile: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for BppLoader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BppLoader")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

fn take(remaining: usize, used: usize) -> Result<usize> {
    remaining
        .checked_sub(used)
        .ok_or(Error::Bpp("piece exceeds its container's length"))
}

impl BppLoader {
    /// A loader for one BPP, with the eUICC's one-time key and what to verify against.
    pub fn new(otsk: EphemeralKeyHandle, params: &BppVerifyParams<'_>) -> Self {
        Self {
            state: LoaderState::ExpectInitialise,
            otsk: Some(otsk),
            eid: params.eid.to_vec(),
            dp_pb_curve: params.dp_pb_curve,
            dp_pb_public_key: params.dp_pb_public_key.to_vec(),
            transaction_id: params.transaction_id.map(<[u8]>::to_vec),
            bpp_remaining: 0,
            session: None,
            iscr: None,
            configure_isdp: Vec::new(),
            store_metadata: Vec::new(),
            replaced_session_keys: None,
            profile: Zeroizing::new(Vec::new()),
        }
    }

    /// Processes the next piece. On error the loader is dead.
    pub fn process(&mut self, piece: &[u8]) -> Result<LoadProgress> {
        let r = self.step(piece);
        if r.is_err() {
            self.state = LoaderState::Failed;
            self.session = None;
        }
        r
    }

    fn session(&mut self) -> Result<&mut BspSession> {
        self.session
            .as_mut()
            .ok_or(Error::OutOfOrder("no secure channel"))
    }

    fn container_header(&mut self, piece: &[u8], tag: u32) -> Result<usize> {
        let h = tlv::parse_header(piece)?;
        if h.tag != tag {
            return Err(Error::OutOfOrder("unexpected BPP piece"));
        }
        let len = h.length.ok_or(Error::Bpp("indefinite length piece"))?;
        if piece.len() != h.header_len {
            return Err(Error::Bpp("container header piece carries data"));
        }
        self.bpp_remaining = take(self.bpp_remaining, h.header_len)?;
        Ok(len)
    }

    fn whole(&mut self, piece: &[u8]) -> Result<()> {
        self.bpp_remaining = take(self.bpp_remaining, piece.len())?;
        Ok(())
    }

    fn step(&mut self, piece: &[u8]) -> Result<LoadProgress> {
        use LoaderState as S;
        let first_tag = tlv::parse_header(piece)?.tag;
        match (self.state, first_tag) {
            (S::ExpectInitialise, TAG_BPP) => {
                let h = tlv::parse_header(piece)?;
                self.bpp_remaining = h.length.ok_or(Error::Bpp("indefinite length piece"))?;
                let rest = piece.get(h.header_len..).unwrap_or_default();
                self.whole(rest)?;
                let t = tlv::parse_single(rest)?;
                let iscr = InitialiseSecureChannel::from_tlv(&t)?;
                if let Some(tid) = &self.transaction_id
                    && tid != &iscr.transaction_id
                {
                    return Err(Error::Bpp("transactionId does not match the session"));
                }
                let otsk = self
                    .otsk
                    .take()
                    .ok_or(Error::OutOfOrder("key already used"))?;
                if otsk.curve() != self.dp_pb_curve {
                    return Err(Error::CurveMismatch);
                }
                iscr.verify(self.dp_pb_curve, &self.dp_pb_public_key, otsk.public_key())?;
                let shs = otsk.agree(&iscr.smdp_otpk)?;
                let keys = kdf::derive_session_keys(
                    shs.as_bytes(),
                    iscr.key_type,
                    iscr.key_len,
                    &iscr.host_id,
                    &self.eid,
                )?;
                self.session = Some(BspSession::new(&keys));
                self.iscr = Some(iscr);
                self.state = S::ExpectFirst87;
            }
            (S::ExpectFirst87, 0xA0) => {
                self.whole(piece)?;
                let t = tlv::parse_single(piece)?;
                let mut out = Vec::new();
                for s in segments_of(&t, TAG_87)? {
                    out.extend_from_slice(&self.session()?.decrypt_segment(TAG_87, s)?);
                }
                expect_single(&out, TAG_CONFIGURE_ISDP, "ConfigureISDPRequest").map_err(|_| {
                    Error::Bpp("first sequence of 87 is not a ConfigureISDPRequest")
                })?;
                self.configure_isdp = out;
                self.state = S::ExpectSeq88Header;
            }
            (S::ExpectSeq88Header, 0xA1) => {
                let len = self.container_header(piece, 0xA1)?;
                if len == 0 {
                    return Err(Error::Bpp("empty segment sequence"));
                }
                self.state = S::InSeq88 { remaining: len };
            }
            (S::InSeq88 { remaining }, 0x88) => {
                self.whole(piece)?;
                let remaining = take(remaining, piece.len())?;
                let data = self.session()?.verify_mac_only_segment(TAG_88, piece)?;
                self.store_metadata.extend_from_slice(&data);
                if remaining == 0 {
                    expect_single(
                        &self.store_metadata,
                        TAG_STORE_METADATA,
                        "StoreMetadataRequest",
                    )
                    .map_err(|_| Error::Bpp("sequence of 88 is not a StoreMetadataRequest"))?;
                    self.state = S::AfterSeq88;
                } else {
                    self.state = S::InSeq88 { remaining };
                }
            }
            (S::AfterSeq88, 0xA2) => {
                self.whole(piece)?;
                let t = tlv::parse_single(piece)?;
                let mut rsk = Zeroizing::new(Vec::new());
                for s in segments_of(&t, TAG_87)? {
                    rsk.extend_from_slice(&self.session()?.decrypt_segment(TAG_87, s)?);
                }
                let ppk = decode_replace_session_keys(&rsk)?;
                self.session()?.replace_keys(&ppk);
                self.replaced_session_keys = Some(ppk);
                self.state = S::AfterSecond87;
            }
            (S::AfterSeq88 | S::AfterSecond87, 0xA3) => {
                let len = self.container_header(piece, 0xA3)?;
                if len == 0 {
                    return Err(Error::Bpp("empty segment sequence"));
                }
                self.state = S::InSeq86 { remaining: len };
            }
            (S::InSeq86 { remaining }, 0x86) => {
                self.whole(piece)?;
                let remaining = take(remaining, piece.len())?;
                let data = self.session()?.decrypt_segment(TAG_86, piece)?;
                self.profile.extend_from_slice(&data);
                if remaining > 0 {
                    self.state = S::InSeq86 { remaining };
                } else {
                    self.state = S::Done;
                    self.session = None;
                    let iscr = self
                        .iscr
                        .take()
                        .ok_or(Error::OutOfOrder("no secure channel"))?;
                    return Ok(LoadProgress::Complete(Box::new(ParsedBpp {
                        initialise_secure_channel: iscr,
                        content: UnprotectedBpp {
                            configure_isdp: core::mem::take(&mut self.configure_isdp),
                            store_metadata: core::mem::take(&mut self.store_metadata),
                            replaced_session_keys: self.replaced_session_keys.take(),
                            profile: core::mem::take(&mut self.profile),
                        },
                    })));
                }
            }
            (S::Failed, _) => return Err(Error::OutOfOrder("load already aborted")),
            (S::Done, _) => return Err(Error::OutOfOrder("load already complete")),
            _ => return Err(Error::OutOfOrder("unexpected BPP piece")),
        }
        Ok(LoadProgress::NeedMore)
    }
}
