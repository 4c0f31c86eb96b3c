//! `simforge lpa …`: the LPA against the virtual eUICC (in-process, state in the eUICC file)
//! and an SM-DP+ over ES9+ HTTPS (reqwest + rustls).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use simforge_lpa::{Card, Es9Transport, Es10, Lpa, X_ADMIN_PROTOCOL};

use crate::exit::CliResult;
use crate::factory::Ctx;

#[derive(Args)]
pub struct LpaArgs {
    /// The virtual eUICC file (`simforge euicc init`).
    #[arg(long, global = true, default_value = "euicc.json")]
    euicc: PathBuf,
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
    let (mut euicc, identity) = crate::euicc::open(&args.euicc)?;
    let es9 = Https::new(args.ca.as_ref(), args.insecure)?;
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
