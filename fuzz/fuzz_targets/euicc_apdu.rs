//! cargo-fuzz target: random APDU sequences (with the ISD-R selected first, and the input
//! also cut into STORE DATA sequences) into the virtual eUICC. It must never panic and its
//! persistent state must stay consistent and serialisable.
//!
//! fuzz/Cargo.toml needs: libfuzzer-sys, simforge-euicc, simforge-pki, simforge-crypto,
//! serde_json; `[[bin]] name = "euicc_apdu" path = "fuzz_targets/euicc_apdu.rs"`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use simforge_euicc::{AID_ISD_R, Euicc, EuiccIdentity, EuiccState};

fn identity() -> &'static EuiccIdentity {
    static ID: OnceLock<EuiccIdentity> = OnceLock::new();
    ID.get_or_init(|| {
        let pki = simforge_pki::generate_lab_pki(&simforge_pki::LabPkiOptions::new(
            simforge_pki::Curve::P256,
            "smdp.example",
        ))
        .expect("pki");
        EuiccIdentity::from_lab_pki(&pki, 0).expect("identity")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut e = Euicc::new(
        identity(),
        EuiccState::default(),
        Box::new(simforge_crypto::SystemRandom::new()),
        Box::new(simforge_crypto::FixedClock(1_800_000_000)),
    )
    .expect("eUICC");
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, 0x10];
    select.extend_from_slice(&AID_ISD_R);
    e.process(&select);
    // First interpretation: a sequence of length-prefixed APDUs.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let r = e.process(&tail[..n]);
        assert!(r.len() >= 2);
        rest = &tail[n..];
    }
    // Second: the whole input as one ES10 command in STORE DATA blocks.
    let chunks: Vec<&[u8]> = data.chunks(255).collect();
    for (i, c) in chunks.iter().enumerate().take(256) {
        let last = i + 1 == chunks.len();
        let mut apdu = vec![
            0x80,
            0xE2,
            if last { 0x91 } else { 0x11 },
            i as u8,
            c.len() as u8,
        ];
        apdu.extend_from_slice(c);
        assert!(e.process(&apdu).len() >= 2);
    }
    e.state().check_consistency().expect("consistent state");
    let s = serde_json::to_string(e.state()).expect("serialise");
    let back: EuiccState = serde_json::from_str(&s).expect("deserialise");
    assert_eq!(&back, e.state());
});
