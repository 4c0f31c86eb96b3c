//! simforge-asn1 (placeholder, filled in by its owner).
