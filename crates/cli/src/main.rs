//! `simforge`: the command-line tool of the simforge platform.

mod datadir;
mod euicc;
mod exit;
mod factory;
mod load;
mod lpa;
mod operator_ops;
mod pki;
mod serve;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use exit::CliResult;

/// simforge — SIM factory data preparation and eSIM platform.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Data directory: database, master key (unless given otherwise), batch outputs.
    #[arg(
        long,
        global = true,
        env = "SIMFORGE_DATA",
        default_value = "simforge-data"
    )]
    data_dir: PathBuf,
    /// Master key file (64 hex digits). Default: <data-dir>/master.key, created on first use.
    /// The SIMFORGE_MASTER_KEY environment variable, if set, takes precedence.
    #[arg(long, global = true, env = "SIMFORGE_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Format of the log lines on standard error (level from SIMFORGE_LOG, e.g. `info`):
    /// `text`, or `json` (one object per line, with the request span's fields).
    #[arg(long, global = true, env = "SIMFORGE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// Log line format.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Operators (tenants).
    #[command(subcommand)]
    Operator(factory::OperatorCmd),
    /// Operator keys: transport keys (KID) and OP/TOP values (OPID).
    #[command(subcommand)]
    Key(factory::KeyCmd),
    /// SIM batches: generate from an order, list, resume, release.
    #[command(subcommand)]
    Batch(factory::BatchCmd),
    /// Verify a delivered server/HLR (.out) file against the operator's keys.
    Verify(verify::VerifyArgs),
    /// Set up a demo operator with lab keys and generate a small batch.
    Demo(factory::DemoArgs),
    /// Lab PKIs for the eSIM platform: create one, or load the GSMA SGP.26 test PKI.
    #[command(subcommand)]
    Pki(pki::PkiCmd),
    /// The virtual eUICC: create one, put it behind pcscd (vpcd) or lpac (stdio).
    #[command(subcommand)]
    Euicc(euicc::EuiccCmd),
    /// The LPA: download, list, enable, disable, delete profiles; notifications; chip info.
    Lpa(lpa::LpaArgs),
    /// Run the SM-DP+ (ES9+, ES2+, metrics) over HTTPS on the embedded defaults.
    Serve(serve::ServeArgs),
    /// Load-test an SM-DP+: many virtual eUICCs and LPAs downloading concurrently.
    Load(load::LoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIMFORGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {:#}", e.error);
            ExitCode::from(e.code as u8)
        }
    }
}

async fn run(cli: Cli) -> CliResult {
    let ctx = factory::Ctx::new(&cli.data_dir, cli.master_key_file.as_deref(), cli.json);
    match cli.command {
        Command::Operator(c) => factory::operator(ctx, c).await,
        Command::Key(c) => factory::key(ctx, c).await,
        Command::Batch(c) => factory::batch(ctx, c).await,
        Command::Verify(a) => verify::verify(ctx, a).await,
        Command::Demo(a) => factory::demo(ctx, a).await,
        Command::Pki(c) => pki::pki(ctx, c).await,
        Command::Euicc(c) => euicc::euicc(ctx, c).await,
        Command::Lpa(a) => lpa::lpa(ctx, a).await,
        Command::Serve(a) => serve::serve(ctx, a).await,
        Command::Load(a) => load::load(ctx, a).await,
    }
}
