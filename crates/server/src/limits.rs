//! Per-source limits of the unauthenticated ES9+ interface, and the client address behind
//! trusted reverse proxies.
//!
//! A *source* is an IPv4 address or an IPv6 /64 (what one subscriber line gets, so rotating
//! addresses within it gains nothing); [`source_of`]. Every table here is bounded: a flood
//! from many sources costs a fixed amount of memory, never more.
//!
//! - **Failed matchingId lookups** ([`MAX_MATCHING_ID_FAILURES`] per [`MATCHING_ID_WINDOW`]):
//!   an ES9+ AuthenticateClient answered 8.2.6 / 3.1 (matchingId unknown) counts against its
//!   source; once over the limit, the source's AuthenticateClient calls are answered
//!   8.2.6 / 6.4 (matchingId: maximum number of retries exceeded) before any lookup until
//!   the window ends, with `Retry-After`.
//! - **Sessions in state Initiated** ([`MAX_INITIATED_PER_SOURCE`]): InitiateAuthentication
//!   needs no credential, so one source may hold only so many sessions that have not been
//!   through AuthenticateClient; beyond, its oldest one is evicted (its AuthenticateClient
//!   then answers 8.10.1 / 3.9, as for an expired session). The new call succeeds.
//! - **Client address** ([`TrustedProxies`]): with `serve --trusted-proxy CIDR`, a request
//!   whose TCP peer is such a proxy is attributed to the rightmost address of its
//!   `X-Forwarded-For` (else `Forwarded`) that is not itself a trusted proxy.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use simforge_asn1::{StatusCode, TransactionId};

/// Failed ES9+ matchingId lookups a source may have in [`MATCHING_ID_WINDOW`].
pub const MAX_MATCHING_ID_FAILURES: u32 = 10;
/// The window over which [`MAX_MATCHING_ID_FAILURES`] counts.
pub const MATCHING_ID_WINDOW: Duration = Duration::from_secs(60);
/// Sessions in state Initiated a source may hold.
pub const MAX_INITIATED_PER_SOURCE: usize = 64;
/// Sources a fixed-window table tracks at most.
const SOURCES_MAX: usize = 65_536;
/// Initiated sessions tracked at most, all sources together.
const INITIATED_MAX: usize = 262_144;

/// The source an address belongs to: itself (IPv4, also IPv4-mapped IPv6) or its /64.
#[must_use]
pub fn source_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
}

/// The SGP.22 answer to a source that failed too many matchingId lookups: 8.2.6 / 6.4.
#[must_use]
pub fn matching_id_retries_exceeded() -> StatusCode {
    StatusCode::parse("8.2.6", "6.4").unwrap_or(StatusCode::MATCHING_ID_UNKNOWN)
}

/// Counts per key in fixed windows, for at most [`SOURCES_MAX`] keys; keys that find the table
/// full of live windows share one overflow window, so that they are limited together rather
/// than not at all (an attacker with many sources cannot escape the limit by filling the table).
#[derive(Debug)]
pub(crate) struct FixedWindows<K> {
    max: u32,
    window: Duration,
    counts: Mutex<HashMap<K, (Instant, u32)>>,
    overflow: Mutex<(Instant, u32)>,
}

impl<K: std::hash::Hash + Eq + Clone> FixedWindows<K> {
    pub(crate) fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            counts: Mutex::new(HashMap::new()),
            overflow: Mutex::new((Instant::now(), 0)),
        }
    }

    /// How long `key` is still refused, if it is (its count, or for a key the table does not
    /// hold the shared overflow count, reached the maximum).
    pub(crate) fn refused_for(&self, key: &K) -> Option<Duration> {
        let (start, n) = {
            let counts = self.counts.lock().ok()?;
            match counts.get(key) {
                Some(w) => *w,
                None => *self.overflow.lock().ok()?,
            }
        };
        let left = self.window.checked_sub(start.elapsed())?;
        (n >= self.max && !left.is_zero()).then_some(left)
    }

    /// Counts one more for `key`. A full table of live windows keeps the keys it counts
    /// (the refused ones among them); a new key is counted in the shared overflow window until
    /// windows end.
    pub(crate) fn add(&self, key: K) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        if counts.len() >= SOURCES_MAX && !counts.contains_key(&key) {
            let window = self.window;
            counts.retain(|_, (start, _)| start.elapsed() < window);
            if counts.len() >= SOURCES_MAX {
                drop(counts);
                if let Ok(mut o) = self.overflow.lock() {
                    if o.0.elapsed() >= self.window {
                        *o = (Instant::now(), 0);
                    }
                    o.1 = o.1.saturating_add(1);
                }
                return;
            }
        }
        let entry = counts.entry(key).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    #[cfg(test)]
    pub(crate) fn set(&self, key: K, start: Instant, n: u32) {
        if let Ok(mut c) = self.counts.lock() {
            c.insert(key, (start, n));
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.counts.lock().map_or(0, |c| c.len())
    }
}

/// A network in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`; a bare address is /32 or
/// /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

/// A `--trusted-proxy` value that is not CIDR.
#[derive(Debug, thiserror::Error)]
#[error("not an IP network in CIDR notation: {0:?}")]
pub struct CidrError(String);

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, CidrError> {
        let err = || CidrError(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| err())?;
        let bits = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(err)?,
            Some(_) => return Err(err()),
        };
        Ok(Self { net, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` is in this network (IPv4-mapped IPv6 addresses count as IPv4).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The reverse proxies whose forwarding headers are believed (`serve --trusted-proxy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl TrustedProxies {
    /// Whether `ip` is a trusted proxy.
    #[must_use]
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client a request came from: its TCP `peer`, unless that is a trusted proxy; then
    /// the rightmost hop of `X-Forwarded-For` (or, without one, of `Forwarded`) that is not a
    /// trusted proxy — the entries left of it are the client's to write. A hop that is not an
    /// address (`unknown`, an obfuscated name, garbage) ends the walk at the proxy: the request
    /// counts as the proxy's own. All hops trusted: the leftmost.
    ///
    /// The proxy must append to `X-Forwarded-For`; one that writes only `Forwarded` must also
    /// remove an `X-Forwarded-For` the client sent.
    #[must_use]
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = match forwarded_hops(headers, "x-forwarded-for", parse_xff_hop) {
            Some(h) => h,
            None => match forwarded_hops(headers, "forwarded", parse_forwarded_element) {
                Some(h) => h,
                None => return peer,
            },
        };
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.trusts(*ip) => {}
                Some(ip) => return *ip,
                None => return peer,
            }
        }
        hops.first().copied().flatten().unwrap_or(peer)
    }
}

/// The comma-separated hops of every `name` header, in order; `None` without such a header.
fn forwarded_hops(
    headers: &HeaderMap,
    name: &str,
    parse: fn(&str) -> Option<IpAddr>,
) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    let mut any = false;
    for v in headers.get_all(name) {
        any = true;
        // Split the raw bytes, not a `to_str()` of the whole line: a client's non-ASCII junk
        // in front of the hop its proxy appended must not hide that hop (the request would
        // then count as the proxy's own, and lock out everyone behind it).
        hops.extend(
            v.as_bytes()
                .split(|&b| b == b',')
                .map(|h| std::str::from_utf8(h).ok().and_then(|h| parse(h.trim()))),
        );
    }
    any.then_some(hops)
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

fn parse_xff_hop(s: &str) -> Option<IpAddr> {
    parse_node(s)
}

/// The `for=` of one `Forwarded` element (RFC 7239 §4), e.g. `for="[2001:db8::1]:4711";proto=https`.
fn parse_forwarded_element(s: &str) -> Option<IpAddr> {
    s.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        parse_node(v)
    })
}

/// Sessions in state Initiated per source, oldest first.
#[derive(Debug, Default)]
struct Initiated {
    by_source: HashMap<IpAddr, VecDeque<(Instant, TransactionId)>>,
    total: usize,
}

/// The per-source limits of ES9+ and the trusted proxies, shared by the handlers.
#[derive(Debug)]
pub struct SourceLimits {
    trusted: TrustedProxies,
    matching_id_failures: FixedWindows<IpAddr>,
    initiated: Mutex<Initiated>,
}

impl Default for SourceLimits {
    fn default() -> Self {
        Self::new(TrustedProxies::default())
    }
}

impl SourceLimits {
    /// The limits, with the client address taken from forwarding headers of `trusted`
    /// proxies.
    #[must_use]
    pub fn new(trusted: TrustedProxies) -> Self {
        Self {
            trusted,
            matching_id_failures: FixedWindows::new(MAX_MATCHING_ID_FAILURES, MATCHING_ID_WINDOW),
            initiated: Mutex::new(Initiated::default()),
        }
    }

    /// The trusted proxies.
    #[must_use]
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.trusted
    }

    /// The client address of a request from TCP `peer` ([`TrustedProxies::client_addr`]).
    #[must_use]
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        self.trusted.client_addr(peer, headers)
    }

    /// How long `ip`'s source is still refused AuthenticateClient, if it is.
    #[must_use]
    pub fn matching_id_refused_for(&self, ip: IpAddr) -> Option<Duration> {
        self.matching_id_failures.refused_for(&source_of(ip))
    }

    /// Counts a failed matchingId lookup (8.2.6 / 3.1) of `ip`'s source.
    pub fn matching_id_failed(&self, ip: IpAddr) {
        self.matching_id_failures.add(source_of(ip));
    }

    /// Records a session `ip` initiated; returns the sessions to evict, the source's oldest
    /// beyond [`MAX_INITIATED_PER_SOURCE`]. Entries older than `ttl` (the session lifetime)
    /// are forgotten. When the table (all sources together) is full of live entries, a new
    /// source's session is evicted at once: under such a flood new sessions fail closed
    /// (AuthenticateClient answers 8.10.1/3.9) instead of growing the server's state.
    pub fn initiated(&self, ip: IpAddr, tid: TransactionId, ttl: Duration) -> Vec<TransactionId> {
        let source = source_of(ip);
        let Ok(mut t) = self.initiated.lock() else {
            return Vec::new();
        };
        let t = &mut *t;
        if t.total >= INITIATED_MAX && !t.by_source.contains_key(&source) {
            t.by_source.retain(|_, q| {
                q.retain(|(at, _)| at.elapsed() < ttl);
                !q.is_empty()
            });
            t.total = t.by_source.values().map(VecDeque::len).sum();
            if t.total >= INITIATED_MAX {
                return vec![tid];
            }
        }
        let q = t.by_source.entry(source).or_default();
        let before = q.len();
        while q.front().is_some_and(|(at, _)| at.elapsed() >= ttl) {
            q.pop_front();
        }
        q.push_back((Instant::now(), tid));
        let mut evict = Vec::new();
        while q.len() > MAX_INITIATED_PER_SOURCE {
            if let Some((_, old)) = q.pop_front() {
                evict.push(old);
            }
        }
        t.total = (t.total + q.len()).saturating_sub(before);
        evict
    }

    /// The session `tid` of `ip`'s source left state Initiated (AuthenticateClient came).
    pub fn authenticated(&self, ip: IpAddr, tid: &TransactionId) {
        let source = source_of(ip);
        let Ok(mut t) = self.initiated.lock() else {
            return;
        };
        let t = &mut *t;
        if let Some(q) = t.by_source.get_mut(&source)
            && let Some(i) = q.iter().position(|(_, x)| x == tid)
        {
            q.remove(i);
            t.total = t.total.saturating_sub(1);
            if q.is_empty() {
                t.by_source.remove(&source);
            }
        }
    }

    #[cfg(test)]
    fn initiated_total(&self) -> usize {
        self.initiated.lock().map_or(0, |t| t.total)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// One request through proxies: `(trusted, tcp peer, headers) → client`.
    fn check(trusted: &[&str], peer: &str, headers: &[(&str, &str)], expect: &str) {
        let t = TrustedProxies(trusted.iter().map(|c| c.parse().unwrap()).collect());
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        assert_eq!(
            t.client_addr(ip(peer), &h),
            ip(expect),
            "{trusted:?} {peer} {headers:?}"
        );
    }

    #[test]
    fn client_address_behind_trusted_proxies() {
        let xff = "x-forwarded-for";
        // No trusted proxy: the header is the client's own text.
        check(&[], "198.51.100.7", &[(xff, "192.0.2.1")], "198.51.100.7");
        // From an untrusted peer: ignored.
        check(
            &["10.0.0.0/8"],
            "198.51.100.7",
            &[(xff, "192.0.2.1")],
            "198.51.100.7",
        );
        // Through the trusted proxy: the rightmost untrusted hop, not what the client
        // prepended.
        check(
            &["10.0.0.0/8"],
            "10.1.2.3",
            &[(xff, "203.0.113.9, 192.0.2.1")],
            "192.0.2.1",
        );
        // Two trusted proxies in a row, two header lines.
        check(
            &["10.0.0.0/8", "2001:db8:ffff::/48"],
            "2001:db8:ffff::1",
            &[(xff, "203.0.113.9"), (xff, "192.0.2.1:5555, 10.9.9.9")],
            "192.0.2.1",
        );
        // IPv6 hop, bracketed with a port.
        check(
            &["10.0.0.1"],
            "10.0.0.1",
            &[(xff, "[2001:db8::7]:443")],
            "2001:db8::7",
        );
        // Garbage or `unknown` where the client should be: the proxy's own.
        check(&["10.0.0.1"], "10.0.0.1", &[(xff, "bogus")], "10.0.0.1");
        check(&["10.0.0.1"], "10.0.0.1", &[], "10.0.0.1");
        // All hops trusted: the leftmost.
        check(
            &["10.0.0.0/8"],
            "10.0.0.1",
            &[(xff, "10.0.0.5, 10.0.0.6")],
            "10.0.0.5",
        );
        // RFC 7239 Forwarded (its §7.4 examples), used without X-Forwarded-For.
        let fwd = "forwarded";
        check(
            &["10.0.0.0/8"],
            "10.0.0.1",
            &[(fwd, r#"for="_gazonk", For="[2001:db8:cafe::17]:4711""#)],
            "2001:db8:cafe::17",
        );
        check(
            &["10.0.0.0/8"],
            "10.0.0.1",
            &[(fwd, "for=192.0.2.60;proto=http;by=203.0.113.43")],
            "192.0.2.60",
        );
        check(
            &["10.0.0.0/8"],
            "10.0.0.1",
            &[(fwd, "for=192.0.2.43, for=198.51.100.17")],
            "198.51.100.17",
        );
        check(
            &["10.0.0.0/8"],
            "10.0.0.1",
            &[(fwd, "for=unknown")],
            "10.0.0.1",
        );
        // An IPv4-mapped TCP peer is its IPv4 address.
        check(
            &["10.0.0.0/8"],
            "::ffff:10.0.0.1",
            &[(xff, "192.0.2.1")],
            "192.0.2.1",
        );
    }

    #[test]
    fn cidr_parsing() {
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "host",
            "::/129",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let c: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(c.contains(ip("192.0.2.255")) && !c.contains(ip("192.0.3.0")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")) && !all.contains(ip("2001:db8::1")));
        assert_eq!(c.to_string(), "192.0.2.0/24");
    }

    #[test]
    fn matching_id_failures_per_source() {
        let l = SourceLimits::default();
        let a = ip("2001:db8:1:2::1");
        for i in 0..MAX_MATCHING_ID_FAILURES {
            assert_eq!(l.matching_id_refused_for(a), None);
            // Any address of the same /64.
            l.matching_id_failed(ip(&format!("2001:db8:1:2::{:x}", i + 2)));
        }
        assert!(l.matching_id_refused_for(a).is_some());
        assert_eq!(l.matching_id_refused_for(ip("2001:db8:1:3::1")), None);
        // The window ends.
        l.matching_id_failures.set(
            source_of(a),
            Instant::now().checked_sub(MATCHING_ID_WINDOW * 2).unwrap(),
            MAX_MATCHING_ID_FAILURES * 9,
        );
        assert_eq!(l.matching_id_refused_for(a), None);
    }

    #[test]
    fn non_ascii_junk_before_the_proxys_hop_does_not_hide_it() {
        // nginx's $proxy_add_x_forwarded_for appends the real address to the client's own
        // line; junk bytes (>= 0x80) the client put there must not make the request the
        // proxy's own (review finding: `to_str()` of the whole line failed).
        let t = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]);
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff\xfe, 192.0.2.1").unwrap(),
        );
        assert_eq!(t.client_addr(ip("10.1.2.3"), &h), ip("192.0.2.1"));
    }

    #[test]
    fn sources_that_find_the_table_full_share_one_window() {
        // Review finding: a new source used to go uncounted (unlimited) once the table was
        // full of live windows, e.g. from an IPv6 /48 (65,536 /64s).
        let w = FixedWindows::new(3, Duration::from_secs(60));
        for i in 0..SOURCES_MAX as u32 {
            w.add(IpAddr::from(std::net::Ipv4Addr::from(i)));
        }
        let newcomer = ip("2001:db8::1");
        assert_eq!(w.refused_for(&newcomer), None);
        for _ in 0..3 {
            w.add(newcomer);
        }
        assert!(w.refused_for(&newcomer).is_some());
        assert!(
            w.refused_for(&ip("2001:db8:1::1")).is_some(),
            "shared window"
        );
        // A source the table holds keeps its own count.
        assert_eq!(
            w.refused_for(&IpAddr::from(std::net::Ipv4Addr::from(7))),
            None
        );
    }

    #[test]
    fn a_full_window_table_stays_bounded() {
        let w = FixedWindows::new(3, Duration::from_secs(60));
        for i in 0..SOURCES_MAX as u32 + 100 {
            w.add(IpAddr::from(std::net::Ipv4Addr::from(i)));
        }
        assert_eq!(w.len(), SOURCES_MAX);
    }

    fn tid(i: u32) -> TransactionId {
        TransactionId::from_bytes(&i.to_be_bytes()).unwrap()
    }

    #[test]
    fn initiated_sessions_per_source_evict_the_oldest() {
        let l = SourceLimits::default();
        let ttl = Duration::from_secs(600);
        let a = ip("192.0.2.1");
        for i in 0..MAX_INITIATED_PER_SOURCE as u32 {
            assert!(l.initiated(a, tid(i), ttl).is_empty());
        }
        assert_eq!(l.initiated(a, tid(1000), ttl), vec![tid(0)]);
        assert_eq!(l.initiated(a, tid(1001), ttl), vec![tid(1)]);
        // Another source is not affected.
        assert!(l.initiated(ip("192.0.2.2"), tid(2000), ttl).is_empty());
        // A session that went on leaves the count.
        l.authenticated(a, &tid(5));
        assert!(l.initiated(a, tid(1002), ttl).is_empty());
        assert_eq!(l.initiated_total(), MAX_INITIATED_PER_SOURCE + 1);
        // Expired entries are forgotten.
        let l = SourceLimits::default();
        for i in 0..MAX_INITIATED_PER_SOURCE as u32 * 2 {
            assert!(l.initiated(a, tid(i), Duration::ZERO).is_empty());
        }
        assert_eq!(l.initiated_total(), 1);
    }
}
