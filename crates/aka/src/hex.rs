//! Minimal hex helpers that never put the input into an error.

use crate::AkaError;

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes `s` (surrounding whitespace ignored) into the front of `out`; returns the number of
/// bytes written. Fails without echoing the input.
pub(crate) fn decode_into(
    s: &str,
    out: &mut [u8],
    what: &'static str,
    expected: &'static str,
) -> Result<usize, AkaError> {
    let s = s.trim().as_bytes();
    if !s.len().is_multiple_of(2) {
        return Err(AkaError::InvalidHex { what });
    }
    let n = s.len() / 2;
    if n > out.len() {
        return Err(AkaError::InvalidLength {
            what,
            expected,
            actual: n,
        });
    }
    for (i, pair) in s.chunks_exact(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => out[i] = (hi << 4) | lo,
            _ => return Err(AkaError::InvalidHex { what }),
        }
    }
    Ok(n)
}

/// Lower-case hex of `bytes` into a formatter (used by `Debug` of public values).
pub(crate) fn fmt_hex(bytes: &[u8], f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}
