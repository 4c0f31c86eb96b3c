//! The device side's edges, for every front door (the `simforge` CLI today):
//!
//! - the [`simforge_lpa::Card`]s an LPA drives: the in-process virtual eUICC ([`InProcess`]) and
//!   its state file ([`VirtualEuicc`]: load, save 0600 and atomically, persist after every
//!   change; served to pcscd's vpcd or over lpac's stdio protocol), a PC/SC reader
//!   ([`PcscCard`], feature `pcsc`), and a card program run as a child speaking lpac's stdio
//!   protocol ([`StdioCard`]: bounded lines, a timeout per reply, the child reaped);
//!   [`with_card`] opens one of them, runs an LPA on it and closes it;
//! - the ES9+ transport over HTTPS ([`Https`]: reqwest blocking + rustls, CA pinning or
//!   `insecure`);
//! - eUICC identities from a lab PKI directory or certificate and key files ([`identity`]);
//! - the load generator ([`load`]): many virtual eUICCs and LPAs against an SM-DP+, with an
//!   event log and a latency/error [`load::Report`].
//!
//! No terminal or argument-parsing types: progress and warnings go through callbacks.

mod card;
mod https;
pub mod identity;
pub mod load;
#[cfg(feature = "pcsc")]
mod pcsc_card;
mod state;
mod stdio;

use std::path::PathBuf;

pub use card::{CardSpec, InProcess, with_card};
pub use https::{Https, HttpsConfig, read_ca};
#[cfg(feature = "pcsc")]
pub use pcsc_card::PcscCard;
pub use state::{EuiccFile, VirtualEuicc};
pub use stdio::{MAX_STDIO_LINE, StdioCard};

/// Every error of this crate. Messages name the file or peer; the cause stays the source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written, or a program not started.
    #[error("{what} {}", path.display())]
    Io {
        /// What was being done ("reading", "writing", …).
        what: &'static str,
        /// The file, directory or program.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An I/O failure described by its context only (a socket, a child's pipe).
    #[error("{context}")]
    IoContext {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The eUICC file is not valid JSON of an eUICC.
    #[error("parsing {}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The eUICC file to create is already there.
    #[error("{} exists; not overwriting an eUICC", .0.display())]
    Exists(PathBuf),
    /// The virtual eUICC refused its identity or state, or its transport failed.
    #[error(transparent)]
    Euicc(#[from] simforge_euicc::Error),
    /// Certificate and key files that do not make an eUICC identity.
    #[error("{context}")]
    Identity {
        /// The files.
        context: String,
        /// Which check failed.
        #[source]
        source: simforge_euicc::Error,
    },
    /// A certificate or key of the PKI is unusable.
    #[error(transparent)]
    Pki(#[from] simforge_pki::Error),
    /// A certificate or key of the PKI, named, is unusable.
    #[error("{what}")]
    PkiItem {
        /// Which one.
        what: String,
        /// The cause.
        #[source]
        source: simforge_pki::Error,
    },
    /// The PKI directory lacks what is needed (message says what).
    #[error("{0}")]
    PkiDir(String),
    /// The EID asked for is not the certificate's.
    #[error("--eid {given} is not the eUICC certificate's EID {actual}")]
    EidMismatch {
        /// The EID asked for.
        given: String,
        /// The certificate's EID.
        actual: String,
    },
    /// The LPA failed (ES10 or ES9+).
    #[error(transparent)]
    Lpa(#[from] simforge_lpa::Error),
    /// The card program (`--stdio`) failed outside an APDU exchange.
    #[error("{0}")]
    CardProgram(String),
    /// The HTTPS client could not be built (e.g. a CA bundle that is not PEM).
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// The PC/SC service failed.
    #[cfg(feature = "pcsc")]
    #[error("{context}")]
    Pcsc {
        /// What was being done.
        context: &'static str,
        /// The cause.
        #[source]
        source: pcsc::Error,
    },
    /// No PC/SC reader (or no card in it) to use.
    #[error("{0}")]
    NoReader(String),
    /// A PC/SC reader asked for, in a build without PC/SC.
    #[error(
        "this simforge was built without PC/SC support: build it with `--features pcsc` \
         (needs libpcsclite-dev and pkg-config)"
    )]
    PcscUnsupported,
    /// A load-test setting is invalid (message says which).
    #[error("{0}")]
    Config(String),
    /// A worker thread could not be started.
    #[error("starting a thread")]
    Thread(#[source] std::io::Error),
}

impl Error {
    fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { what, path, source }
    }
}

/// `e` and its sources, joined by `": "` (what anyhow prints with `{:#}`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(c) = next {
        s.push_str(": ");
        s.push_str(&c.to_string());
        next = c.source();
    }
    s
}
