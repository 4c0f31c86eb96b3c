//! A GSMA TS.48 test profile, downloaded as published (not personalised: algorithmID 3, the
//! 3GPP test algorithm of TS 34.108 §8.1.2, with the TS.48 key), authenticates on the virtual
//! eUICC against vectors of an independent implementation (libosmocore's `osmo-auc-gen -a XOR`:
//! a recorded vector always, the live binary when installed); and EUICCInfo2 shows the memory
//! the profile takes and carries ts102241Version, read with a BER walk written from the ASN.1
//! module (and `openssl asn1parse` when installed), not with the project's own types.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hex_literal::hex;
use simforge_euicc::EuiccState;
use simforge_lpa::{Card, Es10, Lpa};
use simforge_testkit::card::{self, InProc, euicc};
use simforge_testkit::stand_in::*;

/// The TS.48 profile's key (`000102…0F`, as in every TS.48 profile's AKA parameters).
const TS48_K: [u8; 16] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
];

/// TS 34.108 §8.1.2.1 for the TS.48 key, as printed by
/// `osmo-auc-gen -3 -a XOR -k 000102030405060708090a0b0c0d0e0f -r 00112233445566778899aabbccddeeff -s 64 -f 8000`
/// (libosmocore 1.7; SQN 32 = SEQ 1, IND 0).
const RAND: [u8; 16] = hex!("00112233445566778899aabbccddeeff");
const AUTN: [u8; 16] = hex!("3040506070a08000001020304070e070");
const RES: [u8; 16] = hex!("00102030405060708090a0b0c0d0e0f0");
const CK: [u8; 16] = hex!("102030405060708090a0b0c0d0e0f000");
const IK: [u8; 16] = hex!("2030405060708090a0b0c0d0e0f00010");

const OSMO_AUC_GEN: &str = "/usr/bin/osmo-auc-gen";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

/// A peer or reference file that is absent: skipped, but a failure under `CI`.
fn absent(what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} (CI is set: no skipping)"
    );
    println!("skipped: {what}");
}

fn ts48_template() -> Option<Vec<u8>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/profiles/ts48/TS48v4_SAIP2.3_NoBERTLV.der");
    match std::fs::read(&p) {
        Ok(der) => Some(der),
        Err(_) => {
            absent(&format!("{} not found (../shared absent)", p.display()));
            None
        }
    }
}

/// SELECT ADF.USIM (by the 3GPP USIM AID prefix), AUTHENTICATE (3G context).
fn authenticate(card: &mut impl Card, rand: &[u8], autn: &[u8]) -> Vec<u8> {
    let r = card
        .transmit(&[
            0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02,
        ])
        .expect("transmit");
    assert_eq!(r, [0x90, 0x00], "SELECT ADF.USIM");
    let mut apdu = vec![0x00, 0x88, 0x00, 0x81, 0x22, 0x10];
    apdu.extend_from_slice(rand);
    apdu.push(0x10);
    apdu.extend_from_slice(autn);
    apdu.push(0x00);
    card.transmit(&apdu).expect("transmit")
}

/// `DB` ‖ L RES ‖ L CK ‖ L IK ‖ L Kc, then 9000 → (RES, CK, IK).
fn success(r: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    assert_eq!(&r[r.len() - 2..], [0x90, 0x00], "{}", hex::encode(r));
    assert_eq!(r[0], 0xDB, "{}", hex::encode(r));
    let mut parts = Vec::new();
    let mut i = 1;
    while i < r.len() - 2 {
        let l = usize::from(r[i]);
        parts.push(r[i + 1..i + 1 + l].to_vec());
        i += 1 + l;
    }
    assert_eq!(parts.len(), 4, "RES, CK, IK and Kc: {}", hex::encode(r));
    (parts[0].clone(), parts[1].clone(), parts[2].clone())
}

fn osmo_auc_gen(args: &[&str]) -> HashMap<String, String> {
    let out = Command::new(OSMO_AUC_GEN)
        .args(args)
        .output()
        .expect("run osmo-auc-gen");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "osmo-auc-gen {args:?}:\n{text}");
    assert!(
        !text.contains("incorrect"),
        "osmo-auc-gen {args:?}:\n{text}"
    );
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_lowercase()))
        .collect()
}

/// One BER TLV at the start of `data`: (tag bytes, value, rest). Tags of one or two bytes,
/// definite lengths of up to two bytes: all EUICCInfo2 uses.
fn tlv(data: &[u8]) -> (Vec<u8>, &[u8], &[u8]) {
    let tag_len = if data[0] & 0x1F == 0x1F { 2 } else { 1 };
    let tag = data[..tag_len].to_vec();
    let (len, hdr) = match data[tag_len] {
        l @ 0..=0x7F => (usize::from(l), tag_len + 1),
        0x81 => (usize::from(data[tag_len + 1]), tag_len + 2),
        0x82 => (
            usize::from(u16::from_be_bytes([data[tag_len + 1], data[tag_len + 2]])),
            tag_len + 3,
        ),
        other => panic!("length byte {other:02x}"),
    };
    (tag, &data[hdr..hdr + len], &data[hdr + len..])
}

/// The children of a constructed value, by tag.
fn children(mut value: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (t, v, rest) = tlv(value);
        out.push((t, v.to_vec()));
        value = rest;
    }
    out
}

/// What the test reads of EUICCInfo2 (SGP.22 ASN.1: `EUICCInfo2 ::= [34] SEQUENCE` (BF22),
/// `extCardResource [4] OCTET STRING` (84), `ts102241Version [6] VersionType` (86), automatic
/// tags), and of extCardResource (ETSI TS 102 226 §8.2.1.7.2: 81 installed applications,
/// 82 free non-volatile memory, 83 free volatile memory).
struct Info2 {
    installed: u64,
    free_nvm: u64,
    ts102241_version: Option<Vec<u8>>,
}

fn uint(v: &[u8]) -> u64 {
    v.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

fn read_info2(der: &[u8]) -> Info2 {
    let (tag, value, rest) = tlv(der);
    assert_eq!(tag, [0xBF, 0x22], "EUICCInfo2 tag");
    assert!(rest.is_empty());
    let fields = children(value);
    let field = |t: u8| {
        fields
            .iter()
            .find(|(tag, _)| *tag == [t])
            .map(|(_, v)| v.clone())
    };
    let ecr = children(&field(0x84).expect("extCardResource [4]"));
    let ecr_value = |t: u8| {
        ecr.iter()
            .find(|(tag, _)| *tag == [t])
            .map(|(_, v)| uint(v))
            .unwrap_or_else(|| panic!("extCardResource {t:02x}"))
    };
    Info2 {
        installed: ecr_value(0x81),
        free_nvm: ecr_value(0x82),
        ts102241_version: field(0x86),
    }
}

/// `openssl asn1parse` of EUICCInfo2: it must see a `cont [ 6 ]` of 3 octets inside the
/// `cont [ 34 ]`.
fn openssl_sees_ts102241_version(der: &[u8]) {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        absent("openssl not on PATH");
        return;
    }
    let dir = tempdir();
    let f = dir.join("info2.der");
    std::fs::write(&f, der).expect("write");
    let out = Command::new("openssl")
        .args(["asn1parse", "-inform", "DER", "-in"])
        .arg(&f)
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("cont [ 34 ]"), "{text}");
    assert!(
        text.lines().any(|l| l.contains("l=   3 prim: cont [ 6 ]")),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "simforge-ts48-info2-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn ts48_profile_authenticates_with_the_3gpp_test_algorithm() {
    let Some(upp) = ts48_template() else { return };
    // The published template as it is: algorithmID 3 (usim-test-algorithm), the TS.48 key.
    let profile = simforge_saip::Profile::decode(&upp).expect("TS.48 profile");
    assert_eq!(
        profile.aka_algorithm(),
        Some(simforge_saip::ALGORITHM_USIM_TEST)
    );
    assert_eq!(profile.k(), Some(&TS48_K[..]));

    let pki = lab_pki();
    let mut smdp = TestSmdp::new(pki.clone(), upp.clone());
    let iccid = smdp.iccid.clone();
    let mut euicc = euicc(&pki, EuiccState::default());
    let mut card = InProc::new(&mut euicc);
    let (before, after) = {
        let es10 = Es10::open(&mut card).expect("open ISD-R");
        let mut lpa = Lpa::new(es10, &mut smdp);
        let before = lpa
            .es10
            .transceive(&[0xBF, 0x22, 0x00], "GetEUICCInfo2")
            .expect("EUICCInfo2");
        let ac = lpa.es9.activation_code();
        let out = lpa.download(&ac, None).expect("download");
        assert_eq!(out.iccid, iccid);
        lpa.enable(&iccid).expect("enable");
        let after = lpa
            .es10
            .transceive(&[0xBF, 0x22, 0x00], "GetEUICCInfo2")
            .expect("EUICCInfo2");
        lpa.es10.close();
        (before, after)
    };

    // Item 7: the installed profile takes non-volatile memory; ts102241Version is there.
    let (b, a) = (read_info2(&before), read_info2(&after));
    assert_eq!((b.installed, a.installed), (0, 1));
    assert!(
        b.free_nvm >= a.free_nvm + upp.len() as u64,
        "free NVM {} → {}, profile package {} bytes",
        b.free_nvm,
        a.free_nvm,
        upp.len()
    );
    for info in [&b, &a] {
        let v = info
            .ts102241_version
            .as_deref()
            .expect("ts102241Version [6]");
        assert_eq!(v.len(), 3, "VersionType is 3 octets");
    }
    openssl_sees_ts102241_version(&after);

    // The recorded osmo-auc-gen vector: 9000 with RES, CK, IK.
    let r = authenticate(&mut card, &RAND, &AUTN);
    let (res, ck, ik) = success(&r);
    assert_eq!(res, &RES[..]);
    assert_eq!(ck, &CK[..]);
    assert_eq!(ik, &IK[..]);
    // A replay is a synchronisation failure, a flipped MAC bit a MAC failure.
    let r = authenticate(&mut card, &RAND, &AUTN);
    assert_eq!((r[0], r[1]), (0xDC, 14), "{}", hex::encode(&r));
    let mut bad = AUTN.to_vec();
    bad[15] ^= 1;
    assert_eq!(authenticate(&mut card, &RAND, &bad), [0x98, 0x62]);

    // The live peer, on a fresh RAND: its vector is accepted, and it accepts our AUTS.
    if !Path::new(OSMO_AUC_GEN).exists() {
        absent("osmo-auc-gen not installed");
        return;
    }
    let rand: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xA5);
    let rand_hex = hex::encode(rand);
    let k_hex = hex::encode(TS48_K);
    // -s 96: the peer puts SQN 64 (SEQ 2, IND 0) into AUTN.
    let peer = osmo_auc_gen(&[
        "-3", "-a", "XOR", "-k", &k_hex, "-r", &rand_hex, "-s", "96", "-f", "8000",
    ]);
    assert_eq!(peer["SQN"], "64");
    let r = authenticate(&mut card, &rand, &h(&peer["AUTN"]));
    let (res, ck, ik) = success(&r);
    assert_eq!(hex::encode(res), peer["RES"]);
    assert_eq!(hex::encode(ck), peer["CK"]);
    assert_eq!(hex::encode(ik), peer["IK"]);
    let r = authenticate(&mut card, &rand, &h(&peer["AUTN"]));
    assert_eq!((r[0], r[1]), (0xDC, 14), "{}", hex::encode(&r));
    let auts = hex::encode(&r[2..16]);
    let peer = osmo_auc_gen(&[
        "-3", "-a", "XOR", "-k", &k_hex, "-r", &rand_hex, "-A", &auts, "-f", "8000",
    ]);
    assert_eq!(peer["SQN.MS"], "64", "the peer recovers the card's SQN_MS");
}

/// A profile that does not fit in the free non-volatile memory is refused with SGP.22's
/// installFailedDueToInsufficientMemoryForProfile (10) on loadProfileElements (5), and
/// nothing of it is installed.
#[test]
fn a_profile_larger_than_the_free_memory_is_refused() {
    let Some(upp) = ts48_template() else { return };
    let pki = lab_pki();
    let mut smdp = TestSmdp::new(pki.clone(), upp.clone());
    let mut euicc = euicc(&pki, EuiccState::default());
    let before = {
        let mut card = InProc::new(&mut euicc);
        let mut es10 = Es10::open(&mut card).expect("open ISD-R");
        let info = es10
            .transceive(&[0xBF, 0x22, 0x00], "GetEUICCInfo2")
            .expect("EUICCInfo2");
        es10.close();
        read_info2(&info)
    };
    // Another profile already takes all but (package size - 1) bytes.
    let mut state = EuiccState::default();
    state.profiles.push(simforge_euicc::InstalledProfile {
        iccid: vec![0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0xF6],
        isdp_aid: vec![
            0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00,
            0x1F, 0x00,
        ],
        enabled: false,
        nickname: None,
        metadata: Vec::new(),
        configure_isdp: Vec::new(),
        usim: None,
        nvm_size: before.free_nvm - (upp.len() as u64 - 1),
    });
    let mut euicc = card::euicc(&pki, state);
    let mut card = InProc::new(&mut euicc);
    let es10 = Es10::open(&mut card).expect("open ISD-R");
    let mut lpa = Lpa::new(es10, &mut smdp);
    let ac = lpa.es9.activation_code();
    match lpa.download(&ac, None).expect_err("does not fit") {
        simforge_lpa::Error::Install {
            bpp_command_id,
            error_reason,
        } => assert_eq!((bpp_command_id, error_reason), (5, 10)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        lpa.list_profiles().expect("list").len(),
        1,
        "only the first one"
    );
}
