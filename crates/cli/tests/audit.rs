//! `simforge audit`: the workflows of a scripted session write audit entries (never a
//! secret); `audit verify` checks the chain, and names the entry a direct edit of the
//! database broke; `audit export` prints JSON lines, an operator's own with --operator.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{Lab, OP_HEX, TRANSPORT_HEX};

fn export(lab: &Lab, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["audit", "export"];
    all.extend_from_slice(args);
    lab.ok(&all)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_session_is_audited_verified_and_tampering_is_named() {
    let lab = Lab::new();
    lab.operator("lab");
    lab.operator("other");
    let batch = lab.batch("lab", "quantity = 3\nkid = 1\nopid = 1\n", &[]);
    lab.ok(&["operator", "api-key", "lab"]);

    let all = export(&lab, &[]);
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "operator.create",
            "key.import",
            "key.import",
            "operator.create",
            "key.import",
            "key.import",
            "key.unseal",
            "batch.generate",
            "credential.create"
        ]
    );
    assert!(all[0]["actor"].as_str().unwrap().starts_with("cli:"));
    assert_eq!(all[7]["details"]["quantity"], 3);
    assert_eq!(all[6]["target"], "key:transport/1+op/1");
    let out = lab.ok(&["audit", "verify"]);
    assert!(out.starts_with("9 entries, chain intact, head "), "{out}");

    // A tenant's own entries; after a seq.
    let lab_id = &all[0]["tenant"];
    let own = export(&lab, &["--operator", "lab"]);
    assert_eq!(own.len(), 6);
    assert!(own.iter().all(|e| &e["tenant"] == lab_id));
    assert_eq!(export(&lab, &["--since", "6"]).len(), 3);

    // No secret in the log: no key, no card's Ki or OPc (any long hex field of the
    // electrical file), no master key.
    let text = lab.ok(&["audit", "export"]).to_uppercase();
    let elec = std::fs::read_dir(&batch)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".elec.csv"))
        .unwrap();
    let elec = std::fs::read_to_string(elec).unwrap();
    let secrets: Vec<String> = elec
        .lines()
        .skip(1)
        .flat_map(|l| l.split(',').map(str::to_uppercase).collect::<Vec<_>>())
        .filter(|f| f.len() >= 32 && f.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    assert!(secrets.len() >= 6, "Ki and OPc of 3 cards");
    for s in secrets
        .iter()
        .chain([&TRANSPORT_HEX.to_uppercase(), &OP_HEX.to_uppercase()])
    {
        assert!(!text.contains(s.as_str()), "a secret in the audit log");
    }
    let master = std::fs::read_to_string(lab.path().join("data/master.key")).unwrap();
    assert!(!text.contains(&master.trim().to_uppercase()));

    // Tampering with the database file.
    let db = rusqlite::Connection::open(lab.path().join("data/simforge.sqlite")).unwrap();
    db.execute("UPDATE audit_log SET outcome = 'denied' WHERE seq = 2", [])
        .unwrap();
    let o = lab.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(6));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("entry 2: edited"), "{err}");
    db.execute("UPDATE audit_log SET outcome = 'ok' WHERE seq = 2", [])
        .unwrap();
    lab.ok(&["audit", "verify"]);
    db.execute("DELETE FROM audit_log WHERE seq = 4", [])
        .unwrap();
    let o = lab.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(6));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("entry 4: deleted"), "{err}");
}
