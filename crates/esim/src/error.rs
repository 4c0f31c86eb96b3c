//! The crate's one error type. Every variant keeps its source; none carries a secret (keys
//! and PEM private keys are never formatted into a message).

use std::path::PathBuf;

use simforge_store::StoreError;

/// What went wrong, coarsely: what a front door needs to choose its answer (an exit code, an
/// HTTP status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input (a file, a value, an option) is malformed or unusable.
    Invalid,
    /// The named object (operator, batch, credential, profile, event) does not exist.
    NotFound,
    /// The object exists but is in the wrong state, or the name is taken.
    Conflict,
    /// Anything else: I/O, database, vault, internal.
    Failure,
}

/// An error of an eSIM platform workflow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be renamed.
    #[error("renaming {} to {}", from.display(), to.display())]
    Rename {
        /// The file.
        from: PathBuf,
        /// Its new name.
        to: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The API key file of older versions does not parse.
    #[error("parsing {}", path.display())]
    ApiKeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A PKI (lab or SGP.26) cannot be loaded, created or used.
    #[error("{context}")]
    Pki {
        /// What was being done, naming the file or directory.
        context: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No lab PKI in the configured directory.
    #[error("no lab PKI in {} (make one with `simforge pki init --dir {}`)", dir.display(), dir.display())]
    NoPki {
        /// The directory.
        dir: PathBuf,
    },
    /// The SM-DP+'s keys or server configuration are unusable.
    #[error("{context}")]
    Config {
        /// What.
        context: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A certificate file (or upload) holds no certificate.
    #[error("no certificate")]
    NoCertificate,
    /// Certificates (a file or an upload) do not parse.
    #[error(transparent)]
    Certificates(simforge_server::Error),
    /// A value is malformed (a URL, a policy, a PEM text).
    #[error("{what}")]
    Invalid {
        /// What is wrong.
        what: String,
        /// Why, when a parser said so.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The named object does not exist (or is another operator's).
    #[error("{0}")]
    NotFound(String),
    /// A user or token call was refused or failed (simforge-access).
    #[error(transparent)]
    Access(#[from] simforge_access::Error),
    /// The object is in the wrong state.
    #[error("{0}")]
    Conflict(String),
    /// A batch's electrical file is missing or does not parse.
    #[error("{}", path.display())]
    ElecFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: simforge_sim::ElectricalError,
    },
    /// The profile package of a card cannot be made (a template the card data cannot
    /// personalize completely, or card data a profile cannot hold).
    #[error("profile for ICCID {iccid}")]
    Package {
        /// The card's ICCID.
        iccid: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An uploaded profile package has no ProfileHeader ICCID.
    #[error("profile package #{index}: {what}")]
    UploadedPackage {
        /// Its position in the upload (0-based).
        index: usize,
        /// What is wrong.
        what: &'static str,
        /// Why, when a decoder said so.
        #[source]
        source: Option<simforge_saip::Error>,
    },
    /// `operator reset-profile` refused.
    #[error("{what}")]
    Reset {
        /// What, in words.
        what: String,
        /// The SM-DP+'s error.
        #[source]
        source: simforge_smdp::Error,
    },
    /// An ES2+ call of the demo failed.
    #[error("demo ES2+")]
    DemoEs2(#[source] simforge_smdp::Error),
    /// The SM-DP+ (inventory, sessions) failed.
    #[error(transparent)]
    Smdp(#[from] simforge_smdp::Error),
    /// The platform database failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The SM-DS's store failed (its event records and forwards).
    #[error(transparent)]
    Smds(#[from] simforge_smds::Error),
    /// The vault failed (sealing, unsealing).
    #[error(transparent)]
    Vault(#[from] simforge_vault::VaultError),
    /// The PKCS#11 HSM refused or failed (module, token, PIN file, key).
    #[error(transparent)]
    Hsm(#[from] simforge_hsm::HsmError),
    /// An identifier is malformed.
    #[error(transparent)]
    Id(#[from] simforge_sim::IdError),
    /// An activation code cannot be made or drawn.
    #[error(transparent)]
    ActivationCode(#[from] simforge_asn1::Error),
    /// A call answered without what it must answer with.
    #[error("{0}")]
    Unexpected(&'static str),
    /// The random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// The HTTPS server failed.
    #[error("server")]
    Server(#[source] simforge_server::Error),
    /// The server task ended abnormally.
    #[error("server task")]
    ServerTask(#[source] tokio::task::JoinError),
    /// A listener's address cannot be read.
    #[error("listener address")]
    Listener(#[source] std::io::Error),
}

impl Error {
    /// The coarse kind of the error (see [`ErrorKind`]).
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Pki { .. }
            | Self::Config { .. }
            | Self::NoCertificate
            | Self::Certificates(_)
            | Self::Invalid { .. }
            | Self::ElecFile { .. }
            | Self::Package { .. }
            | Self::UploadedPackage { .. }
            | Self::Id(_) => ErrorKind::Invalid,
            Self::NoPki { .. } | Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) | Self::DemoEs2(_) => ErrorKind::Conflict,
            Self::Access(e) => match e.kind() {
                "invalid" => ErrorKind::Invalid,
                "exists" => ErrorKind::Conflict,
                "not-found" => ErrorKind::NotFound,
                _ => ErrorKind::Failure,
            },
            Self::Reset { source, .. } => match source {
                simforge_smdp::Error::IccidUnknown => ErrorKind::NotFound,
                simforge_smdp::Error::IccidInvalidState(_) => ErrorKind::Conflict,
                _ => ErrorKind::Failure,
            },
            Self::Hsm(h) => match h {
                simforge_hsm::HsmError::NoToken(_) | simforge_hsm::HsmError::NoKey { .. } => {
                    ErrorKind::NotFound
                }
                simforge_hsm::HsmError::Exists(_) => ErrorKind::Conflict,
                simforge_hsm::HsmError::PinFile { .. }
                | simforge_hsm::HsmError::BadPinFile { .. }
                | simforge_hsm::HsmError::BadKey { .. }
                | simforge_hsm::HsmError::Ambiguous { .. } => ErrorKind::Invalid,
                _ => ErrorKind::Failure,
            },
            Self::Store(s) => match s {
                StoreError::Exists(_) | StoreError::Overlap(_) | StoreError::State(..) => {
                    ErrorKind::Conflict
                }
                StoreError::NotFound(_) => ErrorKind::NotFound,
                _ => ErrorKind::Failure,
            },
            Self::Read { .. }
            | Self::Rename { .. }
            | Self::ApiKeyFile { .. }
            | Self::Smdp(_)
            | Self::Smds(_)
            | Self::Vault(_)
            | Self::ActivationCode(_)
            | Self::Unexpected(_)
            | Self::Random(_)
            | Self::Server(_)
            | Self::ServerTask(_)
            | Self::Listener(_) => ErrorKind::Failure,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        Self::Invalid {
            what: what.into(),
            source: None,
        }
    }

    pub(crate) fn invalid_because(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Invalid {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn read(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Read {
            path: path.to_owned(),
            source,
        }
    }
}

/// Result of a workflow.
pub type Result<T, E = Error> = std::result::Result<T, E>;
