//! ES15 cascading end to end, in process over real TLS: the SM-DP+ registers an order's
//! event, with forwardingIndicator, at an alternative SM-DS (ES12, its DPtls identity); the
//! alternative SM-DS forwards it to the root SM-DS (ES15, its own DStls identity, through the
//! SM-DP+'s SM-DS worker over `ForwardQueue`) as a record pointing at itself; the virtual
//! eUICC discovers the event at the root, follows it to the alternative SM-DS (ES11, the
//! EventID as matchingId) and downloads it from the SM-DP+; the installation deletes the
//! event at the alternative SM-DS, which deletes it at the root. The root down at first: the
//! forward waits in the alternative SM-DS's queue. Time is injected into the workers'
//! rounds, nothing sleeps (the SM-DSs' HTTP edge stamps a forward with the wall clock, so
//! the forwarder's rounds count from a wall-clock reading taken after it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;

use simforge_asn1::json::{self, Es9Function, HeaderOnlyResponse};
use simforge_asn1::status::ResponseHeader;
use simforge_crypto::SystemRandom;
use simforge_lpa::{Es9Transport, Es10, Lpa};
use simforge_server::{
    ClientAuth, Es12Client, Metrics, Registrants, SmdsRoundStats, SmdsState, SmdsWorker,
    SmdsWorkerConfig, Timeouts, smds_router,
};
use simforge_smdp::{MemoryStore, ProfileState, SmdsOpKind, SmdsOpState};
use simforge_smds::{ForwardQueue, Registrant, Smds, SmdsConfig, SmdsKeys, SmdsStore};
use simforge_testkit::card::InProc;
use simforge_testkit::es9::DirectEs9;
use simforge_testkit::lab::ADDRESS;
use simforge_testkit::{Pair, TestClock};

type DsStore = Arc<simforge_smds::MemoryStore>;
type Ds = Arc<SmdsState<DsStore>>;

fn answer<T: serde::Serialize>(r: Result<T, simforge_smds::Error>) -> (u16, Vec<u8>) {
    match r {
        Ok(v) => (200, json::to_json(&v).unwrap()),
        Err(e) => (
            200,
            json::to_json(&HeaderOnlyResponse {
                header: ResponseHeader::failed(&e.status_code().unwrap(), Some(e.to_string())),
            })
            .unwrap(),
        ),
    }
}

/// ES11 into whichever SM-DS the address names (at the clock's time); the rest to the SM-DP+.
struct Routed<'a> {
    smdss: [&'a Ds; 2],
    dp: &'a mut DirectEs9,
    clock: TestClock,
    /// The addresses asked, in order.
    asked: Vec<String>,
}

impl Es9Transport for Routed<'_> {
    fn post(
        &mut self,
        address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), simforge_lpa::Error> {
        self.asked.push(address.to_owned());
        let Some(ds) = self
            .smdss
            .iter()
            .find(|d| d.smds.config().accepts_address(address))
        else {
            return self.dp.post(address, function, body);
        };
        let now = self.clock.now();
        Ok(match function {
            Es9Function::InitiateAuthentication => answer(
                ds.smds
                    .initiate_authentication(&json::from_json(body).unwrap(), now),
            ),
            Es9Function::AuthenticateClient => answer(
                ds.smds
                    .authenticate_client(&json::from_json(body).unwrap(), now),
            ),
            _ => (404, Vec::new()),
        })
    }
}

/// One SM-DS: its state, TLS configuration and the port it is (or will be) on.
struct Node {
    ds: Ds,
    tls: rustls::ServerConfig,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

struct World {
    pair: Pair,
    fqdn: String,
    alt: Node,
    root: Node,
    alt_store: DsStore,
    /// The SM-DP+'s worker (to the alternative SM-DS).
    dp_worker: SmdsWorker<MemoryStore>,
    /// The alternative SM-DS's forwarder (to the root).
    forwarder: SmdsWorker<ForwardQueue<simforge_smds::MemoryStore>>,
}

impl World {
    fn new() -> Self {
        let pair = Pair::new();
        let pki = &pair.pki;
        let dsk = pki.smds.as_ref().unwrap();
        let fqdn = dsk.fqdn.clone();
        let port = || {
            pair.block_on(async {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                l.local_addr().unwrap()
            })
        };
        let (alt_addr, root_addr) = (port(), port());
        let tls = || {
            simforge_server::tls_config_with_client_auth(
                vec![dsk.tls.cert.der().to_vec(), pki.ci.der().to_vec()],
                dsk.tls.key.to_pkcs8_der().unwrap().to_vec(),
                ClientAuth::Pinned,
            )
            .unwrap()
        };
        let node = |addr: SocketAddr, root: Option<String>, store: DsStore, who: (&[u8], &str)| {
            let mut cfg = SmdsConfig::new(&fqdn);
            cfg.port = addr.port();
            cfg.root = root;
            let smds = Smds::new(
                cfg,
                SmdsKeys::from_pkis(&[pki]).unwrap(),
                store,
                Arc::new(SystemRandom::new()),
            );
            let registrants = [(
                simforge_server::cert_sha256(who.0),
                Registrant::parse(who.1).unwrap(),
            )]
            .into_iter()
            .collect();
            Node {
                ds: Arc::new(SmdsState {
                    smds,
                    registrants: Registrants(registrants),
                    metrics: Metrics::default(),
                    limits: simforge_server::SourceLimits::default(),
                }),
                tls: tls(),
                addr,
                stop: None,
            }
        };
        let root_address = format!("{fqdn}:{}", root_addr.port());
        let alt_store: DsStore = Arc::new(simforge_smds::MemoryStore::new());
        // The alternative SM-DS knows the SM-DP+ (DPtls); the root knows the alternative
        // SM-DS (its DStls).
        let alt = node(
            alt_addr,
            Some(root_address),
            Arc::clone(&alt_store),
            (pki.smdp.tls.cert.der(), "smdp1"),
        );
        let root = node(
            root_addr,
            None,
            Arc::new(simforge_smds::MemoryStore::new()),
            (dsk.tls.cert.der(), "alt-smds"),
        );
        let client = |cert: &simforge_pki::Issued| {
            let mut pem = cert.cert.to_pem().into_bytes();
            pem.extend_from_slice(cert.key.to_pkcs8_pem().unwrap().as_bytes());
            reqwest::Client::builder()
                .add_root_certificate(
                    reqwest::Certificate::from_pem(pki.ci.to_pem().as_bytes()).unwrap(),
                )
                .identity(reqwest::Identity::from_pem(&pem).unwrap())
                // Both SM-DSs have the lab DStls name, on their own ports.
                .resolve(&fqdn, SocketAddr::from(([127, 0, 0, 1], 0)))
                .build()
                .unwrap()
        };
        let mut dp_config = SmdsWorkerConfig::new(ADDRESS);
        dp_config.forwarding_indicator = true;
        let dp_worker = SmdsWorker::new(
            Arc::new(pair.smdp.store().clone()),
            Es12Client::from_client(client(&pki.smdp.tls)),
            dp_config,
        );
        let forwarder = SmdsWorker::new(
            Arc::new(ForwardQueue(Arc::clone(&alt_store))),
            Es12Client::from_client(client(&dsk.tls)).es15(),
            SmdsWorkerConfig::new(&alt.ds.smds.config().address()),
        );
        Self {
            pair,
            fqdn,
            alt,
            root,
            alt_store,
            dp_worker,
            forwarder,
        }
    }

    fn address(&self, n: &Node) -> String {
        format!("{}:{}", self.fqdn, n.addr.port())
    }

    fn up(pair: &Pair, n: &mut Node) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listener = pair
            .block_on(tokio::net::TcpListener::bind(n.addr))
            .unwrap();
        pair.rt.spawn(simforge_server::serve_tls_until(
            listener,
            n.tls.clone(),
            smds_router(Arc::clone(&n.ds)),
            Timeouts::default(),
            async {
                let _ = stopped.await;
            },
        ));
        n.stop = Some(stop);
    }

    fn dp_round(&self, later_ms: i64) -> SmdsRoundStats {
        let at = self.pair.now() * 1000 + later_ms;
        self.pair.block_on(self.dp_worker.run_once(at)).unwrap()
    }

    /// One forwarder round at `at_ms` (see [`wall_ms`]).
    fn forward_round(&self, at_ms: i64) -> SmdsRoundStats {
        self.pair.block_on(self.forwarder.run_once(at_ms)).unwrap()
    }

    /// DownloadOrder and ConfirmOrder (released) of `iccid` for eUICC 0 with smdsAddress =
    /// the alternative SM-DS.
    fn order(&self, iccid: &str) -> String {
        let p = &self.pair;
        p.add_profiles(&[iccid], false);
        let order = p
            .order_at_smds(iccid, p.eid(0), &self.address(&self.alt))
            .unwrap();
        order.matching_id.as_str().to_owned()
    }

    /// Runs `f` with eUICC 0's LPA over the routed transport; the addresses it asked.
    fn with_lpa<R>(
        &mut self,
        f: impl FnOnce(&mut Lpa<InProc<'_>, &mut Routed<'_>>) -> R,
    ) -> (R, Vec<String>) {
        let clock = self.pair.clock.clone();
        let Pair { euiccs, es9, .. } = &mut self.pair;
        let mut routed = Routed {
            smdss: [&self.root.ds, &self.alt.ds],
            dp: es9,
            clock,
            asked: Vec::new(),
        };
        let r = {
            let mut lpa = Lpa::new(
                Es10::open(InProc::new(&mut euiccs[0])).unwrap(),
                &mut routed,
            );
            f(&mut lpa)
        };
        (r, routed.asked)
    }

    fn forward_states(&self) -> Vec<(SmdsOpKind, SmdsOpState)> {
        let mut rows = self.alt_store.ops(100).unwrap();
        rows.reverse();
        rows.into_iter()
            .map(|r| (r.entry.op.kind, r.state))
            .collect()
    }
}

/// The wall clock now, milliseconds: a reading taken after the SM-DS queued a forward (the
/// forwarder's rounds are then given this plus a delay).
fn wall_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(d.as_millis()).unwrap()
}

impl Drop for World {
    fn drop(&mut self) {
        for n in [&mut self.alt, &mut self.root] {
            if let Some(s) = n.stop.take() {
                let _ = s.send(());
            }
        }
    }
}

#[test]
fn an_event_cascades_to_the_root_the_lpa_follows_it_and_its_deletion_cascades_too() {
    use SmdsOpKind::{Delete, Register};
    use SmdsOpState::{Done, Pending};
    let mut w = World::new();
    let (alt, root) = (w.address(&w.alt), w.address(&w.root));
    World::up(&w.pair, &mut w.alt);
    let iccid = "8949449999999990049";
    let mid = w.order(iccid);
    // The SM-DP+ registers at the alternative SM-DS, forwardingIndicator true.
    let r = w.dp_round(0);
    assert_eq!((r.done, r.retried, r.given_up), (1, 0, 0), "{r:?}");
    let rec = w.alt.ds.smds.store().events_for(&w.pair.eid(0)).unwrap();
    assert_eq!(rec.len(), 1);
    assert!(rec[0].forwarding_indicator);
    assert_eq!(rec[0].rsp_server_address, ADDRESS);
    assert_eq!(w.forward_states(), [(Register, Pending)]);

    // The root is down: the forward waits, retried with backoff.
    let base = wall_ms();
    let r = w.forward_round(base);
    assert_eq!((r.done, r.retried), (0, 1), "{r:?}");
    let ((), _) = w.with_lpa(|lpa| assert!(lpa.discover(&root).unwrap().is_empty()));
    World::up(&w.pair, &mut w.root);
    assert_eq!(w.forward_round(base + 1_000), SmdsRoundStats::default());
    let r = w.forward_round(base + 2_000);
    assert_eq!((r.done, r.retried), (1, 0), "{r:?}");
    assert_eq!(w.forward_states(), [(Register, Done)]);

    // At the root: the same EID and EventID, pointing at the alternative SM-DS, registered
    // by the alternative SM-DS's identity, not forwarded further.
    let at_root = w.root.ds.smds.store().events_for(&w.pair.eid(0)).unwrap();
    assert_eq!(at_root.len(), 1);
    assert_eq!(at_root[0].event_id, mid);
    assert_eq!(at_root[0].rsp_server_address, alt);
    assert_eq!(at_root[0].registrant.as_str(), "alt-smds");
    assert!(!at_root[0].forwarding_indicator);

    // Discovery at the root, then the LPA follows the event to the alternative SM-DS and
    // downloads from the SM-DP+ its record names.
    let (events, _) = w.with_lpa(|lpa| lpa.discover(&root).unwrap());
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].event_id.as_str(),
            events[0].rsp_server_address.as_str()
        ),
        (mid.as_str(), alt.as_str())
    );
    let (installed, asked) = w.with_lpa(|lpa| lpa.download_event(&events[0], None).unwrap());
    assert_eq!(installed.iccid, iccid);
    // Root (ES11: 2 calls), then the alternative (ES11 with the EventID: 2), then the SM-DP+.
    assert_eq!(asked[..2], [alt.clone(), alt.clone()]);
    assert!(asked[2..].iter().all(|a| a == ADDRESS), "{asked:?}");
    assert_eq!(
        w.pair.profile(iccid).unwrap().state,
        ProfileState::Installed
    );

    // The installation deletes the event at the alternative SM-DS, which deletes it at the
    // root.
    let r = w.dp_round(60_000);
    assert_eq!((r.done, r.retried), (1, 0), "{r:?}");
    assert!(
        w.alt
            .ds
            .smds
            .store()
            .events_for(&w.pair.eid(0))
            .unwrap()
            .is_empty()
    );
    assert_eq!(w.forward_states(), [(Register, Done), (Delete, Pending)]);
    let r = w.forward_round(wall_ms() + 60_000);
    assert_eq!((r.done, r.retried), (1, 0), "{r:?}");
    assert!(
        w.root
            .ds
            .smds
            .store()
            .events_for(&w.pair.eid(0))
            .unwrap()
            .is_empty()
    );
    assert_eq!(w.forward_states(), [(Register, Done), (Delete, Done)]);
}

#[test]
fn a_root_that_does_not_know_the_alternative_smds_refuses_and_the_forward_is_given_up() {
    let mut w = World::new();
    // The root knows the SM-DP+, not the alternative SM-DS.
    let mut state = SmdsState {
        smds: Smds::new(
            {
                let mut c = w.root.ds.smds.config().clone();
                c.root = None;
                c
            },
            SmdsKeys::from_pkis(&[&w.pair.pki]).unwrap(),
            Arc::new(simforge_smds::MemoryStore::new()),
            Arc::new(SystemRandom::new()),
        ),
        registrants: Registrants::default(),
        metrics: Metrics::default(),
        limits: simforge_server::SourceLimits::default(),
    };
    state.registrants.0.insert(
        simforge_server::cert_sha256(w.pair.pki.smdp.tls.cert.der()),
        Registrant::parse("smdp1").unwrap(),
    );
    w.root.ds = Arc::new(state);
    World::up(&w.pair, &mut w.alt);
    World::up(&w.pair, &mut w.root);
    w.order("8949449999999990056");
    assert_eq!(w.dp_round(0).done, 1);
    let r = w.forward_round(wall_ms());
    assert_eq!((r.done, r.given_up), (0, 1), "{r:?}");
    let rows = w.alt_store.ops(10).unwrap();
    assert_eq!(rows[0].state, SmdsOpState::Failed);
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("refused"),
        "{:?}",
        rows[0].last_error
    );
    // The alternative SM-DS still serves the event itself.
    assert_eq!(
        w.alt
            .ds
            .smds
            .store()
            .events_for(&w.pair.eid(0))
            .unwrap()
            .len(),
        1
    );
}
