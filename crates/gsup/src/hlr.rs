//! `osmo-hlr` process fixture for tests and lab use.
//!
//! osmo-hlr 1.5 (libosmocore 1.7) cannot move its CTRL port (`ctrl` / `bind A.B.C.D` takes no
//! port) nor its GSUP port (`hlr` / `gsup` / `bind ip A.B.C.D` only; 4222 is compiled in).
//! So that several instances can run in parallel, each instance gets its own loopback address
//! instead of its own ports: Linux routes all of 127.0.0.0/8 to `lo`, so every instance binds
//! VTY 4258, CTRL 4259 and GSUP 4222 on a random free `127.x.y.z`. Where such an address
//! cannot be bound (not Linux), 127.0.0.1 is used and instances cannot run in parallel.

use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{Error, GsupClient, VtyClient};

/// The osmo-hlr executable name looked up on `PATH`.
pub const BINARY: &str = "osmo-hlr";
/// osmo-hlr's GSUP port (fixed in osmo-hlr 1.5).
pub const GSUP_PORT: u16 = 4222;
/// osmo-hlr's VTY port (the default; the fixture keeps it and varies the address).
pub const VTY_PORT: u16 = 4258;
/// osmo-hlr's CTRL port (fixed in osmo-hlr 1.5 / libosmoctrl 1.7).
pub const CTRL_PORT: u16 = 4259;

const START_TIMEOUT: Duration = Duration::from_secs(15);
const ADDRESS_ATTEMPTS: usize = 8;

/// Where osmo-hlr keeps its subscriber database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HlrDatabase {
    /// `hlr.db` in the work directory (created if missing, reused if present).
    #[default]
    OnDisk,
    /// SQLite `:memory:`: nothing is written to disk and nothing survives the process.
    /// osmo-hlr commits every VTY change with an fsync, so bulk provisioning is 10 to 20
    /// times faster in memory (10,000 subscribers: 0.6 to 1 s instead of 9 to 15 s on a
    /// 2-core VM with an SSD-backed disk).
    InMemory,
}

/// A running `osmo-hlr` bound to a private loopback address; killed when dropped.
///
/// Files in the work directory: `osmo-hlr.cfg` (generated config), `osmo-hlr.log`
/// (stdout/stderr) and, with [`HlrDatabase::OnDisk`], `hlr.db` (SQLite database).
#[derive(Debug)]
pub struct OsmoHlr {
    child: Child,
    ip: Ipv4Addr,
    workdir: PathBuf,
    database: HlrDatabase,
}

impl OsmoHlr {
    /// Whether the `osmo-hlr` binary is on `PATH`. Tests use it to print
    /// `skipped: osmo-hlr not installed` and return.
    pub fn available() -> bool {
        find_binary().is_some()
    }

    /// Writes a config into `workdir` (which must exist), starts
    /// `osmo-hlr -c osmo-hlr.cfg -l hlr.db` there and waits (at most 15 s) until its VTY,
    /// CTRL and GSUP ports accept connections.
    ///
    /// Fails with [`Error::NotInstalled`] if the binary is missing, [`Error::Startup`] or
    /// [`Error::Timeout`] (with the tail of the log) if it does not come up.
    pub fn start(workdir: &Path) -> Result<OsmoHlr, Error> {
        Self::start_with(workdir, HlrDatabase::OnDisk)
    }

    /// Like [`start`](Self::start), choosing where the database lives.
    pub fn start_with(workdir: &Path, database: HlrDatabase) -> Result<OsmoHlr, Error> {
        let binary = find_binary().ok_or(Error::NotInstalled)?;
        let workdir = workdir.to_path_buf();
        let mut last_err = None;
        for attempt in 0..ADDRESS_ATTEMPTS {
            let ip = match pick_address(attempt) {
                Some(ip) => ip,
                None => continue,
            };
            match Self::start_on(&binary, &workdir, ip, database) {
                Ok(hlr) => return Ok(hlr),
                // Another process may have taken the address between probe and bind: retry.
                Err(e @ Error::Startup(_)) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            Error::Startup("no loopback address with free ports 4222/4258/4259".into())
        }))
    }

    fn start_on(
        binary: &Path,
        workdir: &Path,
        ip: Ipv4Addr,
        database: HlrDatabase,
    ) -> Result<OsmoHlr, Error> {
        let cfg = workdir.join("osmo-hlr.cfg");
        fs::write(&cfg, config_text(ip))
            .map_err(|e| Error::io(format!("writing {}", cfg.display()), e))?;
        let log_path = workdir.join("osmo-hlr.log");
        let log = File::create(&log_path)
            .map_err(|e| Error::io(format!("creating {}", log_path.display()), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::io("duplicating log file handle", e))?;
        let child = Command::new(binary)
            .current_dir(workdir)
            .arg("-c")
            .arg("osmo-hlr.cfg")
            .arg("-l")
            .arg(match database {
                HlrDatabase::OnDisk => "hlr.db",
                HlrDatabase::InMemory => ":memory:",
            })
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| Error::io(format!("spawning {}", binary.display()), e))?;
        let mut hlr = OsmoHlr {
            child,
            ip,
            workdir: workdir.to_path_buf(),
            database,
        };
        hlr.wait_ready()?;
        Ok(hlr)
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + START_TIMEOUT;
        let addrs = [self.vty_addr(), self.ctrl_addr(), self.gsup_addr()];
        let mut ready = [false; 3];
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return Err(Error::Startup(format!(
                        "osmo-hlr exited with {status} on {}; log tail:\n{}",
                        self.ip,
                        self.log_tail()
                    )));
                }
                Ok(None) => {}
                Err(e) => return Err(Error::io("polling osmo-hlr", e)),
            }
            for (addr, ok) in addrs.iter().zip(ready.iter_mut()) {
                if !*ok {
                    *ok = TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok();
                }
            }
            if ready.iter().all(|r| *r) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout(format!(
                    "osmo-hlr did not open its ports on {} within {START_TIMEOUT:?}; log tail:\n{}",
                    self.ip,
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The loopback address this instance is bound to.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// Address of the VTY (telnet) interface.
    pub fn vty_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), VTY_PORT)
    }

    /// Address of the CTRL interface.
    pub fn ctrl_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), CTRL_PORT)
    }

    /// Address of the GSUP (IPA) server.
    pub fn gsup_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), GSUP_PORT)
    }

    /// Path of the SQLite subscriber database (`None` for [`HlrDatabase::InMemory`]).
    pub fn db_path(&self) -> Option<PathBuf> {
        (self.database == HlrDatabase::OnDisk).then(|| self.workdir.join("hlr.db"))
    }

    /// Path of the file that receives osmo-hlr's stdout and stderr.
    pub fn log_path(&self) -> PathBuf {
        self.workdir.join("osmo-hlr.log")
    }

    /// Process id of the osmo-hlr process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Connects a [`VtyClient`] (in `enable` mode) to this instance.
    pub fn vty(&self) -> Result<VtyClient, Error> {
        VtyClient::connect(self.vty_addr())
    }

    /// Connects a [`GsupClient`] with the default IPA name to this instance.
    pub fn gsup(&self) -> Result<GsupClient, Error> {
        GsupClient::connect(self.gsup_addr())
    }

    /// The last 4 KiB of the log file (for diagnostics).
    pub fn log_tail(&self) -> String {
        let mut out = Vec::new();
        if let Ok(mut f) = File::open(self.log_path()) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(4096)));
            let _ = f.take(4096).read_to_end(&mut out);
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Drop for OsmoHlr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(BINARY))
        .find(|p| p.is_file())
}

fn config_text(ip: Ipv4Addr) -> String {
    format!(
        "! generated by simforge-gsup\n\
         log stderr\n \
         logging filter all 1\n \
         logging color 0\n \
         logging print category 1\n \
         logging print level 1\n \
         logging level set-all notice\n\
         line vty\n \
         bind {ip} {VTY_PORT}\n\
         ctrl\n \
         bind {ip}\n\
         hlr\n \
         gsup\n  \
         bind ip {ip}\n"
    )
}

/// A random `127.x.y.z` whose three osmo-hlr ports are free; 127.0.0.1 where other loopback
/// addresses cannot be bound.
fn pick_address(attempt: usize) -> Option<Ipv4Addr> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_usize(attempt);
    let r = h.finish().to_le_bytes();
    let ip = Ipv4Addr::new(127, 1 + r[0] % 254, r[1], 1 + r[2] % 254);
    match ports_free(ip) {
        Ok(true) => Some(ip),
        Ok(false) => None,
        Err(()) => {
            let lo = Ipv4Addr::LOCALHOST;
            matches!(ports_free(lo), Ok(true)).then_some(lo)
        }
    }
}

/// `Ok(true)` if all three ports can be bound on `ip`, `Err(())` if the address itself is
/// not usable.
fn ports_free(ip: Ipv4Addr) -> Result<bool, ()> {
    let mut held = Vec::new();
    for port in [VTY_PORT, CTRL_PORT, GSUP_PORT] {
        match TcpListener::bind((ip, port)) {
            Ok(l) => held.push(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => return Err(()),
            Err(_) => return Ok(false),
        }
    }
    Ok(true)
}
