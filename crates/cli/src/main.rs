//! `simforge`: the command-line tool of the simforge platform.

// First: its `println!`/`eprintln!` replace std's in every module below (they never panic).
#[macro_use]
mod output;

mod cmd;
mod ctx;
mod exit;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cmd::{
    audit, batch, db, demo, euicc, hsm, key, load, lpa, operator, pki, serve, smds, user, verify,
};
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
    /// Master key file (64 hex digits; default <data-dir>/master.key, created on first use).
    /// SIMFORGE_MASTER_KEY, if set, takes precedence.
    #[arg(long, global = true, env = "SIMFORGE_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// The platform database: a SQLite file path (default <data-dir>/simforge.sqlite) or a
    /// PostgreSQL URL (`postgres://user@host/db?sslmode=verify-full`) that several nodes share.
    #[arg(
        long,
        global = true,
        env = "SIMFORGE_DATABASE_URL",
        hide_env_values = true
    )]
    database: Option<simforge_store::DatabaseLocation>,
    /// A PKCS#11 module (shared library) whose token holds keys: transport keys stored as HSM
    /// keys (`key import --hsm-label`), and for `serve` DPauth/DPpb and the master key.
    #[arg(long, global = true, env = "SIMFORGE_HSM_MODULE")]
    hsm_module: Option<PathBuf>,
    /// The HSM token's label.
    #[arg(long, global = true, env = "SIMFORGE_HSM_TOKEN")]
    hsm_token: Option<String>,
    /// A file (mode 0600) holding the HSM token's user PIN.
    #[arg(long, global = true, env = "SIMFORGE_HSM_PIN_FILE")]
    hsm_pin_file: Option<PathBuf>,
    /// The HSM's AES-256 key that is the master key (sealing and unsealing in the token, no
    /// master key file), for every command; needs --hsm-module.
    #[arg(long, global = true, env = "SIMFORGE_HSM_MASTER_KEY_LABEL")]
    hsm_master_key_label: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Format of the log lines on standard error (level from SIMFORGE_LOG, e.g. `info`).
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
    Operator(operator::OperatorCmd),
    /// Operator keys: transport keys (KID) and OP/TOP values (OPID).
    #[command(subcommand)]
    Key(key::KeyCmd),
    /// SIM batches: generate from an order, list, resume, release.
    #[command(subcommand)]
    Batch(batch::BatchCmd),
    /// Users: create one (bootstrap: --role platform-admin), unlock one.
    #[command(subcommand)]
    User(user::UserCmd),
    /// The platform database: bring its schema up to date.
    #[command(subcommand)]
    Db(db::DbCmd),
    /// The tamper-evident audit log: verify its hash chain, export it.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// A PKCS#11 HSM: list slots, tokens and objects; generate or import keys.
    #[command(subcommand)]
    Hsm(hsm::HsmCmd),
    /// Verify a delivered server/HLR (.out) file against the operator's keys.
    Verify(verify::VerifyArgs),
    /// Set up a demo operator with lab keys and generate a small batch.
    Demo(demo::DemoArgs),
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
    /// Run the SM-DS (ES11 discovery for LPAs, ES12 event registration for SM-DP+s) over HTTPS.
    Smds(smds::SmdsArgs),
    /// Load-test an SM-DP+: many virtual eUICCs and LPAs downloading concurrently.
    Load(load::LoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIMFORGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // A log line that cannot be written (stderr on a full disk, a closed pipe) is dropped and
    // counted (`/metrics`), never a panic in the request that logged it.
    let log_errors = simforge_server::LogWriteErrors::default();
    let writer = {
        let errors = log_errors.clone();
        move || simforge_server::LossyWriter::new(std::io::stderr(), errors.clone())
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer)
        .log_internal_errors(false);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        // The request span's fields once per line, under `span` (the span list would repeat them).
        LogFormat::Json => logs.json().with_span_list(false).init(),
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
    match runtime.block_on(run(cli, log_errors)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {:#}", e.error);
            ExitCode::from(e.code as u8)
        }
    }
}

async fn run(cli: Cli, log_errors: simforge_server::LogWriteErrors) -> CliResult {
    let mut ctx = ctx::Ctx::new(&cli.data_dir, cli.master_key_file.as_deref(), cli.json);
    ctx.database = cli.database;
    ctx.hsm_master_key_label = cli.hsm_master_key_label;
    ctx.hsm = ctx::HsmArgs {
        module: cli.hsm_module,
        token: cli.hsm_token,
        pin_file: cli.hsm_pin_file,
    };
    match cli.command {
        Command::Operator(c) => operator::operator(ctx, c).await,
        Command::Key(c) => key::key(ctx, c).await,
        Command::Batch(c) => batch::batch(ctx, c).await,
        Command::User(c) => user::user(ctx, c).await,
        Command::Audit(c) => audit::audit(ctx, c).await,
        Command::Db(c) => db::db(ctx, c).await,
        Command::Hsm(c) => hsm::hsm(ctx, c).await,
        Command::Verify(a) => verify::verify(ctx, a).await,
        Command::Demo(a) => demo::demo(ctx, a).await,
        Command::Pki(c) => pki::pki(ctx, c).await,
        Command::Euicc(c) => euicc::euicc(ctx, c).await,
        Command::Lpa(a) => lpa::lpa(ctx, a).await,
        Command::Serve(a) => serve::serve(ctx, a, log_errors).await,
        Command::Smds(a) => smds::smds(ctx, a).await,
        Command::Load(a) => load::load(ctx, a).await,
    }
}
