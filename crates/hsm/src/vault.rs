//! [`HsmVault`]: the vault's master key as a non-extractable AES-256 key in the token.

use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use simforge_vault::{Vault, VaultError};
use zeroize::Zeroizing;

use crate::error::{HsmError, Result};
use crate::token::{KeyRef, Token};

/// The first byte of a value sealed by [`HsmVault`]: AES-256-GCM in the token, 12-byte IV,
/// 16-byte tag. `simforge_vault::MasterKey` writes 0x01, so neither ever takes the other's
/// values for its own.
pub const SEALED_VERSION: u8 = 0x48;

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Seals and unseals with AES-256-GCM inside the token (the context as associated data); the
/// key never leaves it. Layout: `0x48 ‖ IV (12) ‖ ciphertext ‖ tag (16)`.
pub struct HsmVault {
    token: Arc<Token>,
    key: KeyRef,
    label: String,
    fingerprint: String,
}

impl std::fmt::Debug for HsmVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmVault")
            .field("token", &self.token.label())
            .field("label", &self.label)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl HsmVault {
    /// The AES-256 secret key labelled `label`, which must be allowed to encrypt and decrypt,
    /// sensitive and not extractable.
    ///
    /// # Errors
    /// [`HsmError::NoKey`], [`HsmError::Ambiguous`], [`HsmError::BadKey`], or the module's
    /// refusal.
    pub fn open(token: Arc<Token>, label: &str) -> Result<Self> {
        let bad = |reason| HsmError::BadKey {
            label: label.to_owned(),
            reason,
        };
        let key_ref = token.key(ObjectClass::SECRET_KEY, "secret key", label)?;
        let key = key_ref.handle();
        let attrs = token.with_session(
            |s| {
                s.get_attributes(
                    key,
                    &[
                        AttributeType::KeyType,
                        AttributeType::ValueLen,
                        AttributeType::Encrypt,
                        AttributeType::Decrypt,
                        AttributeType::Sensitive,
                        AttributeType::Extractable,
                    ],
                )
            },
            "C_GetAttributeValue",
        )?;
        let (mut aes, mut len, mut enc, mut dec, mut sensitive, mut extractable) =
            (false, 0u64, false, false, false, true);
        for a in attrs {
            match a {
                Attribute::KeyType(k) => aes = k == KeyType::AES,
                Attribute::ValueLen(l) => len = l.into(),
                Attribute::Encrypt(b) => enc = b,
                Attribute::Decrypt(b) => dec = b,
                Attribute::Sensitive(b) => sensitive = b,
                Attribute::Extractable(b) => extractable = b,
                _ => {}
            }
        }
        if !aes || len != 32 {
            return Err(bad("not an AES-256 key"));
        }
        if !enc || !dec {
            return Err(bad("not allowed to encrypt and decrypt"));
        }
        if !sensitive || extractable {
            return Err(bad(
                "extractable or not sensitive: the master key must never leave the HSM",
            ));
        }
        let mut vault = Self {
            token,
            key: key_ref,
            label: label.to_owned(),
            fingerprint: String::new(),
        };
        vault.fingerprint = vault.compute_fingerprint()?;
        Ok(vault)
    }

    /// A public fingerprint of the key: the GMAC (GCM over no plaintext) of a fixed label
    /// under a fixed IV. Deterministic for the key, and says nothing about it.
    fn compute_fingerprint(&self) -> Result<String> {
        let mut iv = [0u8; IV_LEN];
        let tag = self.gcm(true, &mut iv, b"simforge-hsm-vault-fingerprint", &[])?;
        Ok(tag.iter().take(8).map(|b| format!("{b:02x}")).collect())
    }

    fn gcm(&self, encrypt: bool, iv: &mut [u8], aad: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        self.token.with_key(
            &self.key,
            |s, key| {
                // The token reads the IV (it is ours, never generated there); a copy per
                // attempt, since an attempt may run twice (a new login in between).
                let mut iv = iv.to_vec();
                let params = GcmParams::new(&mut iv, aad, 128.into())?;
                let mech = Mechanism::AesGcm(params);
                if encrypt {
                    s.encrypt(&mech, key, data)
                } else {
                    s.decrypt(&mech, key, data)
                }
            },
            if encrypt { "C_Encrypt" } else { "C_Decrypt" },
        )
    }
}

fn backend(e: HsmError) -> VaultError {
    VaultError::Backend(Box::new(e))
}

impl Vault for HsmVault {
    fn seal(&self, context: &str, plaintext: &[u8]) -> std::result::Result<Vec<u8>, VaultError> {
        let mut iv = [0u8; IV_LEN];
        getrandom::fill(&mut iv).map_err(|_| VaultError::Random)?;
        let mut out = Vec::with_capacity(1 + IV_LEN + plaintext.len() + TAG_LEN);
        out.push(SEALED_VERSION);
        out.extend_from_slice(&iv);
        let ct = self
            .gcm(true, &mut iv, context.as_bytes(), plaintext)
            .map_err(backend)?;
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn unseal(
        &self,
        context: &str,
        sealed: &[u8],
    ) -> std::result::Result<Zeroizing<Vec<u8>>, VaultError> {
        let Some((&SEALED_VERSION, rest)) = sealed.split_first() else {
            return Err(VaultError::Unseal);
        };
        if rest.len() < IV_LEN + TAG_LEN {
            return Err(VaultError::Unseal);
        }
        let (iv, ct) = rest.split_at(IV_LEN);
        let mut iv: [u8; IV_LEN] = iv.try_into().map_err(|_| VaultError::Unseal)?;
        match self.gcm(false, &mut iv, context.as_bytes(), ct) {
            Ok(plain) => Ok(Zeroizing::new(plain)),
            // The module refused the data (wrong context, another key, tampering).
            Err(HsmError::Pkcs11 {
                source: cryptoki::error::Error::Pkcs11(rv, _),
                ..
            }) if is_data_refusal(rv) => Err(VaultError::Unseal),
            // SoftHSM2 answers a wrong GCM tag with CKR_GENERAL_ERROR, which is also what an
            // outage looks like: if the same key still computes its fingerprint, the token is
            // well and it was the data it refused.
            Err(e) => match self.compute_fingerprint() {
                Ok(fp) if fp == self.fingerprint => Err(VaultError::Unseal),
                _ => Err(backend(e)),
            },
        }
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

fn is_data_refusal(rv: cryptoki::error::RvError) -> bool {
    use cryptoki::error::RvError as R;
    matches!(
        rv,
        R::EncryptedDataInvalid
            | R::EncryptedDataLenRange
            | R::SignatureInvalid
            | R::DataInvalid
            | R::DataLenRange
    )
}
