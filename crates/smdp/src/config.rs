//! Configuration, the SM-DP+'s own keys and certificates, and the injected crypto context.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use simforge_crypto::{KeyAgreement, Random, Signer, SoftwareSigner};
use simforge_pki::{CiStore, LabPki, PrivateKey};
use simforge_vault::Vault;

use crate::error::{Error, Result};
use crate::model::UnixTime;

/// SM-DP+ settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmdpConfig {
    /// The SM-DP+ FQDN (as in activation codes and the DPtls certificate).
    pub fqdn: String,
    /// The HTTPS port served; `smdpAddress` may carry `:port` only with this port.
    pub port: u16,
    /// The SM-DP+ OID (dotted), used only when the DPauth certificate carries no
    /// subjectAltName registeredID (the certificate's OID wins: [`SmdpKeys::oid_for`]).
    pub oid: String,
    /// RSP session lifetime in seconds.
    pub session_ttl_secs: i64,
    /// Wrong confirmation codes accepted before the order is blocked.
    pub max_cc_attempts: u32,
    /// BPP deliveries allowed per order.
    pub max_download_attempts: u32,
    /// Order lifetime from ConfirmOrder, in seconds (`None`: never expires).
    pub order_ttl_secs: Option<i64>,
    /// Least estimated entropy, in bits, of a matchingId the operator chooses in ConfirmOrder
    /// ([`crate::es2::matching_id_entropy_bits`]); generated ones have 100 bits.
    #[serde(default = "default_min_matching_id_bits")]
    pub min_matching_id_bits: u32,
    /// Whether every profile package unsealed for a BPP is recorded
    /// ([`crate::SmdpTx::record_unseal`]: the audit log's `profile.unseal`, in the call's
    /// transaction). On by default; off only to measure what the audit costs (BENCHMARKS.md).
    #[serde(default = "default_audit_unseals")]
    pub audit_unseals: bool,
    /// The SM-DS (`host[:port]`) ConfirmOrder registers an event at when it gives an EID,
    /// names no `smdsAddress` and the operator has no default SM-DS either (`serve
    /// --with-smds`: the SM-DS co-hosted in the same process). `None`: no event then.
    #[serde(default)]
    pub default_smds_address: Option<String>,
}

fn default_audit_unseals() -> bool {
    true
}

/// The default of [`SmdpConfig::min_matching_id_bits`].
pub const DEFAULT_MIN_MATCHING_ID_BITS: u32 = 64;

fn default_min_matching_id_bits() -> u32 {
    DEFAULT_MIN_MATCHING_ID_BITS
}

impl SmdpConfig {
    /// Defaults for `fqdn`: port 443, lab OID 2.999.10, 10-minute sessions, 3 confirmation
    /// code attempts, 3 downloads, orders valid 30 days, operator-chosen matchingIds of at
    /// least 64 bits, unseals recorded.
    #[must_use]
    pub fn new(fqdn: &str) -> Self {
        Self {
            fqdn: fqdn.to_owned(),
            port: 443,
            oid: "2.999.10".to_owned(),
            session_ttl_secs: 600,
            max_cc_attempts: 3,
            max_download_attempts: 3,
            order_ttl_secs: Some(30 * 24 * 3600),
            min_matching_id_bits: DEFAULT_MIN_MATCHING_ID_BITS,
            audit_unseals: true,
            default_smds_address: None,
        }
    }

    /// The address to put into activation codes: the FQDN, with `:port` unless 443.
    #[must_use]
    pub fn address(&self) -> String {
        if self.port == 443 {
            self.fqdn.clone()
        } else {
            format!("{}:{}", self.fqdn, self.port)
        }
    }

    /// Whether `addr` (`host` or `host:port`) designates this SM-DP+.
    #[must_use]
    pub fn accepts_address(&self, addr: &str) -> bool {
        address_designates(addr, &self.fqdn, self.port)
    }
}

/// Whether `addr` (`host` or `host:port`, as an LPA sends `smdpAddress`) designates the
/// server `fqdn` listening on `port`: the host without case and a trailing dot, the port
/// absent or exactly `port`. The SM-DP+'s and the SM-DS's one check.
#[must_use]
pub fn address_designates(addr: &str, fqdn: &str, port: u16) -> bool {
    let (host, p) = match addr.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (addr, None),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    host.eq_ignore_ascii_case(fqdn)
        && p.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>() == Ok(port))
}

/// One DPauth or DPpb certificate with its signing key.
#[derive(Clone)]
pub struct DpKey {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// PKID of the CI that signed it (the certificate's authority key identifier).
    pub ci_pkid: Vec<u8>,
    /// The private key, behind the signer trait (software or HSM).
    pub signer: Arc<dyn Signer>,
    /// The SM-DP+ OID from the certificate's subjectAltName registeredID, dotted.
    pub oid: Option<String>,
}

impl fmt::Debug for DpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpKey")
            .field("ci_pkid", &hex::encode_upper(&self.ci_pkid))
            .field("oid", &self.oid)
            .field("signer", &"<redacted>")
            .finish()
    }
}

impl DpKey {
    /// From a certificate (DER) and its pki private key.
    ///
    /// # Errors
    /// [`Error::Config`] if the certificate has no authority key id or the key is unusable.
    pub fn new(cert_der: &[u8], key: &PrivateKey) -> Result<Self> {
        let cert = simforge_pki::Certificate::from_der(cert_der)
            .map_err(|e| Error::Config(crate::error::Cause::with_source("DP certificate", e)))?;
        let ci_pkid = cert
            .authority_key_id()
            .ok_or_else(|| Error::Config("DP certificate has no authority key id".into()))?
            .to_vec();
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|e| Error::Config(crate::error::Cause::with_source("DP key", e)))?;
        let signer = SoftwareSigner::from_der(&pkcs8)
            .map_err(|e| Error::Config(crate::error::Cause::with_source("DP key", e)))?;
        Self::with_signer_of(cert_der, &cert, ci_pkid, Arc::new(signer))
    }

    /// From a certificate (DER) and a signer that holds its private key elsewhere (an HSM).
    ///
    /// # Errors
    /// [`Error::Config`] if the certificate has no authority key id or the signer's public key
    /// is not the certificate's.
    pub fn with_signer(cert_der: &[u8], signer: Arc<dyn Signer>) -> Result<Self> {
        let cert = simforge_pki::Certificate::from_der(cert_der)
            .map_err(|e| Error::Config(crate::error::Cause::with_source("DP certificate", e)))?;
        let ci_pkid = cert
            .authority_key_id()
            .ok_or_else(|| Error::Config("DP certificate has no authority key id".into()))?
            .to_vec();
        Self::with_signer_of(cert_der, &cert, ci_pkid, signer)
    }

    fn with_signer_of(
        cert_der: &[u8],
        cert: &simforge_pki::Certificate,
        ci_pkid: Vec<u8>,
        signer: Arc<dyn Signer>,
    ) -> Result<Self> {
        if signer.public_key() != cert.public_key_sec1() {
            return Err(Error::Config(
                "DP key does not match its certificate".into(),
            ));
        }
        Ok(Self {
            cert_der: cert_der.to_vec(),
            ci_pkid,
            signer,
            oid: cert.registered_id(),
        })
    }
}

/// The SM-DP+'s trust anchors and signing keys (possibly several CIs / curves).
#[derive(Clone, Debug, Default)]
pub struct SmdpKeys {
    /// Trusted CIs (for eUICC chains).
    pub ci: CiStore,
    /// DPauth keys, one per CI.
    pub auth: Vec<DpKey>,
    /// DPpb keys, one per CI.
    pub pb: Vec<DpKey>,
}

impl SmdpKeys {
    /// Adds a lab (or SGP.26) PKI: its CI, DPauth and DPpb.
    ///
    /// # Errors
    /// [`Error::Config`] if a certificate or key is unusable.
    pub fn add_pki(&mut self, pki: &LabPki) -> Result<()> {
        self.ci
            .add(pki.ci.clone())
            .map_err(|e| Error::Config(crate::error::Cause::with_source("CI", e)))?;
        self.auth
            .push(DpKey::new(pki.smdp.auth.cert.der(), &pki.smdp.auth.key)?);
        self.pb
            .push(DpKey::new(pki.smdp.pb.cert.der(), &pki.smdp.pb.key)?);
        Ok(())
    }

    /// Keys from one or more PKIs.
    ///
    /// # Errors
    /// As [`SmdpKeys::add_pki`].
    pub fn from_pkis(pkis: &[&LabPki]) -> Result<Self> {
        let mut k = Self::default();
        for p in pkis {
            k.add_pki(p)?;
        }
        Ok(k)
    }

    pub(crate) fn auth_for(&self, ci_pkid: &[u8]) -> Option<&DpKey> {
        self.auth.iter().find(|k| k.ci_pkid == ci_pkid)
    }

    /// The SM-DP+ OID for a session under the CI `ci_pkid`: the registeredID of the DPauth
    /// certificate signed by that CI, else `fallback` (the configured OID).
    #[must_use]
    pub fn oid_for<'a>(&'a self, ci_pkid: &[u8], fallback: &'a str) -> &'a str {
        self.auth_for(ci_pkid)
            .and_then(|k| k.oid.as_deref())
            .unwrap_or(fallback)
    }

    pub(crate) fn pb_for(&self, ci_pkid: &[u8]) -> Option<&DpKey> {
        self.pb.iter().find(|k| k.ci_pkid == ci_pkid)
    }
}

/// Everything a pure operation needs besides its request and state: configuration, keys,
/// the injected randomness, key agreement, vault and time.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// Settings.
    pub config: &'a SmdpConfig,
    /// Keys and trust anchors new sessions use.
    pub keys: &'a SmdpKeys,
    /// The keys before the last rotation and when it happened (see [`Ctx::keys_of`]).
    pub previous: Option<(&'a SmdpKeys, UnixTime)>,
    /// Randomness (transactionIds, challenges, hostIds).
    pub rng: &'a dyn Random,
    /// One-time key pairs for BPP binding (the ECDH result is sealed with the vault and kept
    /// for a retried download that reuses the eUICC's one-time key).
    pub key_agreement: &'a dyn KeyAgreement,
    /// Seals and unseals profile packages.
    pub vault: &'a dyn Vault,
    /// Now.
    pub now: UnixTime,
}

impl fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("config", self.config)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<'a> Ctx<'a> {
    /// The keys of a session created at `created_at`: those before the last rotation when it
    /// started before it (it finishes with the keys it started with), else the current ones.
    #[must_use]
    pub fn keys_of(&self, created_at: UnixTime) -> &'a SmdpKeys {
        match self.previous {
            Some((old, rotated_at)) if created_at < rotated_at => old,
            _ => self.keys,
        }
    }

    pub(crate) fn random<const N: usize>(&self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.rng.fill(&mut b)?;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_with_and_without_port() {
        let mut c = SmdpConfig::new("smdp.example.com");
        assert!(c.accepts_address("smdp.example.com"));
        assert!(c.accepts_address("SMDP.example.com:443"));
        assert!(!c.accepts_address("smdp.example.com:8443"));
        assert!(!c.accepts_address("other.example.com"));
        c.port = 8443;
        assert!(c.accepts_address("smdp.example.com:8443"));
        assert!(c.accepts_address("smdp.example.com"));
        assert!(!c.accepts_address("smdp.example.com:+8443"));
        assert_eq!(c.address(), "smdp.example.com:8443");
    }
}
