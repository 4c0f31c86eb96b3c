//! Profiles: personalization of a SAIP template, sealing at rest, and metadata.

use simforge_asn1::rsp;
use simforge_asn1::{Extensions, Iccid};
use simforge_saip::{Profile, ProfileSpec};
use simforge_vault::Vault;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::{
    OperatorId, ProfileMetadata, ProfileRecord, ProfileRequirements, ProfileState, RadioAccess,
    SealedPackage, UnixTime,
};

fn saip_err(e: simforge_saip::Error) -> Error {
    Error::Profile(crate::error::Cause::with_source("profile package", e))
}

/// Personalizes a SAIP template (unprotected profile package) completely with one card's data
/// (`card`, e.g. [`ProfileSpec::from_card`] of a SIM factory batch): ICCID, IMSI, EF.ACC/AD/SPN,
/// MSISDN, the ISIM identities, every NAA's AKA parameters (the card's algorithm, K, OPc/TOPc,
/// SQN options) and the header's algorithm services, every PIN/PUK/ADM, every security-domain
/// key set and CDMA credentials — see [`simforge_saip::personalize()`].
///
/// # Errors
/// [`Error::Profile`] naming the template element if the card data cannot replace it (a PIN
/// or key the card has no value for, more key sets than the card has, a key type the factory
/// cannot make, …), or if the template is malformed or a value invalid.
pub fn personalize(template: &[u8], card: &ProfileSpec) -> Result<Zeroizing<Vec<u8>>> {
    simforge_saip::personalize(template, card)
        .map(Zeroizing::new)
        .map_err(saip_err)
}

fn seal_context(operator_id: OperatorId, iccid: &Iccid) -> String {
    format!("smdp-profile:{operator_id}:{iccid}")
}

/// Seals an unprotected profile package for `(operator, iccid)`.
///
/// # Errors
/// [`Error::Profile`] if the vault fails.
pub fn seal(
    vault: &dyn Vault,
    operator_id: OperatorId,
    iccid: &Iccid,
    upp: &[u8],
) -> Result<SealedPackage> {
    vault
        .seal(&seal_context(operator_id, iccid), upp)
        .map(SealedPackage)
        .map_err(|e| Error::Profile(crate::error::Cause::with_source("sealing", e)))
}

/// Unseals the package of `p`.
///
/// # Errors
/// [`Error::Profile`] if the vault refuses (wrong key, moved row, corruption).
pub fn unseal(p: &ProfileRecord, vault: &dyn Vault) -> Result<Zeroizing<Vec<u8>>> {
    vault
        .unseal(&seal_context(p.operator_id, &p.iccid), &p.package.0)
        .map_err(|e| Error::Profile(crate::error::Cause::with_source("unsealing", e)))
}

/// A profile to add to an operator's inventory. Its `Debug` leaves the package out (it holds
/// the card's secrets).
pub struct NewProfile {
    /// ICCID.
    pub iccid: Iccid,
    /// Profile type.
    pub profile_type: String,
    /// Metadata.
    pub metadata: ProfileMetadata,
    /// The personalized unprotected profile package (sealed before it is stored).
    pub package: Zeroizing<Vec<u8>>,
    /// Delete notification: back to Available (true) or Unavailable.
    pub reuse_on_delete: bool,
    /// The radio access technologies the profile's network serves: a device supporting none
    /// of them is not eligible (SGP.22 8.2.5 / 4.3). Empty: any device.
    pub radio_access: Vec<RadioAccess>,
}

impl std::fmt::Debug for NewProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewProfile")
            .field("iccid", &self.iccid)
            .field("profile_type", &self.profile_type)
            .field("metadata", &self.metadata)
            .field("package", &"<redacted>")
            .field("reuse_on_delete", &self.reuse_on_delete)
            .field("radio_access", &self.radio_access)
            .finish()
    }
}

/// Checks ICCID digits (18 to 20 decimal digits).
///
/// # Errors
/// [`Error::IccidInvalid`].
pub fn check_iccid(iccid: &str) -> Result<()> {
    // The canonical form of an ICCID: its digits, no `F` padding.
    if Iccid::parse(iccid).is_ok_and(|i| i.as_str() == iccid) {
        Ok(())
    } else {
        Err(Error::IccidInvalid)
    }
}

/// Builds the inventory record (state Available) for `new`, sealing its package.
///
/// # Errors
/// [`Error::Profile`] if sealing fails.
pub fn new_record(
    operator_id: OperatorId,
    new: NewProfile,
    vault: &dyn Vault,
    now: UnixTime,
) -> Result<ProfileRecord> {
    let requirements = ProfileRequirements {
        radio_access: new.radio_access,
        ..requirements_of(&new.package)
    };
    let package = seal(vault, operator_id, &new.iccid, &new.package)?;
    Ok(ProfileRecord {
        operator_id,
        iccid: new.iccid,
        profile_type: new.profile_type,
        state: ProfileState::Available,
        eid: None,
        matching_id: None,
        cc_hash: None,
        cc_attempts: 0,
        download_attempts: 0,
        order_expires_at: None,
        session: None,
        session_expires_at: None,
        metadata: new.metadata,
        package,
        reuse_on_delete: new.reuse_on_delete,
        version: 0,
        updated_at: now,
        requirements,
        binding: None,
        last_notification: None,
        smds_address: None,
    })
}

/// The eligibility requirements of an unprotected profile package: its size, and its SAIP
/// version when it has a ProfileHeader.
#[must_use]
pub fn requirements_of(upp: &[u8]) -> ProfileRequirements {
    // Only the first PE (the ProfileHeader) is decoded: the rest holds the secrets.
    let saip_version = simforge_crypto::tlv::parse_one(upp)
        .ok()
        .and_then(|(_, rest)| upp.get(..upp.len() - rest.len()))
        .and_then(|first| Profile::decode(first).ok())
        .and_then(|p| p.header().map(|h| (h.major_version, h.minor_version)));
    ProfileRequirements {
        saip_version,
        package_size: u64::try_from(upp.len()).ok(),
        ppr: Vec::new(),
        radio_access: Vec::new(),
    }
}

/// ICCID digits → the 10-octet EF.ICCID coding ([`Iccid::to_bcd`]); empty unless `iccid` is an
/// ICCID (the stored ones are: [`check_iccid`]).
#[must_use]
pub fn iccid_to_bcd(iccid: &str) -> Vec<u8> {
    Iccid::parse(iccid)
        .map(|i| i.to_bcd().to_vec())
        .unwrap_or_default()
}

/// The StoreMetadataRequest (`BF25`) of a profile.
///
/// # Errors
/// Never in practice; kept fallible for future metadata (icons) checks.
pub fn store_metadata(p: &ProfileRecord) -> Result<rsp::StoreMetadataRequest> {
    let m = &p.metadata;
    Ok(rsp::StoreMetadataRequest {
        iccid: p.iccid.to_rsp(),
        service_provider_name: m.service_provider_name.clone(),
        profile_name: m.profile_name.clone(),
        icon_type: None,
        icon: None,
        profile_class: Some(rsp::ProfileClass(m.profile_class)),
        notification_configuration_info: m.notification_address.as_ref().map(|a| {
            vec![rsp::NotificationConfigurationInformation {
                profile_management_operation: rsp::NotificationEvent::from_bits(&[0, 1, 2, 3]),
                notification_address: a.clone(),
                extensions: Extensions::default(),
            }]
        }),
        profile_owner: None,
        profile_policy_rules: (!p.requirements.ppr.is_empty()).then(|| {
            let bits: Vec<usize> = p.requirements.ppr.iter().map(|b| usize::from(*b)).collect();
            rsp::PprIds::from_bits(&bits)
        }),
        extensions: Extensions::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iccid_bcd() {
        let b = iccid_to_bcd("8949449999999990023");
        assert_eq!(b[0], 0x98);
        assert_eq!(b[9], 0xF3);
        assert!(iccid_to_bcd("89494F").is_empty());
        assert!(check_iccid("8949449999999990023F").is_err());
    }
}
