//! `simforge operator import-profiles --template`, through the real binary: a GSMA TS.48 test
//! profile holds codes and credentials a factory card has no value for (ADM2, CDMA), so the
//! import is refused with exit code 3 and a message naming the element, and nothing is added;
//! a template the card data covers completely is personalized for every card of the batch.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;

use common::Lab;
use simforge_saip::build::{AkaAlgorithm, ProfileSpec, build_profile_der};

fn available(lab: &Lab) -> u64 {
    let inv: serde_json::Value =
        serde_json::from_str(lab.ok(&["--json", "operator", "inventory", "tmpl"]).trim()).unwrap();
    inv["available"].as_u64().unwrap_or(0)
}

fn batch(lab: &Lab) -> String {
    let order = lab.write("order.toml", "quantity = 2\nkid = 1\nopid = 1\n");
    let generated: serde_json::Value = serde_json::from_str(
        lab.ok(&[
            "--json",
            "batch",
            "generate",
            "--operator",
            "tmpl",
            order.to_str().unwrap(),
            "--formats",
            "elec",
            "--quiet",
        ])
        .trim(),
    )
    .unwrap();
    generated["batch_id"].as_i64().unwrap().to_string()
}

fn import(lab: &Lab, batch: &str, template: &Path) -> std::process::Output {
    lab.run(&[
        "operator",
        "import-profiles",
        "tmpl",
        "--batch",
        batch,
        "--template",
        template.to_str().unwrap(),
    ])
}

#[test]
fn a_ts48_template_is_refused_naming_the_element_and_a_covered_one_is_imported() {
    let lab = Lab::new();
    lab.operator("tmpl");
    let batch = batch(&lab);

    let ts48 = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/profiles/ts48/TS48v5_SAIP2.3_NoBERTLV.der");
    if ts48.is_file() {
        let o = import(&lab, &batch, &ts48);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(
            err.contains("pinCodes #1") && err.contains("keyReference 0x0B (ADM2)"),
            "{err}"
        );
        assert!(err.contains("no card data for it"), "{err}");
        assert_eq!(available(&lab), 0, "nothing imported");
    } else if std::env::var_os("CI").is_some() {
        panic!("../shared/profiles/ts48 not found (CI is set)");
    } else {
        println!("skipped: TS.48 template refusal (../shared absent)");
    }

    // A template without ADM2 or CDMA and with no more OTA key sets than the cards (3): every
    // card of the batch gets its own profile from it.
    let algorithm = AkaAlgorithm::milenage(&[0x11; 16], &[0x22; 16]).unwrap();
    let spec = ProfileSpec::parse("8944476000000000014", "001019876543210", 2, algorithm).unwrap();
    let template = lab.path().join("template.der");
    std::fs::write(&template, build_profile_der(&spec).unwrap()).unwrap();
    let o = import(&lab, &batch, &template);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(available(&lab), 2);
}
