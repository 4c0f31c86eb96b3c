//! The SM-DP+ state: plain serialisable structs, persisted by a [`crate::SmdpStore`].

use std::fmt;

use serde::{Deserialize, Serialize};
use simforge_asn1::{Eid, Iccid, MatchingId, TransactionId};

/// The tenant: the operator's id. Every profile (and every session bound to one) belongs to
/// exactly one operator.
pub type OperatorId = i64;

/// Seconds since the Unix epoch (UTC), always injected, never read from a clock here.
pub use simforge_crypto::UnixTime;

/// Profile states at the SM-DP+ (SGP.22 §3.1, §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProfileState {
    /// In the inventory, not ordered.
    Available,
    /// Reserved by ES2+.DownloadOrder.
    Allocated,
    /// Reserved and bound to an EID.
    Linked,
    /// ES2+.ConfirmOrder done, not released.
    Confirmed,
    /// Ready for download.
    Released,
    /// The BPP was delivered.
    Downloaded,
    /// The eUICC reported a successful installation.
    Installed,
    /// Terminal failure (until the operator acts).
    Error,
    /// Withdrawn (until the operator acts).
    Unavailable,
}

impl ProfileState {
    /// Every state.
    pub const ALL: [ProfileState; 9] = [
        Self::Available,
        Self::Allocated,
        Self::Linked,
        Self::Confirmed,
        Self::Released,
        Self::Downloaded,
        Self::Installed,
        Self::Error,
        Self::Unavailable,
    ];

    /// Lower-case name, as stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Allocated => "allocated",
            Self::Linked => "linked",
            Self::Confirmed => "confirmed",
            Self::Released => "released",
            Self::Downloaded => "downloaded",
            Self::Installed => "installed",
            Self::Error => "error",
            Self::Unavailable => "unavailable",
        }
    }

    /// Parses [`ProfileState::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for ProfileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A profile package sealed by the vault (the unprotected package carries K, OPc, PINs).
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedPackage(pub Vec<u8>);

impl fmt::Debug for SealedPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedPackage(<{} bytes sealed>)", self.0.len())
    }
}

/// What the LPA shows and the eUICC stores as profile metadata (StoreMetadataRequest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileMetadata {
    /// serviceProviderName.
    pub service_provider_name: String,
    /// profileName.
    pub profile_name: String,
    /// profileClass: 0 test, 1 provisioning, 2 operational.
    pub profile_class: i64,
    /// Addresses notified on install/enable/disable/delete (none: no notifications).
    pub notification_address: Option<String>,
}

/// One profile of an operator's inventory and its order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRecord {
    /// Owner (tenant).
    pub operator_id: OperatorId,
    /// ICCID, unique across the platform.
    pub iccid: Iccid,
    /// Profile type (ES2+ DownloadOrder by type).
    pub profile_type: String,
    /// State.
    pub state: ProfileState,
    /// EID the order is linked to (given by the operator or bound at download).
    pub eid: Option<Eid>,
    /// MatchingID of the order.
    pub matching_id: Option<MatchingId>,
    /// SHA-256 of the confirmation code, if one is required (never the code itself).
    pub cc_hash: Option<Vec<u8>>,
    /// Failed confirmation code attempts.
    pub cc_attempts: u32,
    /// Delivered BPPs (download attempts).
    pub download_attempts: u32,
    /// When the order expires.
    pub order_expires_at: Option<UnixTime>,
    /// The RSP session currently holding the profile, and until when.
    pub session: Option<TransactionId>,
    /// Lock expiry of [`ProfileRecord::session`].
    pub session_expires_at: Option<UnixTime>,
    /// Metadata for the eUICC.
    pub metadata: ProfileMetadata,
    /// The personalized unprotected profile package, sealed.
    pub package: SealedPackage,
    /// After a delete notification: back to Available (true) or Unavailable (false).
    pub reuse_on_delete: bool,
    /// Optimistic concurrency version, incremented on every save.
    pub version: i64,
    /// Last change.
    pub updated_at: UnixTime,
    /// What an eUICC must offer to receive the profile (derived from the package at import).
    #[serde(default)]
    pub requirements: ProfileRequirements,
    /// The one-time key binding of the last BPP delivered for the current order, kept for a
    /// retried download (bppEuiccOtpk, SGP.22 §3.1.3); cleared when the order ends.
    #[serde(default)]
    pub binding: Option<BppBinding>,
    /// The last eUICC notification processed for this profile (EID, seqNumber): a replayed
    /// or older notification from the same eUICC changes nothing (idempotency).
    #[serde(default)]
    pub last_notification: Option<(String, i64)>,
    /// The SM-DS at which the order's event is registered (ConfirmOrder's `smdsAddress`);
    /// cleared when the event ends (see [`crate::smds_queue`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smds_address: Option<String>,
}

/// What the eUICC must offer for a profile (SGP.22 §3.1.3.2 eligibility check).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRequirements {
    /// The SAIP version of the package (ProfileHeader major.minor), compared with
    /// euiccInfo2.profileVersion.
    pub saip_version: Option<(u8, u8)>,
    /// The size of the unprotected profile package in octets, compared with the free
    /// non-volatile memory of euiccInfo2.extCardResource.
    pub package_size: Option<u64>,
    /// The profile's Profile Policy Rules (PprIds bit numbers: 0 pprUpdateControl, 1 PPR1,
    /// 2 PPR2), set by the operator; sent in the metadata and checked against
    /// euiccInfo2.forbiddenProfilePolicyRules.
    #[serde(default)]
    pub ppr: Vec<u8>,
    /// The radio access technologies the profile's network serves, set by the operator at
    /// import: the device must support at least one of them (its DeviceInfo's
    /// deviceCapabilities, SGP.22 §4.2), else 8.2.5 / 4.3. Empty: any device.
    #[serde(default)]
    pub radio_access: Vec<RadioAccess>,
}

/// A radio access technology of SGP.22 DeviceCapabilities (§4.2): the device supports it
/// when it declares a supported release for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RadioAccess {
    /// GSM (gsmSupportedRelease).
    Gsm,
    /// UTRAN (utranSupportedRelease).
    Utran,
    /// cdma2000 1x (cdma2000onexSupportedRelease).
    Cdma2000Onex,
    /// cdma2000 HRPD (cdma2000hrpdSupportedRelease).
    Cdma2000Hrpd,
    /// cdma2000 eHRPD (cdma2000ehrpdSupportedRelease).
    Cdma2000Ehrpd,
    /// E-UTRAN with an EPC, LTE (eutranEpcSupportedRelease).
    EutranEpc,
    /// NR with an EPC, 5G NSA (nrEpcSupportedRelease).
    NrEpc,
    /// NR with a 5GC, 5G SA (nr5gcSupportedRelease).
    Nr5gc,
    /// E-UTRAN with a 5GC (eutran5gcSupportedRelease).
    Eutran5gc,
}

impl RadioAccess {
    /// Every technology.
    pub const ALL: [RadioAccess; 9] = [
        Self::Gsm,
        Self::Utran,
        Self::Cdma2000Onex,
        Self::Cdma2000Hrpd,
        Self::Cdma2000Ehrpd,
        Self::EutranEpc,
        Self::NrEpc,
        Self::Nr5gc,
        Self::Eutran5gc,
    ];

    /// The name used on the command line and in JSON (`eutran-epc`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gsm => "gsm",
            Self::Utran => "utran",
            Self::Cdma2000Onex => "cdma2000-onex",
            Self::Cdma2000Hrpd => "cdma2000-hrpd",
            Self::Cdma2000Ehrpd => "cdma2000-ehrpd",
            Self::EutranEpc => "eutran-epc",
            Self::NrEpc => "nr-epc",
            Self::Nr5gc => "nr5gc",
            Self::Eutran5gc => "eutran5gc",
        }
    }

    /// Parses [`RadioAccess::as_str`] (case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for RadioAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The SM-DP+ side of a BPP's key agreement, kept so that a retried download to the same
/// eUICC one-time key (`bppEuiccOtpk`) reuses it. `Debug` never shows the sealed key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BppBinding {
    /// otPK.EUICC.ECKA the BPP was bound to (SEC1).
    pub euicc_otpk: Vec<u8>,
    /// otPK.DP.ECKA (SEC1).
    pub smdp_otpk: Vec<u8>,
    /// The ECDH shared secret ShS of otSK.DP.ECKA and otPK.EUICC.ECKA (what the session keys
    /// derive from), sealed by the vault (context bound to the operator and ICCID).
    pub sealed_shs: Vec<u8>,
    /// The hostId used.
    pub host_id: Vec<u8>,
}

impl fmt::Debug for BppBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BppBinding")
            .field("euicc_otpk", &hex::encode_upper(&self.euicc_otpk))
            .field("smdp_otpk", &hex::encode_upper(&self.smdp_otpk))
            .field("sealed_shs", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ProfileRecord {
    /// Whether a live session other than `tid` holds the profile at `now`.
    #[must_use]
    pub fn locked_by_other(&self, tid: Option<&TransactionId>, now: UnixTime) -> bool {
        match (&self.session, self.session_expires_at) {
            (Some(s), Some(until)) => Some(s) != tid && until > now,
            _ => false,
        }
    }

    /// Clears the session lock.
    pub fn unlock(&mut self) {
        self.session = None;
        self.session_expires_at = None;
    }

    /// Resets the order (back to the inventory in `state`).
    pub fn reset_order(&mut self, state: ProfileState) {
        self.state = state;
        self.eid = None;
        self.matching_id = None;
        self.cc_hash = None;
        self.cc_attempts = 0;
        self.download_attempts = 0;
        self.order_expires_at = None;
        self.binding = None;
        self.smds_address = None;
        self.unlock();
    }
}

/// Curve of an eUICC key kept in a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyCurve {
    /// NIST P-256.
    NistP256,
    /// brainpoolP256r1.
    BrainpoolP256r1,
}

impl KeyCurve {
    pub(crate) fn crypto(self) -> simforge_crypto::Curve {
        match self {
            Self::NistP256 => simforge_crypto::Curve::NistP256,
            Self::BrainpoolP256r1 => simforge_crypto::Curve::BrainpoolP256r1,
        }
    }

    pub(crate) fn from_pki(c: simforge_pki::Curve) -> Self {
        match c {
            simforge_pki::Curve::BrainpoolP256r1 => Self::BrainpoolP256r1,
            _ => Self::NistP256,
        }
    }
}

/// Where an RSP session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionState {
    /// After InitiateAuthentication.
    Initiated,
    /// After AuthenticateClient: a profile is bound.
    Authenticated,
    /// After GetBoundProfilePackage: waiting for the installation result.
    BppDelivered,
}

/// One RSP session (one transactionId).
///
/// Its byte fields are serialised as hex strings (see [`hex_bytes`]): the stored record stays
/// below SQLite's local payload limit of a `WITHOUT ROWID` row (≈ 1,000 bytes on 4 KiB pages),
/// so a stored session needs no overflow page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// TransactionID.
    pub transaction_id: TransactionId,
    /// State.
    pub state: SessionState,
    /// Created.
    pub created_at: UnixTime,
    /// Expires (unknown afterwards).
    pub expires_at: UnixTime,
    /// smdpAddress as the LPA sent it (echoed as serverAddress).
    pub smdp_address: String,
    /// euiccChallenge.
    #[serde(with = "hex_bytes")]
    pub euicc_challenge: Vec<u8>,
    /// serverChallenge.
    #[serde(with = "hex_bytes")]
    pub server_challenge: Vec<u8>,
    /// The CI PKID selected (euiccCiPKIdToBeUsed).
    #[serde(with = "hex_bytes")]
    pub ci_pkid: Vec<u8>,
    /// euiccCiPKIdListForSigning from EuiccInfo1.
    #[serde(with = "hex_bytes::list")]
    pub signing_ci_pkids: Vec<Vec<u8>>,
    /// The authenticated eUICC.
    pub eid: Option<Eid>,
    /// PK.EUICC.ECDSA (SEC1) and its curve, after AuthenticateClient.
    #[serde(with = "hex_bytes::curve_key")]
    pub euicc_public_key: Option<(KeyCurve, Vec<u8>)>,
    /// Owner of the bound profile.
    pub operator_id: Option<OperatorId>,
    /// The bound profile.
    pub iccid: Option<Iccid>,
    /// smdpSignature2 as a `5F37` TLV (input to euiccSignature2).
    #[serde(with = "hex_bytes::option")]
    pub smdp_signature2: Option<Vec<u8>>,
    /// Whether a confirmation code is required.
    pub cc_required: bool,
}

/// Something that happened, for the operator outbox (ES2+.HandleDownloadProgressInfo),
/// metrics and logs. Persisted in the same transaction as the state change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A HandleDownloadProgressInfo notification point reached.
    DownloadProgress {
        /// Operator to notify.
        operator_id: OperatorId,
        /// Profile.
        iccid: Iccid,
        /// Profile type.
        profile_type: String,
        /// EID, if known.
        eid: Option<Eid>,
        /// 1 eligibility/retry check, 2 confirmation failure, 3 BPP download, 4 installation,
        /// 5 profile deleted (delete notification).
        point: u32,
        /// `None` on success, else (subjectCode, reasonCode).
        failure: Option<(String, String)>,
        /// DER of the ProfileInstallationResult (point 4).
        result_data: Option<Vec<u8>>,
        /// When.
        at: UnixTime,
    },
    /// A profile changed state.
    ProfileState {
        /// Operator.
        operator_id: OperatorId,
        /// Profile.
        iccid: Iccid,
        /// Before.
        from: ProfileState,
        /// After.
        to: ProfileState,
        /// When.
        at: UnixTime,
    },
}

impl Event {
    /// The operator concerned.
    #[must_use]
    pub fn operator_id(&self) -> OperatorId {
        match self {
            Self::DownloadProgress { operator_id, .. } | Self::ProfileState { operator_id, .. } => {
                *operator_id
            }
        }
    }

    /// The profile concerned.
    #[must_use]
    pub fn iccid(&self) -> &Iccid {
        match self {
            Self::DownloadProgress { iccid, .. } | Self::ProfileState { iccid, .. } => iccid,
        }
    }

    /// When it happened.
    #[must_use]
    pub fn at(&self) -> UnixTime {
        match self {
            Self::DownloadProgress { at, .. } | Self::ProfileState { at, .. } => *at,
        }
    }

    /// A short name of the kind of event (`download_progress`, `profile_state`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::DownloadProgress { .. } => "download_progress",
            Self::ProfileState { .. } => "profile_state",
        }
    }
}

/// What a pure operation wants done to the session.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // built once per request, never stored in bulk
pub enum SessionChange {
    /// Nothing.
    Keep,
    /// Insert or replace.
    Put(Session),
    /// Delete (the transactionId becomes unknown).
    Delete(TransactionId),
}

/// The profile a call concerned: its operator and ICCID (for logs; known also when the call
/// failed, as soon as the profile was found).
pub type Subject = (OperatorId, Iccid);

/// A profile package (the personalized UPP, [`SealedPackage`]) the SM-DP+ unsealed to build
/// a BPP in GetBoundProfilePackage: who it served and how the call ended. The platform's
/// audit log records it (`profile.unseal`); it holds no secret and never the package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unseal {
    /// The profile's operator (the tenant).
    pub operator_id: OperatorId,
    /// The profile.
    pub iccid: Iccid,
    /// The RSP session it was unsealed for.
    pub transaction_id: TransactionId,
    /// The eUICC the BPP was bound to.
    pub eid: Option<Eid>,
    /// When (the call's time).
    pub at: UnixTime,
    /// How the call ended.
    pub result: UnsealResult,
}

/// How a GetBoundProfilePackage that unsealed (or tried to unseal) a package ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnsealResult {
    /// Unsealed, and the BPP built from it was answered.
    Delivered,
    /// Unsealed, but the call then failed (no BPP answered): the error's SGP.22 status code
    /// (`subject/reason`), or `internal`.
    NotDelivered(String),
    /// The vault refused to unseal the package (wrong key, tampered record).
    UnsealFailed,
}

/// The result of a pure operation: the response (or error), and the state to persist
/// *whatever the result* (a refused confirmation code still counts an attempt).
#[derive(Debug)]
pub struct Outcome<R> {
    /// Response or protocol error.
    pub result: crate::Result<R>,
    /// Session change.
    pub session: SessionChange,
    /// Profile to save (with its version as loaded; the store checks and increments it).
    pub profile: Option<ProfileRecord>,
    /// Events to persist.
    pub events: Vec<Event>,
    /// The profile the call concerned, when known, whatever the result (for logs).
    pub subject: Option<Subject>,
    /// The profile package the call unsealed, if it did (GetBoundProfilePackage): recorded
    /// with the state change ([`crate::SmdpTx::record_unseal`]).
    pub unseal: Option<Unseal>,
}

impl<R> Outcome<R> {
    /// A failure that changes nothing.
    pub fn fail(e: crate::Error) -> Self {
        Self {
            result: Err(e),
            session: SessionChange::Keep,
            profile: None,
            events: Vec::new(),
            subject: None,
            unseal: None,
        }
    }

    /// The same outcome, concerning `subject` unless it already names a profile.
    #[must_use]
    pub fn about(mut self, subject: Option<Subject>) -> Self {
        if self.subject.is_none() {
            self.subject = subject.or_else(|| self.profile.as_ref().map(ProfileRecord::subject));
        }
        self
    }
}

impl ProfileRecord {
    /// Its operator and ICCID.
    #[must_use]
    pub fn subject(&self) -> Subject {
        (self.operator_id, self.iccid.clone())
    }
}

impl Session {
    /// The operator and ICCID of the profile bound to the session, if any.
    #[must_use]
    pub fn subject(&self) -> Option<Subject> {
        self.operator_id.zip(self.iccid.clone())
    }
}

/// Serde helpers for the byte fields of a [`Session`]: written as lowercase hex strings, read
/// from hex strings or from JSON number arrays (the form written before, so sessions stored
/// by an earlier version still load). As JSON number arrays a bound session's record was
/// ≈ 1.2 KB and spilled into an overflow page (allocated and freed, with the database header
/// and the freelist page, on every insert, update and delete); in hex it is ≈ 0.85 KB.
pub mod hex_bytes {
    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use serde::ser::Serializer;
    use serde::{Deserialize, Serialize};

    use super::KeyCurve;

    /// Serialises bytes as a hex string.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    /// Reads bytes from a hex string or a number array.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_any(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a hex string or an array of bytes")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            hex::decode(v).map_err(E::custom)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }

    /// One byte string, for the containers below.
    #[derive(Serialize, Deserialize)]
    struct Hex(#[serde(with = "super::hex_bytes")] Vec<u8>);

    /// `Option<Vec<u8>>` as `null` or a hex string.
    pub mod option {
        use super::*;

        /// Serialises.
        pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(b) => s.serialize_some(&hex::encode(b)),
                None => s.serialize_none(),
            }
        }

        /// Deserialises (hex or number array).
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            Ok(Option::<Hex>::deserialize(d)?.map(|h| h.0))
        }
    }

    /// `Vec<Vec<u8>>` as an array of hex strings.
    pub mod list {
        use super::*;

        /// Serialises.
        pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(hex::encode))
        }

        /// Deserialises (hex or number arrays).
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
            Ok(Vec::<Hex>::deserialize(d)?
                .into_iter()
                .map(|h| h.0)
                .collect())
        }
    }

    /// `Option<(KeyCurve, Vec<u8>)>` as `null` or `[curve, hex]`.
    pub mod curve_key {
        use super::*;

        /// Serialises.
        pub fn serialize<S: Serializer>(
            v: &Option<(KeyCurve, Vec<u8>)>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match v {
                Some((c, k)) => s.serialize_some(&(c, hex::encode(k))),
                None => s.serialize_none(),
            }
        }

        /// Deserialises (hex or number array).
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<(KeyCurve, Vec<u8>)>, D::Error> {
            Ok(Option::<(KeyCurve, Hex)>::deserialize(d)?.map(|(c, h)| (c, h.0)))
        }
    }
}
