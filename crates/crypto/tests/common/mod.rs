//! Shared test helpers.
#![allow(dead_code)]

pub mod vectors;

use std::sync::Mutex;

use sha2::{Digest, Sha256};
use simforge_crypto::{Error, Random};

/// Decodes hex (test data only).
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Reads a base64 test data file (line-wrapped) from tests/data.
pub fn b64_file(name: &str) -> Vec<u8> {
    use base64::Engine as _;
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).expect("test data");
    let joined: String = text.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(joined)
        .expect("base64")
}

/// A deterministic SHA-256 counter-mode random source, for reproducible tests only.
pub struct TestRandom(Mutex<(Vec<u8>, u64)>);

impl TestRandom {
    pub fn new(seed: &[u8]) -> Self {
        Self(Mutex::new((seed.to_vec(), 0)))
    }
}

impl Random for TestRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        let mut st = self.0.lock().map_err(|_| Error::Random)?;
        for chunk in buf.chunks_mut(32) {
            let mut h = Sha256::new();
            h.update(&st.0);
            h.update(st.1.to_be_bytes());
            st.1 += 1;
            let out = h.finalize();
            chunk.copy_from_slice(&out[..chunk.len()]);
        }
        Ok(())
    }
}

/// Path to the shared reference folder, or None (with a printed "skipped" reason).
pub fn shared_dir(what: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: {what}: ../shared is absent");
        None
    }
}
