//! Users, sessions and API tokens ([`simforge_access::AccessStore`]) on either database: one
//! set of statements, written with `?` and numbered `$n` for PostgreSQL ([`pg_sql`]). No
//! cache: a revoked token or a deleted session is refused at once on every node.

use simforge_access::{
    AccessStore, NewToken, NewUser, Role, SessionRecord, Throttle, TokenRecord, User,
};
use sqlx::Row;

use crate::sql::pg_sql;
use crate::{PgStore, SqliteStore, StoreError};

const USER_COLUMNS: &str = "id, tenant, username, role, password_phc, totp_sealed, \
     totp_last_step, failed_attempts, locked_until, disabled, created_at";
const TOKEN_COLUMNS: &str = "id, hash, tenant, role, name, created_at, expires_at, revoked_at";

fn role(s: &str) -> Result<Role, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Config(format!("stored role {s:?} is unknown")))
}

fn user_from_row<R>(r: &R) -> Result<User, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let failed: i64 = r.try_get("failed_attempts")?;
    Ok(User {
        id: r.try_get("id")?,
        tenant: r.try_get("tenant")?,
        username: r.try_get("username")?,
        role: role(&r.try_get::<String, _>("role")?)?,
        password_phc: r.try_get("password_phc")?,
        totp_sealed: r.try_get("totp_sealed")?,
        totp_last_step: r.try_get("totp_last_step")?,
        throttle: Throttle {
            failures: u32::try_from(failed).unwrap_or(u32::MAX),
            locked_until: r.try_get("locked_until")?,
        },
        disabled: r.try_get("disabled")?,
        created_at: r.try_get("created_at")?,
    })
}

fn token_from_row<R>(r: &R) -> Result<TokenRecord, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(TokenRecord {
        id: r.try_get("id")?,
        hash: r.try_get("hash")?,
        tenant: r.try_get("tenant")?,
        role: role(&r.try_get::<String, _>("role")?)?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn session_from_row<R>(r: &R) -> Result<SessionRecord, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SessionRecord {
        hash: r.try_get("hash")?,
        user_id: r.try_get("user_id")?,
        created_at: r.try_get("created_at")?,
        last_seen: r.try_get("last_seen")?,
        expires_at: r.try_get("expires_at")?,
    })
}

/// `AccessStore` for a store with a `pool`, its statements passed through `$sql`.
macro_rules! access_store {
    ($store:ty, $sql:expr) => {
        impl AccessStore for $store {
            type Error = StoreError;

            async fn create_user(&self, u: &NewUser) -> Result<Option<User>, StoreError> {
                let sql = $sql(&format!(
                    "INSERT INTO users (tenant, username, role, password_phc, totp_sealed, created_at)
                     VALUES (?, ?, ?, ?, ?, ?) RETURNING {USER_COLUMNS}"
                ));
                let r = sqlx::query(&sql)
                    .bind(u.tenant)
                    .bind(&u.username)
                    .bind(u.role.as_str())
                    .bind(&u.password_phc)
                    .bind(u.totp_sealed.as_deref())
                    .bind(u.created_at)
                    .fetch_one(&self.pool)
                    .await;
                match r {
                    Ok(row) => Ok(Some(user_from_row(&row)?)),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }

            async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
                let sql = $sql(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?"));
                let row = sqlx::query(&sql).bind(username).fetch_optional(&self.pool).await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
                let sql = $sql(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"));
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn users(&self, tenant: Option<i64>) -> Result<Vec<User>, StoreError> {
                let sql = $sql(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE tenant IS NOT DISTINCT FROM ? ORDER BY id"
                ));
                let rows = sqlx::query(&sql).bind(tenant).fetch_all(&self.pool).await?;
                rows.iter().map(user_from_row).collect()
            }

            async fn set_throttle(&self, user_id: i64, t: Throttle) -> Result<(), StoreError> {
                let sql = $sql("UPDATE users SET failed_attempts = ?, locked_until = ? WHERE id = ?");
                sqlx::query(&sql)
                    .bind(i64::from(t.failures))
                    .bind(t.locked_until)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_password(&self, user_id: i64, password_phc: &str) -> Result<(), StoreError> {
                let sql = $sql("UPDATE users SET password_phc = ? WHERE id = ?");
                sqlx::query(&sql).bind(password_phc).bind(user_id).execute(&self.pool).await?;
                Ok(())
            }

            async fn set_totp_last_step(&self, user_id: i64, step: i64) -> Result<(), StoreError> {
                let sql = $sql("UPDATE users SET totp_last_step = ? WHERE id = ?");
                sqlx::query(&sql).bind(step).bind(user_id).execute(&self.pool).await?;
                Ok(())
            }

            async fn set_totp(&self, user_id: i64, totp_sealed: &[u8], last_step: i64) -> Result<(), StoreError> {
                let sql = $sql("UPDATE users SET totp_sealed = ?, totp_last_step = ? WHERE id = ?");
                sqlx::query(&sql).bind(totp_sealed).bind(last_step).bind(user_id).execute(&self.pool).await?;
                Ok(())
            }

            async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
                let sql = $sql(
                    "INSERT INTO user_sessions (hash, user_id, created_at, last_seen, expires_at)
                     VALUES (?, ?, ?, ?, ?)",
                );
                sqlx::query(&sql)
                    .bind(&s.hash)
                    .bind(s.user_id)
                    .bind(s.created_at)
                    .bind(s.last_seen)
                    .bind(s.expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session(&self, hash: &str) -> Result<Option<SessionRecord>, StoreError> {
                let sql = $sql(
                    "SELECT hash, user_id, created_at, last_seen, expires_at FROM user_sessions WHERE hash = ?",
                );
                let row = sqlx::query(&sql).bind(hash).fetch_optional(&self.pool).await?;
                row.as_ref().map(session_from_row).transpose()
            }

            async fn touch_session(&self, hash: &str, now: i64) -> Result<(), StoreError> {
                let sql = $sql("UPDATE user_sessions SET last_seen = ? WHERE hash = ? AND last_seen < ?");
                sqlx::query(&sql).bind(now).bind(hash).bind(now).execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_session(&self, hash: &str) -> Result<(), StoreError> {
                let sql = $sql("DELETE FROM user_sessions WHERE hash = ?");
                sqlx::query(&sql).bind(hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_sessions_of(&self, user_id: i64) -> Result<u64, StoreError> {
                let sql = $sql("DELETE FROM user_sessions WHERE user_id = ?");
                let r = sqlx::query(&sql).bind(user_id).execute(&self.pool).await?;
                Ok(r.rows_affected())
            }

            async fn create_token(&self, t: &NewToken) -> Result<TokenRecord, StoreError> {
                let sql = $sql(&format!(
                    "INSERT INTO api_tokens (hash, tenant, role, name, created_at, expires_at)
                     VALUES (?, ?, ?, ?, ?, ?) RETURNING {TOKEN_COLUMNS}"
                ));
                let row = sqlx::query(&sql)
                    .bind(&t.hash)
                    .bind(t.tenant)
                    .bind(t.role.as_str())
                    .bind(&t.name)
                    .bind(t.created_at)
                    .bind(t.expires_at)
                    .fetch_one(&self.pool)
                    .await?;
                token_from_row(&row)
            }

            async fn live_token(&self, hash: &str, now: i64) -> Result<Option<TokenRecord>, StoreError> {
                let sql = $sql(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens
                     WHERE hash = ? AND revoked_at IS NULL AND expires_at > ?"
                ));
                let row = sqlx::query(&sql).bind(hash).bind(now).fetch_optional(&self.pool).await?;
                row.as_ref().map(token_from_row).transpose()
            }

            async fn revoke_token(&self, id: i64, at: i64) -> Result<bool, StoreError> {
                let sql = $sql("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
                let r = sqlx::query(&sql).bind(at).bind(id).execute(&self.pool).await?;
                Ok(r.rows_affected() == 1)
            }

            async fn tokens(&self, tenant: Option<i64>) -> Result<Vec<TokenRecord>, StoreError> {
                let sql = $sql(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant IS NOT DISTINCT FROM ? ORDER BY id"
                ));
                let rows = sqlx::query(&sql).bind(tenant).fetch_all(&self.pool).await?;
                rows.iter().map(token_from_row).collect()
            }
        }
    };
}

access_store!(SqliteStore, |s: &str| s.to_owned());
access_store!(PgStore, pg_sql);
