//! Users, sessions and API tokens at rest: the [`AccessStore`] trait and its records.
//! Secrets are never stored: passwords as argon2id PHC strings, token and session secrets as
//! SHA-256 ([`crate::token_hash`]), TOTP secrets sealed by the vault.

use std::future::Future;

use crate::{Role, Throttle};

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Its tenant (operator id); `None` for the platform's users.
    pub tenant: Option<i64>,
    /// The login name, unique over the platform.
    pub username: String,
    /// Its role.
    pub role: Role,
    /// The argon2id PHC string of its password.
    pub password_phc: String,
    /// Its TOTP secret sealed by the vault, once enrolled.
    pub totp_sealed: Option<Vec<u8>>,
    /// When (Unix seconds).
    pub created_at: i64,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: i64,
    /// Its tenant; `None` for the platform's users.
    pub tenant: Option<i64>,
    /// The login name.
    pub username: String,
    /// Its role.
    pub role: Role,
    /// The argon2id PHC string of its password.
    pub password_phc: String,
    /// Its sealed TOTP secret, once enrolled.
    pub totp_sealed: Option<Vec<u8>>,
    /// The last TOTP step a code was accepted for (a code is never accepted twice).
    pub totp_last_step: Option<i64>,
    /// Its login throttling state.
    pub throttle: Throttle,
    /// Disabled: cannot log in.
    pub disabled: bool,
    /// When it was created.
    pub created_at: i64,
}

/// A session: its secret's hash, whose it is, its times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session secret, hex.
    pub hash: String,
    /// The user.
    pub user_id: i64,
    /// Login time.
    pub created_at: i64,
    /// Last use.
    pub last_seen: i64,
    /// The absolute end.
    pub expires_at: i64,
}

/// An API token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// SHA-256 of the secret, hex.
    pub hash: String,
    /// Its tenant (`None`: a platform token).
    pub tenant: Option<i64>,
    /// Its role.
    pub role: Role,
    /// A name for people (what it is for).
    pub name: String,
    /// When it was created.
    pub created_at: i64,
    /// When it expires.
    pub expires_at: i64,
}

/// A stored API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Its id.
    pub id: i64,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    /// Its tenant.
    pub tenant: Option<i64>,
    /// Its role.
    pub role: Role,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: i64,
    /// When it expires.
    pub expires_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// Users, sessions and API tokens at rest. Every call goes to the database (no cache), so a
/// revocation or a logout holds at once on every node.
pub trait AccessStore: Send + Sync {
    /// The storage's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Creates a user: `None` when the user name is taken.
    fn create_user(
        &self,
        user: &NewUser,
    ) -> impl Future<Output = Result<Option<User>, Self::Error>> + Send;

    /// The user of this name.
    fn user_by_name(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>, Self::Error>> + Send;

    /// The user of this id.
    fn user_by_id(&self, id: i64)
    -> impl Future<Output = Result<Option<User>, Self::Error>> + Send;

    /// The users of a tenant (`None`: the platform's users), by id.
    fn users(
        &self,
        tenant: Option<i64>,
    ) -> impl Future<Output = Result<Vec<User>, Self::Error>> + Send;

    /// Sets a user's login throttling state.
    fn set_throttle(
        &self,
        user_id: i64,
        throttle: Throttle,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Replaces a user's password hash (PHC string).
    fn set_password(
        &self,
        user_id: i64,
        password_phc: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Records the TOTP step a code was accepted for.
    fn set_totp_last_step(
        &self,
        user_id: i64,
        step: i64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Replaces a user's sealed TOTP secret (a new enrollment) and the step its confirming
    /// code was accepted for.
    fn set_totp(
        &self,
        user_id: i64,
        totp_sealed: &[u8],
        last_step: i64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Stores a new session.
    fn create_session(
        &self,
        session: &SessionRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The session of this hash.
    fn session(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<SessionRecord>, Self::Error>> + Send;

    /// Records a use of a session.
    fn touch_session(
        &self,
        hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Deletes a session (logout).
    fn delete_session(&self, hash: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Deletes every session of a user (logout everywhere): how many there were.
    fn delete_sessions_of(
        &self,
        user_id: i64,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// Stores a new API token.
    fn create_token(
        &self,
        token: &NewToken,
    ) -> impl Future<Output = Result<TokenRecord, Self::Error>> + Send;

    /// The token of this hash if it is neither revoked nor expired at `now`.
    fn live_token(
        &self,
        hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<TokenRecord>, Self::Error>> + Send;

    /// Revokes a token at `at`: `false` if there is no such token or it was revoked already.
    fn revoke_token(
        &self,
        id: i64,
        at: i64,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// The tokens of a tenant (`None`: the platform's), by id.
    fn tokens(
        &self,
        tenant: Option<i64>,
    ) -> impl Future<Output = Result<Vec<TokenRecord>, Self::Error>> + Send;
}
