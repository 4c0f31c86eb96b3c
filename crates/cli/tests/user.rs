//! `simforge user`: the bootstrap platform administrator (password from standard input or a
//! file, TOTP URI printed once, never the password in the audit log), a taken name refused,
//! a tenant user in its operator, unlock.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::Lab;

#[test]
fn create_users_and_unlock() {
    let lab = Lab::new();
    let pw = "correct horse battery";
    let o = lab.run_stdin(&["user", "create", "root", "--role", "platform-admin"], pw);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("otpauth://totp/simforge:root?secret="),
        "{out}"
    );
    // The name is taken; a weak password and a tenant role without operator are refused.
    let o = lab.run_stdin(
        &[
            "user",
            "create",
            "root",
            "--role",
            "viewer",
            "--operator",
            "lab",
        ],
        pw,
    );
    assert!(!o.status.success());
    let o = lab.run_stdin(&["user", "create", "weak", "--role", "factory"], "short");
    assert_eq!(o.status.code(), Some(3)); // invalid input
    let o = lab.run_stdin(&["user", "create", "v", "--role", "viewer"], pw);
    assert_eq!(o.status.code(), Some(3));
    let o = lab.run_stdin(&["user", "create", "v", "--role", "root"], pw);
    assert_eq!(o.status.code(), Some(3));

    lab.operator("lab");
    let file = lab.path().join("pw.txt");
    std::fs::write(&file, format!("{pw}\n")).unwrap();
    let json = lab.ok(&[
        "--json",
        "user",
        "create",
        "olga",
        "--role",
        "operator",
        "--operator",
        "lab",
        "--password-file",
        file.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["user"], "olga");
    assert!(v["totpUri"].is_null());
    lab.ok(&["user", "unlock", "olga"]);
    assert_eq!(
        lab.run(&["user", "unlock", "nobody"]).status.code(),
        Some(5)
    );

    let log = lab.ok(&["audit", "export"]);
    assert_eq!(log.matches("\"user.create\"").count(), 2, "{log}");
    assert!(log.contains("\"user.unlock\""));
    assert!(!log.contains(pw));
}
