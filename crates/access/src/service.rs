//! The access service calls: create a user, log in and out, issue, revoke and check API
//! tokens, unlock a user. Each state change and each login (success or failure) is appended
//! to the audit log; never a password, code or secret.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand_core::TryCryptoRng;
use simforge_audit::{Actor, AuditLog, Draft, Outcome, action};
use simforge_vault::Vault;
use zeroize::Zeroizing;

use crate::secret::{API_TOKEN_PREFIX, SESSION_PREFIX, new_token};
use crate::{
    AccessStore, Action, Error, NewToken, NewUser, Role, Secret, SessionPolicy, SessionRecord,
    Throttle, ThrottlePolicy, TokenRecord, TotpSecret, User, allowed, hash_password, token_hash,
    verify_password,
};

/// Who is acting, once authenticated (by session or API token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// As the audit log names them: `user:<name>` or `token:<id>`.
    pub actor: String,
    /// Their tenant; `None` for the platform's.
    pub tenant: Option<i64>,
    /// Their role.
    pub role: Role,
}

impl Principal {
    /// May they do `action` on `tenant`'s resources ([`allowed`])?
    #[must_use]
    pub fn may(&self, action: Action, tenant: Option<i64>) -> bool {
        allowed(
            self.role,
            action,
            self.tenant.is_some() && self.tenant == tenant,
        )
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// The login name (1–64 characters, no space or control character).
    pub username: String,
    /// The role.
    pub role: Role,
    /// The tenant: required for tenant roles, absent for platform roles.
    pub tenant: Option<i64>,
    /// The password (policy: [`crate::secret::check_password_policy`]).
    pub password: Secret,
}

/// A created user, and for administrators the TOTP enrollment URI (shown once).
#[derive(Debug)]
pub struct Created {
    /// The stored user.
    pub user: User,
    /// `otpauth://` URI of the TOTP secret (administrators), to show once.
    pub totp_uri: Option<RedactedUri>,
}

/// An `otpauth://` URI: it holds the TOTP secret, so it is redacted in Debug.
pub struct RedactedUri(pub Zeroizing<String>);

impl std::fmt::Debug for RedactedUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("otpauth://<redacted>")
    }
}

/// A TOTP enrollment begun ([`Access::totp_enrollment`]): the new secret's `otpauth://`
/// URI, to show once to its owner, and the secret sealed for the confirmation
/// ([`Access::enroll_totp`]), which the owner sends back with a code of it. Nothing is stored
/// until then.
pub struct TotpEnrollment {
    /// The `otpauth://` URI (holds the secret).
    pub uri: RedactedUri,
    /// The secret and the time of the enrollment, sealed by the vault for this user only.
    pub pending: Vec<u8>,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrollment(<redacted>)")
    }
}

/// How long a begun TOTP enrollment can be confirmed (seconds).
pub const TOTP_ENROLLMENT_SECS: i64 = 15 * 60;

/// A successful login.
#[derive(Debug)]
pub struct Login {
    /// The session secret (the cookie's value): shown once, stored only as its hash.
    pub session: Secret,
    /// Who logged in.
    pub principal: Principal,
    /// The session's absolute end.
    pub expires_at: i64,
}

/// The access service over a store, an audit log and a vault (for TOTP secrets).
pub struct Access<S, L> {
    store: S,
    audit: L,
    vault: Arc<dyn Vault>,
    /// The issuer named in TOTP URIs.
    pub issuer: String,
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// Account lockout.
    pub account_policy: ThrottlePolicy,
    /// Per-source throttling.
    pub source_policy: ThrottlePolicy,
    sources: Mutex<HashMap<String, Throttle>>,
}

fn store_err(e: impl std::error::Error) -> Error {
    Error::Store(e.to_string())
}

fn totp_context(username: &str) -> String {
    format!("totp:user/{username}")
}

fn totp_pending_context(username: &str) -> String {
    format!("totp-enrollment:user/{username}")
}

impl<S: AccessStore, L: AuditLog> Access<S, L> {
    /// The service with the default policies.
    pub fn new(store: S, audit: L, vault: Arc<dyn Vault>) -> Self {
        Self {
            store,
            audit,
            vault,
            issuer: "simforge".into(),
            sessions: SessionPolicy::default(),
            account_policy: ThrottlePolicy::ACCOUNT,
            source_policy: ThrottlePolicy::SOURCE,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    async fn audit(&self, draft: Draft) -> Result<(), Error> {
        self.audit.append(draft).await.map(drop).map_err(store_err)
    }

    async fn user(&self, username: &str) -> Result<User, Error> {
        self.store
            .user_by_name(username)
            .await
            .map_err(store_err)?
            .ok_or_else(|| Error::NotFound(format!("user {username}")))
    }

    /// Creates a user; administrators are enrolled in TOTP at once (the URI is returned to
    /// show once; the secret is stored sealed).
    pub async fn create_user<R: TryCryptoRng + ?Sized>(
        &self,
        actor: &Actor,
        new: CreateUser,
        now: i64,
        rng: &mut R,
    ) -> Result<Created, Error> {
        let name = &new.username;
        if name.is_empty()
            || name.chars().count() > 64
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::Invalid(
                "a user name has 1 to 64 characters, none a space".into(),
            ));
        }
        match (new.role.is_platform(), new.tenant) {
            (true, Some(_)) => {
                return Err(Error::Invalid(format!(
                    "{} is a platform role: no operator",
                    new.role
                )));
            }
            (false, None) => {
                return Err(Error::Invalid(format!(
                    "{} is an operator's role: name the operator",
                    new.role
                )));
            }
            _ => {}
        }
        let password_phc = hash_password(&new.password, rng)?;
        let totp = if new.role.is_admin() {
            Some(TotpSecret::generate(rng)?)
        } else {
            None
        };
        let totp_sealed = totp
            .as_ref()
            .map(|t| self.vault.seal(&totp_context(name), t.bytes()))
            .transpose()
            .map_err(|e| Error::Vault(e.to_string()))?;
        let user = self
            .store
            .create_user(&NewUser {
                tenant: new.tenant,
                username: name.clone(),
                role: new.role,
                password_phc,
                totp_sealed,
                created_at: now,
            })
            .await
            .map_err(store_err)?
            .ok_or_else(|| Error::Exists(format!("user {name}")))?;
        let mut d = Draft::new(
            now,
            actor.as_str(),
            action::USER_CREATE,
            format!("user:{name}"),
        )
        .detail("role", new.role.as_str())
        .detail("totp", totp.is_some());
        d.tenant = new.tenant;
        self.audit(d).await?;
        Ok(Created {
            totp_uri: totp.map(|t| RedactedUri(t.uri(&self.issuer, name))),
            user,
        })
    }

    fn source_check(&self, source: Option<&str>, now: i64) -> Result<(), i64> {
        let Some(src) = source else { return Ok(()) };
        let map = self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(src).map_or(Ok(()), |t| t.check(now))
    }

    fn source_update(&self, source: Option<&str>, now: i64, ok: bool) {
        let Some(src) = source else { return };
        let mut map = self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ok {
            map.remove(src);
        } else {
            let t = map.get(src).copied().unwrap_or_default();
            map.insert(src.to_owned(), t.fail(now, self.source_policy));
        }
    }

    async fn login_failed(
        &self,
        username: &str,
        tenant: Option<i64>,
        source: Option<&str>,
        now: i64,
        why: &str,
    ) -> Result<(), Error> {
        let mut d = Draft::new(
            now,
            Actor::named("user", username).as_str(),
            action::LOGIN,
            format!("user:{username}"),
        );
        d.outcome = Outcome::Failed(why.into());
        d.tenant = tenant;
        d.source = source.map(str::to_owned);
        self.audit(d).await
    }

    /// Logs in with a password and, for an administrator enrolled in TOTP, a code: a new
    /// session. Throttled per source and per account; each attempt is audited.
    pub async fn login<R: TryCryptoRng + ?Sized>(
        &self,
        username: &str,
        password: &Secret,
        totp: Option<&str>,
        source: Option<&str>,
        now: i64,
        rng: &mut R,
    ) -> Result<Login, Error> {
        if let Err(until) = self.source_check(source, now) {
            self.login_failed(username, None, source, now, "throttled")
                .await?;
            return Err(Error::Throttled(until));
        }
        let Some(user) = self.store.user_by_name(username).await.map_err(store_err)? else {
            // As long as a known user's check: the timing does not tell who exists.
            let _ = verify_password(password, crate::secret::DECOY_PHC);
            self.source_update(source, now, false);
            self.login_failed(username, None, source, now, "unknown-user")
                .await?;
            return Err(Error::BadCredentials);
        };
        if let Err(until) = user.throttle.check(now) {
            self.login_failed(username, user.tenant, source, now, "locked")
                .await?;
            return Err(Error::Locked(until));
        }
        let fail = |why: &'static str| async move {
            self.source_update(source, now, false);
            let t = user.throttle.fail(now, self.account_policy);
            self.store
                .set_throttle(user.id, t)
                .await
                .map_err(store_err)?;
            self.login_failed(username, user.tenant, source, now, why)
                .await?;
            Ok::<_, Error>(())
        };
        // Checked before the state is looked at: a disabled account takes as long to refuse.
        let password_ok = verify_password(password, &user.password_phc);
        if user.disabled {
            fail("disabled").await?;
            return Err(Error::BadCredentials);
        }
        if !password_ok {
            fail("password").await?;
            return Err(Error::BadCredentials);
        }
        // Administrators are enrolled when they are created; anyone may enroll
        // (`enroll_totp`): whoever is enrolled gives a code.
        if let Some(sealed) = &user.totp_sealed {
            let Some(code) = totp else {
                self.login_failed(username, user.tenant, source, now, "totp-missing")
                    .await?;
                return Err(Error::TotpRequired);
            };
            let secret = self
                .vault
                .unseal(&totp_context(username), sealed)
                .map_err(|e| Error::Vault(e.to_string()))?;
            let Some(step) = TotpSecret::from_bytes(&secret).verify(code, now, user.totp_last_step)
            else {
                fail("totp").await?;
                return Err(Error::BadCredentials);
            };
            self.store
                .set_totp_last_step(user.id, step)
                .await
                .map_err(store_err)?;
        }
        let session = new_token(SESSION_PREFIX, rng)?;
        let expires_at = now + self.sessions.absolute_secs;
        self.store
            .create_session(&SessionRecord {
                hash: token_hash(&session),
                user_id: user.id,
                created_at: now,
                last_seen: now,
                expires_at,
            })
            .await
            .map_err(store_err)?;
        if user.throttle != Throttle::default() {
            self.store
                .set_throttle(user.id, Throttle::default())
                .await
                .map_err(store_err)?;
        }
        self.source_update(source, now, true);
        let principal = Principal {
            actor: Actor::named("user", username).as_str().to_owned(),
            tenant: user.tenant,
            role: user.role,
        };
        let mut d = Draft::new(
            now,
            &principal.actor,
            action::LOGIN,
            format!("user:{username}"),
        );
        d.tenant = user.tenant;
        d.source = source.map(str::to_owned);
        self.audit(d).await?;
        Ok(Login {
            session,
            principal,
            expires_at,
        })
    }

    /// The principal of a live session (idle and absolute timeouts), recording its use.
    pub async fn authenticate_session(
        &self,
        secret: &Secret,
        now: i64,
    ) -> Result<Principal, Error> {
        let hash = token_hash(secret);
        let s = self
            .store
            .session(&hash)
            .await
            .map_err(store_err)?
            .filter(|s| now < s.expires_at && self.sessions.alive(s.created_at, s.last_seen, now))
            .ok_or(Error::Unauthenticated)?;
        let user = self
            .store
            .user_by_id(s.user_id)
            .await
            .map_err(store_err)?
            .filter(|u| !u.disabled)
            .ok_or(Error::Unauthenticated)?;
        self.store
            .touch_session(&hash, now)
            .await
            .map_err(store_err)?;
        Ok(Principal {
            actor: Actor::named("user", &user.username).as_str().to_owned(),
            tenant: user.tenant,
            role: user.role,
        })
    }

    /// Ends one session.
    pub async fn logout(&self, secret: &Secret) -> Result<(), Error> {
        self.store
            .delete_session(&token_hash(secret))
            .await
            .map_err(store_err)
    }

    /// Ends every session of `username`: how many there were.
    /// Changes `username`'s password: the current one must match (a wrong one counts as a
    /// failed login against the account's throttle), the new one must pass the policy; every
    /// session of the user ends (sign in again). Audited without either password.
    ///
    /// # Errors
    /// [`Error::BadCredentials`] for a wrong current password, [`Error::Locked`] while the
    /// account is locked, [`Error::Invalid`]-like policy errors for the new one, the store's.
    pub async fn change_password<R: TryCryptoRng + ?Sized>(
        &self,
        actor: &Actor,
        username: &str,
        current: &Secret,
        new: &Secret,
        now: i64,
        rng: &mut R,
    ) -> Result<(), Error> {
        let user = self.user(username).await?;
        if let Err(until) = user.throttle.check(now) {
            return Err(Error::Locked(until));
        }
        if !verify_password(current, &user.password_phc) {
            let throttle = user.throttle.fail(now, self.account_policy);
            self.store
                .set_throttle(user.id, throttle)
                .await
                .map_err(store_err)?;
            let mut d = Draft::new(
                now,
                actor.as_str(),
                action::PASSWORD_CHANGE,
                format!("user:{username}"),
            );
            d.tenant = user.tenant;
            d.outcome = simforge_audit::Outcome::Denied;
            self.audit(d.detail("reason", "bad-password")).await?;
            return Err(Error::BadCredentials);
        }
        let phc = hash_password(new, rng)?;
        self.store
            .set_password(user.id, &phc)
            .await
            .map_err(store_err)?;
        // Every session ends, this one included: whoever knew the old password is out, and
        // the user signs in again with the new one.
        let ended = self
            .store
            .delete_sessions_of(user.id)
            .await
            .map_err(store_err)?;
        let mut d = Draft::new(
            now,
            actor.as_str(),
            action::PASSWORD_CHANGE,
            format!("user:{username}"),
        );
        d.tenant = user.tenant;
        self.audit(d.detail("sessions_ended", ended)).await
    }

    /// Begins a TOTP enrollment of `username`: a new secret, its URI to show once, and the
    /// secret sealed for [`Access::enroll_totp`] (valid for [`TOTP_ENROLLMENT_SECS`]). Nothing
    /// is stored.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Random`], [`Error::Vault`].
    pub async fn totp_enrollment<R: TryCryptoRng + ?Sized>(
        &self,
        username: &str,
        now: i64,
        rng: &mut R,
    ) -> Result<TotpEnrollment, Error> {
        self.user(username).await?;
        let secret = TotpSecret::generate(rng)?;
        let mut plain = Zeroizing::new(now.to_be_bytes().to_vec());
        plain.extend_from_slice(secret.bytes());
        let pending = self
            .vault
            .seal(&totp_pending_context(username), &plain)
            .map_err(|e| Error::Vault(e.to_string()))?;
        Ok(TotpEnrollment {
            uri: RedactedUri(secret.uri(&self.issuer, username)),
            pending,
        })
    }

    /// Confirms a TOTP enrollment of `username` begun by [`Access::totp_enrollment`]
    /// (`pending`, within [`TOTP_ENROLLMENT_SECS`]) with the account's password and a current
    /// code of the new secret — and, when the user has an authenticator already,
    /// `current_code`, a code of that one (a stolen session and password alone cannot swap a
    /// second factor): the secret replaces any earlier one (sealed; the code's step is used
    /// up), and from then on every login of the user needs a code. Audited (never the
    /// secret); a wrong password or current code counts against the account as a failed login
    /// does.
    ///
    /// # Errors
    /// [`Error::BadCredentials`] for a wrong password or code, [`Error::Invalid`] for an
    /// enrollment that is not this user's or has expired, [`Error::Locked`], the store's.
    #[allow(clippy::too_many_arguments)]
    pub async fn enroll_totp(
        &self,
        actor: &Actor,
        username: &str,
        password: &Secret,
        pending: &[u8],
        code: &str,
        current_code: Option<&str>,
        now: i64,
    ) -> Result<(), Error> {
        let user = self.user(username).await?;
        if let Err(until) = user.throttle.check(now) {
            return Err(Error::Locked(until));
        }
        let draft = |outcome: Option<&str>| {
            let mut d = Draft::new(
                now,
                actor.as_str(),
                action::TOTP_ENROLL,
                format!("user:{username}"),
            );
            d.tenant = user.tenant;
            if let Some(why) = outcome {
                d.outcome = Outcome::Denied;
                d = d.detail("reason", why);
            }
            d
        };
        if !verify_password(password, &user.password_phc) {
            let throttle = user.throttle.fail(now, self.account_policy);
            self.store
                .set_throttle(user.id, throttle)
                .await
                .map_err(store_err)?;
            self.audit(draft(Some("bad-password"))).await?;
            return Err(Error::BadCredentials);
        }
        let plain = self
            .vault
            .unseal(&totp_pending_context(username), pending)
            .map_err(|_| Error::Invalid("this enrollment is not valid: begin again".into()))?;
        let (at, secret) = plain.split_at(8.min(plain.len()));
        let at = <[u8; 8]>::try_from(at).map(i64::from_be_bytes).unwrap_or(0);
        if secret.is_empty() || now - at > TOTP_ENROLLMENT_SECS || at > now + 60 {
            return Err(Error::Invalid(
                "this enrollment has expired: begin again".into(),
            ));
        }
        if let Some(sealed) = &user.totp_sealed {
            let present = self
                .vault
                .unseal(&totp_context(username), sealed)
                .map_err(|e| Error::Vault(e.to_string()))?;
            let proven = current_code
                .and_then(|c| TotpSecret::from_bytes(&present).verify(c, now, user.totp_last_step));
            if proven.is_none() {
                let throttle = user.throttle.fail(now, self.account_policy);
                self.store
                    .set_throttle(user.id, throttle)
                    .await
                    .map_err(store_err)?;
                self.audit(draft(Some("bad-current-code"))).await?;
                return Err(Error::BadCredentials);
            }
        }
        let secret = TotpSecret::from_bytes(secret);
        let Some(step) = secret.verify(code, now, None) else {
            self.audit(draft(Some("bad-code"))).await?;
            return Err(Error::BadCredentials);
        };
        let sealed = self
            .vault
            .seal(&totp_context(username), secret.bytes())
            .map_err(|e| Error::Vault(e.to_string()))?;
        self.store
            .set_totp(user.id, &sealed, step)
            .await
            .map_err(store_err)?;
        self.audit(draft(None).detail("replaced", user.totp_sealed.is_some()))
            .await
    }

    pub async fn logout_everywhere(
        &self,
        actor: &Actor,
        username: &str,
        now: i64,
    ) -> Result<u64, Error> {
        let user = self.user(username).await?;
        let n = self
            .store
            .delete_sessions_of(user.id)
            .await
            .map_err(store_err)?;
        let mut d = Draft::new(
            now,
            actor.as_str(),
            action::LOGOUT_EVERYWHERE,
            format!("user:{username}"),
        )
        .detail("sessions", n);
        d.tenant = user.tenant;
        self.audit(d).await?;
        Ok(n)
    }

    /// Issues an API token bound to a tenant and a role, expiring at `expires_at`: the
    /// record and the secret (shown once; only its hash is stored).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_token<R: TryCryptoRng + ?Sized>(
        &self,
        actor: &Actor,
        tenant: Option<i64>,
        role: Role,
        name: &str,
        expires_at: i64,
        now: i64,
        rng: &mut R,
    ) -> Result<(TokenRecord, Secret), Error> {
        if role.is_platform() == tenant.is_some() {
            return Err(Error::Invalid(format!(
                "a {role} token {} an operator",
                if role.is_platform() {
                    "has no"
                } else {
                    "needs"
                }
            )));
        }
        if expires_at <= now {
            return Err(Error::Invalid("the expiry is in the past".into()));
        }
        let secret = new_token(API_TOKEN_PREFIX, rng)?;
        let rec = self
            .store
            .create_token(&NewToken {
                hash: token_hash(&secret),
                tenant,
                role,
                name: name.to_owned(),
                created_at: now,
                expires_at,
            })
            .await
            .map_err(store_err)?;
        let mut d = Draft::new(
            now,
            actor.as_str(),
            action::TOKEN_CREATE,
            format!("token:{}", rec.id),
        )
        .detail("name", name)
        .detail("role", role.as_str())
        .detail("expires_at", expires_at);
        d.tenant = tenant;
        self.audit(d).await?;
        Ok((rec, secret))
    }

    /// Revokes token `id` (at once, on every node: tokens are checked in the database).
    pub async fn revoke_token(&self, actor: &Actor, id: i64, now: i64) -> Result<(), Error> {
        if !self.store.revoke_token(id, now).await.map_err(store_err)? {
            return Err(Error::NotFound(format!("live token {id}")));
        }
        self.audit(Draft::new(
            now,
            actor.as_str(),
            action::TOKEN_REVOKE,
            format!("token:{id}"),
        ))
        .await
    }

    /// The principal of a live API token.
    pub async fn authenticate_token(&self, secret: &Secret, now: i64) -> Result<Principal, Error> {
        let t = self
            .store
            .live_token(&token_hash(secret), now)
            .await
            .map_err(store_err)?
            .ok_or(Error::Unauthenticated)?;
        Ok(Principal {
            actor: format!("token:{}", t.id),
            tenant: t.tenant,
            role: t.role,
        })
    }

    /// Unlocks a locked user (clears its failures).
    pub async fn unlock_user(&self, actor: &Actor, username: &str, now: i64) -> Result<(), Error> {
        let user = self.user(username).await?;
        self.store
            .set_throttle(user.id, Throttle::default())
            .await
            .map_err(store_err)?;
        let mut d = Draft::new(
            now,
            actor.as_str(),
            action::USER_UNLOCK,
            format!("user:{username}"),
        );
        d.tenant = user.tenant;
        self.audit(d).await
    }
}
