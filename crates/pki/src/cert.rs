//! The [`Certificate`] wrapper: a parsed X.509 certificate plus its raw DER and the SGP.22
//! fields extracted from it.

use std::fmt;
use std::time::SystemTime;

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, PrintableString};
use der::{Decode, Encode, EncodePem, Sequence, Tag, Tagged};
use x509_cert::ext::pkix::constraints::BasicConstraints;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, CertificatePolicies, ExtendedKeyUsage, KeyUsage, KeyUsages,
    NameConstraints, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::error::{Error, Result};
use crate::keys::{self, Curve};
use crate::oids;

/// The RSP role of a certificate, given by its SGP.22 certificate policy (id-rspRole-*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Certificate Issuer (root), `2.23.146.1.2.1.0`.
    Ci,
    /// eUICC, `2.23.146.1.2.1.1`.
    Euicc,
    /// eUICC Manufacturer, `2.23.146.1.2.1.2`.
    Eum,
    /// SM-DP+ TLS, `2.23.146.1.2.1.3`.
    DpTls,
    /// SM-DP+ authentication (signs serverSigned1), `2.23.146.1.2.1.4`.
    DpAuth,
    /// SM-DP+ profile binding (signs smdpSigned2, InitialiseSecureChannel), `2.23.146.1.2.1.5`.
    DpPb,
    /// SM-DS TLS, `2.23.146.1.2.1.6`.
    DsTls,
    /// SM-DS authentication, `2.23.146.1.2.1.7`.
    DsAuth,
}

impl Role {
    /// All roles, in policy-OID order.
    pub const ALL: [Role; 8] = [
        Role::Ci,
        Role::Euicc,
        Role::Eum,
        Role::DpTls,
        Role::DpAuth,
        Role::DpPb,
        Role::DsTls,
        Role::DsAuth,
    ];

    /// The certificate policy OID of this role.
    pub fn policy_oid(self) -> ObjectIdentifier {
        match self {
            Role::Ci => oids::ID_RSP_ROLE_CI,
            Role::Euicc => oids::ID_RSP_ROLE_EUICC,
            Role::Eum => oids::ID_RSP_ROLE_EUM,
            Role::DpTls => oids::ID_RSP_ROLE_DP_TLS,
            Role::DpAuth => oids::ID_RSP_ROLE_DP_AUTH,
            Role::DpPb => oids::ID_RSP_ROLE_DP_PB,
            Role::DsTls => oids::ID_RSP_ROLE_DS_TLS,
            Role::DsAuth => oids::ID_RSP_ROLE_DS_AUTH,
        }
    }

    /// The role for a certificate policy OID.
    pub fn from_policy_oid(oid: &ObjectIdentifier) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.policy_oid() == *oid)
    }

    /// Whether SGP.22 requires the certificatePolicies extension to be critical. The TLS
    /// certificates (as shipped in SGP.26) carry it non-critical, so it is not required there.
    pub fn policy_must_be_critical(self) -> bool {
        !matches!(self, Role::DpTls | Role::DsTls)
    }

    /// Whether certificates of this role are CA certificates.
    pub fn is_ca(self) -> bool {
        matches!(self, Role::Ci | Role::Eum)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Ci => "CI",
            Role::Euicc => "eUICC",
            Role::Eum => "EUM",
            Role::DpTls => "DPtls",
            Role::DpAuth => "DPauth",
            Role::DpPb => "DPpb",
            Role::DsTls => "DStls",
            Role::DsAuth => "DSauth",
        })
    }
}

/// `[2] IMPLICIT IA5String` (GeneralName dNSName).
const DNS_NAME_TAG: Tag = Tag::ContextSpecific {
    constructed: false,
    number: der::TagNumber(2),
};

/// Raw view of the outer SEQUENCE, to keep the TBSCertificate bytes exactly as signed.
#[derive(Sequence)]
struct RawCertificate<'a> {
    tbs: AnyRef<'a>,
    algorithm: AnyRef<'a>,
    signature: BitStringRef<'a>,
}

/// A parsed extension that may occur at most once.
#[derive(Clone, Debug)]
pub(crate) struct Ext<T> {
    pub(crate) critical: bool,
    pub(crate) value: T,
}

/// A DER X.509 certificate with the SGP.22-relevant fields parsed.
///
/// Construction ([`Certificate::from_der`], [`Certificate::from_pem`]) checks the encoding,
/// the signature algorithm (ecdsa-with-SHA256), the public key (valid point on P-256 or
/// brainpoolP256r1) and that every extension used by SGP.22 decodes; it does *not* check
/// signatures, validity or roles — that is what [`crate::verify_euicc_chain`],
/// [`crate::verify_dp_cert`] and [`crate::CiStore`] do.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs_der: Vec<u8>,
    signature: Vec<u8>,
    x509: x509_cert::Certificate,
    curve: Curve,
    public_key: Vec<u8>,
    pub(crate) ski: Option<Vec<u8>>,
    pub(crate) aki: Option<Vec<u8>>,
    pub(crate) policies: Option<Ext<Vec<ObjectIdentifier>>>,
    pub(crate) key_usage: Option<Ext<KeyUsage>>,
    pub(crate) basic_constraints: Option<Ext<BasicConstraints>>,
    pub(crate) ext_key_usage: Option<Ext<Vec<ObjectIdentifier>>>,
    pub(crate) dns_names: Vec<String>,
    /// serialNumber prefixes from nameConstraints permittedSubtrees directoryNames.
    pub(crate) name_constraint_prefixes: Option<Vec<String>>,
    /// Prefixes from the GSMA permittedEins extension.
    pub(crate) permitted_eins: Option<Vec<String>>,
    pub(crate) unknown_critical: Vec<ObjectIdentifier>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("issuer", &self.issuer())
            .field("role", &self.role())
            .field("curve", &self.curve)
            .field("subject_key_id", &self.ski.as_deref().map(hex))
            .finish_non_exhaustive()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}
impl Eq for Certificate {}

fn decode_ext<'a, T: Decode<'a>>(bytes: &'a [u8], what: &str) -> Result<T> {
    T::from_der(bytes).map_err(|e| Error::Malformed(format!("{what} extension: {e}")))
}

fn set_once<T>(slot: &mut Option<T>, value: T, what: &str) -> Result<()> {
    if slot.is_some() {
        return Err(Error::Malformed(format!("duplicate {what} extension")));
    }
    *slot = Some(value);
    Ok(())
}

/// The content octets of an OBJECT IDENTIFIER → dotted text (any arc size).
fn oid_to_dotted(content: &[u8]) -> Option<String> {
    if content.is_empty() || content.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    let mut started = false;
    for &b in content {
        if !started && b == 0x80 {
            return None; // non-minimal encoding
        }
        acc = acc.checked_mul(128)?.checked_add(u128::from(b & 0x7F))?;
        started = true;
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
            started = false;
        }
    }
    let first = arcs.first().copied()?;
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for arc in &arcs[1..] {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    Some(out)
}

/// Reads a directory-string-like attribute value as text.
fn attr_string(value: &der::Any) -> Option<String> {
    match value.tag() {
        Tag::PrintableString | Tag::Utf8String | Tag::Ia5String | Tag::TeletexString => {
            String::from_utf8(value.value().to_vec()).ok()
        }
        _ => None,
    }
}

fn serial_number_of(name: &Name) -> Option<String> {
    name.iter()
        .find(|atv| atv.oid == oids::AT_SERIAL_NUMBER)
        .and_then(|atv| attr_string(&atv.value))
}

impl Certificate {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Certificate> {
        let raw = RawCertificate::from_der(der)?;
        let tbs_der = raw.tbs.to_der()?;
        let signature = raw
            .signature
            .as_bytes()
            .ok_or_else(|| Error::Malformed("signature BIT STRING has unused bits".into()))?
            .to_vec();
        let x509 = x509_cert::Certificate::from_der(der)?;
        let tbs = x509.tbs_certificate();

        if x509.signature_algorithm().oid != oids::ECDSA_WITH_SHA256 {
            return Err(Error::UnsupportedSignatureAlgorithm(
                x509.signature_algorithm().oid.to_string(),
            ));
        }
        if tbs.signature() != x509.signature_algorithm() {
            return Err(Error::Malformed(
                "tbsCertificate.signature differs from signatureAlgorithm".into(),
            ));
        }
        if x509.signature_algorithm().parameters.is_some() {
            return Err(Error::Malformed(
                "ecdsa-with-SHA256 AlgorithmIdentifier must have no parameters".into(),
            ));
        }

        let spki = tbs.subject_public_key_info();
        if spki.algorithm.oid != oids::EC_PUBLIC_KEY {
            return Err(Error::UnsupportedCurve(spki.algorithm.oid.to_string()));
        }
        let curve_oid: ObjectIdentifier = spki
            .algorithm
            .parameters
            .as_ref()
            .ok_or_else(|| Error::UnsupportedCurve("EC key without named curve".into()))?
            .decode_as()
            .map_err(|_| {
                Error::UnsupportedCurve("EC key parameters are not a named curve".into())
            })?;
        let curve = Curve::from_oid(&curve_oid)
            .ok_or_else(|| Error::UnsupportedCurve(curve_oid.to_string()))?;
        let public_key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::Malformed("public key BIT STRING has unused bits".into()))?
            .to_vec();
        if !keys::check_public_key(curve, &public_key) {
            return Err(Error::InvalidPublicKey {
                subject: tbs.subject().to_string(),
            });
        }

        let mut cert = Certificate {
            der: der.to_vec(),
            tbs_der,
            signature,
            curve,
            public_key,
            ski: None,
            aki: None,
            policies: None,
            key_usage: None,
            basic_constraints: None,
            ext_key_usage: None,
            dns_names: Vec::new(),
            name_constraint_prefixes: None,
            permitted_eins: None,
            unknown_critical: Vec::new(),
            x509: x509.clone(),
        };

        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        for ext in tbs.extensions().map(|e| e.as_slice()).unwrap_or(&[]) {
            if seen.contains(&ext.extn_id) {
                return Err(Error::Malformed(format!(
                    "duplicate extension {}",
                    ext.extn_id
                )));
            }
            seen.push(ext.extn_id);
            let bytes = ext.extn_value.as_bytes();
            let critical = ext.critical;
            match ext.extn_id {
                oids::CE_SUBJECT_KEY_IDENTIFIER => {
                    let v: SubjectKeyIdentifier = decode_ext(bytes, "subjectKeyIdentifier")?;
                    set_once(
                        &mut cert.ski,
                        v.0.as_bytes().to_vec(),
                        "subjectKeyIdentifier",
                    )?;
                }
                oids::CE_AUTHORITY_KEY_IDENTIFIER => {
                    let v: AuthorityKeyIdentifier = decode_ext(bytes, "authorityKeyIdentifier")?;
                    if let Some(kid) = v.key_identifier {
                        set_once(
                            &mut cert.aki,
                            kid.as_bytes().to_vec(),
                            "authorityKeyIdentifier",
                        )?;
                    }
                }
                oids::CE_CERTIFICATE_POLICIES => {
                    let v: CertificatePolicies = decode_ext(bytes, "certificatePolicies")?;
                    let value = v.0.iter().map(|p| p.policy_identifier).collect();
                    set_once(
                        &mut cert.policies,
                        Ext { critical, value },
                        "certificatePolicies",
                    )?;
                }
                oids::CE_KEY_USAGE => {
                    let value: KeyUsage = decode_ext(bytes, "keyUsage")?;
                    set_once(&mut cert.key_usage, Ext { critical, value }, "keyUsage")?;
                }
                oids::CE_BASIC_CONSTRAINTS => {
                    let value: BasicConstraints = decode_ext(bytes, "basicConstraints")?;
                    set_once(
                        &mut cert.basic_constraints,
                        Ext { critical, value },
                        "basicConstraints",
                    )?;
                }
                oids::CE_EXT_KEY_USAGE => {
                    let v: ExtendedKeyUsage = decode_ext(bytes, "extKeyUsage")?;
                    set_once(
                        &mut cert.ext_key_usage,
                        Ext {
                            critical,
                            value: v.0,
                        },
                        "extKeyUsage",
                    )?;
                }
                oids::CE_SUBJECT_ALT_NAME => {
                    // Decoded as raw GeneralNames: `const-oid` cannot represent the 2.999
                    // registeredID arc of the SGP.26 certificates.
                    let names: Vec<AnyRef<'_>> = decode_ext(bytes, "subjectAltName")?;
                    for n in names {
                        if n.tag() == DNS_NAME_TAG {
                            let dns = std::str::from_utf8(n.value())
                                .ok()
                                .filter(|s| s.is_ascii())
                                .ok_or_else(|| {
                                    Error::Malformed("subjectAltName dNSName not IA5".into())
                                })?;
                            cert.dns_names.push(dns.to_string());
                        }
                    }
                }
                oids::CE_NAME_CONSTRAINTS => {
                    let v: NameConstraints = decode_ext(bytes, "nameConstraints")?;
                    let prefixes = v
                        .permitted_subtrees
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|st| match &st.base {
                            GeneralName::DirectoryName(n) => serial_number_of(n),
                            _ => None,
                        })
                        .collect();
                    cert.name_constraint_prefixes = Some(prefixes);
                }
                oids::PERMITTED_EINS => {
                    let v: Vec<PrintableString> = decode_ext(bytes, "permittedEins")?;
                    cert.permitted_eins = Some(v.iter().map(|s| s.to_string()).collect());
                }
                // Understood but not needed for SGP.22 validation.
                oids::CE_CRL_DISTRIBUTION_POINTS => {}
                other => {
                    if critical {
                        cert.unknown_critical.push(other);
                    }
                }
            }
        }
        Ok(cert)
    }

    /// Parses a PEM certificate (the first `CERTIFICATE` block of the text).
    pub fn from_pem(pem: &str) -> Result<Certificate> {
        let block = keys::pem_block(pem, "CERTIFICATE")
            .ok_or_else(|| Error::Malformed("no CERTIFICATE PEM block".into()))?;
        let (label, der) = der::pem::decode_vec(block.as_bytes())
            .map_err(|e| Error::Malformed(format!("PEM: {e}")))?;
        if label != "CERTIFICATE" {
            return Err(Error::Malformed(format!("PEM label {label}")));
        }
        Certificate::from_der(&der)
    }

    /// Parses DER or PEM, whichever `bytes` holds.
    pub fn from_der_or_pem(bytes: &[u8]) -> Result<Certificate> {
        match std::str::from_utf8(bytes) {
            Ok(text) if text.contains("-----BEGIN CERTIFICATE-----") => Certificate::from_pem(text),
            _ => Certificate::from_der(bytes),
        }
    }

    /// The certificate's DER encoding, exactly as parsed.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER TBSCertificate, exactly as signed.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }

    /// The DER-encoded ECDSA signature value.
    pub fn signature_der(&self) -> &[u8] {
        &self.signature
    }

    /// PEM encoding (`-----BEGIN CERTIFICATE-----`, LF line endings).
    pub fn to_pem(&self) -> String {
        // Re-encoding a parsed certificate cannot fail except on allocation.
        self.x509
            .to_pem(der::pem::LineEnding::LF)
            .unwrap_or_default()
    }

    /// The underlying x509-cert structure.
    pub fn x509(&self) -> &x509_cert::Certificate {
        &self.x509
    }

    /// Subject name, RFC 4514 string.
    pub fn subject(&self) -> String {
        self.x509.tbs_certificate().subject().to_string()
    }

    /// Issuer name, RFC 4514 string.
    pub fn issuer(&self) -> String {
        self.x509.tbs_certificate().issuer().to_string()
    }

    /// Serial number bytes (big-endian, as encoded).
    pub fn serial_number(&self) -> &[u8] {
        self.x509.tbs_certificate().serial_number().as_bytes()
    }

    /// Subject key identifier (for a CI: the CI PKID of euiccCiPKIdListFor*).
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.ski.as_deref()
    }

    /// Authority key identifier (keyIdentifier field).
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.aki.as_deref()
    }

    /// The curve of the subject public key.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The subject public key as SEC1 bytes (as in the certificate; normally uncompressed).
    pub fn public_key_sec1(&self) -> &[u8] {
        &self.public_key
    }

    /// The EID: the subject serialNumber, if present (meaningful for eUICC certificates).
    pub fn eid(&self) -> Option<String> {
        serial_number_of(self.x509.tbs_certificate().subject())
    }

    /// The RSP role named by the first id-rspRole certificate policy, if any.
    pub fn role(&self) -> Option<Role> {
        self.policies
            .as_ref()?
            .value
            .iter()
            .find_map(Role::from_policy_oid)
    }

    /// The certificate policy OIDs.
    pub fn policies(&self) -> Vec<ObjectIdentifier> {
        self.policies
            .as_ref()
            .map(|p| p.value.clone())
            .unwrap_or_default()
    }

    /// The dNSName entries of subjectAltName.
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// The first subjectAltName registeredID (`[8]` OBJECT IDENTIFIER), dotted: the entity's
    /// OID (SGP.22 §4.5.2.1: the SM-DP+ OID of a DPauth/DPpb certificate). `None` without
    /// one, or if it is not a well-formed OID encoding. Arcs of any size are read (the 2.999
    /// arc of SGP.26 included).
    pub fn registered_id(&self) -> Option<String> {
        const REGISTERED_ID_TAG: Tag = Tag::ContextSpecific {
            constructed: false,
            number: der::TagNumber(8),
        };
        let exts = self.x509.tbs_certificate().extensions()?;
        let san = exts
            .iter()
            .find(|e| e.extn_id == oids::CE_SUBJECT_ALT_NAME)?;
        let names: Vec<AnyRef<'_>> = Vec::from_der(san.extn_value.as_bytes()).ok()?;
        let rid = names.iter().find(|n| n.tag() == REGISTERED_ID_TAG)?;
        oid_to_dotted(rid.value())
    }

    /// EID prefixes permitted by nameConstraints (serialNumber in permittedSubtrees
    /// directoryNames); `None` without a nameConstraints extension.
    pub fn name_constraint_eid_prefixes(&self) -> Option<&[String]> {
        self.name_constraint_prefixes.as_deref()
    }

    /// EID prefixes from the GSMA permittedEins extension; `None` without it.
    pub fn permitted_eins(&self) -> Option<&[String]> {
        self.permitted_eins.as_deref()
    }

    /// Whether keyUsage contains `usage`.
    pub fn has_key_usage(&self, usage: KeyUsages) -> bool {
        self.key_usage
            .as_ref()
            .is_some_and(|ku| ku.value.0.contains(usage))
    }

    /// notBefore.
    pub fn not_before(&self) -> SystemTime {
        to_system_time(self.x509.tbs_certificate().validity().not_before)
    }

    /// notAfter.
    pub fn not_after(&self) -> SystemTime {
        to_system_time(self.x509.tbs_certificate().validity().not_after)
    }

    pub(crate) fn not_before_time(&self) -> Time {
        self.x509.tbs_certificate().validity().not_before
    }

    pub(crate) fn not_after_time(&self) -> Time {
        self.x509.tbs_certificate().validity().not_after
    }

    /// Whether the issuer name equals `issuer`'s subject name (DER comparison).
    pub(crate) fn issuer_name_matches(&self, issuer: &Certificate) -> bool {
        let a = self.x509.tbs_certificate().issuer().to_der();
        let b = issuer.x509.tbs_certificate().subject().to_der();
        matches!((a, b), (Ok(a), Ok(b)) if a == b)
    }

    /// Verifies this certificate's signature with `issuer`'s public key.
    pub fn signature_verifies_with(&self, issuer: &Certificate) -> bool {
        keys::verify_der_signature(
            issuer.curve,
            &issuer.public_key,
            &self.tbs_der,
            &self.signature,
        )
        .unwrap_or(false)
    }
}

fn to_system_time(t: Time) -> SystemTime {
    SystemTime::UNIX_EPOCH + t.to_unix_duration()
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}
