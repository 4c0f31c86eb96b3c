//! # simforge-tlv
//!
//! The one BER-TLV reader of the workspace (ISO/IEC 8825-1, ETSI TS 101 220): where a TLV's
//! tag, length and value are in a byte buffer, for definite and indefinite lengths (constructed
//! encodings terminated by end-of-contents octets). It decodes nothing else; the crates that
//! need a TLV view build theirs on it: `simforge_asn1::Tlv` (raw tag bytes),
//! `simforge_crypto::tlv` (tags as `u32`, the SGP.22 BPP), `simforge_saip::elements` (tag class
//! and number, the profile package's elements).
//!
//! Each of them keeps the limits it always had, named by [`Rules`]: how long a tag may be and
//! how deep indefinite lengths may nest. Lengths are the short form or 1 to 4 length octets.
//! Nothing here panics or allocates on hostile input: every length is checked against the
//! bytes present, and recursion is bounded by [`Rules::max_depth`].

#![forbid(unsafe_code)]

/// How long a tag may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagRule {
    /// At most 4 octets in all, the first subsequent octet not `0x80` (no leading zero bits in
    /// the tag number): tags fit a `u32` of raw bytes.
    Raw4Minimal,
    /// At most 7 octets in all (a subsequent octet with its continuation bit at the 6th octet
    /// is refused).
    Raw7,
    /// Any number of octets as long as the tag number fits 32 bits.
    Number32,
}

/// The limits of one reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The tag rule.
    pub tag: TagRule,
    /// Indefinite lengths nest at most this deep (the outermost TLV is depth 0).
    pub max_depth: usize,
}

/// What is wrong with a TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// No byte at all where a TLV starts.
    Empty,
    /// The input ends inside a multi-octet tag.
    TruncatedTag,
    /// A multi-octet tag whose first subsequent octet is `0x80` ([`TagRule::Raw4Minimal`]).
    NonMinimalTag,
    /// The tag is longer than its [`TagRule`] allows.
    TagTooLong,
    /// The input ends where the length octet should be.
    MissingLength,
    /// The input ends inside a long-form length.
    TruncatedLength,
    /// A long-form length of more than 4 octets.
    LengthTooLong,
    /// An indefinite length on a primitive encoding.
    IndefinitePrimitive,
    /// A definite length that runs past the input; the length.
    ValueOverrun(usize),
    /// An indefinite length whose end-of-contents octets are missing.
    MissingEndOfContents,
    /// Indefinite lengths nested deeper than [`Rules::max_depth`].
    TooDeep,
}

/// A reading error and where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Byte offset in the buffer: of the TLV for errors about the whole TLV (tag too long,
    /// length too long, indefinite primitive, value overrun, too deep), else of the missing or
    /// offending byte.
    pub offset: usize,
}

fn fail<T>(kind: ErrorKind, offset: usize) -> Result<T, Error> {
    Err(Error { kind, offset })
}

/// A TLV's tag and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Octets of the tag.
    pub tag_len: usize,
    /// The constructed bit (b6 of the first tag octet).
    pub constructed: bool,
    /// Octets of tag and length.
    pub header_len: usize,
    /// Whether the length is indefinite (`0x80`).
    pub indefinite: bool,
    /// The definite length (0 for an indefinite one).
    pub length: usize,
}

/// One whole TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element {
    /// Its tag and length.
    pub header: Header,
    /// Octets of the value (for an indefinite length, without the end-of-contents octets).
    pub value_len: usize,
    /// Octets of the whole TLV (header, value and end-of-contents, if any).
    pub total_len: usize,
}

impl Element {
    /// The value's range within the buffer, for a TLV read at `start`.
    #[must_use]
    pub fn value_range(&self, start: usize) -> std::ops::Range<usize> {
        let v = start + self.header.header_len;
        v..v + self.value_len
    }
}

/// Reads the tag and length of the TLV at `data[start..]` (its value need not be present).
///
/// # Errors
/// Every [`ErrorKind`] but [`ErrorKind::ValueOverrun`], [`ErrorKind::MissingEndOfContents`]
/// and [`ErrorKind::TooDeep`].
pub fn header(data: &[u8], start: usize, rules: Rules) -> Result<Header, Error> {
    let Some(&first) = data.get(start) else {
        return fail(ErrorKind::Empty, start);
    };
    let constructed = first & 0x20 != 0;
    let mut i = 1usize;
    if first & 0x1F == 0x1F {
        let mut number: u32 = 0;
        loop {
            let Some(&b) = data.get(start + i) else {
                return fail(ErrorKind::TruncatedTag, start + i);
            };
            match rules.tag {
                TagRule::Raw4Minimal => {
                    if i == 1 && b == 0x80 {
                        return fail(ErrorKind::NonMinimalTag, start + i);
                    }
                    if i >= 4 {
                        return fail(ErrorKind::TagTooLong, start);
                    }
                }
                TagRule::Number32 => {
                    if number > (u32::MAX >> 7) {
                        return fail(ErrorKind::TagTooLong, start);
                    }
                    number = (number << 7) | u32::from(b & 0x7F);
                }
                TagRule::Raw7 => {}
            }
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            if rules.tag == TagRule::Raw7 && i > 6 {
                return fail(ErrorKind::TagTooLong, start);
            }
        }
    }
    let tag_len = i;
    let mut p = start + tag_len;
    let Some(&l) = data.get(p) else {
        return fail(ErrorKind::MissingLength, p);
    };
    p += 1;
    let (indefinite, length) = if l == 0x80 {
        if !constructed {
            return fail(ErrorKind::IndefinitePrimitive, start);
        }
        (true, 0)
    } else if l & 0x80 == 0 {
        (false, usize::from(l))
    } else {
        let n = usize::from(l & 0x7F);
        if n > 4 {
            return fail(ErrorKind::LengthTooLong, start);
        }
        let Some(bytes) = data.get(p..p + n) else {
            return fail(ErrorKind::TruncatedLength, p);
        };
        p += n;
        (
            false,
            bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
        )
    };
    Ok(Header {
        tag_len,
        constructed,
        header_len: p - start,
        indefinite,
        length,
    })
}

/// Reads the whole TLV at `data[start..]`.
///
/// # Errors
/// Any [`ErrorKind`], for this TLV or (indefinite lengths) one nested in it.
pub fn element(data: &[u8], start: usize, rules: Rules) -> Result<Element, Error> {
    element_at_depth(data, start, rules, 0)
}

fn element_at_depth(
    data: &[u8],
    start: usize,
    rules: Rules,
    depth: usize,
) -> Result<Element, Error> {
    if depth > rules.max_depth {
        return fail(ErrorKind::TooDeep, start);
    }
    let header = header(data, start, rules)?;
    let body = start + header.header_len;
    if !header.indefinite {
        let Some(end) = body.checked_add(header.length).filter(|e| *e <= data.len()) else {
            return fail(ErrorKind::ValueOverrun(header.length), start);
        };
        return Ok(Element {
            header,
            value_len: header.length,
            total_len: end - start,
        });
    }
    let mut p = body;
    loop {
        match data.get(p..p + 2) {
            Some([0, 0]) => {
                return Ok(Element {
                    header,
                    value_len: p - body,
                    total_len: p + 2 - start,
                });
            }
            Some(_) => p += element_at_depth(data, p, rules, depth + 1)?.total_len,
            None => return fail(ErrorKind::MissingEndOfContents, p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Rules = Rules {
        tag: TagRule::Raw4Minimal,
        max_depth: 32,
    };

    #[test]
    fn definite_and_indefinite() {
        let e = element(&[0x04, 0x02, 1, 2, 9], 0, R).expect("tlv");
        assert_eq!((e.header.header_len, e.value_len, e.total_len), (2, 2, 4));
        let ind = [0x30, 0x80, 0x04, 0x01, 7, 0, 0, 9];
        let e = element(&ind, 0, R).expect("tlv");
        assert!(e.header.indefinite);
        assert_eq!((e.value_len, e.total_len), (3, 7));
        assert_eq!(e.value_range(0), 2..5);
        let long = [0xBF, 0x36, 0x81, 0x01, 5];
        let e = element(&long, 0, R).expect("tlv");
        assert_eq!((e.header.tag_len, e.header.header_len), (2, 4));
    }

    #[test]
    fn errors() {
        let k = |d: &[u8], r: Rules| element(d, 0, r).map_err(|e| e.kind).err();
        assert_eq!(k(&[], R), Some(ErrorKind::Empty));
        assert_eq!(k(&[0x1F], R), Some(ErrorKind::TruncatedTag));
        assert_eq!(k(&[0x1F, 0x80, 1], R), Some(ErrorKind::NonMinimalTag));
        assert_eq!(
            k(&[0x1F, 0x81, 0x81, 0x81, 1, 0], R),
            Some(ErrorKind::TagTooLong)
        );
        assert_eq!(k(&[0x04], R), Some(ErrorKind::MissingLength));
        assert_eq!(k(&[0x04, 0x82, 1], R), Some(ErrorKind::TruncatedLength));
        assert_eq!(k(&[0x04, 0x85], R), Some(ErrorKind::LengthTooLong));
        assert_eq!(k(&[0x04, 0x80], R), Some(ErrorKind::IndefinitePrimitive));
        assert_eq!(k(&[0x04, 0x03, 1], R), Some(ErrorKind::ValueOverrun(3)));
        assert_eq!(
            k(&[0x30, 0x80, 0], R),
            Some(ErrorKind::MissingEndOfContents)
        );
        let deep: Vec<u8> = std::iter::repeat_n([0x30, 0x80], 40).flatten().collect();
        assert_eq!(k(&deep, R), Some(ErrorKind::TooDeep));
        let seven = [0x1F, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00];
        let raw7 = Rules {
            tag: TagRule::Raw7,
            max_depth: 64,
        };
        assert_eq!(k(&seven, raw7), None);
        let eight = [0x1F, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00];
        assert_eq!(k(&eight, raw7), Some(ErrorKind::TagTooLong));
        let n32 = Rules {
            tag: TagRule::Number32,
            max_depth: 64,
        };
        assert_eq!(k(&[0x1F, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F, 0x00], n32), None);
        assert_eq!(
            k(&[0x1F, 0x9F, 0xFF, 0xFF, 0xFF, 0x7F, 0x00], n32),
            Some(ErrorKind::TagTooLong)
        );
    }
}
