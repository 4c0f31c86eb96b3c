//! Generated lab PKIs verify, and each kind of bad certificate is rejected with its own error.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::collections::HashSet;
use std::mem::discriminant;
use std::time::{Duration, SystemTime};

use common::jan_2026;
use simforge_pki::{
    CertSpec, Certificate, CiStore, Curve, EidRangeStyle, Error, Issuer, LabPki, LabPkiOptions,
    PrivateKey, Role, eid_from_prefix, generate_lab_pki, is_valid_eid, issue_certificate, oids,
    verify_dp_cert, verify_euicc_chain, write_lab_pki,
};

const CURVES: [Curve; 2] = [Curve::P256, Curve::BrainpoolP256r1];
const FQDN: &str = "smdp.lab.example";

fn lab(curve: Curve, style: EidRangeStyle) -> LabPki {
    let mut opts = LabPkiOptions::new(curve, FQDN);
    opts.eid_range_style = style;
    opts.euicc_count = 2;
    opts.euicc_eids = vec!["89049032123451234512345678901235".into()];
    generate_lab_pki(&opts).unwrap()
}

fn euicc_spec(eid: &str) -> CertSpec {
    CertSpec::new(
        Role::Euicc,
        vec![
            (oids::AT_ORGANIZATION, "Simforge Lab EUM".into()),
            (oids::AT_SERIAL_NUMBER, eid.into()),
            (oids::AT_COMMON_NAME, "test eUICC".into()),
        ],
    )
}

fn eum_spec(prefixes: &[&str], style: EidRangeStyle) -> CertSpec {
    let mut spec = CertSpec::new(
        Role::Eum,
        vec![
            (oids::AT_ORGANIZATION, "Simforge Lab EUM".into()),
            (oids::AT_COMMON_NAME, "test EUM".into()),
        ],
    );
    spec.eid_prefixes = prefixes.iter().map(|s| s.to_string()).collect();
    spec.eid_range_style = style;
    spec
}

/// Issues an eUICC certificate under the lab EUM.
fn euicc_under(pki: &LabPki, spec: &CertSpec) -> Certificate {
    let eum = pki.eum.as_ref().unwrap();
    let key = PrivateKey::generate(pki.curve).unwrap();
    issue_certificate(
        spec,
        &key,
        Issuer::Cert {
            cert: &eum.cert,
            key: &eum.key,
        },
    )
    .unwrap()
}

fn chain(pki: &LabPki, euicc: &Certificate) -> Result<simforge_pki::VerifiedEuicc, Error> {
    verify_euicc_chain(
        &pki.ci_store().unwrap(),
        pki.eum.as_ref().unwrap().cert.der(),
        euicc.der(),
        jan_2026(),
    )
}

#[test]
fn generated_pki_verifies_on_both_curves() {
    for curve in CURVES {
        for style in [
            EidRangeStyle::Both,
            EidRangeStyle::NameConstraints,
            EidRangeStyle::PermittedEins,
        ] {
            let pki = lab(curve, style);
            let store = pki.ci_store().unwrap();
            assert_eq!(
                store.pkids(),
                vec![pki.ci.subject_key_id().unwrap().to_vec()]
            );
            let eum = pki.eum.as_ref().unwrap();
            assert_eq!(eum.cert.role(), Some(Role::Eum));
            assert_eq!(pki.euiccs.len(), 3);
            for e in &pki.euiccs {
                assert!(is_valid_eid(&e.eid));
                let v =
                    verify_euicc_chain(&store, eum.cert.der(), e.cert.der(), jan_2026()).unwrap();
                assert_eq!(v.eid, e.eid);
                assert_eq!(v.curve, curve);
                assert_eq!(v.public_key, e.key.public_key_sec1());
                assert_eq!(v.ci_pkid, pki.ci.subject_key_id().unwrap());
                assert_eq!(e.cert.eid().as_deref(), Some(e.eid.as_str()));
                assert_eq!(e.cert.role(), Some(Role::Euicc));
            }
            for (issued, role) in [
                (&pki.smdp.auth, Role::DpAuth),
                (&pki.smdp.pb, Role::DpPb),
                (&pki.smdp.tls, Role::DpTls),
            ] {
                let v = verify_dp_cert(&store, issued.cert.der(), role, jan_2026()).unwrap();
                assert_eq!(v.curve, curve);
                assert_eq!(issued.cert.role(), Some(role));
            }
            assert_eq!(pki.smdp.tls.cert.dns_names(), [FQDN.to_string()]);
            // Far-future lab validity.
            assert!(
                pki.ci.not_after() > SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_000)
            );
        }
    }
}

#[test]
fn each_failure_has_its_own_error() {
    let mut seen = Vec::new();
    for curve in CURVES {
        let pki = lab(curve, EidRangeStyle::Both);
        let eum = pki.eum.as_ref().unwrap();
        let store = pki.ci_store().unwrap();

        // Signed by another CI: not in the store.
        let other = lab(curve, EidRangeStyle::Both);
        let other_eum = other.eum.as_ref().unwrap();
        let err = verify_euicc_chain(
            &store,
            other_eum.cert.der(),
            other.euiccs[0].cert.der(),
            jan_2026(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnknownCi { .. }), "{err}");
        assert_eq!(err.sgp22_status(), Some(("8.11.1", "3.9")));
        seen.push(err);
        let err = verify_dp_cert(&store, other.smdp.auth.cert.der(), Role::DpAuth, jan_2026())
            .unwrap_err();
        assert!(matches!(err, Error::UnknownCi { .. }), "{err}");

        // Signed by another CI's key while claiming to be from ours (same issuer, same AKI).
        let rogue_key = PrivateKey::generate(curve).unwrap();
        let eum_key = PrivateKey::generate(curve).unwrap();
        let forged = issue_certificate(
            &eum_spec(&["89049032"], EidRangeStyle::Both),
            &eum_key,
            Issuer::Cert {
                cert: &pki.ci,
                key: &rogue_key,
            },
        )
        .unwrap();
        let err = verify_euicc_chain(&store, forged.der(), pki.euiccs[0].cert.der(), jan_2026())
            .unwrap_err();
        assert!(
            matches!(err, Error::BadSignature { role: Role::Eum }),
            "{err}"
        );
        assert_eq!(err.sgp22_status(), Some(("8.1.2", "6.1")));
        seen.push(err);

        // eUICC issued by a different EUM than the one presented.
        let err = verify_euicc_chain(
            &store,
            eum.cert.der(),
            other.euiccs[0].cert.der(),
            jan_2026(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::KeyIdentifierMismatch {
                    role: Role::Euicc,
                    ..
                }
            ),
            "{err}"
        );
        seen.push(err);

        // Expired eUICC, and not-yet-valid eUICC.
        let mut spec = euicc_spec(&pki.euiccs[0].eid);
        spec.not_before = common::at(1_577_836_800);
        spec.not_after = common::at(1_735_689_600); // 2025-01-01
        let err = chain(&pki, &euicc_under(&pki, &spec)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Expired {
                    role: Role::Euicc,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.sgp22_status(), Some(("8.1.3", "6.3")));
        seen.push(err);
        let mut spec = euicc_spec(&pki.euiccs[0].eid);
        spec.not_before = common::at(1_800_000_000);
        let err = chain(&pki, &euicc_under(&pki, &spec)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotYetValid {
                    role: Role::Euicc,
                    ..
                }
            ),
            "{err}"
        );
        seen.push(err);

        // Expired EUM.
        let mut spec = eum_spec(&["89049032"], EidRangeStyle::Both);
        spec.not_after = common::at(1_735_689_600);
        let eum_key = PrivateKey::generate(curve).unwrap();
        let old_eum = issue_certificate(
            &spec,
            &eum_key,
            Issuer::Cert {
                cert: &pki.ci,
                key: pki.ci_key.as_ref().unwrap(),
            },
        )
        .unwrap();
        let err = verify_euicc_chain(&store, old_eum.der(), pki.euiccs[0].cert.der(), jan_2026())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Expired {
                    role: Role::Eum,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.sgp22_status(), Some(("8.1.2", "6.3")));

        // EID outside the EUM range, for each constraint style.
        let outside = eid_from_prefix("89044045", 1).unwrap();
        for (style, nc) in [
            (EidRangeStyle::NameConstraints, true),
            (EidRangeStyle::PermittedEins, false),
        ] {
            let eum_key = PrivateKey::generate(curve).unwrap();
            let eum_cert = issue_certificate(
                &eum_spec(&["89049032"], style),
                &eum_key,
                Issuer::Cert {
                    cert: &pki.ci,
                    key: pki.ci_key.as_ref().unwrap(),
                },
            )
            .unwrap();
            let by = Issuer::Cert {
                cert: &eum_cert,
                key: &eum_key,
            };
            let k = PrivateKey::generate(curve).unwrap();
            let inside_cert = issue_certificate(&euicc_spec(&pki.euiccs[0].eid), &k, by).unwrap();
            verify_euicc_chain(&store, eum_cert.der(), inside_cert.der(), jan_2026()).unwrap();
            let outside_cert = issue_certificate(&euicc_spec(&outside), &k, by).unwrap();
            let err = verify_euicc_chain(&store, eum_cert.der(), outside_cert.der(), jan_2026())
                .unwrap_err();
            // SGP.22: EID outside the EUM's range is 8.1.4/6.1 in both styles.
            assert_eq!(err.sgp22_status(), Some(("8.1.4", "6.1")));
            if nc {
                assert_eq!(
                    eum_cert.name_constraint_eid_prefixes(),
                    Some(&["89049032".to_string()][..])
                );
                assert!(eum_cert.permitted_eins().is_none());
                assert!(
                    matches!(err, Error::EidOutsideNameConstraints { .. }),
                    "{err}"
                );
            } else {
                assert_eq!(
                    eum_cert.permitted_eins(),
                    Some(&["89049032".to_string()][..])
                );
                assert!(eum_cert.name_constraint_eid_prefixes().is_none());
                assert!(
                    matches!(err, Error::EidOutsidePermittedEins { .. }),
                    "{err}"
                );
            }
            seen.push(err);
        }

        // EID with bad check digits.
        let mut bad = pki.euiccs[0].eid.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        let err = chain(&pki, &euicc_under(&pki, &euicc_spec(&bad))).unwrap_err();
        assert!(matches!(err, Error::InvalidEid(_)), "{err}");
        seen.push(err);

        // No EID at all.
        let spec = CertSpec::new(Role::Euicc, vec![(oids::AT_COMMON_NAME, "no EID".into())]);
        let err = chain(&pki, &euicc_under(&pki, &spec)).unwrap_err();
        assert!(matches!(err, Error::MissingEid), "{err}");
        seen.push(err);

        // Wrong policy (a DPauth policy on an eUICC certificate), and none at all.
        let mut spec = euicc_spec(&pki.euiccs[0].eid);
        spec.policies = vec![Role::DpAuth.policy_oid()];
        let err = chain(&pki, &euicc_under(&pki, &spec)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::WrongPolicy {
                    role: Role::Euicc,
                    ..
                }
            ),
            "{err}"
        );
        seen.push(err);
        let mut spec = euicc_spec(&pki.euiccs[0].eid);
        spec.policies = vec![];
        let err = chain(&pki, &euicc_under(&pki, &spec)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::WrongPolicy {
                    role: Role::Euicc,
                    ..
                }
            ),
            "{err}"
        );
        // Right policy, not critical.
        let mut spec = euicc_spec(&pki.euiccs[0].eid);
        spec.policies_critical = false;
        let err = chain(&pki, &euicc_under(&pki, &spec)).unwrap_err();
        assert!(
            matches!(err, Error::PolicyNotCritical { role: Role::Euicc }),
            "{err}"
        );
        seen.push(err);
        // DPpb certificate presented as DPauth.
        let err =
            verify_dp_cert(&store, pki.smdp.pb.cert.der(), Role::DpAuth, jan_2026()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::WrongPolicy {
                    role: Role::DpAuth,
                    ..
                }
            ),
            "{err}"
        );

        // Wrong key usage: eUICC policy on a certificate with the CA extension set.
        let mut spec = euicc_spec(&pki.euiccs[0].eid);
        spec.role = Role::Eum;
        spec.eid_prefixes = vec!["89049032".into()];
        spec.policies = vec![Role::Euicc.policy_oid()];
        let err = chain(&pki, &euicc_under(&pki, &spec)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::WrongKeyUsage {
                    role: Role::Euicc,
                    ..
                }
            ),
            "{err}"
        );
        seen.push(err);

        // An EUM certificate used as a DP certificate, and a non-DP role.
        let err = verify_dp_cert(&store, eum.cert.der(), Role::DpAuth, jan_2026()).unwrap_err();
        assert!(matches!(err, Error::WrongPolicy { .. }), "{err}");
        let err = verify_dp_cert(&store, eum.cert.der(), Role::Eum, jan_2026()).unwrap_err();
        assert!(matches!(err, Error::NotADpRole(Role::Eum)), "{err}");
        seen.push(err);

        // A DPtls certificate without a dNSName.
        let mut spec = CertSpec::new(Role::DpTls, vec![(oids::AT_COMMON_NAME, "no dns".into())]);
        spec.dns_names.clear();
        let k = PrivateKey::generate(curve).unwrap();
        let tls = issue_certificate(
            &spec,
            &k,
            Issuer::Cert {
                cert: &pki.ci,
                key: pki.ci_key.as_ref().unwrap(),
            },
        )
        .unwrap();
        let err = verify_dp_cert(&store, tls.der(), Role::DpTls, jan_2026()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::WrongTlsUsage {
                    role: Role::DpTls,
                    ..
                }
            ),
            "{err}"
        );
        seen.push(err);

        // Garbage.
        let err =
            verify_dp_cert(&store, b"\x30\x03\x02\x01\x00", Role::DpAuth, jan_2026()).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{err}");
        seen.push(err);
    }
    let kinds: HashSet<_> = seen.iter().map(discriminant).collect();
    assert_eq!(kinds.len(), 15, "{seen:#?}");
}

#[test]
fn a_remembered_eum_is_still_checked_for_validity_and_tampering() {
    for curve in CURVES {
        let pki = lab(curve, EidRangeStyle::Both);
        let store = pki.ci_store().unwrap();
        // An EUM valid until 2026-06-01 and an eUICC under it.
        let mut spec = eum_spec(&["89049032"], EidRangeStyle::Both);
        spec.not_after = common::at(1_780_272_000);
        let eum_key = PrivateKey::generate(curve).unwrap();
        let eum = issue_certificate(
            &spec,
            &eum_key,
            Issuer::Cert {
                cert: &pki.ci,
                key: pki.ci_key.as_ref().unwrap(),
            },
        )
        .unwrap();
        let eid = eid_from_prefix("89049032", 7).unwrap();
        let euicc = issue_certificate(
            &euicc_spec(&eid),
            &PrivateKey::generate(curve).unwrap(),
            Issuer::Cert {
                cert: &eum,
                key: &eum_key,
            },
        )
        .unwrap();
        for _ in 0..2 {
            let v = verify_euicc_chain(&store, eum.der(), euicc.der(), jan_2026()).unwrap();
            assert_eq!(v.eid, eid);
        }
        // Remembered, but expired a month later.
        let err = verify_euicc_chain(&store, eum.der(), euicc.der(), 1_782_864_000).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Expired {
                    role: Role::Eum,
                    ..
                }
            ),
            "{err}"
        );
        // A clone shares what was verified; a changed EUM (last signature byte) is not it.
        let clone = store.clone();
        let mut forged = eum.der().to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 0x01;
        let err = verify_euicc_chain(&clone, &forged, euicc.der(), jan_2026()).unwrap_err();
        assert!(
            matches!(err, Error::BadSignature { role: Role::Eum }),
            "{err}"
        );
        // The eUICC certificate is always checked.
        let other = euicc_under(&pki, &euicc_spec(&eid));
        let err = verify_euicc_chain(&clone, eum.der(), other.der(), jan_2026()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::BadSignature { role: Role::Euicc } | Error::KeyIdentifierMismatch { .. }
            ),
            "{err}"
        );
        verify_euicc_chain(&clone, eum.der(), euicc.der(), jan_2026()).unwrap();
    }
}

#[test]
fn ci_store_rejects_non_ci_certificates() {
    let pki = lab(Curve::P256, EidRangeStyle::Both);
    let mut store = CiStore::new();
    assert!(matches!(
        store.add(pki.smdp.auth.cert.clone()),
        Err(Error::NotACi(_))
    ));
    assert!(matches!(
        store.add(pki.eum.as_ref().unwrap().cert.clone()),
        Err(Error::NotACi(_))
    ));
    store.add(pki.ci.clone()).unwrap();
    store.add(pki.ci.clone()).unwrap();
    assert_eq!(store.len(), 1);
    let other = lab(Curve::BrainpoolP256r1, EidRangeStyle::Both);
    store.add_der_or_pem(other.ci.to_pem().as_bytes()).unwrap();
    assert_eq!(store.len(), 2);
    assert_eq!(
        store
            .get(other.ci.subject_key_id().unwrap())
            .unwrap()
            .curve(),
        Curve::BrainpoolP256r1
    );
}

#[test]
fn options_are_validated() {
    let mut opts = LabPkiOptions::new(Curve::P256, FQDN);
    opts.euicc_eids = vec!["89044045000000000000000000000000".into()];
    assert!(generate_lab_pki(&opts).is_err());
    let mut opts = LabPkiOptions::new(Curve::P256, "bad fqdn");
    opts.euicc_count = 0;
    assert!(matches!(
        generate_lab_pki(&opts),
        Err(Error::InvalidOption(_))
    ));
    let mut opts = LabPkiOptions::new(Curve::P256, FQDN);
    opts.euicc_eids = vec![eid_from_prefix("89044045", 3).unwrap()];
    assert!(matches!(
        generate_lab_pki(&opts),
        Err(Error::InvalidOption(_))
    ));
}

#[test]
fn write_lab_pki_layout_and_permissions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lab");
    let mut opts = LabPkiOptions::new(Curve::BrainpoolP256r1, FQDN);
    opts.euicc_count = 2;
    let pki = write_lab_pki(&dir, &opts).unwrap();
    let mut files = vec![
        "README.txt".to_string(),
        "ci/ci.der".into(),
        "ci/ci.pem".into(),
        "ci/ci.key.pem".into(),
        "eum/eum.der".into(),
        "eum/eum.pem".into(),
        "eum/eum.key.pem".into(),
        "smdp/dptls-chain.pem".into(),
    ];
    for stem in ["dpauth", "dppb", "dptls"] {
        for ext in ["der", "pem", "key.pem"] {
            files.push(format!("smdp/{stem}.{ext}"));
        }
    }
    for e in &pki.euiccs {
        for ext in ["der", "pem", "key.pem"] {
            files.push(format!("euicc/{}.{ext}", e.eid));
        }
    }
    for f in &files {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // Nothing else (no temporary files left behind).
    let mut count = 0;
    for sub in ["", "ci", "eum", "euicc", "smdp"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            if entry.unwrap().file_type().unwrap().is_file() {
                count += 1;
            }
        }
    }
    assert_eq!(count, files.len());

    #[cfg(unix)]
    for f in files.iter().filter(|f| f.ends_with(".key.pem")) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }

    // What was written reads back and verifies.
    let ci = Certificate::from_der(&std::fs::read(dir.join("ci/ci.der")).unwrap()).unwrap();
    assert_eq!(ci, pki.ci);
    let ci_pem =
        Certificate::from_pem(&std::fs::read_to_string(dir.join("ci/ci.pem")).unwrap()).unwrap();
    assert_eq!(ci_pem, pki.ci);
    let mut store = CiStore::new();
    store.add(ci).unwrap();
    let eum = std::fs::read(dir.join("eum/eum.der")).unwrap();
    let e = &pki.euiccs[1];
    let euicc = std::fs::read(dir.join(format!("euicc/{}.der", e.eid))).unwrap();
    assert_eq!(
        verify_euicc_chain(&store, &eum, &euicc, jan_2026())
            .unwrap()
            .eid,
        e.eid
    );
    let key = PrivateKey::from_pem(
        &std::fs::read_to_string(dir.join(format!("euicc/{}.key.pem", e.eid))).unwrap(),
    )
    .unwrap();
    assert_eq!(key.public_key_sec1(), e.key.public_key_sec1());
    assert_eq!(key.curve(), Curve::BrainpoolP256r1);
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains(&e.eid) && readme.contains(FQDN));

    // Writing again over an existing directory works (atomic replace).
    pki.write_to(&dir).unwrap();
}

#[test]
fn parser_survives_mutations() {
    // A small deterministic stand-in for the cargo-fuzz target: truncations and byte flips of
    // real certificates must give errors, never panics.
    let pki = lab(Curve::BrainpoolP256r1, EidRangeStyle::Both);
    let der = pki.eum.as_ref().unwrap().cert.der().to_vec();
    for len in 0..der.len() {
        assert!(Certificate::from_der(&der[..len]).is_err());
    }
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut m = der.clone();
        let i = (state as usize) % m.len();
        m[i] ^= (state >> 32) as u8 | 1;
        if let Ok(c) = Certificate::from_der(&m) {
            let _ = (c.eid(), c.role(), c.subject(), c.to_pem());
        }
    }
    assert!(Certificate::from_pem("not a pem").is_err());
}
