//! The virtual eUICC's file (identity and persistent state, one JSON document), and the eUICC
//! opened from it: rewritten atomically (0600) after every command that changed the state,
//! served to pcscd's vpcd or over lpac's stdio protocol.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use simforge_euicc::{Euicc, EuiccIdentity, EuiccState};

use crate::Error;
use crate::card::InProcess;
use crate::identity::IdentitySource;

/// The eUICC file: identity and persistent state.
#[derive(Serialize, Deserialize)]
pub struct EuiccFile {
    /// Certificates, key, trusted CIs.
    pub identity: EuiccIdentity,
    /// Profiles, notifications, configuration.
    pub state: EuiccState,
}

impl EuiccFile {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Json`].
    pub fn load(path: &Path) -> Result<Self, Error> {
        // It holds the eUICC's private key.
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path).map_err(Error::io("reading the eUICC file", path))?,
        );
        serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes `path` atomically (a temporary file in the same directory, synced, renamed),
    /// mode 0600 from the start: it holds the eUICC's private key.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let text =
            zeroize::Zeroizing::new(serde_json::to_string_pretty(self).map_err(|source| {
                Error::Json {
                    path: path.to_owned(),
                    source,
                }
            })?);
        simforge_vault::write_secret_file(path, text.as_bytes()).map_err(Error::io("writing", path))
    }
}

fn new_euicc(identity: &EuiccIdentity, state: EuiccState) -> Result<Euicc, Error> {
    Ok(Euicc::new(
        identity,
        state,
        Box::new(simforge_crypto::SystemRandom::new()),
        Box::new(simforge_crypto::SystemClock),
    )?)
}

/// A virtual eUICC opened from its file (system randomness, wall clock); [`Self::persist`]
/// writes the state back when it changed.
pub struct VirtualEuicc {
    path: PathBuf,
    identity: EuiccIdentity,
    euicc: Euicc,
}

impl std::fmt::Debug for VirtualEuicc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualEuicc")
            .field("path", &self.path)
            .field("euicc", &self.euicc)
            .finish_non_exhaustive()
    }
}

impl VirtualEuicc {
    /// Creates the eUICC file `path` from `source`, checked before anything is written (the
    /// identity must make a working eUICC); refuses an existing file. Returns the EID.
    ///
    /// # Errors
    /// [`Error::Exists`], the identity's errors, [`Error::Io`].
    pub fn create(path: &Path, source: &IdentitySource) -> Result<String, Error> {
        Self::create_with(path, source, EuiccState::default())
    }

    /// As [`VirtualEuicc::create`], starting from `state` (e.g. another root SM-DS address,
    /// set at manufacture: no ES10 function changes it).
    ///
    /// # Errors
    /// As [`VirtualEuicc::create`].
    pub fn create_with(
        path: &Path,
        source: &IdentitySource,
        state: EuiccState,
    ) -> Result<String, Error> {
        if path.exists() {
            return Err(Error::Exists(path.to_owned()));
        }
        let identity = source.load()?;
        new_euicc(&identity, state.clone())?;
        let eid = identity.eid.clone();
        EuiccFile { identity, state }.save(path)?;
        Ok(eid)
    }

    /// Opens the eUICC of `path`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Json`], [`Error::Euicc`].
    pub fn open(path: &Path) -> Result<Self, Error> {
        let f = EuiccFile::load(path)?;
        let euicc = new_euicc(&f.identity, f.state)?;
        Ok(Self {
            path: path.to_owned(),
            identity: f.identity,
            euicc,
        })
    }

    /// The eUICC.
    pub fn euicc(&mut self) -> &mut Euicc {
        &mut self.euicc
    }

    /// The eUICC as a [`simforge_lpa::Card`].
    pub fn card(&mut self) -> InProcess<'_> {
        InProcess(&mut self.euicc)
    }

    /// Saves the state if it changed since the last save.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn persist(&mut self) -> Result<(), Error> {
        persist(&self.path, &self.identity, &mut self.euicc)
    }

    /// Connects to pcscd's vsmartcard reader (vpcd) at `host:port` and answers its APDUs
    /// until it disconnects, persisting after each. `connected` runs once connected.
    ///
    /// # Errors
    /// [`Error::IoContext`] if vpcd is not there, [`Error::Euicc`] on a transport failure,
    /// [`Error::Io`] if the state cannot be saved.
    pub fn serve_vpcd(
        &mut self,
        host: &str,
        port: u16,
        connected: impl FnOnce(&Euicc),
    ) -> Result<(), Error> {
        let mut stream =
            std::net::TcpStream::connect((host, port)).map_err(|source| Error::IoContext {
                context: format!(
                    "connecting to vpcd at {host}:{port} (is pcscd with vsmartcard-vpcd running?)"
                ),
                source,
            })?;
        connected(&self.euicc);
        let mut failure = None;
        let (path, identity) = (&self.path, &self.identity);
        simforge_euicc::transport::vpcd::run(&mut self.euicc, &mut stream, &mut |e| {
            if let Err(err) = persist(path, identity, e) {
                failure.get_or_insert(err);
            }
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// Serves lpac's stdio APDU protocol on `input`/`output` (the card side for an LPA that
    /// runs this process as its child) until end of input, persisting after each APDU. Lines
    /// that are not APDU requests are logged and ignored.
    ///
    /// # Errors
    /// As [`Self::serve_vpcd`].
    pub fn serve_stdio(
        &mut self,
        input: &mut dyn BufRead,
        output: &mut dyn Write,
    ) -> Result<(), Error> {
        self.serve_lines(input, output, &mut |line| {
            tracing::warn!(
                len = line.len(),
                "ignoring a line that is not an APDU request"
            );
        })
    }

    /// Runs `program` with `args` (and `LPAC_APDU=stdio`), serving lpac's stdio APDU protocol
    /// on its standard output/input: `simforge euicc stdio -- lpac chip info`. Its other
    /// output lines go to `line`. Fails if the program exits unsuccessfully.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be started, [`Error::CardProgram`] if it fails, else as
    /// [`Self::serve_vpcd`].
    pub fn run_program(
        &mut self,
        program: &str,
        args: &[String],
        line: &mut dyn FnMut(&str),
    ) -> Result<(), Error> {
        let mut child = Command::new(program)
            .args(args)
            .env("LPAC_APDU", "stdio")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(Error::io("starting", program))?;
        let (Some(stdout), Some(mut input)) = (child.stdout.take(), child.stdin.take()) else {
            return Err(Error::CardProgram(format!("{program}: no pipes")));
        };
        let served = self.serve_lines(&mut BufReader::new(stdout), &mut input, line);
        drop(input);
        if served.is_err() {
            // Its pipes failed: it is not waited for to end by itself.
            let _ = child.kill();
        }
        let status = child.wait().map_err(Error::io("waiting for", program))?;
        served?;
        if !status.success() {
            return Err(Error::CardProgram(format!(
                "{program} exited with {status}"
            )));
        }
        Ok(())
    }

    fn serve_lines(
        &mut self,
        input: &mut dyn BufRead,
        output: &mut dyn Write,
        other: &mut dyn FnMut(&str),
    ) -> Result<(), Error> {
        let mut failure = None;
        let (path, identity) = (&self.path, &self.identity);
        simforge_euicc::transport::stdio::serve(
            &mut self.euicc,
            input,
            output,
            &mut |l| {
                other(l);
                None
            },
            &mut |e| {
                if let Err(err) = persist(path, identity, e) {
                    failure.get_or_insert(err);
                }
            },
        )?;
        failure.map_or(Ok(()), Err)
    }
}

fn persist(path: &Path, identity: &EuiccIdentity, e: &mut Euicc) -> Result<(), Error> {
    if e.take_dirty() {
        EuiccFile {
            identity: identity.clone(),
            state: e.state().clone(),
        }
        .save(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_pki(dir: &Path) {
        let opts = simforge_pki::LabPkiOptions::new(simforge_pki::Curve::P256, "localhost");
        simforge_pki::write_lab_pki(dir, &opts).unwrap();
    }

    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_state_file_round_trips_0600_and_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        lab_pki(&pki);
        let path = dir.path().join("euicc.json");
        let source = IdentitySource::Pki {
            dir: pki,
            eid: None,
        };
        let eid = VirtualEuicc::create(&path, &source).unwrap();
        assert_eq!(mode(&path), 0o600);
        // Never overwritten.
        let again = VirtualEuicc::create(&path, &source);
        assert!(matches!(again, Err(Error::Exists(_))), "{again:?}");

        // An unchanged state is not rewritten.
        let mut v = VirtualEuicc::open(&path).unwrap();
        assert_eq!(v.euicc().eid(), eid);
        let before = std::fs::read(&path).unwrap();
        v.persist().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before);

        // A change made through ES10 is; the file is replaced whole (no temporary file left
        // behind), still 0600, and reads back as the eUICC's state.
        let mut es10 = simforge_lpa::Es10::open(v.card()).unwrap();
        es10.set_default_dp_address("smdp.example").unwrap();
        es10.close();
        v.persist().unwrap();
        assert_eq!(mode(&path), 0o600);
        let back = EuiccFile::load(&path).unwrap();
        assert_eq!(back.identity.eid, eid);
        assert_eq!(
            back.state.default_dp_address.as_deref(),
            Some("smdp.example")
        );
        assert_eq!(
            serde_json::to_value(&back.state).unwrap(),
            serde_json::to_value(v.euicc().state()).unwrap()
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains("tmp")), "{names:?}");
        // And it opens again with that state.
        let mut v2 = VirtualEuicc::open(&path).unwrap();
        assert_eq!(
            v2.euicc().state().default_dp_address.as_deref(),
            Some("smdp.example")
        );
    }

    #[test]
    fn a_program_is_served_lpacs_stdio_protocol_and_its_exit_status_counts() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        lab_pki(&pki);
        let path = dir.path().join("euicc.json");
        VirtualEuicc::create(
            &path,
            &IdentitySource::Pki {
                dir: pki,
                eid: None,
            },
        )
        .unwrap();
        let mut v = VirtualEuicc::open(&path).unwrap();
        // An lpac stand-in: connect, a log line, open a channel to the ISD-R, print the reply.
        let script = r#"echo '{"type":"apdu","payload":{"func":"connect","param":null}}'
            read reply; echo "connect: $reply"
            echo 'a log line'
            echo '{"type":"apdu","payload":{"func":"logic_channel_open","param":"A0000005591010FFFFFFFF8900000100"}}'
            read reply; echo "open: $reply"
            exit "$1""#;
        let sh = |code: &str| {
            vec![
                "-c".to_owned(),
                script.to_owned(),
                "lpac".to_owned(),
                code.to_owned(),
            ]
        };
        let mut lines = Vec::new();
        v.run_program("sh", &sh("0"), &mut |l| lines.push(l.to_owned()))
            .unwrap();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("connect: ") && lines[0].contains(r#""ecode":0"#));
        assert_eq!(lines[1], "a log line");
        assert!(lines[2].starts_with("open: ") && !lines[2].contains(r#""ecode":-1"#));
        let e = v.run_program("sh", &sh("3"), &mut |_| ()).unwrap_err();
        assert!(e.to_string().contains("exited with"), "{e}");
        let e = v
            .run_program("/nonexistent/lpac", &[], &mut |_| ())
            .unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
    }

    #[test]
    fn a_missing_or_broken_state_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("euicc.json");
        let Err(e) = EuiccFile::load(&path) else {
            panic!("loaded a missing file")
        };
        let text = crate::error_chain(&e);
        assert!(text.starts_with("reading the eUICC file "), "{text}");
        std::fs::write(&path, "{").unwrap();
        let e = VirtualEuicc::open(&path).unwrap_err();
        assert!(matches!(e, Error::Json { .. }), "{e:?}");
    }
}
