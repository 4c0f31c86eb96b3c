//! What ES9+.CancelSession does to the profile, per operator ([`CancelSessionPolicy`]), and
//! how an operator takes a profile out of Error again ([`reset_profile`]).
//!
//! SGP.22 §3.1.5 (Profile Download and Installation cancellation) and §5.6.5
//! (ES9+.CancelSession): the LPA cancels an ongoing download with a reason
//! (`CancelSessionReason`, §5.7.14: endUserRejection, postponed, timeout, pprNotAllowed,
//! metadataMismatch, loadBppExecutionError, undefinedReason); the SM-DP+ ends the RSP
//! session and informs the operator (ES2+.HandleDownloadProgressInfo). Whether the order
//! can be downloaded again is the SM-DP+'s and the operator's decision, not the eUICC's:
//! `postponed` and `timeout` say in their name that the End User may try again, and
//! `endUserRejection` is what LPAs (lpac among them) send after any local failure, a mistyped
//! or missing confirmation code included — an order must not be lost to that. The default
//! policy therefore keeps the order (back to Released, the same activation code works
//! again) for endUserRejection, postponed and timeout, retries a loadBppExecutionError while
//! download attempts remain (`SmdpConfig::max_download_attempts`), and puts the profile in
//! Error for the reasons that say the profile cannot be installed on this device
//! (pprNotAllowed, metadataMismatch) or are unknown (undefinedReason). Each operator can
//! change any of these (`simforge operator update NAME --cancel-session-policy …`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use simforge_asn1::rsp::CancelSessionReason;

use crate::error::{Error, Result};
use crate::model::{Event, OperatorId, ProfileState, UnixTime};
use crate::store::{SmdpStore, SmdpTx};

/// What a cancellation does to the profile of the cancelled session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CancelAction {
    /// The order stays: back to Released (the same activation code downloads it again).
    Release,
    /// The order ends in Error (until the operator resets it, see [`reset_profile`]).
    Error,
    /// Released while download attempts remain (`max_download_attempts`), Error after.
    Retry,
}

impl CancelAction {
    /// The name on the command line and in the database.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Error => "error",
            Self::Retry => "retry",
        }
    }
}

/// Per reason of ES9+.CancelSession, what happens to the profile (see the module's text for
/// the default and why).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CancelSessionPolicy {
    /// endUserRejection (0).
    pub end_user_rejection: CancelAction,
    /// postponed (1).
    pub postponed: CancelAction,
    /// timeout (2).
    pub timeout: CancelAction,
    /// pprNotAllowed (3).
    pub ppr_not_allowed: CancelAction,
    /// metadataMismatch (4).
    pub metadata_mismatch: CancelAction,
    /// loadBppExecutionError (5).
    pub load_bpp_execution_error: CancelAction,
    /// undefinedReason (127) and any value a newer eUICC may send.
    pub undefined_reason: CancelAction,
}

impl Default for CancelSessionPolicy {
    fn default() -> Self {
        Self {
            end_user_rejection: CancelAction::Release,
            postponed: CancelAction::Release,
            timeout: CancelAction::Release,
            ppr_not_allowed: CancelAction::Error,
            metadata_mismatch: CancelAction::Error,
            load_bpp_execution_error: CancelAction::Retry,
            undefined_reason: CancelAction::Error,
        }
    }
}

/// The reasons' names as written in a policy (kebab-case of SGP.22's names).
const REASONS: [&str; 7] = [
    "end-user-rejection",
    "postponed",
    "timeout",
    "ppr-not-allowed",
    "metadata-mismatch",
    "load-bpp-execution-error",
    "undefined-reason",
];

impl CancelSessionPolicy {
    /// The action for `reason`.
    #[must_use]
    pub fn action(&self, reason: CancelSessionReason) -> CancelAction {
        match reason {
            CancelSessionReason::END_USER_REJECTION => self.end_user_rejection,
            CancelSessionReason::POSTPONED => self.postponed,
            CancelSessionReason::TIMEOUT => self.timeout,
            CancelSessionReason::PPR_NOT_ALLOWED => self.ppr_not_allowed,
            CancelSessionReason::METADATA_MISMATCH => self.metadata_mismatch,
            CancelSessionReason::LOAD_BPP_EXECUTION_ERROR => self.load_bpp_execution_error,
            _ => self.undefined_reason,
        }
    }

    fn slot(&mut self, reason: &str) -> Option<&mut CancelAction> {
        Some(match reason {
            "end-user-rejection" => &mut self.end_user_rejection,
            "postponed" => &mut self.postponed,
            "timeout" => &mut self.timeout,
            "ppr-not-allowed" => &mut self.ppr_not_allowed,
            "metadata-mismatch" => &mut self.metadata_mismatch,
            "load-bpp-execution-error" => &mut self.load_bpp_execution_error,
            "undefined-reason" => &mut self.undefined_reason,
            _ => return None,
        })
    }

    fn get(&self, reason: &str) -> CancelAction {
        let mut copy = *self;
        copy.slot(reason).map_or(CancelAction::Error, |a| *a)
    }
}

fn bad(what: String) -> Error {
    Error::Config(format!("cancel-session policy: {what}").into())
}

impl FromStr for CancelSessionPolicy {
    type Err = Error;

    /// `default`, or `default` changed by comma-separated `REASON=ACTION` items, e.g.
    /// `end-user-rejection=error,undefined-reason=release`; REASON one of
    /// end-user-rejection, postponed, timeout, ppr-not-allowed, metadata-mismatch,
    /// load-bpp-execution-error, undefined-reason, or `all`; ACTION release, error or retry.
    fn from_str(s: &str) -> Result<Self> {
        let mut p = Self::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item.eq_ignore_ascii_case("default") {
                continue;
            }
            let Some((reason, action)) = item.split_once('=') else {
                return Err(bad(format!(
                    "{item:?}: expected REASON=ACTION (e.g. end-user-rejection=release)"
                )));
            };
            let reason = reason.trim().to_ascii_lowercase();
            let action = match action.trim().to_ascii_lowercase().as_str() {
                "release" | "released" => CancelAction::Release,
                "error" => CancelAction::Error,
                "retry" => CancelAction::Retry,
                other => {
                    return Err(bad(format!(
                        "action {other:?}: expected release, error or retry"
                    )));
                }
            };
            if reason == "all" {
                for r in REASONS {
                    if let Some(slot) = p.slot(r) {
                        *slot = action;
                    }
                }
                continue;
            }
            match p.slot(&reason) {
                Some(slot) => *slot = action,
                None => {
                    return Err(bad(format!(
                        "reason {reason:?}: expected one of {} or all",
                        REASONS.join(", ")
                    )));
                }
            }
        }
        Ok(p)
    }
}

impl fmt::Display for CancelSessionPolicy {
    /// Every reason, `REASON=ACTION` comma-separated (parses back with [`FromStr`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in REASONS.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}={}", self.get(r).as_str())?;
        }
        Ok(())
    }
}

/// Where [`reset_profile`] puts a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetTarget {
    /// Back to Released with its order (EID, matchingId, confirmation code) and a fresh
    /// count of download attempts: the same activation code works again.
    Released,
    /// Back to the inventory (Available), the order dropped.
    Available,
}

/// An operator's reset of a profile in Error (what a cancellation, a failed installation or
/// exhausted download attempts left): back to Released with its order, or to Available.
/// Only a profile in Error is reset; the profile's operator must be `operator` (tenant).
/// Records a state-change event in the same transaction. Returns the state it left.
///
/// # Errors
/// [`Error::IccidUnknown`] for an unknown ICCID (or another operator's),
/// [`Error::IccidInvalidState`] when the profile is not in Error or (to Released) has no
/// order to go back to, else a storage error.
pub async fn reset_profile<S: SmdpStore>(
    store: &S,
    operator: OperatorId,
    iccid: &str,
    target: ResetTarget,
    now: UnixTime,
) -> Result<ProfileState> {
    // Not an ICCID: no such profile, as before the ICCID was typed.
    let Ok(iccid) = simforge_asn1::Iccid::parse(iccid) else {
        return Err(Error::IccidUnknown);
    };
    let mut tx = store.begin().await?;
    let Some(mut p) = tx.profile(operator, &iccid).await? else {
        return Err(Error::IccidUnknown);
    };
    let before = crate::smds_queue::registration(&p);
    let from = p.state;
    if from != ProfileState::Error {
        return Err(Error::IccidInvalidState(from.as_str()));
    }
    match target {
        ResetTarget::Released => {
            if p.eid.is_none() && p.matching_id.is_none() {
                return Err(Error::IccidInvalidState(
                    "in error without an order (no EID, no matchingId) to release again: reset it to available",
                ));
            }
            p.state = ProfileState::Released;
            p.download_attempts = 0;
            p.cc_attempts = 0;
            p.binding = None;
            p.unlock();
        }
        ResetTarget::Available => p.reset_order(ProfileState::Available),
    }
    p.updated_at = now;
    let smds = crate::smds_queue::smds_ops(before.as_ref(), &mut p, now);
    tx.put_profile(&p).await?;
    if !smds.is_empty() {
        tx.push_smds_ops(&smds).await?;
    }
    tx.push_events(&[Event::ProfileState {
        operator_id: operator,
        iccid: p.iccid.clone(),
        from,
        to: p.state,
        at: now,
    }])
    .await?;
    tx.commit().await?;
    Ok(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_parses_prints_and_refuses_bad_items() {
        let d = CancelSessionPolicy::default();
        assert_eq!(
            d.action(CancelSessionReason::END_USER_REJECTION),
            CancelAction::Release
        );
        assert_eq!(d.action(CancelSessionReason(99)), CancelAction::Error);
        assert_eq!("default".parse::<CancelSessionPolicy>().unwrap(), d);
        assert_eq!(d.to_string().parse::<CancelSessionPolicy>().unwrap(), d);
        let p: CancelSessionPolicy = "end-user-rejection=error, undefined-reason=release"
            .parse()
            .unwrap();
        assert_eq!(p.end_user_rejection, CancelAction::Error);
        assert_eq!(p.undefined_reason, CancelAction::Release);
        assert_eq!(p.postponed, CancelAction::Release);
        let all: CancelSessionPolicy = "all=error".parse().unwrap();
        assert_eq!(all.timeout, CancelAction::Error);
        for bad in ["nonsense", "postponed=maybe", "later=error"] {
            let e = bad.parse::<CancelSessionPolicy>().unwrap_err().to_string();
            assert!(e.contains("cancel-session policy:"), "{e}");
        }
    }
}
