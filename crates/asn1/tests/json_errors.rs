//! Malformed ES9+/ES2+ JSON gives an error naming the field, never a panic.

// Helpers and strategies outside #[test] functions unwrap too (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used)]

use simforge_asn1::json::{
    self, AuthenticateClientRequest, HeaderOnlyResponse, InitiateAuthenticationRequest,
};
use simforge_asn1::status::ExecutionStatus;
use simforge_asn1::{Error, StatusCode};

fn field_of(e: Error) -> String {
    match e {
        Error::Json { field, .. } => field,
        other => panic!("expected a JSON error, got {other}"),
    }
}

#[test]
fn bad_transaction_id_names_the_field() {
    let e = json::from_json::<AuthenticateClientRequest>(
        br#"{"transactionId":"XYZ","authenticateServerResponse":"vzgA"}"#,
    )
    .unwrap_err();
    assert_eq!(field_of(e), "transactionId");
}

#[test]
fn bad_base64_names_the_field() {
    let e = json::from_json::<AuthenticateClientRequest>(
        br#"{"transactionId":"0102","authenticateServerResponse":"not base64!"}"#,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert_eq!(field_of(e), "authenticateServerResponse", "{msg}");
    assert!(msg.contains("base64"), "{msg}");
}

#[test]
fn bad_asn1_inside_base64_names_the_field() {
    // "vyAFggMCAgA=" is BF20 05 82 03 020200: EUICCInfo1 without its mandatory CI key lists.
    let e = json::from_json::<InitiateAuthenticationRequest>(
        br#"{"euiccChallenge":"EREREREREREREREREREREQ==","euiccInfo1":"vyAFggMCAgA=","smdpAddress":"edge.example"}"#,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert_eq!(field_of(e), "euiccInfo1", "{msg}");
    assert!(msg.contains("EuiccInfo1"), "{msg}");
}

#[test]
fn missing_field_and_garbage() {
    let e = json::from_json::<AuthenticateClientRequest>(br#"{"transactionId":"01"}"#).unwrap_err();
    assert!(e.to_string().contains("authenticateServerResponse"), "{e}");
    let e = json::from_json::<AuthenticateClientRequest>(b"\xff\x00{").unwrap_err();
    assert!(matches!(e, Error::Json { .. }));
}

/// A failure header as LPAs receive it (SGP.22 §6.5.1.4 layout).
#[test]
fn failure_header_parses_to_status_code() {
    let body = br#"{"header":{"functionExecutionStatus":{"status":"Failed",
        "statusCodeData":{"subjectCode":"8.2.6","reasonCode":"3.8","message":"refused"}}}}"#;
    let r: HeaderOnlyResponse = json::from_json(body).unwrap();
    let st = r.header.function_execution_status;
    assert_eq!(st.status, ExecutionStatus::Failed);
    let code = st.status_code_data.unwrap().code().unwrap();
    assert_eq!(code, StatusCode::MATCHING_ID_REFUSED);
    assert_eq!(code.name(), Some("MATCHING_ID_REFUSED"));
    let e = json::from_json::<HeaderOnlyResponse>(
        br#"{"header":{"functionExecutionStatus":{"status":"Done"}}}"#,
    )
    .unwrap_err();
    assert_eq!(field_of(e), "header.functionExecutionStatus.status");
    assert!(StatusCode::parse("8.x", "1").is_err());
}

/// A BER (indefinite-length) value inside base64 decodes, and the received
/// bytes are kept for signature checks and re-sent unchanged.
#[test]
fn asn1_b64_keeps_received_ber_bytes() {
    use base64::Engine as _;
    let ber = hex::decode(
        "BF20808203020202A980041400000000000000000000000000000000000000000000AA8000000000",
    )
    .unwrap();
    let body = format!(
        r#"{{"euiccChallenge":"AAAAAAAAAAAAAAAAAAAAAA==","euiccInfo1":"{}","smdpAddress":"rsp.example.com:8443"}}"#,
        base64::engine::general_purpose::STANDARD.encode(&ber)
    );
    let r: InitiateAuthenticationRequest = json::from_json(body.as_bytes()).unwrap();
    assert_eq!(r.euicc_info1.raw(), ber.as_slice());
    assert_eq!(
        r.euicc_info1
            .value()
            .euicc_ci_pkid_list_for_verification
            .len(),
        1
    );
    assert!(
        r.euicc_info1
            .value()
            .euicc_ci_pkid_list_for_signing
            .is_empty()
    );
    assert_eq!(r.smdp_address, "rsp.example.com:8443");
    let again: InitiateAuthenticationRequest =
        json::from_json(&json::to_json(&r).unwrap()).unwrap();
    assert_eq!(again.euicc_info1.raw(), ber.as_slice());
}
