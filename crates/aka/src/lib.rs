//! simforge-aka (placeholder, filled in by its owner).
