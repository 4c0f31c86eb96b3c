//! SGP.22 (eSIM RSP) certificates for simforge.
//!
//! * **Parsing** — [`Certificate`] wraps a DER X.509 certificate (kept byte-exact) and
//!   exposes the SGP.22 fields: subject/authority key identifiers, public key and curve
//!   (NIST P-256 or brainpoolP256r1), EID, [`Role`] from the id-rspRole policy, EID ranges.
//! * **Verification** — [`verify_euicc_chain`] (CI → EUM → eUICC) and [`verify_dp_cert`]
//!   (CI → DPauth / DPpb / DPtls) against a [`CiStore`] at an *injected* time: the library
//!   never reads the wall clock. Each failure is its own [`Error`] variant.
//! * **Lab PKI** — [`generate_lab_pki`] / [`write_lab_pki`] build a complete test PKI on
//!   either curve with the extension set of the GSMA SGP.26 certificates.
//! * **SGP.26** — [`load_sgp26`] loads the GSMA SGP.26 test CIs and SM-DP+ certificates
//!   and keys as a [`LabPki`] (without CI private key).
//!
//! All ECDSA is RustCrypto (`p256`, `bp256`); certificates are built with `der`/`x509-cert`.

mod cert;
mod eid;
mod error;
mod generate;
mod keys;
pub mod oids;
mod sgp26;
mod verify;

pub use cert::{Certificate, Role};
pub use eid::{eid_from_prefix, eid_with_check_digits, is_valid_eid};
pub use error::{Error, Result};
pub use generate::{
    CertSpec, EidRangeStyle, Issued, IssuedEuicc, Issuer, LabPki, LabPkiOptions, SmdpCerts,
    SmdsCerts, generate_lab_pki, issue_certificate, smds_fqdn_for, write_lab_pki,
};
pub use keys::{Curve, PrivateKey, verify_der_signature, verify_raw_signature};
pub use sgp26::{load_sgp26, load_sgp26_curve};
pub use verify::{
    CiStore, IssuerNameMismatch, VerifiedDp, VerifiedEuicc, verify_dp_cert, verify_euicc_chain,
};

pub use x509_cert::ext::pkix::KeyUsages;
