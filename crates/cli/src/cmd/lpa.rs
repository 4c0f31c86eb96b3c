//! `simforge lpa …`: the LPA against an SM-DP+ over ES9+ HTTPS and an eUICC reached one of
//! three ways: in-process (the virtual eUICC of `--euicc`, state in that file), a PC/SC reader
//! (`--reader`), or a child process speaking lpac's stdio JSON-lines APDU protocol (`--stdio`),
//! the LPA then playing lpac's role. The cards and the transport are `simforge_device`'s; here
//! are the arguments and the printing.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use simforge_device::{CardSpec, Https, HttpsConfig};
use simforge_lpa::{Card, Lpa};

use crate::ctx::Ctx;
use crate::exit::CliResult;

#[derive(Args)]
pub struct LpaArgs {
    /// The virtual eUICC file (`simforge euicc init`), driven in-process.
    #[arg(long, global = true, default_value = "euicc.json")]
    euicc: PathBuf,
    /// Use the eUICC in this PC/SC reader instead: part of its name (any case), or `auto`.
    #[arg(long, global = true, conflicts_with = "stdio")]
    reader: Option<String>,
    /// Use the eUICC behind this command (run by `sh -c`, lpac's stdio APDU protocol) instead,
    /// e.g. `--stdio "simforge euicc stdio --file euicc.json"`.
    #[arg(long, global = true)]
    stdio: Option<String>,
    /// With --stdio: seconds to wait for each reply before stopping the program and failing.
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
    /// Download and install a profile from an activation code (`LPA:1$host$matchingId`); with
    /// none, from the eUICC's default SM-DP+ address with an empty matchingId (the profile
    /// ordered for this EID).
    Download {
        activation_code: Option<String>,
        #[arg(long)]
        confirmation_code: Option<String>,
    },
    /// Ask an SM-DS for this eUICC's events (ES11), then download each from its SM-DP+ with
    /// matchingId = its EventID; with --list only print them.
    Discover {
        /// The SM-DS address (host[:port]). Default: the eUICC's root SM-DS address.
        #[arg(long)]
        smds: Option<String>,
        /// Only list the events.
        #[arg(long)]
        list: bool,
    },
    /// Set the eUICC's default SM-DP+ address (ES10a SetDefaultDpAddress; empty: none).
    SetDefaultDp { address: String },
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

pub async fn lpa(ctx: Ctx, args: LpaArgs) -> CliResult {
    tokio::task::spawn_blocking(move || run(&ctx, args))
        .await
        .context("LPA task")??;
    Ok(())
}

fn run(ctx: &Ctx, args: LpaArgs) -> anyhow::Result<()> {
    let mut tls = HttpsConfig::new(concat!("simforge-lpa/", env!("CARGO_PKG_VERSION")));
    tls.ca_pem = args
        .ca
        .as_deref()
        .map(simforge_device::read_ca)
        .transpose()?;
    tls.insecure = args.insecure;
    let es9 = Https::new(&tls)?;
    let spec = match (args.reader, args.stdio) {
        (Some(want), _) => CardSpec::Reader(want),
        (None, Some(command)) => {
            let timeout = Duration::from_secs(args.stdio_timeout);
            CardSpec::Stdio { command, timeout }
        }
        (None, None) => CardSpec::Virtual(args.euicc),
    };
    simforge_device::with_card(&spec, es9, |lpa| command(ctx, lpa, args.cmd))
}

/// One line per item.
fn lines<T>(items: &[T], line: impl Fn(&T) -> String) -> String {
    items.iter().map(line).collect::<Vec<_>>().join("\n")
}

fn command<C: Card>(ctx: &Ctx, lpa: &mut Lpa<C, Https>, cmd: LpaCmd) -> anyhow::Result<()> {
    let (done, id) = match cmd {
        LpaCmd::Download {
            activation_code,
            confirmation_code,
        } => {
            let o = match activation_code {
                Some(ac) => lpa.download(&ac, confirmation_code.as_deref())?,
                None => {
                    let a = lpa.es10.configured_addresses()?;
                    let Some(dp) = a.default_dp_address.filter(|d| !d.is_empty()) else {
                        anyhow::bail!(
                            "no activation code, and the eUICC has no default SM-DP+ address (lpa set-default-dp)"
                        );
                    };
                    lpa.download_at(&dp, "", confirmation_code.as_deref())?
                }
            };
            let pending = if o.notification_sent {
                ""
            } else {
                "; install notification still pending"
            };
            ctx.print(&o, || {
                let (iccid, spn, name, aid) = (
                    &o.iccid,
                    &o.service_provider_name,
                    &o.profile_name,
                    &o.isdp_aid,
                );
                format!("installed ICCID {iccid} ({spn} / {name}), ISD-P {aid}{pending}")
            });
            return Ok(());
        }
        LpaCmd::List => {
            let l = lpa.list_profiles()?;
            ctx.print(&l, || match l.is_empty() {
                true => "no profiles".into(),
                false => lines(&l, |p| {
                    let nick = p
                        .nickname
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default();
                    let spn = p.service_provider_name.as_deref().unwrap_or("-");
                    let name = p.profile_name.as_deref().unwrap_or("-");
                    format!(
                        "{}  {:8}  {:12}  {spn}  {name}{nick}",
                        p.iccid, p.state, p.class
                    )
                }),
            });
            return Ok(());
        }
        LpaCmd::Notifications { process: true } => {
            let d = lpa.process_notifications()?;
            ctx.print(&d, || {
                lines(&d, |x| {
                    let result = x.error.as_deref().unwrap_or("delivered");
                    format!("#{} to {}: {result}", x.seq_number, x.address)
                })
            });
            return Ok(());
        }
        LpaCmd::Notifications { process: false } => {
            let n = lpa.list_notifications()?;
            ctx.print(&n, || {
                lines(&n, |x| {
                    let iccid = x.iccid.as_deref().unwrap_or("-");
                    format!("#{} {} {iccid} {}", x.seq_number, x.operation, x.address)
                })
            });
            return Ok(());
        }
        LpaCmd::Info => {
            let i = lpa.chip_info()?;
            ctx.print(&i, || {
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
            return Ok(());
        }
        LpaCmd::Discover { smds, list } => {
            let smds = match smds {
                Some(s) => s,
                None => lpa.es10.configured_addresses()?.root_ds_address,
            };
            let events = lpa
                .discover(&smds)
                .with_context(|| format!("discovery at the SM-DS {smds}"))?;
            if list {
                ctx.print(&events, || match events.is_empty() {
                    true => format!("no events at {smds}"),
                    false => lines(&events, |e| {
                        format!("{}  {}", e.rsp_server_address, e.event_id)
                    }),
                });
                return Ok(());
            }
            let mut done = Vec::new();
            let mut failed = 0usize;
            for e in &events {
                // An event at the root SM-DS may point to an alternative SM-DS: followed.
                let r = lpa.download_event(e, None);
                let mut j = serde_json::Map::new();
                j.insert("eventId".into(), e.event_id.clone().into());
                j.insert(
                    "rspServerAddress".into(),
                    e.rsp_server_address.clone().into(),
                );
                match r {
                    Ok(o) => {
                        j.insert("installed".into(), serde_json::to_value(&o)?);
                    }
                    Err(err) => {
                        failed += 1;
                        j.insert("error".into(), format!("{err:#}").into());
                    }
                }
                done.push(serde_json::Value::Object(j));
            }
            ctx.print(&done, || match done.is_empty() {
                true => format!("no events at {smds}"),
                false => lines(&done, |d| {
                    let what = match (d.get("installed"), d.get("error")) {
                        (Some(o), _) => format!(
                            "installed ICCID {}",
                            o.get("iccid").and_then(|v| v.as_str()).unwrap_or("-")
                        ),
                        (None, Some(e)) => format!("failed: {}", e.as_str().unwrap_or("-")),
                        _ => String::new(),
                    };
                    format!(
                        "{} {}: {what}",
                        d["rspServerAddress"].as_str().unwrap_or("-"),
                        d["eventId"].as_str().unwrap_or("-")
                    )
                }),
            });
            if failed > 0 {
                anyhow::bail!(
                    "{failed} of {} discovered events not downloaded",
                    events.len()
                );
            }
            return Ok(());
        }
        LpaCmd::SetDefaultDp { address } => {
            let r = lpa.es10.set_default_dp_address(&address)?;
            anyhow::ensure!(r.0 == 0, "SetDefaultDpAddress refused (result {})", r.0);
            ("default SM-DP+ set", address)
        }
        LpaCmd::Enable { id } => (lpa.enable(&id).map(|()| "enabled")?, id),
        LpaCmd::Disable { id } => (lpa.disable(&id).map(|()| "disabled")?, id),
        LpaCmd::Delete { id } => (lpa.delete(&id).map(|()| "deleted")?, id),
    };
    let mut j = serde_json::Map::new();
    j.insert(done.to_owned(), id.clone().into());
    ctx.print(&j, || format!("{done} {id}"));
    Ok(())
}
