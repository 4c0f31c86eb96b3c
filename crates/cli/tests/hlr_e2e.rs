//! End to end against a real, independent HLR/AuC (osmo-hlr): a batch is generated, provisioned
//! into osmo-hlr from the osmo-hlr script simforge wrote, and for every card osmo-hlr's
//! authentication vectors (GSUP SendAuthInfo) must be accepted by the card side — the Ki and OPc of
//! the electrical personalization file, run through the USIM side of MILENAGE — with the same RES,
//! CK, IK (and the 2G SRES/Kc), and AUTN whose MAC-A verifies. A wrong OPc must be caught.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;

use common::{Lab, file, unhex};
use simforge_aka::{Algorithm, K, Opc};
use simforge_gsup::{HlrDatabase, OsmoHlr};
use simforge_sim::{Imsi, Plmn};

struct CardSide {
    imsi: String,
    ki: [u8; 16],
    opc: [u8; 16],
}

/// Reads the card side from the electrical file: EF.IMSI, KI, OPC columns.
fn electrical_cards(path: &Path) -> Vec<CardSide> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    let (ci, ck, co) = (col("IMSI"), col("KI"), col("OPC"));
    let plmn = Plmn::new("001", "01").unwrap();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            CardSide {
                imsi: Imsi::from_ef(&unhex(f[ci]), &plmn).unwrap().to_string(),
                ki: unhex(f[ck]).try_into().unwrap(),
                opc: unhex(f[co]).try_into().unwrap(),
            }
        })
        .collect()
}

/// Asks osmo-hlr for vectors for every card and checks them on the card side.
/// Returns the IMSIs whose vectors the card side does not reproduce.
fn cards_disagreeing_with_hlr(hlr: &OsmoHlr, cards: &[CardSide]) -> Vec<String> {
    let mut gsup = hlr.gsup().unwrap();
    let mut bad = Vec::new();
    for c in cards {
        let tuples = gsup.send_auth_info(&c.imsi, 2).unwrap();
        assert!(!tuples.is_empty());
        let alg = Algorithm::milenage(Opc::from_bytes(c.opc));
        let k = K::new_128(c.ki);
        let agrees = tuples.iter().all(|t| {
            let (Some(autn), Some(res), Some(ck), Some(ik)) = (t.autn, t.res.as_ref(), t.ck, t.ik)
            else {
                return false;
            };
            match alg.authenticate(&k, &t.rand, &autn) {
                Ok(ok) => {
                    ok.res.as_slice() == res.as_slice()
                        && ok.ck.as_bytes() == ck
                        && ok.ik.as_bytes() == ik
                        && ok.sres().map(|s| s == t.sres).unwrap_or(false)
                        && ok.kc().map(|kc| kc.as_bytes() == &t.kc).unwrap_or(false)
                }
                Err(_) => false,
            }
        });
        if !agrees {
            bad.push(c.imsi.clone());
        }
    }
    bad
}

const ORDER: &str = "quantity = 300\nkid = 1\nopid = 1\n[profile]\nota_key_sets = 1\n";

fn provisioned(lab: &Lab, tamper: bool) -> Option<(OsmoHlr, Vec<CardSide>, String)> {
    if !OsmoHlr::available() {
        println!("skipped: osmo-hlr not installed");
        return None;
    }
    lab.operator("hlrlab");
    let dir = lab.batch("hlrlab", ORDER, &["--formats", "out,elec,hlr"]);
    let cards = electrical_cards(&file(&dir, ".elec.csv"));
    assert_eq!(cards.len(), 300);
    let mut script = std::fs::read_to_string(file(&dir, ".osmo-hlr.vty")).unwrap();
    let mut victim = String::new();
    if tamper {
        // One card's OPc in the HLR is off by one bit: that card must fail.
        let c = &cards[123];
        victim = c.imsi.clone();
        let good = hex(&c.opc);
        let mut wrong = c.opc;
        wrong[15] ^= 1;
        script = script.replace(&format!("opc {good}"), &format!("opc {}", hex(&wrong)));
    }
    let hlr = OsmoHlr::start_with(lab.path(), HlrDatabase::InMemory).unwrap();
    let report = hlr.vty().unwrap().run_script(&script).unwrap();
    assert_eq!(report.commands, 600);
    Some((hlr, cards, victim))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[test]
fn osmo_hlr_vectors_agree_with_every_card() {
    let lab = Lab::new();
    let Some((hlr, cards, _)) = provisioned(&lab, false) else {
        return;
    };
    let bad = cards_disagreeing_with_hlr(&hlr, &cards);
    assert!(
        bad.is_empty(),
        "cards whose vectors disagree with osmo-hlr: {bad:?}\n{}",
        hlr.log_tail()
    );
}

#[test]
fn a_wrong_opc_in_the_hlr_is_caught() {
    let lab = Lab::new();
    let Some((hlr, cards, victim)) = provisioned(&lab, true) else {
        return;
    };
    let bad = cards_disagreeing_with_hlr(&hlr, &cards);
    assert_eq!(bad, vec![victim]);
}
