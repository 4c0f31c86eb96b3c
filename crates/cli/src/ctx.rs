//! What every command shares: where things live (the data directory, created 0700 and refused
//! when others may enter it; the master key, refused when it did not seal the database), the
//! clock, and `--json` or text output.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use simforge_factory::{self as factory, Planned, Run};
use simforge_store::{Operator, Store};
use simforge_vault::MasterKey;
use zeroize::Zeroizing;

pub use simforge_factory::clock::{now_ms, rfc3339, threads_or_cores, unix, unix_now};

use crate::exit::CliResult;
use crate::output::Bar;

/// Shared command context: where things live, and how to print.
pub struct Ctx {
    pub data_dir: PathBuf,
    master_key_file: Option<PathBuf>,
    pub json: bool,
    /// The platform database (`--database`, `SIMFORGE_DATABASE_URL`); `None`: SQLite in the
    /// data directory.
    pub database: Option<simforge_store::DatabaseLocation>,
    /// Who runs the command, for the audit log (`cli:<os user>`).
    pub actor: factory::Actor,
    /// The HSM (`--hsm-module`, `--hsm-token`, `--hsm-pin-file`), where given.
    pub hsm: HsmArgs,
    /// The HSM's AES key that is the master key (`--hsm-master-key-label`).
    pub hsm_master_key_label: Option<String>,
}

/// Where the HSM's token is and how to log in to it (the global `--hsm-*` options).
#[derive(Clone, Debug, Default)]
pub struct HsmArgs {
    pub module: Option<PathBuf>,
    pub token: Option<String>,
    pub pin_file: Option<PathBuf>,
}

impl Ctx {
    pub fn new(data_dir: &Path, master_key_file: Option<&Path>, json: bool) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            master_key_file: master_key_file.map(Path::to_owned),
            json,
            database: None,
            actor: factory::Actor::cli(&factory::os_user()),
            hsm: HsmArgs::default(),
            hsm_master_key_label: None,
        }
    }

    /// The HSM's token, logged in, when `--hsm-module` is given.
    pub fn hsm_token(&self) -> CliResult<Option<std::sync::Arc<simforge_hsm::Token>>> {
        let h = &self.hsm;
        match (&h.module, &h.token, &h.pin_file) {
            (None, _, _) => Ok(None),
            (Some(m), Some(t), Some(p)) => Ok(Some(simforge_esim::hsm::open(m, t, p)?)),
            (Some(_), _, _) => Err(crate::exit::fail(
                crate::exit::Code::Input,
                anyhow::anyhow!("--hsm-module needs --hsm-token and --hsm-pin-file"),
            )),
        }
    }

    pub async fn store(&self) -> CliResult<Store> {
        Ok(Store::open(&self.database_location()?).await?)
    }

    /// Where the platform database is: `--database`, else SQLite in the data directory (made
    /// private first).
    pub fn database_location(&self) -> CliResult<simforge_store::DatabaseLocation> {
        if let Some(d) = &self.database {
            return Ok(d.clone());
        }
        factory::private_dir(&self.data_dir)?;
        Ok(simforge_store::DatabaseLocation::Sqlite(
            self.data_dir.join("simforge.sqlite"),
        ))
    }

    /// The master key (a file, or the HSM's key with `--hsm-master-key-label`), refused if it
    /// did not seal `store` (checked against a sealed value).
    pub async fn checked_vault(&self, store: &Store) -> CliResult<Box<dyn simforge_vault::Vault>> {
        let key = self.vault()?;
        Self::check_vault(store, &key).await?;
        Ok(key)
    }

    /// Refuses a vault (a master key file or an HSM key) that did not seal this database.
    pub async fn check_vault(store: &Store, key: &dyn simforge_vault::Vault) -> CliResult {
        store
            .check_master_key(
                &key.fingerprint(),
                || simforge_vault::seal_check(key).ok(),
                |sealed| simforge_vault::verify_check(key, sealed).is_ok(),
            )
            .await?;
        Ok(())
    }

    /// The master key: the HSM's AES key labelled `--hsm-master-key-label` (sealing in the
    /// token), else the master key file (created on first use).
    pub fn vault(&self) -> CliResult<Box<dyn simforge_vault::Vault>> {
        if let Some(label) = &self.hsm_master_key_label {
            let Some(token) = self.hsm_token()? else {
                let e = anyhow::anyhow!(
                    "--hsm-master-key-label needs the HSM: --hsm-module, --hsm-token, --hsm-pin-file"
                );
                return Err(crate::exit::fail(crate::exit::Code::Input, e));
            };
            return Ok(Box::new(simforge_esim::hsm::vault(&token, label)?));
        }
        Ok(Box::new(self.file_vault()?))
    }

    fn file_vault(&self) -> CliResult<MasterKey> {
        if self.master_key_file.is_none() {
            factory::private_dir(&self.data_dir)?;
        }
        let path = self.master_key_file.clone();
        let path = path.unwrap_or_else(|| self.data_dir.join("master.key"));
        let (key, created) = MasterKey::load_or_create(&path)?;
        if created {
            eprintln!(
                "note: created a new master key at {} (mode 0600). Back it up: without it the stored operator keys cannot be read.",
                path.display()
            );
        }
        Ok(key)
    }

    /// `json` with `--json`, else `text()`, through [`out!`] (a write error is returned).
    pub fn out<T: Serialize + ?Sized>(&self, json: &T, text: impl FnOnce() -> String) -> CliResult {
        match self.json {
            true => out!("{}", serde_json::to_string(json)?)?,
            false => out!("{}", text())?,
        }
        Ok(())
    }

    /// The same through `println!` (a write error ends the process with code 1).
    pub fn print<T: Serialize + ?Sized>(&self, json: &T, text: impl FnOnce() -> String) {
        match self.json {
            true => println!("{}", serde_json::to_string(json).unwrap_or_default()),
            false => println!("{}", text()),
        }
    }

    /// Writes the planned batch (`formats`, default all) under `out_root` (default
    /// `<data-dir>/batches/<operator>`) with a progress bar; prints its summary.
    pub async fn generate(
        &self,
        (store, vault): (&Store, &dyn simforge_vault::Vault),
        planned: &Planned,
        out_root: Option<PathBuf>,
        formats: Option<Vec<factory::Format>>,
        (threads, quiet): (Option<usize>, bool),
    ) -> CliResult<factory::Generated> {
        let formats = formats.unwrap_or_else(|| factory::Format::ALL.to_vec());
        let name = &planned.operator.name;
        let out_root = out_root.unwrap_or_else(|| self.data_dir.join("batches").join(name));
        let started = Instant::now();
        let mut bar = Bar::new(quiet);
        let token = self.hsm_token()?;
        let mut run = Run::os(threads_or_cores(threads), &mut bar);
        if let Some(t) = &token {
            run = run.with_hsm(t);
        }
        let g =
            factory::generate(store, vault, &self.actor, planned, &out_root, &formats, run).await?;
        self.print_generated(g, started)
    }

    /// Prints a finished batch's summary.
    pub fn print_generated(
        &self,
        g: factory::Generated,
        started: Instant,
    ) -> CliResult<factory::Generated> {
        let s = g.summary(started.elapsed().as_secs_f64());
        self.out(&s, || {
            let g = &s.batch;
            let mut t = format!(
                "batch {} ({}): {} cards in {:.2} s ({:.0} cards/s) -> {}",
                g.batch_id,
                g.name,
                g.quantity,
                s.seconds,
                s.cards_per_second,
                g.dir.display()
            );
            g.files
                .iter()
                .for_each(|f| t += &format!("\n  {}", f.display()));
            t
        })?;
        Ok(s.batch)
    }

    /// Moves the API key hashes of an `es2-api-keys.json` (older versions) into the database.
    pub async fn migrate_api_key_file(&self, store: &Store) -> CliResult {
        let m = simforge_esim::credentials::migrate_api_key_file(store, &self.data_dir).await?;
        m.iter()
            .flat_map(|m| m.notes())
            .for_each(|n| eprintln!("{n}"));
        Ok(())
    }

    /// The `demo` operator with random keys, created (and said so) on first use.
    pub async fn demo_operator(
        &self,
        store: &Store,
        vault: &dyn simforge_vault::Vault,
    ) -> CliResult<Operator> {
        let mut rng = simforge_sim::OsRandom::new();
        let (op, created) = factory::demo::demo_operator(store, vault, &mut rng).await?;
        if created {
            out!(
                "created operator demo (PLMN 001-01) with a random AES-256 transport key (KID 1) and OP (OPID 1)"
            )?;
        }
        Ok(op)
    }
}

/// A file holding secrets (zeroized when dropped); errors say `cannot read {what} {path}`.
pub fn read_file(p: &Path, what: &str) -> CliResult<Zeroizing<Vec<u8>>> {
    let bytes = std::fs::read(p).with_context(|| format!("{what} {}", p.display()))?;
    Ok(Zeroizing::new(bytes))
}

/// Resolves on Ctrl-C or SIGTERM (where it can be watched), saying so on standard error.
/// (`serve` has its own copy of this, kept apart while another change edits `serve.rs`; the
/// two can become this one.)
pub async fn shutdown_signal() {
    let terminated = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => eprintln!("stopping"),
        () = terminated => eprintln!("stopping (SIGTERM)"),
    }
}
