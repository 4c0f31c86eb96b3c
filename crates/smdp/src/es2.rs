//! ES2+ (SGP.22 §5.3): the operator-facing functions. The operator is the authenticated
//! tenant; profiles of other operators are never found (they answer "ICCID unknown").

use sha2::{Digest, Sha256};
use simforge_asn1::json::{
    CancelOrderRequest, ConfirmOrderRequest, ConfirmOrderResponse, DownloadOrderRequest,
    DownloadOrderResponse, FinalProfileStatus, HeaderOnlyResponse, ReleaseProfileRequest,
};
use simforge_asn1::status::ResponseHeader;
use simforge_asn1::{Iccid, MatchingId};

use crate::config::Ctx;
use crate::error::{Error, Result};
use crate::model::{Event, OperatorId, Outcome, ProfileRecord, ProfileState, SessionChange};

fn done<R>(
    result: Result<R>,
    p: Option<ProfileRecord>,
    from: Option<ProfileState>,
    at: i64,
) -> Outcome<R> {
    let events = match (&p, from) {
        (Some(p), Some(from)) if from != p.state => vec![Event::ProfileState {
            operator_id: p.operator_id,
            iccid: p.iccid.clone(),
            from,
            to: p.state,
            at,
        }],
        _ => Vec::new(),
    };
    Outcome {
        result,
        session: SessionChange::Keep,
        profile: p,
        events,
        subject: None,
        unseal: None,
    }
}

fn owned(p: Option<ProfileRecord>, operator: OperatorId) -> Result<ProfileRecord> {
    p.filter(|p| p.operator_id == operator)
        .ok_or(Error::IccidUnknown)
}

/// The ICCID an ES2+ request names, in the canonical form the SM-DP+ stores (digits, no
/// padding): the one parse of every ES2+ function's `iccid`. Accepts 19 or 20 digits and a
/// 19-digit ICCID padded with `F`/`f` (SGP.22; pySim sends it so), and 18 digits.
///
/// # Errors
/// [`Error::IccidInvalid`] (8.2.1 / 3.1) for anything else.
pub fn request_iccid(raw: &str) -> Result<Iccid> {
    Iccid::parse(raw).map_err(|_| Error::IccidInvalid)
}

/// How DownloadOrder picks its profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderTarget {
    /// A specific ICCID.
    Iccid(Iccid),
    /// Any available profile of this type.
    ProfileType(String),
}

/// What to load for a DownloadOrder.
///
/// # Errors
/// [`Error::IccidInvalid`] or [`Error::MandatoryElement`].
pub fn order_target(req: &DownloadOrderRequest) -> Result<OrderTarget> {
    match (&req.iccid, &req.profile_type) {
        (Some(i), _) => Ok(OrderTarget::Iccid(request_iccid(i)?)),
        (None, Some(t)) if !t.is_empty() => Ok(OrderTarget::ProfileType(t.clone())),
        _ => Err(Error::MandatoryElement("iccid or profileType")),
    }
}

/// ES2+.DownloadOrder: reserves the profile (Allocated, or Linked when an EID is given).
pub fn download_order(
    operator: OperatorId,
    req: &DownloadOrderRequest,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<DownloadOrderResponse> {
    let target = match order_target(req) {
        Ok(t) => t,
        Err(e) => return Outcome::fail(e),
    };
    let mut p = match owned(profile, operator) {
        Ok(p) => p,
        Err(_) if matches!(target, OrderTarget::ProfileType(_)) => {
            return Outcome::fail(Error::NoMoreProfiles);
        }
        Err(e) => return Outcome::fail(e),
    };
    if p.state != ProfileState::Available {
        return Outcome::fail(Error::IccidInUse);
    }
    let from = p.state;
    p.reset_order(ProfileState::Allocated);
    if let Some(eid) = req.eid {
        p.eid = Some(eid);
        p.state = ProfileState::Linked;
    }
    p.updated_at = ctx.now;
    let resp = DownloadOrderResponse {
        header: ResponseHeader::success(),
        iccid: Some(p.iccid.to_string()),
    };
    done(Ok(resp), Some(p), Some(from), ctx.now)
}

const MATCHING_ID_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A random MatchingID: four groups of five characters (100 bits).
///
/// # Errors
/// [`Error::Crypto`] if the random source fails.
pub fn generate_matching_id(ctx: &Ctx<'_>) -> Result<MatchingId> {
    let bytes: [u8; 20] = ctx.random()?;
    let mut s = String::with_capacity(23);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            s.push('-');
        }
        s.push(char::from(MATCHING_ID_ALPHABET[usize::from(b & 31)]));
    }
    MatchingId::parse(&s)
        .map_err(|e| Error::Crypto(crate::error::Cause::with_source("generated matchingId", e)))
}

/// Estimated entropy, in bits, of an operator-chosen matchingId (`A-Z`, `0-9`, `-`): each
/// character counts `log2` of the alphabet its classes span (digits 10, letters 26, both 36),
/// hyphens nothing, and a character that repeats or steps from the one before (`AA`, `12`,
/// `CB`) or ends a three-character run already seen (`ORDER1ORDER1`) one bit only. A
/// deliberately simple, conservative estimate: `ORDER1` has 27 bits, a generated matchingId
/// ([`generate_matching_id`]) about 95 (at most 100), 24 random digits about 64.
#[must_use]
pub fn matching_id_entropy_bits(m: &str) -> f64 {
    let chars: Vec<u8> = m.bytes().filter(|b| *b != b'-').collect();
    let digits = chars.iter().any(u8::is_ascii_digit);
    let letters = chars.iter().any(|b| !b.is_ascii_digit());
    let alphabet = match (digits, letters) {
        (true, true) => 36.0_f64,
        (false, true) => 26.0,
        _ => 10.0,
    };
    let per_char = alphabet.log2();
    let mut seen = std::collections::HashSet::new();
    let mut bits = 0.0;
    for (i, c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let stepped = prev.is_some_and(|p| p.abs_diff(*c) <= 1);
        let repeated = i >= 2 && !seen.insert([chars[i - 2], chars[i - 1], *c]);
        bits += if stepped || repeated { 1.0 } else { per_char };
    }
    bits
}

/// Refuses an operator-chosen matchingId whose estimated entropy is below `min_bits`.
///
/// # Errors
/// [`Error::MatchingIdWeak`] (8.2.6 / 3.8).
pub fn check_matching_id_entropy(m: &MatchingId, min_bits: u32) -> Result<()> {
    let bits = matching_id_entropy_bits(m.as_str());
    if bits < f64::from(min_bits) {
        return Err(Error::MatchingIdWeak {
            // Whole bits, rounded down; the estimate is at most 255 × log2(36).
            bits: bits.floor() as u32,
            min: min_bits,
        });
    }
    Ok(())
}

/// Who else uses the matchingId a ConfirmOrder asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchingIdUse {
    /// Nobody (or the order's own profile).
    Free,
    /// Another profile of the same operator: 8.2.6 / 3.3, conflicting.
    SameOperator,
    /// A profile of another operator: 8.2.6 / 3.8, refused, as any other refusal — the
    /// caller does not learn that another tenant uses it (the entropy minimum makes such a
    /// collision a guess of at least 2^64).
    OtherOperator,
}

/// SHA-256 of a confirmation code: what the SM-DP+ keeps (never the code).
#[must_use]
pub fn cc_hash(code: &str) -> Vec<u8> {
    Sha256::digest(code.as_bytes()).to_vec()
}

/// ES2+.ConfirmOrder: links the EID, sets the matchingId (given — with at least
/// [`crate::SmdpConfig::min_matching_id_bits`] of estimated entropy — or generated; the
/// caller reports with `matching_id_use` whether another profile already uses the given
/// one), the hashed confirmation code and the order expiry; Released with `releaseFlag`.
pub fn confirm_order(
    operator: OperatorId,
    req: &ConfirmOrderRequest,
    profile: Option<ProfileRecord>,
    matching_id_use: MatchingIdUse,
    ctx: &Ctx<'_>,
) -> Outcome<ConfirmOrderResponse> {
    if let Err(e) = request_iccid(&req.iccid) {
        return Outcome::fail(e);
    }
    let mut p = match owned(profile, operator) {
        Ok(p) => p,
        Err(e) => return Outcome::fail(e),
    };
    if !matches!(p.state, ProfileState::Allocated | ProfileState::Linked) {
        return Outcome::fail(Error::IccidInvalidState(p.state.as_str()));
    }
    match (&p.eid, &req.eid) {
        (Some(a), Some(b)) if a != b => return Outcome::fail(Error::EidAlreadyBound),
        (None, Some(b)) => p.eid = Some(*b),
        _ => {}
    }
    // An event at an SM-DS is for one EID (SGP.22 §5.3.2: with smdsAddress the EID is
    // mandatory; 8.1.1 / 2.2 otherwise).
    if req.smds_address.is_some() && p.eid.is_none() {
        return Outcome::fail(Error::EidMissing);
    }
    let matching_id = match &req.matching_id {
        Some(m) => {
            if let Err(e) = check_matching_id_entropy(m, ctx.config.min_matching_id_bits) {
                return Outcome::fail(e);
            }
            match matching_id_use {
                MatchingIdUse::Free => m.clone(),
                MatchingIdUse::SameOperator => return Outcome::fail(Error::MatchingIdConflict),
                MatchingIdUse::OtherOperator => return Outcome::fail(Error::MatchingIdRefused),
            }
        }
        None => match generate_matching_id(ctx) {
            Ok(m) => m,
            Err(e) => return Outcome::fail(e),
        },
    };
    match req.confirmation_code.as_deref() {
        Some("") => return Outcome::fail(Error::ConfirmationCodeMissing),
        Some(code) => p.cc_hash = Some(cc_hash(code)),
        None => p.cc_hash = None,
    }
    let from = p.state;
    p.matching_id = Some(matching_id.clone());
    p.cc_attempts = 0;
    p.download_attempts = 0;
    p.order_expires_at = ctx.config.order_ttl_secs.map(|t| ctx.now + t);
    // The event registered at that SM-DS (queued by the driver, `crate::smds_queue`).
    p.smds_address = req.smds_address.clone().filter(|a| !a.is_empty());
    p.state = if req.release_flag {
        ProfileState::Released
    } else {
        ProfileState::Confirmed
    };
    p.updated_at = ctx.now;
    let resp = ConfirmOrderResponse {
        header: ResponseHeader::success(),
        eid: p.eid,
        matching_id: Some(matching_id),
        smdp_address: Some(ctx.config.address()),
    };
    done(Ok(resp), Some(p), Some(from), ctx.now)
}

/// ES2+.CancelOrder: ends the order; the profile becomes Available or Unavailable as the
/// operator says. Not possible once installed.
pub fn cancel_order(
    operator: OperatorId,
    req: &CancelOrderRequest,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<HeaderOnlyResponse> {
    if let Err(e) = request_iccid(&req.iccid) {
        return Outcome::fail(e);
    }
    let mut p = match owned(profile, operator) {
        Ok(p) => p,
        Err(e) => return Outcome::fail(e),
    };
    if let Some(m) = &req.matching_id
        && p.matching_id.as_ref() != Some(m)
    {
        return Outcome::fail(Error::MatchingIdUnknown);
    }
    if let Some(e) = &req.eid
        && p.eid.as_ref() != Some(e)
    {
        return Outcome::fail(Error::EidRefused);
    }
    if matches!(
        p.state,
        ProfileState::Available | ProfileState::Installed | ProfileState::Unavailable
    ) {
        return Outcome::fail(Error::IccidInvalidState(p.state.as_str()));
    }
    let from = p.state;
    p.reset_order(match req.final_profile_status_indicator {
        FinalProfileStatus::Available => ProfileState::Available,
        FinalProfileStatus::Unavailable => ProfileState::Unavailable,
    });
    p.updated_at = ctx.now;
    let resp = HeaderOnlyResponse {
        header: ResponseHeader::success(),
    };
    done(Ok(resp), Some(p), Some(from), ctx.now)
}

/// ES2+.ReleaseProfile: Confirmed → Released.
pub fn release_profile(
    operator: OperatorId,
    req: &ReleaseProfileRequest,
    profile: Option<ProfileRecord>,
    ctx: &Ctx<'_>,
) -> Outcome<HeaderOnlyResponse> {
    if let Err(e) = request_iccid(&req.iccid) {
        return Outcome::fail(e);
    }
    let mut p = match owned(profile, operator) {
        Ok(p) => p,
        Err(e) => return Outcome::fail(e),
    };
    if p.state != ProfileState::Confirmed {
        return Outcome::fail(Error::IccidInvalidState(p.state.as_str()));
    }
    p.state = ProfileState::Released;
    p.updated_at = ctx.now;
    let resp = HeaderOnlyResponse {
        header: ResponseHeader::success(),
    };
    done(Ok(resp), Some(p), Some(ProfileState::Confirmed), ctx.now)
}
