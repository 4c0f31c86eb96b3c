//! `simforge lpa …`: the LPA against an SM-DP+ over ES9+ HTTPS (reqwest + rustls) and an eUICC
//! reached one of three ways: in-process (the virtual eUICC of `--euicc`, state in that file),
//! a PC/SC reader (`--reader`, the pcsc crate over pcscd), or a child process speaking lpac's
//! stdio JSON-lines APDU protocol (`--stdio`), the LPA then playing lpac's role.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use simforge_lpa::{Card, Es9Transport, Es10, Lpa, X_ADMIN_PROTOCOL};

use crate::exit::CliResult;
use crate::factory::Ctx;

#[derive(Args)]
pub struct LpaArgs {
    /// The virtual eUICC file (`simforge euicc init`), driven in-process (unless --reader or
    /// --stdio is given).
    #[arg(long, global = true, default_value = "euicc.json")]
    euicc: PathBuf,
    /// Use the eUICC in this PC/SC reader instead: a (case-insensitive) part of the reader's
    /// name, or `auto` for the first reader holding a card. The state stays in the card.
    #[arg(long, global = true, conflicts_with = "stdio")]
    reader: Option<String>,
    /// Use the eUICC behind this command instead: it is run by `sh -c` and driven with lpac's
    /// stdio APDU protocol (JSON lines on its standard input/output), e.g.
    /// `--stdio "simforge euicc stdio --file euicc.json"`. The state stays with that program.
    #[arg(long, global = true)]
    stdio: Option<String>,
    /// With --stdio: how long to wait for each of the program's replies, in seconds; a
    /// program silent for longer is stopped and the command fails.
    #[arg(long, global = true, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    stdio_timeout: u64,
    /// PEM file of certificates to trust for the SM-DP+ TLS (e.g. a lab CI / DPtls chain).
    #[arg(long, global = true)]
    ca: Option<PathBuf>,
    /// Accept any TLS certificate (lab use only; lpac does the same).
    #[arg(long, global = true)]
    insecure: bool,
    #[command(subcommand)]
    cmd: LpaCmd,
}

#[derive(Subcommand)]
pub enum LpaCmd {
    /// Download and install a profile from an activation code (`LPA:1$host$matchingId`).
    Download {
        activation_code: String,
        #[arg(long)]
        confirmation_code: Option<String>,
    },
    /// List the installed profiles.
    List,
    /// Enable a profile (ICCID or ISD-P AID).
    Enable { id: String },
    /// Disable a profile.
    Disable { id: String },
    /// Delete a profile.
    Delete { id: String },
    /// List pending notifications; with --process, send them to their SM-DP+.
    Notifications {
        #[arg(long)]
        process: bool,
    },
    /// EID, versions, CI keys, addresses.
    Info,
}

struct InProcess<'a>(&'a mut simforge_euicc::Euicc);

impl Card for InProcess<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, simforge_lpa::Error> {
        Ok(self.0.process(apdu))
    }
}

#[cfg(feature = "pcsc")]
mod pcsc_card {
    use anyhow::Context;
    use simforge_lpa::Card;

    /// A card in a PC/SC reader (pcscd), T=0 or T=1 as negotiated.
    pub(super) struct Pcsc {
        card: Option<pcsc::Card>,
        reader: String,
    }

    impl Pcsc {
        /// Connects to the first reader whose name contains `want` (case-insensitive) and holds a
        /// card; `auto` matches every reader.
        pub(super) fn connect(want: &str) -> anyhow::Result<Self> {
            let ctx = pcsc::Context::establish(pcsc::Scope::User)
                .context("connecting to the PC/SC service (is pcscd running?)")?;
            let readers = match ctx.list_readers_owned() {
                Ok(r) => r,
                Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
                Err(e) => return Err(e).context("listing PC/SC readers"),
            };
            let names: Vec<String> = readers
                .iter()
                .map(|r| r.to_string_lossy().into_owned())
                .collect();
            let needle = want.to_lowercase();
            let mut tried = Vec::new();
            for (reader, name) in readers.iter().zip(&names) {
                if needle != "auto" && !name.to_lowercase().contains(&needle) {
                    continue;
                }
                match ctx.connect(reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
                    Ok(card) => {
                        tracing::debug!(reader = %name, "connected to the card");
                        return Ok(Self {
                            card: Some(card),
                            reader: name.clone(),
                        });
                    }
                    Err(e) => tried.push(format!("{name}: {e}")),
                }
            }
            if tried.is_empty() {
                anyhow::bail!(
                    "no PC/SC reader matches {want:?} (readers: {})",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                );
            }
            anyhow::bail!("no card to connect to: {}", tried.join("; "))
        }

        /// Leaves the card as it is (no reset) and releases the reader.
        pub(super) fn disconnect(mut self) {
            if let Some(card) = self.card.take()
                && let Err((_, e)) = card.disconnect(pcsc::Disposition::LeaveCard)
            {
                tracing::warn!(reader = %self.reader, "disconnecting: {e}");
            }
        }
    }

    impl Card for Pcsc {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, simforge_lpa::Error> {
            let card = self
                .card
                .as_ref()
                .ok_or_else(|| simforge_lpa::Error::Card("disconnected".into()))?;
            let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
            let err = |e: pcsc::Error| simforge_lpa::Error::Card(format!("{}: {e}", self.reader));
            let r = card.transmit(apdu, &mut buf).map_err(err)?.to_vec();
            // T=0 wrong length: `6Cxx` asks to repeat the command with Le = xx.
            if let [0x6C, le] = r.as_slice()
                && apdu.len() >= 5
            {
                let mut again = apdu.to_vec();
                if apdu.len() == 5 || apdu.len() == 6 + usize::from(apdu[4]) {
                    if let Some(last) = again.last_mut() {
                        *last = *le;
                    }
                } else {
                    again.push(*le);
                }
                let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
                return Ok(card.transmit(&again, &mut buf).map_err(err)?.to_vec());
            }
            Ok(r)
        }
    }
}

/// The longest line read from a `--stdio` program: a reply carries at most an extended APDU
/// response (65,538 bytes, hex-encoded) in its JSON.
const MAX_STDIO_LINE: u64 = 1 << 20;

/// One line of a `--stdio` program's output, or why reading stopped.
type StdioLine = Result<String, String>;

/// Reads `output` line by line into `tx` (a bounded channel: a chatty program waits for the
/// LPA), each line at most [`MAX_STDIO_LINE`] bytes; ends at end of file (the sender is dropped),
/// on a read error or an overlong line (sent as `Err`), or when the receiver is gone.
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

/// A card program run as a child, driven with lpac's stdio APDU protocol: one JSON request
/// per line on its standard input, one reply line on its standard output. Its output is read
/// by a thread, in lines of bounded length, and every reply is awaited for at most `timeout`:
/// a program that dies, hangs or writes garbage fails the command instead of blocking it.
struct StdioCard {
    child: Child,
    input: Option<ChildStdin>,
    lines: mpsc::Receiver<StdioLine>,
    timeout: Duration,
    command: String,
}

impl StdioCard {
    fn spawn(command: &str, timeout: Duration) -> anyhow::Result<Self> {
        let mut child = Command::new("sh")
            .args(["-c", command])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let input = child.stdin.take().context("child stdin")?;
        let output = child.stdout.take().context("child stdout")?;
        let (tx, lines) = mpsc::sync_channel(16);
        std::thread::Builder::new()
            .name("lpa-stdio-reader".into())
            .spawn(move || pump_lines(output, tx))
            .context("starting the reader thread")?;
        let mut card = Self {
            child,
            input: Some(input),
            lines,
            timeout,
            command: command.to_owned(),
        };
        let (ecode, _) = card.request("connect", serde_json::Value::Null)?;
        if ecode != 0 {
            anyhow::bail!("{command:?}: connect failed (ecode {ecode})");
        }
        Ok(card)
    }

    /// Sends one `apdu` request; returns the reply's `ecode` and `data`.
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
        // Lines that are not an `apdu` reply (e.g. a program's own log lines) are skipped.
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
                Some(h) => simforge_sim::secret::decode_hex(h)
                    .map_err(|e| fail(format!("{func} reply data: {e}")))?
                    .to_vec(),
                None => Vec::new(),
            };
            return Ok((ecode, data));
        }
        Err(fail(format!("no apdu reply to {func}")))
    }

    /// `logic_channel_open` with the AID: the card program opens a channel and selects it.
    fn open_channel(&mut self, aid: &[u8]) -> anyhow::Result<u8> {
        let (ecode, _) = self.request(
            "logic_channel_open",
            serde_json::Value::String(hex_upper(aid)),
        )?;
        match u8::try_from(ecode) {
            Ok(ch) if ch < 20 => Ok(ch),
            _ => anyhow::bail!(
                "{:?}: could not open a logical channel to the ISD-R (ecode {ecode})",
                self.command
            ),
        }
    }

    fn close(mut self, channel: u8) -> anyhow::Result<()> {
        if channel != 0 {
            let _ = self.request("logic_channel_close", serde_json::json!(channel));
        }
        let _ = self.request("disconnect", serde_json::Value::Null);
        let status = self.reap(self.timeout)?;
        if !status.success() {
            anyhow::bail!("{:?} exited with {status}", self.command);
        }
        Ok(())
    }
}

impl StdioCard {
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
        let (ecode, data) = self.request("transmit", serde_json::Value::String(hex_upper(apdu)))?;
        if ecode != 0 {
            return Err(simforge_lpa::Error::Card(format!(
                "{}: transmit failed (ecode {ecode})",
                self.command
            )));
        }
        Ok(data)
    }
}

struct Https {
    client: reqwest::blocking::Client,
}

impl Https {
    fn new(ca: Option<&PathBuf>, insecure: bool) -> anyhow::Result<Self> {
        let mut b = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .timeout(std::time::Duration::from_secs(60))
            .user_agent(concat!("simforge-lpa/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = ca {
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)? {
                b = b.add_root_certificate(cert);
            }
        }
        if insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        Ok(Self { client: b.build()? })
    }
}

impl Es9Transport for Https {
    fn post(
        &mut self,
        server_address: &str,
        function: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), simforge_lpa::Error> {
        let url = format!(
            "https://{server_address}{}{function}",
            simforge_lpa::ES9_PATH
        );
        let resp = self
            .client
            .post(url)
            .header("Content-Type", "application/json;charset=UTF-8")
            .header("X-Admin-Protocol", X_ADMIN_PROTOCOL)
            .body(body.to_vec())
            .send()
            .map_err(|e| simforge_lpa::Error::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .map_err(|e| simforge_lpa::Error::Transport(e.to_string()))?;
        Ok((status, bytes.to_vec()))
    }
}

pub async fn lpa(ctx: Ctx, args: LpaArgs) -> CliResult {
    tokio::task::spawn_blocking(move || run(&ctx, args))
        .await
        .context("LPA task")??;
    Ok(())
}

fn print<T: serde::Serialize>(ctx: &Ctx, v: &T, text: impl FnOnce(&T) -> String) {
    if ctx.json {
        println!("{}", serde_json::to_string(v).unwrap_or_default());
    } else {
        println!("{}", text(v));
    }
}

fn run(ctx: &Ctx, args: LpaArgs) -> anyhow::Result<()> {
    let es9 = Https::new(args.ca.as_ref(), args.insecure)?;
    #[cfg(not(feature = "pcsc"))]
    if args.reader.is_some() {
        anyhow::bail!(
            "this simforge was built without PC/SC support: build it with `--features pcsc` \
             (needs libpcsclite-dev and pkg-config)"
        );
    }
    #[cfg(feature = "pcsc")]
    if let Some(want) = &args.reader {
        let card = pcsc_card::Pcsc::connect(want)?;
        let mut lpa = Lpa::new(Es10::open(card)?, es9);
        let r = command(ctx, &mut lpa, args.cmd);
        lpa.es10.close().disconnect();
        return r;
    }
    if let Some(program) = &args.stdio {
        let mut card = StdioCard::spawn(program, Duration::from_secs(args.stdio_timeout))?;
        let channel = card.open_channel(&simforge_lpa::AID_ISD_R)?;
        let mut lpa = Lpa::new(Es10::on_channel(card, channel), es9);
        let r = command(ctx, &mut lpa, args.cmd);
        let closed = lpa.es10.into_card().close(channel);
        return r.and(closed);
    }
    let (mut euicc, identity) = crate::euicc::open(&args.euicc)?;
    let result = {
        let es10 = Es10::open(InProcess(&mut euicc))?;
        let mut lpa = Lpa::new(es10, es9);
        let r = command(ctx, &mut lpa, args.cmd);
        lpa.es10.close();
        r
    };
    // Whatever happened, keep what the eUICC did (e.g. a stored install-failure notification).
    crate::euicc::persist(&args.euicc, &identity, &mut euicc)?;
    result
}

use simforge_sim::secret::to_hex as hex_upper;

fn command<C: Card>(ctx: &Ctx, lpa: &mut Lpa<C, Https>, cmd: LpaCmd) -> anyhow::Result<()> {
    match cmd {
        LpaCmd::Download {
            activation_code,
            confirmation_code,
        } => {
            let out = lpa.download(&activation_code, confirmation_code.as_deref())?;
            print(ctx, &out, |o| {
                format!(
                    "installed ICCID {} ({} / {}), ISD-P {}{}",
                    o.iccid,
                    o.service_provider_name,
                    o.profile_name,
                    o.isdp_aid,
                    if o.notification_sent {
                        ""
                    } else {
                        "; install notification still pending"
                    }
                )
            });
        }
        LpaCmd::List => {
            let l = lpa.list_profiles()?;
            print(ctx, &l, |l| {
                if l.is_empty() {
                    return "no profiles".into();
                }
                l.iter()
                    .map(|p| {
                        format!(
                            "{}  {:8}  {:12}  {}  {}{}",
                            p.iccid,
                            p.state,
                            p.class,
                            p.service_provider_name.as_deref().unwrap_or("-"),
                            p.profile_name.as_deref().unwrap_or("-"),
                            p.nickname
                                .as_deref()
                                .map(|n| format!(" ({n})"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        LpaCmd::Enable { id } => {
            lpa.enable(&id)?;
            print(ctx, &serde_json::json!({"enabled": id}), |_| {
                format!("enabled {id}")
            });
        }
        LpaCmd::Disable { id } => {
            lpa.disable(&id)?;
            print(ctx, &serde_json::json!({"disabled": id}), |_| {
                format!("disabled {id}")
            });
        }
        LpaCmd::Delete { id } => {
            lpa.delete(&id)?;
            print(ctx, &serde_json::json!({"deleted": id}), |_| {
                format!("deleted {id}")
            });
        }
        LpaCmd::Notifications { process } => {
            if process {
                let d = lpa.process_notifications()?;
                print(ctx, &d, |d| {
                    d.iter()
                        .map(|x| {
                            format!(
                                "#{} to {}: {}",
                                x.seq_number,
                                x.address,
                                x.error.as_deref().unwrap_or("delivered")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
            } else {
                let n = lpa.list_notifications()?;
                print(ctx, &n, |n| {
                    n.iter()
                        .map(|x| {
                            format!(
                                "#{} {} {} {}",
                                x.seq_number,
                                x.operation,
                                x.iccid.as_deref().unwrap_or("-"),
                                x.address
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
            }
        }
        LpaCmd::Info => {
            let i = lpa.chip_info()?;
            print(ctx, &i, |i| {
                format!(
                    "EID {}\nSGP.22 {} / SAIP {} / firmware {}\nCI keys {}\ndefault SM-DP+ {}\nroot SM-DS {}\nprofiles {}",
                    i.eid,
                    i.svn,
                    i.profile_version,
                    i.firmware_version,
                    i.ci_pkids.join(", "),
                    i.default_dp_address.as_deref().unwrap_or("-"),
                    i.root_ds_address,
                    i.profiles
                )
            });
        }
    }
    Ok(())
}
