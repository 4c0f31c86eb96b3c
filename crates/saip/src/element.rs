//! `ProfileElement`: the top-level CHOICE of the module, one per TLV of a profile package.
//!
//! The CHOICE uses automatic tags: alternative *n* is tagged `[n]` (context-specific,
//! constructed: `A0` = header, `A1` = genericFileManagement, … `B0` = mf, …, `BF 20` = iot).
//! It is extensible, so an alternative this version does not know (including the reserved
//! `rfu1`…`rfu5`) decodes into [`ProfileElement::Unknown`] and is re-encoded verbatim.

use rasn::types::{Class, Tag};

use crate::Error;
use crate::tlv::{self, TagClass};
use crate::types::*;

macro_rules! profile_elements {
    ($( $num:literal => $variant:ident($ty:ty), $name:literal; )+) => {
        /// `ProfileElement ::= CHOICE {...}` (SAIP section 8.1). Large file-system PEs are
        /// boxed to keep the enum small.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum ProfileElement {
            $(
                #[doc = concat!("`", $name, " [", stringify!($num), "]`.")]
                $variant($ty),
            )+
            /// An alternative unknown to this version (or a reserved `rfu` alternative):
            /// its tag number and complete TLV, re-encoded verbatim.
            Unknown {
                /// Context-specific tag number of the alternative.
                tag_number: u32,
                /// The complete TLV as received.
                raw: Vec<u8>,
            },
        }

        impl ProfileElement {
            /// Context-specific tag number of this alternative.
            pub fn tag_number(&self) -> u32 {
                match self {
                    $( Self::$variant(_) => $num, )+
                    Self::Unknown { tag_number, .. } => *tag_number,
                }
            }

            /// ASN.1 name of this alternative (e.g. `"akaParameter"`).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Self::$variant(_) => $name, )+
                    Self::Unknown { .. } => "unknown",
                }
            }

            fn decode_known(
                tag_number: u32,
                tlv: &[u8],
            ) -> Option<Result<Self, rasn::error::DecodeError>> {
                Some(match tag_number {
                    $( $num => decode_tagged::<$ty>(tlv, $num).map(Self::$variant), )+
                    _ => return None,
                })
            }

            fn encode_known(
                &self,
                encoder: &mut rasn::ber::enc::Encoder,
            ) -> Result<(), rasn::error::EncodeError> {
                use rasn::Encode;
                match self {
                    $( Self::$variant(v) => v.encode_with_tag(encoder, Tag::new(Class::Context, $num)), )+
                    Self::Unknown { .. } => Ok(()),
                }
            }
        }

        /// ASN.1 name of the `ProfileElement` alternative with context tag `tag_number`.
        pub(crate) fn alternative_name(tag_number: u32) -> Option<&'static str> {
            match tag_number {
                $( $num => Some($name), )+
                11..=15 => Some("rfu"),
                _ => None,
            }
        }
    };
}

profile_elements! {
    0 => Header(ProfileHeader), "header";
    1 => GenericFileManagement(PeGenericFileManagement), "genericFileManagement";
    2 => PinCodes(PePinCodes), "pinCodes";
    3 => PukCodes(PePukCodes), "pukCodes";
    4 => AkaParameter(PeAkaParameter), "akaParameter";
    5 => CdmaParameter(PeCdmaParameter), "cdmaParameter";
    6 => SecurityDomain(Box<PeSecurityDomain>), "securityDomain";
    7 => Rfm(PeRfm), "rfm";
    8 => Application(Box<PeApplication>), "application";
    9 => NonStandard(PeNonStandard), "nonStandard";
    10 => End(PeEnd), "end";
    16 => Mf(Box<PeMf>), "mf";
    17 => Cd(Box<PeCd>), "cd";
    18 => Telecom(Box<PeTelecom>), "telecom";
    19 => Usim(Box<PeUsim>), "usim";
    20 => OptUsim(Box<PeOptUsim>), "opt-usim";
    21 => Isim(Box<PeIsim>), "isim";
    22 => OptIsim(Box<PeOptIsim>), "opt-isim";
    23 => Phonebook(Box<PePhonebook>), "phonebook";
    24 => GsmAccess(Box<PeGsmAccess>), "gsm-access";
    25 => Csim(Box<PeCsim>), "csim";
    26 => OptCsim(Box<PeOptCsim>), "opt-csim";
    27 => Eap(Box<PeEap>), "eap";
    28 => Df5gs(Box<PeDf5gs>), "df-5gs";
    29 => DfSaip(Box<PeDfSaip>), "df-saip";
    30 => DfSnpn(Box<PeDfSnpn>), "df-snpn";
    31 => Df5gprose(Box<PeDf5gprose>), "df-5gprose";
    32 => Iot(Box<PeIot>), "iot";
    33 => OptIot(Box<PeOptIot>), "opt-iot";
}

fn decode_tagged<T: rasn::Decode>(tlv: &[u8], num: u32) -> Result<T, rasn::error::DecodeError> {
    let mut decoder = rasn::ber::de::Decoder::new(tlv, rasn::ber::de::DecoderOptions::ber());
    T::decode_with_tag(&mut decoder, Tag::new(Class::Context, num))
}

impl ProfileElement {
    /// Decodes one profile element from a buffer holding exactly one BER/DER TLV (as the
    /// eUICC receives them one by one). Trailing bytes are an error.
    pub fn from_ber(tlv: &[u8]) -> Result<Self, Error> {
        let (pe, used) = Self::decode_first(tlv)?;
        if used != tlv.len() {
            return Err(Error::Tlv {
                offset: used,
                reason: "trailing data after the profile element",
            });
        }
        Ok(pe)
    }

    /// Decodes the first profile element of `data`, returning it and the number of bytes it
    /// occupied.
    pub fn decode_first(data: &[u8]) -> Result<(Self, usize), Error> {
        let raw = tlv::scan(data, 0)?;
        Ok((Self::decode_raw(&raw, 0)?, raw.bytes.len()))
    }

    pub(crate) fn decode_raw(raw: &tlv::RawElement<'_>, index: usize) -> Result<Self, Error> {
        if raw.class != TagClass::Context || !raw.constructed {
            return Err(Error::Decode {
                index,
                offset: raw.offset,
                element: "?",
                message: "a profile element must be a context-specific constructed TLV".into(),
            });
        }
        match Self::decode_known(raw.tag_number, raw.bytes) {
            Some(Ok(pe)) => Ok(pe),
            Some(Err(e)) => Err(Error::Decode {
                index,
                offset: raw.offset,
                element: alternative_name(raw.tag_number).unwrap_or("?"),
                message: e.to_string(),
            }),
            None => Ok(Self::Unknown {
                tag_number: raw.tag_number,
                raw: raw.bytes.to_vec(),
            }),
        }
    }

    /// Encodes this element (DER for known alternatives; unknown ones verbatim).
    pub fn to_der(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoding of this element to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if let Self::Unknown { raw, .. } = self {
            out.extend_from_slice(raw);
            return Ok(());
        }
        let mut encoder = rasn::ber::enc::Encoder::new(rasn::ber::enc::EncoderOptions::der());
        let result = self.encode_known(&mut encoder);
        out.extend_from_slice(&encoder.output());
        result.map_err(|e| Error::Encode {
            element: self.name(),
            message: e.to_string(),
        })
    }

    /// The common `PEHeader` (every alternative except `header` and unknown ones has one).
    pub fn pe_header(&self) -> Option<&PeHeader> {
        Some(match self {
            Self::Header(_) | Self::Unknown { .. } => return None,
            Self::GenericFileManagement(p) => &p.header,
            Self::PinCodes(p) => &p.header,
            Self::PukCodes(p) => &p.header,
            Self::AkaParameter(p) => &p.header,
            Self::CdmaParameter(p) => &p.header,
            Self::SecurityDomain(p) => &p.header,
            Self::Rfm(p) => &p.header,
            Self::Application(p) => &p.header,
            Self::NonStandard(p) => &p.header,
            Self::End(p) => &p.header,
            Self::Mf(p) => &p.header,
            Self::Cd(p) => &p.header,
            Self::Telecom(p) => &p.header,
            Self::Usim(p) => &p.header,
            Self::OptUsim(p) => &p.header,
            Self::Isim(p) => &p.header,
            Self::OptIsim(p) => &p.header,
            Self::Phonebook(p) => &p.header,
            Self::GsmAccess(p) => &p.header,
            Self::Csim(p) => &p.header,
            Self::OptCsim(p) => &p.header,
            Self::Eap(p) => &p.header,
            Self::Df5gs(p) => &p.header,
            Self::DfSaip(p) => &p.header,
            Self::DfSnpn(p) => &p.header,
            Self::Df5gprose(p) => &p.header,
            Self::Iot(p) => &p.header,
            Self::OptIot(p) => &p.header,
        })
    }
}
