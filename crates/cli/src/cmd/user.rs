//! `simforge user`: create a user (the bootstrap: `--role platform-admin`), unlock one.

use clap::Subcommand;
use simforge_esim::users;

use crate::ctx::{Ctx, unix_now};
use crate::exit::CliResult;

#[derive(Subcommand)]
pub enum UserCmd {
    /// Create a user; the password is the first line of --password-file, else of standard
    /// input. An administrator's TOTP enrollment URI is printed, once.
    Create {
        name: String,
        /// platform-admin, factory, operator-admin, operator or viewer.
        #[arg(long)]
        role: String,
        /// The operator (tenant) of an operator-admin, operator or viewer.
        #[arg(long)]
        operator: Option<String>,
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
    },
    /// Unlock a user locked after failed logins.
    Unlock { name: String },
}

pub async fn user(ctx: Ctx, cmd: UserCmd) -> CliResult {
    let store = ctx.store().await?;
    let vault = std::sync::Arc::new(ctx.checked_vault(&store).await?);
    let (name, uri) = match cmd {
        UserCmd::Unlock { name } => {
            users::unlock(&store, vault, &ctx.actor, &name, unix_now()).await?;
            (name, None)
        }
        UserCmd::Create {
            name,
            role,
            operator: op,
            password_file: f,
        } => {
            let pw = users::read_password(f.as_deref(), std::io::stdin().lock())?;
            let who = (name.as_str(), role.as_str(), op.as_deref());
            let c = users::create(&store, vault, &ctx.actor, who, pw, unix_now()).await?;
            (name, c.totp_uri)
        }
    };
    let uri = uri.as_ref().map(|u| u.0.as_str());
    ctx.out(&serde_json::json!({ "user": name, "totpUri": uri }), || {
        uri.map_or(format!("user {name}: done"), |u| {
            format!("user {name}: TOTP URI (shown only now): {u}")
        })
    })
}
