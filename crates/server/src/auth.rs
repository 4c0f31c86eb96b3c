//! ES2+ operator authentication: an API key (`X-Api-Key`) or a TLS client certificate, both
//! known only by their SHA-256, looked up per request through a [`CredentialSource`] (the
//! platform database in `simforge serve`) behind a short-lived cache, so that a credential
//! added or revoked on a running server takes effect within the cache's TTL.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use simforge_smdp::OperatorId;

/// An operator as ES2+ authenticates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorCredential {
    /// The tenant.
    pub operator_id: OperatorId,
    /// The functionRequesterIdentifier it must use.
    pub requester_id: String,
}

/// How an ES2+ request authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// `X-Api-Key`; looked up by the SHA-256 of the key's text.
    ApiKey,
    /// A TLS client certificate; looked up by the SHA-256 of its DER.
    ClientCert,
}

/// The SHA-256 of an API key, as credentials are stored.
#[must_use]
pub fn api_key_sha256(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The SHA-256 fingerprint of a certificate's DER, as credentials are stored.
#[must_use]
pub fn cert_sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The client certificate the peer presented on this TLS connection (the end-entity one),
/// put into every request's extensions by [`crate::serve_tls`]. The TLS layer has checked the
/// peer holds its private key; whether it belongs to an operator is the handler's question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    /// SHA-256 of the certificate's DER.
    pub sha256: [u8; 32],
}

/// A boxed future, `Send`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A lookup failure (the database is unreachable, …): answered as "temporarily unavailable".
pub type LookupError = Box<dyn std::error::Error + Send + Sync>;

/// Where ES2+ credentials live.
pub trait CredentialSource: Send + Sync + 'static {
    /// The operator an active credential of `kind` with this SHA-256 belongs to.
    fn lookup(
        &self,
        kind: CredentialKind,
        sha256: [u8; 32],
    ) -> BoxFuture<'_, Result<Option<OperatorCredential>, LookupError>>;

    /// The name of an operator, for logs (`None`: unknown, logged by id).
    fn operator_name(
        &self,
        _operator: OperatorId,
    ) -> BoxFuture<'_, Result<Option<String>, LookupError>> {
        Box::pin(async { Ok(None) })
    }
}

/// A fixed set of credentials (tests, embedding).
#[derive(Clone, Debug, Default)]
pub struct StaticCredentials(pub HashMap<(CredentialKind, [u8; 32]), OperatorCredential>);

impl CredentialSource for StaticCredentials {
    fn lookup(
        &self,
        kind: CredentialKind,
        sha256: [u8; 32],
    ) -> BoxFuture<'_, Result<Option<OperatorCredential>, LookupError>> {
        let r = self.0.get(&(kind, sha256)).cloned();
        Box::pin(async move { Ok(r) })
    }
}

const CACHE_MAX: usize = 4096;

/// Cached answers: when each was looked up.
type Cached = HashMap<(CredentialKind, [u8; 32]), (Instant, OperatorCredential)>;

/// A [`CredentialSource`] with the positive answers cached for `ttl`: a new credential works
/// at once, a revoked one stops working within `ttl` (unknown credentials are not cached).
pub struct CredentialCache {
    source: Arc<dyn CredentialSource>,
    ttl: Duration,
    cache: Mutex<Cached>,
    names: Mutex<HashMap<OperatorId, (Instant, Option<String>)>>,
    failures: AuthFailures,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    /// Caches `source`'s answers for `ttl` (`Duration::ZERO`: no cache).
    #[must_use]
    pub fn new(source: Arc<dyn CredentialSource>, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            cache: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
            failures: AuthFailures::default(),
        }
    }

    /// The name of an operator for logs, looked up at most once per TTL (at least a minute:
    /// names do not change) per operator; `None` when unknown or the lookup failed.
    pub async fn operator_name(&self, operator: OperatorId) -> Option<String> {
        let ttl = self.ttl.max(Duration::from_secs(60));
        if let Ok(n) = self.names.lock()
            && let Some((at, name)) = n.get(&operator)
            && at.elapsed() < ttl
        {
            return name.clone();
        }
        let name = match self.source.operator_name(operator).await {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "operator name lookup failed");
                return None;
            }
        };
        if let Ok(mut n) = self.names.lock() {
            if n.len() >= CACHE_MAX {
                n.clear();
            }
            n.insert(operator, (Instant::now(), name.clone()));
        }
        name
    }

    /// Failed authentications per peer.
    #[must_use]
    pub fn failures(&self) -> &AuthFailures {
        &self.failures
    }

    /// The operator of an active credential.
    ///
    /// # Errors
    /// The source's error.
    pub async fn lookup(
        &self,
        kind: CredentialKind,
        sha256: [u8; 32],
    ) -> Result<Option<OperatorCredential>, LookupError> {
        let key = (kind, sha256);
        if let Ok(c) = self.cache.lock()
            && let Some((at, cred)) = c.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(cred.clone()));
        }
        let found = self.source.lookup(kind, sha256).await?;
        if let Ok(mut c) = self.cache.lock() {
            match &found {
                Some(cred) if !self.ttl.is_zero() => {
                    if c.len() >= CACHE_MAX {
                        c.retain(|_, (at, _)| at.elapsed() < self.ttl);
                        if c.len() >= CACHE_MAX {
                            c.clear();
                        }
                    }
                    c.insert(key, (Instant::now(), cred.clone()));
                }
                _ => {
                    c.remove(&key);
                }
            }
        }
        Ok(found)
    }
}

/// The address a request came from (its TCP peer), as the TLS server puts it into each
/// request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::IpAddr);

/// Failed ES2+ authentications a peer may have in [`FAILURE_WINDOW`] before it is refused
/// with 429 until the window ends, without a credential lookup.
pub const MAX_FAILURES: u32 = 20;
/// The window over which [`MAX_FAILURES`] counts.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Peers tracked at most; beyond, the oldest windows are forgotten.
const FAILURES_MAX_PEERS: usize = 65_536;

/// Failed ES2+ authentications per peer, in fixed windows: a peer that keeps presenting
/// unknown API keys or certificates (guessing, or a misconfigured client in a loop) is refused
/// before its credentials reach the database. A peer is an IPv4 address or an IPv6 /64 (what
/// one subscriber line gets, so rotating addresses within it gains nothing).
#[derive(Debug, Default)]
pub struct AuthFailures {
    peers: Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
}

/// The peer an address belongs to: itself (IPv4) or its /64 (IPv6).
fn peer_of(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => std::net::IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !u128::from(u64::MAX),
            )),
        },
        v4 => v4,
    }
}

impl AuthFailures {
    /// How long `ip`'s peer is still refused, if it is.
    #[must_use]
    pub fn refused_for(&self, ip: std::net::IpAddr) -> Option<Duration> {
        let peers = self.peers.lock().ok()?;
        let (start, n) = peers.get(&peer_of(ip))?;
        let left = FAILURE_WINDOW.checked_sub(start.elapsed())?;
        (*n >= MAX_FAILURES && !left.is_zero()).then_some(left)
    }

    /// Counts a failed authentication of `ip`'s peer.
    pub fn failed(&self, ip: std::net::IpAddr) {
        let peer = peer_of(ip);
        let Ok(mut peers) = self.peers.lock() else {
            return;
        };
        if peers.len() >= FAILURES_MAX_PEERS && !peers.contains_key(&peer) {
            peers.retain(|_, (start, _)| start.elapsed() < FAILURE_WINDOW);
            if peers.len() >= FAILURES_MAX_PEERS {
                // Full of live windows: the peers already counted (the refused ones among
                // them) keep theirs; a new peer is not counted until windows end.
                return;
            }
        }
        let entry = peers.entry(peer).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_refused_after_too_many_failures_and_others_are_not() {
        let f = AuthFailures::default();
        let a: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8::1".parse().unwrap();
        for _ in 0..MAX_FAILURES - 1 {
            f.failed(a);
        }
        assert_eq!(f.refused_for(a), None);
        f.failed(a);
        let left = f.refused_for(a).expect("refused");
        assert!(left <= FAILURE_WINDOW && left > FAILURE_WINDOW / 2);
        assert_eq!(f.refused_for(b), None);
        f.failed(b);
        assert_eq!(f.refused_for(b), None);
    }

    #[test]
    fn an_ipv6_peer_is_its_64() {
        let f = AuthFailures::default();
        for i in 0..MAX_FAILURES {
            f.failed(format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap());
        }
        assert!(
            f.refused_for("2001:db8:1:2:ffff::1".parse().unwrap())
                .is_some()
        );
        assert_eq!(f.refused_for("2001:db8:1:3::1".parse().unwrap()), None);
        // IPv4-mapped IPv6 is the IPv4 address.
        for _ in 0..MAX_FAILURES {
            f.failed("::ffff:192.0.2.7".parse().unwrap());
        }
        assert!(f.refused_for("192.0.2.7".parse().unwrap()).is_some());
    }

    #[test]
    fn a_full_table_keeps_the_refused_peers() {
        let f = AuthFailures::default();
        let bad: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            f.failed(bad);
        }
        {
            let mut peers = f.peers.lock().unwrap();
            for i in 0..FAILURES_MAX_PEERS as u32 {
                peers.insert(
                    std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
                    (Instant::now(), 1),
                );
            }
        }
        f.failed("198.51.100.1".parse().unwrap());
        assert!(f.refused_for(bad).is_some());
        assert_eq!(f.refused_for("198.51.100.1".parse().unwrap()), None);
    }

    #[test]
    fn the_window_ends() {
        let f = AuthFailures::default();
        let a: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        // A window that started long ago.
        f.peers.lock().unwrap().insert(
            a,
            (
                Instant::now().checked_sub(FAILURE_WINDOW * 2).unwrap(),
                MAX_FAILURES * 5,
            ),
        );
        assert_eq!(f.refused_for(a), None);
        f.failed(a);
        assert_eq!(f.peers.lock().unwrap()[&a].1, 1, "a new window");
    }
}
