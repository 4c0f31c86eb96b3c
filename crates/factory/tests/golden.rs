//! File formats are byte-identical for a fixed seed and time: the SHA-256 of every file of two
//! small batches (every format; MILENAGE with default columns, TUAK with custom columns, clear
//! and encrypted OTA keys, MSISDNs). The hashes were recorded on the code before it moved out of
//! the command-line binary (commit "factory: pre-move golden harness", `SIMFORGE_GOLDEN_DIR=…
//! cargo test --bin simforge -- golden_premove`, then `sha256sum`).

mod common;

use sha2::{Digest, Sha256};
use simforge_factory::{Format, Run, generate, verify};

const MILENAGE: &str = "quantity = 300\niccid_start = \"8988211000000000001\"\nimsi_start = \"001010000000001\"\nkid = 1\nopid = 1\n\n[profile]\nalgorithm = \"milenage\"\nota_key_sets = 3\n";
const TUAK: &str = "quantity = 257\niccid_start = \"8988211000000001000\"\nimsi_start = \"001010000001000\"\nmsisdn_start = \"4915100000000\"\nkid = 1\nopid = 2\n\n[profile]\nalgorithm = \"tuak\"\nota_key_sets = 2\n";
const TUAK_COLUMNS: &str =
    "IMSI ICCID EKI KCV OPC EOPC PIN1 PUK1 PIN2 PUK2 ADM1 ACC KIC1 KID1 KIK1 EKIC2 EKID2 EKIK2";

const MILENAGE_HASHES: [(&str, &str); 5] = [
    (
        "B1700000000123.out",
        "921a034ec197322fb000ba034e93de4bf2955514027ce879c01faf15ba854f42",
    ),
    (
        "B1700000000123.elec.csv",
        "9faf52e1f2b97b1f96795667248ba9bd7cda5532ba055377354c5a8a06ff6c3e",
    ),
    (
        "B1700000000123.laser.csv",
        "af3970f0d4746eda45a31596a2583f3fd423a8a771d035555ebfc41ef29d1732",
    ),
    (
        "B1700000000123.pysim.csv",
        "e1799335229f22ddec8ea71f96021fac9177562e17d0768079196d95aaab7193",
    ),
    (
        "B1700000000123.osmo-hlr.vty",
        "58de1464e00226c8778ed7e00bda4eec4ceea8555ef7c4c6300fc5dc9e6ff9a5",
    ),
];
const TUAK_HASHES: [(&str, &str); 5] = [
    (
        "B1700000000123.out",
        "28d17afd23dfe239585e776d69b3a917348aefc01bd977f8be172fbf9ee1c039",
    ),
    (
        "B1700000000123.elec.csv",
        "cde72fd4f33b131579ddbb8d4f63d80061f65c77da81fc4cc62a0f01c35b4006",
    ),
    (
        "B1700000000123.laser.csv",
        "8795be2e07221207700945a21d56c781165190fdd21651d29e43dbd7b645d1a7",
    ),
    (
        "B1700000000123.pysim.csv",
        "c7f617247f8ca06af163a5f54d41b8dcd597f5fb8fa964ea908e297f12c5266a",
    ),
    (
        "B1700000000123.osmo-hlr.vty",
        "512f4c46a7506f1838f0dfc7c5caea98a5820b7d4f8cb1ddd2f07656e4573912",
    ),
];

async fn check(order: &str, columns: Option<&str>, want: &[(&str, &str)]) {
    let env = common::Env::new(columns).await;
    let planned = env.plan(order).await;
    let g = generate(
        &env.store,
        &env.vault,
        &simforge_factory::Actor::cli("test"),
        &planned,
        &env.out_root(),
        &Format::ALL,
        Run {
            threads: 1,
            make_rng: common::seeded(),
            progress: &mut (),
            hsm: None,
        },
    )
    .await
    .expect("generate");
    assert_eq!(g.files.len(), want.len());
    for (file, (name, hash)) in g.files.iter().zip(want) {
        assert_eq!(file.file_name().and_then(|n| n.to_str()), Some(*name));
        let bytes = std::fs::read(file).expect("read");
        let got: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, *hash, "{name} changed");
    }
    // And the golden batch checks out, against its electrical file too.
    let out = std::fs::read(&g.files[0]).expect("out");
    let elec = std::fs::read(&g.files[1]).expect("elec");
    let r = verify::verify(
        &env.store,
        &env.vault,
        &simforge_factory::Actor::cli("test"),
        &env.op,
        verify::Input {
            reader: &out[..],
            name: "golden.out",
        },
        Some(verify::Input {
            reader: &elec[..],
            name: "golden.elec.csv",
        }),
    )
    .await
    .expect("verify");
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.cards, g.quantity);
}

#[tokio::test]
async fn milenage_batch_is_byte_identical() {
    check(MILENAGE, None, &MILENAGE_HASHES).await;
}

#[tokio::test]
async fn tuak_batch_with_custom_columns_is_byte_identical() {
    check(TUAK, Some(TUAK_COLUMNS), &TUAK_HASHES).await;
}
