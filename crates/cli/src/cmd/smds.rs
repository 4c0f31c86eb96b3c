//! `simforge smds`: the SM-DS role (ES11 for LPAs, ES12 for SM-DP+s) over HTTPS with the lab
//! PKI's DSauth and DStls certificates, assembled by `simforge_esim::smds`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;
use simforge_esim::smds::{SmdsOptions, SmdsServer};

use crate::ctx::{Ctx, shutdown_signal};
use crate::exit::{CliResult, Code, fail};

const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8445);

#[derive(Args)]
pub struct SmdsArgs {
    /// Address and port to listen on (HTTPS). Default 127.0.0.1:8445.
    #[arg(long, env = "SIMFORGE_SMDS_LISTEN")]
    listen: Option<SocketAddr>,
    /// The SM-DS FQDN (what LPAs send as its address). Default: the DStls certificate's name.
    #[arg(long, env = "SIMFORGE_SMDS_FQDN")]
    fqdn: Option<String>,
    /// The port of the SM-DS address (default: the listening port).
    #[arg(long)]
    public_port: Option<u16>,
    /// Lab PKI directory (`simforge pki init`, with its `smds/` certificates). Default:
    /// <data-dir>/pki.
    #[arg(long, env = "SIMFORGE_PKI")]
    pki: Option<PathBuf>,
    /// An SM-DP+ allowed to register and delete events (ES12): NAME=CERTIFICATE, the file of
    /// its TLS client certificate (PEM or DER); repeatable. Each deletes only its own events.
    #[arg(long = "registrant", value_name = "NAME=CERT")]
    registrants: Vec<String>,
    /// The SQLite file of the event records. Default: <data-dir>/smds.sqlite.
    #[arg(long, env = "SIMFORGE_SMDS_DB", conflicts_with = "memory")]
    db: Option<PathBuf>,
    /// Keep the event records in memory only (lost when the SM-DS stops).
    #[arg(long)]
    memory: bool,
    /// Days an event record is kept when its SM-DP+ does not delete it (0: until deleted).
    /// Default 90.
    #[arg(long, default_value_t = 90)]
    event_ttl_days: u32,
    /// Run as an alternative SM-DS of this root SM-DS (host[:port]): events registered with
    /// forwardingIndicator are registered there too (ES15, with this SM-DS's DStls
    /// certificate as client certificate: the root must know it as a registrant), and
    /// deleted there with them.
    #[arg(long, value_name = "ADDRESS")]
    root: Option<String>,
    /// List this SM-DS's ES15 forwards to its root (newest first; given-up ones with their
    /// last error) from its database, and exit.
    #[arg(long, conflicts_with = "memory")]
    forwards: bool,
    /// Put the given-up ES15 forward ID back in the queue of this SM-DS's database (a
    /// running alternative SM-DS sends it again), and exit.
    #[arg(long, value_name = "ID", conflicts_with_all = ["memory", "forwards"])]
    requeue_forward: Option<i64>,
}

pub async fn smds(ctx: Ctx, a: SmdsArgs) -> CliResult {
    if a.forwards || a.requeue_forward.is_some() {
        let db =
            a.db.clone()
                .unwrap_or_else(|| ctx.data_dir.join("smds.sqlite"));
        return match a.requeue_forward {
            Some(id) => {
                simforge_esim::smds::requeue_forward(&db, id, crate::ctx::now_ms())?;
                ctx.print(&serde_json::json!({"requeued": id}), || {
                    format!("ES15 forward {id} queued again")
                });
                Ok(())
            }
            None => {
                let rows = simforge_esim::smds::forwards(&db, 100)?;
                let j: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| {
                        let o = &r.entry.op;
                        serde_json::json!({
                            "id": r.entry.id, "op": o.kind.as_str(), "state": r.state.as_str(),
                            "root": o.smds_address, "eid": o.eid.to_string(),
                            "eventId": o.event_id.as_str(), "due": o.due,
                            "attempts": r.entry.attempts, "lastError": r.last_error,
                        })
                    })
                    .collect();
                ctx.print(&serde_json::Value::Array(j), || {
                    rows.iter()
                        .map(|r| {
                            let o = &r.entry.op;
                            format!(
                                "{:>6} {:<8} {:<10} {} {} {} {}",
                                r.entry.id,
                                o.kind.as_str(),
                                r.state.as_str(),
                                o.smds_address,
                                o.eid,
                                o.event_id.as_str(),
                                r.last_error.as_deref().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                Ok(())
            }
        };
    }
    let listen = a.listen.unwrap_or(DEFAULT_LISTEN);
    let registrants = a
        .registrants
        .iter()
        .map(|r| {
            r.split_once('=')
                .map(|(n, p)| (n.to_owned(), PathBuf::from(p)))
                .ok_or_else(|| fail(Code::Input, anyhow!("--registrant {r}: NAME=CERT expected")))
        })
        .collect::<CliResult<Vec<_>>>()?;
    let options = SmdsOptions {
        pki: a.pki.unwrap_or_else(|| ctx.data_dir.join("pki")),
        fqdn: a.fqdn,
        port: a.public_port.unwrap_or(listen.port()),
        event_ttl_secs: (a.event_ttl_days > 0).then(|| i64::from(a.event_ttl_days) * 86_400),
        registrants,
        registrant_certs: Vec::new(),
        root: a.root,
        db: if a.memory {
            None
        } else {
            Some(match a.db {
                Some(p) => p,
                None => {
                    simforge_factory::private_dir(&ctx.data_dir)?;
                    ctx.data_dir.join("smds.sqlite")
                }
            })
        },
    };
    let server = SmdsServer::assemble(&options)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))
        .map_err(|e| fail(Code::Failure, e))?;
    let address = server.address();
    let root = server.root();
    let j =
        serde_json::json!({"listening": listen.to_string(), "smdsAddress": address, "root": root});
    ctx.print(&j, || match &root {
        Some(r) => format!(
            "SM-DS {address} listening on https://{listen} (ES11, ES12, ES15), forwarding to the root SM-DS {r}"
        ),
        None => format!("SM-DS {address} listening on https://{listen} (ES11, ES12, ES15)"),
    });
    server.run(listener, shutdown_signal()).await?;
    Ok(())
}
