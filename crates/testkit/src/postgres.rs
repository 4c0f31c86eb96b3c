//! A private PostgreSQL server for one test (any crate's tests: the storage contract, the
//! operator API on PostgreSQL): `initdb` into a temporary directory, `pg_ctl
//! start` on a free port of 127.0.0.1, stopped and deleted when dropped. The server binaries
//! come from `SIMFORGE_PG_BIN` (a directory), `initdb` on the PATH, or Debian's
//! `/usr/lib/postgresql/<version>/bin` (package `postgresql`; `scripts/ci-services.sh`
//! installs it). As root, the server runs as the `postgres` user (PostgreSQL refuses root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};

/// A private PostgreSQL server, stopped and deleted when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: AtomicU16,
    as_postgres: bool,
}

fn bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SIMFORGE_PG_BIN") {
        let d = PathBuf::from(d);
        assert!(
            d.join("initdb").is_file() && d.join("pg_ctl").is_file(),
            "SIMFORGE_PG_BIN={}: no initdb and pg_ctl there",
            d.display()
        );
        return Some(d);
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(d) = std::env::split_paths(&path)
            .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    {
        return Some(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    /// Starts the server, or prints "skipped: …" for `test` and returns `None` when no
    /// PostgreSQL is installed (and panics instead when `CI` is set: CI must run it).
    pub fn start(test: &str) -> Option<Self> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set: a missing peer or ../shared fails the test instead of skipping it"
            );
            eprintln!("skipped: {test}: no PostgreSQL server binaries (initdb) installed");
            return None;
        };
        let as_postgres = is_root();
        if as_postgres
            && !Command::new("id")
                .arg("postgres")
                .output()
                .is_ok_and(|o| o.status.success())
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set: a missing peer or ../shared fails the test instead of skipping it"
            );
            eprintln!(
                "skipped: {test}: running as root and there is no `postgres` user to run the server"
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        if as_postgres {
            run(Command::new("chown").arg("postgres").arg(dir.path()));
        }
        let pg = Self {
            dir,
            bin,
            port: AtomicU16::new(0),
            as_postgres,
        };
        let data = pg.data();
        pg.run_pg(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "simforge",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        );
        pg.start_on_a_free_port();
        Some(pg)
    }

    /// `pg_ctl start` on a free port; another one if that port was taken by the time the
    /// server bound it.
    fn start_on_a_free_port(&self) {
        let data = self.data();
        let log = self.log();
        for attempt in 1..=5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .expect("a free port")
                .local_addr()
                .expect("its address")
                .port();
            self.port.store(port, Ordering::Relaxed);
            let opts = format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {} -c max_connections=40",
                self.dir.path().display()
            );
            let started = self
                .command("pg_ctl")
                .args([
                    "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts, "start",
                ])
                .current_dir(self.dir.path())
                .output()
                .expect("pg_ctl runs");
            if started.status.success() {
                return;
            }
            eprintln!("PostgreSQL did not start on port {port} (attempt {attempt})");
        }
        panic!(
            "PostgreSQL did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Restarts the server (on a new port: [`Postgres::url`] changes): `immediate` stops it
    /// as a crash would (no checkpoint: what is found after the restart is recovered from the
    /// write-ahead log), otherwise cleanly.
    pub fn restart(&self, immediate: bool) {
        let data = self.data();
        let mode = if immediate { "immediate" } else { "fast" };
        self.run_pg(
            "pg_ctl",
            &["-D", &data, "-m", mode, "-w", "-t", "60", "stop"],
        );
        self.start_on_a_free_port();
    }

    fn log(&self) -> String {
        self.dir
            .path()
            .join("server.log")
            .to_str()
            .expect("a UTF-8 temporary path")
            .to_owned()
    }

    /// The URL of its `postgres` database as the superuser `simforge`.
    pub fn url(&self) -> String {
        format!(
            "postgres://simforge@127.0.0.1:{}/postgres",
            self.port.load(Ordering::Relaxed)
        )
    }

    /// Runs `sql` with the server's own `psql` (else the one on `PATH`) (unaligned, tuples only): its output, one
    /// line per row, `|` between columns. Panics when `psql` fails.
    pub fn query(&self, sql: &str) -> String {
        let own = self.bin.join("psql");
        let psql = if own.is_file() {
            own
        } else {
            PathBuf::from("psql")
        };
        let out = Command::new(&psql)
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.url(),
                "-c",
                sql,
            ])
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", psql.display()));
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn data(&self) -> String {
        self.dir
            .path()
            .join("data")
            .to_str()
            .expect("a UTF-8 temporary path")
            .to_owned()
    }

    /// A command running the server's `tool` (as `postgres` when we are root).
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run_pg(&self, tool: &str, args: &[&str]) {
        run(self.command(tool).args(args).current_dir(self.dir.path()));
    }
}

fn run(c: &mut Command) {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .current_dir(Path::new("/"))
            .output();
    }
}
