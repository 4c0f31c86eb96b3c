//! The crate's single error type.

use std::io;

use crate::gsup::GsupCause;

/// Everything that can go wrong in this crate.
///
/// No variant ever carries key material: VTY failures name the script line number and the
/// VTY's error text with every key argument of that line redacted, decoder failures describe
/// the defect without echoing the offending bytes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation failed; `context` says which one.
    #[error("{context}: {source}")]
    Io {
        /// What was being done when the error happened.
        context: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// The `osmo-hlr` binary was not found on `PATH`.
    #[error("osmo-hlr is not installed (binary not found on PATH)")]
    NotInstalled,

    /// `osmo-hlr` did not come up (exited early or never opened its ports).
    #[error("osmo-hlr failed to start: {0}")]
    Startup(String),

    /// The peer did not answer in time.
    #[error("timed out: {0}")]
    Timeout(String),

    /// The peer closed the connection.
    #[error("connection closed by peer: {0}")]
    ConnectionClosed(String),

    /// A VTY command (or a line of a VTY script) was rejected by the VTY.
    ///
    /// `message` is the VTY's `% ...` error text, with the key arguments of the failing line
    /// (anything after `k`, `ki`, `op`, `opc`) and any long hex string replaced by
    /// `<redacted>`. The command line itself is never included.
    #[error("VTY script line {line}: {message} ({failed_lines} failing line(s) in total)")]
    VtyCommand {
        /// 1-based line number in the script (1 for a single command).
        line: usize,
        /// The VTY's error text (redacted).
        message: String,
        /// How many lines of the script failed in total.
        failed_lines: usize,
    },

    /// A script line cannot be sent to the VTY (e.g. it contains `?` or a control character,
    /// which the VTY interprets interactively).
    #[error("VTY script line {line}: {reason}")]
    InvalidScriptLine {
        /// 1-based line number in the script.
        line: usize,
        /// Why the line was refused.
        reason: &'static str,
    },

    /// The VTY conversation went out of step (unexpected prompt, echo or greeting).
    #[error("VTY protocol error: {0}")]
    VtyProtocol(String),

    /// An IMSI is not 1 to 15 decimal digits.
    #[error("invalid IMSI: {0}")]
    InvalidImsi(&'static str),

    /// A caller-supplied argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),

    /// Bytes received from the peer do not form a valid IPA frame or GSUP message.
    #[error("malformed {layer} data: {reason}")]
    Malformed {
        /// `"IPA"` or `"GSUP"`.
        layer: &'static str,
        /// What is wrong (never the offending bytes themselves).
        reason: String,
    },

    /// The HLR answered with a GSUP error message (e.g. unknown IMSI).
    #[error("GSUP error from HLR: {}", cause_text(.cause))]
    Gsup {
        /// The GSUP cause (GMM cause, TS 24.008 §10.5.5.14) the HLR gave; `None` if the error
        /// message carried no cause IE.
        cause: Option<GsupCause>,
    },
}

fn cause_text(cause: &Option<GsupCause>) -> String {
    match cause {
        Some(c) => c.to_string(),
        None => "no cause given".to_owned(),
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn malformed_ipa(reason: impl Into<String>) -> Self {
        Error::Malformed {
            layer: "IPA",
            reason: reason.into(),
        }
    }

    pub(crate) fn malformed_gsup(reason: impl Into<String>) -> Self {
        Error::Malformed {
            layer: "GSUP",
            reason: reason.into(),
        }
    }

    /// The GSUP cause, if this is an [`Error::Gsup`] that carried one.
    pub fn gsup_cause(&self) -> Option<GsupCause> {
        match self {
            Error::Gsup { cause } => *cause,
            _ => None,
        }
    }
}
