//! Random text into the activation code parser (simforge-asn1).
//! Parsing must never panic; whatever parses must format and parse back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simforge_asn1::ActivationCode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ac) = ActivationCode::parse(text) {
        let formatted = ac.to_string();
        assert_eq!(
            ActivationCode::parse(&formatted).expect("formatted code parses"),
            ac
        );
        assert_eq!(
            ActivationCode::parse(&ac.to_qr_text()).expect("QR text parses"),
            ac
        );
    }
});
