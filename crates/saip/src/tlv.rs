//! BER TLV boundary scanner (on `simforge_tlv`, the one reader): walks the top-level elements
//! of a profile package without decoding them (for streaming/element-by-element installation,
//! logging, tooling).
//!
//! Handles multi-byte tag numbers, long-form lengths and indefinite lengths (constructed
//! encodings terminated by end-of-contents octets).

use crate::Error;

/// The limits of the profile package scanner: tag numbers up to 32 bits, indefinite lengths
/// nested up to 64 deep.
const RULES: simforge_tlv::Rules = simforge_tlv::Rules {
    tag: simforge_tlv::TagRule::Number32,
    max_depth: 64,
};

/// ASN.1 tag class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagClass {
    /// UNIVERSAL.
    Universal,
    /// APPLICATION.
    Application,
    /// Context-specific.
    Context,
    /// PRIVATE.
    Private,
}

/// One complete TLV located in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawElement<'a> {
    /// Byte offset of the TLV within the scanned buffer.
    pub offset: usize,
    /// Tag class.
    pub class: TagClass,
    /// Whether the encoding is constructed.
    pub constructed: bool,
    /// Tag number.
    pub tag_number: u32,
    /// Length of identifier + length octets.
    pub header_len: usize,
    /// Whether the length was indefinite (BER only).
    pub indefinite: bool,
    /// The complete TLV (identifier, length, contents and end-of-contents if any).
    pub bytes: &'a [u8],
}

impl<'a> RawElement<'a> {
    /// The contents octets (without a trailing end-of-contents for indefinite lengths).
    pub fn contents(&self) -> &'a [u8] {
        let end = if self.indefinite {
            self.bytes.len() - 2
        } else {
            self.bytes.len()
        };
        &self.bytes[self.header_len..end]
    }

    /// The ASN.1 name of the `ProfileElement` alternative this TLV encodes, if it is a
    /// context-specific constructed TLV with a known tag number.
    pub fn profile_element_name(&self) -> Option<&'static str> {
        (self.class == TagClass::Context)
            .then(|| crate::element::alternative_name(self.tag_number))
            .flatten()
    }
}

/// Iterator over the top-level TLVs of a buffer; see [`elements`].
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    data: &'a [u8],
    pos: usize,
    failed: bool,
}

/// Iterates over the TLV boundaries of a concatenation of BER/DER encodings (such as a
/// profile package) without decoding them. Stops after the first error.
pub fn elements(data: &[u8]) -> Elements<'_> {
    Elements {
        data,
        pos: 0,
        failed: false,
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<RawElement<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        match scan(self.data, self.pos) {
            Ok(el) => {
                self.pos += el.bytes.len();
                Some(Ok(el))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Locates the TLV starting at `data[start..]`.
pub fn scan(data: &[u8], start: usize) -> Result<RawElement<'_>, Error> {
    use simforge_tlv::ErrorKind as K;
    let e = simforge_tlv::element(data, start, RULES).map_err(|e| Error::Tlv {
        offset: e.offset,
        reason: match e.kind {
            K::Empty => "truncated identifier",
            K::TruncatedTag => "truncated tag number",
            K::NonMinimalTag | K::TagTooLong => "tag number too large",
            K::MissingLength | K::TruncatedLength => "truncated length",
            K::LengthTooLong => "length field too long",
            K::IndefinitePrimitive => "indefinite length on a primitive encoding",
            K::ValueOverrun(_) => "length exceeds the available data",
            K::MissingEndOfContents => "missing end-of-contents",
            K::TooDeep => "nesting too deep",
        },
    })?;
    let bytes = &data[start..start + e.total_len];
    let first = bytes[0];
    let class = match first >> 6 {
        0 => TagClass::Universal,
        1 => TagClass::Application,
        2 => TagClass::Context,
        _ => TagClass::Private,
    };
    // The reader checked that the tag number fits 32 bits.
    let tag_number = if first & 0x1F == 0x1F {
        bytes[1..e.header.tag_len]
            .iter()
            .fold(0u32, |n, b| (n << 7) | u32::from(b & 0x7F))
    } else {
        u32::from(first & 0x1F)
    };
    Ok(RawElement {
        offset: start,
        class,
        constructed: e.header.constructed,
        tag_number,
        header_len: e.header.header_len,
        indefinite: e.header.indefinite,
        bytes,
    })
}
