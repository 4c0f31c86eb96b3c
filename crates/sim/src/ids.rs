//! Card identifiers, built only by parsing: [`Iccid`] (ITU-T E.118), [`Imsi`] (3GPP TS 23.003 §2.2),
//! [`Plmn`] (MCC + MNC) and [`Msisdn`] (ITU-T E.164).
//!
//! Every type stores its decimal digits inline (no allocation), so a batch of millions of cards can
//! step through its ranges without touching the heap.

use std::fmt;
use std::str::FromStr;

use crate::luhn;

/// Why a string is not a valid identifier. The offending value is never echoed for secrets, but
/// identifiers are not secret, so the messages say what was wrong with the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A character other than a decimal digit.
    #[error("{what}: character {pos} is not a decimal digit")]
    NotDigit {
        /// Which identifier.
        what: &'static str,
        /// 1-based position of the first offending character.
        pos: usize,
    },
    /// The number of digits is not allowed for this identifier.
    #[error("{what}: {len} digits, expected {expected}")]
    Length {
        /// Which identifier.
        what: &'static str,
        /// The number of digits given.
        len: usize,
        /// What is allowed, for people.
        expected: &'static str,
    },
    /// The ICCID's last digit is not the Luhn check digit of the others.
    #[error("ICCID {value}: Luhn check digit is {found}, expected {expected}")]
    Luhn {
        /// The ICCID as given.
        value: String,
        /// The check digit given.
        found: u8,
        /// The correct check digit.
        expected: u8,
    },
    /// An ICCID must start with the telecom major industry identifier 89.
    #[error("ICCID must start with 89 (E.118 major industry identifier)")]
    NotTelecom,
    /// The IMSI does not start with the operator's MCC and MNC.
    #[error("IMSI {imsi} is not in PLMN {plmn}")]
    WrongPlmn {
        /// The IMSI as given.
        imsi: String,
        /// The expected PLMN.
        plmn: String,
    },
    /// Stepping a range went past the largest value of that length.
    #[error("{what}: range overflows {len} digits")]
    Overflow {
        /// Which identifier.
        what: &'static str,
        /// The digit count that overflowed.
        len: usize,
    },
}

/// A run of at most `N` decimal digits (values 0..=9), stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Digits<const N: usize> {
    len: u8,
    d: [u8; N],
}

impl<const N: usize> Digits<N> {
    fn parse(
        s: &str,
        what: &'static str,
        min: usize,
        max: usize,
        expected: &'static str,
    ) -> Result<Self, IdError> {
        let b = s.as_bytes();
        if let Some(pos) = b.iter().position(|c| !c.is_ascii_digit()) {
            return Err(IdError::NotDigit { what, pos: pos + 1 });
        }
        if b.len() < min || b.len() > max || b.len() > N {
            return Err(IdError::Length {
                what,
                len: b.len(),
                expected,
            });
        }
        let mut d = [0u8; N];
        for (o, c) in d.iter_mut().zip(b) {
            *o = c - b'0';
        }
        Ok(Self {
            len: b.len() as u8,
            d,
        })
    }

    fn as_slice(&self) -> &[u8] {
        &self.d[..usize::from(self.len)]
    }

    /// The digits as an integer (at most 19 digits fit).
    fn value(&self) -> u64 {
        self.as_slice()
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d))
    }

    fn from_value(mut v: u64, len: usize, what: &'static str) -> Result<Self, IdError> {
        let mut d = [0u8; N];
        for slot in d[..len].iter_mut().rev() {
            *slot = (v % 10) as u8;
            v /= 10;
        }
        if v != 0 {
            return Err(IdError::Overflow { what, len });
        }
        Ok(Self { len: len as u8, d })
    }

    /// Adds `n` in place, keeping the length.
    fn checked_add(&self, n: u64, what: &'static str) -> Result<Self, IdError> {
        let len = usize::from(self.len);
        let v = self
            .value()
            .checked_add(n)
            .ok_or(IdError::Overflow { what, len })?;
        Self::from_value(v, len, what)
    }

    fn write_ascii(&self, out: &mut Vec<u8>) {
        out.extend(self.as_slice().iter().map(|d| d + b'0'));
    }
}

impl<const N: usize> fmt::Display for Digits<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.as_slice() {
            fmt::Write::write_char(f, char::from(b'0' + d))?;
        }
        Ok(())
    }
}

/// Swapped-nibble BCD of a digit run, padded with `F` (TS 31.102 / TS 51.011 EF encodings).
fn swapped_bcd(digits: &[u8], out: &mut [u8]) {
    for (i, byte) in out.iter_mut().enumerate() {
        let lo = digits.get(2 * i).copied().unwrap_or(0xF);
        let hi = digits.get(2 * i + 1).copied().unwrap_or(0xF);
        *byte = (hi << 4) | lo;
    }
}

// ---------------------------------------------------------------------------------------------
// ICCID
// ---------------------------------------------------------------------------------------------

/// An Integrated Circuit Card Identifier (ITU-T E.118): `89`, country code, issuer identifier,
/// serial number, then the Luhn check digit — 19 or 20 digits in all.
///
/// Operator files often print the *body* (18 or 19 digits, no check digit); this type keeps the
/// body, the check digit and the EF encoding apart: [`Iccid::body`], [`Iccid::check_digit`],
/// [`Iccid::to_ef`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iccid {
    body: Digits<19>,
    check: u8,
}

impl Iccid {
    /// Parses a full ICCID (19 or 20 digits, the last one the Luhn check digit).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let full: Digits<20> = Digits::parse(s, "ICCID", 19, 20, "19 or 20 (with check digit)")?;
        let (&check, body) = full.as_slice().split_last().ok_or(IdError::NotTelecom)?;
        let expected = luhn::check_digit(body);
        if expected != check {
            return Err(IdError::Luhn {
                value: s.to_owned(),
                found: check,
                expected,
            });
        }
        Self::from_body_digits(body)
    }

    /// Builds an ICCID from its body (18 or 19 digits, without check digit), computing the check digit.
    pub fn from_body(s: &str) -> Result<Self, IdError> {
        let body: Digits<19> =
            Digits::parse(s, "ICCID body", 18, 19, "18 or 19 (without check digit)")?;
        Self::from_body_digits(body.as_slice())
    }

    /// Parses either form, telling them apart by the expected full length (19 or 20):
    /// `full_len` digits must carry a valid check digit, `full_len - 1` digits are a body.
    pub fn parse_either(s: &str, full_len: usize) -> Result<Self, IdError> {
        if s.len() + 1 == full_len {
            Self::from_body(s)
        } else if s.len() == full_len {
            Self::parse(s)
        } else {
            Err(IdError::Length {
                what: "ICCID",
                len: s.len(),
                expected: "the operator's ICCID length, with or without check digit",
            })
        }
    }

    fn from_body_digits(body: &[u8]) -> Result<Self, IdError> {
        if body.len() < 2 || body[0] != 8 || body[1] != 9 {
            return Err(IdError::NotTelecom);
        }
        let mut d = [0u8; 19];
        d[..body.len()].copy_from_slice(body);
        Ok(Self {
            body: Digits {
                len: body.len() as u8,
                d,
            },
            check: luhn::check_digit(body),
        })
    }

    /// The digits without the check digit, as printed in order and server files.
    #[must_use]
    pub fn body(&self) -> String {
        self.body.to_string()
    }

    /// The Luhn check digit.
    #[must_use]
    pub fn check_digit(&self) -> u8 {
        self.check
    }

    /// Number of digits including the check digit (19 or 20).
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.body.len) + 1
    }

    /// Always false: an ICCID has at least 19 digits. Present for API symmetry with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The body as an integer: ICCIDs of one length are ordered and counted by it.
    #[must_use]
    pub fn body_value(&self) -> u64 {
        self.body.value()
    }

    /// The ICCID whose body is `n` more than this one's (same length).
    pub fn checked_add(&self, n: u64) -> Result<Self, IdError> {
        let body = self.body.checked_add(n, "ICCID")?;
        Self::from_body_digits(body.as_slice())
    }

    /// EF.ICCID (TS 102 221 §13.2): 10 bytes of swapped-nibble BCD, `F`-padded.
    #[must_use]
    pub fn to_ef(&self) -> [u8; 10] {
        let mut full = [0xFu8; 20];
        let n = usize::from(self.body.len);
        full[..n].copy_from_slice(self.body.as_slice());
        full[n] = self.check;
        let mut out = [0u8; 10];
        swapped_bcd(&full[..=n], &mut out);
        out
    }

    /// Decodes EF.ICCID content.
    pub fn from_ef(ef: &[u8]) -> Result<Self, IdError> {
        let mut s = String::with_capacity(20);
        for b in ef {
            for nib in [b & 0xF, b >> 4] {
                match nib {
                    0..=9 => s.push(char::from(b'0' + nib)),
                    0xF => {}
                    _ => {
                        return Err(IdError::NotDigit {
                            what: "EF.ICCID",
                            pos: s.len() + 1,
                        });
                    }
                }
            }
        }
        Self::parse(&s)
    }

    /// Appends the body's ASCII digits to `out` (hot path of the file writers).
    pub fn write_body(&self, out: &mut Vec<u8>) {
        self.body.write_ascii(out);
    }

    /// Appends the full ICCID's ASCII digits to `out`.
    pub fn write_full(&self, out: &mut Vec<u8>) {
        self.body.write_ascii(out);
        out.push(b'0' + self.check);
    }
}

impl fmt::Display for Iccid {
    /// The full ICCID, check digit included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.body, self.check)
    }
}

impl fmt::Debug for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iccid({self})")
    }
}

impl FromStr for Iccid {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// PLMN and IMSI
// ---------------------------------------------------------------------------------------------

/// A PLMN identity: mobile country code (3 digits) and mobile network code (2 or 3 digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Plmn {
    digits: Digits<6>,
}

impl Plmn {
    /// Parses an MCC and an MNC given separately (`"410"`, `"04"`).
    pub fn new(mcc: &str, mnc: &str) -> Result<Self, IdError> {
        let m: Digits<3> = Digits::parse(mcc, "MCC", 3, 3, "3")?;
        let n: Digits<3> = Digits::parse(mnc, "MNC", 2, 3, "2 or 3")?;
        let mut d = [0u8; 6];
        d[..3].copy_from_slice(m.as_slice());
        d[3..3 + n.as_slice().len()].copy_from_slice(n.as_slice());
        Ok(Self {
            digits: Digits { len: 3 + n.len, d },
        })
    }

    /// The MCC as a string.
    #[must_use]
    pub fn mcc(&self) -> String {
        self.digits.as_slice()[..3]
            .iter()
            .map(|d| char::from(b'0' + d))
            .collect()
    }

    /// The MNC as a string (2 or 3 digits).
    #[must_use]
    pub fn mnc(&self) -> String {
        self.digits.as_slice()[3..]
            .iter()
            .map(|d| char::from(b'0' + d))
            .collect()
    }

    /// Number of MNC digits (2 or 3), as EF.AD records it.
    #[must_use]
    pub fn mnc_len(&self) -> usize {
        usize::from(self.digits.len) - 3
    }
}

impl fmt::Display for Plmn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.mcc(), self.mnc())
    }
}

impl fmt::Debug for Plmn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plmn({self})")
    }
}

/// An International Mobile Subscriber Identity (TS 23.003 §2.2): MCC, MNC, MSIN; at most 15 digits.
///
/// A bare digit string does not say whether the MNC has 2 or 3 digits, so an IMSI is always parsed
/// against its [`Plmn`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Imsi {
    digits: Digits<15>,
    mnc_len: u8,
}

impl Imsi {
    /// Parses an IMSI that must belong to `plmn`.
    pub fn parse(s: &str, plmn: &Plmn) -> Result<Self, IdError> {
        let digits: Digits<15> = Digits::parse(s, "IMSI", 6, 15, "6 to 15")?;
        let p = plmn.digits.as_slice();
        if !digits.as_slice().starts_with(p) {
            return Err(IdError::WrongPlmn {
                imsi: s.to_owned(),
                plmn: plmn.to_string(),
            });
        }
        Ok(Self {
            digits,
            mnc_len: plmn.mnc_len() as u8,
        })
    }

    /// Number of digits.
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.digits.len)
    }

    /// Always false: an IMSI has at least 6 digits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The IMSI as an integer.
    #[must_use]
    pub fn value(&self) -> u64 {
        self.digits.value()
    }

    /// The last digit, which selects the access class (TS 22.011 §4.2).
    #[must_use]
    pub fn last_digit(&self) -> u8 {
        self.digits.as_slice().last().copied().unwrap_or(0)
    }

    /// The IMSI `n` further on, same length and PLMN.
    pub fn checked_add(&self, n: u64) -> Result<Self, IdError> {
        let digits = self.digits.checked_add(n, "IMSI")?;
        let plmn_len = 3 + usize::from(self.mnc_len);
        if digits.as_slice()[..plmn_len] != self.digits.as_slice()[..plmn_len] {
            return Err(IdError::Overflow {
                what: "IMSI MSIN",
                len: self.len() - plmn_len,
            });
        }
        Ok(Self {
            digits,
            mnc_len: self.mnc_len,
        })
    }

    /// The IMSI's MCC and MNC.
    #[must_use]
    pub fn plmn(&self) -> Plmn {
        let mut d = [0u8; 6];
        let n = 3 + usize::from(self.mnc_len);
        d[..n].copy_from_slice(&self.digits.as_slice()[..n]);
        Plmn {
            digits: Digits { len: n as u8, d },
        }
    }

    /// EF.IMSI (TS 31.102 §4.2.2): length byte, then the parity nibble (`1` odd digit count, `9`
    /// in the low nibble with the first digit above it), then swapped BCD, `F`-padded to 9 bytes.
    #[must_use]
    pub fn to_ef(&self) -> [u8; 9] {
        let d = self.digits.as_slice();
        let parity = if d.len() % 2 == 1 { 0x9 } else { 0x1 };
        // Nibble stream: parity, d1, d2, ... — then swapped into bytes.
        let mut nibbles = [0xFu8; 16];
        nibbles[0] = parity;
        nibbles[1..=d.len()].copy_from_slice(d);
        let used = d.len() + 1;
        let mut out = [0xFFu8; 9];
        out[0] = used.div_ceil(2) as u8;
        for i in 0..8 {
            let lo = nibbles[2 * i];
            let hi = nibbles[2 * i + 1];
            out[1 + i] = (hi << 4) | lo;
        }
        out
    }

    /// Appends the ASCII digits to `out`.
    pub fn write_ascii(&self, out: &mut Vec<u8>) {
        self.digits.write_ascii(out);
    }

    /// The ASCII digits in a stack buffer, and how many there are.
    #[must_use]
    pub fn to_ascii(&self) -> ([u8; 15], usize) {
        let mut a = [0u8; 15];
        let d = self.digits.as_slice();
        for (o, x) in a.iter_mut().zip(d) {
            *o = b'0' + x;
        }
        (a, d.len())
    }

    /// Decodes EF.IMSI content (the inverse of [`Imsi::to_ef`]) for an IMSI of `plmn`.
    pub fn from_ef(ef: &[u8], plmn: &Plmn) -> Result<Self, IdError> {
        let what = "EF.IMSI";
        let (&len, rest) = ef.split_first().ok_or(IdError::Length {
            what,
            len: 0,
            expected: "9 bytes",
        })?;
        let len = usize::from(len);
        if len == 0 || len > 8 || rest.len() < len {
            return Err(IdError::Length {
                what,
                len: ef.len(),
                expected: "a length byte of 1 to 8 and that many bytes",
            });
        }
        let mut s = String::with_capacity(15);
        for (i, b) in rest[..len].iter().enumerate() {
            let nibbles = if i == 0 {
                vec![b >> 4]
            } else {
                vec![b & 0xF, b >> 4]
            };
            for n in nibbles {
                match n {
                    0..=9 => s.push(char::from(b'0' + n)),
                    0xF => {}
                    _ => {
                        return Err(IdError::NotDigit {
                            what,
                            pos: s.len() + 1,
                        });
                    }
                }
            }
        }
        Self::parse(&s, plmn)
    }
}

impl fmt::Display for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.digits.fmt(f)
    }
}

impl fmt::Debug for Imsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Imsi({self})")
    }
}

// ---------------------------------------------------------------------------------------------
// MSISDN
// ---------------------------------------------------------------------------------------------

/// A subscriber number in international E.164 format: country code and national number, at most
/// 15 digits, written with or without a leading `+`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Msisdn {
    digits: Digits<15>,
}

impl Msisdn {
    /// Parses `+CCNNN…` or `CCNNN…`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.strip_prefix('+').unwrap_or(s);
        let digits = Digits::parse(s, "MSISDN", 4, 15, "4 to 15 (E.164)")?;
        if digits.as_slice().first() == Some(&0) {
            return Err(IdError::NotDigit {
                what: "MSISDN (country code cannot start with 0)",
                pos: 1,
            });
        }
        Ok(Self { digits })
    }

    /// The MSISDN `n` further on.
    pub fn checked_add(&self, n: u64) -> Result<Self, IdError> {
        Ok(Self {
            digits: self.digits.checked_add(n, "MSISDN")?,
        })
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.digits.fmt(f)
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msisdn(+{self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn iccid_ef_matches_operator_sample() {
        // shared/formats/operator-sim-files-zong-style.txt, DATA_TP15209.txt first card.
        let iccid = Iccid::from_body("899222333444000000").unwrap();
        assert_eq!(iccid.to_string(), "8992223334440000002");
        assert_eq!(hex::encode_upper(iccid.to_ef()), "982922334344000000F2");
        assert_eq!(Iccid::from_ef(&iccid.to_ef()).unwrap(), iccid);
    }

    #[test]
    fn imsi_ef_matches_operator_sample() {
        let plmn = Plmn::new("410", "02").unwrap();
        let imsi = Imsi::parse("410022233344400", &plmn).unwrap();
        assert_eq!(hex::encode_upper(imsi.to_ef()), "084901202233434400");
        // TS 31.102 §4.2.2 example shape for an even-length IMSI: parity nibble 1.
        let plmn = Plmn::new("001", "01").unwrap();
        let even = Imsi::parse("00101123456789", &plmn).unwrap();
        assert_eq!(hex::encode_upper(even.to_ef()), "0801101021436587F9");
        assert_eq!(Imsi::from_ef(&even.to_ef(), &plmn).unwrap(), even);
        assert!(Imsi::from_ef(&[0x09, 0x01], &plmn).is_err());
    }

    #[test]
    fn iccid_errors_are_distinct() {
        assert!(matches!(
            Iccid::parse("8992223334440000003"),
            Err(IdError::Luhn { expected: 2, .. })
        ));
        assert!(matches!(
            Iccid::parse("89922233344400000x2"),
            Err(IdError::NotDigit { pos: 18, .. })
        ));
        assert!(matches!(
            Iccid::from_body("12345678901234567"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            Iccid::from_body("999222333444000000"),
            Err(IdError::NotTelecom)
        ));
        assert!(Iccid::parse_either("899222333444000000", 19).is_ok());
        assert!(Iccid::parse_either("8992223334440000002", 19).is_ok());
    }

    #[test]
    fn imsi_plmn_and_overflow() {
        let plmn = Plmn::new("410", "04").unwrap();
        assert!(matches!(
            Imsi::parse("410060619843701", &plmn),
            Err(IdError::WrongPlmn { .. })
        ));
        let last = Imsi::parse("410049999999999", &plmn).unwrap();
        assert!(last.checked_add(1).is_err());
        let three = Plmn::new("310", "410").unwrap();
        assert_eq!(three.mnc_len(), 3);
        assert_eq!(
            Imsi::parse("310410123456789", &three).unwrap().plmn(),
            three
        );
    }

    #[test]
    fn msisdn() {
        assert_eq!(
            Msisdn::parse("+923001234567").unwrap().to_string(),
            "923001234567"
        );
        assert!(Msisdn::parse("0923001234567").is_err());
        assert!(Msisdn::parse("+9230012345678901").is_err());
    }

    proptest! {
        #[test]
        fn iccid_roundtrips(serial in 0u64..10_000_000_000_000, twenty in any::<bool>()) {
            let body = if twenty { format!("89{serial:017}") } else { format!("89{serial:016}") };
            prop_assume!(body.len() == if twenty { 19 } else { 18 });
            let iccid = Iccid::from_body(&body).unwrap();
            prop_assert!(crate::luhn::is_valid(&iccid.to_string().bytes().map(|b| b - b'0').collect::<Vec<_>>()));
            prop_assert_eq!(Iccid::parse(&iccid.to_string()).unwrap(), iccid);
            prop_assert_eq!(Iccid::from_ef(&iccid.to_ef()).unwrap(), iccid);
            prop_assert_eq!(iccid.body(), body);
        }

        #[test]
        fn iccid_add_is_counting(start in 0u64..1_000_000_000, n in 0u64..1_000_000) {
            let a = Iccid::from_body(&format!("8992{start:014}")).unwrap();
            prop_assert_eq!(a.checked_add(n).unwrap().body_value(), a.body_value() + n);
        }

        #[test]
        fn imsi_ef_roundtrips(msin in 0u64..10_000_000_000, three in any::<bool>(), short in any::<bool>()) {
            let plmn = if three { Plmn::new("310", "410").unwrap() } else { Plmn::new("001", "01").unwrap() };
            let width = if short { 8 } else if three { 9 } else { 10 };
            let s = format!("{}{}{:0width$}", plmn.mcc(), plmn.mnc(), msin % 10u64.pow(width as u32));
            let imsi = Imsi::parse(&s, &plmn).unwrap();
            prop_assert_eq!(Imsi::from_ef(&imsi.to_ef(), &plmn).unwrap(), imsi);
            prop_assert_eq!(imsi.to_string(), s);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,30}") {
            let plmn = Plmn::new("001", "01").unwrap();
            let _ = Iccid::parse(&s);
            let _ = Iccid::from_body(&s);
            let _ = Imsi::parse(&s, &plmn);
            let _ = Msisdn::parse(&s);
            let _ = Iccid::from_ef(s.as_bytes());
            let _ = Imsi::from_ef(s.as_bytes(), &plmn);
        }
    }
}
