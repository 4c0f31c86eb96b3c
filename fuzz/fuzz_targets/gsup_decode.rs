//! Random bytes into the GSUP message decoder and the IPA frame / CCM decoders (simforge-gsup),
//! i.e. everything the SendAuthInfo client reads off the socket from the HLR.
//! Decoding must never panic; a decoded frame must re-encode to the bytes it was read from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simforge_gsup::{gsup, ipa};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = gsup::decode(data) {
        assert_eq!(msg.message_type, data[0]);
        if let Some(imsi) = &msg.imsi {
            // A decoded IMSI is 1 to 15 digits and TBCD-encodes back to what decodes to it.
            gsup::validate_imsi(imsi).expect("decoded IMSI is valid");
            let bcd = gsup::encode_imsi(imsi).expect("decoded IMSI encodes");
            assert_eq!(gsup::decode_imsi(&bcd).ok().as_deref(), Some(imsi.as_str()));
        }
    }
    let _ = gsup::decode_imsi(data);

    // A stream of IPA frames, as the client reads them from its buffer.
    let mut rest = data;
    while let Ok((frame, used)) = ipa::decode_frame(rest) {
        assert!(used >= 3 && used <= rest.len());
        assert_eq!(used, 3 + frame.payload.len());
        let again =
            ipa::encode_frame(frame.stream, &frame.payload).expect("a decoded frame re-encodes");
        assert_eq!(again.as_slice(), &rest[..used]);
        if let [_msg_type, body @ ..] = frame.payload.as_slice() {
            match frame.stream {
                ipa::STREAM_CCM => {
                    let _ = ipa::parse_id_get(body);
                    let _ = ipa::parse_id_resp(body);
                }
                ipa::STREAM_OSMO => {
                    let _ = gsup::decode(body);
                }
                _ => {}
            }
        }
        rest = &rest[used..];
    }
});
