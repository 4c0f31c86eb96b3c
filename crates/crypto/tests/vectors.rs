//! Every vector of the SGP.22 BSP / ECKA set (numbers in tests/common/vectors.rs and
//! tests/data/sgp22_2_5_4_*.b64).

// Helpers outside #[test] fns are test code too (clippy.toml only covers #[test] bodies).
#![allow(clippy::unwrap_used)]

mod common;

use common::hex;
use common::vectors::*;
use simforge_crypto::bpp::{self, decode_replace_session_keys};
use simforge_crypto::bsp::{BspSession, TAG_86, TAG_87, TAG_88};
use simforge_crypto::{
    Curve, Error, KeyAgreement, MAX_SEGMENT_LEN, SessionKeys, SoftwareKeyAgreement, SystemRandom,
    derive_session_keys, tlv,
};

fn keys(k: [&str; 3]) -> SessionKeys {
    // [S-ENC, S-MAC, initial MCV]
    SessionKeys {
        s_enc: hex(k[0]).try_into().unwrap(),
        s_mac: hex(k[1]).try_into().unwrap(),
        initial_mcv: hex(k[2]).try_into().unwrap(),
    }
}

#[test]
fn sgp22_annex_g_kdf() {
    for v in SGP22_ANNEX_G_KDF {
        let k = derive_session_keys(
            &hex(v.shared_secret),
            v.key_type,
            v.key_len,
            &hex(v.host_id),
            &hex(v.eid),
        )
        .unwrap();
        assert_eq!(k.s_enc.to_vec(), hex(v.s_enc), "{}", v.name);
        assert_eq!(k.s_mac.to_vec(), hex(v.s_mac), "{}", v.name);
        assert_eq!(k.initial_mcv.to_vec(), hex(v.initial_mcv), "{}", v.name);
    }
}

#[test]
fn sgp22_2_6_4_1_ecka_p256_then_kdf() {
    let otsk = SoftwareKeyAgreement::<SystemRandom>::import(
        Curve::NistP256,
        &hex(SGP22_2_6_4_1_ECKA_SMDP_OTSK),
    )
    .unwrap();
    assert_eq!(
        otsk.public_key(),
        hex(SGP22_2_6_4_1_ECKA_SMDP_OTPK).as_slice()
    );
    let ka = SoftwareKeyAgreement::new(SystemRandom::new());
    let shs = ka.agree(otsk, &hex(SGP22_2_6_4_1_ECKA_EUICC_OTPK)).unwrap();
    assert_eq!(
        shs.as_bytes(),
        hex(SGP22_2_6_4_1_ECKA_SHARED_SECRET).as_slice()
    );
    assert_eq!(format!("{shs:?}"), "<redacted>");
    // The same ShS feeds the mode-51 KDF vector, whose keys drive the BSP vector below.
    let v = &SGP22_ANNEX_G_KDF[1];
    let k = derive_session_keys(shs.as_bytes(), 0x88, 0x10, &hex(v.host_id), &hex(v.eid)).unwrap();
    assert_eq!(k, keys(SGP22_2_6_4_BSP_KEYS));
}

#[test]
fn sgp22_2_6_4_bsp_segments_wrap() {
    let mut s = BspSession::new(&keys(SGP22_2_6_4_BSP_KEYS));
    let [op0, op1, op2, op3, op4] = SGP22_2_6_4_BSP_OPS;
    assert_eq!(s.encrypt_segment(TAG_87, &hex(op0.0)).unwrap(), hex(op0.1));
    assert_eq!(s.mac_only_segment(TAG_88, &hex(op1.0)).unwrap(), hex(op1.1));
    assert_eq!(s.encrypt_segment(TAG_87, &hex(op2.0)).unwrap(), hex(op2.1));
    let ppk = decode_replace_session_keys(&hex(op2.0)).unwrap();
    assert_eq!(ppk, keys(SGP22_2_6_4_BSP_PPK));
    let mut p = BspSession::new(&ppk);
    for (input, expected) in [op3, op4] {
        let seg = p.encrypt_segment(TAG_86, &hex(input)).unwrap();
        assert_eq!(seg, hex(expected));
        assert_eq!(
            seg.len(),
            MAX_SEGMENT_LEN,
            "a full segment is exactly 1020 bytes"
        );
    }
    // ReplaceSessionKeys on the same session gives the same result as a new one.
    s.replace_keys(&ppk);
    assert_eq!(s.encrypt_segment(TAG_86, &hex(op3.0)).unwrap(), hex(op3.1));
}

#[test]
fn sgp22_2_6_4_bsp_segments_unwrap() {
    let mut s = BspSession::new(&keys(SGP22_2_6_4_BSP_KEYS));
    let [op0, op1, op2, op3, op4] = SGP22_2_6_4_BSP_OPS;
    assert_eq!(
        &s.decrypt_segment(TAG_87, &hex(op0.1)).unwrap()[..],
        hex(op0.0).as_slice()
    );
    assert_eq!(
        s.verify_mac_only_segment(TAG_88, &hex(op1.1)).unwrap(),
        hex(op1.0)
    );
    let rsk = s.decrypt_segment(TAG_87, &hex(op2.1)).unwrap();
    assert_eq!(&rsk[..], hex(op2.0).as_slice());
    s.replace_keys(&decode_replace_session_keys(&rsk).unwrap());
    assert_eq!(
        &s.decrypt_segment(TAG_86, &hex(op3.1)).unwrap()[..],
        hex(op3.0).as_slice()
    );
    assert_eq!(
        &s.decrypt_segment(TAG_86, &hex(op4.1)).unwrap()[..],
        hex(op4.0).as_slice()
    );
}

#[test]
fn sgp22_2_6_4_bsp_swapped_segments_fail() {
    let [_, _, _, op3, op4] = SGP22_2_6_4_BSP_OPS;
    let mut p = BspSession::new(&keys(SGP22_2_6_4_BSP_PPK));
    assert_eq!(p.decrypt_segment(TAG_86, &hex(op4.1)), Err(Error::BadMac));
    // State is unchanged after the failure: the right segment still opens.
    assert!(p.decrypt_segment(TAG_86, &hex(op3.1)).is_ok());
}

/// The BPP of this vector was produced by an implementation that (a) wrapped every segment
/// TLV once more in its `87`/`88`/`86` tag and (b) cut the profile into 1036-byte segments.
/// The real segments are the values of the outer TLVs; our eUICC side must refuse the
/// oversize segments under the normal 1020-byte limit and decrypt them once it is lifted.
#[test]
fn sgp22_2_5_4_bpp_decode_legacy_vector() {
    let bpp_bytes = common::b64_file("sgp22_2_5_4_bpp.b64");
    let upp = common::b64_file("sgp22_2_5_4_bpp_upp.b64");
    let parts = bpp::parse_bpp_parts(&bpp_bytes).unwrap();
    assert!(parts.second_sequence_of_87.is_none());
    let iscr = bpp::InitialiseSecureChannel::decode(parts.initialise_secure_channel.raw).unwrap();
    assert_eq!(iscr.host_id, b"mahlzeit".to_vec());
    assert_eq!(iscr.key_type, 0x88);

    // Rebuild the BPP with the inner (real) segments.
    let unwrap_seq = |c: &tlv::Tlv<'_>| -> Vec<u8> {
        let mut body = Vec::new();
        for t in c.children() {
            body.extend_from_slice(t.unwrap().value);
        }
        tlv::tlv(c.tag, &body)
    };
    let mut body = parts.initialise_secure_channel.raw.to_vec();
    body.extend(unwrap_seq(&parts.first_sequence_of_87));
    body.extend(unwrap_seq(&parts.sequence_of_88));
    body.extend(unwrap_seq(&parts.sequence_of_86));
    let fixed = tlv::tlv(0xBF36, &body);
    let fixed_parts = bpp::parse_bpp_parts(&fixed).unwrap();

    let k = keys(SGP22_2_5_4_BPP_SESSION_KEYS);
    let mut strict = BspSession::new(&k);
    assert!(matches!(
        fixed_parts.unprotect(&mut strict),
        Err(Error::SegmentTooLarge {
            len: 1036,
            max: 1020
        })
    ));

    // 87 and 88 are under the session keys; the 86 segments of this vector were protected
    // with PPKs (PPK-ENC 00…, PPK-MAC 11…, MCV 22…) although the BPP carries no A2.
    let mut lenient = BspSession::new(&k);
    lenient.set_max_segment_len(1036).unwrap();
    let seg = |c: &tlv::Tlv<'_>| -> Vec<Vec<u8>> {
        c.children().map(|t| t.unwrap().raw.to_vec()).collect()
    };
    let mut cfg = Vec::new();
    for s in seg(&fixed_parts.first_sequence_of_87) {
        cfg.extend_from_slice(&lenient.decrypt_segment(TAG_87, &s).unwrap());
    }
    assert_eq!(cfg, hex(SGP22_2_5_4_BPP_CONFIGURE_ISDP));
    let mut smr = Vec::new();
    for s in seg(&fixed_parts.sequence_of_88) {
        smr.extend_from_slice(&lenient.verify_mac_only_segment(TAG_88, &s).unwrap());
    }
    assert_eq!(smr, hex(SGP22_2_5_4_BPP_STORE_METADATA));
    let [ppk_enc, ppk_mac, ppk_mcv] = SGP22_2_5_4_BPP_PPK;
    lenient.replace_keys(&keys([ppk_enc, ppk_mac, ppk_mcv]));
    let mut profile = Vec::new();
    let segs86 = seg(&fixed_parts.sequence_of_86);
    assert_eq!(segs86.len(), 13);
    for s in &segs86 {
        profile.extend_from_slice(&lenient.decrypt_segment(TAG_86, s).unwrap());
    }
    assert_eq!(profile, upp);

    // Under the session keys the 86 segments do not authenticate.
    let mut wrong = BspSession::new(&k);
    wrong.set_max_segment_len(1036).unwrap();
    assert!(matches!(
        fixed_parts.unprotect(&mut wrong),
        Err(Error::BadMac)
    ));

    // The LPA cutting of the vector: BF36+BF23, A0, A1 hdr, 88, A3 hdr, 13 × 86.
    let pieces = bpp::segment_bpp(&fixed).unwrap();
    assert_eq!(pieces.len(), 5 + 13);
    assert_eq!(&pieces[0][..2], &[0xBF, 0x36]);
    assert_eq!(&pieces[0][5..7], &[0xBF, 0x23]);
    assert_eq!(pieces[1][0], 0xA0);
    assert_eq!(pieces[2], vec![0xA1, 0x35]);
    assert_eq!(pieces[3][0], 0x88);
    assert_eq!(&pieces[4][..2], &[0xA3, 0x82]);
    assert_eq!(pieces.concat(), fixed);
}

#[test]
fn ephemeral_keys_are_fresh() {
    let ka = SoftwareKeyAgreement::new(SystemRandom::new());
    for curve in Curve::ALL {
        let (a, _) = ka.generate_ephemeral(curve).unwrap();
        let (b, _) = ka.generate_ephemeral(curve).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 65);
    }
}
