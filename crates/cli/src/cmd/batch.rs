//! `simforge batch`: batches from an order to files on disk (`simforge_factory::batch`).

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use clap::{Args, Subcommand, ValueEnum};
use simforge_factory::{self as factory, Format};

use crate::ctx::{Ctx, threads_or_cores};
use crate::exit::CliResult;
use crate::output::Bar;

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
pub enum FormatArg {
    /// Server/HLR file for the operator (.out).
    Out,
    /// Electrical personalization file for the card machines.
    Elec,
    /// Laser/graphic print file.
    Laser,
    /// pySim-prog CSV (labs).
    Pysim,
    /// osmo-hlr VTY provisioning script (labs).
    Hlr,
}

#[derive(Subcommand)]
pub enum BatchCmd {
    /// Generate a batch from an order: an operator order file (.i01 layout) or a TOML/JSON order.
    Generate(GenerateArgs),
    /// List batches.
    List {
        /// Only this operator's.
        #[arg(long)]
        operator: Option<String>,
    },
    /// Finish a batch whose run was interrupted (fresh secrets; nothing of the dead run was delivered).
    Resume {
        /// Batch id.
        id: i64,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Give an interrupted batch's ICCID/IMSI ranges back.
    Release {
        /// Batch id.
        id: i64,
    },
}

#[derive(Args)]
pub struct RunArgs {
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Operator name.
    #[arg(long)]
    operator: String,
    /// The order: `.toml` or `.json` for an API order; anything else is read as an operator order file.
    order: PathBuf,
    /// Card profile (TOML) for operator order files: algorithm, PIN policy, OTA key sets, AMF, SQN.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Output directory (default: <data-dir>/batches/<operator>); <out>/<batch name>/ appears
    /// when every file is complete.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Which files to write (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    formats: Option<Vec<FormatArg>>,
    #[command(flatten)]
    run: RunArgs,
}

pub async fn batch(ctx: Ctx, cmd: BatchCmd) -> CliResult {
    let store = ctx.store().await?;
    match cmd {
        BatchCmd::Generate(a) => {
            let op = store.operator(&a.operator).await?;
            let order = factory::read_order(&a.order, a.profile.as_deref())?;
            let label = a.order.display().to_string();
            let planned = factory::plan(&store, &op, order, &label, SystemTime::now()).await?;
            let formats = a.formats.map(|f| f.into_iter().map(format).collect());
            let vault = ctx.vault()?;
            let run = (a.run.threads, a.run.quiet);
            ctx.generate((&store, &vault), &planned, a.out, formats, run)
                .await?;
        }
        BatchCmd::List { operator } => {
            let batches = store.batches(operator.as_deref()).await?;
            ctx.out(&batches, || {
                let mut s = format!(
                    "{:>4} {:<12} {:<24} {:>10} {:<11} {:<20} OUTPUT",
                    "ID", "OPERATOR", "NAME", "CARDS", "STATE", "FIRST ICCID"
                );
                for b in &batches {
                    let state = format!("{:?}", b.state).to_lowercase();
                    s += &format!(
                        "\n{:>4} {:<12} {:<24} {:>10} {state:<11} {:<20} {}",
                        b.id, b.operator, b.name, b.quantity, b.iccid.first, b.output_dir
                    );
                }
                s
            })?;
        }
        BatchCmd::Resume { id, run } => {
            let vault = ctx.vault()?;
            let started = Instant::now();
            let mut bar = Bar::new(run.quiet);
            let token = ctx.hsm_token()?;
            let mut run = factory::Run::os(threads_or_cores(run.threads), &mut bar);
            if let Some(t) = &token {
                run = run.with_hsm(t);
            }
            let g = factory::resume(&store, &vault, &ctx.actor, id, run).await?;
            ctx.print_generated(g, started)?;
        }
        BatchCmd::Release { id } => {
            let b = factory::release(&store, &ctx.actor, id).await?;
            let name = b.name;
            out!("released batch {id} ({name}): its ICCID and IMSI ranges are free again")?;
        }
    }
    Ok(())
}

fn format(f: FormatArg) -> Format {
    match f {
        FormatArg::Out => Format::Out,
        FormatArg::Elec => Format::Elec,
        FormatArg::Laser => Format::Laser,
        FormatArg::Pysim => Format::Pysim,
        FormatArg::Hlr => Format::Hlr,
    }
}
