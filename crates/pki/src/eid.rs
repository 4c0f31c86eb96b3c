//! EIDs (GSMA SGP.29): 32 decimal digits whose last two are ISO 7064 MOD 97-10 check digits.

use crate::error::{Error, Result};

/// `n mod 97` of a decimal digit string (digits only).
fn mod97(digits: &str) -> u32 {
    digits
        .bytes()
        .fold(0u32, |acc, d| (acc * 10 + u32::from(d - b'0')) % 97)
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `eid` is 32 decimal digits with valid check digits (the number mod 97 is 1).
pub fn is_valid_eid(eid: &str) -> bool {
    eid.len() == 32 && all_digits(eid) && mod97(eid) == 1
}

/// Completes a 30-digit EID body with its two check digits (SGP.29 §2.2.2: set them to 00,
/// take the number mod 97, check digits = 98 − remainder).
pub fn eid_with_check_digits(body30: &str) -> Result<String> {
    if body30.len() != 30 || !all_digits(body30) {
        return Err(Error::InvalidEid(body30.to_string()));
    }
    let check = 98 - mod97(&format!("{body30}00"));
    Ok(format!("{body30}{check:02}"))
}

/// The `index`-th EID under `prefix`: the prefix, `index` zero-padded to fill 30 digits,
/// then the check digits.
pub fn eid_from_prefix(prefix: &str, index: u64) -> Result<String> {
    if prefix.len() > 28 || !all_digits(prefix) {
        return Err(Error::InvalidOption(format!(
            "EID prefix '{prefix}' must be at most 28 decimal digits"
        )));
    }
    let width = 30 - prefix.len();
    let idx = index.to_string();
    if idx.len() > width {
        return Err(Error::InvalidOption(format!(
            "EID index {index} does not fit after prefix '{prefix}'"
        )));
    }
    eid_with_check_digits(&format!("{prefix}{idx:0>width$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgp29_example_and_sgp26_eid() {
        // The EID used by the SGP.26 test eUICC certificates.
        assert!(is_valid_eid("89049032123451234512345678901235"));
        assert_eq!(
            eid_with_check_digits("890490321234512345123456789012").unwrap(),
            "89049032123451234512345678901235"
        );
        assert!(!is_valid_eid("89049032123451234512345678901234"));
        assert!(!is_valid_eid("8904903212345123451234567890123"));
        assert!(!is_valid_eid("8904903212345123451234567890123a"));
    }

    #[test]
    fn prefix_generation() {
        let eid = eid_from_prefix("89049032", 7).unwrap();
        assert_eq!(eid.len(), 32);
        assert!(eid.starts_with("890490320000000000000000000007"));
        assert!(is_valid_eid(&eid));
        assert!(eid_from_prefix("8904x", 1).is_err());
        assert!(eid_from_prefix("8904903212345123451234567890", 100).is_err());
    }
}
