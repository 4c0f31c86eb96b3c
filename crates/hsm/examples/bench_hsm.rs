//! The HSM against software keys, side by side in one run on a SoftHSM2 token of its own:
//! signatures per second per curve (DPauth/DPpb), and a `.out` file (EKI, EOPC, EKIC1/EKID1/
//! EKIK1) of N cards with the transport key in the token against the same key in memory
//! (cards/s; the output goes to `io::sink`, so this is the generator and the cipher, not the
//! disk). BENCHMARKS.md: `cargo run --example bench_hsm -- [CARDS] [THREADS]`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use simforge_crypto::{Curve, Signer, SoftwareSigner, SystemRandom};
use simforge_hsm::{HsmSigner, HsmTransportKey, KeyKind, Pin, Token};
use simforge_sim::{
    BatchCipher, CardFormat, CardMaker, CardProfile, Column, OperatorProfile, OperatorVariant,
    OrderSpec, OsRandom, OutFile, Plmn, Start, TransportKey, run,
};
use simforge_testkit::softhsm::TestToken;

fn sigs_per_sec(signer: &dyn Signer) -> f64 {
    let n = 2000;
    let t = Instant::now();
    for i in 0..n {
        signer.sign(&[i as u8; 200]).unwrap();
    }
    f64::from(n) / t.elapsed().as_secs_f64()
}

fn batch(cards: u64, threads: usize, transport: Arc<dyn BatchCipher>) -> f64 {
    let op = OperatorProfile {
        name: "bench".into(),
        plmn: Plmn::new("001", "01").unwrap(),
        iccid_prefix: "8988211".into(),
        iccid_len: 20,
        spn: "Bench".into(),
    };
    let profile = CardProfile {
        ota_key_sets: 1,
        ..CardProfile::default()
    };
    let plan = OrderSpec {
        quantity: cards,
        iccid_start: Start::Next,
        imsi_start: Start::Next,
        msisdn_start: None,
        kid: 1,
        opid: 1,
        profile,
        name: Some("bench".into()),
    }
    .plan(&op, "8988211000000000001", "001010000000001", "x")
    .unwrap();
    let variant = OperatorVariant::from_hex("cdc202d5123e20f62b6d676ac72cb318").unwrap();
    let maker = CardMaker::new(&plan, &variant).unwrap();
    let mut columns = Column::defaults(1);
    columns.push(Column::Eopc);
    let out = OutFile::new(&plan, columns, transport);
    let formats: Vec<&dyn CardFormat> = vec![&out];
    let mut sinks = vec![std::io::sink()];
    let t = Instant::now();
    run(
        &maker,
        cards,
        &formats,
        &mut sinks,
        threads,
        || Ok(OsRandom::new()),
        |_| {},
    )
    .unwrap();
    cards as f64 / t.elapsed().as_secs_f64()
}

fn peak_rss_mb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let cards: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let Some(t) = TestToken::new("bench_hsm") else {
        return;
    };
    let token = Token::open(&t.module, &t.label, &Pin::from_file(&t.pin_file).unwrap()).unwrap();
    println!("| what | HSM (SoftHSM2) | software | HSM / software |");
    println!("|---|---|---|---|");
    for (curve, kind) in [
        (Curve::NistP256, KeyKind::EcP256),
        (Curve::BrainpoolP256r1, KeyKind::EcBrainpoolP256r1),
    ] {
        let label = format!("{curve:?}");
        token.generate(kind, &label).unwrap();
        let hsm = sigs_per_sec(&HsmSigner::open(Arc::clone(&token), &label).unwrap());
        let soft = sigs_per_sec(&SoftwareSigner::generate(curve, &SystemRandom::new()).unwrap());
        println!(
            "| ECDSA signatures/s, {curve:?}, one thread | {hsm:.0} | {soft:.0} | {:.0} % |",
            100.0 * hsm / soft
        );
    }
    let key = [0x5Au8; 32];
    token.import_aes(&key, "transport").unwrap();
    let hsm_key = Arc::new(HsmTransportKey::open(Arc::clone(&token), "transport").unwrap());
    let hsm = batch(cards, threads, hsm_key);
    let rss = peak_rss_mb();
    let soft = batch(
        cards,
        threads,
        Arc::new(TransportKey::from_bytes(&key).unwrap()),
    );
    println!(
        "| `.out` of {cards} cards (EKI, EOPC, EKIC1/EKID1/EKIK1), {threads} threads, cards/s | {hsm:.0} | {soft:.0} | {:.0} % |",
        100.0 * hsm / soft
    );
    println!("peak RSS after the HSM run: {rss}");
}
