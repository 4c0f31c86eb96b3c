//! The eUICC's identity: EID, certificates, private key and trusted CIs.

use serde::{Deserialize, Serialize};
use simforge_asn1::Eid;
use simforge_crypto::{Curve, SoftwareSigner};
use simforge_pki::{Certificate, CiStore};

use crate::Error;
use crate::state::{Secret, hexser};

/// The identity of one eUICC, as configured (serde: DER as hex).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EuiccIdentity {
    /// The EID (32 digits); must equal the eUICC certificate's serialNumber.
    pub eid: String,
    /// CERT.EUICC.ECDSA (DER).
    #[serde(with = "hexser")]
    pub euicc_certificate: Vec<u8>,
    /// CERT.EUM.ECDSA (DER).
    #[serde(with = "hexser")]
    pub eum_certificate: Vec<u8>,
    /// SK.EUICC.ECDSA, PKCS#8 or SEC1 DER.
    pub euicc_private_key: Secret,
    /// Trusted CI certificates (DER): the eUICC verifies SM-DP+ certificates against these
    /// and announces their key identifiers in EUICCInfo1/2 as euiccCiPKIdListForVerification
    /// (euiccCiPKIdListForSigning is the CI of its own chain, the EUM certificate's AKI).
    #[serde(with = "hexvec")]
    pub trusted_ci: Vec<Vec<u8>>,
}

mod hexvec {
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};
    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&hex::encode_upper(x))?;
        }
        seq.end()
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|s| hex::decode(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

impl EuiccIdentity {
    /// The identity of eUICC number `index` of a lab PKI (from `simforge pki init` /
    /// [`simforge_pki::generate_lab_pki`]).
    ///
    /// # Errors
    /// [`Error::Identity`] if the PKI has no EUM or no such eUICC.
    pub fn from_lab_pki(pki: &simforge_pki::LabPki, index: usize) -> Result<Self, Error> {
        let eum = pki
            .eum
            .as_ref()
            .ok_or_else(|| Error::Identity("the PKI has no EUM".into()))?;
        let e = pki
            .euiccs
            .get(index)
            .ok_or_else(|| Error::Identity(format!("the PKI has no eUICC #{index}")))?;
        let key = e
            .key
            .to_pkcs8_der()
            .map_err(|err| Error::Identity(format!("eUICC key: {err}")))?;
        Ok(Self {
            eid: e.eid.clone(),
            euicc_certificate: e.cert.der().to_vec(),
            eum_certificate: eum.cert.der().to_vec(),
            euicc_private_key: Secret::new(key.to_vec()),
            trusted_ci: vec![pki.ci.der().to_vec()],
        })
    }
}

impl EuiccIdentity {
    /// The identity from externally issued files (e.g. made with openssl, or an EUM's
    /// production set): the eUICC certificate, its private key, the EUM certificate and the
    /// trusted CI certificates, each PEM or DER (the key: PEM PKCS#8 / SEC1, or PKCS#8 DER).
    /// The EID is the eUICC certificate's subject serialNumber.
    ///
    /// `chain_ci` is the CI that issued the EUM when it is not one of the trusted CIs: SGP.22
    /// keeps the CIs an eUICC signs under (euiccCiPKIdListForSigning) apart from those it
    /// verifies SM-DP+ certificates against (euiccCiPKIdListForVerification). It is used to
    /// check the chain and is not trusted for verification.
    ///
    /// Refuses, at time `now`, a chain that does not verify (the EUM must be issued by one of
    /// the CIs or by `chain_ci`, the eUICC certificate by the EUM, with SGP.22 policies,
    /// validity and a permitted EID), a key that is not the certificate's, and an empty CI list.
    ///
    /// # Errors
    /// [`Error::Identity`] saying which check failed.
    pub fn from_certificates(
        euicc_cert: &[u8],
        euicc_key: &[u8],
        eum_cert: &[u8],
        trusted_ci: &[Vec<u8>],
        chain_ci: Option<&[u8]>,
        now: simforge_crypto::UnixTime,
    ) -> Result<Self, Error> {
        let id = |m: String| Error::Identity(m);
        let cert = Certificate::from_der_or_pem(euicc_cert)
            .map_err(|e| id(format!("eUICC certificate: {e}")))?;
        let eum = Certificate::from_der_or_pem(eum_cert)
            .map_err(|e| id(format!("EUM certificate: {e}")))?;
        if cert.role() != Some(simforge_pki::Role::Euicc) {
            return Err(id(
                "the eUICC certificate does not carry the eUICC policy (id-rspRole-euicc)".into(),
            ));
        }
        if eum.role() != Some(simforge_pki::Role::Eum) {
            return Err(id(
                "the EUM certificate does not carry the EUM policy (id-rspRole-eum)".into(),
            ));
        }
        if cert.eid().is_none() {
            return Err(id(
                "the eUICC certificate has no subject serialNumber (EID)".into(),
            ));
        }
        let key = match std::str::from_utf8(euicc_key) {
            Ok(pem) if pem.contains("-----BEGIN") => simforge_pki::PrivateKey::from_pem(pem),
            _ => simforge_pki::PrivateKey::from_pkcs8_der(euicc_key),
        }
        .map_err(|e| id(format!("eUICC private key: {e}")))?;
        if key.public_key_sec1() != cert.public_key_sec1() {
            return Err(id(
                "the private key does not belong to the eUICC certificate".into(),
            ));
        }
        let mut cis = Vec::with_capacity(trusted_ci.len());
        let mut store = CiStore::new();
        for (i, ci) in trusted_ci.iter().enumerate() {
            let c = Certificate::from_der_or_pem(ci)
                .map_err(|e| id(format!("CI certificate #{}: {e}", i + 1)))?;
            cis.push(c.der().to_vec());
            store
                .add(c)
                .map_err(|e| id(format!("CI certificate #{}: {e}", i + 1)))?;
        }
        if store.is_empty() {
            return Err(id("no trusted CI certificate".into()));
        }
        if let Some(ci) = chain_ci {
            let c = Certificate::from_der_or_pem(ci)
                .map_err(|e| id(format!("the EUM's CI certificate: {e}")))?;
            store = CiStore::new();
            store
                .add(c)
                .map_err(|e| id(format!("the EUM's CI certificate: {e}")))?;
        }
        let verified = simforge_pki::verify_euicc_chain(&store, eum.der(), cert.der(), now)
            .map_err(|e| id(format!("the chain CI → EUM → eUICC does not verify: {e}")))?;
        let key = key
            .to_pkcs8_der()
            .map_err(|e| id(format!("eUICC private key: {e}")))?;
        Ok(Self {
            eid: verified.eid,
            euicc_certificate: cert.der().to_vec(),
            eum_certificate: eum.der().to_vec(),
            euicc_private_key: Secret::new(key.to_vec()),
            trusted_ci: cis,
        })
    }
}

/// The identity, parsed and ready to use.
pub(crate) struct Loaded {
    pub eid: Eid,
    pub eid_bytes: [u8; 16],
    pub euicc_cert: Vec<u8>,
    pub eum_cert: Vec<u8>,
    pub signer: SoftwareSigner,
    pub ci_store: CiStore,
    /// euiccCiPKIdListForVerification: the trusted CIs.
    pub ci_pkids: Vec<Vec<u8>>,
    /// euiccCiPKIdListForSigning: the CI of the eUICC's own chain (the EUM certificate's
    /// authority key id), which need not be a trusted CI (SGP.22 allows verifying servers
    /// under one CI while signing under another); the trusted CIs if the EUM has no AKI.
    pub signing_ci_pkids: Vec<Vec<u8>>,
}

pub(crate) fn crypto_curve(c: simforge_pki::Curve) -> Curve {
    match c {
        simforge_pki::Curve::P256 => Curve::NistP256,
        simforge_pki::Curve::BrainpoolP256r1 => Curve::BrainpoolP256r1,
    }
}

impl Loaded {
    pub fn new(id: &EuiccIdentity) -> Result<Self, Error> {
        let eid = Eid::parse(&id.eid).map_err(|e| Error::Identity(e.to_string()))?;
        let cert = Certificate::from_der(&id.euicc_certificate)
            .map_err(|e| Error::Identity(format!("eUICC certificate: {e}")))?;
        let eum = Certificate::from_der(&id.eum_certificate)
            .map_err(|e| Error::Identity(format!("EUM certificate: {e}")))?;
        if cert.eid().as_deref() != Some(id.eid.as_str()) {
            return Err(Error::Identity(
                "the EID is not the eUICC certificate's serialNumber".into(),
            ));
        }
        let signer = SoftwareSigner::from_der(id.euicc_private_key.expose())
            .map_err(|e| Error::Identity(format!("eUICC private key: {e}")))?;
        if simforge_crypto::Signer::public_key(&signer) != cert.public_key_sec1() {
            return Err(Error::Identity(
                "the private key does not match the eUICC certificate".into(),
            ));
        }
        if crypto_curve(cert.curve()) != simforge_crypto::Signer::curve(&signer) {
            return Err(Error::Identity("curve mismatch".into()));
        }
        let mut ci_store = CiStore::new();
        for ci in &id.trusted_ci {
            ci_store
                .add_der_or_pem(ci)
                .map_err(|e| Error::Identity(format!("trusted CI: {e}")))?;
        }
        if ci_store.is_empty() {
            return Err(Error::Identity("no trusted CI".into()));
        }
        let ci_pkids = ci_store.pkids();
        let signing_ci_pkids = eum
            .authority_key_id()
            .map_or_else(|| ci_pkids.clone(), |aki| vec![aki.to_vec()]);
        Ok(Self {
            eid_bytes: eid.to_bytes(),
            eid,
            euicc_cert: id.euicc_certificate.clone(),
            eum_cert: id.eum_certificate.clone(),
            signer,
            ci_store,
            ci_pkids,
            signing_ci_pkids,
        })
    }
}
