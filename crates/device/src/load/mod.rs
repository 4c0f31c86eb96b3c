//! The load generator: many virtual eUICCs and LPAs in one process, downloading concurrently
//! from an SM-DP+.
//!
//! The eUICC ([`simforge_euicc::Euicc`]) and the LPA ([`simforge_lpa::Lpa`]) are the project's,
//! unchanged and sans-IO, over the [`Https`] transport, each ES9+ exchange timed. Each download
//! runs on a worker thread with its own fresh eUICC (an identity issued in memory under the lab
//! EUM, or one of the PKI's pre-issued eUICCs).
//!
//! Activation codes come either from ES2+ (DownloadOrder by profile type, then ConfirmOrder
//! with releaseFlag = true; all orders are placed before the downloads start, so the download
//! phase measures ES9+ alone) or are given ([`Orders`]). The [`Report`] gives downloads/s,
//! errors by SGP.22 status code and latency percentiles per ES9+ function and for the whole
//! download; with a server PID also the server's CPU time per download (Linux `/proc`).
//! Progress and warnings go to a callback ([`Progress`]); an event log (JSON lines, 0600)
//! records every step.

mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use simforge_asn1::json::Es9Function;
use simforge_euicc::{Euicc, EuiccIdentity, EuiccState};
use simforge_lpa::{Es9Transport, Es10, Lpa, X_ADMIN_PROTOCOL};
use simforge_pki::{CertSpec, Certificate, Issuer, PrivateKey, Role, oids};

pub use report::{ErrorCount, Percentiles, Report, ServerCounts};
use report::{Samples, cpu_ms_per_download, cpu_ticks, per_download, server_counts};

use crate::{Error, Https, HttpsConfig, InProcess, error_chain};

/// The curve of the eUICCs when the PKI directory holds one PKI per curve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (`nist/`).
    #[default]
    Nist,
    /// brainpoolP256r1 (`brainpool/`).
    Brainpool,
}

impl Curve {
    fn dir_name(self) -> &'static str {
        match self {
            Self::Nist => "nist",
            Self::Brainpool => "brainpool",
        }
    }
}

/// What a load run does, apart from where its activation codes come from.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The SM-DP+ address (host:port, as in activation codes); ES2+ goes to https://<this>.
    pub smdp: String,
    /// Lab PKI directory: the EUM (eum/eum.der, eum/eum.key.pem) and CI (ci/ci.der), or
    /// pre-issued eUICCs (euicc/<EID>.der + .key.pem); one PKI or one per curve.
    pub pki: PathBuf,
    /// The curve, when `pki` holds one PKI per curve.
    pub curve: Curve,
    /// PEM file of certificates to trust, only those (default: the DPtls chain of the PKI).
    pub ca: Option<PathBuf>,
    /// Accept any TLS certificate (lab use only).
    pub insecure: bool,
    /// First EID index under the EUM's prefix for eUICCs issued in memory (default: from the
    /// clock, so that successive runs use new EIDs).
    pub eid_start: Option<u64>,
    /// Use the PKI's pre-issued eUICCs even when the EUM key is there.
    pub preissued: bool,
    /// Downloads at the same time (worker threads), at least 1.
    pub concurrency: usize,
    /// Do not send the install notification: the profile stays Downloaded on the SM-DP+.
    pub skip_notification: bool,
    /// One TLS connection per worker across downloads (else one per download).
    pub reuse_connections: bool,
    /// The SM-DP+ process on this machine, for its CPU time and counters per download.
    pub server_pid: Option<u32>,
    /// Append one JSON line per step to this file (created 0600).
    pub event_log: Option<PathBuf>,
    /// Nodes of one SM-DP+ (host:port each) that ES9+ calls go to in turn instead of the
    /// activation code's address (which stays the SM-DP+ address inside the messages): each
    /// call of a download goes to the next node, so that one download hops across nodes.
    /// Empty: the address.
    pub nodes: Vec<String>,
    /// With [`Self::nodes`]: every call of a download to the next node (`true`, the worst
    /// case: no stickiness at all), or each download's calls all to one node, the downloads
    /// taking the nodes in turn (`false`: what a layer-4 balancer does with a device's
    /// keep-alive connection).
    pub hop_per_call: bool,
    /// Discovery through this SM-DS (host:port): each order is made for its eUICC's EID with
    /// this smdsAddress (ES2+ ordering only), and each eUICC discovers its event there (ES11)
    /// before it downloads it (matchingId = the EventID); the SM-DP+ registers the events
    /// (ES12) in the background, so an eUICC asks again until its event is there (30 s).
    pub discover: Option<String>,
    /// The SM-DS process on this machine, for its CPU time per discovery.
    pub smds_pid: Option<u32>,
}

/// An activation code and its confirmation code.
pub type ActivationCode = (String, Option<String>);

/// Where the activation codes come from.
#[derive(Clone)]
pub enum Orders {
    /// Given.
    Codes(Vec<ActivationCode>),
    /// Ordered over ES2+, `count` of them, before the downloads.
    Es2 {
        /// The operator's ES2+ API key.
        api_key: zeroize::Zeroizing<String>,
        /// functionRequesterIdentifier (the operator's name).
        operator: String,
        /// DownloadOrder by this profile type.
        profile_type: String,
        /// How many.
        count: usize,
    },
}

impl std::fmt::Debug for Orders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Codes(c) => write!(f, "Codes({} codes)", c.len()),
            Self::Es2 {
                operator,
                profile_type,
                count,
                ..
            } => write!(f, "Es2({operator}, {profile_type}, {count})"),
        }
    }
}

/// Activation codes from text, one per line (`LPA:1$host$matchingId`, optionally followed by
/// whitespace and a confirmation code); blank lines and `#` comments skipped.
pub fn parse_codes(text: &str) -> Vec<ActivationCode> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut it = l.split_whitespace();
            let ac = it.next().unwrap_or_default().to_owned();
            (ac, it.next().map(str::to_owned))
        })
        .collect()
}

/// The phases of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// ES2+ ordering.
    Ordering,
    /// The downloads.
    Downloads,
}

/// What a run reports while it runs.
#[derive(Clone, Debug)]
pub enum Progress {
    /// A phase starts with `total` steps.
    Start {
        /// The phase.
        phase: Phase,
        /// Its steps.
        total: usize,
    },
    /// One step done; `ok` and `failed` so far in this phase.
    Step {
        /// The phase.
        phase: Phase,
        /// Succeeded so far.
        ok: usize,
        /// Failed so far.
        failed: usize,
    },
    /// A phase ended.
    Finish(Phase),
    /// Something the operator should know (the event log cannot be written, …).
    Warning(String),
}

/// The progress callback.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Sync);

// ---------------------------------------------------------------------------------------------
// The event log
// ---------------------------------------------------------------------------------------------

/// The event log: JSON lines, each written whole and flushed, so a reader sees every step
/// finished before the process stopped; write failures are warnings.
#[derive(Clone, Copy)]
struct Events<'a> {
    file: Option<&'a Mutex<std::fs::File>>,
    progress: ProgressFn<'a>,
}

fn open_event_log(p: &Path) -> Result<Mutex<std::fs::File>, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    // It holds matchingIds (activation codes): owner-only, like every file with secrets.
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(p)
        .map_err(|source| Error::IoContext {
            context: format!("opening {}", p.display()),
            source,
        })?;
    Ok(Mutex::new(f))
}

impl Events<'_> {
    fn write(&self, mut v: serde_json::Value) {
        use std::io::Write;
        let Some(file) = self.file else { return };
        v["t"] = serde_json::Value::from(unix_now().as_millis() as u64);
        let mut line = v.to_string();
        line.push('\n');
        if let Ok(mut f) = file.lock() {
            // One write(2) per line with O_APPEND: lines of concurrent writers never interleave.
            if let Err(e) = f.write_all(line.as_bytes()) {
                (self.progress)(Progress::Warning(format!("--event-log: {e}")));
            }
        }
    }

    fn failure(&self, step: &str, f: &Failure, mut extra: serde_json::Value) {
        if self.file.is_none() {
            return;
        }
        extra["step"] = step.into();
        extra["ok"] = false.into();
        extra["stage"] = f.stage.clone().into();
        extra["code"] = f.code.clone().into();
        self.write(extra);
    }
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
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

/// The single-curve PKI directory to use under `root`.
fn pki_dir(root: &Path, curve: Curve) -> Result<PathBuf, Error> {
    if root.join("ci").join("ci.der").exists() {
        return Ok(root.to_owned());
    }
    let d = root.join(curve.dir_name());
    if d.join("ci").join("ci.der").exists() {
        return Ok(d);
    }
    Err(Error::PkiDir(format!(
        "no lab PKI in {} (neither ci/ci.der nor {}/ci/ci.der)",
        root.display(),
        curve.dir_name()
    )))
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

fn pki_item(what: &str) -> impl FnOnce(simforge_pki::Error) -> Error + '_ {
    move |source| Error::PkiItem {
        what: what.to_owned(),
        source,
    }
}

impl Identities {
    fn load(dir: &Path, eid_start: Option<u64>, preissued: bool) -> Result<Self, Error> {
        use crate::identity::read;
        let ci_der = read(&dir.join("ci").join("ci.der"))?;
        let eum_der = dir.join("eum").join("eum.der");
        let eum_key = dir.join("eum").join("eum.key.pem");
        if !preissued && eum_der.exists() && eum_key.exists() {
            let eum =
                Certificate::from_der(&read(&eum_der)?).map_err(pki_item("EUM certificate"))?;
            let pem = std::fs::read_to_string(&eum_key).map_err(Error::io("reading", &eum_key))?;
            let key = PrivateKey::from_pem(&pem).map_err(pki_item("EUM key"))?;
            let prefix = eum
                .name_constraint_eid_prefixes()
                .and_then(|p| p.first())
                .or_else(|| eum.permitted_eins().and_then(|p| p.first()))
                .cloned()
                .ok_or_else(|| Error::PkiDir("the EUM certificate states no EID prefix".into()))?;
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
        let eids = crate::identity::eids_in(&dir.join("euicc"))?;
        let eum_cert = read(&eum_der)?;
        let out = eids
            .into_iter()
            .map(|eid| crate::identity::preissued(dir, eid, eum_cert.clone(), ci_der.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        if out.is_empty() {
            return Err(Error::PkiDir(format!(
                "{} has neither the EUM key (eum/eum.key.pem) nor eUICCs (euicc/); make them with `simforge pki init --euiccs N`",
                dir.display()
            )));
        }
        Ok(Self::Fixed(out))
    }

    fn curve(&self) -> &'static str {
        let curve = match self {
            Self::Issue(e) => e.eum.curve(),
            Self::Fixed(v) => v
                .first()
                .and_then(|i| Certificate::from_der(&i.euicc_certificate).ok())
                .map_or(simforge_pki::Curve::P256, |c| c.curve()),
        };
        match curve {
            simforge_pki::Curve::P256 => "NIST P-256",
            simforge_pki::Curve::BrainpoolP256r1 => "brainpoolP256r1",
        }
    }

    /// The identity for download number `index`.
    fn get(&self, index: usize) -> Result<EuiccIdentity, Error> {
        match self {
            Self::Fixed(v) => v
                .get(index % v.len().max(1))
                .cloned()
                .ok_or_else(|| Error::PkiDir("no eUICC".into())),
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
                        .map_err(pki_item("EID"))?;
                let key = PrivateKey::generate(eum_key.curve()).map_err(pki_item("eUICC key"))?;
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
                .map_err(pki_item("eUICC certificate"))?;
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
// ES9+ timed, ES2+
// ---------------------------------------------------------------------------------------------

/// ES9+ over HTTPS, timing every exchange.
struct Timed<'a> {
    https: &'a Https,
    skip_notification: bool,
    samples: &'a mut Samples,
    /// See [`LoadConfig::nodes`]; `hop` counts this download's calls (when `per_call`).
    nodes: &'a [String],
    hop: usize,
    per_call: bool,
    /// The SM-DS of a discovery: its calls are never sent to the SM-DP+'s nodes.
    smds: Option<&'a str>,
}

impl Es9Transport for Timed<'_> {
    fn post(
        &mut self,
        server_address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), simforge_lpa::Error> {
        if self.skip_notification && function == Es9Function::HandleNotification {
            return Err(simforge_lpa::Error::Transport(
                "install notification not sent (--no-notification)".into(),
            ));
        }
        let to = match self.nodes.len() {
            _ if self.smds == Some(server_address) => server_address,
            0 => server_address,
            n => &self.nodes[self.hop % n],
        };
        if self.per_call {
            self.hop += 1;
        }
        let started = Instant::now();
        let r = self.https.post_es9(to, function.name(), body);
        if let Some(i) = Es9Function::ALL.iter().position(|f| *f == function) {
            self.samples.es9[i].push(started.elapsed());
        }
        r
    }
}

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
    events: Events<'a>,
    /// Discovery: the SM-DS the orders name, and the eUICCs they are made for.
    discover: Option<(&'a str, &'a Identities)>,
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
            .map_err(|e| Failure::new(&stage, "transport", e.to_string()))?;
        let http = r.status().as_u16();
        let bytes = r
            .bytes()
            .map_err(|e| Failure::new(&stage, "transport", e.to_string()))?;
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

    /// DownloadOrder by profile type, ConfirmOrder with releaseFlag: an activation code (and
    /// with discovery, the eUICC the order is for, its EID and the SM-DS in ConfirmOrder).
    fn order(
        &self,
        n: usize,
        samples: &mut Samples,
    ) -> Result<(String, Option<EuiccIdentity>), Failure> {
        let identity = match self.discover {
            Some((_, ids)) => Some(
                ids.get(n)
                    .map_err(|e| Failure::new("eUICC", "identity", error_chain(&e)))?,
            ),
            None => None,
        };
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
                self.events
                    .failure("downloadOrder", &f, serde_json::json!({ "n": n }));
                return Err(f);
            }
        };
        let t = Instant::now();
        let mut body = serde_json::json!({"iccid": iccid, "releaseFlag": true});
        if let (Some((smds, _)), Some(id)) = (self.discover, &identity) {
            body["eid"] = id.eid.clone().into();
            body["smdsAddress"] = (*smds).into();
        }
        let v = self.call("confirmOrder", body, n);
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
                self.events.failure(
                    "confirmOrder",
                    &f,
                    serde_json::json!({ "n": n, "iccid": iccid }),
                );
                return Err(f);
            }
        };
        let matching_id = v["matchingId"].as_str().unwrap_or_default();
        self.events.write(serde_json::json!({
            "step": "order", "ok": true, "n": n, "iccid": iccid, "matchingId": matching_id,
        }));
        let address = v["smdpAddress"]
            .as_str()
            .unwrap_or_else(|| self.base.trim_start_matches("https://"));
        Ok((format!("LPA:1${address}${matching_id}"), identity))
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

/// Discovers the event of the order `ac` at `smds` (ES11; asked again until the SM-DP+ has
/// registered it, 30 s at most) and downloads it (matchingId = the EventID).
fn discover_and_download<C: simforge_lpa::Card, T: Es9Transport>(
    lpa: &mut Lpa<C, T>,
    smds: &str,
    ac: &str,
    cc: Option<&str>,
) -> Result<simforge_lpa::DownloadOutcome, simforge_lpa::Error> {
    let matching_id = ac.rsplit('$').next().unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = lpa.discover(smds)?;
        if let Some(e) = events.iter().find(|e| e.event_id == matching_id) {
            // An event at a root SM-DS may point to an alternative SM-DS: followed.
            return lpa.download_event(e, cc);
        }
        if Instant::now() >= deadline {
            return Err(simforge_lpa::Error::Transport(format!(
                "no event {matching_id} at the SM-DS {smds} after 30 s"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A job and, with discovery, the eUICC its order was made for.
type OrderedJob = (Job, Option<EuiccIdentity>);

/// One job: an activation code (or the failure that stopped it before the download).
type Job = Result<ActivationCode, Failure>;

struct Worker<'a> {
    identities: &'a Identities,
    nodes: &'a [String],
    hop_per_call: bool,
    skip_notification: bool,
    events: Events<'a>,
    /// The SM-DS to discover the events at.
    smds: Option<&'a str>,
    /// The eUICC each order was made for (discovery), by job.
    ordered_for: &'a [Option<EuiccIdentity>],
}

impl Worker<'_> {
    /// Downloads with a fresh eUICC; returns the ICCID and whether the install notification
    /// was delivered.
    fn download(
        &self,
        index: usize,
        https: &Https,
        ac: &str,
        cc: Option<&str>,
        samples: &mut Samples,
    ) -> Result<(String, bool), Failure> {
        let identity = match self.ordered_for.get(index) {
            Some(Some(id)) => id.clone(),
            _ => self
                .identities
                .get(index)
                .map_err(|e| Failure::new("eUICC", "identity", error_chain(&e)))?,
        };
        let r = self.download_as(&identity, https, index, ac, cc, samples);
        if self.events.file.is_some() {
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
                    self.events.write(v);
                }
                Err(f) => self.events.failure("download", f, base),
            }
        }
        r
    }

    fn download_as(
        &self,
        identity: &EuiccIdentity,
        https: &Https,
        index: usize,
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
            https,
            skip_notification: self.skip_notification,
            samples,
            nodes: self.nodes,
            // Downloads start on different nodes.
            hop: index,
            per_call: self.hop_per_call,
            smds: self.smds,
        };
        let mut lpa = Lpa::new(es10, &mut transport);
        let r = match self.smds {
            None => lpa.download(ac, cc),
            Some(smds) => discover_and_download(&mut lpa, smds, ac, cc),
        };
        lpa.es10.close();
        let out = r.map_err(|e| lpa_failure(&e))?;
        samples.download.push(started.elapsed());
        Ok((out.iccid, out.notification_sent))
    }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/// A load run, prepared: identities loaded, TLS set up, event log open.
pub struct LoadTest {
    config: LoadConfig,
    identities: Identities,
    tls: HttpsConfig,
    https: Https,
    events: Option<Mutex<std::fs::File>>,
}

impl std::fmt::Debug for LoadTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadTest")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LoadTest {
    /// Loads the eUICC identities of the PKI (the EUM to issue them, or pre-issued ones), the
    /// CA to trust, and opens the event log.
    ///
    /// # Errors
    /// [`Error::Config`], [`Error::PkiDir`], [`Error::Io`], [`Error::PkiItem`],
    /// [`Error::Http`].
    pub fn prepare(config: LoadConfig) -> Result<Self, Error> {
        if config.concurrency == 0 {
            return Err(Error::Config("the concurrency must be at least 1".into()));
        }
        let dir = pki_dir(&config.pki, config.curve)?;
        let identities = Identities::load(&dir, config.eid_start, config.preissued)?;
        let ca_pem = match config.ca.clone().or_else(|| default_ca(&config.pki)) {
            Some(p) => Some(crate::read_ca(&p)?),
            None => None,
        };
        let tls = HttpsConfig {
            ca_pem,
            pin_ca: true,
            insecure: config.insecure,
            user_agent: concat!("simforge-load/", env!("CARGO_PKG_VERSION")).to_owned(),
        };
        let https = Https::new(&tls)?;
        let events = config
            .event_log
            .as_deref()
            .map(open_event_log)
            .transpose()?;
        Ok(Self {
            config,
            identities,
            tls,
            https,
            events,
        })
    }

    /// Orders (over ES2+) or takes the activation codes, then runs the downloads.
    ///
    /// # Errors
    /// [`Error::Config`] if there is nothing to do; failed steps are counted in the report.
    pub fn run(self, orders: Orders, progress: ProgressFn<'_>) -> Result<Report, Error> {
        let a = &self.config;
        let events = Events {
            file: self.events.as_ref(),
            progress,
        };
        // 1. The activation codes.
        let mut all = Samples::default();
        let ordering_started = Instant::now();
        let (jobs, ordered_for, ordering_secs) = match orders {
            Orders::Codes(_) if a.discover.is_some() => {
                return Err(Error::Config(
                    "discovery needs orders made over ES2+ (for each eUICC's EID)".into(),
                ));
            }
            Orders::Codes(codes) => {
                if codes.is_empty() {
                    return Err(Error::Config("no activation code".into()));
                }
                (
                    codes.into_iter().map(Ok).collect::<Vec<Job>>(),
                    Vec::new(),
                    0.0,
                )
            }
            Orders::Es2 {
                api_key,
                operator,
                profile_type,
                count,
            } => {
                let es2 = Es2 {
                    client: self.https.client(),
                    base: format!("https://{}", a.smdp),
                    api_key: &api_key,
                    operator: &operator,
                    profile_type: &profile_type,
                    run_id: unix_now().as_millis() as u64,
                    events,
                    discover: a.discover.as_deref().map(|s| (s, &self.identities)),
                };
                let (jobs, ordered_for) = order_all(&es2, count, a.concurrency, &mut all, progress);
                (jobs, ordered_for, ordering_started.elapsed().as_secs_f64())
            }
        };

        // 2. The downloads.
        let n = jobs.len();
        let worker = Worker {
            identities: &self.identities,
            nodes: &a.nodes,
            hop_per_call: a.hop_per_call,
            skip_notification: a.skip_notification,
            events,
            smds: a.discover.as_deref(),
            ordered_for: &ordered_for,
        };
        progress(Progress::Start {
            phase: Phase::Downloads,
            total: n,
        });
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
            progress(Progress::Warning(
                "cannot read /proc/<server-pid>/stat; no server CPU time".into(),
            ));
        }
        let smds_pid = a.smds_pid.map(|p| p.to_string());
        let smds_before = smds_pid.as_deref().and_then(cpu_ticks);
        let client_before = cpu_ticks("self");
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..a.concurrency.min(n) {
                s.spawn(|| {
                    let mut samples = Samples::default();
                    let shared = if a.reuse_connections {
                        Https::new(&self.tls).ok()
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
                                let https = match &shared {
                                    Some(c) => Ok(c),
                                    None => match Https::new(&self.tls) {
                                        Ok(c) => {
                                            own = c;
                                            Ok(&own)
                                        }
                                        Err(e) => {
                                            Err(Failure::new("TLS", "client", error_chain(&e)))
                                        }
                                    },
                                };
                                https.and_then(|c| {
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
                        progress(Progress::Step {
                            phase: Phase::Downloads,
                            ok: ok.load(Ordering::Relaxed),
                            failed: failed.load(Ordering::Relaxed),
                        });
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
        let smds_after = smds_pid.as_deref().and_then(cpu_ticks);
        progress(Progress::Finish(Phase::Downloads));
        all.merge(merged.into_inner().unwrap_or_default());

        let succeeded = ok.into_inner();
        let mut iccids = iccids.into_inner().unwrap_or_default();
        iccids.sort_unstable();
        iccids.dedup();

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

        Ok(Report {
            smdp: a.smdp.clone(),
            curve: self.identities.curve().to_owned(),
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
            latency_ms: all.latency(),
            server_cpu_ms_per_download: cpu_ms_per_download(server_before, server_after, succeeded),
            client_cpu_ms_per_download: cpu_ms_per_download(client_before, client_after, succeeded),
            smds_cpu_ms_per_download: cpu_ms_per_download(smds_before, smds_after, succeeded),
            server_per_download: per_download(counts_before, counts_after, succeeded),
        })
    }
}

/// Places `n` orders over ES2+ on `concurrency` threads: a job per order.
fn order_all(
    es2: &Es2<'_>,
    n: usize,
    concurrency: usize,
    all: &mut Samples,
    progress: ProgressFn<'_>,
) -> (Vec<Job>, Vec<Option<EuiccIdentity>>) {
    progress(Progress::Start {
        phase: Phase::Ordering,
        total: n,
    });
    let next = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<OrderedJob>>> = Mutex::new((0..n).map(|_| None).collect());
    let merged = Mutex::new(Samples::default());
    std::thread::scope(|s| {
        for _ in 0..concurrency.min(n) {
            s.spawn(|| {
                let mut samples = Samples::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let (job, identity) = match es2.order(i, &mut samples) {
                        Ok((ac, id)) => (Ok((ac, None)), id),
                        Err(f) => (Err(f), None),
                    };
                    let counter = if job.is_ok() { &ok } else { &failed };
                    counter.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut o) = out.lock()
                        && let Some(slot) = o.get_mut(i)
                    {
                        *slot = Some((job, identity));
                    }
                    progress(Progress::Step {
                        phase: Phase::Ordering,
                        ok: ok.load(Ordering::Relaxed),
                        failed: failed.load(Ordering::Relaxed),
                    });
                }
                if let Ok(mut m) = merged.lock() {
                    m.merge(samples);
                }
            });
        }
    });
    progress(Progress::Finish(Phase::Ordering));
    all.merge(merged.into_inner().unwrap_or_default());
    out.into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|j| j.unwrap_or_else(|| (Err(Failure::new("ES2+", "not run", "")), None)))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_codes_parse_with_optional_confirmation_codes() {
        let codes = parse_codes("# comment\n\n LPA:1$a$B 1234\nLPA:1$a$C\n");
        assert_eq!(
            codes,
            vec![
                ("LPA:1$a$B".to_owned(), Some("1234".to_owned())),
                ("LPA:1$a$C".to_owned(), None)
            ]
        );
    }

    #[test]
    fn a_pki_directory_without_a_lab_pki_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = pki_dir(dir.path(), Curve::Brainpool)
            .unwrap_err()
            .to_string();
        assert!(e.contains("brainpool/ci/ci.der"), "{e}");
    }

    #[test]
    fn identities_are_issued_in_memory_or_taken_round_robin() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = simforge_pki::LabPkiOptions::new(simforge_pki::Curve::P256, "localhost");
        opts.euicc_count = 2;
        simforge_pki::write_lab_pki(dir.path(), &opts).unwrap();
        let issued = Identities::load(dir.path(), Some(7), false).unwrap();
        let (a, b) = (issued.get(0).unwrap(), issued.get(1).unwrap());
        assert_ne!(a.eid, b.eid);
        assert_eq!(issued.curve(), "NIST P-256");
        Euicc::new(
            &a,
            EuiccState::default(),
            Box::new(simforge_crypto::SystemRandom::new()),
            Box::new(simforge_crypto::SystemClock),
        )
        .unwrap();
        let fixed = Identities::load(dir.path(), None, true).unwrap();
        assert_eq!(fixed.get(0).unwrap().eid, fixed.get(2).unwrap().eid);
        assert_ne!(fixed.get(0).unwrap().eid, fixed.get(1).unwrap().eid);
    }
}
