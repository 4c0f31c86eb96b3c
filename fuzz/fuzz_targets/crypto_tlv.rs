//! Fuzz the BER-TLV reader, normaliser and the DER signature / key parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simforge_crypto::keys::{EcPrivateKey, public_key_from_certificate, public_key_from_spki};
use simforge_crypto::{Signature, tlv};

fuzz_target!(|data: &[u8]| {
    let mut total = 0usize;
    for t in tlv::TlvIter::new(data) {
        let Ok(t) = t else { break };
        assert!(t.raw.len() >= t.header_len + t.value.len());
        total += t.raw.len();
        if t.constructed {
            let _ = tlv::parse_all(t.value);
        }
    }
    assert!(total <= data.len());
    if let Ok(norm) = tlv::normalize(data) {
        // Normalising is idempotent.
        assert_eq!(tlv::normalize(&norm).ok().as_deref(), Some(norm.as_slice()));
    }
    if let Ok(sig) = Signature::from_der(data) {
        assert_eq!(sig.to_der(), data);
    }
    let _ = EcPrivateKey::from_der(data);
    let _ = public_key_from_spki(data);
    let _ = public_key_from_certificate(data);
});
