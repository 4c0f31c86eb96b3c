//! ECDSA signatures: the plain TR-03111 `r‖s` form used inside RSP messages, and the DER
//! (X9.62 `Ecdsa-Sig-Value`) form used in X.509, with strict conversions both ways.

use crate::error::{Error, Result};
use crate::tlv;

/// Byte length of one signature component on the supported 256-bit curves.
pub const SCALAR_LEN: usize = 32;

/// An ECDSA signature on a 256-bit curve in plain format: `r ‖ s`, 64 bytes, big-endian
/// (BSI TR-03111 §5.2.1), as carried in SGP.22 messages (`smdpSign`, `euiccSignature1`, …).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 2 * SCALAR_LEN]);

impl core::fmt::Debug for Signature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Signature(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl Signature {
    /// Wraps 64 plain-format bytes.
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// Parses plain `r‖s`; the input must be exactly 64 bytes with `r` and `s` non-zero.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 64] = bytes
            .try_into()
            .map_err(|_| Error::MalformedSignature("plain signature must be 64 bytes"))?;
        let sig = Self(arr);
        if sig.r().iter().all(|&b| b == 0) || sig.s().iter().all(|&b| b == 0) {
            return Err(Error::MalformedSignature("zero r or s"));
        }
        Ok(sig)
    }

    /// The 64 plain-format bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// The `r` component (32 bytes, big-endian).
    pub fn r(&self) -> &[u8] {
        &self.0[..SCALAR_LEN]
    }

    /// The `s` component (32 bytes, big-endian).
    pub fn s(&self) -> &[u8] {
        &self.0[SCALAR_LEN..]
    }

    /// Encodes as DER `SEQUENCE { INTEGER r, INTEGER s }` (for X.509 / CMS).
    pub fn to_der(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(70);
        der_integer(self.r(), &mut body);
        der_integer(self.s(), &mut body);
        tlv::tlv(0x30, &body)
    }

    /// Parses a strict DER `Ecdsa-Sig-Value`. Rejects BER forms, negative, zero, non-minimal
    /// or oversized integers, extra fields and trailing bytes.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let seq = tlv::parse_single(der).map_err(|_| Error::MalformedSignature("bad DER"))?;
        if seq.tag != 0x30 || seq.indefinite {
            return Err(Error::MalformedSignature("not a DER SEQUENCE"));
        }
        if seq.raw != minimal_reencode(seq.tag, seq.value).as_slice() {
            return Err(Error::MalformedSignature("non-minimal length"));
        }
        let parts = tlv::parse_all(seq.value).map_err(|_| Error::MalformedSignature("bad DER"))?;
        let [r, s] = parts.as_slice() else {
            return Err(Error::MalformedSignature("expected exactly two INTEGERs"));
        };
        let mut out = [0u8; 64];
        for (i, int) in [r, s].into_iter().enumerate() {
            if int.tag != 0x02 {
                return Err(Error::MalformedSignature("expected INTEGER"));
            }
            if int.raw != minimal_reencode(int.tag, int.value).as_slice() {
                return Err(Error::MalformedSignature("non-minimal length"));
            }
            let mag = der_integer_magnitude(int.value)?;
            let dst = &mut out[i * SCALAR_LEN..(i + 1) * SCALAR_LEN];
            let off = SCALAR_LEN - mag.len();
            dst[off..].copy_from_slice(mag);
        }
        Self::from_slice(&out)
    }
}

fn minimal_reencode(tag: u32, value: &[u8]) -> Vec<u8> {
    tlv::tlv(tag, value)
}

/// Validates a positive DER INTEGER content and returns its magnitude (no sign byte), at most
/// 32 bytes and non-zero.
fn der_integer_magnitude(v: &[u8]) -> Result<&[u8]> {
    let (&first, rest) = v
        .split_first()
        .ok_or(Error::MalformedSignature("empty INTEGER"))?;
    if first & 0x80 != 0 {
        return Err(Error::MalformedSignature("negative INTEGER"));
    }
    let mag = if first == 0 {
        match rest.first() {
            None => return Err(Error::MalformedSignature("zero INTEGER")),
            Some(&b) if b & 0x80 == 0 => {
                return Err(Error::MalformedSignature("non-minimal INTEGER"));
            }
            Some(_) => rest,
        }
    } else {
        v
    };
    if mag.len() > SCALAR_LEN {
        return Err(Error::MalformedSignature("INTEGER too large"));
    }
    Ok(mag)
}

fn der_integer(mag: &[u8], out: &mut Vec<u8>) {
    let start = mag.iter().position(|&b| b != 0).unwrap_or(mag.len());
    let trimmed = &mag[start..];
    let mut v = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|&b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(trimmed);
    tlv::write_tlv(0x02, &v, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_round_trip_and_edge_cases() {
        let mut raw = [0u8; 64];
        raw[0] = 0x80; // r needs a sign byte
        raw[31] = 1;
        raw[63] = 0x7F; // s = 0x7f, one byte
        let sig = Signature::from_slice(&raw).unwrap();
        let der = sig.to_der();
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 0x21, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x7F]);
        assert_eq!(Signature::from_der(&der).unwrap(), sig);
    }

    #[test]
    fn der_rejects_malformed() {
        let ok = Signature::from_slice(&[1u8; 64]).unwrap().to_der();
        assert!(Signature::from_der(&ok).is_ok());
        let mut trailing = ok.clone();
        trailing.push(0);
        assert!(Signature::from_der(&trailing).is_err());
        // negative r
        assert!(Signature::from_der(&[0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01]).is_err());
        // non-minimal r
        assert!(
            Signature::from_der(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]).is_err()
        );
        // zero s
        assert!(Signature::from_der(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00]).is_err());
        // non-minimal outer length
        assert!(
            Signature::from_der(&[0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]).is_err()
        );
        // three integers
        assert!(Signature::from_der(&[0x30, 0x09, 2, 1, 1, 2, 1, 1, 2, 1, 1]).is_err());
        // 33-byte magnitude
        let mut big = vec![0x30, 0x26, 0x02, 0x21];
        big.extend_from_slice(&[0x01; 33]);
        big.extend_from_slice(&[0x02, 0x01, 0x01]);
        assert!(Signature::from_der(&big).is_err());
        assert!(Signature::from_slice(&[0u8; 64]).is_err());
        assert!(Signature::from_slice(&[1u8; 63]).is_err());
    }
}
