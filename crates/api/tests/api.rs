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
use support::{Reply, World, totp_code};

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
}

/// Every documented route is routed (not the fallback, not 405).
#[tokio::test]
async fn every_documented_route_exists() {
    let w = World::new().await;
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
#[tokio::test]
async fn role_by_route_matrix() {
    let w = World::new().await;
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
#[tokio::test]
async fn sessions_tokens_and_throttling() {
    let w = World::new().await;
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
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api"] {
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
    assert!(r.headers.contains_key("retry-after"));
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
#[tokio::test]
async fn tenant_isolation_by_identifier_guessing() {
    let w = World::new().await;
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
#[tokio::test]
async fn profile_history_only_for_its_tenant() {
    use simforge_smdp::{SmdpStore as _, SmdpTx as _};
    use simforge_store::bench;
    let w = World::new().await;
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
#[tokio::test]
async fn scripted_tour_leaks_no_secret() {
    let w = World::new().await;
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
