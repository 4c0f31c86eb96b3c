//! Lab PKI generation: CI, EUM, eUICCs and SM-DP+ (DPauth, DPpb, DPtls) certificates on
//! NIST P-256 or brainpoolP256r1, with the extension set of the GSMA SGP.26 certificates.
//!
//! Certificates are assembled with `der` from `x509-cert` types and signed with RustCrypto
//! ECDSA (same code path for both curves).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use der::asn1::{
    AnyRef, BitString, GeneralizedTime, Ia5String, ObjectIdentifier, OctetString, PrintableString,
    UtcTime,
};
use der::{Any, Decode, Encode, Sequence};
use sha1::Digest;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::constraints::BasicConstraints;
use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage,
    KeyUsages, NameConstraints, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::cert::{Certificate, Role};
use crate::eid::{eid_from_prefix, is_valid_eid};
use crate::error::{Error, Result};
use crate::keys::{Curve, PrivateKey};
use crate::oids;
use crate::verify::CiStore;

/// How an EUM certificate states its permitted EID range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EidRangeStyle {
    /// X.509 nameConstraints, permittedSubtrees directoryName with serialNumber = prefix
    /// (SGP.22 v2 "variant O").
    NameConstraints,
    /// The GSMA permittedEins extension 2.23.146.1.2.2.0 (SEQUENCE OF PrintableString).
    PermittedEins,
    /// Both (the default).
    #[default]
    Both,
}

/// Who signs a certificate being issued.
#[derive(Clone, Copy, Debug)]
pub enum Issuer<'a> {
    /// Self-signed with the subject key (a CI).
    SelfSigned,
    /// Signed by `key`, the private key of `cert`.
    Cert {
        /// The issuing certificate.
        cert: &'a Certificate,
        /// Its private key.
        key: &'a PrivateKey,
    },
}

/// Everything that goes into one certificate. [`CertSpec::new`] fills in lab defaults and the
/// SGP.26 extension set of the role; the fields can then be changed (e.g. a wrong policy or
/// an expired validity for negative tests).
#[derive(Clone, Debug)]
pub struct CertSpec {
    /// Selects the extension set (SGP.26 layout of that role).
    pub role: Role,
    /// Subject attributes, one RDN each, in order. `countryName` and `serialNumber` are
    /// encoded as PrintableString, everything else as UTF8String.
    pub subject: Vec<(ObjectIdentifier, String)>,
    /// Serial number (big-endian, positive); derived from the content when `None`.
    pub serial: Option<Vec<u8>>,
    /// notBefore.
    pub not_before: SystemTime,
    /// notAfter.
    pub not_after: SystemTime,
    /// Certificate policy OIDs (default: the role's id-rspRole policy).
    pub policies: Vec<ObjectIdentifier>,
    /// Whether certificatePolicies is critical (default: as SGP.26; all but DPtls).
    pub policies_critical: bool,
    /// EUM only: permitted EID prefixes.
    pub eid_prefixes: Vec<String>,
    /// EUM only: how the prefixes are stated.
    pub eid_range_style: EidRangeStyle,
    /// subjectAltName dNSNames (DPtls: the SM-DP+ FQDN).
    pub dns_names: Vec<String>,
    /// subjectAltName registeredID, dotted (the entity's OID, e.g. the SM-DP+ OID; SGP.26
    /// uses the 2.999 test arc, which is why this is a string).
    pub registered_id: Option<String>,
    /// cRLDistributionPoints URIs (none: no extension).
    pub crl_urls: Vec<String>,
}

/// Lab default notBefore: 2020-01-01T00:00:00Z.
pub(crate) fn lab_not_before() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800)
}

/// Lab default notAfter: 9999-12-31T23:59:59Z (RFC 5280 "no well-defined expiration").
pub(crate) fn lab_not_after() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799)
}

impl CertSpec {
    /// A spec for `role` with lab defaults: validity 2020-01-01 … 9999-12-31, the role's
    /// policy, SGP.26 criticality, no SAN, no CRL distribution point.
    pub fn new(role: Role, subject: Vec<(ObjectIdentifier, String)>) -> CertSpec {
        CertSpec {
            role,
            subject,
            serial: None,
            not_before: lab_not_before(),
            not_after: lab_not_after(),
            policies: vec![role.policy_oid()],
            policies_critical: role.policy_must_be_critical(),
            eid_prefixes: Vec::new(),
            eid_range_style: EidRangeStyle::default(),
            dns_names: Vec::new(),
            registered_id: None,
            crl_urls: Vec::new(),
        }
    }
}

/// A certificate with its private key.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate.
    pub cert: Certificate,
    /// Its private key.
    pub key: PrivateKey,
}

/// An eUICC certificate with its EID and private key (SK.EUICC.ECDSA).
#[derive(Clone, Debug)]
pub struct IssuedEuicc {
    /// The EID in the certificate's subject serialNumber.
    pub eid: String,
    /// The certificate.
    pub cert: Certificate,
    /// Its private key.
    pub key: PrivateKey,
}

/// The three certificates of one SM-DP+.
#[derive(Clone, Debug)]
pub struct SmdpCerts {
    /// The SM-DP+ FQDN (the DPtls dNSName).
    pub fqdn: String,
    /// CERT.DPauth.ECDSA (signs serverSigned1).
    pub auth: Issued,
    /// CERT.DPpb.ECDSA (signs smdpSigned2 and the bound profile package).
    pub pb: Issued,
    /// CERT.DP.TLS (TLS server certificate).
    pub tls: Issued,
}

/// The two certificates of one SM-DS (SGP.22 §4.5.2: CERT.DSauth.ECDSA signs ES11's
/// serverSigned1, CERT.DS.TLS serves ES11/ES12), laid out like the SM-DP+'s.
#[derive(Clone, Debug)]
pub struct SmdsCerts {
    /// The SM-DS FQDN (the DStls dNSName).
    pub fqdn: String,
    /// CERT.DSauth.ECDSA (policy id-rspRole-ds-auth, 2.23.146.1.2.1.7).
    pub auth: Issued,
    /// CERT.DS.TLS (policy id-rspRole-ds-tls, 2.23.146.1.2.1.6).
    pub tls: Issued,
}

/// A complete lab PKI on one curve: what [`generate_lab_pki`] makes and [`crate::load_sgp26`]
/// loads.
#[derive(Clone, Debug)]
pub struct LabPki {
    /// The curve of the CI (and of every key generated by [`generate_lab_pki`]).
    pub curve: Curve,
    /// The CI (root) certificate.
    pub ci: Certificate,
    /// The CI private key (`None` for SGP.26, whose CI key is not published).
    pub ci_key: Option<PrivateKey>,
    /// The EUM certificate and key (`None` for SGP.26).
    pub eum: Option<Issued>,
    /// eUICC certificates (empty for SGP.26).
    pub euiccs: Vec<IssuedEuicc>,
    /// The SM-DP+ certificates.
    pub smdp: SmdpCerts,
    /// The SM-DS certificates (`None` for SGP.26, which has none, and for PKI directories
    /// written before SM-DS certificates were issued).
    pub smds: Option<SmdsCerts>,
}

/// Options for [`generate_lab_pki`] / [`write_lab_pki`].
#[derive(Clone, Debug)]
pub struct LabPkiOptions {
    /// Curve of every key.
    pub curve: Curve,
    /// The SM-DP+ FQDN (DPtls subjectAltName dNSName and CN).
    pub smdp_fqdn: String,
    /// The SM-DS FQDN (DStls subjectAltName dNSName and CN); by default [`smds_fqdn_for`]
    /// the SM-DP+ FQDN.
    pub smds_fqdn: String,
    /// Organization name used in the subjects.
    pub organization: String,
    /// EID prefixes the EUM may issue (decimal digits, at most 28; default `["89049032"]`).
    pub eid_prefixes: Vec<String>,
    /// How the EUM states the prefixes.
    pub eid_range_style: EidRangeStyle,
    /// eUICCs with these EIDs (must be valid and inside the range).
    pub euicc_eids: Vec<String>,
    /// Number of further eUICCs, EIDs `eid_from_prefix(eid_prefixes[0], 1..=n)`.
    pub euicc_count: u64,
    /// notBefore of every certificate.
    pub not_before: SystemTime,
    /// notAfter of every certificate.
    pub not_after: SystemTime,
}

impl LabPkiOptions {
    /// Lab defaults: organization "Simforge Lab", EID prefix 89049032 (both constraint
    /// styles), one eUICC, validity 2020-01-01 … 9999-12-31.
    pub fn new(curve: Curve, smdp_fqdn: &str) -> LabPkiOptions {
        LabPkiOptions {
            curve,
            smdp_fqdn: smdp_fqdn.to_string(),
            smds_fqdn: smds_fqdn_for(smdp_fqdn),
            organization: "Simforge Lab".to_string(),
            eid_prefixes: vec!["89049032".to_string()],
            eid_range_style: EidRangeStyle::Both,
            euicc_eids: Vec::new(),
            euicc_count: 1,
            not_before: lab_not_before(),
            not_after: lab_not_after(),
        }
    }
}

/// The lab SM-DS FQDN beside an SM-DP+ FQDN: `smdp.` replaced by `smds.` (`smdp.example`
/// → `smds.example`), else `smds.` prepended.
pub fn smds_fqdn_for(smdp_fqdn: &str) -> String {
    match smdp_fqdn.strip_prefix("smdp.") {
        Some(rest) => format!("smds.{rest}"),
        None => format!("smds.{smdp_fqdn}"),
    }
}

/// Test OIDs (the 2.999 arc, as SGP.26 uses) for subjectAltName registeredID.
const LAB_CI_OID: &str = "2.999.1";
const LAB_EUM_OID: &str = "2.999.5";
const LAB_SMDP_OID: &str = "2.999.10";
const LAB_SMDS_OID: &str = "2.999.11";

/// Generates a complete lab PKI in memory (see [`write_lab_pki`] to also write it out).
pub fn generate_lab_pki(options: &LabPkiOptions) -> Result<LabPki> {
    let curve = options.curve;
    let org = options.organization.as_str();
    let fqdn = options.smdp_fqdn.as_str();
    if fqdn.is_empty() || Ia5String::new(fqdn).is_err() || fqdn.contains(['/', ' ', ':']) {
        return Err(Error::InvalidOption(format!("bad SM-DP+ FQDN '{fqdn}'")));
    }
    let ds_fqdn = options.smds_fqdn.as_str();
    if ds_fqdn.is_empty() || Ia5String::new(ds_fqdn).is_err() || ds_fqdn.contains(['/', ' ', ':']) {
        return Err(Error::InvalidOption(format!("bad SM-DS FQDN '{ds_fqdn}'")));
    }
    let first_prefix = options
        .eid_prefixes
        .first()
        .ok_or_else(|| Error::InvalidOption("no EID prefix".into()))?;
    for p in &options.eid_prefixes {
        if p.is_empty() || p.len() > 28 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidOption(format!(
                "EID prefix '{p}' must be 1 to 28 decimal digits"
            )));
        }
    }
    let mut eids = options.euicc_eids.clone();
    for i in 1..=options.euicc_count {
        eids.push(eid_from_prefix(first_prefix, i)?);
    }
    for eid in &eids {
        if !is_valid_eid(eid) {
            return Err(Error::InvalidEid(eid.clone()));
        }
        if !options
            .eid_prefixes
            .iter()
            .any(|p| eid.starts_with(p.as_str()))
        {
            return Err(Error::InvalidOption(format!(
                "EID {eid} is outside the EUM range"
            )));
        }
    }
    let crl = vec![format!("http://ci.{fqdn}/ci.crl")];
    let timed = |mut spec: CertSpec| {
        spec.not_before = options.not_before;
        spec.not_after = options.not_after;
        spec
    };

    // CI
    let ci_key = PrivateKey::generate(curve)?;
    let mut spec = timed(CertSpec::new(
        Role::Ci,
        vec![
            (oids::AT_COMMON_NAME, format!("{org} CI")),
            (oids::AT_ORGANIZATIONAL_UNIT, "TESTCERT".into()),
            (oids::AT_ORGANIZATION, org.into()),
        ],
    ));
    spec.registered_id = Some(LAB_CI_OID.into());
    spec.crl_urls = crl.clone();
    let ci = issue_certificate(&spec, &ci_key, Issuer::SelfSigned)?;
    let by_ci = Issuer::Cert {
        cert: &ci,
        key: &ci_key,
    };

    // EUM
    let eum_key = PrivateKey::generate(curve)?;
    let mut spec = timed(CertSpec::new(
        Role::Eum,
        vec![
            (oids::AT_ORGANIZATION, format!("{org} EUM")),
            (oids::AT_COMMON_NAME, format!("{org} EUM")),
        ],
    ));
    spec.registered_id = Some(LAB_EUM_OID.into());
    spec.crl_urls = crl.clone();
    spec.eid_prefixes = options.eid_prefixes.clone();
    spec.eid_range_style = options.eid_range_style;
    let eum = Issued {
        cert: issue_certificate(&spec, &eum_key, by_ci)?,
        key: eum_key,
    };

    // eUICCs
    let mut euiccs = Vec::with_capacity(eids.len());
    for eid in eids {
        let key = PrivateKey::generate(curve)?;
        let spec = timed(CertSpec::new(
            Role::Euicc,
            vec![
                (oids::AT_ORGANIZATION, format!("{org} EUM")),
                (oids::AT_SERIAL_NUMBER, eid.clone()),
                (oids::AT_COMMON_NAME, format!("{org} eUICC")),
            ],
        ));
        let by_eum = Issuer::Cert {
            cert: &eum.cert,
            key: &eum.key,
        };
        let cert = issue_certificate(&spec, &key, by_eum)?;
        euiccs.push(IssuedEuicc { eid, cert, key });
    }

    // SM-DP+ and SM-DS
    let dp = |role: Role, cn: &str| -> Result<Issued> {
        let key = PrivateKey::generate(curve)?;
        let mut spec = timed(CertSpec::new(
            role,
            vec![
                (oids::AT_ORGANIZATION, org.into()),
                (oids::AT_COMMON_NAME, cn.into()),
            ],
        ));
        let is_ds = matches!(role, Role::DsAuth | Role::DsTls);
        spec.registered_id = Some(if is_ds { LAB_SMDS_OID } else { LAB_SMDP_OID }.into());
        spec.crl_urls = crl.clone();
        match role {
            Role::DpTls => spec.dns_names = vec![fqdn.to_string()],
            Role::DsTls => spec.dns_names = vec![ds_fqdn.to_string()],
            _ => {}
        }
        Ok(Issued {
            cert: issue_certificate(&spec, &key, by_ci)?,
            key,
        })
    };
    let smdp = SmdpCerts {
        fqdn: fqdn.to_string(),
        auth: dp(Role::DpAuth, &format!("{org} SM-DP+"))?,
        pb: dp(Role::DpPb, &format!("{org} SM-DP+"))?,
        tls: dp(Role::DpTls, fqdn)?,
    };
    let smds = SmdsCerts {
        fqdn: ds_fqdn.to_string(),
        auth: dp(Role::DsAuth, &format!("{org} SM-DS"))?,
        tls: dp(Role::DsTls, ds_fqdn)?,
    };

    Ok(LabPki {
        curve,
        ci,
        ci_key: Some(ci_key),
        eum: Some(eum),
        euiccs,
        smdp,
        smds: Some(smds),
    })
}

/// Generates a lab PKI ([`generate_lab_pki`]) and writes it to `dir` ([`LabPki::write_to`]).
pub fn write_lab_pki(dir: &Path, options: &LabPkiOptions) -> Result<LabPki> {
    let pki = generate_lab_pki(options)?;
    pki.write_to(dir)?;
    Ok(pki)
}

impl LabPki {
    /// A [`CiStore`] trusting this PKI's CI.
    pub fn ci_store(&self) -> Result<CiStore> {
        let mut store = CiStore::new();
        store.add(self.ci.clone())?;
        Ok(store)
    }

    /// Writes the PKI to `dir` (created if needed). Layout:
    ///
    /// ```text
    /// dir/README.txt                    what is where, curve, FQDN, CI PKID, EIDs
    /// dir/ci/ci.{der,pem}               CI certificate   ci/ci.key.pem (if the key is known)
    /// dir/eum/eum.{der,pem}             EUM certificate  eum/eum.key.pem
    /// dir/euicc/<EID>.{der,pem}         eUICC certificates, euicc/<EID>.key.pem
    /// dir/smdp/dpauth.{der,pem}         DPauth           smdp/dpauth.key.pem
    /// dir/smdp/dppb.{der,pem}           DPpb             smdp/dppb.key.pem
    /// dir/smdp/dptls.{der,pem}          DPtls            smdp/dptls.key.pem
    /// dir/smdp/dptls-chain.pem          DPtls certificate then the CI (TLS chain)
    /// dir/smds/dsauth.{der,pem}         DSauth           smds/dsauth.key.pem
    /// dir/smds/dstls.{der,pem}          DStls            smds/dstls.key.pem
    /// dir/smds/dstls-chain.pem          DStls certificate then the CI (TLS chain)
    /// ```
    ///
    /// Private keys are PKCS#8 PEM, mode 0600; every file is written to a temporary name in
    /// the same directory and renamed into place.
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        let ci_dir = dir.join("ci");
        write_cert(&ci_dir, "ci", &self.ci)?;
        if let Some(key) = &self.ci_key {
            write_key(&ci_dir, "ci", key)?;
        }
        if let Some(eum) = &self.eum {
            write_issued(&dir.join("eum"), "eum", eum)?;
        }
        for e in &self.euiccs {
            write_cert(&dir.join("euicc"), &e.eid, &e.cert)?;
            write_key(&dir.join("euicc"), &e.eid, &e.key)?;
        }
        let smdp = dir.join("smdp");
        write_issued(&smdp, "dpauth", &self.smdp.auth)?;
        write_issued(&smdp, "dppb", &self.smdp.pb)?;
        write_issued(&smdp, "dptls", &self.smdp.tls)?;
        let chain = format!("{}{}", self.smdp.tls.cert.to_pem(), self.ci.to_pem());
        write_atomic(&smdp.join("dptls-chain.pem"), chain.as_bytes(), 0o644)?;
        if let Some(ds) = &self.smds {
            let smds = dir.join("smds");
            write_issued(&smds, "dsauth", &ds.auth)?;
            write_issued(&smds, "dstls", &ds.tls)?;
            let chain = format!("{}{}", ds.tls.cert.to_pem(), self.ci.to_pem());
            write_atomic(&smds.join("dstls-chain.pem"), chain.as_bytes(), 0o644)?;
        }

        let mut readme = format!(
            "simforge lab PKI ({curve})\n\
             SM-DP+ FQDN: {fqdn}\n\
             SM-DS FQDN: {ds_fqdn}\n\
             CI PKID (subject key identifier): {pkid}\n\n\
             ci/ci.{{der,pem}}            CI certificate{cikey}\n\
             eum/eum.{{der,pem}}          EUM certificate, eum/eum.key.pem\n\
             euicc/<EID>.{{der,pem}}      eUICC certificates, euicc/<EID>.key.pem\n\
             smdp/dpauth.{{der,pem}}      DPauth, smdp/dpauth.key.pem\n\
             smdp/dppb.{{der,pem}}        DPpb, smdp/dppb.key.pem\n\
             smdp/dptls.{{der,pem}}       DPtls, smdp/dptls.key.pem; smdp/dptls-chain.pem = DPtls + CI\n\
             smds/dsauth.{{der,pem}}      DSauth, smds/dsauth.key.pem (SM-DS)\n\
             smds/dstls.{{der,pem}}       DStls, smds/dstls.key.pem; smds/dstls-chain.pem = DStls + CI\n\
             Private keys: PKCS#8 PEM, mode 0600.\n",
            curve = self.curve,
            fqdn = self.smdp.fqdn,
            ds_fqdn = self.smds.as_ref().map_or("-", |s| s.fqdn.as_str()),
            pkid = self
                .ci
                .subject_key_id()
                .map(crate::cert::hex)
                .unwrap_or_default(),
            cikey = if self.ci_key.is_some() {
                ", ci/ci.key.pem"
            } else {
                " (no private key)"
            },
        );
        if !self.euiccs.is_empty() {
            readme.push_str("\nEIDs:\n");
            for e in &self.euiccs {
                readme.push_str(&e.eid);
                readme.push('\n');
            }
        }
        write_atomic(&dir.join("README.txt"), readme.as_bytes(), 0o644)
    }
}

fn write_issued(dir: &Path, stem: &str, issued: &Issued) -> Result<()> {
    write_cert(dir, stem, &issued.cert)?;
    write_key(dir, stem, &issued.key)
}

fn write_cert(dir: &Path, stem: &str, cert: &Certificate) -> Result<()> {
    write_atomic(&dir.join(format!("{stem}.der")), cert.der(), 0o644)?;
    write_atomic(
        &dir.join(format!("{stem}.pem")),
        cert.to_pem().as_bytes(),
        0o644,
    )
}

fn write_key(dir: &Path, stem: &str, key: &PrivateKey) -> Result<()> {
    let pem = key.to_pkcs8_pem()?;
    write_atomic(&dir.join(format!("{stem}.key.pem")), pem.as_bytes(), 0o600)
}

/// Writes `bytes` to a temporary file next to `path` (created with `mode`), syncs it and
/// renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let io = |p: &Path| {
        let p: PathBuf = p.to_path_buf();
        move |source| Error::Io { path: p, source }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io(path))
}

// ---------------------------------------------------------------------------------------
// Certificate assembly

#[derive(Sequence)]
struct TbsOut {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

#[derive(Sequence)]
struct CertOut<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// A DER TLV with a one-byte tag.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// BER content octets of a dotted OID. Written by hand because `const-oid` rejects second
/// arcs above 39 under arc 2, such as the 2.999 test arc used by SGP.26.
fn oid_content(dotted: &str) -> Result<Vec<u8>> {
    let bad = || Error::InvalidOption(format!("bad OID '{dotted}'"));
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse::<u64>().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) {
        return Err(bad());
    }
    let first = arcs[0]
        .checked_mul(40)
        .and_then(|v| v.checked_add(arcs[1]))
        .ok_or_else(bad)?;
    let mut out = Vec::new();
    for arc in std::iter::once(first).chain(arcs[2..].iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push(((rest & 0x7f) as u8) | 0x80);
            rest >>= 7;
        }
        out.extend(groups.into_iter().rev());
    }
    Ok(out)
}

fn enc(e: der::Error) -> Error {
    Error::Encoding(e.to_string())
}

fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(enc)?).map_err(enc)?,
    })
}

fn time(t: SystemTime) -> Result<Time> {
    let dt = der::DateTime::from_system_time(t).map_err(enc)?;
    Ok(if dt.year() < 2050 {
        Time::UtcTime(UtcTime::from_date_time(dt).map_err(enc)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_date_time(dt))
    })
}

fn name(attrs: &[(ObjectIdentifier, String)]) -> Result<Name> {
    let mut seq = RdnSequence::default();
    for (oid, value) in attrs {
        let value = if *oid == oids::AT_COUNTRY || *oid == oids::AT_SERIAL_NUMBER {
            Any::encode_from(&PrintableString::new(value).map_err(enc)?).map_err(enc)?
        } else {
            Any::encode_from(&der::asn1::Utf8StringRef::new(value).map_err(enc)?).map_err(enc)?
        };
        let rdn =
            RelativeDistinguishedName::try_from(vec![AttributeTypeAndValue { oid: *oid, value }])
                .map_err(enc)?;
        seq.push(rdn);
    }
    Name::from_der(&seq.to_der().map_err(enc)?).map_err(enc)
}

fn spki(key: &PrivateKey) -> Result<SubjectPublicKeyInfoOwned> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: oids::EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&key.curve().oid()).map_err(enc)?),
        },
        subject_public_key: BitString::from_bytes(&key.public_key_sec1()).map_err(enc)?,
    })
}

/// RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value (what
/// OpenSSL's `subjectKeyIdentifier = hash` computes).
fn key_id(public_key_sec1: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(public_key_sec1).to_vec()
}

/// Issues (builds and signs) one certificate for `subject_key` as described by `spec`.
pub fn issue_certificate(
    spec: &CertSpec,
    subject_key: &PrivateKey,
    issuer: Issuer<'_>,
) -> Result<Certificate> {
    let subject = name(&spec.subject)?;
    let (issuer_name, signer, aki) = match issuer {
        Issuer::SelfSigned => (subject.clone(), subject_key, None),
        Issuer::Cert { cert, key } => (
            cert.x509().tbs_certificate().subject().clone(),
            key,
            Some(
                cert.subject_key_id()
                    .map(<[u8]>::to_vec)
                    .unwrap_or_else(|| key_id(cert.public_key_sec1())),
            ),
        ),
    };
    let pk = subject_key.public_key_sec1();
    let ski = key_id(&pk);
    let alg = AlgorithmIdentifierOwned {
        oid: oids::ECDSA_WITH_SHA256,
        parameters: None,
    };

    let serial = match &spec.serial {
        Some(s) => s.clone(),
        None => {
            let mut h = sha2::Sha256::new();
            h.update(&pk);
            h.update(signer.public_key_sec1());
            h.update(subject.to_der().map_err(enc)?);
            h.update(format!(
                "{:?}{:?}{:?}",
                spec.not_before, spec.not_after, spec.policies
            ));
            let mut s = h.finalize()[..16].to_vec();
            s[0] = (s[0] & 0x7f) | 0x40;
            s
        }
    };

    let ski_ext = ext(
        oids::CE_SUBJECT_KEY_IDENTIFIER,
        false,
        &SubjectKeyIdentifier(OctetString::new(ski).map_err(enc)?),
    )?;
    let aki_ext = match aki {
        Some(kid) => Some(ext(
            oids::CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(kid).map_err(enc)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?),
        None => None,
    };
    let policies = ext(
        oids::CE_CERTIFICATE_POLICIES,
        spec.policies_critical,
        &CertificatePolicies(
            spec.policies
                .iter()
                .map(|oid| PolicyInformation {
                    policy_identifier: *oid,
                    policy_qualifiers: None,
                })
                .collect(),
        ),
    )?;
    let key_usage =
        |usages: flagset::FlagSet<KeyUsages>| ext(oids::CE_KEY_USAGE, true, &KeyUsage(usages));
    let san = if spec.dns_names.is_empty() && spec.registered_id.is_none() {
        None
    } else {
        let mut content = Vec::new();
        for dns in &spec.dns_names {
            Ia5String::new(dns).map_err(enc)?;
            content.extend(tlv(0x82, dns.as_bytes()));
        }
        if let Some(rid) = &spec.registered_id {
            content.extend(tlv(0x88, &oid_content(rid)?));
        }
        Some(Extension {
            extn_id: oids::CE_SUBJECT_ALT_NAME,
            critical: false,
            extn_value: OctetString::new(tlv(0x30, &content)).map_err(enc)?,
        })
    };
    let crldp = if spec.crl_urls.is_empty() {
        None
    } else {
        let mut points = Vec::new();
        for url in &spec.crl_urls {
            points.push(DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(Ia5String::new(url).map_err(enc)?),
                ])),
                reasons: None,
                crl_issuer: None,
            });
        }
        Some(ext(
            oids::CE_CRL_DISTRIBUTION_POINTS,
            false,
            &CrlDistributionPoints(points),
        )?)
    };

    // Extension order as in the SGP.26 certificates.
    let mut exts: Vec<Option<Extension>> = Vec::new();
    match spec.role {
        Role::Ci => {
            exts.push(Some(ski_ext));
            exts.push(Some(ext(
                oids::CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                },
            )?));
            exts.push(Some(policies));
            exts.push(Some(key_usage(
                KeyUsages::KeyCertSign | KeyUsages::CRLSign,
            )?));
            exts.push(san);
            exts.push(crldp);
        }
        Role::Eum => {
            exts.push(aki_ext);
            exts.push(Some(ski_ext));
            exts.push(Some(key_usage(KeyUsages::KeyCertSign.into())?));
            exts.push(Some(policies));
            exts.push(san);
            exts.push(Some(ext(
                oids::CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
            )?));
            exts.push(crldp);
            if matches!(
                spec.eid_range_style,
                EidRangeStyle::NameConstraints | EidRangeStyle::Both
            ) {
                let mut subtrees = Vec::new();
                let org: Vec<(ObjectIdentifier, String)> = spec
                    .subject
                    .iter()
                    .filter(|(oid, _)| *oid == oids::AT_ORGANIZATION)
                    .cloned()
                    .collect();
                for prefix in &spec.eid_prefixes {
                    let mut attrs = org.clone();
                    attrs.push((oids::AT_SERIAL_NUMBER, prefix.clone()));
                    subtrees.push(GeneralSubtree {
                        base: GeneralName::DirectoryName(name(&attrs)?),
                        minimum: 0,
                        maximum: None,
                    });
                }
                exts.push(Some(ext(
                    oids::CE_NAME_CONSTRAINTS,
                    true,
                    &NameConstraints {
                        permitted_subtrees: Some(subtrees),
                        excluded_subtrees: None,
                    },
                )?));
            }
            if matches!(
                spec.eid_range_style,
                EidRangeStyle::PermittedEins | EidRangeStyle::Both
            ) {
                let mut eins = Vec::new();
                for prefix in &spec.eid_prefixes {
                    eins.push(PrintableString::new(prefix).map_err(enc)?);
                }
                exts.push(Some(ext(oids::PERMITTED_EINS, false, &eins)?));
            }
        }
        Role::Euicc => {
            exts.push(aki_ext);
            exts.push(Some(ski_ext));
            exts.push(Some(key_usage(KeyUsages::DigitalSignature.into())?));
            exts.push(Some(policies));
            exts.push(san);
            exts.push(crldp);
        }
        Role::DpAuth | Role::DpPb | Role::DsAuth => {
            exts.push(aki_ext);
            exts.push(Some(ski_ext));
            exts.push(san);
            exts.push(Some(key_usage(KeyUsages::DigitalSignature.into())?));
            exts.push(Some(policies));
            exts.push(crldp);
        }
        Role::DpTls | Role::DsTls => {
            exts.push(Some(key_usage(KeyUsages::DigitalSignature.into())?));
            exts.push(Some(ext(
                oids::CE_EXT_KEY_USAGE,
                true,
                &ExtendedKeyUsage(vec![oids::KP_SERVER_AUTH, oids::KP_CLIENT_AUTH]),
            )?));
            exts.push(Some(policies));
            exts.push(Some(ski_ext));
            exts.push(aki_ext);
            exts.push(san);
            exts.push(crldp);
        }
    }

    let tbs = TbsOut {
        version: 2,
        serial: SerialNumber::new(&serial).map_err(enc)?,
        signature: alg.clone(),
        issuer: issuer_name,
        validity: Validity::new(time(spec.not_before)?, time(spec.not_after)?),
        subject,
        spki: spki(subject_key)?,
        extensions: exts.into_iter().flatten().collect(),
    };
    let tbs_der = tbs.to_der().map_err(enc)?;
    let sig = signer.sign_der(&tbs_der);
    let cert = CertOut {
        tbs: AnyRef::from_der(&tbs_der).map_err(enc)?,
        algorithm: alg,
        signature: BitString::from_bytes(&sig).map_err(enc)?,
    };
    Certificate::from_der(&cert.to_der().map_err(enc)?)
}
