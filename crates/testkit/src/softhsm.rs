//! SoftHSM2 tokens for tests (any crate's: the `hsm` crate, the SM-DP+ with HSM keys, the
//! command line's `hsm` and `serve --hsm-*`): one token directory per test process, one
//! token per test (its own label and PIN), deleted when dropped. The token is initialised
//! through the module in this process (`C_InitToken` on the free slot, as `softhsm2-util
//! --init-token --free` does): SoftHSM2 reads its token directory at `C_Initialize`, so a
//! token another process made afterwards would stay invisible to this one. `SOFTHSM2_CONF` names the process's configuration file: it is set in this process
//! (SoftHSM2 reads it at `C_Initialize`) and must be given to the children a test starts.
//! Debian's `softhsm2` package (`scripts/ci-services.sh` installs it); `None` and "skipped"
//! without it, a failure when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where Debian and Ubuntu install the SoftHSM2 module.
const MODULES: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

/// The user PIN of every test token.
pub const USER_PIN: &str = "123456";
/// The security officer PIN of every test token.
pub const SO_PIN: &str = "12345678";

/// One initialised SoftHSM2 token of its own.
#[derive(Debug)]
pub struct TestToken {
    /// The PKCS#11 module.
    pub module: PathBuf,
    /// The token's label.
    pub label: String,
    /// The user PIN ([`USER_PIN`]).
    pub pin: String,
    /// A file (mode 0600) holding the user PIN.
    pub pin_file: PathBuf,
    /// The SoftHSM2 configuration file (`SOFTHSM2_CONF`) for child processes.
    pub conf: PathBuf,
    _pin_dir: tempfile::TempDir,
}

struct Shared {
    module: PathBuf,
    conf: PathBuf,
}

fn module() -> Option<PathBuf> {
    if let Some(m) = std::env::var_os("SIMFORGE_SOFTHSM2_MODULE") {
        return Some(PathBuf::from(m));
    }
    MODULES.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn util_present() -> bool {
    Command::new("softhsm2-util")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[allow(unsafe_code)]
fn shared() -> Option<&'static Shared> {
    static SHARED: OnceLock<Option<Shared>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let module = module()?;
            if !util_present() {
                return None;
            }
            // One directory for the process's tokens, kept for the life of the process: tokens
            // are never deleted while the process runs (SoftHSM2 keeps every token of its
            // directory in memory and re-reads their files; removing one under it crashes it).
            // The directories of test processes that have ended are removed here.
            let tmp = std::env::temp_dir();
            if let Ok(entries) = std::fs::read_dir(&tmp) {
                for e in entries.flatten() {
                    let name = e.file_name();
                    let Some(pid) = name
                        .to_str()
                        .and_then(|n| n.strip_prefix("simforge-softhsm-"))
                        .and_then(|p| p.parse::<u32>().ok())
                    else {
                        continue;
                    };
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
            let dir = tmp.join(format!("simforge-softhsm-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let tokens = dir.join("tokens");
            std::fs::create_dir_all(&tokens).expect("token dir");
            let conf = dir.join("softhsm2.conf");
            std::fs::write(
                &conf,
                format!(
                    "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                    tokens.display()
                ),
            )
            .expect("softhsm2.conf");
            // SAFETY: set once, under the `OnceLock`, before this process loads the module (which
            // reads it in C_Initialize); std's own environment access is locked, and no other
            // code of a test process reads SOFTHSM2_CONF.
            unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
            Some(Shared { module, conf })
        })
        .as_ref()
}

impl TestToken {
    /// A fresh token for `test`, or prints "skipped: …" and returns `None` when SoftHSM2 is
    /// not installed (and panics instead when `CI` is set: CI must run it).
    pub fn new(test: &str) -> Option<Self> {
        let Some(shared) = shared() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set: a missing peer or ../shared fails the test instead of skipping it"
            );
            eprintln!("skipped: {test}: SoftHSM2 is not installed (softhsm2-util, libsofthsm2.so)");
            return None;
        };
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let label = format!(
            "t{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        init_token(&shared.module, &label);
        let pin_dir = tempfile::tempdir().expect("pin dir");
        let pin_file = pin_dir.path().join("pin");
        write_0600(&pin_file, format!("{USER_PIN}\n").as_bytes());
        Some(Self {
            module: shared.module.clone(),
            label,
            pin: USER_PIN.to_owned(),
            pin_file,
            conf: shared.conf.clone(),
            _pin_dir: pin_dir,
        })
    }

    /// Runs `pkcs11-tool` (Debian `opensc`) against this token, logged in; `None` when it is
    /// not installed (a failure when `CI` is set).
    pub fn pkcs11_tool(&self, args: &[&str]) -> Option<String> {
        let out = match Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &self.conf)
            .arg("--module")
            .arg(&self.module)
            .args(["--token-label", &self.label, "--login", "--pin", &self.pin])
            .args(args)
            .output()
        {
            Ok(o) => o,
            Err(_) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set: pkcs11-tool (opensc) must be installed"
                );
                eprintln!("skipped: pkcs11-tool (opensc) is not installed");
                return None;
            }
        };
        assert!(
            out.status.success(),
            "pkcs11-tool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// `C_InitToken` on the free slot, then the user PIN set by the security officer. Serialised:
/// SoftHSM2 has one free slot at a time and adds the next when it is taken.
fn init_token(module: &Path, label: &str) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::error::{Error, RvError};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _serial = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // One module handle for the whole process, never dropped: dropping it would unload the
    // library (dlclose) under the other tests' feet.
    static CTX: std::sync::OnceLock<Pkcs11> = std::sync::OnceLock::new();
    let ctx = CTX.get_or_init(|| {
        let ctx = Pkcs11::new(module).expect("load libsofthsm2");
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => panic!("C_Initialize: {e}"),
        }
        ctx
    });
    let free = ctx
        .get_slots_with_token()
        .expect("C_GetSlotList")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|t| !t.token_initialized()))
        .expect("SoftHSM2 has a free slot");
    let so = AuthPin::from(SO_PIN.to_owned());
    ctx.init_token(free, &so, label).expect("C_InitToken");
    // SoftHSM2 may give an initialised token another slot id (derived from its serial):
    // find it again by its label.
    let slot = ctx
        .get_slots_with_token()
        .expect("C_GetSlotList")
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s)
                .is_ok_and(|t| t.label().trim_end() == label.trim_end())
        })
        .unwrap_or(free);
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    session.login(UserType::So, Some(&so)).expect("SO login");
    session
        .init_pin(&AuthPin::from(USER_PIN.to_owned()))
        .expect("C_InitPIN");
    session.logout().expect("C_Logout");
}

fn write_0600(path: &Path, data: &[u8]) {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
        .and_then(|mut f| f.write_all(data))
        .expect("pin file");
}
