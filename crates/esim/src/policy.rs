//! Operator policies of the SM-DP+: what ES9+.CancelSession does to the operator's profiles,
//! and the reset of a profile in Error.

use simforge_smdp::{CancelSessionPolicy, ProfileState, ResetTarget, SmdpStore};
use simforge_store::{Operator, OperatorAdmin};

use simforge_audit::{Actor, AuditLog, Draft, action};
use simforge_store::StoreError;

use crate::credentials::record;
use crate::error::{Error, Result};

/// Sets `operator_id`'s CancelSession policy from its text form (`default` resets it).
///
/// # Errors
/// [`Error::Invalid`] if the text does not parse, [`Error::Store`].
///
/// Recorded in the audit log as done by `actor` at `now`.
pub async fn set_cancel_session_policy<S: OperatorAdmin + AuditLog<Error = StoreError>>(
    store: &S,
    actor: &Actor,
    (operator_id, now): (i64, i64),
    text: &str,
) -> Result<()> {
    let d = Draft::new(
        now,
        actor.as_str(),
        action::OPERATOR_UPDATE,
        "cancel-session-policy",
    )
    .tenant(operator_id)
    .detail("policy", text);
    let result = set_policy_unaudited(store, operator_id, text).await;
    record(store, d, result).await
}

async fn set_policy_unaudited<S: OperatorAdmin>(
    store: &S,
    operator_id: i64,
    text: &str,
) -> Result<()> {
    let policy: CancelSessionPolicy = text
        .parse()
        .map_err(|e| Error::invalid_because(format!("--cancel-session-policy {text:?}"), e))?;
    let stored = (policy != CancelSessionPolicy::default()).then_some(policy);
    store
        .set_cancel_session_policy(operator_id, stored.as_ref())
        .await?;
    Ok(())
}

/// Sets (`none` clears) the SM-DS at which `operator_id`'s orders with an EID register
/// their events when ES2+.ConfirmOrder names none (`host` or `host:port`).
///
/// # Errors
/// [`Error::Invalid`] for an address that is not a host name with an optional port,
/// [`Error::Store`].
///
/// Recorded in the audit log as done by `actor` at `now`.
pub async fn set_default_smds_address<S: OperatorAdmin + AuditLog<Error = StoreError>>(
    store: &S,
    actor: &Actor,
    (operator_id, now): (i64, i64),
    text: &str,
) -> Result<()> {
    let d = Draft::new(
        now,
        actor.as_str(),
        action::OPERATOR_UPDATE,
        "default-smds-address",
    )
    .tenant(operator_id)
    .detail("address", text);
    let result = async {
        let address = parse_smds_address(text)?;
        store
            .set_default_smds_address(operator_id, address.as_deref())
            .await?;
        Ok(())
    }
    .await;
    record(store, d, result).await
}

/// `operator_id`'s SM-DS operations (events registered and deleted at SM-DSs for its
/// orders), newest first, at most `limit`: what is pending, done, superseded or given up.
///
/// # Errors
/// [`Error::Smdp`] (storage).
pub async fn smds_operations<S: simforge_smdp::SmdsQueue>(
    store: &S,
    operator_id: i64,
    limit: u32,
) -> Result<Vec<simforge_smdp::SmdsOpRow>> {
    Ok(store.smds_ops_of(operator_id, limit).await?)
}

/// Puts `operator_id`'s given-up SM-DS operation `id` back in the queue, due at `now_ms`:
/// the SM-DS worker sends it again (with a new retry horizon). Refused when the operation is
/// not one of the operator's given-up ones, or when a later operation of the same event was
/// done or given up (sending it again would undo or reorder that one).
///
/// # Errors
/// [`Error::NotFound`] (unknown, another operator's, not given up, or overtaken),
/// [`Error::Smdp`] (storage), [`Error::Store`] (the audit log).
///
/// Recorded in the audit log as done by `actor`.
pub async fn requeue_smds_operation<S>(
    store: &S,
    actor: &Actor,
    (operator_id, now_ms): (i64, i64),
    id: i64,
) -> Result<()>
where
    S: simforge_smdp::SmdsQueue + AuditLog<Error = StoreError>,
{
    let d = Draft::new(
        now_ms.div_euclid(1000),
        actor.as_str(),
        action::OPERATOR_UPDATE,
        "smds-operation",
    )
    .tenant(operator_id)
    .detail("requeue", id);
    let result = async {
        if !store.requeue_smds_op(operator_id, id, now_ms).await? {
            return Err(Error::NotFound(format!(
                "no given-up SM-DS operation {id} of this operator that can be sent again (unknown, not given up, or a later operation of its event was done or given up)"
            )));
        }
        Ok(())
    }
    .await;
    record(store, d, result).await
}

/// `none` (no default) or `host[:port]`: a DNS name of letters, digits, `-` and `.`.
fn parse_smds_address(text: &str) -> Result<Option<String>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let (host, port) = match t.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (t, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if !host_ok || !port_ok {
        return Err(Error::invalid_because(
            format!("--smds-address {t:?}"),
            "expected host or host:port, or none",
        ));
    }
    Ok(Some(t.to_ascii_lowercase()))
}

/// Takes `operator`'s profile `iccid` out of Error, to `target`; the state it was in.
///
/// # Errors
/// [`Error::Reset`]: not found (unknown ICCID or another operator's), conflict (not in
/// Error, or no order to release again), or a storage failure.
///
/// Recorded in the audit log as done by `actor` (the profile, the state it was in, where it
/// went).
pub async fn reset_profile<S: SmdpStore + AuditLog<Error = StoreError>>(
    store: &S,
    actor: &Actor,
    operator: &Operator,
    iccid: &str,
    target: ResetTarget,
    now: i64,
) -> Result<ProfileState> {
    let to = match target {
        ResetTarget::Released => "released",
        ResetTarget::Available => "available",
    };
    let result = reset_unaudited(store, operator, iccid, target, now).await;
    let d = Draft::new(
        now,
        actor.as_str(),
        action::PROFILE_RESET,
        format!("profile:{iccid}"),
    )
    .tenant(operator.id)
    .detail("to", to);
    let d = match &result {
        Ok(from) => d.detail("from", from.as_str()),
        Err(_) => d,
    };
    record(store, d, result).await
}

async fn reset_unaudited<S: SmdpStore>(
    store: &S,
    operator: &Operator,
    iccid: &str,
    target: ResetTarget,
    now: i64,
) -> Result<ProfileState> {
    simforge_smdp::reset_profile(store, operator.id, iccid, target, now)
        .await
        .map_err(|source| Error::Reset {
            what: match &source {
                simforge_smdp::Error::IccidUnknown => {
                    format!("operator {}: no profile {iccid}", operator.name)
                }
                simforge_smdp::Error::IccidInvalidState(s) => {
                    format!("profile {iccid} is {s}: only a profile in error can be reset")
                }
                _ => format!("reset profile {iccid}"),
            },
            source,
        })
}
