//! The persistent state of the eUICC (what a real one keeps in NVM).

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Version of the [`EuiccState`] layout.
pub const STATE_VERSION: u32 = 1;

/// Secret bytes (K, OPc, private keys): zeroized on drop, `<redacted>` in `Debug`, hex in serde.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(#[serde(with = "hexser")] Vec<u8>);

impl Secret {
    /// Wraps bytes.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    /// The bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("<redacted>")
    }
}

pub(crate) mod hexser {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_upper(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

pub(crate) mod hexopt {
    use serde::{Deserialize, Deserializer, Serializer};
    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&hex::encode_upper(v)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| hex::decode(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Everything the eUICC keeps across power cycles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EuiccState {
    /// Layout version ([`STATE_VERSION`]).
    pub version: u32,
    /// Installed profiles, in installation order.
    pub profiles: Vec<InstalledProfile>,
    /// Pending notifications (install results, enable/disable/delete), oldest first.
    pub notifications: Vec<StoredNotification>,
    /// The next notification sequence number.
    pub next_seq_number: i64,
    /// The default SM-DP+ address (ES10a.SetDefaultDpAddress).
    pub default_dp_address: Option<String>,
    /// The root SM-DS address.
    pub root_ds_address: String,
    /// Counter for ISD-P AIDs.
    pub isdp_counter: u32,
}

impl Default for EuiccState {
    fn default() -> Self {
        Self {
            version: STATE_VERSION,
            profiles: Vec::new(),
            notifications: Vec::new(),
            next_seq_number: 1,
            default_dp_address: None,
            root_ds_address: "lpa.ds.gsma.com".into(),
            isdp_counter: 0,
        }
    }
}

impl EuiccState {
    /// Checks the invariants the eUICC relies on: at most one enabled profile, unique ICCIDs
    /// and ISD-P AIDs, unique notification sequence numbers below `next_seq_number`.
    ///
    /// # Errors
    /// A description of the first violation.
    pub fn check_consistency(&self) -> Result<(), String> {
        if self.profiles.iter().filter(|p| p.enabled).count() > 1 {
            return Err("more than one enabled profile".into());
        }
        for (i, p) in self.profiles.iter().enumerate() {
            for q in &self.profiles[i + 1..] {
                if p.iccid == q.iccid {
                    return Err("duplicate ICCID".into());
                }
                if p.isdp_aid == q.isdp_aid {
                    return Err("duplicate ISD-P AID".into());
                }
            }
        }
        for (i, n) in self.notifications.iter().enumerate() {
            if n.seq_number >= self.next_seq_number {
                return Err("notification sequence number not below the counter".into());
            }
            if self.notifications[i + 1..]
                .iter()
                .any(|m| m.seq_number == n.seq_number)
            {
                return Err("duplicate notification sequence number".into());
            }
        }
        Ok(())
    }
}

/// One installed profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledProfile {
    /// ICCID as coded in EF.ICCID / the `5A` data object (10 octets, swapped BCD).
    #[serde(with = "hexser")]
    pub iccid: Vec<u8>,
    /// The ISD-P AID.
    #[serde(with = "hexser")]
    pub isdp_aid: Vec<u8>,
    /// Whether this is the enabled profile.
    pub enabled: bool,
    /// The end user's nickname.
    pub nickname: Option<String>,
    /// The StoreMetadataRequest (`BF25`) as received in the BPP.
    #[serde(with = "hexser")]
    pub metadata: Vec<u8>,
    /// The ConfigureISDPRequest (`BF24`) as received in the BPP.
    #[serde(with = "hexser")]
    pub configure_isdp: Vec<u8>,
    /// The USIM of the profile, if it has one.
    pub usim: Option<UsimState>,
    /// Non-volatile memory the profile takes, in bytes: its profile package, metadata and
    /// ISD-P configuration as received (what EUICCInfo2's free NVM is reduced by). 0 in
    /// states written before this was recorded.
    #[serde(default)]
    pub nvm_size: u64,
}

/// The USIM application of a profile: files and AKA parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsimState {
    /// The ADF.USIM AID (from the profile, or the 3GPP default).
    #[serde(with = "hexser")]
    pub aid: Vec<u8>,
    /// Transparent EFs by file identifier (MF-level EF.ICCID included as `2FE2`).
    pub files: Vec<UsimFile>,
    /// `algorithmID`: 1 MILENAGE, 2 TUAK, 3 the 3GPP test algorithm (TS 34.108 §8.1.2).
    pub algorithm: u8,
    /// K.
    pub k: Secret,
    /// OPc (TOPc for TUAK).
    pub opc: Secret,
    /// MILENAGE rotation constants r1..r5.
    #[serde(with = "hexser")]
    pub rotation_constants: Vec<u8>,
    /// MILENAGE XOR constants c1..c5.
    #[serde(with = "hexser")]
    pub xoring_constants: Vec<u8>,
    /// TUAK number of Keccak iterations.
    pub keccak_iterations: u8,
    /// The SQN state.
    pub sqn: SqnState,
}

/// One transparent EF.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsimFile {
    /// File identifier.
    pub fid: u16,
    /// Whether the file sits under the MF (else under ADF.USIM).
    pub under_mf: bool,
    /// Content.
    #[serde(with = "hexser")]
    pub content: Vec<u8>,
}

/// SQN array of TS 33.102 Annex C.3 (IND of 5 bits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqnState {
    /// SEQ_MS per IND value.
    pub seq: Vec<u64>,
    /// The highest SQN accepted so far (SQN_MS for AUTS).
    pub highest: u64,
}

impl Default for SqnState {
    fn default() -> Self {
        Self {
            seq: vec![0; 32],
            highest: 0,
        }
    }
}

/// A pending notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredNotification {
    /// seqNumber.
    pub seq_number: i64,
    /// The NotificationEvent bit (0 install, 1 enable, 2 disable, 3 delete).
    pub operation: usize,
    /// notificationAddress.
    pub address: String,
    /// ICCID (`5A` coding), if any.
    #[serde(with = "hexopt", default)]
    pub iccid: Option<Vec<u8>>,
    /// The PendingNotification DER (`BF37` ProfileInstallationResult or `30`
    /// OtherSignedNotification).
    #[serde(with = "hexser")]
    pub pending: Vec<u8>,
}
