//! The lab PKI of the SM-DP+ tests: one CI, EUM, DPauth/DPpb/DPtls for [`FQDN`], and as many
//! eUICCs as asked, on either curve; [`NOW`] is the tests' fixed time (inside every
//! certificate's validity).

use simforge_crypto::Curve;
use simforge_pki::{LabPki, LabPkiOptions, generate_lab_pki};

/// The SM-DP+ host name of the lab PKI.
pub const FQDN: &str = "smdp.simforge.test";
/// The SM-DP+ address (host and port) the lab SM-DP+ answers as.
pub const ADDRESS: &str = "smdp.simforge.test:8443";
/// The tests' fixed "now" (seconds since the Unix epoch).
pub const NOW: i64 = 1_800_000_000;

/// The crypto crate's curve for a PKI curve.
pub fn crypto_curve(c: simforge_pki::Curve) -> Curve {
    match c {
        simforge_pki::Curve::BrainpoolP256r1 => Curve::BrainpoolP256r1,
        _ => Curve::NistP256,
    }
}

/// A lab PKI for [`FQDN`] with `eids` eUICC certificates.
pub fn lab(curve: simforge_pki::Curve, eids: u64) -> LabPki {
    let mut o = LabPkiOptions::new(curve, FQDN);
    o.euicc_count = eids;
    generate_lab_pki(&o).expect("lab pki")
}
