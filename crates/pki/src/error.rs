//! The crate's single error type.

use std::path::PathBuf;

use crate::Role;

/// Everything that can go wrong when parsing, verifying, generating or loading certificates.
///
/// Verification failures are distinct variants, and those about one certificate of a chain
/// carry the [`Role`] of the certificate that failed (`role`), so that an SM-DP+ can map them
/// to SGP.22 status codes; [`Error::sgp22_status`] does that for ES9+.AuthenticateClient.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a DER-encoded X.509 certificate (or a PEM wrapping one).
    #[error("malformed certificate: {0}")]
    Malformed(String),

    /// The certificate's signature algorithm is not ecdsa-with-SHA256.
    #[error("unsupported signature algorithm {0} (SGP.22 requires ecdsa-with-SHA256)")]
    UnsupportedSignatureAlgorithm(String),

    /// The public key is not on NIST P-256 or brainpoolP256r1.
    #[error("unsupported public key algorithm or curve: {0}")]
    UnsupportedCurve(String),

    /// The subject public key is not a valid point on its curve.
    #[error("invalid public key in certificate {subject}")]
    InvalidPublicKey {
        /// Subject of the certificate.
        subject: String,
    },

    /// No trusted CI has the subject key identifier the certificate names as its authority
    /// key identifier (SGP.22: unknown CI public key).
    #[error("certificate is signed by an unknown CI (authority key id {pkid})")]
    UnknownCi {
        /// Hex of the authority key identifier that was looked up (empty if absent).
        pkid: String,
    },

    /// A certificate given to [`crate::CiStore::add`] is not a self-signed CI certificate.
    #[error("not a CI certificate: {0}")]
    NotACi(String),

    /// The certificate lacks a subject or authority key identifier that SGP.22 requires.
    #[error("{role} certificate lacks its {which} key identifier")]
    MissingKeyIdentifier {
        /// The certificate that failed.
        role: Role,
        /// `"subject"` or `"authority"`.
        which: &'static str,
    },

    /// The authority key identifier does not match the issuer's subject key identifier.
    #[error(
        "{role} certificate's authority key id {found} does not match its issuer's subject key id {expected}"
    )]
    KeyIdentifierMismatch {
        /// The certificate that failed.
        role: Role,
        /// Hex of the issuer's subject key identifier.
        expected: String,
        /// Hex of the certificate's authority key identifier.
        found: String,
    },

    /// The signature does not verify under the issuer's public key.
    #[error("{role} certificate signature does not verify")]
    BadSignature {
        /// The certificate that failed.
        role: Role,
    },

    /// The certificate's notAfter is before the injected time.
    #[error("{role} certificate expired at {not_after}")]
    Expired {
        /// The certificate that failed.
        role: Role,
        /// The notAfter field, RFC 3339.
        not_after: String,
    },

    /// The certificate's notBefore is after the injected time.
    #[error("{role} certificate not valid before {not_before}")]
    NotYetValid {
        /// The certificate that failed.
        role: Role,
        /// The notBefore field, RFC 3339.
        not_before: String,
    },

    /// The certificate has no certificatePolicies extension.
    #[error("{role} certificate has no certificatePolicies extension")]
    MissingPolicy {
        /// The certificate that failed.
        role: Role,
    },

    /// The certificatePolicies extension does not contain the policy of the expected role.
    #[error("{role} certificate has policies [{found}], expected {expected}")]
    WrongPolicy {
        /// The role the certificate was expected to have.
        role: Role,
        /// The expected policy OID.
        expected: String,
        /// The policy OIDs found.
        found: String,
    },

    /// The certificatePolicies extension is not marked critical where SGP.22 requires it.
    #[error("{role} certificate's certificatePolicies extension is not critical")]
    PolicyNotCritical {
        /// The certificate that failed.
        role: Role,
    },

    /// keyUsage is missing, not critical, or not what SGP.22 requires for the role.
    #[error("{role} certificate has wrong key usage: {detail}")]
    WrongKeyUsage {
        /// The certificate that failed.
        role: Role,
        /// What is wrong.
        detail: String,
    },

    /// basicConstraints is missing, not critical, or has the wrong cA flag for the role.
    #[error("{role} certificate has wrong basic constraints: {detail}")]
    WrongBasicConstraints {
        /// The certificate that failed.
        role: Role,
        /// What is wrong.
        detail: String,
    },

    /// extendedKeyUsage / subjectAltName not as required for a TLS certificate.
    #[error("{role} certificate is not usable as a TLS server certificate: {detail}")]
    WrongTlsUsage {
        /// The certificate that failed.
        role: Role,
        /// What is wrong.
        detail: String,
    },

    /// The certificate has a critical extension this library does not understand.
    #[error("{role} certificate has an unsupported critical extension {oid}")]
    UnsupportedCriticalExtension {
        /// The certificate that failed.
        role: Role,
        /// The extension OID.
        oid: String,
    },

    /// The eUICC certificate's subject has no serialNumber (EID).
    #[error("eUICC certificate has no EID (subject serialNumber)")]
    MissingEid,

    /// The EID is not 32 decimal digits or its ISO 7064 mod 97-10 check digits are wrong.
    #[error("invalid EID '{0}'")]
    InvalidEid(String),

    /// The EUM certificate constrains EIDs in neither nameConstraints nor permittedEins.
    #[error("EUM certificate has no permitted EID range (nameConstraints or permittedEins)")]
    MissingEidRange,

    /// The EID is outside the EUM's nameConstraints permittedSubtrees (serialNumber prefixes).
    #[error("EID {eid} is outside the EUM nameConstraints (permitted prefixes: {permitted})")]
    EidOutsideNameConstraints {
        /// The eUICC's EID.
        eid: String,
        /// The permitted prefixes, comma-separated.
        permitted: String,
    },

    /// The EID is outside the EUM's GSMA permittedEins extension.
    #[error("EID {eid} is outside the EUM permittedEins (permitted prefixes: {permitted})")]
    EidOutsidePermittedEins {
        /// The eUICC's EID.
        eid: String,
        /// The permitted prefixes, comma-separated.
        permitted: String,
    },

    /// A role that is not an SM-DP+ role was passed to [`crate::verify_dp_cert`].
    #[error("{0} is not an SM-DP+ certificate role")]
    NotADpRole(Role),

    /// A private key could not be parsed, or does not belong to its certificate.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),

    /// Bad input to the generator (EID prefix, FQDN, …).
    #[error("invalid lab PKI option: {0}")]
    InvalidOption(String),

    /// A DER encoding step failed while building a certificate.
    #[error("encoding failed: {0}")]
    Encoding(String),

    /// The system random number generator failed.
    #[error("random number generator failed")]
    Rng,

    /// File system error while reading or writing a PKI directory.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The certificate (by role) this error is about, if it is about one certificate.
    pub fn role(&self) -> Option<Role> {
        match self {
            Error::MissingKeyIdentifier { role, .. }
            | Error::KeyIdentifierMismatch { role, .. }
            | Error::BadSignature { role }
            | Error::Expired { role, .. }
            | Error::NotYetValid { role, .. }
            | Error::MissingPolicy { role }
            | Error::WrongPolicy { role, .. }
            | Error::PolicyNotCritical { role }
            | Error::WrongKeyUsage { role, .. }
            | Error::WrongBasicConstraints { role, .. }
            | Error::WrongTlsUsage { role, .. }
            | Error::UnsupportedCriticalExtension { role, .. } => Some(*role),
            Error::MissingEid
            | Error::InvalidEid(_)
            | Error::EidOutsideNameConstraints { .. }
            | Error::EidOutsidePermittedEins { .. } => Some(Role::Euicc),
            Error::MissingEidRange => Some(Role::Eum),
            _ => None,
        }
    }

    /// Suggested SGP.22 ES9+.AuthenticateClient status code `(subjectCode, reasonCode)` for
    /// an error from [`crate::verify_euicc_chain`]:
    ///
    /// * unknown CI → `8.11.1` (CI Public Key) / `3.9` (Unknown);
    /// * EUM certificate expired → `8.1.2` / `6.3`; otherwise invalid → `8.1.2` / `6.1`;
    /// * eUICC certificate expired → `8.1.3` / `6.3`; otherwise invalid → `8.1.3` / `6.1`.
    ///
    /// `None` for errors that are not about the eUICC chain (map those as internal errors).
    pub fn sgp22_status(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Error::UnknownCi { .. } => return Some(("8.11.1", "3.9")),
            // SGP.22 §5.6.3: an EID outside the EUM's permitted range is 8.1.4/6.1, whichever
            // way the range is written (nameConstraints or permittedEins).
            Error::EidOutsideNameConstraints { .. } | Error::EidOutsidePermittedEins { .. } => {
                return Some(("8.1.4", "6.1"));
            }
            _ => {}
        }
        let expired = matches!(self, Error::Expired { .. });
        match (self.role()?, expired) {
            (Role::Eum, true) => Some(("8.1.2", "6.3")),
            (Role::Eum, false) => Some(("8.1.2", "6.1")),
            (Role::Euicc, true) => Some(("8.1.3", "6.3")),
            (Role::Euicc, false) => Some(("8.1.3", "6.1")),
            _ => None,
        }
    }
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::Malformed(e.to_string())
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
