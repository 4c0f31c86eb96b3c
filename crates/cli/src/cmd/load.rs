//! `simforge load`: many virtual eUICCs and LPAs downloading concurrently from an SM-DP+; the
//! engine is `simforge_device::load`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use simforge_device::load::{Curve, LoadConfig, LoadTest, Orders, Phase, Progress, Report};

use crate::ctx::Ctx;
use crate::exit::{CliResult, Code, fail};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CurveArg {
    Nist,
    Brainpool,
}

/// How `load --node` spreads ES9+ calls over the nodes.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Spread {
    /// Every call of a download to the next node.
    Call,
    /// All of a download's calls to one node, downloads in turn.
    Download,
}

#[derive(Args)]
pub struct LoadArgs {
    /// The SM-DP+ address (host:port, as in activation codes); ES2+ goes to https://<this>.
    #[arg(long, default_value = "localhost:8443")]
    smdp: String,
    /// A node of the SM-DP+ (host:port; repeat for each): ES9+ calls go to the nodes in turn,
    /// each call of a download to the next one (several nodes on one PostgreSQL, no
    /// balancer); the SM-DP+ address stays --smdp's. Default: --smdp.
    #[arg(long = "node")]
    nodes: Vec<String>,
    /// With --node: send every call of a download to the next node (`call`: no stickiness at
    /// all, each download hops), or each download's calls all to one node, downloads taking
    /// the nodes in turn (`download`: a layer-4 balancer keeping a device's connection).
    #[arg(long, value_enum, default_value = "call", requires = "nodes")]
    spread: Spread,
    /// PEM file of certificates to trust for TLS (default: the DPtls chain of the PKI).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Accept any TLS certificate (lab use only).
    #[arg(long)]
    insecure: bool,
    /// Lab PKI directory with the EUM and CI, or pre-issued eUICCs (euicc/<EID>.der + .key.pem);
    /// one PKI or one per curve (nist/, brainpool/). Default: <data-dir>/pki.
    #[arg(long)]
    pki: Option<PathBuf>,
    /// Curve of the eUICCs when the PKI directory holds one PKI per curve.
    #[arg(long, value_enum, default_value_t = CurveArg::Nist)]
    curve: CurveArg,
    /// First EID index under the EUM's prefix (default: from the clock: new EIDs every run).
    #[arg(long)]
    eid_start: Option<u64>,
    /// Use the PKI's pre-issued eUICCs (`pki init --euiccs N`) even when the EUM key is there.
    #[arg(long)]
    preissued: bool,
    /// Downloads running at the same time (worker threads).
    #[arg(long, short = 'c', default_value_t = 8)]
    concurrency: usize,
    /// Number of downloads (default: 100, or one per activation code of --activation-codes).
    #[arg(long, short = 'n')]
    downloads: Option<usize>,
    /// Activation codes, one per line (`LPA:1$host$matchingId` [confirmation code]), instead
    /// of ordering them over ES2+.
    #[arg(long, conflicts_with_all = ["api_key_file", "profile_type"])]
    activation_codes: Option<PathBuf>,
    /// File holding the ES2+ API key (`-`: standard input; else SIMFORGE_ES2_API_KEY).
    #[arg(long)]
    api_key_file: Option<PathBuf>,
    /// ES2+ functionRequesterIdentifier (the operator's name).
    #[arg(long, default_value = "demo")]
    operator: String,
    /// ES2+ DownloadOrder by this profile type.
    #[arg(long)]
    profile_type: Option<String>,
    /// Do not send the install notification (the profile stays Downloaded on the SM-DP+).
    #[arg(long)]
    no_notification: bool,
    /// Keep one TLS connection per worker (default: one per download, as a new device).
    #[arg(long)]
    reuse_connections: bool,
    /// PID of the SM-DP+ process on this machine: report its CPU time per download (Linux).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Discovery: order each profile for its eUICC's EID with this SM-DS (host:port) as
    /// smdsAddress; each eUICC discovers its event there (ES11) and downloads it (ES2+
    /// ordering only).
    #[arg(long, value_name = "SMDS", conflicts_with = "activation_codes")]
    discover: Option<String>,
    /// PID of the SM-DS process on this machine: report its CPU time per discovery (Linux).
    #[arg(long, requires = "discover")]
    smds_pid: Option<u32>,
    /// Exit with status 1 if any download failed.
    #[arg(long)]
    strict: bool,
    /// Append one JSON line per step to this file (orders, each download attempt with its EID,
    /// matchingId, result and ICCID), for scripts/soak.sh.
    #[arg(long)]
    event_log: Option<PathBuf>,
}

pub async fn load(ctx: Ctx, args: LoadArgs) -> CliResult {
    let strict = args.strict;
    let (ctx, r) = tokio::task::spawn_blocking(move || run(&ctx, args).map(|r| (ctx, r)))
        .await
        .context("load task")??;
    ctx.print(&r, || text(&r));
    if strict && r.failed > 0 {
        let e = anyhow!("{} of {} downloads failed", r.failed, r.downloads);
        return Err(fail(Code::Failure, e));
    }
    Ok(())
}

fn read_api_key(file: Option<&Path>) -> anyhow::Result<Option<String>> {
    let key = match file {
        Some(p) if p == Path::new("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => match std::env::var("SIMFORGE_ES2_API_KEY") {
            Ok(k) => k,
            Err(_) => return Ok(None),
        },
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        bail!("the ES2+ API key is empty");
    }
    Ok(Some(key))
}

fn run(ctx: &Ctx, a: LoadArgs) -> anyhow::Result<Report> {
    if a.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let test = LoadTest::prepare(LoadConfig {
        smdp: a.smdp,
        pki: a.pki.unwrap_or_else(|| ctx.data_dir.join("pki")),
        curve: match a.curve {
            CurveArg::Nist => Curve::Nist,
            CurveArg::Brainpool => Curve::Brainpool,
        },
        ca: a.ca,
        insecure: a.insecure,
        eid_start: a.eid_start,
        preissued: a.preissued,
        concurrency: a.concurrency,
        skip_notification: a.no_notification,
        reuse_connections: a.reuse_connections,
        server_pid: a.server_pid,
        event_log: a.event_log,
        nodes: a.nodes,
        hop_per_call: matches!(a.spread, Spread::Call),
        discover: a.discover,
        smds_pid: a.smds_pid,
    })?;
    let orders = if let Some(file) = &a.activation_codes {
        let name = file.display();
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
        let codes = simforge_device::load::parse_codes(&text);
        let (n, len) = (a.downloads.unwrap_or(codes.len()), codes.len());
        if codes.is_empty() {
            bail!("no activation code in {name}");
        } else if n > len {
            bail!("--downloads {n} but only {len} activation codes in {name}");
        }
        Orders::Codes(codes.into_iter().take(n).collect())
    } else {
        let Some(api_key) = read_api_key(a.api_key_file.as_deref())? else {
            bail!(
                "give --activation-codes FILE, or an ES2+ API key (--api-key-file or SIMFORGE_ES2_API_KEY) and --profile-type"
            );
        };
        let Some(profile_type) = a.profile_type else {
            bail!("ES2+ ordering needs --profile-type");
        };
        Orders::Es2 {
            api_key: api_key.into(),
            operator: a.operator,
            profile_type,
            count: a.downloads.unwrap_or(100),
        }
    };
    // The bars: "ordering " (ES2+), then "downloads" with the counts so far.
    let bar: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);
    let progress = |p: Progress| {
        let Ok(mut bar) = bar.lock() else { return };
        match p {
            Progress::Start { phase, total } => {
                let what = match phase {
                    Phase::Ordering => "ordering ",
                    Phase::Downloads => "downloads",
                };
                let b = indicatif::ProgressBar::new(total as u64);
                if ctx.json {
                    b.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                }
                let style = format!("{what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} {{msg}}");
                let style = indicatif::ProgressStyle::with_template(&style);
                b.set_style(style.unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
                *bar = Some(b);
            }
            Progress::Step { phase, ok, failed } => {
                if let Some(b) = &*bar {
                    if phase == Phase::Downloads {
                        b.set_message(format!("ok {ok} failed {failed}"));
                    }
                    b.inc(1);
                }
            }
            Progress::Finish(_) => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
            }
            Progress::Warning(w) => eprintln!("warning: {w}"),
        }
    };
    Ok(test.run(orders, &progress)?)
}

fn text(r: &Report) -> String {
    let mut s = format!(
        "{} downloads ({}) against {} at concurrency {}: {} succeeded ({} distinct ICCIDs), {} failed, {} install notifications sent",
        r.downloads,
        r.curve,
        r.smdp,
        r.concurrency,
        r.succeeded,
        r.distinct_iccids,
        r.failed,
        r.notifications_sent
    );
    let ordering = match r.ordering_secs > 0.0 {
        true => format!(" (ES2+ ordering before it: {:.3} s)", r.ordering_secs),
        false => String::new(),
    };
    let (secs, rate) = (r.elapsed_secs, r.downloads_per_sec);
    s += &format!("\ndownload phase {secs:.3} s: {rate:.1} downloads/s{ordering}");
    if let Some(c) = r.server_cpu_ms_per_download {
        s += &format!("\nserver CPU per download: {c:.3} ms");
    }
    if let Some(c) = r.server_per_download {
        let (r, w, cs) = (c.read_syscalls, c.write_syscalls, c.context_switches);
        s += &format!(
            "\nserver per download: {r} read and {w} write system calls, {cs} context switches"
        );
    }
    if let Some(c) = r.smds_cpu_ms_per_download {
        s += &format!("\nSM-DS CPU per discovery: {c:.3} ms");
    }
    if let Some(c) = r.client_cpu_ms_per_download {
        s += &format!("\nclient CPU per download (all eUICCs + LPAs): {c:.3} ms");
    }
    if !r.errors.is_empty() {
        s += "\nerrors:";
    }
    for e in &r.errors {
        s += &format!(
            "\n  {:6}  {:28} {:24} {}",
            e.count, e.stage, e.code, e.message
        );
    }
    s += "\nlatency (ms)                  count      p50      p90      p99      max";
    for (name, p) in &r.latency_ms {
        let (n, p50, p90, p99, max) = (p.count, p.p50, p.p90, p.p99, p.max);
        s += &format!("\n  {name:26} {n:>8} {p50:>8.2} {p90:>8.2} {p99:>8.2} {max:>8.2}");
    }
    s
}
