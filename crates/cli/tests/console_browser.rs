//! The operator console of the real `simforge serve --demo`, in headless Chromium
//! (chromedriver, through `simforge_testkit::webdriver`), and the real `simforge lpa`:
//! the demo operator signs in with the login `serve` printed, orders and releases an
//! available profile through the confirmation steps, sees its activation code and QR; a
//! virtual eUICC (`simforge euicc init`, `simforge lpa download`) downloads it from the
//! SM-DP+ over HTTPS; the profile page then shows it Installed with its history, and the
//! audit page the steps and the chain verified. Screenshots go to
//! `target/console-screenshots/cli-*.png`. Skipped without Chromium, but failed when `CI` is
//! set.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use std::path::PathBuf;

use common::{Lab, Server, free_port, wait_accepting};
use simforge_testkit::webdriver::{self, Driver};

async fn text_of(d: &Driver, css: &str) -> String {
    let v = d
        .script(&format!(
            "const e = document.querySelector({css:?}); return e ? e.textContent : '';"
        ))
        .await;
    v.as_str().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_console_release_lpa_download_installed() {
    if let Some(m) = webdriver::missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: {m} is missing (scripts/ci-services.sh installs it)"
        );
        eprintln!("skipped: {m} is not installed");
        return;
    }
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = |name: &str| shots.join(format!("cli-{name}.png"));

    let lab = Lab::new();
    let (port, admin_port) = (free_port(), free_port());
    let stderr_path = lab.path().join("serve.stderr");
    let mut server = Server::spawn(
        lab.cmd().args([
            "--json",
            "serve",
            "--admin-listen",
            &format!("127.0.0.1:{admin_port}"),
            "--demo",
            "--demo-profiles",
            "3",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]),
        &stderr_path,
    );
    let demo = server.json_with("demo", &stderr_path)["demo"].clone();
    let listening = server.json_with("listening", &stderr_path);
    let ca = listening["ca"].as_str().unwrap().to_owned();
    wait_accepting(admin_port);
    // The demo login, printed once by `serve` on its standard error.
    let log = std::fs::read_to_string(&stderr_path).unwrap();
    let password = log
        .lines()
        .find_map(|l| l.split("user demo, password ").nth(1))
        .unwrap_or_else(|| panic!("no demo login in:\n{log}"))
        .trim()
        .to_owned();
    let base = format!("http://127.0.0.1:{admin_port}");

    let d = Driver::start(1280, 1000).await;
    d.goto(&format!("{base}/")).await;
    d.wait_title("Sign in").await;
    d.type_into("#username", "demo").await;
    d.type_into("#password", &password).await;
    d.click("form.stack button[type=submit]").await;
    d.wait_title("Dashboard").await;
    d.screenshot(&shot("01-dashboard")).await;

    // An available profile of the demo: ordered, then confirmed with release.
    d.goto(&format!("{base}/console/t/demo/profiles?state=available"))
        .await;
    d.wait_title("eSIM inventory").await;
    let iccid = text_of(&d, "#results tbody a.mono").await;
    assert!(!iccid.is_empty(), "an available profile");
    assert_ne!(iccid, demo["iccid"].as_str().unwrap());
    let page = format!("{base}/console/t/demo/profiles/{iccid}");
    d.goto(&format!("{page}/order")).await;
    d.wait_title("Order — confirm").await;
    d.click("#confirm").await;
    d.wait_title("Profile").await;
    assert_eq!(text_of(&d, "#state").await, "allocated");
    d.click(&format!(
        "a[href='/console/t/demo/profiles/{iccid}/confirm']"
    ))
    .await;
    d.wait_title("Confirm the order — confirm").await;
    d.click("#confirm").await;
    d.wait_title("Profile").await;
    assert_eq!(text_of(&d, "#state").await, "released");
    let code = text_of(&d, "#activation-code").await;
    assert!(
        code.starts_with(&format!(
            "LPA:1${}$",
            listening["smdpAddress"].as_str().unwrap()
        )),
        "{code}"
    );
    d.find("img.qr").await;
    d.screenshot(&shot("02-released")).await;

    // A virtual eUICC downloads it with the real LPA, over HTTPS.
    let euicc = lab.path().join("euicc.json");
    let euicc = euicc.to_str().unwrap();
    lab.ok(&[
        "euicc",
        "init",
        "--pki",
        demo["euiccPki"].as_str().unwrap(),
        "--file",
        euicc,
    ]);
    let out = lab.ok(&[
        "--json", "lpa", "--euicc", euicc, "--ca", &ca, "download", &code,
    ]);
    let installed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(installed["iccid"].as_str(), Some(iccid.as_str()), "{out}");
    // Whatever notification is left reaches the SM-DP+.
    lab.ok(&[
        "--json",
        "lpa",
        "--euicc",
        euicc,
        "--ca",
        &ca,
        "notifications",
        "--process",
    ]);

    // The profile page: Installed, with its history.
    d.goto(&page).await;
    d.wait_title("Profile").await;
    assert_eq!(text_of(&d, "#state").await, "installed");
    let history = text_of(&d, "ol.timeline").await;
    for step in [
        "ES9+ eligibility check",
        "ES9+ bound profile package delivered",
        "ES9+ installation",
    ] {
        assert!(history.contains(step), "{step}: {history}");
    }
    d.script("document.querySelector('ol.timeline').scrollIntoView(); return true;")
        .await;
    d.screenshot(&shot("03-installed")).await;

    // The audit: the console's steps, the chain verified.
    d.goto(&format!("{base}/console/t/demo/audit")).await;
    d.wait_title("Audit log").await;
    let src = d.source().await;
    assert!(src.contains("Chain verified"), "chain verified");
    assert!(src.contains("console.POST /console/t/{tenant}/profiles/{iccid}/confirm"));
    d.screenshot(&shot("04-audit")).await;
    d.quit().await;
    drop(server);
}
