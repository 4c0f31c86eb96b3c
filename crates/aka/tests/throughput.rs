//! OPc throughput, the factory hot path. Ignored by default (timing on a shared machine is not a
//! pass/fail signal); run with
//! `cargo test -p simforge-aka --release --test throughput -- --ignored --nocapture`.

// Test code: helper functions outside #[test] unwrap too (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use simforge_aka::{K, Op, milenage, tuak};

#[test]
#[ignore = "timing measurement, run explicitly"]
fn opc_per_second() {
    let op = Op::from_bytes([0x5a; 16]);
    let n = 1_000_000u32;
    let keys: Vec<K> = (0..n)
        .map(|i| {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&i.to_be_bytes());
            K::new_128(k)
        })
        .collect();
    let start = Instant::now();
    let opcs = milenage::opc_batch(&op, &keys).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(opcs.len(), n as usize);
    println!("MILENAGE OPc: {:.0} per second", f64::from(n) / secs);

    let top = simforge_aka::Top::from_bytes([0x5a; 32]);
    let m = 200_000u32;
    let start = Instant::now();
    for k in keys.iter().take(m as usize) {
        std::hint::black_box(tuak::topc(k, &top, tuak::KeccakIterations::ONE));
    }
    let secs = start.elapsed().as_secs_f64();
    println!("TUAK TOPc: {:.0} per second", f64::from(m) / secs);
}
