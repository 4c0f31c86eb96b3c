//! The 3GPP test algorithm (TS 34.108 §8.1.2, "XOR"): fixed vectors and the AKA layer on top.
//!
//! TS 34.108 gives the algorithm as formulas, not as numbered test sets; the vectors here are
//! the output of an independent implementation, libosmocore 1.7's `osmo-auc-gen -3 -a XOR`
//! (recorded with the command line that produced them), so they hold on a machine without it.
//! `osmo_auc_gen.rs` runs the live peer on random inputs as well.

// Test code: helper functions outside #[test] unwrap too (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "data/util.rs"]
mod util;

use simforge_aka::xor::Xdout;
use simforge_aka::{AkaError, Algorithm, AuthFailure, K, SqnCheck, sqn_from_u64, sqn_to_u64};
use util::{a, hx};

/// One §8.1.2.1 vector: inputs and the peer's outputs.
struct Vector {
    /// The osmo-auc-gen command line that printed the outputs.
    source: &'static str,
    k: &'static str,
    rand: &'static str,
    sqn: u64,
    amf: &'static str,
    res: &'static str,
    ck: &'static str,
    ik: &'static str,
    autn: &'static str,
    sres: &'static str,
    kc: &'static str,
}

const TS34_108_8_1_2_1: [Vector; 2] = [
    Vector {
        source: "osmo-auc-gen -3 -a XOR -k 000102030405060708090a0b0c0d0e0f \
                 -r 00112233445566778899aabbccddeeff -s 32 -f 8000",
        k: "000102030405060708090a0b0c0d0e0f",
        rand: "00112233445566778899aabbccddeeff",
        sqn: 0,
        amf: "8000",
        res: "00102030405060708090a0b0c0d0e0f0",
        ck: "102030405060708090a0b0c0d0e0f000",
        ik: "2030405060708090a0b0c0d0e0f00010",
        autn: "3040506070808000001020304050e070",
        sres: "00000000",
        kc: "0000000000000000",
    },
    Vector {
        source: "osmo-auc-gen -3 -a XOR -k cededeffacedacefacedbadfadedbeef \
                 -r 7c7df6b3a1c4e2f0d0f1a2b3c4d5e6f7 -s 1000 -f b9b9",
        k: "cededeffacedacefacedbadfadedbeef",
        rand: "7c7df6b3a1c4e2f0d0f1a2b3c4d5e6f7",
        sqn: 968,
        amf: "b9b9",
        res: "b2a3284c0d294e1f7c1c186c69385818",
        ck: "a3284c0d294e1f7c1c186c69385818b2",
        ik: "284c0d294e1f7c1c186c69385818b2a3",
        autn: "4c0d294e1cb4b9b9b2a3284c0ee1f7a6",
        sres: "aaae2627",
        kc: "8f1044750711c971",
    },
];

/// §8.1.2.2: an AUTS osmo-auc-gen accepted (`-A 3040506070a00010203040706070`, printing
/// `SQN.MS: 32`) for the first vector's K and RAND.
const TS34_108_8_1_2_2_AUTS: &str = "3040506070a00010203040706070";
const TS34_108_8_1_2_2_SQN_MS: u64 = 32;

fn check(v: &Vector) {
    let id = v.source;
    let k = K::from_hex(v.k).unwrap();
    let rand = a::<16>(v.rand);
    let sqn = sqn_from_u64(v.sqn);
    let amf = a::<2>(v.amf);

    // The f-functions one by one.
    let x = Xdout::new(&k, &rand).unwrap();
    assert_eq!(hx(x.f2(16).unwrap()), v.res, "{id}: f2");
    assert_eq!(hx(&x.f3()), v.ck, "{id}: f3");
    assert_eq!(hx(&x.f4()), v.ik, "{id}: f4");
    assert_eq!(hx(&x.f1(&sqn, &amf)), &v.autn[16..], "{id}: f1");
    let conc: Vec<u8> = sqn.iter().zip(x.f5()).map(|(s, k)| s ^ k).collect();
    assert_eq!(hx(&conc), &v.autn[..12], "{id}: SQN ⊕ f5");

    // Network side.
    let alg = Algorithm::test_xor();
    let av = alg.generate_vector(&k, &rand, &sqn, &amf).unwrap();
    assert_eq!(hx(&av.xres), v.res, "{id}: XRES");
    assert_eq!(hx(av.ck.as_bytes()), v.ck, "{id}: CK");
    assert_eq!(hx(av.ik.as_bytes()), v.ik, "{id}: IK");
    assert_eq!(hx(&av.autn), v.autn, "{id}: AUTN");
    assert_eq!(hx(&av.sres().unwrap()), v.sres, "{id}: SRES = c2(XRES)");
    assert_eq!(
        hx(av.kc().unwrap().as_bytes()),
        v.kc,
        "{id}: Kc = c3(CK, IK)"
    );

    // USIM side.
    let ok = alg.authenticate(&k, &rand, &a::<16>(v.autn)).unwrap();
    assert_eq!(hx(&ok.res), v.res, "{id}: RES");
    assert_eq!(hx(ok.ck.as_bytes()), v.ck, "{id}: CK");
    assert_eq!(hx(ok.ik.as_bytes()), v.ik, "{id}: IK");
    assert_eq!(sqn_to_u64(&ok.sqn), v.sqn, "{id}: SQN");
    assert_eq!(ok.amf, amf, "{id}: AMF");

    // A flipped MAC bit, or another K, is a MAC failure.
    let mut bad = a::<16>(v.autn);
    bad[15] ^= 1;
    assert_eq!(
        alg.authenticate(&k, &rand, &bad).unwrap_err(),
        AuthFailure::MacFailure,
        "{id}"
    );
    let mut other = a::<16>(v.k);
    other[0] ^= 0x80;
    assert_eq!(
        alg.authenticate(&K::new_128(other), &rand, &a::<16>(v.autn))
            .unwrap_err(),
        AuthFailure::MacFailure,
        "{id}"
    );
}

#[test]
fn ts34_108_8_1_2_1_every_vector() {
    for v in &TS34_108_8_1_2_1 {
        check(v);
    }
}

#[test]
fn ts34_108_8_1_2_2_resynchronisation() {
    let v = &TS34_108_8_1_2_1[0];
    let k = K::from_hex(v.k).unwrap();
    let rand = a::<16>(v.rand);
    let alg = Algorithm::test_xor();
    let sqn_ms = sqn_from_u64(TS34_108_8_1_2_2_SQN_MS);
    assert_eq!(
        hx(&alg.auts(&k, &rand, &sqn_ms).unwrap()),
        TS34_108_8_1_2_2_AUTS
    );
    assert_eq!(
        sqn_to_u64(
            &alg.resync(&k, &rand, &a::<14>(TS34_108_8_1_2_2_AUTS))
                .unwrap()
        ),
        TS34_108_8_1_2_2_SQN_MS
    );
    // The USIM refusing the SQN answers with that AUTS.
    let err = alg
        .authenticate_with(&k, &rand, &a::<16>(v.autn), |_, _| SqnCheck::Resync {
            sqn_ms,
        })
        .unwrap_err();
    match err {
        AuthFailure::SyncFailure { auts } => assert_eq!(hx(&auts), TS34_108_8_1_2_2_AUTS),
        other => panic!("{other:?}"),
    }
    // A corrupted MAC-S is refused.
    let mut bad = a::<14>(TS34_108_8_1_2_2_AUTS);
    bad[13] ^= 1;
    assert_eq!(
        alg.resync(&k, &rand, &bad).unwrap_err(),
        AkaError::AutsMacFailure
    );
}

#[test]
fn res_length_and_key_length() {
    let v = &TS34_108_8_1_2_1[1];
    let k = K::from_hex(v.k).unwrap();
    let rand = a::<16>(v.rand);
    let sqn = sqn_from_u64(v.sqn);
    let amf = a::<2>(v.amf);
    // RES = the first n bits of XDOUT, n = 32 … 128 in 8-bit steps.
    for bytes in 4u8..=16 {
        let alg = Algorithm::TestXor { res_bytes: bytes };
        let av = alg.generate_vector(&k, &rand, &sqn, &amf).unwrap();
        assert_eq!(hx(&av.xres), &v.res[..usize::from(bytes) * 2]);
        assert_eq!(
            hx(&av.autn),
            v.autn,
            "AUTN does not depend on the RES length"
        );
        let ok = alg.authenticate(&k, &rand, &av.autn).unwrap();
        assert_eq!(ok.res, av.xres);
    }
    for bytes in [0u8, 3, 17, 32] {
        let alg = Algorithm::TestXor { res_bytes: bytes };
        assert!(matches!(
            alg.generate_vector(&k, &rand, &sqn, &amf),
            Err(AkaError::UnsupportedLength { .. })
        ));
    }
    // K has the length of RAND: a 256-bit K is refused, on both sides.
    let k256 = K::new_256([0x11; 32]);
    let alg = Algorithm::test_xor();
    assert!(matches!(
        alg.generate_vector(&k256, &rand, &sqn, &amf),
        Err(AkaError::InvalidLength { .. })
    ));
    assert!(matches!(
        alg.authenticate(&k256, &rand, &a::<16>(v.autn)),
        Err(AuthFailure::Invalid(AkaError::InvalidLength { .. }))
    ));
    // The intermediate value is a key in disguise: it never prints.
    let x = Xdout::new(&k, &rand).unwrap();
    assert_eq!(format!("{x:?}"), "Xdout(<redacted>)");
}
