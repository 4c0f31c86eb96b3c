//! The operator console in a real browser: headless Chromium driven through chromedriver
//! (Debian's `chromium` and `chromium-driver`, which `scripts/ci-services.sh` installs), on
//! the console and API served on a real TCP port as `simforge serve` serves them (the same
//! edge, `simforge_api::serve`, with the console beside the API).
//!
//! The operator's journey: sign in, search the inventory, open a profile, release it through
//! its confirmation step, see the activation code and its QR image; a virtual eUICC downloads
//! it (the real LPA into the SM-DP+ the console reads) and the profile page shows it Installed
//! with its history; a bulk release of two profiles and their codes as a ZIP; an order
//! uploaded, previewed, generated with progress, its `.out` downloaded (the electrical file
//! refused), its cards imported; the audit (the steps, "chain verified"); phone width; a
//! viewer sees no release button and a forged POST from the viewer's page is refused; tenant
//! B's operator gets "not found" for tenant A's profile URL.
//!
//! The administrators' journey: a platform administrator creates a tenant and its
//! operator-admin; the operator-admin signs in with the enrollment shown at creation, enrolls
//! an authenticator of their own (TOTP), creates an operator; a factory user downloads a
//! batch's electrical file (not its `.out`).
//!
//! Each page is screenshotted into `target/console-screenshots/`. Skipped without Chromium,
//! but failed when `CI` is set.

mod support;

use std::path::PathBuf;

use simforge_testkit::webdriver::{self, Driver};
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

/// Signs in with a one-time code (administrators), landing on the page titled `lands`.
async fn sign_in_with(d: &Driver, base: &str, user: &str, totp: &str, lands: &str) {
    d.goto(&format!("{base}/console")).await;
    d.wait_title("Sign in").await;
    d.type_into("#username", user).await;
    d.type_into("#password", PASSWORD).await;
    d.type_into("#totp", totp).await;
    d.click("form.stack button[type=submit]").await;
    d.wait_title(lands).await;
}

/// The text of the element `css` (empty if none).
async fn text_of(d: &Driver, css: &str) -> String {
    let v = d
        .script(&format!(
            "const e = document.querySelector({css:?}); return e ? e.textContent : '';"
        ))
        .await;
    v.as_str().unwrap_or("").to_owned()
}

/// Fetches, with the page's session, the file of kind `kind` (`out`, `elec`, …) of the batch
/// shown: by its download link when the page has one (`link:`), else by its API URL
/// (`api:`); the HTTP status and the body's length.
async fn fetch_batch_file(d: &Driver, tenant: &str, batch: i64, kind: &str) -> String {
    let v = d
        .script(&format!(
            "const row = [...document.querySelectorAll('#files tbody tr')].find(r => \
             r.querySelector('td[data-label=Kind]').textContent.trim() === {kind:?}); \
             if (!row) return 'no row'; \
             const a = row.querySelector('a[download]'); \
             const name = row.querySelector('td[data-label=File] code').textContent; \
             const url = a ? a.href : '/api/v1/tenants/{tenant}/batches/{batch}/files/' + name; \
             return fetch(url).then(r => r.text().then(t => (a ? 'link:' : 'api:') + r.status + ':' + t.length));"
        ))
        .await;
    v.as_str().unwrap_or("").to_owned()
}

/// The console and the API of `w` on a real TCP port, as `serve` mounts them: the base URL
/// and what stops the server.
async fn serve(
    w: &World,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
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
    (base, stop, server)
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

    // A virtual eUICC downloads it (the real LPA, into the SM-DP+ this console reads): the
    // profile page then shows it Installed, with its history (state changes, ES9+ calls
    // with their outcome, the install notification).
    let code = text_of(&d, "#activation-code").await;
    w.clock.fetch_add(30, std::sync::atomic::Ordering::SeqCst);
    let done = w.download(&code).await.expect("the eUICC's download");
    assert_eq!(done.iccid, i);
    assert!(done.notification_sent, "the install notification");
    d.goto(&format!("{base}/console/t/a/profiles/{i}")).await;
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
    assert!(d.source().await.contains(&w.eid()), "the eUICC's EID");
    d.script("document.querySelector('ol.timeline').scrollIntoView(); return true;")
        .await;
    d.screenshot(&shot("06c-installed-with-history")).await;

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
    // The operator downloads the .out file; the electrical file is not theirs (403).
    let batch: i64 = d
        .url()
        .await
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("the batch id in the URL");
    let out = fetch_batch_file(&d, "a", batch, "out").await;
    assert!(
        out.starts_with("link:200:") && !out.ends_with(":0"),
        "{out}"
    );
    let elec = fetch_batch_file(&d, "a", batch, "elec").await;
    assert!(elec.starts_with("api:403:"), "{elec}");
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
    // A forged POST from the viewer's own page (with the session's CSRF token): refused.
    let forged = d
        .script(&format!(
            "const t = document.querySelector('form.signout input[name=_csrf]').value; \
             return fetch('/console/t/a/profiles/{j}/release', {{method: 'POST', \
             headers: {{'content-type': 'application/x-www-form-urlencoded'}}, \
             body: '_csrf=' + encodeURIComponent(t)}}).then(r => r.status);"
        ))
        .await;
    assert_eq!(forged, 403, "a viewer's forged release is refused");
    d.goto(&format!("{base}/console/t/a/profiles/{j}")).await;
    d.wait_title("Profile").await;
    assert_eq!(text_of(&d, "#state").await, "confirmed");
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

/// The journey's first steps, and the factory's: a platform administrator creates a tenant
/// and its operator-admin; the operator-admin signs in with the one-time code of the
/// enrollment shown at creation, enrolls an authenticator of their own on the account page
/// (the code computed from the key shown, with the access crate's TOTP and the World's
/// clock), creates an `operator` user, and signs in again with the new authenticator; a
/// `factory` user downloads a batch's electrical file (not its `.out`). Screenshots as the
/// first journey's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_admin_totp_and_factory_in_chromium() {
    use std::sync::atomic::Ordering;
    if let Some(m) = webdriver::missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: {m} is missing (scripts/ci-services.sh installs it)"
        );
        eprintln!("skipped: {m} is not installed");
        return;
    }
    let w = World::new().await;
    let (base, stop, server) = serve(&w).await;
    let dir = shots();
    let shot = |name: &str| dir.join(format!("{name}.png"));
    let d = Driver::start(1280, 1000).await;

    // The platform administrator creates tenant c.
    let code = support::totp_code(&w.root_totp, w.now());
    sign_in_with(&d, &base, "root", &code, "Tenants").await;
    d.type_into("#name", "c").await;
    d.type_into("#mcc", "001").await;
    d.type_into("#mnc", "03").await;
    d.type_into("#iccid_prefix", "8900103").await;
    d.type_into("#spn", "Tenant c").await;
    d.click("form.stack button[type=submit]").await;
    d.wait_text("Created tenant c.").await;
    d.screenshot(&shot("20-tenant-created")).await;
    // … and its operator-admin, whose TOTP enrollment is shown once.
    d.goto(&format!("{base}/console/t/c/users")).await;
    d.wait_title("People").await;
    d.type_into("#username", "cora").await;
    d.script("document.querySelector('#role').value = 'operator-admin'; return true;")
        .await;
    d.type_into("#password", PASSWORD).await;
    d.click("form.stack[action='/console/t/c/users'] button[type=submit]")
        .await;
    d.wait_text("Added <strong>cora</strong>").await;
    let given = text_of(&d, "#totp-uri").await;
    assert!(given.starts_with("otpauth://totp/"), "{given}");
    d.screenshot(&shot("21-admin-created")).await;
    sign_out(&d).await;

    // The operator-admin signs in with it, and enrolls an authenticator of their own.
    let code = support::totp_code(&given, w.now());
    sign_in_with(&d, &base, "cora", &code, "Dashboard").await;
    d.click("a.who").await;
    d.wait_title("Your account").await;
    assert_eq!(text_of(&d, "#totp-state").await.get(..3), Some("On:"));
    d.click("#totp-begin").await;
    d.wait_title("Enroll an authenticator").await;
    d.find("figure.totp-qr svg").await;
    let key = text_of(&d, "#totp-key").await;
    let secret =
        simforge_access::TotpSecret::from_bytes(&simforge_testkit::totp::base32_decode(&key));
    assert_ne!(
        format!("otpauth://totp/simforge:cora?secret={key}"),
        given,
        "a new secret"
    );
    d.screenshot(&shot("22-totp-enroll")).await;
    // A wrong code first: the error next to the field.
    d.type_into("#totp-password", PASSWORD).await;
    let wrong = (secret.code_at(w.now(), 6) + 1) % 1_000_000;
    d.type_into("#totp-code", &format!("{wrong:06}")).await;
    d.click("#totp-confirm").await;
    d.find("#totp-code-error").await;
    // The new code, and one of the present authenticator (a step after the sign-in's).
    w.clock.fetch_add(30, std::sync::atomic::Ordering::SeqCst);
    d.type_into("#totp-password", PASSWORD).await;
    d.type_into("#totp-code", &format!("{:06}", secret.code_at(w.now(), 6)))
        .await;
    d.type_into("#totp-current", &support::totp_code(&given, w.now()))
        .await;
    d.click("#totp-confirm").await;
    d.wait_title("Your account").await;
    d.find("#totp-on").await;
    d.screenshot(&shot("23-totp-on")).await;

    // The operator-admin creates an operator.
    d.click("nav a[href='/console/t/c/users']").await;
    d.wait_title("People").await;
    d.type_into("#username", "otto").await;
    d.script("document.querySelector('#role').value = 'operator'; return true;")
        .await;
    d.type_into("#password", PASSWORD).await;
    d.click("form.stack[action='/console/t/c/users'] button[type=submit]")
        .await;
    d.wait_text("Added <strong>otto</strong> (operator)").await;
    assert!(
        d.find_all("#totp-uri").await.is_empty(),
        "no TOTP for an operator"
    );
    d.screenshot(&shot("24-operator-created")).await;
    sign_out(&d).await;
    // The old enrollment no longer signs cora in; the new one does.
    w.clock.fetch_add(30, Ordering::SeqCst);
    d.goto(&format!("{base}/console")).await;
    d.wait_title("Sign in").await;
    d.type_into("#username", "cora").await;
    d.type_into("#password", PASSWORD).await;
    d.type_into("#totp", &support::totp_code(&given, w.now()))
        .await;
    d.click("form.stack button[type=submit]").await;
    d.wait_title("Sign in").await;
    d.find("#username-error").await;
    let code = format!("{:06}", secret.code_at(w.now(), 6));
    sign_in_with(&d, &base, "cora", &code, "Dashboard").await;
    sign_out(&d).await;
    // The new operator signs in (no code).
    sign_in(&d, &base, "otto").await;
    sign_out(&d).await;

    // The factory downloads a batch's electrical file; the .out is not theirs.
    sign_in_fred(&d, &base).await;
    d.goto(&format!("{base}/console/t/a/batches/{}", w.batch))
        .await;
    d.wait_title("Batch").await;
    let elec = fetch_batch_file(&d, "a", w.batch, "elec").await;
    assert!(
        elec.starts_with("link:200:") && !elec.ends_with(":0"),
        "{elec}"
    );
    let out = fetch_batch_file(&d, "a", w.batch, "out").await;
    assert!(out.starts_with("api:403:"), "{out}");
    d.screenshot(&shot("25-factory-batch")).await;
    sign_out(&d).await;

    d.quit().await;
    let _ = stop.send(());
    let _ = server.await;
    // Every step is in the audit log, which still verifies.
    let log = w
        .api_call(axum::http::Method::GET, "/api/v1/audit?limit=1000", None)
        .await
        .text();
    for step in [
        "console.POST /console/tenants",
        "console.POST /console/t/{tenant}/users",
        "console.POST /console/account/totp/confirm",
        "\"user.totp\"",
    ] {
        assert!(log.contains(step), "{step} in the audit log");
    }
    let chain = simforge_api::ops::audit_verify(&w.api).await.expect("read");
    assert!(chain.is_ok(), "{chain:?}");
}

/// The factory user signs in: the platform's start page.
async fn sign_in_fred(d: &Driver, base: &str) {
    d.goto(&format!("{base}/console")).await;
    d.wait_title("Sign in").await;
    d.type_into("#username", "fred").await;
    d.type_into("#password", PASSWORD).await;
    d.click("form.stack button[type=submit]").await;
    d.wait_title("Tenants").await;
}
