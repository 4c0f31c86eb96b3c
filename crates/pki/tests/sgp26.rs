//! The GSMA SGP.26 test certificates chain to their CI (skipped without ../shared).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::fs;

use common::{at, jan_2026, sep_2026, sgp26_dir};
use simforge_pki::{
    CiStore, Curve, Error, PrivateKey, Role, load_sgp26, load_sgp26_curve, verify_dp_cert,
    verify_raw_signature,
};

fn store(dir: &std::path::Path) -> CiStore {
    let mut store = CiStore::new();
    for x in ["NIST", "BRP"] {
        let der = fs::read(dir.join(format!("CertificateIssuer/CERT_CI_ECDSA_{x}.der"))).unwrap();
        store.add_der_or_pem(&der).unwrap();
    }
    store
}

#[test]
fn ci_pkids_are_the_sgp26_ones() {
    let Some(dir) = sgp26_dir("ci_pkids_are_the_sgp26_ones") else {
        return;
    };
    let store = store(&dir);
    let nist = hex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3");
    let brp = hex("C0BC70BA36929D43B467FF57570530E57AB8FCD8");
    assert_eq!(store.get(&nist).unwrap().curve(), Curve::P256);
    assert_eq!(store.get(&brp).unwrap().curve(), Curve::BrainpoolP256r1);
    assert_eq!(store.get(&nist).unwrap().role(), Some(Role::Ci));
    // PEM and DER of the same CI parse to the same certificate.
    let pem = fs::read_to_string(dir.join("CertificateIssuer/CERT_CI_ECDSA_NIST.pem")).unwrap();
    let from_pem = simforge_pki::Certificate::from_pem(&pem).unwrap();
    assert_eq!(from_pem, *store.get(&nist).unwrap());
}

#[test]
fn dpauth_and_dppb_chain_on_both_curves() {
    let Some(dir) = sgp26_dir("dpauth_and_dppb_chain_on_both_curves") else {
        return;
    };
    let store = store(&dir);
    for x in ["NIST", "BRP"] {
        for (sub, file, role) in [
            (
                "DPauth",
                format!("CERT_S_SM_DPauth_ECDSA_{x}.der"),
                Role::DpAuth,
            ),
            (
                "DPauth",
                format!("CERT_S_SM_DP2auth_ECDSA_{x}.der"),
                Role::DpAuth,
            ),
            ("DPpb", format!("CERT_S_SM_DPpb_ECDSA_{x}.der"), Role::DpPb),
            ("DPpb", format!("CERT_S_SM_DP2pb_ECDSA_{x}.der"), Role::DpPb),
        ] {
            let der = fs::read(dir.join(sub).join(&file)).unwrap();
            let v = verify_dp_cert(&store, &der, role, jan_2026())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(v.role, role);
            let expected = if x == "NIST" {
                Curve::P256
            } else {
                Curve::BrainpoolP256r1
            };
            assert_eq!(v.curve, expected, "{file}");
            // Wrong role is a policy error, not a pass.
            let other = if role == Role::DpAuth {
                Role::DpPb
            } else {
                Role::DpAuth
            };
            assert!(matches!(
                verify_dp_cert(&store, &der, other, jan_2026()),
                Err(Error::WrongPolicy { .. })
            ));
            // DPauth/DPpb expire on 2030-03-30; 1_950_000_000 is 2031-10-15.
            assert!(matches!(
                verify_dp_cert(&store, &der, role, at(1_950_000_000)),
                Err(Error::Expired { role: r, .. }) if r == role
            ));
        }
    }
}

#[test]
fn dptls_valid_before_2026_08_02_and_expired_after() {
    let Some(dir) = sgp26_dir("dptls_valid_before_2026_08_02_and_expired_after") else {
        return;
    };
    let store = store(&dir);
    for file in [
        "CERT_S_SM_DP_TLS_NIST.der",
        "CERT_S_SM_DP_TLS_BRP.der",
        "CERT_S_SM_DP2_TLS.der",
        "CERT_S_SM_DP4_TLS.der",
        "CERT_S_SM_DP8_TLS.der",
    ] {
        let der = fs::read(dir.join("DPtls").join(file)).unwrap();
        let v = verify_dp_cert(&store, &der, Role::DpTls, jan_2026())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(v.dns_names[0].starts_with("testsmdpplus"), "{file}");
        let err = verify_dp_cert(&store, &der, Role::DpTls, sep_2026()).unwrap_err();
        assert!(
            matches!(err, Error::Expired { role: Role::DpTls, ref not_after } if not_after.starts_with("2026-08-02")),
            "{file}: {err}"
        );
    }
}

#[test]
fn load_sgp26_gives_usable_lab_pkis() {
    let Some(dir) = sgp26_dir("load_sgp26_gives_usable_lab_pkis") else {
        return;
    };
    let pkis = load_sgp26(&dir).unwrap();
    assert_eq!(pkis.len(), 2);
    for pki in &pkis {
        assert!(pki.ci_key.is_none() && pki.eum.is_none() && pki.euiccs.is_empty());
        assert_eq!(pki.smdp.fqdn, "testsmdpplus1.example.com");
        let store = pki.ci_store().unwrap();
        for (issued, role) in [
            (&pki.smdp.auth, Role::DpAuth),
            (&pki.smdp.pb, Role::DpPb),
            (&pki.smdp.tls, Role::DpTls),
        ] {
            verify_dp_cert(&store, issued.cert.der(), role, jan_2026()).unwrap();
            assert_eq!(issued.key.curve(), pki.curve);
            // The loaded key signs what the certificate's key verifies.
            let sig = issued.key.sign_raw(b"serverSigned1");
            assert!(
                verify_raw_signature(
                    pki.curve,
                    issued.cert.public_key_sec1(),
                    b"serverSigned1",
                    &sig
                )
                .unwrap()
            );
            // Keys are redacted in Debug output.
            assert!(format!("{:?}", issued.key).contains("<redacted>"));
        }
    }
    let brp = load_sgp26_curve(&dir, Curve::BrainpoolP256r1).unwrap();
    assert_eq!(brp.ci.curve(), Curve::BrainpoolP256r1);
}

#[test]
fn sgp26_keys_reexport_as_pkcs8() {
    let Some(dir) = sgp26_dir("sgp26_keys_reexport_as_pkcs8") else {
        return;
    };
    for x in ["NIST", "BRP"] {
        let pem =
            fs::read_to_string(dir.join(format!("DPauth/SK_S_SM_DPauth_ECDSA_{x}.pem"))).unwrap();
        let key = PrivateKey::from_pem(&pem).unwrap();
        let again = PrivateKey::from_pem(&key.to_pkcs8_pem().unwrap()).unwrap();
        assert_eq!(key.public_key_sec1(), again.public_key_sec1());
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
