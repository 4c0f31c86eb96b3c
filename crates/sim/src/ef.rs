//! Elementary-file encodings that are not an identifier's own (TS 31.102, TS 51.011, TS 22.011).
//! EF.ICCID and EF.IMSI live with their identifiers: [`crate::Iccid::to_ef`], [`crate::Imsi::to_ef`];
//! PIN and ADM codes with theirs: [`crate::Pin::to_ef`], [`crate::Adm::to_ef`].

use crate::ids::Imsi;

/// EF.ACC (TS 31.102 §4.2.15, TS 22.011 §4.2): the access class `0..=9` is the IMSI's last digit,
/// coded as bit `n` of a 16-bit big-endian word.
#[must_use]
pub fn acc(imsi: &Imsi) -> [u8; 2] {
    (1u16 << imsi.last_digit()).to_be_bytes()
}

/// EF.AD (TS 31.102 §4.2.18): UE operation mode `00` (normal), two bytes of additional
/// information `00 00`, and the number of MNC digits in the IMSI.
#[must_use]
pub fn ad(mnc_len: usize) -> [u8; 4] {
    [0x00, 0x00, 0x00, mnc_len as u8]
}

/// Why a service provider name cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpnError {
    /// More than 16 bytes once encoded.
    #[error("service provider name is longer than 16 bytes once encoded")]
    TooLong,
}

/// EF.SPN (TS 31.102 §4.2.12, TS 51.011 §10.3.11): display condition byte, then 16 bytes of name,
/// `FF`-padded. Names of characters shared by ASCII and the GSM 7-bit default alphabet (letters,
/// digits, space and common punctuation) are written unpacked in the default alphabet; any other
/// name in UCS2 (`80` then big-endian UTF-16), as TS 102 221 Annex A allows.
pub fn spn(name: &str, display_condition: u8) -> Result<[u8; 17], SpnError> {
    let mut out = [0xFFu8; 17];
    out[0] = display_condition;
    let gsm_safe = |c: char| c.is_ascii_alphanumeric() || " !\"#%&'()*+,-./:;<=>?".contains(c);
    if name.chars().all(gsm_safe) {
        let b = name.as_bytes();
        if b.len() > 16 {
            return Err(SpnError::TooLong);
        }
        out[1..=b.len()].copy_from_slice(b);
    } else {
        let units: Vec<u16> = name.encode_utf16().collect();
        if 1 + units.len() * 2 > 16 {
            return Err(SpnError::TooLong);
        }
        out[1] = 0x80;
        for (i, u) in units.iter().enumerate() {
            out[2 + 2 * i..4 + 2 * i].copy_from_slice(&u.to_be_bytes());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Plmn;

    #[test]
    fn acc_is_one_shifted_by_last_imsi_digit() {
        let plmn = Plmn::new("410", "02").unwrap();
        assert_eq!(
            acc(&Imsi::parse("410022233344400", &plmn).unwrap()),
            [0x00, 0x01]
        );
        assert_eq!(
            acc(&Imsi::parse("410022233344409", &plmn).unwrap()),
            [0x02, 0x00]
        );
    }

    #[test]
    fn spn_encodings() {
        let e = spn("Zong", 0x01).unwrap();
        assert_eq!(&e[..6], &[0x01, b'Z', b'o', b'n', b'g', 0xFF]);
        let u = spn("Télé", 0x00).unwrap();
        assert_eq!(&u[..4], &[0x00, 0x80, 0x00, b'T']);
        assert_eq!(spn("ABCDEFGHIJKLMNOPQ", 0), Err(SpnError::TooLong));
        assert_eq!(ad(3), [0, 0, 0, 3]);
    }
}
