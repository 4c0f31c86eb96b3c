//! A tenant's keys (imported from a file, listed by kind and index, never shown), its people
//! and API tokens, its ES2+ credentials. A new token's or API key's secret, and a new
//! administrator's TOTP enrollment URI, are shown once, on the page that answers the creation
//! (as the API answers them once); no list ever holds one.

use axum::Form;
use axum::extract::{Extension, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use simforge_access::Role;
use simforge_api::Api;
use simforge_api::auth::{Caller, Tenant};
use simforge_api::ops::{self, NewKeyIn, NewTokenIn, NewUserIn};
use simforge_store::Operator;

use crate::html::{Ctx, error_page, page, respond, time};

const T: &str = "/api/v1/tenants/{tenant}";

fn api(path: &str) -> String {
    format!("{T}{path}")
}

// ---- keys ----

async fn keys_page(
    api_: &Api,
    caller: &Caller,
    op: &Operator,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let ctx = Ctx::new(caller, Some(op));
    let keys = match ops::keys_of(api_, op).await {
        Ok(k) => k,
        Err(p) => return error_page(&p, Some(&ctx)),
    };
    let body = html! {
        @if let Some(n) = notice { p.notice.ok role="status" { (n) } }
        p.hint { "Keys are sealed when imported and are never shown again, here or anywhere." }
        @if keys.is_empty() { p { "No key yet." } }
        @else {
            div.scroll { table.stack #keys {
                thead { tr { th { "Kind" } th { "Index" } th { "Size" } th { "Imported" } } }
                tbody {
                    @for k in &keys {
                        tr {
                            td data-label="Kind" { (k.kind) }
                            td data-label="Index" { (k.index) }
                            td data-label="Size" { (k.bits) " bits" }
                            td data-label="Imported" { (k.created_at) }
                        }
                    }
                }
            } }
        }
        @if ctx.may("POST", &api("/keys")) {
            h2 { "Import a key" }
            form.stack method="post" action=(ctx.t("/keys")) enctype="multipart/form-data" {
                (ctx.csrf())
                div.field {
                    label for="kind" { "Kind" }
                    select #kind name="kind" {
                        option value="transport" { "Transport key (KID)" }
                        option value="op" { "OP / TOP (OPID)" }
                    }
                }
                div.field {
                    label for="index" { "Index" }
                    input #index name="index" type="number" min="0" max="4294967295" required;
                }
                div.field {
                    label for="key" { "Key file (hex)" }
                    input #key name="key" type="file" required
                        aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[error.map(|_| "key-error")];
                    @if let Some(e) = error { span.error #key-error role="alert" { (e) } }
                }
                div.field {
                    label { input name="replace" type="checkbox" value="true"; " Replace the key at this index" }
                }
                button type="submit" { "Import" }
            }
        }
    };
    respond(status, page(Some(&ctx), "Keys", body))
}

/// `GET /console/t/{tenant}/keys`.
pub async fn keys(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Response {
    keys_page(&api_, &caller, &op, StatusCode::OK, None, None).await
}

/// `POST /console/t/{tenant}/keys`: the key file imported through the API's call.
pub async fn import_key(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    mut m: Multipart,
) -> Response {
    let (mut kind, mut index, mut value, mut replace) = (String::new(), None, None, false);
    while let Ok(Some(field)) = m.next_field().await {
        match field.name() {
            Some("kind") => kind = field.text().await.unwrap_or_default(),
            Some("index") => index = field.text().await.ok().and_then(|t| t.trim().parse().ok()),
            Some("replace") => replace = true,
            Some("key") => value = field.text().await.ok().map(|t| t.trim().to_owned()),
            _ => {}
        }
    }
    let bad = |e: &'static str| {
        keys_page(
            &api_,
            &caller,
            &op,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(e),
            None,
        )
    };
    let Some(index) = index else {
        return bad("An index (a number) is needed.").await;
    };
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return bad("Choose the key file.").await;
    };
    let k = NewKeyIn {
        kind,
        index,
        value,
        replace,
    };
    match ops::import_key_in(&api_, &caller, &op, k).await {
        Ok(k) => {
            let n = format!("Imported the {} key {} ({} bits).", k.kind, k.index, k.bits);
            keys_page(&api_, &caller, &op, StatusCode::OK, None, Some(&n)).await
        }
        Err(p) if p.status.is_client_error() => {
            keys_page(&api_, &caller, &op, p.status, Some(&p.detail), None).await
        }
        Err(p) => error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    }
}

// ---- people and tokens ----

/// The roles a user or token of `op` can have (the platform's without one).
fn roles_of(op: Option<&Operator>) -> &'static [Role] {
    match op {
        Some(_) => &[Role::OperatorAdmin, Role::Operator, Role::Viewer],
        None => &[Role::PlatformAdmin, Role::Factory],
    }
}

/// Where `op`'s people page is (the platform's without one).
fn base(op: Option<&Operator>) -> String {
    match op {
        Some(o) => format!("/console/t/{}", o.name),
        None => "/console/platform".into(),
    }
}

async fn people_page(
    api_: &Api,
    caller: &Caller,
    op: Option<&Operator>,
    status: StatusCode,
    error: Option<(&str, String)>,
    shown_once: Option<Markup>,
) -> Response {
    let ctx = Ctx::new(caller, op);
    let base = base(op);
    let tenant = op.map(|o| o.id);
    let (users, tokens) = match (
        ops::users_of(api_, tenant).await,
        ops::tokens_of(api_, tenant).await,
    ) {
        (Ok(u), Ok(t)) => (u.0, t.0),
        (Err(p), _) | (_, Err(p)) => return error_page(&p, Some(&ctx)),
    };
    let err = |f: &str| {
        error
            .as_ref()
            .filter(|(k, _)| *k == f)
            .map(|(_, m)| m.clone())
    };
    let (user_err, token_err) = (err("user"), err("token"));
    let now = api_.now();
    let body = html! {
        @if let Some(m) = &shown_once { (m) }
        h2 { "People" }
        div.scroll { table.stack #users {
            thead { tr { th { "User" } th { "Role" } th { "Second factor" } th { "State" } th { "" } } }
            tbody {
                @for u in &users {
                    tr {
                        td data-label="User" { (u.username) }
                        td data-label="Role" { (u.role) }
                        td data-label="Second factor" { @if u.totp { "TOTP" } @else { "—" } }
                        td data-label="State" {
                            @if u.disabled { "disabled" }
                            @else if let Some(t) = u.locked_until.filter(|t| *t > now) { "locked until " (time(t)) }
                            @else { "active" }
                        }
                        td {
                            @if u.locked_until.is_some_and(|t| t > now) {
                                form method="post" action=(format!("{base}/users/{}/unlock", u.username)) {
                                    (ctx.csrf())
                                    button.secondary type="submit" { "Unlock" }
                                }
                            }
                        }
                    }
                }
            }
        } }
        h2 { "Add a person" }
        form.stack method="post" action=(format!("{base}/users")) {
            (ctx.csrf())
            @if let Some(e) = &user_err { p.error role="alert" #user-error { (e) } }
            div.field { label for="username" { "User name" } input #username name="username" required autocomplete="off"; }
            div.field {
                label for="role" { "Role" }
                select #role name="role" { @for r in roles_of(op) { option value=(r.as_str()) { (r.as_str()) } } }
            }
            div.field {
                label for="password" { "Initial password" }
                input #password name="password" type="password" autocomplete="new-password" minlength="12" required;
                span.hint { "At least 12 characters. Administrators also get a TOTP enrollment, shown once." }
            }
            button type="submit" { "Add" }
        }
        h2 { "API tokens" }
        @if tokens.is_empty() { p { "No token." } }
        @else {
            div.scroll { table.stack #tokens {
                thead { tr { th { "Name" } th { "Role" } th { "Created" } th { "Expires" } th { "" } } }
                tbody {
                    @for t in &tokens {
                        tr {
                            td data-label="Name" { (t.name) }
                            td data-label="Role" { (t.role) }
                            td data-label="Created" { (time(t.created_at)) }
                            td data-label="Expires" { (time(t.expires_at)) }
                            td {
                                @if let Some(r) = t.revoked_at { "revoked " (time(r)) }
                                @else {
                                    form method="post" action=(format!("{base}/tokens/{}/revoke", t.id)) {
                                        (ctx.csrf())
                                        button.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        h2 { "Issue a token" }
        form.stack method="post" action=(format!("{base}/tokens")) {
            (ctx.csrf())
            @if let Some(e) = &token_err { p.error role="alert" #token-error { (e) } }
            div.field { label for="name" { "Name" } input #name name="name" required autocomplete="off"; }
            div.field {
                label for="token-role" { "Role" }
                select #token-role name="role" { @for r in roles_of(op) { option value=(r.as_str()) { (r.as_str()) } } }
            }
            div.field {
                label for="days" { "Expires in (days)" }
                input #days name="expires_in_days" type="number" min="1" max="366" value="90";
            }
            button type="submit" { "Issue" }
        }
    };
    respond(status, page(Some(&ctx), "People and tokens", body))
}

/// `GET /console/t/{tenant}/users`.
pub async fn people(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Response {
    people_page(&api_, &caller, Some(&op), StatusCode::OK, None, None).await
}

/// `GET /console/platform/users` (platform administrators): the platform's people.
pub async fn platform_people(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
) -> Response {
    people_page(&api_, &caller, None, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// `POST /console/t/{tenant}/users`.
pub async fn create_user(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Form(f): Form<UserForm>,
) -> Response {
    create_user_for(&api_, &caller, Some(&op), f).await
}

/// `POST /console/platform/users`.
pub async fn create_platform_user(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Form(f): Form<UserForm>,
) -> Response {
    create_user_for(&api_, &caller, None, f).await
}

async fn create_user_for(
    api_: &Api,
    caller: &Caller,
    op: Option<&Operator>,
    f: UserForm,
) -> Response {
    let new = NewUserIn {
        username: f.username,
        role: f.role,
        password: f.password,
    };
    match ops::create_user_in(api_, caller, op.map(|o| o.id), new).await {
        Ok((_, c)) => {
            let m = html! {
                div.notice.ok role="status" {
                    p { "Added " strong { (c.0.user.username) } " (" (c.0.user.role) ")." }
                    @if let Some(uri) = &c.0.totp_uri {
                        p { "Their TOTP enrollment, shown only now — give it to them to add to an authenticator app:" }
                        p { code #totp-uri { (uri) } }
                    }
                }
            };
            people_page(api_, caller, op, StatusCode::OK, None, Some(m)).await
        }
        Err(p) if p.status.is_client_error() => {
            people_page(api_, caller, op, p.status, Some(("user", p.detail)), None).await
        }
        Err(p) => error_page(&p, Some(&Ctx::new(caller, op))),
    }
}

/// `POST /console/t/{tenant}/users/{username}/unlock`.
pub async fn unlock(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, username)): Path<(String, String)>,
) -> Response {
    unlock_for(&api_, &caller, Some(&op), &username).await
}

/// `POST /console/platform/users/{username}/unlock`.
pub async fn unlock_platform_user(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Path(username): Path<String>,
) -> Response {
    unlock_for(&api_, &caller, None, &username).await
}

async fn unlock_for(
    api_: &Api,
    caller: &Caller,
    op: Option<&Operator>,
    username: &str,
) -> Response {
    match ops::unlock_in(api_, caller, op.map(|o| o.id), username).await {
        Ok(_) => Redirect::to(&format!("{}/users", base(op))).into_response(),
        Err(p) => error_page(&p, Some(&Ctx::new(caller, op))),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// `POST /console/t/{tenant}/tokens`: its secret shown once.
pub async fn create_token(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Form(f): Form<TokenForm>,
) -> Response {
    create_token_for(&api_, &caller, Some(&op), f).await
}

/// `POST /console/platform/tokens`.
pub async fn create_platform_token(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Form(f): Form<TokenForm>,
) -> Response {
    create_token_for(&api_, &caller, None, f).await
}

async fn create_token_for(
    api_: &Api,
    caller: &Caller,
    op: Option<&Operator>,
    f: TokenForm,
) -> Response {
    let t = NewTokenIn {
        name: f.name,
        role: f.role,
        expires_in_days: f.expires_in_days,
    };
    match ops::create_token_in(api_, caller, op.map(|o| o.id), t).await {
        Ok((_, c)) => {
            let m = html! {
                div.notice.ok role="status" {
                    p { "Issued token " strong { (c.0.token.name) } ". Its secret, shown only now (send it as "
                        code { "Authorization: Bearer …" } "):" }
                    p { code #token-secret { (c.0.secret) } }
                }
            };
            people_page(api_, caller, op, StatusCode::OK, None, Some(m)).await
        }
        Err(p) if p.status.is_client_error() => {
            people_page(api_, caller, op, p.status, Some(("token", p.detail)), None).await
        }
        Err(p) => error_page(&p, Some(&Ctx::new(caller, op))),
    }
}

/// `POST /console/t/{tenant}/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Response {
    revoke_token_for(&api_, &caller, Some(&op), id).await
}

/// `POST /console/platform/tokens/{id}/revoke`.
pub async fn revoke_platform_token(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Response {
    revoke_token_for(&api_, &caller, None, id).await
}

async fn revoke_token_for(api_: &Api, caller: &Caller, op: Option<&Operator>, id: i64) -> Response {
    match ops::revoke_token_in(api_, caller, op.map(|o| o.id), id).await {
        Ok(_) => Redirect::to(&format!("{}/users", base(op))).into_response(),
        Err(p) => error_page(&p, Some(&Ctx::new(caller, op))),
    }
}

// ---- ES2+ credentials ----

async fn es2_page(
    api_: &Api,
    caller: &Caller,
    op: &Operator,
    status: StatusCode,
    shown_once: Option<Markup>,
    callback_error: Option<&str>,
) -> Response {
    let ctx = Ctx::new(caller, Some(op));
    let (creds, cb) = match (
        ops::credentials_of(api_, op).await,
        ops::callback_of(api_, op).await,
    ) {
        (Ok(c), Ok(cb)) => (c, cb),
        (Err(p), _) | (_, Err(p)) => return error_page(&p, Some(&ctx)),
    };
    let body = html! {
        @if let Some(m) = &shown_once { (m) }
        p.hint { "Operators call ES2+ with an API key (header " code { "X-Api-Key" } ", functionRequesterIdentifier "
            code { (op.name) } ") or a client certificate. Keys are shown once, when made." }
        @if creds.is_empty() { p { "No credential." } }
        @else {
            div.scroll { table.stack #credentials {
                thead { tr { th { "Kind" } th { "Label" } th { "Added" } th { "" } } }
                tbody {
                    @for c in &creds {
                        tr {
                            td data-label="Kind" { (c.kind) }
                            td data-label="Label" { code { (c.label) } }
                            td data-label="Added" { (time(c.created_at)) }
                            td {
                                @if let Some(r) = c.revoked_at { "revoked " (time(r)) }
                                @else {
                                    form method="post" action=(ctx.t(&format!("/es2/{}/revoke", c.id))) {
                                        (ctx.csrf())
                                        button.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        form method="post" action=(ctx.t("/es2/keys")) {
            (ctx.csrf())
            button type="submit" { "Make a new API key" }
        }
        h2 { "Register a client certificate" }
        form.stack method="post" action=(ctx.t("/es2/client-certs")) enctype="multipart/form-data" {
            (ctx.csrf())
            div.field {
                label for="certificate" { "Certificate (PEM)" }
                input #certificate name="certificate" type="file" accept=".pem,.crt,.cer" required;
                span.hint { "Its SHA-256 fingerprint is pinned: the SM-DP+ accepts exactly this certificate." }
            }
            button type="submit" { "Register" }
        }
        h2 { "Callback endpoint" }
        p.hint { "Where the SM-DP+ delivers HandleDownloadProgressInfo (at least once, in order, with backoff)." }
        dl.facts #callback {
            dt { "URL" } dd { code { (cb.url.as_deref().unwrap_or("none")) } }
            dt { "Client identity" } dd { (cb.client_identity.as_deref().unwrap_or("—")) }
            dt { "Own CA bundle" } dd { @if cb.ca_bundle { "yes" } @else { "no" } }
            dt { "Retries for" } dd { @if let Some(h) = cb.retry_hours { (h) " hours" } @else { "the default" } }
            dt { "Pending deliveries" } dd { (cb.pending) }
            dt { "Given up" } dd { (cb.given_up) }
            dt { "Delivered recently" } dd { (cb.recent) }
        }
        @if ctx.may("PUT", "/api/v1/tenants/{tenant}/callback") {
            form.stack method="post" action=(ctx.t("/es2/callback")) {
                (ctx.csrf())
                div.field {
                    label for="url" { "Callback URL (https)" }
                    input #url name="url" type="url" value=(cb.url.as_deref().unwrap_or(""))
                        aria-invalid=[callback_error.map(|_| "true")]
                        aria-describedby=[callback_error.map(|_| "url-error")];
                    @if let Some(e) = callback_error { span.error #url-error role="alert" { (e) } }
                }
                div.field {
                    label for="retry_hours" { "Retry for (hours)" }
                    input #retry_hours name="retry_hours" type="number" min="1" max="8760"
                        value=[cb.retry_hours];
                }
                button type="submit" { "Save" }
            }
        }
    };
    respond(status, page(Some(&ctx), "ES2+ credentials", body))
}

/// `POST /console/t/{tenant}/es2/client-certs`: a client certificate registered, its
/// fingerprint shown.
pub async fn register_client_cert(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    mut m: Multipart,
) -> Response {
    let mut pem = None;
    while let Ok(Some(field)) = m.next_field().await {
        if field.name() == Some("certificate") {
            pem = field.text().await.ok();
        }
    }
    let c = ops::ClientCertIn {
        certificate_pem: pem.unwrap_or_default(),
    };
    let (status, m) = match ops::register_client_cert_in(&api_, &caller, &op, &c).await {
        Ok(r) => (
            StatusCode::OK,
            html! {
                div.notice.ok role="status" {
                    p { "Registered " code { (r.subject) } "." }
                    p { "SHA-256 fingerprint: " code #fingerprint { (r.sha256) } }
                }
            },
        ),
        Err(p) if p.status.is_client_error() => (
            p.status,
            html! { p.notice.bad role="alert" #cert-error { (p.detail) } },
        ),
        Err(p) => return error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    };
    es2_page(&api_, &caller, &op, status, Some(m), None).await
}

#[derive(Deserialize)]
pub struct CallbackForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    retry_hours: String,
}

/// `POST /console/t/{tenant}/es2/callback`: the callback endpoint set (the API's call).
pub async fn set_callback(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Form(f): Form<CallbackForm>,
) -> Response {
    let retry = f.retry_hours.trim();
    let retry_hours = match retry.is_empty() {
        true => None,
        false => match retry.parse() {
            Ok(h) => Some(h),
            Err(_) => {
                let e = "Retry hours: a whole number.";
                let s = StatusCode::UNPROCESSABLE_ENTITY;
                return es2_page(&api_, &caller, &op, s, None, Some(e)).await;
            }
        },
    };
    let c = ops::CallbackIn {
        url: Some(f.url.trim().to_owned()).filter(|u| !u.is_empty()),
        retry_hours,
        ..ops::CallbackIn::default()
    };
    match ops::set_callback_in(&api_, &caller, &op, c).await {
        Ok(_) => Redirect::to(&format!("/console/t/{}/es2", op.name)).into_response(),
        Err(p) if p.status.is_client_error() => {
            es2_page(&api_, &caller, &op, p.status, None, Some(&p.detail)).await
        }
        Err(p) => error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    }
}

/// `GET /console/t/{tenant}/es2`.
pub async fn es2(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Response {
    es2_page(&api_, &caller, &op, StatusCode::OK, None, None).await
}

/// `POST /console/t/{tenant}/es2/keys`: the new key shown once.
pub async fn create_api_key(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Response {
    match ops::create_api_key(&api_, &caller, &op).await {
        Ok(k) => {
            let m = html! {
                div.notice.ok role="status" {
                    p { "A new ES2+ API key, shown only now:" }
                    p { code #api-key { (k.api_key) } }
                }
            };
            es2_page(&api_, &caller, &op, StatusCode::OK, Some(m), None).await
        }
        Err(p) => error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    }
}

/// `POST /console/t/{tenant}/es2/{id}/revoke`.
pub async fn revoke_credential(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Response {
    match ops::revoke_credential_in(&api_, &caller, &op, id).await {
        Ok(()) => Redirect::to(&format!("/console/t/{}/es2", op.name)).into_response(),
        Err(p) => error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    }
}

// ---- quotas ----

fn limit<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "no limit".to_owned(), |v| v.to_string())
}

async fn quotas_page(
    api_: &Api,
    caller: &Caller,
    op: &Operator,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let ctx = Ctx::new(caller, Some(op));
    let q = match ops::quotas_of(api_, op).await {
        Ok(q) => q,
        Err(p) => return error_page(&p, Some(&ctx)),
    };
    let body = html! {
        @if let Some(n) = notice { p.notice.ok role="status" { (n) } }
        dl.facts #quotas {
            dt { "API requests per second" } dd { (limit(q.api_rps)) }
            dt { "Cards ordered per 24 hours" } dd { (limit(q.batch_cards_per_day)) }
            dt { "Profiles in the inventory" } dd { (limit(q.inventory_max)) }
        }
        @if ctx.may("PUT", &api("/quotas")) {
            h2 { "Change" }
            form.stack method="post" action=(ctx.t("/quotas")) {
                (ctx.csrf())
                @if let Some(e) = error { p.error role="alert" #quota-error { (e) } }
                p.hint { "Empty: no limit." }
                div.field {
                    label for="api_rps" { "API requests per second" }
                    input #api_rps name="api_rps" type="number" min="1" value=[q.api_rps];
                }
                div.field {
                    label for="batch_cards_per_day" { "Cards ordered per 24 hours" }
                    input #batch_cards_per_day name="batch_cards_per_day" type="number" min="1" value=[q.batch_cards_per_day];
                }
                div.field {
                    label for="inventory_max" { "Profiles in the inventory" }
                    input #inventory_max name="inventory_max" type="number" min="1" value=[q.inventory_max];
                }
                button type="submit" { "Save" }
            }
        }
    };
    respond(status, page(Some(&ctx), "Quotas", body))
}

/// `GET /console/t/{tenant}/quotas`.
pub async fn quotas(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Response {
    quotas_page(&api_, &caller, &op, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct QuotasForm {
    #[serde(default)]
    api_rps: String,
    #[serde(default)]
    batch_cards_per_day: String,
    #[serde(default)]
    inventory_max: String,
}

/// `POST /console/t/{tenant}/quotas` (platform administrators).
pub async fn set_quotas(
    State(api_): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Form(f): Form<QuotasForm>,
) -> Response {
    fn num<T: std::str::FromStr>(s: &str) -> Result<Option<T>, ()> {
        match s.trim() {
            "" => Ok(None),
            t => t.parse().map(Some).map_err(|_| ()),
        }
    }
    let q = match (
        num(&f.api_rps),
        num(&f.batch_cards_per_day),
        num(&f.inventory_max),
    ) {
        (Ok(api_rps), Ok(batch_cards_per_day), Ok(inventory_max)) => ops::QuotasIo {
            api_rps,
            batch_cards_per_day,
            inventory_max,
        },
        _ => {
            let e = "Each quota is a whole number, or empty for no limit.";
            let s = StatusCode::UNPROCESSABLE_ENTITY;
            return quotas_page(&api_, &caller, &op, s, Some(e), None).await;
        }
    };
    match ops::set_quotas_in(&api_, &op, q).await {
        Ok(_) => quotas_page(&api_, &caller, &op, StatusCode::OK, None, Some("Saved.")).await,
        Err(p) if p.status.is_client_error() => {
            quotas_page(&api_, &caller, &op, p.status, Some(&p.detail), None).await
        }
        Err(p) => error_page(&p, Some(&Ctx::new(&caller, Some(&op)))),
    }
}
