//! Logging in and out.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use simforge_access::Secret;
use utoipa::ToSchema;

use crate::auth::{Caller, SESSION_COOKIE, csrf_token};
use crate::{Api, Problem};

/// A login.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
    /// The current TOTP code (administrators).
    #[serde(default)]
    pub totp: Option<String>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// As the audit log names them (`user:<name>`, `token:<id>`).
    pub actor: String,
    /// The role.
    pub role: String,
    /// The tenant (operator name); none for the platform's roles.
    pub tenant: Option<String>,
    /// Whether the user signs in with a TOTP code (none for an API token).
    pub totp: Option<bool>,
}

/// A new session: its cookie is set; send `csrf_token` as `X-CSRF-Token` with every
/// state-changing request.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Who logged in.
    pub me: Me,
    /// The CSRF token of this session.
    pub csrf_token: String,
    /// The session's absolute end (Unix seconds); it also ends after idling.
    pub expires_at: i64,
}

/// Who `p` is, as the API tells it.
///
/// # Errors
/// The store's.
pub async fn me_of(api: &Api, p: &simforge_access::Principal) -> Result<Me, Problem> {
    let tenant = match p.tenant {
        Some(id) => Some(api.store.operator_by_id(id).await?.name),
        None => None,
    };
    let totp = match p.actor.strip_prefix("user:") {
        Some(name) => {
            use simforge_access::AccessStore as _;
            let user = api.store.user_by_name(name).await?;
            user.map(|u| u.totp_sealed.is_some())
        }
        None => None,
    };
    Ok(Me {
        actor: p.actor.clone(),
        role: p.role.as_str().to_owned(),
        tenant,
        totp,
    })
}

/// Logs in: a session cookie (HttpOnly, Secure, SameSite=Strict) and its CSRF token.
#[utoipa::path(post, path = "/api/v1/session", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = SessionInfo),
        (status = 401, description = "Wrong name, password or code (`unauthenticated`), or a code is needed (`totp-required`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 423, description = "Account locked", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures from this address", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Json(mut req): Json<LoginRequest>,
) -> Result<Response, Problem> {
    let password = Secret::new(std::mem::take(&mut req.password));
    let (info, cookie) = start(
        &api,
        &req.username,
        &password,
        req.totp.as_deref(),
        caller.source.as_deref(),
    )
    .await?;
    let mut r = Json(info).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// A login (the API's and the console's): a new session, what to tell the caller, and its
/// cookie (HttpOnly, SameSite=Strict, Secure unless configured off; path `/`: the console
/// beside the API shares it).
///
/// # Errors
/// As the access service's login (throttled, locked, wrong credentials, TOTP needed).
pub async fn start(
    api: &Api,
    username: &str,
    password: &Secret,
    totp: Option<&str>,
    source: Option<&str>,
) -> Result<(SessionInfo, HeaderValue), Problem> {
    let now = api.now();
    let login = api
        .access
        .login(username, password, totp, source, now, &mut rand_core::OsRng)
        .await
        .map_err(|e| Problem::access(e, now))?;
    let info = SessionInfo {
        me: me_of(api, &login.principal).await?,
        csrf_token: csrf_token(&login.session),
        expires_at: login.expires_at,
    };
    let secure = if api.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        login.session.expose(),
        (login.expires_at - now).max(0)
    );
    let v = HeaderValue::from_str(&cookie).map_err(|_| Problem::invalid("session cookie"))?;
    Ok((info, v))
}

/// The `Set-Cookie` value that clears the session cookie in the browser.
#[must_use]
pub fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_static("simforge_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Ends the caller's session (if it is one) and the cookie that clears it.
///
/// # Errors
/// The store's.
pub async fn end(api: &Api, caller: &Caller) -> Result<HeaderValue, Problem> {
    if let Some(s) = &caller.session {
        api.access.logout(s).await?;
    }
    Ok(cleared_cookie())
}

/// Logs this session out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Logged out")),
    security(("session" = [])))]
pub async fn logout(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, Problem> {
    let cookie = end(&api, &caller).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// Ends every session of the calling user (on every node at once: sessions are in the
/// database).
#[utoipa::path(post, path = "/api/v1/me/logout-everywhere", tag = "session",
    responses((status = 200, description = "Sessions ended", body = u64)),
    security(("session" = [])))]
pub async fn logout_everywhere(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<u64>, Problem> {
    Ok(Json(end_everywhere(&api, &caller).await?))
}

/// Ends every session of the calling user: how many.
///
/// # Errors
/// 422 for an API token (it has no sessions).
pub async fn end_everywhere(api: &Api, caller: &Caller) -> Result<u64, Problem> {
    let p = caller.principal()?;
    let Some(user) = p.actor.strip_prefix("user:") else {
        return Err(Problem::invalid("an API token has no sessions"));
    };
    Ok(api
        .access
        .logout_everywhere(&caller.actor(), user, api.now())
        .await?)
}

/// A password change: the current password and the new one (never logged: no `Debug`).
#[derive(Deserialize, ToSchema)]
pub struct PasswordIn {
    /// The current password.
    pub current: String,
    /// The new password (at least 12 characters, not a common one).
    pub new: String,
}

/// Changes the calling user's password; every session of the user ends (sign in again).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "session",
    request_body = PasswordIn,
    responses((status = 204, description = "Changed; every session of the user ended"),
        (status = 401, description = "The current password is wrong", body = crate::problem::ProblemBody),
        (status = 422, description = "The new password fails the policy, or the caller is an API token", body = crate::problem::ProblemBody)),
    security(("session" = [])))]
pub async fn change_password(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<PasswordIn>,
) -> Result<Response, Problem> {
    let cookie = change_password_of(&api, &caller, body.current, body.new).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// Changes the calling user's password: the cookie that clears the (ended) session.
///
/// # Errors
/// 401 for a wrong current password, 423 while locked, 422 for a new password the policy
/// refuses or an API token.
pub async fn change_password_of(
    api: &Api,
    caller: &Caller,
    current: String,
    new: String,
) -> Result<HeaderValue, Problem> {
    let p = caller.principal()?;
    let Some(user) = p.actor.strip_prefix("user:") else {
        return Err(Problem::invalid("an API token has no password"));
    };
    let (current, new) = (Secret::new(current), Secret::new(new));
    api.access
        .change_password(
            &caller.actor(),
            user,
            &current,
            &new,
            api.now(),
            &mut rand_core::OsRng,
        )
        .await
        .map_err(|e| Problem::access(e, api.now()))?;
    Ok(cleared_cookie())
}

/// Who is calling.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, description = "The caller", body = Me)),
    security(("session" = []), ("token" = [])))]
pub async fn me(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Me>, Problem> {
    Ok(Json(me_of(&api, caller.principal()?).await?))
}

/// A TOTP enrollment begun: the new secret, shown once, and the enrollment to send back.
#[derive(Serialize, ToSchema)]
pub struct TotpBegun {
    /// The `otpauth://totp/…` URI of the new secret (for an authenticator app; a QR code of
    /// it). Shown once.
    pub otpauth_uri: String,
    /// The enrollment (the secret sealed for this user; base64), to send back with a code.
    pub enrollment: String,
    /// Until when it can be confirmed (Unix seconds).
    pub expires_at: i64,
}

impl std::fmt::Debug for TotpBegun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpBegun(<redacted>)")
    }
}

/// A TOTP enrollment confirmed (never logged: no `Debug`).
#[derive(Deserialize, ToSchema)]
pub struct TotpEnrollIn {
    /// The account's password.
    pub password: String,
    /// The `enrollment` of `POST /me/totp`.
    pub enrollment: String,
    /// A current code of the new secret.
    pub code: String,
    /// A current code of the authenticator enrolled now, if there is one (then required).
    #[serde(default)]
    pub current_code: Option<String>,
}

/// The calling user's name (an API token has no account of its own).
fn own_user<'c>(caller: &'c Caller, what: &str) -> Result<&'c str, Problem> {
    caller
        .principal()?
        .actor
        .strip_prefix("user:")
        .ok_or_else(|| Problem::invalid(format!("an API token has no {what}")))
}

/// Begins a TOTP enrollment of the calling user: a new secret (nothing stored until it is
/// confirmed with `PUT /me/totp`).
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "session",
    responses((status = 200, description = "The new secret, shown once", body = TotpBegun),
        (status = 422, description = "The caller is an API token", body = crate::problem::ProblemBody)),
    security(("session" = [])))]
pub async fn begin_totp(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<TotpBegun>, Problem> {
    Ok(Json(totp_begin(&api, &caller).await?))
}

/// Begins a TOTP enrollment of the calling user.
///
/// # Errors
/// 422 for an API token; the vault's.
pub async fn totp_begin(api: &Api, caller: &Caller) -> Result<TotpBegun, Problem> {
    use base64::Engine as _;
    let user = own_user(caller, "TOTP")?;
    let now = api.now();
    let e = api
        .access
        .totp_enrollment(user, now, &mut rand_core::OsRng)
        .await
        .map_err(|e| Problem::access(e, now))?;
    Ok(TotpBegun {
        otpauth_uri: e.uri.0.to_string(),
        enrollment: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&e.pending),
        expires_at: now + simforge_access::TOTP_ENROLLMENT_SECS,
    })
}

/// Confirms the calling user's TOTP enrollment with the account's password and a current
/// code of the new secret, which replaces any earlier one: from then on every login needs a
/// code.
#[utoipa::path(put, path = "/api/v1/me/totp", tag = "session",
    request_body = TotpEnrollIn,
    responses((status = 204, description = "Enrolled"),
        (status = 401, description = "The password or the code is wrong", body = crate::problem::ProblemBody),
        (status = 422, description = "The enrollment is not valid or has expired, or the caller is an API token", body = crate::problem::ProblemBody)),
    security(("session" = [])))]
pub async fn enroll_totp(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<TotpEnrollIn>,
) -> Result<StatusCode, Problem> {
    totp_enroll(&api, &caller, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirms the calling user's TOTP enrollment.
///
/// # Errors
/// 401 for a wrong password or code, 423 while locked, 422 for an enrollment that is not
/// valid (another user's, expired) or an API token.
pub async fn totp_enroll(api: &Api, caller: &Caller, body: TotpEnrollIn) -> Result<(), Problem> {
    use base64::Engine as _;
    let user = own_user(caller, "TOTP")?;
    let pending = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body.enrollment.trim())
        .map_err(|_| Problem::invalid("this enrollment is not valid: begin again"))?;
    let now = api.now();
    api.access
        .enroll_totp(
            &caller.actor(),
            user,
            &Secret::new(body.password),
            &pending,
            &body.code,
            body.current_code.as_deref().map(str::trim),
            now,
        )
        .await
        .map_err(|e| Problem::access(e, now))
}
