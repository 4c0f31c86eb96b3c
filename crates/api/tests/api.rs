//! The operator API end to end in memory: the route table against the OpenAPI document (and
//! an independent validator), the role × route matrix generated from the table, tenant
//! isolation by identifier guessing, sessions (CSRF, timeouts, TOTP, throttling), tokens
//! revoked at once, and a scripted tour whose every response and audit entry is searched for
//! the batch's secrets.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use simforge_access::{Action, Role, allowed};
use simforge_api::policy::{Need, ROUTES};
use simforge_audit::AuditLog as _;
use support::{Db, Reply, World, totp_code};

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).expect("method")
}

/// (METHOD, path) of every operation the OpenAPI document describes.
fn documented() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(simforge_api::openapi()).expect("json");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_route_has_a_policy_and_is_documented() {
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(table.len(), ROUTES.len(), "a route is twice in the table");
    let doc = documented();
    let undocumented: Vec<_> = table.difference(&doc).collect();
    let without_policy: Vec<_> = doc.difference(&table).collect();
    assert!(
        undocumented.is_empty(),
        "in the policy table, not in the OpenAPI document: {undocumented:?}"
    );
    assert!(
        without_policy.is_empty(),
        "routes without a policy: {without_policy:?}"
    );
    let doc = serde_json::to_value(simforge_api::openapi()).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    // The search by date is documented.
    let search = &doc["paths"]["/api/v1/tenants/{tenant}/profiles"]["get"];
    let params: Vec<&str> = search["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in ["updated_from", "updated_until"] {
        assert!(params.contains(&name), "{params:?}");
    }
    let out = &doc["components"]["schemas"]["SearchOut"]["properties"];
    assert!(out.get("scanned").is_some(), "{out}");
}

/// Every documented route is routed (not the fallback, not 405).
async fn every_documented_route_exists(db: Db) {
    let w = World::on(db).await;
    let admin = w.token(Role::PlatformAdmin, None).await;
    for (m, path) in documented() {
        let uri = fill(&path, "a");
        let r = w.call(method(&m), &uri, &admin, None).await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
        assert!(
            !(r.status == StatusCode::NOT_FOUND && r.json()["detail"] == "no such route"),
            "{m} {path} is documented but not routed"
        );
    }
    let r = w.call(Method::GET, "/api/v1/nowhere", &admin, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.headers["content-type"], "application/problem+json",
        "errors are problem+json"
    );
    assert_eq!(r.json()["type"], "urn:simforge:problem:not-found");
}

/// The OpenAPI document passes an independent validator (Python openapi-spec-validator).
#[test]
fn the_openapi_document_passes_an_independent_validator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    let doc = serde_json::to_vec_pretty(&simforge_api::openapi()).expect("json");
    std::fs::write(&file, doc).expect("write");
    let run = std::process::Command::new("openapi-spec-validator")
        .arg(&file)
        .output();
    match run {
        Ok(o) => assert!(
            o.status.success(),
            "openapi-spec-validator: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: openapi-spec-validator not found ({e})");
        }
        Err(e) => panic!("openapi-spec-validator not found in CI: {e}"),
    }
}

/// A path template with its parameters filled (`tenant` given; ids that exist nowhere).
fn fill(path: &str, tenant: &str) -> String {
    path.replace("{tenant}", tenant)
        .replace("{id}", "999999")
        .replace("{username}", "nobody")
        .replace("{iccid}", "8900101000000000009")
        .replace("{name}", "x.out")
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Seen {
    /// Through the policy (whatever the handler then said).
    Pass,
    Forbidden,
    /// 404 for the tenant itself: another tenant's, existence not revealed.
    Hidden,
    Unauthenticated,
}

fn seen(r: &Reply, tenant: &str) -> Seen {
    match r.status {
        StatusCode::UNAUTHORIZED => Seen::Unauthenticated,
        StatusCode::FORBIDDEN if r.code() == "forbidden" => Seen::Forbidden,
        StatusCode::NOT_FOUND if r.json()["detail"] == format!("tenant {tenant}") => Seen::Hidden,
        _ => Seen::Pass,
    }
}

fn expected(need: Need, role: Role, own: bool) -> Seen {
    let may = |a: Action, own: bool| match allowed(role, a, own) {
        true => Seen::Pass,
        false => Seen::Forbidden,
    };
    match need {
        Need::Public | Need::Authenticated => Seen::Pass,
        Need::Platform(a) => may(a, false),
        Need::Tenant(_) if !own && !role.is_platform() => Seen::Hidden,
        Need::Tenant(a) => may(a, own),
    }
}

/// Every route × every role × own tenant and another's: the status the policy table says.
async fn role_by_route_matrix(db: Db) {
    let w = World::on(db).await;
    let mut principals = Vec::new();
    for role in Role::ALL {
        let tenant = (!role.is_platform()).then_some(&w.a);
        principals.push((role, w.token(role, tenant).await));
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for route in ROUTES {
        // Without a principal.
        let r = w
            .call_from(
                method(route.method),
                &fill(route.path, "a"),
                &[],
                Some(json!({})),
                None,
            )
            .await;
        let want = match route.need {
            Need::Public => Seen::Pass,
            _ => Seen::Unauthenticated,
        };
        if seen(&r, "a") != want {
            failures.push(format!(
                "anonymous {} {}: {:?} ({})",
                route.method,
                route.path,
                seen(&r, "a"),
                r.status
            ));
        }
        for (role, token) in &principals {
            for (tenant, own) in [("a", true), ("b", false)] {
                if !route.path.contains("{tenant}") && !own {
                    continue;
                }
                let r = w
                    .call(
                        method(route.method),
                        &fill(route.path, tenant),
                        token,
                        Some(json!({})),
                    )
                    .await;
                checked += 1;
                let (got, want) = (seen(&r, tenant), expected(route.need, *role, own));
                if got != want {
                    failures.push(format!(
                        "{role} {} {} on tenant {tenant}: {got:?}, expected {want:?} ({} {})",
                        route.method,
                        route.path,
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 200, "{checked} cases");
    // Calls without a principal are not recorded (anyone could grow the chain with them); the
    // principals' refused calls are, as denied.
    let log = w
        .api
        .store
        .entries(&simforge_audit::Query::default())
        .await
        .expect("audit");
    assert!(!log.iter().any(|e| e.actor.contains("anonymous")));
    assert!(log.iter().any(|e| e.outcome.to_string() == "denied"));
}

const PASSWORD: &str = "correct horse battery staple";

async fn login(w: &World, user: &str, password: &str, totp: Option<String>) -> Reply {
    let mut body = json!({ "username": user, "password": password });
    if let Some(c) = totp {
        body["totp"] = c.into();
    }
    w.call_from(Method::POST, "/api/v1/session", &[], Some(body), None)
        .await
}

fn session_cookie(r: &Reply) -> String {
    let c = r.headers["set-cookie"].to_str().expect("cookie");
    c.split(';').next().expect("name=value").to_owned()
}

/// Sessions: TOTP for administrators, the cookie's attributes, CSRF, idle timeout, logout;
/// tokens revoked at once; throttling per account and per source.
async fn sessions_tokens_and_throttling(db: Db) {
    let w = World::on(db).await;
    let admin = w.token(Role::PlatformAdmin, None).await;
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/users",
            &admin,
            Some(json!({ "username": "ada", "role": "operator-admin", "password": PASSWORD })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let uri = r.json()["totp_uri"]
        .as_str()
        .expect("admins get TOTP")
        .to_owned();

    let r = login(&w, "ada", PASSWORD, None).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNAUTHORIZED, "totp-required")
    );
    let r = login(&w, "ada", "wrong password!!", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let now = support::T0;
    let r = login(&w, "ada", PASSWORD, Some(totp_code(&uri, now))).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let set = r.headers["set-cookie"].to_str().expect("cookie").to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{attr} missing from {set}");
    }
    let cookie = session_cookie(&r);
    let csrf = r.json()["csrf_token"].as_str().expect("csrf").to_owned();
    assert_eq!(r.json()["me"]["tenant"], "a");
    let with = |extra: Option<&'static str>| -> Vec<(&'static str, String)> {
        let mut h = vec![("cookie", cookie.clone())];
        if let Some(c) = extra {
            h.push(("x-csrf-token", c.to_owned()));
        }
        h
    };
    let call = |m: Method, uri: &'static str, h: Vec<(&'static str, String)>| {
        let w = &w;
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.call_from(m, uri, &h, None, None).await
        }
    };
    let r = call(Method::GET, "/api/v1/me", with(None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["role"], "operator-admin");
    // A state-changing request without or with a wrong CSRF token is refused, and nothing done.
    let r = call(Method::POST, "/api/v1/tenants/a/credentials", with(None)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "csrf")
    );
    let r = call(
        Method::POST,
        "/api/v1/tenants/a/credentials",
        with(Some("00ff")),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "csrf")
    );
    let r = w
        .call(Method::GET, "/api/v1/tenants/a/credentials", &admin, None)
        .await;
    assert_eq!(
        r.json().as_array().map(Vec::len),
        Some(0),
        "nothing was created"
    );
    let mut h = vec![("cookie", cookie.clone()), ("x-csrf-token", csrf.clone())];
    let hv: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = w
        .call_from(
            Method::POST,
            "/api/v1/tenants/a/credentials",
            &hv,
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // Idle for longer than the idle timeout: the session is over.
    w.advance(1801);
    let r = call(Method::GET, "/api/v1/me", with(None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Logout: the cookie is refused afterwards.
    let now = support::T0 + 1801 + 60;
    w.advance(60);
    let r = login(&w, "ada", PASSWORD, Some(totp_code(&uri, now))).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    h = vec![
        ("cookie", session_cookie(&r)),
        (
            "x-csrf-token",
            r.json()["csrf_token"].as_str().expect("csrf").to_owned(),
        ),
    ];
    let hv: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = w
        .call_from(Method::DELETE, "/api/v1/session", &hv, None, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = w
        .call_from(Method::GET, "/api/v1/me", &hv[..1], None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A token works until revoked, and not one request after.
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/tokens",
            &admin,
            Some(json!({ "name": "ci", "role": "viewer", "expires_in_days": 7 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let (id, secret) = (
        r.json()["token"]["id"].clone(),
        r.json()["secret"].as_str().expect("secret").to_owned(),
    );
    assert_eq!(
        w.call(Method::GET, "/api/v1/tenants/a/batches", &secret, None)
            .await
            .status,
        StatusCode::OK
    );
    let r = w
        .call(
            Method::DELETE,
            &format!("/api/v1/tenants/a/tokens/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        w.call(Method::GET, "/api/v1/tenants/a/batches", &secret, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Brute force on one account: locked after 5 failures, even for the right password.
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/users",
            &admin,
            Some(json!({ "username": "vic", "role": "viewer", "password": PASSWORD })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    for _ in 0..5 {
        assert_eq!(
            login(&w, "vic", "not the password", None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = login(&w, "vic", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::LOCKED);
    assert_eq!(
        r.headers["retry-after"], "900",
        "locked for 15 minutes on the API's clock"
    );
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/users/vic/unlock",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        login(&w, "vic", PASSWORD, None).await.status,
        StatusCode::OK
    );

    // Brute force from one address over many accounts: throttled (429) after 20 failures.
    let from: SocketAddr = "192.0.2.7:40000".parse().expect("addr");
    let mut last = StatusCode::OK;
    for i in 0..21 {
        let body = json!({ "username": format!("guess{i}"), "password": "nope nope nope" });
        last = w
            .call_from(Method::POST, "/api/v1/session", &[], Some(body), Some(from))
            .await
            .status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Every attempt is in the audit log, with its address.
    let r = w
        .call(Method::GET, "/api/v1/audit?limit=1000", &admin, None)
        .await;
    let entries = r.json();
    let logins = entries
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "login" && e["source"] == "192.0.2.7")
        .count();
    assert_eq!(logins, 21);
    // Behind a trusted proxy the client is the forwarded address; an untrusted peer's
    // X-Forwarded-For is ignored (it would let anyone pick the address it is throttled as).
    let body = json!({ "username": "nobody", "password": "nope nope nope" });
    let proxy: SocketAddr = "192.0.2.250:40000".parse().expect("addr");
    let xff = [("x-forwarded-for", "198.51.100.9")];
    w.call_from(
        Method::POST,
        "/api/v1/session",
        &xff,
        Some(body.clone()),
        Some(proxy),
    )
    .await;
    let other: SocketAddr = "192.0.2.8:40000".parse().expect("addr");
    w.call_from(
        Method::POST,
        "/api/v1/session",
        &xff,
        Some(body),
        Some(other),
    )
    .await;
    let r = w
        .call(Method::GET, "/api/v1/audit?limit=1000", &admin, None)
        .await;
    let sources: Vec<String> = r
        .json()
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| {
            e["action"] == "login" && e["target"].as_str().is_some_and(|t| t.ends_with("nobody"))
        })
        .map(|e| e["source"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(sources, ["198.51.100.9", "192.0.2.8"]);
}

async fn wait_job(w: &World, token: &str, tenant: &str, job: &Value) -> Value {
    let uri = format!("/api/v1/tenants/{tenant}/jobs/{}", job["id"]);
    for _ in 0..600 {
        let j = w.call(Method::GET, &uri, token, None).await.json();
        if j["state"] != "running" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {uri} still running after a minute");
}

const TRANSPORT_KEY: &str = "000102030405060708090A0B0C0D0E0F";
const OP: &str = "CDC202D5123E20F62B6D676AC72CB318";

/// Keys, an order, its batch and the inventory import in tenant `tenant`, as `token`.
async fn batch_and_inventory(w: &World, token: &str, tenant: &str) -> (i64, Value) {
    for (kind, value) in [("transport", TRANSPORT_KEY), ("op", OP)] {
        let r = w
            .call(
                Method::POST,
                &format!("/api/v1/tenants/{tenant}/keys"),
                token,
                Some(json!({ "kind": kind, "index": 1, "value": value })),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(!String::from_utf8_lossy(&r.body).contains(value));
    }
    let order = json!({ "format": "toml", "order": "quantity = 20\niccid_start = \"next\"\nimsi_start = \"next\"\nkid = 1\nopid = 1\n" });
    let r = w
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/orders/validate"),
            token,
            Some(order.clone()),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["quantity"], 20);
    let r = w
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/batches"),
            token,
            Some(order),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    // The progress as it happens (Server-Sent Events), to the last event.
    let events = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{tenant}/jobs/{}/events", r.json()["id"]),
            token,
            None,
        )
        .await;
    assert_eq!(events.headers["content-type"], "text/event-stream");
    let text = String::from_utf8_lossy(&events.body).into_owned();
    assert!(
        text.trim_end().lines().any(|l| l == "event: done"),
        "{text}"
    );
    assert!(!text.contains("event: failed"), "{text}");
    let job = wait_job(w, token, tenant, &r.json()).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["done"], 20);
    let batch = job["batch_id"].as_i64().expect("batch id");
    let r = w
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/inventory/import"),
            token,
            Some(json!({ "batch_id": batch, "profile_type": "standard" })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["added"], 20);
    (batch, job)
}

/// Tenant B guessing tenant A's identifiers: 404, never data.
async fn tenant_isolation_by_identifier_guessing(db: Db) {
    let w = World::on(db).await;
    let admin = w.token(Role::PlatformAdmin, None).await;
    let a = w.token(Role::OperatorAdmin, Some(&w.a)).await;
    let (batch, job) = batch_and_inventory(&w, &a, "a").await;
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/a/batches/{batch}/files"),
            &a,
            None,
        )
        .await;
    let file = r.json()[0]["name"].as_str().expect("a file").to_owned();
    let iccid = w
        .call(Method::GET, "/api/v1/tenants/a/summary", &a, None)
        .await;
    assert_eq!(iccid.json()["profiles"]["available"], 20);
    let r = w
        .call(Method::POST, "/api/v1/tenants/a/credentials", &a, None)
        .await;
    let cred = r.json()["id"].clone();
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/tokens",
            &a,
            Some(json!({ "name": "t", "role": "viewer" })),
        )
        .await;
    let token = r.json()["token"]["id"].clone();
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/users",
            &admin,
            Some(json!({ "username": "al", "role": "viewer", "password": PASSWORD })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let profile = w.api.store.batch(batch).await.expect("batch");
    let first_iccid = {
        let body = format!(
            "{:0w$}",
            profile.iccid.first,
            w = usize::try_from(profile.iccid.len - 1).unwrap_or(0)
        );
        let luhn = luhn(&body);
        format!("{body}{luhn}")
    };
    assert_eq!(
        w.call(
            Method::GET,
            &format!("/api/v1/tenants/a/profiles/{first_iccid}"),
            &a,
            None
        )
        .await
        .status,
        StatusCode::OK
    );

    let b = w.token(Role::OperatorAdmin, Some(&w.b)).await;
    let job_id = &job["id"];
    for (m, uri) in [
        (Method::GET, format!("/api/v1/tenants/a/batches/{batch}")),
        (Method::GET, format!("/api/v1/tenants/b/batches/{batch}")),
        (
            Method::GET,
            format!("/api/v1/tenants/b/batches/{batch}/files"),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/b/batches/{batch}/files/{file}"),
        ),
        (
            Method::POST,
            format!("/api/v1/tenants/b/batches/{batch}/release"),
        ),
        (Method::GET, format!("/api/v1/tenants/b/jobs/{job_id}")),
        (
            Method::GET,
            format!("/api/v1/tenants/b/profiles/{first_iccid}"),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/b/profiles/{first_iccid}/history"),
        ),
        (
            Method::POST,
            format!("/api/v1/tenants/b/profiles/{first_iccid}/download-order"),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/b/profiles/{first_iccid}/activation-code"),
        ),
        (
            Method::POST,
            format!("/api/v1/tenants/b/profiles/{first_iccid}/reset"),
        ),
        (Method::DELETE, format!("/api/v1/tenants/b/tokens/{token}")),
        (
            Method::DELETE,
            format!("/api/v1/tenants/b/credentials/{cred}"),
        ),
        (Method::POST, "/api/v1/tenants/b/users/al/unlock".to_owned()),
        (Method::GET, "/api/v1/tenants/a/audit".to_owned()),
        (Method::GET, "/api/v1/tenants/a/users".to_owned()),
    ] {
        let body = (m == Method::POST).then(|| json!({ "to": "available" }));
        let r = w.call(m.clone(), &uri, &b, body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{m} {uri}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            !text.contains(&first_iccid) || uri.contains(&first_iccid),
            "{uri} leaks: {text}"
        );
    }
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/b/profiles?iccid={}", &first_iccid[..10]),
            &b,
            None,
        )
        .await;
    assert_eq!(
        r.json()["profiles"],
        json!([]),
        "B's search finds none of A's profiles"
    );
    // B's own lists hold nothing of A.
    for uri in [
        "/api/v1/tenants/b/audit?limit=1000",
        "/api/v1/tenants/b/users",
        "/api/v1/tenants/b/batches",
        "/api/v1/tenants/b/tokens",
        "/api/v1/tenants/b/credentials",
    ] {
        let r = w.call(Method::GET, uri, &b, None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        for e in r.json().as_array().expect("list") {
            assert_ne!(e["tenant"], json!(w.a.id), "{uri}: {e}");
            assert_ne!(e["username"], "al", "{uri}");
            assert_ne!(e["id"], token, "{uri}");
        }
    }
    // A's things are all still there.
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/a/batches/{batch}"),
            &a,
            None,
        )
        .await;
    assert_eq!(r.json()["state"], "complete");
}

/// A profile's history: its tenant reads it; another tenant guessing the ICCID, an unknown
/// ICCID, and an ICCID that is only the prefix of a profile's get 404 (the handler checks the
/// profile on the store's pool, by the whole ICCID as a search prefix).
async fn profile_history_only_for_its_tenant(db: Db) {
    use simforge_smdp::{SmdpStore as _, SmdpTx as _};
    use simforge_store::bench;
    let w = World::on(db).await;
    let mut rng = bench::Rng(1);
    let ordered = loop {
        let p = bench::record(w.a.id, 0, &mut rng).expect("record");
        if p.eid.is_some() {
            break p;
        }
    };
    // A 20-digit ICCID whose first 19 digits are no profile's.
    let mut long = bench::record(w.a.id, 1, &mut rng).expect("record");
    let short = long.iccid.clone();
    long.iccid = format!("{short}7").parse().expect("20 digits");
    let mut tx = w.api.store.begin().await.expect("begin");
    tx.insert_profile(&ordered).await.expect("insert");
    tx.push_events(&bench::events(&ordered))
        .await
        .expect("events");
    tx.insert_profile(&long).await.expect("insert");
    tx.commit().await.expect("commit");

    let a = w.token(Role::Viewer, Some(&w.a)).await;
    let b = w.token(Role::Viewer, Some(&w.b)).await;
    let i = &ordered.iccid;
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/a/profiles/{i}/history"),
            &a,
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let kinds: Vec<Value> = r
        .json()
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!("state"),
            json!("state"),
            json!("download"),
            json!("download"),
            json!("state")
        ]
    );
    for (tenant, token, iccid) in [
        ("b", &b, i.to_string()),
        ("a", &a, short.to_string()),
        ("a", &a, format!("{}9", &i.as_str()[..i.as_str().len() - 1])),
    ] {
        let uri = format!("/api/v1/tenants/{tenant}/profiles/{iccid}/history");
        let r = w.call(Method::GET, &uri, token, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(
            !String::from_utf8_lossy(&r.body).contains("download"),
            "{uri}"
        );
    }
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/a/profiles/{}/history", long.iccid),
            &a,
            None,
        )
        .await;
    assert_eq!((r.status, r.json()), (StatusCode::OK, json!([])));
}

/// `GET /api/v1/tenants/{tenant}/smds-events`: the tenant's SM-DS operations, newest first,
/// never another tenant's.
async fn smds_events_only_for_their_tenant(db: Db) {
    use simforge_smdp::{SmdpStore as _, SmdpTx as _, SmdsOp, SmdsOpKind};
    let w = World::on(db).await;
    let eid: simforge_asn1::Eid = "89049032123451234512345678901235".parse().expect("eid");
    let op = |tenant: i64, kind, event: &str| SmdsOp {
        operator_id: tenant,
        iccid: Some("8949449999999990023".parse().expect("iccid")),
        kind,
        smds_address: "smds.example.com".into(),
        eid,
        event_id: simforge_asn1::MatchingId::parse(event).expect("event id"),
        due: 1_700_000_000,
        at: 1_700_000_000,
    };
    let mut tx = w.api.store.begin().await.expect("begin");
    tx.push_smds_ops(&[
        op(w.a.id, SmdsOpKind::Register, "EV-A"),
        op(w.b.id, SmdsOpKind::Register, "EV-B"),
        op(w.a.id, SmdsOpKind::Delete, "EV-A"),
    ])
    .await
    .expect("push");
    tx.commit().await.expect("commit");
    let a = w.token(Role::Viewer, Some(&w.a)).await;
    let b = w.token(Role::Viewer, Some(&w.b)).await;
    let r = w
        .call(Method::GET, "/api/v1/tenants/a/smds-events", &a, None)
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let rows = r.json();
    let got: Vec<(Value, Value, Value)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|e| (e["op"].clone(), e["state"].clone(), e["event_id"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (json!("delete"), json!("pending"), json!("EV-A")),
            (json!("register"), json!("pending"), json!("EV-A"))
        ]
    );
    assert_eq!(rows[0]["smds_address"], "smds.example.com");
    assert_eq!(rows[0]["eid"], eid.to_string());
    assert_eq!(rows[0]["due"], "2023-11-14T22:13:20Z");
    let r = w
        .call(
            Method::GET,
            "/api/v1/tenants/a/smds-events?limit=1",
            &a,
            None,
        )
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
    let r = w
        .call(Method::GET, "/api/v1/tenants/a/smds-events", &b, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!String::from_utf8_lossy(&r.body).contains("EV-A"));
    let r = w
        .call(Method::GET, "/api/v1/tenants/b/smds-events", &b, None)
        .await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));

    // The SM-DS refused tenant A's registration: given up; its operator queues it again.
    use simforge_smdp::SmdsQueue as _;
    let now_ms = w.api.now().saturating_mul(1000);
    let claimed = w
        .api
        .store
        .claim_smds_ops(now_ms, 60_000, 10)
        .await
        .expect("claim");
    let register = claimed
        .iter()
        .find(|e| e.op.operator_id == w.a.id && e.op.kind == SmdsOpKind::Register)
        .expect("A's registration")
        .id;
    w.api
        .store
        .smds_op_failed(register, "8.9.5/3.3 refused", None, now_ms)
        .await
        .expect("given up");
    let path = format!("/api/v1/tenants/a/smds-events/{register}/requeue");
    let a_op = w.token(Role::Operator, Some(&w.a)).await;
    let b_op = w.token(Role::Operator, Some(&w.b)).await;
    let other = format!("/api/v1/tenants/b/smds-events/{register}/requeue");
    let r = w.call(Method::POST, &other, &b_op, None).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another tenant's operation"
    );
    let r = w.call(Method::POST, &path, &a, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a viewer may not");
    let r = w.call(Method::POST, &path, &a_op, None).await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let rows = w
        .call(Method::GET, "/api/v1/tenants/a/smds-events", &a, None)
        .await
        .json();
    let again = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|e| e["id"] == register)
        .expect("the operation");
    assert_eq!(again["state"], "pending", "{again}");
    assert_eq!(again["last_error"], "8.9.5/3.3 refused");
    let r = w.call(Method::POST, &path, &a_op, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no longer given up");
}

fn luhn(body: &str) -> u32 {
    let mut sum = 0;
    for (i, c) in body.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    (10 - sum % 10) % 10
}

/// The README's tour through the API: files per role, the inventory, activation codes, and
/// no Ki, OPc, OP or transport key in any response (but the files made to carry them) or
/// audit entry.
async fn scripted_tour_leaks_no_secret(db: Db) {
    let w = World::on(db).await;
    let admin = w.token(Role::PlatformAdmin, None).await;
    let op = w.token(Role::Operator, Some(&w.a)).await;
    let factory = w.token(Role::Factory, None).await;
    let (batch, _) = batch_and_inventory(&w, &admin, "a").await;
    let files = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/a/batches/{batch}/files"),
            &op,
            None,
        )
        .await
        .json();
    let files = files.as_array().expect("files").clone();
    assert_eq!(files.len(), 5, "{files:?}");
    let mut secrets: Vec<String> = vec![TRANSPORT_KEY.into(), OP.into()];
    for f in &files {
        let name = f["name"].as_str().expect("name");
        let uri = format!("/api/v1/tenants/a/batches/{batch}/files/{name}");
        let production = matches!(f["format"].as_str(), Some("elec" | "laser"));
        let (by_op, by_factory) = (
            w.call(Method::GET, &uri, &op, None).await,
            w.call(Method::GET, &uri, &factory, None).await,
        );
        assert_eq!(f["allowed"], !production, "{name}");
        let (ok, refused) = if production {
            (&by_factory, &by_op)
        } else {
            (&by_op, &by_factory)
        };
        assert_eq!(ok.status, StatusCode::OK, "{name}");
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{name}");
        if f["format"] == "pysim" {
            let text = String::from_utf8_lossy(&ok.body).into_owned();
            for line in text.lines().skip(1) {
                let cols: Vec<&str> = line.split(',').collect();
                secrets.push(cols[4].to_owned());
                secrets.push(cols[5].to_owned());
            }
        }
    }
    assert_eq!(secrets.len(), 2 + 40);
    // The inventory, a profile, an activation code, the summary, the audit.
    let r = w
        .call(Method::GET, "/api/v1/tenants/a/summary", &op, None)
        .await;
    assert_eq!(r.json()["profiles"]["available"], 20);
    assert_eq!(r.json()["batches"]["complete"], 1);
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/a/batches/{batch}"),
            &op,
            None,
        )
        .await;
    assert_eq!(r.json()["quantity"], 20);
    for uri in [
        "/api/v1/tenants/a/keys",
        "/api/v1/tenants/a/audit?limit=1000",
        "/api/v1/audit?limit=1000",
        "/api/v1/tenants/a",
        "/api/v1/me",
    ] {
        assert_eq!(
            w.call(Method::GET, uri, &admin, None).await.status,
            StatusCode::OK,
            "{uri}"
        );
    }
    let keys = w
        .call(Method::GET, "/api/v1/tenants/a/keys", &op, None)
        .await
        .json();
    assert_eq!(keys.as_array().map(Vec::len), Some(2));
    // Search by pages of 7: every profile exactly once, in ICCID order.
    let mut all = Vec::new();
    let mut uri = "/api/v1/tenants/a/profiles?state=available&limit=7".to_owned();
    loop {
        let page = w.call(Method::GET, &uri, &op, None).await.json();
        for p in page["profiles"].as_array().expect("profiles") {
            all.push(p["iccid"].as_str().expect("iccid").to_owned());
        }
        match page["next"].as_str() {
            Some(n) => {
                uri = format!("/api/v1/tenants/a/profiles?state=available&limit=7&after={n}")
            }
            None => break,
        }
    }
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((all.len(), &all), (20, &sorted));
    let prefix = &all[0][..18];
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/a/profiles?iccid={prefix}"),
            &op,
            None,
        )
        .await;
    assert!(
        r.json()["profiles"]
            .as_array()
            .is_some_and(|p| !p.is_empty() && p.len() <= 10)
    );
    for bad in [
        "state=gone",
        "eid=123",
        "iccid=89x",
        "after=1",
        "matching_id=a%20b",
    ] {
        let r = w
            .call(
                Method::GET,
                &format!("/api/v1/tenants/a/profiles?{bad}"),
                &op,
                None,
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{bad}"
        );
    }
    // By date of last change: RFC 3339 or a day (midnight UTC), a bad one is a 422 naming it.
    let page = w
        .call(Method::GET, "/api/v1/tenants/a/profiles", &op, None)
        .await
        .json();
    let times: Vec<i64> = page["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .map(|p| p["updated_at"].as_i64().expect("updated_at"))
        .collect();
    let (lo, hi) = (times.iter().min().copied(), times.iter().max().copied());
    let (lo, hi) = (lo.expect("a profile"), hi.expect("a profile"));
    let rfc = simforge_factory::clock::rfc3339;
    let dated = |q: String| {
        let w = &w;
        let op = &op;
        async move {
            w.call(
                Method::GET,
                &format!("/api/v1/tenants/a/profiles?state=available&limit=7&{q}"),
                op,
                None,
            )
            .await
        }
    };
    let mut found = Vec::new();
    let mut q = format!(
        "updated_from={}&updated_until={}",
        rfc(lo),
        rfc(hi + 1).replace('Z', "%2B00:00")
    );
    loop {
        let r = dated(q.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{q}");
        let page = r.json();
        for p in page["profiles"].as_array().expect("profiles") {
            found.push(p["iccid"].as_str().expect("iccid").to_owned());
        }
        assert_eq!(page["scanned"], json!(null));
        match page["next"].as_str() {
            Some(n) => {
                q = format!(
                    "updated_from={}&updated_until={}&after={n}",
                    rfc(lo),
                    rfc(hi + 1)
                );
            }
            None => break,
        }
    }
    assert_eq!(found, all);
    for q in [
        format!("updated_from={}", rfc(hi + 1)),
        "updated_until=1970-01-02".to_owned(),
        format!("updated_from={}&updated_until={}", rfc(lo), rfc(lo)),
    ] {
        let page = dated(q.clone()).await.json();
        assert_eq!(
            (&page["profiles"], &page["next"]),
            (&json!([]), &json!(null)),
            "{q}"
        );
    }
    let day = lo - lo.rem_euclid(86_400);
    let r = dated(format!("updated_from={}", &rfc(day)[..10]))
        .await
        .json();
    assert_eq!(r["profiles"].as_array().map(Vec::len), Some(7));
    for (bad, name) in [
        ("updated_from=2026-13-01", "updated_from"),
        ("updated_until=yesterday", "updated_until"),
        ("updated_from=2026-12-01T25:00:00Z", "updated_from"),
        ("updated_until=2026-02-30", "updated_until"),
        ("updated_from=2026-12-01T08:00:00", "updated_from"),
    ] {
        let r = dated(bad.to_owned()).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{bad}"
        );
        let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.starts_with(name), "{bad}: {detail}");
    }
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/tenants/a/profiles/{}", all[0]),
            &op,
            None,
        )
        .await;
    assert_eq!(r.json()["state"], "available");
    assert_eq!(r.json()["history"], json!([]));

    // A console user orders, confirms, cancels: the SM-DP+'s own ES2+ functions.
    let p = |s: &str| format!("/api/v1/tenants/a/profiles/{}/{s}", all[0]);
    let r = w
        .call(Method::POST, &p("download-order"), &op, Some(json!({})))
        .await;
    assert_eq!(
        (r.status, r.json()["state"].clone()),
        (StatusCode::OK, json!("allocated")),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = w
        .call(
            Method::POST,
            &p("confirm-order"),
            &op,
            Some(json!({ "release": true })),
        )
        .await;
    assert_eq!(
        r.json()["state"],
        "released",
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let mid = r.json()["matching_id"]
        .as_str()
        .expect("matchingId")
        .to_owned();
    let csv = w
        .call(Method::GET, "/api/v1/tenants/a/activation-codes", &op, None)
        .await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let csv = String::from_utf8_lossy(&csv.body).into_owned();
    assert!(
        csv.starts_with("iccid,eid,matching_id,activation_code\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            "{},,{mid},LPA:1$smdp.example.com${mid}\r\n",
            all[0]
        )),
        "{csv}"
    );
    let r = w.call(Method::GET, &p("activation-code"), &op, None).await;
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        format!("LPA:1$smdp.example.com${mid}")
    );
    let r = w
        .call(
            Method::POST,
            &p("cancel-order"),
            &op,
            Some(json!({ "final_status": "Available" })),
        )
        .await;
    assert_eq!(
        r.json()["state"],
        "available",
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = w.call(Method::POST, &p("release"), &op, None).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::CONFLICT, "refused")
    );
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("SGP.22 status")),
        "{}",
        r.json()
    );
    let r = w.call(Method::GET, &p("history"), &op, None).await;
    let kinds: Vec<String> = r
        .json()
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            format!(
                "{}>{}",
                h["from"].as_str().unwrap_or(""),
                h["to"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "available>allocated",
            "allocated>released",
            "released>available"
        ],
        "{}",
        r.json()
    );
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/profiles/8900101999999999990/download-order",
            &op,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "{}",
        String::from_utf8_lossy(&r.body)
    );

    let seen = String::from_utf8_lossy(&w.seen.lock().expect("seen")).to_uppercase();
    let audit = w
        .api
        .store
        .entries(&simforge_audit::Query::default())
        .await
        .expect("audit");
    let audit = serde_json::to_string(&audit).expect("json").to_uppercase();
    assert!(
        audit.contains("KEY.IMPORT")
            && audit.contains("BATCH.GENERATE")
            && audit.contains("API.POST")
    );
    for s in &secrets {
        let s = s.to_uppercase();
        assert!(!seen.contains(&s), "a response holds secret {s}");
        assert!(!audit.contains(&s), "the audit log holds secret {s}");
    }
}

/// Quotas per tenant, set by the platform: requests per second, cards per day, inventory
/// size; 429 with Retry-After; the tenant cannot change its own.
async fn tenant_quotas(db: Db) {
    let w = World::on(db).await;
    let admin = w.token(Role::PlatformAdmin, None).await;
    let a = w.token(Role::OperatorAdmin, Some(&w.a)).await;
    let b = w.token(Role::OperatorAdmin, Some(&w.b)).await;
    let quotas = json!({ "api_rps": 1000, "batch_cards_per_day": 30, "inventory_max": 10 });
    let r = w
        .call(
            Method::PUT,
            "/api/v1/tenants/a/quotas",
            &a,
            Some(quotas.clone()),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a tenant does not set its own quotas"
    );
    let r = w
        .call(
            Method::PUT,
            "/api/v1/tenants/a/quotas",
            &admin,
            Some(quotas.clone()),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        w.call(Method::GET, "/api/v1/tenants/a/quotas", &a, None)
            .await
            .json(),
        quotas
    );
    // 20 cards fit in 30 per day, 20 more do not: 429 with the time until the first leaves.
    let (batch, _) = batch_and_inventory_limited(&w, &a).await;
    let order = json!({ "format": "toml", "order": "quantity = 20\nkid = 1\nopid = 1\n" });
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/batches",
            &a,
            Some(order.clone()),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "quota"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let retry: i64 = r.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=86_400).contains(&retry), "{retry}");
    // The inventory holds at most 10: a batch of 20 is refused whole.
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/inventory/import",
            &a,
            Some(json!({ "batch_id": batch, "profile_type": "t" })),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "quota")
    );
    let r = w
        .call(Method::GET, "/api/v1/tenants/a/summary", &a, None)
        .await;
    assert_eq!(r.json()["profiles"]["available"], 0, "nothing imported");
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/inventory/import",
            &a,
            Some(json!({ "batch_id": batch, "profile_type": "t", "limit": 10 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // 3 requests per second: the 4th in the same second is refused, the next second is new;
    // tenant b is not affected.
    let q = json!({ "api_rps": 3, "batch_cards_per_day": null, "inventory_max": null });
    assert_eq!(
        w.call(Method::PUT, "/api/v1/tenants/a/quotas", &admin, Some(q))
            .await
            .status,
        StatusCode::OK
    );
    w.advance(1);
    for _ in 0..3 {
        assert_eq!(
            w.call(Method::GET, "/api/v1/tenants/a/batches", &a, None)
                .await
                .status,
            StatusCode::OK
        );
    }
    let r = w
        .call(Method::GET, "/api/v1/tenants/a/batches", &a, None)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(
        w.call(Method::GET, "/api/v1/tenants/b/batches", &b, None)
            .await
            .status,
        StatusCode::OK
    );
    w.advance(1);
    assert_eq!(
        w.call(Method::GET, "/api/v1/tenants/a/batches", &a, None)
            .await
            .status,
        StatusCode::OK
    );
}

/// Keys and a batch of 20 in tenant a (no import).
async fn batch_and_inventory_limited(w: &World, token: &str) -> (i64, Value) {
    for (kind, value) in [("transport", TRANSPORT_KEY), ("op", OP)] {
        let body = json!({ "kind": kind, "index": 1, "value": value });
        let r = w
            .call(Method::POST, "/api/v1/tenants/a/keys", token, Some(body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let order = json!({ "format": "toml", "order": "quantity = 20\nkid = 1\nopid = 1\n" });
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/batches",
            token,
            Some(order),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let job = wait_job(w, token, "a", &r.json()).await;
    assert_eq!(job["state"], "done", "{job}");
    (job["batch_id"].as_i64().expect("batch"), job)
}

/// ES2+ credentials and the callback endpoint through the API, and profile packages uploaded
/// into the inventory.
async fn credentials_callback_and_uploaded_packages(db: Db) {
    use base64::Engine as _;
    let w = World::on(db).await;
    let a = w.token(Role::OperatorAdmin, Some(&w.a)).await;
    let viewer = w.token(Role::Viewer, Some(&w.a)).await;
    // A client certificate: registered (its SHA-256 pinned), listed, revocable.
    let pem = simforge_testkit::stand_in::lab_pki().ci.to_pem();
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/credentials/client-certs",
            &a,
            Some(json!({ "certificate_pem": pem })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["sha256"].as_str().map(str::len), Some(64));
    let id = r.json()["id"].clone();
    let list = w
        .call(Method::GET, "/api/v1/tenants/a/credentials", &a, None)
        .await
        .json();
    assert!(
        list.as_array()
            .expect("list")
            .iter()
            .any(|c| c["id"] == id && c["kind"] == "client-cert")
    );
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/credentials/client-certs",
            &a,
            Some(json!({ "certificate_pem": "not a certificate" })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        w.call(
            Method::DELETE,
            &format!("/api/v1/tenants/a/credentials/{id}"),
            &a,
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );

    // The callback endpoint: set, read back (never a key), half a client identity refused.
    let r = w
        .call(Method::PUT, "/api/v1/tenants/a/callback", &a, Some(json!({ "url": "https://bss.example.com/es2", "no_client_cert": true, "retry_hours": 6 })))
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let c = w
        .call(Method::GET, "/api/v1/tenants/a/callback", &viewer, None)
        .await
        .json();
    assert_eq!(
        (
            c["url"].as_str(),
            c["client_identity"].as_str(),
            c["retry_hours"].as_u64()
        ),
        (Some("https://bss.example.com/es2"), Some("none"), Some(6))
    );
    let r = w
        .call(
            Method::PUT,
            "/api/v1/tenants/a/callback",
            &a,
            Some(json!({ "client_cert_pem": pem })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = w
        .call(
            Method::PUT,
            "/api/v1/tenants/a/callback",
            &a,
            Some(json!({ "url": "ftp://x" })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        w.call(
            Method::PUT,
            "/api/v1/tenants/a/callback",
            &viewer,
            Some(json!({}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // Uploaded packages: all or none; the ICCID is the ProfileHeader's.
    let b64 = |p: &[u8]| base64::engine::general_purpose::STANDARD.encode(p);
    let (i1, i2) = (
        simforge_testkit::profiles::iccid(1),
        simforge_testkit::profiles::iccid(2),
    );
    let good = [
        b64(&simforge_testkit::profiles::built(&i1)),
        b64(&simforge_testkit::profiles::built(&i2)),
    ];
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/inventory/packages",
            &a,
            Some(json!({ "profile_type": "up", "packages": [good[0], b64(b"\x30\x00")] })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/inventory/packages",
            &a,
            Some(json!({ "profile_type": "up", "packages": ["%%%"] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = w
        .call(
            Method::GET,
            "/api/v1/tenants/a/profiles?profile_type=up",
            &a,
            None,
        )
        .await;
    assert_eq!(r.json()["profiles"], json!([]), "none of a refused upload");
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/inventory/packages",
            &a,
            Some(json!({ "profile_type": "up", "packages": good })),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["added"].clone()),
        (StatusCode::OK, json!(2)),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = w
        .call(
            Method::GET,
            "/api/v1/tenants/a/profiles?profile_type=up",
            &a,
            None,
        )
        .await;
    let body = r.json();
    let got: Vec<&str> = body["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .filter_map(|p| p["iccid"].as_str())
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().any(|g| g.starts_with(&i1[..18])));
}

/// Malformed requests are answered with problem+json naming what is wrong, and nothing is done.
async fn malformed_requests_are_problems(db: Db) {
    let w = World::on(db).await;
    let a = w.token(Role::OperatorAdmin, Some(&w.a)).await;
    let auth = format!("Bearer {a}");
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let mut cases = Vec::new();
    for (m, uri, body, status) in [
        (
            Method::POST,
            "/api/v1/tenants/a/keys",
            Some("{not json"),
            400,
        ),
        (
            Method::POST,
            "/api/v1/tenants/a/keys",
            Some(r#"{"kind":"transport"}"#),
            422,
        ),
        (
            Method::POST,
            "/api/v1/tenants/a/keys",
            Some(r#"{"kind":"transport","index":-1,"value":"00"}"#),
            422,
        ),
        (
            Method::POST,
            "/api/v1/tenants/a/keys",
            Some(r#"{"kind":"op","index":1,"value":"zz"}"#),
            422,
        ),
        (
            Method::GET,
            "/api/v1/tenants/a/batches/not-a-number",
            None,
            400,
        ),
        (Method::GET, "/api/v1/tenants/a/audit?after=-5", None, 400),
        (Method::GET, "/api/v1/tenants/a/profiles?limit=x", None, 400),
        (
            Method::POST,
            "/api/v1/tenants/a/orders/validate",
            Some(r#"{"format":"toml","order":"quantity = 0\nkid = 1\nopid = 1\n"}"#),
            422,
        ),
        (
            Method::POST,
            "/api/v1/tenants/a/orders/validate",
            Some(r#"{"format":"i01","order":"garbage"}"#),
            422,
        ),
    ] {
        let mut req = axum::http::Request::builder().method(m.clone()).uri(uri);
        for (k, v) in h {
            req = req.header(k, v);
        }
        let req = req
            .body(axum::body::Body::from(body.unwrap_or("").to_owned()))
            .expect("request");
        let r = tower::ServiceExt::oneshot(w.app.clone(), req)
            .await
            .expect("infallible");
        let (got, ctype) = (
            r.status().as_u16(),
            r.headers().get("content-type").cloned(),
        );
        let body = http_body_util::BodyExt::collect(r.into_body())
            .await
            .expect("body")
            .to_bytes();
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if got != status
            || ctype.as_ref().map(|c| c.as_bytes()) != Some(b"application/problem+json")
            || v["detail"].as_str().is_none_or(str::is_empty)
        {
            cases.push(format!("{m} {uri}: {got} {ctype:?} {v}"));
        }
    }
    // Without a JSON content type.
    let r = w
        .call_from(
            Method::POST,
            "/api/v1/tenants/a/keys",
            &[("authorization", auth.as_str())],
            None,
            None,
        )
        .await;
    if r.status != StatusCode::UNSUPPORTED_MEDIA_TYPE || r.code() != "unsupported-media-type" {
        cases.push(format!(
            "no content type: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    assert!(cases.is_empty(), "{}", cases.join("\n"));
    let keys = w
        .call(Method::GET, "/api/v1/tenants/a/keys", &a, None)
        .await
        .json();
    assert_eq!(keys, json!([]), "no key was stored");
}

/// The platform's own people and tokens: platform roles only, managed by its administrators.
async fn platform_users_and_tokens(db: Db) {
    let w = World::on(db).await;
    let admin = w.token(Role::PlatformAdmin, None).await;
    let r = w
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({ "name": "line 3", "role": "factory" })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let (id, factory) = (
        r.json()["token"]["id"].clone(),
        r.json()["secret"].as_str().expect("secret").to_owned(),
    );
    assert_eq!(
        w.call(Method::GET, "/api/v1/tenants/b/batches", &factory, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        w.call(Method::GET, "/api/v1/tokens", &factory, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = w
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({ "name": "x", "role": "viewer" })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a tenant role has a tenant"
    );
    let r = w
        .call(
            Method::POST,
            "/api/v1/users",
            &admin,
            Some(json!({ "username": "fab", "role": "factory", "password": PASSWORD })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(
        r.json()["totp_uri"].is_null(),
        "factory is no administrator"
    );
    let r = w
        .call(
            Method::POST,
            "/api/v1/users",
            &admin,
            Some(json!({ "username": "op", "role": "operator", "password": PASSWORD })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let users = w
        .call(Method::GET, "/api/v1/users", &admin, None)
        .await
        .json();
    assert!(
        users
            .as_array()
            .expect("users")
            .iter()
            .any(|u| u["username"] == "fab")
    );
    assert_eq!(
        w.call(Method::POST, "/api/v1/users/fab/unlock", &admin, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.call(Method::POST, "/api/v1/users/nobody/unlock", &admin, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &admin,
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.call(Method::GET, "/api/v1/tenants/b/batches", &factory, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

/// The admin listener (plain HTTP) has the SM-DP+ edge's limits: a client that never finishes
/// its headers is cut at the header deadline, and a real request on another connection is
/// answered meanwhile, with the peer's address given to the API.
#[tokio::test]
async fn the_admin_listener_cuts_a_stalled_client() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let w = World::on(Db::Sqlite).await;
    let token = w.token(Role::Operator, Some(&w.a)).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let timeouts = simforge_server::Timeouts {
        header_read: std::time::Duration::from_millis(300),
        ..simforge_server::Timeouts::default()
    };
    let server = tokio::spawn(simforge_server::serve_plain_with(
        listener,
        w.app.clone(),
        timeouts,
    ));
    let mut stalled = tokio::net::TcpStream::connect(at).await.unwrap();
    stalled
        .write_all(b"GET /api/v1/me HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let r = client
        .get(format!("http://{at}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut rest = Vec::new();
    let cut = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stalled.read_to_end(&mut rest),
    )
    .await;
    assert!(
        cut.is_ok(),
        "a client stalled in its headers still holds its connection after 10 s"
    );
    server.abort();
}

/// `/healthz` and `/readyz` need no login (a load balancer asks them).
async fn health_and_readiness(db: Db) {
    let w = World::on(db).await;
    let r = w.call_from(Method::GET, "/healthz", &[], None, None).await;
    assert_eq!(r.status, 200);
    let r = w.call_from(Method::GET, "/readyz", &[], None, None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["database"], "ok");
    assert_eq!(r.json()["smdp"], "loaded");
}

/// A person changes their own password: the current one must match, the new one must pass
/// the policy; every session of theirs ends; the old password no longer logs in; an API token
/// has no password; the change is audited without either password.
async fn password_change(db: Db) {
    let w = World::on(db).await;
    let admin = w.token(Role::PlatformAdmin, None).await;
    let r = w
        .call(
            Method::POST,
            "/api/v1/tenants/a/users",
            &admin,
            Some(json!({ "username": "pat", "role": "operator", "password": PASSWORD })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = login(&w, "pat", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = session_cookie(&r);
    let csrf = r.json()["csrf_token"].as_str().expect("csrf").to_owned();
    let change = |current: &str, new: &str| {
        let (w, cookie, csrf) = (&w, cookie.clone(), csrf.clone());
        let body = json!({ "current": current, "new": new });
        async move {
            let h = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
            w.call_from(Method::POST, "/api/v1/me/password", &h, Some(body), None)
                .await
        }
    };
    const NEW: &str = "a much better passphrase 42";
    let r = change("not my password at all", NEW).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = change(PASSWORD, "short").await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = change(PASSWORD, NEW).await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(
        r.headers["set-cookie"]
            .to_str()
            .expect("cookie")
            .contains("Max-Age=0")
    );
    // The session that made the change has ended with every other one.
    let h = [("cookie", cookie.as_str())];
    let r = w.call_from(Method::GET, "/api/v1/me", &h, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login(&w, "pat", PASSWORD, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&w, "pat", NEW, None).await.status, StatusCode::OK);
    // A token has no password.
    let token = w.token(Role::Operator, Some(&w.a)).await;
    let r = w
        .call(
            Method::POST,
            "/api/v1/me/password",
            &token,
            Some(json!({ "current": PASSWORD, "new": NEW })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Audited: the denied and the done change, neither password.
    let entries = w
        .api
        .store
        .entries(&simforge_audit::Query::default())
        .await
        .expect("audit");
    let changes: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "user.password")
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    let all = serde_json::to_string(&entries).expect("json");
    assert!(!all.contains(NEW) && !all.contains(PASSWORD));
}

/// Every story above, on SQLite and on PostgreSQL (a private server per story; skipped
/// without PostgreSQL's binaries, failed when `CI` is set).
macro_rules! on_every_backend {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    super::$story(super::Db::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    if let Some(db) = super::Db::postgres(stringify!($story)) {
                        super::$story(db).await;
                    }
                }
            )*
        }
    };
}

/// Key rotation on every node: the platform's administrator moves the cluster's key
/// generation (each node polls it and reloads its keys); nobody else may; the call is audited.
async fn platform_key_reload(db: Db) {
    let w = World::on(db).await;
    let admin = w.token(Role::PlatformAdmin, None).await;
    let operator_admin = w.token(Role::OperatorAdmin, Some(&w.a)).await;
    let path = "/api/v1/platform/keys/reload";
    for want in [1, 2] {
        let r = w.call(Method::POST, path, &admin, None).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        // This world serves no SM-DP+: only the generation moves.
        assert_eq!(r.json(), json!({ "generation": want, "thisNode": "none" }));
    }
    let keys = simforge_store::cluster::KEYS_GENERATION;
    assert_eq!(w.api.store.cluster_counter(keys).await.expect("counter"), 2);
    let r = w.call(Method::POST, path, &operator_admin, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(w.api.store.cluster_counter(keys).await.expect("counter"), 2);
    let audit = w
        .call(Method::GET, "/api/v1/audit", &admin, None)
        .await
        .json();
    let reloads = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == format!("api.POST {path}"))
        .count();
    assert!(reloads >= 2, "{audit}");
    let services = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "keys.reload")
        .count();
    assert_eq!(services, 2, "{audit}");
}

on_every_backend!(
    platform_key_reload,
    every_documented_route_exists,
    role_by_route_matrix,
    sessions_tokens_and_throttling,
    tenant_isolation_by_identifier_guessing,
    profile_history_only_for_its_tenant,
    smds_events_only_for_their_tenant,
    scripted_tour_leaks_no_secret,
    tenant_quotas,
    credentials_callback_and_uploaded_packages,
    malformed_requests_are_problems,
    platform_users_and_tokens,
    health_and_readiness,
    password_change
);
