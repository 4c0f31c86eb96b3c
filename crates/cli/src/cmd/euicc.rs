//! `simforge euicc …`: the virtual eUICC — create one from a lab PKI, and put it behind
//! pcscd (vpcd) or behind lpac's stdio APDU driver. The file and the serving loops are
//! `simforge_device`'s ([`VirtualEuicc`]); here are the arguments and the printing.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;
use simforge_device::identity::IdentitySource;
use simforge_device::{EuiccFile, VirtualEuicc};
use simforge_sim::secret::to_hex;

use crate::ctx::Ctx;
use crate::exit::CliResult;

#[derive(Subcommand)]
pub enum EuiccCmd {
    /// Create a virtual eUICC from a lab PKI directory (`simforge pki init`), or from
    /// certificate and key files (`--euicc-cert --euicc-key --eum-cert --ci-cert…`).
    Init {
        /// The PKI directory (with ci/, eum/, euicc/).
        #[arg(long, required_unless_present = "euicc_cert", conflicts_with_all = ["euicc_cert", "euicc_key", "eum_cert"])]
        pki: Option<PathBuf>,
        /// EID of the eUICC certificate to use (default: the first in euicc/).
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
        /// A trusted CI certificate, PEM or DER (repeatable): issuer of the EUM; SM-DP+
        /// certificates are verified against all of them.
        #[arg(long, requires = "euicc_cert")]
        ci_cert: Vec<PathBuf>,
        /// The CI of the EUM certificate when it is not a trusted one: it checks the chain, but
        /// SM-DP+ certificates are verified against --ci-cert only (SGP.22 keeps them apart).
        #[arg(long, requires = "euicc_cert")]
        chain_ci: Option<PathBuf>,
        /// The root SM-DS address the eUICC reports (ES10a GetEuiccConfiguredAddresses),
        /// set here as at manufacture. Default lpa.ds.gsma.com.
        #[arg(long)]
        root_ds: Option<String>,
        /// The default SM-DP+ address (also settable later: `lpa set-default-dp`).
        #[arg(long)]
        default_dp: Option<String>,
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
    /// Run lpac (or another program of lpac's stdio APDU protocol) against the eUICC:
    /// `simforge euicc stdio -- lpac chip info`; without a program, serve that protocol on
    /// standard input/output (for `simforge lpa --stdio "simforge euicc stdio" …`).
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
            root_ds,
            default_dp,
            file,
        } => {
            let source = match (pki, euicc_cert, euicc_key, eum_cert) {
                (Some(dir), ..) => IdentitySource::Pki { dir, eid },
                (None, Some(euicc_cert), Some(euicc_key), Some(eum_cert)) => {
                    IdentitySource::Files {
                        euicc_cert,
                        euicc_key,
                        eum_cert,
                        ci_certs: ci_cert,
                        chain_ci,
                        eid,
                    }
                }
                _ => bail!("give --pki, or --euicc-cert, --euicc-key, --eum-cert and --ci-cert"),
            };
            let mut state = simforge_euicc::EuiccState::default();
            if let Some(r) = root_ds {
                state.root_ds_address = r;
            }
            state.default_dp_address = default_dp.filter(|d| !d.is_empty());
            let eid = VirtualEuicc::create_with(&file, &source, state)?;
            let j = json!({"eid": eid, "file": file});
            ctx.print(&j, || {
                format!("virtual eUICC {eid} created in {}", file.display())
            });
        }
        EuiccCmd::Vpcd { file, host, port } => {
            VirtualEuicc::open(&file)?.serve_vpcd(&host, port, |e| {
                eprintln!("eUICC {} connected to vpcd at {host}:{port}", e.eid());
            })?;
        }
        EuiccCmd::Stdio { file, command } => {
            let mut e = VirtualEuicc::open(&file)?;
            match command.split_first() {
                // The card side on our own stdin/stdout; other lines are not for us.
                None => e.serve_stdio(&mut std::io::stdin().lock(), &mut std::io::stdout())?,
                Some((prog, args)) => e.run_program(prog, args, &mut |line| println!("{line}"))?,
            }
        }
        EuiccCmd::Show { file } => {
            let f = EuiccFile::load(&file)?;
            let profiles: Vec<serde_json::Value> = f.state.profiles.iter().map(|p| {
                let (iccid, aid) = (simforge_asn1::Iccid::bcd_digits(&p.iccid), to_hex(&p.isdp_aid));
                json!({"iccid": iccid, "isdpAid": aid, "enabled": p.enabled, "nickname": p.nickname})
            }).collect();
            let (eid, pending) = (&f.identity.eid, f.state.notifications.len());
            let j = json!({"eid": eid, "profiles": profiles, "pendingNotifications": pending});
            ctx.print(&j, || {
                let p: String = profiles.iter().map(|p| format!("\n  {p}")).collect();
                format!("EID {eid}{p}\n{pending} pending notification(s)")
            });
        }
    }
    Ok(())
}
