//! `EuiccIdentity::from_certificates`: an identity from certificate and key files (PEM or
//! DER), and the clear refusals of files that do not belong together.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use simforge_crypto::{FixedClock, SystemRandom};
use simforge_euicc::{Error, Euicc, EuiccIdentity, EuiccState};
use simforge_pki::{LabPki, LabPkiOptions, generate_lab_pki};

fn pki(eids: u64) -> LabPki {
    let mut o = LabPkiOptions::new(simforge_pki::Curve::P256, "smdp.example");
    o.euicc_count = eids;
    generate_lab_pki(&o).unwrap()
}

fn now() -> i64 {
    1_800_000_000
}

fn refused(r: Result<EuiccIdentity, Error>) -> String {
    match r {
        Err(Error::Identity(m)) => m,
        Err(e) => panic!("another error: {e}"),
        Ok(id) => panic!("accepted: {}", id.eid),
    }
}

#[test]
fn pem_and_der_files_give_the_lab_identity() {
    let p = pki(1);
    let eum = p.eum.as_ref().unwrap();
    let e = &p.euiccs[0];
    let lab = EuiccIdentity::from_lab_pki(&p, 0).unwrap();
    let key_pem = e.key.to_pkcs8_pem().unwrap();
    // PEM certificates and key.
    let id = EuiccIdentity::from_certificates(
        e.cert.to_pem().as_bytes(),
        key_pem.as_bytes(),
        eum.cert.to_pem().as_bytes(),
        &[p.ci.to_pem().into_bytes()],
        None,
        now(),
    )
    .unwrap();
    assert_eq!(id.eid, e.eid);
    assert_eq!(id.euicc_certificate, lab.euicc_certificate);
    assert_eq!(id.eum_certificate, lab.eum_certificate);
    assert_eq!(id.trusted_ci, lab.trusted_ci);
    // DER certificates, PKCS#8 DER key.
    let id = EuiccIdentity::from_certificates(
        e.cert.der(),
        &e.key.to_pkcs8_der().unwrap(),
        eum.cert.der(),
        &[p.ci.der().to_vec()],
        None,
        now(),
    )
    .unwrap();
    assert_eq!(id.eid, e.eid);
    // It makes a working eUICC; the key never shows in Debug.
    Euicc::new(
        &id,
        EuiccState::default(),
        Box::new(SystemRandom::new()),
        Box::new(FixedClock(1_800_000_000)),
    )
    .unwrap();
    assert!(format!("{id:?}").contains("redacted"));
}

#[test]
fn mismatched_files_are_refused_with_the_reason() {
    let p = pki(2);
    let other = pki(1);
    let eum = p.eum.as_ref().unwrap();
    let e = &p.euiccs[0];
    let key = e.key.to_pkcs8_der().unwrap();
    let ci = vec![p.ci.der().to_vec()];
    let build = |cert: &[u8], key: &[u8], eum: &[u8], cis: &[Vec<u8>], at: i64| {
        EuiccIdentity::from_certificates(cert, key, eum, cis, None, at)
    };

    // Another eUICC's key.
    let m = refused(build(
        e.cert.der(),
        &p.euiccs[1].key.to_pkcs8_der().unwrap(),
        eum.cert.der(),
        &ci,
        now(),
    ));
    assert!(m.contains("does not belong"), "{m}");
    // A CI that did not issue the EUM; an EUM that did not issue the eUICC certificate.
    let m = refused(build(
        e.cert.der(),
        &key,
        eum.cert.der(),
        &[other.ci.der().to_vec()],
        now(),
    ));
    assert!(m.contains("does not verify"), "{m}");
    let m = refused(build(
        e.cert.der(),
        &key,
        other.eum.as_ref().unwrap().cert.der(),
        &[other.ci.der().to_vec()],
        now(),
    ));
    assert!(m.contains("does not verify"), "{m}");
    // No CI at all.
    let m = refused(build(e.cert.der(), &key, eum.cert.der(), &[], now()));
    assert!(m.contains("no trusted CI"), "{m}");
    // The certificates swapped.
    let m = refused(build(eum.cert.der(), &key, e.cert.der(), &ci, now()));
    assert!(m.contains("eUICC policy"), "{m}");
    // Expired at `now`.
    let m = refused(build(e.cert.der(), &key, eum.cert.der(), &ci, 1_000_000));
    assert!(m.contains("does not verify"), "{m}");
    // Garbage instead of files.
    let m = refused(build(b"not a cert", &key, eum.cert.der(), &ci, now()));
    assert!(m.contains("eUICC certificate"), "{m}");
    let m = refused(build(
        e.cert.der(),
        b"\x30\x03\x02\x01\x00",
        eum.cert.der(),
        &ci,
        now(),
    ));
    assert!(m.contains("private key"), "{m}");
    let m = refused(build(
        e.cert.der(),
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        eum.cert.der(),
        &ci,
        now(),
    ));
    assert!(m.contains("private key"), "{m}");
    let m = refused(build(
        e.cert.der(),
        &key,
        eum.cert.der(),
        &[b"junk".to_vec()],
        now(),
    ));
    assert!(m.contains("CI certificate #1"), "{m}");
}

/// SGP.22 §4.1 / EUICCInfo1: the CIs an eUICC signs under and the CIs it verifies SM-DP+
/// certificates against are two lists. An eUICC whose chain is under CI A can trust only CI B.
#[test]
fn chain_ci_checks_the_chain_without_being_trusted() {
    let p = pki(1);
    let other = pki(1);
    let eum = p.eum.as_ref().unwrap();
    let e = &p.euiccs[0];
    let key = e.key.to_pkcs8_der().unwrap();
    let id = EuiccIdentity::from_certificates(
        e.cert.der(),
        &key,
        eum.cert.der(),
        &[other.ci.der().to_vec()],
        Some(p.ci.der()),
        now(),
    )
    .unwrap();
    assert_eq!(id.eid, e.eid);
    assert_eq!(id.trusted_ci, vec![other.ci.der().to_vec()]);
    // A chain CI that did not issue the EUM is still refused.
    let m = refused(EuiccIdentity::from_certificates(
        e.cert.der(),
        &key,
        eum.cert.der(),
        &[p.ci.der().to_vec()],
        Some(other.ci.der()),
        now(),
    ));
    assert!(m.contains("does not verify"), "{m}");
}
