//! The SM-DP+'s events at a real SM-DS: ES2+.ConfirmOrder with smdsAddress queues the
//! registration, the SM-DS worker delivers it over mutual TLS (DPtls) to the SM-DS behind
//! `smds_router`, retrying while the SM-DS is down; the virtual eUICC discovers the event
//! (ES11, the real LPA) and downloads it, and the installation result, like CancelOrder,
//! deletes it at the SM-DS. Time is injected (the worker's rounds take it), nothing sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use simforge_asn1::json::{
    self, CancelOrderRequest, Es9Function, FinalProfileStatus, HeaderOnlyResponse, RequestHeader,
};
use simforge_asn1::status::ResponseHeader;
use simforge_crypto::SystemRandom;
use simforge_lpa::{Es9Transport, Es10, Lpa};
use simforge_server::{
    ClientAuth, Es12Client, Metrics, Registrants, SmdsRoundStats, SmdsState, SmdsWorker,
    SmdsWorkerConfig, Timeouts, smds_router,
};
use simforge_smdp::{MemoryStore, ProfileState, SmdsOpState, SmdsQueue};
use simforge_smds::{Registrant, Smds, SmdsConfig, SmdsKeys};
use simforge_testkit::card::InProc;
use simforge_testkit::es9::DirectEs9;
use simforge_testkit::lab::ADDRESS;
use simforge_testkit::pair::OPERATOR;
use simforge_testkit::{Pair, TestClock};

type Ds = Arc<SmdsState<simforge_smds::MemoryStore>>;

/// ES11 into the SM-DS (its JSON, at the clock's time); anything else into the SM-DP+.
struct Routed<'a> {
    ds: &'a Ds,
    dp: &'a mut DirectEs9,
    clock: TestClock,
}

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

impl Es9Transport for Routed<'_> {
    fn post(
        &mut self,
        address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), simforge_lpa::Error> {
        if !self.ds.smds.config().accepts_address(address) {
            return self.dp.post(address, function, body);
        }
        let now = self.clock.now();
        Ok(match function {
            Es9Function::InitiateAuthentication => answer(
                self.ds
                    .smds
                    .initiate_authentication(&json::from_json(body).unwrap(), now),
            ),
            Es9Function::AuthenticateClient => answer(
                self.ds
                    .smds
                    .authenticate_client(&json::from_json(body).unwrap(), now),
            ),
            _ => (404, Vec::new()),
        })
    }
}

/// ES11's address of the SM-DS (what the LPA asks).
const DS_ES11: &str = "smds.simforge.test:8443";

struct World {
    pair: Pair,
    ds: Ds,
    fqdn: String,
    tls: rustls::ServerConfig,
    addr: SocketAddr,
    worker: SmdsWorker<MemoryStore>,
    metrics: Arc<Metrics>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl World {
    /// The SM-DP+ (a `Pair`), an SM-DS knowing the SM-DP+'s DPtls certificate as a
    /// registrant, and a port for it: not listening yet.
    fn new() -> Self {
        Self::with_registrant(true)
    }

    /// As [`World::new`]; without `registrant`, the SM-DS does not know the SM-DP+.
    fn with_registrant(registrant: bool) -> Self {
        let pair = Pair::new();
        let pki = &pair.pki;
        let dsk = pki.smds.as_ref().unwrap();
        let mut cfg = SmdsConfig::new(&dsk.fqdn);
        cfg.port = 8443;
        let smds = Smds::new(
            cfg,
            SmdsKeys::from_pkis(&[pki]).unwrap(),
            simforge_smds::MemoryStore::new(),
            Arc::new(SystemRandom::new()),
        );
        let registrants: HashMap<[u8; 32], Registrant> = [(
            simforge_server::cert_sha256(pki.smdp.tls.cert.der()),
            Registrant::parse("smdp1").unwrap(),
        )]
        .into_iter()
        .filter(|_| registrant)
        .collect();
        let ds = Arc::new(SmdsState {
            smds,
            registrants: Registrants(registrants),
            metrics: Metrics::default(),
            limits: simforge_server::SourceLimits::default(),
        });
        let tls = simforge_server::tls_config_with_client_auth(
            vec![dsk.tls.cert.der().to_vec(), pki.ci.der().to_vec()],
            dsk.tls.key.to_pkcs8_der().unwrap().to_vec(),
            ClientAuth::Pinned,
        )
        .unwrap();
        // A free port, nobody listening on it until `up`.
        let addr = pair.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        });
        let mut pem = pki.smdp.tls.cert.to_pem().into_bytes();
        pem.extend_from_slice(pki.smdp.tls.key.to_pkcs8_pem().unwrap().as_bytes());
        let client = Es12Client::from_client(
            reqwest::Client::builder()
                .add_root_certificate(
                    reqwest::Certificate::from_pem(pki.ci.to_pem().as_bytes()).unwrap(),
                )
                .identity(reqwest::Identity::from_pem(&pem).unwrap())
                .resolve(&dsk.fqdn, addr)
                .build()
                .unwrap(),
        );
        let metrics = Arc::new(Metrics::default());
        let m = Arc::clone(&metrics);
        let worker = SmdsWorker::new(
            Arc::new(pair.smdp.store().clone()),
            client,
            SmdsWorkerConfig::new(ADDRESS),
        )
        .with_observer(Arc::new(move |op: &str, result: &str| {
            m.smds_op(op, result)
        }));
        let fqdn = dsk.fqdn.clone();
        Self {
            pair,
            ds,
            fqdn,
            tls,
            addr,
            worker,
            metrics,
            stop: None,
        }
    }

    /// The smdsAddress the operator gives (the SM-DS's ES12 listener).
    fn smds_address(&self) -> String {
        format!("{}:{}", self.fqdn, self.addr.port())
    }

    /// Starts the SM-DS's listener.
    fn up(&mut self) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listener = self
            .pair
            .block_on(tokio::net::TcpListener::bind(self.addr))
            .unwrap();
        self.pair.rt.spawn(simforge_server::serve_tls_until(
            listener,
            self.tls.clone(),
            smds_router(Arc::clone(&self.ds)),
            Timeouts::default(),
            async {
                let _ = stopped.await;
            },
        ));
        self.stop = Some(stop);
    }

    /// One worker round at the world's time plus `later_ms`.
    fn round(&self, later_ms: i64) -> SmdsRoundStats {
        let at = self.pair.now() * 1000 + later_ms;
        self.pair.block_on(self.worker.run_once(at)).unwrap()
    }

    /// DownloadOrder and ConfirmOrder (released) of `iccid` for eUICC 0 with smdsAddress.
    fn order(&self, iccid: &str) -> String {
        let p = &self.pair;
        p.add_profiles(&[iccid], false);
        let order = p
            .order_at_smds(iccid, p.eid(0), &self.smds_address())
            .unwrap();
        order.matching_id.as_str().to_owned()
    }

    /// The events eUICC 0 discovers at the SM-DS: (eventId, rspServerAddress).
    fn discover(&mut self) -> Vec<(String, String)> {
        let clock = self.pair.clock.clone();
        let Pair { euiccs, es9, .. } = &mut self.pair;
        let mut routed = Routed {
            ds: &self.ds,
            dp: es9,
            clock,
        };
        let mut lpa = Lpa::new(
            Es10::open(InProc::new(&mut euiccs[0])).unwrap(),
            &mut routed,
        );
        lpa.discover(DS_ES11)
            .unwrap()
            .into_iter()
            .map(|e| (e.event_id, e.rsp_server_address))
            .collect()
    }

    /// eUICC 0 downloads (and installs, with the notification) the event.
    fn download(&mut self, event_id: &str, address: &str) -> String {
        let clock = self.pair.clock.clone();
        let Pair { euiccs, es9, .. } = &mut self.pair;
        let mut routed = Routed {
            ds: &self.ds,
            dp: es9,
            clock,
        };
        let mut lpa = Lpa::new(
            Es10::open(InProc::new(&mut euiccs[0])).unwrap(),
            &mut routed,
        );
        lpa.download_at(address, event_id, None).unwrap().iccid
    }

    fn queue_states(&self) -> Vec<SmdsOpState> {
        let mut rows = self
            .pair
            .block_on(self.pair.smdp.store().smds_ops_of(OPERATOR, 100))
            .unwrap();
        rows.reverse();
        rows.into_iter().map(|r| r.state).collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

#[test]
fn a_down_smds_gets_the_event_once_back_discovery_downloads_it_and_the_install_deletes_it() {
    use SmdsOpState::{Done, Pending, Superseded};
    let mut w = World::new();
    let iccid = "8949449999999990031";
    // The SM-DS is down at ConfirmOrder: ES2+ answers anyway, the registration waits.
    let mid = w.order(iccid);
    let r = w.round(0);
    assert_eq!((r.done, r.retried, r.given_up), (0, 1, 0), "{r:?}");
    // The register, and the delete due when the order expires (30 days).
    assert_eq!(w.queue_states(), [Pending, Pending]);
    w.up();
    assert!(w.discover().is_empty());
    // Not due yet (backoff 2 s): nothing sent.
    assert_eq!(w.round(1_000), SmdsRoundStats::default());
    // Due: registered at the SM-DS, once.
    let r = w.round(2_000);
    assert_eq!((r.done, r.retried), (1, 0), "{r:?}");
    assert_eq!(w.round(60_000), SmdsRoundStats::default());
    let events = w.discover();
    assert_eq!(events, [(mid.clone(), ADDRESS.to_owned())]);

    // Download by discovery: the EventID is the matchingId; installed, the event goes.
    let (event_id, address) = events[0].clone();
    assert_eq!(w.download(&event_id, &address), iccid);
    assert_eq!(
        w.pair.profile(iccid).unwrap().state,
        ProfileState::Installed
    );
    assert_eq!(w.queue_states(), [Done, Superseded, Pending]);
    let r = w.round(60_000);
    assert_eq!((r.done, r.retried), (1, 0), "{r:?}");
    assert!(w.discover().is_empty());
    assert_eq!(w.queue_states(), [Done, Superseded, Done]);
    let text = w.metrics.render();
    for line in [
        r#"simforge_smds_event_operations_total{op="register",result="retry"} 1"#,
        r#"simforge_smds_event_operations_total{op="register",result="done"} 1"#,
        r#"simforge_smds_event_operations_total{op="delete",result="done"} 1"#,
    ] {
        assert!(text.contains(line), "{text}");
    }
}

#[test]
fn cancel_order_deletes_the_event_at_the_smds() {
    use SmdsOpState::{Done, Superseded};
    let mut w = World::new();
    w.up();
    let iccid = "8949449999999990049";
    let mid = w.order(iccid);
    assert_eq!(w.round(0).done, 1);
    assert_eq!(w.discover(), [(mid.clone(), ADDRESS.to_owned())]);
    let p = &w.pair;
    p.block_on(p.smdp.cancel_order(
        OPERATOR,
        &CancelOrderRequest {
            header: RequestHeader {
                function_requester_identifier: "op1".into(),
                function_call_identifier: "2".into(),
            },
            iccid: iccid.into(),
            eid: None,
            matching_id: None,
            final_profile_status_indicator: FinalProfileStatus::Available,
        },
        p.now(),
    ))
    .unwrap();
    assert_eq!(w.round(0).done, 1);
    assert!(w.discover().is_empty());
    assert_eq!(w.queue_states(), [Done, Superseded, Done]);
}

/// An SM-DS that refuses the call (here: the SM-DP+ is not its registrant, 1.1) gives the
/// operation up at once; one that stays down, after 7 days from the operation's due time.
#[test]
fn refused_operations_are_given_up_at_once_and_unanswered_ones_after_the_horizon() {
    use SmdsOpState::{Failed, Pending};
    let mut w = World::with_registrant(false);
    w.up();
    w.order("8949449999999990031");
    let r = w.round(0);
    assert_eq!((r.done, r.retried, r.given_up), (0, 0, 1), "{r:?}");
    assert_eq!(w.queue_states(), [Failed, Pending]);
    let rows = w
        .pair
        .block_on(w.pair.smdp.store().smds_ops_of(OPERATOR, 10))
        .unwrap();
    let error = rows[1].last_error.clone().unwrap_or_default();
    assert!(error.contains("refused by the SM-DS: 1.1"), "{error}");

    let w = World::new();
    w.order("8949449999999990049");
    assert_eq!(w.round(0).retried, 1);
    let week = 7 * 86_400 * 1000;
    let r = w.round(week - 60_000);
    assert_eq!((r.retried, r.given_up), (1, 0), "{r:?}");
    let r = w.round(week);
    assert_eq!((r.retried, r.given_up), (0, 1), "{r:?}");
    assert_eq!(w.queue_states(), [Failed, Pending]);
}
