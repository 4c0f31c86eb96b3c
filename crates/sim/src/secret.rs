//! Secret values of a card: keys and PIN-type codes. All zeroize on drop and print as
//! `<redacted>` in `Debug`; none implements `Display`.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A 128-bit secret key: Ki, OPc, an OTA key (KIc/KID/KIK).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Key128([u8; 16]);

impl Key128 {
    /// Wraps raw key bytes.
    #[must_use]
    pub fn from_bytes(b: [u8; 16]) -> Self {
        Self(b)
    }

    /// The key bytes, for the code that must use them (cipher, file writer).
    #[must_use]
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses 32 hex digits. The error never contains the input.
    pub fn from_hex(s: &str) -> Result<Self, SecretError> {
        let mut out = [0u8; 16];
        decode_hex_into(s.trim(), &mut out)?;
        Ok(Self(out))
    }
}

impl fmt::Debug for Key128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key128(<redacted>)")
    }
}

/// Why a secret could not be read. Never carries the secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Wrong number of hex digits.
    #[error("expected {expected} hex digits, got {got}")]
    HexLength {
        /// Digits expected.
        expected: usize,
        /// Digits given.
        got: usize,
    },
    /// A non-hex character at a position (1-based).
    #[error("character {0} is not a hex digit")]
    NotHex(usize),
    /// A PIN/PUK/ADM code of the wrong shape.
    #[error("{what}: {reason}")]
    Code {
        /// Which code.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Decodes hex (either case) into `out`, which fixes the expected length.
pub fn decode_hex_into(s: &str, out: &mut [u8]) -> Result<(), SecretError> {
    let b = s.as_bytes();
    if b.len() != out.len() * 2 {
        return Err(SecretError::HexLength {
            expected: out.len() * 2,
            got: b.len(),
        });
    }
    for (i, o) in out.iter_mut().enumerate() {
        let hi = nibble(b[2 * i]).ok_or(SecretError::NotHex(2 * i + 1))?;
        let lo = nibble(b[2 * i + 1]).ok_or(SecretError::NotHex(2 * i + 2))?;
        *o = (hi << 4) | lo;
    }
    Ok(())
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Upper-case hex digit pairs for every byte value.
static HEX_PAIRS: [[u8; 2]; 256] = {
    const D: &[u8; 16] = b"0123456789ABCDEF";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [D[i >> 4], D[i & 0xF]];
        i += 1;
    }
    t
};

/// Appends upper-case hex of `b` to `out` (the trade's files use upper case). This is the hot
/// path of the file writers: it converts through a stack buffer, one table lookup per byte.
pub fn push_hex(out: &mut Vec<u8>, b: &[u8]) {
    let mut buf = [0u8; 64];
    for chunk in b.chunks(32) {
        for (pair, &x) in buf.chunks_exact_mut(2).zip(chunk) {
            pair.copy_from_slice(&HEX_PAIRS[usize::from(x)]);
        }
        out.extend_from_slice(&buf[..chunk.len() * 2]);
    }
    buf.fill(0);
}

/// Decodes an even number of hex digits (either case). The error never contains the input.
pub fn decode_hex(s: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, SecretError> {
    if !s.len().is_multiple_of(2) {
        return Err(SecretError::HexLength {
            expected: s.len() + 1,
            got: s.len(),
        });
    }
    let mut out = zeroize::Zeroizing::new(vec![0u8; s.len() / 2]);
    decode_hex_into(s, &mut out)?;
    Ok(out)
}

/// Upper-case hex of `b` as a `String` (for identifiers and public values; secrets go straight
/// into their file buffers with [`push_hex`]).
#[must_use]
pub fn to_hex(b: &[u8]) -> String {
    let mut v = Vec::with_capacity(b.len() * 2);
    push_hex(&mut v, b);
    String::from_utf8(v).unwrap_or_default()
}

/// A PIN, PUK or numeric ADM code: 4 to 8 decimal digits, kept as ASCII.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Pin {
    len: u8,
    ascii: [u8; 8],
}

impl Pin {
    /// Parses 4–8 decimal digits (TS 102 221 §9.5: PINs are 4 to 8 digits; PUKs are 8).
    pub fn parse(s: &str, what: &'static str) -> Result<Self, SecretError> {
        let b = s.as_bytes();
        if !(4..=8).contains(&b.len()) {
            return Err(SecretError::Code {
                what,
                reason: "must be 4 to 8 digits",
            });
        }
        if !b.iter().all(u8::is_ascii_digit) {
            return Err(SecretError::Code {
                what,
                reason: "must be decimal digits",
            });
        }
        let mut ascii = [0xFF; 8];
        ascii[..b.len()].copy_from_slice(b);
        Ok(Self {
            len: b.len() as u8,
            ascii,
        })
    }

    /// Builds a code of `len` digits from a number below `10^len`.
    #[must_use]
    pub fn from_number(mut n: u32, len: usize) -> Self {
        let len = len.clamp(4, 8);
        let mut ascii = [0xFF; 8];
        for slot in ascii[..len].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        Self {
            len: len as u8,
            ascii,
        }
    }

    /// The digits as ASCII.
    #[must_use]
    pub fn digits(&self) -> &[u8] {
        &self.ascii[..usize::from(self.len)]
    }

    /// The EF/VERIFY PIN encoding (TS 102 221 §9.5.1): ASCII digits padded with `FF` to 8 bytes.
    #[must_use]
    pub fn to_ef(&self) -> [u8; 8] {
        self.ascii
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// An ADM (administrative) key: 8 ASCII digits or 16 hex digits (8 raw bytes), as card vendors
/// issue them.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub enum Adm {
    /// 8 decimal digits, presented to the card as their ASCII codes.
    Digits(Pin),
    /// 8 raw bytes, written as 16 hex digits.
    Hex([u8; 8]),
}

impl Adm {
    /// Parses 8 digits or 16 hex digits.
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Self::Digits(Pin::parse(s, "ADM")?));
        }
        if s.len() == 16 {
            let mut b = [0u8; 8];
            decode_hex_into(s, &mut b)?;
            return Ok(Self::Hex(b));
        }
        Err(SecretError::Code {
            what: "ADM",
            reason: "must be 8 decimal digits or 16 hex digits",
        })
    }

    /// The 8 bytes sent in VERIFY ADM.
    #[must_use]
    pub fn to_ef(&self) -> [u8; 8] {
        match self {
            Self::Digits(p) => p.to_ef(),
            Self::Hex(b) => *b,
        }
    }

    /// Appends the value as an operator file prints it: the digits, or upper-case hex.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        match self {
            Self::Digits(p) => out.extend_from_slice(p.digits()),
            Self::Hex(b) => push_hex(out, b),
        }
    }
}

impl fmt::Debug for Adm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Adm(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let k = Key128::from_hex("465B5CE8B199B49FAA5F0A2EE238A6BC").unwrap();
        let s = format!(
            "{k:?} {:?} {:?}",
            Pin::parse("1234", "PIN1").unwrap(),
            Adm::parse("26A4CC5E26A4CC5E").unwrap()
        );
        assert!(
            !s.contains("465B") && !s.contains("1234") && !s.contains("26A4"),
            "{s}"
        );
    }

    #[test]
    fn hex_errors_do_not_echo() {
        let e = Key128::from_hex("465B5CE8B199B49FAA5F0A2EE238A6BZ").unwrap_err();
        assert_eq!(e, SecretError::NotHex(32));
        assert!(!e.to_string().contains("465B"));
    }

    #[test]
    fn pin_encodings_match_operator_sample() {
        // DATA_TP15209.txt: PIN1 8185 -> 38313835FFFFFFFF, ADM1 78803100 -> 3738383033313030.
        let mut out = Vec::new();
        push_hex(&mut out, &Pin::parse("8185", "PIN1").unwrap().to_ef());
        assert_eq!(out, b"38313835FFFFFFFF");
        out.clear();
        push_hex(&mut out, &Adm::parse("78803100").unwrap().to_ef());
        assert_eq!(out, b"3738383033313030");
        assert_eq!(Pin::from_number(42, 4).digits(), b"0042");
        assert!(Adm::parse("1234").is_err());
    }
}
