//! `simforge key`: operator keys, imported sealed by the vault (`simforge_factory::keys`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use simforge_factory::keys;
use simforge_store::KeyKind;

use crate::ctx::Ctx;
use crate::exit::CliResult;

#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// AES-128/192/256 transport key (KID).
    Transport,
    /// MILENAGE OP (128 bits) or TUAK TOP (256 bits) (OPID).
    Op,
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Import a key from a file or standard input (hex). Never from the command line.
    Import {
        /// Operator name.
        #[arg(long)]
        operator: String,
        /// Key kind.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Key index, as order files reference it (KID / OPID).
        #[arg(long)]
        index: u32,
        /// File holding the key as hex; `-` or absent reads standard input.
        #[arg(long, conflicts_with = "hsm_label")]
        file: Option<PathBuf>,
        /// A transport key that stays in the HSM (--hsm-module, --hsm-token, --hsm-pin-file):
        /// the label of its AES key there (`simforge hsm import`/`generate`). Batches then
        /// compute their EKI in the HSM.
        #[arg(long)]
        hsm_label: Option<String>,
        /// Replace an existing key at that index.
        #[arg(long)]
        replace: bool,
    },
    /// List an operator's keys (indexes and sizes, never values).
    List {
        /// Operator name.
        #[arg(long)]
        operator: String,
    },
}

pub async fn key(ctx: Ctx, cmd: KeyCmd) -> CliResult {
    let store = ctx.store().await?;
    match cmd {
        KeyCmd::Import {
            operator,
            kind,
            index,
            file,
            hsm_label,
            replace,
        } => {
            let op = store.operator(&operator).await?;
            if let Some(label) = hsm_label {
                if !matches!(kind, KindArg::Transport) {
                    let e = anyhow::anyhow!("--hsm-label is for transport keys (--kind transport)");
                    return Err(crate::exit::fail(crate::exit::Code::Input, e));
                }
                let Some(token) = ctx.hsm_token()? else {
                    let e = anyhow::anyhow!(
                        "--hsm-label needs the HSM: --hsm-module, --hsm-token, --hsm-pin-file"
                    );
                    return Err(crate::exit::fail(crate::exit::Code::Input, e));
                };
                let key = simforge_hsm::HsmTransportKey::open(token, &label)
                    .map_err(simforge_esim::Error::from)?;
                let bits = key.bits();
                let vault = ctx.checked_vault(&store).await?;
                keys::store_hsm_transport_key(
                    &store, &vault, &ctx.actor, &op, &label, bits, index, replace,
                )
                .await?;
                if !ctx.json {
                    let name = &op.name;
                    out!(
                        "transport key {index} for operator {name}: {bits}-bit HSM key {label:?} (it never leaves the HSM)"
                    )?;
                }
                return Ok(());
            }
            let text = match file.as_deref() {
                Some(p) if p != Path::new("-") => {
                    let f = std::fs::File::open(p)
                        .with_context(|| format!("cannot read key file {}", p.display()))?;
                    keys::read_key_text(f, &format!("key file {}", p.display()))?
                }
                _ => keys::read_key_text(std::io::stdin().lock(), "key from standard input")?,
            };
            let (kind, what) = match kind {
                KindArg::Transport => (KeyKind::Transport, "transport"),
                KindArg::Op => (KeyKind::Op, "OP/TOP"),
            };
            let key = keys::parse_key(kind, &text)?;
            let vault = ctx.checked_vault(&store).await?;
            keys::store_key(&store, &vault, &ctx.actor, &op, &key, index, replace).await?;
            if !ctx.json {
                let (bits, name) = (key.bits, &op.name);
                out!("imported {bits}-bit {what} key {index} for operator {name}")?;
            }
        }
        KeyCmd::List { operator } => {
            let op = store.operator(&operator).await?;
            let keys = store.keys(op.id).await?;
            ctx.out(&keys, || {
                let mut s = format!("{:<10} {:>6} {:>5} IMPORTED", "KIND", "INDEX", "BITS");
                for k in &keys {
                    let kind = format!("{:?}", k.kind).to_lowercase();
                    s += &format!("\n{kind:<10} {:>6} {:>5} {}", k.index, k.bits, k.created_at);
                }
                s
            })?;
        }
    }
    Ok(())
}
