//! BSP — the BPP Protection Protocol (SGP.22 §2.6.4.3–2.6.4.5, formerly SCP03t).
//!
//! * Encryption: AES-128-CBC; the ICV of each segment is AES-ECB(S-ENC, block counter as a
//!   16-byte big-endian number). The counter starts at 1 and is incremented for every
//!   segment, MAC-only segments included. Padding is `80` then `00…` to a multiple of 16
//!   (always at least the `80`).
//! * MAC: AES-CMAC(S-MAC, MCV ‖ tag ‖ length ‖ data), the length counting the 8-byte MAC;
//!   the first 8 bytes are sent, the full 16 become the next MCV.
//! * A whole segment (tag, length, ciphertext after padding, MAC) is at most
//!   [`MAX_SEGMENT_LEN`] = 1020 bytes, so a full encrypted segment carries at most 1007
//!   plaintext bytes.
//!
//! One [`BspSession`] type serves both ends: the SM-DP+ wraps (`encrypt*`, `mac_only*`), the
//! eUICC unwraps (`decrypt_segment`, `verify_mac_only_segment`). Both advance the same state
//! (counter and MAC chain), so the same session cannot be used for both directions at once.

use aes::Aes128;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use cmac::{Cmac, Mac};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::kdf::SessionKeys;
use crate::tlv;

/// Maximum size of a whole BSP segment: tag, length, data and MAC (SGP.22 §2.5.3).
pub const MAX_SEGMENT_LEN: usize = 1020;
/// Length of the C-MAC carried in each segment.
pub const MAC_LEN: usize = 8;
/// AES block size.
const BLOCK: usize = 16;

/// Segment tag of ConfigureISDP and ReplaceSessionKeys (encrypted + MAC).
pub const TAG_87: u8 = 0x87;
/// Segment tag of StoreMetadata (MAC only).
pub const TAG_88: u8 = 0x88;
/// Segment tag of profile elements (encrypted + MAC).
pub const TAG_86: u8 = 0x86;

/// State of one BSP session (or of a PPK session after ReplaceSessionKeys).
pub struct BspSession {
    cipher: Aes128,
    mac: Cmac<Aes128>,
    mcv: [u8; 16],
    counter: u128,
    max_segment_len: usize,
}

impl core::fmt::Debug for BspSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BspSession")
            .field("block_counter", &self.counter)
            .field("keys", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Drop for BspSession {
    fn drop(&mut self) {
        self.mcv.zeroize();
    }
}

/// Largest value length `L` such that `1 + len(L) + L <= limit` (one-byte tags).
fn max_value_len(limit: usize) -> usize {
    let mut l = limit.saturating_sub(2);
    while l > 0 && 1 + tlv::length_len(l) + l > limit {
        l -= 1;
    }
    l
}

impl BspSession {
    /// Starts a session with the given keys (block counter 1, MCV = initial MCV).
    pub fn new(keys: &SessionKeys) -> Self {
        Self {
            cipher: Aes128::new(&keys.s_enc.into()),
            mac: <Cmac<Aes128> as KeyInit>::new(&keys.s_mac.into()),
            mcv: keys.initial_mcv,
            counter: 1,
            max_segment_len: MAX_SEGMENT_LEN,
        }
    }

    /// ReplaceSessionKeys: switch to PPK-ENC / PPK-MAC / the new initial MCV, with the block
    /// counter back at 1.
    pub fn replace_keys(&mut self, keys: &SessionKeys) {
        let limit = self.max_segment_len;
        *self = Self::new(keys);
        self.max_segment_len = limit;
    }

    /// The segment size limit in force (default [`MAX_SEGMENT_LEN`]).
    pub fn max_segment_len(&self) -> usize {
        self.max_segment_len
    }

    /// Changes the segment size limit (both for producing and for accepting segments). Only
    /// for interoperability tests with non-conformant peers; real eUICCs enforce 1020.
    pub fn set_max_segment_len(&mut self, limit: usize) -> Result<()> {
        if !(64..=65_535).contains(&limit) {
            return Err(Error::InvalidInput("segment limit must be 64..=65535"));
        }
        self.max_segment_len = limit;
        Ok(())
    }

    /// The block counter that the next segment will use.
    pub fn block_counter(&self) -> u128 {
        self.counter
    }

    /// Maximum plaintext bytes in one encrypted segment (1007 for the 1020 limit).
    pub fn max_plaintext_len(&self) -> usize {
        let l = max_value_len(self.max_segment_len).saturating_sub(MAC_LEN);
        (l / BLOCK * BLOCK).saturating_sub(1)
    }

    /// Maximum data bytes in one MAC-only segment (1008 for the 1020 limit).
    pub fn max_mac_only_len(&self) -> usize {
        max_value_len(self.max_segment_len).saturating_sub(MAC_LEN)
    }

    fn icv(&self) -> aes::Block {
        let mut b = aes::Block::default();
        b.copy_from_slice(&self.counter.to_be_bytes());
        self.cipher.encrypt_block(&mut b);
        b
    }

    fn advance_counter(&mut self) {
        self.counter = self.counter.wrapping_add(1);
    }

    /// Full CMAC over MCV ‖ header ‖ data.
    fn cmac(&self, header: &[u8], data: &[u8]) -> [u8; 16] {
        let mut m = self.mac.clone();
        m.update(&self.mcv);
        m.update(header);
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// Builds `tag ‖ len ‖ body ‖ MAC` and chains the MCV.
    fn seal(&mut self, tag: u8, body: &[u8]) -> Result<Vec<u8>> {
        let header = tlv::header(u32::from(tag), body.len() + MAC_LEN);
        let total = header.len() + body.len() + MAC_LEN;
        if total > self.max_segment_len {
            return Err(Error::SegmentTooLarge {
                len: total,
                max: self.max_segment_len,
            });
        }
        let full = self.cmac(&header, body);
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&header);
        out.extend_from_slice(body);
        out.extend_from_slice(&full[..MAC_LEN]);
        self.mcv = full;
        Ok(out)
    }

    /// Encrypts and MACs one segment. Fails (without changing state) if the result would
    /// exceed the segment limit.
    pub fn encrypt_segment(&mut self, tag: u8, plaintext: &[u8]) -> Result<Vec<u8>> {
        if plaintext.len() > self.max_plaintext_len() {
            return Err(Error::SegmentTooLarge {
                len: plaintext.len(),
                max: self.max_plaintext_len(),
            });
        }
        let padded_len = (plaintext.len() / BLOCK + 1) * BLOCK;
        let mut buf = Zeroizing::new(Vec::with_capacity(padded_len));
        buf.extend_from_slice(plaintext);
        buf.push(0x80);
        buf.resize(padded_len, 0);
        let mut prev = self.icv();
        for chunk in buf.chunks_exact_mut(BLOCK) {
            for (p, c) in prev.iter_mut().zip(chunk.iter()) {
                *p ^= *c;
            }
            self.cipher.encrypt_block(&mut prev);
            chunk.copy_from_slice(&prev);
        }
        let seg = self.seal(tag, &buf)?;
        self.advance_counter();
        Ok(seg)
    }

    /// MACs one segment without encrypting it (StoreMetadata, tag 88); the block counter
    /// still advances.
    pub fn mac_only_segment(&mut self, tag: u8, data: &[u8]) -> Result<Vec<u8>> {
        if data.len() > self.max_mac_only_len() {
            return Err(Error::SegmentTooLarge {
                len: data.len(),
                max: self.max_mac_only_len(),
            });
        }
        let seg = self.seal(tag, data)?;
        self.advance_counter();
        Ok(seg)
    }

    /// Encrypts and MACs `data` cut into as many segments as needed.
    pub fn encrypt(&mut self, tag: u8, data: &[u8]) -> Result<Vec<Vec<u8>>> {
        if data.is_empty() {
            return Err(Error::InvalidInput("nothing to protect"));
        }
        let max = self.max_plaintext_len();
        data.chunks(max)
            .map(|c| self.encrypt_segment(tag, c))
            .collect()
    }

    /// MACs `data` cut into as many MAC-only segments as needed.
    pub fn mac_only(&mut self, tag: u8, data: &[u8]) -> Result<Vec<Vec<u8>>> {
        if data.is_empty() {
            return Err(Error::InvalidInput("nothing to protect"));
        }
        let max = self.max_mac_only_len();
        data.chunks(max)
            .map(|c| self.mac_only_segment(tag, c))
            .collect()
    }

    /// Parses a received segment and verifies its MAC in constant time. On success the MCV
    /// and counter advance and the data (without MAC) is returned with the ICV to use.
    fn open(
        &mut self,
        expected_tag: u8,
        segment: &[u8],
        encrypted: bool,
    ) -> Result<(Vec<u8>, aes::Block)> {
        if segment.len() > self.max_segment_len {
            return Err(Error::SegmentTooLarge {
                len: segment.len(),
                max: self.max_segment_len,
            });
        }
        let t =
            tlv::parse_single(segment).map_err(|_| Error::BadLength("malformed segment TLV"))?;
        if t.tag != u32::from(expected_tag) {
            return Err(Error::OutOfOrder("unexpected segment tag"));
        }
        if t.constructed || t.indefinite {
            return Err(Error::BadLength("segment must be primitive"));
        }
        let Some(body_len) = t.value.len().checked_sub(MAC_LEN) else {
            return Err(Error::BadLength("segment shorter than its MAC"));
        };
        if encrypted && (body_len == 0 || body_len % BLOCK != 0) {
            return Err(Error::BadLength(
                "ciphertext not a non-empty multiple of 16",
            ));
        }
        let (body, mac) = t.value.split_at(body_len);
        let full = self.cmac(t.header(), body);
        if !bool::from(full[..MAC_LEN].ct_eq(mac)) {
            return Err(Error::BadMac);
        }
        let icv = self.icv();
        self.mcv = full;
        self.advance_counter();
        Ok((body.to_vec(), icv))
    }

    /// eUICC side: verifies and decrypts one encrypted segment with tag `expected_tag`.
    /// Errors: [`Error::BadMac`], [`Error::BadPadding`], [`Error::BadLength`],
    /// [`Error::OutOfOrder`] (wrong tag), [`Error::SegmentTooLarge`]. A segment whose MAC
    /// fails leaves the state unchanged; the caller should abandon the session on any error.
    pub fn decrypt_segment(
        &mut self,
        expected_tag: u8,
        segment: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (body, icv) = self.open(expected_tag, segment, true)?;
        let mut buf = Zeroizing::new(body);
        let mut prev = icv;
        for chunk in buf.chunks_exact_mut(BLOCK) {
            let mut block = aes::Block::default();
            block.copy_from_slice(chunk);
            let saved = block;
            self.cipher.decrypt_block(&mut block);
            for (b, p) in block.iter_mut().zip(prev.iter()) {
                *b ^= *p;
            }
            chunk.copy_from_slice(&block);
            prev = saved;
        }
        // Strip 80 00…: at most 15 zero bytes after the 80, within the last block.
        let zeros = buf.iter().rev().take_while(|&&b| b == 0).count();
        if zeros >= BLOCK {
            return Err(Error::BadPadding);
        }
        let marker = buf.len() - zeros - 1;
        if buf.get(marker) != Some(&0x80) {
            return Err(Error::BadPadding);
        }
        buf.truncate(marker);
        Ok(buf)
    }

    /// eUICC side: verifies one MAC-only segment with tag `expected_tag`; returns its data.
    pub fn verify_mac_only_segment(&mut self, expected_tag: u8, segment: &[u8]) -> Result<Vec<u8>> {
        self.open(expected_tag, segment, false).map(|(b, _)| b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys {
            initial_mcv: [1; 16],
            s_enc: [2; 16],
            s_mac: [3; 16],
        }
    }

    #[test]
    fn limits() {
        let s = BspSession::new(&keys());
        assert_eq!(s.max_plaintext_len(), 1007);
        assert_eq!(s.max_mac_only_len(), 1008);
    }

    #[test]
    fn round_trip_all_sizes_near_block_edges() {
        for len in [1usize, 15, 16, 17, 31, 32, 127, 128, 1006, 1007] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut tx = BspSession::new(&keys());
            let mut rx = BspSession::new(&keys());
            let seg = tx.encrypt_segment(TAG_86, &data).unwrap();
            assert!(seg.len() <= MAX_SEGMENT_LEN);
            assert_eq!(&rx.decrypt_segment(TAG_86, &seg).unwrap()[..], &data[..]);
        }
        let mut tx = BspSession::new(&keys());
        assert!(matches!(
            tx.encrypt_segment(TAG_86, &[0; 1008]),
            Err(Error::SegmentTooLarge { .. })
        ));
    }

    #[test]
    fn distinct_errors() {
        let mut tx = BspSession::new(&keys());
        let seg = tx.encrypt_segment(TAG_86, b"hello").unwrap();
        let mut bad = seg.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            BspSession::new(&keys()).decrypt_segment(TAG_86, &bad),
            Err(Error::BadMac)
        );
        assert!(matches!(
            BspSession::new(&keys()).decrypt_segment(TAG_87, &seg),
            Err(Error::OutOfOrder(_))
        ));
        // A ciphertext that is not a multiple of 16.
        let mut odd = BspSession::new(&keys());
        let short = odd.mac_only_segment(TAG_86, &[0u8; 15]).unwrap();
        assert!(matches!(
            BspSession::new(&keys()).decrypt_segment(TAG_86, &short),
            Err(Error::BadLength(_))
        ));
        // Properly MACed, but the plaintext block has no 80 marker: bad padding.
        let mut raw = BspSession::new(&keys());
        let icv = raw.icv();
        let mut block = aes::Block::default();
        for (b, i) in block.iter_mut().zip(icv.iter()) {
            *b = 0x41 ^ *i;
        }
        raw.cipher.encrypt_block(&mut block);
        let seg = raw.seal(TAG_86, &block).unwrap();
        assert_eq!(
            BspSession::new(&keys()).decrypt_segment(TAG_86, &seg),
            Err(Error::BadPadding)
        );
    }
}
