//! A log sink that never fails its caller: logging must never decide whether a committed
//! result reaches its caller.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The number of log writes that failed (full disk, closed pipe …), shared between the
/// [`LossyWriter`]s and the [`Metrics`](crate::Metrics) that exposes it.
#[derive(Clone, Debug, Default)]
pub struct LogWriteErrors(Arc<AtomicU64>);

impl LogWriteErrors {
    /// Failed writes so far.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A writer (e.g. standard error, for the log) whose write errors are counted and swallowed:
/// the line is dropped, the caller (a request being answered) goes on. A tracing subscriber
/// writing through it never panics or fails because of its output.
#[derive(Debug)]
pub struct LossyWriter<W> {
    inner: W,
    errors: LogWriteErrors,
}

impl<W> LossyWriter<W> {
    /// Writes to `inner`, counting failures in `errors`.
    pub fn new(inner: W, errors: LogWriteErrors) -> Self {
        Self { inner, errors }
    }
}

impl<W: Write> Write for LossyWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.write(buf) {
            Ok(0) if !buf.is_empty() => {
                self.errors.add();
                Ok(buf.len())
            }
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(_) => {
                self.errors.add();
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.inner.flush().is_err() {
            self.errors.add();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A writer that always fails, as standard error on a full disk does.
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(28)) // ENOSPC
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from_raw_os_error(28))
        }
    }

    #[test]
    fn write_errors_are_counted_not_returned() {
        let errors = LogWriteErrors::default();
        let mut w = LossyWriter::new(Full, errors.clone());
        w.write_all(b"a log line\n").unwrap();
        w.write_all(b"another\n").unwrap();
        w.flush().unwrap();
        assert_eq!(errors.count(), 3);
        let mut ok = LossyWriter::new(Vec::new(), errors.clone());
        ok.write_all(b"x").unwrap();
        assert_eq!((ok.inner, errors.count()), (b"x".to_vec(), 3));
    }
}
