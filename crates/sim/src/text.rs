//! Bounded reading of the text files the factory is given (order files, TOML/JSON orders, card
//! profiles, key files, the `.out` and electrical files `verify` reads).
//!
//! Every reader here holds at most one line (or one whole small file) of a fixed maximum size in
//! memory: a 2 GB line is refused after `max` bytes, not after reading it all. A UTF-8 byte order
//! mark (EF BB BF) at the start of the input is dropped, as editors on some systems write one.

use std::io::{BufRead, Read};

/// The longest line accepted in a line-oriented file (order, `.out`, electrical CSV): far more
/// than any line of the trade's files (a `.out` line with every column is under 1 KiB).
pub const MAX_LINE: usize = 64 * 1024;

/// The largest whole text file accepted (TOML/JSON order, card profile).
pub const MAX_TEXT: usize = 1024 * 1024;

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a text input was refused. Never carries the input's bytes (key files are text inputs).
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// A line longer than the limit (1-based line number).
    #[error("line {line} longer than {max} bytes")]
    LineTooLong {
        /// The line.
        line: usize,
        /// The limit.
        max: usize,
    },
    /// A file larger than the limit.
    #[error("longer than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// A line that is not UTF-8.
    #[error("line {line} is not UTF-8 text")]
    NotUtf8 {
        /// The line.
        line: usize,
    },
    /// The reader failed.
    #[error("line {line}: cannot read: {source}")]
    Io {
        /// The line being read.
        line: usize,
        /// The error.
        source: std::io::Error,
    },
}

impl TextError {
    /// The 1-based line the error is about (0 for a whole-file limit).
    #[must_use]
    pub fn line(&self) -> usize {
        match self {
            Self::LineTooLong { line, .. } | Self::NotUtf8 { line } | Self::Io { line, .. } => {
                *line
            }
            Self::TooLarge { .. } => 0,
        }
    }
}

/// The lines of a text input, each at most `max` bytes (without its line break), with `\n` or
/// `\r\n` line breaks removed and a leading byte order mark dropped.
///
/// After an error the iterator ends.
pub struct BoundedLines<R> {
    input: R,
    max: usize,
    line: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> BoundedLines<R> {
    /// Lines of at most `max` bytes from `input`.
    pub fn new(input: R, max: usize) -> Self {
        Self {
            input,
            max,
            line: 0,
            buf: Vec::new(),
            done: false,
        }
    }

    /// The number of the line last returned (1-based).
    #[must_use]
    pub fn line_number(&self) -> usize {
        self.line
    }

    /// Reads the next line into the internal buffer; `Ok(false)` at the end of the input.
    fn read_line(&mut self) -> Result<bool, TextError> {
        self.buf.clear();
        let line = self.line + 1;
        let mut any = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(TextError::Io { line, source }),
            };
            if chunk.is_empty() {
                return Ok(any);
            }
            any = true;
            let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            // Room for a byte order mark and a `\r\n` break; the exact check is on the stripped line.
            if self.buf.len() + take > self.max + BOM.len() + 2 {
                return Err(TextError::LineTooLong {
                    line,
                    max: self.max,
                });
            }
            self.buf.extend_from_slice(&chunk[..take]);
            self.input.consume(take);
            if end {
                return Ok(true);
            }
        }
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = Result<String, TextError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.read_line();
        match r {
            Ok(false) => {
                self.done = true;
                return None;
            }
            Ok(true) => {}
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.line += 1;
        let mut bytes: &[u8] = &self.buf;
        if self.line == 1 {
            bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        }
        bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.len() > self.max {
            self.done = true;
            return Some(Err(TextError::LineTooLong {
                line: self.line,
                max: self.max,
            }));
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Some(Ok(s.to_owned())),
            Err(_) => {
                self.done = true;
                Some(Err(TextError::NotUtf8 { line: self.line }))
            }
        }
    }
}

/// Reads a whole text input of at most `max` bytes, without a leading byte order mark.
///
/// The result is a [`zeroize::Zeroizing`] string, so that key files leave no copy behind.
pub fn read_text(input: impl Read, max: usize) -> Result<zeroize::Zeroizing<String>, TextError> {
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    input
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|source| TextError::Io { line: 0, source })?;
    if bytes.len() > max {
        return Err(TextError::TooLarge { max });
    }
    let start = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let text = std::str::from_utf8(&bytes[start..]).map_err(|e| {
        let line = 1 + bytes[start..start + e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        TextError::NotUtf8 { line }
    })?;
    Ok(zeroize::Zeroizing::new(text.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A reader that produces `byte` for ever and counts what it handed out.
    pub(crate) struct Endless {
        pub byte: u8,
        pub given: u64,
        buf: [u8; 8192],
    }

    impl Endless {
        pub(crate) fn new(byte: u8) -> Self {
            Self {
                byte,
                given: 0,
                buf: [byte; 8192],
            }
        }
    }

    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            out.fill(self.byte);
            self.given += out.len() as u64;
            Ok(out.len())
        }
    }

    impl BufRead for Endless {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            Ok(&self.buf)
        }
        fn consume(&mut self, n: usize) {
            self.given += n as u64;
        }
    }

    fn lines(input: &[u8], max: usize) -> Vec<Result<String, String>> {
        BoundedLines::new(input, max)
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn lines_without_breaks_bom_or_cr() {
        assert_eq!(
            lines(b"\xEF\xBB\xBFFile Name : x\r\nb\n\nlast", 16),
            vec![
                Ok("File Name : x".to_owned()),
                Ok("b".to_owned()),
                Ok(String::new()),
                Ok("last".to_owned())
            ]
        );
        // Only a BOM at the very start is dropped.
        assert_eq!(
            lines(b"a\n\xEF\xBB\xBFb\n", 16)[1],
            Ok("\u{feff}b".to_owned())
        );
        assert_eq!(lines(b"", 16), vec![]);
    }

    #[test]
    fn a_line_of_exactly_max_bytes_passes_one_more_is_refused() {
        let max = 10;
        assert_eq!(lines(b"0123456789\r\n", max), vec![Ok("0123456789".into())]);
        assert_eq!(lines(b"0123456789", max), vec![Ok("0123456789".into())]);
        assert_eq!(
            lines(b"ok\n0123456789A\nnext\n", max),
            vec![
                Ok("ok".into()),
                Err(format!("line 2 longer than {max} bytes"))
            ]
        );
        assert_eq!(
            lines(b"\xff\n", max),
            vec![Err("line 1 is not UTF-8 text".into())]
        );
    }

    #[test]
    fn an_endless_line_is_refused_after_the_limit() {
        let mut input = Endless::new(b'A');
        let mut l = BoundedLines::new(&mut input, MAX_LINE);
        let e = l.next().unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("line 1 longer than {MAX_LINE} bytes")
        );
        assert!(l.next().is_none());
        drop(l);
        assert!(
            input.given < (MAX_LINE as u64) + 16 * 1024,
            "{}",
            input.given
        );
    }

    #[test]
    fn whole_texts_are_bounded_and_lose_their_bom() {
        assert_eq!(
            read_text(&b"\xEF\xBB\xBFquantity = 1\n"[..], 100)
                .unwrap()
                .as_str(),
            "quantity = 1\n"
        );
        let mut endless = Endless::new(b' ');
        let e = read_text(&mut endless, MAX_TEXT).unwrap_err();
        assert_eq!(e.to_string(), format!("longer than {MAX_TEXT} bytes"));
        assert!(endless.given <= MAX_TEXT as u64 + 1);
        let e = read_text(&b"a\nb\xff"[..], 100).unwrap_err();
        assert_eq!(e.to_string(), "line 2 is not UTF-8 text");
    }
}
