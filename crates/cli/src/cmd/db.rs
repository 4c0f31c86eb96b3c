//! `simforge db`: the platform database's schema.

use clap::Subcommand;
use simforge_store::Store;

use crate::ctx::Ctx;
use crate::exit::CliResult;

#[derive(Subcommand)]
pub enum DbCmd {
    /// Apply the migrations this simforge knows (every node also does at start); refuses a
    /// database whose schema is newer than this binary.
    Migrate,
}

pub async fn db(ctx: Ctx, cmd: DbCmd) -> CliResult {
    match cmd {
        DbCmd::Migrate => {
            let at = ctx.database_location()?;
            let version = Store::migrate(&at).await?;
            let j = serde_json::json!({"database": at.to_string(), "schemaVersion": version});
            ctx.print(&j, || format!("{at}: schema version {version}"));
            Ok(())
        }
    }
}
