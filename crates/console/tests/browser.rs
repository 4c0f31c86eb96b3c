//! The operator console in a real browser: headless Chromium driven through chromedriver
//! (Debian's `chromium` and `chromium-driver`, which `scripts/ci-services.sh` installs), on
//! the console and API served on a real TCP port as `simforge serve` serves them (the same
//! edge, `simforge_api::serve`, with the console beside the API).
//!
//! One browser session: sign in, search the inventory, open a profile, release it through
//! its confirmation step, see the activation code and its QR image, read the audit (the
//! steps, "chain verified"), sign out; a viewer sees no release button; tenant B's operator
//! gets "not found" for tenant A's profile URL. Each page is screenshotted into
//! `target/console-screenshots/`. Skipped without Chromium, but failed when `CI` is set.

mod support;

use std::path::PathBuf;

use support::webdriver::{self, Driver};
use support::{PASSWORD, World};

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

async fn sign_in(d: &Driver, base: &str, user: &str) {
    d.goto(&format!("{base}/console")).await;
    d.wait_title("Sign in").await;
    d.type_into("#username", user).await;
    d.type_into("#password", PASSWORD).await;
    d.click("form.stack button[type=submit]").await;
    d.wait_title("Dashboard").await;
}

async fn sign_out(d: &Driver) {
    d.click("form.signout button").await;
    d.wait_title("Sign in").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_journey_in_chromium() {
    if let Some(m) = webdriver::missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: {m} is missing (scripts/ci-services.sh installs it)"
        );
        eprintln!("skipped: {m} is not installed");
        return;
    }
    let w = World::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(simforge_api::serve(
        listener,
        w.api.clone(),
        simforge_console::beside_api(w.api.clone()),
        async {
            let _ = stopped.await;
        },
    ));
    let dir = shots();
    let shot = |name: &str| dir.join(format!("{name}.png"));
    let i = w.iccids[0].clone();
    let d = Driver::start(1280, 1000).await;

    // The operator signs in: the login page (its labels), then the dashboard.
    d.goto(&format!("{base}/")).await;
    d.wait_title("Sign in").await;
    assert!(d.source().await.contains("One-time code"));
    d.screenshot(&shot("01-login")).await;
    sign_in(&d, &base, "olga").await;
    assert!(d.source().await.contains("Profiles by state"));
    d.screenshot(&shot("02-dashboard")).await;

    // Searches the inventory by the first digits of an ICCID and the state.
    d.click("nav a[href='/console/t/a/profiles']").await;
    d.wait_title("eSIM inventory").await;
    d.type_into("#q", &i[..12]).await;
    d.script("document.querySelector('#state').value = 'confirmed'; return true;")
        .await;
    d.click("form[role=search] button").await;
    d.find("#results").await;
    let src = d.source().await;
    assert!(src.contains(&i), "the profile in the results");
    // Times are shown in the browser's zone by the embedded script (CSP allowed it).
    let shown = d
        .script("return document.querySelector('#results time').textContent;")
        .await;
    assert!(
        !shown.as_str().unwrap_or("UTC").ends_with("UTC"),
        "localized: {shown}"
    );
    d.screenshot(&shot("03-inventory")).await;

    // Opens the profile, releases it through the confirmation step.
    d.click(&format!("a[href='/console/t/a/profiles/{i}']"))
        .await;
    d.wait_title("Profile").await;
    assert!(d.source().await.contains("confirmed"));
    d.screenshot(&shot("04-profile")).await;
    d.click(&format!("a[href='/console/t/a/profiles/{i}/release']"))
        .await;
    d.wait_title("Release — confirm").await;
    d.screenshot(&shot("05-confirm-release")).await;
    d.click("#confirm").await;
    d.wait_title("Profile").await;
    d.find(".notice.ok").await;
    let src = d.source().await;
    assert!(src.contains("<strong>released</strong>"), "released");
    assert!(src.contains("LPA:1$smdp.example.com$"), "activation code");
    // The QR image loaded (an SVG from the console, allowed by the CSP).
    let mut width = 0;
    for _ in 0..50 {
        width = d
            .script("const i = document.querySelector('img.qr'); return i && i.complete ? i.naturalWidth : 0;")
            .await
            .as_u64()
            .unwrap_or(0);
        if width > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(width > 0, "the QR image loaded");
    d.screenshot(&shot("06-released-with-qr")).await;

    // Bulk: two profiles of a type released after the confirmation step; their codes as a
    // ZIP (the CSV and a PNG QR code each) fetched by the page's link.
    d.click("nav a[href='/console/t/a/bulk']").await;
    d.wait_title("Bulk release").await;
    d.type_into("#type", "standard").await;
    d.type_into("#count", "2").await;
    d.click("#bulk-next").await;
    d.wait_title("Bulk release — confirm").await;
    assert!(d.source().await.contains("id=\"bulk-available\""));
    d.screenshot(&shot("06a-bulk-confirm")).await;
    d.click("#confirm").await;
    d.wait_title("Bulk release — done").await;
    assert_eq!(d.find_all("#released tbody tr").await.len(), 2);
    let zip = d
        .script(
            "return fetch(document.querySelector('#codes-zip').href)\
             .then(r => r.arrayBuffer()).then(b => { const u = new Uint8Array(b); \
             return u[0] + ',' + u[1] + ',' + u.length; });",
        )
        .await;
    let zip = zip.as_str().unwrap_or("").to_owned();
    assert!(zip.starts_with("80,75,"), "a ZIP (PK…): {zip}");
    d.screenshot(&shot("06b-bulk-released")).await;

    // A SIM batch: the order file uploaded, previewed, generated with its progress followed
    // by the embedded script, its files, its cards imported into the inventory.
    w.clock.fetch_add(60, std::sync::atomic::Ordering::SeqCst);
    let order = w.dir.path().join("order.toml");
    std::fs::write(&order, support::ORDER_TOML.replace("20", "8")).expect("order file");
    d.click("nav a[href='/console/t/a/batches']").await;
    d.wait_title("SIM batches").await;
    d.script("document.querySelector('#format').value = 'toml'; return true;")
        .await;
    d.upload("#order", &order).await;
    d.click("form[enctype] button[type=submit]").await;
    d.wait_title("Order preview").await;
    assert!(d.source().await.contains("id=\"plan\""));
    d.screenshot(&shot("07a-order-preview")).await;
    d.click("#generate").await;
    d.wait_title("Generating").await;
    d.wait_text("Generated.").await;
    d.screenshot(&shot("07b-generated")).await;
    d.click(".notice.ok a").await;
    d.wait_title("Batch").await;
    d.find("#files").await;
    assert!(
        d.source().await.contains("not for your role"),
        "no electrical file for an operator"
    );
    d.click("#import").await;
    d.find("#imported").await;
    assert!(d.source().await.contains("Added 8 profiles"));
    d.screenshot(&shot("07c-batch-imported")).await;

    // The audit page: the release, the login, the chain verified.
    d.click("nav a[href='/console/t/a/audit']").await;
    d.wait_title("Audit log").await;
    let src = d.source().await;
    assert!(src.contains("Chain verified"), "chain verified");
    assert!(src.contains("console.POST /console/t/{tenant}/profiles/{iccid}/release"));
    assert!(src.contains("user:olga"));
    assert!(src.contains("console.POST /console/t/{tenant}/batches"));
    assert!(src.contains("console.POST /console/t/{tenant}/bulk/release"));
    d.screenshot(&shot("07d-audit")).await;

    // At phone width the dashboard still works (no horizontal page scroll).
    d.resize(390, 844).await;
    d.click("nav a[href='/console/t/a']").await;
    d.wait_title("Dashboard").await;
    let overflow = d
        .script("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
        .await;
    assert_eq!(overflow, true, "no horizontal scroll at phone width");
    d.screenshot(&shot("08-dashboard-phone")).await;
    d.resize(1280, 1000).await;
    sign_out(&d).await;
    d.screenshot(&shot("09-signed-out")).await;

    // A viewer: the profile page has no release button (another confirmed profile).
    let j = w.iccids[1].clone();
    sign_in(&d, &base, "vera").await;
    d.goto(&format!("{base}/console/t/a/profiles/{j}")).await;
    d.wait_title("Profile").await;
    assert!(d.source().await.contains("confirmed"));
    assert!(
        d.find_all("a[href$='/release']").await.is_empty(),
        "a viewer sees no release button"
    );
    assert!(d.find_all("img.qr").await.is_empty());
    d.screenshot(&shot("10-viewer-profile")).await;
    sign_out(&d).await;

    // Tenant B's operator opens tenant A's profile URL: not found.
    sign_in(&d, &base, "bob").await;
    d.goto(&format!("{base}/console/t/a/profiles/{i}")).await;
    d.wait_title("Not found").await;
    assert!(!d.source().await.contains("LPA:1$"));
    d.screenshot(&shot("11-other-tenant-not-found")).await;
    sign_out(&d).await;

    d.quit().await;
    let _ = stop.send(());
    let _ = server.await;
    // The audit chain holds every step, and still verifies.
    let chain = simforge_api::ops::audit_verify(&w.api).await.expect("read");
    assert!(chain.is_ok(), "{chain:?}");
}
