//! SIM batches: the list, an order file uploaded and previewed (its line and field errors),
//! generated as a job with its progress, and the files the role may download.

use axum::Form;
use axum::extract::{Extension, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use simforge_api::auth::{Caller, Tenant};
use simforge_api::ops::{self, OrderIn};
use simforge_api::{Api, Problem};
use simforge_store::Operator;

use crate::html::{Ctx, error_page, ok, page, respond};

const FORMATS: &[(&str, &str)] = &[
    ("i01", "Operator order file (.i01)"),
    ("toml", "Order (TOML)"),
    ("json", "Order (JSON)"),
];

fn upload_form(ctx: &Ctx<'_>, error: Option<&str>) -> Markup {
    html! {
        h2 { "New batch" }
        form.stack method="post" action=(ctx.t("/batches/preview")) enctype="multipart/form-data" {
            (ctx.csrf())
            div.field {
                label for="format" { "Order format" }
                select #format name="format" {
                    @for (v, l) in FORMATS { option value=(v) { (l) } }
                }
            }
            div.field {
                label for="order" { "Order file" }
                input #order name="order" type="file" required
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| "order-error")];
                @if let Some(e) = error { span.error #order-error role="alert" { (e) } }
            }
            button type="submit" { "Check the order" }
        }
    }
}

async fn list_page(
    api: &Api,
    caller: &Caller,
    op: &Operator,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let ctx = Ctx::new(caller, Some(op));
    let batches = match ops::batches_of(api, op).await {
        Ok(b) => b,
        Err(p) => return error_page(&p, Some(&ctx)),
    };
    let body = html! {
        @if batches.is_empty() { p { "No batch yet." } }
        @else {
            div.scroll { table.stack {
                thead { tr { th { "Batch" } th { "Cards" } th { "State" } th { "ICCIDs" } th { "IMSIs" } th { "KID / OPID" } } }
                tbody {
                    @for b in batches.iter().rev() {
                        tr {
                            td data-label="Batch" { a href=(ctx.t(&format!("/batches/{}", b.id))) { (b.name) } }
                            td data-label="Cards" { (b.quantity) }
                            td data-label="State" { (b.state) }
                            td data-label="ICCIDs" { code { (b.first_iccid_body) "…–" (b.last_iccid_body) "…" } }
                            td data-label="IMSIs" { code { (b.first_imsi) "–" (b.last_imsi) } }
                            td data-label="KID / OPID" { (b.kid) " / " (b.opid) }
                        }
                    }
                }
            } }
        }
        @if ctx.may("POST", "/api/v1/tenants/{tenant}/batches") { (upload_form(&ctx, error)) }
    };
    respond(status, page(Some(&ctx), "SIM batches", body))
}

/// `GET /console/t/{tenant}/batches`.
pub async fn list(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Response {
    list_page(&api, &caller, &op, StatusCode::OK, None).await
}

/// `POST /console/t/{tenant}/batches/preview`: the uploaded order checked (nothing made),
/// with a form to generate it.
pub async fn preview(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    mut m: Multipart,
) -> Response {
    let (mut format, mut order) = (String::from("i01"), None);
    while let Ok(Some(field)) = m.next_field().await {
        match field.name() {
            Some("format") => format = field.text().await.unwrap_or_default(),
            Some("order") => order = field.text().await.ok(),
            _ => {}
        }
    }
    let Some(order) = order.filter(|o| !o.trim().is_empty()) else {
        let e = "Choose an order file (text).";
        return list_page(
            &api,
            &caller,
            &op,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(e),
        )
        .await;
    };
    let o = OrderIn {
        format: format.clone(),
        order,
        profile: None,
        files: None,
    };
    let plan = match ops::check_order(&api, &op, &o).await {
        Ok(p) => p,
        Err(p) if p.status.is_client_error() => {
            return list_page(&api, &caller, &op, p.status, Some(&p.detail)).await;
        }
        Err(p) => return error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    };
    let ctx = Ctx::new(&caller, Some(&op));
    let body = html! {
        p.notice.ok role="status" { "The order is valid. Nothing has been made yet." }
        dl.facts #plan {
            dt { "Batch" } dd { (plan.name) }
            dt { "Cards" } dd { (plan.quantity) }
            dt { "First ICCID" } dd { code { (plan.first_iccid) } }
            dt { "First IMSI" } dd { code { (plan.first_imsi) } }
            dt { "Transport key (KID)" } dd { (plan.kid) }
            dt { "OP/TOP (OPID)" } dd { (plan.opid) }
        }
        form method="post" action=(ctx.t("/batches")) {
            (ctx.csrf())
            input type="hidden" name="format" value=(o.format);
            input type="hidden" name="order" value=(o.order);
            div.actions {
                button type="submit" #generate { "Generate " (plan.quantity) " cards" }
                a.button.secondary href=(ctx.t("/batches")) { "Back" }
            }
        }
    };
    ok(&ctx, "Order preview", body)
}

#[derive(Deserialize)]
pub struct GenerateForm {
    format: String,
    order: String,
}

/// `POST /console/t/{tenant}/batches`: the API's batch job; to its progress.
pub async fn generate(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Form(f): Form<GenerateForm>,
) -> Response {
    let o = OrderIn {
        format: f.format,
        order: f.order,
        profile: None,
        files: None,
    };
    match ops::start(&api, &caller, &op, &o).await {
        Ok(job) => Redirect::to(&format!("/console/t/{}/jobs/{}", op.name, job.id)).into_response(),
        Err(p) if p.status.is_client_error() => {
            list_page(&api, &caller, &op, p.status, Some(&p.detail)).await
        }
        Err(p) => error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    }
}

/// `GET /console/t/{tenant}/jobs/{id}`: a generation's progress (the script follows it).
pub async fn job(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, u64)>,
) -> Response {
    let ctx = Ctx::new(&caller, Some(&op));
    let j = match ops::job(&api, &op, id) {
        Ok(j) => j,
        Err(p) => return error_page(&p, Some(&ctx)),
    };
    let body = html! {
        div data-job=(format!("/api/v1/tenants/{}/jobs/{id}", op.name)) {
            p { "Batch " strong { (j.batch_name) } }
            label for="progress" { "Progress" }
            progress #progress max=(j.total.max(1)) value=(j.done) {}
            p data-job-text aria-live="polite" { (j.done) " of " (j.total) " cards (" (j.state) ")" }
        }
        @match j.state.as_str() {
            "done" => @if let Some(b) = j.batch_id {
                p.notice.ok { "Generated. " a href=(ctx.t(&format!("/batches/{b}"))) { "Its files" } }
            },
            "failed" => p.notice.bad role="alert" { (j.error.as_deref().unwrap_or("failed")) },
            _ => p.hint { "This page follows the job; " a href=(ctx.t(&format!("/jobs/{id}"))) { "reload" } " if it does not." },
        }
    };
    ok(&ctx, "Generating", body)
}

/// `GET /console/t/{tenant}/batches/{id}`: the batch's files, downloadable where the role may
/// receive them (the API's file route decides again on download).
pub async fn batch(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Response {
    batch_page(&api, &caller, &op, id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    profile_type: String,
}

/// `POST /console/t/{tenant}/batches/{id}/import`: the batch's cards into the eSIM
/// inventory (the API's import call).
pub async fn import(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<ImportForm>,
) -> Response {
    let i = ops::ImportIn {
        batch_id: id,
        profile_type: f.profile_type.trim().to_owned(),
        limit: None,
    };
    let (status, m) = match ops::import_batch_in(&api, &caller, &op, &i).await {
        Ok(r) => (
            StatusCode::OK,
            html! {
                p.notice.ok role="status" #imported {
                    "Added " (r.added) " profiles of type " (i.profile_type) " to the inventory"
                    @if let (Some(a), Some(b)) = (&r.first_iccid, &r.last_iccid) { " (" code { (a) } " – " code { (b) } ")" }
                    ". " a href=(format!("/console/t/{}/profiles?state=available", op.name)) { "See them" }
                }
            },
        ),
        Err(p) if p.status.is_client_error() => (
            p.status,
            html! { p.notice.bad role="alert" #import-error { (p.detail) } },
        ),
        Err(p) => return error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    };
    batch_page(&api, &caller, &op, id, status, Some(m)).await
}

async fn batch_page(
    api: &Api,
    caller: &Caller,
    op: &Operator,
    id: i64,
    status: StatusCode,
    notice: Option<Markup>,
) -> Response {
    let ctx = Ctx::new(caller, Some(op));
    let (files, batches) = match (
        ops::files(api, caller, op, id).await,
        ops::batches_of(api, op).await,
    ) {
        (Ok(f), Ok(b)) => (f, b),
        (Err(p), _) | (_, Err(p)) => return error_page(&p, Some(&ctx)),
    };
    let Some(b) = batches.iter().find(|b| b.id == id) else {
        return error_page(&Problem::not_found(format!("batch {id}")), Some(&ctx));
    };
    let may_import = ctx.may("POST", "/api/v1/tenants/{tenant}/inventory/import");
    let body = html! {
        @if let Some(n) = &notice { (n) }
        dl.facts {
            dt { "Cards" } dd { (b.quantity) }
            dt { "State" } dd { (b.state) }
            dt { "ICCIDs" } dd { code { (b.first_iccid_body) "… – " (b.last_iccid_body) "…" } }
            dt { "IMSIs" } dd { code { (b.first_imsi) " – " (b.last_imsi) } }
            dt { "KID / OPID" } dd { (b.kid) " / " (b.opid) }
        }
        h2 { "Files" }
        @if files.is_empty() { p { "No file (the batch is not complete)." } }
        @else {
            div.scroll { table.stack #files {
                thead { tr { th { "File" } th { "Kind" } th { "Size" } th { "" } } }
                tbody {
                    @for f in &files {
                        tr {
                            td data-label="File" { code { (f.name) } }
                            td data-label="Kind" { (f.format) }
                            td data-label="Size" { (f.size) " bytes" }
                            td {
                                @if f.allowed {
                                    a href=(format!("/api/v1/tenants/{}/batches/{id}/files/{}", op.name, f.name)) download { "Download" }
                                } @else { span.hint { "not for your role" } }
                            }
                        }
                    }
                }
            } }
        }
        @if may_import && b.state == "complete" {
            h2 { "eSIM inventory" }
            form.inline method="post" action=(ctx.t(&format!("/batches/{id}/import"))) {
                (ctx.csrf())
                div.field {
                    label for="profile_type" { "Profile type" }
                    input #profile_type name="profile_type" value="standard" required maxlength="64";
                }
                button type="submit" #import { "Import the cards as eSIM profiles" }
            }
        }
    };
    respond(status, page(Some(&ctx), &format!("Batch {}", b.name), body))
}
