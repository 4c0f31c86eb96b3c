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
    // The order header is echoed, then var_out, then one line per card.
    assert!(text.starts_with("File Name             : LAB1.i01\n"));
    assert!(text.contains("\nvar_out:IMSI EKI ICCID PIN1 PUK1 PIN2 PUK2 ADM1 ACC KIC1 KID1 KIK1"));
    assert_eq!(text.lines().count(), 9 + 1 + 50);
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
    assert!(
        stdout.contains("decrypted EKI is not the electrical file's Ki"),
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
