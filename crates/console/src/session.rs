//! Signing in and out (the API's login and logout calls, the API's session cookie), the start
//! page, the platform's list of tenants.

use axum::Form;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use simforge_access::Secret;
use simforge_api::auth::Caller;
use simforge_api::{Api, Problem, ops};
use subtle::ConstantTimeEq as _;

use crate::html::{Ctx, error_page, page, respond};

/// The login form's own CSRF token (there is no session yet): a random value in this cookie
/// and in the form (double submit; the cookie is SameSite=Strict).
const LOGIN_COOKIE: &str = "simforge_login";

/// A local console path to come back to after signing in, or none.
fn local(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with("/console")
            && !n.contains("//")
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-.".contains(&b))
    })
}

/// To the login page, and back to `next` after.
pub(crate) fn to_login(next: Option<&str>) -> Response {
    match local(next) {
        Some(n) => Redirect::to(&format!("/console/login?next={n}")).into_response(),
        None => Redirect::to("/console/login").into_response(),
    }
}

/// Where a signed-in principal starts: their tenant's dashboard, or the platform's tenants.
async fn start_of(api: &Api, caller: &Caller) -> Result<String, Problem> {
    let Some(p) = &caller.principal else {
        return Ok("/console/login".into());
    };
    match p.tenant {
        Some(id) => Ok(format!(
            "/console/t/{}",
            api.store.operator_by_id(id).await?.name
        )),
        None => Ok("/console/tenants".into()),
    }
}

/// `GET /console`.
pub async fn home(State(api): State<Api>, Extension(caller): Extension<Caller>) -> Response {
    match start_of(&api, &caller).await {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(p) => error_page(&p, None),
    }
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn nonce() -> String {
    use rand_core::TryRngCore as _;
    let mut b = [0u8; 16];
    // The OS's randomness; without it the form cannot be sent (the check fails closed).
    let _ = rand_core::OsRng.try_fill_bytes(&mut b);
    hex::encode(b)
}

/// The login form: `error` shown next to the field it is about.
fn login_form(
    api: &Api,
    status: StatusCode,
    next: Option<&str>,
    username: &str,
    error: Option<(&str, String)>,
) -> Response {
    let token = nonce();
    let field_error = |f: &str| {
        error
            .as_ref()
            .filter(|(k, _)| *k == f)
            .map(|(_, m)| m.clone())
    };
    let (user_err, totp_err, form_err) = (
        field_error("username"),
        field_error("totp"),
        field_error("form"),
    );
    let action = match local(next) {
        Some(n) => format!("/console/login?next={n}"),
        None => "/console/login".into(),
    };
    let body = html! {
        form.stack method="post" action=(action) novalidate {
            input type="hidden" name=(crate::CSRF_FIELD) value=(token);
            @if let Some(e) = &form_err { p.error role="alert" #form-error { (e) } }
            div.field {
                label for="username" { "User name" }
                input #username name="username" autocomplete="username" required autofocus
                    value=(username)
                    aria-invalid=[user_err.as_ref().map(|_| "true")]
                    aria-describedby=[user_err.as_ref().map(|_| "username-error")];
                @if let Some(e) = &user_err { span.error #username-error { (e) } }
            }
            div.field {
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required
                    aria-invalid=[user_err.as_ref().map(|_| "true")];
            }
            div.field {
                label for="totp" { "One-time code" }
                input #totp name="totp" inputmode="numeric" autocomplete="one-time-code"
                    pattern="[0-9]{6}" maxlength="6"
                    aria-invalid=[totp_err.as_ref().map(|_| "true")]
                    aria-describedby=(if totp_err.is_some() { "totp-error" } else { "totp-hint" });
                @if let Some(e) = &totp_err { span.error #totp-error { (e) } }
                @else { span.hint #totp-hint { "Administrators, and whoever enrolled an authenticator: its 6 digits." } }
            }
            button type="submit" { "Sign in" }
        }
    };
    let mut r = respond(status, page(None, "Sign in", body));
    let secure = if api.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let c =
        format!("{LOGIN_COOKIE}={token}; Path=/console/login; HttpOnly; SameSite=Strict{secure}");
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `GET /console/login`.
pub async fn login_page(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Next>,
) -> Response {
    if caller.principal.is_some() {
        return home(State(api), Extension(caller)).await;
    }
    login_form(&api, StatusCode::OK, q.next.as_deref(), "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `POST /console/login`: the API's login call; its session cookie.
pub async fn login(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Next>,
    headers: HeaderMap,
    Form(mut f): Form<LoginForm>,
) -> Response {
    let next = q.next.as_deref();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.len() != 32 || !bool::from(expected.as_bytes().ct_eq(f.csrf.as_bytes())) {
        let e = "This form had expired. Please sign in again.".to_owned();
        return login_form(
            &api,
            StatusCode::FORBIDDEN,
            next,
            &f.username,
            Some(("form", e)),
        );
    }
    let password = Secret::new(std::mem::take(&mut f.password));
    let totp = Some(f.totp.trim()).filter(|t| !t.is_empty());
    match ops::start_session(&api, &f.username, &password, totp, caller.source.as_deref()).await {
        Ok((info, cookie)) => {
            // An administrator who signs in without a one-time code is sent to enroll first.
            let admin = info
                .me
                .role
                .parse::<simforge_access::Role>()
                .is_ok_and(|r| r.is_admin());
            let to = match (local(next), info.me.tenant) {
                _ if admin && info.me.totp == Some(false) => "/console/account".into(),
                (Some(n), _) => n.to_owned(),
                (None, Some(t)) => format!("/console/t/{t}"),
                (None, None) => "/console/tenants".into(),
            };
            let mut r = Redirect::to(&to).into_response();
            r.headers_mut().append(header::SET_COOKIE, cookie);
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static(
                    "simforge_login=; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=0",
                ),
            );
            r
        }
        Err(p) => {
            let field = match p.code {
                "totp-required" => "totp",
                "unauthenticated" => "username",
                _ => "form",
            };
            let msg = match p.code {
                "totp-required" => "Enter the one-time code of your authenticator app.".into(),
                "unauthenticated" => "Wrong user name, password or one-time code.".into(),
                _ => p.detail.clone(),
            };
            login_form(&api, p.status, next, &f.username, Some((field, msg)))
        }
    }
}

/// `POST /console/logout`: the API's logout; back to the login page.
pub async fn logout(State(api): State<Api>, Extension(caller): Extension<Caller>) -> Response {
    match ops::end_session(&api, &caller).await {
        Ok(cookie) => {
            let mut r = Redirect::to("/console/login").into_response();
            r.headers_mut().insert(header::SET_COOKIE, cookie);
            r
        }
        Err(p) => error_page(&p, None),
    }
}

async fn tenants_page(
    api: &Api,
    caller: &Caller,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let ctx = Ctx::new(caller, None);
    let ops = match api.store.operators().await {
        Ok(o) => o,
        Err(e) => return error_page(&Problem::from(e), Some(&ctx)),
    };
    let may_create = crate::may(caller, None, "POST", "/api/v1/tenants");
    let body = html! {
        @if let Some(n) = notice { p.notice.ok role="status" { (n) } }
        @if ops.is_empty() { p { "No tenant yet." } }
        @else {
            div.scroll { table.stack #tenants {
                thead { tr { th { "Tenant" } th { "MCC/MNC" } th { "ICCID prefix" } th { "Service provider" } } }
                tbody {
                    @for o in &ops {
                        tr {
                            td data-label="Tenant" { a href=(format!("/console/t/{}", o.name)) { (o.name) } }
                            td data-label="MCC/MNC" { (o.mcc) "/" (o.mnc) }
                            td data-label="ICCID prefix" { code { (o.iccid_prefix) } }
                            td data-label="Service provider" { (o.spn) }
                        }
                    }
                }
            } }
        }
        @if may_create {
            h2 { "New tenant" }
            form.stack method="post" action="/console/tenants" {
                (ctx.csrf())
                @if let Some(e) = error { p.error role="alert" #tenant-error { (e) } }
                div.field { label for="name" { "Name" } input #name name="name" required pattern="[A-Za-z0-9_.-]{1,64}" autocomplete="off"; }
                div.field { label for="mcc" { "MCC" } input #mcc name="mcc" required inputmode="numeric" pattern="[0-9]{3}"; }
                div.field { label for="mnc" { "MNC" } input #mnc name="mnc" required inputmode="numeric" pattern="[0-9]{2,3}"; }
                div.field {
                    label for="iccid_prefix" { "ICCID issuer prefix" }
                    input #iccid_prefix name="iccid_prefix" required inputmode="numeric" pattern="89[0-9]+";
                    span.hint { "89, the country code, the issuer." }
                }
                div.field {
                    label for="iccid_len" { "ICCID length (with the check digit)" }
                    select #iccid_len name="iccid_len" { option value="19" { "19" } option value="20" { "20" } }
                }
                div.field { label for="spn" { "Service provider name" } input #spn name="spn" required; }
                div.field { label { input name="reuse_on_delete" type="checkbox" value="true"; " A deleted profile becomes available again" } }
                button type="submit" { "Create" }
            }
        }
    };
    respond(status, page(Some(&ctx), "Tenants", body))
}

/// `GET /console/tenants` (platform roles).
pub async fn tenants(State(api): State<Api>, Extension(caller): Extension<Caller>) -> Response {
    tenants_page(&api, &caller, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct TenantForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    mcc: String,
    #[serde(default)]
    mnc: String,
    #[serde(default)]
    iccid_prefix: String,
    #[serde(default)]
    iccid_len: String,
    #[serde(default)]
    spn: String,
    #[serde(default)]
    reuse_on_delete: Option<String>,
}

/// `POST /console/tenants` (platform administrators): the API's call.
pub async fn create_tenant(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Form(f): Form<TenantForm>,
) -> Response {
    let t = ops::NewTenant {
        name: f.name.trim().to_owned(),
        mcc: f.mcc.trim().to_owned(),
        mnc: f.mnc.trim().to_owned(),
        iccid_prefix: f.iccid_prefix.trim().to_owned(),
        iccid_len: f.iccid_len.trim().parse().unwrap_or(0),
        spn: f.spn.trim().to_owned(),
        out_columns: None,
        reuse_on_delete: f.reuse_on_delete.is_some(),
    };
    match ops::create_tenant_in(&api, &caller, t).await {
        Ok(t) => {
            let n = format!("Created tenant {}.", t.name);
            tenants_page(&api, &caller, StatusCode::OK, None, Some(&n)).await
        }
        Err(p) if p.status.is_client_error() => {
            tenants_page(&api, &caller, p.status, Some(&p.detail), None).await
        }
        Err(p) => error_page(&p, Some(&Ctx::new(&caller, None))),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    totp: Option<String>,
}

/// `GET /console/account`: who is signed in; sign out everywhere; the password; TOTP.
pub async fn account(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<AccountQuery>,
) -> Response {
    let Some(p) = &caller.principal else {
        return to_login(Some("/console/account"));
    };
    // The tenant's navigation for a tenant's user.
    let op = match p.tenant {
        Some(id) => api.store.operator_by_id(id).await.ok(),
        None => None,
    };
    let ctx = Ctx::new(&caller, op.as_ref());
    let me = match ops::me_of(&api, p).await {
        Ok(m) => m,
        Err(e) => return error_page(&e, Some(&ctx)),
    };
    let body = html! {
        @if totp_missing(&me) {
            p.error role="alert" #totp-needed {
                "Administrators sign in with a one-time code: "
                a href="#totp" { "enroll your authenticator app" } " now."
            }
        }
        dl.facts {
            dt { "Signed in as" } dd { (me.actor) }
            dt { "Role" } dd { (me.role) }
            dt { "Tenant" } dd { (me.tenant.as_deref().unwrap_or("— (the platform)")) }
        }
        h2 { "Sessions" }
        p { "Signing out everywhere ends every session of yours, in every browser, at once." }
        form method="post" action="/console/account/logout-everywhere" {
            (ctx.csrf())
            button.danger type="submit" { "Sign out everywhere" }
        }
        @if q.totp.as_deref() == Some("on") {
            p.notice.ok role="status" #totp-on { "Your authenticator is enrolled: from now on you sign in with its one-time code." }
        }
        @if me.actor.starts_with("user:") {
            h2 { "Password" }
            (password_form(&ctx, None))
            (totp_section(&ctx, &me))
        }
        p.hint { "API tokens are issued by your administrator (People)." }
    };
    crate::html::ok(&ctx, "Your account", body)
}

/// The password change form, with an error next to the field it concerns.
fn password_form(ctx: &Ctx<'_>, error: Option<(&str, &str)>) -> Markup {
    let err = |field: &str| {
        error
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.to_owned())
    };
    let (current_err, new_err) = (err("current"), err("new"));
    html! {
        form method="post" action="/console/account/password" {
            (ctx.csrf())
            label for="current" { "Current password" }
            input #current type="password" name="current" autocomplete="current-password" required
                aria-invalid=[current_err.as_ref().map(|_| "true")]
                aria-describedby=[current_err.as_ref().map(|_| "current-error")];
            @if let Some(m) = &current_err { p.error #current-error { (m) } }
            label for="new" { "New password (at least 12 characters)" }
            input #new type="password" name="new" autocomplete="new-password" required minlength="12"
                aria-invalid=[new_err.as_ref().map(|_| "true")]
                aria-describedby=[new_err.as_ref().map(|_| "new-error")];
            @if let Some(m) = &new_err { p.error #new-error { (m) } }
            label for="confirm" { "New password again" }
            input #confirm type="password" name="confirm" autocomplete="new-password" required minlength="12";
            p.hint { "Every session of yours ends: you sign in again with the new password." }
            button type="submit" { "Change the password" }
        }
    }
}

/// The password change form's fields (never logged: no `Debug`).
#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

/// `POST /console/account/password`: the API's call; to the login page (every session ended),
/// or the form again with the error next to its field.
pub async fn change_password(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let ctx = Ctx::new(&caller, None);
    let again = |field: &str, message: &str, status: StatusCode| {
        let body = html! { h2 { "Password" } (password_form(&ctx, Some((field, message)))) };
        let mut r = crate::html::ok(&ctx, "Your account", body);
        *r.status_mut() = status;
        r
    };
    if f.new != f.confirm {
        return again(
            "new",
            "The two new passwords differ.",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    match ops::change_password_of(&api, &caller, f.current, f.new).await {
        Ok(cookie) => {
            let mut r = Redirect::to("/console/login?changed=1").into_response();
            r.headers_mut().insert(header::SET_COOKIE, cookie);
            r
        }
        Err(p) if p.status == StatusCode::UNAUTHORIZED => again(
            "current",
            "The current password is wrong.",
            StatusCode::UNAUTHORIZED,
        ),
        Err(p)
            if p.status == StatusCode::UNPROCESSABLE_ENTITY
                || p.status == StatusCode::BAD_REQUEST =>
        {
            again("new", &p.detail, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(p) => error_page(&p, Some(&ctx)),
    }
}

/// `POST /console/account/logout-everywhere`: the API's call; to the login page.
pub async fn logout_everywhere(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
) -> Response {
    match ops::end_everywhere(&api, &caller).await {
        Ok(_) => {
            let mut r = Redirect::to("/console/login").into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, ops::cleared_session_cookie());
            r
        }
        Err(p) => error_page(&p, Some(&Ctx::new(&caller, None))),
    }
}

/// Whether `me` is an administrator not enrolled in TOTP.
fn totp_missing(me: &ops::Me) -> bool {
    let admin = me
        .role
        .parse::<simforge_access::Role>()
        .is_ok_and(|r| r.is_admin());
    admin && me.totp == Some(false)
}

/// The account page's TOTP section: on or off, and the button that begins an enrollment.
fn totp_section(ctx: &Ctx<'_>, me: &ops::Me) -> Markup {
    let on = me.totp == Some(true);
    html! {
        h2 #totp { "One-time codes (TOTP)" }
        @if on {
            p #totp-state { "On: you sign in with your password and a code of your authenticator app." }
        } @else {
            p #totp-state { "Off: you sign in with your password alone." }
        }
        form method="post" action="/console/account/totp" {
            (ctx.csrf())
            @if on {
                p.hint { "A new secret replaces the one your authenticator has now (for example the one shown to whoever created your account): only you will have seen it." }
                button type="submit" #totp-begin { "Enroll a new authenticator…" }
            } @else {
                button type="submit" #totp-begin { "Enable one-time codes…" }
            }
        }
    }
}

/// An `otpauth://` URI as an inline SVG QR code (no `<?xml …?>` prologue; only path and
/// presentation attributes: allowed by the CSP, which refuses inline style).
fn qr_svg(text: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    let at = svg.find("<svg")?;
    Some(svg[at..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the enrollment URI\" ",
        1,
    ))
}

/// The enrollment step: the new secret (shown once, to its owner: a QR code, the URI and the
/// key), and the form that confirms it with the password and a current code.
fn enrollment_page(
    ctx: &Ctx<'_>,
    begun: Option<&ops::TotpBegun>,
    enrollment: &str,
    error: Option<(&str, &str)>,
    status: StatusCode,
) -> Response {
    let err = |field: &str| {
        error
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.to_owned())
    };
    let (password_err, code_err, form_err) = (err("password"), err("code"), err("form"));
    let key = begun.and_then(|b| {
        b.otpauth_uri
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("secret="))
            .map(str::to_owned)
    });
    let body = html! {
        @if let Some(e) = &form_err { p.error role="alert" { (e) } }
        @if let Some(b) = begun {
            p { "Scan this QR code with your authenticator app (or enter the key). It is shown only now." }
            figure.totp-qr {
                @if let Some(svg) = qr_svg(&b.otpauth_uri) { (maud::PreEscaped(svg)) }
                figcaption {
                    "Key: " code #totp-key { (key.as_deref().unwrap_or("")) }
                }
            }
            details {
                summary { "The enrollment URI" }
                p { code #totp-uri { (b.otpauth_uri) } }
            }
        } @else {
            p { "Enter a current code of the authenticator you enrolled a moment ago." }
        }
        form.stack method="post" action="/console/account/totp/confirm" {
            (ctx.csrf())
            input type="hidden" name="enrollment" value=(enrollment);
            div.field {
                label for="totp-password" { "Your password" }
                input #totp-password type="password" name="password" autocomplete="current-password" required
                    aria-invalid=[password_err.as_ref().map(|_| "true")]
                    aria-describedby=[password_err.as_ref().map(|_| "totp-password-error")];
                @if let Some(m) = &password_err { span.error #totp-password-error { (m) } }
            }
            div.field {
                label for="totp-code" { "The code your app shows now" }
                input #totp-code name="code" inputmode="numeric" autocomplete="one-time-code" required
                    pattern="[0-9]{6}" maxlength="6"
                    aria-invalid=[code_err.as_ref().map(|_| "true")]
                    aria-describedby=[code_err.as_ref().map(|_| "totp-code-error")];
                @if let Some(m) = &code_err { span.error #totp-code-error { (m) } }
            }
            div.field {
                label for="totp-current" { "The code of your present authenticator, if you have one" }
                input #totp-current name="current_code" inputmode="numeric" autocomplete="one-time-code"
                    pattern="[0-9]{6}" maxlength="6";
            }
            div.actions {
                button type="submit" #totp-confirm { "Turn on" }
                a.button.secondary href="/console/account" { "Cancel" }
            }
        }
    };
    respond(status, page(Some(ctx), "Enroll an authenticator", body))
}

/// `POST /console/account/totp`: the API's call that begins an enrollment; its step.
pub async fn begin_totp(State(api): State<Api>, Extension(caller): Extension<Caller>) -> Response {
    let ctx = Ctx::new(&caller, None);
    match ops::totp_begin(&api, &caller).await {
        Ok(b) => enrollment_page(&ctx, Some(&b), &b.enrollment, None, StatusCode::OK),
        Err(p) => error_page(&p, Some(&ctx)),
    }
}

/// The enrollment's confirmation (never logged: no `Debug`).
#[derive(Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    enrollment: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    current_code: String,
}

/// `POST /console/account/totp/confirm`: the API's call; to the account page, or the step
/// again with the error next to its field.
pub async fn confirm_totp(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Form(f): Form<TotpForm>,
) -> Response {
    let ctx = Ctx::new(&caller, None);
    let enrollment = f.enrollment.clone();
    let body = ops::TotpEnrollIn {
        password: f.password,
        enrollment: f.enrollment,
        code: f.code.trim().to_owned(),
        current_code: Some(f.current_code.trim().to_owned()).filter(|c| !c.is_empty()),
    };
    match ops::totp_enroll(&api, &caller, body).await {
        Ok(()) => Redirect::to("/console/account?totp=on").into_response(),
        Err(p) if p.status == StatusCode::UNAUTHORIZED => {
            let e = ("code", "The password or the code is wrong.");
            enrollment_page(&ctx, None, &enrollment, Some(e), p.status)
        }
        Err(p) if p.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let body = html! {
                p.error role="alert" { (p.detail) }
                p { a href="/console/account#totp" { "Back to your account" } }
            };
            respond(p.status, page(Some(&ctx), "Enroll an authenticator", body))
        }
        Err(p) => error_page(&p, Some(&ctx)),
    }
}
