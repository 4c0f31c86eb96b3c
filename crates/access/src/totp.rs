//! TOTP (RFC 6238 over HOTP, RFC 4226): HMAC-SHA1, 30-second steps, 6 digits, one step of
//! clock drift either way; a code is refused for a step at or before the last one used
//! (the caller keeps it), so a code cannot be replayed. Secrets go to authenticator apps
//! in base32 inside an `otpauth://` URI.

use hmac::{Hmac, KeyInit, Mac};
use rand_core::TryCryptoRng;
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::secret::random;

/// The step (seconds).
pub const STEP: i64 = 30;
/// The digits of a code.
pub const DIGITS: u32 = 6;
/// Steps of drift accepted either way.
pub const WINDOW: i64 = 1;
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
pub const SECRET_LEN: usize = 20;

/// A TOTP secret: zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// A secret of these bytes.
    #[must_use]
    pub fn from_bytes(b: &[u8]) -> Self {
        Self(Zeroizing::new(b.to_vec()))
    }

    /// A new random secret of [`SECRET_LEN`] bytes.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, Error> {
        let b = random::<R, SECRET_LEN>(rng)?;
        Ok(Self::from_bytes(b.as_ref()))
    }

    /// The bytes (to seal).
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in base32 (RFC 4648, no padding), as authenticator apps take it.
    #[must_use]
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32(&self.0))
    }

    /// The `otpauth://totp/` URI of this secret for `account` at `issuer` (a QR code of it
    /// enrolls an authenticator app). It holds the secret: show it once.
    #[must_use]
    pub fn uri(&self, issuer: &str, account: &str) -> Zeroizing<String> {
        let (i, a) = (pct(issuer), pct(account));
        Zeroizing::new(format!(
            "otpauth://totp/{i}:{a}?secret={}&issuer={i}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
            self.base32().as_str()
        ))
    }

    /// The code of `digits` digits at Unix time `t`.
    #[must_use]
    pub fn code_at(&self, t: i64, digits: u32) -> u32 {
        hotp(&self.0, t.div_euclid(STEP), digits)
    }

    /// Checks `code` at `now`: the step it matches (within [`WINDOW`]) if it is after
    /// `last_step` (the last step a code was accepted for), for the caller to remember.
    #[must_use]
    pub fn verify(&self, code: &str, now: i64, last_step: Option<i64>) -> Option<i64> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now_step = now.div_euclid(STEP);
        let mut found = None;
        for step in now_step - WINDOW..=now_step + WINDOW {
            let want = format!(
                "{:0width$}",
                hotp(&self.0, step, DIGITS),
                width = DIGITS as usize
            );
            if bool::from(want.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
                found = Some(step);
            }
        }
        found.filter(|s| last_step.is_none_or(|l| *s > l))
    }
}

/// HOTP (RFC 4226): HMAC-SHA1 of the counter, dynamically truncated to `digits` digits.
fn hotp(key: &[u8], counter: i64, digits: u32) -> u32 {
    // HMAC takes keys of any length: new_from_slice cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 10u32.pow(digits)
}

/// Base32 (RFC 4648 alphabet), without padding.
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, Appendix B: the SHA-1 seed and its 8-digit codes.
    #[test]
    fn rfc6238_appendix_b_sha1() {
        let s = TotpSecret::from_bytes(b"12345678901234567890");
        for (t, code) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(s.code_at(t, 8), code, "T = {t}");
        }
    }

    fn check(code: &str, now: i64, last: Option<i64>, expect: Option<i64>) {
        let s = TotpSecret::from_bytes(b"12345678901234567890");
        assert_eq!(
            s.verify(code, now, last),
            expect,
            "{code} at {now} after {last:?}"
        );
    }

    #[test]
    fn window_and_replay() {
        // 6-digit code at T = 59 (step 1): 287082 (RFC 4226 Appendix D, count 1).
        check("287082", 59, None, Some(1));
        check("287082", 89, None, Some(1)); // one step late
        check("287082", 29, None, Some(1)); // one step early
        check("287082", 119, None, None); // two steps late
        check("287082", 59, Some(1), None); // replayed
        check("287082", 59, Some(0), Some(1));
        check("287083", 59, None, None);
        check("28708", 59, None, None);
        check("28708a", 59, None, None);
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let s = TotpSecret::from_bytes(b"12345678901234567890");
        assert_eq!(
            s.uri("simforge", "alice@op 1").as_str(),
            "otpauth://totp/simforge:alice%40op%201?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=simforge&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{s:?}"), "TotpSecret(<redacted>)");
    }
}
