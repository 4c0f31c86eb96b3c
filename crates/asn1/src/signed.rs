//! The signed parts of SGP.22 messages, as raw bytes.
//!
//! Signatures (SGP.22 §5.5, §5.6, §5.7) cover a data object exactly as it was
//! encoded (tag, length and value). Verify them over the bytes the peer sent,
//! which these functions cut out of the received message without re-encoding
//! (so BER quirks and unknown extension fields are covered as received).

use crate::Error;
use crate::codec::Tlv;

/// Walks `path`: at each step expects the current TLV to carry `tag`, then
/// (except after the last step) descends into child `index` of its value.
fn walk<'a>(bytes: &'a [u8], path: &[(&[u8], usize)], what: &str) -> Result<&'a [u8], Error> {
    let (mut tlv, _) = Tlv::parse(bytes)?;
    for (step, (tag, index)) in path.iter().enumerate() {
        if tlv.tag != *tag {
            return Err(Error::Tlv(format!(
                "{what}: expected tag {} at step {step}, found {}",
                hex::encode_upper(tag),
                hex::encode_upper(tlv.tag)
            )));
        }
        let children = Tlv::parse_all(tlv.value)?;
        tlv = *children
            .get(*index)
            .ok_or_else(|| Error::Tlv(format!("{what}: missing element {index} at step {step}")))?;
    }
    Ok(tlv.raw)
}

fn expect_tag<'a>(raw: &'a [u8], tag: &[u8], what: &str) -> Result<&'a [u8], Error> {
    let (tlv, _) = Tlv::parse(raw)?;
    if tlv.tag == tag {
        Ok(raw)
    } else {
        Err(Error::Tlv(format!(
            "{what}: expected tag {}, found {}",
            hex::encode_upper(tag),
            hex::encode_upper(tlv.tag)
        )))
    }
}

/// `serverSigned1` (`30`) of an AuthenticateServerRequest (`BF38`), signed by DPauth.
///
/// # Errors
/// [`Error::Tlv`] if the message does not have that shape.
pub fn server_signed1(authenticate_server_request: &[u8]) -> Result<&[u8], Error> {
    let raw = walk(
        authenticate_server_request,
        &[(&[0xBF, 0x38], 0)],
        "serverSigned1",
    )?;
    expect_tag(raw, &[0x30], "serverSigned1")
}

/// `euiccSigned1` (`30`) of an AuthenticateServerResponse (`BF38` / `A0`), signed by the eUICC.
///
/// # Errors
/// [`Error::Tlv`] if the message is not an authenticateResponseOk.
pub fn euicc_signed1(authenticate_server_response: &[u8]) -> Result<&[u8], Error> {
    let raw = walk(
        authenticate_server_response,
        &[(&[0xBF, 0x38], 0), (&[0xA0], 0)],
        "euiccSigned1",
    )?;
    expect_tag(raw, &[0x30], "euiccSigned1")
}

/// `smdpSigned2` (`30`) of a PrepareDownloadRequest (`BF21`), signed by DPpb.
///
/// # Errors
/// [`Error::Tlv`] if the message does not have that shape.
pub fn smdp_signed2(prepare_download_request: &[u8]) -> Result<&[u8], Error> {
    let raw = walk(
        prepare_download_request,
        &[(&[0xBF, 0x21], 0)],
        "smdpSigned2",
    )?;
    expect_tag(raw, &[0x30], "smdpSigned2")
}

/// `euiccSigned2` (`30`) of a PrepareDownloadResponse (`BF21` / `A0`).
///
/// # Errors
/// [`Error::Tlv`] if the message is not a downloadResponseOk.
pub fn euicc_signed2(prepare_download_response: &[u8]) -> Result<&[u8], Error> {
    let raw = walk(
        prepare_download_response,
        &[(&[0xBF, 0x21], 0), (&[0xA0], 0)],
        "euiccSigned2",
    )?;
    expect_tag(raw, &[0x30], "euiccSigned2")
}

/// `profileInstallationResultData` (`BF27`) of a ProfileInstallationResult (`BF37`).
///
/// # Errors
/// [`Error::Tlv`] if the message does not have that shape.
pub fn profile_installation_result_data(
    profile_installation_result: &[u8],
) -> Result<&[u8], Error> {
    let raw = walk(
        profile_installation_result,
        &[(&[0xBF, 0x37], 0)],
        "profileInstallationResultData",
    )?;
    expect_tag(raw, &[0xBF, 0x27], "profileInstallationResultData")
}

/// `tbsOtherNotification` (`BF2F`) of an OtherSignedNotification (`30`).
///
/// # Errors
/// [`Error::Tlv`] if the message does not have that shape.
pub fn tbs_other_notification(other_signed_notification: &[u8]) -> Result<&[u8], Error> {
    let raw = walk(
        other_signed_notification,
        &[(&[0x30], 0)],
        "tbsOtherNotification",
    )?;
    expect_tag(raw, &[0xBF, 0x2F], "tbsOtherNotification")
}

/// `euiccCancelSessionSigned` (`30`) of a CancelSessionResponse (`BF41` / `A0`).
///
/// # Errors
/// [`Error::Tlv`] if the message is not a cancelSessionResponseOk.
pub fn euicc_cancel_session_signed(cancel_session_response: &[u8]) -> Result<&[u8], Error> {
    let raw = walk(
        cancel_session_response,
        &[(&[0xBF, 0x41], 0), (&[0xA0], 0)],
        "euiccCancelSessionSigned",
    )?;
    expect_tag(raw, &[0x30], "euiccCancelSessionSigned")
}
