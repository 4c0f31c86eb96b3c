//! simforge-saip (placeholder, filled in by its owner).
