//! The platform's users from the command line: the bootstrap `simforge user create --role
//! platform-admin`, and `simforge user unlock`. Both go through [`simforge_access::Access`]
//! (audited); the HTTP API will call it directly.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use simforge_access::service::{CreateUser, Created};
use simforge_access::{Access, Error as AccessError, Role, Secret};
use simforge_audit::Actor;
use simforge_store::Store;
use simforge_vault::Vault;
use zeroize::Zeroizing;

use crate::error::Result;

/// The password in `file` (its first line), else the first line of `input`; never echoed.
pub fn read_password(file: Option<&Path>, mut input: impl BufRead) -> Result<Secret> {
    let mut line = Zeroizing::new(String::new());
    let read = match file {
        Some(p) => std::fs::read(p).map(|b| {
            line.push_str(&String::from_utf8_lossy(&Zeroizing::new(b)));
        }),
        None => input.read_line(&mut line).map(drop),
    };
    read.map_err(|e| AccessError::Invalid(format!("cannot read the password: {e}")))?;
    let first = line.lines().next().unwrap_or_default();
    Ok(Secret::new(first))
}

/// Creates user `name` with `role` (a role name), in `operator` (by name) for a tenant role:
/// the user and, for an administrator, the TOTP enrollment URI to show once.
pub async fn create(
    store: &Store,
    vault: Arc<dyn Vault>,
    actor: &Actor,
    (name, role, operator): (&str, &str, Option<&str>),
    password: Secret,
    now: i64,
) -> Result<Created> {
    let role: Role = role.parse()?;
    let tenant = match operator {
        Some(o) => Some(
            store
                .operator(o)
                .await
                .map_err(|_| AccessError::NotFound(format!("operator {o}")))?
                .id,
        ),
        None => None,
    };
    let access = Access::new(store.clone(), store.clone(), vault);
    let new = CreateUser {
        username: name.to_owned(),
        role,
        tenant,
        password,
    };
    Ok(access
        .create_user(actor, new, now, &mut rand_core::OsRng)
        .await?)
}

/// Unlocks user `name` (locked after failed logins).
pub async fn unlock(
    store: &Store,
    vault: Arc<dyn Vault>,
    actor: &Actor,
    name: &str,
    now: i64,
) -> Result<()> {
    let access = Access::new(store.clone(), store.clone(), vault);
    Ok(access.unlock_user(actor, name, now).await?)
}

/// The demo's login: user `demo`, role `operator` of `operator`'s tenant, with a random
/// password returned to show once; `None` when it exists already (its password was shown
/// when it was made).
pub async fn demo_login(
    store: &Store,
    vault: Arc<dyn Vault>,
    operator: &simforge_store::Operator,
    now: i64,
) -> Result<Option<(String, Secret)>> {
    use simforge_access::AccessStore as _;
    let name = "demo";
    if store
        .user_by_name(name)
        .await
        .map_err(|e| AccessError::Store(e.to_string()))?
        .is_some()
    {
        return Ok(None);
    }
    let mut raw = [0u8; 12];
    rand_core::TryRngCore::try_fill_bytes(&mut rand_core::OsRng, &mut raw)
        .map_err(|_| AccessError::Random)?;
    let password = Secret::new(format!(
        "demo-{}",
        simforge_sim::secret::to_hex(&raw).to_ascii_lowercase()
    ));
    let access = Access::new(store.clone(), store.clone(), vault);
    let new = CreateUser {
        username: name.to_owned(),
        role: Role::Operator,
        tenant: Some(operator.id),
        password: password.clone(),
    };
    access
        .create_user(&Actor::system(), new, now, &mut rand_core::OsRng)
        .await?;
    Ok(Some((name.to_owned(), password)))
}
