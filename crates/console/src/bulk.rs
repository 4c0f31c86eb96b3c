//! Bulk: release N available profiles of a type (confirmed first), then download their
//! activation codes as CSV, or as a ZIP of that CSV and one PNG QR code per profile. The
//! release is the API's `POST …/releases` call (`ops::release_many`), the downloads its
//! `GET …/activation-codes` (`ops::codes_of`, `ops::codes_in`, `ops::codes_as`).

use axum::Form;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use simforge_api::auth::{Caller, Tenant};
use simforge_api::ops::{self, CodesQuery, RELEASE_MAX, ReleaseManyIn, SearchQuery};
use simforge_api::{Api, Problem};

use crate::html::{Ctx, error_page, ok, respond};

/// The bulk forms' fields.
#[derive(Debug, Default, Deserialize)]
pub struct BulkForm {
    #[serde(default, rename = "type")]
    profile_type: String,
    #[serde(default)]
    count: String,
}

impl BulkForm {
    /// The release these fields ask for, or what is wrong with them (field, message).
    fn release(&self) -> Result<ReleaseManyIn, (&'static str, String)> {
        let t = self.profile_type.trim();
        if t.is_empty() || t.len() > 64 {
            return Err(("type", "A profile type has 1 to 64 characters.".into()));
        }
        match self.count.trim().parse::<u32>() {
            Ok(n) if (1..=RELEASE_MAX).contains(&n) => Ok(ReleaseManyIn {
                profile_type: t.to_owned(),
                count: n,
            }),
            _ => Err(("count", format!("A number from 1 to {RELEASE_MAX}."))),
        }
    }
}

/// The form of a bulk release, with `error` next to its field.
fn release_form(ctx: &Ctx<'_>, f: &BulkForm, error: Option<&(&str, String)>) -> Markup {
    let err = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, m)| m.clone());
    let (type_err, count_err) = (err("type"), err("count"));
    html! {
        form.stack method="get" action=(ctx.t("/bulk/release")) {
            div.field {
                label for="type" { "Profile type" }
                input #type name="type" value=(f.profile_type) required maxlength="64" autocomplete="off"
                    aria-invalid=[type_err.as_ref().map(|_| "true")]
                    aria-describedby=[type_err.as_ref().map(|_| "type-error")];
                @if let Some(e) = &type_err { span.error #type-error { (e) } }
            }
            div.field {
                label for="count" { "How many profiles" }
                input #count name="count" type="number" min="1" max=(RELEASE_MAX) value=(f.count) required
                    aria-invalid=[count_err.as_ref().map(|_| "true")]
                    aria-describedby=(if count_err.is_some() { "count-error" } else { "count-hint" });
                @if let Some(e) = &count_err { span.error #count-error { (e) } }
                @else { span.hint #count-hint { "1 to " (RELEASE_MAX) " available profiles, ordered and released at once." } }
            }
            div.actions { button type="submit" #bulk-next { "Next…" } }
        }
    }
}

/// `GET /console/t/{tenant}/bulk`: the release form, and the codes of released profiles of a
/// type.
pub async fn page(
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(f): Query<BulkForm>,
) -> Response {
    let ctx = Ctx::new(&caller, Some(&op));
    let body = html! {
        h2 { "Release profiles" }
        (release_form(&ctx, &f, None))
        h2 { "Activation codes of released profiles" }
        form.inline method="get" action=(ctx.t("/bulk/codes.csv")) {
            div.field {
                label for="codes-type" { "Profile type" }
                input #codes-type name="type" value=(f.profile_type) maxlength="64" autocomplete="off";
            }
            button type="submit" { "CSV" }
            button type="submit" formaction=(ctx.t("/bulk/codes.zip")) { "ZIP with QR codes" }
        }
        p.hint { "The first " (RELEASE_MAX) " released profiles of the type, in ICCID order." }
    };
    ok(&ctx, "Bulk release", body)
}

/// How many profiles of `profile_type` are available (counted up to [`RELEASE_MAX`]).
async fn available(api: &Api, op: &simforge_store::Operator, t: &str) -> Result<usize, Problem> {
    let q = SearchQuery {
        state: Some("available".into()),
        profile_type: Some(t.to_owned()),
        limit: Some(RELEASE_MAX),
        ..SearchQuery::default()
    };
    Ok(ops::search_in(api, op, &q).await?.profiles.len())
}

/// `GET /console/t/{tenant}/bulk/release`: the confirmation step.
pub async fn confirm(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(f): Query<BulkForm>,
) -> Response {
    let ctx = Ctx::new(&caller, Some(&op));
    let r = match f.release() {
        Ok(r) => r,
        Err(e) => {
            let body = release_form(&ctx, &f, Some(&e));
            return respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                crate::html::page(Some(&ctx), "Bulk release", body),
            );
        }
    };
    let have = match available(&api, &op, &r.profile_type).await {
        Ok(n) => n,
        Err(p) => return error_page(&p, Some(&ctx)),
    };
    let body = html! {
        form.stack method="post" action=(ctx.t("/bulk/release")) {
            (ctx.csrf())
            input type="hidden" name="type" value=(r.profile_type);
            input type="hidden" name="count" value=(r.count);
            p {
                "Release " strong #bulk-count { (r.count) } " profiles of type " code { (r.profile_type) }
                "? Each is ordered and released at once (ES2+ DownloadOrder, ConfirmOrder): "
                "its activation code works from then on."
            }
            p #bulk-available {
                (have) @if have >= RELEASE_MAX as usize { " or more" } " of the type are available."
                @if have < r.count as usize { " " span.error { "Only " (have) " will be released." } }
            }
            div.actions {
                button type="submit" #confirm { "Release " (r.count) }
                a.button.secondary href=(format!("{}?type={}&count={}", ctx.t("/bulk"), crate::inventory::enc(&r.profile_type), r.count)) { "Back" }
            }
        }
    };
    ok(&ctx, "Bulk release — confirm", body)
}

/// `POST /console/t/{tenant}/bulk/release`: the API's bulk release; the ICCIDs released and
/// the downloads of their codes.
pub async fn release(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Form(f): Form<BulkForm>,
) -> Response {
    let ctx = Ctx::new(&caller, Some(&op));
    let r = match f.release() {
        Ok(r) => r,
        Err(e) => {
            let body = release_form(&ctx, &f, Some(&e));
            return respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                crate::html::page(Some(&ctx), "Bulk release", body),
            );
        }
    };
    let out = match ops::release_many(&api, &op, &r).await {
        Ok(o) => o,
        Err(p) if p.status == StatusCode::NOT_FOUND => return error_page(&p, Some(&ctx)),
        Err(p) => {
            let body = html! {
                p.error role="alert" { "Nothing was released: " (p.detail) }
                (release_form(&ctx, &f, None))
            };
            return respond(
                p.status,
                crate::html::page(Some(&ctx), "Bulk release", body),
            );
        }
    };
    let list = out.released.join(",");
    let body = html! {
        p.notice.ok role="status" #bulk-done {
            "Released " strong { (out.released.len()) } " profiles of type " code { (r.profile_type) } "."
        }
        @if let Some(why) = &out.stopped {
            p.error role="alert" { "Stopped after " (out.released.len()) " of " (r.count) ": " (why) }
        }
        h2 { "Their activation codes" }
        div.actions {
            a.button #codes-csv href=(format!("{}?iccids={list}", ctx.t("/bulk/codes.csv"))) download { "Download CSV" }
            a.button #codes-zip href=(format!("{}?iccids={list}", ctx.t("/bulk/codes.zip"))) download { "Download ZIP (CSV + QR codes)" }
        }
        div.scroll { table.stack #released {
            thead { tr { th { "ICCID" } } }
            tbody {
                @for i in &out.released {
                    tr { td data-label="ICCID" { a.mono href=(ctx.t(&format!("/profiles/{i}"))) { (i) } } }
                }
            }
        } }
        p { a href=(ctx.t("/bulk")) { "Release more" } }
    };
    ok(&ctx, "Bulk release — done", body)
}

/// Which codes to download: the profiles `iccids` (comma-separated), or else the released
/// profiles of `type` (the first page).
#[derive(Debug, Default, Deserialize)]
pub struct CodesForm {
    #[serde(default)]
    iccids: String,
    #[serde(default, rename = "type")]
    profile_type: String,
}

/// `GET /console/t/{tenant}/bulk/codes.csv`.
pub async fn codes_csv(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(f): Query<CodesForm>,
) -> Response {
    codes(&api, &caller, &op, &f, "csv").await
}

/// `GET /console/t/{tenant}/bulk/codes.zip`.
pub async fn codes_zip(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(f): Query<CodesForm>,
) -> Response {
    codes(&api, &caller, &op, &f, "zip").await
}

/// The codes `f` names as `format`, an attachment.
async fn codes(
    api: &Api,
    caller: &Caller,
    op: &simforge_store::Operator,
    f: &CodesForm,
    format: &str,
) -> Response {
    let ctx = Ctx::new(caller, Some(op));
    let rows = if f.iccids.trim().is_empty() {
        let q = CodesQuery {
            profile_type: Some(f.profile_type.trim().to_owned()),
            ..CodesQuery::default()
        };
        ops::codes_in(api, op, &q).await.map(|p| p.rows)
    } else {
        let list: Vec<String> = f
            .iccids
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        ops::codes_of(api, op, &list).await
    };
    let (body, ctype) = match rows.and_then(|r| ops::codes_as(&r, format)) {
        Ok(b) => b,
        Err(p) => return error_page(&p, Some(&ctx)),
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-activation-codes.{format}\"",
        op.name
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}
