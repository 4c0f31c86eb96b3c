//! Secrets (passwords, TOTP secrets, token secrets): zeroized when dropped, `<redacted>` in
//! Debug; argon2id password hashes; random token secrets and their SHA-256.

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::TryCryptoRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Error;

/// A secret string: zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps `s`.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Self(Zeroizing::new(s.into()))
    }

    /// The secret itself (to show once, or to check).
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password accepted (argon2 takes anything; a bound keeps requests small).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The argon2id parameters of new hashes (OWASP: 19 MiB, 2 passes, 1 lane); each hash
/// records its own in its PHC string, so old hashes verify after a change.
pub const ARGON2_M_KIB: u32 = 19_456;
/// Passes.
pub const ARGON2_T: u32 = 2;
/// Lanes.
pub const ARGON2_P: u32 = 1;

/// The minimum password policy: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_CHARS`], not all the same character.
pub fn check_password_policy(password: &Secret) -> Result<(), Error> {
    let p = password.expose();
    let n = p.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(Error::WeakPassword("shorter than 12 characters"));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(Error::WeakPassword("longer than 1024 characters"));
    }
    if p.chars().all(|c| p.starts_with(c)) {
        return Err(Error::WeakPassword("one character repeated"));
    }
    Ok(())
}

fn argon2() -> Result<Argon2<'static>, Error> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).map_err(|_| Error::Hash)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// `n` random bytes.
pub(crate) fn random<R: TryCryptoRng + ?Sized, const N: usize>(
    rng: &mut R,
) -> Result<Zeroizing<[u8; N]>, Error> {
    let mut b = Zeroizing::new([0u8; N]);
    rng.try_fill_bytes(b.as_mut()).map_err(|_| Error::Random)?;
    Ok(b)
}

/// Hashes `password` (after [`check_password_policy`]) with argon2id and a random 16-byte
/// salt: the PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
pub fn hash_password<R: TryCryptoRng + ?Sized>(
    password: &Secret,
    rng: &mut R,
) -> Result<String, Error> {
    check_password_policy(password)?;
    let salt_bytes = random::<R, 16>(rng)?;
    let salt = SaltString::encode_b64(salt_bytes.as_ref()).map_err(|_| Error::Hash)?;
    Ok(argon2()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|_| Error::Hash)?
        .to_string())
}

/// Whether `password` matches the PHC string `phc` (with the parameters it records; the
/// comparison is constant time). A malformed `phc` matches nothing.
#[must_use]
pub fn verify_password(password: &Secret, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok()
}

/// A well-formed argon2id hash (the parameters [`hash_password`] uses) that no password
/// matches: a login for an unknown user is checked against it, so that it takes as long as
/// one for a known user and the answer's timing does not tell which usernames exist.
pub const DECOY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2ltZm9yZ2UtZGVjb3ktc2FsdA$3Zk8bE6Wq0mC2xU9gYv1tLr4nJ7pHs5aKd0fXw2yQe8";

/// The prefix of API token secrets.
pub const API_TOKEN_PREFIX: &str = "sf_";
/// The prefix of session secrets.
pub const SESSION_PREFIX: &str = "sfs_";

/// A new random secret: `prefix` and 32 random bytes in base64url (no padding).
pub fn new_token<R: TryCryptoRng + ?Sized>(prefix: &str, rng: &mut R) -> Result<Secret, Error> {
    let b = random::<R, 32>(rng)?;
    Ok(Secret::new(format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(b.as_ref())
    )))
}

/// What is stored of a token or session secret: SHA-256 of it, 64 lowercase hex digits.
#[must_use]
pub fn token_hash(secret: &Secret) -> String {
    hex::encode(Sha256::digest(secret.expose().as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn check(password: &str, expect: Result<(), Error>) {
        assert_eq!(
            check_password_policy(&Secret::new(password)),
            expect,
            "{password:?}"
        );
    }

    #[test]
    fn the_decoy_hash_costs_what_a_real_one_costs_and_matches_nothing() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let password = Secret::new("correct horse battery".to_owned());
        let real = hash_password(&password, &mut rng).unwrap();
        let params = |phc: &str| {
            let h = PasswordHash::new(phc).unwrap();
            (h.algorithm.to_string(), h.version, h.params.to_string())
        };
        assert_eq!(params(DECOY_PHC), params(&real));
        assert!(!verify_password(&password, DECOY_PHC));
    }

    #[test]
    fn password_policy() {
        check(
            "short",
            Err(Error::WeakPassword("shorter than 12 characters")),
        );
        check(
            "aaaaaaaaaaaaaaa",
            Err(Error::WeakPassword("one character repeated")),
        );
        check("correct horse battery", Ok(()));
        check("ééééééééééé1", Ok(()));
    }

    #[test]
    fn hash_records_its_parameters_and_verifies() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let pw = Secret::new("correct horse battery");
        let phc = hash_password(&pw, &mut rng).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password(&pw, &phc));
        assert!(!verify_password(
            &Secret::new("correct horse batterz"),
            &phc
        ));
        assert!(!verify_password(&pw, "not a hash"));
        // Another salt, another hash.
        assert_ne!(hash_password(&pw, &mut rng).unwrap(), phc);
        assert!(hash_password(&Secret::new("short"), &mut rng).is_err());
    }

    #[test]
    fn tokens_are_random_hashed_and_redacted() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let a = new_token(API_TOKEN_PREFIX, &mut rng).unwrap();
        let b = new_token(API_TOKEN_PREFIX, &mut rng).unwrap();
        assert!(a.expose().starts_with("sf_") && a.expose().len() == 3 + 43);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(
            token_hash(&Secret::new("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(format!("{a:?}"), "Secret(<redacted>)");
    }
}
