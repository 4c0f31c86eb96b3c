//! What the tests of several crates share (not published):
//!
//! - [`lab`]: the lab PKI of the SM-DP+ tests and their fixed time;
//! - [`profiles`]: one card's credentials, profiles built by the project from them
//!   (`simforge_saip::build_profile`), and the TS.48 templates of `../shared` where a test
//!   needs a real template;
//! - [`service`]: the SM-DP+ on a `MemoryStore` with the lab keys;
//! - [`client`]: a step-by-step sans-IO eUICC + LPA client of the SM-DP+ (independent of the
//!   eUICC and LPA crates), for tests that tamper with single messages;
//! - [`card`]: the in-process card (`simforge_lpa::Card` over the real `simforge_euicc::Euicc`);
//! - [`stand_in`]: a stand-in SM-DP+ that can spoil its answers, for the LPA's negative tests;
//! - [`sgp22`]: the SGP.22 JSON member table (every ES9+/ES11/ES2+ member, name, M/O,
//!   encoding) and its `check` helper;
//! - [`es9`]: ES9+ transports without sockets — into the service, or through the server's
//!   axum router in memory;
//! - [`softhsm`]: a SoftHSM2 token of its own per test (`softhsm2-util`), for the PKCS#11
//!   tests;
//! - [`webdriver`]: a small W3C WebDriver client (chromedriver and headless Chromium) for the
//!   console's browser tests and the command line's;
//! - [`clock`] and [`pair`]: one clock for a whole world, and the [`Pair`] of SM-DP+, real
//!   eUICCs and real LPA on it (`drive_download`, `advance`, `interleave`).
//!
//! A test kit panics on what it does not expect: helpers `expect` rather than return errors.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::missing_errors_doc
)]

pub mod card;
pub mod client;
pub mod clock;
pub mod es9;
pub mod lab;
pub mod pair;
pub mod postgres;
pub mod profiles;
pub mod service;
pub mod sgp22;
pub mod softhsm;
pub mod stand_in;
pub mod totp;
pub mod webdriver;

pub use clock::TestClock;
pub use pair::{Order, Pair};

/// The helpers of the SM-DP+ tests in one glob: lab PKI, sans-IO client, service, profiles.
pub mod prelude {
    pub use crate::client::*;
    pub use crate::lab::*;
    pub use crate::profiles::*;
    pub use crate::service::*;
}
