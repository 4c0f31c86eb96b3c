//! ECDSA sign / verify and ECDH per curve, and a full BPP build for a ~30 KB profile.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use simforge_crypto::bpp::{BppBuildParams, ProfileSource, build_bpp};
use simforge_crypto::{
    Curve, KeyAgreement, Signer, SoftwareKeyAgreement, SoftwareSigner, SystemRandom, tlv, verify,
};
use std::hint::black_box;

fn curve_name(c: Curve) -> &'static str {
    match c {
        Curve::NistP256 => "p256",
        Curve::BrainpoolP256r1 => "brainpoolP256r1",
    }
}

fn ecdsa_and_ecdh(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let ka = SoftwareKeyAgreement::new(SystemRandom::new());
    for curve in Curve::ALL {
        let name = curve_name(curve);
        let signer = SoftwareSigner::generate(curve, &rng).expect("key");
        let pk = signer.public_key();
        let msg = [0x5Au8; 200];
        let sig = signer.sign(&msg).expect("sign");
        c.bench_function(&format!("ecdsa_sign/{name}"), |b| {
            b.iter(|| signer.sign(black_box(&msg)).expect("sign"))
        });
        c.bench_function(&format!("ecdsa_verify/{name}"), |b| {
            b.iter(|| verify(curve, &pk, black_box(&msg), &sig).expect("verify"))
        });
        let (peer, _) = ka.generate_ephemeral(curve).expect("peer");
        c.bench_function(&format!("ecdh_keygen_and_agree/{name}"), |b| {
            b.iter(|| {
                let (_, h) = ka.generate_ephemeral(curve).expect("gen");
                ka.agree(h, black_box(&peer)).expect("agree")
            })
        });
    }
}

/// The profiles to bind: the largest TS.48 profile if ../shared is there, and a synthetic
/// ~30 KB one (TS.48 profiles are only ~12 KB; real operator profiles are nearer 30 KB).
fn profiles() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/profiles/ts48");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let biggest = entries
            .flatten()
            .filter_map(|e| Some((e.file_name(), std::fs::read(e.path()).ok()?)))
            .max_by_key(|(_, b)| b.len());
        if let Some((name, bytes)) = biggest {
            out.push((format!("ts48-{}", name.to_string_lossy()), bytes));
        }
    }
    let mut upp = Vec::new();
    let mut x: u32 = 0x1234_5678;
    while upp.len() < 30_000 {
        let content: Vec<u8> = (0..1500)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        tlv::write_tlv(0xA1, &content, &mut upp);
    }
    out.push(("synthetic-30k".into(), upp));
    out
}

fn bpp_build(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let ka = SoftwareKeyAgreement::new(SystemRandom::new());
    let eid = [0x89u8; 16];
    for (name, upp) in profiles() {
        let mut group = c.benchmark_group(format!("bpp_build/{name}/{}B", upp.len()));
        group.throughput(Throughput::Bytes(upp.len() as u64));
        for curve in Curve::ALL {
            let signer = SoftwareSigner::generate(curve, &rng).expect("key");
            let (euicc_otpk, _) = ka.generate_ephemeral(curve).expect("otpk");
            let params = BppBuildParams {
                transaction_id: &[1, 2, 3, 4, 5, 6, 7, 8],
                euicc_otpk: &euicc_otpk,
                eid: &eid,
                configure_isdp: &[0xBF, 0x24, 0x00],
                store_metadata: &[0xBF, 0x25, 0x06, 0x91, 0x01, 0x41, 0x92, 0x01, 0x42],
                profile: ProfileSource::Unprotected(&upp),
            };
            group.bench_function(curve_name(curve), |b| {
                b.iter(|| build_bpp(black_box(&params), &signer, &ka, &rng).expect("bpp"))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(std::time::Duration::from_secs(3))
        .warm_up_time(std::time::Duration::from_secs(1));
    targets = ecdsa_and_ecdh, bpp_build
}
criterion_main!(benches);
