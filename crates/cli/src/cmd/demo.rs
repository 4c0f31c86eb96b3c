//! `simforge demo`: the demo operator (`simforge_factory::demo`) and a batch from its order.

use std::time::SystemTime;

use anyhow::Context;
use clap::Args;
use simforge_factory::{self as factory, demo};

use crate::ctx::Ctx;
use crate::exit::CliResult;

#[derive(Args)]
pub struct DemoArgs {
    /// Cards in the demo batch.
    #[arg(long, default_value_t = 1000)]
    quantity: u64,
}

pub async fn demo(ctx: Ctx, a: DemoArgs) -> CliResult {
    let store = ctx.store().await?;
    let vault = ctx.vault()?;
    let op = ctx.demo_operator(&store, &vault).await?;
    let path = ctx.data_dir.join("demo-order.toml");
    std::fs::write(&path, demo::demo_order(a.quantity, 3))
        .context("cannot write the demo order")?;
    out!("order: {}", path.display())?;
    let order = factory::read_order(&path, None)?;
    let label = path.display().to_string();
    let planned = factory::plan(&store, &op, order, &label, SystemTime::now()).await?;
    let g = ctx
        .generate((&store, &vault), &planned, None, None, (None, false))
        .await?;
    let out = g.files[0].display();
    out!("\nnext: `simforge verify --operator demo {out}` checks the delivered .out file")?;
    Ok(())
}
