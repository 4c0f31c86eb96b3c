// Small helpers shared by the integration tests.

#![allow(dead_code)]

/// Hex to bytes; panics on bad input (test data only).
pub fn h(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Hex to a fixed array.
pub fn a<const N: usize>(s: &str) -> [u8; N] {
    h(s).try_into().expect("length")
}

/// Bytes to lower-case hex.
pub fn hx(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
