//! simforge-vault (placeholder, filled in by its owner).
