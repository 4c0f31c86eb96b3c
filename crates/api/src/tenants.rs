//! Tenants, their people and tokens, keys, ES2+ credentials, audit.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use simforge_access::service::CreateUser;
use simforge_access::{Role, Secret};
use simforge_audit::AuditLog as _;
use simforge_store::{CredentialId, CredentialKind, KeyKind, Operator};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Tenant};
use crate::{Api, Problem};

type Res<T> = Result<Json<T>, Problem>;

/// A tenant (an operator).
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOut {
    /// Row id.
    pub id: i64,
    /// Unique name (the path's `{tenant}`, the ES2+ functionRequesterIdentifier).
    pub name: String,
    /// MCC.
    pub mcc: String,
    /// MNC.
    pub mnc: String,
    /// ICCID issuer prefix.
    pub iccid_prefix: String,
    /// ICCID length with its check digit.
    pub iccid_len: i64,
    /// Service provider name.
    pub spn: String,
    /// SM-DP+: a deleted profile goes back to Available.
    pub reuse_on_delete: bool,
    /// Created (RFC 3339).
    pub created_at: String,
}

impl From<Operator> for TenantOut {
    fn from(o: Operator) -> Self {
        Self {
            id: o.id,
            name: o.name,
            mcc: o.mcc,
            mnc: o.mnc,
            iccid_prefix: o.iccid_prefix,
            iccid_len: o.iccid_len,
            spn: o.spn,
            reuse_on_delete: o.reuse_on_delete,
            created_at: o.created_at,
        }
    }
}

/// A new tenant.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTenant {
    /// Unique name: 1 to 64 of A-Z a-z 0-9 - _ . (not starting with `.`).
    pub name: String,
    /// MCC (3 digits).
    pub mcc: String,
    /// MNC (2 or 3 digits).
    pub mnc: String,
    /// ICCID issuer prefix (89, country code, issuer).
    pub iccid_prefix: String,
    /// ICCID length with its check digit (19 or 20).
    pub iccid_len: i64,
    /// Service provider name.
    pub spn: String,
    /// `.out` columns (default: the standard ones).
    #[serde(default)]
    pub out_columns: Option<String>,
    /// A deleted profile goes back to Available.
    #[serde(default)]
    pub reuse_on_delete: bool,
}

/// Every tenant.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "platform",
    responses((status = 200, body = Vec<TenantOut>)), security(("session" = []), ("token" = [])))]
pub async fn list_tenants(State(api): State<Api>) -> Res<Vec<TenantOut>> {
    Ok(Json(
        api.store
            .operators()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Creates a tenant.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "platform", request_body = NewTenant,
    responses((status = 201, body = TenantOut),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn create_tenant(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Json(t): Json<NewTenant>,
) -> Result<(StatusCode, Json<TenantOut>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(create_tenant_in(&api, &caller, t).await?),
    ))
}

/// Creates tenant `t`.
///
/// # Errors
/// 422 for a bad field, 409 for a taken name.
pub async fn create_tenant_in(
    api: &Api,
    caller: &Caller,
    t: NewTenant,
) -> Result<TenantOut, Problem> {
    let req = simforge_factory::operators::NewOperatorRequest {
        name: t.name,
        mcc: t.mcc,
        mnc: t.mnc,
        iccid_prefix: t.iccid_prefix,
        iccid_len: t.iccid_len,
        spn: t.spn,
        out_columns: t.out_columns,
        reuse_on_delete: t.reuse_on_delete,
    };
    let op = simforge_factory::operators::create(&api.store, &caller.actor(), req).await?;
    Ok(op.into())
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}", tag = "platform",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses((status = 200, body = TenantOut), (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn get_tenant(Extension(Tenant(op)): Extension<Tenant>) -> Res<TenantOut> {
    Ok(Json(op.into()))
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: String,
    /// Locked (too many failed logins) until then (Unix seconds).
    pub locked_until: Option<i64>,
    /// Enrolled in TOTP.
    pub totp: bool,
    /// Disabled.
    pub disabled: bool,
    /// Created (Unix seconds).
    pub created_at: i64,
}

impl From<simforge_access::User> for UserOut {
    fn from(u: simforge_access::User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            role: u.role.as_str().to_owned(),
            locked_until: u.throttle.locked_until,
            totp: u.totp_sealed.is_some(),
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// A new user of the tenant.
#[derive(Deserialize, ToSchema)]
pub struct NewUserIn {
    /// Login name.
    pub username: String,
    /// A tenant role: `operator-admin`, `operator` or `viewer`.
    pub role: String,
    /// The initial password (at least 12 characters).
    pub password: String,
}

/// A created user; an administrator's TOTP enrollment URI, shown only now.
#[derive(Serialize, ToSchema)]
pub struct UserCreated {
    /// The user.
    pub user: UserOut,
    /// `otpauth://` URI to enroll the second factor (administrators).
    pub totp_uri: Option<String>,
}

/// `role` parsed, and of the right kind for `tenant` (a tenant's: a tenant role; the
/// platform's: a platform role).
fn role_for(role: &str, tenant: Option<i64>) -> Result<Role, Problem> {
    let role: Role = role.parse()?;
    match (role.is_platform(), tenant.is_some()) {
        (true, true) => Err(Problem::invalid(format!(
            "{role} is a platform role: a tenant's user or token is operator-admin, operator or viewer"
        ))),
        (false, false) => Err(Problem::invalid(format!(
            "{role} is a tenant role: the platform's users and tokens are platform-admin or factory"
        ))),
        _ => Ok(role),
    }
}

/// What the API handler of the same name calls (a tenant's, or with `None` the platform's).
///
/// # Errors
/// As the access service's call; 404 for another tenant's user or token.
pub async fn users_of(api: &Api, tenant: Option<i64>) -> Res<Vec<UserOut>> {
    use simforge_access::AccessStore as _;
    let users = api.store.users(tenant).await?;
    Ok(Json(users.into_iter().map(Into::into).collect()))
}

/// What the API handler of the same name calls (a tenant's, or with `None` the platform's).
///
/// # Errors
/// As the access service's call; 404 for another tenant's user or token.
pub async fn create_user_in(
    api: &Api,
    caller: &Caller,
    tenant: Option<i64>,
    mut u: NewUserIn,
) -> Result<(StatusCode, Json<UserCreated>), Problem> {
    let new = CreateUser {
        username: u.username.clone(),
        role: role_for(&u.role, tenant)?,
        tenant,
        password: Secret::new(std::mem::take(&mut u.password)),
    };
    let created = api
        .access
        .create_user(&caller.actor(), new, api.now(), &mut rand_core::OsRng)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UserCreated {
            user: created.user.into(),
            totp_uri: created.totp_uri.map(|u| u.0.to_string()),
        }),
    ))
}

/// What the API handler of the same name calls (a tenant's, or with `None` the platform's).
///
/// # Errors
/// As the access service's call; 404 for another tenant's user or token.
pub async fn unlock_in(
    api: &Api,
    caller: &Caller,
    tenant: Option<i64>,
    username: &str,
) -> Result<StatusCode, Problem> {
    use simforge_access::AccessStore as _;
    let user = api.store.user_by_name(username).await?;
    // The platform's administrators unlock anyone; a tenant's only its own.
    if user.is_none_or(|u| tenant.is_some() && u.tenant != tenant) {
        return Err(Problem::not_found(format!("user {username}")));
    }
    api.access
        .unlock_user(&caller.actor(), username, api.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the API handler of the same name calls (a tenant's, or with `None` the platform's).
///
/// # Errors
/// As the access service's call; 404 for another tenant's user or token.
pub async fn tokens_of(api: &Api, tenant: Option<i64>) -> Res<Vec<TokenOut>> {
    use simforge_access::AccessStore as _;
    let t = api.store.tokens(tenant).await?;
    Ok(Json(t.into_iter().map(Into::into).collect()))
}

/// What the API handler of the same name calls (a tenant's, or with `None` the platform's).
///
/// # Errors
/// As the access service's call; 404 for another tenant's user or token.
pub async fn create_token_in(
    api: &Api,
    caller: &Caller,
    tenant: Option<i64>,
    t: NewTokenIn,
) -> Result<(StatusCode, Json<TokenCreated>), Problem> {
    let days = t.expires_in_days.unwrap_or(90);
    if !(1..=366).contains(&days) {
        return Err(Problem::invalid("expires_in_days is 1 to 366"));
    }
    let now = api.now();
    let (rec, secret) = api
        .access
        .create_token(
            &caller.actor(),
            tenant,
            role_for(&t.role, tenant)?,
            &t.name,
            now + i64::from(days) * 86_400,
            now,
            &mut rand_core::OsRng,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            token: rec.into(),
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// What the API handler of the same name calls (a tenant's, or with `None` the platform's).
///
/// # Errors
/// As the access service's call; 404 for another tenant's user or token.
pub async fn revoke_token_in(
    api: &Api,
    caller: &Caller,
    tenant: Option<i64>,
    id: i64,
) -> Result<StatusCode, Problem> {
    use simforge_access::AccessStore as _;
    let mine = api.store.tokens(tenant).await?;
    if !mine.iter().any(|t| t.id == id) {
        return Err(Problem::not_found(format!("token {id}")));
    }
    api.access
        .revoke_token(&caller.actor(), id, api.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's users.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users", tag = "people",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<UserOut>)),
    security(("session" = []), ("token" = [])))]
pub async fn list_users(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Res<Vec<UserOut>> {
    users_of(&api, Some(op.id)).await
}

/// Creates a user of the tenant.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users", tag = "people",
    params(("tenant" = String, Path)), request_body = NewUserIn,
    responses((status = 201, body = UserCreated),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn create_user(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(u): Json<NewUserIn>,
) -> Result<(StatusCode, Json<UserCreated>), Problem> {
    create_user_in(&api, &caller, Some(op.id), u).await
}

/// Unlocks a user locked by failed logins.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users/{username}/unlock", tag = "people",
    params(("tenant" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn unlock_user(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, username)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    unlock_in(&api, &caller, Some(op.id), &username).await
}

/// An API token (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// Row id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The role it acts with.
    pub role: String,
    /// Created (Unix seconds).
    pub created_at: i64,
    /// Expires (Unix seconds).
    pub expires_at: i64,
    /// Revoked (Unix seconds).
    pub revoked_at: Option<i64>,
}

impl From<simforge_access::TokenRecord> for TokenOut {
    fn from(t: simforge_access::TokenRecord) -> Self {
        Self {
            id: t.id,
            name: t.name,
            role: t.role.as_str().to_owned(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new API token of the tenant.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTokenIn {
    /// A name to tell it apart.
    pub name: String,
    /// A tenant role.
    pub role: String,
    /// Days until it expires (1 to 366; default 90).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A created token: the secret is shown only now.
#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    /// The token.
    pub token: TokenOut,
    /// Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// The tenant's API tokens.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/tokens", tag = "people",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<TokenOut>)),
    security(("session" = []), ("token" = [])))]
pub async fn list_tokens(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Res<Vec<TokenOut>> {
    tokens_of(&api, Some(op.id)).await
}

/// Issues an API token bound to the tenant and a role.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/tokens", tag = "people",
    params(("tenant" = String, Path)), request_body = NewTokenIn,
    responses((status = 201, body = TokenCreated)),
    security(("session" = []), ("token" = [])))]
pub async fn create_token(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(t): Json<NewTokenIn>,
) -> Result<(StatusCode, Json<TokenCreated>), Problem> {
    create_token_in(&api, &caller, Some(op.id), t).await
}

/// Revokes an API token: refused from the next request on, on every node.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/tokens/{id}", tag = "people",
    params(("tenant" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn revoke_token(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Result<StatusCode, Problem> {
    revoke_token_in(&api, &caller, Some(op.id), id).await
}

/// An operator key (never its value).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyOut {
    /// `transport` (KID) or `op` (OPID).
    pub kind: String,
    /// Its index.
    pub index: i64,
    /// Its size in bits.
    pub bits: i64,
    /// Imported (RFC 3339).
    pub created_at: String,
}

/// A key to import.
#[derive(Deserialize, ToSchema)]
pub struct NewKeyIn {
    /// `transport` or `op`.
    pub kind: String,
    /// Its index (KID or OPID of orders).
    pub index: u32,
    /// The key in hex (AES-128/192/256 transport key; 128-bit OP or 256-bit TOP).
    pub value: String,
    /// Replace an existing key at this index.
    #[serde(default)]
    pub replace: bool,
}

fn key_kind(s: &str) -> Result<KeyKind, Problem> {
    match s {
        "transport" => Ok(KeyKind::Transport),
        "op" => Ok(KeyKind::Op),
        _ => Err(Problem::invalid(format!("key kind {s:?}: transport or op"))),
    }
}

/// The tenant's keys: kind, index, size; never a value.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/keys", tag = "keys",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<KeyOut>)),
    security(("session" = []), ("token" = [])))]
pub async fn list_keys(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Res<Vec<KeyOut>> {
    Ok(Json(keys_of(&api, &op).await?))
}

/// Tenant `op`'s keys: kind, index, size; never a value.
///
/// # Errors
/// The store's.
pub async fn keys_of(api: &Api, op: &Operator) -> Result<Vec<KeyOut>, Problem> {
    let keys = api.store.keys(op.id).await?;
    Ok(keys
        .into_iter()
        .map(|k| KeyOut {
            kind: format!("{:?}", k.kind).to_lowercase(),
            index: k.index,
            bits: k.bits,
            created_at: k.created_at,
        })
        .collect())
}

/// Imports a key (sealed at once; never readable back).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/keys", tag = "keys",
    params(("tenant" = String, Path)), request_body = NewKeyIn,
    responses((status = 201, body = KeyOut),
        (status = 409, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn import_key(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(k): Json<NewKeyIn>,
) -> Result<(StatusCode, Json<KeyOut>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(import_key_in(&api, &caller, &op, k).await?),
    ))
}

/// Imports key `k` into tenant `op` (sealed at once; never readable back).
///
/// # Errors
/// 422 for a malformed key, 409 for a taken index.
pub async fn import_key_in(
    api: &Api,
    caller: &Caller,
    op: &Operator,
    k: NewKeyIn,
) -> Result<KeyOut, Problem> {
    let value = zeroize::Zeroizing::new(k.value);
    let kind = key_kind(&k.kind)?;
    let parsed = simforge_factory::keys::parse_key(kind, &value)?;
    simforge_factory::keys::store_key(
        &api.store,
        &*api.vault,
        &caller.actor(),
        op,
        &parsed,
        k.index,
        k.replace,
    )
    .await?;
    Ok(KeyOut {
        kind: k.kind,
        index: i64::from(k.index),
        bits: parsed.bits as i64,
        created_at: simforge_factory::clock::rfc3339(api.now()),
    })
}

/// An ES2+ credential (never the key).
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialOut {
    /// Row id.
    pub id: i64,
    /// `api-key` or `client-cert`.
    pub kind: String,
    /// A hint: the key's first characters or the certificate's subject.
    pub label: String,
    /// Added (Unix seconds).
    pub created_at: i64,
    /// Revoked (Unix seconds).
    pub revoked_at: Option<i64>,
}

/// A new ES2+ API key: shown only now.
#[derive(Serialize, ToSchema)]
pub struct CredentialCreated {
    /// Its id.
    pub id: i64,
    /// Send it as `X-Api-Key` with functionRequesterIdentifier = the tenant's name.
    pub api_key: String,
}

/// The tenant's ES2+ credentials (API keys and client certificates).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/credentials", tag = "es2",
    params(("tenant" = String, Path)), responses((status = 200, body = Vec<CredentialOut>)),
    security(("session" = []), ("token" = [])))]
pub async fn list_credentials(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Res<Vec<CredentialOut>> {
    Ok(Json(credentials_of(&api, &op).await?))
}

/// Tenant `op`'s ES2+ credentials (never a key).
///
/// # Errors
/// The store's.
pub async fn credentials_of(api: &Api, op: &Operator) -> Result<Vec<CredentialOut>, Problem> {
    let mut out = Vec::new();
    for (kind, name) in [
        (CredentialKind::ApiKey, "api-key"),
        (CredentialKind::ClientCert, "client-cert"),
    ] {
        for c in simforge_esim::credentials::list(&api.store, op, kind).await? {
            out.push(CredentialOut {
                id: c.id.0,
                kind: name.into(),
                label: c.label,
                created_at: c.created_at,
                revoked_at: c.revoked_at,
            });
        }
    }
    Ok(out)
}

/// Creates an ES2+ API key.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/credentials", tag = "es2",
    params(("tenant" = String, Path)), responses((status = 201, body = CredentialCreated)),
    security(("session" = []), ("token" = [])))]
pub async fn create_credential(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Result<(StatusCode, Json<CredentialCreated>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(create_api_key(&api, &caller, &op).await?),
    ))
}

/// A new ES2+ API key of tenant `op` (its value returned only now).
///
/// # Errors
/// The service's.
pub async fn create_api_key(
    api: &Api,
    caller: &Caller,
    op: &Operator,
) -> Result<CredentialCreated, Problem> {
    let k = simforge_esim::credentials::create_api_key(
        &api.store,
        &caller.actor(),
        op,
        &mut rand_core::OsRng,
        api.now(),
    )
    .await?;
    Ok(CredentialCreated {
        id: k.id.0,
        api_key: k.key.to_string(),
    })
}

/// Revokes an ES2+ credential (a running SM-DP+ refuses it within a second).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/credentials/{id}", tag = "es2",
    params(("tenant" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn revoke_credential(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Result<StatusCode, Problem> {
    revoke_credential_in(&api, &caller, &op, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes tenant `op`'s ES2+ credential `id`.
///
/// # Errors
/// 404 for another tenant's or an unknown credential.
pub async fn revoke_credential_in(
    api: &Api,
    caller: &Caller,
    op: &Operator,
    id: i64,
) -> Result<(), Problem> {
    simforge_esim::credentials::revoke(
        &api.store,
        &caller.actor(),
        op,
        CredentialId(id),
        api.now(),
    )
    .await?;
    Ok(())
}

/// Which audit entries.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this sequence number (keyset pagination).
    #[serde(default)]
    pub after: u64,
    /// Entries at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Entries before this time (Unix seconds). Entries are numbered as they are appended,
    /// in time order: a page cut short by `until` is the last.
    pub until: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// An audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    /// Sequence number.
    pub seq: u64,
    /// When (Unix seconds).
    pub at: i64,
    /// Who.
    pub actor: String,
    /// The tenant's id.
    pub tenant: Option<i64>,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// `ok`, `denied` or `failed:<code>`.
    pub outcome: String,
    /// From where.
    pub source: Option<String>,
    /// Details (never a secret).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// This entry's hash (hex).
    pub hash: String,
}

async fn audit(api: &Api, tenant: Option<i64>, q: AuditQuery) -> Res<Vec<AuditEntryOut>> {
    Ok(Json(audit_entries(api, tenant, &q).await?))
}

/// A page of audit entries: of `tenant` (its own only), or every one.
///
/// # Errors
/// The store's.
pub async fn audit_entries(
    api: &Api,
    tenant: Option<i64>,
    q: &AuditQuery,
) -> Result<Vec<AuditEntryOut>, Problem> {
    let entries = api
        .store
        .entries(&simforge_audit::Query {
            after_seq: q.after,
            since_at: q.since,
            tenant,
            limit: Some(q.limit.unwrap_or(100).clamp(1, 1000)),
        })
        .await?;
    Ok(entries
        .into_iter()
        .filter(|e| q.until.is_none_or(|u| e.at < u))
        .map(|e| AuditEntryOut {
            seq: e.seq,
            at: e.at,
            actor: e.actor.clone(),
            tenant: e.tenant,
            action: e.action.clone(),
            target: e.target.clone(),
            outcome: e.outcome.to_string(),
            source: e.source.clone(),
            details: serde_json::from_str(&e.details_json()).unwrap_or_default(),
            hash: hex::encode(e.hash),
        })
        .collect())
}

/// The whole audit chain checked (`simforge_audit::verify`, as `simforge audit verify`): its
/// summary, or the first bad entry.
///
/// # Errors
/// The store's.
pub async fn audit_verify(
    api: &Api,
) -> Result<Result<simforge_audit::Summary, simforge_audit::Broken>, Problem> {
    let all = api.store.entries(&simforge_audit::Query::default()).await?;
    Ok(simforge_audit::verify(all))
}

/// The audit chain checked after the intact prefix `from` (`simforge_audit::verify_after`):
/// only the entries appended since are read.
///
/// # Errors
/// The store's.
pub async fn audit_verify_after(
    api: &Api,
    from: simforge_audit::Summary,
) -> Result<Result<simforge_audit::Summary, simforge_audit::Broken>, Problem> {
    let q = simforge_audit::Query {
        after_seq: from.count,
        ..simforge_audit::Query::default()
    };
    let new = api.store.entries(&q).await?;
    Ok(simforge_audit::verify_after(from, new))
}

/// The tenant's audit entries (only its own).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit", tag = "audit",
    params(("tenant" = String, Path), AuditQuery), responses((status = 200, body = Vec<AuditEntryOut>)),
    security(("session" = []), ("token" = [])))]
pub async fn tenant_audit(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(q): Query<AuditQuery>,
) -> Res<Vec<AuditEntryOut>> {
    audit(&api, Some(op.id), q).await
}

/// Every audit entry (the platform's roles).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery), responses((status = 200, body = Vec<AuditEntryOut>)),
    security(("session" = []), ("token" = [])))]
pub async fn platform_audit(
    State(api): State<Api>,
    Query(q): Query<AuditQuery>,
) -> Res<Vec<AuditEntryOut>> {
    audit(&api, None, q).await
}

/// A tenant's quotas (absent or null: no limit).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuotasIo {
    /// Operator API requests per second (429 and `Retry-After: 1` beyond).
    #[serde(default)]
    pub api_rps: Option<u32>,
    /// Cards ordered over any 24 hours (429 with `Retry-After` beyond).
    #[serde(default)]
    pub batch_cards_per_day: Option<u64>,
    /// Profiles in the eSIM inventory (429 beyond).
    #[serde(default)]
    pub inventory_max: Option<u64>,
}

/// The tenant's quotas.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/quotas", tag = "platform",
    params(("tenant" = String, Path)), responses((status = 200, body = QuotasIo)),
    security(("session" = []), ("token" = [])))]
pub async fn get_quotas(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Res<QuotasIo> {
    Ok(Json(quotas_of(&api, &op).await?))
}

/// Tenant `op`'s quotas.
///
/// # Errors
/// The store's.
pub async fn quotas_of(api: &Api, op: &Operator) -> Result<QuotasIo, Problem> {
    let q = api.store.quotas(op.id).await?;
    Ok(QuotasIo {
        api_rps: q.api_rps,
        batch_cards_per_day: q.batch_cards_per_day,
        inventory_max: q.inventory_max,
    })
}

/// Sets the tenant's quotas (the platform's administrators).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/quotas", tag = "platform",
    params(("tenant" = String, Path)), request_body = QuotasIo,
    responses((status = 200, body = QuotasIo),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn set_quotas(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(q): Json<QuotasIo>,
) -> Res<QuotasIo> {
    Ok(Json(set_quotas_in(&api, &op, q).await?))
}

/// Sets tenant `op`'s quotas (`None`: no limit).
///
/// # Errors
/// 422 for a quota of 0.
pub async fn set_quotas_in(api: &Api, op: &Operator, q: QuotasIo) -> Result<QuotasIo, Problem> {
    if q.api_rps == Some(0) || q.batch_cards_per_day == Some(0) || q.inventory_max == Some(0) {
        return Err(Problem::invalid("a quota is at least 1 (null: no limit)"));
    }
    let quotas = simforge_store::Quotas {
        api_rps: q.api_rps,
        batch_cards_per_day: q.batch_cards_per_day,
        inventory_max: q.inventory_max,
    };
    api.store.set_quotas(op.id, &quotas).await?;
    Ok(q)
}

/// A TLS client certificate for ES2+ (PEM or DER as base64 is not accepted: PEM text).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientCertIn {
    /// The certificate (PEM); its SHA-256 is pinned.
    pub certificate_pem: String,
}

/// A registered client certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientCertOut {
    /// Its credential id.
    pub id: i64,
    /// SHA-256 of its DER (hex).
    pub sha256: String,
    /// Its subject.
    pub subject: String,
}

/// Registers a TLS client certificate for the tenant's ES2+ calls (a running SM-DP+ accepts it
/// at once).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/credentials/client-certs", tag = "es2",
    params(("tenant" = String, Path)), request_body = ClientCertIn,
    responses((status = 201, body = ClientCertOut),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn register_client_cert(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(c): Json<ClientCertIn>,
) -> Result<(StatusCode, Json<ClientCertOut>), Problem> {
    let r = register_client_cert_in(&api, &caller, &op, &c).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// Registers client certificate `c` for tenant `op`'s ES2+ calls.
///
/// # Errors
/// 422 for a certificate that does not parse, 409 for one already registered.
pub async fn register_client_cert_in(
    api: &Api,
    caller: &Caller,
    op: &Operator,
    c: &ClientCertIn,
) -> Result<ClientCertOut, Problem> {
    let r = simforge_esim::credentials::register_client_cert(
        &api.store,
        &caller.actor(),
        op,
        c.certificate_pem.as_bytes(),
        api.now(),
    )
    .await?;
    Ok(ClientCertOut {
        id: r.id.0,
        sha256: r.sha256.as_str().to_owned(),
        subject: r.subject,
    })
}

/// The tenant's ES2+ callback endpoint (HandleDownloadProgressInfo) and its delivery state.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackOut {
    /// The endpoint, if set.
    pub url: Option<String>,
    /// The client identity presented: `server`, `certificate` or `none`.
    pub client_identity: Option<String>,
    /// A CA bundle of the operator's is set.
    pub ca_bundle: bool,
    /// Hours an event is retried (none: the default number of attempts).
    pub retry_hours: Option<u32>,
    /// Of the recent events: not yet delivered.
    pub pending: usize,
    /// Of the recent events: given up.
    pub given_up: usize,
    /// Recent events looked at.
    pub recent: usize,
}

/// The callback endpoint and its delivery status.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/callback", tag = "es2",
    params(("tenant" = String, Path)), responses((status = 200, body = CallbackOut)),
    security(("session" = []), ("token" = [])))]
pub async fn callback_status(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
) -> Res<CallbackOut> {
    Ok(Json(callback_of(&api, &op).await?))
}

/// Tenant `op`'s callback endpoint and its deliveries.
///
/// # Errors
/// The store's.
pub async fn callback_of(api: &Api, op: &Operator) -> Result<CallbackOut, Problem> {
    let s = simforge_esim::callbacks::status(&api.store, op).await?;
    Ok(CallbackOut {
        client_identity: s.identity().map(str::to_owned),
        url: s.settings.as_ref().map(|c| c.url.clone()),
        ca_bundle: s
            .settings
            .as_ref()
            .is_some_and(|c| c.ca_bundle_pem.is_some()),
        retry_hours: s.settings.as_ref().and_then(|c| c.retry_hours),
        pending: s.pending,
        given_up: s.given_up,
        recent: s.recent,
    })
}

/// Changes to the callback endpoint (absent: unchanged).
#[derive(Default, Deserialize, ToSchema)]
pub struct CallbackIn {
    /// The endpoint (https).
    #[serde(default)]
    pub url: Option<String>,
    /// A client certificate chain (PEM) to present, with `client_key_pem`.
    #[serde(default)]
    pub client_cert_pem: Option<String>,
    /// Its private key (PEM; sealed at once, never shown again).
    #[serde(default)]
    pub client_key_pem: Option<String>,
    /// Present the SM-DP+'s own TLS identity instead.
    #[serde(default)]
    pub use_server_identity: bool,
    /// Present no client certificate.
    #[serde(default)]
    pub no_client_cert: bool,
    /// The operator's CA bundle (PEM) for its endpoint.
    #[serde(default)]
    pub ca_bundle_pem: Option<String>,
    /// Retry an event for this many hours.
    #[serde(default)]
    pub retry_hours: Option<u32>,
}

/// Which SM-DS operations.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SmdsEventsQuery {
    /// At most this many, newest first (default 50, at most 1000).
    pub limit: Option<u32>,
}

/// One SM-DS operation of the tenant's orders: an event registered (ES2+ ConfirmOrder with
/// smdsAddress, or the tenant's default SM-DS) or deleted (the order ended) at an SM-DS.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmdsEventOut {
    /// Queue id (what `simforge operator smds-events --requeue` takes).
    pub id: i64,
    /// `register` or `delete`.
    pub op: String,
    /// `pending`, `done`, `superseded` or `failed` (given up, with `last_error`).
    pub state: String,
    /// The SM-DS (`host[:port]`).
    pub smds_address: String,
    /// The eUICC.
    pub eid: String,
    /// The EventID (the order's matchingId).
    pub event_id: String,
    /// The profile.
    pub iccid: Option<String>,
    /// When it is (or was) due (RFC 3339).
    pub due: String,
    /// Delivery attempts made.
    pub attempts: u32,
    /// The last delivery error.
    pub last_error: Option<String>,
}

/// The SM-DS operations of the tenant's orders, newest first (read-only).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/smds-events", tag = "es2",
    params(("tenant" = String, Path), SmdsEventsQuery),
    responses((status = 200, body = Vec<SmdsEventOut>)),
    security(("session" = []), ("token" = [])))]
pub async fn smds_events(
    State(api): State<Api>,
    Extension(Tenant(op)): Extension<Tenant>,
    Query(q): Query<SmdsEventsQuery>,
) -> Res<Vec<SmdsEventOut>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let rows = simforge_esim::policy::smds_operations(&api.store, op.id, limit).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| {
                let o = r.entry.op;
                SmdsEventOut {
                    id: r.entry.id,
                    op: o.kind.as_str().to_owned(),
                    state: r.state.as_str().to_owned(),
                    smds_address: o.smds_address,
                    eid: o.eid.to_string(),
                    event_id: o.event_id.as_str().to_owned(),
                    iccid: o.iccid.map(|i| i.as_str().to_owned()),
                    due: simforge_factory::clock::rfc3339(o.due),
                    attempts: r.entry.attempts,
                    last_error: r.last_error,
                }
            })
            .collect(),
    ))
}

/// Sets the callback endpoint.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/callback", tag = "es2",
    params(("tenant" = String, Path)), request_body = CallbackIn,
    responses((status = 200, body = CallbackOut),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn set_callback(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Json(c): Json<CallbackIn>,
) -> Res<CallbackOut> {
    Ok(Json(set_callback_in(&api, &caller, &op, c).await?))
}

/// Sets tenant `op`'s callback endpoint (what `c` names; the rest kept).
///
/// # Errors
/// 422 for a half client identity or a bad URL or bundle.
pub async fn set_callback_in(
    api: &Api,
    caller: &Caller,
    op: &Operator,
    c: CallbackIn,
) -> Result<CallbackOut, Problem> {
    use simforge_esim::callbacks::{ClientIdentity, seal_client_identity};
    let key = c.client_key_pem.map(zeroize::Zeroizing::new);
    let client_identity = match (&c.client_cert_pem, &key) {
        (Some(cert), Some(key)) => Some(ClientIdentity::Certificate(seal_client_identity(
            &*api.vault,
            op.id,
            cert.as_bytes(),
            key.as_bytes(),
        )?)),
        (Some(_), None) | (None, Some(_)) => {
            return Err(Problem::invalid(
                "client_cert_pem and client_key_pem go together",
            ));
        }
        _ if c.use_server_identity => Some(ClientIdentity::Server),
        _ if c.no_client_cert => Some(ClientIdentity::None),
        _ => None,
    };
    let update = simforge_esim::callbacks::CallbackUpdate {
        url: c.url,
        client_identity,
        ca_bundle_pem: c.ca_bundle_pem.map(String::into_bytes),
        retry_hours: c.retry_hours,
    };
    simforge_esim::callbacks::update(&api.store, &caller.actor(), op, update, api.now()).await?;
    callback_of(api, op).await
}

/// The platform's users (platform roles).
#[utoipa::path(get, path = "/api/v1/users", tag = "people",
    responses((status = 200, body = Vec<UserOut>)), security(("session" = []), ("token" = [])))]
pub async fn list_platform_users(State(api): State<Api>) -> Res<Vec<UserOut>> {
    users_of(&api, None).await
}

/// Creates a user of the platform (`platform-admin` or `factory`).
#[utoipa::path(post, path = "/api/v1/users", tag = "people", request_body = NewUserIn,
    responses((status = 201, body = UserCreated),
        (status = 422, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn create_platform_user(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Json(u): Json<NewUserIn>,
) -> Result<(StatusCode, Json<UserCreated>), Problem> {
    create_user_in(&api, &caller, None, u).await
}

/// Unlocks any user (the platform's administrators).
#[utoipa::path(post, path = "/api/v1/users/{username}/unlock", tag = "people",
    params(("username" = String, Path)),
    responses((status = 204), (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn unlock_any_user(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Path(username): Path<String>,
) -> Result<StatusCode, Problem> {
    unlock_in(&api, &caller, None, &username).await
}

/// The platform's API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "people",
    responses((status = 200, body = Vec<TokenOut>)), security(("session" = []), ("token" = [])))]
pub async fn list_platform_tokens(State(api): State<Api>) -> Res<Vec<TokenOut>> {
    tokens_of(&api, None).await
}

/// Issues a platform API token (`platform-admin` or `factory`).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "people", request_body = NewTokenIn,
    responses((status = 201, body = TokenCreated)), security(("session" = []), ("token" = [])))]
pub async fn create_platform_token(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Json(t): Json<NewTokenIn>,
) -> Result<(StatusCode, Json<TokenCreated>), Problem> {
    create_token_in(&api, &caller, None, t).await
}

/// Revokes a platform API token.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "people",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn revoke_platform_token(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<StatusCode, Problem> {
    revoke_token_in(&api, &caller, None, id).await
}

/// Puts a given-up SM-DS operation of the tenant back in the queue: the SM-DP+ sends it again
/// (a new retry horizon). 404 when it is not one of the tenant's given-up operations, or a
/// later operation of its event was already done or given up.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/smds-events/{id}/requeue", tag = "es2",
    params(("tenant" = String, Path), ("id" = i64, Path, description = "Queue id")),
    responses((status = 204, description = "Queued again"),
        (status = 404, body = crate::problem::ProblemBody, content_type = "application/problem+json")),
    security(("session" = []), ("token" = [])))]
pub async fn requeue_smds_event(
    State(api): State<Api>,
    Extension(caller): Extension<Caller>,
    Extension(Tenant(op)): Extension<Tenant>,
    Path((_, id)): Path<(String, i64)>,
) -> Result<StatusCode, Problem> {
    requeue_smds_event_in(&api, &caller, &op, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Puts tenant `op`'s given-up SM-DS operation `id` back in the queue.
///
/// # Errors
/// 404 (unknown, another tenant's, not given up, or overtaken), the store's.
pub async fn requeue_smds_event_in(
    api: &Api,
    caller: &Caller,
    op: &Operator,
    id: i64,
) -> Result<(), Problem> {
    let now_ms = api.now().saturating_mul(1000);
    simforge_esim::policy::requeue_smds_operation(&api.store, &caller.actor(), (op.id, now_ms), id)
        .await?;
    Ok(())
}
