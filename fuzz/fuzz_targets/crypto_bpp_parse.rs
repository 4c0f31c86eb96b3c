//! Fuzz the eUICC-side BPP parser and the LPA segmentation with arbitrary bytes: they must
//! return errors, never panic, and a BPP the LPA can cut must reassemble.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simforge_crypto::bpp::{BppLoader, BppVerifyParams, parse_bpp, parse_bpp_parts, segment_bpp};
use simforge_crypto::bsp::BspSession;
use simforge_crypto::{Curve, SessionKeys, SoftwareKeyAgreement, SystemRandom};

// A fixed eUICC one-time key and DPpb public key (the generator point of P-256).
const OTSK: [u8; 32] = [0x11; 32];
const DP_PB: [u8; 65] = [
    0x04, 0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6, 0xE5, 0x63, 0xA4, 0x40,
    0xF2, 0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33, 0xA0, 0xF4, 0xA1, 0x39, 0x45, 0xD8, 0x98, 0xC2,
    0x96, 0x4F, 0xE3, 0x42, 0xE2, 0xFE, 0x1A, 0x7F, 0x9B, 0x8E, 0xE7, 0xEB, 0x4A, 0x7C, 0x0F, 0x9E,
    0x16, 0x2B, 0xCE, 0x33, 0x57, 0x6B, 0x31, 0x5E, 0xCE, 0xCB, 0xB6, 0x40, 0x68, 0x37, 0xBF, 0x51,
    0xF5,
];

fuzz_target!(|data: &[u8]| {
    if let Ok(pieces) = segment_bpp(data) {
        assert!(!pieces.is_empty());
    }
    if let Ok(parts) = parse_bpp_parts(data) {
        // Drive the BSP unwrap path too, with fixed keys (MACs will almost never verify,
        // but lengths, tags and ordering are exercised).
        let keys = SessionKeys {
            initial_mcv: [0; 16],
            s_enc: [1; 16],
            s_mac: [2; 16],
        };
        let _ = parts.unprotect(&mut BspSession::new(&keys));
    }
    if let Ok(handle) = SoftwareKeyAgreement::<SystemRandom>::import(Curve::NistP256, &OTSK) {
        let params = BppVerifyParams {
            eid: &[0x89; 16],
            dp_pb_curve: Curve::NistP256,
            dp_pb_public_key: &DP_PB,
            transaction_id: None,
        };
        let _ = parse_bpp(data, handle, &params);
    }
    // Feed the input to the piece-by-piece loader, cut at arbitrary TLV boundaries.
    if let Ok(handle) = SoftwareKeyAgreement::<SystemRandom>::import(Curve::NistP256, &OTSK) {
        let params = BppVerifyParams {
            eid: &[0x89; 16],
            dp_pb_curve: Curve::NistP256,
            dp_pb_public_key: &DP_PB,
            transaction_id: None,
        };
        let mut loader = BppLoader::new(handle, &params);
        for piece in data.split(|&b| b == 0xFF).take(64) {
            let _ = loader.process(piece);
        }
    }
});
