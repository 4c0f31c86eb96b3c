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
    /// Create a virtual eUICC from a lab PKI directory (`simforge pki init`), or from
    /// certificate and key files (`--euicc-cert --euicc-key --eum-cert --ci-cert…`).
    Init {
        /// The PKI directory (with ci/, eum/, euicc/).
        #[arg(long, required_unless_present = "euicc_cert", conflicts_with_all = ["euicc_cert", "euicc_key", "eum_cert"])]
        pki: Option<PathBuf>,
        /// EID of the eUICC certificate to use (default: the first in euicc/; with
        /// --euicc-cert the EID is that certificate's subject serialNumber).
        #[arg(long)]
        eid: Option<String>,
        /// The eUICC certificate (CERT.EUICC.ECDSA), PEM or DER; its subject serialNumber is the EID.
        #[arg(long, requires_all = ["euicc_key", "eum_cert", "ci_cert"])]
        euicc_cert: Option<PathBuf>,
        /// The eUICC private key (SK.EUICC.ECDSA): PEM (PKCS#8 or SEC1) or PKCS#8 DER.
        #[arg(long, requires = "euicc_cert")]
        euicc_key: Option<PathBuf>,
        /// The EUM certificate that issued the eUICC certificate, PEM or DER.
        #[arg(long, requires = "euicc_cert")]
        eum_cert: Option<PathBuf>,
        /// A trusted CI certificate, PEM or DER (repeat for several). The EUM must be issued by
        /// one of them; SM-DP+ certificates are verified against all of them.
        #[arg(long, requires = "euicc_cert")]
        ci_cert: Vec<PathBuf>,
        /// The CI that issued the EUM certificate, when it is not one of the trusted CIs: it
        /// checks the chain (the eUICC signs under it) but SM-DP+ certificates are verified
        /// against the --ci-cert list only (SGP.22 keeps the two lists apart).
        #[arg(long, requires = "euicc_cert")]
        chain_ci: Option<PathBuf>,
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
    /// `simforge euicc stdio -- lpac chip info`. Without a program, serve that protocol on
    /// this process's own standard input/output (the card side for an LPA that runs us as its
    /// child: `simforge lpa --stdio "simforge euicc stdio --file euicc.json" …`).
    Stdio {
        #[arg(long, default_value = "euicc.json")]
        file: PathBuf,
        /// The program and its arguments.
        #[arg(trailing_var_arg = true)]
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

/// The identity from certificate and key files (PEM or DER), checked before anything is
/// written: the EUM chains to one of the CIs, the eUICC certificate to the EUM, the EID is
/// permitted by the EUM, and the key is the certificate's.
fn identity_from_files(
    euicc_cert: &Path,
    euicc_key: &Path,
    eum_cert: &Path,
    ci_certs: &[PathBuf],
    chain_ci: Option<&Path>,
    eid: Option<&str>,
) -> anyhow::Result<EuiccIdentity> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let key = zeroize::Zeroizing::new(read(euicc_key)?);
    let cis = ci_certs
        .iter()
        .map(|p| read(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let chain_ci = chain_ci.map(read).transpose()?;
    let identity = EuiccIdentity::from_certificates(
        &read(euicc_cert)?,
        &key,
        &read(eum_cert)?,
        &cis,
        chain_ci.as_deref(),
        simforge_crypto::Clock::now_unix(&simforge_crypto::SystemClock),
    )
    .with_context(|| {
        format!(
            "eUICC certificate {}, key {}, EUM certificate {}",
            euicc_cert.display(),
            euicc_key.display(),
            eum_cert.display()
        )
    })?;
    if let Some(eid) = eid
        && eid != identity.eid
    {
        bail!(
            "--eid {eid} is not the eUICC certificate's EID {}",
            identity.eid
        );
    }
    Ok(identity)
}

pub async fn euicc(ctx: Ctx, cmd: EuiccCmd) -> CliResult {
    tokio::task::spawn_blocking(move || run(&ctx, cmd))
        .await
        .context("eUICC task")??;
    Ok(())
}

fn run(ctx: &Ctx, cmd: EuiccCmd) -> anyhow::Result<()> {
    match cmd {
        EuiccCmd::Init {
            pki,
            eid,
            euicc_cert,
            euicc_key,
            eum_cert,
            ci_cert,
            chain_ci,
            file,
        } => {
            if file.exists() {
                bail!("{} exists; not overwriting an eUICC", file.display());
            }
            let identity = match (pki, euicc_cert, euicc_key, eum_cert) {
                (Some(pki), ..) => identity_from_dir(&pki, eid.as_deref())?,
                (None, Some(cert), Some(key), Some(eum)) => identity_from_files(
                    &cert,
                    &key,
                    &eum,
                    &ci_cert,
                    chain_ci.as_deref(),
                    eid.as_deref(),
                )?,
                _ => bail!("give --pki, or --euicc-cert, --euicc-key, --eum-cert and --ci-cert"),
            };
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
            let Some((prog, args)) = command.split_first() else {
                // The card side on our own stdin/stdout; other lines are not for us.
                let stdin = std::io::stdin();
                let mut failure = None;
                simforge_euicc::transport::stdio::serve(
                    &mut e,
                    &mut stdin.lock(),
                    &mut std::io::stdout(),
                    &mut |line| {
                        tracing::warn!(
                            len = line.len(),
                            "ignoring a line that is not an APDU request"
                        );
                        None
                    },
                    &mut |e| {
                        if let Err(err) = persist(&file, &identity, e) {
                            failure.get_or_insert(err);
                        }
                    },
                )?;
                return failure.map_or(Ok(()), Err);
            };
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
                        "iccid": simforge_asn1::Iccid::bcd_digits(&p.iccid),
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
