//! ES2+ operator credentials: API keys (only their SHA-256 is stored; the key is shown once)
//! and TLS client certificates (their SHA-256 fingerprint), listed, revoked, and looked up by
//! the server per request ([`StoreCredentials`]). Also the move of the API key file of older
//! versions into the database.

use std::path::{Path, PathBuf};

use rand_core::TryCryptoRng;
use serde::Deserialize;
use simforge_pki::Certificate;
use simforge_server::{CredentialSource, LookupError, OperatorCredential};
use simforge_store::{Credential, CredentialId, CredentialKind, Operator, Sha256Hex, Store};
use zeroize::Zeroizing;

use simforge_audit::{Actor, AuditLog, Draft, Outcome, action};

use crate::error::{Error, ErrorKind, Result};

/// Records `draft` in the audit log, its outcome that of `result` (`failed:<kind>`), and
/// returns `result`; failing to record is the call's failure.
pub(crate) async fn record<S, T>(store: &S, mut draft: Draft, result: Result<T>) -> Result<T>
where
    S: AuditLog<Error = simforge_store::StoreError>,
{
    if let Err(e) = &result {
        let code = match e.kind() {
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Failure => "failure",
        };
        draft.outcome = Outcome::Failed(code.into());
    }
    store.append(draft).await?;
    result
}

/// Records `what` on `operator`'s credential by `actor` at `now` with the outcome of
/// `result`, and returns `result`. Details name the credential, never the key.
async fn audited<T>(
    store: &Store,
    actor: &Actor,
    now: i64,
    (what, operator, id): (&str, &Operator, Option<CredentialId>),
    id_of: impl FnOnce(&T) -> CredentialId,
    result: Result<T>,
) -> Result<T> {
    let d = Draft::new(
        now,
        actor.as_str(),
        what,
        format!("operator:{}", operator.name),
    )
    .tenant(operator.id);
    let id = result.as_ref().ok().map(id_of).or(id);
    let d = match id {
        Some(id) => d.detail("credential_id", id.0),
        None => d,
    };
    record(store, d, result).await
}

/// A new API key: shown once, only its hash is kept.
pub struct NewApiKey {
    /// The key (`sfk_` and 64 hex digits).
    pub key: Zeroizing<String>,
    /// Its credential id.
    pub id: CredentialId,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Makes a new API key for `operator` from `rng` and stores its hash (labelled with its first
/// characters, 16 of its 256 bits, to tell keys apart).
///
/// # Errors
/// [`Error::Random`], [`Error::Store`] (`Exists` if the same key is active: never in practice).
///
/// Recorded in the audit log as done by `actor` (the credential id, never the key).
pub async fn create_api_key<R: TryCryptoRng + ?Sized>(
    store: &Store,
    actor: &Actor,
    operator: &Operator,
    rng: &mut R,
    now: i64,
) -> Result<NewApiKey> {
    let result = create_api_key_unaudited(store, operator, rng, now).await;
    let what = (action::CREDENTIAL_CREATE, operator, None);
    audited(store, actor, now, what, |k: &NewApiKey| k.id, result).await
}

async fn create_api_key_unaudited<R: TryCryptoRng + ?Sized>(
    store: &Store,
    operator: &Operator,
    rng: &mut R,
    now: i64,
) -> Result<NewApiKey> {
    let mut raw = Zeroizing::new([0u8; 32]);
    rng.try_fill_bytes(raw.as_mut())
        .map_err(|e| Error::Random(e.to_string()))?;
    let key = Zeroizing::new(format!(
        "sfk_{}",
        simforge_sim::secret::to_hex(raw.as_ref()).to_ascii_lowercase()
    ));
    let label = format!("{}…", key.get(..8).unwrap_or_default());
    let id = store
        .add_credential(
            operator.id,
            CredentialKind::ApiKey,
            &Sha256Hex::from_digest(simforge_server::api_key_sha256(&key)),
            &label,
            now,
        )
        .await?;
    Ok(NewApiKey { key, id })
}

/// A new API key for `operator` unless it has an active one.
///
/// # Errors
/// As [`create_api_key`].
pub async fn ensure_api_key<R: TryCryptoRng + ?Sized>(
    store: &Store,
    actor: &Actor,
    operator: &Operator,
    rng: &mut R,
    now: i64,
) -> Result<Option<NewApiKey>> {
    let has_key = store
        .credentials(operator.id)
        .await?
        .iter()
        .any(|c| c.kind == CredentialKind::ApiKey && c.revoked_at.is_none());
    if has_key {
        return Ok(None);
    }
    create_api_key(store, actor, operator, rng, now)
        .await
        .map(Some)
}

/// `operator`'s credentials of one kind, active and revoked, oldest first.
///
/// # Errors
/// [`Error::Store`].
pub async fn list(
    store: &Store,
    operator: &Operator,
    kind: CredentialKind,
) -> Result<Vec<Credential>> {
    Ok(store
        .credentials(operator.id)
        .await?
        .into_iter()
        .filter(|c| c.kind == kind)
        .collect())
}

/// Revokes one of `operator`'s active credentials (of either kind): a running server refuses
/// it within its cache's lifetime.
///
/// # Errors
/// [`Error::Store`] (`NotFound` for an unknown, revoked or other operator's credential).
/// Recorded in the audit log as done by `actor`.
pub async fn revoke(
    store: &Store,
    actor: &Actor,
    operator: &Operator,
    id: CredentialId,
    now: i64,
) -> Result<()> {
    let result = store
        .revoke_credential(operator.id, id, now)
        .await
        .map_err(Error::from);
    let what = (action::CREDENTIAL_REVOKE, operator, Some(id));
    audited(store, actor, now, what, |()| id, result).await
}

/// A client certificate registered by [`register_client_cert`].
#[derive(Debug, Clone)]
pub struct RegisteredCert {
    /// Its credential id.
    pub id: CredentialId,
    /// The SHA-256 of its DER.
    pub sha256: Sha256Hex,
    /// Its subject (a label only; empty when this parser does not know the certificate).
    pub subject: String,
}

/// Registers the first certificate of `cert` (PEM bundle or DER) as a TLS client certificate
/// of `operator`.
///
/// # Errors
/// [`Error::Certificates`] if it does not parse, [`Error::NoCertificate`] if it holds none; [`Error::Store`] (`Exists` if already active).
///
/// Recorded in the audit log as done by `actor`.
pub async fn register_client_cert(
    store: &Store,
    actor: &Actor,
    operator: &Operator,
    cert: &[u8],
    now: i64,
) -> Result<RegisteredCert> {
    let result = register_client_cert_unaudited(store, operator, cert, now).await;
    let what = (action::CREDENTIAL_CREATE, operator, None);
    audited(store, actor, now, what, |c: &RegisteredCert| c.id, result).await
}

async fn register_client_cert_unaudited(
    store: &Store,
    operator: &Operator,
    cert: &[u8],
    now: i64,
) -> Result<RegisteredCert> {
    let certs = simforge_server::read_certificates(cert).map_err(Error::Certificates)?;
    let Some(der) = certs.first() else {
        return Err(Error::NoCertificate);
    };
    // The subject is a label only (this parser knows ECDSA certificates; others get none).
    let subject = Certificate::from_der(der)
        .map(|c| c.subject())
        .unwrap_or_default();
    let sha256 = Sha256Hex::from_digest(simforge_server::cert_sha256(der));
    let id = store
        .add_credential(
            operator.id,
            CredentialKind::ClientCert,
            &sha256,
            &subject,
            now,
        )
        .await?;
    Ok(RegisteredCert {
        id,
        sha256,
        subject,
    })
}

/// The file in which API key hashes were kept before they moved into the database.
#[derive(Default, Deserialize)]
struct ApiKeyFile {
    keys: Vec<ApiKeyEntry>,
}

#[derive(Deserialize)]
struct ApiKeyEntry {
    operator: String,
    /// SHA-256 of the key, hex.
    sha256: String,
    created_at: i64,
}

/// The name of that file in the data directory.
pub const API_KEY_FILE: &str = "es2-api-keys.json";

/// What [`migrate_api_key_file`] did.
#[derive(Debug)]
pub struct Migration {
    /// The file read (renamed to `<file>.migrated`).
    pub file: PathBuf,
    /// Hashes moved into the database.
    pub moved: usize,
    /// Operators whose entry was skipped (unknown operator or bad hash).
    pub skipped: Vec<String>,
}

impl Migration {
    /// What to tell the person who started the migration: a warning per skipped operator,
    /// then how many hashes moved.
    #[must_use]
    pub fn notes(&self) -> Vec<String> {
        let file = self.file.display();
        let mut notes: Vec<String> = self
            .skipped
            .iter()
            .map(|op| format!("warning: {file}: API key of operator {op} skipped (unknown operator or bad hash)"))
            .collect();
        notes.push(format!(
            "note: moved {} ES2+ API key hash(es) from {file} into the database",
            self.moved
        ));
        notes
    }
}

/// Moves the API key hashes of `<data_dir>/es2-api-keys.json` (older versions) into the
/// database and renames the file to `es2-api-keys.json.migrated`; `None` without the file.
///
/// # Errors
/// [`Error::Read`], [`Error::ApiKeyFile`], [`Error::Rename`], [`Error::Store`].
pub async fn migrate_api_key_file(store: &Store, data_dir: &Path) -> Result<Option<Migration>> {
    let p = data_dir.join(API_KEY_FILE);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::read(&p, e)),
    };
    let file: ApiKeyFile = serde_json::from_str(&text).map_err(|source| Error::ApiKeyFile {
        path: p.clone(),
        source,
    })?;
    let mut moved = 0;
    let mut skipped = Vec::new();
    for k in file.keys {
        let digest: Option<[u8; 32]> = simforge_sim::secret::decode_hex(k.sha256.trim())
            .ok()
            .and_then(|d| d.as_slice().try_into().ok());
        let (Some(digest), Ok(op)) = (digest, store.operator(&k.operator).await) else {
            skipped.push(k.operator);
            continue;
        };
        match store
            .add_credential(
                op.id,
                CredentialKind::ApiKey,
                &Sha256Hex::from_digest(digest),
                "(migrated)",
                k.created_at,
            )
            .await
        {
            Ok(_) => moved += 1,
            Err(simforge_store::StoreError::Exists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let done = p.with_extension("json.migrated");
    std::fs::rename(&p, &done).map_err(|source| Error::Rename {
        from: p.clone(),
        to: done.clone(),
        source,
    })?;
    Ok(Some(Migration {
        file: p,
        moved,
        skipped,
    }))
}

/// ES2+ credentials, looked up in the database per request (through the server's cache).
#[derive(Debug, Clone)]
pub struct StoreCredentials(pub Store);

impl CredentialSource for StoreCredentials {
    fn lookup(
        &self,
        kind: simforge_server::CredentialKind,
        sha256: [u8; 32],
    ) -> simforge_server::BoxFuture<'_, Result<Option<OperatorCredential>, LookupError>> {
        Box::pin(async move {
            let kind = match kind {
                simforge_server::CredentialKind::ApiKey => CredentialKind::ApiKey,
                simforge_server::CredentialKind::ClientCert => CredentialKind::ClientCert,
            };
            let c = self
                .0
                .active_credential(kind, &Sha256Hex::from_digest(sha256))
                .await?;
            Ok(c.map(|c| OperatorCredential {
                operator_id: c.operator_id,
                requester_id: c.operator,
            }))
        })
    }

    fn operator_name(
        &self,
        operator: simforge_smdp::OperatorId,
    ) -> simforge_server::BoxFuture<'_, Result<Option<String>, LookupError>> {
        Box::pin(async move {
            match self.0.operator_by_id(operator).await {
                Ok(op) => Ok(Some(op.name)),
                Err(simforge_store::StoreError::NotFound(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }
}
