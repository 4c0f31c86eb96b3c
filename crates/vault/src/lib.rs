//! # simforge-vault
//!
//! Operator keys (transport keys, OP/TOP) are stored sealed: AES-256-GCM under a platform master
//! key, with the key's purpose (operator, kind, index) bound in as associated data so a sealed
//! value cannot be moved to another slot. The [`Vault`] trait is what the rest of the platform
//! sees; [`MasterKey`] is the embedded default (a 256-bit key in a 0600 file or the
//! `SIMFORGE_MASTER_KEY` environment variable); `simforge_hsm::HsmVault` seals and unseals inside
//! a PKCS#11 HSM with a key that never leaves it.

use std::fmt;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Why sealing or unsealing failed. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The master key file or variable is not 32 bytes (raw) or 64 hex digits.
    #[error("master key: {0}")]
    BadMasterKey(&'static str),
    /// The master key file could not be read or written.
    #[error("master key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The sealed value is malformed, was sealed for another slot, or under another master key.
    #[error("sealed value rejected: wrong master key, wrong slot or corrupted data")]
    Unseal,
    /// The random source failed.
    #[error("random source failed")]
    Random,
    /// The key holder (a PKCS#11 HSM) failed: not a refusal of the sealed value.
    #[error("vault backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The master key file can be read or written by others than its owner.
    #[error(
        "master key file {path} has mode {mode:04o}: it must be readable by its owner only; fix: chmod 600 {path}"
    )]
    InsecureMode {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
}

/// Seals and unseals small secrets (keys). Implementations keep their own key out of reach.
pub trait Vault: Send + Sync {
    /// Seals `plaintext` for the slot named by `context`.
    fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError>;
    /// Unseals a value sealed for the same `context`.
    fn unseal(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError>;
    /// A short public fingerprint of the sealing key, to tell which key sealed a database.
    fn fingerprint(&self) -> String;
}

/// A boxed vault is a vault (the command line picks a master key file or an HSM key at run time).
impl<V: Vault + ?Sized> Vault for Box<V> {
    fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        (**self).seal(context, plaintext)
    }
    fn unseal(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        (**self).unseal(context, sealed)
    }
    fn fingerprint(&self) -> String {
        (**self).fingerprint()
    }
}

const VERSION: u8 = 1;

/// The embedded default: a 256-bit master key held in memory.
pub struct MasterKey {
    cipher: LessSafeKey,
    fingerprint: String,
}

/// The environment variable that may carry the master key (64 hex digits).
pub const ENV_VAR: &str = "SIMFORGE_MASTER_KEY";

impl MasterKey {
    /// Builds a master key from 32 bytes.
    #[must_use]
    pub fn from_bytes(mut key: [u8; 32]) -> Self {
        // AES-256-GCM (aws-lc-rs): ciphertext || 16-byte tag, the layout of every sealed value.
        let cipher = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte key is an AES-256-GCM key"),
        );
        let fp = Sha256::digest([b"simforge-vault-fingerprint".as_slice(), &key].concat());
        key.zeroize();
        let fingerprint = fp[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            cipher,
            fingerprint,
        }
    }

    /// Parses 64 hex digits (surrounding whitespace ignored) or exactly 32 raw bytes.
    pub fn parse(data: &[u8]) -> Result<Self, VaultError> {
        let trimmed = data.trim_ascii();
        let mut key = Zeroizing::new([0u8; 32]);
        if trimmed.len() == 64 && trimmed.iter().all(u8::is_ascii_hexdigit) {
            for (i, k) in key.iter_mut().enumerate() {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                *k = (hex(trimmed[2 * i]) << 4) | hex(trimmed[2 * i + 1]);
            }
        } else if data.len() == 32 {
            key.copy_from_slice(data);
        } else {
            return Err(VaultError::BadMasterKey(
                "expected 64 hex digits or 32 raw bytes",
            ));
        }
        Ok(Self::from_bytes(*key))
    }

    /// Loads from the `SIMFORGE_MASTER_KEY` variable if set, else from `path`, creating `path`
    /// (mode 0600, written atomically) with a fresh random key if it does not exist.
    /// Returns the key and whether a new one was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), VaultError> {
        if let Ok(v) = std::env::var(ENV_VAR) {
            let v = Zeroizing::new(v);
            return Ok((Self::parse(v.as_bytes())?, false));
        }
        let io = |source| VaultError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(data) => {
                let data = Zeroizing::new(data);
                check_owner_only(path)?;
                Ok((Self::parse(&data)?, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = Zeroizing::new([0u8; 32]);
                getrandom::fill(&mut key[..]).map_err(|_| VaultError::Random)?;
                let hex: Zeroizing<String> =
                    Zeroizing::new(key.iter().map(|b| format!("{b:02x}")).collect());
                write_secret_file(path, format!("{}\n", hex.as_str()).as_bytes()).map_err(io)?;
                Ok((Self::from_bytes(*key), true))
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// Refuses a key file that its group or others may read or write (mode & 0o077).
fn check_owner_only(path: &Path) -> Result<(), VaultError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| VaultError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(VaultError::InsecureMode {
                path: path.display().to_string(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The vault context of the check value [`seal_check`] makes.
pub const CHECK_CONTEXT: &str = "simforge-vault-check";
const CHECK_PLAINTEXT: &[u8] = b"simforge master key check v1";

/// A check value sealed by `vault`, to be stored next to what it seals: [`verify_check`]
/// tells later whether a vault is the one that sealed the data.
///
/// # Errors
/// As [`Vault::seal`].
pub fn seal_check(vault: &dyn Vault) -> Result<Vec<u8>, VaultError> {
    vault.seal(CHECK_CONTEXT, CHECK_PLAINTEXT)
}

/// Whether `sealed` (from [`seal_check`]) unseals under `vault`.
///
/// # Errors
/// [`VaultError::Unseal`] if it does not: another master key sealed the data.
pub fn verify_check(vault: &dyn Vault, sealed: &[u8]) -> Result<(), VaultError> {
    let plain = vault.unseal(CHECK_CONTEXT, sealed)?;
    if plain.as_slice() == CHECK_PLAINTEXT {
        Ok(())
    } else {
        Err(VaultError::Unseal)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(fingerprint {}, <redacted>)", self.fingerprint)
    }
}

impl Vault for MasterKey {
    fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| VaultError::Random)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        let mut ct = plaintext.to_vec();
        self.cipher
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut ct,
            )
            .map_err(|_| VaultError::Unseal)?;
        out.extend_from_slice(&ct);
        ct.zeroize();
        Ok(out)
    }

    fn unseal(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if sealed.len() < 1 + 12 + 16 || sealed[0] != VERSION {
            return Err(VaultError::Unseal);
        }
        let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| VaultError::Unseal)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let len = self
            .cipher
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| VaultError::Unseal)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

/// Writes a file that holds secrets: mode 0600 from the start, written to a temporary name in
/// the same directory, synced, then renamed over `path`, so that a reader never sees it half
/// written.
pub fn write_secret_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_unseal_binds_context_and_key() {
        let k = MasterKey::from_bytes([7; 32]);
        let s = k.seal("op:1:transport:135", b"secret key bytes").unwrap();
        assert_eq!(
            &k.unseal("op:1:transport:135", &s).unwrap()[..],
            b"secret key bytes"
        );
        assert!(k.unseal("op:2:transport:135", &s).is_err());
        assert!(
            MasterKey::from_bytes([8; 32])
                .unseal("op:1:transport:135", &s)
                .is_err()
        );
        let mut t = s.clone();
        t[20] ^= 1;
        assert!(k.unseal("op:1:transport:135", &t).is_err());
        assert!(k.unseal("x", &[1, 2, 3]).is_err());
        assert!(!format!("{k:?}").contains("0707"));
    }

    #[test]
    fn master_key_file_is_created_0600_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("master.key");
        let (a, created) = MasterKey::load_or_create(&p).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let (b, created) = MasterKey::load_or_create(&p).unwrap();
        assert!(!created);
        assert_eq!(a.fingerprint(), b.fingerprint());
        write_secret_file(&p, b"short").unwrap();
        assert!(matches!(
            MasterKey::load_or_create(&p),
            Err(VaultError::BadMasterKey(_))
        ));
    }

    /// Issue 16 item 3: a master key file others can read was accepted silently.
    #[cfg(unix)]
    #[test]
    fn master_key_file_readable_by_others_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("master.key");
        MasterKey::load_or_create(&p).unwrap();
        for mode in [0o644, 0o640, 0o606] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = MasterKey::load_or_create(&p).unwrap_err();
            assert!(
                matches!(e, VaultError::InsecureMode { mode: m, .. } if m == mode),
                "{e}"
            );
            let msg = e.to_string();
            assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
            assert!(msg.contains(&format!("chmod 600 {}", p.display())), "{msg}");
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400)).unwrap();
        MasterKey::load_or_create(&p).unwrap();
    }

    #[test]
    fn check_value_tells_the_sealing_key() {
        let a = MasterKey::from_bytes([1; 32]);
        let b = MasterKey::from_bytes([2; 32]);
        let c = seal_check(&a).unwrap();
        verify_check(&a, &c).unwrap();
        assert!(matches!(verify_check(&b, &c), Err(VaultError::Unseal)));
        assert!(verify_check(&a, b"garbage").is_err());
    }
}
