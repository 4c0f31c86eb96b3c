//! `simforge audit`: the audit log's hash chain checked, or its entries as JSON lines.

use clap::Subcommand;
use simforge_audit::{AuditLog as _, Query};

use crate::ctx::Ctx;
use crate::exit::{CliResult, Code, fail};

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain: exit 0 if intact, else 6 naming the first bad entry.
    Verify,
    /// Print the entries after seq --since as JSON lines (--operator: its own only).
    Export {
        #[arg(long, default_value_t = 0)]
        since: u64,
        #[arg(long)]
        operator: Option<String>,
    },
}

pub async fn audit(ctx: Ctx, cmd: AuditCmd) -> CliResult {
    let store = ctx.store().await?;
    let mut q = Query::default();
    if let AuditCmd::Export { since, operator } = cmd {
        q.after_seq = since;
        q.tenant = match operator {
            Some(o) => Some(store.operator(&o).await?.id),
            None => None,
        };
        for e in store.entries(&q).await? {
            out!("{}", serde_json::to_string(&e)?)?;
        }
        return Ok(());
    }
    let s = simforge_audit::verify(store.entries(&q).await?).map_err(|b| fail(Code::Verify, b))?;
    Ok(out!("{s}")?)
}
