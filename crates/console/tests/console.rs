//! The operator console in memory (router oneshot): every page for the roles that may see it,
//! 404 across tenants, a viewer's missing buttons and refused forged POST, CSRF, the policy
//! table shared with the API, and no secret in any page.

mod support;

use axum::http::{Method, StatusCode};
use simforge_api::policy::Need;
use support::{PASSWORD, Reply, World, field, totp_code};

const FORM: &str = "application/x-www-form-urlencoded";

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A person signed in to the console (their session cookie).
struct Person<'w> {
    w: &'w World,
    cookie: String,
}

fn set_cookie(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap_or("").to_owned())
}

/// The console's login form, sent: the answer.
async fn sign_in(w: &World, user: &str, password: &str, totp: &str) -> Reply {
    let page = w.request(Method::GET, "/console/login", &[], None).await;
    assert_eq!(page.status, StatusCode::OK);
    let nonce = set_cookie(&page, "simforge_login").expect("login form cookie");
    let token = field(&page.text(), "_csrf").expect("CSRF field in the login form");
    let form = format!(
        "username={}&password={}&totp={totp}&_csrf={token}",
        enc(user),
        enc(password)
    );
    w.request(
        Method::POST,
        "/console/login",
        &[("cookie", &nonce)],
        Some((FORM, form.into_bytes())),
    )
    .await
}

impl<'w> Person<'w> {
    async fn login(w: &'w World, user: &str) -> Self {
        let totp = match user {
            "root" => totp_code(&w.root_totp, w.now()),
            "ada" => totp_code(&w.ada_totp, w.now()),
            _ => String::new(),
        };
        let r = sign_in(w, user, PASSWORD, &totp).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let cookie = set_cookie(&r, "simforge_session").expect("session cookie");
        Self { w, cookie }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.w
            .request(Method::GET, uri, &[("cookie", &self.cookie)], None)
            .await
    }

    /// A form sent with `fields` (URL-encoded) as they are.
    async fn post(&self, uri: &str, fields: &str) -> Reply {
        self.w
            .request(
                Method::POST,
                uri,
                &[("cookie", &self.cookie)],
                Some((FORM, fields.as_bytes().to_vec())),
            )
            .await
    }

    /// The session's CSRF token, as a page's forms carry it.
    async fn csrf(&self) -> String {
        let page = self.get("/console").await;
        let page = self.get(&page.location()).await;
        field(&page.text(), "_csrf").expect("a form with the CSRF field")
    }
}

/// Every console route names an API route of `simforge_api::policy::ROUTES` (its policy),
/// and the routes the router serves are exactly the table's (read from the source, like the
/// API's route-table test).
#[test]
fn every_console_route_is_covered_by_the_api_policy() {
    for r in simforge_console::ROUTES {
        assert!(
            simforge_console::need(r).is_some(),
            "{} {}: its policy {:?} is not in simforge_api::policy::ROUTES",
            r.method,
            r.path,
            r.policy
        );
        assert!(r.path == "/console" || r.path.starts_with("/console/"));
        if r.policy.is_none() {
            assert!(
                matches!(
                    r.path,
                    "/console" | "/console/login" | "/console/assets/{file}"
                ),
                "{} is public",
                r.path
            );
        }
    }
    let src = include_str!("../src/lib.rs");
    let mut routed: Vec<String> = Vec::new();
    for part in src.split(".route(").skip(1) {
        let Some(path) = part.trim_start().strip_prefix('"') else {
            continue;
        };
        let path = &path[..path.find('"').expect("closing quote")];
        if !path.starts_with("/console") {
            continue;
        }
        match path.strip_suffix("/{action}") {
            Some(base) => {
                for a in ["release", "cancel", "reset", "order", "confirm"] {
                    routed.push(format!("{base}/{a}"));
                }
            }
            None => routed.push(path.to_owned()),
        }
    }
    routed.sort();
    routed.dedup();
    let mut table: Vec<String> = simforge_console::ROUTES
        .iter()
        .map(|r| r.path.to_owned())
        .collect();
    table.sort();
    table.dedup();
    assert_eq!(routed, table, "routed console paths vs. the policy table");
}

/// The pages a tenant's people see, and what another tenant's see: 404, as in the API.
#[tokio::test]
async fn pages_by_role_and_tenant() {
    let w = World::new().await;
    let olga = Person::login(&w, "olga").await;
    let vera = Person::login(&w, "vera").await;
    let bob = Person::login(&w, "bob").await;
    let root = Person::login(&w, "root").await;
    let fred = Person::login(&w, "fred").await;
    let i = &w.iccids[0];
    let b = w.batch;
    let pages = [
        "/console/t/a".to_owned(),
        "/console/t/a/profiles".into(),
        format!("/console/t/a/profiles?q={}&state=confirmed", &i[..10]),
        "/console/t/a/profiles.csv".into(),
        format!("/console/t/a/profiles/{i}"),
        "/console/t/a/audit".into(),
        "/console/t/a/batches".into(),
        format!("/console/t/a/batches/{b}"),
    ];
    for p in &pages {
        for (who, person) in [
            ("olga", &olga),
            ("vera", &vera),
            ("root", &root),
            ("fred", &fred),
        ] {
            let r = person.get(p).await;
            assert_eq!(r.status, StatusCode::OK, "{who} {p}: {}", r.text());
        }
        let r = bob.get(p).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "bob {p}");
        assert!(r.text().contains("Not found"), "{p}");
        assert!(!r.text().contains(i.as_str()), "{p}");
    }
    // The dashboard's downloads chart: 24 hourly bars' worth by default, 7 days on asking.
    let r = olga.get("/console/t/a").await;
    assert!(
        r.text()
            .contains("<svg role=\"img\" aria-label=\"Downloads per hour over the last 24 hours"),
        "{}",
        r.text()
    );
    let r = olga.get("/console/t/a?window=7d").await;
    assert!(r.text().contains("over the last 7 days"), "{}", r.text());
    assert_eq!(
        r.text().matches("<title>").count(),
        1 + 7 * 24,
        "one title per hour and the page's"
    );
    // Unknown tenant and another tenant's look the same.
    assert_eq!(bob.get("/console/t/zz").await.status, StatusCode::NOT_FOUND);
    // Start pages: a tenant's dashboard, the platform's tenants.
    assert_eq!(olga.get("/console").await.location(), "/console/t/a");
    assert_eq!(root.get("/console").await.location(), "/console/tenants");
    for p in ["/console/tenants", "/console/audit"] {
        assert_eq!(root.get(p).await.status, StatusCode::OK, "{p}");
        assert_eq!(olga.get(p).await.status, StatusCode::FORBIDDEN, "{p}");
    }
    // Without a session: to the login page, and back after.
    let r = w
        .request(
            Method::GET,
            &format!("/console/t/a/profiles/{i}"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        format!("/console/login?next=/console/t/a/profiles/{i}")
    );
    assert_eq!(
        w.request(Method::GET, "/", &[], None).await.location(),
        "/console"
    );
    // A form without a session: to the login page, its body unread, nothing done.
    let r = w
        .request(
            Method::POST,
            &format!("/console/t/a/profiles/{i}/release"),
            &[],
            Some((FORM, vec![b'x'; 1 << 20])),
        )
        .await;
    assert_eq!(
        (r.status, r.location().as_str()),
        (StatusCode::SEE_OTHER, "/console/login")
    );
    // The search: by ICCID prefix, a bad EID named next to the field, keyset pages.
    let r = olga.get(&format!("/console/t/a/profiles?q={i}")).await;
    assert!(r.text().contains(&format!("/console/t/a/profiles/{i}")));
    let r = olga.get("/console/t/a/profiles?q=89a").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"q-error\""), "{}", r.text());
    let r = olga
        .get("/console/t/a/profiles?type=standard&state=confirmed")
        .await;
    assert_eq!(
        r.text().matches("<tr><td data-label=\"ICCID\"").count(),
        4,
        "{}",
        r.text()
    );
    let r = olga.get("/console/t/a/profiles?type=other").await;
    assert!(r.text().contains("No profile matches."));
    let csv = olga.get("/console/t/a/profiles.csv?state=confirmed").await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.text().lines().count(), 1 + 4, "{}", csv.text());
    // By the day of the last change (UTC days): the two date fields, the window kept in the
    // export's link, a bad day named next to its field, the export within the window.
    let r = olga.get("/console/t/a/profiles").await;
    for field in [
        "<label for=\"from\">Changed from (UTC day)</label>",
        "<label for=\"before\">Changed before (UTC day)</label>",
        "<input id=\"from\" name=\"from\" type=\"date\"",
        "<input id=\"before\" name=\"before\" type=\"date\"",
    ] {
        assert!(r.text().contains(field), "{field}: {}", r.text());
    }
    let window = "from=1970-01-02&before=9999-12-31";
    let r = olga
        .get(&format!(
            "/console/t/a/profiles?type=standard&state=confirmed&{window}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.text().matches("<tr><td data-label=\"ICCID\"").count(),
        4,
        "{}",
        r.text()
    );
    assert!(
        r.text()
            .contains(&format!("&amp;{}", window.replace('&', "&amp;")))
    );
    assert!(!r.text().contains("id=\"partial\""));
    let r = olga
        .get("/console/t/a/profiles?state=confirmed&before=1970-01-02")
        .await;
    assert!(r.text().contains("No profile matches."), "{}", r.text());
    for (bad, id) in [
        ("from=2026-02-30", "from-error"),
        ("before=soon", "before-error"),
    ] {
        let r = olga.get(&format!("/console/t/a/profiles?{bad}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            r.text().contains(&format!("id=\"{id}\"")),
            "{bad}: {}",
            r.text()
        );
        assert!(!r.text().contains("id=\"q-error\""), "{bad}");
    }
    let csv = olga
        .get(&format!(
            "/console/t/a/profiles.csv?state=confirmed&{window}"
        ))
        .await;
    assert_eq!(csv.text().lines().count(), 1 + 4, "{}", csv.text());
    let csv = olga
        .get("/console/t/a/profiles.csv?state=confirmed&from=9999-01-01")
        .await;
    assert_eq!(csv.text().lines().count(), 1, "{}", csv.text());
    // Every HTML page: the CSP, no inline script or style.
    for p in &pages[..3] {
        let r = olga.get(p).await;
        let csp = r.headers["content-security-policy"].to_str().expect("csp");
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        let t = r.text();
        assert!(!t.contains("style="), "{p}");
        assert!(
            t.matches("<script").count() == t.matches("<script src=").count(),
            "{p}"
        );
    }
}

/// A search by date over more profiles than one page examines (`SCAN_MAX`): a page that
/// stopped at the bound says how far it looked and continues from there with the same days.
#[tokio::test]
async fn a_search_by_date_goes_on_past_its_bound() {
    let w = World::new().await;
    let n = u64::from(simforge_smdp::SCAN_MAX) + 100;
    // Tenant b's profiles, changed at 1_800_000_000 + k (2027-01-15, from 08:00 UTC).
    simforge_store::bench::fill(&w.api.store, w.b.id, w.b.id, n, 0)
        .await
        .expect("fill");
    let bob = Person::login(&w, "bob").await;
    // A window before every change: the first page examines SCAN_MAX profiles, finds none,
    // and continues after the last of them.
    let r = bob.get("/console/t/b/profiles?before=2027-01-14").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.text();
    assert!(t.contains("id=\"partial\""), "{t}");
    assert!(
        t.contains(&format!("Searched {} profiles", simforge_smdp::SCAN_MAX)),
        "{t}"
    );
    assert!(t.contains("No profile matches among these."), "{t}");
    let marker = "before=2027-01-14&amp;after=";
    let at = t.find(marker).expect("continue link") + marker.len();
    let after = &t[at..at + t[at..].find('"').expect("end")];
    let r = bob
        .get(&format!(
            "/console/t/b/profiles?before=2027-01-14&after={after}"
        ))
        .await;
    assert!(!r.text().contains("id=\"partial\""), "{}", r.text());
    assert!(r.text().contains("No profile matches."), "{}", r.text());
    // A window holding them: a full page, no note.
    let r = bob.get("/console/t/b/profiles?from=2027-01-15").await;
    assert!(!r.text().contains("id=\"partial\""), "{}", r.text());
    assert_eq!(
        r.text().matches("<tr><td data-label=\"ICCID\"").count(),
        50,
        "{}",
        r.text()
    );
    // The export goes through every page, the short ones too.
    let csv = bob
        .get("/console/t/b/profiles.csv?from=2027-01-15T09:00:00Z")
        .await;
    let want = n.saturating_sub(3600);
    assert_eq!(csv.text().lines().count() as u64, 1 + want);
}

/// An operator releases a profile (a confirmation step, then a POST with the CSRF field); a
/// viewer has no button, and their forged POST is refused by the policy; a POST without the
/// CSRF field is refused; everything is in the audit log, whose chain verifies.
#[tokio::test]
async fn actions_confirmation_csrf_and_audit() {
    let w = World::new().await;
    let olga = Person::login(&w, "olga").await;
    let vera = Person::login(&w, "vera").await;
    let bob = Person::login(&w, "bob").await;
    let (i, j) = (&w.iccids[0], &w.iccids[1]);
    let page = |i: &str| format!("/console/t/a/profiles/{i}");
    let release = |i: &str| format!("/console/t/a/profiles/{i}/release");
    let state = |r: &Reply| {
        let t = r.text();
        let marker = "id=\"state\"><strong>";
        let at = t.find(marker).expect("state") + marker.len();
        t[at..at + t[at..].find('<').expect("end")].to_owned()
    };

    // The viewer: no action, no activation code; the confirmation step and a forged POST
    // (with the viewer's own valid CSRF token) are refused.
    let r = vera.get(&page(i)).await;
    assert_eq!(state(&r), "confirmed");
    assert!(!r.text().contains(&release(i)), "a viewer sees no release");
    assert!(!r.text().contains("Actions"));
    assert_eq!(vera.get(&release(i)).await.status, StatusCode::FORBIDDEN);
    let token = vera.csrf().await;
    let r = vera.post(&release(i), &format!("_csrf={token}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(state(&olga.get(&page(i)).await), "confirmed");
    // Another tenant's operator: 404, nothing done.
    let token_b = bob.csrf().await;
    let r = bob.post(&release(i), &format!("_csrf={token_b}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The operator: a button to the confirmation step, which posts with the CSRF field.
    let r = olga.get(&page(i)).await;
    assert!(r.text().contains(&format!("href=\"{}\"", release(i))));
    let confirm = olga.get(&release(i)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    let token = field(&confirm.text(), "_csrf").expect("CSRF field");
    assert!(
        confirm
            .text()
            .contains(&format!("action=\"{}\"", release(i)))
    );
    // Without the CSRF field, or with another session's: refused, nothing done.
    for bad in [String::new(), format!("_csrf={token_b}"), "_csrf=00".into()] {
        let r = olga.post(&release(i), &bad).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{bad}");
    }
    assert_eq!(state(&olga.get(&page(i)).await), "confirmed");
    let r = olga.post(&release(i), &format!("_csrf={token}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location(), format!("{}?done=release", page(i)));
    let r = olga.get(&r.location()).await;
    assert_eq!(state(&r), "released");
    assert!(
        r.text().contains("LPA:1$smdp.example.com$"),
        "activation code"
    );
    let qr = olga.get(&format!("{}/qr.svg", page(i))).await;
    assert_eq!(qr.status, StatusCode::OK);
    assert_eq!(qr.headers["content-type"], "image/svg+xml");
    // The viewer sees the new state, still no code (the API's activation-code policy).
    let r = vera.get(&page(i)).await;
    assert_eq!(state(&r), "released");
    assert!(!r.text().contains("LPA:1$"));
    assert_eq!(
        vera.get(&format!("{}/qr.svg", page(i))).await.status,
        StatusCode::FORBIDDEN
    );
    // Released twice: refused by the SM-DP+, said on the confirmation page.
    let r = olga.post(&release(i), &format!("_csrf={token}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("role=\"alert\""));
    // Cancel, with its own confirmation.
    let cancel = format!("/console/t/a/profiles/{j}/cancel");
    assert_eq!(olga.get(&cancel).await.status, StatusCode::OK);
    let r = olga
        .post(&cancel, &format!("_csrf={token}&final_status=Available"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(state(&olga.get(&page(j)).await), "available");
    // Order and confirm an available profile: Allocated, then Released (its code shown).
    let k = &w.iccids[10];
    let act = |a: &str| format!("/console/t/a/profiles/{k}/{a}");
    assert!(olga.get(&page(k)).await.text().contains(&act("order")));
    assert_eq!(olga.get(&act("order")).await.status, StatusCode::OK);
    let r = olga
        .post(&act("order"), &format!("_csrf={token}&eid="))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = olga.get(&page(k)).await;
    assert_eq!(state(&r), "allocated");
    assert!(r.text().contains(&act("confirm")));
    let r = olga
        .post(&act("confirm"), &format!("_csrf={token}&release=true"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = olga.get(&page(k)).await;
    assert_eq!(state(&r), "released");
    assert!(r.text().contains("LPA:1$smdp.example.com$"));
    // A malformed EID: refused, said on the confirmation page.
    let m = &w.iccids[11];
    let r = olga
        .post(
            &format!("/console/t/a/profiles/{m}/order"),
            &format!("_csrf={token}&eid=123"),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.text().contains("role=\"alert\""));
    // An unknown action is no page.
    let r = olga
        .get(&format!("/console/t/a/profiles/{j}/explode"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The audit: the console's calls (as the API's, by the same recorder), refusals as
    // denied, the chain verified.
    let r = olga.get("/console/t/a/audit").await;
    let t = r.text();
    assert!(t.contains("Chain verified"), "{t}");
    assert!(
        t.contains("console.POST /console/t/{tenant}/profiles/{iccid}/release"),
        "{t}"
    );
    assert!(t.contains("user:olga") && t.contains("user:vera"));
    assert!(t.contains("denied") && t.contains(">ok<"));
    let t = olga.get("/console/t/a/audit?actor=vera").await.text();
    let table = &t[t.find("id=\"entries\"").expect("entries")..];
    assert!(table.contains("user:vera") && !table.contains("user:olga"));
    // The API's audit holds the same entries.
    let entries = w
        .api_call(Method::GET, "/api/v1/tenants/a/audit?limit=1000", None)
        .await
        .json();
    let release_entries: Vec<&serde_json::Value> = entries
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "console.POST /console/t/{tenant}/profiles/{iccid}/release")
        .collect();
    let outcome = |who: &str| {
        release_entries
            .iter()
            .filter(|e| e["actor"] == who)
            .map(|e| e["outcome"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(outcome("user:vera"), ["denied"]);
    // A POST without the right CSRF token has no principal (as in the API): not recorded.
    assert_eq!(outcome("user:olga"), ["ok", "failed:http-409"]);

    // Sign out: the session ends (the API's logout), the pages go back to the login.
    let token = olga.csrf().await;
    let r = olga
        .post("/console/logout", &format!("_csrf={token}"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(set_cookie(&r, "simforge_session").is_some_and(|c| c == "simforge_session="));
    assert_eq!(olga.get("/console/t/a").await.status, StatusCode::SEE_OTHER);
}

/// The login form: errors next to the field, TOTP for administrators, its own CSRF check,
/// and the session usable by the API (one session for both doors).
#[tokio::test]
async fn login_errors_totp_and_one_session_for_both_doors() {
    let w = World::new().await;
    let r = sign_in(&w, "olga", "wrong password!!", "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("id=\"username-error\""));
    let r = sign_in(&w, "root", PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("id=\"totp-error\""), "{}", r.text());
    // A login form without its cookie (another site's form): refused.
    let r = w
        .request(
            Method::POST,
            "/console/login",
            &[],
            Some((
                FORM,
                format!(
                    "username=olga&password={}&_csrf={}",
                    enc(PASSWORD),
                    "0".repeat(32)
                )
                .into_bytes(),
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(set_cookie(&r, "simforge_session").is_none());
    // The console's session is the API's.
    let olga = Person::login(&w, "olga").await;
    let r = olga.get("/api/v1/me").await;
    assert_eq!(r.json()["actor"], "user:olga", "{}", r.text());
    let me = olga.get("/console/login").await;
    assert_eq!(me.location(), "/console/t/a");
    // The assets: embedded, no inline script needed.
    let js = w
        .request(Method::GET, "/console/assets/console.js", &[], None)
        .await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.text().contains("time[datetime]"));
    assert_eq!(
        w.request(Method::GET, "/console/assets/x.js", &[], None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// A scripted tour of every page, the batch pages and an order upload included, as each
/// role: no page holds a Ki, an OPc, the transport key or the OP.
#[tokio::test]
async fn scripted_pages_never_hold_a_secret() {
    let w = World::new().await;
    let mut seen = String::new();
    let i = &w.iccids[0];
    let b = w.batch;
    for who in ["olga", "vera", "root", "fred", "ada"] {
        let p = Person::login(&w, who).await;
        let mut uris = vec![
            "/console/t/a".to_owned(),
            "/console/t/a/profiles".into(),
            "/console/t/a/profiles.csv".into(),
            format!("/console/t/a/profiles/{i}"),
            format!("/console/t/a/profiles/{i}/release"),
            "/console/t/a/audit".into(),
            "/console/t/a/batches".into(),
            format!("/console/t/a/batches/{b}"),
        ];
        uris.push("/console/t/a/keys".into());
        uris.extend([
            "/console/t/a/bulk".into(),
            "/console/t/a/bulk/release?type=standard&count=2".into(),
            "/console/account".into(),
        ]);
        if who == "root" || who == "fred" {
            uris.extend(["/console/tenants".into(), "/console/audit".into()]);
        }
        if who == "root" || who == "ada" {
            uris.extend(["/console/t/a/users".into(), "/console/t/a/es2".into()]);
        }
        for u in &uris {
            seen.push_str(&p.get(u).await.text());
        }
    }
    // An order uploaded, previewed, generated; the job's page.
    let olga = Person::login(&w, "olga").await;
    let token = olga.csrf().await;
    let boundary = "XyZ";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ntoml\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"order\"; filename=\"order.toml\"\r\nContent-Type: text/plain\r\n\r\n{}\r\n--{boundary}--\r\n",
        support::ORDER_TOML.replace("20", "5")
    );
    let ctype = format!("multipart/form-data; boundary={boundary}");
    let r = w
        .request(
            Method::POST,
            "/console/t/a/batches/preview",
            &[("cookie", &olga.cookie)],
            Some((&ctype, multipart.clone().into_bytes())),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("id=\"plan\""));
    seen.push_str(&r.text());
    // The same upload without the CSRF field: refused.
    let forged = multipart.replace(&token, "nope");
    let r = w
        .request(
            Method::POST,
            "/console/t/a/batches/preview",
            &[("cookie", &olga.cookie)],
            Some((&ctype, forged.into_bytes())),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A bad order: the error next to the file field.
    let bad = multipart.replace("quantity = 5", "quantity = x");
    let r = w
        .request(
            Method::POST,
            "/console/t/a/batches/preview",
            &[("cookie", &olga.cookie)],
            Some((&ctype, bad.into_bytes())),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("id=\"order-error\""));
    let order = support::ORDER_TOML.replace("20", "5");
    // Batch names come from the clock: a minute later than the first batch's.
    w.clock.fetch_add(60, std::sync::atomic::Ordering::SeqCst);
    let r = olga
        .post(
            "/console/t/a/batches",
            &format!("_csrf={token}&format=toml&order={}", enc(&order)),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let job = r.location();
    assert!(job.starts_with("/console/t/a/jobs/"), "{job}");
    let r = olga.get(&job).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("data-job=\"/api/v1/tenants/a/jobs/"));
    seen.push_str(&r.text());
    // The job ends; its batch's cards go into the inventory from the batch page.
    let id = job.rsplit('/').next().expect("job id");
    let mut done = serde_json::Value::Null;
    for _ in 0..600 {
        done = w
            .api_call(Method::GET, &format!("/api/v1/tenants/a/jobs/{id}"), None)
            .await
            .json();
        if done["state"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(done["state"], "done", "{done}");
    let new_batch = done["batch_id"].as_i64().expect("batch");
    let r = olga.get(&job).await;
    assert!(
        r.text()
            .contains(&format!("/console/t/a/batches/{new_batch}"))
    );
    let page = olga.get(&format!("/console/t/a/batches/{new_batch}")).await;
    assert!(page.text().contains("id=\"import\""));
    let import = format!("/console/t/a/batches/{new_batch}/import");
    let r = olga
        .post(&import, &format!("_csrf={token}&profile_type=standard"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("Added 5 profiles"), "{}", r.text());
    seen.push_str(&r.text());
    let r = olga
        .post(&import, &format!("_csrf={token}&profile_type=standard"))
        .await;
    assert!(r.text().contains("Added 0 profiles") || r.status.is_client_error());

    // The viewer may not generate: no upload form, and the POST is refused.
    let vera = Person::login(&w, "vera").await;
    assert!(
        !vera
            .get("/console/t/a/batches")
            .await
            .text()
            .contains("enctype")
    );
    let vt = vera.csrf().await;
    assert!(
        !vera
            .get(&format!("/console/t/a/batches/{new_batch}"))
            .await
            .text()
            .contains("id=\"import\"")
    );
    let r = vera
        .post(&import, &format!("_csrf={vt}&profile_type=standard"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = vera
        .post(
            "/console/t/a/batches",
            &format!("_csrf={vt}&format=toml&order={}", enc(&order)),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Files: the operator may download the .out, not the electrical file (the factory may).
    let files = olga.get(&format!("/console/t/a/batches/{b}")).await.text();
    assert!(files.contains("not for your role"));
    assert!(files.contains(".out\" download"), "{files}");

    let upper = seen.to_uppercase();
    for s in &w.secrets {
        assert!(
            !upper.contains(&s.to_uppercase()),
            "a secret in a page: {s}"
        );
    }
    assert!(seen.len() > 10_000);
}

/// Public routes are only the login and the assets; every other need is the API's.
#[test]
fn public_routes_are_few() {
    let public: Vec<&str> = simforge_console::ROUTES
        .iter()
        .filter(|r| simforge_console::need(r) == Some(Need::Public))
        .map(|r| r.path)
        .collect();
    assert_eq!(
        public,
        [
            "/console",
            "/console/login",
            "/console/login",
            "/console/assets/{file}"
        ]
    );
}

/// A multipart form of text fields and one file.
fn multipart(fields: &[(&str, &str)], file: (&str, &str)) -> (String, Vec<u8>) {
    let b = "BoUnDaRy7";
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\n{}\r\n--{b}--\r\n",
        file.0, file.1
    ));
    (
        format!("multipart/form-data; boundary={b}"),
        body.into_bytes(),
    )
}

/// Keys, people, tokens and ES2+ credentials: for the roles the API's table lets manage
/// them; secrets shown once on the answer to their creation, never in a list; another
/// tenant's pages are not found.
#[tokio::test]
async fn keys_people_tokens_and_es2_credentials() {
    let w = World::new().await;
    let ada = Person::login(&w, "ada").await;
    let olga = Person::login(&w, "olga").await;
    let bob = Person::login(&w, "bob").await;
    for p in ["/console/t/a/users", "/console/t/a/es2"] {
        assert_eq!(ada.get(p).await.status, StatusCode::OK, "{p}");
        assert_eq!(olga.get(p).await.status, StatusCode::FORBIDDEN, "{p}");
        assert_eq!(bob.get(p).await.status, StatusCode::NOT_FOUND, "{p}");
    }
    // The navigation shows what the role may open.
    let nav = olga.get("/console/t/a").await.text();
    assert!(!nav.contains("href=\"/console/t/a/users\""));
    assert!(
        ada.get("/console/t/a")
            .await
            .text()
            .contains("href=\"/console/t/a/users\"")
    );

    // Keys: listed for every tenant role, never shown; imported by an administrator only.
    let r = olga.get("/console/t/a/keys").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("id=\"keys\"") && !r.text().contains("enctype"));
    const KEY: &str = "00112233445566778899AABBCCDDEEFF";
    let token = ada.csrf().await;
    let (ctype, body) = multipart(
        &[("_csrf", &token), ("kind", "transport"), ("index", "2")],
        ("key", KEY),
    );
    let r = w
        .request(
            Method::POST,
            "/console/t/a/keys",
            &[("cookie", &ada.cookie)],
            Some((&ctype, body.clone())),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("Imported the transport key 2"));
    assert!(!r.text().to_uppercase().contains(KEY));
    // The same index again: the conflict next to the file field.
    let r = w
        .request(
            Method::POST,
            "/console/t/a/keys",
            &[("cookie", &ada.cookie)],
            Some((&ctype, body)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("id=\"key-error\""));
    let ot = olga.csrf().await;
    let (ctype, body) = multipart(
        &[("_csrf", &ot), ("kind", "transport"), ("index", "3")],
        ("key", KEY),
    );
    let r = w
        .request(
            Method::POST,
            "/console/t/a/keys",
            &[("cookie", &olga.cookie)],
            Some((&ctype, body)),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "an operator imports no key"
    );

    // A token: its secret once, usable on the API, revoked from the console.
    let r = ada
        .post(
            "/console/t/a/tokens",
            &format!("_csrf={token}&name=erp&role=operator&expires_in_days=30"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.text();
    let at = t.find("id=\"token-secret\">").expect("secret shown") + 18;
    let secret = t[at..at + t[at..].find('<').expect("end")].to_owned();
    assert!(secret.starts_with("sf_"), "{secret}");
    let list = ada.get("/console/t/a/users").await.text();
    assert!(!list.contains(&secret), "a secret in the list");
    let bearer = format!("Bearer {secret}");
    let use_it = || async {
        w.request(
            Method::GET,
            "/api/v1/tenants/a/batches",
            &[("authorization", &bearer)],
            None,
        )
        .await
        .status
    };
    assert_eq!(use_it().await, StatusCode::OK);
    let id = list
        .split("action=\"/console/t/a/tokens/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("a revoke form")
        .to_owned();
    let r = ada
        .post(
            &format!("/console/t/a/tokens/{id}/revoke"),
            &format!("_csrf={token}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(use_it().await, StatusCode::UNAUTHORIZED);
    // Tenant b's operator cannot revoke tenant a's tokens.
    let bt = bob.csrf().await;
    let r = bob
        .post(
            &format!("/console/t/a/tokens/{id}/revoke"),
            &format!("_csrf={bt}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A person: an administrator's TOTP enrollment shown once; a weak password refused.
    let r = ada
        .post(
            "/console/t/a/users",
            &format!(
                "_csrf={token}&username=otto&role=operator-admin&password={}",
                enc(PASSWORD)
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("id=\"totp-uri\">otpauth://"));
    assert!(
        !ada.get("/console/t/a/users")
            .await
            .text()
            .contains("otpauth://")
    );
    let r = ada
        .post(
            "/console/t/a/users",
            &format!("_csrf={token}&username=weak&role=operator&password=short"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"user-error\""));

    // An ES2+ API key: shown once, revoked.
    let r = ada
        .post("/console/t/a/es2/keys", &format!("_csrf={token}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.text();
    let at = t.find("id=\"api-key\">").expect("key shown") + 13;
    let key = t[at..at + t[at..].find('<').expect("end")].to_owned();
    assert!(key.len() > 20);
    let list = ada.get("/console/t/a/es2").await.text();
    assert!(!list.contains(&key));
    let cid = list
        .split("action=\"/console/t/a/es2/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("a revoke form")
        .to_owned();
    let r = ada
        .post(
            &format!("/console/t/a/es2/{cid}/revoke"),
            &format!("_csrf={token}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(ada.get("/console/t/a/es2").await.text().contains("revoked"));

    // A client certificate: registered, its fingerprint shown; again: refused next to it.
    let pem = simforge_testkit::stand_in::lab_pki().ci.to_pem();
    let (ctype, body) = multipart(&[("_csrf", &token)], ("certificate", &pem));
    let upload = || async {
        w.request(
            Method::POST,
            "/console/t/a/es2/client-certs",
            &[("cookie", &ada.cookie)],
            Some((&ctype, body.clone())),
        )
        .await
    };
    let r = upload().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("id=\"fingerprint\""));
    let r = upload().await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.text().contains("id=\"cert-error\""));

    // The callback endpoint: set by the tenant's administrator, shown with its deliveries.
    let r = ada
        .post(
            "/console/t/a/es2/callback",
            &format!(
                "_csrf={token}&url={}&retry_hours=12",
                enc("https://cb.example.com/es2")
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let t = ada.get("/console/t/a/es2").await.text();
    assert!(
        t.contains("https://cb.example.com/es2") && t.contains("12 hours"),
        "{t}"
    );
    let r = ada
        .post(
            "/console/t/a/es2/callback",
            &format!("_csrf={token}&url=&retry_hours=x"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"url-error\""));
}

/// One's account: who, and signing out everywhere (every session of the user ends).
#[tokio::test]
async fn account_and_sign_out_everywhere() {
    let w = World::new().await;
    let first = Person::login(&w, "olga").await;
    let second = Person::login(&w, "olga").await;
    let r = first.get("/console/account").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("user:olga") && r.text().contains("operator"));
    let token = first.csrf().await;
    let r = first
        .post(
            "/console/account/logout-everywhere",
            &format!("_csrf={token}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    for p in [&first, &second] {
        let r = p.get("/console/t/a").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.location().starts_with("/console/login"));
    }
    assert_eq!(
        w.request(Method::GET, "/console/account", &[], None)
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    // The password, changed on the account page: a wrong current password and two new ones
    // that differ are told next to their field; then every session ends.
    let p = Person::login(&w, "olga").await;
    let r = p.get("/console/account").await;
    assert!(r.text().contains("action=\"/console/account/password\""));
    let token = p.csrf().await;
    let form = |current: &str, new: &str, confirm: &str| {
        format!(
            "_csrf={token}&current={}&new={}&confirm={}",
            enc(current),
            enc(new),
            enc(confirm)
        )
    };
    const NEW: &str = "another long passphrase 7";
    let r = p
        .post(
            "/console/account/password",
            &form("wrong one here!", NEW, NEW),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("id=\"current-error\""), "{}", r.text());
    let r = p
        .post(
            "/console/account/password",
            &form(PASSWORD, NEW, "something else 123"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"new-error\""), "{}", r.text());
    let r = p
        .post("/console/account/password", &form(PASSWORD, NEW, NEW))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(r.location().starts_with("/console/login"));
    assert!(!r.text().contains(NEW));
    let r = p.get("/console/t/a").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

/// Tenants: created by a platform administrator in the console (the API's call), refused to
/// a tenant's people.
#[tokio::test]
async fn tenants_by_the_platform() {
    let w = World::new().await;
    let root = Person::login(&w, "root").await;
    let olga = Person::login(&w, "olga").await;
    let token = root.csrf().await;
    let form = format!(
        "_csrf={token}&name=c&mcc=001&mnc=02&iccid_prefix=8900103&iccid_len=19&spn=Tenant+c"
    );
    let r = root.post("/console/tenants", &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("Created tenant c."));
    assert!(r.text().contains("href=\"/console/t/c\""));
    // Again: the name is taken, said above the form.
    let r = root.post("/console/tenants", &form).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("id=\"tenant-error\""));
    assert_eq!(root.get("/console/t/c").await.status, StatusCode::OK);
    // The platform's people and tokens.
    let r = root.get("/console/platform/users").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("value=\"factory\"") && !r.text().contains("value=\"viewer\""));
    let r = root
        .post(
            "/console/platform/users",
            &format!(
                "_csrf={token}&username=fay&role=factory&password={}",
                enc(PASSWORD)
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("Added <strong>fay</strong>"));
    let r = root
        .post(
            "/console/platform/users",
            &format!(
                "_csrf={token}&username=x&role=viewer&password={}",
                enc(PASSWORD)
            ),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a tenant role is not the platform's"
    );
    let r = root
        .post(
            "/console/platform/tokens",
            &format!("_csrf={token}&name=ci&role=factory"),
        )
        .await;
    assert!(r.text().contains("id=\"token-secret\">sf_"));
    let fred = Person::login(&w, "fred").await;
    assert_eq!(
        fred.get("/console/platform/users").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        olga.get("/console/platform/users").await.status,
        StatusCode::FORBIDDEN
    );

    // Quotas: read by the tenant, set by the platform.
    let r = root
        .post(
            "/console/t/a/quotas",
            &format!("_csrf={token}&api_rps=&batch_cards_per_day=&inventory_max=5000"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("Saved."));
    let q = olga.get("/console/t/a/quotas").await;
    assert_eq!(q.status, StatusCode::OK);
    assert!(q.text().contains("5000") && !q.text().contains("id=\"inventory_max\""));
    let r = root
        .post("/console/t/a/quotas", &format!("_csrf={token}&api_rps=0"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"quota-error\""));
    let ot = olga.csrf().await;
    let r = olga
        .post(
            "/console/tenants",
            &form.replace(&token, &ot).replace("name=c", "name=d"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// The entries of a ZIP archive: name and bytes.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read as _;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    (0..z.len())
        .map(|n| {
            let mut f = z.by_index(n).expect("entry");
            let mut b = Vec::new();
            f.read_to_end(&mut b).expect("read");
            (f.name().expect("a name").to_string(), b)
        })
        .collect()
}

/// Bulk: N profiles of a type released after a confirmation step (the API's call), their
/// codes as CSV and as a ZIP of the CSV and one PNG QR code each; the viewer and another
/// tenant refused; a release that runs out stops and says so; the API's ZIP the same.
#[tokio::test]
async fn bulk_release_and_activation_codes() {
    let w = World::new().await;
    let olga = Person::login(&w, "olga").await;
    let vera = Person::login(&w, "vera").await;
    let bob = Person::login(&w, "bob").await;
    // The viewer has no bulk page, link or download; another tenant's operator: not found.
    assert!(
        !vera
            .get("/console/t/a")
            .await
            .text()
            .contains("/console/t/a/bulk")
    );
    assert!(
        olga.get("/console/t/a")
            .await
            .text()
            .contains("/console/t/a/bulk")
    );
    for uri in [
        "/console/t/a/bulk",
        "/console/t/a/bulk/release?type=standard&count=2",
        "/console/t/a/bulk/codes.csv?type=standard",
    ] {
        assert_eq!(vera.get(uri).await.status, StatusCode::FORBIDDEN, "{uri}");
        assert_eq!(bob.get(uri).await.status, StatusCode::NOT_FOUND, "{uri}");
    }
    let token = vera.csrf().await;
    let r = vera
        .post(
            "/console/t/a/bulk/release",
            &format!("_csrf={token}&type=standard&count=2"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The form, its errors next to the field, the confirmation step.
    let r = olga.get("/console/t/a/bulk").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("action=\"/console/t/a/bulk/release\""));
    let r = olga
        .get("/console/t/a/bulk/release?type=standard&count=0")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"count-error\""), "{}", r.text());
    let r = olga
        .get("/console/t/a/bulk/release?type=standard&count=3")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.text();
    assert!(t.contains("16 of the type are available"), "{t}");
    let token = field(&t, "_csrf").expect("CSRF field");
    // Nothing is released without the CSRF field.
    let r = olga
        .post("/console/t/a/bulk/release", "type=standard&count=3")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = olga
        .post(
            "/console/t/a/bulk/release",
            &format!("_csrf={token}&type=standard&count=3"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.text();
    let released: Vec<String> = w.iccids[4..7].to_vec();
    for i in &released {
        assert!(t.contains(&format!("/console/t/a/profiles/{i}")), "{t}");
    }
    let list = released.join(",");
    let csv_uri = format!("/console/t/a/bulk/codes.csv?iccids={list}");
    let zip_uri = format!("/console/t/a/bulk/codes.zip?iccids={list}");
    assert!(t.contains(&csv_uri) && t.contains(&zip_uri), "{t}");
    for i in &released {
        let p = olga.get(&format!("/console/t/a/profiles/{i}")).await.text();
        assert!(p.contains("<strong>released</strong>"), "{p}");
    }

    // The CSV: a header line and one code per profile.
    let r = olga.get(&csv_uri).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("a-activation-codes.csv")
    );
    let csv = r.text();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "iccid,eid,matching_id,activation_code");
    assert_eq!(lines.len(), 4, "{csv}");
    for (line, i) in lines[1..].iter().zip(&released) {
        assert!(line.starts_with(&format!("{i},,")), "{line}");
        assert!(line.contains(",LPA:1$smdp.example.com$"), "{line}");
    }
    // The ZIP: the same CSV and a PNG per profile.
    let r = olga.get(&zip_uri).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/zip");
    let entries = unzip(&r.body);
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0].0, "activation-codes.csv");
    assert_eq!(String::from_utf8_lossy(&entries[0].1), csv);
    for ((name, png), i) in entries[1..].iter().zip(&released) {
        assert_eq!(name, &format!("{i}.png"));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
    // By type: the released profiles of the type.
    let by_type = olga.get("/console/t/a/bulk/codes.csv?type=standard").await;
    assert_eq!(by_type.text(), csv);
    // Codes of a profile without an order: refused; of another tenant's: not found.
    let r = olga
        .get(&format!(
            "/console/t/a/bulk/codes.csv?iccids={}",
            w.iccids[19]
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = bob
        .get(&format!(
            "/console/t/b/bulk/codes.csv?iccids={}",
            w.iccids[4]
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // More than are left: the 13 available are released, then it stops and says why.
    let r = olga
        .post(
            "/console/t/a/bulk/release",
            &format!("_csrf={token}&type=standard&count=20"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.text();
    assert!(t.contains("Released <strong>13</strong>"), "{t}");
    assert!(t.contains("Stopped after 13 of 20"), "{t}");
    // None left: nothing released, said on the form.
    let r = olga
        .post(
            "/console/t/a/bulk/release",
            &format!("_csrf={token}&type=standard&count=1"),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.text().contains("Nothing was released"));

    // The API: the same release call and the same codes, as CSV or ZIP.
    let r = w
        .api_call(
            Method::POST,
            "/api/v1/tenants/a/releases",
            Some(serde_json::json!({ "profile_type": "standard", "count": 0 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = w
        .api_call(
            Method::GET,
            "/api/v1/tenants/a/activation-codes?profile_type=standard&format=zip",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/zip");
    let entries = unzip(&r.body);
    assert_eq!(entries.len(), 1 + 16);
    // The audit: the console's bulk release, as the API records it.
    let t = olga.get("/console/t/a/audit").await.text();
    assert!(
        t.contains("console.POST /console/t/{tenant}/bulk/release"),
        "{t}"
    );
}

/// TOTP enrollment on the account page: the new secret shown once to its owner (QR code, URI
/// and key), confirmed with the password and a current code; then every login needs a code.
/// A wrong password or code, an expired enrollment, another user's: refused. An administrator
/// without TOTP is sent there after signing in.
#[tokio::test]
async fn totp_enrollment_on_the_account_page() {
    use simforge_access::AccessStore as _;
    let w = World::new().await;
    let olga = Person::login(&w, "olga").await;
    let r = olga.get("/console/account").await;
    let t = r.text();
    assert!(t.contains("id=\"totp-state\">Off"), "{t}");
    assert!(!t.contains("otpauth://") && !t.contains("totp-needed"));
    let token = olga.csrf().await;
    // Only with the session's CSRF token.
    let r = olga.post("/console/account/totp", "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let begin = async || {
        olga.post("/console/account/totp", &format!("_csrf={token}"))
            .await
    };
    let r = begin().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.text();
    assert!(t.contains("<svg role=\"img\""), "an inline QR code");
    assert!(!t.contains("style="), "no inline style (CSP)");
    let marker = "id=\"totp-uri\">";
    let at = t.find(marker).expect("the URI") + marker.len();
    let uri = t[at..at + t[at..].find('<').expect("end")].replace("&amp;", "&");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let key = uri
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .expect("key");
    assert!(t.contains(&format!("id=\"totp-key\">{key}<")));
    let enrollment = field(&t, "enrollment").expect("the enrollment field");
    assert!(!enrollment.contains(key), "the enrollment is sealed");
    let confirm = async |password: &str, code: &str, enrollment: &str| {
        olga.post(
            "/console/account/totp/confirm",
            &format!(
                "_csrf={token}&enrollment={}&password={}&code={code}",
                enc(enrollment),
                enc(password)
            ),
        )
        .await
    };
    // A wrong code, a wrong password: the step again, the error next to the field.
    let r = confirm(PASSWORD, "000000", &enrollment).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("id=\"totp-code-error\""), "{}", r.text());
    assert!(!r.text().contains("otpauth://"), "the secret is shown once");
    let code = totp_code(&uri, w.now());
    let r = confirm("wrong password", &code, &enrollment).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Another user's enrollment is not olga's.
    let vera = Person::login(&w, "vera").await;
    let vtoken = vera.csrf().await;
    let theirs = field(
        &vera
            .post("/console/account/totp", &format!("_csrf={vtoken}"))
            .await
            .text(),
        "enrollment",
    )
    .expect("enrollment");
    let r = confirm(PASSWORD, &code, &theirs).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The right password and code: on.
    let r = confirm(PASSWORD, &code, &enrollment).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location(), "/console/account?totp=on");
    let t = olga.get(&r.location()).await.text();
    assert!(t.contains("id=\"totp-on\"") && t.contains("id=\"totp-state\">On"));
    assert!(!t.contains("otpauth://"));
    // From now on olga signs in with a code (not the one just used).
    let r = sign_in(&w, "olga", PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("id=\"totp-error\""));
    let r = sign_in(&w, "olga", PASSWORD, &code).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a used code is refused");
    w.clock.fetch_add(30, std::sync::atomic::Ordering::SeqCst);
    let r = sign_in(&w, "olga", PASSWORD, &totp_code(&uri, w.now())).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // Replacing the authenticator takes a code of the present one too.
    let t = begin().await.text();
    let again = field(&t, "enrollment").expect("enrollment");
    let at = t.find(marker).expect("the URI") + marker.len();
    let uri2 = t[at..at + t[at..].find('<').expect("end")].replace("&amp;", "&");
    let code2 = totp_code(&uri2, w.now());
    let r = confirm(PASSWORD, &code2, &again).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "without the present code"
    );
    let r = olga
        .post(
            "/console/account/totp/confirm",
            &format!(
                "_csrf={token}&enrollment={}&password={}&code={code2}&current_code=000000",
                enc(&again),
                enc(PASSWORD)
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a wrong present code");
    w.clock.fetch_add(30, std::sync::atomic::Ordering::SeqCst);
    let code2 = totp_code(&uri2, w.now());
    let r = olga
        .post(
            "/console/account/totp/confirm",
            &format!(
                "_csrf={token}&enrollment={}&password={}&code={code2}&current_code={}",
                enc(&again),
                enc(PASSWORD),
                totp_code(&uri, w.now())
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // An enrollment confirmed too late: begin again.
    let t = begin().await.text();
    let late = field(&t, "enrollment").expect("enrollment");
    w.clock
        .fetch_add(16 * 60, std::sync::atomic::Ordering::SeqCst);
    let r = confirm(PASSWORD, "123456", &late).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("expired"), "{}", r.text());
    // The audit: the enrollment (never the secret).
    let t = w
        .api_call(Method::GET, "/api/v1/tenants/a/audit?limit=1000", None)
        .await
        .text();
    assert!(t.contains("\"user.totp\""), "{t}");
    assert!(!t.contains(key));

    // An administrator without TOTP (a database of an older release): sent to enroll.
    let phc = simforge_access::hash_password(
        &simforge_access::Secret::new(PASSWORD),
        &mut rand_core::OsRng,
    )
    .expect("hash");
    w.api
        .store
        .create_user(&simforge_access::NewUser {
            tenant: Some(w.a.id),
            username: "adele".into(),
            role: simforge_access::Role::OperatorAdmin,
            password_phc: phc,
            totp_sealed: None,
            created_at: w.now(),
        })
        .await
        .expect("store")
        .expect("created");
    let r = sign_in(&w, "adele", PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location(), "/console/account");
    // The API: an API token has no TOTP of its own.
    let r = w.api_call(Method::POST, "/api/v1/me/totp", None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
}

/// After the release, the lab PKI's virtual eUICC downloads the profile through the real LPA
/// from the SM-DP+ the console reads; the profile page then shows it Installed on that EID,
/// with its history: the state changes and the ES9+ download points with their outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_profile_downloaded_shows_installed_with_its_history() {
    let w = World::new().await;
    let olga = Person::login(&w, "olga").await;
    let i = &w.iccids[0];
    let page = format!("/console/t/a/profiles/{i}");
    let token = olga.csrf().await;
    let r = olga
        .post(&format!("{page}/release"), &format!("_csrf={token}"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let t = olga.get(&page).await.text();
    let marker = "id=\"activation-code\">";
    let at = t.find(marker).expect("the activation code") + marker.len();
    let code = t[at..at + t[at..].find('<').expect("end")].replace("&amp;", "&");
    w.clock.fetch_add(60, std::sync::atomic::Ordering::SeqCst);
    let done = w.download(&code).await.expect("the download");
    assert_eq!(&done.iccid, i);
    assert!(done.notification_sent);
    let t = olga.get(&page).await.text();
    assert!(t.contains("id=\"state\"><strong>installed</strong>"), "{t}");
    assert!(t.contains(&w.eid()), "the EID: {t}");
    let timeline = &t[t.find("class=\"timeline\"").expect("the history")..];
    for step in [
        "<strong>released</strong> → <strong>downloaded</strong>",
        "<strong>downloaded</strong> → <strong>installed</strong>",
        "ES9+ eligibility check",
        "ES9+ bound profile package delivered",
        "ES9+ installation",
    ] {
        assert!(timeline.contains(step), "{step}: {timeline}");
    }
    assert!(!timeline.contains("failed, SGP.22"), "{timeline}");
}

/// The audit page's time range: since and until (whole UTC days), checked next to the field;
/// the API's `until` the same.
#[tokio::test]
async fn audit_by_time_range() {
    let w = World::new().await;
    let olga = Person::login(&w, "olga").await;
    // The World's entries are of 2026-11-30 (UTC), on its clock (a few, of the batch's
    // generation, on the wall clock).
    let t = olga
        .get("/console/t/a/audit?since=2026-11-30&until=2026-11-30")
        .await
        .text();
    assert!(t.contains("id=\"entries\""), "{t}");
    let t = olga.get("/console/t/a/audit?until=2026-11-29").await.text();
    assert!(!t.contains("id=\"entries\"") && t.contains("No entry matches"));
    let t = olga.get("/console/t/a/audit?since=9999-12-01").await.text();
    assert!(!t.contains("id=\"entries\""));
    let r = olga
        .get("/console/t/a/audit?since=2026-12-01&until=2026-11-30")
        .await;
    assert!(r.text().contains("after the first day"));
    let r = olga.get("/console/t/a/audit?until=30.11.2026").await;
    assert!(r.text().contains("a date: YYYY-MM-DD"));
    // The API: entries before `until`.
    let all = w
        .api_call(Method::GET, "/api/v1/tenants/a/audit?limit=1000", None)
        .await
        .json();
    let all = all.as_array().expect("entries");
    assert!(!all.is_empty());
    let cut = all[all.len() / 2]["at"].as_i64().expect("at");
    let some = w
        .api_call(
            Method::GET,
            &format!("/api/v1/tenants/a/audit?limit=1000&until={cut}"),
            None,
        )
        .await
        .json();
    let some = some.as_array().expect("entries");
    assert!(some.iter().all(|e| e["at"].as_i64() < Some(cut)));
    assert_eq!(
        some.len(),
        all.iter().filter(|e| e["at"].as_i64() < Some(cut)).count()
    );
}
