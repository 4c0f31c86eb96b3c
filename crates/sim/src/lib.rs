//! simforge-sim (placeholder, filled in by its owner).
