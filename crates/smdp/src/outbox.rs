//! The operator notification outbox: [`Event`]s become ES2+.HandleDownloadProgressInfo
//! requests (SGP.22 §5.3.5, JSON binding §6.5.2.5) for the operator's callback endpoint.
//!
//! [`progress_info`] is the pure map from an event to the request body. [`OutboxStore`] is
//! what a delivery worker needs from the store: claim the due events (in order, per
//! operator, with the operator's endpoint), and record each delivery, retry or give-up. The
//! worker itself (HTTP) lives in `simforge-server`; the SQLite and PostgreSQL implementations
//! in `simforge-store`.
//!
//! Order: an operator's events are delivered one after the other in the order they were
//! recorded; while the oldest undelivered one waits for a retry, the later ones wait too
//! (until it is delivered or given up). Delivery is at least once: the request's
//! `functionCallIdentifier` is the same on every retry of one event, so the operator can
//! drop duplicates.

use std::future::Future;

use simforge_asn1::StatusCode;
use simforge_asn1::json::{Asn1B64, HandleDownloadProgressInfoRequest, RequestHeader};
use simforge_asn1::status::FunctionExecutionStatus;

use crate::error::{Error, Result};
use crate::model::{Event, OperatorId, UnixTime};

/// One undelivered event, claimed for delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Outbox id (increasing in recording order).
    pub id: i64,
    /// The operator to notify.
    pub operator_id: OperatorId,
    /// The event.
    pub event: Event,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// The operator's callback endpoint (URL).
    pub endpoint: String,
}

/// What a delivery worker needs from the store. Times in milliseconds since the Unix epoch.
/// Every method that changes an event is scoped to its operator.
pub trait OutboxStore: Send + Sync {
    /// Claims due events: for every operator with a callback endpoint whose oldest
    /// undelivered event is due at `now_ms`, its undelivered events in order (at most `limit`
    /// in all, ordered by id). The claimed events are leased until `now_ms + lease_ms`: no
    /// other claim returns them before (a worker that dies mid-delivery loses them only for
    /// the lease).
    fn claim_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>>> + Send;
    /// Records a successful delivery of `id` (one more attempt).
    fn outbox_delivered(
        &self,
        operator: OperatorId,
        id: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Marks events that are not delivered to the operator (not a callback) as done.
    fn outbox_skip(
        &self,
        operator: OperatorId,
        ids: &[i64],
        now_ms: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Records a failed attempt of `id`: retried at `next_try_ms`, or given up when `None`.
    fn outbox_failed(
        &self,
        operator: OperatorId,
        id: i64,
        error: &str,
        next_try_ms: Option<i64>,
        now_ms: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Ends the lease of claimed events that were not attempted (they are due again).
    fn outbox_release(
        &self,
        operator: OperatorId,
        ids: &[i64],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The ES2+.HandleDownloadProgressInfo request for `event`, or `None` for an event that is
/// not a notification point (a state change). `requester` is the SM-DP+'s
/// functionRequesterIdentifier; `call_id` the functionCallIdentifier (keep it stable across
/// retries of one event).
///
/// # Errors
/// [`Error::Storage`] if the recorded event is inconsistent (a point outside 1–5, an
/// unparsable status code or ProfileInstallationResult).
pub fn progress_info(
    event: &Event,
    requester: &str,
    call_id: &str,
) -> Result<Option<HandleDownloadProgressInfoRequest>> {
    let Event::DownloadProgress {
        iccid,
        profile_type,
        eid,
        point,
        failure,
        result_data,
        at,
        ..
    } = event
    else {
        return Ok(None);
    };
    if !(1..=5).contains(point) {
        return Err(Error::Storage(
            format!("event with notification point {point}").into(),
        ));
    }
    let status = match failure {
        None => FunctionExecutionStatus::success(),
        Some((subject, reason)) => {
            let code = StatusCode::parse(subject, reason).map_err(|e| {
                Error::Storage(format!("event status code {subject}/{reason}: {e}").into())
            })?;
            FunctionExecutionStatus::failed(&code, None)
        }
    };
    let result_data = match result_data {
        Some(der) if *point == 4 => Some(Asn1B64::from_bytes(der.clone()).map_err(|e| {
            Error::Storage(crate::error::Cause::with_source(
                "event ProfileInstallationResult",
                e,
            ))
        })?),
        _ => None,
    };
    Ok(Some(HandleDownloadProgressInfoRequest {
        header: RequestHeader {
            function_requester_identifier: requester.to_owned(),
            function_call_identifier: call_id.to_owned(),
        },
        eid: *eid,
        iccid: iccid.to_string(),
        profile_type: profile_type.clone(),
        timestamp: iso8601(*at),
        notification_point_id: *point,
        notification_point_status: status,
        result_data,
    }))
}

/// `t` as ISO 8601 UTC with seconds, e.g. `2027-01-15T08:00:00Z`.
#[must_use]
pub fn iso8601(t: UnixTime) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(iso8601(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
    }

    fn ev(point: u32, failure: Option<(&str, &str)>) -> Event {
        Event::DownloadProgress {
            operator_id: 1,
            iccid: "8949449999999990023".parse().expect("iccid"),
            profile_type: "t".into(),
            eid: None,
            point,
            failure: failure.map(|(s, r)| (s.into(), r.into())),
            result_data: None,
            at: 1_800_000_000,
        }
    }

    #[test]
    fn bodies() {
        let r = progress_info(&ev(1, None), "smdp", "c1")
            .expect("ok")
            .expect("some");
        let v: serde_json::Value =
            serde_json::from_slice(&simforge_asn1::json::to_json(&r).expect("json")).expect("v");
        assert_eq!(v["header"]["functionRequesterIdentifier"], "smdp");
        assert_eq!(v["header"]["functionCallIdentifier"], "c1");
        assert_eq!(v["iccid"], "8949449999999990023");
        assert_eq!(v["profileType"], "t");
        assert_eq!(v["timestamp"], "2027-01-15T08:00:00Z");
        assert_eq!(v["notificationPointId"], 1);
        assert_eq!(v["notificationPointStatus"]["status"], "Executed-Success");
        assert!(v.get("eid").is_none() && v.get("resultData").is_none());

        let r = progress_info(&ev(2, Some(("8.2.7", "3.8"))), "smdp", "c2")
            .expect("ok")
            .expect("some");
        let v: serde_json::Value =
            serde_json::from_slice(&simforge_asn1::json::to_json(&r).expect("json")).expect("v");
        assert_eq!(v["notificationPointStatus"]["status"], "Failed");
        let d = &v["notificationPointStatus"]["statusCodeData"];
        assert_eq!(
            (d["subjectCode"].as_str(), d["reasonCode"].as_str()),
            (Some("8.2.7"), Some("3.8"))
        );

        let r = progress_info(&ev(5, None), "smdp", "c5")
            .expect("ok")
            .expect("some");
        assert_eq!(r.notification_point_id, 5);
        assert!(progress_info(&ev(6, None), "smdp", "c").is_err());
        assert!(progress_info(&ev(1, Some(("x", "y"))), "smdp", "c").is_err());
        let state = Event::ProfileState {
            operator_id: 1,
            iccid: "8949449999999990023".parse().expect("iccid"),
            from: crate::ProfileState::Available,
            to: crate::ProfileState::Allocated,
            at: 0,
        };
        assert_eq!(progress_info(&state, "smdp", "c").expect("ok"), None);
    }
}
