//! The backends the contract runs on: each gives a fresh, empty database (holding operators
//! [`A`] and [`B`] on SQLite; the SM-DP+'s tables take tenant numbers as they are), handles
//! on it ([`Backend::open`]: another SM-DP+ instance, or the same
//! one after a restart), and a restart of its server.

use std::future::Future;
use std::path::PathBuf;

use simforge_smdp::{MemoryStore, SmdpStore};
use simforge_store::{DatabaseLocation, SessionCache, Store};

use super::new_operator;
use simforge_testkit::postgres::Postgres;

/// The two operators every backend's database holds.
pub const A: i64 = 1;
/// The second operator.
pub const B: i64 = 2;

/// A database the contract runs on.
pub trait Backend: Sized {
    /// Its store.
    type Store: SmdpStore + Clone + 'static;
    /// A fresh, empty database with operators [`A`] and [`B`]; `None` when this backend is
    /// not available here (the test says "skipped", and fails when `CI` is set).
    fn start(test: &str) -> impl Future<Output = Option<Self>>;
    /// A new handle on the database: what another SM-DP+ instance, or the same one after a
    /// restart, opens (a [`SessionCache`] above it starts empty).
    fn open(&self) -> impl Future<Output = Self::Store>;
    /// Restarts the database server (`crash`: as a crash would, what comes back is recovered
    /// from its log). Without a server, nothing: the next [`Backend::open`] is the restart.
    fn restart(&self, crash: bool) -> impl Future<Output = ()> {
        let _ = crash;
        async {}
    }
}

/// A backend whose database a test can change behind the store's back (to tamper with it).
pub trait RawSql: Backend {
    /// Runs `sql` (statements separated by `;`) on the database directly.
    fn exec(&self, sql: &str) -> impl Future<Output = ()>;
}

/// [`MemoryStore`]: a handle is a clone (it shares the data, as a database would).
pub struct Memory(MemoryStore);

impl Backend for Memory {
    type Store = MemoryStore;
    async fn start(_: &str) -> Option<Self> {
        Some(Self(MemoryStore::new()))
    }
    async fn open(&self) -> MemoryStore {
        self.0.clone()
    }
}

/// The SQLite [`Store`] in a temporary directory.
pub struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Backend for Sqlite {
    type Store = Store;
    async fn start(_: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let store = Store::open_sqlite(&path).await.unwrap();
        for (name, id) in [("a", A), ("b", B)] {
            assert_eq!(
                store.create_operator(&new_operator(name)).await.unwrap().id,
                id
            );
        }
        Some(Self { _dir: dir, path })
    }
    async fn open(&self) -> Store {
        Store::open_sqlite(&self.path).await.unwrap()
    }
}

impl super::platform::Located for Sqlite {
    fn location(&self) -> DatabaseLocation {
        DatabaseLocation::Sqlite(self.path.clone())
    }
    const FUTURE_MIGRATION: &'static str = "INSERT INTO _sqlx_migrations
         (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', 1, X'00', 0)";
}

impl super::platform::Located for Pg {
    fn location(&self) -> DatabaseLocation {
        self.0.url().parse().unwrap()
    }
    const FUTURE_MIGRATION: &'static str = "INSERT INTO _sqlx_migrations
         (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', TRUE, '\\x00', 0)";
}

impl RawSql for Sqlite {
    async fn exec(&self, sql: &str) {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.execute_batch(sql).unwrap();
    }
}

/// [`Store`] on a private PostgreSQL server (`simforge_testkit::postgres`). The SM-DP+'s
/// tables name operators by tenant number, with no foreign key: the SM-DP+'s scenarios need
/// no operator rows (the platform's scenarios create theirs).
pub struct Pg(pub Postgres);

impl Backend for Pg {
    type Store = Store;
    async fn start(test: &str) -> Option<Self> {
        Postgres::start(test).map(Self)
    }
    async fn open(&self) -> Store {
        Store::connect_postgres(&self.0.url(), 8).await.unwrap()
    }
    async fn restart(&self, crash: bool) {
        self.0.restart(crash);
    }
}

impl RawSql for Pg {
    async fn exec(&self, sql: &str) {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&self.0.url()).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

/// Backend `B` with a [`SessionCache`] above each handle.
pub struct Cached<B>(pub B);

impl<B: Backend> Backend for Cached<B> {
    type Store = SessionCache<B::Store>;
    async fn start(test: &str) -> Option<Self> {
        B::start(test).await.map(Self)
    }
    async fn open(&self) -> Self::Store {
        SessionCache::new(self.0.open().await)
    }
    async fn restart(&self, crash: bool) {
        self.0.restart(crash).await;
    }
}
