//! A card program run as a child, driven with lpac's stdio APDU protocol (the LPA in lpac's
//! role): one JSON request per line on its standard input, one reply line on its standard
//! output.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use simforge_lpa::Card;

use crate::Error;

/// The longest line read from a card program: a reply carries at most an extended APDU
/// response (65,538 bytes, hex-encoded) in its JSON.
pub const MAX_STDIO_LINE: u64 = 1 << 20;

/// One line of the program's output, or why reading stopped.
type StdioLine = Result<String, String>;

/// Reads `output` line by line into `tx` (a bounded channel: a chatty program waits for the
/// LPA), each line at most [`MAX_STDIO_LINE`] bytes; ends at end of file (the sender is
/// dropped), on a read error or an overlong line (sent as `Err`), or when the receiver is gone.
fn pump_lines(output: ChildStdout, tx: mpsc::SyncSender<StdioLine>) {
    let mut r = BufReader::new(output);
    loop {
        let mut buf = Vec::new();
        match (&mut r).take(MAX_STDIO_LINE).read_until(b'\n', &mut buf) {
            Ok(0) => return,
            Ok(n) if buf.last() != Some(&b'\n') && n as u64 == MAX_STDIO_LINE => {
                let _ = tx.send(Err(format!("a line longer than {MAX_STDIO_LINE} bytes")));
                return;
            }
            Ok(_) => {
                if tx
                    .send(Ok(String::from_utf8_lossy(&buf).into_owned()))
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        }
    }
}

/// A card program run as a child (`sh -c COMMAND`), driven with lpac's stdio APDU protocol.
/// Its output is read by a thread, in lines of bounded length, and every reply is awaited for
/// at most `timeout`: a program that dies, hangs or writes garbage fails the exchange instead
/// of blocking it. The child is reaped when the card is closed or dropped.
#[derive(Debug)]
pub struct StdioCard {
    child: Child,
    input: Option<ChildStdin>,
    lines: mpsc::Receiver<StdioLine>,
    timeout: Duration,
    command: String,
}

impl StdioCard {
    /// Starts `command` and sends `connect`.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be started, [`Error::Lpa`] (a card error) if it does not
    /// answer, [`Error::CardProgram`] if the connection fails.
    pub fn spawn(command: &str, timeout: Duration) -> Result<Self, Error> {
        let mut child = Command::new("sh")
            .args(["-c", command])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|source| Error::IoContext {
                context: format!("starting {command:?}"),
                source,
            })?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(Error::CardProgram(format!("{command:?}: no pipes")));
        };
        let (tx, lines) = mpsc::sync_channel(16);
        let mut card = Self {
            child,
            input: Some(input),
            lines,
            timeout,
            command: command.to_owned(),
        };
        std::thread::Builder::new()
            .name("lpa-stdio-reader".into())
            .spawn(move || pump_lines(output, tx))
            .map_err(Error::Thread)?;
        let (ecode, _) = card.request("connect", serde_json::Value::Null)?;
        if ecode != 0 {
            return Err(Error::CardProgram(format!(
                "{command:?}: connect failed (ecode {ecode})"
            )));
        }
        Ok(card)
    }

    /// Sends one `apdu` request; returns the reply's `ecode` and `data`. Lines that are not an
    /// `apdu` reply (e.g. a program's own log lines) are skipped, at most 1000 of them.
    fn request(
        &mut self,
        func: &str,
        param: serde_json::Value,
    ) -> Result<(i64, Vec<u8>), simforge_lpa::Error> {
        let fail = |what: String| simforge_lpa::Error::Card(format!("{}: {what}", self.command));
        let line = serde_json::json!({"type": "apdu", "payload": {"func": func, "param": param}});
        let input = self
            .input
            .as_mut()
            .ok_or_else(|| fail("disconnected".into()))?;
        writeln!(input, "{line}")
            .and_then(|()| input.flush())
            .map_err(|e| {
                fail(format!(
                    "exited before answering {func} (writing the request: {e})"
                ))
            })?;
        let deadline = Instant::now() + self.timeout;
        for _ in 0..1000 {
            let left = deadline.saturating_duration_since(Instant::now());
            let reply = match self.lines.recv_timeout(left) {
                Ok(Ok(line)) => line,
                Ok(Err(e)) => {
                    self.input = None;
                    return Err(fail(format!("reading the {func} reply: {e}")));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.input = None;
                    return Err(fail(format!("exited before answering {func}")));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // Out of step from now on: no further request goes to it.
                    self.input = None;
                    return Err(fail(format!(
                        "no answer to {func} within {} s",
                        self.timeout.as_secs()
                    )));
                }
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(reply.trim()) else {
                continue;
            };
            if v.get("type").and_then(serde_json::Value::as_str) != Some("apdu") {
                continue;
            }
            let payload = &v["payload"];
            let ecode = payload["ecode"].as_i64().ok_or_else(|| {
                let line: String = reply.trim().chars().take(200).collect();
                fail(format!("{func} reply without ecode: {line}"))
            })?;
            let data = match payload["data"].as_str() {
                Some(h) => hex::decode(h).map_err(|e| fail(format!("{func} reply data: {e}")))?,
                None => Vec::new(),
            };
            return Ok((ecode, data));
        }
        Err(fail(format!("no apdu reply to {func}")))
    }

    /// `logic_channel_open` with the AID: the card program opens a channel and selects it.
    ///
    /// # Errors
    /// [`Error::Lpa`] if the exchange fails, [`Error::CardProgram`] if no channel was opened.
    pub fn open_channel(&mut self, aid: &[u8]) -> Result<u8, Error> {
        let (ecode, _) = self.request(
            "logic_channel_open",
            serde_json::Value::String(hex::encode_upper(aid)),
        )?;
        match u8::try_from(ecode) {
            Ok(ch) if ch < 20 => Ok(ch),
            _ => Err(Error::CardProgram(format!(
                "{:?}: could not open a logical channel to the ISD-R (ecode {ecode})",
                self.command
            ))),
        }
    }

    /// Closes `channel` (unless 0), disconnects, and reaps the program (killed if it is still
    /// running after the reply timeout).
    ///
    /// # Errors
    /// [`Error::CardProgram`] if it exited unsuccessfully, [`Error::IoContext`] if it could
    /// not be waited for.
    pub fn close(mut self, channel: u8) -> Result<(), Error> {
        if channel != 0 {
            let _ = self.request("logic_channel_close", serde_json::json!(channel));
        }
        let _ = self.request("disconnect", serde_json::Value::Null);
        let status = self.reap(self.timeout).map_err(|source| Error::IoContext {
            context: format!("waiting for {:?}", self.command),
            source,
        })?;
        if !status.success() {
            return Err(Error::CardProgram(format!(
                "{:?} exited with {status}",
                self.command
            )));
        }
        Ok(())
    }

    /// Closes the program's input, which ends a well-behaved card program, and reaps it;
    /// one still running after `grace` is killed.
    fn reap(&mut self, grace: Duration) -> std::io::Result<std::process::ExitStatus> {
        drop(self.input.take());
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            tracing::warn!(command = %self.command, "card program still running: killed");
            let _ = self.child.kill();
        }
        self.child.wait()
    }
}

impl Drop for StdioCard {
    fn drop(&mut self) {
        let _ = self.reap(Duration::from_millis(200));
    }
}

impl Card for StdioCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, simforge_lpa::Error> {
        let (ecode, data) = self.request(
            "transmit",
            serde_json::Value::String(hex::encode_upper(apdu)),
        )?;
        if ecode != 0 {
            return Err(simforge_lpa::Error::Card(format!(
                "{}: transmit failed (ecode {ecode})",
                self.command
            )));
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_millis(300);

    fn spawn_err(program: &str) -> String {
        let started = Instant::now();
        let e = StdioCard::spawn(program, QUICK).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{program}: took {:?}",
            started.elapsed()
        );
        crate::error_chain(&e)
    }

    #[test]
    fn a_program_that_exits_early_is_reported() {
        let e = spawn_err("exit 0");
        assert!(e.contains("exited before answering connect"), "{e}");
    }

    #[test]
    fn a_silent_program_times_out_and_is_killed() {
        let e = spawn_err("exec sleep 30");
        assert!(e.contains("no answer to connect within"), "{e}");
    }

    #[test]
    fn an_overlong_line_stops_reading() {
        let e = spawn_err("head -c 3000000 /dev/zero | tr '\\0' a; exec sleep 30");
        assert!(e.contains("a line longer than 1048576 bytes"), "{e}");
    }

    #[test]
    fn garbage_and_replies_without_ecode_are_refused() {
        let e = spawn_err("yes 'not json'");
        assert!(e.contains("no apdu reply to connect"), "{e}");
        let e =
            spawn_err(r#"read l; echo '{"type":"apdu","payload":{"data":"00"}}'; exec sleep 30"#);
        assert!(e.contains("connect reply without ecode"), "{e}");
        let e = spawn_err(r#"read l; echo '{"type":"apdu","payload":{"ecode":1}}'"#);
        assert!(e.contains("connect failed (ecode 1)"), "{e}");
    }

    /// A fake card program: answers connect, opens channel 1, answers every transmit with
    /// `9000`, skipping a log line first; exits when told to disconnect.
    const FAKE: &str = r#"while read l; do
        case "$l" in
          *'"connect"'*) echo 'log line'; echo '{"type":"apdu","payload":{"ecode":0}}';;
          *logic_channel_open*) echo '{"type":"apdu","payload":{"ecode":1}}';;
          *transmit*) echo '{"type":"apdu","payload":{"ecode":0,"data":"9000"}}';;
          *disconnect*) echo '{"type":"apdu","payload":{"ecode":0}}'; exit 0;;
          *) echo '{"type":"apdu","payload":{"ecode":0}}';;
        esac
      done"#;

    #[test]
    fn a_well_behaved_program_is_driven_and_reaped() {
        let mut card = StdioCard::spawn(FAKE, Duration::from_secs(10)).unwrap();
        assert_eq!(card.open_channel(&[0xA0, 0x00]).unwrap(), 1);
        assert_eq!(
            card.transmit(&[0x81, 0xE2, 0x91, 0x00]).unwrap(),
            [0x90, 0x00]
        );
        card.close(1).unwrap();
    }

    #[test]
    fn a_program_dying_mid_session_fails_the_next_exchange() {
        let program = r#"read l; echo '{"type":"apdu","payload":{"ecode":0}}'; exit 7"#;
        let mut card = StdioCard::spawn(program, Duration::from_secs(10)).unwrap();
        let e = card
            .transmit(&[0x00, 0xA4, 0x04, 0x00])
            .unwrap_err()
            .to_string();
        assert!(e.contains("exited before answering transmit"), "{e}");
        let e = card.close(0).unwrap_err().to_string();
        assert!(e.contains("exited with exit status: 7"), "{e}");
    }
}
