//! TOTP codes as an authenticator app computes them from an `otpauth://` URI the platform
//! showed (the browser, console and API tests sign in and enroll with them).

/// RFC 4648 base32 (no padding), the secret of an `otpauth://` URI.
///
/// # Panics
/// On a character outside the base32 alphabet (a test's bad input).
#[must_use]
pub fn base32_decode(s: &str) -> Vec<u8> {
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {c}"),
        };
        bits = (bits << 5) | u64::from(v);
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push(u8::try_from((bits >> n) & 0xFF).unwrap_or(0));
        }
    }
    out
}

/// The six-digit TOTP code at `now` of an `otpauth://…?secret=…` URI.
///
/// # Panics
/// When the URI has no secret.
#[must_use]
pub fn totp_code(uri: &str, now: i64) -> String {
    let secret = uri
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .expect("secret in the URI");
    let s = simforge_access::TotpSecret::from_bytes(&base32_decode(secret));
    format!("{:06}", s.code_at(now, 6))
}
