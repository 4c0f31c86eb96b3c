//! The Luhn (mod 10) check digit used by ITU-T E.118 ICCIDs.

/// Computes the Luhn check digit for a sequence of decimal digits (values 0..=9, not ASCII).
///
/// The rightmost digit of `digits` is doubled (the check digit is appended after it).
#[must_use]
pub fn check_digit(digits: &[u8]) -> u8 {
    let mut sum: u32 = 0;
    for (i, &d) in digits.iter().rev().enumerate() {
        let d = u32::from(d);
        sum += if i % 2 == 0 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
    }
    ((10 - (sum % 10)) % 10) as u8
}

/// True when the last digit of `digits` is the Luhn check digit of the others.
#[must_use]
pub fn is_valid(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((&last, body)) => check_digit(body) == last,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn known_iccids() {
        // The operator sample in shared/formats: body 899222333444000000, EF.ICCID ends in check digit 2.
        assert_eq!(check_digit(&digits("899222333444000000")), 2);
        // ISO/IEC 7812 textbook example.
        assert_eq!(check_digit(&digits("7992739871")), 3);
        assert!(is_valid(&digits("79927398713")));
        assert!(!is_valid(&digits("79927398710")));
    }
}
