//! Issue 16 item 7: the binary with its standard output closed (EPIPE: `simforge batch list |
//! true`) or full (ENOSPC: `… > /dev/full`) ends with a documented exit code, never a panic
//! (101): a closed reader ends the output quietly and the command's own code stands; a full
//! device is exit code 1 with a message on standard error.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::process::{Output, Stdio};

use common::{Lab, file};

/// Runs simforge with standard output a pipe whose reading end is already closed.
fn with_closed_stdout(lab: &Lab, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    lab.cmd()
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// Runs simforge with standard output on /dev/full (writes fail with ENOSPC); `None` where the
/// system has no /dev/full.
fn with_full_stdout(lab: &Lab, args: &[&str]) -> Option<Output> {
    let full = match std::fs::OpenOptions::new().write(true).open("/dev/full") {
        Ok(f) => f,
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("/dev/full: {e}");
            }
            println!("skipped: no /dev/full ({e})");
            return None;
        }
    };
    Some(
        lab.cmd()
            .args(args)
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped())
            .output()
            .unwrap(),
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_closed_standard_output_ends_the_output_quietly() {
    let lab = Lab::new();
    lab.operator("lab");
    let dir = lab.batch("lab", "quantity = 30\nkid = 1\nopid = 1\n", &[]);
    let out = file(&dir, ".out");
    // Listings and summaries: the command succeeds, nothing on standard error.
    for args in [
        &["batch", "list"][..],
        &["--json", "batch", "list"],
        &["operator", "list"],
        &["key", "list", "--operator", "lab"],
        &["verify", "--operator", "lab", out.to_str().unwrap()],
        // A print path outside the factory commands (serve.rs's inventory).
        &["--json", "operator", "inventory", "lab"],
    ] {
        let o = with_closed_stdout(&lab, args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    // A batch generated with its summary going nowhere is still complete.
    let order = lab.write("q.toml", "name = \"Q1\"\nquantity = 5\nkid = 1\nopid = 1\n");
    let o = with_closed_stdout(
        &lab,
        &[
            "batch",
            "generate",
            "--operator",
            "lab",
            order.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(lab.path().join("data/batches/lab/Q1").is_dir());
    // A failed verification keeps its code (6) although its report could not be shown.
    let text = std::fs::read_to_string(&out).unwrap();
    let short = lab.write(
        "short.out",
        &text[..text.trim_end().rfind('\n').unwrap() + 1],
    );
    let o = with_closed_stdout(
        &lab,
        &["verify", "--operator", "lab", short.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(stderr(&o).contains("verification failed"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn a_full_standard_output_is_exit_code_1() {
    let lab = Lab::new();
    lab.operator("lab");
    lab.batch("lab", "quantity = 3\nkid = 1\nopid = 1\n", &[]);
    for args in [
        &["batch", "list"][..],
        &["--json", "operator", "list"],
        &["--json", "operator", "inventory", "lab"],
    ] {
        let Some(o) = with_full_stdout(&lab, args) else {
            return;
        };
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("cannot write to standard output") && err.contains("No space left"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
