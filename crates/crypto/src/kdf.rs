//! BSP session key derivation (SGP.22 §2.6.4.2 and Annex G; BSI TR-03111 §4.3.3 X9.63 KDF
//! with SHA-256).

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::tlv;

/// GlobalPlatform key type for AES (`keyType` in the CRT).
pub const KEY_TYPE_AES: u8 = 0x88;
/// Session key length in bytes (`keyLen` in the CRT); SGP.22 allows only 16.
pub const KEY_LEN_AES128: u8 = 0x10;

/// The three BSP session values: initial MAC chaining value, S-ENC and S-MAC (or, after
/// ReplaceSessionKeys, the PPK-ENC / PPK-MAC / initial MCV). Zeroized on drop; `Debug` is
/// redacted.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SessionKeys {
    /// Initial MAC chaining value.
    pub initial_mcv: [u8; 16],
    /// Encryption key (S-ENC / PPK-ENC).
    pub s_enc: [u8; 16],
    /// MAC key (S-MAC / PPK-MAC).
    pub s_mac: [u8; 16],
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

/// ANSI X9.63 KDF with SHA-256: `out = H(Z ‖ 00000001 ‖ SharedInfo) ‖ H(Z ‖ 00000002 ‖ …) …`.
pub fn x963_kdf_sha256(z: &[u8], shared_info: &[u8], out: &mut [u8]) {
    let mut counter: u32 = 1;
    for chunk in out.chunks_mut(32) {
        let mut h = Sha256::new();
        h.update(z);
        h.update(counter.to_be_bytes());
        h.update(shared_info);
        let block = h.finalize();
        chunk.copy_from_slice(&block[..chunk.len()]);
        counter = counter.wrapping_add(1);
    }
}

/// SharedInfo of SGP.22 Annex G: `keyType ‖ keyLength ‖ L(hostId) ‖ hostId ‖ L(EID) ‖ EID`,
/// lengths coded as BER lengths.
pub fn bsp_shared_info(key_type: u8, key_len: u8, host_id: &[u8], eid: &[u8]) -> Vec<u8> {
    let mut si = Vec::with_capacity(4 + host_id.len() + eid.len());
    si.push(key_type);
    si.push(key_len);
    tlv::write_length(host_id.len(), &mut si);
    si.extend_from_slice(host_id);
    tlv::write_length(eid.len(), &mut si);
    si.extend_from_slice(eid);
    si
}

/// Derives the BSP session keys from the ECKA shared secret (ShS), the CRT values and the EID.
/// Only `keyType` 0x88 (AES) with `keyLen` 0x10 is supported.
pub fn derive_session_keys(
    shared_secret: &[u8],
    key_type: u8,
    key_len: u8,
    host_id: &[u8],
    eid: &[u8],
) -> Result<SessionKeys> {
    if key_type != KEY_TYPE_AES {
        return Err(Error::Unsupported("CRT keyType (only AES 0x88)"));
    }
    if key_len != KEY_LEN_AES128 {
        return Err(Error::Unsupported("CRT keyLen (only 0x10)"));
    }
    if host_id.is_empty() || host_id.len() > 16 {
        return Err(Error::InvalidInput("hostId must be 1..16 bytes"));
    }
    if eid.is_empty() || eid.len() > 127 {
        return Err(Error::InvalidInput("EID length"));
    }
    let si = bsp_shared_info(key_type, key_len, host_id, eid);
    let mut out = Zeroizing::new([0u8; 48]);
    x963_kdf_sha256(shared_secret, &si, &mut out[..]);
    let mut keys = SessionKeys {
        initial_mcv: [0; 16],
        s_enc: [0; 16],
        s_mac: [0; 16],
    };
    keys.initial_mcv.copy_from_slice(&out[..16]);
    keys.s_enc.copy_from_slice(&out[16..32]);
    keys.s_mac.copy_from_slice(&out[32..48]);
    Ok(keys)
}
