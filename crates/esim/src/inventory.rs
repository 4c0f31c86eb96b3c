//! The SM-DP+ profile inventory: profiles made from a SIM factory batch (its electrical file,
//! each card's package built or a template personalized) or from uploaded profile packages,
//! added through [`simforge_smdp::add_profiles`] with all their metadata; counts by state.

use std::path::{Path, PathBuf};

use simforge_asn1::Iccid;
use simforge_audit::{Actor, AuditLog, Draft, action};
use simforge_sim as sim;
use simforge_smdp::{NewProfile, ProfileMetadata, ProfileState, RadioAccess, SmdpStore, SmdpTx};
use simforge_store::{Batch, BatchState, Operator, Store, StoreError};
use simforge_vault::Vault;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// How imported profiles are described and behave.
#[derive(Clone, Default)]
pub struct ImportOptions {
    /// Profile type for ES2+ DownloadOrder by type.
    pub profile_type: String,
    /// A SAIP template (unprotected profile package, DER) personalized completely with each
    /// card's data instead of building each profile.
    pub template: Option<Zeroizing<Vec<u8>>>,
    /// SM-DP+ address (`host[:port]`) the eUICC notifies on enable/disable/delete.
    pub notification_address: Option<String>,
    /// Import at most this many cards.
    pub limit: Option<usize>,
    /// After a delete notification, back to Available (`Some(true)`) or Unavailable;
    /// `None`: the operator's default.
    pub reuse_on_delete: Option<bool>,
    /// The radio access technologies the profiles' network serves (empty: any device).
    pub radio_access: Vec<RadioAccess>,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("profile_type", &self.profile_type)
            .field("template", &self.template.as_ref().map(|t| t.len()))
            .field("notification_address", &self.notification_address)
            .field("limit", &self.limit)
            .field("reuse_on_delete", &self.reuse_on_delete)
            .field("radio_access", &self.radio_access)
            .finish()
    }
}

impl ImportOptions {
    /// Options with this profile type and nothing else set.
    #[must_use]
    pub fn of_type(profile_type: &str) -> Self {
        Self {
            profile_type: profile_type.to_owned(),
            ..Self::default()
        }
    }

    /// The inventory entry of one profile package of `operator`.
    fn new_profile(
        &self,
        operator: &Operator,
        iccid: Iccid,
        package: Zeroizing<Vec<u8>>,
    ) -> NewProfile {
        let digits = iccid.as_str();
        let tail = digits
            .get(digits.len().saturating_sub(4)..)
            .unwrap_or_default()
            .to_owned();
        NewProfile {
            profile_type: self.profile_type.clone(),
            metadata: ProfileMetadata {
                service_provider_name: operator.spn.clone(),
                profile_name: format!("{} {tail}", operator.spn),
                profile_class: 2,
                notification_address: self.notification_address.clone(),
            },
            iccid,
            package,
            reuse_on_delete: self.reuse_on_delete.unwrap_or(operator.reuse_on_delete),
            radio_access: self.radio_access.clone(),
        }
    }
}

/// `operator`'s batch `batch_id`, checked to be completed (its files written).
///
/// # Errors
/// [`Error::Store`] (`NotFound`), [`Error::NotFound`] if another operator's,
/// [`Error::Conflict`] if not completed.
pub async fn completed_batch(store: &Store, operator: &Operator, batch_id: i64) -> Result<Batch> {
    let b = store.batch(batch_id).await?;
    if b.operator != operator.name {
        return Err(Error::NotFound(format!(
            "batch {batch_id} is not operator {}'s",
            operator.name
        )));
    }
    if b.state != BatchState::Complete {
        return Err(Error::Conflict(format!(
            "batch {batch_id} is {:?}, not completed",
            b.state
        )));
    }
    Ok(b)
}

/// The electrical file (`*.elec.csv`) of a batch directory.
///
/// # Errors
/// [`Error::Read`], [`Error::NotFound`] without one.
pub fn elec_file(batch_dir: &Path) -> Result<PathBuf> {
    std::fs::read_dir(batch_dir)
        .map_err(|e| Error::read(batch_dir, e))?
        .filter_map(std::result::Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".elec.csv"))
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no electrical file (.elec.csv) in {}: generate the batch with --formats including elec",
                batch_dir.display()
            ))
        })
}

/// The unprotected profile package of `card`: `template` personalized, or built.
///
/// # Errors
/// [`Error::Package`] naming the ICCID (and, for a template, the element the card data
/// cannot replace).
pub fn package_for(
    card: &sim::Card,
    spn: &str,
    template: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| Error::Package {
        iccid: card.iccid.to_string(),
        source: e,
    };
    let algorithm = match card.opc.expose().len() {
        16 => sim::Algorithm::Milenage,
        _ => sim::Algorithm::Tuak,
    };
    let spec =
        simforge_saip::ProfileSpec::from_card(card, algorithm, spn, simforge_saip::OtaKeyType::Aes)
            .map_err(|e| err(e.into()))?;
    match template {
        Some(t) => simforge_smdp::profile::personalize(t, &spec).map_err(|e| err(e.into())),
        None => simforge_saip::build_profile_der(&spec)
            .map(Zeroizing::new)
            .map_err(|e| err(e.into())),
    }
}

/// Adds every card of the electrical file in `batch_dir` to `operator`'s inventory, through
/// [`simforge_smdp::add_profiles`]: every package is made before anything is stored (one bad
/// card adds none), cards already in an inventory are skipped (importing twice adds nothing).
/// Returns the ICCIDs added.
///
/// # Errors
/// [`Error::NotFound`] (no electrical file), [`Error::Read`], [`Error::ElecFile`],
/// [`Error::Id`] (the operator's PLMN), [`Error::Package`], [`Error::Smdp`].
///
/// Recorded in `log` as done by `actor` (the batch directory's name, how many were added).
#[allow(clippy::too_many_arguments)]
pub async fn import_batch_dir<S: SmdpStore, L: AuditLog<Error = StoreError>>(
    store: &S,
    (log, actor): (&L, &Actor),
    vault: &dyn Vault,
    operator: &Operator,
    batch_dir: &Path,
    opts: &ImportOptions,
    now: i64,
) -> Result<Vec<Iccid>> {
    let name = batch_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let result = import_batch_dir_unaudited(store, vault, operator, batch_dir, opts, now).await;
    let d = import_draft(actor, operator, format!("batch:{name}"), opts, &result, now);
    crate::credentials::record(log, d, result).await
}

fn import_draft(
    actor: &Actor,
    operator: &Operator,
    target: String,
    opts: &ImportOptions,
    result: &Result<Vec<Iccid>>,
    now: i64,
) -> Draft {
    let d = Draft::new(now, actor.as_str(), action::INVENTORY_IMPORT, target)
        .tenant(operator.id)
        .detail("profile_type", opts.profile_type.as_str());
    match result {
        Ok(added) => d.detail("added", added.len()),
        Err(_) => d,
    }
}

async fn import_batch_dir_unaudited<S: SmdpStore>(
    store: &S,
    vault: &dyn Vault,
    operator: &Operator,
    batch_dir: &Path,
    opts: &ImportOptions,
    now: i64,
) -> Result<Vec<Iccid>> {
    let elec = elec_file(batch_dir)?;
    let f = std::fs::File::open(&elec).map_err(|e| Error::read(&elec, e))?;
    let plmn = sim::Plmn::new(&operator.mcc, &operator.mnc)?;
    let cards = read_cards(std::io::BufReader::new(f), &plmn, opts.limit)
        .map_err(|source| Error::ElecFile { path: elec, source })?;
    let template = opts.template.as_deref().map(Vec::as_slice);
    let mut profiles = Vec::with_capacity(cards.len());
    for card in &cards {
        let package = package_for(card, &operator.spn, template)?;
        // A factory ICCID (19 or 20 digits, Luhn-checked) is always an SGP.22 one.
        let iccid = Iccid::parse(&card.iccid.to_string())
            .map_err(|_| simforge_smdp::Error::IccidInvalid)?;
        profiles.push(opts.new_profile(operator, iccid, package));
    }
    Ok(simforge_smdp::add_profiles(store, vault, operator.id, profiles, now).await?)
}

/// The cards of an electrical file ([`sim::ElectricalReader`]; blank lines skipped), at most
/// `limit` of them; a card's index is its line's position after the header.
fn read_cards(
    input: impl std::io::BufRead,
    plmn: &sim::Plmn,
    limit: Option<usize>,
) -> std::result::Result<Vec<sim::Card>, sim::ElectricalError> {
    let reader = sim::ElectricalReader::new(input)?;
    let columns = reader.columns().clone();
    let mut cards = Vec::new();
    for record in reader {
        if limit.is_some_and(|l| cards.len() >= l) {
            break;
        }
        let record = record?;
        if record.is_blank() {
            continue;
        }
        let index = record.line_number().saturating_sub(2) as u64;
        cards.push(record.card(&columns, index, plmn)?);
    }
    Ok(cards)
}

/// Adds uploaded unprotected profile packages (DER, already personalized) to `operator`'s
/// inventory; each one's ICCID is its ProfileHeader's. As [`import_batch_dir`]: all or none
/// checked first, ICCIDs already in an inventory skipped; `opts.template` and `opts.limit`
/// do not apply. Returns the ICCIDs added.
///
/// # Errors
/// [`Error::UploadedPackage`] (not a profile package, no ICCID), [`Error::Smdp`].
///
/// Recorded in `log` as done by `actor` (how many were uploaded and added).
pub async fn import_packages<S: SmdpStore, L: AuditLog<Error = StoreError>>(
    store: &S,
    (log, actor): (&L, &Actor),
    vault: &dyn Vault,
    operator: &Operator,
    packages: Vec<Zeroizing<Vec<u8>>>,
    opts: &ImportOptions,
    now: i64,
) -> Result<Vec<Iccid>> {
    let uploaded = packages.len();
    let result = import_packages_unaudited(store, vault, operator, packages, opts, now).await;
    let d = import_draft(actor, operator, "upload".into(), opts, &result, now)
        .detail("uploaded", uploaded);
    crate::credentials::record(log, d, result).await
}

async fn import_packages_unaudited<S: SmdpStore>(
    store: &S,
    vault: &dyn Vault,
    operator: &Operator,
    packages: Vec<Zeroizing<Vec<u8>>>,
    opts: &ImportOptions,
    now: i64,
) -> Result<Vec<Iccid>> {
    let mut profiles = Vec::with_capacity(packages.len());
    for (index, package) in packages.into_iter().enumerate() {
        // Only the first PE (the ProfileHeader) is decoded: the rest holds the secrets.
        let not_upp = |source| Error::UploadedPackage {
            index,
            what: "not a profile package",
            source,
        };
        let first = first_element(&package).ok_or_else(|| not_upp(None))?;
        let header = simforge_saip::Profile::decode(first).map_err(|e| not_upp(Some(e)))?;
        let iccid = header
            .iccid()
            .filter(|i| !i.is_empty())
            .ok_or(Error::UploadedPackage {
                index,
                what: "no ProfileHeader ICCID",
                source: None,
            })?;
        let iccid = Iccid::parse(&iccid).map_err(|_| Error::UploadedPackage {
            index,
            what: "ProfileHeader ICCID is not 18 to 20 digits",
            source: None,
        })?;
        profiles.push(opts.new_profile(operator, iccid, package));
    }
    Ok(simforge_smdp::add_profiles(store, vault, operator.id, profiles, now).await?)
}

/// The first TLV of a package (its ProfileHeader, when it is one).
fn first_element(upp: &[u8]) -> Option<&[u8]> {
    let (_, rest) = simforge_crypto::tlv::parse_one(upp).ok()?;
    upp.get(..upp.len() - rest.len())
}

/// `operator`'s profile counts by state.
///
/// # Errors
/// [`Error::Smdp`] (storage).
pub async fn counts<S: SmdpStore>(
    store: &S,
    operator: &Operator,
) -> Result<Vec<(ProfileState, u64)>> {
    let mut tx = store.begin().await?;
    let c = tx.count_by_state(operator.id).await?;
    tx.commit().await?;
    Ok(c)
}

/// How many of `operator`'s profiles are Available.
///
/// # Errors
/// As [`counts`].
pub async fn available<S: SmdpStore>(store: &S, operator: &Operator) -> Result<u64> {
    Ok(counts(store, operator)
        .await?
        .iter()
        .find(|(s, _)| *s == ProfileState::Available)
        .map_or(0, |(_, n)| *n))
}
