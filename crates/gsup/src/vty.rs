//! Client for the Osmocom VTY (the telnet command line of osmo-hlr, TCP 4258).
//!
//! Commands are pipelined: a script is written to the socket by a helper thread while this
//! thread reads the answers, so the cost per command is the VTY's own work, not a round trip.
//! Answers are split at the prompts (`HOST# `, `HOST> `, `HOST(node)# `); the VTY echoes each
//! command line, which is checked and then dropped (it may hold keys).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::Error;

/// Default timeout for connecting and for the VTY to make progress while answering.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// `%`-prefixed lines that osmo-hlr prints on success (everything else starting with `%` is an
/// error: `% Unknown command.`, `% Command incomplete.`, `% No subscriber for ...`,
/// `% Subscriber already exists ...`, `% Invalid value for K: ...`, ...).
const INFO_PREFIXES: &[&str] = &[
    "% Created subscriber",
    "% Deleted subscriber",
    "% Updated subscriber",
    "% Checksum validated",
];

/// Keywords whose following argument is key material, to be redacted from error texts.
const KEY_KEYWORDS: &[&str] = &["k", "ki", "op", "opc"];

const MAX_ERROR_TEXT: usize = 300;

/// Largest answer to one command that is accepted (guards against a peer that never prompts).
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// What [`VtyClient::run_script`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptReport {
    /// Number of commands sent (script lines that are not blank or comments).
    pub commands: usize,
    /// Wall-clock time from the first command sent to the last answer read.
    pub elapsed: Duration,
}

/// A connection to an Osmocom VTY, in `enable` mode.
///
/// Its `Debug` output shows only the peer address and the host name, never buffered VTY
/// traffic (which echoes commands, keys included).
pub struct VtyClient {
    stream: TcpStream,
    peer: SocketAddr,
    hostname: String,
    timeout: Duration,
    telnet: TelnetFilter,
    buf: Vec<u8>,
    broken: bool,
}

impl std::fmt::Debug for VtyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VtyClient")
            .field("peer", &self.peer)
            .field("hostname", &self.hostname)
            .finish_non_exhaustive()
    }
}

impl VtyClient {
    /// Connects to the VTY at `addr` with [`DEFAULT_TIMEOUT`], reads the greeting and enters
    /// `enable` mode.
    pub fn connect(addr: SocketAddr) -> Result<VtyClient, Error> {
        Self::connect_with(addr, DEFAULT_TIMEOUT)
    }

    /// Like [`connect`](Self::connect), with `timeout` as the limit for connecting and for
    /// each period without progress while waiting for an answer.
    pub fn connect_with(addr: SocketAddr, timeout: Duration) -> Result<VtyClient, Error> {
        if timeout.is_zero() {
            return Err(Error::InvalidArgument("timeout must be non-zero"));
        }
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| Error::io(format!("connecting to VTY {addr}"), e))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| Error::io("configuring VTY socket", e))?;
        let mut vty = VtyClient {
            stream,
            peer: addr,
            hostname: String::new(),
            timeout,
            telnet: TelnetFilter::default(),
            buf: Vec::with_capacity(64 * 1024),
            broken: false,
        };
        vty.read_greeting()?;
        vty.command("enable")?;
        Ok(vty)
    }

    /// The VTY's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The host name shown in the VTY prompt (`OsmoHLR` for osmo-hlr).
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// Runs one command and returns its output (without the echoed command and the prompt;
    /// lines joined with `\n`).
    ///
    /// A `%` error line in the answer gives [`Error::VtyCommand`] with `line` 1.
    pub fn command(&mut self, command: &str) -> Result<String, Error> {
        let command = command.trim();
        check_line(1, command)?;
        let mut output = String::new();
        let mut failure = None;
        self.execute(&[(1, command)], |_, cmd, out| {
            if let Some(msg) = error_text(cmd, out) {
                failure = Some(msg);
            }
            output = out.join("\n");
        })?;
        match failure {
            Some(message) => Err(Error::VtyCommand {
                line: 1,
                message,
                failed_lines: 1,
            }),
            None => Ok(output),
        }
    }

    /// Runs a script: one command per line; blank lines and lines starting with `#` or `!`
    /// are skipped, and so are `enable` lines before the first command: the client is in
    /// `enable` mode already, where `enable` is an unknown command, and a script written for a
    /// plain telnet session (such as the factory's `.osmo-hlr.vty`) starts with one.
    ///
    /// Every command is executed, even after a failing one (the commands are pipelined). If
    /// any failed, the result is [`Error::VtyCommand`] naming the first failing line (1-based
    /// line number in `script`), the VTY's error text (key arguments redacted) and the number
    /// of failing lines. Lines containing `?` or control characters are refused before
    /// anything is sent ([`Error::InvalidScriptLine`]). Commands that leave `enable` mode
    /// (`exit`, `disable`, ...) are the caller's responsibility.
    pub fn run_script(&mut self, script: &str) -> Result<ScriptReport, Error> {
        let mut lines = Vec::new();
        for (idx, raw) in script.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            if lines.is_empty() && line == "enable" {
                continue;
            }
            check_line(idx + 1, line)?;
            lines.push((idx + 1, line));
        }
        let start = Instant::now();
        let mut first_failure: Option<(usize, String)> = None;
        let mut failed_lines = 0usize;
        self.execute(&lines, |line_no, cmd, out| {
            if let Some(msg) = error_text(cmd, out) {
                failed_lines += 1;
                if first_failure.is_none() {
                    first_failure = Some((line_no, msg));
                }
            }
        })?;
        let elapsed = start.elapsed();
        match first_failure {
            Some((line, message)) => Err(Error::VtyCommand {
                line,
                message,
                failed_lines,
            }),
            None => Ok(ScriptReport {
                commands: lines.len(),
                elapsed,
            }),
        }
    }

    fn read_greeting(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(host) = trailing_prompt_host(&self.buf) {
                self.hostname = host;
                self.buf.clear();
                return Ok(());
            }
            if Instant::now() > deadline || self.buf.len() > 64 * 1024 {
                return Err(Error::VtyProtocol(
                    "no prompt in the VTY greeting (password configured?)".into(),
                ));
            }
            self.fill("waiting for the VTY greeting")?;
        }
    }

    /// Reads more bytes from the socket into `buf` (telnet commands removed).
    fn fill(&mut self, what: &str) -> Result<(), Error> {
        let mut chunk = [0u8; 16 * 1024];
        let n = match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.broken = true;
                return Err(Error::ConnectionClosed(what.to_owned()));
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                self.broken = true;
                return Err(Error::Timeout(what.to_owned()));
            }
            Err(e) => {
                self.broken = true;
                return Err(Error::io(what.to_owned(), e));
            }
        };
        let chunk = chunk.get(..n).unwrap_or_default();
        self.telnet.feed(chunk, &mut self.buf);
        Ok(())
    }

    /// Sends `cmds` pipelined and calls `on_answer(line_no, command, output_lines)` for each
    /// answer, in order.
    fn execute(
        &mut self,
        cmds: &[(usize, &str)],
        mut on_answer: impl FnMut(usize, &str, &[&str]),
    ) -> Result<(), Error> {
        if self.broken {
            return Err(Error::ConnectionClosed(
                "VTY connection unusable after an earlier error; reconnect".into(),
            ));
        }
        if cmds.is_empty() {
            return Ok(());
        }
        let mut payload = Vec::with_capacity(cmds.iter().map(|(_, c)| c.len() + 1).sum());
        for (_, c) in cmds {
            payload.extend_from_slice(c.as_bytes());
            payload.push(b'\n');
        }
        let writer_stream = self
            .stream
            .try_clone()
            .map_err(|e| Error::io("cloning VTY socket", e))?;

        std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                let mut s = writer_stream;
                s.write_all(&payload).and_then(|()| s.flush())
            });
            let read_result = self.read_answers(cmds, &mut on_answer);
            if read_result.is_err() {
                // Unblock the writer if the VTY stopped reading.
                let _ = self.stream.shutdown(Shutdown::Both);
                self.broken = true;
            }
            let write_result = match writer.join() {
                Ok(r) => r.map_err(|e| Error::io("sending commands to the VTY", e)),
                Err(_) => Err(Error::VtyProtocol("VTY writer thread panicked".into())),
            };
            read_result?;
            if write_result.is_err() {
                self.broken = true;
            }
            write_result
        })
    }

    fn read_answers(
        &mut self,
        cmds: &[(usize, &str)],
        on_answer: &mut impl FnMut(usize, &str, &[&str]),
    ) -> Result<(), Error> {
        let mut pos = 0usize;
        let mut scan_from = 0usize;
        let host = self.hostname.clone();
        for &(line_no, cmd) in cmds {
            let (end, next) = loop {
                match find_prompt(&self.buf, scan_from.max(pos), host.as_bytes()) {
                    PromptSearch::Found { start, end } => break (start, end),
                    PromptSearch::NotYet { resume } => {
                        if self.buf.len() - pos > MAX_ANSWER {
                            return Err(Error::VtyProtocol(format!(
                                "answer to script line {line_no} exceeds {MAX_ANSWER} bytes without a prompt"
                            )));
                        }
                        scan_from = resume;
                        self.fill(&format!(
                            "waiting for the VTY's answer to script line {line_no}"
                        ))?;
                    }
                }
            };
            let answer = String::from_utf8_lossy(self.buf.get(pos..end).unwrap_or_default());
            let mut lines = answer.split('\n');
            let echo = lines.next().unwrap_or_default();
            if echo.trim_end() != cmd {
                return Err(Error::VtyProtocol(format!(
                    "VTY did not echo script line {line_no} as sent; conversation out of step"
                )));
            }
            let out: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
            on_answer(line_no, cmd, &out);
            drop(answer);
            pos = next;
            scan_from = next;
            if pos > 256 * 1024 {
                self.buf.drain(..pos);
                pos = 0;
                scan_from = 0;
            }
        }
        self.buf.drain(..pos);
        Ok(())
    }
}

/// Refuses lines that the VTY would interpret interactively.
fn check_line(line: usize, cmd: &str) -> Result<(), Error> {
    if cmd.contains('?') {
        return Err(Error::InvalidScriptLine {
            line,
            reason: "contains '?', which makes the VTY print help instead of running the line",
        });
    }
    if cmd.chars().any(char::is_control) {
        return Err(Error::InvalidScriptLine {
            line,
            reason: "contains a control character (e.g. TAB triggers completion)",
        });
    }
    Ok(())
}

/// The redacted error text of an answer, or `None` if the answer has no error line.
fn error_text(cmd: &str, output: &[&str]) -> Option<String> {
    let errors: Vec<&str> = output
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with('%') && !INFO_PREFIXES.iter().any(|p| l.starts_with(p)))
        .collect();
    if errors.is_empty() {
        return None;
    }
    let mut text = redact(cmd, &errors.join("; "));
    if text.len() > MAX_ERROR_TEXT {
        let mut cut = MAX_ERROR_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    Some(text)
}

/// Removes key material from a VTY error text: every argument that follows a key keyword
/// (`k`, `ki`, `op`, `opc`) in `cmd`, and any run of 16 or more hex digits.
pub(crate) fn redact(cmd: &str, text: &str) -> String {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let mut out = text.to_owned();
    for pair in words.windows(2) {
        if let [kw, secret] = pair
            && KEY_KEYWORDS.iter().any(|k| kw.eq_ignore_ascii_case(k))
            && !secret.is_empty()
        {
            out = out.replace(secret, "<redacted>");
        }
    }
    redact_hex_runs(&out)
}

fn redact_hex_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 {
            out.push_str("<redacted>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

enum PromptSearch {
    /// Prompt found: the answer ends at `start` (exclusive, just after the `\n`), the next
    /// answer begins at `end`.
    Found { start: usize, end: usize },
    /// No complete prompt yet; searching may resume at `resume`.
    NotYet { resume: usize },
}

/// Finds the first prompt `\nHOST[(node)]# ` or `\nHOST[(node)]> ` at or after `from`.
fn find_prompt(buf: &[u8], from: usize, host: &[u8]) -> PromptSearch {
    let mut i = from;
    while let Some(off) = buf
        .get(i..)
        .and_then(|s| s.iter().position(|&b| b == b'\n'))
    {
        let nl = i + off;
        let after = nl + 1;
        match prompt_len(buf.get(after..).unwrap_or_default(), host) {
            PromptMatch::Yes(len) => {
                return PromptSearch::Found {
                    start: after,
                    end: after + len,
                };
            }
            PromptMatch::NeedMore => return PromptSearch::NotYet { resume: nl },
            PromptMatch::No => i = after,
        }
    }
    PromptSearch::NotYet { resume: buf.len() }
}

enum PromptMatch {
    Yes(usize),
    No,
    NeedMore,
}

/// Does `s` start with a prompt for `host`? (`HOST# `, `HOST> `, `HOST(node)# `...)
fn prompt_len(s: &[u8], host: &[u8]) -> PromptMatch {
    let n = host.len().min(s.len());
    if s.get(..n) != host.get(..n) {
        return PromptMatch::No;
    }
    if s.len() < host.len() {
        return PromptMatch::NeedMore;
    }
    let mut i = host.len();
    if s.get(i) == Some(&b'(') {
        match s
            .iter()
            .skip(i)
            .take(64)
            .position(|&b| b == b')' || b == b'\n')
        {
            Some(p) if s.get(i + p) == Some(&b')') => i += p + 1,
            Some(_) => return PromptMatch::No,
            None if s.len() < i + 64 => return PromptMatch::NeedMore,
            None => return PromptMatch::No,
        }
    }
    match (s.get(i), s.get(i + 1)) {
        (None, _) | (Some(b'#' | b'>'), None) => PromptMatch::NeedMore,
        (Some(b'#' | b'>'), Some(b' ')) => PromptMatch::Yes(i + 2),
        _ => PromptMatch::No,
    }
}

/// If `buf` ends with a prompt line (`HOST> ` or `HOST# `), returns HOST.
fn trailing_prompt_host(buf: &[u8]) -> Option<String> {
    let last = buf.rsplit(|&b| b == b'\n').next()?;
    let body = last
        .strip_suffix(b"> ")
        .or_else(|| last.strip_suffix(b"# "))?;
    let host = match body.iter().position(|&b| b == b'(') {
        Some(p) => body.get(..p)?,
        None => body,
    };
    if host.is_empty() || !host.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    String::from_utf8(host.to_vec()).ok()
}

/// Removes telnet commands (IAC sequences), NUL and CR bytes from the VTY stream.
#[derive(Debug, Default)]
struct TelnetFilter {
    state: TelnetState,
}

#[derive(Debug, Default, Clone, Copy)]
enum TelnetState {
    #[default]
    Data,
    Iac,
    Option,
    Sub,
    SubIac,
}

impl TelnetFilter {
    const IAC: u8 = 255;
    const SB: u8 = 250;
    const SE: u8 = 240;

    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            self.state = match (self.state, b) {
                (TelnetState::Data, Self::IAC) => TelnetState::Iac,
                (TelnetState::Data, b'\r' | 0) => TelnetState::Data,
                (TelnetState::Data, b) => {
                    out.push(b);
                    TelnetState::Data
                }
                (TelnetState::Iac, Self::IAC) => {
                    out.push(Self::IAC);
                    TelnetState::Data
                }
                (TelnetState::Iac, Self::SB) => TelnetState::Sub,
                (TelnetState::Iac, 251..=254) => TelnetState::Option,
                (TelnetState::Iac, _) | (TelnetState::Option, _) => TelnetState::Data,
                (TelnetState::Sub, Self::IAC) => TelnetState::SubIac,
                (TelnetState::Sub, _) => TelnetState::Sub,
                (TelnetState::SubIac, Self::SE) => TelnetState::Data,
                (TelnetState::SubIac, _) => TelnetState::Sub,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telnet_filter_strips_negotiation() {
        let mut f = TelnetFilter::default();
        let mut out = Vec::new();
        f.feed(b"Hi\r\n\xff\xfb\x01\xff\xfb", &mut out);
        f.feed(b"\x03\xff\xfe\"\xff\xfd\x1fOsmoHLR> ", &mut out);
        assert_eq!(out, b"Hi\nOsmoHLR> ");
        assert_eq!(trailing_prompt_host(&out).as_deref(), Some("OsmoHLR"));
    }

    #[test]
    fn prompt_search() {
        let buf = b"enable\nOsmoHLR# subscriber imsi 1 create\n% Created subscriber 1\n    ID: 1\nOsmoHLR(config)# x";
        let PromptSearch::Found { start, end } = find_prompt(buf, 0, b"OsmoHLR") else {
            panic!("no prompt");
        };
        assert_eq!(&buf[..start], b"enable\n");
        let PromptSearch::Found { start: s2, end: e2 } = find_prompt(buf, end, b"OsmoHLR") else {
            panic!("no second prompt");
        };
        assert!(buf[end..s2].starts_with(b"subscriber imsi 1 create\n"));
        assert_eq!(&buf[e2..], b"x");
        assert!(matches!(
            find_prompt(b"abc\nOsmoH", 0, b"OsmoHLR"),
            PromptSearch::NotYet { resume: 3 }
        ));
        assert!(matches!(
            find_prompt(b"abc\nOsmoHLR#", 0, b"OsmoHLR"),
            PromptSearch::NotYet { .. }
        ));
        assert!(matches!(
            find_prompt(b"abc\nOsmoHLRx# \n", 0, b"OsmoHLR"),
            PromptSearch::NotYet { resume: 14 }
        ));
    }

    #[test]
    fn errors_are_detected_and_redacted() {
        let cmd = "subscriber imsi 001010000000001 update aud3g milenage k 465b5ce8 opc cd63cb71954a9f4e48a5994e37a02baf";
        let out = ["% Invalid value for K: '465b5ce8'"];
        let t = error_text(cmd, &out).unwrap();
        assert_eq!(t, "% Invalid value for K: '<redacted>'");
        let out = ["% Invalid value for OPC: 'cd63cb71954a9f4e48a5994e37a02baf'"];
        assert!(!error_text(cmd, &out).unwrap().contains("cd63"));
        assert_eq!(
            error_text("x", &["% Created subscriber 1", "    ID: 1"]),
            None
        );
        assert_eq!(
            error_text("x", &["% Unknown command."]).as_deref(),
            Some("% Unknown command.")
        );
        assert_eq!(
            redact(
                "show",
                "K=465b5ce8b199b49faa5f0a2ee238a6bc IMSI 001010000000001"
            ),
            "K=<redacted> IMSI 001010000000001"
        );
    }

    #[test]
    fn interactive_characters_are_refused() {
        assert!(check_line(3, "subscriber ?").is_err());
        assert!(check_line(3, "subscriber\timsi").is_err());
        assert!(check_line(3, "subscriber imsi 1 create").is_ok());
    }
}
