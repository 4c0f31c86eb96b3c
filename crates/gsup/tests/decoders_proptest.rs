//! Hostile input: the IPA and GSUP decoders return errors, never panic.

use proptest::prelude::*;
use simforge_gsup::{gsup, ipa};

/// Builds GSUP-looking messages (valid message type, plausible IE tags, random lengths) so
/// that the fuzzing reaches the nested AUTH_TUPLE decoding, not only the first length check.
fn gsupish() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![
        Just(gsup::IEI_IMSI),
        Just(gsup::IEI_CAUSE),
        Just(gsup::IEI_AUTH_TUPLE),
        Just(gsup::IEI_RAND),
        Just(gsup::IEI_SRES),
        Just(gsup::IEI_KC),
        Just(gsup::IEI_IK),
        Just(gsup::IEI_CK),
        Just(gsup::IEI_AUTN),
        Just(gsup::IEI_AUTS),
        Just(gsup::IEI_RES),
        any::<u8>(),
    ];
    let ie = (
        tag,
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(t, v, honest)| {
            let len = if honest {
                v.len() as u8
            } else {
                v.len() as u8 ^ 0x05
            };
            let mut out = vec![t, len];
            out.extend(v);
            out
        });
    (
        prop_oneof![Just(0x08u8), Just(0x09), Just(0x0a), any::<u8>()],
        proptest::collection::vec(ie, 0..6),
    )
        .prop_map(|(mt, ies)| {
            let mut out = vec![mt];
            for ie in ies {
                out.extend(ie);
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn ipa_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok((frame, used)) = ipa::decode_frame(&bytes) {
            prop_assert!(used <= bytes.len());
            prop_assert_eq!(used, frame.payload.len() + 3);
        }
        let _ = ipa::parse_id_get(&bytes);
        let _ = ipa::parse_id_resp(&bytes);
    }

    #[test]
    fn gsup_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = gsup::decode(&bytes);
        let _ = gsup::decode_imsi(&bytes);
    }

    #[test]
    fn gsup_decoder_survives_structured_garbage(msg in gsupish()) {
        if let Ok(m) = gsup::decode(&msg) {
            for t in &m.auth_tuples {
                prop_assert!(t.res.as_ref().is_none_or(|r| (4..=16).contains(&r.len())));
            }
        }
        // Nest the same garbage as an auth tuple.
        let mut outer = vec![gsup::MSGT_SEND_AUTH_INFO_RESULT, gsup::IEI_AUTH_TUPLE];
        let inner = msg.get(1..).unwrap_or_default();
        outer.push(inner.len().min(255) as u8);
        outer.extend(inner.iter().take(255));
        let _ = gsup::decode(&outer);
    }

    #[test]
    fn imsi_roundtrip(imsi in "[0-9]{1,15}") {
        let bcd = gsup::encode_imsi(&imsi).unwrap();
        prop_assert_eq!(gsup::decode_imsi(&bcd).unwrap(), imsi);
    }

    #[test]
    fn frame_roundtrip(stream in any::<u8>(), payload in proptest::collection::vec(any::<u8>(), 0..600)) {
        let f = ipa::encode_frame(stream, &payload).unwrap();
        let (d, used) = ipa::decode_frame(&f).unwrap();
        prop_assert_eq!(used, f.len());
        prop_assert_eq!(d.stream, stream);
        prop_assert_eq!(d.payload, payload);
        // Every strict prefix is an error.
        for cut in 0..f.len() {
            prop_assert!(ipa::decode_frame(&f[..cut]).is_err());
        }
    }
}
