//! End-to-end tests against a real osmo-hlr (Debian package `osmo-hlr`) and osmo-auc-gen
//! (`libosmocore-utils`). Each test prints "skipped: ..." and passes when they are missing.

use std::collections::HashMap;
use std::process::Command;
use std::time::Instant;

use aes::Aes128;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use simforge_gsup::{AuthTuple, Error, GsupCause, GsupClient, HlrDatabase, OsmoHlr};

/// 3GPP TS 35.208 test set 1.
const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
const IMSI: &str = "001010000000001";

fn have_osmo_hlr() -> bool {
    if OsmoHlr::available() {
        true
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: osmo-hlr not installed");
        false
    }
}

fn have_auc_gen() -> bool {
    let ok = Command::new("osmo-auc-gen").arg("--help").output().is_ok();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set: a missing peer or ../shared fails the test instead of skipping it"
        );
        println!("skipped: osmo-auc-gen (libosmocore-utils) not installed");
    }
    ok
}

fn provision_test_set_1(hlr: &OsmoHlr) {
    let mut vty = hlr.vty().expect("VTY connect");
    let script = format!(
        "! test set 1\n\
         subscriber imsi {IMSI} create\n\
         \n\
         # 3G key\n\
         subscriber imsi {IMSI} update aud3g milenage k {K} opc {OPC}\n\
         subscriber imsi {IMSI} update msisdn 12345\n"
    );
    let report = vty.run_script(&script).expect("provisioning script");
    assert_eq!(report.commands, 3);
    let shown = vty
        .command(&format!("subscriber imsi {IMSI} show"))
        .expect("show");
    assert!(shown.contains("MSISDN: 12345"), "{shown}");
    assert!(shown.contains("3G auth: MILENAGE"), "{shown}");
}

/// Runs `osmo-auc-gen -3 -a milenage` and returns its `NAME:\tvalue` lines.
fn auc_gen(rand: &[u8; 16], sqn: u64) -> HashMap<String, String> {
    let out = Command::new("osmo-auc-gen")
        .args(["-3", "-a", "milenage", "-k", K, "-o", OPC, "-f", "0000"])
        .args(["-s", &sqn.to_string(), "-r", &hex::encode(rand)])
        .output()
        .expect("run osmo-auc-gen");
    assert!(out.status.success(), "osmo-auc-gen failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn field(m: &HashMap<String, String>, name: &str) -> Vec<u8> {
    hex::decode(m.get(name).expect(name)).expect("hex from osmo-auc-gen")
}

fn sqn_of(t: &AuthTuple) -> u64 {
    // osmo-auc-gen with SQN 0 gives AUTN = AK || AMF || MAC, so SQN = AUTN[..6] ^ AK.
    let ak = field(&auc_gen(&t.rand, 0), "AUTN");
    let autn = t.autn.expect("3G vector has AUTN");
    (0..6).fold(0u64, |acc, i| (acc << 8) | u64::from(autn[i] ^ ak[i]))
}

/// Checks every part of a vector against osmo-auc-gen; returns its SQN.
fn check_with_auc_gen(t: &AuthTuple) -> u64 {
    let sqn = sqn_of(t);
    let expect = auc_gen(&t.rand, sqn);
    assert_eq!(
        t.autn.map(|a| a.to_vec()),
        Some(field(&expect, "AUTN")),
        "AUTN"
    );
    assert_eq!(t.res.clone(), Some(field(&expect, "RES")), "RES");
    assert_eq!(t.ck.map(|a| a.to_vec()), Some(field(&expect, "CK")), "CK");
    assert_eq!(t.ik.map(|a| a.to_vec()), Some(field(&expect, "IK")), "IK");
    assert_eq!(t.sres.to_vec(), field(&expect, "SRES"), "SRES");
    assert_eq!(t.kc.to_vec(), field(&expect, "Kc"), "Kc");
    assert_eq!(t.autn.expect("AUTN")[6..8], [0, 0], "AMF 0000");
    sqn
}

#[test]
fn osmo_hlr_vectors_agree_with_osmo_auc_gen() {
    if !have_osmo_hlr() || !have_auc_gen() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let hlr = OsmoHlr::start(dir.path()).expect("start osmo-hlr");
    provision_test_set_1(&hlr);

    let mut gsup = hlr.gsup().expect("GSUP connect");
    let vectors = gsup.send_auth_info(IMSI, 3).expect("SendAuthInfo");
    assert_eq!(vectors.len(), 3);
    let sqns: Vec<u64> = vectors.iter().map(check_with_auc_gen).collect();
    println!("osmo-hlr SQNs: {sqns:?}");
    // IND bit length 5: SQN = SEQ << 5 | IND, SEQ counting up per vector.
    let ind = sqns[0] % 32;
    for (i, sqn) in sqns.iter().enumerate() {
        assert_eq!(sqn % 32, ind, "same IND for one connection");
        assert_eq!(sqn >> 5, sqns[0] / 32 + i as u64, "SEQ increments by one");
    }
    assert_eq!(sqns[0] >> 5, 1, "fresh subscriber starts at SEQ 1");

    // A second request continues where osmo-hlr left off (5 vectors were generated).
    let more = gsup.send_auth_info(IMSI, 5).expect("second SendAuthInfo");
    assert_eq!(more.len(), 5);
    assert_eq!(check_with_auc_gen(&more[0]) >> 5, 6);
}

#[test]
fn unknown_imsi_is_a_clean_gsup_error() {
    if !have_osmo_hlr() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let hlr = OsmoHlr::start(dir.path()).expect("start osmo-hlr");
    let mut gsup = hlr.gsup().expect("GSUP connect");
    let err = gsup
        .send_auth_info("001019999999999", 1)
        .expect_err("unknown IMSI must fail");
    assert!(matches!(err, Error::Gsup { .. }), "{err:?}");
    assert_eq!(err.gsup_cause(), Some(GsupCause::IMSI_UNKNOWN));
    assert_eq!(
        err.to_string(),
        "GSUP error from HLR: IMSI unknown in HLR (cause 2)"
    );

    // A subscriber without auth data gets the same answer; the connection stays usable.
    hlr.vty()
        .expect("VTY")
        .command("subscriber imsi 001010000000002 create")
        .expect("create");
    let err = gsup
        .send_auth_info("001010000000002", 1)
        .expect_err("no auth data");
    assert_eq!(err.gsup_cause(), Some(GsupCause::IMSI_UNKNOWN));

    // Invalid IMSIs never reach the wire.
    assert!(matches!(
        gsup.send_auth_info("00101abc", 1),
        Err(Error::InvalidImsi(_))
    ));
    assert!(matches!(
        gsup.send_auth_info(IMSI, 0),
        Err(Error::InvalidArgument(_))
    ));
}

/// Minimal MILENAGE f1* and f5* (TS 35.206) to build an AUTS like a card would.
fn milenage_star(k: &[u8; 16], opc: &[u8; 16], rand: &[u8; 16], sqn: &[u8; 6]) -> [u8; 14] {
    let aes = Aes128::new(&Array::from(*k));
    let enc = |x: [u8; 16]| {
        let mut b = Array::from(x);
        aes.encrypt_block(&mut b);
        <[u8; 16]>::from(b)
    };
    let xor = |a: [u8; 16], b: &[u8; 16]| std::array::from_fn::<u8, 16, _>(|i| a[i] ^ b[i]);
    let rot = |x: [u8; 16], bytes: usize| std::array::from_fn::<u8, 16, _>(|i| x[(i + bytes) % 16]);
    let temp = enc(xor(*rand, opc));
    // f1*: IN1 = SQN || AMF || SQN || AMF, with the resync AMF 0000; r1 = 64, c1 = 0.
    let mut in1 = [0u8; 16];
    in1[..6].copy_from_slice(sqn);
    in1[8..14].copy_from_slice(sqn);
    let out1 = xor(enc(xor(rot(xor(in1, opc), 8), &temp)), opc);
    // f5*: r5 = 96, c5 = ...08.
    let mut c5 = [0u8; 16];
    c5[15] = 8;
    let out5 = xor(enc(xor(rot(xor(temp, opc), 12), &c5)), opc);
    let mut auts = [0u8; 14];
    for i in 0..6 {
        auts[i] = sqn[i] ^ out5[i];
    }
    auts[6..].copy_from_slice(&out1[8..16]);
    auts
}

#[test]
fn milenage_star_matches_ts_35_208_set_1() {
    // f1* with AMF b9b9 is not what milenage_star computes (resync uses AMF 0000), so check
    // f5* only through the AUTS prefix: AUTS[..6] = SQN ^ AK*.
    let k: [u8; 16] = hex::decode(K).unwrap().try_into().unwrap();
    let opc: [u8; 16] = hex::decode(OPC).unwrap().try_into().unwrap();
    let rand: [u8; 16] = hex::decode("23553cbe9637a89d218ae64dae47bf35")
        .unwrap()
        .try_into()
        .unwrap();
    let auts = milenage_star(&k, &opc, &rand, &[0; 6]);
    assert_eq!(hex::encode(&auts[..6]), "451e8beca43b");
}

#[test]
fn resync_with_auts_moves_the_sqn() {
    if !have_osmo_hlr() || !have_auc_gen() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let hlr = OsmoHlr::start(dir.path()).expect("start osmo-hlr");
    provision_test_set_1(&hlr);
    let mut gsup = hlr.gsup().expect("GSUP connect");
    let first = gsup.send_auth_info(IMSI, 1).expect("SendAuthInfo");
    let rand = first[0].rand;

    // The card claims SQN_MS = SEQ 1000, IND 0.
    let sqn_ms: u64 = 1000 << 5;
    let sqn_bytes: [u8; 6] = sqn_ms.to_be_bytes()[2..].try_into().expect("6 bytes");
    let k: [u8; 16] = hex::decode(K).expect("hex").try_into().expect("16");
    let opc: [u8; 16] = hex::decode(OPC).expect("hex").try_into().expect("16");
    let auts = milenage_star(&k, &opc, &rand, &sqn_bytes);

    let vectors = gsup
        .send_auth_info_resync(IMSI, &rand, &auts)
        .expect("resync SendAuthInfo");
    assert!(!vectors.is_empty());
    let sqn = check_with_auc_gen(&vectors[0]);
    println!("SQN after resync to {sqn_ms}: {sqn}");
    assert_eq!(sqn >> 5, 1001, "HLR continues after the card's SQN");

    // A forged AUTS is refused with a GSUP error, not a hang or a panic.
    let mut bad = auts;
    bad[13] ^= 1;
    let err = gsup
        .send_auth_info_resync(IMSI, &rand, &bad)
        .expect_err("bad MAC-S");
    assert!(matches!(err, Error::Gsup { .. }), "{err:?}");
}

#[test]
fn vty_script_errors_name_the_line_without_key_material() {
    if !have_osmo_hlr() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let hlr = OsmoHlr::start(dir.path()).expect("start osmo-hlr");
    let mut vty = hlr.vty().expect("VTY connect");
    assert_eq!(vty.hostname(), "OsmoHLR");

    let script = "# comment\n\
                  subscriber imsi 001010000000077 create\n\
                  \n\
                  subscriber imsi 001010000000077 update aud3g milenage k 465b5ce8b199 opc cd63cb71954a9f4e48a5994e37a02baf\n\
                  bogus command\n\
                  subscriber imsi 001010000000077 update msisdn 777\n";
    let err = vty.run_script(script).expect_err("bad key length");
    let shown = format!("{err} / {err:?}");
    println!("{shown}");
    assert!(
        matches!(
            err,
            Error::VtyCommand {
                line: 4,
                failed_lines: 2,
                ..
            }
        ),
        "{shown}"
    );
    assert!(shown.contains("Invalid value for K"), "{shown}");
    for secret in [
        "465b5ce8b199",
        "cd63cb71954a9f4e48a5994e37a02baf",
        "cd63cb71",
    ] {
        assert!(!shown.contains(secret), "key material leaked: {shown}");
    }
    // The lines after the failing ones still ran.
    let out = vty
        .command("subscriber imsi 001010000000077 show")
        .expect("show");
    assert!(out.contains("MSISDN: 777"), "{out}");

    let err = vty.command("no such command").expect_err("unknown");
    assert!(err.to_string().contains("% Unknown command."), "{err}");
    assert!(matches!(
        vty.run_script("show version\nsubscriber ?\n"),
        Err(Error::InvalidScriptLine { line: 2, .. })
    ));
    // Node changes are followed.
    vty.run_script("configure terminal\nhlr\nend\n")
        .expect("node change");
    assert!(
        vty.command("show version")
            .expect("version")
            .contains("OsmoHLR")
    );
}

#[test]
fn two_instances_run_side_by_side() {
    if !have_osmo_hlr() {
        return;
    }
    let (d1, d2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let a = OsmoHlr::start(d1.path()).expect("start first");
    let b = OsmoHlr::start(d2.path()).expect("start second");
    assert_ne!(a.gsup_addr(), b.gsup_addr());
    a.vty()
        .expect("vty a")
        .command(&format!("subscriber imsi {IMSI} create"))
        .expect("create on a");
    let mut ga = GsupClient::connect(a.gsup_addr()).expect("gsup a");
    let mut gb = GsupClient::connect(b.gsup_addr()).expect("gsup b");
    // Known (without auth data) on a, unknown on b: both IMSI_UNKNOWN, but via separate HLRs.
    assert!(ga.send_auth_info(IMSI, 1).is_err());
    assert!(gb.send_auth_info(IMSI, 1).is_err());
    drop(a);
    assert!(
        GsupClient::connect(ga.peer_addr()).is_err(),
        "killed on drop"
    );
}

/// Bulk provisioning speed: `SIMFORGE_GSUP_BULK=N` overrides the number of subscribers
/// (default 10,000; each is a `create` plus an `update aud3g`); `SIMFORGE_GSUP_BULK_ON_DISK=1`
/// uses an on-disk database (osmo-hlr then fsyncs every command and is ~10x slower).
#[test]
fn bulk_provisioning_is_fast() {
    if !have_osmo_hlr() {
        return;
    }
    let n: u64 = std::env::var("SIMFORGE_GSUP_BULK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = if std::env::var_os("SIMFORGE_GSUP_BULK_ON_DISK").is_some() {
        HlrDatabase::OnDisk
    } else {
        HlrDatabase::InMemory
    };
    let hlr = OsmoHlr::start_with(dir.path(), db).expect("start osmo-hlr");
    let mut script = String::new();
    for i in 0..n {
        let imsi = format!("00101{:010}", 1_000_000 + i);
        script.push_str(&format!("subscriber imsi {imsi} create\n"));
        script.push_str(&format!(
            "subscriber imsi {imsi} update aud3g milenage k {K} opc {OPC}\n"
        ));
    }
    let mut vty = hlr.vty().expect("VTY connect");
    let t = Instant::now();
    let report = vty.run_script(&script).expect("bulk script");
    println!(
        "provisioned {n} subscribers ({db:?} database) ({} VTY commands) in {:?} ({:.0} subscribers/s)",
        report.commands,
        t.elapsed(),
        n as f64 / t.elapsed().as_secs_f64()
    );
    assert_eq!(report.commands as u64, 2 * n);
    let last = format!("00101{:010}", 1_000_000 + n - 1);
    let v = hlr
        .gsup()
        .expect("GSUP")
        .send_auth_info(&last, 1)
        .expect("vector for the last subscriber");
    assert_eq!(v.len(), 1);
}

/// A script written for a plain telnet session starts with `enable` (the VTY starts in view
/// mode); the client, already in enable mode (where `enable` is an unknown command), skips a
/// leading one instead of failing on it.
#[test]
fn a_leading_enable_in_a_script_is_skipped() {
    if !OsmoHlr::available() {
        if std::env::var_os("CI").is_some() {
            panic!("osmo-hlr not installed (CI is set)");
        }
        println!("skipped: osmo-hlr not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let hlr = OsmoHlr::start_with(dir.path(), HlrDatabase::InMemory).expect("start osmo-hlr");
    let mut vty = hlr.vty().expect("VTY connect");
    let report = vty
        .run_script("! telnet script\nenable\nsubscriber imsi 001010000000088 create\n")
        .expect("script with a leading enable");
    assert_eq!(report.commands, 1);
    // Only a leading one: later, `enable` is a command like any other (and unknown here).
    let err = vty
        .run_script("subscriber imsi 001010000000089 create\nenable\n")
        .expect_err("enable after a command");
    assert!(matches!(err, Error::VtyCommand { line: 2, .. }), "{err}");
}
