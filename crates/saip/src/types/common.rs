//! Building blocks shared by every profile element: `PEHeader`, `File` / `Fcp` /
//! `ProprietaryInfo`, and the two mechanisms that make the codec forward compatible
//! (`EXTENSIBILITY IMPLIED`): [`Extensions`] and the [`saip_choice!`] macro.
//!
//! Tagging follows X.680 as the module header (`AUTOMATIC TAGS EXTENSIBILITY IMPLIED`)
//! prescribes: automatic tags are only applied to a SEQUENCE/CHOICE in which no component has
//! a tag of its own, tags on SEQUENCE/SEQUENCE OF components are implicit, and a tag on a CHOICE
//! is always explicit. Every tag is spelled out on its field, so no rasn automatic tagging is used.
//!
//! `DEFAULT` components are modelled as `Option<T>`: `None` means "absent on the wire", so a
//! value decoded from a package that spelled out a default value re-encodes byte-identically.
//! The `*_or_default()` accessors give the effective value.

use rasn::prelude::*;
use rasn::types::{Any, Identifier};

/// Unknown extension components at the end of an extensible SEQUENCE.
///
/// Every SEQUENCE of the module is extensible (`EXTENSIBILITY IMPLIED`), so a package written
/// for a newer version of the specification may carry components this codec does not know.
/// They are collected here verbatim (complete TLVs) instead of failing the decode, and written
/// back unchanged when encoding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Extensions(pub Vec<Any>);

impl Extensions {
    /// No unknown components.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Whether there are no unknown components.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl AsnType for Extensions {
    const TAG: Tag = Tag::EOC;
}

impl Decode for Extensions {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        _tag: Tag,
        _constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        let mut items = Vec::new();
        while let Some(any) = decoder.decode_optional::<Any>()? {
            items.push(any);
        }
        Ok(Self(items))
    }
}

impl Encode for Extensions {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        _tag: Tag,
        _constraints: &Constraints,
        _identifier: Identifier,
    ) -> Result<(), E::Error> {
        for any in &self.0 {
            encoder.encode_any(Tag::EOC, any, Identifier::EMPTY)?;
        }
        Ok(())
    }
}

/// Defines an extensible CHOICE with an `Unknown` catch-all alternative.
///
/// Each alternative is listed as `Variant(Type) = TAG, "asn1-name";` where `TAG` is the tag the
/// alternative carries on the wire (implicit, as the alternatives of the CHOICEs in this module
/// are never themselves untagged CHOICEs). An alternative with any other tag decodes into
/// `Unknown` (complete TLV, kept verbatim) instead of failing.
macro_rules! saip_choice {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($ty:ty) = $tag:expr, $ident:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )+
            /// An alternative unknown to this version of the module (complete TLV, kept verbatim).
            Unknown(rasn::types::Any),
        }

        impl rasn::AsnType for $name {
            const TAG: rasn::types::Tag = rasn::types::Tag::EOC;
            const TAG_TREE: rasn::types::TagTree =
                rasn::types::TagTree::Choice(<$name as rasn::types::Choice>::VARIANTS);
            const IS_CHOICE: bool = true;
        }

        impl rasn::types::Choice for $name {
            const VARIANTS: &'static [rasn::types::TagTree] =
                &[$(rasn::types::TagTree::Leaf($tag),)+];
            const VARIANCE_CONSTRAINT: rasn::types::Constraints = rasn::types::Constraints::NONE;
            const IDENTIFIERS: &'static [&'static str] = &[$($ident,)+];
        }

        impl rasn::types::DecodeChoice for $name {
            fn from_tag<D: rasn::Decoder>(
                decoder: &mut D,
                tag: rasn::types::Tag,
            ) -> Result<Self, D::Error> {
                $(
                    if tag == $tag {
                        return <$ty as rasn::Decode>::decode_with_tag(decoder, $tag)
                            .map(Self::$variant);
                    }
                )+
                <rasn::types::Any as rasn::Decode>::decode(decoder).map(Self::Unknown)
            }
        }

        impl rasn::Decode for $name {
            fn decode<D: rasn::Decoder>(decoder: &mut D) -> Result<Self, D::Error> {
                decoder.decode_choice(&rasn::types::Constraints::NONE)
            }

            fn decode_with_tag_and_constraints<D: rasn::Decoder>(
                decoder: &mut D,
                tag: rasn::types::Tag,
                _constraints: &rasn::types::Constraints,
            ) -> Result<Self, D::Error> {
                if tag == rasn::types::Tag::EOC {
                    Self::decode(decoder)
                } else {
                    // A tagged CHOICE is always explicitly tagged (X.680 31.2.7).
                    decoder.decode_explicit_prefix(tag)
                }
            }
        }

        impl rasn::Encode for $name {
            fn encode<'b, E: rasn::Encoder<'b>>(&self, encoder: &mut E) -> Result<(), E::Error> {
                let tag = match self {
                    $( Self::$variant(_) => $tag, )+
                    Self::Unknown(_) => rasn::types::Tag::EOC,
                };
                encoder
                    .encode_choice::<Self>(
                        &rasn::types::Constraints::NONE,
                        tag,
                        |encoder| {
                            match self {
                                $( Self::$variant(value) => {
                                    rasn::Encode::encode_with_tag(value, encoder, $tag)?;
                                } )+
                                Self::Unknown(any) => {
                                    encoder.encode_any(
                                        rasn::types::Tag::EOC,
                                        any,
                                        rasn::types::Identifier::EMPTY,
                                    )?;
                                }
                            };
                            Ok(tag)
                        },
                        rasn::types::Identifier::EMPTY,
                    )
                    .map(drop)
            }

            fn encode_with_tag_and_constraints<'b, E: rasn::Encoder<'b>>(
                &self,
                encoder: &mut E,
                tag: rasn::types::Tag,
                _constraints: &rasn::types::Constraints,
                _identifier: rasn::types::Identifier,
            ) -> Result<(), E::Error> {
                if tag == rasn::types::Tag::EOC {
                    self.encode(encoder)
                } else {
                    encoder
                        .encode_explicit_prefix(tag, self, rasn::types::Identifier::EMPTY)
                        .map(drop)
                }
            }
        }
    };
}
pub(crate) use saip_choice;

/// `PEHeader`: the header every profile element except `ProfileHeader` starts with
/// (SAIP section 8.1.2).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct PeHeader {
    /// `mandated NULL OPTIONAL`: support of this PE is mandatory for the eUICC.
    #[rasn(tag(context, 0))]
    pub mandated: Option<()>,
    /// `identification UInt15`: identification number of this PE within the package.
    #[rasn(tag(context, 1))]
    pub identification: u16,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl PeHeader {
    /// A header with the given identification number, not mandated.
    pub fn new(identification: u16) -> Self {
        Self {
            mandated: None,
            identification,
            extensions: Extensions::new(),
        }
    }
}

/// `ProprietaryInfo`: proprietary file information (tag `A5` inside the FCP, SAIP 8.3.2).
///
/// Its components carry their own tags, so no automatic tagging applies.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct ProprietaryInfo {
    /// `specialFileInformation [PRIVATE 0] OCTET STRING (SIZE (1)) DEFAULT '00'H`.
    #[rasn(tag(private, 0))]
    pub special_file_information: Option<OctetString>,
    /// `fillPattern [PRIVATE 1] OCTET STRING (SIZE(1..200)) OPTIONAL`.
    #[rasn(tag(private, 1))]
    pub fill_pattern: Option<OctetString>,
    /// `repeatPattern [PRIVATE 2] OCTET STRING (SIZE(1..200)) OPTIONAL`.
    #[rasn(tag(private, 2))]
    pub repeat_pattern: Option<OctetString>,
    /// `maximumFileSize [6] OCTET STRING OPTIONAL` (BER-TLV files).
    #[rasn(tag(context, 6))]
    pub maximum_file_size: Option<OctetString>,
    /// `fileDetails [4] OCTET STRING (SIZE(1)) DEFAULT '01'H` (BER-TLV files).
    #[rasn(tag(context, 4))]
    pub file_details: Option<OctetString>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `Fcp`: file control parameters of a file to create (SAIP 8.3.2, coding per ETSI TS 102 222).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct Fcp {
    /// `fileDescriptor [2] OCTET STRING (SIZE(2..4)) OPTIONAL`.
    #[rasn(tag(context, 2))]
    pub file_descriptor: Option<OctetString>,
    /// `fileID [3] OCTET STRING (SIZE(2)) OPTIONAL` (temporary file ID for ADFs).
    #[rasn(tag(context, 3))]
    pub file_id: Option<OctetString>,
    /// `dfName [4] ApplicationIdentifier OPTIONAL` (ADFs only).
    #[rasn(tag(context, 4))]
    pub df_name: Option<OctetString>,
    /// `lcsi [10] OCTET STRING (SIZE (1)) DEFAULT '05'H`.
    #[rasn(tag(context, 10))]
    pub lcsi: Option<OctetString>,
    /// `securityAttributesReferenced [11] OCTET STRING (SIZE (1..3)) OPTIONAL`.
    #[rasn(tag(context, 11))]
    pub security_attributes_referenced: Option<OctetString>,
    /// `efFileSize [0] OCTET STRING OPTIONAL` (minimum number of octets).
    #[rasn(tag(context, 0))]
    pub ef_file_size: Option<OctetString>,
    /// `pinStatusTemplateDO [PRIVATE 6] OCTET STRING OPTIONAL` (DF/ADF only).
    #[rasn(tag(private, 6))]
    pub pin_status_template_do: Option<OctetString>,
    /// `shortEFID [8] OCTET STRING (SIZE (0..1)) OPTIONAL`.
    #[rasn(tag(context, 8))]
    pub short_ef_id: Option<OctetString>,
    /// `proprietaryEFInfo [5] ProprietaryInfo OPTIONAL`.
    #[rasn(tag(context, 5))]
    pub proprietary_ef_info: Option<ProprietaryInfo>,
    /// `linkPath [PRIVATE 7] OCTET STRING (SIZE (0..8)) OPTIONAL`.
    #[rasn(tag(private, 7))]
    pub link_path: Option<OctetString>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

impl Fcp {
    /// Effective life cycle status integer (`lcsi`, DEFAULT `'05'H`).
    pub fn lcsi_or_default(&self) -> u8 {
        self.lcsi
            .as_ref()
            .and_then(|v| v.first().copied())
            .unwrap_or(0x05)
    }

    /// `efFileSize` as a number, if present and at most 8 octets long.
    pub fn file_size(&self) -> Option<u64> {
        let raw = self.ef_file_size.as_ref()?;
        (raw.len() <= 8).then(|| raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
}

saip_choice! {
    /// One element of a [`File`]: the anonymous `CHOICE` inside
    /// `File ::= SEQUENCE OF CHOICE { doNotCreate NULL, fileDescriptor Fcp,
    /// fillFileOffset UInt16, fillFileContent OCTET STRING }` (automatic tags `[0]`…`[3]`).
    pub enum FileElement {
        /// `doNotCreate [0] NULL`: do not create this "created by default" template file.
        DoNotCreate(()) = Tag::new(Class::Context, 0), "doNotCreate";
        /// `fileDescriptor [1] Fcp`: FCP overriding/defining the file's parameters.
        FileDescriptor(Box<Fcp>) = Tag::new(Class::Context, 1), "fileDescriptor";
        /// `fillFileOffset [2] UInt16`: skip this many bytes before the next content.
        FillFileOffset(u16) = Tag::new(Class::Context, 2), "fillFileOffset";
        /// `fillFileContent [3] OCTET STRING`: content written at the current position.
        FillFileContent(OctetString) = Tag::new(Class::Context, 3), "fillFileContent";
    }
}

impl core::fmt::Debug for FileElement {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::DoNotCreate(()) => f.write_str("DoNotCreate"),
            Self::FileDescriptor(fcp) => f.debug_tuple("FileDescriptor").field(fcp).finish(),
            Self::FillFileOffset(o) => f.debug_tuple("FillFileOffset").field(o).finish(),
            Self::FillFileContent(c) => f.debug_tuple("FillFileContent").field(c).finish(),
            Self::Unknown(a) => f.debug_tuple("Unknown").field(a).finish(),
        }
    }
}

/// `File ::= SEQUENCE OF CHOICE {...}`: a file of a template PE, as a list of
/// [`FileElement`]s (SAIP 8.3.3).
///
/// Content is laid out by walking the list: `fillFileContent` writes at the current position
/// and advances it, `fillFileOffset` advances it without writing.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
#[rasn(delegate)]
pub struct File(pub Vec<FileElement>);

impl File {
    /// A file consisting of just the given content (no FCP: the template's FCP applies).
    pub fn with_content(content: impl Into<Vec<u8>>) -> Self {
        Self(vec![FileElement::FillFileContent(OctetString::from(
            content.into(),
        ))])
    }

    /// The first FCP (`fileDescriptor`) of the file, if any.
    pub fn fcp(&self) -> Option<&Fcp> {
        self.0.iter().find_map(|e| match e {
            FileElement::FileDescriptor(fcp) => Some(&**fcp),
            _ => None,
        })
    }

    /// Whether the file carries `doNotCreate`.
    pub fn is_do_not_create(&self) -> bool {
        self.0
            .iter()
            .any(|e| matches!(e, FileElement::DoNotCreate(())))
    }

    /// The content the PE writes into the file, laid out by offset; gaps left by
    /// `fillFileOffset` are filled with `0xFF` (the usual erased value). `None` if the PE
    /// writes no content at all.
    pub fn content(&self) -> Option<Vec<u8>> {
        let mut out: Vec<u8> = Vec::new();
        let mut pos = 0usize;
        let mut any = false;
        for e in &self.0 {
            match e {
                FileElement::FillFileOffset(o) => pos = pos.saturating_add(usize::from(*o)),
                FileElement::FillFileContent(c) => {
                    any = true;
                    let end = pos.saturating_add(c.len());
                    if out.len() < end {
                        out.resize(end, 0xFF);
                    }
                    out[pos..end].copy_from_slice(c);
                    pos = end;
                }
                _ => {}
            }
        }
        any.then_some(out)
    }

    /// Replace the file's content: every `fillFileOffset`/`fillFileContent` element is
    /// removed and one `fillFileContent` with `content` is written where the first content
    /// element was (or appended after the FCP).
    pub fn set_content(&mut self, content: impl Into<Vec<u8>>) {
        let new = FileElement::FillFileContent(OctetString::from(content.into()));
        let first = self.0.iter().position(|e| {
            matches!(
                e,
                FileElement::FillFileOffset(_) | FileElement::FillFileContent(_)
            )
        });
        self.0.retain(|e| {
            !matches!(
                e,
                FileElement::FillFileOffset(_) | FileElement::FillFileContent(_)
            )
        });
        let at = first.unwrap_or(self.0.len()).min(self.0.len());
        self.0.insert(at, new);
    }
}

impl From<Vec<FileElement>> for File {
    fn from(v: Vec<FileElement>) -> Self {
        Self(v)
    }
}
