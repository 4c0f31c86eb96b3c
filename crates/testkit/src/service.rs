//! The SM-DP+ of the tests: [`Smdp`] on a [`MemoryStore`] with the lab PKI's keys, the
//! software RNG and key agreement, and a fixed master key.

use std::sync::Arc;

use simforge_crypto::{KeyAgreement, Random, SoftwareKeyAgreement, SystemRandom};
use simforge_pki::LabPki;
use simforge_smdp::{MemoryStore, Smdp, SmdpConfig, SmdpKeys};
use simforge_vault::MasterKey;

use crate::lab::FQDN;

/// The SM-DP+ on a new, empty store.
pub fn service(pkis: &[&LabPki]) -> Smdp<MemoryStore> {
    service_on(pkis, MemoryStore::new())
}

/// The SM-DP+ over `store` (a restarted server: nothing but what the store kept).
pub fn service_on(pkis: &[&LabPki], store: MemoryStore) -> Smdp<MemoryStore> {
    service_with(pkis, store, |_| {})
}

/// The SM-DP+ over `store` with a changed configuration.
pub fn service_with(
    pkis: &[&LabPki],
    store: MemoryStore,
    configure: impl FnOnce(&mut SmdpConfig),
) -> Smdp<MemoryStore> {
    service_with_keys(SmdpKeys::from_pkis(pkis).expect("keys"), store, configure)
}

/// The SM-DP+ over `store` with `keys` (signers of any kind: software or HSM) and a changed
/// configuration.
pub fn service_with_keys(
    keys: SmdpKeys,
    store: MemoryStore,
    configure: impl FnOnce(&mut SmdpConfig),
) -> Smdp<MemoryStore> {
    let mut cfg = SmdpConfig::new(FQDN);
    cfg.port = 8443;
    configure(&mut cfg);
    let rng: Arc<dyn Random> = Arc::new(SystemRandom::new());
    let ka: Arc<dyn KeyAgreement> = Arc::new(SoftwareKeyAgreement::new(SystemRandom::new()));
    Smdp::new(
        store,
        cfg,
        keys,
        rng,
        ka,
        Arc::new(MasterKey::from_bytes([7; 32])),
    )
}
