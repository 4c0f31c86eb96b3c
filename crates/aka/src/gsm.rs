//! GSM conversion functions c2 and c3 (3GPP TS 33.102 §6.8.1.2), used by an HLR/AuC to hand
//! out GSM triplets (RAND, SRES, Kc) for a UMTS subscriber, and by a USIM in GSM context.

use zeroize::Zeroize;

use crate::{AkaError, Kc};

/// c2: SRES = XRES*1 ⊕ XRES*2 ⊕ XRES*3 ⊕ XRES*4, where XRES* is RES padded with zero bytes to
/// 128 bits and XRES*i are its 32-bit pieces (TS 33.102 §6.8.1.2).
///
/// RES must be 4 to 16 bytes long (a 256-bit TUAK RES has no c2).
pub fn c2(res: &[u8]) -> Result<[u8; 4], AkaError> {
    if !(4..=16).contains(&res.len()) {
        return Err(AkaError::UnsupportedLength {
            what: "RES for c2",
            bits: (res.len() * 8) as u32,
        });
    }
    let mut sres = [0u8; 4];
    for (i, b) in res.iter().enumerate() {
        sres[i % 4] ^= b;
    }
    Ok(sres)
}

/// c3: Kc = CK1 ⊕ CK2 ⊕ IK1 ⊕ IK2, with CKi, IKi the 64-bit halves of 128-bit CK and IK
/// (TS 33.102 §6.8.1.2).
///
/// CK and IK must be 16 bytes each (256-bit TUAK keys have no c3).
pub fn c3(ck: &[u8], ik: &[u8]) -> Result<Kc, AkaError> {
    if ck.len() != 16 {
        return Err(AkaError::UnsupportedLength {
            what: "CK for c3",
            bits: (ck.len() * 8) as u32,
        });
    }
    if ik.len() != 16 {
        return Err(AkaError::UnsupportedLength {
            what: "IK for c3",
            bits: (ik.len() * 8) as u32,
        });
    }
    let mut kc = [0u8; 8];
    for (i, b) in kc.iter_mut().enumerate() {
        *b = ck[i] ^ ck[i + 8] ^ ik[i] ^ ik[i + 8];
    }
    let out = Kc::from_bytes(kc);
    kc.zeroize();
    Ok(out)
}
