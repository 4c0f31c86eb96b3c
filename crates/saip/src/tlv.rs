//! Minimal BER TLV boundary scanner: walks the top-level elements of a profile package
//! without decoding them (for streaming/element-by-element installation, logging, tooling).
//!
//! Handles multi-byte tag numbers, long-form lengths and indefinite lengths (constructed
//! encodings terminated by end-of-contents octets).

use crate::Error;

/// Maximum nesting depth followed while skipping indefinite-length encodings.
const MAX_DEPTH: usize = 64;

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

fn err(offset: usize, reason: &'static str) -> Error {
    Error::Tlv { offset, reason }
}

/// Locates the TLV starting at `data[start..]`.
pub fn scan(data: &[u8], start: usize) -> Result<RawElement<'_>, Error> {
    let (el_len, header) = tlv_len(data, start, 0)?;
    Ok(RawElement {
        offset: start,
        class: header.class,
        constructed: header.constructed,
        tag_number: header.tag_number,
        header_len: header.header_len,
        indefinite: header.indefinite,
        bytes: &data[start..start + el_len],
    })
}

struct Header {
    class: TagClass,
    constructed: bool,
    tag_number: u32,
    header_len: usize,
    indefinite: bool,
    content_len: usize,
}

fn header(data: &[u8], start: usize) -> Result<Header, Error> {
    let mut p = start;
    let first = *data.get(p).ok_or_else(|| err(p, "truncated identifier"))?;
    p += 1;
    let class = match first >> 6 {
        0 => TagClass::Universal,
        1 => TagClass::Application,
        2 => TagClass::Context,
        _ => TagClass::Private,
    };
    let constructed = first & 0x20 != 0;
    let mut tag_number = u32::from(first & 0x1F);
    if tag_number == 0x1F {
        tag_number = 0;
        loop {
            let b = *data.get(p).ok_or_else(|| err(p, "truncated tag number"))?;
            p += 1;
            if tag_number > (u32::MAX >> 7) {
                return Err(err(start, "tag number too large"));
            }
            tag_number = (tag_number << 7) | u32::from(b & 0x7F);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let l = *data.get(p).ok_or_else(|| err(p, "truncated length"))?;
    p += 1;
    let (indefinite, content_len) = if l == 0x80 {
        if !constructed {
            return Err(err(start, "indefinite length on a primitive encoding"));
        }
        (true, 0)
    } else if l & 0x80 == 0 {
        (false, usize::from(l))
    } else {
        let n = usize::from(l & 0x7F);
        if n > 4 {
            return Err(err(start, "length field too long"));
        }
        let bytes = data
            .get(p..p + n)
            .ok_or_else(|| err(p, "truncated length"))?;
        p += n;
        (
            false,
            bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
        )
    };
    Ok(Header {
        class,
        constructed,
        tag_number,
        header_len: p - start,
        indefinite,
        content_len,
    })
}

/// Total length of the TLV at `start` and its header.
fn tlv_len(data: &[u8], start: usize, depth: usize) -> Result<(usize, Header), Error> {
    if depth > MAX_DEPTH {
        return Err(err(start, "nesting too deep"));
    }
    let h = header(data, start)?;
    let body = start + h.header_len;
    if !h.indefinite {
        let end = body
            .checked_add(h.content_len)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| err(start, "length exceeds the available data"))?;
        return Ok((end - start, h));
    }
    let mut p = body;
    loop {
        match data.get(p..p + 2) {
            Some([0, 0]) => return Ok((p + 2 - start, h)),
            Some(_) => {
                let (len, _) = tlv_len(data, p, depth + 1)?;
                p += len;
            }
            None => return Err(err(p, "missing end-of-contents")),
        }
    }
}
