//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// 2026-01-01T00:00:00Z
pub fn jan_2026() -> i64 {
    1_767_225_600
}

/// 2026-09-01T00:00:00Z (after the SGP.26 DPtls expiry of 2026-08-02)
pub fn sep_2026() -> i64 {
    1_788_220_800
}

pub fn at(unix: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
}

/// The SGP.26 folder of the shared reference material, or `None` (after printing
/// "skipped: …") when it is absent. Under `CI` its absence fails the test.
pub fn sgp26_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SIMFORGE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("sgp26");
    if dir.join("CertificateIssuer").is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: SGP.26 material not found at {} (CI is set: no skipping)",
            dir.display()
        );
        println!(
            "skipped: {test}: SGP.26 material not found at {}",
            dir.display()
        );
        None
    }
}
