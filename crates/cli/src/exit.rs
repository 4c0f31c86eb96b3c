//! Exit codes a script can rely on, and the error type that carries them.

use std::fmt;

use simforge_factory::ErrorKind;

/// The documented exit codes (README "Exit codes"); 2 is clap's, for a bad command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 1: anything else (I/O, database, internal).
    Failure = 1,
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
    /// The code of the first library error in the chain, by its kind; else 1.
    fn from(e: E) -> Self {
        let error: anyhow::Error = e.into();
        let code = error.chain().find_map(|c| {
            let kind = if let Some(e) = c.downcast_ref::<simforge_factory::Error>() {
                e.kind()
            } else if let Some(e) = c.downcast_ref::<simforge_esim::Error>() {
                match e.kind() {
                    simforge_esim::ErrorKind::Invalid => ErrorKind::Input,
                    simforge_esim::ErrorKind::NotFound => ErrorKind::NotFound,
                    simforge_esim::ErrorKind::Conflict => ErrorKind::Conflict,
                    simforge_esim::ErrorKind::Failure => ErrorKind::Failure,
                }
            } else if let Some(s) = c.downcast_ref::<simforge_store::StoreError>() {
                simforge_factory::store_kind(s)
            } else if c.is::<simforge_sim::OrderError>()
                || c.is::<simforge_sim::SecretError>()
                || c.is::<simforge_sim::IdError>()
            {
                ErrorKind::Input
            } else {
                return None;
            };
            Some(match kind {
                ErrorKind::Input => Code::Input,
                ErrorKind::Conflict => Code::Conflict,
                ErrorKind::NotFound => Code::NotFound,
                ErrorKind::Verify => Code::Verify,
                ErrorKind::Failure => Code::Failure,
            })
        });
        let code = code.unwrap_or(Code::Failure);
        Self { code, error }
    }
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
