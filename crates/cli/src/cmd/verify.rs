//! `simforge verify`: checks a delivered server/HLR (.out) file against the operator's keys and
//! says exactly what it checked (the checks are `simforge_factory::verify`'s).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;
use simforge_factory::verify::{Input, verify_with as check};

use crate::ctx::Ctx;
use crate::exit::{CliResult, Code, fail};

#[derive(Args)]
pub struct VerifyArgs {
    /// Operator name.
    #[arg(long)]
    operator: String,
    /// The server/HLR file (.out).
    out_file: PathBuf,
    /// The electrical personalization file of the same batch, to check Ki and OPc card by card.
    #[arg(long)]
    electrical: Option<PathBuf>,
}

fn open(p: &Path) -> CliResult<BufReader<File>> {
    let f = File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
    Ok(BufReader::new(f))
}

pub async fn verify(ctx: Ctx, a: VerifyArgs) -> CliResult {
    let store = ctx.store().await?;
    let op = store.operator(&a.operator).await?;
    let out_name = a.out_file.display().to_string();
    let elec_name = a.electrical.as_ref().map(|p| p.display().to_string());
    let out = Input {
        reader: open(&a.out_file)?,
        name: &out_name,
    };
    let electrical = match (&a.electrical, &elec_name) {
        (Some(p), Some(name)) => Some(Input {
            reader: open(p)?,
            name,
        }),
        _ => None,
    };
    let vault = ctx.vault()?;
    let token = ctx.hsm_token()?;
    let hsm = token
        .as_ref()
        .map(|t| t as &dyn simforge_factory::TransportKeys);
    let r = check(&store, &vault, &ctx.actor, &op, (out, electrical), hsm).await?;
    ctx.out(&r, || {
        if r.ok() {
            let not = match r.not_checked.is_empty() {
                true => String::new(),
                false => format!("; NOT checked: {}", r.not_checked.join("; ")),
            };
            return format!(
                "OK: {} cards; checked: {}{not}",
                r.cards,
                r.checked.join("; ")
            );
        }
        let mut s: Vec<String> = r.problems.iter().map(ToString::to_string).collect();
        if r.problem_count > r.problems.len() as u64 {
            s.push(format!(
                "… and {} more",
                r.problem_count - r.problems.len() as u64
            ));
        }
        s.push(format!(
            "FAILED: {} problems in {} cards",
            r.problem_count, r.cards
        ));
        s.join("\n")
    })?;
    match r.ok() {
        true => Ok(()),
        false => Err(fail(
            Code::Verify,
            anyhow!("verification failed: {} problems", r.problem_count),
        )),
    }
}
