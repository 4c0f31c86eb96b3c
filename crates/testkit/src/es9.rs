//! ES9+ transports (`simforge_lpa::Es9Transport`) without sockets:
//!
//! - [`DirectEs9`] calls the SM-DP+ service ([`Smdp`]) with the [`TestClock`]'s time, JSON
//!   in and out as on the wire, errors answered as the server answers them (SGP.22 header
//!   with the error's status code; HandleNotification always 204);
//! - [`RouterEs9`] calls the server's axum router in memory (`tower::ServiceExt::oneshot`):
//!   the real HTTP edge — header checks, body limits, limits per source —, on the server's
//!   own (wall) clock;
//! - [`GatedEs9`] hands every call to a scheduler ([`crate::Pair::interleave`]), which
//!   decides which of several LPAs' pending calls runs next.

use simforge_asn1::json::Es9Function;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use simforge_asn1::json::{self, HeaderOnlyResponse};
use simforge_asn1::status::ResponseHeader;
use simforge_lpa::{ES9_PATH, Error, Es9Transport, X_ADMIN_PROTOCOL};
use simforge_server::{
    AppState, CredentialCache, Metrics, PeerAddr, SourceLimits, StaticCredentials, router,
};
use simforge_smdp::{MemoryStore, Smdp, SmdpStore};
use tokio::runtime::Runtime;
use tower::ServiceExt;

use crate::clock::TestClock;

/// A current-thread tokio runtime for driving the async SM-DP+ from synchronous LPA code.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn to_wire<T: serde::Serialize>(reply: simforge_smdp::Reply<T>, status: u16) -> (u16, Vec<u8>) {
    match reply.result {
        Ok(r) => (status, json::to_json(&r).expect("json")),
        Err(e) => match e.status_code() {
            Some(code) => (
                200,
                json::to_json(&HeaderOnlyResponse {
                    header: ResponseHeader::failed(&code, Some(e.to_string())),
                })
                .expect("json"),
            ),
            None => (503, Vec::new()),
        },
    }
}

/// One ES9+ call on the service at `now`: the HTTP status and JSON body the server would send.
pub async fn call<S: SmdpStore>(
    smdp: &Smdp<S>,
    function: &str,
    body: &[u8],
    now: i64,
) -> (u16, Vec<u8>) {
    macro_rules! parse {
        ($t:ty) => {
            match json::from_json::<$t>(body) {
                Ok(r) => r,
                Err(_) => return (400, Vec::new()),
            }
        };
    }
    match function {
        "initiateAuthentication" => {
            let r = parse!(json::InitiateAuthenticationRequest);
            to_wire(smdp.initiate_authentication_reply(&r, now).await, 200)
        }
        "authenticateClient" => {
            let r = parse!(json::AuthenticateClientRequest);
            to_wire(smdp.authenticate_client_reply(&r, now).await, 200)
        }
        "getBoundProfilePackage" => {
            let r = parse!(json::GetBoundProfilePackageRequest);
            to_wire(smdp.get_bound_profile_package_reply(&r, now).await, 200)
        }
        "handleNotification" => {
            let r = parse!(json::HandleNotificationRequest);
            let reply = smdp.handle_notification_reply(&r, now).await;
            match reply.result {
                Err(e) if e.status_code().is_none() => (503, Vec::new()),
                _ => (204, Vec::new()),
            }
        }
        "cancelSession" => {
            let r = parse!(json::CancelSessionRequest);
            to_wire(smdp.cancel_session_reply(&r, now).await, 200)
        }
        _ => (404, Vec::new()),
    }
}

/// ES9+ straight into the SM-DP+ service, at the [`TestClock`]'s time.
pub struct DirectEs9 {
    /// The SM-DP+.
    pub smdp: Arc<Smdp<MemoryStore>>,
    /// The runtime the service's futures run on.
    pub rt: Arc<Runtime>,
    /// The world's clock.
    pub clock: TestClock,
    /// The functions called, in order.
    pub calls: Vec<String>,
    /// Moves the clock forward just before the named function is handled (once).
    pub advance_before: Option<(String, Duration)>,
}

impl std::fmt::Debug for DirectEs9 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectEs9")
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

impl DirectEs9 {
    /// A transport to `smdp`.
    pub fn new(smdp: Arc<Smdp<MemoryStore>>, rt: Arc<Runtime>, clock: TestClock) -> Self {
        Self {
            smdp,
            rt,
            clock,
            calls: Vec::new(),
            advance_before: None,
        }
    }
}

impl Es9Transport for DirectEs9 {
    fn post(
        &mut self,
        address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), Error> {
        let function = function.name();
        if !self.smdp.config().accepts_address(address) {
            return Err(Error::Transport(format!("no SM-DP+ at {address}")));
        }
        self.calls.push(function.to_owned());
        if self
            .advance_before
            .as_ref()
            .is_some_and(|(f, _)| f == function)
            && let Some((_, by)) = self.advance_before.take()
        {
            self.clock.advance(by);
        }
        Ok(self
            .rt
            .block_on(call(&self.smdp, function, body, self.clock.now())))
    }
}

/// ES9+ through the server's axum router, in memory: every request goes through the real
/// HTTP edge (headers, body limits, per-source limits when [`Self::peer`] is set).
pub struct RouterEs9 {
    router: axum::Router,
    rt: Runtime,
    /// The TCP peer the request appears to come from (`None`: no source, as over a Unix
    /// socket; the per-source limits then do not apply).
    pub peer: Option<IpAddr>,
    /// The functions called, in order.
    pub calls: Vec<String>,
}

impl std::fmt::Debug for RouterEs9 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterEs9")
            .field("peer", &self.peer)
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

impl RouterEs9 {
    /// The transport to the router of an SM-DP+ with no operator credentials, the default
    /// metrics and per-source limits (ES9+ needs none of them).
    pub fn for_smdp<S: SmdpStore + 'static>(smdp: Smdp<S>) -> Self {
        Self::new(Arc::new(AppState {
            smdp,
            credentials: CredentialCache::new(
                Arc::new(StaticCredentials(HashMap::new())),
                Duration::from_secs(1),
            ),
            metrics: Metrics::default(),
            limits: SourceLimits::default(),
        }))
    }

    /// The transport to the router of `state`.
    pub fn new<S: SmdpStore + 'static>(state: Arc<AppState<S>>) -> Self {
        Self {
            router: router(state),
            rt: runtime(),
            peer: None,
            calls: Vec::new(),
        }
    }
}

impl Es9Transport for RouterEs9 {
    fn post(
        &mut self,
        _address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), Error> {
        let function = function.name();
        self.calls.push(function.to_owned());
        let mut req = Request::post(format!("{ES9_PATH}{function}"))
            .header(header::CONTENT_TYPE, "application/json;charset=UTF-8")
            .header("x-admin-protocol", X_ADMIN_PROTOCOL)
            .body(Body::from(body.to_vec()))
            .map_err(|e| Error::Transport(e.to_string()))?;
        if let Some(ip) = self.peer {
            req.extensions_mut().insert(PeerAddr(ip));
        }
        let router = self.router.clone();
        self.rt.block_on(async move {
            let resp = router
                .oneshot(req)
                .await
                .map_err(|e| Error::Transport(e.to_string()))?;
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .map_err(|e| Error::Transport(e.to_string()))?;
            Ok((status, bytes.to_vec()))
        })
    }
}

/// One ES9+ call waiting for the scheduler.
#[derive(Debug)]
pub(crate) struct Pending {
    pub device: usize,
    pub function: String,
    pub body: Vec<u8>,
    pub reply: mpsc::Sender<(u16, Vec<u8>)>,
}

/// What an LPA's thread tells the scheduler.
#[derive(Debug)]
pub(crate) enum Msg {
    Call(Pending),
    Done,
}

/// ES9+ of one of several LPAs run together: each call waits until the scheduler runs it.
#[derive(Debug)]
pub struct GatedEs9 {
    pub(crate) device: usize,
    pub(crate) tx: mpsc::Sender<Msg>,
}

impl Es9Transport for GatedEs9 {
    fn post(
        &mut self,
        _address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), Error> {
        let function = function.name();
        let (reply, rx) = mpsc::channel();
        self.tx
            .send(Msg::Call(Pending {
                device: self.device,
                function: function.to_owned(),
                body: body.to_vec(),
                reply,
            }))
            .map_err(|_| Error::Transport("scheduler gone".into()))?;
        rx.recv()
            .map_err(|_| Error::Transport("scheduler gone".into()))
    }
}
