//! An eUICC whose chain names the SGP.26 CI the SGP.26 v1 way ("CN=GSMA Test CI, …") while the
//! SM-DP+ trusts the SGP.26 v3 CI certificate of the same key ("CN=Test CI, …"): the SM-DP+
//! chains by key identifier and signature, so it accepts AuthenticateClient and completes the
//! download; a chain whose EUM signature is not the CI's is still 8.1.2 / 6.1. The EUM and
//! eUICC certificates are issued in the test with the genuine SGP.26 CI private key
//! (../shared/sgp26; skipped without it, a failure under `CI`).

use std::path::PathBuf;

use simforge_asn1::StatusCode;
use simforge_asn1::json::{ConfirmOrderRequest, DownloadOrderRequest, RequestHeader};
use simforge_pki::{
    CertSpec, Certificate, Curve as PkiCurve, Issued, Issuer, LabPki, PrivateKey, Role,
    issue_certificate, oids,
};
use simforge_smdp::profile::iccid_to_bcd;
use simforge_smdp::{
    MemoryStore, NewProfile, ProfileMetadata, ProfileState, Smdp, SmdpStore, SmdpTx,
};
use simforge_testkit::prelude::*;

const OP: i64 = 1;
const ICCID: &str = "8949449999999990031";
const ADDR: &str = "smdp.simforge.test:8443";
/// SGP.22 §4.5.2.1's example EID, in the SGP.26 EUM range 89049032.
const EID: &str = "89049032123451234512345678901235";

fn sgp26_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sgp26");
    if dir.join("CertificateIssuer").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "SGP.26 material not found at {} (CI is set: no skipping)",
        dir.display()
    );
    println!("skipped: SGP.26 material not found at {}", dir.display());
    None
}

fn header() -> RequestHeader {
    RequestHeader {
        function_requester_identifier: "op1".into(),
        function_call_identifier: "call-1".into(),
    }
}

async fn released_profile(smdp: &Smdp<MemoryStore>) -> String {
    smdp.add_profile(
        OP,
        NewProfile {
            iccid: ICCID.parse().expect("iccid"),
            profile_type: "ts48".into(),
            metadata: ProfileMetadata {
                service_provider_name: "Simforge".into(),
                profile_name: "Test profile".into(),
                profile_class: 2,
                notification_address: Some(FQDN.into()),
            },
            package: package(ICCID),
            reuse_on_delete: true,
            radio_access: Vec::new(),
        },
        NOW,
    )
    .await
    .expect("add profile");
    smdp.download_order(
        OP,
        &DownloadOrderRequest {
            header: header(),
            eid: None,
            iccid: Some(ICCID.into()),
            profile_type: None,
        },
        NOW,
    )
    .await
    .expect("download order");
    let (r, _) = smdp
        .confirm_order(
            OP,
            &ConfirmOrderRequest {
                header: header(),
                iccid: ICCID.parse().expect("iccid"),
                eid: None,
                matching_id: None,
                confirmation_code: None,
                smds_address: None,
                release_flag: true,
            },
            NOW,
        )
        .await
        .expect("confirm");
    r.matching_id.expect("matchingId").as_str().to_owned()
}

/// The SGP.26 NIST set (CI, DPauth, DPpb) with an EUM named the v1 way, signed by `eum_signer`
/// (the genuine CI key, or another one), and an eUICC under it.
fn sgp26_v1_chain(dir: &std::path::Path, eum_signer: Option<&PrivateKey>) -> (LabPki, TestEuicc) {
    let mut pki = simforge_pki::load_sgp26_curve(dir, PkiCurve::P256).expect("SGP.26");
    let pem = std::fs::read_to_string(dir.join("CertificateIssuer/SK_CI_ECDSA_NIST.pem"))
        .expect("CI key");
    let ci_key = PrivateKey::from_pem(&pem).expect("CI key");
    // The CI key under its SGP.26 v1 name: only the issuer of the EUM below, never trusted.
    let v1_ci: Certificate = issue_certificate(
        &CertSpec::new(
            Role::Ci,
            vec![
                (oids::AT_COMMON_NAME, "GSMA Test CI".into()),
                (oids::AT_ORGANIZATIONAL_UNIT, "TESTCERT".into()),
                (oids::AT_ORGANIZATION, "RSPTEST".into()),
                (oids::AT_COUNTRY, "IT".into()),
            ],
        ),
        &ci_key,
        Issuer::SelfSigned,
    )
    .expect("v1 CI");
    assert_eq!(v1_ci.subject_key_id(), pki.ci.subject_key_id());
    assert_ne!(v1_ci.subject(), pki.ci.subject());
    let mut eum_spec = CertSpec::new(
        Role::Eum,
        vec![
            (oids::AT_COUNTRY, "ES".into()),
            (oids::AT_ORGANIZATION, "RSP Test EUM".into()),
            (oids::AT_COMMON_NAME, "EUM Test".into()),
        ],
    );
    eum_spec.eid_prefixes = vec!["89049032".into()];
    let eum_key = PrivateKey::generate(PkiCurve::P256).expect("key");
    let eum = issue_certificate(
        &eum_spec,
        &eum_key,
        Issuer::Cert {
            cert: &v1_ci,
            key: eum_signer.unwrap_or(&ci_key),
        },
    )
    .expect("EUM");
    assert!(eum.issuer().contains("CN=GSMA Test CI"), "{}", eum.issuer());
    let euicc_key = PrivateKey::generate(PkiCurve::P256).expect("key");
    let euicc = issue_certificate(
        &CertSpec::new(
            Role::Euicc,
            vec![
                (oids::AT_ORGANIZATION, "RSP Test EUM".into()),
                (oids::AT_SERIAL_NUMBER, EID.into()),
                (oids::AT_COMMON_NAME, "Test eUICC".into()),
            ],
        ),
        &euicc_key,
        Issuer::Cert {
            cert: &eum,
            key: &eum_key,
        },
    )
    .expect("eUICC");
    pki.eum = Some(Issued {
        cert: eum,
        key: eum_key,
    });
    let e = TestEuicc::new(&pki, EID, euicc.der().to_vec(), &euicc_key);
    (pki, e)
}

async fn state(smdp: &Smdp<MemoryStore>) -> ProfileState {
    let mut tx = smdp.store().begin().await.expect("tx");
    tx.profile(OP, &ICCID.parse().expect("iccid"))
        .await
        .expect("load")
        .expect("profile")
        .state
}

#[tokio::test]
async fn sgp26_v1_named_eum_is_accepted_by_key_identifier() {
    let Some(dir) = sgp26_dir() else { return };
    let (pki, mut e) = sgp26_v1_chain(&dir, None);
    let smdp = service(&[&pki]);
    let mid = released_profile(&smdp).await;

    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("InitiateAuthentication");
    let (ac, _) = smdp
        .authenticate_client(&e.authenticate_server(&ia, Some(&mid)), NOW)
        .await
        .expect("AuthenticateClient accepts the SGP.26 v1-named chain");
    let (bpp, _) = smdp
        .get_bound_profile_package(&e.prepare_download(&ac, None), NOW)
        .await
        .expect("GetBoundProfilePackage");
    let parsed = e.load_bpp(&bpp);
    assert_eq!(parsed.content.profile.as_slice(), package(ICCID).as_slice());
    smdp.handle_notification(&e.pir(&iccid_to_bcd(ICCID), true), NOW)
        .await
        .expect("PIR");
    assert_eq!(state(&smdp).await, ProfileState::Installed);
}

#[tokio::test]
async fn sgp26_v1_named_eum_with_a_foreign_signature_is_refused() {
    let Some(dir) = sgp26_dir() else { return };
    let rogue = PrivateKey::generate(PkiCurve::P256).expect("key");
    let (pki, mut e) = sgp26_v1_chain(&dir, Some(&rogue));
    let smdp = service(&[&pki]);
    let mid = released_profile(&smdp).await;
    let (ia, _) = smdp
        .initiate_authentication(&e.initiate(ADDR), NOW)
        .await
        .expect("InitiateAuthentication");
    let err = smdp
        .authenticate_client(&e.authenticate_server(&ia, Some(&mid)), NOW)
        .await
        .expect_err("forged EUM");
    assert_eq!(
        err.status_code().expect("a protocol error"),
        StatusCode::EUM_CERTIFICATE_INVALID
    );
    assert_eq!(state(&smdp).await, ProfileState::Released);
}
