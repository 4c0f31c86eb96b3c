//! The SIM factory through the real `simforge` binary: bad input, crashes, secrets, exit codes.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Lab, OP_HEX, TRANSPORT_HEX, file};

/// An operator order file in the trade's layout (shared/formats/operator-sim-files-zong-style.txt)
/// for the lab operator (PLMN 001-01, 20-digit ICCIDs).
fn order_file(first_serial: u64, quantity: u64, kid: u32, opid: u32) -> String {
    let iccid = |i: u64| format!("8988211{:012}", first_serial + i);
    let imsi = |i: u64| format!("00101{:010}", first_serial + i);
    let mut s = format!(
        "File Name             : LAB{first_serial}.i01\n\
         Vendor                : simforge test\n\
         Card Type             : 128k USIM\n\
         Quantity              : {quantity} ( 1 / 1 )\n\
         Local IMSI From       : {}   To : {}\n\
         SERIAL NUMBER/ICC-ID  : {}   To : {}\n\
         KID                   : {kid}\n\
         OPID                  : {opid}\n\
         Generated on          : 2026-11-27 10:00:00\n\
         -----------------------------------------\n\
         ICC-ID                IMSI (Local)\n\
         -----------------------------------------\n",
        imsi(0),
        imsi(quantity - 1),
        iccid(0),
        iccid(quantity - 1)
    );
    for i in 0..quantity {
        s.push_str(&format!("{}\t\t{}\n", iccid(i), imsi(i)));
    }
    s
}

fn batches(lab: &Lab) -> Vec<serde_json::Value> {
    serde_json::from_str(lab.ok(&["--json", "batch", "list"]).trim()).unwrap()
}

fn batch_dirs(lab: &Lab) -> Vec<String> {
    let root = lab.path().join("data/batches/lab");
    match std::fs::read_dir(&root) {
        Ok(d) => d
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    }
}

#[test]
fn an_operator_order_file_becomes_a_verified_batch() {
    let lab = Lab::new();
    lab.operator("lab");
    let order = lab.write("LAB1.i01", &order_file(1, 50, 1, 1));
    let o = lab.ok(&[
        "batch",
        "generate",
        "--operator",
        "lab",
        order.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.contains("50 cards"), "{o}");
    let dir = lab.path().join("data/batches/lab/LAB1");
    let out = file(&dir, ".out");
    let text = std::fs::read_to_string(&out).unwrap();
    // The order header is echoed, then the transport key's KCV, var_out, one line per card;
    // OTA keys encrypted under the transport key by default.
    assert!(text.starts_with("File Name             : LAB1.i01\n"));
    assert!(text.contains("\nTransport Key KCV     : "));
    assert!(
        text.contains("\nvar_out:IMSI EKI ICCID PIN1 PUK1 PIN2 PUK2 ADM1 ACC EKIC1 EKID1 EKIK1")
    );
    assert_eq!(text.lines().count(), 9 + 1 + 1 + 50);
    #[cfg(unix)]
    for f in std::fs::read_dir(&dir).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        let m = f.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o600);
    }
    let v = lab.ok(&[
        "verify",
        "--operator",
        "lab",
        out.to_str().unwrap(),
        "--electrical",
        file(&dir, ".elec.csv").to_str().unwrap(),
    ]);
    assert!(v.starts_with("OK: 50 cards"), "{v}");
    assert!(
        v.contains("transport key KID 1 against the file's KCV"),
        "{v}"
    );
    assert!(
        v.contains("every EKI against the electrical file's Ki"),
        "{v}"
    );
    assert!(!v.contains("NOT checked"), "{v}");
}

/// An operator order file (and everything else the CLI reads) may start with a UTF-8 byte order
/// mark and use CRLF line breaks (Windows editors): the header is read, nothing of the BOM is copied.
#[test]
fn a_byte_order_mark_is_dropped_from_orders_profiles_and_key_files() {
    let lab = Lab::new();
    lab.operator("lab");
    let bom = "\u{feff}";
    let order = lab.write(
        "BOM.i01",
        &format!("{bom}{}", order_file(7, 3, 1, 1).replace('\n', "\r\n")),
    );
    let profile = lab.write("profile.toml", &format!("{bom}ota_key_sets = 1\n"));
    lab.ok(&[
        "batch",
        "generate",
        "--operator",
        "lab",
        order.to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "--quiet",
    ]);
    // The File Name was read: the batch is named after it.
    let dir = lab.path().join("data/batches/lab/LAB7");
    let out = std::fs::read(file(&dir, ".out")).unwrap();
    assert!(out.starts_with(b"File Name             : LAB7.i01\n"));
    assert!(!out.windows(3).any(|w| w == b"\xEF\xBB\xBF"));
    assert!(!out.contains(&b'\r'));
    let toml = lab.write(
        "o.toml",
        &format!("{bom}name = \"T1\"\nquantity = 2\nkid = 1\nopid = 1\n"),
    );
    lab.ok(&[
        "batch",
        "generate",
        "--operator",
        "lab",
        toml.to_str().unwrap(),
        "--quiet",
    ]);
    let json = lab.write(
        "o.json",
        &format!("{bom}{{\"name\": \"J1\", \"quantity\": 2, \"kid\": 1, \"opid\": 1}}"),
    );
    lab.ok(&[
        "batch",
        "generate",
        "--operator",
        "lab",
        json.to_str().unwrap(),
        "--quiet",
    ]);
    let key = lab.write("k.hex", &format!("{bom}{TRANSPORT_HEX}\r\n"));
    lab.ok(&[
        "key",
        "import",
        "--operator",
        "lab",
        "--kind",
        "transport",
        "--index",
        "2",
        "--file",
        key.to_str().unwrap(),
    ]);
    // verify reads the .out and the electrical file the same way.
    let out_bom = lab.write(
        "bom.out",
        &format!(
            "{bom}{}",
            String::from_utf8(out).unwrap().replace('\n', "\r\n")
        ),
    );
    let v = lab.ok(&[
        "verify",
        "--operator",
        "lab",
        out_bom.to_str().unwrap(),
        "--electrical",
        file(&dir, ".elec.csv").to_str().unwrap(),
    ]);
    assert!(v.starts_with("OK: 3 cards"), "{v}");
}

/// Text inputs are read in bounded lines / bounded sizes: an overlong line or file is refused
/// with its line number, quickly, before any range is reserved.
#[test]
fn overlong_lines_and_files_are_refused() {
    let lab = Lab::new();
    lab.operator("lab");
    let good = order_file(300, 3, 1, 1);
    let at = good.find("8988211000000000300\t").unwrap();
    let long = format!("{}{}\n{}", &good[..at], "9".repeat(300_000), &good[at..]);
    let p = lab.write("long.i01", &long);
    let started = Instant::now();
    let o = lab.run(&[
        "batch",
        "generate",
        "--operator",
        "lab",
        p.to_str().unwrap(),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("line 13 longer than 65536 bytes"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(batches(&lab).is_empty());
    let big = lab.write(
        "big.toml",
        &format!(
            "quantity = 1\nkid = 1\nopid = 1\n#{}\n",
            "x".repeat(1 << 20)
        ),
    );
    let o = lab.run(&[
        "batch",
        "generate",
        "--operator",
        "lab",
        big.to_str().unwrap(),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("longer than 1048576 bytes"), "{err}");
    let key = lab.write(
        "big.hex",
        &format!("{TRANSPORT_HEX}\n{}", " ".repeat(10_000)),
    );
    let o = lab.run(&[
        "key",
        "import",
        "--operator",
        "lab",
        "--kind",
        "transport",
        "--index",
        "5",
        "--file",
        key.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    // A delivered .out with an overlong line fails verification (6), naming the line.
    let dir = lab.batch("lab", "quantity = 5\nkid = 1\nopid = 1\n", &[]);
    let text = std::fs::read_to_string(file(&dir, ".out")).unwrap();
    let p = lab.write("long.out", &format!("{text}{}\n", "A".repeat(100_000)));
    let o = lab.run(&["verify", "--operator", "lab", p.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(6), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "line {} longer than 65536 bytes",
            text.lines().count() + 1
        )),
        "{stdout}"
    );
}

#[test]
fn malformed_orders_get_a_clear_error_and_leave_nothing_behind() {
    let lab = Lab::new();
    lab.operator("lab");
    let good = order_file(100, 5, 1, 1);
    let cases: Vec<(&str, String, i32, &str)> = vec![
        (
            "bad header",
            good.replace(
                "Vendor                : simforge test",
                "Vendor simforge test",
            ),
            3,
            "line 2, field header",
        ),
        (
            "wrong quantity",
            good.replace(": 5 ( 1", ": 7 ( 1"),
            3,
            "line 5, field Local IMSI",
        ),
        (
            "non-digit ICCID",
            good.replace("8988211000000000102\t", "89882110000000001O2\t"),
            3,
            "line 15, field ICC-ID",
        ),
        (
            "bad Luhn",
            good.replace("8988211000000000102\t", "89882110000000001029\t"),
            3,
            "Luhn",
        ),
        (
            "IMSI of another PLMN",
            good.replace("\t001010000000103", "\t001020000000103"),
            3,
            "not in PLMN",
        ),
        (
            "missing pair",
            good.replace("8988211000000000104\t\t001010000000104\n", ""),
            3,
            "4 ICCID/IMSI pairs listed",
        ),
        ("unknown KID", order_file(100, 5, 9, 1), 5, "unknown KID 9"),
        (
            "unknown OPID",
            order_file(100, 5, 1, 7),
            5,
            "unknown OPID 7",
        ),
    ];
    for (what, text, code, needle) in cases {
        let p = lab.write("bad.i01", &text);
        let o = lab.run(&[
            "batch",
            "generate",
            "--operator",
            "lab",
            p.to_str().unwrap(),
            "--quiet",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{what}: {err}");
        assert!(err.contains(needle), "{what}: {err}");
        assert!(batches(&lab).is_empty(), "{what}: a range was reserved");
        assert!(batch_dirs(&lab).is_empty(), "{what}: files were written");
    }
}

#[test]
fn overlapping_ranges_are_refused_across_batches() {
    let lab = Lab::new();
    lab.operator("lab");
    let a = lab.write("A.i01", &order_file(1000, 20, 1, 1));
    lab.ok(&[
        "batch",
        "generate",
        "--operator",
        "lab",
        a.to_str().unwrap(),
        "--quiet",
    ]);
    let b = lab.write("B.i01", &order_file(1019, 5, 1, 1));
    let o = lab.run(&[
        "batch",
        "generate",
        "--operator",
        "lab",
        b.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("overlaps batch LAB1000"));
    assert_eq!(batches(&lab).len(), 1);
    assert_eq!(batch_dirs(&lab), vec!["LAB1000".to_owned()]);
    // "next free" continues after every reserved range: no ICCID or IMSI twice.
    let d1 = lab.batch("lab", "quantity = 30\nkid = 1\nopid = 1\n", &[]);
    let d2 = lab.batch("lab", "quantity = 30\nkid = 1\nopid = 1\n", &[]);
    let mut iccids = std::collections::HashSet::new();
    let mut imsis = std::collections::HashSet::new();
    for d in [lab.path().join("data/batches/lab/LAB1000"), d1, d2] {
        let text = std::fs::read_to_string(file(&d, ".out")).unwrap();
        for l in text
            .lines()
            .skip_while(|l| !l.starts_with("var_out:"))
            .skip(1)
        {
            let f: Vec<&str> = l.split(' ').collect();
            assert!(imsis.insert(f[0].to_owned()), "IMSI {} twice", f[0]);
            assert!(iccids.insert(f[2].to_owned()), "ICCID {} twice", f[2]);
        }
    }
    assert_eq!(iccids.len(), 80);
}

#[test]
fn key_files_are_checked_and_keys_never_come_from_arguments() {
    let lab = Lab::new();
    lab.ok(&[
        "operator",
        "create",
        "k",
        "--mcc",
        "001",
        "--mnc",
        "01",
        "--iccid-prefix",
        "8988211",
        "--iccid-length",
        "20",
        "--spn",
        "K",
    ]);
    let short = lab.write("short.hex", &TRANSPORT_HEX[..30]);
    let o = lab.run(&[
        "key",
        "import",
        "--operator",
        "k",
        "--kind",
        "transport",
        "--index",
        "3",
        "--file",
        short.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("expected 32, 48 or 64 hex digits"), "{err}");
    assert!(!err.contains(&TRANSPORT_HEX[..30]));
    let o = lab.run_stdin(
        &[
            "key",
            "import",
            "--operator",
            "k",
            "--kind",
            "op",
            "--index",
            "1",
        ],
        "zz",
    );
    assert_eq!(o.status.code(), Some(3));
    // There is no option that takes a key value.
    let o = lab.run(&[
        "key",
        "import",
        "--operator",
        "k",
        "--kind",
        "op",
        "--index",
        "1",
        "--key",
        OP_HEX,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(lab.ok(&["key", "list", "--operator", "k"]).lines().count() == 1);
    // Stored sealed: the database holds no key in clear.
    lab.ok(&[
        "key",
        "import",
        "--operator",
        "k",
        "--kind",
        "transport",
        "--index",
        "1",
        "--file",
        lab.write("t", TRANSPORT_HEX).to_str().unwrap(),
    ]);
    let db = std::fs::read(lab.path().join("data/simforge.sqlite")).unwrap();
    let wal = std::fs::read(lab.path().join("data/simforge.sqlite-wal")).unwrap_or_default();
    let raw = common::unhex(TRANSPORT_HEX);
    for blob in [db, wal] {
        assert!(!blob.windows(raw.len()).any(|w| w == raw.as_slice()));
        assert!(
            !String::from_utf8_lossy(&blob)
                .to_lowercase()
                .contains(TRANSPORT_HEX)
        );
    }
}

#[test]
fn no_secret_in_logs_or_messages() {
    let lab = Lab::new();
    lab.operator("lab");
    let order = lab.write("o.toml", "quantity = 200\nkid = 1\nopid = 1\n");
    let o = lab
        .cmd()
        .env("SIMFORGE_LOG", "trace")
        .args([
            "batch",
            "generate",
            "--operator",
            "lab",
            order.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let dir = lab.path().join("data/batches/lab");
    let batch = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let elec = std::fs::read_to_string(file(&batch, ".elec.csv")).unwrap();
    let kis: Vec<String> = elec
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(7).unwrap().to_owned())
        .collect();
    assert_eq!(kis.len(), 200);
    let mut logs = String::from_utf8_lossy(&o.stdout).into_owned();
    logs.push_str(&String::from_utf8_lossy(&o.stderr));
    // Also the outputs of verify (success and failure) and of listing commands.
    let out = file(&batch, ".out");
    logs.push_str(&lab.ok(&["verify", "--operator", "lab", out.to_str().unwrap()]));
    let text = std::fs::read_to_string(&out).unwrap();
    let tampered = lab.write("t.out", &text.replacen(" 0", " X", 3));
    let o = lab.run(&[
        "verify",
        "--operator",
        "lab",
        tampered.to_str().unwrap(),
        "--electrical",
        file(&batch, ".elec.csv").to_str().unwrap(),
    ]);
    logs.push_str(&String::from_utf8_lossy(&o.stdout));
    logs.push_str(&String::from_utf8_lossy(&o.stderr));
    logs.push_str(&lab.ok(&["--json", "batch", "list"]));
    logs.push_str(&lab.ok(&["key", "list", "--operator", "lab"]));
    let upper = logs.to_uppercase();
    for ki in &kis {
        assert!(!upper.contains(ki), "a Ki appears in the logs");
    }
    assert!(
        !upper.contains(&TRANSPORT_HEX.to_uppercase()) && !upper.contains(&OP_HEX.to_uppercase())
    );
    let master = std::fs::read_to_string(lab.path().join("data/master.key")).unwrap();
    assert!(!logs.contains(master.trim()));
}

#[test]
fn verify_catches_tampering() {
    let lab = Lab::new();
    lab.operator("lab");
    let dir = lab.batch("lab", "quantity = 40\nkid = 1\nopid = 1\n", &[]);
    let out = std::fs::read_to_string(file(&dir, ".out")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let first_card = lines
        .iter()
        .position(|l| l.starts_with("var_out:"))
        .unwrap()
        + 1;
    // A card line repeated in place of another: a duplicate ICCID and IMSI.
    let mut dup = lines.clone();
    dup[first_card + 1] = dup[first_card];
    let p = lab.write("dup.out", &(dup.join("\n") + "\n"));
    let o = lab.run(&["verify", "--operator", "lab", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&o.stdout).contains("appears twice"));
    // An EKI from another card: decrypts, but not to this card's Ki.
    let mut swapped: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
    let eki_a = lines[first_card].split(' ').nth(1).unwrap();
    let eki_b = lines[first_card + 1].split(' ').nth(1).unwrap();
    swapped[first_card] = lines[first_card].replace(eki_a, eki_b);
    let p = lab.write("swap.out", &(swapped.join("\n") + "\n"));
    let o = lab.run(&[
        "verify",
        "--operator",
        "lab",
        p.to_str().unwrap(),
        "--electrical",
        file(&dir, ".elec.csv").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(6));
    let stdout = String::from_utf8_lossy(&o.stdout);
    // The .out changed, so the .out is blamed, not the electrical file's OPc.
    assert!(
        stdout.contains(
            "EKI does not decrypt to the card's Ki (the electrical file's Ki and OPc agree"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("OPc is not OPc"), "{stdout}");
    assert!(
        stdout.lines().next().unwrap().contains("swap.out: line"),
        "{stdout}"
    );
    // A missing card.
    let p = lab.write("short.out", &(lines[..lines.len() - 1].join("\n") + "\n"));
    let o = lab.run(&["verify", "--operator", "lab", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(6));
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn partial_has_data(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.metadata().map(|m| m.len() > 100_000).unwrap_or(false))
        })
        .unwrap_or(false)
}

#[cfg(unix)]
#[test]
fn a_batch_killed_half_way_leaves_no_output_and_can_be_resumed_or_released() {
    let lab = Lab::new();
    lab.operator("lab");
    let root = lab.path().join("data/batches/lab");
    for (name, then) in [("killed1", "resume"), ("killed2", "release")] {
        let order = lab.write(
            &format!("{name}.toml"),
            &format!("name = \"{name}\"\nquantity = 1000000\nkid = 1\nopid = 1\n"),
        );
        let mut child = lab
            .cmd()
            .args([
                "batch",
                "generate",
                "--operator",
                "lab",
                order.to_str().unwrap(),
                "--quiet",
                "--threads",
                "1",
            ])
            .spawn()
            .unwrap();
        let partial = root.join(format!(".{name}.partial"));
        wait_for("partial output", Duration::from_secs(120), || {
            partial_has_data(&partial)
        });
        let st = std::process::Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let _ = child.wait();
        assert!(
            !root.join(name).exists(),
            "a final directory appeared for a killed batch"
        );
        let list = batches(&lab);
        let b = list.iter().find(|b| b["name"] == name).unwrap();
        assert_eq!(b["state"], "generating");
        let id = b["id"].as_i64().unwrap().to_string();
        if then == "resume" {
            lab.ok(&["batch", "resume", &id, "--quiet"]);
            assert!(root.join(name).exists());
            assert!(!partial.exists());
            let out = file(&root.join(name), ".out");
            let v = lab.ok(&["verify", "--operator", "lab", out.to_str().unwrap()]);
            assert!(v.starts_with("OK: 1000000 cards"), "{v}");
        } else {
            lab.ok(&["batch", "release", &id]);
            assert!(!partial.exists());
            let b = batches(&lab)
                .into_iter()
                .find(|b| b["name"] == name)
                .unwrap();
            assert_eq!(b["state"], "released");
            // The released range can be issued again.
            let iccid = b["iccid"]["first"].as_i64().unwrap().to_string();
            let imsi = format!("{:015}", b["imsi"]["first"].as_i64().unwrap());
            lab.batch("lab", &format!("name = \"again\"\nquantity = 10\nkid = 1\nopid = 1\niccid_start = \"{iccid}\"\nimsi_start = \"{imsi}\"\n"), &[]);
        }
    }
}

/// Creates operator `name` like `Lab::operator`, with its own `.out` columns.
fn operator_with_columns(lab: &Lab, name: &str, columns: &str) {
    lab.ok(&[
        "operator",
        "create",
        name,
        "--mcc",
        "001",
        "--mnc",
        "01",
        "--iccid-prefix",
        "8988211",
        "--iccid-length",
        "20",
        "--spn",
        "Lab",
        "--out-columns",
        columns,
    ]);
    let key = lab.write("transport.hex", TRANSPORT_HEX);
    lab.ok(&[
        "key",
        "import",
        "--operator",
        name,
        "--kind",
        "transport",
        "--index",
        "1",
        "--file",
        key.to_str().unwrap(),
    ]);
    let op = lab.write("op.hex", OP_HEX);
    lab.ok(&[
        "key",
        "import",
        "--operator",
        name,
        "--kind",
        "op",
        "--index",
        "1",
        "--file",
        op.to_str().unwrap(),
    ]);
}

/// The .out with card line `card` (0-based) changed by `f`.
fn tampered(text: &str, card: usize, f: impl Fn(&str) -> String) -> String {
    let first = text
        .lines()
        .position(|l| l.starts_with("var_out:"))
        .unwrap()
        + 1;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[first + card] = f(&lines[first + card]);
    lines.join("\n") + "\n"
}

/// Flips the last hex digit of field `i` of a card line.
fn flip_field(line: &str, i: usize) -> String {
    let mut f: Vec<String> = line.split(' ').map(str::to_owned).collect();
    let last = f[i].pop().unwrap();
    f[i].push(if last == '0' { '1' } else { '0' });
    f.join(" ")
}

struct Verdict {
    code: Option<i32>,
    stdout: String,
}

fn verify(lab: &Lab, operator: &str, out: &Path, elec: Option<&Path>) -> Verdict {
    let mut args = vec!["verify", "--operator", operator, out.to_str().unwrap()];
    if let Some(e) = elec {
        args.extend(["--electrical", e.to_str().unwrap()]);
    }
    let o = lab.run(&args);
    Verdict {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
    }
}

/// Issue 15: verify says what it checked and blames the file that is wrong.
#[test]
fn verify_checks_ekis_only_against_what_can_check_them() {
    let lab = Lab::new();
    lab.operator("lab");
    let dir = lab.batch("lab", "quantity = 20\nkid = 1\nopid = 1\n", &[]);
    let text = std::fs::read_to_string(file(&dir, ".out")).unwrap();
    let elec = file(&dir, ".elec.csv");
    // Default columns (no KCV column): a corrupted EKI cannot be detected without the
    // electrical file, and the report says so instead of "every EKI decrypts".
    let bad = lab.write("bad-eki.out", &tampered(&text, 4, |l| flip_field(l, 1)));
    let v = verify(&lab, "lab", &bad, None);
    assert_eq!(v.code, Some(0), "{}", v.stdout);
    assert!(v.stdout.contains("NOT checked: EKIs"), "{}", v.stdout);
    assert!(!v.stdout.contains("every EKI"), "{}", v.stdout);
    // With it: caught, and the .out is blamed, at the card's line.
    let v = verify(&lab, "lab", &bad, Some(&elec));
    assert_eq!(v.code, Some(6), "{}", v.stdout);
    let first = text
        .lines()
        .position(|l| l.starts_with("var_out:"))
        .unwrap()
        + 1;
    assert!(
        v.stdout.contains(&format!(
            "bad-eki.out: line {}: EKI does not decrypt to the card's Ki",
            first + 5
        )),
        "{}",
        v.stdout
    );
    assert!(!v.stdout.contains("elec.csv: line"), "{}", v.stdout);
    // A damaged OPc in the electrical file: the electrical file is blamed.
    let etext = std::fs::read_to_string(&elec).unwrap();
    let mut elines: Vec<String> = etext.lines().map(str::to_owned).collect();
    let mut f: Vec<String> = elines[3].split(',').map(str::to_owned).collect();
    f[8] = format!(
        "{}{}",
        &f[8][..31],
        if f[8].ends_with('0') { '1' } else { '0' }
    );
    elines[3] = f.join(",");
    let bad_elec = lab.write("bad.elec.csv", &(elines.join("\n") + "\n"));
    let v = verify(&lab, "lab", &file(&dir, ".out"), Some(&bad_elec));
    assert_eq!(v.code, Some(6), "{}", v.stdout);
    assert!(
        v.stdout
            .contains("bad.elec.csv: line 4: OPc is not OPc(Ki, OP 1)"),
        "{}",
        v.stdout
    );
    assert!(!v.stdout.contains(".out: line"), "{}", v.stdout);
    // A damaged OTA key (encrypted by default) is caught against the electrical file.
    let bad_ota = lab.write("bad-ota.out", &tampered(&text, 2, |l| flip_field(l, 9)));
    let v = verify(&lab, "lab", &bad_ota, Some(&elec));
    assert_eq!(v.code, Some(6), "{}", v.stdout);
    assert!(
        v.stdout.contains("EKIC1 is not the electrical file's key"),
        "{}",
        v.stdout
    );
}

#[test]
fn a_kcv_column_catches_a_corrupted_eki_without_the_electrical_file() {
    let lab = Lab::new();
    operator_with_columns(&lab, "kcv", "IMSI EKI KCV ICCID ACC");
    let dir = lab.batch("kcv", "quantity = 10\nkid = 1\nopid = 1\n", &[]);
    let out = file(&dir, ".out");
    let text = std::fs::read_to_string(&out).unwrap();
    let v = verify(&lab, "kcv", &out, None);
    assert_eq!(v.code, Some(0), "{}", v.stdout);
    assert!(
        v.stdout.contains("every EKI against its KCV"),
        "{}",
        v.stdout
    );
    assert!(!v.stdout.contains("NOT checked"), "{}", v.stdout);
    let bad = lab.write("bad.out", &tampered(&text, 7, |l| flip_field(l, 1)));
    for elec in [None, Some(file(&dir, ".elec.csv"))] {
        let v = verify(&lab, "kcv", &bad, elec.as_deref());
        assert_eq!(v.code, Some(6), "{}", v.stdout);
        assert!(v.stdout.contains("bad.out: line"), "{}", v.stdout);
        assert!(
            v.stdout
                .contains("EKI does not decrypt to a Ki with the line's KCV"),
            "{}",
            v.stdout
        );
        assert!(v.stdout.contains("FAILED: "), "{}", v.stdout);
    }
}

#[test]
fn a_wrong_transport_key_is_caught_by_the_kcv_line() {
    let lab = Lab::new();
    lab.operator("lab");
    let dir = lab.batch("lab", "quantity = 10\nkid = 1\nopid = 1\n", &[]);
    let out = file(&dir, ".out");
    // The verifier's KID 1 is not the key the file was made with.
    let other = lab.write("other.hex", &"5a".repeat(32));
    lab.ok(&[
        "key",
        "import",
        "--operator",
        "lab",
        "--kind",
        "transport",
        "--index",
        "1",
        "--file",
        other.to_str().unwrap(),
        "--replace",
    ]);
    let v = verify(&lab, "lab", &out, None);
    assert_eq!(v.code, Some(6), "{}", v.stdout);
    assert!(v.stdout.contains("transport key KCV"), "{}", v.stdout);
    assert!(v.stdout.contains("is not that of KID 1"), "{}", v.stdout);
    // Not one complaint per card about EKIs decrypted under the wrong key.
    assert!(!v.stdout.contains("EKI does not"), "{}", v.stdout);
    // Without the KCV line, the electrical file shows every EKI failing and names the likely cause.
    let text = std::fs::read_to_string(&out).unwrap();
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("Transport Key KCV"))
        .map(|l| format!("{l}\n"))
        .collect();
    let p = lab.write("nokcv.out", &stripped);
    let v = verify(&lab, "lab", &p, Some(&file(&dir, ".elec.csv")));
    assert_eq!(v.code, Some(6), "{}", v.stdout);
    assert!(
        v.stdout.contains("another transport key than KID 1"),
        "{}",
        v.stdout
    );
}
