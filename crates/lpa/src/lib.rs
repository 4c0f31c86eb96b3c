//! # simforge-lpa — the Local Profile Assistant logic (SGP.22), sans-IO
//!
//! The LPA drives the eUICC over ES10 (as APDUs through a [`Card`]) and the SM-DP+ over ES9+
//! (JSON over HTTPS through an [`Es9Transport`]); both are traits, so the same logic runs
//! against a PC/SC reader, lpac's stdio protocol, or an in-process virtual eUICC, and against a
//! real SM-DP+ or a test responder. It knows neither the eUICC nor the SM-DP+ implementation:
//! they meet in `simforge-asn1` wire types and bytes.
//!
//! * [`Es10`]: STORE DATA chaining, `61xx` / GET RESPONSE, and every ES10a/b/c function.
//! * [`Lpa::download`]: the whole profile download of SGP.22 §3.1.3 from an activation code
//!   (with or without `LPA:`; with a confirmation code when the SM-DP+ asks for one),
//!   including the install notification; [`Lpa::download_at`] from an address and a
//!   matchingId (an SM-DS event's EventID).
//! * [`Lpa::discover`]: SM-DS event retrieval (ES11, posted to the ES9+ paths as lpac does).
//! * [`Lpa::process_notifications`]: sends pending notifications (ES9+.HandleNotification)
//!   and removes those delivered.
//! * [`Lpa::list_profiles`], [`Lpa::enable`], [`Lpa::disable`], [`Lpa::delete`],
//!   [`Lpa::list_notifications`], [`Lpa::chip_info`]: results as serde structs.

mod discover;
mod download;
mod es10;

pub use download::{DownloadOutcome, ES9_PATH, X_ADMIN_PROTOCOL, hash_confirmation_code};
pub use es10::{AID_ISD_R, Es10};

use serde::Serialize;
pub use simforge_asn1::json::Es9Function;
use simforge_asn1::rsp::{
    Iccid, IsdpAid, NotificationEvent, PendingNotification, ProfileClass, ProfileIdentifier,
    ProfileInfo, ProfileState, ResultCode,
};

/// Every error of the LPA.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The card transport failed.
    #[error("card: {0}")]
    Card(String),
    /// The card answered a status word other than `9000`.
    #[error("{command}: status word {sw:04X}")]
    Sw {
        /// The command.
        command: &'static str,
        /// The status word.
        sw: u16,
    },
    /// A message could not be encoded or decoded.
    #[error("ASN.1: {0}")]
    Asn1(String),
    /// The ES9+ transport failed.
    #[error("ES9+ transport: {0}")]
    Transport(String),
    /// The SM-DP+ answered with an unexpected HTTP status.
    #[error("ES9+ {function}: HTTP {status}")]
    Http {
        /// The ES9+ function.
        function: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// The SM-DP+ reported a failure (SGP.22 subject/reason code).
    #[error("ES9+ {function} failed: {subject_code} / {reason_code}{}", message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Es9Status {
        /// The ES9+ function.
        function: &'static str,
        /// subjectCode.
        subject_code: String,
        /// reasonCode.
        reason_code: String,
        /// message, if any.
        message: Option<String>,
    },
    /// The eUICC answered an ES10 function with an error code.
    #[error("eUICC {function} error {code}")]
    Euicc {
        /// The ES10 function.
        function: &'static str,
        /// The function's error code.
        code: i64,
    },
    /// The SM-DP+ requires a confirmation code and none was given.
    #[error("the SM-DP+ requires a confirmation code")]
    ConfirmationCodeRequired,
    /// The eUICC refused the BPP: ProfileInstallationResult errorResult.
    #[error("installation failed: bppCommandId {bpp_command_id}, errorReason {error_reason}")]
    Install {
        /// bppCommandId.
        bpp_command_id: i64,
        /// errorReason.
        error_reason: i64,
    },
    /// A peer broke the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
    /// Invalid input (activation code, ICCID, …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// Sends command APDUs to a card and returns the response APDUs (data ‖ SW1 SW2).
pub trait Card {
    /// Transmits one APDU.
    ///
    /// # Errors
    /// [`Error::Card`] if the transport fails.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error>;
}

impl<C: Card + ?Sized> Card for &mut C {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        (**self).transmit(apdu)
    }
}

/// Posts ES9+ requests: `https://{server_address}{ES9_PATH}{function}` with the JSON `body`,
/// `Content-Type: application/json;charset=UTF-8` and `X-Admin-Protocol` headers.
pub trait Es9Transport {
    /// Posts; returns the HTTP status and body.
    ///
    /// # Errors
    /// [`Error::Transport`] if no HTTP exchange took place.
    fn post(
        &mut self,
        server_address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), Error>;
}

impl<T: Es9Transport + ?Sized> Es9Transport for &mut T {
    fn post(&mut self, a: &str, f: Es9Function, b: &[u8]) -> Result<(u16, Vec<u8>), Error> {
        (**self).post(a, f, b)
    }
}

/// The LPA: ES10 to one eUICC, ES9+ to any SM-DP+.
pub struct Lpa<C: Card, T: Es9Transport> {
    /// The ES10 client.
    pub es10: Es10<C>,
    /// The ES9+ transport.
    pub es9: T,
    /// DeviceInfo sent in ctxParams1.
    pub device_info: simforge_asn1::rsp::DeviceInfo,
}

impl<C: Card, T: Es9Transport> core::fmt::Debug for Lpa<C, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lpa")
            .field("es10", &self.es10)
            .finish_non_exhaustive()
    }
}

/// A profile as listed (`lpa list`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProfileSummary {
    /// ICCID digits.
    pub iccid: String,
    /// ISD-P AID (hex).
    pub isdp_aid: String,
    /// "enabled" or "disabled".
    pub state: String,
    /// Nickname.
    pub nickname: Option<String>,
    /// Service provider name.
    pub service_provider_name: Option<String>,
    /// Profile name.
    pub profile_name: Option<String>,
    /// "test", "provisioning" or "operational".
    pub class: String,
}

/// A pending notification as listed (`lpa notifications`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotificationSummary {
    /// seqNumber.
    pub seq_number: i64,
    /// "install", "enable", "disable", "delete".
    pub operation: String,
    /// notificationAddress.
    pub address: String,
    /// ICCID digits.
    pub iccid: Option<String>,
}

/// What one notification delivery did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotificationDelivery {
    /// seqNumber.
    pub seq_number: i64,
    /// notificationAddress.
    pub address: String,
    /// Whether the SM-DP+ accepted it (and it was removed from the eUICC).
    pub delivered: bool,
    /// The error, if not.
    pub error: Option<String>,
}

/// Chip information (`lpa info`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChipInfo {
    /// EID.
    pub eid: String,
    /// SGP.22 version.
    pub svn: String,
    /// SAIP profile package version.
    pub profile_version: String,
    /// Firmware version.
    pub firmware_version: String,
    /// CI key identifiers (hex) for verification.
    pub ci_pkids: Vec<String>,
    /// Default SM-DP+ address.
    pub default_dp_address: Option<String>,
    /// Root SM-DS address.
    pub root_ds_address: String,
    /// Number of installed profiles.
    pub profiles: usize,
}

/// ICCID digits (18 to 20, or 19 and `F`) → the `5A` coding (10 octets, swapped BCD, `F` padded).
///
/// # Errors
/// [`Error::InvalidInput`] unless an ICCID ([`simforge_asn1::Iccid::parse`]).
pub fn iccid_bcd(digits: &str) -> Result<Iccid, Error> {
    simforge_asn1::Iccid::parse(digits)
        .map(|i| i.to_rsp())
        .map_err(|_| Error::InvalidInput(format!("ICCID '{digits}'")))
}

/// A profile identifier from ICCID digits or an ISD-P AID in hex (32 hex digits).
///
/// # Errors
/// [`Error::InvalidInput`] if it is neither.
pub fn profile_identifier(s: &str) -> Result<ProfileIdentifier, Error> {
    if s.len() == 32
        && let Ok(aid) = hex::decode(s)
    {
        return Ok(ProfileIdentifier::IsdpAid(IsdpAid(aid.into())));
    }
    Ok(ProfileIdentifier::Iccid(iccid_bcd(s)?))
}

fn operation_name(ev: &NotificationEvent) -> String {
    let names = ["install", "enable", "disable", "delete"];
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| ev.has(*i))
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

fn summary(p: &ProfileInfo) -> ProfileSummary {
    ProfileSummary {
        iccid: p
            .iccid
            .as_ref()
            .map(|i| simforge_asn1::Iccid::bcd_digits(&i.0))
            .unwrap_or_default(),
        isdp_aid: p
            .isdp_aid
            .as_ref()
            .map(|a| hex::encode_upper(a.0.as_ref()))
            .unwrap_or_default(),
        state: if p.profile_state == Some(ProfileState::ENABLED) {
            "enabled".into()
        } else {
            "disabled".into()
        },
        nickname: p.profile_nickname.clone(),
        service_provider_name: p.service_provider_name.clone(),
        profile_name: p.profile_name.clone(),
        class: match p.profile_class {
            ProfileClass::TEST => "test".into(),
            ProfileClass::PROVISIONING => "provisioning".into(),
            _ => "operational".into(),
        },
    }
}

fn result_ok(function: &'static str, r: ResultCode) -> Result<(), Error> {
    if r == ResultCode::OK {
        Ok(())
    } else {
        Err(Error::Euicc {
            function,
            code: r.0,
        })
    }
}

impl<C: Card, T: Es9Transport> Lpa<C, T> {
    /// An LPA over an opened [`Es10`] and an ES9+ transport, with a generic DeviceInfo.
    pub fn new(es10: Es10<C>, es9: T) -> Self {
        Self {
            es10,
            es9,
            device_info: download::default_device_info(),
        }
    }

    /// Lists the installed profiles.
    ///
    /// # Errors
    /// ES10 errors.
    pub fn list_profiles(&mut self) -> Result<Vec<ProfileSummary>, Error> {
        Ok(self
            .es10
            .list_profiles(None, None)?
            .iter()
            .map(summary)
            .collect())
    }

    /// Enables a profile (ICCID digits or ISD-P AID hex).
    ///
    /// # Errors
    /// ES10 errors; [`Error::Euicc`] with the enableResult if refused.
    pub fn enable(&mut self, id: &str) -> Result<(), Error> {
        let r = self.es10.enable_profile(profile_identifier(id)?, true)?;
        result_ok("EnableProfile", r)
    }

    /// Disables a profile.
    ///
    /// # Errors
    /// ES10 errors; [`Error::Euicc`] with the disableResult if refused.
    pub fn disable(&mut self, id: &str) -> Result<(), Error> {
        let r = self.es10.disable_profile(profile_identifier(id)?, true)?;
        result_ok("DisableProfile", r)
    }

    /// Deletes a profile.
    ///
    /// # Errors
    /// ES10 errors; [`Error::Euicc`] with the deleteResult if refused.
    pub fn delete(&mut self, id: &str) -> Result<(), Error> {
        let r = self.es10.delete_profile(profile_identifier(id)?)?;
        result_ok("DeleteProfile", r)
    }

    /// Sets a profile's nickname.
    ///
    /// # Errors
    /// ES10 errors; [`Error::Euicc`] if refused.
    pub fn set_nickname(&mut self, iccid: &str, nickname: &str) -> Result<(), Error> {
        let r = self.es10.set_nickname(iccid_bcd(iccid)?, nickname)?;
        result_ok("SetNickname", r)
    }

    /// Lists the pending notifications.
    ///
    /// # Errors
    /// ES10 errors.
    pub fn list_notifications(&mut self) -> Result<Vec<NotificationSummary>, Error> {
        Ok(self
            .es10
            .list_notifications(None)?
            .into_iter()
            .map(|m| NotificationSummary {
                seq_number: m.seq_number,
                operation: operation_name(&m.profile_management_operation),
                address: m.notification_address,
                iccid: m.iccid.map(|i| simforge_asn1::Iccid::bcd_digits(&i.0)),
            })
            .collect())
    }

    /// Sends every pending notification to its SM-DP+ (ES9+.HandleNotification) and removes
    /// those delivered from the eUICC.
    ///
    /// # Errors
    /// ES10 errors (ES9+ failures are reported per notification).
    pub fn process_notifications(&mut self) -> Result<Vec<NotificationDelivery>, Error> {
        let list = self.es10.retrieve_notifications(None)?;
        let mut out = Vec::new();
        for (raw, n) in list {
            let meta = match &n {
                PendingNotification::ProfileInstallationResult(p) => p
                    .profile_installation_result_data
                    .notification_metadata
                    .clone(),
                PendingNotification::OtherSignedNotification(o) => o.tbs_other_notification.clone(),
                PendingNotification::Unknown(_) => continue,
            };
            let result =
                download::handle_notification(&mut self.es9, &meta.notification_address, &raw);
            let delivered = result.is_ok();
            if delivered {
                self.es10.remove_notification(meta.seq_number)?;
            }
            out.push(NotificationDelivery {
                seq_number: meta.seq_number,
                address: meta.notification_address,
                delivered,
                error: result.err().map(|e| e.to_string()),
            });
        }
        Ok(out)
    }

    /// EID, versions, CI keys and addresses.
    ///
    /// # Errors
    /// ES10 errors.
    pub fn chip_info(&mut self) -> Result<ChipInfo, Error> {
        let eid = self.es10.get_eid()?;
        let info2 = self.es10.get_euicc_info2()?;
        let addr = self.es10.configured_addresses()?;
        let profiles = self.es10.list_profiles(None, Some(vec![0x5A]))?.len();
        Ok(ChipInfo {
            eid,
            svn: info2.svn.to_string(),
            profile_version: info2.profile_version.to_string(),
            firmware_version: info2.euicc_firmware_ver.to_string(),
            ci_pkids: info2
                .euicc_ci_pkid_list_for_verification
                .iter()
                .map(|p| hex::encode_upper(p.as_ref()))
                .collect(),
            default_dp_address: addr.default_dp_address,
            root_ds_address: addr.root_ds_address,
            profiles,
        })
    }
}
