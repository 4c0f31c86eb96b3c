//! # simforge-euicc — a virtual GSMA SGP.22 eUICC
//!
//! A software eUICC that answers APDUs like a real one, with no I/O of its own:
//! [`Euicc::process`] takes one command APDU and returns the response APDU (data ‖ SW1 SW2).
//! Everything that must survive a restart is in [`EuiccState`] (serde), which the caller
//! persists whenever [`Euicc::take_dirty`] says it changed; randomness and time are injected
//! ([`simforge_crypto::Random`], [`simforge_crypto::Clock`]); the identity (EID, eUICC and EUM
//! certificates, eUICC private key, trusted CIs) comes from an [`EuiccIdentity`].
//!
//! What it implements:
//!
//! * **Transport** (ETSI TS 102 221 / ISO 7816-4 / GlobalPlatform): SELECT by AID (ISD-R,
//!   ECASD, the enabled profile's USIM ADF, by prefix) and by file identifier; MANAGE CHANNEL
//!   open/close with logical channels 1–3; STORE DATA chaining (`80|ch E2 11/91 blk`);
//!   responses over 256 bytes as `61xx` + GET RESPONSE (CLA `0X` or `8X`); a status word for
//!   every error.
//! * **ES10a/b/c** (SGP.22 §5.7): GetEUICCInfo1/2, GetEUICCChallenge, AuthenticateServer,
//!   PrepareDownload, LoadBoundProfilePackage (piece by piece, through
//!   [`simforge_crypto::BppLoader`]), CancelSession, ListProfileInfo (search criteria and tag
//!   list), Enable/Disable/DeleteProfile, ListNotification, RetrieveNotificationsList,
//!   RemoveNotificationFromList, GetEID, GetEuiccConfiguredAddresses, SetDefaultDpAddress,
//!   GetRAT, SetNickname, EuiccMemoryReset.
//! * **USIM** of the enabled profile (TS 31.102): SELECT / READ BINARY of the files the profile
//!   package defines (EF.ICCID, EF.IMSI, EF.AD, EF.SPN, EF.UST, …), STATUS, and AUTHENTICATE in
//!   the 3G context with MILENAGE, TUAK or the 3GPP test algorithm of TS.48 test profiles
//!   (TS 34.108 §8.1.2) ([`simforge_aka`]), with the SQN array check of
//!   TS 33.102 Annex C and the synchronisation-failure response (AUTS).
//!
//! Fail-closed: a BPP that fails any check ends the session with a signed
//! ProfileInstallationResult carrying the SGP.22 `bppCommandId` / `errorReason`, and nothing
//! of it is installed (the profile is only added to the state once the last segment has been
//! verified and the profile package decoded).
//!
//! The optional `transports` feature adds blocking adapters: [`transport::stdio`] (lpac's
//! `LPAC_APDU=stdio` JSON-lines protocol, card side) and [`transport::vpcd`] (a vsmartcard
//! vpcd client for pcscd).

mod apdu;
mod es10;
mod identity;
mod state;
mod usim;

#[cfg(feature = "transports")]
pub mod transport;

pub use apdu::{AID_ECASD, AID_ISD_R, ATR, sw};
pub use identity::EuiccIdentity;
pub use state::{
    EuiccState, InstalledProfile, STATE_VERSION, Secret, SqnState, StoredNotification, UsimFile,
    UsimState,
};

use simforge_crypto::{Clock, Random};

/// Every error this crate returns (APDU-level problems are answered with status words instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The identity configuration is unusable (bad certificate, key, EID).
    #[error("eUICC identity: {0}")]
    Identity(String),
    /// The persisted state is unusable.
    #[error("eUICC state: {0}")]
    State(String),
    /// A transport failed (I/O or protocol).
    #[error("transport: {0}")]
    Transport(String),
}

/// The virtual eUICC. See the crate documentation.
pub struct Euicc {
    pub(crate) id: identity::Loaded,
    pub(crate) state: EuiccState,
    pub(crate) rng: Box<dyn Random>,
    pub(crate) clock: Box<dyn Clock>,
    pub(crate) channels: [Option<apdu::Channel>; apdu::MAX_CHANNELS],
    pub(crate) session: es10::Session,
    pub(crate) retained_otk: Option<es10::RetainedOtk>,
    pub(crate) dirty: bool,
}

impl core::fmt::Debug for Euicc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Euicc")
            .field("eid", &self.id.eid.as_str())
            .field("profiles", &self.state.profiles.len())
            .finish_non_exhaustive()
    }
}

impl Euicc {
    /// An eUICC with `identity`, starting from `state` (use [`EuiccState::default`] for a new
    /// one), drawing randomness from `rng` and time from `clock`.
    ///
    /// # Errors
    /// [`Error::Identity`] if the certificates or key are unusable, [`Error::State`] if the
    /// state is of an unknown version.
    pub fn new(
        identity: &EuiccIdentity,
        state: EuiccState,
        rng: Box<dyn Random>,
        clock: Box<dyn Clock>,
    ) -> Result<Self, Error> {
        if state.version > STATE_VERSION {
            return Err(Error::State(format!(
                "state version {} is newer than this eUICC ({STATE_VERSION})",
                state.version
            )));
        }
        let id = identity::Loaded::new(identity)?;
        let mut e = Self {
            id,
            state,
            rng,
            clock,
            channels: Default::default(),
            session: es10::Session::default(),
            retained_otk: None,
            dirty: false,
        };
        e.reset();
        Ok(e)
    }

    /// A card reset (power cycle): closes every logical channel and forgets any RSP session;
    /// the persistent state is untouched.
    pub fn reset(&mut self) {
        self.channels = Default::default();
        self.channels[0] = Some(apdu::Channel::default());
        self.session = es10::Session::default();
    }

    /// The persistent state (profiles, notifications, addresses).
    #[must_use]
    pub fn state(&self) -> &EuiccState {
        &self.state
    }

    /// The EID (32 digits).
    #[must_use]
    pub fn eid(&self) -> &str {
        self.id.eid.as_str()
    }

    /// Whether the persistent state changed since the last call (the caller then saves it).
    pub fn take_dirty(&mut self) -> bool {
        core::mem::take(&mut self.dirty)
    }

    /// Processes one command APDU and returns the response APDU (data ‖ SW1 SW2). Never
    /// panics, whatever the input.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        apdu::process(self, apdu)
    }
}
