//! Property tests of the AKA procedure (TS 33.102 §6.3) over both algorithm sets.

// Test code: helper functions outside #[test] unwrap too (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use simforge_aka::milenage::MilenageConstants;
use simforge_aka::tuak::{KeccakIterations, KeyLength, MacLength, ResLength, TuakLengths};
use simforge_aka::{Algorithm, AuthFailure, K, Opc, SqnCheck, Topc, sqn_from_u64, sqn_to_u64};

fn any_k() -> impl Strategy<Value = K> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(K::new_128),
        any::<[u8; 32]>().prop_map(K::new_256),
    ]
}

fn any_lengths() -> impl Strategy<Value = TuakLengths> {
    (
        prop_oneof![
            Just(MacLength::Bits64),
            Just(MacLength::Bits128),
            Just(MacLength::Bits256)
        ],
        prop_oneof![
            Just(ResLength::Bits32),
            Just(ResLength::Bits64),
            Just(ResLength::Bits128),
            Just(ResLength::Bits256)
        ],
        prop_oneof![Just(KeyLength::Bits128), Just(KeyLength::Bits256)],
        prop_oneof![Just(KeyLength::Bits128), Just(KeyLength::Bits256)],
    )
        .prop_map(|(mac, res, ck, ik)| TuakLengths { mac, res, ck, ik })
}

fn any_constants() -> impl Strategy<Value = MilenageConstants> {
    prop_oneof![
        Just(MilenageConstants::STANDARD),
        (any::<[u8; 5]>(), any::<[[u8; 16]; 5]>()).prop_map(|(r, c)| MilenageConstants::new(
            r.map(|x| x & 0x7f),
            c
        )
        .unwrap()),
    ]
}

/// A K together with an algorithm that accepts it (MILENAGE needs a 128-bit K).
fn any_subscriber() -> impl Strategy<Value = (K, Algorithm)> {
    prop_oneof![
        (any::<[u8; 16]>(), any::<[u8; 16]>(), any_constants()).prop_map(|(k, opc, constants)| {
            (
                K::new_128(k),
                Algorithm::Milenage {
                    opc: Opc::from_bytes(opc),
                    constants,
                },
            )
        }),
        (any_k(), any::<[u8; 32]>(), 1u32..3, any_lengths()).prop_map(|(k, topc, it, lengths)| {
            (
                k,
                Algorithm::Tuak {
                    topc: Topc::from_bytes(topc),
                    iterations: KeccakIterations::new(it).unwrap(),
                    lengths,
                },
            )
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn usim_accepts_network_vector(
        (k, alg) in any_subscriber(),
        rand in any::<[u8; 16]>(),
        sqn in 0u64..=simforge_aka::SQN_MAX,
        amf in any::<[u8; 2]>(),
    ) {
        let sqn = sqn_from_u64(sqn);
        let av = alg.generate_vector(&k, &rand, &sqn, &amf).unwrap();
        prop_assert_eq!(av.autn.len(), alg.autn_len());
        let ok = alg.authenticate(&k, &rand, &av.autn).unwrap();
        prop_assert_eq!(&ok.res, &av.xres);
        prop_assert_eq!(&ok.ck, &av.ck);
        prop_assert_eq!(&ok.ik, &av.ik);
        prop_assert_eq!(ok.sqn, sqn);
        prop_assert_eq!(ok.amf, amf);
    }

    #[test]
    fn flipped_autn_bit_is_mac_failure(
        (k, alg) in any_subscriber(),
        rand in any::<[u8; 16]>(),
        sqn in any::<[u8; 6]>(),
        amf in any::<[u8; 2]>(),
        bit in any::<prop::sample::Index>(),
    ) {
        let av = alg.generate_vector(&k, &rand, &sqn, &amf).unwrap();
        let mut autn = av.autn.to_vec();
        let bit = bit.index(autn.len() * 8);
        autn[bit / 8] ^= 0x80 >> (bit % 8);
        let mut asked = false;
        let r = alg.authenticate_with(&k, &rand, &autn, |_, _| { asked = true; SqnCheck::Accept });
        prop_assert_eq!(r, Err(AuthFailure::MacFailure));
        prop_assert!(!asked, "SQN must not be looked at before MAC-A verifies");
    }

    #[test]
    fn resync_recovers_sqn_ms(
        (k, alg) in any_subscriber(),
        rand in any::<[u8; 16]>(),
        sqn in any::<[u8; 6]>(),
        sqn_ms in 0u64..=simforge_aka::SQN_MAX,
    ) {
        let av = alg.generate_vector(&k, &rand, &sqn, &[0x80, 0x00]).unwrap();
        let sqn_ms = sqn_from_u64(sqn_ms);
        let r = alg.authenticate_with(&k, &rand, &av.autn, |got, _| {
            assert_eq!(got, &sqn);
            SqnCheck::Resync { sqn_ms }
        });
        let Err(AuthFailure::SyncFailure { auts }) = r else {
            panic!("expected a sync failure, got {r:?}");
        };
        prop_assert_eq!(auts.len(), alg.auts_len());
        prop_assert_eq!(&auts, &alg.auts(&k, &rand, &sqn_ms).unwrap());
        prop_assert_eq!(alg.resync(&k, &rand, &auts).unwrap(), sqn_ms);
        // A corrupted AUTS is refused, never mis-recovered.
        let mut bad = auts.to_vec();
        bad[auts.len() - 1] ^= 1;
        prop_assert!(alg.resync(&k, &rand, &bad).is_err());
        // With another RAND the MAC-S does not verify either.
        let mut other = rand;
        other[0] ^= 1;
        prop_assert!(alg.resync(&k, &other, &auts).is_err());
    }

    #[test]
    fn sqn_round_trip(v in 0u64..=simforge_aka::SQN_MAX) {
        prop_assert_eq!(sqn_to_u64(&sqn_from_u64(v)), v);
    }
}
