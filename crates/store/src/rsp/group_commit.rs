//! Group commit: `synchronous = FULL` with one fsync shared by concurrent commits.

use std::path::Path;
use std::time::Duration;

use simforge_smdp::Error;

use crate::{SqliteStore, Synchronous};

/// Group commit for `synchronous = FULL`: the SM-DP+ connection commits into the WAL without
/// fsync (`NORMAL`), then [`GroupSync::sync_to`] waits until an fsync of the WAL that started
/// after that commit has completed, before the transaction's caller answers. One fsync
/// covers every commit written before it, so transactions that commit while an fsync runs
/// share the next one. The durability promise is FULL's: an answered state change survives
/// an OS crash or power loss; atomicity is SQLite's (a commit not yet fsync'd is lost whole
/// or kept whole). Checkpoints sync the WAL and the database themselves (as in `NORMAL`).
#[derive(Debug)]
pub(crate) struct GroupSync {
    wal: std::path::PathBuf,
    dir: Option<std::path::PathBuf>,
    state: std::sync::Mutex<SyncState>,
    rounds: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Commits written (a sequence number per commit).
    written: u64,
    /// Commits known durable.
    synced: u64,
    /// An fsync failed: the kernel may have dropped the pages it could not write, so no
    /// later fsync proves the commits before it durable. Every later durable commit fails
    /// (as PostgreSQL stops on a failed fsync); the server needs a restart, which recovers
    /// from what is on disk.
    failed: bool,
    /// An fsync is running.
    syncing: bool,
    /// The directory's entry of the WAL file was fsync'd.
    dir_synced: bool,
    /// The latest deferred commit ([`SmdpTx::commit_deferred`]) waiting for the timer.
    deferred: u64,
    /// The deferred-commit timer is armed.
    timer_armed: bool,
}

/// A deferred commit is on stable storage at most this long after it was written (plus the
/// fsync's own time): the next durable commit's fsync covers it, or the timer's.
pub(crate) const DEFERRED_SYNC: Duration = Duration::from_millis(20);

impl GroupSync {
    pub(crate) fn new(db: &Path) -> Self {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal: wal.into(),
            dir: db.parent().map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".").to_path_buf()
                } else {
                    d.to_path_buf()
                }
            }),
            state: std::sync::Mutex::default(),
            rounds: tokio::sync::watch::Sender::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a commit just written (call while the connection is still held, so that the
    /// sequence follows the commit order); `dirty = false` only asks for what is written.
    pub(crate) fn committed(&self, dirty: bool) -> u64 {
        let mut st = self.lock();
        if dirty {
            st.written += 1;
        }
        st.written
    }

    /// Waits until commit `seq` and all before it are on stable storage.
    pub(crate) async fn sync_to(self: &std::sync::Arc<Self>, seq: u64) -> Result<(), Error> {
        let mut rounds = self.rounds.subscribe();
        loop {
            {
                let mut st = self.lock();
                if st.synced >= seq {
                    return Ok(());
                }
                if st.failed {
                    return Err(Error::Storage(
                        format!(
                            "an fsync of {} failed: commits may be lost; restart the server",
                            self.wal.display()
                        )
                        .into(),
                    ));
                }
                if !st.syncing {
                    // This round covers every commit written so far. It runs to its end
                    // on the blocking pool even if this task is dropped.
                    st.syncing = true;
                    let target = st.written;
                    let sync_dir = !st.dir_synced;
                    let me = self.clone();
                    drop(tokio::task::spawn_blocking(move || {
                        me.round(target, sync_dir);
                    }));
                }
            }
            rounds.changed().await.map_err(|e| {
                Error::Storage(simforge_smdp::error::Cause::with_source("group commit", e))
            })?;
        }
    }

    /// Makes commit `seq` durable within [`DEFERRED_SYNC`], without waiting for it. One
    /// timer at a time, armed by the first deferred commit not yet durable, syncs up to the
    /// latest deferred commit when it fires, unless a durable commit's fsync has covered it
    /// by then (under load it has: the timer then costs no fsync).
    pub(crate) fn sync_soon(self: &std::sync::Arc<Self>, seq: u64) {
        {
            let mut st = self.lock();
            if st.synced >= seq {
                return;
            }
            st.deferred = st.deferred.max(seq);
            if st.timer_armed {
                return;
            }
            st.timer_armed = true;
        }
        let me = self.clone();
        drop(tokio::spawn(async move {
            tokio::time::sleep(DEFERRED_SYNC).await;
            let target = {
                let mut st = me.lock();
                st.timer_armed = false;
                st.deferred
            };
            // A failed fsync is recorded (`failed`): every later durable commit reports it.
            let _ = me.sync_to(target).await;
        }));
    }

    fn round(&self, target: u64, sync_dir: bool) {
        let fsync = |p: &Path| std::fs::File::open(p).and_then(|f| f.sync_data());
        let r = fsync(&self.wal);
        // The directory entry of the WAL file, once; best effort, as SQLite's own directory
        // sync (a file system that cannot sync a directory does not fail the commit).
        let dir_ok = r.is_ok() && sync_dir && self.dir.as_deref().is_some_and(|d| fsync(d).is_ok());
        {
            let mut st = self.lock();
            st.syncing = false;
            match r {
                Ok(()) => {
                    st.synced = st.synced.max(target);
                    st.dir_synced |= dir_ok;
                }
                Err(_) => st.failed = true,
            }
        }
        self.rounds.send_modify(|n| *n += 1);
    }
}

impl SqliteStore {
    /// Makes every commit of the SM-DP+ so far durable, the deferred ones included (for a
    /// clean shutdown: the timer that would have synced them stops with the runtime).
    ///
    /// # Errors
    /// A failed fsync.
    pub async fn sync_deferred(&self) -> Result<(), Error> {
        if self.synchronous != Synchronous::Full {
            return Ok(());
        }
        let written = self.group.lock().written;
        self.group.sync_to(written).await
    }
}

#[cfg(test)]
mod group_sync_tests {
    use super::*;
    use crate::OutboxAdmin as _;
    use crate::rsp::tests;
    use simforge_smdp::{Event, ProfileState, SmdpStore as _, SmdpTx as _};

    #[test]
    fn a_bare_file_name_syncs_the_current_directory() {
        let g = GroupSync::new(Path::new("db.sqlite"));
        assert_eq!(g.wal, Path::new("db.sqlite-wal"));
        assert_eq!(g.dir.as_deref(), Some(Path::new(".")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_full_commits_share_fsyncs_and_all_complete() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_sqlite_with(&dir.path().join("db.sqlite"), Synchronous::Full)
            .await
            .unwrap();
        let a = tests::operator(&store, "a").await;
        let mut tasks = Vec::new();
        for i in 0..32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.push_events(&[Event::ProfileState {
                    operator_id: a,
                    iccid: format!("89{i:017}").parse().expect("iccid"),
                    from: ProfileState::Available,
                    to: ProfileState::Allocated,
                    at: 1,
                }])
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        {
            let st = store.group.lock();
            assert_eq!(st.written, 32);
            assert_eq!(st.synced, 32, "every answered commit is fsync'd");
            assert!(!st.syncing);
        }
        assert!(*store.group.rounds.borrow() <= 32);
        assert_eq!(store.outbox_rows(a, 100).await.unwrap().len(), 32);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deferred_commits_are_visible_at_once_and_durable_soon_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_sqlite_with(&dir.path().join("db.sqlite"), Synchronous::Full)
            .await
            .unwrap();
        let a = tests::operator(&store, "a").await;
        let event = |i: u32| Event::ProfileState {
            operator_id: a,
            iccid: format!("89{i:017}").parse().expect("iccid"),
            from: ProfileState::Available,
            to: ProfileState::Allocated,
            at: 1,
        };
        for i in 0..3 {
            let mut tx = store.begin().await.unwrap();
            tx.push_events(&[event(i)]).await.unwrap();
            tx.commit_deferred().await.unwrap();
        }
        // Visible to the next transaction (before any fsync, unless the timer was quicker).
        assert_eq!(store.outbox_rows(a, 10).await.unwrap().len(), 3);
        assert_eq!(store.group.lock().written, 3);
        // Durable within the bound, by the timer, with no further commit.
        tokio::time::sleep(DEFERRED_SYNC * 10).await;
        {
            let st = store.group.lock();
            assert_eq!(st.synced, 3);
            assert!(!st.timer_armed && !st.syncing);
        }
        assert!((1..=3).contains(&*store.group.rounds.borrow()));
        // A durable commit after a deferred one covers it with its own fsync; the timer then
        // finds nothing to do.
        let mut tx = store.begin().await.unwrap();
        tx.push_events(&[event(3)]).await.unwrap();
        tx.commit_deferred().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.push_events(&[event(4)]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.group.lock().synced, 5);
        let rounds = *store.group.rounds.borrow();
        tokio::time::sleep(DEFERRED_SYNC * 10).await;
        assert_eq!(
            *store.group.rounds.borrow(),
            rounds,
            "the timer found the deferred commit durable and synced nothing"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_failed_fsync_no_commit_is_reported_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_sqlite_with(&dir.path().join("db.sqlite"), Synchronous::Full)
            .await
            .unwrap();
        let a = tests::operator(&store, "a").await;
        store.group.lock().failed = true;
        let mut tx = store.begin().await.unwrap();
        tx.push_events(&[Event::ProfileState {
            operator_id: a,
            iccid: "8949440000000000011".parse().expect("iccid"),
            from: ProfileState::Available,
            to: ProfileState::Allocated,
            at: 1,
        }])
        .await
        .unwrap();
        let e = tx.commit().await.expect_err("not durable");
        assert!(e.to_string().contains("restart the server"), "{e}");
    }
}
