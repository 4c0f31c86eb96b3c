//! Conformance: every MILENAGE set of TS 35.208 (and the TS 35.207 set), a real USIM's answer,
//! and every TUAK set of TS 35.233, carried in `tests/data/vectors.rs`.

// Test code: helper functions outside #[test] unwrap too (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "data/util.rs"]
mod util;
#[path = "data/vectors.rs"]
mod vectors;

use simforge_aka::milenage::{self, Milenage};
use simforge_aka::tuak::{
    self, KeccakIterations, KeyLength, MacLength, ResLength, Tuak, TuakLengths,
};
use simforge_aka::{Algorithm, K, Op, Opc, Top, Topc, gsm};
use util::{a, h, hx};
use vectors::*;

fn check_milenage(s: &MilenageSet) {
    let id = s.id;
    let k = K::from_hex(s.k).unwrap();
    let op = Op::from_hex(s.op).unwrap();
    let opc = milenage::opc(&k, &op).unwrap();
    assert_eq!(hx(opc.as_bytes()), s.opc, "{id}: OPc");

    let rand = a::<16>(s.rand);
    let sqn = a::<6>(s.sqn);
    let amf = a::<2>(s.amf);
    let m = Milenage::new(&k, &Opc::from_hex(s.opc).unwrap()).unwrap();
    assert_eq!(hx(&m.f1(&rand, &sqn, &amf)), s.f1, "{id}: f1");
    assert_eq!(hx(&m.f1star(&rand, &sqn, &amf)), s.f1star, "{id}: f1*");
    assert_eq!(hx(&m.f2(&rand)), s.f2, "{id}: f2");
    assert_eq!(hx(&m.f3(&rand)), s.f3, "{id}: f3");
    assert_eq!(hx(&m.f4(&rand)), s.f4, "{id}: f4");
    assert_eq!(hx(&m.f5(&rand)), s.f5, "{id}: f5");
    assert_eq!(hx(&m.f5star(&rand)), s.f5star, "{id}: f5*");
    let o = m.f2345(&rand);
    assert_eq!(
        (hx(&o.res), hx(&o.ck), hx(&o.ik), hx(&o.ak)),
        (s.f2.into(), s.f3.into(), s.f4.into(), s.f5.into()),
        "{id}: f2345"
    );

    // The same through OP directly, and through the AKA layer.
    let m2 = Milenage::from_op(&k, &op, Default::default()).unwrap();
    assert_eq!(hx(&m2.f1(&rand, &sqn, &amf)), s.f1, "{id}: f1 via OP");
    let alg = Algorithm::milenage(opc);
    let av = alg.generate_vector(&k, &rand, &sqn, &amf).unwrap();
    assert_eq!(hx(&av.xres), s.f2, "{id}: XRES");
    assert_eq!(hx(av.ck.as_bytes()), s.f3, "{id}: CK");
    assert_eq!(hx(av.ik.as_bytes()), s.f4, "{id}: IK");
    let mut autn = Vec::new();
    autn.extend(h(s.sqn).iter().zip(h(s.f5)).map(|(x, y)| x ^ y));
    autn.extend(h(s.amf));
    autn.extend(h(s.f1));
    assert_eq!(av.autn.as_slice(), &autn[..], "{id}: AUTN");

    // GSM conversion (TS 33.102 §6.8.1.2), as in the reference data.
    assert_eq!(hx(&av.sres().unwrap()), s.sres, "{id}: SRES = c2(XRES)");
    assert_eq!(
        hx(av.kc().unwrap().as_bytes()),
        s.kc,
        "{id}: Kc = c3(CK, IK)"
    );
    assert_eq!(hx(&gsm::c2(&h(s.f2)).unwrap()), s.sres);

    // USIM side: AUTN verifies, SQN comes back.
    let ok = alg.authenticate(&k, &rand, &av.autn).unwrap();
    assert_eq!(ok.sqn, sqn, "{id}: recovered SQN");
    assert_eq!(ok.res, av.xres);

    // Resynchronisation: AUTS from f5*/f1* (AMF 0000), recovered by the network.
    let auts = alg.auts(&k, &rand, &sqn).unwrap();
    assert_eq!(
        &auts[..6],
        &autn_conc(s.sqn, s.f5star)[..],
        "{id}: AUTS conc"
    );
    assert_eq!(alg.resync(&k, &rand, &auts).unwrap(), sqn, "{id}: resync");
}

fn autn_conc(sqn: &str, ak: &str) -> Vec<u8> {
    h(sqn).iter().zip(h(ak)).map(|(x, y)| x ^ y).collect()
}

#[test]
fn milenage_every_set() {
    assert_eq!(MILENAGE_SETS.len(), 21);
    for s in MILENAGE_SETS {
        check_milenage(s);
    }
}

#[test]
fn milenage_ts35_208_set_1_by_name() {
    check_milenage(&TS35_208_SET_1);
    check_milenage(&TS35_207_SET_2);
    check_milenage(&TS35_208_SET_20);
}

#[test]
fn milenage_opc_batch_matches_single() {
    let op = Op::from_hex(TS35_208_SET_1.op).unwrap();
    let keys: Vec<K> = MILENAGE_SETS
        .iter()
        .map(|s| K::from_hex(s.k).unwrap())
        .collect();
    let batch = milenage::opc_batch(&op, &keys).unwrap();
    for (k, opc) in keys.iter().zip(&batch) {
        assert_eq!(&milenage::opc(k, &op).unwrap(), opc);
    }
    // Set 1 uses this OP.
    assert_eq!(hx(batch[0].as_bytes()), TS35_208_SET_1.opc);
}

#[test]
fn real_usim_answer_pysim_sja2() {
    let c = PYSIM_SJA2_CARD_AUTH;
    let k = K::from_hex(c.k).unwrap();
    let opc = milenage::opc(&k, &Op::from_hex(c.op).unwrap()).unwrap();
    assert_eq!(hx(opc.as_bytes()), c.opc);
    let alg = Algorithm::milenage(opc);
    let rand = a::<16>(c.rand);
    let ok = alg.authenticate(&k, &rand, &h(c.autn)).unwrap();
    assert_eq!(hx(&ok.sqn), c.sqn);
    assert_eq!(hx(&ok.amf), c.amf);
    assert_eq!(hx(&ok.res), c.res);
    assert_eq!(hx(ok.ck.as_bytes()), c.ck);
    assert_eq!(hx(ok.ik.as_bytes()), c.ik);
    assert_eq!(hx(ok.kc().unwrap().as_bytes()), c.kc);
    // And the network regenerates the same AUTN from the recovered SQN.
    let av = alg.generate_vector(&k, &rand, &ok.sqn, &ok.amf).unwrap();
    assert_eq!(hx(&av.autn), c.autn);
}

fn tuak_lengths(s: &TuakSet) -> TuakLengths {
    TuakLengths {
        mac: MacLength::from_bits(s.mac_bits).unwrap(),
        res: ResLength::from_bits(s.res_bits).unwrap(),
        ck: KeyLength::from_bits(s.ck_bits).unwrap(),
        ik: KeyLength::from_bits(s.ik_bits).unwrap(),
    }
}

fn check_tuak(s: &TuakSet) {
    let id = s.id;
    let k = K::from_hex(s.k).unwrap();
    assert_eq!(k.bits(), s.k_bits, "{id}: K length");
    let it = KeccakIterations::new(s.keccak_iterations).unwrap();
    let topc = tuak::topc(&k, &Top::from_hex(s.top).unwrap(), it);
    assert_eq!(hx(topc.as_bytes()), s.topc, "{id}: TOPc");
    let lengths = tuak_lengths(s);
    let rand = a::<16>(s.rand);
    let sqn = a::<6>(s.sqn);
    let amf = a::<2>(s.amf);
    let t = Tuak::new(&k, &topc, it, lengths);
    assert_eq!(hx(&t.f1(&rand, &sqn, &amf)), s.f1, "{id}: f1");
    assert_eq!(hx(&t.f1star(&rand, &sqn, &amf)), s.f1star, "{id}: f1*");
    let o = t.f2345(&rand);
    assert_eq!(hx(&o.res), s.f2, "{id}: f2");
    assert_eq!(hx(o.ck.as_bytes()), s.f3, "{id}: f3");
    assert_eq!(hx(o.ik.as_bytes()), s.f4, "{id}: f4");
    assert_eq!(hx(&o.ak), s.f5, "{id}: f5");
    assert_eq!(hx(&t.f5star(&rand)), s.f5star, "{id}: f5*");

    let t2 = Tuak::from_top(&k, &Top::from_hex(s.top).unwrap(), it, lengths);
    assert_eq!(t2.topc(), &Topc::from_hex(s.topc).unwrap());

    // Through the AKA layer.
    let alg = Algorithm::Tuak {
        topc,
        iterations: it,
        lengths,
    };
    let av = alg.generate_vector(&k, &rand, &sqn, &amf).unwrap();
    let mut autn = autn_conc(s.sqn, s.f5);
    autn.extend(h(s.amf));
    autn.extend(h(s.f1));
    assert_eq!(av.autn.as_slice(), &autn[..], "{id}: AUTN");
    assert_eq!(alg.autn_len(), autn.len());
    let ok = alg.authenticate(&k, &rand, &av.autn).unwrap();
    assert_eq!(ok.sqn, sqn);
    assert_eq!(hx(&ok.res), s.f2);
    let auts = alg.auts(&k, &rand, &sqn).unwrap();
    assert_eq!(
        &auts[..6],
        &autn_conc(s.sqn, s.f5star)[..],
        "{id}: AUTS conc"
    );
    assert_eq!(&auts[6..], &h(&hx(&t.f1star(&rand, &sqn, &[0, 0])))[..]);
    assert_eq!(alg.resync(&k, &rand, &auts).unwrap(), sqn);
}

#[test]
fn tuak_every_set() {
    assert_eq!(TUAK_SETS.len(), 6);
    for s in TUAK_SETS {
        check_tuak(s);
    }
}

#[test]
fn tuak_ts35_233_set_6_two_iterations() {
    check_tuak(&TS35_233_SET_6);
}
