//! SGP.22 chain verification: CI → EUM → eUICC and CI → DPauth / DPpb / DPtls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use x509_cert::ext::pkix::KeyUsages;

use crate::cert::{Certificate, Role, hex};
use crate::eid::is_valid_eid;
use crate::error::{Error, Result};
use crate::keys::Curve;
use crate::oids;

/// The trusted CI certificates, looked up by subject key identifier (the CI PKID that
/// appears in euiccCiPKIdListForVerification / euiccCiPKIdListForSigning).
///
/// It also remembers the EUM certificates it has verified (bounded): an SM-DP+ sees the same
/// few EUM certificates in every AuthenticateClient, so [`verify_euicc_chain`] checks an EUM's
/// linkage, signature and extensions once and afterwards only its validity (and the CI's) at
/// the given time. Adding a CI starts a new, empty memory, so a remembered EUM is always one
/// verified against the CIs the store holds.
#[derive(Clone, Debug, Default)]
pub struct CiStore {
    cis: Vec<Certificate>,
    eums: Arc<EumCache>,
}

/// How many verified EUM certificates a [`CiStore`] remembers (it forgets them all when full).
const EUM_CACHE_MAX: usize = 256;

/// A verified EUM certificate and the issuer-name mismatch accepted when it was verified.
type VerifiedEum = (Arc<Certificate>, Option<IssuerNameMismatch>);

/// Verified EUM certificates by DER.
#[derive(Default)]
struct EumCache(Mutex<HashMap<Vec<u8>, VerifiedEum>>);

impl std::fmt::Debug for EumCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("EumCache").field("len", &n).finish()
    }
}

impl EumCache {
    fn get(&self, der: &[u8]) -> Option<VerifiedEum> {
        self.0.lock().ok()?.get(der).cloned()
    }

    fn insert(&self, der: &[u8], eum: VerifiedEum) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= EUM_CACHE_MAX {
                m.clear();
            }
            m.insert(der.to_vec(), eum);
        }
    }
}

impl CiStore {
    /// An empty store.
    pub fn new() -> CiStore {
        CiStore::default()
    }

    /// Adds a CI certificate after checking that it is one: self-signed (issuer = subject,
    /// signature verifies with its own key), id-rspRole-ci policy, cA = TRUE, keyCertSign,
    /// and a subject key identifier. Validity is checked at verification time, not here.
    /// Adding a CI with a PKID already present replaces the old one.
    pub fn add(&mut self, ci: Certificate) -> Result<()> {
        let Some(ski) = ci.subject_key_id().map(<[u8]>::to_vec) else {
            return Err(Error::NotACi("no subject key identifier".into()));
        };
        if !ci.issuer_name_matches(&ci) || !ci.signature_verifies_with(&ci) {
            return Err(Error::NotACi(format!(
                "{} is not self-signed",
                ci.subject()
            )));
        }
        if let Some(aki) = ci.authority_key_id()
            && aki != ski.as_slice()
        {
            return Err(Error::NotACi(
                "authority key id differs from subject key id".into(),
            ));
        }
        check_role_extensions(&ci, Role::Ci).map_err(|e| Error::NotACi(e.to_string()))?;
        self.cis
            .retain(|c| c.subject_key_id() != Some(ski.as_slice()));
        self.cis.push(ci);
        self.eums = Arc::default();
        Ok(())
    }

    /// Parses (DER or PEM) and adds a CI certificate.
    pub fn add_der_or_pem(&mut self, bytes: &[u8]) -> Result<()> {
        self.add(Certificate::from_der_or_pem(bytes)?)
    }

    /// The CI whose subject key identifier is `pkid`.
    pub fn get(&self, pkid: &[u8]) -> Option<&Certificate> {
        self.cis.iter().find(|c| c.subject_key_id() == Some(pkid))
    }

    /// The PKIDs of all trusted CIs (for euiccCiPKIdListFor*).
    pub fn pkids(&self) -> Vec<Vec<u8>> {
        self.cis
            .iter()
            .filter_map(|c| c.subject_key_id().map(<[u8]>::to_vec))
            .collect()
    }

    /// All trusted CI certificates.
    pub fn certificates(&self) -> &[Certificate] {
        &self.cis
    }

    /// Number of trusted CIs.
    pub fn len(&self) -> usize {
        self.cis.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.cis.is_empty()
    }

    /// The CI that issued `cert`, by its authority key identifier.
    fn issuer_of(&self, cert: &Certificate) -> Result<&Certificate> {
        let aki = cert.authority_key_id().unwrap_or_default();
        self.get(aki)
            .ok_or_else(|| Error::UnknownCi { pkid: hex(aki) })
    }
}

/// A certificate whose issuer name is not its issuer's subject name, accepted because its
/// authority key identifier is the issuer's subject key identifier and its signature verifies
/// under the issuer's key (see [`verify_euicc_chain`]).
///
/// The case in the field: the SGP.26 v1 test EUM certificates name their issuer
/// "CN=GSMA Test CI,…", while the SGP.26 v3 CI certificate of the same key and key identifier
/// is named "CN=Test CI,…". The verifier reports every such acceptance so that the caller can
/// log it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerNameMismatch {
    /// The certificate whose issuer name differs.
    pub role: Role,
    /// Its issuer name, RFC 4514.
    pub issuer_name: String,
    /// The subject name of the certificate that issued it (by key identifier), RFC 4514.
    pub issuer_subject: String,
    /// The key identifier that links them, hex.
    pub key_id: String,
}

impl std::fmt::Display for IssuerNameMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} certificate names its issuer '{}' but was issued (key id {}, signature verified) by '{}'",
            self.role, self.issuer_name, self.key_id, self.issuer_subject
        )
    }
}

/// The result of a successful eUICC chain verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEuicc {
    /// The EID (eUICC certificate subject serialNumber), 32 digits.
    pub eid: String,
    /// The eUICC public key (PK.EUICC.ECDSA), SEC1 bytes.
    pub public_key: Vec<u8>,
    /// The curve of the eUICC public key.
    pub curve: Curve,
    /// The PKID (subject key identifier) of the CI the chain ends in.
    pub ci_pkid: Vec<u8>,
    /// Links of the chain accepted although the issuer name differs from the issuer's
    /// subject (EUM first, then eUICC); empty for a chain whose names match.
    pub issuer_name_mismatches: Vec<IssuerNameMismatch>,
}

/// The result of a successful SM-DP+ certificate verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedDp {
    /// The role that was verified.
    pub role: Role,
    /// The certificate's public key, SEC1 bytes.
    pub public_key: Vec<u8>,
    /// The curve of the public key.
    pub curve: Curve,
    /// The PKID of the issuing CI.
    pub ci_pkid: Vec<u8>,
    /// subjectAltName dNSNames (the SM-DP+ FQDN for DPtls).
    pub dns_names: Vec<String>,
    /// The subjectAltName registeredID, dotted: the SM-DP+ OID of a DPauth/DPpb certificate
    /// ([`Certificate::registered_id`]).
    pub registered_id: Option<String>,
    /// Set when the certificate was accepted although its issuer name differs from the CI's
    /// subject (see [`IssuerNameMismatch`]).
    pub issuer_name_mismatch: Option<IssuerNameMismatch>,
}

/// Verifies an eUICC certificate chain CI → EUM → eUICC at the injected time `now` (seconds
/// since the Unix epoch, UTC: the workspace's `UnixTime`).
///
/// Chains as deployed SM-DP+s and eUICCs do, by key: each link's issuer is found by its
/// authority key identifier (= the issuer's subject key identifier) and proven by the
/// ECDSA-SHA256 signature under the issuer's key. An issuer *name* that differs from the
/// issuer's subject is accepted when the key identifier matches and the signature verifies,
/// and reported in [`VerifiedEuicc::issuer_name_mismatches`] (SGP.26 v1 EUMs name their CI
/// "GSMA Test CI", the SGP.26 v3 CI of the same key is "Test CI").
///
/// Checks, for each link: authority key id = issuer's subject key id, ECDSA-SHA256
/// signature, validity at `now` (CI included), SGP.22 policy
/// (critical), keyUsage and basicConstraints, no unknown critical extension; then that the
/// EID (eUICC subject serialNumber) is valid (SGP.29 check digits) and permitted by the EUM:
/// it must start with one of the prefixes of *each* constraint the EUM carries
/// (nameConstraints permittedSubtrees serialNumber, GSMA permittedEins), and the EUM must
/// carry at least one.
pub fn verify_euicc_chain(
    ci_store: &CiStore,
    eum_der: &[u8],
    euicc_der: &[u8],
    now: i64,
) -> Result<VerifiedEuicc> {
    // An EUM verified before (against this store's CIs) needs only its validity checked.
    let known_eum = ci_store.eums.get(eum_der);
    let eum = match &known_eum {
        Some((eum, _)) => Arc::clone(eum),
        None => Arc::new(Certificate::from_der(eum_der)?),
    };
    let euicc = Certificate::from_der(euicc_der)?;
    let ci = ci_store.issuer_of(&eum)?;
    check_validity(ci, Role::Ci, now)?;
    let eum_mismatch = if let Some((_, mismatch)) = known_eum {
        check_validity(&eum, Role::Eum, now)?;
        mismatch
    } else {
        let mismatch = check_link(&eum, ci, Role::Eum, now)?;
        ci_store
            .eums
            .insert(eum_der, (Arc::clone(&eum), mismatch.clone()));
        mismatch
    };
    let euicc_mismatch = check_link(&euicc, &eum, Role::Euicc, now)?;

    let eid = euicc.eid().ok_or(Error::MissingEid)?;
    if !is_valid_eid(&eid) {
        return Err(Error::InvalidEid(eid));
    }
    check_eid_range(&eum, &eid)?;

    Ok(VerifiedEuicc {
        eid,
        public_key: euicc.public_key_sec1().to_vec(),
        curve: euicc.curve(),
        ci_pkid: ci.subject_key_id().unwrap_or_default().to_vec(),
        issuer_name_mismatches: eum_mismatch.into_iter().chain(euicc_mismatch).collect(),
    })
}

/// Verifies an SM-DP+ certificate (`role` = DPauth, DPpb or DPtls) against the trusted CIs
/// at the injected time `now` (Unix seconds): linkage (by key identifier, as [`verify_euicc_chain`]; an
/// issuer-name mismatch is accepted and reported in [`VerifiedDp::issuer_name_mismatch`]),
/// signature, validity, policy, keyUsage (digitalSignature), no cA; for DPtls also
/// extendedKeyUsage serverAuth and a dNSName.
///
/// The SM-DS's certificates (DSauth, DStls) are checked the same way.
pub fn verify_dp_cert(ci_store: &CiStore, der: &[u8], role: Role, now: i64) -> Result<VerifiedDp> {
    if !matches!(
        role,
        Role::DpAuth | Role::DpPb | Role::DpTls | Role::DsAuth | Role::DsTls
    ) {
        return Err(Error::NotADpRole(role));
    }
    let cert = Certificate::from_der(der)?;
    let ci = ci_store.issuer_of(&cert)?;
    check_validity(ci, Role::Ci, now)?;
    let issuer_name_mismatch = check_link(&cert, ci, role, now)?;
    Ok(VerifiedDp {
        role,
        public_key: cert.public_key_sec1().to_vec(),
        curve: cert.curve(),
        ci_pkid: ci.subject_key_id().unwrap_or_default().to_vec(),
        dns_names: cert.dns_names().to_vec(),
        registered_id: cert.registered_id(),
        issuer_name_mismatch,
    })
}

/// Checks one certificate against its issuer (found by key identifier): the key identifiers
/// must match and the signature verify; an issuer name that differs from the issuer's subject
/// is then accepted and returned as a note, never on its own.
fn check_link(
    cert: &Certificate,
    issuer: &Certificate,
    role: Role,
    now: i64,
) -> Result<Option<IssuerNameMismatch>> {
    let issuer_ski = issuer.subject_key_id().ok_or(Error::MissingKeyIdentifier {
        role: issuer_role(role),
        which: "subject",
    })?;
    let aki = cert.authority_key_id().ok_or(Error::MissingKeyIdentifier {
        role,
        which: "authority",
    })?;
    if aki != issuer_ski {
        return Err(Error::KeyIdentifierMismatch {
            role,
            expected: hex(issuer_ski),
            found: hex(aki),
        });
    }
    if !cert.signature_verifies_with(issuer) {
        return Err(Error::BadSignature { role });
    }
    check_validity(cert, role, now)?;
    check_role_extensions(cert, role)?;
    Ok(
        (!cert.issuer_name_matches(issuer)).then(|| IssuerNameMismatch {
            role,
            issuer_name: cert.issuer(),
            issuer_subject: issuer.subject(),
            key_id: hex(aki),
        }),
    )
}

fn issuer_role(role: Role) -> Role {
    if role == Role::Euicc {
        Role::Eum
    } else {
        Role::Ci
    }
}

fn check_validity(cert: &Certificate, role: Role, now: i64) -> Result<()> {
    // Before 1970 counts as 1970, as a `SystemTime` did.
    let now = std::time::Duration::from_secs(u64::try_from(now).unwrap_or(0));
    let nb = cert.not_before_time();
    let na = cert.not_after_time();
    if now < nb.to_unix_duration() {
        return Err(Error::NotYetValid {
            role,
            not_before: nb.to_date_time().to_string(),
        });
    }
    if now > na.to_unix_duration() {
        return Err(Error::Expired {
            role,
            not_after: na.to_date_time().to_string(),
        });
    }
    Ok(())
}

/// Policy, keyUsage, basicConstraints, TLS usage and critical-extension checks for `role`.
pub(crate) fn check_role_extensions(cert: &Certificate, role: Role) -> Result<()> {
    // Certificate policy.
    let policies = cert
        .policies
        .as_ref()
        .ok_or(Error::MissingPolicy { role })?;
    if !policies.value.contains(&role.policy_oid()) {
        return Err(Error::WrongPolicy {
            role,
            expected: role.policy_oid().to_string(),
            found: policies
                .value
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if role.policy_must_be_critical() && !policies.critical {
        return Err(Error::PolicyNotCritical { role });
    }

    // Key usage.
    let ku = cert
        .key_usage
        .as_ref()
        .ok_or_else(|| Error::WrongKeyUsage {
            role,
            detail: "keyUsage extension missing".into(),
        })?;
    if !ku.critical {
        return Err(Error::WrongKeyUsage {
            role,
            detail: "keyUsage is not critical".into(),
        });
    }
    let flags = ku.value.0;
    if role.is_ca() {
        if !flags.contains(KeyUsages::KeyCertSign) {
            return Err(Error::WrongKeyUsage {
                role,
                detail: "keyCertSign missing".into(),
            });
        }
        if role == Role::Ci && !flags.contains(KeyUsages::CRLSign) {
            return Err(Error::WrongKeyUsage {
                role,
                detail: "cRLSign missing".into(),
            });
        }
    } else {
        if !flags.contains(KeyUsages::DigitalSignature) {
            return Err(Error::WrongKeyUsage {
                role,
                detail: "digitalSignature missing".into(),
            });
        }
        if flags.contains(KeyUsages::KeyCertSign) || flags.contains(KeyUsages::CRLSign) {
            return Err(Error::WrongKeyUsage {
                role,
                detail: "end-entity certificate may not sign certificates or CRLs".into(),
            });
        }
    }

    // Basic constraints.
    match (&cert.basic_constraints, role.is_ca()) {
        (Some(bc), true) => {
            if !bc.value.ca {
                return Err(Error::WrongBasicConstraints {
                    role,
                    detail: "cA is FALSE".into(),
                });
            }
            if !bc.critical {
                return Err(Error::WrongBasicConstraints {
                    role,
                    detail: "basicConstraints is not critical".into(),
                });
            }
            if role == Role::Eum && bc.value.path_len_constraint.is_some_and(|p| p > 0) {
                return Err(Error::WrongBasicConstraints {
                    role,
                    detail: "EUM pathLenConstraint must be 0".into(),
                });
            }
        }
        (None, true) => {
            return Err(Error::WrongBasicConstraints {
                role,
                detail: "basicConstraints missing".into(),
            });
        }
        (Some(bc), false) if bc.value.ca => {
            return Err(Error::WrongBasicConstraints {
                role,
                detail: "end-entity certificate has cA TRUE".into(),
            });
        }
        _ => {}
    }

    // TLS server certificates.
    if matches!(role, Role::DpTls | Role::DsTls) {
        let eku = cert
            .ext_key_usage
            .as_ref()
            .ok_or_else(|| Error::WrongTlsUsage {
                role,
                detail: "extendedKeyUsage missing".into(),
            })?;
        if !eku.value.contains(&oids::KP_SERVER_AUTH) {
            return Err(Error::WrongTlsUsage {
                role,
                detail: "serverAuth missing".into(),
            });
        }
        if cert.dns_names.is_empty() {
            return Err(Error::WrongTlsUsage {
                role,
                detail: "no subjectAltName dNSName".into(),
            });
        }
    }

    if let Some(oid) = cert.unknown_critical.first() {
        return Err(Error::UnsupportedCriticalExtension {
            role,
            oid: oid.to_string(),
        });
    }
    if role != Role::Ci && cert.subject_key_id().is_none() {
        return Err(Error::MissingKeyIdentifier {
            role,
            which: "subject",
        });
    }
    Ok(())
}

fn check_eid_range(eum: &Certificate, eid: &str) -> Result<()> {
    let nc = eum.name_constraint_eid_prefixes();
    let eins = eum.permitted_eins();
    if nc.is_none() && eins.is_none() {
        return Err(Error::MissingEidRange);
    }
    let permits = |prefixes: &[String]| {
        prefixes
            .iter()
            .any(|p| !p.is_empty() && eid.starts_with(p.as_str()))
    };
    if let Some(prefixes) = nc
        && !permits(prefixes)
    {
        return Err(Error::EidOutsideNameConstraints {
            eid: eid.to_string(),
            permitted: prefixes.join(","),
        });
    }
    if let Some(prefixes) = eins
        && !permits(prefixes)
    {
        return Err(Error::EidOutsidePermittedEins {
            eid: eid.to_string(),
            permitted: prefixes.join(","),
        });
    }
    Ok(())
}
