//! The short version of the soak and chaos test (scripts/soak.sh, issue 16), run by CI: mixed
//! load, bad requests and slow clients against the real `simforge serve`, killed with SIGKILL
//! and restarted twice, then every profile's final state explained from the clients' log, no
//! ICCID downloaded twice, memory and descriptors flat, slow clients disconnected.
//! The one-hour figures are in BENCHMARKS.md ("Soak").

use std::path::Path;
use std::process::Command;

#[test]
fn soak_short_with_two_sigkills_explains_every_profile() {
    if Command::new("python3").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is needed for scripts/soak.sh"
        );
        println!("skipped: no python3");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tempdir");
    // A port of its own, free now (one the system hands out, not a guess that may be taken).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let out = Command::new("bash")
        .arg(root.join("scripts/soak.sh"))
        .args(["75", "25", "1500"])
        .env("SIMFORGE_BIN", env!("CARGO_BIN_EXE_simforge"))
        .env("SOAK_PORT", port.to_string())
        .env("SOAK_DIR", dir.path())
        .env("SOAK_CONCURRENCY", "2")
        .env("SIMFORGE_LOG", "warn")
        .current_dir(&root)
        .output()
        .expect("run scripts/soak.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "soak failed ({:?}):\n{stdout}\n{stderr}\nserve.err:\n{}",
        out.status.code(),
        std::fs::read_to_string(dir.path().join("serve.err")).unwrap_or_default()
    );
    assert!(stdout.contains("profiles explained"), "{stdout}");
}
