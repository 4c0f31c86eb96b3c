//! cargo-fuzz target: arbitrary bytes into the SGP.22 certificate parser (DER and PEM) and,
//! when they parse, through every accessor and the chain checks.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use simforge_pki::{Certificate, CiStore, Role, verify_dp_cert, verify_euicc_chain};

fuzz_target!(|data: &[u8]| {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    if let Ok(cert) = Certificate::from_der(data) {
        let _ = (
            cert.subject(),
            cert.issuer(),
            cert.eid(),
            cert.role(),
            cert.policies(),
            cert.subject_key_id(),
            cert.authority_key_id(),
            cert.public_key_sec1(),
            cert.curve(),
            cert.dns_names(),
            cert.name_constraint_eid_prefixes(),
            cert.permitted_eins(),
            cert.not_before(),
            cert.not_after(),
            cert.to_pem(),
        );
        // Self-issued input: try it as a CI, then as every kind of chain member.
        let mut store = CiStore::new();
        let _ = store.add(cert.clone());
        for role in [Role::DpAuth, Role::DpPb, Role::DpTls] {
            let _ = verify_dp_cert(&store, data, role, now);
        }
        let _ = verify_euicc_chain(&store, data, data, now);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Certificate::from_pem(text);
    }
    let _ = Certificate::from_der_or_pem(data);
});
