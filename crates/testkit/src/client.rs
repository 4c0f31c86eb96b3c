//! A sans-IO test client playing LPA + eUICC against the SM-DP+ (built only on asn1, crypto
//! and pki: it shares no code with the SM-DP+ logic under test), step by step, so that tests
//! can tamper with or replay any message.

use sha2::{Digest, Sha256};
use simforge_asn1::json::{
    Asn1B64, AuthenticateClientRequest, AuthenticateClientResponse, B64Bytes, CancelSessionRequest,
    GetBoundProfilePackageRequest, GetBoundProfilePackageResponse, HandleNotificationRequest,
    InitiateAuthenticationRequest, InitiateAuthenticationResponse,
};
use simforge_asn1::rasn::types::{Any, ObjectIdentifier, OctetString};
use simforge_asn1::rsp::{self, VersionType};
use simforge_asn1::{Eid, Extensions, TransactionId, to_der};
use simforge_crypto::{
    BppVerifyParams, Curve, EphemeralKeyHandle, KeyAgreement, ParsedBpp, Random, Signer,
    SoftwareKeyAgreement, SoftwareSigner, SystemRandom, parse_bpp,
};
use simforge_pki::{CertSpec, Issuer, LabPki, PrivateKey, Role, issue_certificate, oids};

use crate::lab::{FQDN, crypto_curve};

/// Issues an extra eUICC certificate from `pki`'s EUM.
pub fn issue_euicc(pki: &LabPki, eid: &str, not_after: Option<std::time::SystemTime>) -> TestEuicc {
    let eum = pki.eum.as_ref().expect("eum");
    let key = PrivateKey::generate(pki.curve).expect("key");
    let mut spec = CertSpec::new(
        Role::Euicc,
        vec![
            (oids::AT_ORGANIZATION, "Test EUM".into()),
            (oids::AT_SERIAL_NUMBER, eid.into()),
            (oids::AT_COMMON_NAME, "Test eUICC".into()),
        ],
    );
    if let Some(t) = not_after {
        spec.not_after = t;
    }
    let cert = issue_certificate(
        &spec,
        &key,
        Issuer::Cert {
            cert: &eum.cert,
            key: &eum.key,
        },
    )
    .expect("issue");
    TestEuicc::new(pki, eid, cert.der().to_vec(), &key)
}

/// The eUICC (with its LPA) under test.
pub struct TestEuicc {
    pub eid: Eid,
    pub curve: Curve,
    pub cert: Vec<u8>,
    pub eum: Vec<u8>,
    pub signer: SoftwareSigner,
    pub ci_pkid: Vec<u8>,
    pub ka: SoftwareKeyAgreement<SystemRandom>,
    pub otsk: Option<EphemeralKeyHandle>,
    pub euicc_signature1_tlv: Vec<u8>,
    pub smdp_signature2_tlv: Vec<u8>,
    pub dppb: Option<(Curve, Vec<u8>)>,
    pub tid: Option<TransactionId>,
    /// Corrupt the next signature (negative tests).
    pub corrupt_signature: bool,
    /// euiccInfo2.profileVersion.
    pub profile_version: (u8, u8, u8),
    /// Free non-volatile memory announced in euiccInfo2.extCardResource.
    pub free_nvm: u32,
    /// The otSK.EUICC.ECKA scalar kept for a retried download (reused when the SM-DP+ offers
    /// its public key as bppEuiccOtpk); `None`: a fresh key every time.
    pub retained_otsk: Option<[u8; 32]>,
    /// The public key of the last otSK.EUICC.ECKA.
    pub last_otpk: Vec<u8>,
    /// seqNumber of the next notification.
    pub next_seq: i64,
    /// euiccInfo2.forbiddenProfilePolicyRules (PprIds bits).
    pub forbidden_ppr: Option<Vec<usize>>,
    /// The smdpOid put into ProfileInstallationResults.
    pub pir_oid: Vec<u32>,
    /// The device's DeviceInfo.deviceCapabilities sent in ctxParams1.
    pub device_capabilities: rsp::DeviceCapabilities,
}

fn tlv_sig(sig: &[u8]) -> Vec<u8> {
    let mut v = vec![0x5F, 0x37, 0x40];
    v.extend_from_slice(sig);
    v
}

impl TestEuicc {
    pub fn from_lab(pki: &LabPki, index: usize) -> Self {
        let e = &pki.euiccs[index];
        Self::new(pki, &e.eid, e.cert.der().to_vec(), &e.key)
    }

    pub fn new(pki: &LabPki, eid: &str, cert: Vec<u8>, key: &PrivateKey) -> Self {
        let signer = SoftwareSigner::from_der(&key.to_pkcs8_der().expect("pkcs8")).expect("signer");
        Self {
            eid: Eid::parse(eid).expect("eid"),
            curve: crypto_curve(pki.curve),
            cert,
            eum: pki.eum.as_ref().expect("eum").cert.der().to_vec(),
            signer,
            ci_pkid: pki.ci.subject_key_id().expect("ski").to_vec(),
            ka: SoftwareKeyAgreement::new(SystemRandom::new()),
            otsk: None,
            euicc_signature1_tlv: Vec::new(),
            smdp_signature2_tlv: Vec::new(),
            dppb: None,
            tid: None,
            corrupt_signature: false,
            profile_version: (2, 3, 1),
            free_nvm: 0x0004_0000,
            retained_otsk: None,
            last_otpk: Vec::new(),
            next_seq: 1,
            forbidden_ppr: None,
            pir_oid: vec![2, 999, 10],
            device_capabilities: rsp::DeviceCapabilities::default(),
        }
    }

    fn take_seq(&mut self) -> i64 {
        self.next_seq += 1;
        self.next_seq - 1
    }

    fn sign(&mut self, msg: &[u8]) -> Vec<u8> {
        let mut s = self.signer.sign(msg).expect("sign").as_bytes().to_vec();
        if std::mem::take(&mut self.corrupt_signature) {
            s[10] ^= 1;
        }
        s
    }

    pub fn initiate(&self, address: &str) -> InitiateAuthenticationRequest {
        let mut ch = [0u8; 16];
        SystemRandom::new().fill(&mut ch).expect("rng");
        InitiateAuthenticationRequest {
            euicc_challenge: B64Bytes(ch.to_vec()),
            euicc_info1: Asn1B64::new(rsp::EuiccInfo1 {
                svn: VersionType::new(2, 2, 2),
                euicc_ci_pkid_list_for_verification: vec![self.ci_pkid.clone().into()],
                euicc_ci_pkid_list_for_signing: vec![self.ci_pkid.clone().into()],
                extensions: Extensions::default(),
            })
            .expect("info1"),
            smdp_address: address.into(),
        }
    }

    fn euicc_info2(&self) -> rsp::EuiccInfo2 {
        rsp::EuiccInfo2 {
            profile_version: VersionType::new(
                self.profile_version.0,
                self.profile_version.1,
                self.profile_version.2,
            ),
            svn: VersionType::new(2, 2, 2),
            euicc_firmware_ver: VersionType::new(1, 0, 0),
            ext_card_resource: OctetString::from(
                [
                    &[0x81, 0x01, 0x00, 0x82, 0x04][..],
                    &self.free_nvm.to_be_bytes(),
                ]
                .concat(),
            ),
            uicc_capability: rsp::UiccCapability::from_bits(&[1, 4]),
            javacard_version: None,
            globalplatform_version: None,
            rsp_capability: rsp::RspCapability::from_bits(&[0, 4]),
            euicc_ci_pkid_list_for_verification: vec![self.ci_pkid.clone().into()],
            euicc_ci_pkid_list_for_signing: vec![self.ci_pkid.clone().into()],
            euicc_category: None,
            forbidden_profile_policy_rules: self
                .forbidden_ppr
                .as_deref()
                .map(rsp::PprIds::from_bits),
            pp_version: VersionType::new(1, 0, 0),
            sas_acreditation_number: "TEST-SAS".into(),
            certification_data_object: None,
            extensions: Extensions::default(),
        }
    }

    /// ES10b.AuthenticateServer (checks the DPauth signature) → the AuthenticateClient request.
    pub fn authenticate_server(
        &mut self,
        resp: &InitiateAuthenticationResponse,
        matching_id: Option<&str>,
    ) -> AuthenticateClientRequest {
        let signed1 = resp.server_signed1.as_ref().expect("serverSigned1");
        let dpauth = resp.server_certificate.as_ref().expect("cert");
        let (curve, pk) =
            simforge_crypto::keys::public_key_from_certificate(&dpauth.0).expect("pk");
        let sig = resp.server_signature1.as_ref().expect("sig1");
        assert_eq!(&sig.0[..3], &[0x5F, 0x37, 0x40]);
        simforge_crypto::verify(
            curve,
            &pk,
            signed1.raw(),
            &simforge_crypto::Signature::from_slice(&sig.0[3..]).expect("sig"),
        )
        .expect("serverSignature1 verifies");
        let s1 = signed1.value();
        let tid = s1.transaction_id.clone();
        self.tid = Some(tid.clone());
        let euicc_signed1 = rsp::EuiccSigned1 {
            transaction_id: tid.clone(),
            server_address: s1.server_address.clone(),
            server_challenge: s1.server_challenge,
            euicc_info2: self.euicc_info2(),
            ctx_params1: rsp::CtxParams1::CtxParamsForCommonAuthentication(
                rsp::CtxParamsForCommonAuthentication {
                    matching_id: matching_id.map(str::to_owned),
                    device_info: rsp::DeviceInfo {
                        tac: OctetString::from(vec![0x35, 0x29, 0x06, 0x11]),
                        device_capabilities: self.device_capabilities.clone(),
                        imei: None,
                        extensions: Extensions::default(),
                    },
                    extensions: Extensions::default(),
                },
            ),
            extensions: Extensions::default(),
        };
        let sig = self.sign(&to_der(&euicc_signed1).expect("der"));
        self.euicc_signature1_tlv = tlv_sig(&sig);
        let ok = rsp::AuthenticateResponseOk {
            euicc_signed1,
            euicc_signature1: OctetString::from(sig),
            euicc_certificate: Any::new(self.cert.clone()),
            eum_certificate: Any::new(self.eum.clone()),
            extensions: Extensions::default(),
        };
        AuthenticateClientRequest {
            transaction_id: tid,
            authenticate_server_response: Asn1B64::new(
                rsp::AuthenticateServerResponse::AuthenticateResponseOk(ok),
            )
            .expect("asr"),
        }
    }

    /// ES10b.PrepareDownload (checks smdpSignature2) → the GetBoundProfilePackage request.
    pub fn prepare_download(
        &mut self,
        resp: &AuthenticateClientResponse,
        cc: Option<&str>,
    ) -> GetBoundProfilePackageRequest {
        let signed2 = resp.smdp_signed2.as_ref().expect("smdpSigned2");
        let cert = resp.smdp_certificate.as_ref().expect("dppb");
        let (curve, pk) = simforge_crypto::keys::public_key_from_certificate(&cert.0).expect("pk");
        let sig2 = resp.smdp_signature2.as_ref().expect("sig2");
        let mut msg = signed2.raw().to_vec();
        msg.extend_from_slice(&self.euicc_signature1_tlv);
        simforge_crypto::verify(
            curve,
            &pk,
            &msg,
            &simforge_crypto::Signature::from_slice(&sig2.0[3..]).expect("sig"),
        )
        .expect("smdpSignature2 verifies");
        self.smdp_signature2_tlv = sig2.0.clone();
        self.dppb = Some((curve, pk));
        let tid = signed2.value().transaction_id.clone();
        let offered = signed2.value().bpp_euicc_otpk.as_ref().map(|k| k.to_vec());
        let (otpk, otsk) = match self.retained_otsk {
            // Reuse the kept key only when the SM-DP+ names it (SGP.22 PrepareDownload).
            Some(scalar) => {
                let k = SoftwareKeyAgreement::<SystemRandom>::import(self.curve, &scalar)
                    .expect("scalar");
                let pk = k.public_key().to_vec();
                if self.last_otpk.is_empty() || offered.as_deref() == Some(&self.last_otpk[..]) {
                    (pk, k)
                } else {
                    self.ka.generate_ephemeral(self.curve).expect("otpk")
                }
            }
            None => self.ka.generate_ephemeral(self.curve).expect("otpk"),
        };
        self.last_otpk = otpk.clone();
        self.otsk = Some(otsk);
        let hash_cc = cc.map(|c| {
            let mut h = Sha256::new();
            h.update(Sha256::digest(c.as_bytes()));
            h.update(tid.as_bytes());
            let out: [u8; 32] = h.finalize().into();
            out.into()
        });
        let euicc_signed2 = rsp::EuiccSigned2 {
            transaction_id: tid.clone(),
            euicc_otpk: OctetString::from(otpk),
            hash_cc,
            extensions: Extensions::default(),
        };
        let mut msg = to_der(&euicc_signed2).expect("der");
        msg.extend_from_slice(&self.smdp_signature2_tlv);
        let sig = self.sign(&msg);
        GetBoundProfilePackageRequest {
            transaction_id: tid,
            prepare_download_response: Asn1B64::new(
                rsp::PrepareDownloadResponse::DownloadResponseOk(rsp::PrepareDownloadResponseOk {
                    euicc_signed2,
                    euicc_signature2: OctetString::from(sig),
                    extensions: Extensions::default(),
                }),
            )
            .expect("pdr"),
        }
    }

    /// ES8+ LoadBoundProfilePackage: verifies and decrypts the BPP.
    pub fn load_bpp(&mut self, resp: &GetBoundProfilePackageResponse) -> ParsedBpp {
        let bpp = resp.bound_profile_package.as_ref().expect("bpp");
        let (curve, pk) = self.dppb.clone().expect("dppb");
        let eid = self.eid.to_bytes();
        let tid = self.tid.clone().expect("tid");
        parse_bpp(
            bpp.raw(),
            self.otsk.take().expect("otsk"),
            &BppVerifyParams {
                eid: &eid,
                dp_pb_curve: curve,
                dp_pb_public_key: &pk,
                transaction_id: Some(tid.as_bytes()),
            },
        )
        .expect("BPP parses and decrypts")
    }

    /// The ProfileInstallationResult notification.
    pub fn pir(&mut self, iccid_bcd: &[u8], success: bool) -> HandleNotificationRequest {
        let data = rsp::ProfileInstallationResultData {
            transaction_id: self.tid.clone().expect("tid"),
            notification_metadata: rsp::NotificationMetadata {
                seq_number: self.take_seq(),
                profile_management_operation: rsp::NotificationEvent::from_bits(&[0]),
                notification_address: FQDN.into(),
                iccid: Some(rsp::Iccid(OctetString::from(iccid_bcd.to_vec()))),
                extensions: Extensions::default(),
            },
            smdp_oid: Some(ObjectIdentifier::new(self.pir_oid.clone()).expect("oid")),
            final_result: if success {
                rsp::FinalResult::SuccessResult(rsp::SuccessResult {
                    aid: rsp::IsdpAid(OctetString::from(vec![0xA0, 0, 0, 5, 0x59, 0x10, 0x10, 1])),
                    sima_response: OctetString::from(vec![0x30, 0x03, 0x80, 0x01, 0x00]),
                    extensions: Extensions::default(),
                })
            } else {
                rsp::FinalResult::ErrorResult(rsp::ErrorResult {
                    bpp_command_id: rsp::BppCommandId::LOAD_PROFILE_ELEMENTS,
                    error_reason: rsp::ErrorReason::INSTALL_FAILED_DUE_TO_PE_PROCESSING_ERROR,
                    sima_response: None,
                    extensions: Extensions::default(),
                })
            },
            extensions: Extensions::default(),
        };
        let sig = self.sign(&to_der(&data).expect("der"));
        HandleNotificationRequest {
            pending_notification: Asn1B64::new(
                rsp::PendingNotification::ProfileInstallationResult(
                    rsp::ProfileInstallationResult {
                        profile_installation_result_data: data,
                        euicc_sign_pir: rsp::EuiccSignPir(OctetString::from(sig)),
                        extensions: Extensions::default(),
                    },
                ),
            )
            .expect("pir"),
        }
    }

    /// A signed delete notification.
    pub fn delete_notification(&mut self, iccid_bcd: &[u8]) -> HandleNotificationRequest {
        let tbs = rsp::NotificationMetadata {
            seq_number: self.take_seq(),
            profile_management_operation: rsp::NotificationEvent::from_bits(&[3]),
            notification_address: FQDN.into(),
            iccid: Some(rsp::Iccid(OctetString::from(iccid_bcd.to_vec()))),
            extensions: Extensions::default(),
        };
        let sig = self.sign(&to_der(&tbs).expect("der"));
        HandleNotificationRequest {
            pending_notification: Asn1B64::new(rsp::PendingNotification::OtherSignedNotification(
                rsp::OtherSignedNotification {
                    tbs_other_notification: tbs,
                    euicc_notification_signature: OctetString::from(sig),
                    euicc_certificate: Any::new(self.cert.clone()),
                    eum_certificate: Any::new(self.eum.clone()),
                    extensions: Extensions::default(),
                },
            ))
            .expect("notif"),
        }
    }

    /// ES10b.CancelSession → the ES9+ CancelSession request.
    pub fn cancel(
        &mut self,
        reason: rsp::CancelSessionReason,
        oid: &[u32],
    ) -> CancelSessionRequest {
        let tid = self.tid.clone().expect("tid");
        let signed = rsp::EuiccCancelSessionSigned {
            transaction_id: tid.clone(),
            smdp_oid: ObjectIdentifier::new(oid.to_vec()).expect("oid"),
            reason,
            extensions: Extensions::default(),
        };
        let sig = self.sign(&to_der(&signed).expect("der"));
        CancelSessionRequest {
            transaction_id: tid,
            cancel_session_response: Asn1B64::new(
                rsp::CancelSessionResponse::CancelSessionResponseOk(rsp::CancelSessionResponseOk {
                    euicc_cancel_session_signed: signed,
                    euicc_cancel_session_signature: OctetString::from(sig),
                    extensions: Extensions::default(),
                }),
            )
            .expect("csr"),
        }
    }
}
