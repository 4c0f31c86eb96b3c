//! The audit viewer: entries a page at a time, filtered, and the chain's verification.

use axum::extract::{Extension, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use std::sync::{Arc, Mutex};

use simforge_api::auth::{Caller, Tenant};
use simforge_api::ops::{self, AuditQuery};
use simforge_api::{Api, Problem};
use simforge_audit::{Broken, Summary};
use simforge_store::Operator;

use crate::html::{Ctx, error_page, ok, parse_date, time};

/// The whole chain is read and checked again at most this long after the last time (seconds);
/// in between, a page checks only the entries appended since (`verify_after`), so that a
/// page stays fast with millions of entries.
const FULL_CHECK_EVERY: i64 = 600;

/// The last intact chain seen, and when the whole of it was last checked (one per console).
#[derive(Default)]
pub struct ChainCheck(Mutex<Option<(Summary, i64)>>);

impl ChainCheck {
    fn get(&self) -> Option<(Summary, i64)> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn set(&self, v: Option<(Summary, i64)>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = v;
    }
}

/// The chain's state: intact (with when it was last checked whole) or broken.
async fn chain_state(
    api: &Api,
    check: &ChainCheck,
) -> Result<(Result<Summary, Broken>, i64), Problem> {
    let now = api.now();
    if let Some((from, at)) = check.get().filter(|(_, at)| now - at < FULL_CHECK_EVERY)
        && let Ok(s) = ops::audit_verify_after(api, from).await?
    {
        check.set(Some((s, at)));
        return Ok((Ok(s), at));
    }
    let r = ops::audit_verify(api).await?;
    check.set(r.ok().map(|s| (s, now)));
    Ok((r, now))
}

/// The filter form.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    /// `YYYY-MM-DD`: entries from that day (UTC) on.
    #[serde(default)]
    since: String,
    /// `YYYY-MM-DD`: entries until that day (UTC) included.
    #[serde(default)]
    until: String,
    #[serde(default)]
    after: Option<u64>,
}

/// `GET /console/audit` (platform roles: every entry).
pub async fn platform(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(check): Extension<Arc<ChainCheck>>,
    Query(f): Query<Filter>,
) -> Response {
    view(&api, &caller, &check, None, f).await
}

/// `GET /console/t/{tenant}/audit` (the tenant's own entries).
pub async fn tenant(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Extension(check): Extension<Arc<ChainCheck>>,
    Query(f): Query<Filter>,
) -> Response {
    view(&api, &caller, &check, Some(&op), f).await
}

async fn view(
    api: &Api,
    caller: &Caller,
    check: &ChainCheck,
    op: Option<&Operator>,
    f: Filter,
) -> Response {
    let ctx = Ctx::new(caller, op);
    let since = parse_date(f.since.trim());
    let since_error =
        (!f.since.trim().is_empty() && since.is_none()).then_some("a date: YYYY-MM-DD");
    let until = parse_date(f.until.trim()).map(|d| d + 86_400);
    let until_error = match (f.until.trim().is_empty(), until) {
        (false, None) => Some("a date: YYYY-MM-DD"),
        (false, Some(u)) if since.is_some_and(|s| s >= u) => Some("after the first day"),
        _ => None,
    };
    // The page of the audit log the API would answer, then the filter on its entries.
    let q = AuditQuery {
        after: f.after.unwrap_or(0),
        since,
        until,
        limit: Some(500),
    };
    let (entries, chain) = match (
        ops::audit_entries(api, op.map(|o| o.id), &q).await,
        chain_state(api, check).await,
    ) {
        (Ok(e), Ok(c)) => (e, c),
        (Err(p), _) | (_, Err(p)) => return error_page(&p, Some(&ctx)),
    };
    let last = entries.last().map(|e| e.seq);
    let full = entries.len() == 500;
    let has =
        |v: &str, f: &str| f.is_empty() || v.to_lowercase().contains(&f.trim().to_lowercase());
    let shown: Vec<_> = entries
        .iter()
        .filter(|e| {
            has(&e.actor, &f.actor) && has(&e.action, &f.action) && has(&e.target, &f.target)
        })
        .collect();
    let base = match op {
        Some(_) => ctx.t("/audit"),
        None => "/console/audit".into(),
    };
    let body = html! {
        @match &chain.0 {
            Ok(s) => p.notice.ok #chain role="status" {
                "Chain verified: " (s.count) " entries, intact; head " code { (hex::encode(&s.head[..8])) "…" }
                "; the whole chain checked " (time(chain.1)) " (then every " (FULL_CHECK_EVERY / 60) " minutes, the new entries on every view)."
            },
            Err(b) => p.notice.bad #chain role="alert" { "Chain broken: " (b.to_string()) },
        }
        form.inline method="get" action=(base) {
            div.field { label for="actor" { "Actor" } input #actor name="actor" value=(f.actor); }
            div.field { label for="action" { "Action" } input #action name="action" value=(f.action); }
            div.field { label for="target" { "Target" } input #target name="target" value=(f.target); }
            div.field {
                label for="since" { "Since (UTC)" }
                input #since name="since" type="date" value=(f.since)
                    aria-invalid=[since_error.map(|_| "true")];
                @if let Some(e) = since_error { span.error { (e) } }
            }
            div.field {
                label for="until" { "Until (UTC, that day included)" }
                input #until name="until" type="date" value=(f.until)
                    aria-invalid=[until_error.map(|_| "true")];
                @if let Some(e) = until_error { span.error { (e) } }
            }
            button type="submit" { "Filter" }
        }
        @if shown.is_empty() { p { "No entry matches on this page." } }
        @else {
            div.scroll { table.stack #entries {
                thead { tr { th { "#" } th { "When" } th { "Actor" } th { "Action" } th { "Target" } th { "Outcome" } th { "From" } } }
                tbody {
                    @for e in &shown {
                        tr {
                            td data-label="#" { (e.seq) }
                            td data-label="When" { (time(e.at)) }
                            td data-label="Actor" { (e.actor) }
                            td data-label="Action" { code { (e.action) } }
                            td data-label="Target" { code { (e.target) } }
                            td data-label="Outcome" { (e.outcome) }
                            td data-label="From" { (e.source.as_deref().unwrap_or("")) }
                        }
                    }
                }
            } }
        }
        @if let (true, Some(l)) = (full, last) {
            nav.pager aria-label="Pages" {
                a rel="next" href=(format!("{base}?actor={}&action={}&target={}&since={}&until={}&after={l}",
                    enc(&f.actor), enc(&f.action), enc(&f.target), enc(&f.since), enc(&f.until))) { "Next page" }
            }
        }
    };
    ok(&ctx, "Audit log", body)
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
