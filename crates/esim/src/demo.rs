//! `serve --demo`: the demo operator's profiles imported from a SIM factory batch (made by
//! the caller when [`needs_batch`] says so), an ES2+ API key, and one profile ordered and
//! released with the ES2+ logic, as an operator would over HTTPS ([`setup`]).

use std::path::{Path, PathBuf};

use rand_core::TryCryptoRng;
use serde::Serialize;
use simforge_asn1::ActivationCode;
use simforge_asn1::json::{ConfirmOrderRequest, DownloadOrderRequest, RequestHeader};
use simforge_smdp::{Smdp, SmdpStore};
use simforge_store::{Operator, Store};
use zeroize::Zeroizing;

use crate::credentials::{self, NewApiKey};
use crate::error::{Error, Result};
use crate::inventory::{self, ImportOptions};

/// Whether the demo needs a new batch: `operator` has no Available profile.
///
/// # Errors
/// [`Error::Smdp`] (storage).
pub async fn needs_batch(store: &Store, operator: &Operator) -> Result<bool> {
    Ok(inventory::available(store, operator).await? == 0)
}

/// A batch imported by [`setup`].
#[derive(Debug, Clone)]
pub struct ImportedBatch {
    /// The batch id.
    pub id: i64,
    /// Its directory.
    pub dir: PathBuf,
    /// The ICCIDs added.
    pub added: Vec<simforge_asn1::Iccid>,
}

/// What [`setup`] did.
#[derive(Debug)]
pub struct DemoSetup {
    /// The batch imported, if one was given.
    pub batch: Option<ImportedBatch>,
    /// A new API key, if the operator had no active one.
    pub api_key: Option<NewApiKey>,
    /// The profile released.
    pub released: Released,
}

impl DemoSetup {
    /// What to show of it: `qr_png`, where the caller wrote the activation code's QR code, and
    /// the project's commands that download the profile into a virtual eUICC of the lab PKI
    /// `euicc_pki`, trusting the TLS chain `ca`.
    #[must_use]
    pub fn info(&self, operator: &str, qr_png: PathBuf, ca: &Path, euicc_pki: &Path) -> DemoInfo {
        let r = &self.released;
        let activation_code = r.activation_code.to_qr_text();
        let lpa_command = format!(
            "simforge euicc init --pki {pki} --file euicc.json && simforge lpa --euicc euicc.json --ca {ca} download '{activation_code}'",
            pki = euicc_pki.display(),
            ca = ca.display()
        );
        DemoInfo {
            operator: operator.to_owned(),
            api_key: self.api_key.as_ref().map(|k| k.key.as_str().to_owned()),
            batch_dir: self.batch.as_ref().map(|b| b.dir.clone()),
            iccid: r.iccid.clone(),
            matching_id: r.matching_id.clone(),
            activation_code,
            qr_png,
            ca: ca.to_owned(),
            euicc_pki: euicc_pki.to_owned(),
            lpa_command,
        }
    }
}

/// What the demo set up, as a front door shows it (JSON: camelCase).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoInfo {
    /// The operator.
    pub operator: String,
    /// Its new ES2+ API key, if one was made.
    pub api_key: Option<String>,
    /// The batch imported, if one was.
    pub batch_dir: Option<PathBuf>,
    /// The released profile's ICCID.
    pub iccid: String,
    /// Its order's matchingId.
    pub matching_id: String,
    /// The activation code (`LPA:1$…`).
    pub activation_code: String,
    /// Its QR code (PNG).
    pub qr_png: PathBuf,
    /// The TLS chain LPAs trust.
    pub ca: PathBuf,
    /// The lab PKI the demo's eUICC is made from.
    pub euicc_pki: PathBuf,
    /// The commands that download the profile with the project's LPA.
    pub lpa_command: String,
}

/// The demo's SM-DP+ side for `operator`: `batch` (id and directory, when the caller made
/// one) imported as profiles of type [`DEMO_PROFILE_TYPE`] (`template` personalized, or
/// built) notifying this SM-DP+; an API key unless it has one; one profile released.
///
/// # Errors
/// As [`inventory::import_batch_dir`], [`credentials::ensure_api_key`], [`release_one`].
pub async fn setup<R: TryCryptoRng + ?Sized>(
    smdp: &crate::platform::PlatformSmdp,
    operator: &Operator,
    batch: Option<(i64, PathBuf)>,
    template: Option<Zeroizing<Vec<u8>>>,
    rng: &mut R,
    now: i64,
) -> Result<DemoSetup> {
    let store = smdp.store();
    let batch = match batch {
        Some((id, dir)) => {
            let opts = ImportOptions {
                template,
                notification_address: Some(smdp.config().address()),
                ..ImportOptions::of_type(DEMO_PROFILE_TYPE)
            };
            let added = inventory::import_batch_dir(
                store,
                (store.inner(), &simforge_audit::Actor::system()),
                smdp.vault(),
                operator,
                &dir,
                &opts,
                now,
            )
            .await?;
            Some(ImportedBatch { id, dir, added })
        }
        None => None,
    };
    let api_key =
        credentials::ensure_api_key(store, &simforge_audit::Actor::system(), operator, rng, now)
            .await?;
    let released = release_one(smdp, operator, DEMO_PROFILE_TYPE, now).await?;
    Ok(DemoSetup {
        batch,
        api_key,
        released,
    })
}

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
    let oid = smdp.smdp_oid();
    let activation_code = ActivationCode::new(
        &smdp.config().address(),
        Some(matching_id.clone()),
        Some(&oid),
        false,
    )?;
    Ok(Released {
        iccid,
        matching_id: matching_id.as_str().to_owned(),
        activation_code,
    })
}
