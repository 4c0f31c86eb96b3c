//! The page layout and the small pieces every page uses: times, the CSRF field, errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use simforge_api::Problem;
use simforge_api::auth::{Caller, csrf_token};
use simforge_store::Operator;

use crate::CSRF_FIELD;

/// What every page of a signed-in user knows.
pub(crate) struct Ctx<'a> {
    pub caller: &'a Caller,
    pub tenant: Option<&'a Operator>,
}

impl<'a> Ctx<'a> {
    pub fn new(caller: &'a Caller, tenant: Option<&'a Operator>) -> Self {
        Self { caller, tenant }
    }

    /// The hidden CSRF field of a form (the session's token, the API's derivation).
    pub fn csrf(&self) -> Markup {
        let token = self.caller.session.as_ref().map(csrf_token);
        html! { input type="hidden" name=(CSRF_FIELD) value=[token]; }
    }

    /// The console's path of the tenant's page `rest` (`""`: its dashboard).
    pub fn t(&self, rest: &str) -> String {
        let name = self.tenant.map_or("", |t| t.name.as_str());
        format!("/console/t/{name}{rest}")
    }

    /// May the caller call this API route on the page's tenant?
    pub fn may(&self, method: &str, api_path: &str) -> bool {
        crate::may(self.caller, self.tenant.map(|t| t.id), method, api_path)
    }
}

/// A whole page: header with navigation and the sign-out form, `body` as its main content.
pub(crate) fn page(ctx: Option<&Ctx<'_>>, title: &str, body: Markup) -> Markup {
    let principal = ctx.and_then(|c| c.caller.principal.as_ref());
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · simforge console" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console" { "simforge" }
                    @if let (Some(c), Some(p)) = (ctx, principal) {
                        nav aria-label="Main" {
                            ul {
                                @if let Some(t) = c.tenant {
                                    li { a href=(c.t("")) { "Dashboard" } }
                                    li { a href=(c.t("/profiles")) { "Inventory" } }
                                    @if c.may("POST", "/api/v1/tenants/{tenant}/releases") {
                                        li { a href=(c.t("/bulk")) { "Bulk" } }
                                    }
                                    li { a href=(c.t("/batches")) { "Batches" } }
                                    li { a href=(c.t("/audit")) { "Audit" } }
                                    li { a href=(c.t("/keys")) { "Keys" } }
                                    li { a href=(c.t("/quotas")) { "Quotas" } }
                                    @if c.may("GET", "/api/v1/tenants/{tenant}/users") {
                                        li { a href=(c.t("/users")) { "People" } }
                                    }
                                    @if c.may("GET", "/api/v1/tenants/{tenant}/credentials") {
                                        li { a href=(c.t("/es2")) { "ES2+" } }
                                    }
                                    li.tenant { "Tenant " strong { (t.name) } }
                                }
                                @if p.role.is_platform() {
                                    li { a href="/console/tenants" { "Tenants" } }
                                    li { a href="/console/audit" { "Platform audit" } }
                                    @if c.may("GET", "/api/v1/users") {
                                        li { a href="/console/platform/users" { "Platform people" } }
                                    }
                                }
                            }
                        }
                        form.signout method="post" action="/console/logout" {
                            (c.csrf())
                            a.who href="/console/account" { (p.actor) " (" (p.role.as_str()) ")" }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// `markup` answered with `status`.
pub(crate) fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup.into_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A page answered 200.
pub(crate) fn ok(ctx: &Ctx<'_>, title: &str, body: Markup) -> Response {
    respond(StatusCode::OK, page(Some(ctx), title, body))
}

/// A problem as a page, with the problem's status: 404 says only "not found" (another
/// tenant's resource looks like none).
pub(crate) fn error_page(p: &Problem, ctx: Option<&Ctx<'_>>) -> Response {
    let title = match p.status.as_u16() {
        404 => "Not found",
        403 => "Not allowed",
        409 => "Refused",
        422 => "Invalid",
        429 => "Too many requests",
        s if s >= 500 => "Something went wrong",
        _ => "Refused",
    };
    let body = html! {
        p.error role="alert" { (p.detail) }
        p { a href="/console" { "Back to the start" } }
    };
    respond(p.status, page(ctx, title, body))
}

/// A time: UTC in a `<time datetime>` element, which the embedded script shows in the
/// reader's time zone.
pub(crate) fn time(unix: i64) -> Markup {
    let iso = rfc3339(unix);
    let shown = format!("{} UTC", iso.replace('T', " ").trim_end_matches('Z'));
    html! { time datetime=(iso) { (shown) } }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (the proleptic Gregorian calendar).
pub(crate) fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `YYYY-MM-DD` (a date field) as the Unix time of its midnight UTC.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1970..=9999).contains(&y) {
        return None;
    }
    // days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_and_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_000_000), "2026-11-30T00:53:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_date("2026-11-30"), Some(1_796_000_000 - 3200));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("x"), None);
    }
}
