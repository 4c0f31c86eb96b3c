//! `simforge euicc …`: the virtual eUICC — create one from a lab PKI, and put it behind
//! pcscd (vpcd) or behind lpac's stdio APDU driver. The identity and state live in one JSON
//! file, rewritten atomically after every command that changes the state.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use simforge_euicc::{Euicc, EuiccIdentity, EuiccState};

use crate::exit::CliResult;
use crate::factory::Ctx;

/// The eUICC file: identity and persistent state.
#[derive(Serialize, Deserialize)]
pub struct EuiccFile {
    pub identity: EuiccIdentity,
    pub state: EuiccState,
}

#[derive(Subcommand)]
pub enum EuiccCmd {
    /// Create a virtual eUICC from a lab PKI directory (`simforge pki init`).
    Init {
        /// The PKI directory (with ci/, eum/, euicc/).
        #[arg(long)]
        pki: PathBuf,
        /// EID of the eUICC certificate to use (default: the first in euicc/).
        #[arg(long)]
        eid: Option<String>,
        /// The eUICC file to create.
        #[arg(long, default_value = "euicc.json")]
        file: PathBuf,
    },
    /// Connect the eUICC to pcscd's vsmartcard reader (vpcd), so PC/SC clients see a card.
    Vpcd {
        #[arg(long, default_value = "euicc.json")]
        file: PathBuf,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = simforge_euicc::transport::vpcd::DEFAULT_PORT)]
        port: u16,
    },
    /// Run lpac (or any program speaking lpac's stdio APDU protocol) against the eUICC:
    /// `simforge euicc stdio -- lpac chip info`.
    Stdio {
        #[arg(long, default_value = "euicc.json")]
        file: PathBuf,
        /// The program and its arguments.
        #[arg(trailing_var_arg = true, required = true)]
        command: Vec<String>,
    },
    /// Show the EID and the profiles.
    Show {
        #[arg(long, default_value = "euicc.json")]
        file: PathBuf,
    },
}

pub fn load(file: &Path) -> anyhow::Result<EuiccFile> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the eUICC file {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))
}

/// Writes the file atomically (temporary file, then rename), mode 0600.
pub fn save(file: &Path, f: &EuiccFile) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(f)?;
    let tmp = file.with_extension("json.tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut out = opts.open(&tmp)?;
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
    }
    std::fs::rename(&tmp, file)?;
    Ok(())
}

/// Opens the virtual eUICC of `file` (system randomness, wall clock).
pub fn open(file: &Path) -> anyhow::Result<(Euicc, EuiccIdentity)> {
    let f = load(file)?;
    let e = Euicc::new(
        &f.identity,
        f.state,
        Box::new(simforge_crypto::SystemRandom::new()),
        Box::new(simforge_crypto::SystemClock),
    )?;
    Ok((e, f.identity))
}

/// Saves the state if it changed.
pub fn persist(file: &Path, identity: &EuiccIdentity, e: &mut Euicc) -> anyhow::Result<()> {
    if e.take_dirty() {
        save(
            file,
            &EuiccFile {
                identity: identity.clone(),
                state: e.state().clone(),
            },
        )?;
    }
    Ok(())
}

fn identity_from_dir(dir: &Path, eid: Option<&str>) -> anyhow::Result<EuiccIdentity> {
    let read = |p: PathBuf| std::fs::read(&p).with_context(|| format!("reading {}", p.display()));
    let eid = match eid {
        Some(e) => e.to_owned(),
        None => {
            let mut eids: Vec<String> = std::fs::read_dir(dir.join("euicc"))?
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.strip_suffix(".der").map(str::to_owned)
                })
                .collect();
            eids.sort();
            eids.into_iter()
                .next()
                .context("no eUICC certificate in the PKI directory")?
        }
    };
    let key_pem = std::fs::read_to_string(dir.join("euicc").join(format!("{eid}.key.pem")))
        .context("reading the eUICC private key")?;
    let key = simforge_pki::PrivateKey::from_pem(&key_pem)?;
    Ok(EuiccIdentity {
        eid: eid.clone(),
        euicc_certificate: read(dir.join("euicc").join(format!("{eid}.der")))?,
        eum_certificate: read(dir.join("eum").join("eum.der"))?,
        euicc_private_key: simforge_euicc::Secret::new(key.to_pkcs8_der()?.to_vec()),
        trusted_ci: vec![read(dir.join("ci").join("ci.der"))?],
    })
}

pub async fn euicc(ctx: Ctx, cmd: EuiccCmd) -> CliResult {
    tokio::task::spawn_blocking(move || run(&ctx, cmd))
        .await
        .context("eUICC task")??;
    Ok(())
}

fn run(ctx: &Ctx, cmd: EuiccCmd) -> anyhow::Result<()> {
    match cmd {
        EuiccCmd::Init { pki, eid, file } => {
            if file.exists() {
                bail!("{} exists; not overwriting an eUICC", file.display());
            }
            let identity = identity_from_dir(&pki, eid.as_deref())?;
            // Validate before writing.
            Euicc::new(
                &identity,
                EuiccState::default(),
                Box::new(simforge_crypto::SystemRandom::new()),
                Box::new(simforge_crypto::SystemClock),
            )?;
            let eid = identity.eid.clone();
            save(
                &file,
                &EuiccFile {
                    identity,
                    state: EuiccState::default(),
                },
            )?;
            if ctx.json {
                println!("{}", serde_json::json!({"eid": eid, "file": file}));
            } else {
                println!("virtual eUICC {eid} created in {}", file.display());
            }
        }
        EuiccCmd::Vpcd { file, host, port } => {
            let (mut e, identity) = open(&file)?;
            let mut stream = std::net::TcpStream::connect((host.as_str(), port))
                .with_context(|| format!("connecting to vpcd at {host}:{port} (is pcscd with vsmartcard-vpcd running?)"))?;
            eprintln!("eUICC {} connected to vpcd at {host}:{port}", e.eid());
            let mut failure = None;
            simforge_euicc::transport::vpcd::run(&mut e, &mut stream, &mut |e| {
                if let Err(err) = persist(&file, &identity, e) {
                    failure = Some(err);
                }
            })?;
            if let Some(err) = failure {
                return Err(err);
            }
        }
        EuiccCmd::Stdio { file, command } => {
            let (mut e, identity) = open(&file)?;
            let (prog, args) = command.split_first().context("no command")?;
            let mut child = std::process::Command::new(prog)
                .args(args)
                .env("LPAC_APDU", "stdio")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .with_context(|| format!("starting {prog}"))?;
            let mut input = BufReader::new(child.stdout.take().context("child stdout")?);
            let mut output = child.stdin.take().context("child stdin")?;
            let mut failure = None;
            simforge_euicc::transport::stdio::serve(
                &mut e,
                &mut input,
                &mut output,
                &mut |line| {
                    println!("{line}");
                    None
                },
                &mut |e| {
                    if let Err(err) = persist(&file, &identity, e) {
                        failure = Some(err);
                    }
                },
            )?;
            drop(output);
            let status = child.wait()?;
            if let Some(err) = failure {
                return Err(err);
            }
            if !status.success() {
                bail!("{prog} exited with {status}");
            }
        }
        EuiccCmd::Show { file } => {
            let f = load(&file)?;
            let profiles: Vec<serde_json::Value> = f
                .state
                .profiles
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "iccid": simforge_lpa::iccid_digits(&p.iccid),
                        "isdpAid": hex_upper(&p.isdp_aid),
                        "enabled": p.enabled,
                        "nickname": p.nickname,
                    })
                })
                .collect();
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({"eid": f.identity.eid, "profiles": profiles,
                        "pendingNotifications": f.state.notifications.len()})
                );
            } else {
                println!("EID {}", f.identity.eid);
                for p in &profiles {
                    println!("  {p}");
                }
                println!("{} pending notification(s)", f.state.notifications.len());
            }
        }
    }
    Ok(())
}

use simforge_sim::secret::to_hex as hex_upper;
