//! Fuzz target: arbitrary bytes into the SAIP profile-package decoder.
//!
//! On a successful decode the elements are re-encoded (DER) and decoded again; the second
//! decode must succeed, yield the same elements, and re-encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simforge_saip::{ProfileElement, decode_profile, elements, encode_profile};

fuzz_target!(|data: &[u8]| {
    // Boundary scanning alone must never panic.
    for raw in elements(data) {
        if raw.is_err() {
            break;
        }
    }
    let _ = ProfileElement::decode_first(data);

    if let Ok(pes) = decode_profile(data) {
        let der = encode_profile(&pes).expect("decoded elements re-encode");
        let again = decode_profile(&der).expect("re-encoded package decodes");
        assert_eq!(again, pes, "decode(encode(x)) != x");
        assert_eq!(
            encode_profile(&again).expect("second encode"),
            der,
            "DER re-encoding is not stable"
        );
    }
});
