//! simforge-gsup (placeholder, filled in by its owner).
