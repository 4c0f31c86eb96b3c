//! Exit codes a script can rely on, and the error type that carries them.

use std::fmt;

use simforge_factory::ErrorKind;
use simforge_store::StoreError;

/// The documented exit codes (README "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 1: anything else (I/O, database, internal).
    Failure = 1,
    /// 2: bad command line (clap's own code).
    #[allow(dead_code)]
    Usage = 2,
    /// 3: invalid input: an order, key file or option value is malformed.
    Input = 3,
    /// 4: conflict: a range overlaps a reserved one, a name or key index is taken, or the object is in the wrong state.
    Conflict = 4,
    /// 5: not found: unknown operator, key index (KID/OPID) or batch.
    NotFound = 5,
    /// 6: verification failed: a delivered file does not check out.
    Verify = 6,
}

/// An error with its exit code.
pub struct CliError {
    pub code: Code,
    pub error: anyhow::Error,
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(e: E) -> Self {
        let error: anyhow::Error = e.into();
        if let Some(code) = factory_code(&error) {
            return Self { code, error };
        }
        let code = error
            .chain()
            .find_map(|c| c.downcast_ref::<simforge_esim::Error>())
            .map(|e| match e.kind() {
                simforge_esim::ErrorKind::Invalid => Code::Input,
                simforge_esim::ErrorKind::NotFound => Code::NotFound,
                simforge_esim::ErrorKind::Conflict => Code::Conflict,
                simforge_esim::ErrorKind::Failure => Code::Failure,
            })
            .or_else(|| {
                error
                    .chain()
                    .find_map(|c| c.downcast_ref::<StoreError>())
                    .map(|s| match s {
                        StoreError::Exists(_) | StoreError::Overlap(_) | StoreError::State(..) => {
                            Code::Conflict
                        }
                        StoreError::NotFound(_) => Code::NotFound,
                        _ => Code::Failure,
                    })
            })
            .or_else(|| {
                error.chain().find_map(|c| {
                    (c.is::<simforge_sim::OrderError>()
                        || c.is::<simforge_sim::SecretError>()
                        || c.is::<simforge_sim::IdError>())
                    .then_some(Code::Input)
                })
            })
            .unwrap_or(Code::Failure);
        Self { code, error }
    }
}

/// The code of a `simforge_factory` error in the chain, by its kind.
fn factory_code(error: &anyhow::Error) -> Option<Code> {
    let e = error
        .chain()
        .find_map(|c| c.downcast_ref::<simforge_factory::Error>())?;
    Some(match e.kind() {
        ErrorKind::Input => Code::Input,
        ErrorKind::Conflict => Code::Conflict,
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::Verify => Code::Verify,
        ErrorKind::Failure => Code::Failure,
    })
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

/// Wraps an error with an explicit code.
pub fn fail(code: Code, error: impl Into<anyhow::Error>) -> CliError {
    CliError {
        code,
        error: error.into(),
    }
}
