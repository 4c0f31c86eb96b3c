//! simforge-crypto (placeholder, filled in by its owner).
