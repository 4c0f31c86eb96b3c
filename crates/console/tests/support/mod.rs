//! The console and the API in memory (a SQLite store in a temporary directory, a fixed master
//! key, an injected clock), tenants `a` and `b`, people of each role, and a batch of 20 cards
//! in tenant a's inventory with profiles ordered and confirmed (ready to release); a virtual
//! eUICC of the lab PKI that downloads a released profile through the real LPA into the same
//! SM-DP+ the console reads ([`World::download`]).

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use simforge_access::{CreateUser, Role, Secret};
use simforge_api::{Api, ApiConfig};
use simforge_audit::Actor;
use simforge_store::{Operator, Store};
use simforge_vault::{MasterKey, Vault};
use tower::ServiceExt as _;

pub const T0: i64 = 1_796_000_000;
pub const PASSWORD: &str = "correct horse battery staple";
pub const TRANSPORT_KEY: &str = "000102030405060708090A0B0C0D0E0F";
pub const OP: &str = "CDC202D5123E20F62B6D676AC72CB318";

pub struct World {
    pub api: Api,
    /// The lab PKI the SM-DP+ serves with (its eUICC downloads).
    pub pki: simforge_pki::LabPki,
    /// The console and the API, as `serve` mounts them.
    pub app: Router,
    pub clock: Arc<AtomicI64>,
    pub a: Operator,
    pub b: Operator,
    pub dir: tempfile::TempDir,
    /// A platform administrator's API token (for setting up through the API).
    pub admin: String,
    /// The TOTP enrollment URI of the platform administrator `root`.
    pub root_totp: String,
    /// The TOTP enrollment URI of tenant a's administrator `ada`.
    pub ada_totp: String,
    /// The batch in tenant a.
    pub batch: i64,
    /// Tenant a's ICCIDs, ascending.
    pub iccids: Vec<String>,
    /// The Ki and OPc values of the batch (from its pysim file), the transport key, the OP.
    pub secrets: Vec<String>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
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

/// The value of `name="{field}" value="…"` in a page (maud writes attributes in order).
pub fn field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl World {
    /// `secure_cookies`: false only for a browser on plain HTTP that refuses Secure cookies.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_sqlite(&dir.path().join("simforge.sqlite"))
            .await
            .expect("store");
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
                trusted_proxies: simforge_server::TrustedProxies(vec![]),
            },
            Arc::new(move || c.load(Ordering::SeqCst)),
        );
        let a = tenant(&store, "a", "8900101").await;
        let b = tenant(&store, "b", "8900102").await;
        let (_, admin) = api
            .access
            .create_token(
                &Actor::system(),
                None,
                Role::PlatformAdmin,
                "test setup",
                T0 + 86_400,
                T0,
                &mut rand_core::OsRng,
            )
            .await
            .expect("token");
        let mut w = Self {
            app: simforge_console::with_api(api.clone()),
            api,
            pki,
            clock,
            a,
            b,
            dir,
            admin: admin.expose().to_owned(),
            root_totp: String::new(),
            ada_totp: String::new(),
            batch: 0,
            iccids: Vec::new(),
            secrets: vec![TRANSPORT_KEY.into(), OP.into()],
        };
        w.people().await;
        w.inventory().await;
        w
    }

    pub fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    async fn user(&self, name: &str, role: Role, tenant: Option<&Operator>) -> Option<String> {
        let c = self
            .api
            .access
            .create_user(
                &Actor::system(),
                CreateUser {
                    username: name.into(),
                    role,
                    tenant: tenant.map(|t| t.id),
                    password: Secret::new(PASSWORD),
                },
                self.now(),
                &mut rand_core::OsRng,
            )
            .await
            .expect("user");
        c.totp_uri.map(|u| u.0.to_string())
    }

    /// `ada` (operator-admin, TOTP), `olga` (operator), `vera` (viewer) of tenant a; `bob`
    /// (operator) of tenant b; the platform's `fred` (factory) and `root` (platform admin, TOTP).
    async fn people(&mut self) {
        let (a, b) = (self.a.clone(), self.b.clone());
        self.ada_totp = self
            .user("ada", Role::OperatorAdmin, Some(&a))
            .await
            .expect("TOTP of an administrator");
        self.user("olga", Role::Operator, Some(&a)).await;
        self.user("vera", Role::Viewer, Some(&a)).await;
        self.user("bob", Role::Operator, Some(&b)).await;
        self.user("fred", Role::Factory, None).await;
        self.root_totp = self
            .user("root", Role::PlatformAdmin, None)
            .await
            .expect("TOTP of an administrator");
    }

    /// One API call with the administrator's token.
    pub async fn api_call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let auth = format!("Bearer {}", self.admin);
        self.request(
            method,
            uri,
            &[("authorization", &auth)],
            body.map(|b| ("application/json", serde_json::to_vec(&b).expect("json"))),
        )
        .await
    }

    /// One request to the console and API router.
    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some((ctype, b)) => {
                req = req.header("content-type", ctype);
                Body::from(b)
            }
            None => Body::empty(),
        };
        let r = self
            .app
            .clone()
            .oneshot(req.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = r.status();
        let headers = r.headers().clone();
        let body = r
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Keys, a batch of 20 cards, its import; profiles 0–3 ordered and confirmed (not
    /// released); the batch's Ki and OPc values collected.
    async fn inventory(&mut self) {
        for (kind, value) in [("transport", TRANSPORT_KEY), ("op", OP)] {
            let r = self
                .api_call(
                    Method::POST,
                    "/api/v1/tenants/a/keys",
                    Some(json!({ "kind": kind, "index": 1, "value": value })),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        }
        let order = json!({ "format": "toml", "order": ORDER_TOML });
        let r = self
            .api_call(Method::POST, "/api/v1/tenants/a/batches", Some(order))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
        let uri = format!("/api/v1/tenants/a/jobs/{}", r.json()["id"]);
        let mut job = Value::Null;
        for _ in 0..600 {
            job = self.api_call(Method::GET, &uri, None).await.json();
            if job["state"] != "running" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(job["state"], "done", "{job}");
        self.batch = job["batch_id"].as_i64().expect("batch id");
        let r = self
            .api_call(
                Method::POST,
                "/api/v1/tenants/a/inventory/import",
                Some(json!({ "batch_id": self.batch, "profile_type": "standard" })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let r = self
            .api_call(Method::GET, "/api/v1/tenants/a/profiles", None)
            .await;
        self.iccids = r.json()["profiles"]
            .as_array()
            .expect("profiles")
            .iter()
            .map(|p| p["iccid"].as_str().expect("iccid").to_owned())
            .collect();
        assert_eq!(self.iccids.len(), 20);
        for i in &self.iccids.clone()[..4] {
            let p = |s: &str| format!("/api/v1/tenants/a/profiles/{i}/{s}");
            let r = self
                .api_call(Method::POST, &p("download-order"), Some(json!({})))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let r = self
                .api_call(
                    Method::POST,
                    &p("confirm-order"),
                    Some(json!({ "release": false })),
                )
                .await;
            assert_eq!(r.json()["state"], "confirmed", "{}", r.text());
        }
        let files = self
            .api_call(
                Method::GET,
                &format!("/api/v1/tenants/a/batches/{}/files", self.batch),
                None,
            )
            .await
            .json();
        for f in files.as_array().expect("files") {
            if f["format"] != "pysim" {
                continue;
            }
            let name = f["name"].as_str().expect("name");
            let uri = format!("/api/v1/tenants/a/batches/{}/files/{name}", self.batch);
            let text = self.api_call(Method::GET, &uri, None).await.text();
            for line in text.lines().skip(1) {
                let cols: Vec<&str> = line.split(',').collect();
                self.secrets.push(cols[4].to_owned());
                self.secrets.push(cols[5].to_owned());
            }
        }
        assert_eq!(self.secrets.len(), 2 + 40, "Ki and OPc of 20 cards");
    }
}

/// The order of the test batch.
pub const ORDER_TOML: &str =
    "quantity = 20\niccid_start = \"next\"\nimsi_start = \"next\"\nkid = 1\nopid = 1\n";

pub use simforge_testkit::totp::totp_code;

/// ES9+ straight into the World's SM-DP+ (the `Smdp` of the API the console reads), at the
/// World's time, JSON in and out as on the wire; called from a blocking thread.
struct WorldEs9 {
    smdp: Arc<simforge_esim::platform::PlatformSmdp>,
    rt: tokio::runtime::Handle,
    clock: Arc<AtomicI64>,
}

impl simforge_lpa::Es9Transport for WorldEs9 {
    fn post(
        &mut self,
        address: &str,
        function: simforge_lpa::Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), simforge_lpa::Error> {
        if !self.smdp.config().accepts_address(address) {
            return Err(simforge_lpa::Error::Transport(format!(
                "no SM-DP+ at {address}"
            )));
        }
        let now = self.clock.load(Ordering::SeqCst);
        Ok(self.rt.block_on(simforge_testkit::es9::call(
            &self.smdp,
            function.name(),
            body,
            now,
        )))
    }
}

impl World {
    /// The lab PKI's virtual eUICC downloads the profile of `activation_code` through the real
    /// LPA (with its install notification) from the World's SM-DP+, at the World's time.
    pub async fn download(
        &self,
        activation_code: &str,
    ) -> Result<simforge_lpa::DownloadOutcome, simforge_lpa::Error> {
        let smdp = self.api.config.smdp.clone().expect("an SM-DP+");
        let (pki, now, clock) = (self.pki.clone(), self.now(), self.clock.clone());
        let rt = tokio::runtime::Handle::current();
        let code = activation_code.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut euicc = simforge_testkit::card::euicc_at(
                &pki,
                0,
                simforge_euicc::EuiccState::default(),
                Box::new(simforge_crypto::FixedClock(now)),
            );
            let es10 = simforge_lpa::Es10::open(simforge_testkit::card::InProc::new(&mut euicc))?;
            let mut es9 = WorldEs9 { smdp, rt, clock };
            simforge_lpa::Lpa::new(es10, &mut es9).download(&code, None)
        })
        .await
        .expect("the download's thread")
    }

    /// The EID of the lab PKI's virtual eUICC.
    pub fn eid(&self) -> String {
        simforge_euicc::EuiccIdentity::from_lab_pki(&self.pki, 0)
            .expect("identity")
            .eid
    }
}
