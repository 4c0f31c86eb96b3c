//! Decode + re-encode throughput over the 18 GSMA TS.48 profiles
//! (`../shared/profiles/ts48`; the benchmark is skipped with a message when absent).
//!
//! Run: `cargo bench -p simforge-saip --bench ts48`. Criterion reports throughput in
//! bytes/s of profile package processed (decode and encode both counted once per byte).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use simforge_saip::{decode_profile, encode_profile};

fn load() -> Option<Vec<Vec<u8>>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/profiles/ts48");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "der"))
        .collect();
    files.sort();
    let data: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    (!data.is_empty()).then_some(data)
}

fn bench(c: &mut Criterion) {
    let Some(profiles) = load() else {
        println!("skipped: ../shared/profiles/ts48 not found");
        return;
    };
    let total: usize = profiles.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("ts48");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            for p in &profiles {
                black_box(decode_profile(black_box(p)).ok());
            }
        });
    });
    let decoded: Vec<_> = profiles
        .iter()
        .filter_map(|p| decode_profile(p).ok())
        .collect();
    group.bench_function("encode", |b| {
        b.iter(|| {
            for pes in &decoded {
                black_box(encode_profile(black_box(pes)).ok());
            }
        });
    });
    group.bench_function("decode+encode", |b| {
        b.iter(|| {
            for p in &profiles {
                if let Ok(pes) = decode_profile(black_box(p)) {
                    black_box(encode_profile(&pes).ok());
                }
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
