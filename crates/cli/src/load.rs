//! `simforge load`: many virtual eUICCs and LPAs in one process, downloading concurrently from
//! an SM-DP+ — the load test of issues 4 and 5.
//!
//! The eUICC ([`simforge_euicc::Euicc`]) and the LPA ([`simforge_lpa::Lpa`]) are the project's,
//! unchanged and sans-IO; only the ES9+ transport is new: a blocking reqwest/rustls client that
//! times every call. Each download runs on a worker thread with its own fresh eUICC (an
//! identity issued in memory under the lab EUM, or one of the PKI's pre-issued eUICCs).
//!
//! Activation codes come either from ES2+ (DownloadOrder by profile type, then ConfirmOrder
//! with releaseFlag = true; all orders are placed before the downloads start, so the download
//! phase measures ES9+ alone) or from a file. The report gives downloads/s, errors by SGP.22
//! status code and latency percentiles per ES9+ function and for the whole download; with
//! `--server-pid` also the server's CPU time per download (Linux `/proc`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use simforge_asn1::json::ES9_FUNCTIONS;
use simforge_euicc::{Euicc, EuiccIdentity, EuiccState};
use simforge_lpa::{Card, Es9Transport, Es10, Lpa, X_ADMIN_PROTOCOL};
use simforge_pki::{CertSpec, Certificate, Issuer, PrivateKey, Role, oids};

use crate::exit::{CliResult, Code, fail};
use crate::factory::Ctx;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CurveArg {
    Nist,
    Brainpool,
}

impl CurveArg {
    fn dir_name(self) -> &'static str {
        match self {
            Self::Nist => "nist",
            Self::Brainpool => "brainpool",
        }
    }
}

#[derive(Args)]
pub struct LoadArgs {
    /// The SM-DP+ address (host:port, as in activation codes); ES2+ goes to https://<this>.
    #[arg(long, default_value = "localhost:8443")]
    smdp: String,
    /// PEM file of certificates to trust for TLS (default: the DPtls chain of the PKI).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Accept any TLS certificate (lab use only).
    #[arg(long)]
    insecure: bool,
    /// Lab PKI directory with the EUM (eum/eum.der, eum/eum.key.pem) and CI (ci/ci.der), or
    /// pre-issued eUICCs (euicc/<EID>.der + .key.pem); one PKI or one per curve (nist/,
    /// brainpool/). Default: <data-dir>/pki.
    #[arg(long)]
    pki: Option<PathBuf>,
    /// Curve of the eUICCs when the PKI directory holds one PKI per curve.
    #[arg(long, value_enum, default_value_t = CurveArg::Nist)]
    curve: CurveArg,
    /// First EID index under the EUM's prefix for eUICCs issued in memory (default: from the
    /// clock, so that successive runs use new EIDs).
    #[arg(long)]
    eid_start: Option<u64>,
    /// Use the PKI's pre-issued eUICCs (`pki init --euiccs N`) even when the EUM key is there.
    #[arg(long)]
    preissued: bool,
    /// Downloads running at the same time (worker threads).
    #[arg(long, short = 'c', default_value_t = 8)]
    concurrency: usize,
    /// Number of downloads (default: 100, or one per activation code of --activation-codes).
    #[arg(long, short = 'n')]
    downloads: Option<usize>,
    /// Activation codes, one per line (`LPA:1$host$matchingId`, optionally followed by
    /// whitespace and a confirmation code), instead of ordering them over ES2+.
    #[arg(long, conflicts_with_all = ["api_key_file", "profile_type"])]
    activation_codes: Option<PathBuf>,
    /// File holding the operator's ES2+ API key (`-` for standard input). The environment
    /// variable SIMFORGE_ES2_API_KEY may hold it instead.
    #[arg(long)]
    api_key_file: Option<PathBuf>,
    /// ES2+ functionRequesterIdentifier (the operator's name).
    #[arg(long, default_value = "demo")]
    operator: String,
    /// ES2+ DownloadOrder by this profile type.
    #[arg(long)]
    profile_type: Option<String>,
    /// Do not send the install notification (ES9+ HandleNotification): the profile stays
    /// Downloaded on the SM-DP+ and the notification pending on the eUICC.
    #[arg(long)]
    no_notification: bool,
    /// Keep one TLS connection per worker across downloads (default: every download opens its
    /// own connection, as a new device would).
    #[arg(long)]
    reuse_connections: bool,
    /// PID of the SM-DP+ process on this machine: report its CPU time per download (Linux).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Exit with status 1 if any download failed.
    #[arg(long)]
    strict: bool,
    /// Append one JSON line per step to this file (ES2+ orders with their ICCID, each download
    /// attempt with its EID, matchingId, result and ICCID): the record a soak test explains
    /// every profile's final state from (scripts/soak.sh).
    #[arg(long)]
    event_log: Option<PathBuf>,
}

/// `--event-log`: JSON lines, each written whole and flushed, so a reader sees every step
/// finished before the process stopped.
struct EventLog(Mutex<std::fs::File>);

impl EventLog {
    fn open(p: &Path) -> anyhow::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        // It holds matchingIds (activation codes): owner-only, like every file with secrets.
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(p)
            .with_context(|| format!("opening {}", p.display()))?;
        Ok(Self(Mutex::new(f)))
    }

    fn write(&self, mut v: serde_json::Value) {
        use std::io::Write;
        v["t"] = serde_json::Value::from(unix_now().as_millis() as u64);
        let mut line = v.to_string();
        line.push('\n');
        if let Ok(mut f) = self.0.lock() {
            // One write(2) per line with O_APPEND: lines of concurrent writers never interleave.
            if let Err(e) = f.write_all(line.as_bytes()) {
                eprintln!("warning: --event-log: {e}");
            }
        }
    }

    fn failure(&self, step: &str, f: &Failure, mut extra: serde_json::Value) {
        extra["step"] = step.into();
        extra["ok"] = false.into();
        extra["stage"] = f.stage.clone().into();
        extra["code"] = f.code.clone().into();
        self.write(extra);
    }
}

// ---------------------------------------------------------------------------------------------
// eUICC identities
// ---------------------------------------------------------------------------------------------

/// The lab EUM that issues eUICC certificates in memory.
struct Eum {
    eum: Certificate,
    eum_key: PrivateKey,
    ci_der: Vec<u8>,
    prefix: String,
    next: AtomicU64,
}

/// Where eUICC identities come from.
enum Identities {
    /// Issued in memory under the lab EUM.
    Issue(Box<Eum>),
    /// Pre-issued ones, used round robin (each download gets a fresh eUICC state).
    Fixed(Vec<EuiccIdentity>),
}

fn read(p: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("reading {}", p.display()))
}

/// The single-curve PKI directory to use under `root`.
fn pki_dir(root: &Path, curve: CurveArg) -> anyhow::Result<PathBuf> {
    if root.join("ci").join("ci.der").exists() {
        return Ok(root.to_owned());
    }
    let d = root.join(curve.dir_name());
    if d.join("ci").join("ci.der").exists() {
        return Ok(d);
    }
    bail!(
        "no lab PKI in {} (neither ci/ci.der nor {}/ci/ci.der)",
        root.display(),
        curve.dir_name()
    )
}

/// The DPtls chain to trust by default: the PKI root's, else its nist/ or brainpool/ one.
fn default_ca(root: &Path) -> Option<PathBuf> {
    [
        root.join("smdp"),
        root.join("nist").join("smdp"),
        root.join("brainpool").join("smdp"),
    ]
    .into_iter()
    .map(|d| d.join("dptls-chain.pem"))
    .find(|p| p.exists())
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl Identities {
    fn load(dir: &Path, eid_start: Option<u64>, preissued: bool) -> anyhow::Result<Self> {
        let ci_der = read(&dir.join("ci").join("ci.der"))?;
        let eum_der = dir.join("eum").join("eum.der");
        let eum_key = dir.join("eum").join("eum.key.pem");
        if !preissued && eum_der.exists() && eum_key.exists() {
            let eum = Certificate::from_der(&read(&eum_der)?)
                .map_err(|e| anyhow!("EUM certificate: {e}"))?;
            let pem = std::fs::read_to_string(&eum_key)
                .with_context(|| format!("reading {}", eum_key.display()))?;
            let key = PrivateKey::from_pem(&pem).map_err(|e| anyhow!("EUM key: {e}"))?;
            let prefix = eum
                .name_constraint_eid_prefixes()
                .and_then(|p| p.first())
                .or_else(|| eum.permitted_eins().and_then(|p| p.first()))
                .cloned()
                .context("the EUM certificate states no EID prefix")?;
            // Successive runs against the same SM-DP+ use new EIDs.
            let start = eid_start.unwrap_or_else(|| {
                let t = unix_now();
                (t.as_secs() % 100_000_000) * 1_000_000 + u64::from(t.subsec_micros() % 1_000)
            });
            return Ok(Self::Issue(Box::new(Eum {
                eum,
                eum_key: key,
                ci_der,
                prefix,
                next: AtomicU64::new(start),
            })));
        }
        let mut eids: Vec<String> = std::fs::read_dir(dir.join("euicc"))
            .with_context(|| format!("reading {}", dir.join("euicc").display()))?
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .strip_suffix(".der")
                    .map(str::to_owned)
            })
            .collect();
        eids.sort();
        let eum_cert = read(&eum_der)?;
        let mut out = Vec::new();
        for eid in eids {
            let pem = std::fs::read_to_string(dir.join("euicc").join(format!("{eid}.key.pem")))
                .with_context(|| format!("reading the key of eUICC {eid}"))?;
            let key = PrivateKey::from_pem(&pem).map_err(|e| anyhow!("eUICC {eid} key: {e}"))?;
            out.push(EuiccIdentity {
                euicc_certificate: read(&dir.join("euicc").join(format!("{eid}.der")))?,
                eid,
                eum_certificate: eum_cert.clone(),
                euicc_private_key: simforge_euicc::Secret::new(key.to_pkcs8_der()?.to_vec()),
                trusted_ci: vec![ci_der.clone()],
            });
        }
        if out.is_empty() {
            bail!(
                "{} has neither the EUM key (eum/eum.key.pem) nor eUICCs (euicc/); make them with `simforge pki init --euiccs N`",
                dir.display()
            );
        }
        Ok(Self::Fixed(out))
    }

    /// The identity for download number `index`.
    fn get(&self, index: usize) -> anyhow::Result<EuiccIdentity> {
        match self {
            Self::Fixed(v) => Ok(v[index % v.len()].clone()),
            Self::Issue(e) => {
                let Eum {
                    eum,
                    eum_key,
                    ci_der,
                    prefix,
                    next,
                } = &**e;
                let eid =
                    simforge_pki::eid_from_prefix(prefix, next.fetch_add(1, Ordering::Relaxed))
                        .map_err(|e| anyhow!("EID: {e}"))?;
                let key =
                    PrivateKey::generate(eum_key.curve()).map_err(|e| anyhow!("eUICC key: {e}"))?;
                let spec = CertSpec::new(
                    Role::Euicc,
                    vec![
                        (oids::AT_ORGANIZATION, "simforge load EUM".to_owned()),
                        (oids::AT_SERIAL_NUMBER, eid.clone()),
                        (oids::AT_COMMON_NAME, "simforge load eUICC".to_owned()),
                    ],
                );
                let cert = simforge_pki::issue_certificate(
                    &spec,
                    &key,
                    Issuer::Cert {
                        cert: eum,
                        key: eum_key,
                    },
                )
                .map_err(|e| anyhow!("eUICC certificate: {e}"))?;
                Ok(EuiccIdentity {
                    eid,
                    euicc_certificate: cert.der().to_vec(),
                    eum_certificate: eum.der().to_vec(),
                    euicc_private_key: simforge_euicc::Secret::new(key.to_pkcs8_der()?.to_vec()),
                    trusted_ci: vec![ci_der.clone()],
                })
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------

fn https_client(ca: Option<&[u8]>, insecure: bool) -> anyhow::Result<reqwest::blocking::Client> {
    let mut b = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("simforge-load/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = ca {
        b = b.tls_built_in_root_certs(false);
        for cert in reqwest::Certificate::from_pem_bundle(pem)? {
            b = b.add_root_certificate(cert);
        }
    }
    if insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    Ok(b.build()?)
}

struct InProcess<'a>(&'a mut Euicc);

impl Card for InProcess<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, simforge_lpa::Error> {
        Ok(self.0.process(apdu))
    }
}

/// ES9+ over HTTPS, timing every exchange.
struct Timed<'a> {
    client: &'a reqwest::blocking::Client,
    skip_notification: bool,
    samples: &'a mut Samples,
}

impl Es9Transport for Timed<'_> {
    fn post(
        &mut self,
        server_address: &str,
        function: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), simforge_lpa::Error> {
        if self.skip_notification && function == "handleNotification" {
            return Err(simforge_lpa::Error::Transport(
                "install notification not sent (--no-notification)".into(),
            ));
        }
        let url = format!(
            "https://{server_address}{}{function}",
            simforge_lpa::ES9_PATH
        );
        let started = Instant::now();
        let r = self
            .client
            .post(url)
            .header("Content-Type", "application/json;charset=UTF-8")
            .header("X-Admin-Protocol", X_ADMIN_PROTOCOL)
            .body(body.to_vec())
            .send()
            .and_then(|resp| {
                let status = resp.status().as_u16();
                resp.bytes().map(|b| (status, b.to_vec()))
            })
            .map_err(|e| simforge_lpa::Error::Transport(format!("{e:#}")));
        if let Some(i) = ES9_FUNCTIONS.iter().position(|f| *f == function) {
            self.samples.es9[i].push(started.elapsed());
        }
        r
    }
}

// ---------------------------------------------------------------------------------------------
// ES2+
// ---------------------------------------------------------------------------------------------

/// A failed step: where, and the SGP.22 status code (or what else went wrong).
#[derive(Clone, Debug)]
struct Failure {
    stage: String,
    code: String,
    message: String,
}

impl Failure {
    fn new(stage: &str, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            stage: stage.to_owned(),
            code: code.into(),
            message: message.into(),
        }
    }
}

struct Es2<'a> {
    client: &'a reqwest::blocking::Client,
    base: String,
    api_key: &'a str,
    operator: &'a str,
    profile_type: &'a str,
    run_id: u64,
    events: Option<&'a EventLog>,
}

impl Es2<'_> {
    fn call(
        &self,
        function: &str,
        mut body: serde_json::Value,
        n: usize,
    ) -> Result<serde_json::Value, Failure> {
        let stage = format!("ES2+ {function}");
        body["header"] = serde_json::json!({
            "functionRequesterIdentifier": self.operator,
            "functionCallIdentifier": format!("load-{}-{n}-{function}", self.run_id),
        });
        let r = self
            .client
            .post(format!("{}/gsma/rsp2/es2plus/{function}", self.base))
            .header("Content-Type", "application/json")
            .header("X-Admin-Protocol", X_ADMIN_PROTOCOL)
            .header("X-Api-Key", self.api_key)
            .body(body.to_string())
            .send()
            .map_err(|e| Failure::new(&stage, "transport", format!("{e:#}")))?;
        let http = r.status().as_u16();
        let bytes = r
            .bytes()
            .map_err(|e| Failure::new(&stage, "transport", format!("{e:#}")))?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let status = &v["header"]["functionExecutionStatus"];
        if http == 200 && status["status"].as_str() == Some("Executed-Success") {
            return Ok(v);
        }
        let data = &status["statusCodeData"];
        match (data["subjectCode"].as_str(), data["reasonCode"].as_str()) {
            (Some(s), Some(r)) => Err(Failure::new(
                &stage,
                format!("{s}/{r}"),
                data["message"].as_str().unwrap_or_default(),
            )),
            _ => Err(Failure::new(
                &stage,
                format!("HTTP {http}"),
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(200)
                    .collect::<String>(),
            )),
        }
    }

    /// DownloadOrder by profile type, ConfirmOrder with releaseFlag: an activation code.
    fn order(&self, n: usize, samples: &mut Samples) -> Result<String, Failure> {
        let t = Instant::now();
        let v = self.call(
            "downloadOrder",
            serde_json::json!({"profileType": self.profile_type}),
            n,
        );
        samples.download_order.push(t.elapsed());
        let iccid = v.and_then(|v| {
            v["iccid"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| Failure::new("ES2+ downloadOrder", "protocol", "no iccid"))
        });
        let iccid = match iccid {
            Ok(i) => i,
            Err(f) => {
                if let Some(l) = self.events {
                    l.failure("downloadOrder", &f, serde_json::json!({ "n": n }));
                }
                return Err(f);
            }
        };
        let t = Instant::now();
        let v = self.call(
            "confirmOrder",
            serde_json::json!({"iccid": iccid, "releaseFlag": true}),
            n,
        );
        samples.confirm_order.push(t.elapsed());
        let confirmed = v.and_then(|v| match v["matchingId"].as_str() {
            Some(_) => Ok(v),
            None => Err(Failure::new(
                "ES2+ confirmOrder",
                "protocol",
                "no matchingId",
            )),
        });
        let v = match confirmed {
            Ok(v) => v,
            Err(f) => {
                if let Some(l) = self.events {
                    l.failure(
                        "confirmOrder",
                        &f,
                        serde_json::json!({ "n": n, "iccid": iccid }),
                    );
                }
                return Err(f);
            }
        };
        let matching_id = v["matchingId"].as_str().unwrap_or_default();
        if let Some(l) = self.events {
            l.write(serde_json::json!({
                "step": "order", "ok": true, "n": n, "iccid": iccid, "matchingId": matching_id,
            }));
        }
        let address = v["smdpAddress"]
            .as_str()
            .unwrap_or_else(|| self.base.trim_start_matches("https://"));
        Ok(format!("LPA:1${address}${matching_id}"))
    }
}

// ---------------------------------------------------------------------------------------------
// One download
// ---------------------------------------------------------------------------------------------

fn lpa_failure(e: &simforge_lpa::Error) -> Failure {
    use simforge_lpa::Error as E;
    match e {
        E::Es9Status {
            function,
            subject_code,
            reason_code,
            message,
        } => Failure::new(
            &format!("ES9+ {function}"),
            format!("{subject_code}/{reason_code}"),
            message.clone().unwrap_or_default(),
        ),
        E::Http { function, status } => {
            Failure::new(&format!("ES9+ {function}"), format!("HTTP {status}"), "")
        }
        E::Transport(m) => Failure::new("ES9+", "transport", m.clone()),
        E::Euicc { function, code } => {
            Failure::new(&format!("eUICC {function}"), format!("error {code}"), "")
        }
        E::Install {
            bpp_command_id,
            error_reason,
        } => Failure::new(
            "eUICC LoadBoundProfilePackage",
            format!("bppCommandId {bpp_command_id} errorReason {error_reason}"),
            "",
        ),
        E::ConfirmationCodeRequired => Failure::new("LPA", "confirmation code required", ""),
        other => Failure::new("LPA", "protocol", other.to_string()),
    }
}

/// One job: an activation code (or the failure that stopped it before the download).
type Job = Result<(String, Option<String>), Failure>;

struct Worker<'a> {
    identities: &'a Identities,
    ca: Option<&'a [u8]>,
    insecure: bool,
    skip_notification: bool,
    events: Option<&'a EventLog>,
}

impl Worker<'_> {
    /// Downloads with a fresh eUICC; returns the ICCID and whether the install notification
    /// was delivered.
    fn download(
        &self,
        index: usize,
        client: &reqwest::blocking::Client,
        ac: &str,
        cc: Option<&str>,
        samples: &mut Samples,
    ) -> Result<(String, bool), Failure> {
        let identity = self
            .identities
            .get(index)
            .map_err(|e| Failure::new("eUICC", "identity", format!("{e:#}")))?;
        let r = self.download_as(&identity, client, ac, cc, samples);
        if let Some(l) = self.events {
            let matching_id = ac.rsplit('$').next().unwrap_or_default();
            let base = serde_json::json!({
                "n": index, "eid": identity.eid, "matchingId": matching_id,
            });
            match &r {
                Ok((iccid, sent)) => {
                    let mut v = base;
                    v["step"] = "download".into();
                    v["ok"] = true.into();
                    v["iccid"] = iccid.clone().into();
                    v["notification"] = (*sent).into();
                    l.write(v);
                }
                Err(f) => l.failure("download", f, base),
            }
        }
        r
    }

    fn download_as(
        &self,
        identity: &EuiccIdentity,
        client: &reqwest::blocking::Client,
        ac: &str,
        cc: Option<&str>,
        samples: &mut Samples,
    ) -> Result<(String, bool), Failure> {
        let mut euicc = Euicc::new(
            identity,
            EuiccState::default(),
            Box::new(simforge_crypto::SystemRandom::new()),
            Box::new(simforge_crypto::SystemClock),
        )
        .map_err(|e| Failure::new("eUICC", "identity", e.to_string()))?;
        let started = Instant::now();
        let es10 = Es10::open(InProcess(&mut euicc)).map_err(|e| lpa_failure(&e))?;
        let mut transport = Timed {
            client,
            skip_notification: self.skip_notification,
            samples,
        };
        let mut lpa = Lpa::new(es10, &mut transport);
        let r = lpa.download(ac, cc);
        lpa.es10.close();
        let out = r.map_err(|e| lpa_failure(&e))?;
        samples.download.push(started.elapsed());
        Ok((out.iccid, out.notification_sent))
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements and the report
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Samples {
    es9: [Vec<Duration>; ES9_FUNCTIONS.len()],
    download: Vec<Duration>,
    download_order: Vec<Duration>,
    confirm_order: Vec<Duration>,
}

impl Samples {
    fn merge(&mut self, o: Samples) {
        for (a, b) in self.es9.iter_mut().zip(o.es9) {
            a.extend(b);
        }
        self.download.extend(o.download);
        self.download_order.extend(o.download_order);
        self.confirm_order.extend(o.confirm_order);
    }
}

#[derive(Serialize)]
struct Percentiles {
    count: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Nearest-rank percentiles, in milliseconds.
fn percentiles(v: &mut [Duration]) -> Option<Percentiles> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    let at = |p: f64| {
        // Nearest rank: ceil(p·n), 1-based.
        let rank = (p * n as f64).ceil() as usize;
        ms(v[rank.clamp(1, n) - 1])
    };
    Some(Percentiles {
        count: n,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: ms(v[n - 1]),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorCount {
    stage: String,
    /// SGP.22 subjectCode/reasonCode, or `HTTP nnn`, `transport`, …
    code: String,
    count: usize,
    /// The first message seen.
    message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    smdp: String,
    curve: &'static str,
    concurrency: usize,
    downloads: usize,
    succeeded: usize,
    failed: usize,
    notifications_sent: usize,
    /// Distinct ICCIDs installed (equal to `succeeded` unless a profile was issued twice).
    distinct_iccids: usize,
    /// Wall time of the download phase (after ordering), seconds.
    elapsed_secs: f64,
    /// Successful downloads per second of the download phase.
    downloads_per_sec: f64,
    /// Wall time of the ES2+ ordering phase, seconds (0 with --activation-codes).
    ordering_secs: f64,
    errors: Vec<ErrorCount>,
    /// Latency percentiles in milliseconds: per ES9+ function (every exchange), `download`
    /// (a whole successful download: ES10 + ES9+), and the ES2+ calls.
    latency_ms: BTreeMap<String, Percentiles>,
    /// CPU time (user + system) of the SM-DP+ process during the download phase, per
    /// successful download, milliseconds (with --server-pid).
    #[serde(skip_serializing_if = "Option::is_none")]
    server_cpu_ms_per_download: Option<f64>,
    /// CPU time of this process (all eUICCs and LPAs) per successful download, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_cpu_ms_per_download: Option<f64>,
    /// What the SM-DP+ process did per successful download (with --server-pid): counts, not
    /// times, so they compare across runs on a noisy machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    server_per_download: Option<ServerCounts>,
}

/// Per-download counters of the SM-DP+ process from /proc.
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerCounts {
    /// Reads through the VFS (/proc/<pid>/io `syscr`: read, readv, pread; not recv*).
    read_syscalls: f64,
    /// Writes through the VFS (`syscw`: write, writev, pwrite; not send*).
    write_syscalls: f64,
    /// Context switches, voluntary and not, of the threads alive at both ends of the run
    /// (a thread that ended meanwhile is missing).
    context_switches: f64,
}

/// The counters behind [`ServerCounts`]: syscr, syscw, and context switches per thread.
fn server_counts(pid: &str) -> Option<(u64, u64, BTreeMap<String, u64>)> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    let mut switches = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let n = status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
        switches.insert(task.file_name().to_string_lossy().into_owned(), n);
    }
    Some((field("syscr:")?, field("syscw:")?, switches))
}

/// Context switches between two [`server_counts`], thread by thread.
fn switches_between(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> u64 {
    after
        .iter()
        .filter_map(|(tid, a)| Some(a.saturating_sub(*before.get(tid)?)))
        .sum()
}

/// utime + stime of a process from /proc/<pid>/stat, in clock ticks (USER_HZ = 100 on Linux).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) in parentheses.
    let rest = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the state field (3).
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

const USER_HZ: f64 = 100.0;

fn progress(len: u64, json: bool, what: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(len);
    if json {
        b.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    b.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} {{msg}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

pub async fn load(ctx: Ctx, args: LoadArgs) -> CliResult {
    let json = ctx.json;
    let strict = args.strict;
    let report = tokio::task::spawn_blocking(move || run(&ctx, args))
        .await
        .context("load task")??;
    if json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print_text(&report);
    }
    if strict && report.failed > 0 {
        return Err(fail(
            Code::Failure,
            anyhow!("{} of {} downloads failed", report.failed, report.downloads),
        ));
    }
    Ok(())
}

fn read_api_key(file: Option<&Path>) -> anyhow::Result<Option<String>> {
    let key = match file {
        Some(p) if p == Path::new("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => match std::env::var("SIMFORGE_ES2_API_KEY") {
            Ok(k) => k,
            Err(_) => return Ok(None),
        },
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        bail!("the ES2+ API key is empty");
    }
    Ok(Some(key))
}

fn read_codes(p: &Path) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut it = l.split_whitespace();
            let ac = it.next().unwrap_or_default().to_owned();
            (ac, it.next().map(str::to_owned))
        })
        .collect())
}

fn run(ctx: &Ctx, a: LoadArgs) -> anyhow::Result<Report> {
    if a.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let root = a.pki.clone().unwrap_or_else(|| ctx.data_dir.join("pki"));
    let dir = pki_dir(&root, a.curve)?;
    let identities = Identities::load(&dir, a.eid_start, a.preissued)?;
    let curve = match &identities {
        Identities::Issue(e) => e.eum.curve(),
        Identities::Fixed(v) => v
            .first()
            .and_then(|i| Certificate::from_der(&i.euicc_certificate).ok())
            .map_or(simforge_pki::Curve::P256, |c| c.curve()),
    };
    let curve = match curve {
        simforge_pki::Curve::P256 => "NIST P-256",
        simforge_pki::Curve::BrainpoolP256r1 => "brainpoolP256r1",
    };
    let ca_path = a.ca.clone().or_else(|| default_ca(&root));
    let ca = match &ca_path {
        Some(p) => Some(read(p)?),
        None => None,
    };
    let ca = ca.as_deref();
    let client = https_client(ca, a.insecure)?;

    let events = a.event_log.as_deref().map(EventLog::open).transpose()?;

    // 1. The activation codes.
    let run_id = unix_now().as_millis() as u64;
    let mut all = Samples::default();
    let ordering_started = Instant::now();
    let jobs: Vec<Job> = if let Some(file) = &a.activation_codes {
        let codes = read_codes(file)?;
        if codes.is_empty() {
            bail!("no activation code in {}", file.display());
        }
        let n = a.downloads.unwrap_or(codes.len());
        if n > codes.len() {
            bail!(
                "--downloads {n} but only {} activation codes in {}",
                codes.len(),
                file.display()
            );
        }
        codes.into_iter().take(n).map(Ok).collect()
    } else {
        let Some(api_key) = read_api_key(a.api_key_file.as_deref())? else {
            bail!(
                "give --activation-codes FILE, or an ES2+ API key (--api-key-file or SIMFORGE_ES2_API_KEY) and --profile-type"
            );
        };
        let Some(profile_type) = a.profile_type.as_deref() else {
            bail!("ES2+ ordering needs --profile-type");
        };
        let n = a.downloads.unwrap_or(100);
        let es2 = Es2 {
            client: &client,
            base: format!("https://{}", a.smdp),
            api_key: &api_key,
            operator: &a.operator,
            profile_type,
            run_id,
            events: events.as_ref(),
        };
        let bar = progress(n as u64, ctx.json, "ordering ");
        let next = AtomicUsize::new(0);
        let out: Mutex<Vec<Option<Job>>> = Mutex::new(vec![None; n]);
        let merged = Mutex::new(Samples::default());
        std::thread::scope(|s| {
            for _ in 0..a.concurrency.min(n) {
                s.spawn(|| {
                    let mut samples = Samples::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let job = es2.order(i, &mut samples).map(|ac| (ac, None));
                        if let Ok(mut o) = out.lock() {
                            o[i] = Some(job);
                        }
                        bar.inc(1);
                    }
                    if let Ok(mut m) = merged.lock() {
                        m.merge(samples);
                    }
                });
            }
        });
        bar.finish_and_clear();
        all.merge(merged.into_inner().unwrap_or_default());
        out.into_inner()
            .unwrap_or_default()
            .into_iter()
            .map(|j| j.unwrap_or_else(|| Err(Failure::new("ES2+", "not run", ""))))
            .collect()
    };
    let ordering_secs = if a.activation_codes.is_some() {
        0.0
    } else {
        ordering_started.elapsed().as_secs_f64()
    };

    // 2. The downloads.
    let n = jobs.len();
    let worker = Worker {
        identities: &identities,
        ca,
        insecure: a.insecure,
        skip_notification: a.no_notification,
        events: events.as_ref(),
    };
    let bar = progress(n as u64, ctx.json, "downloads");
    let next = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let notified = AtomicUsize::new(0);
    let failures: Mutex<Vec<Failure>> = Mutex::new(Vec::new());
    let iccids: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let merged = Mutex::new(Samples::default());
    let pid = a.server_pid.map(|p| p.to_string());
    let server_before = pid.as_deref().and_then(cpu_ticks);
    let counts_before = pid.as_deref().and_then(server_counts);
    if a.server_pid.is_some() && server_before.is_none() {
        eprintln!("warning: cannot read /proc/<server-pid>/stat; no server CPU time");
    }
    let client_before = cpu_ticks("self");
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.concurrency.min(n) {
            s.spawn(|| {
                let mut samples = Samples::default();
                let shared = if a.reuse_connections {
                    https_client(worker.ca, worker.insecure).ok()
                } else {
                    None
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let r = match &jobs[i] {
                        Err(f) => Err(f.clone()),
                        Ok((ac, cc)) => {
                            let own;
                            let client = match &shared {
                                Some(c) => Ok(c),
                                None => match https_client(worker.ca, worker.insecure) {
                                    Ok(c) => {
                                        own = c;
                                        Ok(&own)
                                    }
                                    Err(e) => Err(Failure::new("TLS", "client", format!("{e:#}"))),
                                },
                            };
                            client.and_then(|c| {
                                worker.download(i, c, ac, cc.as_deref(), &mut samples)
                            })
                        }
                    };
                    match r {
                        Ok((iccid, sent)) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut v) = iccids.lock() {
                                v.push(iccid);
                            }
                            if sent {
                                notified.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(f) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut v) = failures.lock() {
                                v.push(f);
                            }
                        }
                    }
                    bar.set_message(format!(
                        "ok {} failed {}",
                        ok.load(Ordering::Relaxed),
                        failed.load(Ordering::Relaxed)
                    ));
                    bar.inc(1);
                }
                if let Ok(mut m) = merged.lock() {
                    m.merge(samples);
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let server_after = pid.as_deref().and_then(cpu_ticks);
    let counts_after = pid.as_deref().and_then(server_counts);
    let client_after = cpu_ticks("self");
    bar.finish_and_clear();
    all.merge(merged.into_inner().unwrap_or_default());

    let succeeded = ok.into_inner();
    let mut iccids = iccids.into_inner().unwrap_or_default();
    iccids.sort_unstable();
    iccids.dedup();
    let per_download = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(b), Some(a)) if succeeded > 0 => Some(
            (a.saturating_sub(b) as f64 / USER_HZ * 1e3 / succeeded as f64 * 1e3).round() / 1e3,
        ),
        _ => None,
    };

    // Errors grouped by stage and code, most frequent first.
    let mut groups: BTreeMap<(String, String), ErrorCount> = BTreeMap::new();
    for f in failures.into_inner().unwrap_or_default() {
        groups
            .entry((f.stage.clone(), f.code.clone()))
            .or_insert_with(|| ErrorCount {
                stage: f.stage,
                code: f.code,
                count: 0,
                message: f.message,
            })
            .count += 1;
    }
    let mut errors: Vec<ErrorCount> = groups.into_values().collect();
    errors.sort_by_key(|e| std::cmp::Reverse(e.count));

    let mut latency = BTreeMap::new();
    let mut put = |name: &str, v: &mut Vec<Duration>| {
        if let Some(p) = percentiles(v) {
            latency.insert(name.to_owned(), p);
        }
    };
    for (name, v) in ES9_FUNCTIONS.iter().zip(all.es9.iter_mut()) {
        put(name, v);
    }
    put("download", &mut all.download);
    put("es2.downloadOrder", &mut all.download_order);
    put("es2.confirmOrder", &mut all.confirm_order);

    Ok(Report {
        smdp: a.smdp,
        curve,
        concurrency: a.concurrency,
        downloads: n,
        succeeded,
        failed: failed.into_inner(),
        notifications_sent: notified.into_inner(),
        distinct_iccids: iccids.len(),
        elapsed_secs: (elapsed * 1e3).round() / 1e3,
        downloads_per_sec: if elapsed > 0.0 {
            (succeeded as f64 / elapsed * 10.0).round() / 10.0
        } else {
            0.0
        },
        ordering_secs: (ordering_secs * 1e3).round() / 1e3,
        errors,
        latency_ms: latency,
        server_cpu_ms_per_download: per_download(server_before, server_after),
        client_cpu_ms_per_download: per_download(client_before, client_after),
        server_per_download: match (counts_before, counts_after) {
            (Some(b), Some(a)) if succeeded > 0 => {
                let per = |n: u64| (n as f64 / succeeded as f64 * 10.0).round() / 10.0;
                Some(ServerCounts {
                    read_syscalls: per(a.0.saturating_sub(b.0)),
                    write_syscalls: per(a.1.saturating_sub(b.1)),
                    context_switches: per(switches_between(&b.2, &a.2)),
                })
            }
            _ => None,
        },
    })
}

fn print_text(r: &Report) {
    println!(
        "{} downloads ({}) against {} at concurrency {}: {} succeeded ({} distinct ICCIDs), {} failed, {} install notifications sent",
        r.downloads,
        r.curve,
        r.smdp,
        r.concurrency,
        r.succeeded,
        r.distinct_iccids,
        r.failed,
        r.notifications_sent
    );
    println!(
        "download phase {:.3} s: {:.1} downloads/s{}",
        r.elapsed_secs,
        r.downloads_per_sec,
        if r.ordering_secs > 0.0 {
            format!(" (ES2+ ordering before it: {:.3} s)", r.ordering_secs)
        } else {
            String::new()
        }
    );
    if let Some(c) = r.server_cpu_ms_per_download {
        println!("server CPU per download: {c:.3} ms");
    }
    if let Some(c) = r.server_per_download {
        println!(
            "server per download: {} read and {} write system calls, {} context switches",
            c.read_syscalls, c.write_syscalls, c.context_switches
        );
    }
    if let Some(c) = r.client_cpu_ms_per_download {
        println!("client CPU per download (all eUICCs + LPAs): {c:.3} ms");
    }
    if !r.errors.is_empty() {
        println!("errors:");
        for e in &r.errors {
            println!(
                "  {:6}  {:28} {:24} {}",
                e.count, e.stage, e.code, e.message
            );
        }
    }
    println!("latency (ms)                  count      p50      p90      p99      max");
    for (name, p) in &r.latency_ms {
        println!(
            "  {name:26} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            p.count, p.p50, p.p90, p.p99, p.max
        );
    }
}
