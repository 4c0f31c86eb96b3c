//! BER-TLV views and a writer (ISO/IEC 8825-1 / ETSI TS 101 220 style); reading is done by
//! `simforge_tlv`, the one BER-TLV reader of the workspace, with this module's limits.
//!
//! Tags are represented as `u32` holding the raw tag bytes big-endian, as the SGP.22 text writes
//! them (`0xBF36`, `0x5F49`, `0x87`). Tags of up to 4 bytes and definite lengths of up to 4
//! length bytes are supported; indefinite lengths (`0x80` … `00 00`) are accepted on constructed
//! TLVs when parsing, with a nesting limit. Nothing here panics or allocates unboundedly on
//! hostile input: every length is checked against the bytes actually present.

use crate::error::{Error, Result};

/// Maximum nesting depth followed when resolving indefinite lengths or normalising.
pub const MAX_DEPTH: usize = 32;

/// One parsed TLV, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, raw bytes big-endian (e.g. `0xBF36`).
    pub tag: u32,
    /// Whether the constructed bit (b6 of the first tag byte) is set.
    pub constructed: bool,
    /// Whether the length was indefinite (`0x80`, content terminated by `00 00`).
    pub indefinite: bool,
    /// The value (content octets; for indefinite length without the end-of-contents).
    pub value: &'a [u8],
    /// The whole TLV as it appeared in the input (header, value, end-of-contents if any).
    pub raw: &'a [u8],
    /// Length of the header (tag and length octets) within `raw`.
    pub header_len: usize,
}

impl<'a> Tlv<'a> {
    /// The header bytes (tag and length) as they appeared in the input.
    pub fn header(&self) -> &'a [u8] {
        self.raw.get(..self.header_len).unwrap_or_default()
    }

    /// The children of a constructed TLV.
    pub fn children(&self) -> TlvIter<'a> {
        TlvIter::new(self.value)
    }

    /// Fails with [`Error::UnexpectedTag`] unless this TLV has tag `tag`.
    pub fn expect_tag(&self, tag: u32) -> Result<&Self> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(Error::UnexpectedTag {
                expected: tag,
                found: self.tag,
            })
        }
    }
}

/// The limits of this reader (tags of up to 4 octets, minimal; indefinite lengths nested up
/// to [`MAX_DEPTH`]) for `simforge_tlv`, the one BER-TLV reader.
const RULES: simforge_tlv::Rules = simforge_tlv::Rules {
    tag: simforge_tlv::TagRule::Raw4Minimal,
    max_depth: MAX_DEPTH,
};

fn tlv_error(e: simforge_tlv::Error) -> Error {
    use simforge_tlv::ErrorKind as K;
    Error::Tlv(match e.kind {
        K::Empty => "missing tag",
        K::TruncatedTag => "truncated tag",
        K::NonMinimalTag => "non-minimal tag",
        K::TagTooLong => "tag longer than 4 bytes",
        K::MissingLength => "missing length",
        K::TruncatedLength => "truncated length",
        K::LengthTooLong => "unsupported length form",
        K::IndefinitePrimitive => "indefinite length on a primitive TLV",
        K::ValueOverrun(_) => "value truncated",
        K::MissingEndOfContents => "missing end-of-contents",
        K::TooDeep => "nesting too deep",
    })
}

/// The tag's raw octets (at most 4) as a big-endian `u32`.
fn tag_value(tag: &[u8]) -> u32 {
    tag.iter().fold(0u32, |t, b| (t << 8) | u32::from(*b))
}

/// A tag and length header on its own (for pieces that carry only a container's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The tag, raw bytes big-endian.
    pub tag: u32,
    /// Whether the constructed bit is set.
    pub constructed: bool,
    /// The definite length, or `None` for indefinite length.
    pub length: Option<usize>,
    /// Number of header bytes.
    pub header_len: usize,
}

/// Parses only the tag and length at the start of `input` (the value need not be present).
pub fn parse_header(input: &[u8]) -> Result<Header> {
    let h = simforge_tlv::header(input, 0, RULES).map_err(tlv_error)?;
    Ok(Header {
        tag: tag_value(input.get(..h.tag_len).unwrap_or_default()),
        constructed: h.constructed,
        length: (!h.indefinite).then_some(h.length),
        header_len: h.header_len,
    })
}

/// Parses one TLV from the start of `input`; returns it and the remaining bytes.
pub fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let e = simforge_tlv::element(input, 0, RULES).map_err(tlv_error)?;
    let (raw, remaining) = input.split_at(e.total_len);
    Ok((
        Tlv {
            tag: tag_value(&raw[..e.header.tag_len]),
            constructed: e.header.constructed,
            indefinite: e.header.indefinite,
            value: &raw[e.value_range(0)],
            raw,
            header_len: e.header.header_len,
        },
        remaining,
    ))
}

/// Parses exactly one TLV that must fill `input` completely.
pub fn parse_single(input: &[u8]) -> Result<Tlv<'_>> {
    let (tlv, rest) = parse_one(input)?;
    if rest.is_empty() {
        Ok(tlv)
    } else {
        Err(Error::Tlv("trailing data after TLV"))
    }
}

/// Parses a concatenation of TLVs completely.
pub fn parse_all(input: &[u8]) -> Result<Vec<Tlv<'_>>> {
    TlvIter::new(input).collect()
}

/// Iterator over a concatenation of TLVs. Yields an error once and then stops.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Iterates over the TLVs in `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self {
            rest: input,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match parse_one(self.rest) {
            Ok((tlv, rest)) => {
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Appends the encoding of `tag` (raw big-endian bytes, leading zero bytes skipped).
pub fn write_tag(tag: u32, out: &mut Vec<u8>) {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
    out.extend_from_slice(bytes.get(skip..).unwrap_or(&bytes));
}

/// Appends a minimal definite length.
pub fn write_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = (len as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

/// Number of bytes the minimal definite length of `len` takes.
pub fn length_len(len: usize) -> usize {
    let mut v = Vec::with_capacity(9);
    write_length(len, &mut v);
    v.len()
}

/// Tag and length header for a value of `len` bytes.
pub fn header(tag: u32, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    write_tag(tag, &mut out);
    write_length(len, &mut out);
    out
}

/// Appends a whole TLV.
pub fn write_tlv(tag: u32, value: &[u8], out: &mut Vec<u8>) {
    write_tag(tag, out);
    write_length(value.len(), out);
    out.extend_from_slice(value);
}

/// Encodes a whole TLV.
pub fn tlv(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    write_tlv(tag, value, &mut out);
    out
}

/// Re-encodes a concatenation of TLVs with definite lengths throughout.
///
/// Constructed TLVs are rebuilt from their normalised children (indefinite lengths become
/// definite, non-minimal lengths become minimal); primitive TLVs are copied byte for byte so
/// that anything computed over them (a BSP C-MAC, for instance) stays valid.
pub fn normalize(input: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    normalize_into(input, &mut out, 0)?;
    Ok(out)
}

fn normalize_into(input: &[u8], out: &mut Vec<u8>, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::Tlv("nesting too deep"));
    }
    for item in TlvIter::new(input) {
        let t = item?;
        if t.constructed {
            let mut inner = Vec::with_capacity(t.value.len());
            normalize_into(t.value, &mut inner, depth + 1)?;
            write_tlv(t.tag, &inner, out);
        } else {
            out.extend_from_slice(t.raw);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_lengths() {
        let (t, rest) = parse_one(&[0xBF, 0x36, 0x02, 0x80, 0x00, 0xAA]).unwrap();
        assert_eq!(t.tag, 0xBF36);
        assert!(t.constructed);
        assert_eq!(t.value, &[0x80, 0x00]);
        assert_eq!(rest, &[0xAA]);
        let (t, _) = parse_one(&[0x5F, 0x49, 0x81, 0x01, 0x04]).unwrap();
        assert_eq!(t.tag, 0x5F49);
        assert!(!t.constructed);
        assert_eq!(t.header_len, 4);
        assert_eq!(header(0x86, 1016), vec![0x86, 0x82, 0x03, 0xF8]);
        assert_eq!(header(0xBF36, 0x7F), vec![0xBF, 0x36, 0x7F]);
        assert_eq!(header(0xA3, 0x80), vec![0xA3, 0x81, 0x80]);
        assert_eq!(length_len(1016), 3);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse_one(&[]).is_err());
        assert!(parse_one(&[0x86]).is_err());
        assert!(parse_one(&[0x86, 0x05, 0x00]).is_err());
        assert!(parse_one(&[0x86, 0x85, 0, 0, 0, 0, 1]).is_err());
        assert!(parse_one(&[0x86, 0x80, 0x00, 0x00]).is_err()); // primitive indefinite
        assert!(parse_one(&[0xBF, 0x80, 0x01, 0x00]).is_err()); // non-minimal tag
        assert!(parse_one(&[0xBF, 0x81, 0x81, 0x81, 0x01, 0x00]).is_err()); // tag too long
        assert!(parse_one(&[0xA0, 0x80, 0x87, 0x00]).is_err()); // missing EOC
        assert!(parse_single(&[0x87, 0x00, 0x00]).is_err());
    }

    #[test]
    fn indefinite_and_normalize() {
        let ber = [
            0xA1, 0x80, 0x88, 0x02, 0x01, 0x02, 0xA0, 0x80, 0x87, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let (t, rest) = parse_one(&ber).unwrap();
        assert!(t.indefinite && rest.is_empty());
        assert_eq!(t.value.len(), 10);
        let kids = parse_all(t.value).unwrap();
        assert_eq!(kids.len(), 2);
        let der = normalize(&ber).unwrap();
        assert_eq!(
            der,
            vec![0xA1, 0x08, 0x88, 0x02, 0x01, 0x02, 0xA0, 0x02, 0x87, 0x00]
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut v = Vec::new();
        for _ in 0..10_000 {
            v.extend_from_slice(&[0xA0, 0x80]);
        }
        assert!(parse_one(&v).is_err());
        assert!(normalize(&v).is_err());
    }
}
