//! BoundProfilePackage build → parse round trips, tampering, ordering and size limits.

// Helpers outside #[test] fns are test code too (clippy.toml only covers #[test] bodies).
#![allow(clippy::unwrap_used)]

mod common;

use common::TestRandom;
use proptest::prelude::*;
use simforge_crypto::bpp::{
    self, BppBuildParams, BppVerifyParams, ProfileSource, build_bpp, parse_bpp, segment_bpp,
};
use simforge_crypto::{
    Curve, EphemeralKeyHandle, Error, KeyAgreement, MAX_SEGMENT_LEN, SessionKeys, Signer,
    SoftwareKeyAgreement, SoftwareSigner, SystemRandom, tlv,
};

const EID: [u8; 16] = [
    0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23, 0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x13, 0x35,
];
const CONFIGURE_ISDP: &[u8] = &[0xBF, 0x24, 0x00];
const STORE_METADATA: &[u8] = &[
    0xBF, 0x25, 0x12, 0x5A, 0x0A, 0x98, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x14, 0x91,
    0x01, 0x41, 0x92, 0x01, 0x42,
];

/// A fake profile: a sequence of TLVs of about `size` bytes, contents from `seed`.
fn fake_profile(size: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 8);
    let mut x = seed | 1;
    while out.len() < size {
        let len = (size - out.len()).clamp(1, 3000);
        let content: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        tlv::write_tlv(0xA1, &content, &mut out);
    }
    out
}

struct Sides {
    signer: SoftwareSigner,
    smdp_ka: SoftwareKeyAgreement<TestRandom>,
    euicc_otpk: Vec<u8>,
    euicc_otsk: EphemeralKeyHandle,
}

fn sides(curve: Curve, seed: &[u8]) -> Sides {
    let rng = TestRandom::new(seed);
    let signer = SoftwareSigner::generate(curve, &rng).unwrap();
    let euicc_ka = SoftwareKeyAgreement::new(TestRandom::new(&[seed, b"-euicc"].concat()));
    let (euicc_otpk, euicc_otsk) = euicc_ka.generate_ephemeral(curve).unwrap();
    Sides {
        signer,
        smdp_ka: SoftwareKeyAgreement::new(TestRandom::new(&[seed, b"-smdp"].concat())),
        euicc_otpk,
        euicc_otsk,
    }
}

fn build(s: &Sides, profile: ProfileSource<'_>) -> bpp::BuiltBpp {
    let params = BppBuildParams {
        transaction_id: b"\x01\x02\x03\x04\x05\x06\x07\x08",
        euicc_otpk: &s.euicc_otpk,
        eid: &EID,
        configure_isdp: CONFIGURE_ISDP,
        store_metadata: STORE_METADATA,
        profile,
    };
    build_bpp(&params, &s.signer, &s.smdp_ka, &TestRandom::new(b"host")).unwrap()
}

fn verify_params(curve: Curve, pk: &[u8]) -> BppVerifyParams<'_> {
    BppVerifyParams {
        eid: &EID,
        dp_pb_curve: curve,
        dp_pb_public_key: pk,
        transaction_id: Some(b"\x01\x02\x03\x04\x05\x06\x07\x08"),
    }
}

fn assert_segments_within_limit(bpp_der: &[u8]) {
    let parts = bpp::parse_bpp_parts(bpp_der).unwrap();
    let containers = [
        Some(parts.first_sequence_of_87),
        Some(parts.sequence_of_88),
        parts.second_sequence_of_87,
        Some(parts.sequence_of_86),
    ];
    for c in containers.into_iter().flatten() {
        for seg in c.children() {
            let seg = seg.unwrap();
            assert!(
                seg.raw.len() <= MAX_SEGMENT_LEN,
                "segment of {} bytes",
                seg.raw.len()
            );
        }
    }
}

fn round_trip(curve: Curve, profile_len: usize, seed: u64) {
    let s = sides(curve, &seed.to_be_bytes());
    let upp = fake_profile(profile_len, seed);
    let built = build(&s, ProfileSource::Unprotected(&upp));
    assert_segments_within_limit(&built.bpp);
    let pk = s.signer.public_key();
    let params = verify_params(curve, &pk);
    let parsed = parse_bpp(&built.bpp, s.euicc_otsk, &params).unwrap();
    assert_eq!(&parsed.content.profile[..], upp.as_slice());
    assert_eq!(parsed.content.configure_isdp, CONFIGURE_ISDP);
    assert_eq!(parsed.content.store_metadata, STORE_METADATA);
    assert_eq!(parsed.initialise_secure_channel.smdp_otpk, built.smdp_otpk);
    // The LPA's pieces concatenate back to the BPP and none exceeds what it should.
    let pieces = segment_bpp(&built.bpp).unwrap();
    assert_eq!(pieces.concat(), built.bpp);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn round_trip_p256(len in 1usize..120_000, seed in any::<u64>()) {
        round_trip(Curve::NistP256, len, seed);
    }

    #[test]
    fn round_trip_brainpool(len in 1usize..120_000, seed in any::<u64>()) {
        round_trip(Curve::BrainpoolP256r1, len, seed);
    }
}

#[test]
fn round_trip_edge_sizes_both_curves() {
    for curve in Curve::ALL {
        for len in [3, 1004, 1005, 1006, 1007, 1008, 2014, 2015, 300_000] {
            round_trip(curve, len, len as u64);
        }
    }
}

#[test]
fn fresh_one_time_key_and_host_id_per_call() {
    let s = sides(Curve::NistP256, b"fresh");
    let upp = fake_profile(100, 1);
    let params = BppBuildParams {
        transaction_id: b"\x01",
        euicc_otpk: &s.euicc_otpk,
        eid: &EID,
        configure_isdp: CONFIGURE_ISDP,
        store_metadata: STORE_METADATA,
        profile: ProfileSource::Unprotected(&upp),
    };
    let ka = SoftwareKeyAgreement::new(SystemRandom::new());
    let rng = SystemRandom::new();
    let a = build_bpp(&params, &s.signer, &ka, &rng).unwrap();
    let b = build_bpp(&params, &s.signer, &ka, &rng).unwrap();
    assert_ne!(a.smdp_otpk, b.smdp_otpk);
    assert_ne!(a.host_id, b.host_id);
    assert_ne!(a.bpp, b.bpp);
}

#[test]
fn pre_protected_profile_with_replace_session_keys() {
    for curve in Curve::ALL {
        let s = sides(curve, b"ppp");
        let upp = fake_profile(5000, 7);
        let ppk = SessionKeys {
            initial_mcv: [0x22; 16],
            s_enc: [0x00; 16],
            s_mac: [0x11; 16],
        };
        let segments = bpp::protect_profile(&upp, &ppk).unwrap();
        let built = build(
            &s,
            ProfileSource::PreProtected {
                ppk: &ppk,
                segments: &segments,
            },
        );
        assert_segments_within_limit(&built.bpp);
        let parts = bpp::parse_bpp_parts(&built.bpp).unwrap();
        assert!(parts.second_sequence_of_87.is_some());
        let pieces = segment_bpp(&built.bpp).unwrap();
        assert_eq!(pieces[4][0], 0xA2, "whole A2 after the 88s");
        let pk = s.signer.public_key();
        let parsed = parse_bpp(&built.bpp, s.euicc_otsk, &verify_params(curve, &pk)).unwrap();
        assert_eq!(&parsed.content.profile[..], upp.as_slice());
        assert_eq!(parsed.content.replaced_session_keys, Some(ppk));
    }
}

/// Rebuilds a BPP with the segments of the A3 container modified by `f`.
fn mutate_86(bpp_der: &[u8], f: impl FnOnce(&mut Vec<Vec<u8>>)) -> Vec<u8> {
    let parts = bpp::parse_bpp_parts(bpp_der).unwrap();
    let mut segs: Vec<Vec<u8>> = parts
        .sequence_of_86
        .children()
        .map(|t| t.unwrap().raw.to_vec())
        .collect();
    f(&mut segs);
    let mut body = Vec::new();
    for t in parts.outer.children() {
        let t = t.unwrap();
        if t.tag == 0xA3 {
            tlv::write_tlv(0xA3, &segs.concat(), &mut body);
        } else {
            body.extend_from_slice(t.raw);
        }
    }
    tlv::tlv(0xBF36, &body)
}

fn parse_with(s: Sides, bpp_der: &[u8]) -> Result<bpp::ParsedBpp, Error> {
    let pk = s.signer.public_key();
    let params = BppVerifyParams {
        eid: &EID,
        dp_pb_curve: s.signer.curve(),
        dp_pb_public_key: &pk,
        transaction_id: None,
    };
    parse_bpp(bpp_der, s.euicc_otsk, &params)
}

#[test]
fn tampered_segment_is_bad_mac() {
    let s = sides(Curve::NistP256, b"tamper");
    let upp = fake_profile(4000, 3);
    let built = build(&s, ProfileSource::Unprotected(&upp));
    let bad = mutate_86(&built.bpp, |segs| {
        let seg = &mut segs[1];
        seg[20] ^= 0x01;
    });
    assert_eq!(parse_with(s, &bad).unwrap_err(), Error::BadMac);
}

#[test]
fn swapped_segments_are_rejected() {
    let s = sides(Curve::BrainpoolP256r1, b"swap");
    let upp = fake_profile(4000, 4);
    let built = build(&s, ProfileSource::Unprotected(&upp));
    let bad = mutate_86(&built.bpp, |segs| segs.swap(0, 1));
    assert_eq!(parse_with(s, &bad).unwrap_err(), Error::BadMac);
}

#[test]
fn dropped_segment_is_rejected() {
    let s = sides(Curve::NistP256, b"drop");
    let upp = fake_profile(4000, 5);
    let built = build(&s, ProfileSource::Unprotected(&upp));
    let bad = mutate_86(&built.bpp, |segs| {
        segs.remove(1);
    });
    assert_eq!(parse_with(s, &bad).unwrap_err(), Error::BadMac);
}

#[test]
fn containers_out_of_order_are_rejected() {
    let s = sides(Curve::NistP256, b"order");
    let built = build(&s, ProfileSource::Unprotected(&fake_profile(100, 6)));
    let parts = bpp::parse_bpp_parts(&built.bpp).unwrap();
    let mut body = parts.initialise_secure_channel.raw.to_vec();
    body.extend_from_slice(parts.sequence_of_88.raw);
    body.extend_from_slice(parts.first_sequence_of_87.raw);
    body.extend_from_slice(parts.sequence_of_86.raw);
    let swapped = tlv::tlv(0xBF36, &body);
    assert!(matches!(
        bpp::parse_bpp_parts(&swapped),
        Err(Error::OutOfOrder(_))
    ));
    assert!(matches!(segment_bpp(&swapped), Err(Error::OutOfOrder(_))));
}

#[test]
fn bad_signature_wrong_eid_wrong_transaction() {
    let s = sides(Curve::NistP256, b"sig");
    let built = build(&s, ProfileSource::Unprotected(&fake_profile(100, 8)));
    // A different DPpb key.
    let other = SoftwareSigner::generate(Curve::NistP256, &SystemRandom::new()).unwrap();
    let pk = other.public_key();
    let params = BppVerifyParams {
        eid: &EID,
        dp_pb_curve: Curve::NistP256,
        dp_pb_public_key: &pk,
        transaction_id: None,
    };
    assert_eq!(
        parse_bpp(&built.bpp, s.euicc_otsk, &params).unwrap_err(),
        Error::BadSignature
    );

    let s = sides(Curve::NistP256, b"sig");
    let pk = s.signer.public_key();
    let mut eid = EID;
    eid[15] ^= 1;
    let params = BppVerifyParams {
        eid: &eid,
        dp_pb_curve: Curve::NistP256,
        dp_pb_public_key: &pk,
        transaction_id: None,
    };
    assert_eq!(
        parse_bpp(&built.bpp, s.euicc_otsk, &params).unwrap_err(),
        Error::BadMac
    );

    let s = sides(Curve::NistP256, b"sig");
    let pk = s.signer.public_key();
    let params = BppVerifyParams {
        eid: &EID,
        dp_pb_curve: Curve::NistP256,
        dp_pb_public_key: &pk,
        transaction_id: Some(b"other"),
    };
    assert!(matches!(
        parse_bpp(&built.bpp, s.euicc_otsk, &params),
        Err(Error::Bpp(_))
    ));
}

#[test]
fn indefinite_length_bpp_parses() {
    let s = sides(Curve::NistP256, b"ber");
    let upp = fake_profile(3000, 9);
    let built = build(&s, ProfileSource::Unprotected(&upp));
    let parts = bpp::parse_bpp_parts(&built.bpp).unwrap();
    // Re-encode BF36 and A0..A3 with indefinite lengths.
    let indef = |t: &tlv::Tlv<'_>| -> Vec<u8> {
        let mut v = tlv::header(t.tag, 0);
        v.pop();
        v.push(0x80);
        v.extend_from_slice(t.value);
        v.extend_from_slice(&[0, 0]);
        v
    };
    let mut body = parts.initialise_secure_channel.raw.to_vec();
    body.extend(indef(&parts.first_sequence_of_87));
    body.extend(indef(&parts.sequence_of_88));
    body.extend(indef(&parts.sequence_of_86));
    let mut ber = vec![0xBF, 0x36, 0x80];
    ber.extend_from_slice(&body);
    ber.extend_from_slice(&[0, 0]);
    assert_eq!(segment_bpp(&ber).unwrap().concat(), built.bpp);
    let parsed = parse_with(s, &ber).unwrap();
    assert_eq!(&parsed.content.profile[..], upp.as_slice());
}

#[test]
fn initialise_secure_channel_round_trip_and_signed_data() {
    let s = sides(Curve::BrainpoolP256r1, b"iscr");
    let built = build(&s, ProfileSource::Unprotected(&fake_profile(10, 1)));
    let parts = bpp::parse_bpp_parts(&built.bpp).unwrap();
    let iscr = bpp::InitialiseSecureChannel::decode(parts.initialise_secure_channel.raw).unwrap();
    assert_eq!(iscr.encode(), parts.initialise_secure_channel.raw);
    let d = iscr.data_to_sign(&s.euicc_otpk);
    // 82 01 01 | 80 08 tid | A6 .. | 5F49 41 otPK.DP | 5F49 41 otPK.EUICC
    assert_eq!(&d[..3], &[0x82, 0x01, 0x01]);
    assert_eq!(&d[d.len() - 68..d.len() - 65], &[0x5F, 0x49, 0x41]);
    assert_eq!(&d[d.len() - 65..], s.euicc_otpk.as_slice());
    iscr.verify(
        Curve::BrainpoolP256r1,
        &s.signer.public_key(),
        &s.euicc_otpk,
    )
    .unwrap();
}

#[test]
fn ts48_profiles_round_trip() {
    let Some(shared) = common::shared_dir("TS.48 profiles") else {
        return;
    };
    let dir = shared.join("profiles/ts48");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: no {}", dir.display());
        return;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let upp = std::fs::read(e.path()).unwrap();
        for curve in Curve::ALL {
            let s = sides(curve, e.file_name().as_encoded_bytes());
            let built = build(&s, ProfileSource::Unprotected(&upp));
            assert_segments_within_limit(&built.bpp);
            let parsed = parse_with(s, &built.bpp).unwrap();
            assert_eq!(&parsed.content.profile[..], upp.as_slice());
        }
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn loader_consumes_lpa_pieces() {
    for (curve, pre_protected) in [(Curve::NistP256, false), (Curve::BrainpoolP256r1, true)] {
        let s = sides(curve, b"loader");
        let upp = fake_profile(9000, 11);
        let ppk = SessionKeys {
            initial_mcv: [3; 16],
            s_enc: [4; 16],
            s_mac: [5; 16],
        };
        let segments = bpp::protect_profile(&upp, &ppk).unwrap();
        let source = if pre_protected {
            ProfileSource::PreProtected {
                ppk: &ppk,
                segments: &segments,
            }
        } else {
            ProfileSource::Unprotected(&upp)
        };
        let built = build(&s, source);
        let pieces = segment_bpp(&built.bpp).unwrap();
        let pk = s.signer.public_key();
        let mut loader = bpp::BppLoader::new(s.euicc_otsk, &verify_params(curve, &pk));
        let (last, rest) = pieces.split_last().unwrap();
        for p in rest {
            assert!(matches!(
                loader.process(p).unwrap(),
                bpp::LoadProgress::NeedMore
            ));
        }
        let bpp::LoadProgress::Complete(parsed) = loader.process(last).unwrap() else {
            panic!("not complete");
        };
        assert_eq!(&parsed.content.profile[..], upp.as_slice());
        assert_eq!(parsed.content.store_metadata, STORE_METADATA);
        assert_eq!(
            parsed.content.replaced_session_keys.is_some(),
            pre_protected
        );
        assert!(matches!(loader.process(last), Err(Error::OutOfOrder(_))));
    }
}

#[test]
fn loader_rejects_out_of_order_and_tampered_pieces() {
    let upp = fake_profile(5000, 12);
    // Skipping the A0 piece.
    let s = sides(Curve::NistP256, b"loader-order");
    let built = build(&s, ProfileSource::Unprotected(&upp));
    let pieces = segment_bpp(&built.bpp).unwrap();
    let pk = s.signer.public_key();
    let mut loader = bpp::BppLoader::new(s.euicc_otsk, &verify_params(Curve::NistP256, &pk));
    loader.process(&pieces[0]).unwrap();
    assert!(matches!(
        loader.process(&pieces[2]),
        Err(Error::OutOfOrder(_))
    ));
    assert!(
        matches!(loader.process(&pieces[1]), Err(Error::OutOfOrder(_))),
        "dead after error"
    );

    // Two 86 pieces swapped.
    let s = sides(Curve::NistP256, b"loader-order");
    let mut pieces = segment_bpp(&built.bpp).unwrap();
    let n = pieces.len();
    pieces.swap(n - 1, n - 2);
    let mut loader = bpp::BppLoader::new(s.euicc_otsk, &verify_params(Curve::NistP256, &pk));
    let errs: Vec<_> = pieces
        .iter()
        .filter_map(|p| loader.process(p).err())
        .collect();
    assert_eq!(errs[0], Error::BadMac);

    // A flipped bit in an 88.
    let s = sides(Curve::NistP256, b"loader-order");
    let mut pieces = segment_bpp(&built.bpp).unwrap();
    let last = pieces[3].len() - 1;
    pieces[3][last] ^= 0x80;
    let mut loader = bpp::BppLoader::new(s.euicc_otsk, &verify_params(Curve::NistP256, &pk));
    let errs: Vec<_> = pieces
        .iter()
        .filter_map(|p| loader.process(p).err())
        .collect();
    assert_eq!(errs[0], Error::BadMac);
}
