//! The API in memory: a SQLite store in a temporary directory or a private PostgreSQL
//! server ([`Db`]), a fixed master key, an injected clock, requests through the router (no
//! sockets), tenants `a` and `b`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use simforge_access::Role;
use simforge_api::{Api, ApiConfig};
use simforge_audit::Actor;
use simforge_store::{Operator, Store};
use simforge_vault::{MasterKey, Vault};
use tower::ServiceExt as _;

pub const T0: i64 = 1_796_000_000;

/// The database a [`World`] runs on.
pub enum Db {
    /// SQLite in the world's temporary directory.
    Sqlite,
    /// A private PostgreSQL server (kept running as long as the world).
    Postgres(simforge_testkit::postgres::Postgres),
}

impl Db {
    /// A private PostgreSQL server for `test`; `None` (the test says "skipped") without
    /// PostgreSQL's binaries, a panic instead when `CI` is set.
    pub fn postgres(test: &str) -> Option<Self> {
        simforge_testkit::postgres::Postgres::start(test).map(Self::Postgres)
    }
}

pub struct World {
    pub api: Api,
    pub app: Router,
    pub clock: Arc<AtomicI64>,
    pub a: Operator,
    pub b: Operator,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL server, if the world runs on one.
    pub db: Option<simforge_testkit::postgres::Postgres>,
    /// Every response body seen (for the secrets check), but file downloads.
    pub seen: std::sync::Mutex<Vec<u8>>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_owned()
    }
}

async fn tenant(store: &Store, name: &str, prefix: &str) -> Operator {
    simforge_factory::operators::create(
        store,
        &Actor::system(),
        simforge_factory::operators::NewOperatorRequest {
            name: name.into(),
            mcc: "001".into(),
            mnc: "01".into(),
            iccid_prefix: prefix.into(),
            iccid_len: 19,
            spn: format!("Tenant {name}"),
            out_columns: None,
            reuse_on_delete: false,
        },
    )
    .await
    .expect("tenant")
}

impl World {
    pub async fn new() -> Self {
        Self::on(Db::Sqlite).await
    }

    pub async fn on(db: Db) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, db) = match db {
            Db::Sqlite => (
                Store::open_sqlite(&dir.path().join("simforge.sqlite"))
                    .await
                    .expect("store"),
                None,
            ),
            Db::Postgres(pg) => (
                Store::connect_postgres(&pg.url(), 8).await.expect("store"),
                Some(pg),
            ),
        };
        let vault: Arc<dyn Vault> = Arc::new(MasterKey::from_bytes([7; 32]));
        let clock = Arc::new(AtomicI64::new(T0));
        let pki = simforge_testkit::stand_in::lab_pki();
        let keys = simforge_smdp::SmdpKeys::from_pkis(&[&pki]).expect("keys");
        let smdp = simforge_esim::platform::smdp(
            store.clone(),
            simforge_smdp::SmdpConfig::new("smdp.example.com"),
            keys,
            vault.clone(),
        );
        let c = clock.clone();
        let api = Api::with_clock(
            store.clone(),
            vault,
            ApiConfig {
                keys: None,
                data_dir: dir.path().to_owned(),
                threads: 1,
                smdp_address: Some("smdp.example.com".into()),
                secure_cookies: true,
                smdp: Some(Arc::new(smdp)),
                trusted_proxies: simforge_server::TrustedProxies(vec![
                    "192.0.2.250".parse().expect("cidr"),
                ]),
            },
            Arc::new(move || c.load(Ordering::SeqCst)),
        );
        let a = tenant(&store, "a", "8900101").await;
        let b = tenant(&store, "b", "8900102").await;
        Self {
            app: simforge_api::router(api.clone()),
            api,
            clock,
            a,
            b,
            dir,
            db,
            seen: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    /// A token of `role` in `tenant` (none for platform roles).
    pub async fn token(&self, role: Role, tenant: Option<&Operator>) -> String {
        let now = self.clock.load(Ordering::SeqCst);
        let (_, secret) = self
            .api
            .access
            .create_token(
                &Actor::system(),
                tenant.map(|t| t.id),
                role,
                &format!("test {role}"),
                now + 86_400,
                now,
                &mut rand_core::OsRng,
            )
            .await
            .expect("token");
        secret.expose().to_owned()
    }

    /// One request: `auth` is `Bearer …` or a cookie header value; `from` a client address.
    pub async fn call_from(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
        from: Option<SocketAddr>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).expect("json"))
            }
            None => Body::empty(),
        };
        let mut req = req.body(body).expect("request");
        if let Some(a) = from {
            req.extensions_mut().insert(ConnectInfo(a));
        }
        let r = self.app.clone().oneshot(req).await.expect("infallible");
        let status = r.status();
        let headers = r.headers().clone();
        let body = r
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        if !uri.contains("/files/") {
            self.seen.lock().expect("seen").extend_from_slice(&body);
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn call(&self, method: Method, uri: &str, token: &str, body: Option<Value>) -> Reply {
        let auth = format!("Bearer {token}");
        self.call_from(method, uri, &[("authorization", &auth)], body, None)
            .await
    }
}

pub use simforge_testkit::totp::totp_code;
