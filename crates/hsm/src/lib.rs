//! # simforge-hsm
//!
//! Keys in a PKCS#11 HSM, on the `cryptoki` binding (tested against SoftHSM2):
//!
//! - [`Token`]: a module loaded once per process, a token found by label, logged in with a
//!   [`Pin`] read from a file (zeroized, never printed), a pool of sessions (PKCS#11 sessions
//!   are used by one thread at a time); object listing ([`Token::objects`], never a value)
//!   and key generation and import with CKA_SENSITIVE true and CKA_EXTRACTABLE false;
//! - [`HsmSigner`]: an EC key (P-256, brainpoolP256r1) behind `simforge_crypto::Signer` — the
//!   SM-DP+'s DPauth and DPpb;
//! - [`HsmVault`]: an AES-256 key behind `simforge_vault::Vault` — the platform's master key;
//!   sealing is AES-GCM in the token with the context as associated data;
//! - [`HsmTlsKey`]: a P-256 key (DPtls) as a rustls signing key, the handshake signed in the
//!   token;
//! - [`HsmTransportKey`]: an operator's transport key behind `simforge_sim::BatchCipher` — the
//!   `.out` file's EKI computed in the token, one `C_Encrypt` (AES-ECB) per chunk of cards.
//!
//! The SM-DP+'s one-time ECKA keys stay in software (`simforge_crypto::SoftwareKeyAgreement`):
//! one per download, used once and destroyed, and an HSM round trip per key would cost more
//! than it protects.

mod error;
mod signer;
mod tls;
mod token;
mod transport;
mod vault;

pub use error::{HsmError, Result};
pub use signer::HsmSigner;
pub use tls::HsmTlsKey;
pub use token::{
    Export, KeyKind, ObjectInfo, Pin, SOFTHSM2_MODULE, SlotSummary, Token, TokenSummary, slots,
};
pub use transport::HsmTransportKey;
pub use vault::{HsmVault, SEALED_VERSION};
