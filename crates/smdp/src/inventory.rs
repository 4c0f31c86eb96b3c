//! The operator's view of its eSIM inventory: search its profiles ([`Inventory::search`],
//! keyset-paginated in ICCID order) and read a profile's history ([`Inventory::history`], the
//! [`Event`]s recorded for it, oldest first).
//!
//! Every call is scoped to one operator (tenant): another operator's profiles and events are
//! never returned. What a search returns is a [`ProfileSummary`]: never the sealed package,
//! the confirmation code's hash, the session or the key binding.
//!
//! A profile's history is the events of the outbox (`rsp_events` in the SQL stores), which
//! the stores delete once they are older than the outbox retention (`serve
//! --event-retention-days`, 90 days by default): a history goes back that far.
//!
//! The stores implement [`Inventory`] (this crate's [`MemoryStore`], `simforge-store`'s SQLite
//! and PostgreSQL stores); the filter's pure parts (validation, clamping, matching a record)
//! are here so that every store means the same by them.

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use simforge_asn1::{Eid, Iccid, MatchingId, rsp};

use crate::error::{Error, Result};
use crate::model::{Event, OperatorId, ProfileRecord, ProfileState, UnixTime};
use crate::store::MemoryStore;

/// The most rows one call returns (a larger `limit` is clamped to it).
pub const MAX_LIMIT: u32 = 1000;

/// The rows a [`ProfileFilter::new`] asks for.
pub const DEFAULT_LIMIT: u32 = 100;

/// The most profiles one search by date ([`ProfileFilter::updated_from`],
/// [`ProfileFilter::updated_until`]) examines: no index holds `updated_at` (the download path
/// writes no more index entries for it), so a dated search walks the same index range as
/// without dates, at most this many rows of it, and says where it stopped
/// ([`SearchPage::next_after`]). A larger [`ProfileFilter::scan_max`] is clamped to it.
/// Each row examined is a table read for its `updated_at`: with 1,000,000 profiles on SQLite,
/// 5,000 rows cost 2.6 ms when they are neighbours (no other filter) and 12 ms when scattered
/// (by a state of 6 %), 20,000 up to 54 ms (BENCHMARKS.md, "eSIM inventory search by date").
pub const SCAN_MAX: u32 = 5_000;

/// The leading digits of ICCIDs (1 to 20 decimal digits), for a search by prefix. Built only
/// by parsing.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IccidPrefix(String);

impl IccidPrefix {
    /// Parses a prefix: 1 to 20 ASCII digits.
    ///
    /// # Errors
    /// [`Error::IccidInvalid`] for anything else (empty, too long, a non-digit).
    pub fn parse(s: &str) -> Result<Self> {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::IccidInvalid);
        }
        Ok(Self(s.to_owned()))
    }

    /// The digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `iccid` starts with this prefix.
    #[must_use]
    pub fn matches(&self, iccid: &Iccid) -> bool {
        iccid.as_str().starts_with(&self.0)
    }

    /// The smallest digit string above every ICCID with this prefix (the prefix with its last
    /// digit below 9 incremented, the 9s after it dropped), or `None` when the prefix is all
    /// 9s (no digit string is above those). The ICCIDs with the prefix are exactly those in
    /// `[prefix, upper_bound)` in text order: an index range, in any store.
    #[must_use]
    pub fn upper_bound(&self) -> Option<String> {
        let digits = self.0.trim_end_matches('9');
        let last = digits.bytes().last()?;
        let mut out = digits[..digits.len() - 1].to_owned();
        out.push(char::from(last + 1));
        Some(out)
    }
}

impl FromStr for IccidPrefix {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for IccidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IccidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IccidPrefix({})", self.0)
    }
}

/// A search of one operator's profiles: every filter given must hold (AND); results in
/// ascending ICCID order, after [`ProfileFilter::after`] (keyset pagination: pass a page's
/// [`SearchPage::next_after`] to get the next one).
///
/// By date (`updated_from`, `updated_until`) a search is bounded: it examines the first
/// [`ProfileFilter::scan_max`] profiles (in ICCID order, after `after`) that pass every other
/// filter, returns those of them changed in the window (at most `limit`), and a page may so
/// hold fewer than `limit` rows, or none, with a [`SearchPage::next_after`] to continue from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileFilter {
    /// The tenant: only its profiles.
    pub operator: OperatorId,
    /// Only profiles in this state.
    pub state: Option<ProfileState>,
    /// Only profiles of this type.
    pub profile_type: Option<String>,
    /// Only profiles linked to this EID.
    pub eid: Option<Eid>,
    /// Only the profile of the order with this matchingId.
    pub matching_id: Option<MatchingId>,
    /// Only ICCIDs starting with these digits.
    pub iccid_prefix: Option<IccidPrefix>,
    /// Only ICCIDs strictly greater than this one (the last of the previous page).
    pub after: Option<Iccid>,
    /// At most this many rows; clamped to `1..=`[`MAX_LIMIT`] ([`ProfileFilter::limit`]).
    pub limit: u32,
    /// Only profiles whose last change (`updated_at`, Unix seconds) is at or after this.
    pub updated_from: Option<UnixTime>,
    /// Only profiles whose last change is before this (exclusive).
    pub updated_until: Option<UnixTime>,
    /// A search by date examines at most this many profiles; clamped to `1..=`[`SCAN_MAX`]
    /// ([`ProfileFilter::scan_max`]). Ignored without a date.
    pub scan_max: u32,
}

impl ProfileFilter {
    /// Every profile of `operator`, the first [`DEFAULT_LIMIT`].
    #[must_use]
    pub fn new(operator: OperatorId) -> Self {
        Self {
            operator,
            state: None,
            profile_type: None,
            eid: None,
            matching_id: None,
            iccid_prefix: None,
            after: None,
            limit: DEFAULT_LIMIT,
            updated_from: None,
            updated_until: None,
            scan_max: SCAN_MAX,
        }
    }

    /// Whether the search is by date (and so bounded: [`ProfileFilter::scan_max`]).
    #[must_use]
    pub fn dated(&self) -> bool {
        self.updated_from.is_some() || self.updated_until.is_some()
    }

    /// The most profiles a search by date examines: [`ProfileFilter::scan_max`] within
    /// `1..=`[`SCAN_MAX`].
    #[must_use]
    pub fn scan_max(&self) -> u32 {
        self.scan_max.clamp(1, SCAN_MAX)
    }

    /// Whether a last change at `updated_at` is in the date window.
    #[must_use]
    pub fn in_window(&self, updated_at: UnixTime) -> bool {
        self.updated_from.is_none_or(|t| updated_at >= t)
            && self.updated_until.is_none_or(|t| updated_at < t)
    }

    /// The number of rows to return: [`ProfileFilter::limit`] within `1..=`[`MAX_LIMIT`].
    #[must_use]
    pub fn limit(&self) -> u32 {
        clamp_limit(self.limit)
    }

    /// Whether `p` passes every filter (the keyset position included).
    #[must_use]
    pub fn matches(&self, p: &ProfileRecord) -> bool {
        self.in_range(p) && self.in_window(p.updated_at)
    }

    /// Whether `p` passes every filter but the dates (the keyset position included): the
    /// range a search walks.
    #[must_use]
    pub fn in_range(&self, p: &ProfileRecord) -> bool {
        p.operator_id == self.operator
            && self.state.is_none_or(|s| p.state == s)
            && self
                .profile_type
                .as_ref()
                .is_none_or(|t| &p.profile_type == t)
            && self.eid.as_ref().is_none_or(|e| p.eid.as_ref() == Some(e))
            && self
                .matching_id
                .as_ref()
                .is_none_or(|m| p.matching_id.as_ref() == Some(m))
            && self
                .iccid_prefix
                .as_ref()
                .is_none_or(|x| x.matches(&p.iccid))
            && self.after.as_ref().is_none_or(|a| &p.iccid > a)
    }
}

/// A page of a search: its rows and where the next page starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchPage {
    /// The profiles found, ascending by ICCID.
    pub rows: Vec<ProfileSummary>,
    /// Pass as [`ProfileFilter::after`] for the next page: the last row's ICCID when the page
    /// is full, the last ICCID examined when a search by date stopped at its
    /// [`ProfileFilter::scan_max`]; `None` when the range is exhausted.
    pub next_after: Option<Iccid>,
    /// A search by date that stopped at its scan bound before it found `limit` rows: how many
    /// profiles it examined (this page may then hold fewer rows, or none, and more may follow).
    pub scanned: Option<u32>,
}

impl SearchPage {
    /// The page of `f` from the rows its range yields in ICCID order (every filter but the
    /// dates), each with whether it is in the date window: what every store's search returns
    /// (the memory store's is this). A search by date that examines `scan_max` rows stops
    /// there, even when the range ends with them (the next page is then empty and last).
    pub fn from_range(
        f: &ProfileFilter,
        range: impl Iterator<Item = (ProfileSummary, bool)>,
    ) -> Self {
        let limit = usize::try_from(f.limit()).unwrap_or(usize::MAX);
        let scan_max = if f.dated() {
            usize::try_from(f.scan_max()).unwrap_or(usize::MAX)
        } else {
            usize::MAX
        };
        let mut page = Self::default();
        let mut scanned = 0usize;
        for (p, in_window) in range {
            scanned += 1;
            let iccid = p.iccid.clone();
            if in_window {
                page.rows.push(p);
                if page.rows.len() == limit {
                    page.next_after = Some(iccid);
                    return page;
                }
            }
            if scanned == scan_max {
                page.next_after = Some(iccid);
                page.scanned = u32::try_from(scanned).ok();
                return page;
            }
        }
        page
    }
}

/// `limit` within `1..=`[`MAX_LIMIT`].
#[must_use]
pub fn clamp_limit(limit: u32) -> u32 {
    limit.clamp(1, MAX_LIMIT)
}

/// What a search shows of a profile: never its package, confirmation code hash, session or
/// key binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileSummary {
    /// ICCID.
    pub iccid: Iccid,
    /// Profile type.
    pub profile_type: String,
    /// State.
    pub state: ProfileState,
    /// The EID its order is linked to.
    pub eid: Option<Eid>,
    /// Its order's matchingId.
    pub matching_id: Option<MatchingId>,
    /// BPPs delivered for the current order.
    pub download_attempts: u32,
    /// Last change.
    pub updated_at: UnixTime,
}

impl From<&ProfileRecord> for ProfileSummary {
    fn from(p: &ProfileRecord) -> Self {
        Self {
            iccid: p.iccid.clone(),
            profile_type: p.profile_type.clone(),
            state: p.state,
            eid: p.eid,
            matching_id: p.matching_id.clone(),
            download_attempts: p.download_attempts,
            updated_at: p.updated_at,
        }
    }
}

/// One event of a profile's history: the outbox id (increasing in recording order; pass the
/// last one as `after` for the next page) and the event as recorded. A
/// [`Event::DownloadProgress`] of point 4 carries the eUICC's signed
/// ProfileInstallationResult (DER) in `result_data`, whose `errorResult` names the
/// bppCommandId and errorReason of a failed installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Outbox id.
    pub id: i64,
    /// The event.
    pub event: Event,
}

/// What an eUICC reported of a failed installation (the `errorResult` of its
/// ProfileInstallationResult): the BPP command that failed and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstallationError {
    /// bppCommandId.
    pub bpp_command_id: rsp::BppCommandId,
    /// errorReason.
    pub error_reason: rsp::ErrorReason,
}

impl HistoryEntry {
    /// The failure of an installation this event reports: for a [`Event::DownloadProgress`]
    /// of point 4 whose recorded ProfileInstallationResult has an `errorResult`; `None` for any
    /// other event (or result data that does not decode).
    #[must_use]
    pub fn installation_error(&self) -> Option<InstallationError> {
        let Event::DownloadProgress {
            point: 4,
            result_data: Some(der),
            ..
        } = &self.event
        else {
            return None;
        };
        let rsp::PendingNotification::ProfileInstallationResult(pir) =
            simforge_asn1::from_ber::<rsp::PendingNotification>(der).ok()?
        else {
            return None;
        };
        match pir.profile_installation_result_data.final_result {
            rsp::FinalResult::ErrorResult(e) => Some(InstallationError {
                bpp_command_id: e.bpp_command_id,
                error_reason: e.error_reason,
            }),
            _ => None,
        }
    }
}

/// The longest window [`Inventory::activity`] looks at: 31 days of hours.
pub const MAX_ACTIVITY_HOURS: u32 = 31 * 24;

/// One hour of an operator's downloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HourActivity {
    /// The hour's first second (Unix time, a multiple of 3600).
    pub hour: UnixTime,
    /// Profiles installed (HandleDownloadProgressInfo point 4 without failure).
    pub installed: u64,
    /// Download attempts that failed (any point with a failure).
    pub failed: u64,
}

/// An operator's downloads over a window, for dashboards: per hour, and failures by their
/// SGP.22 reason (from the events of the outbox, so no further back than its retention).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Activity {
    /// Every hour of the window, oldest first (hours without events included, as zeros).
    pub hours: Vec<HourActivity>,
    /// Failures by `subjectCode/reasonCode`, most frequent first.
    pub failures: Vec<(String, u64)>,
}

/// One row of the stores' grouping: an hour (Unix time / 3600), a failure's codes (none for
/// an install), how many.
pub type ActivityRow = (i64, Option<(String, String)>, u64);

impl Activity {
    /// The window of `hours` hours ending with the hour that holds `now`: its first second
    /// and the second after it.
    #[must_use]
    pub fn window(now: UnixTime, hours: u32) -> (UnixTime, UnixTime) {
        let hours = i64::from(hours.clamp(1, MAX_ACTIVITY_HOURS));
        let end = (now.div_euclid(3600) + 1) * 3600;
        (end - hours * 3600, end)
    }

    /// The activity of the window `[since, until)` (whole hours) from the stores' rows.
    #[must_use]
    pub fn from_rows(
        since: UnixTime,
        until: UnixTime,
        rows: impl IntoIterator<Item = ActivityRow>,
    ) -> Self {
        let first = since.div_euclid(3600);
        let n = usize::try_from((until.div_euclid(3600) - first).max(0)).unwrap_or(0);
        let mut hours: Vec<HourActivity> = (0..n)
            .map(|i| HourActivity {
                hour: (first + i64::try_from(i).unwrap_or(0)) * 3600,
                installed: 0,
                failed: 0,
            })
            .collect();
        let mut failures: std::collections::BTreeMap<String, u64> =
            std::collections::BTreeMap::new();
        for (hour, failure, count) in rows {
            let Some(slot) = usize::try_from(hour - first)
                .ok()
                .and_then(|i| hours.get_mut(i))
            else {
                continue;
            };
            match failure {
                None => slot.installed += count,
                Some((subject, reason)) => {
                    slot.failed += count;
                    *failures.entry(format!("{subject}/{reason}")).or_default() += count;
                }
            }
        }
        let mut failures: Vec<(String, u64)> = failures.into_iter().collect();
        failures.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Self { hours, failures }
    }

    /// The row an event counts as, if any: an install (point 4 without failure) or a failure.
    #[must_use]
    pub fn row_of(event: &Event) -> Option<(UnixTime, Option<(String, String)>)> {
        match event {
            Event::DownloadProgress {
                point, failure, at, ..
            } => match failure {
                Some(f) => Some((*at, Some(f.clone()))),
                None if *point == 4 => Some((*at, None)),
                None => None,
            },
            Event::ProfileState { .. } => None,
        }
    }
}

/// Searching an operator's inventory and reading a profile's history.
pub trait Inventory: Send + Sync {
    /// The profiles `f` selects, ascending by ICCID, at most `f.limit()`, and where the next
    /// page starts (see [`ProfileFilter`] for a search by date and [`SearchPage::from_range`]
    /// for what every store returns).
    fn search(&self, f: &ProfileFilter) -> impl Future<Output = Result<SearchPage>> + Send;
    /// The events of `operator`'s profile `iccid` with an id above `after`, oldest first, at
    /// most `limit` (clamped to `1..=`[`MAX_LIMIT`]). Empty for another operator's profile.
    fn history(
        &self,
        operator: OperatorId,
        iccid: &Iccid,
        after: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>>> + Send;
    /// `operator`'s downloads in the window `[since, until)` (whole hours: see
    /// [`Activity::window`]).
    fn activity(
        &self,
        operator: OperatorId,
        since: UnixTime,
        until: UnixTime,
    ) -> impl Future<Output = Result<Activity>> + Send;
}

impl Inventory for MemoryStore {
    async fn activity(
        &self,
        operator: OperatorId,
        since: UnixTime,
        until: UnixTime,
    ) -> Result<Activity> {
        let d = self.data.lock().await;
        let rows = d
            .events
            .iter()
            .filter(|e| e.operator_id() == operator)
            .filter_map(Activity::row_of)
            .filter(|(at, _)| *at >= since && *at < until)
            .map(|(at, f)| (at.div_euclid(3600), f, 1));
        Ok(Activity::from_rows(since, until, rows))
    }

    async fn search(&self, f: &ProfileFilter) -> Result<SearchPage> {
        let d = self.data.lock().await;
        // `profiles` is a BTreeMap by ICCID: ascending order already.
        let range = d
            .profiles
            .values()
            .filter(|p| f.in_range(p))
            .map(|p| (ProfileSummary::from(p), f.in_window(p.updated_at)));
        Ok(SearchPage::from_range(f, range))
    }

    async fn history(
        &self,
        operator: OperatorId,
        iccid: &Iccid,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<HistoryEntry>> {
        let d = self.data.lock().await;
        let limit = usize::try_from(clamp_limit(limit)).unwrap_or(usize::MAX);
        let after = after.unwrap_or(i64::MIN);
        Ok(d.events
            .iter()
            .zip(&d.deliveries)
            .filter(|(e, del)| del.id > after && e.operator_id() == operator && e.iccid() == iccid)
            .take(limit)
            .map(|(e, del)| HistoryEntry {
                id: del.id,
                event: e.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_fills_every_hour_and_ranks_failures() {
        let (since, until) = Activity::window(10 * 3600 + 5, 3);
        assert_eq!((since, until), (8 * 3600, 11 * 3600));
        let f = |s: &str, r: &str| Some((s.to_owned(), r.to_owned()));
        let a = Activity::from_rows(
            since,
            until,
            [
                (8, None, 2),
                (10, f("8.1", "6.1"), 1),
                (10, f("8.2.6", "3.8"), 3),
                (10, None, 1),
                (7, None, 9),
                (11, f("8.1", "6.1"), 9),
            ],
        );
        let got: Vec<_> = a
            .hours
            .iter()
            .map(|h| (h.hour / 3600, h.installed, h.failed))
            .collect();
        assert_eq!(got, [(8, 2, 0), (9, 0, 0), (10, 1, 4)]);
        assert_eq!(
            a.failures,
            [("8.2.6/3.8".to_owned(), 3), ("8.1/6.1".to_owned(), 1)]
        );
        assert_eq!(Activity::window(0, 0), (0, 3600));
        assert_eq!(
            Activity::window(0, 10_000).0,
            3600 - i64::from(MAX_ACTIVITY_HOURS) * 3600
        );
    }

    #[test]
    fn prefixes_are_digits_and_bound_a_range() {
        for bad in ["", "89a", "8949 ", "-1", "123456789012345678901"] {
            assert!(IccidPrefix::parse(bad).is_err(), "{bad:?}");
        }
        let up = |s: &str| IccidPrefix::parse(s).expect("prefix").upper_bound();
        assert_eq!(up("8945").as_deref(), Some("8946"));
        assert_eq!(up("8949").as_deref(), Some("895"));
        assert_eq!(up("89499").as_deref(), Some("895"));
        assert_eq!(up("0").as_deref(), Some("1"));
        assert_eq!(up("9"), None);
        assert_eq!(up("999"), None);
        let p = IccidPrefix::parse("894944").expect("prefix");
        let iccid: Iccid = "8949449999999990023".parse().expect("iccid");
        assert!(p.matches(&iccid));
        let upper = p.upper_bound().expect("bound");
        assert!(iccid.as_str() >= p.as_str() && iccid.as_str() < upper.as_str());
        assert!(
            !IccidPrefix::parse("894945")
                .expect("prefix")
                .matches(&iccid)
        );
    }

    #[test]
    fn limits_are_clamped() {
        let mut f = ProfileFilter::new(1);
        assert_eq!(f.limit(), DEFAULT_LIMIT);
        f.limit = 0;
        assert_eq!(f.limit(), 1);
        f.limit = 5000;
        assert_eq!(f.limit(), MAX_LIMIT);
    }
}
