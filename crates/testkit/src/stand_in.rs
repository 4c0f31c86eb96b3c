//! A stand-in SM-DP+ (ES9+ only, built on asn1 + crypto + pki, sharing no code with
//! `simforge_smdp`) whose answers can be tampered with ([`Tamper`]): the LPA's tests of what
//! the real SM-DP+ never sends (an untrusted CI, bad signatures and MACs, another EID,
//! swapped segments).

use simforge_asn1::json::Es9Function;
use simforge_asn1::json::{self, Asn1B64, B64Bytes};
use simforge_asn1::rsp::*;
use simforge_asn1::status::{ResponseHeader, StatusCode};
use simforge_asn1::{Eid, Extensions, TransactionId, signed};
use simforge_crypto::{
    BppBuildParams, ProfileSource, Random, SoftwareKeyAgreement, SoftwareSigner, SystemRandom,
    build_bpp, segment_bpp,
};
use simforge_lpa::{Error, Es9Transport};
use simforge_pki::{Certificate, LabPki, LabPkiOptions, generate_lab_pki};

/// The stand-in's address.
pub const ADDRESS: &str = "smdp.test.example:8443";

/// A lab PKI for the stand-in's host with one eUICC.
pub fn lab_pki() -> LabPki {
    let mut o = LabPkiOptions::new(simforge_pki::Curve::P256, "smdp.test.example");
    o.euicc_count = 1;
    generate_lab_pki(&o).expect("lab PKI")
}

/// What the stand-in spoils.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tamper {
    None,
    UntrustedCi,
    BadServerSignature,
    BadMac,
    OtherEid,
    SwapSegments,
}

struct Session {
    tid: Vec<u8>,
    server_challenge: [u8; 16],
    euicc_sig1: Vec<u8>,
    euicc_cert: Vec<u8>,
    smdp_sig2: Vec<u8>,
}

/// A minimal SM-DP+ (ES9+ only) for tests.
pub struct TestSmdp {
    pub pki: LabPki,
    other: LabPki,
    pub upp: Vec<u8>,
    pub iccid: String,
    pub cc: Option<String>,
    pub tamper: Tamper,
    pub notifications: Vec<Vec<u8>>,
    pub calls: Vec<String>,
    session: Option<Session>,
    counter: u64,
}

fn sig_do(sig: &[u8]) -> Vec<u8> {
    let mut v = vec![0x5F, 0x37, 0x40];
    v.extend_from_slice(sig);
    v
}

fn ok_json<T: serde::Serialize>(v: &T) -> (u16, Vec<u8>) {
    (200, json::to_json(v).expect("json"))
}

fn failed(subject: &str, reason: &str) -> (u16, Vec<u8>) {
    let code = StatusCode::parse(subject, reason).expect("code");
    ok_json(&json::HeaderOnlyResponse {
        header: ResponseHeader::failed(&code, None),
    })
}

impl TestSmdp {
    pub fn new(pki: LabPki, upp: Vec<u8>) -> Self {
        let iccid = simforge_saip::Profile::decode(&upp)
            .expect("profile")
            .iccid()
            .expect("iccid");
        Self {
            pki,
            other: lab_pki(),
            upp,
            iccid,
            cc: None,
            tamper: Tamper::None,
            notifications: Vec::new(),
            calls: Vec::new(),
            session: None,
            counter: 0,
        }
    }

    pub fn activation_code(&self) -> String {
        let cc = if self.cc.is_some() { "$$1" } else { "" };
        format!("LPA:1${ADDRESS}$MATCH-{}{cc}", self.counter)
    }

    fn iccid_bcd(&self) -> Vec<u8> {
        simforge_asn1::Iccid::parse(&self.iccid)
            .expect("iccid")
            .to_bcd()
            .to_vec()
    }

    fn metadata(&self) -> StoreMetadataRequest {
        StoreMetadataRequest {
            iccid: Iccid(self.iccid_bcd().into()),
            service_provider_name: "Simforge Test".into(),
            profile_name: "TS.48 generic".into(),
            icon_type: None,
            icon: None,
            profile_class: None,
            notification_configuration_info: Some(vec![NotificationConfigurationInformation {
                profile_management_operation: NotificationEvent::from_bits(&[1, 2, 3]),
                notification_address: ADDRESS.into(),
                extensions: Extensions::default(),
            }]),
            profile_owner: None,
            profile_policy_rules: None,
            extensions: Extensions::default(),
        }
    }

    fn initiate(&mut self, body: &[u8]) -> (u16, Vec<u8>) {
        let req: json::InitiateAuthenticationRequest = json::from_json(body).expect("request");
        assert_eq!(req.smdp_address, ADDRESS);
        self.counter += 1;
        let tid = self.counter.to_be_bytes().to_vec();
        let mut server_challenge = [0u8; 16];
        SystemRandom::new()
            .fill(&mut server_challenge)
            .expect("rng");
        let challenge: [u8; 16] = req.euicc_challenge.0.as_slice().try_into().expect("16");
        let ss1 = ServerSigned1 {
            transaction_id: TransactionId::from_bytes(&tid).expect("tid"),
            euicc_challenge: challenge.into(),
            server_address: ADDRESS.into(),
            server_challenge: server_challenge.into(),
            extensions: Extensions::default(),
        };
        let der = simforge_asn1::to_der(&ss1).expect("der");
        let auth = if self.tamper == Tamper::UntrustedCi {
            &self.other.smdp.auth
        } else {
            &self.pki.smdp.auth
        };
        let mut sig = auth.key.sign_raw(&der).to_vec();
        if self.tamper == Tamper::BadServerSignature {
            sig[10] ^= 0x01;
        }
        let pkid = self.pki.ci.subject_key_id().expect("ski").to_vec();
        let mut pkid_do = vec![0x04, u8::try_from(pkid.len()).expect("len")];
        pkid_do.extend_from_slice(&pkid);
        self.session = Some(Session {
            tid: tid.clone(),
            server_challenge,
            euicc_sig1: Vec::new(),
            euicc_cert: Vec::new(),
            smdp_sig2: Vec::new(),
        });
        ok_json(&json::InitiateAuthenticationResponse {
            header: ResponseHeader::success(),
            transaction_id: Some(TransactionId::from_bytes(&tid).expect("tid")),
            server_signed1: Some(Asn1B64::from_bytes(der).expect("ss1")),
            server_signature1: Some(B64Bytes(sig_do(&sig))),
            euicc_ci_pk_id_to_be_used: Some(B64Bytes(pkid_do)),
            server_certificate: Some(B64Bytes(auth.cert.der().to_vec())),
        })
    }

    fn authenticate_client(&mut self, body: &[u8]) -> (u16, Vec<u8>) {
        let req: json::AuthenticateClientRequest = json::from_json(body).expect("request");
        let raw = req.authenticate_server_response.raw().to_vec();
        let AuthenticateServerResponse::AuthenticateResponseOk(ok) =
            req.authenticate_server_response.value()
        else {
            return failed("8.1", "6.1");
        };
        let s = self.session.as_mut().expect("session");
        assert_eq!(req.transaction_id.as_bytes(), s.tid.as_slice());
        assert_eq!(
            ok.euicc_signed1.server_challenge.as_ref(),
            &s.server_challenge
        );
        // eUICC → EUM → CI chain and euiccSignature1.
        let ci = self.pki.ci_store().expect("ci store");
        let now = 1_800_000_000;
        let v = simforge_pki::verify_euicc_chain(
            &ci,
            ok.eum_certificate.as_bytes(),
            ok.euicc_certificate.as_bytes(),
            now,
        )
        .expect("eUICC chain");
        let signed1 = signed::euicc_signed1(&raw).expect("euiccSigned1");
        assert!(
            simforge_pki::verify_raw_signature(
                v.curve,
                &v.public_key,
                signed1,
                ok.euicc_signature1.as_ref()
            )
            .expect("verify"),
            "euiccSignature1 must verify"
        );
        s.euicc_sig1 = ok.euicc_signature1.to_vec();
        s.euicc_cert = ok.euicc_certificate.as_bytes().to_vec();
        let ss2 = SmdpSigned2 {
            transaction_id: TransactionId::from_bytes(&s.tid).expect("tid"),
            cc_required_flag: self.cc.is_some(),
            bpp_euicc_otpk: None,
            extensions: Extensions::default(),
        };
        let der = simforge_asn1::to_der(&ss2).expect("der");
        let mut to_sign = der.clone();
        to_sign.extend(sig_do(&s.euicc_sig1));
        let sig = self.pki.smdp.pb.key.sign_raw(&to_sign).to_vec();
        s.smdp_sig2 = sig.clone();
        let tid = s.tid.clone();
        let meta = self.metadata();
        ok_json(&json::AuthenticateClientResponse {
            header: ResponseHeader::success(),
            transaction_id: Some(TransactionId::from_bytes(&tid).expect("tid")),
            profile_metadata: Some(Asn1B64::new(meta).expect("meta")),
            smdp_signed2: Some(Asn1B64::from_bytes(der).expect("ss2")),
            smdp_signature2: Some(B64Bytes(sig_do(&sig))),
            smdp_certificate: Some(B64Bytes(self.pki.smdp.pb.cert.der().to_vec())),
        })
    }

    fn get_bpp(&mut self, body: &[u8]) -> (u16, Vec<u8>) {
        let req: json::GetBoundProfilePackageRequest = json::from_json(body).expect("request");
        let raw = req.prepare_download_response.raw().to_vec();
        let PrepareDownloadResponse::DownloadResponseOk(ok) = req.prepare_download_response.value()
        else {
            return failed("8.1", "6.1");
        };
        let s = self.session.as_ref().expect("session");
        let euicc_cert = Certificate::from_der(&s.euicc_cert).expect("cert");
        let mut signed = signed::euicc_signed2(&raw).expect("euiccSigned2").to_vec();
        signed.extend(sig_do(&s.smdp_sig2));
        assert!(
            simforge_pki::verify_raw_signature(
                euicc_cert.curve(),
                euicc_cert.public_key_sec1(),
                &signed,
                ok.euicc_signature2.as_ref()
            )
            .expect("verify"),
            "euiccSignature2 must verify"
        );
        if let Some(cc) = &self.cc {
            let want = simforge_lpa::hash_confirmation_code(cc, &s.tid);
            match &ok.euicc_signed2.hash_cc {
                Some(h) if *h.as_ref() == want => {}
                _ => return failed("8.2.7", "3.8"),
            }
        }
        let mut eid = Eid::parse(&euicc_cert.eid().expect("eid"))
            .expect("eid")
            .to_bytes();
        if self.tamper == Tamper::OtherEid {
            eid[15] ^= 0x01;
        }
        let configure = simforge_asn1::to_der(&ConfigureIsdpRequest::default()).expect("der");
        let meta = simforge_asn1::to_der(&self.metadata()).expect("der");
        let signer = SoftwareSigner::from_der(&self.pki.smdp.pb.key.to_pkcs8_der().expect("pkcs8"))
            .expect("signer");
        let built = build_bpp(
            &BppBuildParams {
                transaction_id: &s.tid,
                euicc_otpk: ok.euicc_signed2.euicc_otpk.as_ref(),
                eid: &eid,
                configure_isdp: &configure,
                store_metadata: &meta,
                profile: ProfileSource::Unprotected(&self.upp),
            },
            &signer,
            &SoftwareKeyAgreement::new(SystemRandom::new()),
            &SystemRandom::new(),
        )
        .expect("BPP");
        let mut bpp = built.bpp;
        match self.tamper {
            Tamper::BadMac => {
                let n = bpp.len();
                bpp[n - 1] ^= 0x01;
            }
            Tamper::SwapSegments => {
                let mut pieces = segment_bpp(&bpp).expect("segments");
                let idx: Vec<usize> = pieces
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p[0] == 0x86)
                    .map(|(i, _)| i)
                    .collect();
                assert!(idx.len() >= 3, "the profile needs several segments");
                pieces.swap(idx[0], idx[1]);
                bpp = pieces.concat();
            }
            _ => {}
        }
        ok_json(&json::GetBoundProfilePackageResponse {
            header: ResponseHeader::success(),
            transaction_id: Some(TransactionId::from_bytes(&s.tid).expect("tid")),
            bound_profile_package: Some(Asn1B64::from_bytes(bpp).expect("bpp decodes")),
        })
    }
}

impl Es9Transport for TestSmdp {
    fn post(
        &mut self,
        address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), Error> {
        let function = function.name();
        assert_eq!(address, ADDRESS);
        self.calls.push(function.to_owned());
        Ok(match function {
            "initiateAuthentication" => self.initiate(body),
            "authenticateClient" => self.authenticate_client(body),
            "getBoundProfilePackage" => self.get_bpp(body),
            "handleNotification" => {
                let req: json::HandleNotificationRequest = json::from_json(body).expect("request");
                self.notifications
                    .push(req.pending_notification.raw().to_vec());
                (204, Vec::new())
            }
            "cancelSession" => ok_json(&json::HeaderOnlyResponse {
                header: ResponseHeader::success(),
            }),
            _ => (404, Vec::new()),
        })
    }
}
