//! The data directory's permissions: created 0700, and refused at start when others than its
//! owner may enter it (it holds the database with released profiles' matchingIds, the master
//! key, batch outputs with card secrets). The database files and the master key check their
//! own modes (`simforge_store`, `simforge_vault`). And the master key check: a key that is
//! not the one the database was sealed with is refused at start.

use std::path::Path;

use anyhow::anyhow;
use simforge_store::Store;
use simforge_vault::{MasterKey, Vault};

use crate::exit::{CliResult, Code, fail};

/// Creates `dir` (and missing parents) with mode 0700 if it does not exist; refuses it when
/// its group or others have any permission on it.
pub fn private_dir(dir: &Path) -> CliResult<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| {
        fail(
            Code::Failure,
            anyhow!("cannot create data directory {}: {e}", dir.display()),
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)
            .map_err(|e| fail(Code::Failure, anyhow!("{}: {e}", dir.display())))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(fail(
                Code::Failure,
                anyhow!(
                    "data directory {} has mode {mode:04o}: it must be accessible by its owner only (it holds the database, the master key and batch outputs); fix: chmod 700 {}",
                    dir.display(),
                    dir.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a master key that did not seal this database (the first start with a key stores
/// a check value sealed under it).
pub async fn check_master_key(store: &Store, key: &MasterKey) -> CliResult<()> {
    store
        .check_master_key(
            &key.fingerprint(),
            || simforge_vault::seal_check(key).ok(),
            |sealed| simforge_vault::verify_check(key, sealed).is_ok(),
        )
        .await?;
    Ok(())
}
