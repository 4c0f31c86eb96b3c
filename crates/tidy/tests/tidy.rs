//! The code base's invariants, checked (rust-analyzer's tidy tests): what ARCHITECTURE.md says
//! about the shape of the code stays true, or this fails and names the file and line.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the report

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The lines of a source file that are not test code or comments: everything before the
/// first `#[cfg(test)]` (test modules sit at the end of a file), comment lines dropped.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| {
            let t = l.trim_start();
            !(t.starts_with("//") || t.starts_with("/*") || t.starts_with('*'))
        })
        .map(|(i, l)| (i + 1, l))
        .collect()
}

/// The workspace's packages: name → (crate directory, normal dependencies that are
/// workspace members, every normal dependency).
struct Package {
    dir: String,
    workspace_deps: BTreeSet<String>,
    deps: BTreeSet<String>,
}

fn short(name: &str) -> String {
    match name {
        "simforge" => "cli".to_owned(),
        n => n.strip_prefix("simforge-").unwrap_or(n).to_owned(),
    }
}

fn packages() -> BTreeMap<String, Package> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pkgs = m["packages"].as_array().unwrap();
    let members: BTreeSet<String> = pkgs
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    pkgs.iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap();
            let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap());
            let dir = manifest
                .parent()
                .and_then(Path::file_name)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let normal: Vec<&str> = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap())
                .collect();
            let workspace_deps = normal
                .iter()
                .filter(|d| members.contains(**d))
                .map(|d| short(d))
                .collect();
            let deps = normal.iter().map(|d| (*d).to_owned()).collect();
            (
                short(name),
                Package {
                    dir,
                    workspace_deps,
                    deps,
                },
            )
        })
        .collect()
}

fn architecture() -> String {
    fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap()
}

/// The crates whose logic is pure: bytes, state, time and randomness in, bytes and new state
/// out (ARCHITECTURE.md, Invariants).
const PURE: &[&str] = &[
    "access", "aka", "asn1", "audit", "crypto", "euicc", "lpa", "pki", "saip", "sim", "smdp",
    "smds", "tlv",
];

/// What a pure crate must not use outside its tests.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "SystemTime::now",
        "the wall clock (take a time or a `Clock`)",
    ),
    ("Instant::now", "the monotonic clock (take a time)"),
    (
        "thread_rng",
        "a thread RNG (take a `Random`/`TryCryptoRng`)",
    ),
    (
        "rand::rng(",
        "a thread RNG (take a `Random`/`TryCryptoRng`)",
    ),
    ("OsRng", "the OS RNG (take a `Random`/`TryCryptoRng`)"),
    ("std::fs", "the file system"),
    ("fs::File", "the file system"),
    ("std::net", "sockets"),
    ("TcpStream", "sockets"),
    ("std::process", "child processes"),
    ("tokio::net", "sockets"),
    ("tokio::fs", "the file system"),
    ("tokio::spawn", "a runtime"),
    ("tokio::time", "timers"),
    ("reqwest", "HTTP"),
    ("sqlx", "SQL"),
    ("rusqlite", "SQL"),
];

/// The deliberate exceptions, each with its reason: the providers that the edges inject.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "crates/crypto/src/provider.rs",
        "SystemTime::now",
        "`SystemClock`, the `Clock` provider the edges inject",
    ),
    (
        "crates/sim/src/pipeline.rs",
        "OsRng",
        "`OsRandom`, the factory's RNG provider, built only by the edges",
    ),
    (
        "crates/pki/src/sgp26.rs",
        "std::fs",
        "the SGP.26 PKI loader reads the files it is pointed at",
    ),
    (
        "crates/pki/src/generate.rs",
        "std::fs",
        "the lab PKI generator writes its files when asked",
    ),
    (
        "crates/pki/src/generate.rs",
        "std::process",
        "the process id names the generator's temporary files",
    ),
];

#[test]
fn pure_crates_use_no_clock_rng_file_socket_or_runtime() {
    let mut errors = Vec::new();
    for krate in PURE {
        let dir = root().join("crates").join(krate).join("src");
        assert!(dir.is_dir(), "{krate}: no {}", dir.display());
        for file in rust_files(&dir) {
            let rel = file
                .strip_prefix(root())
                .unwrap_or(&file)
                .to_string_lossy()
                .into_owned();
            let text = fs::read_to_string(&file).unwrap();
            for (n, line) in code_lines(&text) {
                for (pat, what) in FORBIDDEN {
                    if line.contains(pat)
                        && !ALLOWED.iter().any(|(f, p, _)| rel.ends_with(f) && p == pat)
                    {
                        errors.push(format!("{rel}:{n}: `{pat}`: {what}: {}", line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "I/O in a pure crate (ARCHITECTURE.md, Invariants):\n{}",
        errors.join("\n")
    );
}

/// The table between `<!-- tidy:deps -->` and `<!-- /tidy:deps -->` in ARCHITECTURE.md: crate
/// → the workspace crates it depends on (normal dependencies).
fn documented_edges() -> BTreeMap<String, BTreeSet<String>> {
    let doc = architecture();
    let start = doc
        .find("<!-- tidy:deps -->")
        .expect("ARCHITECTURE.md has the deps table");
    let end = doc
        .find("<!-- /tidy:deps -->")
        .expect("the deps table ends");
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split(',')
            .map(|s| s.trim().trim_matches('`').to_owned())
            .filter(|s| !s.is_empty() && s != "—")
            .collect()
    };
    doc[start..end]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').collect();
            let krate = cells.first()?.trim().trim_matches('`');
            let name_like = krate
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if cells.len() < 2 || !name_like || krate.chars().all(|c| c == '-') {
                return None;
            }
            if krate.is_empty() || krate == "crate" {
                return None;
            }
            Some((krate.to_owned(), names(cells[1])))
        })
        .collect()
}

#[test]
fn crate_dependencies_are_the_ones_architecture_md_states() {
    let doc = documented_edges();
    let actual: BTreeMap<String, BTreeSet<String>> = packages()
        .into_iter()
        .map(|(k, p)| (k, p.workspace_deps))
        .collect();
    let mut errors = Vec::new();
    for (k, deps) in &actual {
        match doc.get(k) {
            None => errors.push(format!(
                "`{k}` is not in ARCHITECTURE.md's dependency table"
            )),
            Some(d) if d != deps => errors.push(format!(
                "`{k}`: ARCHITECTURE.md says {d:?}, Cargo.toml has {deps:?}"
            )),
            Some(_) => {}
        }
    }
    for k in doc.keys() {
        if !actual.contains_key(k) {
            errors.push(format!(
                "ARCHITECTURE.md's dependency table names `{k}`, no such crate"
            ));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn smdp_euicc_and_lpa_never_depend_on_each_other() {
    let p = packages();
    let trio = ["smdp", "euicc", "lpa"];
    for a in trio {
        for b in trio {
            assert!(
                !p[a].workspace_deps.contains(b),
                "{a} depends on {b}: they meet only in asn1 types and bytes"
            );
        }
    }
}

#[test]
fn anyhow_only_in_the_binary() {
    for (k, p) in packages() {
        if k != "cli" {
            assert!(
                !p.deps.contains("anyhow"),
                "`{k}` depends on anyhow: library crates have one thiserror enum"
            );
        }
    }
}

#[test]
fn sql_only_in_the_store() {
    for (k, p) in packages() {
        for sql in ["sqlx", "rusqlite", "libsqlite3-sys", "tokio-postgres"] {
            assert!(
                k == "store" || !p.deps.contains(sql),
                "`{k}` depends on {sql}: SQL lives only in crates/store"
            );
        }
    }
}

#[test]
fn every_crate_is_in_the_code_map() {
    let doc = architecture();
    for (k, p) in packages() {
        assert!(
            doc.contains(&format!("`crates/{}`", p.dir)),
            "ARCHITECTURE.md's code map has no row for `crates/{}` ({k})",
            p.dir
        );
    }
}

/// A test (`crates/*/tests`) that prints `skipped:` must fail instead when `CI` is set: its `skipped:` line has a
/// check of the `CI` variable within the lines before it.
#[test]
fn no_silent_skips() {
    let mut errors = Vec::new();
    for dir in fs::read_dir(root().join("crates")).unwrap().flatten() {
        for file in rust_files(&dir.path().join("tests")) {
            let text = fs::read_to_string(&file).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                if !l.contains("\"skipped:") {
                    continue;
                }
                if l.trim_start().starts_with("//") || l.contains("contains(") {
                    continue;
                }
                let from = i.saturating_sub(8);
                let checked = lines[from..=i].iter().any(|l| {
                    l.contains("\"CI\"") || l.contains("fail_in_ci") || l.contains("in_ci(")
                });
                if !checked {
                    errors.push(format!("{}:{}: {}", file.display(), i + 1, l.trim()));
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "a skip that CI would not notice (check `CI` before printing `skipped:`):\n{}",
        errors.join("\n")
    );
}

/// Tests share code through `crates/testkit`, never by including another crate's files.
#[test]
fn no_test_includes_another_crates_files() {
    let mut errors = Vec::new();
    for dir in fs::read_dir(root().join("crates")).unwrap().flatten() {
        for file in rust_files(&dir.path()) {
            let text = fs::read_to_string(&file).unwrap();
            for (i, l) in text.lines().enumerate() {
                if l.trim_start().starts_with("#[path") && l.contains("../../") {
                    errors.push(format!("{}:{}: {}", file.display(), i + 1, l.trim()));
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "use simforge-testkit instead:\n{}",
        errors.join("\n")
    );
}

/// The test kit is a dev-dependency only: nothing shipped links it.
#[test]
fn the_test_kit_is_never_a_normal_dependency() {
    for (k, p) in packages() {
        assert!(
            !p.deps.contains("simforge-testkit"),
            "`{k}` depends on simforge-testkit outside [dev-dependencies]"
        );
    }
}
