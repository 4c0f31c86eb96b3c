//! # simforge-tidy
//!
//! No code: its tests (`tests/tidy.rs`) read the workspace's sources, `Cargo.toml`s (through
//! `cargo metadata`) and `ARCHITECTURE.md`, and fail when an invariant stated there is broken.
