//! Random bytes into the ES9+/ES11/ES12/ES2+ JSON body parsers (simforge-asn1).
//! Parsing must never panic; whatever parses must serialise and parse back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simforge_asn1::json::*;

macro_rules! check {
    ($t:ty, $data:expr) => {
        if let Ok(v) = from_json::<$t>($data) {
            let out = to_json(&v).expect("a parsed body serialises");
            let back = from_json::<$t>(&out).expect("a serialised body parses");
            assert_eq!(back, v);
        }
    };
}

fuzz_target!(|data: &[u8]| {
    check!(InitiateAuthenticationRequest, data);
    check!(InitiateAuthenticationResponse, data);
    check!(AuthenticateClientRequest, data);
    check!(AuthenticateClientResponse, data);
    check!(GetBoundProfilePackageRequest, data);
    check!(GetBoundProfilePackageResponse, data);
    check!(HandleNotificationRequest, data);
    check!(CancelSessionRequest, data);
    check!(HeaderOnlyResponse, data);
    check!(Es11AuthenticateClientResponse, data);
    check!(RegisterEventRequest, data);
    check!(DeleteEventRequest, data);
    check!(DownloadOrderRequest, data);
    check!(DownloadOrderResponse, data);
    check!(ConfirmOrderRequest, data);
    check!(ConfirmOrderResponse, data);
    check!(CancelOrderRequest, data);
    check!(ReleaseProfileRequest, data);
    check!(HandleDownloadProgressInfoRequest, data);
});
