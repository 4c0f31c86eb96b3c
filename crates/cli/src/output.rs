//! Standard output and error that never panic (`std::println!` does on EPIPE or ENOSPC, exit
//! code 101). A reader that went away (EPIPE: `simforge batch list | true`) ends the output
//! quietly, the command keeping its exit code; any other write error is exit code 1 with
//! `error: cannot write to standard output: …`. [`out!`] returns that error (`out!(…)?`); the
//! `println!` and `eprintln!` below replace std's in the whole binary (declared before every
//! other module of `main.rs`): `println!` exits with code 1 at once, `eprintln!` ignores errors.
//! Also the batch progress bar.

use std::fmt;
use std::io::{ErrorKind, Write};

/// Standard output could not be written (other than a closed reader).
#[derive(Debug)]
pub struct StdoutError(pub std::io::Error);

impl fmt::Display for StdoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write to standard output: {}", self.0)
    }
}

impl std::error::Error for StdoutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Writes one line to standard output; after EPIPE the line is dropped.
pub fn write_line(args: fmt::Arguments<'_>) -> Result<(), StdoutError> {
    let mut line = args.to_string();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    match out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(StdoutError(e)),
    }
}

/// [`write_line`] for `println!`: on an error, reports it and exits with code 1.
pub fn write_line_or_exit(args: fmt::Arguments<'_>) {
    if let Err(e) = write_line(args) {
        write_err_line(format_args!("error: {e}"));
        std::process::exit(1);
    }
}

/// Writes one line to standard error, ignoring errors.
pub fn write_err_line(args: fmt::Arguments<'_>) {
    let mut line = args.to_string();
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Prints a line to standard output; evaluates to `Result<(), StdoutError>` (EPIPE is `Ok`).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

/// `std::println!` without the panic: see the module documentation.
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::output::write_line_or_exit(format_args!($($arg)*))
    };
}

/// `std::eprintln!` without the panic: errors writing standard error are ignored.
macro_rules! eprintln {
    ($($arg:tt)*) => {
        $crate::output::write_err_line(format_args!($($arg)*))
    };
}

/// The progress bar of a batch on standard error (hidden with --quiet or off a terminal).
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    pub fn new(quiet: bool) -> Self {
        if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return Self(indicatif::ProgressBar::hidden());
        }
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} cards ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Self(b)
    }
}

impl simforge_factory::Progress for Bar {
    fn start(&mut self, cards: u64) {
        self.0.set_length(cards);
        self.0.reset_elapsed();
    }
    fn cards(&mut self, done: u64) {
        self.0.set_position(done);
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}
