//! A small W3C WebDriver client (JSON over HTTP to `chromedriver`), enough for the console's
//! browser journey: navigate, find, type, click, read the page, run a line of script, take a
//! screenshot. Written here rather than taken from fantoccini or thirtyfour: fantoccini's
//! `webdriver` crate brings second versions of http, cookie, thiserror and the ICU crates, and
//! thirtyfour brings reqwest 0.13 (or, without it, turns on serde_json's `preserve_order`
//! for every test build); `scripts/deny.sh` refuses new duplicates.

use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session through a chromedriver this test started.
pub struct Driver {
    http: reqwest::Client,
    base: String,
    _child: tokio::process::Child,
    _profile: tempfile::TempDir,
}

/// What is missing to run a browser, if anything.
pub fn missing() -> Option<String> {
    for (cmd, pkg) in [
        ("chromedriver", "chromium-driver"),
        ("chromium", "chromium"),
    ] {
        let ok = std::process::Command::new(cmd)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some(format!("{cmd} (Debian package {pkg})"));
        }
    }
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Driver {
    /// chromedriver on a free port, and a headless Chromium session of `width`×`height`.
    pub async fn start(width: u32, height: u32) -> Self {
        let port = free_port();
        let child = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let root = format!("http://127.0.0.1:{port}");
        // Ready when its status says so (it starts in well under a second).
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{root}/status")).send().await
                && let Ok(b) = r.bytes().await
                && let Ok(v) = serde_json::from_slice::<Value>(&b)
                && v["value"]["ready"] == true
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not become ready on port {port}");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--no-first-run", "--disable-extensions", "--lang=en-US",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        } } });
        let r = http
            .post(format!("{root}/session"))
            .body(caps.to_string())
            .header("content-type", "application/json")
            .send()
            .await
            .expect("new session")
            .bytes()
            .await
            .expect("session answer");
        let r: Value = serde_json::from_slice(&r).expect("session JSON");
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_owned();
        Self {
            http,
            base: format!("{root}/session/{id}"),
            _child: child,
            _profile: profile,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = req
            .send()
            .await
            .expect("webdriver call")
            .bytes()
            .await
            .expect("webdriver answer");
        let r: Value = serde_json::from_slice(&r).expect("webdriver JSON");
        r["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.cmd(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap_or("").to_owned()
    }

    pub async fn title(&self) -> String {
        self.get("/title").await.as_str().unwrap_or("").to_owned()
    }

    pub async fn source(&self) -> String {
        self.get("/source").await.as_str().unwrap_or("").to_owned()
    }

    /// The elements matching a CSS selector now.
    pub async fn find_all(&self, css: &str) -> Vec<String> {
        let v = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching `css`, waiting up to 10 s for it to appear.
    pub async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no element {css} on {} ({})",
            self.url().await,
            self.title().await
        );
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/clear"), json!({})).await;
        self.post(&format!("/element/{e}/value"), json!({ "text": text }))
            .await;
    }

    /// Chooses a local file in a file input.
    pub async fn upload(&self, css: &str, path: &std::path::Path) {
        let e = self.find(css).await;
        let text = path.display().to_string();
        self.post(&format!("/element/{e}/value"), json!({ "text": text }))
            .await;
    }

    /// Waits (up to 30 s) until the page's source contains `text`.
    pub async fn wait_text(&self, text: &str) {
        for _ in 0..300 {
            if self.source().await.contains(text) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{text:?} never appeared on {}", self.url().await);
    }

    /// Runs `script` (a function body) in the page; its return value.
    pub async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    /// Waits (up to 10 s) until the page's title starts with `prefix`.
    pub async fn wait_title(&self, prefix: &str) {
        for _ in 0..100 {
            if self.title().await.starts_with(prefix) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "title {:?} on {}, not {prefix:?}",
            self.title().await,
            self.url().await
        );
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
    }

    /// A screenshot of the page as PNG, written to `path`.
    pub async fn screenshot(&self, path: &std::path::Path) {
        let b64 = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or(""))
            .expect("PNG screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, png).expect("screenshot written");
    }

    /// Ends the browser session.
    pub async fn quit(self) {
        self.cmd(reqwest::Method::DELETE, "", None).await;
    }
}
