//! The eSIM platform's workflows as library calls, for every front door (the `simforge`
//! command line today; an operator API or a console next): the SM-DP+'s PKI ([`pki`]), ES2+
//! operator credentials ([`credentials`]), the profile inventory imported from a SIM factory
//! batch or from uploaded packages through [`simforge_smdp::add_profiles`] ([`inventory`]),
//! the operators' callback settings and outbox ([`callbacks`]), their policies ([`policy`]),
//! the demo's release of a profile ([`demo`]), and the server assembled with its background
//! jobs ([`platform`]).
//!
//! Signatures take library types — the store, `&dyn Vault`, paths or bytes, times — never
//! command-line or terminal types; nothing here prints. One error type, [`Error`], whose
//! [`Error::kind`] a front door maps to its answer.

pub mod callbacks;
pub mod credentials;
pub mod demo;
pub mod error;
pub mod hsm;
pub mod inventory;
pub mod pki;
pub mod platform;
pub mod policy;
pub mod reload;
pub mod smds;
pub mod users;

pub use error::{Error, ErrorKind, Result};
