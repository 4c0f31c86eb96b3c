//! One card's data for the SM-DP+ tests that need a personalized profile package (the
//! download and SGP.26 chain tests); kept out of `common`, which the server's tests include too.
#![allow(dead_code)]

use simforge_saip::build::{Adm, Key128, OtaKeySet, Pin};
use simforge_saip::{AkaAlgorithm, CdmaCredentials, OtaKeyType, OtaKeys, ProfileSpec};
use simforge_smdp::profile::personalize;
use zeroize::Zeroizing;

use crate::common::{synthetic_package, ts48_template};

/// One card's data: everything a TS.48 template needs replaced (ADM2, two OTA key sets, CDMA).
pub fn creds(iccid: &str) -> ProfileSpec {
    let algorithm = AkaAlgorithm::milenage(&[0x11; 16], &[0x22; 16]).expect("milenage");
    let mut spec = ProfileSpec::parse(iccid, "001019876543210", 2, algorithm).expect("identities");
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

pub fn package(iccid: &str) -> Zeroizing<Vec<u8>> {
    match ts48_template() {
        Some(t) => personalize(&t, &creds(iccid)).expect("personalize"),
        None => Zeroizing::new(synthetic_package()),
    }
}
