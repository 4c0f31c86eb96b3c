//! The GSMA SGP.26 test certificates chain to their CI (skipped without ../shared).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::fs;

use common::{at, jan_2026, sep_2026, sgp26_dir};
use simforge_pki::{
    CertSpec, Certificate, CiStore, Curve, Error, Issuer, PrivateKey, Role, issue_certificate,
    load_sgp26, load_sgp26_curve, oids, verify_dp_cert, verify_euicc_chain, verify_raw_signature,
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
                verify_dp_cert(&store, &der, role, 1_950_000_000),
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

// ---------------------------------------------------------------------------------------------
// SGP.26 v1 naming under the SGP.26 v3 CI: the EUM certificates of SGP.26 v1 name their issuer
// "CN=GSMA Test CI, OU=TESTCERT, O=RSPTEST, C=IT"; the v3 CI certificate of the same key and
// key identifier is "CN=Test CI, …". Chains are built by key identifier and proven by the
// signature under the genuine SGP.26 CI private key, so such a chain is accepted (and the name
// mismatch reported); everything else stays strict.

/// The SGP.22 §4.5.2.1 example EID (also SGP.23's #EID1), inside the SGP.26 EUM range 89049032.
const SGP26_EID: &str = "89049032123451234512345678901235";

/// The genuine SGP.26 CI private key of `x` ("NIST" or "BRP").
fn ci_key(dir: &std::path::Path, x: &str) -> PrivateKey {
    let pem =
        fs::read_to_string(dir.join(format!("CertificateIssuer/SK_CI_ECDSA_{x}.pem"))).unwrap();
    PrivateKey::from_pem(&pem).unwrap()
}

/// The SGP.26 CI key under its SGP.26 v1 name: only its subject and key identifier serve, as
/// the issuer of the certificates below (it is never trusted itself).
fn v1_named_ci(key: &PrivateKey) -> Certificate {
    issue_certificate(
        &CertSpec::new(
            Role::Ci,
            vec![
                (oids::AT_COMMON_NAME, "GSMA Test CI".into()),
                (oids::AT_ORGANIZATIONAL_UNIT, "TESTCERT".into()),
                (oids::AT_ORGANIZATION, "RSPTEST".into()),
                (oids::AT_COUNTRY, "IT".into()),
            ],
        ),
        key,
        Issuer::SelfSigned,
    )
    .unwrap()
}

fn v1_eum_spec() -> CertSpec {
    let mut spec = CertSpec::new(
        Role::Eum,
        vec![
            (oids::AT_COUNTRY, "ES".into()),
            (oids::AT_ORGANIZATION, "RSP Test EUM".into()),
            (oids::AT_COMMON_NAME, "EUM Test".into()),
        ],
    );
    spec.eid_prefixes = vec!["89049032".into()];
    spec
}

fn v1_euicc_spec(eid: &str) -> CertSpec {
    CertSpec::new(
        Role::Euicc,
        vec![
            (oids::AT_ORGANIZATION, "RSP Test EUM".into()),
            (oids::AT_SERIAL_NUMBER, eid.into()),
            (oids::AT_COMMON_NAME, "Test eUICC".into()),
        ],
    )
}

/// `cert` with its subject key identifier replaced (the signature no longer matters: it only
/// serves as an issuer, whose subject and key identifier go into what it issues).
fn with_other_ski(cert: &Certificate) -> Certificate {
    let ski = cert.subject_key_id().unwrap().to_vec();
    let mut der = cert.der().to_vec();
    let at = der
        .windows(ski.len())
        .position(|w| w == ski.as_slice())
        .unwrap();
    der[at] ^= 0xFF;
    Certificate::from_der(&der).unwrap()
}

fn issue(
    spec: &CertSpec,
    key: &PrivateKey,
    cert: &Certificate,
    issuer_key: &PrivateKey,
) -> Certificate {
    issue_certificate(
        spec,
        key,
        Issuer::Cert {
            cert,
            key: issuer_key,
        },
    )
    .unwrap()
}

#[test]
fn sgp26_v1_named_eum_chains_to_the_v3_ci_by_key_identifier() {
    let Some(dir) = sgp26_dir("sgp26_v1_named_eum_chains_to_the_v3_ci_by_key_identifier") else {
        return;
    };
    let store = store(&dir);
    for (x, curve) in [("NIST", Curve::P256), ("BRP", Curve::BrainpoolP256r1)] {
        let key = ci_key(&dir, x);
        let v1_ci = v1_named_ci(&key);
        let v3_ci = store
            .get(v1_ci.subject_key_id().unwrap())
            .unwrap_or_else(|| {
                panic!(
                    "{x}: the SGP.26 CI key identifier is the SHA-1 of its key (RFC 5280 method 1)"
                )
            });
        assert_eq!(
            v3_ci.public_key_sec1(),
            key.public_key_sec1().as_slice(),
            "{x}"
        );
        assert_eq!(v3_ci.subject(), "C=IT,O=RSPTEST,OU=TESTCERT,CN=Test CI");

        let eum_key = PrivateKey::generate(curve).unwrap();
        let eum = issue(&v1_eum_spec(), &eum_key, &v1_ci, &key);
        assert_eq!(eum.issuer(), "C=IT,O=RSPTEST,OU=TESTCERT,CN=GSMA Test CI");
        assert_eq!(eum.authority_key_id(), v3_ci.subject_key_id());
        let euicc = issue(
            &v1_euicc_spec(SGP26_EID),
            &PrivateKey::generate(curve).unwrap(),
            &eum,
            &eum_key,
        );

        // (1) Accepted, and the name mismatch is reported — also when the EUM is remembered.
        for round in 0..2 {
            let v = verify_euicc_chain(&store, eum.der(), euicc.der(), jan_2026())
                .unwrap_or_else(|e| panic!("{x} round {round}: {e}"));
            assert_eq!(v.eid, SGP26_EID);
            assert_eq!(v.ci_pkid, v3_ci.subject_key_id().unwrap());
            assert_eq!(v.curve, curve);
            assert_eq!(v.issuer_name_mismatches.len(), 1, "{x}: {v:?}");
            let m = &v.issuer_name_mismatches[0];
            assert_eq!(m.role, Role::Eum);
            assert_eq!(m.issuer_name, "C=IT,O=RSPTEST,OU=TESTCERT,CN=GSMA Test CI");
            assert_eq!(m.issuer_subject, v3_ci.subject());
            let text = m.to_string();
            assert!(
                text.contains("GSMA Test CI") && text.contains("CN=Test CI"),
                "{text}"
            );
        }
        // An SM-DP+ certificate named the v1 way chains the same way (the eUICC side's check).
        let dpauth = issue_certificate(
            &CertSpec::new(
                Role::DpAuth,
                vec![
                    (oids::AT_COMMON_NAME, "TEST SM-DP+".into()),
                    (oids::AT_ORGANIZATION, "ACME".into()),
                ],
            ),
            &PrivateKey::generate(curve).unwrap(),
            Issuer::Cert {
                cert: &v1_ci,
                key: &key,
            },
        )
        .unwrap();
        let v = verify_dp_cert(&store, dpauth.der(), Role::DpAuth, jan_2026()).unwrap();
        assert_eq!(
            v.issuer_name_mismatch.as_ref().map(|m| m.role),
            Some(Role::DpAuth)
        );
        // The same chain under the v3 name carries no note.
        let v3_eum = issue(&v1_eum_spec(), &eum_key, v3_ci, &key);
        let v = verify_euicc_chain(&store, v3_eum.der(), euicc.der(), jan_2026()).unwrap();
        assert!(v.issuer_name_mismatches.is_empty(), "{v:?}");

        // (2) Everything else stays strict.
        // The v1 name with a key identifier no trusted CI has (signed by the genuine key).
        let wrong_aki = issue(&v1_eum_spec(), &eum_key, &with_other_ski(&v1_ci), &key);
        let err = verify_euicc_chain(&store, wrong_aki.der(), euicc.der(), jan_2026()).unwrap_err();
        assert!(matches!(err, Error::UnknownCi { .. }), "{x}: {err}");
        assert_eq!(err.sgp22_status(), Some(("8.11.1", "3.9")));
        // The v1 name and the right key identifier, but signed by another key.
        let rogue = PrivateKey::generate(curve).unwrap();
        let forged = issue(&v1_eum_spec(), &eum_key, &v1_ci, &rogue);
        let err = verify_euicc_chain(&store, forged.der(), euicc.der(), jan_2026()).unwrap_err();
        assert!(
            matches!(err, Error::BadSignature { role: Role::Eum }),
            "{x}: {err}"
        );
        assert_eq!(err.sgp22_status(), Some(("8.1.2", "6.1")));
        // The eUICC's link is held to the same rule: a wrong key identifier, a bad signature.
        let euicc_wrong_aki = issue(
            &v1_euicc_spec(SGP26_EID),
            &PrivateKey::generate(curve).unwrap(),
            &with_other_ski(&eum),
            &eum_key,
        );
        let err =
            verify_euicc_chain(&store, eum.der(), euicc_wrong_aki.der(), jan_2026()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::KeyIdentifierMismatch {
                    role: Role::Euicc,
                    ..
                }
            ),
            "{x}: {err}"
        );
        let euicc_forged = issue(
            &v1_euicc_spec(SGP26_EID),
            &PrivateKey::generate(curve).unwrap(),
            &eum,
            &rogue,
        );
        let err =
            verify_euicc_chain(&store, eum.der(), euicc_forged.der(), jan_2026()).unwrap_err();
        assert!(
            matches!(err, Error::BadSignature { role: Role::Euicc }),
            "{x}: {err}"
        );
        // Expired EUM, expired eUICC.
        let mut spec = v1_eum_spec();
        spec.not_after = at(1_735_689_600); // 2025-01-01
        let expired = issue(&spec, &eum_key, &v1_ci, &key);
        let err = verify_euicc_chain(&store, expired.der(), euicc.der(), jan_2026()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Expired {
                    role: Role::Eum,
                    ..
                }
            ),
            "{x}: {err}"
        );
        assert_eq!(err.sgp22_status(), Some(("8.1.2", "6.3")));
        let mut spec = v1_euicc_spec(SGP26_EID);
        spec.not_after = at(1_735_689_600);
        let expired = issue(&spec, &PrivateKey::generate(curve).unwrap(), &eum, &eum_key);
        let err = verify_euicc_chain(&store, eum.der(), expired.der(), jan_2026()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Expired {
                    role: Role::Euicc,
                    ..
                }
            ),
            "{x}: {err}"
        );
        // An EID outside the EUM's range 89049032.
        let outside = simforge_pki::eid_from_prefix("89049033", 1).unwrap();
        let stray = issue(
            &v1_euicc_spec(&outside),
            &PrivateKey::generate(curve).unwrap(),
            &eum,
            &eum_key,
        );
        let err = verify_euicc_chain(&store, eum.der(), stray.der(), jan_2026()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::EidOutsideNameConstraints { .. } | Error::EidOutsidePermittedEins { .. }
            ),
            "{x}: {err}"
        );
        assert_eq!(err.sgp22_status(), Some(("8.1.4", "6.1")));
        // Symmetric: a store trusting the key under its v1 name accepts the v3-named chain,
        // with the note the other way round.
        let mut only_v1 = CiStore::new();
        only_v1.add(v1_ci.clone()).unwrap();
        let v = verify_euicc_chain(&only_v1, v3_eum.der(), euicc.der(), jan_2026()).unwrap();
        assert_eq!(v.issuer_name_mismatches.len(), 1);
        assert_eq!(v.issuer_name_mismatches[0].issuer_subject, v1_ci.subject());
    }
}
