//! simforge-gsup: the HLR side of simforge's end-to-end tests.
//!
//! * [`OsmoHlr`] starts a private `osmo-hlr` (Osmocom HLR/AuC) and kills it on drop.
//! * [`VtyClient`] provisions subscribers over osmo-hlr's VTY (`subscriber imsi X create`,
//!   `subscriber imsi X update aud3g milenage k K opc OPC`, ...), pipelining whole scripts.
//! * [`GsupClient`] asks for authentication vectors with GSUP SendAuthInfo over IPA, as an
//!   MSC/SGSN would, including the AUTS re-synchronisation request.
//!
//! ```no_run
//! # fn main() -> Result<(), simforge_gsup::Error> {
//! use simforge_gsup::OsmoHlr;
//! let dir = std::env::temp_dir().join("hlr-example");
//! std::fs::create_dir_all(&dir).ok();
//! let hlr = OsmoHlr::start(&dir)?;
//! let mut vty = hlr.vty()?;
//! vty.run_script(
//!     "subscriber imsi 001010000000001 create\n\
//!      subscriber imsi 001010000000001 update aud3g milenage \
//!      k 465b5ce8b199b49faa5f0a2ee238a6bc opc cd63cb71954a9f4e48a5994e37a02baf\n",
//! )?;
//! let vectors = hlr.gsup()?.send_auth_info("001010000000001", 3)?;
//! assert_eq!(vectors.len(), 3);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod client;
mod error;
pub mod gsup;
mod hlr;
pub mod ipa;
mod vty;

pub use client::{DEFAULT_CLIENT_NAME, DEFAULT_TIMEOUT as GSUP_DEFAULT_TIMEOUT, GsupClient};
pub use error::Error;
pub use gsup::{AuthTuple, GsupCause};
pub use hlr::{CTRL_PORT, GSUP_PORT, HlrDatabase, OsmoHlr, VTY_PORT};
pub use vty::{DEFAULT_TIMEOUT as VTY_DEFAULT_TIMEOUT, ScriptReport, VtyClient};
