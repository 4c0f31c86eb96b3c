//! [`Profile`]: a decoded profile package with the accessors a personalization step needs
//! (an SM-DP+ building per-subscriber profiles from a template).
//!
//! Values are read and written in their on-card coding where that is what callers hold
//! (keys, PIN blocks) and as digit strings where that is the natural form (ICCID, IMSI).
//! Secret values are returned as borrowed bytes for the caller to wrap; nothing here logs.

use rasn::types::OctetString;

use crate::element::ProfileElement;
use crate::types::*;
use crate::{Error, decode_profile, encode_profile};

/// A profile package as a list of profile elements, in package order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    /// The profile elements.
    pub elements: Vec<ProfileElement>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidValue {
        field,
        reason: reason.into(),
    }
}

/// Encodes a digit string as swapped-nibble BCD padded with `F` (EF.ICCID coding,
/// TS 102 221 13.2), `len` octets long.
fn encode_swapped_bcd(digits: &str, len: usize, field: &'static str) -> Result<Vec<u8>, Error> {
    let nibbles = digits
        .chars()
        .map(|c| {
            c.to_digit(10)
                .and_then(|d| u8::try_from(d).ok())
                .ok_or_else(|| invalid(field, "only decimal digits are allowed"))
        })
        .collect::<Result<Vec<u8>, Error>>()?;
    if nibbles.len() > len * 2 {
        return Err(invalid(field, format!("at most {} digits", len * 2)));
    }
    let mut out = vec![0xFFu8; len];
    for (i, n) in nibbles.iter().enumerate() {
        let byte = &mut out[i / 2];
        if i % 2 == 0 {
            *byte = (*byte & 0xF0) | n;
        } else {
            *byte = (*byte & 0x0F) | (n << 4);
        }
    }
    Ok(out)
}

/// Encodes a digit string as plain (unswapped) BCD padded with `F`, as the
/// `ProfileHeader.iccid` is coded in practice (e.g. `89 00 01 23 …` in the TS.48 profiles).
fn encode_plain_bcd(digits: &str, len: usize, field: &'static str) -> Result<Vec<u8>, Error> {
    let mut out = encode_swapped_bcd(digits, len, field)?;
    for b in &mut out {
        *b = b.rotate_left(4);
    }
    Ok(out)
}

/// Decodes plain BCD up to the first `F` filler.
fn decode_plain_bcd(bytes: &[u8]) -> String {
    let swapped: Vec<u8> = bytes.iter().map(|b| b.rotate_left(4)).collect();
    decode_swapped_bcd(&swapped)
}

/// Decodes swapped-nibble BCD up to the first `F` filler.
fn decode_swapped_bcd(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for n in [b & 0x0F, b >> 4] {
            if n > 9 {
                return s;
            }
            s.push(char::from(b'0' + n));
        }
    }
    s
}

/// Encodes an IMSI as EF.IMSI content (TS 31.102 4.2.2): length octet, then the parity
/// nibble and the digits in swapped-nibble BCD, padded to 9 octets with `F`.
pub fn encode_ef_imsi(imsi: &str) -> Result<Vec<u8>, Error> {
    if !(6..=15).contains(&imsi.len()) {
        return Err(invalid("imsi", "an IMSI has 6 to 15 digits"));
    }
    let parity = if imsi.len() % 2 == 1 { '9' } else { '1' };
    // The parity indicator takes the place of the first nibble; '9'/'1' are digits, so the
    // BCD encoder accepts them.
    let with_parity: String = core::iter::once(parity).chain(imsi.chars()).collect();
    let body = encode_swapped_bcd(&with_parity, 8, "imsi")?;
    let used =
        u8::try_from(with_parity.len().div_ceil(2)).map_err(|_| invalid("imsi", "too long"))?;
    let mut out = Vec::with_capacity(9);
    out.push(used);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes EF.IMSI content into the IMSI digits.
pub fn decode_ef_imsi(content: &[u8]) -> Option<String> {
    let (&len, rest) = content.split_first()?;
    let body = rest.get(..usize::from(len))?;
    let digits = decode_swapped_bcd(body);
    // Drop the parity nibble.
    digits.get(1..).map(str::to_owned)
}

/// Pads a PIN/PUK/ADM value to the 8-octet PIN block (`FF` padding, TS 102 221 9.5.1).
fn pin_block(value: &[u8], field: &'static str) -> Result<OctetString, Error> {
    if value.is_empty() || value.len() > 8 {
        return Err(invalid(field, "must be 1 to 8 octets"));
    }
    let mut block = [0xFFu8; 8];
    block[..value.len()].copy_from_slice(value);
    Ok(OctetString::from_slice(&block))
}

impl Profile {
    /// Decodes a profile package (BER or DER).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            elements: decode_profile(bytes)?,
        })
    }

    /// Encodes the profile package (DER).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        encode_profile(&self.elements)
    }

    /// The `ProfileHeader` PE.
    pub fn header(&self) -> Option<&ProfileHeader> {
        self.elements.iter().find_map(|pe| match pe {
            ProfileElement::Header(h) => Some(h),
            _ => None,
        })
    }

    /// Mutable access to the `ProfileHeader` PE.
    pub fn header_mut(&mut self) -> Option<&mut ProfileHeader> {
        self.elements.iter_mut().find_map(|pe| match pe {
            ProfileElement::Header(h) => Some(h),
            _ => None,
        })
    }

    /// The `PE-MF`.
    pub fn mf(&self) -> Option<&PeMf> {
        self.elements.iter().find_map(|pe| match pe {
            ProfileElement::Mf(m) => Some(&**m),
            _ => None,
        })
    }

    fn mf_mut(&mut self) -> Option<&mut PeMf> {
        self.elements.iter_mut().find_map(|pe| match pe {
            ProfileElement::Mf(m) => Some(&mut **m),
            _ => None,
        })
    }

    /// The first `PE-USIM`.
    pub fn usim(&self) -> Option<&PeUsim> {
        self.elements.iter().find_map(|pe| match pe {
            ProfileElement::Usim(u) => Some(&**u),
            _ => None,
        })
    }

    fn usim_mut(&mut self) -> Option<&mut PeUsim> {
        self.elements.iter_mut().find_map(|pe| match pe {
            ProfileElement::Usim(u) => Some(&mut **u),
            _ => None,
        })
    }

    /// ICCID digits from the `ProfileHeader` (plain BCD there, unlike EF.ICCID).
    pub fn iccid(&self) -> Option<String> {
        self.header().map(|h| decode_plain_bcd(&h.iccid))
    }

    /// ICCID digits from EF.ICCID of the MF (should equal [`Self::iccid`]).
    pub fn ef_iccid(&self) -> Option<String> {
        let content = self.mf()?.ef_iccid.content()?;
        Some(decode_swapped_bcd(&content))
    }

    /// Sets the ICCID (18 to 20 digits, Luhn digit included) in the `ProfileHeader` and in
    /// EF.ICCID of the MF.
    pub fn set_iccid(&mut self, iccid: &str) -> Result<(), Error> {
        if !(18..=20).contains(&iccid.len()) {
            return Err(invalid("iccid", "an ICCID has 18 to 20 digits"));
        }
        let bcd = encode_swapped_bcd(iccid, 10, "iccid")?;
        let plain = encode_plain_bcd(iccid, 10, "iccid")?;
        self.header_mut()
            .ok_or(Error::MissingElement("header"))?
            .iccid = OctetString::from_slice(&plain);
        self.mf_mut()
            .ok_or(Error::MissingElement("mf"))?
            .ef_iccid
            .set_content(bcd);
        Ok(())
    }

    /// IMSI digits from EF.IMSI of the first USIM.
    pub fn imsi(&self) -> Option<String> {
        decode_ef_imsi(&self.usim()?.ef_imsi.content()?)
    }

    /// Sets EF.IMSI of the first USIM.
    pub fn set_imsi(&mut self, imsi: &str) -> Result<(), Error> {
        let content = encode_ef_imsi(imsi)?;
        self.usim_mut()
            .ok_or(Error::MissingElement("usim"))?
            .ef_imsi
            .set_content(content);
        Ok(())
    }

    /// All `PE-AKAParameter` elements, in package order.
    pub fn aka_parameters(&self) -> impl Iterator<Item = &PeAkaParameter> {
        self.elements.iter().filter_map(|pe| match pe {
            ProfileElement::AkaParameter(a) => Some(a),
            _ => None,
        })
    }

    /// The first `PE-AKAParameter` (the USIM's).
    pub fn aka(&self) -> Option<&PeAkaParameter> {
        self.aka_parameters().next()
    }

    /// Mutable access to the first `PE-AKAParameter`.
    pub fn aka_mut(&mut self) -> Option<&mut PeAkaParameter> {
        self.elements.iter_mut().find_map(|pe| match pe {
            ProfileElement::AkaParameter(a) => Some(a),
            _ => None,
        })
    }

    fn algo_mut(&mut self) -> Result<&mut AlgoParameter, Error> {
        self.aka_mut()
            .ok_or(Error::MissingElement("akaParameter"))?
            .algo_parameter_mut()
            .ok_or(Error::MissingElement("akaParameter.algoParameter"))
    }

    /// Algorithm ID of the first AKA parameter (see [`ALGORITHM_MILENAGE`] etc.).
    pub fn aka_algorithm(&self) -> Option<u8> {
        Some(self.aka()?.algo_parameter()?.algorithm_id)
    }

    /// Subscriber key K of the first AKA parameter.
    pub fn k(&self) -> Option<&[u8]> {
        Some(&self.aka()?.algo_parameter()?.key)
    }

    /// OPc (TOPc for TUAK) of the first AKA parameter.
    pub fn opc(&self) -> Option<&[u8]> {
        Some(&self.aka()?.algo_parameter()?.opc)
    }

    /// Configures MILENAGE with K and OPc (16 octets each). Rotation/XOR constants, SQN
    /// options and everything else are left as they are.
    pub fn set_milenage(&mut self, k: &[u8], opc: &[u8]) -> Result<(), Error> {
        if k.len() != 16 || opc.len() != 16 {
            return Err(invalid("milenage", "K and OPc must be 16 octets"));
        }
        let algo = self.algo_mut()?;
        algo.algorithm_id = ALGORITHM_MILENAGE;
        algo.key = OctetString::from_slice(k);
        algo.opc = OctetString::from_slice(opc);
        Ok(())
    }

    /// Sets the MILENAGE rotation (r1..r5) and XOR (c1..c5) constants. Values equal to the
    /// module's DEFAULT are still written explicitly; pass `None` to omit a component.
    pub fn set_milenage_constants(
        &mut self,
        rotation: Option<[u8; 5]>,
        xoring: Option<[u8; 80]>,
    ) -> Result<(), Error> {
        let algo = self.algo_mut()?;
        algo.rotation_constants = rotation.map(|r| OctetString::from_slice(&r));
        algo.xoring_constants = xoring.map(|c| OctetString::from_slice(&c));
        Ok(())
    }

    /// Configures TUAK with K (16 or 32 octets), TOPc (32 octets) and the number of
    /// Keccak iterations (`None` = omit, i.e. the DEFAULT 1).
    pub fn set_tuak(&mut self, k: &[u8], topc: &[u8], keccak: Option<u8>) -> Result<(), Error> {
        if !(k.len() == 16 || k.len() == 32) || topc.len() != 32 {
            return Err(invalid("tuak", "K must be 16 or 32 octets and TOPc 32"));
        }
        let algo = self.algo_mut()?;
        algo.algorithm_id = ALGORITHM_TUAK;
        algo.key = OctetString::from_slice(k);
        algo.opc = OctetString::from_slice(topc);
        algo.number_of_keccak = keccak;
        Ok(())
    }

    /// Sets the SQN options of the first AKA parameter (`None` = omit = DEFAULT).
    pub fn set_sqn_options(
        &mut self,
        options: Option<u8>,
        delta: Option<[u8; 6]>,
        age_limit: Option<[u8; 6]>,
    ) -> Result<(), Error> {
        let aka = self
            .aka_mut()
            .ok_or(Error::MissingElement("akaParameter"))?;
        aka.sqn_options = options.map(|o| OctetString::from_slice(&[o]));
        aka.sqn_delta = delta.map(|d| OctetString::from_slice(&d));
        aka.sqn_age_limit = age_limit.map(|d| OctetString::from_slice(&d));
        Ok(())
    }

    fn pin_configs(&self) -> impl Iterator<Item = &PinConfiguration> {
        self.elements
            .iter()
            .filter_map(|pe| match pe {
                ProfileElement::PinCodes(p) => match &p.pin_codes {
                    PinCodes::PinConfig(v) => Some(v.iter()),
                    _ => None,
                },
                _ => None,
            })
            .flatten()
    }

    fn pin_configs_mut(&mut self) -> impl Iterator<Item = &mut PinConfiguration> {
        self.elements
            .iter_mut()
            .filter_map(|pe| match pe {
                ProfileElement::PinCodes(p) => match &mut p.pin_codes {
                    PinCodes::PinConfig(v) => Some(v.iter_mut()),
                    _ => None,
                },
                _ => None,
            })
            .flatten()
    }

    /// The 8-octet PIN block with key reference `key_ref` (see [`key_ref`]), from the first
    /// `PE-PINCodes` defining it.
    pub fn pin(&self, key_ref: u8) -> Option<&[u8]> {
        self.pin_configs()
            .find(|p| p.key_reference == key_ref)
            .map(|p| &p.pin_value[..])
    }

    /// Sets the PIN with key reference `key_ref` in every `PE-PINCodes` defining it
    /// (local PINs may be defined per ADF). `value` is 1..8 octets (e.g. ASCII digits),
    /// padded with `FF`. Returns how many definitions were changed (error if none).
    pub fn set_pin(&mut self, key_ref: u8, value: &[u8]) -> Result<usize, Error> {
        let block = pin_block(value, "pin")?;
        let mut n = 0;
        for p in self
            .pin_configs_mut()
            .filter(|p| p.key_reference == key_ref)
        {
            p.pin_value = block.clone();
            n += 1;
        }
        if n == 0 {
            return Err(Error::MissingElement(
                "pinCodes entry with this key reference",
            ));
        }
        Ok(n)
    }

    /// The ADM1 key (key reference 10) PIN block.
    pub fn adm1(&self) -> Option<&[u8]> {
        self.pin(key_ref::ADM1)
    }

    /// Sets the ADM1 key (1..8 octets, `FF`-padded).
    pub fn set_adm1(&mut self, value: &[u8]) -> Result<usize, Error> {
        self.set_pin(key_ref::ADM1, value)
    }

    /// The 8-octet PUK block with key reference `key_ref`.
    pub fn puk(&self, key_ref: u8) -> Option<&[u8]> {
        self.elements
            .iter()
            .filter_map(|pe| match pe {
                ProfileElement::PukCodes(p) => Some(p.puk_codes.iter()),
                _ => None,
            })
            .flatten()
            .find(|p| p.key_reference == key_ref)
            .map(|p| &p.puk_value[..])
    }

    /// Sets the PUK with key reference `key_ref` (1..8 octets, `FF`-padded).
    pub fn set_puk(&mut self, key_ref: u8, value: &[u8]) -> Result<usize, Error> {
        let block = pin_block(value, "puk")?;
        let mut n = 0;
        for pe in &mut self.elements {
            if let ProfileElement::PukCodes(p) = pe {
                for c in p
                    .puk_codes
                    .iter_mut()
                    .filter(|c| c.key_reference == key_ref)
                {
                    c.puk_value = block.clone();
                    n += 1;
                }
            }
        }
        if n == 0 {
            return Err(Error::MissingElement(
                "pukCodes entry with this key reference",
            ));
        }
        Ok(n)
    }

    /// All `PE-SecurityDomain` elements, in package order (the first is normally the ISD-P's
    /// MNO-SD).
    pub fn security_domains(&self) -> impl Iterator<Item = &PeSecurityDomain> {
        self.elements.iter().filter_map(|pe| match pe {
            ProfileElement::SecurityDomain(sd) => Some(&**sd),
            _ => None,
        })
    }

    /// Key data of the first component of key (`kvn`, `kid`) in the first security domain
    /// that has it.
    pub fn sd_key(&self, kvn: u8, kid: u8) -> Option<&[u8]> {
        self.security_domains()
            .find_map(|sd| sd.key(kvn, kid))
            .and_then(|k| k.key_components.first())
            .map(|c| &c.key_data[..])
    }

    /// Replaces the key data of key (`kvn`, `kid`) in the first security domain that has
    /// it. The length must match the existing key (the key type is not changed).
    pub fn set_sd_key(&mut self, kvn: u8, kid: u8, key: &[u8]) -> Result<(), Error> {
        let component = self
            .elements
            .iter_mut()
            .filter_map(|pe| match pe {
                ProfileElement::SecurityDomain(sd) => sd.key_mut(kvn, kid),
                _ => None,
            })
            .find_map(|k| k.key_components.first_mut())
            .ok_or(Error::MissingElement(
                "securityDomain key with this KVN/KID",
            ))?;
        if component.key_data.len() != key.len() {
            return Err(invalid(
                "sd key",
                format!("expected {} octets", component.key_data.len()),
            ));
        }
        component.key_data = OctetString::from_slice(key);
        Ok(())
    }

    /// Sets an SCP80 OTA key set: KIc (key id 1), KID (2) and KIK (3) of version `kvn`.
    pub fn set_ota_keys(
        &mut self,
        kvn: u8,
        kic: &[u8],
        kid: &[u8],
        kik: &[u8],
    ) -> Result<(), Error> {
        self.set_sd_key(kvn, 1, kic)?;
        self.set_sd_key(kvn, 2, kid)?;
        self.set_sd_key(kvn, 3, kik)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_round_trip() {
        let bcd = encode_swapped_bcd("8949440000001155314", 10, "iccid").unwrap();
        assert_eq!(bcd[0], 0x98);
        assert_eq!(bcd[9], 0xF4);
        assert_eq!(decode_swapped_bcd(&bcd), "8949440000001155314");
        let plain = encode_plain_bcd("8949440000001155314", 10, "iccid").unwrap();
        assert_eq!(plain[0], 0x89);
        assert_eq!(plain[9], 0x4F);
        assert_eq!(decode_plain_bcd(&plain), "8949440000001155314");
    }

    #[test]
    fn imsi_coding() {
        // TS 31.102 example: IMSI 001010123456789 → 08 09 10 10 10 32 54 76 98.
        let c = encode_ef_imsi("001010123456789").unwrap();
        assert_eq!(c, [0x08, 0x09, 0x10, 0x10, 0x10, 0x32, 0x54, 0x76, 0x98]);
        assert_eq!(decode_ef_imsi(&c).unwrap(), "001010123456789");
        let even = encode_ef_imsi("00101012345678").unwrap();
        assert_eq!(decode_ef_imsi(&even).unwrap(), "00101012345678");
        assert!(encode_ef_imsi("12a").is_err());
    }

    #[test]
    fn pin_padding() {
        assert_eq!(
            &pin_block(b"1234", "pin").unwrap()[..],
            b"1234\xff\xff\xff\xff"
        );
        assert!(pin_block(b"123456789", "pin").is_err());
    }
}
