//! [`Inventory`] on the SQL stores: an operator's profile search and a profile's history.
//!
//! Both run on the administrative connections (the SQLite store's sqlx pool, PostgreSQL's
//! pool), never on the SM-DP+'s dedicated SQLite connection: a search reads in its own
//! snapshot (WAL) and never queues ES9+ calls behind it.
//!
//! Search: one statement per shape of filter (the columns filtered, not their values),
//! `WHERE operator_id = ? [AND state = ?] [AND profile_type = ?] [AND eid = ?]
//! [AND matching_id = ?] [AND iccid >= prefix AND iccid < bound] [AND iccid > after]
//! ORDER BY iccid LIMIT n`, which the indexes of migrations 0014 (SQLite) and 0006
//! (PostgreSQL) answer with one index range read in order (`tests` below checks SQLite's
//! plans). A prefix is a range of the ICCID's text (see [`IccidPrefix::upper_bound`]), never a
//! `LIKE`, which neither database would answer from an index of a case-sensitive column. By
//! EID or matchingId, SQLite is told not to use the operator's indexes (`+operator_id`): an
//! EID has a handful of profiles, an operator a million.
//!
//! By date (`updated_from`, `updated_until`; no index holds `updated_at`), the same index
//! range is read at most [`ProfileFilter::scan_max`] rows, filtered by `updated_at`, and the
//! page says where the scan stopped (`search_sql`): a bounded read whatever the window.
//!
//! History: the outbox rows of the profile (`rsp_events`, index `(operator_id, iccid, id)`),
//! oldest first.

use simforge_asn1::{Eid, Iccid, MatchingId};
use simforge_smdp::inventory::{ActivityRow, clamp_limit};
use simforge_smdp::{
    Activity, Error, Event, HistoryEntry, Inventory, OperatorId, ProfileFilter, ProfileState,
    ProfileSummary, SearchPage, UnixTime,
};
use sqlx::Row;

use crate::rsp::{db, json_err};
pub(crate) use crate::sql::Dialect;
use crate::{PgStore, SessionCache, SqliteStore};

/// A bound parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// The search statement for `f` and its parameters, in order.
///
/// By date, the same index range (the same conditions, `ORDER BY iccid`) is read at most
/// [`ProfileFilter::scan_max`] rows (`scan`, materialized: one read of the index range and of
/// those rows' `updated_at`), of which those in the window are the page (`hit`, at most
/// `limit`); every row also carries how many rows were examined and the last of them
/// (`scan_n`, `scan_last`, from `edge`), and a page without a hit is one row of those alone
/// (the profile's columns NULL).
pub(crate) fn search_sql(f: &ProfileFilter, dialect: Dialect) -> (String, Vec<Param>) {
    let dated = f.dated();
    let p = if dated { "p." } else { "" };
    let attempts = match dialect {
        Dialect::Sqlite => format!("json_extract({p}record, '$.download_attempts')"),
        Dialect::Postgres => format!("({p}record::json ->> 'download_attempts')::bigint"),
    };
    let columns = format!(
        "{p}iccid, {p}profile_type, {p}state, {p}eid, {p}matching_id, {attempts} AS download_attempts, \
         {p}updated_at"
    );
    let mut params = Vec::new();
    let mut sql = if dated {
        "WITH scan AS MATERIALIZED (SELECT iccid, updated_at FROM rsp_profiles WHERE ".to_owned()
    } else {
        format!("SELECT {columns} FROM rsp_profiles WHERE ")
    };
    let placeholder = |n: usize| match dialect {
        Dialect::Sqlite => "?".to_owned(),
        Dialect::Postgres => format!("${n}"),
    };
    let mut cond = |sql: &mut String, column: &str, op: &str, p: Param| {
        params.push(p);
        let n = params.len();
        if n > 1 {
            sql.push_str(" AND ");
        }
        sql.push_str(column);
        sql.push(' ');
        sql.push_str(op);
        sql.push(' ');
        sql.push_str(&placeholder(n));
    };
    // By EID or matchingId, their own index (a few rows), not the operator's.
    let by_key = f.eid.is_some() || f.matching_id.is_some();
    let operator = if by_key && dialect == Dialect::Sqlite {
        "+operator_id"
    } else {
        "operator_id"
    };
    cond(&mut sql, operator, "=", Param::Int(f.operator));
    if let Some(s) = f.state {
        cond(&mut sql, "state", "=", Param::Text(s.as_str().to_owned()));
    }
    if let Some(t) = &f.profile_type {
        cond(&mut sql, "profile_type", "=", Param::Text(t.clone()));
    }
    if let Some(e) = &f.eid {
        cond(&mut sql, "eid", "=", Param::Text(e.as_str().to_owned()));
    }
    if let Some(m) = &f.matching_id {
        cond(
            &mut sql,
            "matching_id",
            "=",
            Param::Text(m.as_str().to_owned()),
        );
    }
    if let Some(p) = &f.iccid_prefix {
        cond(&mut sql, "iccid", ">=", Param::Text(p.as_str().to_owned()));
        if let Some(upper) = p.upper_bound() {
            cond(&mut sql, "iccid", "<", Param::Text(upper));
        }
    }
    if let Some(a) = &f.after {
        cond(&mut sql, "iccid", ">", Param::Text(a.as_str().to_owned()));
    }
    let mut next = |p: Param| {
        params.push(p);
        placeholder(params.len())
    };
    if dated {
        let scan_max = next(Param::Int(i64::from(f.scan_max())));
        let from = next(Param::Int(f.updated_from.unwrap_or(i64::MIN)));
        let until = next(Param::Int(f.updated_until.unwrap_or(i64::MAX)));
        let limit = next(Param::Int(i64::from(f.limit())));
        sql.push_str(&format!(
            " ORDER BY iccid LIMIT {scan_max}), \
             edge AS (SELECT COUNT(*) AS scan_n, MAX(iccid) AS scan_last FROM scan), \
             hit AS (SELECT iccid FROM scan WHERE updated_at >= {from} AND updated_at < {until} \
             ORDER BY iccid LIMIT {limit}) \
             SELECT edge.scan_n, edge.scan_last, {columns} FROM edge \
             LEFT JOIN hit ON 1 = 1 LEFT JOIN rsp_profiles p ON p.iccid = hit.iccid \
             ORDER BY hit.iccid"
        ));
    } else {
        let limit = next(Param::Int(i64::from(f.limit())));
        sql.push_str(&format!(" ORDER BY iccid LIMIT {limit}"));
    }
    (sql, params)
}

/// `sql` with `params` bound, on either database.
macro_rules! bound {
    ($sql:expr, $params:expr) => {{
        let mut q = sqlx::query($sql);
        for p in $params {
            q = match p {
                Param::Int(n) => q.bind(n),
                Param::Text(t) => q.bind(t),
            };
        }
        q
    }};
}

impl SqliteStore {
    /// The query plan of `f`'s search (`EXPLAIN QUERY PLAN`, one line per step), for
    /// diagnosis: every shape of search should read one index range in ICCID order.
    ///
    /// # Errors
    /// [`Error::Storage`] if the database fails.
    pub async fn explain_search(&self, f: &ProfileFilter) -> Result<Vec<String>, Error> {
        let (sql, params) = search_sql(f, Dialect::Sqlite);
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let rows = bound!(&explain, params)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("detail").map_err(db))
            .collect()
    }
}

impl PgStore {
    /// The query plan of `f`'s search (`EXPLAIN`, one line per row), for diagnosis: every
    /// shape of search should read one index range in ICCID order.
    ///
    /// # Errors
    /// [`Error::Storage`] if the database fails.
    pub async fn explain_search(&self, f: &ProfileFilter) -> Result<Vec<String>, Error> {
        let (sql, params) = search_sql(f, Dialect::Postgres);
        let explain = format!("EXPLAIN {sql}");
        let rows = bound!(&explain, params)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(db))
            .collect()
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("stored profile {what}: {e}").into())
}

/// One search row: its columns as stored.
struct Raw {
    iccid: String,
    profile_type: String,
    state: String,
    eid: Option<String>,
    matching_id: Option<String>,
    download_attempts: Option<i64>,
    updated_at: i64,
}

/// A [`Raw`] from a row of either database.
macro_rules! raw_from_row {
    ($r:expr) => {{
        let r = $r;
        Ok::<Raw, Error>(Raw {
            iccid: r.try_get("iccid").map_err(db)?,
            profile_type: r.try_get("profile_type").map_err(db)?,
            state: r.try_get("state").map_err(db)?,
            eid: r.try_get("eid").map_err(db)?,
            matching_id: r.try_get("matching_id").map_err(db)?,
            download_attempts: r.try_get("download_attempts").map_err(db)?,
            updated_at: r.try_get("updated_at").map_err(db)?,
        })
    }};
}

/// A search's page from its rows (see [`search_sql`]).
macro_rules! page_from_rows {
    ($f:expr, $rows:expr) => {{
        let f: &ProfileFilter = $f;
        let mut page = SearchPage::default();
        let mut edge: Option<(i64, Option<String>)> = None;
        for r in &$rows {
            if f.dated() {
                edge = Some((
                    r.try_get("scan_n").map_err(db)?,
                    r.try_get("scan_last").map_err(db)?,
                ));
                let iccid: Option<String> = r.try_get("iccid").map_err(db)?;
                if iccid.is_none() {
                    continue;
                }
            }
            page.rows.push(raw_from_row!(r).and_then(Raw::summary)?);
        }
        finish_page(f, page, edge)
    }};
}

/// `page`'s cursor: its last row when full; by date, the last row examined when the scan
/// stopped at its bound (`edge`: how many rows were examined, the last of them).
fn finish_page(
    f: &ProfileFilter,
    mut page: SearchPage,
    edge: Option<(i64, Option<String>)>,
) -> Result<SearchPage, Error> {
    if page.rows.len() == f.limit() as usize {
        page.next_after = page.rows.last().map(|p| p.iccid.clone());
    } else if let Some((n, Some(last))) = edge
        && n >= i64::from(f.scan_max())
    {
        page.next_after = Some(Iccid::parse(&last).map_err(|e| corrupt("ICCID", e))?);
        page.scanned = Some(f.scan_max());
    }
    Ok(page)
}

impl Raw {
    fn summary(self) -> Result<ProfileSummary, Error> {
        Ok(ProfileSummary {
            iccid: Iccid::parse(&self.iccid).map_err(|e| corrupt("ICCID", e))?,
            state: ProfileState::parse(&self.state).ok_or_else(|| corrupt("state", &self.state))?,
            eid: self
                .eid
                .as_deref()
                .map(Eid::parse)
                .transpose()
                .map_err(|e| corrupt("EID", e))?,
            matching_id: self
                .matching_id
                .as_deref()
                .map(MatchingId::parse)
                .transpose()
                .map_err(|e| corrupt("matchingId", e))?,
            download_attempts: u32::try_from(self.download_attempts.unwrap_or(0))
                .map_err(|e| corrupt("download attempts", e))?,
            updated_at: self.updated_at,
            profile_type: self.profile_type,
        })
    }
}

fn history_entry(id: i64, record: &str) -> Result<HistoryEntry, Error> {
    let event: Event = serde_json::from_str(record).map_err(json_err)?;
    Ok(HistoryEntry { id, event })
}

/// An operator's installs and failures in `[since, until)`, grouped by hour and failure
/// codes (`$1…$3`: operator, since, until). The event's JSON is `{"DownloadProgress": {…,
/// "point": n, "failure": null | [subject, reason]}}` (serde's form of `smdp::Event`).
const ACTIVITY_SQLITE: &str = "SELECT created_at / 3600 AS h,
        json_extract(record, '$.DownloadProgress.failure[0]') AS s,
        json_extract(record, '$.DownloadProgress.failure[1]') AS r,
        COUNT(*) AS n
    FROM rsp_events
    WHERE operator_id = ? AND created_at >= ? AND created_at < ? AND kind = 'download_progress'
      AND (json_extract(record, '$.DownloadProgress.point') = 4
           OR json_extract(record, '$.DownloadProgress.failure') IS NOT NULL)
    GROUP BY h, s, r";

/// [`ACTIVITY_SQLITE`] in PostgreSQL's JSON operators.
const ACTIVITY_PG: &str = "SELECT created_at / 3600 AS h,
        record::jsonb #>> '{DownloadProgress,failure,0}' AS s,
        record::jsonb #>> '{DownloadProgress,failure,1}' AS r,
        COUNT(*) AS n
    FROM rsp_events
    WHERE operator_id = $1 AND created_at >= $2 AND created_at < $3 AND kind = 'download_progress'
      AND ((record::jsonb #>> '{DownloadProgress,point}') = '4'
           OR jsonb_typeof(record::jsonb #> '{DownloadProgress,failure}') = 'array')
    GROUP BY 1, 2, 3";

fn activity_row<R>(r: &R) -> Result<ActivityRow, Error>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    for<'q> Option<String>: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
{
    let h: i64 = r.try_get("h").map_err(db)?;
    let n: i64 = r.try_get("n").map_err(db)?;
    let s: Option<String> = r.try_get("s").map_err(db)?;
    let reason: Option<String> = r.try_get("r").map_err(db)?;
    let failure = match (s, reason) {
        (Some(s), Some(r)) => Some((s, r)),
        (Some(s), None) => Some((s, String::new())),
        _ => None,
    };
    Ok((h, failure, u64::try_from(n).unwrap_or(0)))
}

impl Inventory for SqliteStore {
    async fn activity(
        &self,
        operator: OperatorId,
        since: UnixTime,
        until: UnixTime,
    ) -> Result<Activity, Error> {
        let rows = sqlx::query(ACTIVITY_SQLITE)
            .bind(operator)
            .bind(since)
            .bind(until)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let rows = rows
            .iter()
            .map(activity_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Activity::from_rows(since, until, rows))
    }

    async fn search(&self, f: &ProfileFilter) -> Result<SearchPage, Error> {
        let (sql, params) = search_sql(f, Dialect::Sqlite);
        let rows = bound!(&sql, params)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        page_from_rows!(f, rows)
    }

    async fn history(
        &self,
        operator: OperatorId,
        iccid: &Iccid,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<HistoryEntry>, Error> {
        let rows = sqlx::query(
            "SELECT id, record FROM rsp_events WHERE operator_id = ? AND iccid = ? AND id > ?
             ORDER BY id LIMIT ?",
        )
        .bind(operator)
        .bind(iccid.as_str())
        .bind(after.unwrap_or(i64::MIN))
        .bind(i64::from(clamp_limit(limit)))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let record: String = r.try_get("record").map_err(db)?;
                history_entry(r.try_get("id").map_err(db)?, &record)
            })
            .collect()
    }
}

impl Inventory for PgStore {
    async fn activity(
        &self,
        operator: OperatorId,
        since: UnixTime,
        until: UnixTime,
    ) -> Result<Activity, Error> {
        let rows = sqlx::query(ACTIVITY_PG)
            .bind(operator)
            .bind(since)
            .bind(until)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let rows = rows
            .iter()
            .map(activity_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Activity::from_rows(since, until, rows))
    }

    async fn search(&self, f: &ProfileFilter) -> Result<SearchPage, Error> {
        let (sql, params) = search_sql(f, Dialect::Postgres);
        let rows = bound!(&sql, params)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        page_from_rows!(f, rows)
    }

    async fn history(
        &self,
        operator: OperatorId,
        iccid: &Iccid,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<HistoryEntry>, Error> {
        let rows = sqlx::query(
            "SELECT id, record FROM rsp_events WHERE operator_id = $1 AND iccid = $2 AND id > $3
             ORDER BY id LIMIT $4",
        )
        .bind(operator)
        .bind(iccid.as_str())
        .bind(after.unwrap_or(i64::MIN))
        .bind(i64::from(clamp_limit(limit)))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let record: String = r.try_get("record").map_err(db)?;
                history_entry(r.try_get("id").map_err(db)?, &record)
            })
            .collect()
    }
}

impl<S: Inventory> Inventory for SessionCache<S> {
    async fn activity(
        &self,
        operator: OperatorId,
        since: UnixTime,
        until: UnixTime,
    ) -> Result<Activity, Error> {
        self.inner().activity(operator, since, until).await
    }

    async fn search(&self, f: &ProfileFilter) -> Result<SearchPage, Error> {
        self.inner().search(f).await
    }

    async fn history(
        &self,
        operator: OperatorId,
        iccid: &Iccid,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<HistoryEntry>, Error> {
        self.inner().history(operator, iccid, after, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simforge_smdp::IccidPrefix;

    /// Every shape of search is one index range read in ICCID order on SQLite: no table scan,
    /// no sort.
    #[tokio::test]
    async fn every_search_shape_reads_one_index_range_in_order() {
        let (_d, store, a, _) = crate::rsp::tests::store().await;
        let eid = Eid::parse("89049032123451234512345678901235").unwrap();
        let iccid: Iccid = "8949449999999990023".parse().unwrap();
        let base = ProfileFilter::new(a);
        let shapes: Vec<(&str, ProfileFilter, &str)> = vec![
            ("first page", base.clone(), "rsp_profiles_operator_iccid"),
            (
                "next page",
                ProfileFilter {
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
                "rsp_profiles_operator_iccid",
            ),
            (
                "prefix",
                ProfileFilter {
                    iccid_prefix: Some(IccidPrefix::parse("894944").unwrap()),
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
                "rsp_profiles_operator_iccid",
            ),
            (
                "state",
                ProfileFilter {
                    state: Some(ProfileState::Released),
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
                "rsp_profiles_operator_state",
            ),
            (
                "state and prefix",
                ProfileFilter {
                    state: Some(ProfileState::Released),
                    iccid_prefix: Some(IccidPrefix::parse("8949").unwrap()),
                    ..base.clone()
                },
                "rsp_profiles_operator_state",
            ),
            (
                "type",
                ProfileFilter {
                    profile_type: Some("t".into()),
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
                "rsp_profiles_operator_type",
            ),
            (
                "type and state",
                ProfileFilter {
                    profile_type: Some("t".into()),
                    state: Some(ProfileState::Installed),
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
                "rsp_profiles_available",
            ),
            (
                "EID",
                ProfileFilter {
                    eid: Some(eid),
                    state: Some(ProfileState::Installed),
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
                "rsp_profiles_eid",
            ),
            (
                "matchingId",
                ProfileFilter {
                    matching_id: Some(MatchingId::parse("ABC-123").unwrap()),
                    ..base.clone()
                },
                "sqlite_autoindex_rsp_profiles_2",
            ),
        ];
        for (what, f, index) in shapes {
            let plan = store.explain_search(&f).await.unwrap().join(" | ");
            assert!(
                plan.contains(&format!("USING INDEX {index} ")),
                "{what}: {plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE") || what == "EID" || what == "matchingId",
                "{what}: sorts: {plan}"
            );
            // And it runs.
            store.search(&f).await.unwrap();
        }
        // By date: the same index range, bounded (`scan`), then the profiles of its hits by
        // their ICCID; never the whole table.
        for (what, f, index) in [
            (
                "dated",
                ProfileFilter {
                    updated_from: Some(1),
                    updated_until: Some(2),
                    after: Some(iccid.clone()),
                    ..base.clone()
                },
                "rsp_profiles_operator_iccid",
            ),
            (
                "dated by state",
                ProfileFilter {
                    updated_from: Some(1),
                    state: Some(ProfileState::Released),
                    ..base.clone()
                },
                "rsp_profiles_operator_state",
            ),
        ] {
            let plan = store.explain_search(&f).await.unwrap().join(" | ");
            assert!(
                plan.contains(&format!("USING INDEX {index} "))
                    && plan
                        .contains("SEARCH p USING INDEX sqlite_autoindex_rsp_profiles_1 (iccid=?)")
                    && !plan.contains("SCAN rsp_profiles")
                    && !plan.contains("SCAN p"),
                "{what}: {plan}"
            );
            store.search(&f).await.unwrap();
        }
        // The history of a profile: its index range.
        let plan: Vec<String> = sqlx::query(
            "EXPLAIN QUERY PLAN SELECT id, record FROM rsp_events WHERE operator_id = ? AND iccid = ? AND id > ?
             ORDER BY id LIMIT ?",
        )
        .bind(a)
        .bind(iccid.as_str())
        .bind(0)
        .bind(10)
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect();
        let plan = plan.join(" | ");
        assert!(
            plan.contains("USING INDEX rsp_events_profile") && !plan.contains("TEMP B-TREE"),
            "{plan}"
        );
    }

    /// Events recorded before migration 0014 get their ICCID from their record; a record
    /// that is not an event's (or not JSON) does not stop the migration.
    #[tokio::test]
    async fn events_recorded_before_the_iccid_column_are_backfilled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .unwrap();
        }
        let all = sqlx::migrate!("./migrations");
        let before = sqlx::migrate::Migrator {
            migrations: all
                .migrations
                .iter()
                .filter(|m| m.version < 14)
                .cloned()
                .collect::<Vec<_>>()
                .into(),
            ..all
        };
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
        )
        .await
        .unwrap();
        before.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO operators (name, mcc, mnc, iccid_prefix, iccid_len, spn, created_at)
             VALUES ('a', '001', '01', '894944', 19, 'A', 'now')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let iccid: Iccid = "8949440000000000011".parse().unwrap();
        let events = [
            Event::ProfileState {
                operator_id: 1,
                iccid: iccid.clone(),
                from: ProfileState::Available,
                to: ProfileState::Released,
                at: 5,
            },
            Event::DownloadProgress {
                operator_id: 1,
                iccid: iccid.clone(),
                profile_type: "t".into(),
                eid: None,
                point: 4,
                failure: Some(("8.2".into(), "3.7".into())),
                result_data: Some(vec![0xBF, 0x37, 0x00]),
                at: 6,
            },
        ];
        for e in &events {
            sqlx::query(
                "INSERT INTO rsp_events (operator_id, kind, record, created_at) VALUES (1, ?, ?, 0)",
            )
            .bind(e.kind())
            .bind(serde_json::to_string(e).unwrap())
            .execute(&pool)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO rsp_events (operator_id, kind, record, created_at) VALUES (1, 'x', '{not json', 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        let store = SqliteStore::open_sqlite(&path).await.unwrap();
        let history = store.history(1, &iccid, None, 10).await.unwrap();
        let got: Vec<Event> = history.into_iter().map(|h| h.event).collect();
        assert_eq!(got, events);
    }
}
