//! Object identifiers used by SGP.22 certificates.

use der::asn1::ObjectIdentifier;

/// `ecdsa-with-SHA256` (RFC 5758), the only signature algorithm SGP.22 certificates use.
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `id-ecPublicKey` (RFC 5480).
pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// NIST P-256 (`secp256r1` / `prime256v1`).
pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `brainpoolP256r1` (RFC 5639).
pub const BRAINPOOL_P256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.7");

/// `id-rspRole` arc, 2.23.146.1.2.1 (SGP.22 §4.5.2.1.0.x certificate policies).
pub const ID_RSP_ROLE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.1");
/// `id-rspRole-ci`
pub const ID_RSP_ROLE_CI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.1.0");
/// `id-rspRole-euicc`
pub const ID_RSP_ROLE_EUICC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.1.1");
/// `id-rspRole-eum`
pub const ID_RSP_ROLE_EUM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.1.2");
/// `id-rspRole-dp-tls`
pub const ID_RSP_ROLE_DP_TLS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.1.3");
/// `id-rspRole-dp-auth`
pub const ID_RSP_ROLE_DP_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.1.4");
/// `id-rspRole-dp-pb`
pub const ID_RSP_ROLE_DP_PB: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.1.5");
/// `id-rspRole-ds-tls`
pub const ID_RSP_ROLE_DS_TLS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.1.6");
/// `id-rspRole-ds-auth`
pub const ID_RSP_ROLE_DS_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.1.7");

/// GSMA `permittedEins` certificate extension, 2.23.146.1.2.2.0
/// (`PermittedEins ::= SEQUENCE OF PrintableString`, each an EID prefix).
pub const PERMITTED_EINS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.146.1.2.2.0");

/// X.520 `serialNumber` attribute (carries the EID in eUICC certificates).
pub const AT_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// X.520 `commonName`.
pub const AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// X.520 `organizationName`.
pub const AT_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// X.520 `organizationalUnitName`.
pub const AT_ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// X.520 `countryName`.
pub const AT_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");

/// `id-kp-serverAuth`
pub const KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
/// `id-kp-clientAuth`
pub const KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// `id-ce-subjectKeyIdentifier`
pub const CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
/// `id-ce-keyUsage`
pub const CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// `id-ce-subjectAltName`
pub const CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
/// `id-ce-basicConstraints`
pub const CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// `id-ce-nameConstraints`
pub const CE_NAME_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.30");
/// `id-ce-cRLDistributionPoints`
pub const CE_CRL_DISTRIBUTION_POINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
/// `id-ce-certificatePolicies`
pub const CE_CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
/// `id-ce-authorityKeyIdentifier`
pub const CE_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
/// `id-ce-extKeyUsage`
pub const CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
