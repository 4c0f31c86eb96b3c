//! [`HsmTransportKey`]: an operator's transport key in the token, computing the `.out` file's
//! encrypted columns (EKI = AES(transport, Ki), …) with `CKM_AES_ECB`, one `C_Encrypt` per
//! chunk of cards. The key never enters the process.

use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use simforge_sim::{BatchCipher, CipherError};
use zeroize::Zeroizing;

use crate::error::{HsmError, Result};
use crate::token::{KeyRef, Token};

/// A transport key (AES-128, -192 or -256) held by the token.
pub struct HsmTransportKey {
    token: Arc<Token>,
    key: KeyRef,
    label: String,
    bits: usize,
    check_value: [u8; 3],
}

impl std::fmt::Debug for HsmTransportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmTransportKey")
            .field("token", &self.token.label())
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl HsmTransportKey {
    /// The AES secret key labelled `label`, which must be allowed to encrypt, sensitive and not
    /// extractable. Its check value (GlobalPlatform's: AES(key, 16 × 0x01), 3 bytes) is
    /// computed in the token now, for the `.out` header.
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
                        AttributeType::Sensitive,
                        AttributeType::Extractable,
                    ],
                )
            },
            "C_GetAttributeValue",
        )?;
        let (mut aes, mut enc, mut sensitive, mut extractable) = (false, false, false, true);
        let mut len = 0u64;
        for a in attrs {
            match a {
                Attribute::KeyType(k) => aes = k == KeyType::AES,
                Attribute::ValueLen(l) => len = l.into(),
                Attribute::Encrypt(b) => enc = b,
                Attribute::Sensitive(b) => sensitive = b,
                Attribute::Extractable(b) => extractable = b,
                _ => {}
            }
        }
        if !aes || ![16, 24, 32].contains(&len) {
            return Err(bad("not an AES key"));
        }
        if !enc {
            return Err(bad("not allowed to encrypt"));
        }
        if !sensitive || extractable {
            return Err(bad(
                "extractable or not sensitive: a transport key must never leave the HSM",
            ));
        }
        let mut block = [[0x01u8; 16]];
        let mut this = Self {
            token,
            key: key_ref,
            label: label.to_owned(),
            bits: usize::try_from(len * 8).unwrap_or(0),
            check_value: [0; 3],
        };
        this.encrypt(&mut block)?;
        this.check_value = [block[0][0], block[0][1], block[0][2]];
        Ok(this)
    }

    /// The key's size in bits (128, 192 or 256).
    #[must_use]
    pub fn bits(&self) -> usize {
        self.bits
    }

    fn encrypt(&self, blocks: &mut [[u8; 16]]) -> Result<()> {
        self.ecb(true, blocks)
    }

    /// AES-ECB over every block in one `C_Encrypt` or `C_Decrypt`.
    fn ecb(&self, encrypt: bool, blocks: &mut [[u8; 16]]) -> Result<()> {
        if blocks.is_empty() {
            return Ok(());
        }
        let clear = Zeroizing::new(blocks.concat());
        let out = Zeroizing::new(self.token.with_key(
            &self.key,
            |s, key| match encrypt {
                true => s.encrypt(&Mechanism::AesEcb, key, &clear),
                false => s.decrypt(&Mechanism::AesEcb, key, &clear),
            },
            if encrypt { "C_Encrypt" } else { "C_Decrypt" },
        )?);
        if out.len() != clear.len() {
            return Err(HsmError::BadKey {
                label: self.label.clone(),
                reason: "the module's AES-ECB output has another length than its input",
            });
        }
        for (b, c) in blocks.iter_mut().zip(out.chunks_exact(16)) {
            b.copy_from_slice(c);
        }
        Ok(())
    }
}

impl BatchCipher for HsmTransportKey {
    fn encrypt_blocks(&self, blocks: &mut [[u8; 16]]) -> std::result::Result<(), CipherError> {
        self.encrypt(blocks).map_err(|e| CipherError(Box::new(e)))
    }

    fn decrypt_blocks(&self, blocks: &mut [[u8; 16]]) -> std::result::Result<(), CipherError> {
        self.ecb(false, blocks)
            .map_err(|e| CipherError(Box::new(e)))
    }

    fn check_value(&self) -> [u8; 3] {
        self.check_value
    }
}
