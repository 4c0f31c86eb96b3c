//! Key loading (SGP.26 PEM keys, PKCS#8, SEC1), sign/verify on both curves, signature
//! format conversions.

// Helpers outside #[test] fns are test code too (clippy.toml only covers #[test] bodies).
#![allow(clippy::unwrap_used)]

mod common;

use simforge_crypto::keys::{self, EcPrivateKey};
use simforge_crypto::{Curve, Error, Signature, Signer, SoftwareSigner, SystemRandom, tlv, verify};

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];

/// SEC1 ECPrivateKey DER (version 1, key, [0] curve, [1] public key if given).
fn sec1_der(curve: Curve, scalar: &[u8], public: Option<&[u8]>, with_params: bool) -> Vec<u8> {
    let mut body = Vec::new();
    tlv::write_tlv(0x02, &[1], &mut body);
    tlv::write_tlv(0x04, scalar, &mut body);
    if with_params {
        tlv::write_tlv(0xA0, &tlv::tlv(0x06, curve.oid()), &mut body);
    }
    if let Some(p) = public {
        let mut bits = vec![0];
        bits.extend_from_slice(p);
        tlv::write_tlv(0xA1, &tlv::tlv(0x03, &bits), &mut body);
    }
    tlv::tlv(0x30, &body)
}

fn pkcs8_der(curve: Curve, sec1_without_params: &[u8]) -> Vec<u8> {
    let mut alg = tlv::tlv(0x06, OID_EC_PUBLIC_KEY);
    tlv::write_tlv(0x06, curve.oid(), &mut alg);
    let mut body = tlv::tlv(0x02, &[0]);
    tlv::write_tlv(0x30, &alg, &mut body);
    tlv::write_tlv(0x04, sec1_without_params, &mut body);
    tlv::tlv(0x30, &body)
}

#[test]
fn sign_verify_both_curves_and_formats() {
    for curve in Curve::ALL {
        let signer = SoftwareSigner::generate(curve, &SystemRandom::new()).unwrap();
        let pk = signer.public_key();
        assert_eq!(pk.len(), 65);
        assert_eq!(pk[0], 0x04);
        let sig = signer.sign(b"message").unwrap();
        verify(curve, &pk, b"message", &sig).unwrap();
        assert_eq!(
            verify(curve, &pk, b"messagf", &sig),
            Err(Error::BadSignature)
        );
        let der = sig.to_der();
        assert_eq!(Signature::from_der(&der).unwrap(), sig);
        let other = if curve == Curve::NistP256 {
            Curve::BrainpoolP256r1
        } else {
            Curve::NistP256
        };
        assert!(verify(other, &pk, b"message", &sig).is_err());
        assert!(format!("{signer:?}").contains("<redacted>"));
    }
}

#[test]
fn pkcs8_and_sec1_der_loading() {
    for curve in Curve::ALL {
        let scalar = [0x42u8; 32];
        let signer =
            SoftwareSigner::new(&EcPrivateKey::from_scalar(curve, &scalar).unwrap()).unwrap();
        let pk = signer.public_key();
        let sec1 = sec1_der(curve, &scalar, Some(&pk), true);
        let k = EcPrivateKey::from_der(&sec1).unwrap();
        assert_eq!(k.curve(), curve);
        assert_eq!(format!("{k:?}"), "<redacted>");
        assert_eq!(SoftwareSigner::new(&k).unwrap().public_key(), pk);
        let p8 = pkcs8_der(curve, &sec1_der(curve, &scalar, None, false));
        let k8 = EcPrivateKey::from_der(&p8).unwrap();
        assert_eq!(SoftwareSigner::new(&k8).unwrap().public_key(), pk);
        // A wrong embedded public key is refused.
        let mut wrong = pk.clone();
        wrong[10] ^= 1;
        let bad = EcPrivateKey::from_der(&sec1_der(curve, &scalar, Some(&wrong), true)).unwrap();
        assert!(SoftwareSigner::new(&bad).is_err());
        // Missing curve is refused.
        assert!(EcPrivateKey::from_der(&sec1_der(curve, &scalar, None, false)).is_err());
    }
    assert!(EcPrivateKey::from_der(&[0x30, 0x00]).is_err());
    assert!(EcPrivateKey::from_pem("nothing").is_err());
}

#[test]
fn sgp26_dp_keys_sign_and_verify_with_certificates() {
    let Some(shared) = common::shared_dir("SGP.26 keys") else {
        return;
    };
    let mut checked = 0;
    for (dir, role) in [("DPpb", "pb"), ("DPauth", "auth")] {
        for dp in ["DP", "DP2"] {
            for (variant, curve) in [("NIST", Curve::NistP256), ("BRP", Curve::BrainpoolP256r1)] {
                let base = shared.join("sgp26").join(dir);
                let name = format!("S_SM_{dp}{role}_ECDSA_{variant}");
                let Ok(sk_pem) = std::fs::read_to_string(base.join(format!("SK_{name}.pem")))
                else {
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "CI is set: a missing peer or ../shared fails the test instead of skipping it"
                    );
                    println!("skipped: {name} not present");
                    continue;
                };
                let signer = SoftwareSigner::from_pem(&sk_pem).unwrap();
                assert_eq!(signer.curve(), curve, "{name}");
                let pk_pem = std::fs::read_to_string(base.join(format!("PK_{name}.pem"))).unwrap();
                let (pk_curve, pk) = keys::public_key_from_pem(&pk_pem).unwrap();
                assert_eq!(pk_curve, curve);
                assert_eq!(pk, signer.public_key(), "{name}: PK file matches SK");
                let cert = std::fs::read(base.join(format!("CERT_{name}.der"))).unwrap();
                let (cert_curve, cert_pk) = keys::public_key_from_certificate(&cert).unwrap();
                assert_eq!(
                    (cert_curve, cert_pk.as_slice()),
                    (curve, pk.as_slice()),
                    "{name}"
                );
                let sig = signer.sign(b"smdpSigned2").unwrap();
                verify(curve, &cert_pk, b"smdpSigned2", &sig).unwrap();
                checked += 1;
            }
        }
    }
    assert!(checked >= 4);
}

#[test]
fn sgp26_certificate_signatures_verify_via_der_conversion() {
    // The DP certificates are signed by the CI; verify each certificate's DER signature with
    // the CI public key to exercise DER → r‖s conversion on real data.
    let Some(shared) = common::shared_dir("SGP.26 certificates") else {
        return;
    };
    for (variant, curve) in [("NIST", Curve::NistP256), ("BRP", Curve::BrainpoolP256r1)] {
        let ci = std::fs::read(shared.join(format!(
            "sgp26/CertificateIssuer/CERT_CI_ECDSA_{variant}.der"
        )));
        let cert =
            std::fs::read(shared.join(format!("sgp26/DPpb/CERT_S_SM_DPpb_ECDSA_{variant}.der")));
        let (Ok(ci), Ok(cert)) = (ci, cert) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set: a missing peer or ../shared fails the test instead of skipping it"
            );
            println!("skipped: {variant} certificates absent");
            continue;
        };
        let (ci_curve, ci_pk) = keys::public_key_from_certificate(&ci).unwrap();
        assert_eq!(ci_curve, curve);
        let outer = tlv::parse_single(&cert).unwrap();
        let items = tlv::parse_all(outer.value).unwrap();
        let tbs = items[0].raw;
        let bits = items[2];
        assert_eq!(bits.tag, 0x03);
        let sig = Signature::from_der(&bits.value[1..]).unwrap();
        assert_eq!(sig.to_der(), bits.value[1..].to_vec());
        verify(curve, &ci_pk, tbs, &sig).unwrap();
    }
}
