//! JSON bindings: ES9+ and ES11 (SGP.22 §6.5) and ES2+ (SGP.22 §5.3, §6.5).
//!
//! ASN.1 fields travel as standard base64 (with padding) of their DER/BER
//! encoding. [`Asn1B64<T>`] decodes base64 and then the ASN.1 in one step
//! and keeps the received bytes, so signatures can be checked over exactly
//! what the peer sent. Parse bodies with [`from_json`]: a malformed body
//! gives [`Error::Json`] naming the field, never a panic.

/// The ES9+ functions (SGP.22 §6.5.2), in the order of a download: the last path segment of
/// `/gsma/rsp2/es9plus/<function>`. The same names as [`Es9Function::name`].
pub const ES9_FUNCTIONS: [&str; 5] = [
    "initiateAuthentication",
    "authenticateClient",
    "getBoundProfilePackage",
    "handleNotification",
    "cancelSession",
];

macro_rules! functions {
    ($(#[$doc:meta])* $ty:ident, $base:literal, $($(#[$m:meta])* $v:ident = $name:literal,)*) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $ty {
            $($(#[$m])* $v,)*
        }

        impl $ty {
            /// Every function, in the order of the specification's list.
            pub const ALL: &'static [Self] = &[$(Self::$v,)*];

            /// The function's name as SGP.22 spells it: the last segment of its path.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(Self::$v => $name,)* }
            }

            /// The function named by a path's last segment (exact, case-sensitive).
            #[must_use]
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$v),)* _ => None }
            }

            /// The function's path (`/gsma/rsp2/…/<name>`).
            #[must_use]
            pub fn path(self) -> String {
                format!("{}{}", $base, self.name())
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

functions!(
    /// An ES9+ function (SGP.22 §6.5.2.6–10), served at `/gsma/rsp2/es9plus/<name>`.
    Es9Function, "/gsma/rsp2/es9plus/",
    /// `initiateAuthentication` (§6.5.2.6).
    InitiateAuthentication = "initiateAuthentication",
    /// `authenticateClient` (§6.5.2.7).
    AuthenticateClient = "authenticateClient",
    /// `getBoundProfilePackage` (§6.5.2.8).
    GetBoundProfilePackage = "getBoundProfilePackage",
    /// `handleNotification` (§6.5.2.9).
    HandleNotification = "handleNotification",
    /// `cancelSession` (§6.5.2.10).
    CancelSession = "cancelSession",
);

functions!(
    /// An ES2+ function (SGP.22 §6.5.2.1–5), served at `/gsma/rsp2/es2plus/<name>`. The
    /// SM-DP+ calls the operator's `handleDownloadProgressInfo`; it does not serve it.
    Es2Function, "/gsma/rsp2/es2plus/",
    /// `downloadOrder` (§6.5.2.1).
    DownloadOrder = "downloadOrder",
    /// `confirmOrder` (§6.5.2.2).
    ConfirmOrder = "confirmOrder",
    /// `cancelOrder` (§6.5.2.3).
    CancelOrder = "cancelOrder",
    /// `releaseProfile` (§6.5.2.4).
    ReleaseProfile = "releaseProfile",
    /// `handleDownloadProgressInfo` (§6.5.2.5), the operator's function.
    HandleDownloadProgressInfo = "handleDownloadProgressInfo",
);

functions!(
    /// An ES11 function (LPA → SM-DS, SGP.22 §5.8), served at `/gsma/rsp2/es11/<name>` (the
    /// Eastcompeace SDK's path) and at the ES9+ path of the same name (lpac, euicc-go, G+D).
    Es11Function, "/gsma/rsp2/es11/",
    /// `initiateAuthentication` (§5.8.1).
    InitiateAuthentication = "initiateAuthentication",
    /// `authenticateClient` (§5.8.2).
    AuthenticateClient = "authenticateClient",
);

impl Es11Function {
    /// The ES9+ path that deployed LPAs post this function to.
    #[must_use]
    pub fn es9_path(self) -> String {
        format!("/gsma/rsp2/es9plus/{}", self.name())
    }
}

functions!(
    /// An ES12 function (SM-DP+ → SM-DS), served at `/gsma/rsp2/es12/<name>`.
    Es12Function, "/gsma/rsp2/es12/",
    /// `registerEvent`.
    RegisterEvent = "registerEvent",
    /// `deleteEvent`.
    DeleteEvent = "deleteEvent",
);

impl Es12Function {
    /// The ES15 path of the same function (alternative SM-DS → root SM-DS, the same request
    /// members): `/gsma/rsp2/es15/<name>`, by the bindings' `/gsma/rsp2/<interface>/<name>`
    /// pattern (no public ES15 client was found to confirm it).
    #[must_use]
    pub fn es15_path(self) -> String {
        format!("/gsma/rsp2/es15/{}", self.name())
    }
}

use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rasn::{Decode, Encode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[cfg(doc)]
use crate::ids::Iccid;
use crate::ids::{Eid, MatchingId, TransactionId};
use crate::rsp;
use crate::status::{FunctionExecutionStatus, ResponseHeader};
use crate::{Error, from_ber, to_der};

/// Parses a JSON body; errors name the offending field (`$` for the body).
///
/// # Errors
/// [`Error::Json`] on malformed JSON, a missing field, bad base64, or bad ASN.1 inside.
pub fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            "$".to_owned()
        } else {
            path
        };
        Error::Json {
            field,
            reason: e.into_inner().to_string(),
        }
    })
}

/// Serialises a JSON body.
///
/// # Errors
/// [`Error::Json`] if serialisation fails (it does not for the types of this module).
pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Json {
        field: "$".into(),
        reason: e.to_string(),
    })
}

/// Raw bytes carried as standard base64 (signatures, certificates, challenges).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct B64Bytes(pub Vec<u8>);

impl fmt::Debug for B64Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "B64Bytes({})", hex::encode_upper(&self.0))
    }
}

impl Serialize for B64Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map(Self)
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

/// An ASN.1 value carried as standard base64 of its encoding.
///
/// Holds both the decoded value and the exact bytes (as received, or the
/// DER encoding when built with [`Asn1B64::new`]); serialisation writes the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Asn1B64<T> {
    value: T,
    raw: Vec<u8>,
}

impl<T: Encode + Decode> Asn1B64<T> {
    /// DER-encodes `value`.
    ///
    /// # Errors
    /// [`Error::Encode`] if rasn refuses the value.
    pub fn new(value: T) -> Result<Self, Error> {
        let raw = to_der(&value)?;
        Ok(Self { value, raw })
    }

    /// Decodes BER bytes (keeping them).
    ///
    /// # Errors
    /// [`Error::Decode`] on malformed input.
    pub fn from_bytes(raw: Vec<u8>) -> Result<Self, Error> {
        let value = from_ber(&raw)?;
        Ok(Self { value, raw })
    }
}

impl<T> Asn1B64<T> {
    /// The decoded value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The encoded bytes, exactly as received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The decoded value, dropping the bytes.
    pub fn into_value(self) -> T {
        self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Asn1B64<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T> Serialize for Asn1B64<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.raw))
    }
}

impl<'de, T: Decode> Deserialize<'de> for Asn1B64<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T: Decode> serde::de::Visitor<'_> for V<T> {
            type Value = Asn1B64<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string holding a BER/DER encoded value")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
                let raw = STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| E::custom(format!("invalid base64: {e}")))?;
                let value = from_ber::<T>(&raw).map_err(E::custom)?;
                Ok(Asn1B64 { value, raw })
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

// ------------------------------------------------------------------- ES9+

/// ES9+.InitiateAuthentication request (SGP.22 §6.5.2.6), also ES11.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateAuthenticationRequest {
    /// `euiccChallenge`: 16 random octets.
    pub euicc_challenge: B64Bytes,
    /// `euiccInfo1` (`BF20`).
    pub euicc_info1: Asn1B64<rsp::EuiccInfo1>,
    /// `smdpAddress`: as in the activation code, including any `:port`. At an SM-DS (ES11)
    /// the SM-DS's address: lpac, euicc-go and the G+D IPA send it as `smdpAddress`, the
    /// Eastcompeace SDK as `smdsAddress`; both are read.
    #[serde(alias = "smdsAddress")]
    pub smdp_address: String,
}

/// ES9+.InitiateAuthentication response (SGP.22 §6.5.2.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateAuthenticationResponse {
    /// `header`.
    pub header: ResponseHeader,
    /// `transactionId` (hex); absent on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TransactionId>,
    /// `serverSigned1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_signed1: Option<Asn1B64<rsp::ServerSigned1>>,
    /// `serverSignature1` (the `5F37` TLV or its value, as the SM-DP+ sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_signature1: Option<B64Bytes>,
    /// `euiccCiPKIdToBeUsed` (the `04` TLV). Spelled as SGP.22 spells it (`PKId`, not the
    /// `PkId` that `camelCase` would make of the field name); the `PkId` spelling that simforge
    /// SM-DP+s before 2026-12 sent is still read.
    #[serde(
        rename = "euiccCiPKIdToBeUsed",
        alias = "euiccCiPkIdToBeUsed",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub euicc_ci_pk_id_to_be_used: Option<B64Bytes>,
    /// `serverCertificate`: CERT.DPauth.ECDSA, DER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_certificate: Option<B64Bytes>,
}

/// ES9+.AuthenticateClient request (SGP.22 §6.5.2.7), also ES11.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateClientRequest {
    /// `transactionId` (hex).
    pub transaction_id: TransactionId,
    /// `authenticateServerResponse` (`BF38`) from ES10b.AuthenticateServer.
    pub authenticate_server_response: Asn1B64<rsp::AuthenticateServerResponse>,
}

/// ES9+.AuthenticateClient response (SGP.22 §6.5.2.7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateClientResponse {
    /// `header`.
    pub header: ResponseHeader,
    /// `transactionId` (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TransactionId>,
    /// `profileMetadata` (`BF25` StoreMetadataRequest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_metadata: Option<Asn1B64<rsp::StoreMetadataRequest>>,
    /// `smdpSigned2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smdp_signed2: Option<Asn1B64<rsp::SmdpSigned2>>,
    /// `smdpSignature2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smdp_signature2: Option<B64Bytes>,
    /// `smdpCertificate`: CERT.DPpb.ECDSA, DER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smdp_certificate: Option<B64Bytes>,
}

/// ES9+.GetBoundProfilePackage request (SGP.22 §6.5.2.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetBoundProfilePackageRequest {
    /// `transactionId` (hex).
    pub transaction_id: TransactionId,
    /// `prepareDownloadResponse` (`BF21`) from ES10b.PrepareDownload.
    pub prepare_download_response: Asn1B64<rsp::PrepareDownloadResponse>,
}

/// ES9+.GetBoundProfilePackage response (SGP.22 §6.5.2.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetBoundProfilePackageResponse {
    /// `header`.
    pub header: ResponseHeader,
    /// `transactionId` (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TransactionId>,
    /// `boundProfilePackage` (`BF36`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_profile_package: Option<Asn1B64<rsp::BoundProfilePackage>>,
}

/// ES9+.HandleNotification request (SGP.22 §6.5.2.9); answered with HTTP 204.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandleNotificationRequest {
    /// `pendingNotification` (`BF37` or `30`).
    pub pending_notification: Asn1B64<rsp::PendingNotification>,
}

/// ES9+.CancelSession request (SGP.22 §6.5.2.10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelSessionRequest {
    /// `transactionId` (hex).
    pub transaction_id: TransactionId,
    /// `cancelSessionResponse` (`BF41`) from ES10b.CancelSession.
    pub cancel_session_response: Asn1B64<rsp::CancelSessionResponse>,
}

/// A response carrying only the header: ES9+.CancelSession, ES2+ CancelOrder,
/// ReleaseProfile and HandleDownloadProgressInfo, and any failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderOnlyResponse {
    /// `header`.
    pub header: ResponseHeader,
}

/// ES9+.CancelSession response.
pub type CancelSessionResponse = HeaderOnlyResponse;

// -------------------------------------------------------------------- ES11

/// One SM-DS event record of an ES11.AuthenticateClient response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEntry {
    /// `eventId`.
    pub event_id: String,
    /// `rspServerAddress`.
    pub rsp_server_address: String,
}

/// ES11.AuthenticateClient response (SGP.22 §6.5.2.11, SM-DS event retrieval). A failure
/// is a [`HeaderOnlyResponse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Es11AuthenticateClientResponse {
    /// `header`.
    pub header: ResponseHeader,
    /// `transactionId` (hex; read by euicc-go and the Eastcompeace SDK, ignored by lpac).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TransactionId>,
    /// `eventEntries`: always sent, `[]` when the EID has no event (lpac fails unless it is an
    /// array); read as empty when absent.
    #[serde(default)]
    pub event_entries: Vec<EventEntry>,
}

// -------------------------------------------------------------------- ES12

/// ES12.RegisterEvent request (SM-DP+ or alternative SM-DS → SM-DS), ES2+-style header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterEventRequest {
    /// `header`.
    pub header: RequestHeader,
    /// `eid`: 32 digits.
    pub eid: Eid,
    /// `rspServerAddress`: the SM-DP+ (or alternative SM-DS) FQDN the LPA is to contact.
    pub rsp_server_address: String,
    /// `eventId`: the EventID (the LPA sends it back as matchingId).
    pub event_id: String,
    /// `forwardingIndicator`: whether an alternative SM-DS is to cascade the event to the
    /// root SM-DS (ES15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding_indicator: Option<bool>,
}

/// ES12.DeleteEvent request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteEventRequest {
    /// `header`.
    pub header: RequestHeader,
    /// `eid`: 32 digits.
    pub eid: Eid,
    /// `eventId`.
    pub event_id: String,
}

// -------------------------------------------------------------------- ES2+

/// `header` of every ES2+ request (SGP.22 §6.5.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestHeader {
    /// `functionRequesterIdentifier`: who calls (the operator).
    pub function_requester_identifier: String,
    /// `functionCallIdentifier`: unique per call, for idempotence and logs.
    pub function_call_identifier: String,
}

/// ES2+.DownloadOrder request (SGP.22 §5.3.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadOrderRequest {
    /// `header`.
    pub header: RequestHeader,
    /// `eid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eid: Option<Eid>,
    /// `iccid`: a specific profile, as sent (parse it with [`Iccid::parse`]: 19 or 20
    /// digits, or 19 digits and `F`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    /// `profileType`: any available profile of this type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_type: Option<String>,
}

/// ES2+.DownloadOrder response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadOrderResponse {
    /// `header`.
    pub header: ResponseHeader,
    /// `iccid` of the allocated profile, in the canonical form (digits, no `F`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
}

/// ES2+.ConfirmOrder request (SGP.22 §5.3.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmOrderRequest {
    /// `header`.
    pub header: RequestHeader,
    /// `iccid`, as sent (parse it with [`Iccid::parse`]).
    pub iccid: String,
    /// `eid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eid: Option<Eid>,
    /// `matchingId`: chosen by the operator, or generated by the SM-DP+ when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_id: Option<MatchingId>,
    /// `confirmationCode`. Also read as `comfirmationCode`, the spelling of a deployed
    /// client (Truphone's connector): ignoring it would release the profile without the code.
    #[serde(
        alias = "comfirmationCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub confirmation_code: Option<String>,
    /// `smdsAddress`: register an event at this SM-DS. Also read as `smdpAddress`, which the
    /// ostelco ES2+ client sends in its place.
    #[serde(
        alias = "smdpAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub smds_address: Option<String>,
    /// `releaseFlag`: release immediately.
    pub release_flag: bool,
}

/// ES2+.ConfirmOrder response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmOrderResponse {
    /// `header`.
    pub header: ResponseHeader,
    /// `eid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eid: Option<Eid>,
    /// `matchingId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_id: Option<MatchingId>,
    /// `smdpAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smdp_address: Option<String>,
}

/// `finalProfileStatusIndicator` of ES2+.CancelOrder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FinalProfileStatus {
    /// The profile can be used again.
    Available,
    /// The profile must not be used again.
    Unavailable,
}

/// ES2+.CancelOrder request (SGP.22 §5.3.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelOrderRequest {
    /// `header`.
    pub header: RequestHeader,
    /// `iccid`, as sent (parse it with [`Iccid::parse`]).
    pub iccid: String,
    /// `eid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eid: Option<Eid>,
    /// `matchingId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_id: Option<MatchingId>,
    /// `finalProfileStatusIndicator`.
    pub final_profile_status_indicator: FinalProfileStatus,
}

/// ES2+.ReleaseProfile request (SGP.22 §5.3.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseProfileRequest {
    /// `header`.
    pub header: RequestHeader,
    /// `iccid`, as sent (parse it with [`Iccid::parse`]).
    pub iccid: String,
}

/// `notificationPointStatus` of ES2+.HandleDownloadProgressInfo.
pub type NotificationPointStatus = FunctionExecutionStatus;

/// ES2+.HandleDownloadProgressInfo request, SM-DP+ → operator (SGP.22 §5.3.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandleDownloadProgressInfoRequest {
    /// `header`.
    pub header: RequestHeader,
    /// `eid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eid: Option<Eid>,
    /// `iccid`: the SM-DP+ sends the canonical digits (no `F`), as it stores them.
    pub iccid: String,
    /// `profileType`.
    pub profile_type: String,
    /// `timestamp`: ISO 8601 UTC, e.g. `2026-11-27T12:00:00Z`.
    pub timestamp: String,
    /// `notificationPointId`: 1 eligibility, 2 confirmation failure, 3 BPP
    /// download, 4 BPP installation.
    pub notification_point_id: u32,
    /// `notificationPointStatus`.
    pub notification_point_status: NotificationPointStatus,
    /// `resultData`: the ProfileInstallationResult for point 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_data: Option<Asn1B64<rsp::ProfileInstallationResult>>,
}
