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
                tracing::debug!(error = %crate::ErrorChain(&*e), "operator name lookup failed");
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
        self.failures.looked_up(key, found.is_some());
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
/// request's extensions. Behind a trusted proxy, the client's address is taken from the
/// forwarding headers ([`crate::TrustedProxies::client_addr`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::IpAddr);

/// A credential as a request presents it: its kind and SHA-256.
pub type CredentialId = (CredentialKind, [u8; 32]);

/// Failed ES2+ authentications a source may have in [`FAILURE_WINDOW`] before it is refused
/// with 429 until the window ends, without a credential lookup.
pub const MAX_FAILURES: u32 = 20;
/// The window over which [`MAX_FAILURES`] counts.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// How long a credential that authenticated stays known as good (unless a lookup finds it
/// revoked).
const GOOD_TTL: Duration = Duration::from_secs(24 * 3600);

/// Failed ES2+ authentications, keyed on the source (an IPv4 address or an IPv6 /64,
/// [`crate::source_of`]) *and* the credential, in fixed windows:
///
/// - credentials nobody registered (guessing, a revoked key in a loop) count against the
///   source: over [`MAX_FAILURES`], the source's requests are refused before any lookup —
///   unless one of the credentials they present authenticated recently on this server (it is
///   "known good"): behind a shared proxy or NAT, someone else's failures never lock out a
///   valid operator;
/// - a known credential that still fails (an API key and a certificate of different
///   operators) counts against (source, credential) and locks out only that pair.
///
/// A credential seen by no successful lookup yet (a new operator's first call) from a source
/// that is locked out waits for the window's end. Both tables are bounded.
#[derive(Debug)]
pub struct AuthFailures {
    windows: crate::limits::FixedWindows<(std::net::IpAddr, Option<CredentialId>)>,
    good: Mutex<HashMap<CredentialId, Instant>>,
}

impl Default for AuthFailures {
    fn default() -> Self {
        Self {
            windows: crate::limits::FixedWindows::new(MAX_FAILURES, FAILURE_WINDOW),
            good: Mutex::new(HashMap::new()),
        }
    }
}

impl AuthFailures {
    /// How long a request from `ip` presenting `presented` is still refused, if it is.
    #[must_use]
    pub fn refused_for(
        &self,
        ip: std::net::IpAddr,
        presented: &[CredentialId],
    ) -> Option<Duration> {
        let source = crate::limits::source_of(ip);
        if let Some(left) = presented
            .iter()
            .find_map(|c| self.windows.refused_for(&(source, Some(*c))))
        {
            return Some(left);
        }
        if presented.iter().any(|c| self.is_good(c)) {
            return None;
        }
        self.windows.refused_for(&(source, None))
    }

    /// Counts a failed authentication from `ip` presenting `presented`: against the source
    /// when none of them is known good, else against each known one.
    pub fn failed(&self, ip: std::net::IpAddr, presented: &[CredentialId]) {
        let source = crate::limits::source_of(ip);
        let good: Vec<&CredentialId> = presented.iter().filter(|c| self.is_good(c)).collect();
        if good.is_empty() {
            self.windows.add((source, None));
        }
        for c in good {
            self.windows.add((source, Some(*c)));
        }
    }

    fn is_good(&self, c: &CredentialId) -> bool {
        self.good
            .lock()
            .ok()
            .and_then(|g| g.get(c).map(|at| at.elapsed() < GOOD_TTL))
            .unwrap_or(false)
    }

    /// A lookup found `c` active (`true`) or not (`false`).
    fn looked_up(&self, c: CredentialId, active: bool) {
        let Ok(mut g) = self.good.lock() else {
            return;
        };
        if !active {
            g.remove(&c);
            return;
        }
        if g.len() >= CACHE_MAX && !g.contains_key(&c) {
            g.retain(|_, at| at.elapsed() < GOOD_TTL);
            if g.len() >= CACHE_MAX
                && let Some(oldest) = g.iter().min_by_key(|(_, at)| **at).map(|(k, _)| *k)
            {
                g.remove(&oldest);
            }
        }
        g.insert(c, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: CredentialId = (CredentialKind::ApiKey, [1; 32]);
    const GUESS: CredentialId = (CredentialKind::ApiKey, [2; 32]);
    const CERT: CredentialId = (CredentialKind::ClientCert, [3; 32]);

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse()
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn a_source_guessing_is_refused_and_others_are_not() {
        let f = AuthFailures::default();
        let a = ip("192.0.2.1");
        for _ in 0..MAX_FAILURES - 1 {
            f.failed(a, &[GUESS]);
        }
        assert_eq!(f.refused_for(a, &[GUESS]), None);
        f.failed(a, &[GUESS]);
        let left = f.refused_for(a, &[GUESS]).expect("refused");
        assert!(left <= FAILURE_WINDOW && left > FAILURE_WINDOW / 2);
        // Any other unknown credential, or none, from the same source: refused too.
        assert!(f.refused_for(a, &[CERT]).is_some());
        assert!(f.refused_for(a, &[]).is_some());
        assert_eq!(f.refused_for(ip("2001:db8::1"), &[GUESS]), None);
    }

    #[test]
    fn a_known_good_credential_is_not_locked_out_by_others_failures() {
        let f = AuthFailures::default();
        let nat = ip("198.51.100.1");
        f.looked_up(KEY, true);
        for _ in 0..MAX_FAILURES * 3 {
            f.failed(nat, &[GUESS]);
        }
        assert!(f.refused_for(nat, &[GUESS]).is_some());
        assert_eq!(f.refused_for(nat, &[KEY]), None);
        // With an unregistered certificate beside it, too.
        assert_eq!(f.refused_for(nat, &[KEY, CERT]), None);
        // Revoked: no longer good.
        f.looked_up(KEY, false);
        assert!(f.refused_for(nat, &[KEY]).is_some());
    }

    #[test]
    fn a_known_credential_failing_locks_out_only_itself() {
        let f = AuthFailures::default();
        let a = ip("192.0.2.9");
        f.looked_up(KEY, true);
        f.looked_up(CERT, true);
        for _ in 0..MAX_FAILURES {
            f.failed(a, &[KEY, CERT]);
        }
        assert!(f.refused_for(a, &[KEY]).is_some());
        assert!(f.refused_for(a, &[CERT]).is_some());
        assert_eq!(f.refused_for(a, &[GUESS]), None, "the source is not locked");
        assert_eq!(f.refused_for(ip("192.0.2.10"), &[KEY]), None);
    }

    #[test]
    fn an_ipv6_source_is_its_64() {
        let f = AuthFailures::default();
        for i in 0..MAX_FAILURES {
            f.failed(ip(&format!("2001:db8:1:2::{:x}", i + 1)), &[GUESS]);
        }
        assert!(f.refused_for(ip("2001:db8:1:2:ffff::1"), &[]).is_some());
        assert_eq!(f.refused_for(ip("2001:db8:1:3::1"), &[]), None);
        // IPv4-mapped IPv6 is the IPv4 address.
        for _ in 0..MAX_FAILURES {
            f.failed(ip("::ffff:192.0.2.7"), &[]);
        }
        assert!(f.refused_for(ip("192.0.2.7"), &[]).is_some());
    }

    #[test]
    fn the_window_ends() {
        let f = AuthFailures::default();
        let a = ip("192.0.2.1");
        f.windows.set(
            (a, None),
            Instant::now()
                .checked_sub(FAILURE_WINDOW * 2)
                .unwrap_or_else(Instant::now),
            MAX_FAILURES * 5,
        );
        assert_eq!(f.refused_for(a, &[GUESS]), None);
    }

    #[test]
    fn the_good_set_is_bounded() {
        let f = AuthFailures::default();
        for i in 0..CACHE_MAX + 10 {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&(i as u64).to_be_bytes());
            f.looked_up((CredentialKind::ApiKey, h), true);
        }
        assert_eq!(f.good.lock().map(|g| g.len()).unwrap_or(0), CACHE_MAX);
    }
}
