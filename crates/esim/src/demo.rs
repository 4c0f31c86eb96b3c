//! The `serve --demo` steps that are the SM-DP+'s: ordering and releasing one profile with
//! the ES2+ logic, as an operator would over HTTPS, and its activation code. (The operator,
//! its batch, the import and its API key are the other services' calls.)

use simforge_asn1::ActivationCode;
use simforge_asn1::json::{ConfirmOrderRequest, DownloadOrderRequest, RequestHeader};
use simforge_smdp::{Smdp, SmdpStore};
use simforge_store::Operator;

use crate::error::{Error, Result};

/// The profile type of the demo's profiles.
pub const DEMO_PROFILE_TYPE: &str = "demo";

/// A profile ordered and released.
#[derive(Debug, Clone)]
pub struct Released {
    /// Its ICCID.
    pub iccid: String,
    /// The matchingId of its order.
    pub matching_id: String,
    /// The activation code that downloads it.
    pub activation_code: ActivationCode,
}

/// Orders (DownloadOrder by `profile_type`) and confirms with release one of `operator`'s
/// profiles, as an operator would over ES2+; its activation code carries the SM-DP+ address
/// and OID.
///
/// # Errors
/// [`Error::DemoEs2`] (no profile available, …), [`Error::Unexpected`],
/// [`Error::ActivationCode`].
pub async fn release_one<S: SmdpStore>(
    smdp: &Smdp<S>,
    operator: &Operator,
    profile_type: &str,
    now: i64,
) -> Result<Released> {
    let header = |n: &str| RequestHeader {
        function_requester_identifier: operator.name.clone(),
        function_call_identifier: format!("serve-demo-{now}-{n}"),
    };
    let (order, _) = smdp
        .download_order(
            operator.id,
            &DownloadOrderRequest {
                header: header("1"),
                eid: None,
                iccid: None,
                profile_type: Some(profile_type.to_owned()),
            },
            now,
        )
        .await
        .map_err(Error::DemoEs2)?;
    let iccid = order
        .iccid
        .ok_or(Error::Unexpected("DownloadOrder returned no ICCID"))?;
    let (confirmed, _) = smdp
        .confirm_order(
            operator.id,
            &ConfirmOrderRequest {
                header: header("2"),
                iccid: iccid.clone(),
                eid: None,
                matching_id: None,
                confirmation_code: None,
                smds_address: None,
                release_flag: true,
            },
            now,
        )
        .await
        .map_err(Error::DemoEs2)?;
    let matching_id = confirmed
        .matching_id
        .ok_or(Error::Unexpected("ConfirmOrder returned no matchingId"))?;
    let activation_code = ActivationCode::new(
        &smdp.config().address(),
        Some(matching_id.clone()),
        Some(smdp.smdp_oid()),
        false,
    )?;
    Ok(Released {
        iccid,
        matching_id: matching_id.as_str().to_owned(),
        activation_code,
    })
}
