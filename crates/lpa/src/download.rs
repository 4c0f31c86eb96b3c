//! The profile download (SGP.22 §3.1.3): ES9+ and ES10b step by step.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use simforge_asn1::json::{
    self, Asn1B64, AuthenticateClientResponse, B64Bytes, EventEntry,
    GetBoundProfilePackageResponse, HeaderOnlyResponse, InitiateAuthenticationResponse,
};
use simforge_asn1::rsp::{
    AuthenticateServerResponse, CancelSessionReason, CancelSessionResponse, CtxParams1,
    CtxParamsForCommonAuthentication, DeviceCapabilities, DeviceInfo, FinalResult,
    PrepareDownloadResponse, ProfileInstallationResult, VersionType,
};
use simforge_asn1::status::ResponseHeader;
use simforge_asn1::{ActivationCode, Extensions, TransactionId, from_ber, to_der};
use simforge_crypto::tlv;

use crate::{Card, Error, Es9Function, Es9Transport, Lpa};

/// Path prefix of the ES9+ functions.
pub const ES9_PATH: &str = "/gsma/rsp2/es9plus/";
/// The X-Admin-Protocol header value the LPA sends.
pub const X_ADMIN_PROTOCOL: &str = "gsma/rsp/v2.2.0";

/// The result of a successful download.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DownloadOutcome {
    /// ICCID digits of the installed profile.
    pub iccid: String,
    /// ISD-P AID (hex).
    pub isdp_aid: String,
    /// Service provider name from the profile metadata.
    pub service_provider_name: String,
    /// Profile name from the profile metadata.
    pub profile_name: String,
    /// transactionId (hex).
    pub transaction_id: String,
    /// Whether the install notification reached the SM-DP+ (and was removed).
    pub notification_sent: bool,
}

/// An AuthenticateClient answer of either server at an event's address: an SM-DP+'s (ES9+,
/// the profile's metadata) or, when the address is an alternative SM-DS's, an SM-DS's (ES11,
/// `eventEntries`). Deployed LPAs post both to the same ES9+ path.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticateClientAnswer {
    #[serde(flatten)]
    dp: AuthenticateClientResponse,
    #[serde(default)]
    event_entries: Option<Vec<EventEntry>>,
}

/// Where an address led.
enum Reached {
    /// An SM-DP+: the profile installed.
    Installed(DownloadOutcome),
    /// An SM-DS: its event records for this eUICC (only the one of the EventID sent).
    Events(Vec<EventEntry>),
}

pub(crate) fn default_device_info() -> DeviceInfo {
    DeviceInfo {
        tac: vec![0x35, 0x29, 0x06, 0x11].into(),
        device_capabilities: DeviceCapabilities {
            gsm_supported_release: Some(VersionType::new(15, 0, 0)),
            utran_supported_release: Some(VersionType::new(15, 0, 0)),
            eutran_supported_release: Some(VersionType::new(15, 0, 0)),
            ..DeviceCapabilities::default()
        },
        imei: None,
        extensions: Extensions::default(),
    }
}

/// hashCc = SHA-256(SHA-256(confirmation code) ‖ transactionId) (SGP.22 §3.1.3.4).
#[must_use]
pub fn hash_confirmation_code(code: &str, transaction_id: &[u8]) -> [u8; 32] {
    let inner = Sha256::digest(code.as_bytes());
    let mut h = Sha256::new();
    h.update(inner);
    h.update(transaction_id);
    h.finalize().into()
}

pub(crate) fn post_json<R: serde::de::DeserializeOwned>(
    es9: &mut dyn Es9Transport,
    address: &str,
    function: Es9Function,
    body: &[u8],
    header: impl Fn(&R) -> &ResponseHeader,
) -> Result<R, Error> {
    let (status, resp) = es9.post(address, function, body)?;
    let function = function.name();
    if status != 200 {
        // A failure may still carry a JSON header.
        if let Ok(h) = json::from_json::<HeaderOnlyResponse>(&resp) {
            check_header(function, &h.header)?;
        }
        return Err(Error::Http { function, status });
    }
    let r: R = json::from_json(&resp).map_err(|e| Error::Protocol(format!("{function}: {e}")))?;
    check_header(function, header(&r))?;
    Ok(r)
}

fn check_header(function: &'static str, h: &ResponseHeader) -> Result<(), Error> {
    let s = &h.function_execution_status;
    if s.is_executed() {
        return Ok(());
    }
    let (subject_code, reason_code, message) = s
        .status_code_data
        .as_ref()
        .map(|d| {
            (
                d.subject_code.clone(),
                d.reason_code.clone(),
                d.message.clone(),
            )
        })
        .unwrap_or_default();
    Err(Error::Es9Status {
        function,
        subject_code,
        reason_code,
        message,
    })
}

pub(crate) fn handle_notification(
    es9: &mut dyn Es9Transport,
    address: &str,
    pending_raw: &[u8],
) -> Result<(), Error> {
    let body = json::to_json(&json::HandleNotificationRequest {
        pending_notification: b64asn1(pending_raw)?,
    })
    .map_err(|e| Error::Asn1(e.to_string()))?;
    let (status, _) = es9.post(address, Es9Function::HandleNotification, &body)?;
    if status == 204 || status == 200 {
        Ok(())
    } else {
        Err(Error::Http {
            function: "handleNotification",
            status,
        })
    }
}

/// A data object as the SM-DP+ sent it, either the whole TLV (`tag` first) or only its value.
fn as_tlv(bytes: &[u8], tag: u32) -> Vec<u8> {
    if let Ok(t) = tlv::parse_single(bytes)
        && t.tag == tag
    {
        return bytes.to_vec();
    }
    tlv::tlv(tag, bytes)
}

fn asn1<T: simforge_asn1::rasn::Encode>(v: &T) -> Result<Vec<u8>, Error> {
    to_der(v).map_err(|e| Error::Asn1(e.to_string()))
}

fn missing(what: &str) -> Error {
    Error::Protocol(format!("the SM-DP+ response lacks {what}"))
}

impl<C: Card, T: Es9Transport> Lpa<C, T> {
    /// Cancels the session on both sides (best effort) after a failure.
    fn cancel(&mut self, address: &str, tid: &TransactionId, reason: CancelSessionReason) {
        let Ok(resp) = self.es10.cancel_session(tid.clone(), reason) else {
            return;
        };
        if from_ber::<CancelSessionResponse>(&resp).is_err() {
            return;
        }
        let Ok(r) = b64asn1(&resp) else { return };
        let Ok(body) = json::to_json(&json::CancelSessionRequest {
            transaction_id: tid.clone(),
            cancel_session_response: r,
        }) else {
            return;
        };
        let _ = self.es9.post(address, Es9Function::CancelSession, &body);
    }

    /// Downloads and installs the profile an activation code points to (`LPA:` prefix
    /// optional), sending the install notification afterwards.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad activation code, [`Error::ConfirmationCodeRequired`],
    /// [`Error::Es9Status`] / [`Error::Http`] for SM-DP+ refusals, [`Error::Euicc`] for eUICC
    /// refusals, [`Error::Install`] when the eUICC rejects the BPP.
    pub fn download(
        &mut self,
        activation_code: &str,
        confirmation_code: Option<&str>,
    ) -> Result<DownloadOutcome, Error> {
        let ac = ActivationCode::parse(activation_code.trim())
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        if ac.confirmation_code_required() && confirmation_code.is_none() {
            return Err(Error::ConfirmationCodeRequired);
        }
        let matching_id = ac
            .matching_id()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        self.download_at(ac.smdp_address(), &matching_id, confirmation_code)
    }

    /// Steps 1 to 3 of the common mutual authentication (SGP.22 §3.1.2) with the server at
    /// `address` (an SM-DP+ over ES9+, an SM-DS over ES11): ES10b challenge and EUICCInfo1,
    /// InitiateAuthentication, ES10b AuthenticateServer with `matching_id` in ctxParams1.
    /// Returns the transactionId and the eUICC's AuthenticateServerResponse (`BF38`), raw.
    pub(crate) fn authenticate(
        &mut self,
        address: &str,
        matching_id: Option<String>,
    ) -> Result<(TransactionId, Vec<u8>), Error> {
        // 1. ES10b: challenge and EUICCInfo1.
        let challenge = self.es10.get_euicc_challenge()?;
        let info1_raw = self.es10.get_euicc_info1_raw()?;

        // 2. ES9+ (or ES11) InitiateAuthentication.
        let body = json::to_json(&json::InitiateAuthenticationRequest {
            euicc_challenge: B64Bytes(challenge.to_vec()),
            euicc_info1: b64asn1(&info1_raw)?,
            smdp_address: address.to_owned(),
        })
        .map_err(|e| Error::Asn1(e.to_string()))?;
        let ia: InitiateAuthenticationResponse = post_json(
            &mut self.es9,
            address,
            Es9Function::InitiateAuthentication,
            &body,
            |r: &InitiateAuthenticationResponse| &r.header,
        )?;
        let tid = ia
            .transaction_id
            .clone()
            .ok_or_else(|| missing("transactionId"))?;
        let ss1 = ia
            .server_signed1
            .as_ref()
            .ok_or_else(|| missing("serverSigned1"))?;
        if ss1.value().server_address != address {
            return Err(Error::Protocol(format!(
                "serverAddress {} differs from the address asked, {address}",
                ss1.value().server_address
            )));
        }
        let sig1 = ia
            .server_signature1
            .as_ref()
            .ok_or_else(|| missing("serverSignature1"))?;
        let pkid = ia
            .euicc_ci_pk_id_to_be_used
            .as_ref()
            .ok_or_else(|| missing("euiccCiPKIdToBeUsed"))?;
        let cert = ia
            .server_certificate
            .as_ref()
            .ok_or_else(|| missing("serverCertificate"))?;

        // 3. ES10b AuthenticateServer, with the server's data objects byte for byte.
        let ctx = CtxParams1::CtxParamsForCommonAuthentication(CtxParamsForCommonAuthentication {
            matching_id,
            device_info: self.device_info.clone(),
            extensions: Extensions::default(),
        });
        let mut body = ss1.raw().to_vec();
        body.extend(as_tlv(&sig1.0, 0x5F37));
        body.extend(as_tlv(&pkid.0, 0x04));
        body.extend_from_slice(&cert.0);
        body.extend(asn1(&ctx)?);
        let asr_raw = self
            .es10
            .transceive(&tlv::tlv(0xBF38, &body), "AuthenticateServer")?;
        let asr: AuthenticateServerResponse =
            from_ber(&asr_raw).map_err(|e| Error::Asn1(e.to_string()))?;
        if let AuthenticateServerResponse::AuthenticateResponseError(e) = &asr {
            return Err(Error::Euicc {
                function: "AuthenticateServer",
                code: e.authenticate_error_code.0,
            });
        }
        Ok((tid, asr_raw))
    }

    /// Downloads and installs the profile the SM-DP+ at `address` holds for `matching_id`
    /// (an activation code's token, an SM-DS event's EventID, or empty for the default
    /// SM-DP+), sending the install notification afterwards.
    ///
    /// # Errors
    /// As [`Lpa::download`].
    pub fn download_at(
        &mut self,
        address: &str,
        matching_id: &str,
        confirmation_code: Option<&str>,
    ) -> Result<DownloadOutcome, Error> {
        match self.reach(address, matching_id, confirmation_code)? {
            Reached::Installed(o) => Ok(o),
            Reached::Events(_) => Err(Error::Protocol(format!(
                "{address} answered as an SM-DS (event entries), not as an SM-DP+"
            ))),
        }
    }

    /// Downloads and installs the profile an SM-DS event record points to: at its RSP server
    /// address with its EventID as matchingId. When that address is an alternative SM-DS's
    /// (an event the root SM-DS holds for a cascade, SGP.22 §3.6), the LPA asks that SM-DS
    /// next (ES11, the EventID as matchingId: the alternative answers only that event's
    /// record) and downloads from the SM-DP+ its record names. Cascades are one level (the
    /// alternative SM-DS registers at the root only): a record of the alternative SM-DS
    /// that names an SM-DS again is refused.
    ///
    /// # Errors
    /// As [`Lpa::download`]; [`Error::Protocol`] when the alternative SM-DS holds no record
    /// of the EventID or names another SM-DS.
    pub fn download_event(
        &mut self,
        event: &EventEntry,
        confirmation_code: Option<&str>,
    ) -> Result<DownloadOutcome, Error> {
        let reached = self.reach(
            &event.rsp_server_address,
            &event.event_id,
            confirmation_code,
        )?;
        let entries = match reached {
            Reached::Installed(o) => return Ok(o),
            Reached::Events(entries) => entries,
        };
        let next = entries
            .into_iter()
            .find(|e| e.event_id == event.event_id)
            .ok_or_else(|| {
                Error::Protocol(format!(
                    "the SM-DS {} holds no event {}",
                    event.rsp_server_address, event.event_id
                ))
            })?;
        match self.reach(&next.rsp_server_address, &next.event_id, confirmation_code)? {
            Reached::Installed(o) => Ok(o),
            Reached::Events(_) => Err(Error::Protocol(format!(
                "the alternative SM-DS {} points to another SM-DS, {} (one level of cascade only)",
                event.rsp_server_address, next.rsp_server_address
            ))),
        }
    }

    /// The common mutual authentication with the server at `address`, then, if it is an
    /// SM-DP+, the download; if it is an SM-DS, its event records.
    fn reach(
        &mut self,
        address: &str,
        matching_id: &str,
        confirmation_code: Option<&str>,
    ) -> Result<Reached, Error> {
        let address = address.to_owned();
        let (tid, asr_raw) = self.authenticate(&address, Some(matching_id.to_owned()))?;

        // 4. ES9+ AuthenticateClient.
        let body = json::to_json(&json::AuthenticateClientRequest {
            transaction_id: tid.clone(),
            authenticate_server_response: b64asn1(&asr_raw)?,
        })
        .map_err(|e| Error::Asn1(e.to_string()))?;
        let answer: AuthenticateClientAnswer = match post_json(
            &mut self.es9,
            &address,
            Es9Function::AuthenticateClient,
            &body,
            |r: &AuthenticateClientAnswer| &r.dp.header,
        ) {
            Ok(r) => r,
            Err(e) => {
                self.cancel(&address, &tid, CancelSessionReason::UNDEFINED_REASON);
                return Err(e);
            }
        };
        if let Some(entries) = answer.event_entries {
            // An SM-DS (ES11 has no CancelSession).
            return Ok(Reached::Events(entries));
        }
        let ac_resp = answer.dp;
        let meta = ac_resp
            .profile_metadata
            .as_ref()
            .ok_or_else(|| missing("profileMetadata"))?
            .value()
            .clone();
        let ss2 = ac_resp
            .smdp_signed2
            .as_ref()
            .ok_or_else(|| missing("smdpSigned2"))?;
        let sig2 = ac_resp
            .smdp_signature2
            .as_ref()
            .ok_or_else(|| missing("smdpSignature2"))?;
        let dppb = ac_resp
            .smdp_certificate
            .as_ref()
            .ok_or_else(|| missing("smdpCertificate"))?;

        // 5. ES10b PrepareDownload (hashed confirmation code if asked).
        let hash_cc = if ss2.value().cc_required_flag {
            let Some(cc) = confirmation_code else {
                self.cancel(&address, &tid, CancelSessionReason::END_USER_REJECTION);
                return Err(Error::ConfirmationCodeRequired);
            };
            Some(hash_confirmation_code(cc, tid.as_bytes()))
        } else {
            None
        };
        let mut body = ss2.raw().to_vec();
        body.extend(as_tlv(&sig2.0, 0x5F37));
        if let Some(h) = &hash_cc {
            body.extend(tlv::tlv(0x04, h));
        }
        body.extend_from_slice(&dppb.0);
        let pdr_raw = self
            .es10
            .transceive(&tlv::tlv(0xBF21, &body), "PrepareDownload")?;
        let pdr: PrepareDownloadResponse =
            from_ber(&pdr_raw).map_err(|e| Error::Asn1(e.to_string()))?;
        if let PrepareDownloadResponse::DownloadResponseError(e) = &pdr {
            return Err(Error::Euicc {
                function: "PrepareDownload",
                code: e.download_error_code.0,
            });
        }

        // 6. ES9+ GetBoundProfilePackage.
        let body = json::to_json(&json::GetBoundProfilePackageRequest {
            transaction_id: tid.clone(),
            prepare_download_response: b64asn1(&pdr_raw)?,
        })
        .map_err(|e| Error::Asn1(e.to_string()))?;
        let gbpp: GetBoundProfilePackageResponse = match post_json(
            &mut self.es9,
            &address,
            Es9Function::GetBoundProfilePackage,
            &body,
            |r: &GetBoundProfilePackageResponse| &r.header,
        ) {
            Ok(r) => r,
            Err(e) => {
                self.cancel(&address, &tid, CancelSessionReason::UNDEFINED_REASON);
                return Err(e);
            }
        };
        let bpp: &Asn1B64<_> = gbpp
            .bound_profile_package
            .as_ref()
            .ok_or_else(|| missing("boundProfilePackage"))?;
        let pieces = match simforge_crypto::segment_bpp(bpp.raw()) {
            Ok(p) => p,
            Err(e) => {
                self.cancel(
                    &address,
                    &tid,
                    CancelSessionReason::LOAD_BPP_EXECUTION_ERROR,
                );
                return Err(Error::Protocol(format!("malformed BPP: {e}")));
            }
        };

        // 7. ES10b LoadBoundProfilePackage, piece by piece, until a ProfileInstallationResult.
        let mut pir_raw = None;
        for piece in &pieces {
            let r = self.es10.transceive(piece, "LoadBoundProfilePackage")?;
            if !r.is_empty() {
                pir_raw = Some(r);
                break;
            }
        }
        let Some(pir_raw) = pir_raw else {
            return Err(Error::Protocol(
                "the eUICC gave no ProfileInstallationResult".into(),
            ));
        };
        let pir: ProfileInstallationResult =
            from_ber(&pir_raw).map_err(|e| Error::Asn1(e.to_string()))?;

        // 8. ES9+ HandleNotification with the PIR, then remove it from the eUICC.
        let seq = pir
            .profile_installation_result_data
            .notification_metadata
            .seq_number;
        let notification_sent = handle_notification(&mut self.es9, &address, &pir_raw).is_ok();
        if notification_sent {
            self.es10.remove_notification(seq)?;
        }
        match pir.profile_installation_result_data.final_result {
            FinalResult::SuccessResult(ok) => Ok(Reached::Installed(DownloadOutcome {
                iccid: simforge_asn1::Iccid::bcd_digits(&meta.iccid.0),
                isdp_aid: hex::encode_upper(ok.aid.0.as_ref()),
                service_provider_name: meta.service_provider_name,
                profile_name: meta.profile_name,
                transaction_id: tid.to_string(),
                notification_sent,
            })),
            FinalResult::ErrorResult(e) => Err(Error::Install {
                bpp_command_id: e.bpp_command_id.0,
                error_reason: e.error_reason.0,
            }),
            FinalResult::Unknown(_) => Err(Error::Protocol("unknown finalResult".into())),
        }
    }
}

fn b64asn1<T: simforge_asn1::rasn::Decode + simforge_asn1::rasn::Encode>(
    raw: &[u8],
) -> Result<Asn1B64<T>, Error> {
    Asn1B64::from_bytes(raw.to_vec()).map_err(|e| Error::Asn1(e.to_string()))
}
