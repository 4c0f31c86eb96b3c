//! Identifier newtypes that can only be built by parsing and checking:
//! [`Eid`], [`Iccid`], [`TransactionId`] and [`MatchingId`].
//!
//! Each accepts on input every form SGP.22 (and the deployed peers that matter) allow and keeps
//! one canonical form, which is what it prints and serialises:
//!
//! | identifier | accepted | canonical |
//! |---|---|---|
//! | EID | 32 decimal digits (SGP.29 check digits) | the 32 digits |
//! | ICCID (ES2+ `iccid`) | 19 or 20 digits; 19 digits padded with `F` or `f` to 20 characters; 18 digits | the digits, no padding |
//! | transactionId | 2 to 32 hex digits, either case | upper-case hex |
//! | matchingId | 1 to 255 of `A-Z`, `0-9`, `-` | as given |

use std::fmt;
use std::str::FromStr;

use rasn::types::{AsnType, Constraints, Identifier, OctetString, Tag};
use rasn::{Decode, Decoder, Encode, Encoder};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// An eUICC identifier: 32 decimal digits whose value satisfies ISO 7064
/// MOD 97-10 (`EID mod 97 == 1`), per GSMA SGP.29 §2.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Eid([u8; 32]);

impl Eid {
    /// Parses the decimal form (exactly 32 ASCII digits).
    ///
    /// # Errors
    /// [`Error::InvalidEid`] on a wrong length, a non-digit or bad check digits.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bytes = s.as_bytes();
        if bytes.len() != 32 {
            return Err(Error::InvalidEid(format!(
                "expected 32 digits, got {} characters",
                s.chars().count()
            )));
        }
        let mut digits = [0u8; 32];
        for (i, b) in bytes.iter().enumerate() {
            if !b.is_ascii_digit() {
                return Err(Error::InvalidEid(format!(
                    "non-digit at position {}",
                    i + 1
                )));
            }
            digits[i] = *b;
        }
        let rem = bytes
            .iter()
            .fold(0u32, |acc, b| (acc * 10 + u32::from(b - b'0')) % 97);
        if rem != 1 {
            return Err(Error::InvalidEid(
                "check digits do not verify (ISO 7064 MOD 97-10)".into(),
            ));
        }
        Ok(Self(digits))
    }

    /// Parses the 16-octet BCD form (as in `GetEuiccDataResponse.eidValue`, tag `5A`).
    ///
    /// # Errors
    /// [`Error::InvalidEid`] on a wrong length, a non-decimal nibble or bad check digits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != 16 {
            return Err(Error::InvalidEid(format!(
                "expected 16 octets, got {}",
                bytes.len()
            )));
        }
        let s = hex::encode(bytes);
        Self::parse(&s)
    }

    /// The 16-octet BCD form.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, pair) in self.0.chunks(2).enumerate() {
            out[i] = ((pair[0] - b'0') << 4) | (pair[1] - b'0');
        }
        out
    }

    /// The 32 digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for Eid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl fmt::Display for Eid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Eid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Eid({})", self.as_str())
    }
}

impl Serialize for Eid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Eid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A profile's ICCID as ES2+ carries it (SGP.22 §5.3, JSON binding §6.5.2.1–5): its digits.
///
/// SGP.22 gives the ICCID as 19 or 20 digits; a 19-digit ICCID may be padded to 20 characters
/// with `F`, as EF.ICCID pads it (pySim's ES2+ client sends it so, either case accepted). 18
/// digits (older numbering plans; pySim accepts them) are accepted too. The canonical form is
/// the digits alone: `"8949449999999990023F"`, `"8949449999999990023f"` and
/// `"8949449999999990023"` are the same ICCID, printed and serialised as the last.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iccid(String);

impl Iccid {
    /// Parses any accepted form (see the type's documentation) into the digits.
    ///
    /// # Errors
    /// [`Error::InvalidIccid`] for anything else: another length, a non-digit, an `F` that is
    /// not the padding of a 19-digit ICCID.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let digits = match s.as_bytes() {
            [body @ .., b'F' | b'f'] if body.len() == 19 => body,
            all => all,
        };
        if let Some(i) = digits.iter().position(|b| !b.is_ascii_digit()) {
            return Err(Error::InvalidIccid(format!(
                "character {} is not a digit (19 or 20 digits, or 19 digits and F)",
                i + 1
            )));
        }
        if !(18..=20).contains(&digits.len()) {
            return Err(Error::InvalidIccid(format!(
                "{} digits, expected 19 or 20 (or 19 digits and F)",
                digits.len()
            )));
        }
        // Only ASCII digits here.
        Ok(Self(String::from_utf8_lossy(digits).into_owned()))
    }

    /// The digits, without padding.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the EF.ICCID coding (ETSI TS 102 221 §13.2; SGP.22's `Iccid`, tag `5A`):
    /// nibble-swapped BCD, padded with `F`.
    ///
    /// # Errors
    /// [`Error::InvalidIccid`] unless its digits (up to the first filler) are an ICCID.
    pub fn from_bcd(bcd: &[u8]) -> Result<Self, Error> {
        Self::parse(&Self::bcd_digits(bcd))
    }

    /// The digits of a nibble-swapped BCD ICCID up to its first filler nibble, unchecked: for
    /// showing what a card reports, whatever it is. [`Iccid::from_bcd`] checks them.
    #[must_use]
    pub fn bcd_digits(bcd: &[u8]) -> String {
        let mut s = String::with_capacity(2 * bcd.len());
        for b in bcd {
            for n in [b & 0x0F, b >> 4] {
                if n > 9 {
                    return s;
                }
                s.push(char::from(b'0' + n));
            }
        }
        s
    }

    /// The EF.ICCID coding: 10 octets, nibble-swapped BCD, padded with `F`.
    #[must_use]
    pub fn to_bcd(&self) -> [u8; 10] {
        let mut out = [0xFFu8; 10];
        for (i, c) in self.0.bytes().enumerate() {
            let n = c - b'0';
            if let Some(b) = out.get_mut(i / 2) {
                *b = if i % 2 == 0 {
                    (*b & 0xF0) | n
                } else {
                    (*b & 0x0F) | (n << 4)
                };
            }
        }
        out
    }

    /// The SGP.22 `Iccid` (tag `5A`) of this ICCID.
    #[must_use]
    pub fn to_rsp(&self) -> crate::rsp::Iccid {
        crate::rsp::Iccid(OctetString::from(self.to_bcd().to_vec()))
    }
}

// The digits are the identity: an `Iccid` is equal to, ordered and hashed as its digits, so a map
// keyed by `Iccid` can be looked up by `&str`.
impl std::borrow::Borrow<str> for Iccid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Iccid {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Iccid {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl TryFrom<&crate::rsp::Iccid> for Iccid {
    type Error = Error;
    fn try_from(i: &crate::rsp::Iccid) -> Result<Self, Error> {
        Self::from_bcd(&i.0)
    }
}

impl From<&Iccid> for crate::rsp::Iccid {
    fn from(i: &Iccid) -> Self {
        i.to_rsp()
    }
}

impl FromStr for Iccid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl fmt::Display for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iccid({})", self.0)
    }
}

impl Serialize for Iccid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Iccid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An RSP session's TransactionID (SGP.22 §5.6.1): 1..=16 octets.
///
/// Rendered as uppercase hex; parsing accepts either case, and equality is
/// on the octets, so `"0a"` and `"0A"` are the same transaction.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(Vec<u8>);

impl TransactionId {
    /// Checks and wraps raw octets.
    ///
    /// # Errors
    /// [`Error::InvalidTransactionId`] unless 1..=16 octets.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.is_empty() || bytes.len() > 16 {
            return Err(Error::InvalidTransactionId(format!(
                "expected 1..=16 octets, got {}",
                bytes.len()
            )));
        }
        Ok(Self(bytes.to_vec()))
    }

    /// Parses hex (either case).
    ///
    /// # Errors
    /// [`Error::InvalidTransactionId`] on bad hex or a bad length.
    pub fn parse_hex(s: &str) -> Result<Self, Error> {
        let bytes =
            hex::decode(s).map_err(|e| Error::InvalidTransactionId(format!("bad hex: {e}")))?;
        Self::from_bytes(&bytes)
    }

    /// The octets.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl FromStr for TransactionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse_hex(s)
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(&self.0))
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransactionId({self})")
    }
}

impl Serialize for TransactionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for TransactionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_hex(&s).map_err(serde::de::Error::custom)
    }
}

impl AsnType for TransactionId {
    const TAG: Tag = Tag::OCTET_STRING;
}

impl Encode for TransactionId {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        tag: Tag,
        constraints: &Constraints,
        identifier: Identifier,
    ) -> Result<(), E::Error> {
        OctetString::from(self.0.clone()).encode_with_tag_and_constraints(
            encoder,
            tag,
            constraints,
            identifier,
        )
    }
}

impl Decode for TransactionId {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        tag: Tag,
        constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        let codec = decoder.codec();
        let raw = OctetString::decode_with_tag_and_constraints(decoder, tag, constraints)?;
        Self::from_bytes(&raw)
            .map_err(|e| rasn::error::DecodeError::parser_fail(e.to_string(), codec).into())
    }
}

/// The MatchingID (SGP.22 §4.1, §5.6.3): the activation code token or an
/// event id, 1..=255 characters from `A`–`Z`, `0`–`9` and `-`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MatchingId(String);

impl MatchingId {
    /// Maximum length in characters.
    pub const MAX_LEN: usize = 255;

    /// Parses and checks a MatchingID.
    ///
    /// # Errors
    /// [`Error::InvalidMatchingId`] when empty, too long, or containing a
    /// character outside `A-Z0-9-`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::InvalidMatchingId("empty".into()));
        }
        if s.len() > Self::MAX_LEN {
            return Err(Error::InvalidMatchingId(format!(
                "{} characters, at most {} allowed",
                s.len(),
                Self::MAX_LEN
            )));
        }
        if let Some((i, c)) = s
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(Error::InvalidMatchingId(format!(
                "character {c:?} at position {} is not one of A-Z, 0-9, '-'",
                i + 1
            )));
        }
        Ok(Self(s.to_owned()))
    }

    /// The MatchingID text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for MatchingId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl fmt::Display for MatchingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MatchingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MatchingId({})", self.0)
    }
}

impl Serialize for MatchingId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MatchingId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Iccid;

    #[test]
    fn iccid_bcd_round_trip() -> Result<(), crate::Error> {
        let i = Iccid::parse("8949449999999990023")?;
        let b = i.to_bcd();
        assert_eq!(b[0], 0x98);
        assert_eq!(b[9], 0xF3);
        assert_eq!(Iccid::from_bcd(&b)?, i);
        assert_eq!(Iccid::try_from(&i.to_rsp())?, i);
        let twenty = Iccid::parse("89494499999999900231")?;
        assert_eq!(Iccid::from_bcd(&twenty.to_bcd())?, twenty);
        let eighteen = Iccid::parse("894944999999999002")?;
        assert_eq!(eighteen.to_bcd()[9], 0xFF);
        assert_eq!(Iccid::from_bcd(&eighteen.to_bcd())?, eighteen);
        assert!(Iccid::from_bcd(&[0x98, 0x94, 0xFF]).is_err());
        assert_eq!(Iccid::bcd_digits(&[0x98, 0x94, 0xFF]), "8949");
        Ok(())
    }
}
