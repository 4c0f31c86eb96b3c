//! TLS: rustls with the suites SGP.22 asks for, serving the axum router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::aws_lc_rs as provider;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::Error;
use crate::auth::{ClientCertificate, cert_sha256};
use crate::conn::{
    Admission, Conn, DeadlineBody, IdleIo, RateLimitedLog, Registered, Registry, RequestMark,
};

/// Whether and how the listener asks for TLS client certificates. ES2+ operators may
/// authenticate with one; ES9+ LPAs have none, so a certificate is requested, never required.
/// Either way the ES2+ handler accepts only a certificate registered for an operator (by the
/// SHA-256 of its DER, `simforge operator client-cert`): registration is the trust decision.
#[derive(Clone, Debug, Default)]
pub enum ClientAuth {
    /// Never ask (ES2+ by API key only).
    #[default]
    None,
    /// Ask for any certificate, self-signed included. The handshake proves the client holds
    /// the certificate's private key (CertificateVerify is checked); the certificate must
    /// parse as X.509. Its issuer and validity are not checked: the operator's registered
    /// certificate is pinned until it is revoked.
    Pinned,
    /// Ask for a certificate that chains to one of these CA certificates (DER) and is within
    /// its validity period (WebPKI client verification); a client without a certificate is
    /// still let through (ES9+), one with a certificate from another CA fails the handshake.
    Roots(Vec<Vec<u8>>),
}

/// Accepts any client certificate that parses, once the client proved it holds its key.
#[derive(Debug)]
struct PinnedClientCert {
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // The certificate is parsed (and a malformed one refused) when its key checks the
        // client's CertificateVerify signature, which rustls always asks for next.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// A rustls server configuration: TLS 1.3, and TLS 1.2 restricted to
/// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (SGP.22 §2.6.6), serving `chain` (DPtls first,
/// DER) with its PKCS#8 key.
///
/// # Errors
/// [`Error::Tls`] if the key does not fit the certificate or is unsupported.
pub fn tls_config(chain: Vec<Vec<u8>>, key_pkcs8: Vec<u8>) -> Result<rustls::ServerConfig, Error> {
    tls_config_with_client_auth(chain, key_pkcs8, ClientAuth::None)
}

/// As [`tls_config`], asking for client certificates as `client_auth` says.
///
/// # Errors
/// [`Error::Tls`] if the key does not fit the certificate, or a CA certificate is unusable.
pub fn tls_config_with_client_auth(
    chain: Vec<Vec<u8>>,
    key_pkcs8: Vec<u8>,
    client_auth: ClientAuth,
) -> Result<rustls::ServerConfig, Error> {
    tls_config_with_key(chain, TlsKey::Pkcs8(key_pkcs8), client_auth)
}

/// The private key of a TLS identity.
#[derive(Clone)]
pub enum TlsKey {
    /// In software: PKCS#8 DER.
    Pkcs8(Vec<u8>),
    /// Behind a signing key (e.g. in an HSM: `simforge_hsm::HsmTlsKey`), the handshakes
    /// signed there. Its public key is not checked against the certificate here: a mismatch
    /// fails every handshake.
    Signer(Arc<dyn rustls::sign::SigningKey>),
}

impl std::fmt::Debug for TlsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pkcs8(_) => f.write_str("TlsKey::Pkcs8(<redacted>)"),
            Self::Signer(k) => write!(f, "TlsKey::Signer({:?})", k.algorithm()),
        }
    }
}

/// A TLS identity (certificate chain and key) that can be replaced while the server runs
/// (key rotation): handshakes from then on present the new one; connections already
/// established keep theirs.
#[derive(Debug)]
pub struct ReloadableIdentity(std::sync::RwLock<Arc<rustls::sign::CertifiedKey>>);

impl ReloadableIdentity {
    /// An identity of `chain` (DER, leaf first) and `key`.
    ///
    /// # Errors
    /// [`Error::Tls`] if a PKCS#8 key is unusable or does not fit the certificate.
    pub fn new(chain: Vec<Vec<u8>>, key: TlsKey) -> Result<Arc<Self>, Error> {
        Ok(Arc::new(Self(std::sync::RwLock::new(Arc::new(certified(
            chain, key,
        )?)))))
    }

    /// Replaces the identity; the old one stays if the new one is unusable.
    ///
    /// # Errors
    /// As [`ReloadableIdentity::new`].
    pub fn replace(&self, chain: Vec<Vec<u8>>, key: TlsKey) -> Result<(), Error> {
        let new = Arc::new(certified(chain, key)?);
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = new;
        Ok(())
    }

    /// The leaf certificate served now (DER).
    #[must_use]
    pub fn leaf(&self) -> Vec<u8> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .cert
            .first()
            .map(|c| c.to_vec())
            .unwrap_or_default()
    }
}

impl rustls::server::ResolvesServerCert for ReloadableIdentity {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(
            self.0
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        )
    }
}

/// `chain` and `key` as rustls' certified key (a PKCS#8 key checked against the leaf).
fn certified(chain: Vec<Vec<u8>>, key: TlsKey) -> Result<rustls::sign::CertifiedKey, Error> {
    let certs: Vec<CertificateDer<'static>> = chain.into_iter().map(CertificateDer::from).collect();
    match key {
        TlsKey::Pkcs8(der) => {
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der));
            let signing = provider::default_provider()
                .key_provider
                .load_private_key(key)
                .map_err(|e| Error::tls("TLS key", e))?;
            let ck = rustls::sign::CertifiedKey::new(certs, signing);
            ck.keys_match()
                .map_err(|e| Error::tls("TLS key and certificate", e))?;
            Ok(ck)
        }
        TlsKey::Signer(k) => Ok(rustls::sign::CertifiedKey::new(certs, k)),
    }
}

/// As [`tls_config_with_key`], serving a [`ReloadableIdentity`] (returned beside the
/// configuration, to replace it later).
///
/// # Errors
/// As [`tls_config_with_key`].
pub fn tls_config_reloadable(
    chain: Vec<Vec<u8>>,
    key: TlsKey,
    client_auth: ClientAuth,
) -> Result<(rustls::ServerConfig, Arc<ReloadableIdentity>), Error> {
    let identity = ReloadableIdentity::new(chain, key)?;
    let cfg = server_config(ResolverOrCert::Resolver(identity.clone()), client_auth)?;
    Ok((cfg, identity))
}

/// What a server configuration presents.
enum ResolverOrCert {
    Single(Vec<CertificateDer<'static>>, TlsKey),
    Resolver(Arc<ReloadableIdentity>),
}

/// As [`tls_config_with_client_auth`], the key in software or behind a signer ([`TlsKey`]).
///
/// # Errors
/// [`Error::Tls`] if a PKCS#8 key does not fit the certificate, or a CA certificate is
/// unusable.
pub fn tls_config_with_key(
    chain: Vec<Vec<u8>>,
    key: TlsKey,
    client_auth: ClientAuth,
) -> Result<rustls::ServerConfig, Error> {
    let certs: Vec<CertificateDer<'static>> = chain.into_iter().map(CertificateDer::from).collect();
    server_config(ResolverOrCert::Single(certs, key), client_auth)
}

fn server_config(
    identity: ResolverOrCert,
    client_auth: ClientAuth,
) -> Result<rustls::ServerConfig, Error> {
    let mut p = provider::default_provider();
    p.cipher_suites = vec![
        provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
        provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
        provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ];
    let p = Arc::new(p);
    let builder = rustls::ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::tls("server configuration", e))?;
    let builder = match client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Pinned => builder.with_client_cert_verifier(Arc::new(PinnedClientCert {
            algs: p.signature_verification_algorithms,
        })),
        ClientAuth::Roots(cas) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in cas {
                roots
                    .add(CertificateDer::from(ca))
                    .map_err(|e| Error::tls("operator CA certificate", e))?;
            }
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), p.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| Error::tls("server configuration", e))?;
            builder.with_client_cert_verifier(v)
        }
    };
    let mut cfg = match identity {
        ResolverOrCert::Single(certs, TlsKey::Pkcs8(der)) => {
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der));
            builder
                .with_single_cert(certs, key)
                .map_err(|e| Error::tls("server configuration", e))?
        }
        ResolverOrCert::Single(certs, TlsKey::Signer(k)) => builder.with_cert_resolver(Arc::new(
            rustls::sign::SingleCertAndKey::from(rustls::sign::CertifiedKey::new(certs, k)),
        )),
        ResolverOrCert::Resolver(r) => builder.with_cert_resolver(r),
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    // The server's order of the suites above, not the client's: AES-128-GCM with SHA-256 (what
    // SGP.22 names, and SHA-256 runs on the CPU's SHA extensions where SHA-384 does not) even
    // when the client lists AES-256-GCM-SHA384 first, as rustls clients do.
    cfg.ignore_client_order = true;
    // One TLS 1.3 session ticket per handshake instead of rustls' two: a client can still
    // resume (and gets a new ticket with each resumed handshake); every handshake derives,
    // encrypts and sends one ticket fewer.
    cfg.send_tls13_tickets = 1;
    Ok(cfg)
}

/// How long a client may take to complete its TLS handshake before the connection is dropped
/// (a peer that connects and stays silent must not hold a socket and a task for ever).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's header once its connection is up (a peer
/// that completes the handshake, or starts a header, and then stalls is dropped).
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client may take to send a request's body, from the end of its header.
pub(crate) const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long any single read from, or write to, a peer may wait without a byte moving.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections held open at most (further capped by the process's file descriptor limit).
pub(crate) const MAX_CONNECTIONS: usize = 4096;

/// Connections held open at most from one source address (many LPAs may share one address
/// behind a carrier NAT).
pub(crate) const MAX_CONNECTIONS_PER_SOURCE: usize = 1024;

/// File descriptors kept free for everything but client connections (database, log, files,
/// callbacks).
const FD_RESERVE: usize = 64;

/// How often at most the accept loop logs that accepting failed.
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// The limits [`serve_tls_with`] puts on each connection: time limits on every phase and
/// every read or write, and caps on the connections held open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// The TLS handshake, from the TCP accept.
    pub handshake: Duration,
    /// A request's header (HTTP/1.1), from when the connection is ready to read it.
    pub header_read: Duration,
    /// A request's body, from the end of its header: a body not complete by then is answered
    /// with an error (HTTP 408) and the connection closed.
    pub body_read: Duration,
    /// Any single read from or write to the peer (TCP level, handshake included) that makes
    /// no progress for this long fails and ends the connection (a client that stops reading
    /// its answer).
    pub idle: Duration,
    /// Connections held open at most; the accept loop never goes above it nor above the
    /// process's file descriptor limit minus a reserve. At the cap, the connection that made
    /// progress least recently, and is not being answered, is closed to admit the new one.
    pub max_connections: usize,
    /// Connections held open at most from one IP address, with the same eviction.
    pub max_connections_per_source: usize,
    /// At shutdown ([`serve_tls_until`]), how long requests in flight may take to finish
    /// before the server returns anyway.
    pub drain: Duration,
}

impl Default for Timeouts {
    /// 10 s for the handshake, 30 s for a request header, 30 s for its body, 60 s for any
    /// read or write without progress; 4096 connections (1024 per source address); 30 s to
    /// drain at shutdown.
    fn default() -> Self {
        Self {
            handshake: HANDSHAKE_TIMEOUT,
            header_read: HEADER_READ_TIMEOUT,
            body_read: BODY_READ_TIMEOUT,
            idle: IDLE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            max_connections_per_source: MAX_CONNECTIONS_PER_SOURCE,
            drain: Duration::from_secs(30),
        }
    }
}

/// The soft limit on open file descriptors of this process (Linux `/proc/self/limits`).
fn fd_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serves `app` over TLS on `listener` until the task is dropped, with the default
/// [`Timeouts`]. The client certificate of a connection, if any, goes into each of its
/// requests' extensions as a [`ClientCertificate`]. A failed `accept` (e.g. out of file
/// descriptors) frees a connection slot, is logged (at most once per 10 s, with a count) and
/// retried after a short pause, never the end of the server.
///
/// # Errors
/// None in practice (the loop runs until the task is dropped); kept for the signature.
pub async fn serve_tls(
    listener: TcpListener,
    config: rustls::ServerConfig,
    app: Router,
) -> Result<(), Error> {
    serve_tls_with(listener, config, app, Timeouts::default()).await
}

/// [`serve_tls`] with other limits (see [`Timeouts`]).
///
/// # Errors
/// None in practice (the loop runs until the task is dropped); kept for the signature.
pub async fn serve_tls_with(
    listener: TcpListener,
    config: rustls::ServerConfig,
    app: Router,
    timeouts: Timeouts,
) -> Result<(), Error> {
    serve_tls_until(listener, config, app, timeouts, std::future::pending()).await
}

/// [`serve_tls_with`] until `shutdown`, then a graceful end: no new connection is accepted,
/// each request in flight is answered (its connection then closes), idle connections close at
/// once; returns when every connection has ended or [`Timeouts::drain`] has passed.
///
/// # Errors
/// None in practice; kept for the signature.
pub async fn serve_tls_until(
    listener: TcpListener,
    config: rustls::ServerConfig,
    app: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let acceptor = Some(TlsAcceptor::from(Arc::new(config)));
    serve_edge(listener, acceptor, app, timeouts, shutdown).await
}

/// Serves `app` over plain HTTP on `listener` with the same edge as [`serve_tls`] (connection
/// cap per source and in total, header and body read deadlines, idle timeout, the peer's
/// address in each request's extensions), for a listener bound to a private address (the
/// operator API's admin listener without `--admin-tls`).
///
/// # Errors
/// None in practice (the loop runs until the task is dropped); kept for the signature.
pub async fn serve_plain(listener: TcpListener, app: Router) -> Result<(), Error> {
    serve_plain_with(listener, app, Timeouts::default()).await
}

/// [`serve_plain`] with other limits (see [`Timeouts`]).
///
/// # Errors
/// None in practice (the loop runs until the task is dropped); kept for the signature.
pub async fn serve_plain_with(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
) -> Result<(), Error> {
    serve_plain_until(listener, app, timeouts, std::future::pending()).await
}

/// [`serve_plain_with`] until `shutdown`, then drains as [`serve_tls_until`] does.
///
/// # Errors
/// None in practice; kept for the signature.
pub async fn serve_plain_until(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    serve_edge(listener, None, app, timeouts, shutdown).await
}

/// The accept loop of [`serve_tls_with`] and [`serve_plain`].
async fn serve_edge(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    app: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    // Told to every connection when the server stops (or is dropped: the sender goes with it).
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let max_total = match fd_limit() {
        Some(fds) => timeouts
            .max_connections
            .min(fds.saturating_sub(FD_RESERVE).max(1)),
        None => timeouts.max_connections,
    };
    let registry = Arc::new(Registry::new(
        max_total,
        timeouts.max_connections_per_source,
    ));
    let mut accept_errors = RateLimitedLog::new(ACCEPT_ERROR_LOG_EVERY);
    let mut refusals = RateLimitedLog::new(ACCEPT_ERROR_LOG_EVERY);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors (or another transient failure): close the
                // connection that has waited on its peer longest, so the next accept can work.
                let freed = registry.evict_one();
                if let Some(n) = accept_errors.hit(Instant::now()) {
                    tracing::warn!(
                        error = %e,
                        failures = n,
                        connections = registry.len(),
                        freed_one = freed,
                        "accepting a connection failed"
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let conn = match registry.admit(crate::limits::source_of(peer.ip())) {
            Admission::Admitted { conn, evicted } => {
                if evicted > 0 {
                    tracing::debug!(%peer, "connection cap reached: closed the one idle longest");
                }
                conn
            }
            Admission::Refused => {
                if let Some(n) = refusals.hit(Instant::now()) {
                    tracing::warn!(
                        refused = n,
                        connections = registry.len(),
                        "connection cap reached and every connection busy: refusing"
                    );
                }
                drop(tcp);
                continue;
            }
        };
        // Request/response traffic: no Nagle delay behind the peer's delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "TCP_NODELAY not set");
        }
        let acceptor = acceptor.clone();
        let app = app.clone();
        let registered = Registered {
            registry: registry.clone(),
            conn,
        };
        let stopping = stopping.clone();
        tokio::spawn(async move {
            let conn = registered.conn.clone();
            tokio::select! {
                () = serve_connection(acceptor, tcp, peer, app, timeouts, conn.clone(), stopping) => {}
                () = conn.close.notified() => {
                    tracing::debug!(%peer, "connection closed to make room");
                }
            }
            drop(registered);
        });
    }
    // Shutdown: no more accepts; each connection finishes the request it is answering, if
    // any, and closes.
    drop(listener);
    let _ = stop.send(true);
    let deadline = Instant::now() + timeouts.drain;
    while registry.len() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if registry.len() > 0 {
        tracing::warn!(
            connections = registry.len(),
            "shutdown: requests still in flight after the drain period"
        );
    }
    Ok(())
}

/// One connection: the TLS handshake, then HTTP/1.1 until the peer or a limit ends it.
async fn serve_connection(
    acceptor: Option<TlsAcceptor>,
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    timeouts: Timeouts,
    conn: Arc<Conn>,
    stopping: tokio::sync::watch::Receiver<bool>,
) {
    let io = IdleIo::new(tcp, timeouts.idle, conn.clone());
    let Some(acceptor) = acceptor else {
        serve_http(io, None, peer, app, timeouts, conn, stopping).await;
        return;
    };
    let tls = match tokio::time::timeout(timeouts.handshake, acceptor.accept(io)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| ClientCertificate {
            sha256: cert_sha256(c),
        });
    serve_http(tls, cert, peer, app, timeouts, conn, stopping).await;
}

/// HTTP/1.1 on an established connection (TLS or plain) until the peer or a limit ends it.
async fn serve_http<I>(
    io: I,
    cert: Option<ClientCertificate>,
    peer: SocketAddr,
    app: Router,
    timeouts: Timeouts,
    conn: Arc<Conn>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let from = crate::auth::PeerAddr(peer.ip());
    let body_read = timeouts.body_read;
    let svc = tower::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
        let mark = RequestMark::new(conn.clone());
        let (mut parts, body) = req.into_parts();
        if let Some(c) = &cert {
            parts.extensions.insert(c.clone());
        }
        parts.extensions.insert(from);
        // As `axum::serve` gives it, for routers written for either (the operator API).
        parts.extensions.insert(axum::extract::ConnectInfo(peer));
        let req = axum::http::Request::from_parts(
            parts,
            DeadlineBody::new(body, body_read, mark.clone()),
        );
        let answer = tower::ServiceExt::oneshot(app.clone(), req);
        async move {
            let r = answer.await;
            // The answer is made: the connection waits on its peer again.
            drop(mark);
            r
        }
    });
    let svc = TowerToHyperService::new(svc);
    // HTTP/1.1 only (what ES9+ and ES2+ use), so the header-read limit also covers a
    // connection that stays silent after its handshake.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let mut serving = std::pin::pin!(builder.serve_connection(TokioIo::new(io), svc));
    let ended = tokio::select! {
        r = serving.as_mut() => r,
        // The server stops (or is gone): answer the request in flight, then close.
        () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
            serving.as_mut().graceful_shutdown();
            serving.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}

/// The certificates (DER) in `bytes`: every `CERTIFICATE` block of a PEM text, or `bytes`
/// itself when it is not PEM (one DER certificate).
///
/// # Errors
/// [`Error::Tls`] if a PEM block is malformed or there is no certificate.
pub fn read_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    use rustls::pki_types::pem::PemObject;
    let is_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    let certs = if is_pem {
        CertificateDer::pem_slice_iter(bytes)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::tls("PEM", e))?
    } else if bytes.first() == Some(&0x30) {
        vec![bytes.to_vec()]
    } else {
        Vec::new()
    };
    if certs.is_empty() {
        return Err(Error::Tls {
            context: "no certificate (PEM or DER) found".into(),
            source: None,
        });
    }
    Ok(certs)
}
