//! Secret hygiene, input validation and error behaviour of the public API.

// Test code: helper functions outside #[test] unwrap too (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use simforge_aka::milenage::{Milenage, MilenageConstants};
use simforge_aka::tuak::{KeccakIterations, MacLength, ResLength, TuakLengths};
use simforge_aka::{AkaError, Algorithm, AuthFailure, K, Kc, Op, Opc, SessionKey, Top, Topc, gsm};

const SECRET_HEX: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";

#[test]
fn debug_never_shows_secrets() {
    let k = K::from_hex(SECRET_HEX).unwrap();
    let op = Op::from_hex(SECRET_HEX).unwrap();
    let opc = Opc::from_hex(SECRET_HEX).unwrap();
    let top = Top::from_hex(&SECRET_HEX.repeat(2)).unwrap();
    let topc = Topc::from_hex(&SECRET_HEX.repeat(2)).unwrap();
    let kc = Kc::from_hex(&SECRET_HEX[..16]).unwrap();
    let ck = SessionKey::from_slice(&[0x46; 16]).unwrap();
    let m = Milenage::new(&k, &opc).unwrap();
    let alg = Algorithm::milenage(opc.clone());
    let av = alg.generate_vector(&k, &[1; 16], &[0; 6], &[0; 2]).unwrap();
    let all = format!("{k:?} {op:?} {opc:?} {top:?} {topc:?} {kc:?} {ck:?} {m:?} {alg:?} {av:?}");
    for shown in [
        format!("{k:?}"),
        format!("{op:?}"),
        format!("{opc:?}"),
        format!("{top:?}"),
        format!("{topc:?}"),
        format!("{kc:?}"),
        format!("{ck:?}"),
    ] {
        assert!(shown.contains("<redacted>"), "{shown}");
    }
    let lower = all.to_lowercase();
    assert!(!lower.contains("465b5c"), "{all}");
    assert!(!lower.contains("4646"), "{all}");
    // The CK and IK of the vector are not printed either.
    let ck_hex: String = av
        .ck
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!lower.contains(&ck_hex), "{all}");
}

#[test]
fn hex_errors_do_not_echo_input() {
    let bad = "465b5ce8b199b49faa5f0a2ee238a6bZ";
    for e in [
        K::from_hex(bad).unwrap_err(),
        Op::from_hex(bad).unwrap_err(),
        Opc::from_hex(bad).unwrap_err(),
        Top::from_hex(bad).unwrap_err(),
        Topc::from_hex(bad).unwrap_err(),
        K::from_hex("465b5ce8b").unwrap_err(),
        K::from_hex("465b5ce8b199b49faa5f0a2ee238a6").unwrap_err(),
        Opc::from_hex(&SECRET_HEX.repeat(2)).unwrap_err(),
    ] {
        let text = format!("{e} {e:?}");
        assert!(!text.contains("465b"), "{text}");
        assert!(!text.contains('Z'), "{text}");
    }
    assert_eq!(
        K::from_hex(bad).unwrap_err(),
        AkaError::InvalidHex { what: "K" }
    );
    assert!(matches!(
        K::from_hex("00").unwrap_err(),
        AkaError::InvalidLength {
            what: "K",
            actual: 1,
            ..
        }
    ));
    // Upper case and surrounding whitespace are fine; FromStr is hex.
    let k: K = " 465B5CE8B199B49FAA5F0A2EE238A6BC\n".parse().unwrap();
    assert_eq!(k, K::from_hex(SECRET_HEX).unwrap());
    assert_eq!(k.bits(), 128);
    assert_eq!(K::from_slice(&[0; 32]).unwrap().bits(), 256);
    assert!(K::from_slice(&[0; 24]).is_err());
}

#[test]
fn milenage_refuses_256_bit_k() {
    let k = K::new_256([7; 32]);
    let opc = Opc::from_bytes([1; 16]);
    assert!(matches!(
        Milenage::new(&k, &opc),
        Err(AkaError::InvalidLength { actual: 32, .. })
    ));
    assert!(simforge_aka::milenage::opc(&k, &Op::from_bytes([0; 16])).is_err());
    let alg = Algorithm::milenage(opc);
    assert!(alg.generate_vector(&k, &[0; 16], &[0; 6], &[0; 2]).is_err());
    assert!(matches!(
        alg.authenticate(&k, &[0; 16], &[0; 16]),
        Err(AuthFailure::Invalid(_))
    ));
}

#[test]
fn wrong_autn_and_auts_lengths_are_invalid() {
    let k = K::new_128([7; 16]);
    let alg = Algorithm::milenage(Opc::from_bytes([1; 16]));
    assert!(matches!(
        alg.authenticate(&k, &[0; 16], &[0; 15]),
        Err(AuthFailure::Invalid(AkaError::InvalidLength {
            what: "AUTN",
            ..
        }))
    ));
    assert!(matches!(
        alg.resync(&k, &[0; 16], &[0; 13]),
        Err(AkaError::InvalidLength { what: "AUTS", .. })
    ));
    let tuak = Algorithm::Tuak {
        topc: Topc::from_bytes([2; 32]),
        iterations: KeccakIterations::default(),
        lengths: TuakLengths {
            mac: MacLength::Bits128,
            ..TuakLengths::default()
        },
    };
    assert_eq!(tuak.autn_len(), 24);
    assert_eq!(tuak.auts_len(), 22);
    assert!(matches!(
        tuak.authenticate(&k, &[0; 16], &[0; 16]),
        Err(AuthFailure::Invalid(_))
    ));
}

#[test]
fn operator_constants() {
    assert_eq!(MilenageConstants::default(), MilenageConstants::STANDARD);
    let std = MilenageConstants::STANDARD;
    assert_eq!(std.r(), [64, 0, 32, 64, 96]);
    let mut c = [[0u8; 16]; 5];
    for (i, v) in [0u8, 1, 2, 4, 8].iter().enumerate() {
        c[i][15] = *v;
    }
    assert_eq!(std.c(), c);
    assert_eq!(MilenageConstants::new(std.r(), std.c()).unwrap(), std);
    assert_eq!(
        MilenageConstants::new([64, 0, 32, 64, 128], c),
        Err(AkaError::InvalidRotation {
            index: 5,
            value: 128
        })
    );

    // Different constants give different (but self-consistent) results.
    let k = K::new_128([0x11; 16]);
    let opc = Opc::from_bytes([0x22; 16]);
    let mut c2 = c;
    c2[1][0] = 0x80;
    let custom = MilenageConstants::new([13, 1, 33, 65, 127], c2).unwrap();
    let a = Milenage::new(&k, &opc).unwrap();
    let b = Milenage::with_constants(&k, &opc, custom).unwrap();
    let rand = [0x33; 16];
    assert_ne!(a.f1(&rand, &[1; 6], &[2; 2]), b.f1(&rand, &[1; 6], &[2; 2]));
    assert_ne!(a.f2(&rand), b.f2(&rand));
    assert_ne!(a.f5star(&rand), b.f5star(&rand));
    let alg = Algorithm::Milenage {
        opc,
        constants: custom,
    };
    let av = alg
        .generate_vector(&k, &rand, &[0, 0, 0, 0, 1, 0], &[0x80, 0])
        .unwrap();
    assert_eq!(alg.authenticate(&k, &rand, &av.autn).unwrap().res, av.xres);
    assert_eq!(av.xres.as_slice(), &b.f2(&rand));
}

#[test]
fn tuak_parameter_validation() {
    assert_eq!(
        KeccakIterations::new(0),
        Err(AkaError::InvalidKeccakIterations)
    );
    assert_eq!(KeccakIterations::default().get(), 1);
    assert!(MacLength::from_bits(32).is_err());
    assert!(ResLength::from_bits(16).is_err());
    assert_eq!(ResLength::from_bits(32).unwrap().bytes(), 4);
}

#[test]
fn gsm_conversion_lengths() {
    assert_eq!(gsm::c2(&[1, 2, 3, 4]).unwrap(), [1, 2, 3, 4]);
    assert_eq!(
        gsm::c2(&[1, 2, 3, 4, 1, 2, 3, 4, 5, 6]).unwrap(),
        [5, 6, 0, 0]
    );
    assert!(gsm::c2(&[0; 32]).is_err());
    assert!(gsm::c2(&[0; 3]).is_err());
    assert!(gsm::c3(&[0; 32], &[0; 16]).is_err());
    assert!(gsm::c3(&[0; 16], &[0; 32]).is_err());
    let kc = gsm::c3(&[0xff; 16], &[0x0f; 16]).unwrap();
    assert_eq!(kc.as_bytes(), &[0; 8]);
}
