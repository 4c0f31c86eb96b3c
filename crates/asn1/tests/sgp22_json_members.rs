//! SGP.22 JSON member names, optionality and encodings (§6.5.1.3/4 headers, §6.5.2.1–5 ES2+,
//! §6.5.2.6–10 ES9+, §6.5.2.11 ES11), checked against the fixture table of
//! `simforge_testkit::sgp22` (literal strings written from the specification, not our serde
//! types):
//!
//! - golden request texts, written from the specification and as deployed peers send them,
//!   are accepted by the types the SM-DP+ parses requests with;
//! - golden response texts are accepted by the types the LPA parses responses with, and
//!   every member arrives (a misspelt member would silently be `None`);
//! - what our serialisers write, request and response, has exactly SGP.22's member names;
//! - identifiers in every form SGP.22 allows, normalised to one canonical form.

#![allow(clippy::unwrap_used)]

use simforge_testkit::sgp22;

use simforge_asn1::json::{self, Asn1B64, B64Bytes};
use simforge_asn1::status::{FunctionExecutionStatus, ResponseHeader};
use simforge_asn1::{Eid, Iccid, MatchingId, StatusCode, TransactionId, rsp};

// Base64 values (standard, padded) of hand-written DER, one per data object; the tags are
// those of SGP.22 §5.7 / §2.5.
const EUICC_CHALLENGE: &str = "AQIDBAUGBwgJCgsMDQ4PEA==";
/// `BF20`: svn 2.2.0, the SGP.26 NIST CI key id for verification and signing.
const EUICC_INFO1: &str =
    "vyA1ggMCAgCpFgQU9UFyvfmKldZcvriKOKHBHYAKhcOqFgQU9UFyvfmKldZcvriKOKHBHYAKhcM=";
/// `30`: ServerSigned1 for transactionId 0123456789ABCDEF0123456789ABCDEF.
const SERVER_SIGNED1: &str = "MEiAEAEjRWeJq83vASNFZ4mrze+BEAECAwQFBgcICQoLDA0ODxCDEHNtZHAuZXhhbXBsZS5jb22EECEiIyQlJicoKSorLC0uLzA=";
/// `5F37 40` ‖ 64 octets.
const SERVER_SIGNATURE1: &str =
    "XzdAEREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREQ==";
/// `04 14` ‖ the CI key id.
const PKID: &str = "BBT1QXK9+YqV1ly+uIo4ocEdgAqFww==";
/// A certificate is carried as base64 of its DER (`30 …`); only the tag matters here.
const CERT: &str = "MAMCAQE=";
/// `BF38` AuthenticateResponseError.
const ASR: &str = "vzgXoRWAEAEjRWeJq83vASNFZ4mrze8CAQE=";
/// `BF21` DownloadResponseError.
const PDR: &str = "vyEXoRWAEAEjRWeJq83vASNFZ4mrze8CAQE=";
/// `BF41` cancelSessionResponseError 5.
const CSR: &str = "v0EDAgEF";
/// `BF37` ProfileInstallationResult (success) for ICCID 8949449999999990023.
const PIR: &str = "vzeBnb8nV4AQASNFZ4mrze8BI0VniavN778vJYABAYECB4AMEHNtZHAuZXhhbXBsZS5jb21aCpiURJmZmZkJIPOiG6AZTxCgAAAFWRAQ/////4kAABEABAUwA4ABAF83QCIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=";
/// `BF25` StoreMetadataRequest.
const METADATA: &str = "vyUvWgqYlESZmZmZCSDzkRBFeGFtcGxlIE9wZXJhdG9ykg9FeGFtcGxlIFByb2ZpbGU=";
/// `30` SmdpSigned2, ccRequiredFlag false.
const SMDP_SIGNED2: &str = "MBWAEAEjRWeJq83vASNFZ4mrze8BAQA=";
const SMDP_SIGNATURE2: &str =
    "XzdAMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMw==";
/// `BF36` BoundProfilePackage.
const BPP: &str = "vzaCASa/I4G2ggEBgBABI0VniavN7wEjRWeJq83vphiAAYiBARCEEAABAgMEBQYHCAkKCwwNDg9fSUEERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERF83QFVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVWgIocgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAChEogQAAAAAAAAAAAAAAAAAAAAAKMyhjAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const TID: &str = "0123456789ABCDEF0123456789ABCDEF";
const EID: &str = "89049032123451234512345678901235";
const OK: &str = r#"{"functionExecutionStatus":{"status":"Executed-Success"}}"#;
const ES2_HEADER: &str =
    r#"{"functionRequesterIdentifier":"1.3.6.1.4.1.12748.2.1","functionCallIdentifier":"TX-567"}"#;

fn fill(t: &str) -> String {
    t.replace("$EUICC_CHALLENGE", EUICC_CHALLENGE)
        .replace("$EUICC_INFO1", EUICC_INFO1)
        .replace("$SERVER_SIGNED1", SERVER_SIGNED1)
        .replace("$SERVER_SIGNATURE1", SERVER_SIGNATURE1)
        .replace("$PKID", PKID)
        .replace("$CERT", CERT)
        .replace("$ASR", ASR)
        .replace("$PDR", PDR)
        .replace("$CSR", CSR)
        .replace("$PIR", PIR)
        .replace("$METADATA", METADATA)
        .replace("$SMDP_SIGNED2", SMDP_SIGNED2)
        .replace("$SMDP_SIGNATURE2", SMDP_SIGNATURE2)
        .replace("$BPP", BPP)
        .replace("$TID_LOWER", &TID.to_ascii_lowercase())
        .replace("$TID", TID)
        .replace("$EID", EID)
        .replace("$OK", OK)
        .replace("$ES2_HEADER", ES2_HEADER)
}

// ------------------------------------------------------------- golden requests (server in)

/// §6.5.2.6, as LPAs send it.
const IA_REQ: &str = r#"{"euiccChallenge":"$EUICC_CHALLENGE","euiccInfo1":"$EUICC_INFO1","smdpAddress":"smdp.example.com"}"#;
/// §6.5.2.6 as osmo-ttcn3-hacks sends it: with an ES2+-style `header`, which SGP.22 does not
/// define for ES9+ (ignored).
const IA_REQ_TTCN3: &str = r#"{"header":{"functionRequesterIdentifier":"TTCN3","functionCallIdentifier":"testsuite"},"euiccChallenge":"$EUICC_CHALLENGE","euiccInfo1":"$EUICC_INFO1","smdpAddress":"smdp.example.com"}"#;
/// §6.5.2.7 with a lower-case transactionId (euicc-go reads either case; hex is hex).
const AC_REQ_LOWER: &str = r#"{"transactionId":"$TID_LOWER","authenticateServerResponse":"$ASR"}"#;
/// §6.5.2.8.
const GBPP_REQ: &str = r#"{"transactionId":"$TID","prepareDownloadResponse":"$PDR"}"#;
/// §6.5.2.9.
const HN_REQ: &str = r#"{"pendingNotification":"$PIR"}"#;
/// §6.5.2.10.
const CS_REQ: &str = r#"{"transactionId":"$TID","cancelSessionResponse":"$CSR"}"#;
/// §6.5.2.1 by profile type, and by ICCID padded with `F` (pySim).
const DO_REQ_TYPE: &str = r#"{"header":$ES2_HEADER,"eid":"$EID","profileType":"Test"}"#;
const DO_REQ_ICCID_F: &str = r#"{"header":$ES2_HEADER,"iccid":"8949449999999990023F"}"#;
/// §6.5.2.2, every member.
const CO_REQ: &str = r#"{"header":$ES2_HEADER,"iccid":"8949449999999990023f","eid":"$EID","matchingId":"ABCDE-12345","confirmationCode":"1234","smdsAddress":"smds.example.com","releaseFlag":true}"#;
/// §6.5.2.2 as two deployed clients spell it: `comfirmationCode` (Truphone), `smdpAddress`
/// for the SM-DS (ostelco).
const CO_REQ_DEPLOYED: &str = r#"{"header":$ES2_HEADER,"iccid":"89494499999999900231","comfirmationCode":"1234","smdpAddress":"smds.example.com","releaseFlag":false}"#;
/// §6.5.2.3.
const CAN_REQ: &str = r#"{"header":$ES2_HEADER,"iccid":"8949449999999990023F","eid":"$EID","matchingId":"ABCDE-12345","finalProfileStatusIndicator":"Unavailable"}"#;
/// §6.5.2.4.
const RP_REQ: &str = r#"{"header":$ES2_HEADER,"iccid":"8949449999999990023F"}"#;
/// §6.5.2.5 (the operator's side of our callback).
const HDPI_REQ: &str = r#"{"header":$ES2_HEADER,"eid":"$EID","iccid":"8949449999999990023","profileType":"Test","timestamp":"2026-11-27T12:00:00Z","notificationPointId":4,"notificationPointStatus":{"status":"Executed-Success"},"resultData":"$PIR"}"#;

/// Golden request → the SGP.22 table accepts it (the fixture is right) and so does our
/// parser (`parse`), which returns the value for further checks.
fn golden_request<T: serde::de::DeserializeOwned>(
    f: &sgp22::Function,
    text: &str,
    table_too: bool,
) -> T {
    let text = fill(text);
    if table_too {
        sgp22::check(f.section, f.request, text.as_bytes());
    }
    json::from_json(text.as_bytes())
        .unwrap_or_else(|e| panic!("§{} request refused: {e}\n  {text}", f.section))
}

#[test]
fn golden_es9_requests_are_accepted() {
    let ia: json::InitiateAuthenticationRequest =
        golden_request(&sgp22::INITIATE_AUTHENTICATION, IA_REQ, true);
    assert_eq!(ia.smdp_address, "smdp.example.com");
    assert_eq!(ia.euicc_challenge.0.len(), 16);
    let _: json::InitiateAuthenticationRequest =
        golden_request(&sgp22::INITIATE_AUTHENTICATION, IA_REQ_TTCN3, false);
    let ac: json::AuthenticateClientRequest =
        golden_request(&sgp22::AUTHENTICATE_CLIENT, AC_REQ_LOWER, false);
    // Either case names the same transaction; it is answered in upper case.
    assert_eq!(ac.transaction_id, TransactionId::parse_hex(TID).unwrap());
    assert_eq!(ac.transaction_id.to_string(), TID);
    let _: json::GetBoundProfilePackageRequest =
        golden_request(&sgp22::GET_BOUND_PROFILE_PACKAGE, GBPP_REQ, true);
    let hn: json::HandleNotificationRequest =
        golden_request(&sgp22::HANDLE_NOTIFICATION, HN_REQ, true);
    assert!(matches!(
        hn.pending_notification.value(),
        rsp::PendingNotification::ProfileInstallationResult(_)
    ));
    let _: json::CancelSessionRequest = golden_request(&sgp22::CANCEL_SESSION, CS_REQ, true);
}

#[test]
fn golden_es2_requests_are_accepted() {
    let d: json::DownloadOrderRequest = golden_request(&sgp22::DOWNLOAD_ORDER, DO_REQ_TYPE, true);
    assert_eq!(d.eid, Some(Eid::parse(EID).unwrap()));
    assert_eq!(d.profile_type.as_deref(), Some("Test"));
    let d: json::DownloadOrderRequest =
        golden_request(&sgp22::DOWNLOAD_ORDER, DO_REQ_ICCID_F, true);
    assert_eq!(
        Iccid::parse(d.iccid.as_deref().unwrap()).unwrap().as_str(),
        "8949449999999990023"
    );
    let c: json::ConfirmOrderRequest = golden_request(&sgp22::CONFIRM_ORDER, CO_REQ, true);
    assert_eq!(c.confirmation_code.as_deref(), Some("1234"));
    assert_eq!(c.smds_address.as_deref(), Some("smds.example.com"));
    assert_eq!(
        c.matching_id,
        Some(MatchingId::parse("ABCDE-12345").unwrap())
    );
    assert!(c.release_flag);
    assert_eq!(
        Iccid::parse(&c.iccid).unwrap(),
        Iccid::parse("8949449999999990023").unwrap()
    );
    // Deployed misspellings: read, never written.
    let c: json::ConfirmOrderRequest =
        golden_request(&sgp22::CONFIRM_ORDER, CO_REQ_DEPLOYED, false);
    assert_eq!(c.confirmation_code.as_deref(), Some("1234"));
    assert_eq!(c.smds_address.as_deref(), Some("smds.example.com"));
    let out = json::to_json(&c).unwrap();
    sgp22::check(
        "§6.5.2.2 request re-written",
        sgp22::CONFIRM_ORDER.request,
        &out,
    );
    let c: json::CancelOrderRequest = golden_request(&sgp22::CANCEL_ORDER, CAN_REQ, true);
    assert_eq!(
        c.final_profile_status_indicator,
        json::FinalProfileStatus::Unavailable
    );
    let _: json::ReleaseProfileRequest = golden_request(&sgp22::RELEASE_PROFILE, RP_REQ, true);
    let h: json::HandleDownloadProgressInfoRequest =
        golden_request(&sgp22::HANDLE_DOWNLOAD_PROGRESS_INFO, HDPI_REQ, true);
    assert_eq!(h.notification_point_id, 4);
    assert!(h.result_data.is_some());
}

// ------------------------------------------------------------- golden responses (LPA in)

/// §6.5.2.6 written from the specification, as an independent SM-DP+ (osmo-smdpp) sends it.
const IA_RESP: &str = r#"{"header":$OK,"transactionId":"$TID","serverSigned1":"$SERVER_SIGNED1","serverSignature1":"$SERVER_SIGNATURE1","euiccCiPKIdToBeUsed":"$PKID","serverCertificate":"$CERT"}"#;
/// §6.5.2.7.
const AC_RESP: &str = r#"{"header":$OK,"transactionId":"$TID","profileMetadata":"$METADATA","smdpSigned2":"$SMDP_SIGNED2","smdpSignature2":"$SMDP_SIGNATURE2","smdpCertificate":"$CERT"}"#;
/// §6.5.2.8.
const GBPP_RESP: &str = r#"{"header":$OK,"transactionId":"$TID","boundProfilePackage":"$BPP"}"#;
/// §6.5.2.10, as osmo-smdpp answers it: with a `transactionId` SGP.22 does not define there.
const CS_RESP_SMDPP: &str = r#"{"header":$OK,"transactionId":"$TID"}"#;
/// §6.5.2.11 (SM-DS).
const ES11_AC_RESP: &str = r#"{"header":$OK,"transactionId":"$TID","eventEntries":[{"eventId":"EVT-1","rspServerAddress":"smdp.example.com"}]}"#;
/// §6.5.1.4: a failure, with every member of statusCodeData.
const FAILED_RESP: &str = r#"{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.1.1","reasonCode":"3.8","subjectIdentifier":"89049032123451234512345678901235","message":"EID refused"}}}}"#;
/// §6.5.2.1 / §6.5.2.2 responses.
const DO_RESP: &str = r#"{"header":$OK,"iccid":"8949449999999990023"}"#;
const CO_RESP: &str =
    r#"{"header":$OK,"eid":"$EID","matchingId":"ABCDE-12345","smdpAddress":"smdp.example.com"}"#;

fn golden_response<T: serde::de::DeserializeOwned>(
    section: &str,
    members: &[sgp22::Member],
    text: &str,
) -> T {
    let text = fill(text);
    sgp22::check(section, members, text.as_bytes());
    json::from_json(text.as_bytes())
        .unwrap_or_else(|e| panic!("§{section} response refused: {e}\n  {text}"))
}

#[test]
fn golden_es9_responses_are_read_member_by_member() {
    let ia: json::InitiateAuthenticationResponse = golden_response(
        "6.5.2.6",
        sgp22::INITIATE_AUTHENTICATION.response.unwrap(),
        IA_RESP,
    );
    assert!(ia.header.function_execution_status.is_executed());
    assert_eq!(ia.transaction_id.unwrap().to_string(), TID);
    assert_eq!(
        ia.server_signed1.unwrap().value().server_address,
        "smdp.example.com"
    );
    assert_eq!(ia.server_signature1.unwrap().0.len(), 67);
    // The member the LPA refused before: SGP.22 spells it `euiccCiPKIdToBeUsed`.
    assert_eq!(ia.euicc_ci_pk_id_to_be_used.unwrap().0.len(), 22);
    assert!(ia.server_certificate.is_some());

    let ac: json::AuthenticateClientResponse = golden_response(
        "6.5.2.7",
        sgp22::AUTHENTICATE_CLIENT.response.unwrap(),
        AC_RESP,
    );
    assert_eq!(ac.transaction_id.unwrap().to_string(), TID);
    assert_eq!(
        ac.profile_metadata.unwrap().value().service_provider_name,
        "Example Operator"
    );
    assert!(!ac.smdp_signed2.unwrap().value().cc_required_flag);
    assert_eq!(ac.smdp_signature2.unwrap().0.len(), 67);
    assert!(ac.smdp_certificate.is_some());

    let g: json::GetBoundProfilePackageResponse = golden_response(
        "6.5.2.8",
        sgp22::GET_BOUND_PROFILE_PACKAGE.response.unwrap(),
        GBPP_RESP,
    );
    assert_eq!(
        g.bound_profile_package.unwrap().value().sequence_of86.len(),
        1
    );

    // osmo-smdpp's cancelSession answer has a member SGP.22 does not define: still read.
    let text = fill(CS_RESP_SMDPP);
    let c: json::CancelSessionResponse = json::from_json(text.as_bytes()).unwrap();
    assert!(c.header.function_execution_status.is_executed());

    let e: json::Es11AuthenticateClientResponse = golden_response(
        "6.5.2.11",
        sgp22::ES11_AUTHENTICATE_CLIENT.response.unwrap(),
        ES11_AC_RESP,
    );
    let entries = e.event_entries;
    assert_eq!(entries[0].event_id, "EVT-1");
    assert_eq!(entries[0].rsp_server_address, "smdp.example.com");

    let f: json::HeaderOnlyResponse =
        golden_response("6.5.1.4", sgp22::FAILED_RESPONSE, FAILED_RESP);
    let data = f.header.function_execution_status.status_code_data.unwrap();
    assert_eq!(data.code().unwrap(), StatusCode::EID_REFUSED);
    assert_eq!(data.subject_identifier.as_deref(), Some(EID));
    assert_eq!(data.message.as_deref(), Some("EID refused"));
}

#[test]
fn golden_es2_responses_are_read() {
    let d: json::DownloadOrderResponse =
        golden_response("6.5.2.1", sgp22::DOWNLOAD_ORDER.response.unwrap(), DO_RESP);
    assert_eq!(d.iccid.as_deref(), Some("8949449999999990023"));
    let c: json::ConfirmOrderResponse =
        golden_response("6.5.2.2", sgp22::CONFIRM_ORDER.response.unwrap(), CO_RESP);
    assert_eq!(c.eid, Some(Eid::parse(EID).unwrap()));
    assert_eq!(c.matching_id.unwrap().as_str(), "ABCDE-12345");
    assert_eq!(c.smdp_address.as_deref(), Some("smdp.example.com"));
}

/// A misspelt response member was read as absent, silently; the spec's spelling fails
/// loudly in the table when a member is missing or unknown.
#[test]
fn the_table_names_a_misspelt_or_missing_member() {
    let text = fill(IA_RESP).replace("euiccCiPKIdToBeUsed", "euiccCiPkIdToBeUsed");
    let p = sgp22::problems(
        sgp22::INITIATE_AUTHENTICATION.response.unwrap(),
        text.as_bytes(),
    );
    assert!(
        p.iter()
            .any(|p| p.contains("`euiccCiPkIdToBeUsed` is not one of")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| p.contains("euiccCiPKIdToBeUsed: mandatory member missing")),
        "{p:?}"
    );
    // simforge SM-DP+s before this fix sent that spelling: the LPA still reads it.
    let ia: json::InitiateAuthenticationResponse = json::from_json(text.as_bytes()).unwrap();
    assert!(ia.euicc_ci_pk_id_to_be_used.is_some());
}

// ------------------------------------------------------------- our serialisers (out)

fn raw<T: simforge_asn1::rasn::Decode + simforge_asn1::rasn::Encode>(b64: &str) -> Asn1B64<T> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    Asn1B64::from_bytes(bytes).unwrap()
}

fn bytes(b64: &str) -> B64Bytes {
    use base64::Engine as _;
    B64Bytes(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
}

fn tid() -> TransactionId {
    TransactionId::parse_hex(TID).unwrap()
}

fn es2_header() -> json::RequestHeader {
    json::RequestHeader {
        function_requester_identifier: "op".into(),
        function_call_identifier: "1".into(),
    }
}

#[test]
fn our_es9_responses_have_exactly_the_spec_members() {
    let out = |v: &dyn erased::Ser| v.json();
    let ia = json::InitiateAuthenticationResponse {
        header: ResponseHeader::success(),
        transaction_id: Some(tid()),
        server_signed1: Some(raw(SERVER_SIGNED1)),
        server_signature1: Some(bytes(SERVER_SIGNATURE1)),
        euicc_ci_pk_id_to_be_used: Some(bytes(PKID)),
        server_certificate: Some(bytes(CERT)),
    };
    sgp22::check(
        "§6.5.2.6 response",
        sgp22::INITIATE_AUTHENTICATION.response.unwrap(),
        &out(&ia),
    );
    let ac = json::AuthenticateClientResponse {
        header: ResponseHeader::success(),
        transaction_id: Some(tid()),
        profile_metadata: Some(raw(METADATA)),
        smdp_signed2: Some(raw(SMDP_SIGNED2)),
        smdp_signature2: Some(bytes(SMDP_SIGNATURE2)),
        smdp_certificate: Some(bytes(CERT)),
    };
    sgp22::check(
        "§6.5.2.7 response",
        sgp22::AUTHENTICATE_CLIENT.response.unwrap(),
        &out(&ac),
    );
    let g = json::GetBoundProfilePackageResponse {
        header: ResponseHeader::success(),
        transaction_id: Some(tid()),
        bound_profile_package: Some(raw(BPP)),
    };
    sgp22::check(
        "§6.5.2.8 response",
        sgp22::GET_BOUND_PROFILE_PACKAGE.response.unwrap(),
        &out(&g),
    );
    let c = json::CancelSessionResponse {
        header: ResponseHeader::success(),
    };
    sgp22::check(
        "§6.5.2.10 response",
        sgp22::CANCEL_SESSION.response.unwrap(),
        &out(&c),
    );
    let f = json::HeaderOnlyResponse {
        header: ResponseHeader::failed(&StatusCode::EID_REFUSED, Some("no".into())),
    };
    sgp22::check("§6.5.1.4 failure", sgp22::FAILED_RESPONSE, &out(&f));
    let e = json::Es11AuthenticateClientResponse {
        header: ResponseHeader::success(),
        transaction_id: Some(tid()),
        event_entries: vec![json::EventEntry {
            event_id: "E1".into(),
            rsp_server_address: "smdp.example.com".into(),
        }],
    };
    sgp22::check(
        "§6.5.2.11 response",
        sgp22::ES11_AUTHENTICATE_CLIENT.response.unwrap(),
        &out(&e),
    );
}

#[test]
fn our_es9_requests_have_exactly_the_spec_members() {
    let out = |v: &dyn erased::Ser| v.json();
    let ia = json::InitiateAuthenticationRequest {
        euicc_challenge: bytes(EUICC_CHALLENGE),
        euicc_info1: raw(EUICC_INFO1),
        smdp_address: "smdp.example.com".into(),
    };
    sgp22::check(
        "§6.5.2.6 request",
        sgp22::INITIATE_AUTHENTICATION.request,
        &out(&ia),
    );
    let ac = json::AuthenticateClientRequest {
        transaction_id: tid(),
        authenticate_server_response: raw(ASR),
    };
    sgp22::check(
        "§6.5.2.7 request",
        sgp22::AUTHENTICATE_CLIENT.request,
        &out(&ac),
    );
    let g = json::GetBoundProfilePackageRequest {
        transaction_id: tid(),
        prepare_download_response: raw(PDR),
    };
    sgp22::check(
        "§6.5.2.8 request",
        sgp22::GET_BOUND_PROFILE_PACKAGE.request,
        &out(&g),
    );
    let h = json::HandleNotificationRequest {
        pending_notification: raw(PIR),
    };
    sgp22::check(
        "§6.5.2.9 request",
        sgp22::HANDLE_NOTIFICATION.request,
        &out(&h),
    );
    let c = json::CancelSessionRequest {
        transaction_id: tid(),
        cancel_session_response: raw(CSR),
    };
    sgp22::check("§6.5.2.10 request", sgp22::CANCEL_SESSION.request, &out(&c));
}

#[test]
fn our_es2_messages_have_exactly_the_spec_members() {
    let out = |v: &dyn erased::Ser| v.json();
    let eid = Eid::parse(EID).unwrap();
    let d = json::DownloadOrderRequest {
        header: es2_header(),
        eid: Some(eid),
        iccid: Some("8949449999999990023".into()),
        profile_type: Some("Test".into()),
    };
    sgp22::check("§6.5.2.1 request", sgp22::DOWNLOAD_ORDER.request, &out(&d));
    let d = json::DownloadOrderResponse {
        header: ResponseHeader::success(),
        iccid: Some("8949449999999990023".into()),
    };
    sgp22::check(
        "§6.5.2.1 response",
        sgp22::DOWNLOAD_ORDER.response.unwrap(),
        &out(&d),
    );
    let c = json::ConfirmOrderRequest {
        header: es2_header(),
        iccid: "8949449999999990023".into(),
        eid: Some(eid),
        matching_id: Some(MatchingId::parse("ABCDE-12345").unwrap()),
        confirmation_code: Some("1234".into()),
        smds_address: Some("smds.example.com".into()),
        release_flag: true,
    };
    sgp22::check("§6.5.2.2 request", sgp22::CONFIRM_ORDER.request, &out(&c));
    let c = json::ConfirmOrderResponse {
        header: ResponseHeader::success(),
        eid: Some(eid),
        matching_id: Some(MatchingId::parse("ABCDE-12345").unwrap()),
        smdp_address: Some("smdp.example.com".into()),
    };
    sgp22::check(
        "§6.5.2.2 response",
        sgp22::CONFIRM_ORDER.response.unwrap(),
        &out(&c),
    );
    let c = json::CancelOrderRequest {
        header: es2_header(),
        iccid: "8949449999999990023".into(),
        eid: Some(eid),
        matching_id: None,
        final_profile_status_indicator: json::FinalProfileStatus::Available,
    };
    sgp22::check("§6.5.2.3 request", sgp22::CANCEL_ORDER.request, &out(&c));
    let r = json::ReleaseProfileRequest {
        header: es2_header(),
        iccid: "8949449999999990023".into(),
    };
    sgp22::check("§6.5.2.4 request", sgp22::RELEASE_PROFILE.request, &out(&r));
    let h = json::HandleDownloadProgressInfoRequest {
        header: es2_header(),
        eid: Some(eid),
        iccid: "8949449999999990023".into(),
        profile_type: "Test".into(),
        timestamp: "2026-11-27T12:00:00Z".into(),
        notification_point_id: 4,
        notification_point_status: FunctionExecutionStatus::success(),
        result_data: Some(raw(PIR)),
    };
    sgp22::check(
        "§6.5.2.5 request",
        sgp22::HANDLE_DOWNLOAD_PROGRESS_INFO.request,
        &out(&h),
    );
}

/// Serialises any of the message types (a `dyn`-friendly `to_json`).
mod erased {
    pub trait Ser {
        fn json(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> Vec<u8> {
            simforge_asn1::json::to_json(self).unwrap()
        }
    }
}

// ------------------------------------------------------------- identifiers

fn check_iccid(input: &str, expect: Option<&str>) {
    let got = Iccid::parse(input);
    match expect {
        Some(digits) => {
            let i = got.unwrap_or_else(|e| panic!("{input:?} refused: {e}"));
            assert_eq!(i.as_str(), digits, "{input:?}");
            assert_eq!(i.to_string(), digits);
            let v: Iccid = serde_json::from_str(&format!("\"{input}\"")).unwrap();
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{digits}\""));
        }
        None => {
            let e = got.expect_err(input);
            assert!(matches!(e, simforge_asn1::Error::InvalidIccid(_)), "{e}");
        }
    }
}

/// ES2+ `iccid` (SGP.22 §6.5.2.1–5): 19 or 20 digits, 19 digits padded with `F`.
#[test]
fn iccid_in_every_allowed_form() {
    for (input, expect) in [
        ("8949449999999990023", Some("8949449999999990023")),
        ("89494499999999900231", Some("89494499999999900231")),
        ("8949449999999990023F", Some("8949449999999990023")),
        ("8949449999999990023f", Some("8949449999999990023")),
        ("894944999999999002", Some("894944999999999002")),
        ("894944999999999002F", None),
        ("894944999999999002FF", None),
        ("8949449999999990023FF", None),
        ("89494499999999900231F", None),
        ("F949449999999990023", None),
        ("894944999999999002E", None),
        ("8949449999999990023 ", None),
        ("89494499999999900", None),
        ("", None),
    ] {
        check_iccid(input, expect);
    }
}

/// EID: 32 decimal digits; transactionId: hex of either case, written in upper case.
#[test]
fn eid_and_transaction_id_forms() {
    assert_eq!(Eid::parse(EID).unwrap().as_str(), EID);
    for bad in [
        "8904903212345123451234567890123",
        "89049032123451234512345678901236",
        "8904903212345123451234567890123A",
    ] {
        assert!(Eid::parse(bad).is_err(), "{bad}");
    }
    for form in [
        TID,
        &TID.to_ascii_lowercase(),
        "0123456789abcdefABCDEF0123456789",
    ] {
        let t = TransactionId::parse_hex(form).unwrap();
        assert_eq!(t.to_string(), form.to_ascii_uppercase());
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            format!("\"{}\"", form.to_ascii_uppercase())
        );
    }
    assert_eq!(
        TransactionId::parse_hex("abcd").unwrap(),
        TransactionId::parse_hex("ABCD").unwrap()
    );
    for bad in ["", "ABC", "0G", &"00".repeat(17)] {
        assert!(TransactionId::parse_hex(bad).is_err(), "{bad:?}");
    }
}

/// The typed ES9+/ES2+ functions name exactly the paths of SGP.22's function definitions
/// (the fixture table), and every path of the table is one of them.
#[test]
fn typed_functions_have_the_specifications_paths() {
    use simforge_asn1::json::{ES9_FUNCTIONS, Es2Function, Es9Function};
    let es9 = [
        sgp22::INITIATE_AUTHENTICATION,
        sgp22::AUTHENTICATE_CLIENT,
        sgp22::GET_BOUND_PROFILE_PACKAGE,
        sgp22::HANDLE_NOTIFICATION,
        sgp22::CANCEL_SESSION,
    ];
    let typed: Vec<String> = Es9Function::ALL.iter().map(|f| f.path()).collect();
    let spec: Vec<&str> = es9.iter().map(|f| f.path).collect();
    assert_eq!(typed, spec);
    assert_eq!(
        Es9Function::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>(),
        ES9_FUNCTIONS
    );
    let es2 = [
        sgp22::DOWNLOAD_ORDER,
        sgp22::CONFIRM_ORDER,
        sgp22::CANCEL_ORDER,
        sgp22::RELEASE_PROFILE,
        sgp22::HANDLE_DOWNLOAD_PROGRESS_INFO,
    ];
    let typed: Vec<String> = Es2Function::ALL.iter().map(|f| f.path()).collect();
    let spec: Vec<&str> = es2.iter().map(|f| f.path).collect();
    assert_eq!(typed, spec);
    for f in Es9Function::ALL {
        assert_eq!(Es9Function::from_name(f.name()), Some(*f));
        assert_eq!(Es9Function::from_name(&f.name().to_uppercase()), None);
    }
    assert_eq!(Es2Function::from_name("getBoundProfilePackage"), None);
}
