//! Profiles and the card data behind them: [`creds`] (one card's data, everything a TS.48
//! template needs replaced), [`built`] (a profile package built by the project from those
//! credentials, `simforge_saip::build_profile`: no `../shared` needed), and the TS.48
//! templates of `../shared` for the tests that check personalization of a real template.

use simforge_saip::build::{Adm, Key128, OtaKeySet, Pin};
use simforge_saip::{AkaAlgorithm, CdmaCredentials, OtaKeyType, OtaKeys, ProfileSpec};
use simforge_smdp::profile::personalize;
use zeroize::Zeroizing;

/// The card's K (MILENAGE).
pub const K: [u8; 16] = [0x11; 16];
/// The card's OPc (MILENAGE).
pub const OPC: [u8; 16] = [0x22; 16];
/// The IMSI of [`creds`].
pub const IMSI: &str = "001019876543210";

/// One card's data: everything a TS.48 template needs replaced (ADM2, two OTA key sets, CDMA).
pub fn creds(iccid: &str) -> ProfileSpec {
    let algorithm = AkaAlgorithm::milenage(&K, &OPC).expect("milenage");
    let mut spec = ProfileSpec::parse(iccid, IMSI, 2, algorithm).expect("identities");
    spec.pin1 = Pin::parse("1234", "PIN1").expect("pin1");
    spec.puk1 = Pin::parse("12345678", "PUK1").expect("puk1");
    spec.pin2 = Pin::parse("4321", "PIN2").expect("pin2");
    spec.puk2 = Pin::parse("87654321", "PUK2").expect("puk2");
    spec.adm1 = Adm::parse("87654321").expect("adm1");
    spec.adm2 = Some(Adm::parse("13572468").expect("adm2"));
    spec.ota_keys = (1u8..=2)
        .map(|kvn| OtaKeys {
            kvn,
            key_type: OtaKeyType::Aes,
            keys: OtaKeySet {
                kic: Key128::from_bytes([0x30 + kvn; 16]),
                kid: Key128::from_bytes([0x40 + kvn; 16]),
                kik: Key128::from_bytes([0x50 + kvn; 16]),
            },
        })
        .collect();
    spec.cdma = Some(CdmaCredentials {
        authentication_key: [0x61; 8],
        ssd: Some([0x62; 16]),
        hrpd_access_authentication_data: Some(vec![0x63; 17]),
        simple_ip_authentication_data: Some(vec![0x64; 18]),
        mobile_ip_authentication_data: Some(vec![0x65; 35]),
    });
    spec
}

/// A profile package for `iccid` built by the project from [`creds`] (a TS.48-shaped USIM
/// profile, DER): installable on the virtual eUICC, no `../shared` needed.
pub fn built(iccid: &str) -> Zeroizing<Vec<u8>> {
    let mut spec = creds(iccid);
    // build_profile writes no CDMA application.
    spec.cdma = None;
    Zeroizing::new(simforge_saip::build_profile_der(&spec).expect("build profile"))
}

/// The TS.48 v5 template of `../shared`, if present.
pub fn ts48_template() -> Option<Vec<u8>> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/profiles/ts48/TS48v5_SAIP2.3_NoBERTLV.der");
    std::fs::read(p).ok()
}

/// A minimal valid package (header-less PE-End) when TS.48 is not available.
pub fn synthetic_package() -> Vec<u8> {
    vec![0xAA, 0x05, 0xA0, 0x03, 0x81, 0x01, 0x01]
}

/// The TS.48 template personalized with [`creds`], or [`synthetic_package`] without
/// `../shared` (the SM-DP+'s tests, which never install the package).
pub fn package(iccid: &str) -> Zeroizing<Vec<u8>> {
    match ts48_template() {
        Some(t) => personalize(&t, &creds(iccid)).expect("personalize"),
        None => Zeroizing::new(synthetic_package()),
    }
}

/// The `n`-th ICCID of the test range (19 digits: `8949449999999` ‖ 5 digits of `n` ‖ the
/// Luhn check digit).
pub fn iccid(n: u32) -> String {
    let body = format!("8949449999999{:05}", n % 100_000);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}
