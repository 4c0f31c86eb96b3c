//! The test helper for the `simforge` command-line boundary: a lab with its own data directory
//! and master key, driving the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const TRANSPORT_HEX: &str = "8f3c2a1b0d9e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f801928374";
pub const OP_HEX: &str = "cdc202d5123e20f62b6d676ac72cb318";

pub struct Lab {
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_simforge"));
        c.env("SIMFORGE_DATA", self.path().join("data"))
            .env_remove("SIMFORGE_MASTER_KEY")
            .env("SIMFORGE_LOG", "warn")
            .stdin(Stdio::null());
        c
    }

    /// Runs simforge with `args`; returns the output whatever the exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run simforge")
    }

    /// Runs simforge and insists on success.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "simforge {args:?} failed ({:?}):\n{}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs simforge with `stdin` fed in.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn simforge");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).expect("write file");
        p
    }

    /// Creates operator `name` (PLMN 001-01, 20-digit ICCIDs under 8988211) with transport key
    /// index 1 (from a file) and OP index 1 (from standard input).
    pub fn operator(&self, name: &str) {
        self.ok(&[
            "operator",
            "create",
            name,
            "--mcc",
            "001",
            "--mnc",
            "01",
            "--iccid-prefix",
            "8988211",
            "--iccid-length",
            "20",
            "--spn",
            "Lab",
        ]);
        let key = self.write("transport.hex", TRANSPORT_HEX);
        self.ok(&[
            "key",
            "import",
            "--operator",
            name,
            "--kind",
            "transport",
            "--index",
            "1",
            "--file",
            key.to_str().expect("utf8"),
        ]);
        let o = self.run_stdin(
            &[
                "key",
                "import",
                "--operator",
                name,
                "--kind",
                "op",
                "--index",
                "1",
            ],
            OP_HEX,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// Generates a batch from a TOML order; returns the batch directory.
    pub fn batch(&self, operator: &str, order_toml: &str, extra: &[&str]) -> PathBuf {
        let order = self.write(&format!("order-{}.toml", rand_name()), order_toml);
        let mut args = vec![
            "--json",
            "batch",
            "generate",
            "--operator",
            operator,
            order.to_str().expect("utf8"),
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let out = self.ok(&args);
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json summary");
        PathBuf::from(v["dir"].as_str().expect("dir"))
    }
}

pub fn rand_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The one file in `dir` whose name ends with `suffix`.
pub fn file(dir: &Path, suffix: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no *{suffix} in {}", dir.display()))
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A `simforge serve` process; killed (and reaped) when dropped, whatever happens in the test.
pub struct Server {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `cmd` (a `simforge serve …`): its standard output read line by line into
    /// `lines` by a thread, its standard error written to the file `stderr`.
    pub fn spawn(cmd: &mut Command, stderr: &Path) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines: rx }
    }

    /// Waits for a JSON line of standard output that has `key`.
    pub fn json_with(&mut self, key: &str, stderr: &Path) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                        && v.get(key).is_some()
                    {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "simforge serve gave no {key:?} line; status {:?}; stderr:\n{}",
                    self.child.try_wait(),
                    std::fs::read_to_string(stderr).unwrap_or_default()
                ),
            }
        }
    }
}

/// Waits (up to 30 s) until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_accepting(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "server never accepted connections"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `simforge --json --log-format json serve --demo --demo-profiles N` on a free port, logging
/// at `info` into `<lab>/serve.stderr`; returned once it accepts connections.
pub struct DemoServer {
    pub server: Server,
    /// The demo's JSON (`apiKey`, `iccid`, `activationCode`, …).
    pub demo: serde_json::Value,
    /// The `listening` line (`smdpAddress`, `ca`, `pki`).
    pub listening: serde_json::Value,
    /// The server's log file.
    pub stderr: PathBuf,
    pub port: u16,
}

impl DemoServer {
    pub fn start(lab: &Lab, profiles: u32) -> Self {
        Self::start_with(lab, profiles, &[])
    }

    /// As [`DemoServer::start`], with more `serve` arguments.
    pub fn start_with(lab: &Lab, profiles: u32, extra: &[&str]) -> Self {
        let port = free_port();
        let stderr = lab.path().join("serve.stderr");
        let mut server = Server::spawn(
            lab.cmd()
                .args([
                    "--json",
                    "--log-format",
                    "json",
                    "serve",
                    "--demo",
                    "--demo-profiles",
                    &profiles.to_string(),
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                ])
                .args(extra)
                .env("SIMFORGE_LOG", "info"),
            &stderr,
        );
        let demo = server.json_with("demo", &stderr)["demo"].clone();
        let listening = server.json_with("listening", &stderr);
        wait_accepting(port);
        Self {
            server,
            demo,
            listening,
            stderr,
            port,
        }
    }

    /// The `ca` file of the `listening` line (the DPtls chain to trust).
    pub fn ca(&self) -> PathBuf {
        PathBuf::from(self.listening["ca"].as_str().unwrap())
    }

    /// `https://<smdpAddress>`.
    pub fn base(&self) -> String {
        format!(
            "https://{}",
            self.listening["smdpAddress"].as_str().unwrap()
        )
    }
}

/// A blocking HTTPS client trusting only the certificates of the PEM bundle `ca` (e.g. a lab
/// CI / DPtls chain), with a 30 s timeout.
pub fn https(ca: &Path) -> reqwest::blocking::Client {
    let pem = std::fs::read(ca).unwrap();
    let mut b = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .timeout(Duration::from_secs(30));
    for c in reqwest::Certificate::from_pem_bundle(&pem).unwrap() {
        b = b.add_root_certificate(c);
    }
    b.build().unwrap()
}

/// POSTs an ES2+ `function` with the operator's API key to the SM-DP+ at `base`
/// (`https://host:port`); returns the HTTP status and the JSON body (`Null` if none).
pub fn es2_post(
    client: &reqwest::blocking::Client,
    base: &str,
    key: &str,
    function: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = client
        .post(format!("{base}/gsma/rsp2/es2plus/{function}"))
        .header("Content-Type", "application/json")
        .header("X-Admin-Protocol", "gsma/rsp/v2.2.0")
        .header("X-Api-Key", key)
        .body(body.to_string())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let v = serde_json::from_slice(&r.bytes().unwrap()).unwrap_or(serde_json::Value::Null);
    (status, v)
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The DER of the certificate the server presents in a new TLS handshake.
pub fn served_leaf(port: u16) -> Vec<u8> {
    let client = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let r = client
        .get(format!(
            "https://127.0.0.1:{port}/gsma/rsp2/es9plus/handleNotification"
        ))
        .send()
        .unwrap();
    let info = r.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
    info.peer_certificate().unwrap().to_vec()
}
