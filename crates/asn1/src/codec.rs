//! Codec plumbing shared by every SGP.22 type: BER/DER entry points, the
//! [`Extensions`] catch-all that keeps unknown extension fields from newer
//! peers, extensible CHOICE support, and a BER TLV view (on `simforge_tlv`, the one reader).
//!
//! The module `RSPDefinitions` is declared `EXTENSIBILITY IMPLIED`, so every
//! SEQUENCE and CHOICE may grow in later versions of SGP.22 (v3 eUICCs do add
//! fields to `EUICCInfo2`, for instance). rasn's derived BER decoder rejects
//! trailing data, so every SEQUENCE in this crate ends with an
//! [`Extensions`] field that swallows (and preserves, for byte-exact
//! re-encoding) any unknown trailing TLVs, and every CHOICE carries an
//! `Unknown` alternative holding the raw TLV of an alternative it does not know.
//!
//! Only the BER family of encoding rules (BER, CER, DER) is supported; that
//! is all SGP.22 uses.

use rasn::types::{Any, AsnType, Class, Constraints, Identifier, Tag};
use rasn::{Decode, Decoder, Encode, Encoder};

use crate::Error;

/// Encodes a value with DER (X.690 distinguished encoding rules).
///
/// # Errors
/// [`Error::Encode`] when rasn refuses the value (e.g. a size constraint).
pub fn to_der<T: Encode>(value: &T) -> Result<Vec<u8>, Error> {
    rasn::der::encode(value).map_err(|e| Error::Encode(e.to_string()))
}

/// Decodes a value from BER (definite or indefinite lengths; DER is a subset).
/// The whole input must be consumed.
///
/// # Errors
/// [`Error::Decode`] naming the expected type on malformed input.
pub fn from_ber<T: Decode>(bytes: &[u8]) -> Result<T, Error> {
    let (value, rest) =
        rasn::ber::decode_with_remainder::<T>(bytes).map_err(|e| Error::Decode {
            what: short_type_name::<T>(),
            reason: e.to_string(),
        })?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(Error::Decode {
            what: short_type_name::<T>(),
            reason: format!("{} trailing bytes after the value", rest.len()),
        })
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// Unknown trailing TLVs of an extensible SEQUENCE, kept verbatim.
///
/// Decoding collects every TLV that follows the last known component; DER
/// encoding writes them back unchanged after the known components. Build
/// values with `Extensions::default()` (no unknown fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Extensions(pub Vec<Any>);

impl Extensions {
    /// True when the peer sent no unknown fields.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw TLVs (tag, length and value) of the unknown fields.
    pub fn raw(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(Any::as_bytes)
    }
}

impl AsnType for Extensions {
    const TAG: Tag = Tag::EOC;
}

impl Encode for Extensions {
    fn encode<'b, E: Encoder<'b>>(&self, encoder: &mut E) -> Result<(), E::Error> {
        for any in &self.0 {
            encoder.encode_any(Tag::EOC, any, Identifier::EMPTY)?;
        }
        Ok(())
    }

    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        _tag: Tag,
        _constraints: &Constraints,
        _identifier: Identifier,
    ) -> Result<(), E::Error> {
        self.encode(encoder)
    }
}

impl Decode for Extensions {
    fn decode<D: Decoder>(decoder: &mut D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        while let Some(any) = decoder.decode_optional::<Any>()? {
            out.push(any);
        }
        Ok(Self(out))
    }

    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        _tag: Tag,
        _constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        Self::decode(decoder)
    }
}

/// One BER TLV located in a byte slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag bytes exactly as encoded (e.g. `[0xBF, 0x36]`).
    pub tag: &'a [u8],
    /// The value bytes (for indefinite lengths: the contents before the
    /// end-of-contents octets).
    pub value: &'a [u8],
    /// The whole TLV including tag, length and (if any) end-of-contents.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Reads the first TLV of `input`; returns it and the rest of the input.
    ///
    /// # Errors
    /// [`Error::Tlv`] on truncated input or a malformed length.
    pub fn parse(input: &'a [u8]) -> Result<(Tlv<'a>, &'a [u8]), Error> {
        use simforge_tlv::ErrorKind as K;
        const RULES: simforge_tlv::Rules = simforge_tlv::Rules {
            tag: simforge_tlv::TagRule::Raw7,
            max_depth: 64,
        };
        let e = simforge_tlv::element(input, 0, RULES).map_err(|e| {
            Error::Tlv(match e.kind {
                K::Empty => "empty input".into(),
                K::TruncatedTag => "truncated tag".into(),
                K::NonMinimalTag => "non-minimal tag".into(),
                K::TagTooLong => "tag too long".into(),
                K::MissingLength | K::TruncatedLength => "truncated length".into(),
                K::LengthTooLong => "length of length too large".into(),
                K::IndefinitePrimitive => "indefinite length on a primitive".into(),
                K::ValueOverrun(len) => format!("value of {len} bytes runs past the input"),
                K::MissingEndOfContents => "missing end-of-contents".into(),
                K::TooDeep => "nesting too deep".into(),
            })
        })?;
        let (raw, rest) = input.split_at(e.total_len);
        Ok((
            Tlv {
                tag: &input[..e.header.tag_len],
                value: &input[e.value_range(0)],
                raw,
            },
            rest,
        ))
    }

    /// Splits a sequence of concatenated TLVs (e.g. the value of a constructed TLV).
    ///
    /// # Errors
    /// [`Error::Tlv`] if any element is malformed.
    pub fn parse_all(mut input: &'a [u8]) -> Result<Vec<Tlv<'a>>, Error> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (tlv, rest) = Self::parse(input)?;
            out.push(tlv);
            input = rest;
        }
        Ok(out)
    }

    /// The tag as a rasn [`Tag`] (class and number), if it fits in a u32.
    #[must_use]
    pub fn rasn_tag(&self) -> Option<Tag> {
        let first = *self.tag.first()?;
        let class = match first >> 6 {
            0 => Class::Universal,
            1 => Class::Application,
            2 => Class::Context,
            _ => Class::Private,
        };
        let number = if first & 0x1F == 0x1F {
            let mut n: u32 = 0;
            for b in &self.tag[1..] {
                n = n.checked_mul(128)?.checked_add(u32::from(b & 0x7F))?;
            }
            n
        } else {
            u32::from(first & 0x1F)
        };
        Some(Tag::new(class, number))
    }
}

/// Decodes `bytes` (one complete TLV) as `T` carrying `tag` instead of its own.
pub(crate) fn ber_decode_with_tag<T: Decode>(
    bytes: &[u8],
    tag: Tag,
) -> Result<T, rasn::error::DecodeError> {
    let mut dec = rasn::ber::de::Decoder::new(bytes, rasn::ber::de::DecoderOptions::ber());
    T::decode_with_tag(&mut dec, tag)
}

/// DER-encodes `value` carrying `tag` instead of its own.
pub(crate) fn der_encode_with_tag<T: Encode>(
    value: &T,
    tag: Tag,
) -> Result<Vec<u8>, rasn::error::EncodeError> {
    let mut enc = rasn::ber::enc::Encoder::new(rasn::ber::enc::EncoderOptions::der());
    value.encode_with_tag(&mut enc, tag)?;
    Ok(enc.output())
}

/// Defines an extensible CHOICE: an enum with the listed alternatives plus
/// `Unknown(Any)` for alternatives added by newer versions, with BER/DER codecs.
///
/// `outer` (optional) is the type's own EXPLICIT tag, e.g. `[45] CHOICE`.
/// Each alternative is `Variant(Type) = tag` where the tag is the one the
/// alternative carries on the wire (implicit, or `explicit(tag)` for a tagged
/// alternative whose type is itself an untagged CHOICE).
macro_rules! ext_choice {
    (
        $(#[$meta:meta])*
        pub enum $name:ident $([outer $outer:expr])? {
            $( $(#[$vmeta:meta])* $variant:ident($ty:ty) = $kind:ident($tag:expr) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        // Messages are decoded once per request and matched on directly;
        // boxing the large alternatives would only complicate every match.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )+
            /// An alternative unknown to this version (raw TLV, kept verbatim).
            Unknown(rasn::types::Any),
        }

        impl $name {
            #[allow(unused_mut, unused_assignments)]
            const OUTER: Option<rasn::types::Tag> = {
                let mut t = None;
                $( t = Some($outer); )?
                t
            };

            fn encode_inner(&self) -> Result<Vec<u8>, rasn::error::EncodeError> {
                match self {
                    $( Self::$variant(v) => ext_choice!(@enc $kind, v, $tag), )+
                    Self::Unknown(any) => Ok(any.as_bytes().to_vec()),
                }
            }

            fn decode_inner(bytes: &[u8]) -> Result<Self, rasn::error::DecodeError> {
                let codec = rasn::Codec::Ber;
                let (tlv, rest) = $crate::codec::Tlv::parse(bytes)
                    .map_err(|e| rasn::error::DecodeError::parser_fail(e.to_string(), codec))?;
                if !rest.is_empty() {
                    return Err(rasn::error::DecodeError::parser_fail(
                        "trailing data in CHOICE".into(), codec));
                }
                let Some(tag) = tlv.rasn_tag() else {
                    return Ok(Self::Unknown(rasn::types::Any::new(bytes.to_vec())));
                };
                $( if tag == $tag { return ext_choice!(@dec $kind, $variant, $ty, bytes, $tag); } )+
                Ok(Self::Unknown(rasn::types::Any::new(bytes.to_vec())))
            }
        }

        impl rasn::types::AsnType for $name {
            const TAG: rasn::types::Tag = match Self::OUTER {
                Some(t) => t,
                None => rasn::types::Tag::EOC,
            };
        }

        impl rasn::Encode for $name {
            fn encode<'b, E: rasn::Encoder<'b>>(&self, encoder: &mut E) -> Result<(), E::Error> {
                match Self::OUTER {
                    Some(t) => self.encode_with_tag(encoder, t),
                    None => {
                        let inner = self.encode_inner().map_err(E::Error::from)?;
                        encoder.encode_any(rasn::types::Tag::EOC,
                            &rasn::types::Any::new(inner), rasn::types::Identifier::EMPTY)?;
                        Ok(())
                    }
                }
            }

            fn encode_with_tag_and_constraints<'b, E: rasn::Encoder<'b>>(
                &self,
                encoder: &mut E,
                tag: rasn::types::Tag,
                _constraints: &rasn::types::Constraints,
                _identifier: rasn::types::Identifier,
            ) -> Result<(), E::Error> {
                if tag == rasn::types::Tag::EOC {
                    return self.encode(encoder);
                }
                // A tagged CHOICE is always EXPLICIT (X.680 31.2.7).
                let inner = self.encode_inner().map_err(E::Error::from)?;
                encoder.encode_any(tag, &rasn::types::Any::new(inner),
                    rasn::types::Identifier::EMPTY)?;
                Ok(())
            }
        }

        impl rasn::Decode for $name {
            fn decode<D: rasn::Decoder>(decoder: &mut D) -> Result<Self, D::Error> {
                match Self::OUTER {
                    Some(t) => Self::decode_with_tag(decoder, t),
                    None => {
                        let any = decoder.decode_any(rasn::types::Tag::EOC)?;
                        Self::decode_inner(any.as_bytes()).map_err(D::Error::from)
                    }
                }
            }

            fn decode_with_tag_and_constraints<D: rasn::Decoder>(
                decoder: &mut D,
                tag: rasn::types::Tag,
                _constraints: &rasn::types::Constraints,
            ) -> Result<Self, D::Error> {
                if tag == rasn::types::Tag::EOC {
                    return Self::decode(decoder);
                }
                let any: rasn::types::Any = decoder.decode_explicit_prefix(tag)?;
                Self::decode_inner(any.as_bytes()).map_err(D::Error::from)
            }
        }
    };
    (@enc implicit, $v:ident, $tag:expr) => { $crate::codec::der_encode_with_tag($v, $tag) };
    (@enc explicit, $v:ident, $tag:expr) => {{
        let inner = rasn::der::encode($v)?;
        let mut enc = rasn::ber::enc::Encoder::new(rasn::ber::enc::EncoderOptions::der());
        rasn::Encoder::encode_any(&mut enc, $tag, &rasn::types::Any::new(inner),
            rasn::types::Identifier::EMPTY)?;
        Ok(enc.output())
    }};
    (@dec implicit, $variant:ident, $ty:ty, $bytes:ident, $tag:expr) => {
        $crate::codec::ber_decode_with_tag::<$ty>($bytes, $tag).map(Self::$variant)
    };
    (@dec explicit, $variant:ident, $ty:ty, $bytes:ident, $tag:expr) => {{
        let mut dec = rasn::ber::de::Decoder::new($bytes, rasn::ber::de::DecoderOptions::ber());
        let any: rasn::types::Any = rasn::Decoder::decode_explicit_prefix(&mut dec, $tag)?;
        rasn::ber::decode::<$ty>(any.as_bytes()).map(Self::$variant)
    }};
}
pub(crate) use ext_choice;

/// Context-specific tag `[n]`.
pub(crate) const fn ctx(n: u32) -> Tag {
    Tag::new(Class::Context, n)
}

/// Application tag `[APPLICATION n]`.
pub(crate) const fn app(n: u32) -> Tag {
    Tag::new(Class::Application, n)
}
