//! The dashboard, the eSIM inventory (search, CSV export), a profile page (history as a
//! timeline, activation code and QR, the actions the role allows, each confirmed first).

use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use simforge_api::auth::{Caller, Tenant};
use simforge_api::ops::{self, HistoryOut, SearchQuery};
use simforge_api::{Api, Problem};

use crate::html::{Ctx, error_page, ok, respond, time};

/// The states a profile can be in, in the order of its life.
const STATES: &[&str] = &[
    "available",
    "allocated",
    "linked",
    "confirmed",
    "released",
    "downloaded",
    "installed",
    "error",
    "unavailable",
];

/// The dashboard's window: `24h` (default) or `7d`.
#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    #[serde(default)]
    window: String,
}

/// Downloads per hour (installed below, failed stacked above) as an SVG bar chart, drawn on
/// the server (no script; colours from the stylesheet), then the failures by SGP.22 reason.
fn activity_chart(a: &ops::Activity, window: &str) -> Markup {
    const H: u64 = 120;
    let n = a.hours.len().max(1);
    let w = if n > 48 { 4 } else { 16 };
    let width = n * w;
    let highest = a
        .hours
        .iter()
        .map(|h| h.installed + h.failed)
        .max()
        .unwrap_or(0);
    let top = highest.max(1);
    let scale = |v: u64| v * H / top;
    let installed: u64 = a.hours.iter().map(|h| h.installed).sum();
    let failed: u64 = a.hours.iter().map(|h| h.failed).sum();
    let label = format!(
        "Downloads per hour over the last {window}: {installed} installed, {failed} failed; highest hour {highest}"
    );
    html! {
        figure.chart {
            svg role="img" aria-label=(label) viewBox=(format!("0 0 {width} {H}"))
                preserveAspectRatio="none" width="100%" height=(H) {
                @for (i, h) in a.hours.iter().enumerate() {
                    @let x = i * w;
                    @let ok_h = scale(h.installed);
                    @let bad_h = scale(h.failed);
                    g {
                        title { (crate::html::rfc3339(h.hour)) ": " (h.installed) " installed, " (h.failed) " failed" }
                        @if ok_h > 0 {
                            rect.bar-ok x=(x) y=(H - ok_h) width=(w - 1) height=(ok_h) {}
                        }
                        @if bad_h > 0 {
                            rect.bar-fail x=(x) y=(H - ok_h - bad_h) width=(w - 1) height=(bad_h) {}
                        }
                    }
                }
                line.axis x1="0" y1=(H) x2=(width) y2=(H) {}
            }
            figcaption {
                (installed) " installed, " (failed) " failed, from "
                @if let (Some(f), Some(l)) = (a.hours.first(), a.hours.last()) {
                    (time(f.hour)) " to " (time(l.hour + 3600))
                }
                " (busiest hour: " (highest) ")."
            }
        }
        @if !a.failures.is_empty() {
            h3 { "Failures by SGP.22 reason" }
            table.failures {
                thead { tr { th { "subjectCode/reasonCode" } th { "Failures" } th { span.visually-hidden { "Share" } } } }
                tbody {
                    @for (code, count) in &a.failures {
                        tr {
                            td { code { (code) } }
                            td { (count) }
                            td { meter min="0" max=(failed.max(1)) value=(count) aria-label=(format!("{count} of {failed}")) {} }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/t/{tenant}`: profiles by state, downloads per hour and failures by reason
/// (24 hours or 7 days), batches in progress, the latest batches.
pub async fn dashboard(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let ctx = Ctx::new(&caller, Some(&op));
    let (window, hours) = match q.window.as_str() {
        "7d" => ("7 days", 7 * 24),
        _ => ("24 hours", 24),
    };
    let (summary, batches, activity) = match (
        ops::summary_of(&api, &op).await,
        ops::batches_of(&api, &op).await,
        ops::activity_of(&api, &op, hours).await,
    ) {
        (Ok(s), Ok(b), Ok(a)) => (s, b, a),
        (Err(p), _, _) | (_, Err(p), _) | (_, _, Err(p)) => return error_page(&p, Some(&ctx)),
    };
    let jobs: Vec<_> = ops::jobs_of(&api, &op)
        .into_iter()
        .filter(|j| j.state == "running")
        .collect();
    let count = |s: &str| {
        summary
            .profiles
            .get(s)
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    };
    let total: u64 = STATES.iter().map(|s| count(s)).sum();
    let body = html! {
        h2 { "eSIM inventory" }
        p { (total) " profiles. " a href=(ctx.t("/profiles")) { "Search the inventory" } }
        ul.cards aria-label="Profiles by state" {
            @for s in STATES {
                li {
                    span.n { (count(s)) }
                    a href=(format!("{}?state={s}", ctx.t("/profiles"))) { (s) }
                }
            }
        }
        h2 { "Downloads" }
        p.window {
            @if hours == 24 { strong { "Last 24 hours" } } @else { a href=(ctx.t("")) { "Last 24 hours" } }
            " · "
            @if hours == 24 { a href=(format!("{}?window=7d", ctx.t(""))) { "Last 7 days" } } @else { strong { "Last 7 days" } }
        }
        (activity_chart(&activity, window))
        @if !jobs.is_empty() {
            h2 { "Batches in progress" }
            ul.jobs {
                @for j in &jobs {
                    li data-job=(format!("/api/v1/tenants/{}/jobs/{}", op.name, j.id)) {
                        a href=(ctx.t(&format!("/jobs/{}", j.id))) { (j.batch_name) } " "
                        progress max=(j.total.max(1)) value=(j.done) aria-label=(format!("Progress of {}", j.batch_name)) {}
                        " " span data-job-text { (j.done) " of " (j.total) " cards (" (j.state) ")" }
                    }
                }
            }
        }
        h2 { "Batches" }
        @if batches.is_empty() { p { "No batch yet." } }
        @else {
            div.scroll { table.stack {
                thead { tr { th { "Batch" } th { "Cards" } th { "State" } th { "First ICCID" } } }
                tbody {
                    @for b in batches.iter().rev().take(10) {
                        tr {
                            td data-label="Batch" { a href=(ctx.t(&format!("/batches/{}", b.id))) { (b.name) } }
                            td data-label="Cards" { (b.quantity) }
                            td data-label="State" { (b.state) }
                            td data-label="First ICCID" { code { (b.first_iccid_body) } }
                        }
                    }
                }
            } }
        }
        p { a href=(ctx.t("/batches")) { "All batches" } }
    };
    ok(&ctx, &format!("Dashboard of {}", op.name), body)
}

/// The search form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    /// An ICCID (or its first digits), an EID or a matchingId.
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
    #[serde(default, rename = "type")]
    profile_type: String,
    #[serde(default)]
    after: String,
    /// Changed on or after this UTC day (`YYYY-MM-DD`; an RFC 3339 time also does).
    #[serde(default)]
    from: String,
    /// Changed before this UTC day (its midnight, exclusive).
    #[serde(default)]
    before: String,
}

impl SearchForm {
    /// The API's query: what `q` is decided by its shape.
    fn query(&self, limit: u32) -> SearchQuery {
        let q = self.q.trim();
        let mut s = SearchQuery {
            limit: Some(limit),
            ..SearchQuery::default()
        };
        if !q.is_empty() {
            if q.len() == 32 && q.bytes().all(|b| b.is_ascii_digit()) {
                s.eid = Some(q.to_owned());
            } else if q.len() <= 20 && q.bytes().all(|b| b.is_ascii_digit()) {
                s.iccid = Some(q.to_owned());
            } else {
                s.matching_id = Some(q.to_owned());
            }
        }
        s.state = Some(self.state.clone()).filter(|s| !s.is_empty());
        s.profile_type = Some(self.profile_type.trim().to_owned()).filter(|s| !s.is_empty());
        s.after = Some(self.after.clone()).filter(|s| !s.is_empty());
        s.updated_from = Some(self.from.trim().to_owned()).filter(|s| !s.is_empty());
        s.updated_until = Some(self.before.trim().to_owned()).filter(|s| !s.is_empty());
        s
    }

    fn link(&self, after: Option<&str>) -> String {
        let mut q = format!(
            "q={}&state={}&type={}",
            enc(self.q.trim()),
            enc(&self.state),
            enc(self.profile_type.trim())
        );
        for (name, v) in [("from", &self.from), ("before", &self.before)] {
            if !v.trim().is_empty() {
                q.push_str(&format!("&{name}={}", enc(v.trim())));
            }
        }
        if let Some(a) = after {
            q.push_str(&format!("&after={}", enc(a)));
        }
        q
    }
}

/// Percent-encodes a query value.
pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /console/t/{tenant}/profiles`: search with keyset pages (by date, a page that stopped
/// at the search's bound says how far it looked and continues from there), a CSV export of
/// the result.
pub async fn search(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(f): Query<SearchForm>,
) -> Response {
    let ctx = Ctx::new(&caller, Some(&op));
    let found = ops::search_in(&api, &op, &f.query(50)).await;
    let (page, error) = match found {
        Ok(p) => (Some(p), None),
        Err(p) if p.status == StatusCode::UNPROCESSABLE_ENTITY => (None, Some(p.detail)),
        Err(p) => return error_page(&p, Some(&ctx)),
    };
    let state_error = error.as_ref().filter(|e| e.starts_with("state"));
    let from_error = error.as_ref().filter(|e| e.starts_with("updated_from"));
    let before_error = error.as_ref().filter(|e| e.starts_with("updated_until"));
    let q_error = error.as_ref().filter(|e| {
        !e.starts_with("state") && !e.starts_with("updated_from") && !e.starts_with("updated_until")
    });
    let body = html! {
        form.inline method="get" action=(ctx.t("/profiles")) role="search" {
            div.field {
                label for="q" { "ICCID, EID or matchingId" }
                input #q name="q" value=(f.q) size="34" autocomplete="off"
                    aria-invalid=[q_error.map(|_| "true")]
                    aria-describedby=[q_error.map(|_| "q-error")];
                @if let Some(e) = q_error { span.error #q-error { (e) } }
            }
            div.field {
                label for="state" { "State" }
                select #state name="state" aria-invalid=[state_error.map(|_| "true")] {
                    option value="" { "any" }
                    @for s in STATES {
                        option value=(s) selected[f.state == *s] { (s) }
                    }
                }
                @if let Some(e) = state_error { span.error { (e) } }
            }
            div.field {
                label for="type" { "Profile type" }
                input #type name="type" value=(f.profile_type) size="12" autocomplete="off";
            }
            div.field {
                label for="from" { "Changed from (UTC day)" }
                input #from name="from" type="date" value=(f.from)
                    aria-invalid=[from_error.map(|_| "true")]
                    aria-describedby=[from_error.map(|_| "from-error")];
                @if let Some(e) = from_error { span.error #from-error { (e) } }
            }
            div.field {
                label for="before" { "Changed before (UTC day)" }
                input #before name="before" type="date" value=(f.before)
                    aria-invalid=[before_error.map(|_| "true")]
                    aria-describedby=[before_error.map(|_| "before-error")];
                @if let Some(e) = before_error { span.error #before-error { (e) } }
            }
            button type="submit" { "Search" }
        }
        @if let Some(page) = &page {
            p {
                a href=(format!("{}?{}", ctx.t("/profiles.csv"), f.link(None))) download { "Export as CSV" }
            }
            @if let (Some(n), Some(next)) = (page.scanned, &page.next) {
                p.notice #partial role="status" {
                    "Searched " (n) " profiles (up to ICCID " code { (next) } "): "
                    (page.profiles.len()) " of them changed in these days. "
                    a href=(format!("{}?{}", ctx.t("/profiles"), f.link(Some(next)))) { "Continue with the next profiles" }
                }
            }
            @if page.profiles.is_empty() && page.scanned.is_some() { p #results { "No profile matches among these." } }
            @else if page.profiles.is_empty() { p #results { "No profile matches." } }
            @else {
                div.scroll { table.stack #results {
                    thead { tr { th { "ICCID" } th { "State" } th { "Type" } th { "EID" } th { "matchingId" } th { "Changed" } } }
                    tbody {
                        @for p in &page.profiles {
                            tr {
                                td data-label="ICCID" { a.mono href=(ctx.t(&format!("/profiles/{}", p.iccid))) { (p.iccid) } }
                                td data-label="State" { (p.state) }
                                td data-label="Type" { (p.profile_type) }
                                td data-label="EID" { code { (p.eid.as_deref().unwrap_or("")) } }
                                td data-label="matchingId" { code { (p.matching_id.as_deref().unwrap_or("")) } }
                                td data-label="Changed" { (time(p.updated_at)) }
                            }
                        }
                    }
                } }
                nav.pager aria-label="Pages" {
                    @if !f.after.is_empty() {
                        a href=(format!("{}?{}", ctx.t("/profiles"), f.link(None))) { "First page" }
                    }
                    @if let Some(n) = &page.next {
                        a rel="next" href=(format!("{}?{}", ctx.t("/profiles"), f.link(Some(n)))) { "Next page" }
                    }
                }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    respond(
        status,
        crate::html::page(Some(&ctx), "eSIM inventory", body),
    )
}

/// The most rows one CSV export holds.
const EXPORT_MAX: usize = 100_000;

/// The most search pages one CSV export reads: a search by date reads at most
/// `smdp::SCAN_MAX` profiles a page, so that 1,000,000 profiles are covered and a request
/// stays bounded (a few seconds); an export cut short is named `…-partial.csv`.
const EXPORT_PAGES: usize = 250;

/// `GET /console/t/{tenant}/profiles.csv`: every profile the search matches (up to
/// 100,000), page by page through the same search call.
pub async fn export(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(mut f): Query<SearchForm>,
) -> Response {
    let mut csv = String::from("iccid,state,profile_type,eid,matching_id,updated_at\r\n");
    let mut rows = 0;
    let mut partial = false;
    f.after.clear();
    for pages in 1.. {
        let page = match ops::search_in(&api, &op, &f.query(1000)).await {
            Ok(p) => p,
            Err(p) => return error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
        };
        for p in &page.profiles {
            csv.push_str(&format!(
                "{},{},{},{},{},{}\r\n",
                p.iccid,
                p.state,
                csv_field(&p.profile_type),
                p.eid.as_deref().unwrap_or(""),
                p.matching_id.as_deref().unwrap_or(""),
                crate::html::rfc3339(p.updated_at),
            ));
        }
        rows += page.profiles.len();
        match page.next {
            Some(n) if rows < EXPORT_MAX && pages < EXPORT_PAGES => f.after = n,
            Some(_) => {
                partial = true;
                break;
            }
            None => break,
        }
    }
    let mut r = csv.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-profiles{}.csv\"",
        op.name,
        if partial { "-partial" } else { "" }
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// A CSV field, quoted when it needs to be; a leading formula character is neutralized.
fn csv_field(s: &str) -> String {
    let s = match s.starts_with(['=', '+', '-', '@']) {
        true => format!("'{s}"),
        false => s.to_owned(),
    };
    match s.contains([',', '"', '\r', '\n']) {
        true => format!("\"{}\"", s.replace('"', "\"\"")),
        false => s,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn event(h: &HistoryOut) -> Markup {
    let point = |p: u32| match p {
        1 => "eligibility check",
        2 => "confirmation",
        3 => "bound profile package delivered",
        4 => "installation",
        5 => "deleted",
        _ => "download point",
    };
    html! {
        li.failed[h.subject_code.is_some()] {
            (time(h.at)) " — "
            @if h.kind == "state" {
                "state " strong { (h.from.as_deref().unwrap_or("?")) } " → " strong { (h.to.as_deref().unwrap_or("?")) }
            } @else {
                "ES9+ " (point(h.point.unwrap_or(0)))
                @if let Some(e) = &h.eid { " by EID " code { (e) } }
                @if let (Some(s), Some(r)) = (&h.subject_code, &h.reason_code) {
                    ": " span.error { "failed, SGP.22 " (s) " / " (r) }
                    @if let (Some(c), Some(e)) = (h.bpp_command_id, h.error_reason) {
                        " (bppCommandId " (c) ", errorReason " (e) ")"
                    }
                } @else { ": ok" }
            }
        }
    }
}

/// The actions a profile in `state` can take.
fn actions_for(state: &str) -> &'static [&'static str] {
    match state {
        "available" => &["order"],
        "allocated" | "linked" => &["confirm", "cancel"],
        "confirmed" => &["release", "cancel"],
        "released" => &["cancel"],
        "error" => &["reset"],
        _ => &[],
    }
}

/// The API route whose policy an action has.
fn action_route(action: &str) -> Option<&'static str> {
    match action {
        "release" => Some("/api/v1/tenants/{tenant}/profiles/{iccid}/release"),
        "cancel" => Some("/api/v1/tenants/{tenant}/profiles/{iccid}/cancel-order"),
        "reset" => Some("/api/v1/tenants/{tenant}/profiles/{iccid}/reset"),
        "order" => Some("/api/v1/tenants/{tenant}/profiles/{iccid}/download-order"),
        "confirm" => Some("/api/v1/tenants/{tenant}/profiles/{iccid}/confirm-order"),
        _ => None,
    }
}

fn label(action: &str) -> &'static str {
    match action {
        "release" => "Release",
        "order" => "Order",
        "confirm" => "Confirm the order",
        "cancel" => "Cancel the order",
        _ => "Reset",
    }
}

/// `GET /console/t/{tenant}/profiles/{iccid}`.
pub async fn profile(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, iccid)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    let ctx = Ctx::new(&caller, Some(&op));
    let d = match ops::detail(&api, &op, &iccid).await {
        Ok(d) => d,
        Err(p) => return error_page(&p, Some(&ctx)),
    };
    let p = &d.profile;
    let code_allowed = ctx.may(
        "GET",
        "/api/v1/tenants/{tenant}/profiles/{iccid}/activation-code",
    );
    let code = match (code_allowed, &p.matching_id) {
        (true, Some(_)) => ops::code(&api, &op, &p.iccid, "text")
            .await
            .ok()
            .map(|(b, _)| String::from_utf8_lossy(&b).into_owned()),
        _ => None,
    };
    let actions: Vec<&str> = actions_for(&p.state)
        .iter()
        .copied()
        .filter(|a| action_route(a).is_some_and(|r| ctx.may("POST", r)))
        .collect();
    let body = html! {
        @if let Some(a) = &done.done {
            p.notice.ok role="status" { "Done: " (a) ". The profile is now " strong { (p.state) } "." }
        }
        dl.facts {
            dt { "ICCID" } dd { code { (p.iccid) } }
            dt { "State" } dd #state { strong { (p.state) } }
            dt { "Type" } dd { (p.profile_type) }
            dt { "Profile name" } dd { (d.profile_name) }
            dt { "Service provider" } dd { (d.service_provider_name) }
            dt { "EID" } dd { code { (p.eid.as_deref().unwrap_or("—")) } }
            dt { "matchingId" } dd { code { (p.matching_id.as_deref().unwrap_or("—")) } }
            dt { "Downloads of this order" } dd { (p.download_attempts) }
            @if let Some(e) = d.order_expires_at { dt { "Order expires" } dd { (time(e)) } }
            dt { "Confirmation code" } dd { @if d.confirmation_code_required { "required" } @else { "none" } }
            dt { "Changed" } dd { (time(p.updated_at)) }
        }
        @if !actions.is_empty() {
            h2 { "Actions" }
            div.actions {
                @for a in &actions {
                    a.button href=(ctx.t(&format!("/profiles/{}/{a}", p.iccid))) { (label(a)) "…" }
                }
            }
        }
        @if let Some(code) = &code {
            h2 { "Activation code" }
            p { code #activation-code { (code) } }
            img.qr src=(ctx.t(&format!("/profiles/{}/qr.svg", p.iccid)))
                alt="QR code of the activation code" width="256" height="256";
        }
        h2 { "History" }
        @if d.history.is_empty() { p { "No event yet." } }
        @else { ol.timeline { @for h in &d.history { (event(h)) } } }
        p { a href=(ctx.t("/profiles")) { "Back to the inventory" } }
    };
    ok(&ctx, &format!("Profile {}", p.iccid), body)
}

/// `GET /console/t/{tenant}/profiles/{iccid}/qr.svg`: the activation code's QR code.
pub async fn qr(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, iccid)): Path<(String, String)>,
) -> Response {
    match ops::code(&api, &op, &iccid, "svg").await {
        Ok((body, ctype)) => {
            let mut r = body.into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            r
        }
        Err(p) => error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    }
}

/// The confirmation step of `action`, with `error` if the last try failed.
fn confirm_page(ctx: &Ctx<'_>, iccid: &str, action: &str, error: Option<&Problem>) -> Response {
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e.detail) } }
        form.stack method="post" action=(ctx.t(&format!("/profiles/{iccid}/{action}"))) {
            (ctx.csrf())
            @match action {
                "release" => p { "Release profile " code { (iccid) } " for download? Its activation code will work from now on." },
                "order" => {
                    p { "Order profile " code { (iccid) } " (ES2+ DownloadOrder)?" }
                    div.field {
                        label for="eid" { "EID (optional: link the order to one eUICC)" }
                        input #eid name="eid" inputmode="numeric" pattern="[0-9]{32}" maxlength="32" autocomplete="off";
                    }
                },
                "confirm" => {
                    p { "Confirm the order of profile " code { (iccid) } " (ES2+ ConfirmOrder)?" }
                    div.field {
                        label { input name="release" type="checkbox" value="true" checked; " Release it at once (its activation code works from now on)" }
                    }
                },
                "cancel" => {
                    p { "Cancel the order of profile " code { (iccid) } "? Its activation code stops working." }
                    div.field {
                        label for="final_status" { "Afterwards the profile is" }
                        select #final_status name="final_status" {
                            option value="Available" { "Available (can be ordered again)" }
                            option value="Unavailable" { "Unavailable" }
                        }
                    }
                },
                _ => {
                    p { "Take profile " code { (iccid) } " out of Error?" }
                    div.field {
                        label for="to" { "To" }
                        select #to name="to" {
                            option value="released" { "Released (the same activation code works again)" }
                            option value="available" { "Available (the order is dropped)" }
                        }
                    }
                }
            }
            div.actions {
                button.danger[matches!(action, "cancel" | "reset")] type="submit" #confirm { (label(action)) }
                a.button.secondary href=(ctx.t(&format!("/profiles/{iccid}"))) { "Back" }
            }
        }
    };
    let status = error.map_or(StatusCode::OK, |e| e.status);
    respond(
        status,
        crate::html::page(Some(ctx), &format!("{} — confirm", label(action)), body),
    )
}

/// `GET /console/t/{tenant}/profiles/{iccid}/{action}`: the confirmation step.
pub async fn confirm(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, iccid, action)): Path<(String, String, String)>,
) -> Response {
    let ctx = Ctx::new(&caller, Some(&op));
    // The profile must be the tenant's (404 otherwise), as for the action itself.
    if let Err(p) = ops::detail(&api, &op, &iccid).await {
        return error_page(&p, Some(&ctx));
    }
    confirm_page(&ctx, &iccid, &action, None)
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    final_status: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    eid: Option<String>,
    #[serde(default)]
    release: Option<String>,
}

/// `POST /console/t/{tenant}/profiles/{iccid}/{action}`: the API's call; back to the profile.
pub async fn act(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, iccid, action)): Path<(String, String, String)>,
    Form(f): Form<ActForm>,
) -> Response {
    let ctx = Ctx::new(&caller, Some(&op));
    let r = match action.as_str() {
        "release" => ops::release(&api, &op, &iccid).await,
        "order" => {
            let b = ops::DownloadOrderIn {
                eid: f.eid.filter(|e| !e.trim().is_empty()),
            };
            ops::order(&api, &op, &iccid, &b).await
        }
        "confirm" => {
            let b = ops::ConfirmOrderIn {
                release: Some(f.release.is_some()),
                ..ops::ConfirmOrderIn::default()
            };
            ops::confirm(&api, &op, &iccid, &b).await
        }
        "cancel" => {
            let s = f.final_status.as_deref().unwrap_or("Available");
            ops::cancel(&api, &op, &iccid, s).await
        }
        "reset" => {
            let to = f.to.as_deref().unwrap_or("released");
            ops::reset_to(&api, &caller, &op, &iccid, to).await
        }
        _ => Err(Problem::not_found("no such action")),
    };
    match r {
        Ok(p) => {
            Redirect::to(&ctx.t(&format!("/profiles/{}?done={action}", p.iccid))).into_response()
        }
        Err(p) if p.status == StatusCode::NOT_FOUND => error_page(&p, Some(&ctx)),
        Err(p) => confirm_page(&ctx, &iccid, &action, Some(&p)),
    }
}
