//! Bounded connections: an idle deadline on every read and write of a peer's socket, a deadline
//! on every request body, and a cap on the connections held open (overall and per source
//! address) that evicts the connection that made progress least recently.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Sleep;

/// One open connection, as the [`Registry`] sees it.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    ip: IpAddr,
    /// When a byte last went in or out (milliseconds since the registry's epoch).
    last_progress: AtomicU64,
    /// Requests whose body has been read and whose answer is being made: such a connection
    /// waits on us, not on its peer, and is never evicted (its answer may carry a committed
    /// state change).
    busy: AtomicUsize,
    /// Told to close when evicted.
    pub(crate) close: Notify,
    epoch: Instant,
}

impl Conn {
    fn touch(&self) {
        self.last_progress
            .store(ms_since(self.epoch), Ordering::Relaxed);
    }
}

fn ms_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The open connections, for the caps.
#[derive(Debug)]
pub(crate) struct Registry {
    epoch: Instant,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    max_total: usize,
    max_per_source: usize,
}

/// What [`Registry::admit`] decided.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Admitted; `evicted` connections were told to close to make room.
    Admitted { conn: Arc<Conn>, evicted: usize },
    /// At a cap, and every connection there is busy answering: refused.
    Refused,
}

impl Registry {
    pub(crate) fn new(max_total: usize, max_per_source: usize) -> Self {
        Self {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            max_total: max_total.max(1),
            max_per_source: max_per_source.max(1),
        }
    }

    /// Connections open now.
    pub(crate) fn len(&self) -> usize {
        self.conns.lock().map_or(0, |c| c.len())
    }

    /// Registers a new connection from `ip`. At the overall cap, or at the per-source cap
    /// for `ip`, the connection (of all, or of `ip`) that made progress least recently and is
    /// not busy is evicted first; if there is none the new one is refused.
    pub(crate) fn admit(&self, ip: IpAddr) -> Admission {
        let Ok(mut conns) = self.conns.lock() else {
            return Admission::Refused;
        };
        let mut evicted = 0;
        let from_ip = conns.values().filter(|c| c.ip == ip).count();
        if from_ip >= self.max_per_source {
            match evict(&mut conns, Some(ip)) {
                true => evicted += 1,
                false => return Admission::Refused,
            }
        }
        if conns.len() >= self.max_total {
            match evict(&mut conns, None) {
                true => evicted += 1,
                false => return Admission::Refused,
            }
        }
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            ip,
            last_progress: AtomicU64::new(ms_since(self.epoch)),
            busy: AtomicUsize::new(0),
            close: Notify::new(),
            epoch: self.epoch,
        });
        conns.insert(conn.id, conn.clone());
        Admission::Admitted { conn, evicted }
    }

    /// Frees a slot: evicts the connection that made progress least recently and is not busy.
    /// Returns whether there was one.
    pub(crate) fn evict_one(&self) -> bool {
        self.conns
            .lock()
            .is_ok_and(|mut conns| evict(&mut conns, None))
    }

    /// Forgets a connection that ended.
    pub(crate) fn remove(&self, conn: &Conn) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.remove(&conn.id);
        }
    }
}

fn evict(conns: &mut HashMap<u64, Arc<Conn>>, only: Option<IpAddr>) -> bool {
    let victim = conns
        .values()
        .filter(|c| only.is_none_or(|ip| c.ip == ip) && c.busy.load(Ordering::Relaxed) == 0)
        .min_by_key(|c| c.last_progress.load(Ordering::Relaxed))
        .map(|c| c.id);
    match victim.and_then(|id| conns.remove(&id)) {
        Some(c) => {
            c.close.notify_one();
            true
        }
        None => false,
    }
}

/// Removes its connection from the registry when the connection's task ends.
pub(crate) struct Registered {
    pub(crate) registry: Arc<Registry>,
    pub(crate) conn: Arc<Conn>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.remove(&self.conn);
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_owned())
}

/// A socket whose every read and every write must make progress within `idle`: a read or
/// write that stays pending longer fails with [`io::ErrorKind::TimedOut`] (and the connection
/// ends). Each byte read or written marks the connection's progress.
pub(crate) struct IdleIo<T> {
    inner: T,
    idle: Duration,
    read_sleep: Option<Pin<Box<Sleep>>>,
    write_sleep: Option<Pin<Box<Sleep>>>,
    conn: Arc<Conn>,
}

impl<T> IdleIo<T> {
    pub(crate) fn new(inner: T, idle: Duration, conn: Arc<Conn>) -> Self {
        Self {
            inner,
            idle,
            read_sleep: None,
            write_sleep: None,
            conn,
        }
    }
}

/// Pending: arms (once) the idle timer in `slot` and fails once it has run out.
fn pending_or_timeout<R>(
    slot: &mut Option<Pin<Box<Sleep>>>,
    idle: Duration,
    cx: &mut Context<'_>,
    what: &str,
) -> Poll<io::Result<R>> {
    let sleep = slot.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
    match sleep.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err(timed_out(what))),
        Poll::Pending => Poll::Pending,
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read_sleep = None;
                if buf.filled().len() > before {
                    this.conn.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                pending_or_timeout(&mut this.read_sleep, this.idle, cx, "peer sent nothing")
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.write_sleep = None;
                if r.as_ref().is_ok_and(|n| *n > 0) {
                    this.conn.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                pending_or_timeout(&mut this.write_sleep, this.idle, cx, "peer read nothing")
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(r) => {
                this.write_sleep = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                pending_or_timeout(&mut this.write_sleep, this.idle, cx, "peer read nothing")
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Ready(r) => {
                this.write_sleep = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                pending_or_timeout(&mut this.write_sleep, this.idle, cx, "peer read nothing")
            }
        }
    }
}

/// Marks its connection busy once its request's body has been read, until both the body and
/// the request's answer are done with it.
pub(crate) struct RequestMark {
    conn: Arc<Conn>,
    marked: AtomicBool,
}

impl RequestMark {
    pub(crate) fn new(conn: Arc<Conn>) -> Arc<Self> {
        Arc::new(Self {
            conn,
            marked: AtomicBool::new(false),
        })
    }

    fn mark(&self) {
        if !self.marked.swap(true, Ordering::Relaxed) {
            self.conn.busy.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for RequestMark {
    fn drop(&mut self) {
        if *self.marked.get_mut() {
            self.conn.busy.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A request body that must arrive completely before its deadline; after it, the next frame
/// is an [`io::ErrorKind::TimedOut`] error.
pub(crate) struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<Sleep>>,
    mark: Option<Arc<RequestMark>>,
}

impl<B> DeadlineBody<B> {
    pub(crate) fn new(inner: B, within: Duration, mark: Arc<RequestMark>) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(within)),
            mark: Some(mark),
        }
    }

    fn done(&mut self) {
        if let Some(m) = self.mark.take() {
            m.mark();
            // Kept by the answer's future until the answer is made (see `RequestMark`).
            drop(m);
        }
    }
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.done();
                Poll::Ready(None)
            }
            Poll::Ready(Some(r)) => Poll::Ready(Some(r.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(timed_out(
                    "request body not received within the time limit",
                ))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Rate-limits a repeated warning: at most one line per `every`, with the number of times it
/// happened since the last line.
#[derive(Debug)]
pub(crate) struct RateLimitedLog {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    pub(crate) fn new(every: Duration) -> Self {
        Self {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// Called at each occurrence (at `now`): `Some(n)` when a line is due, `n` being the
    /// occurrences it covers (this one included); `None` when this one is only counted.
    pub(crate) fn hit(&mut self, now: Instant) -> Option<u64> {
        self.suppressed += 1;
        match self.last {
            Some(l) if now.saturating_duration_since(l) < self.every => None,
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_repeated_warning_is_logged_once_per_period_with_its_count() {
        let t0 = Instant::now();
        let mut log = RateLimitedLog::new(Duration::from_secs(5));
        assert_eq!(log.hit(t0), Some(1));
        // 20 a second for 4.95 s: counted, not logged.
        for i in 1..100 {
            assert_eq!(log.hit(t0 + Duration::from_millis(50 * i)), None);
        }
        assert_eq!(log.hit(t0 + Duration::from_secs(5)), Some(100));
        assert_eq!(log.hit(t0 + Duration::from_secs(6)), None);
    }

    #[test]
    fn the_cap_evicts_the_connection_idle_longest_and_never_a_busy_one() {
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let r = Registry::new(3, 2);
        let admit = |ip| match r.admit(ip) {
            Admission::Admitted { conn, .. } => conn,
            Admission::Refused => panic!("refused"),
        };
        let a1 = admit(a);
        std::thread::sleep(Duration::from_millis(5));
        let a2 = admit(a);
        std::thread::sleep(Duration::from_millis(5));
        a1.touch(); // a2 is now the one idle longest
        // Per source: a third from `a` evicts a2.
        let a3 = admit(a);
        assert_eq!(r.len(), 2);
        assert!(!r.conns.lock().unwrap().contains_key(&a2.id));
        // Overall: busy connections are skipped.
        a1.busy.fetch_add(1, Ordering::Relaxed);
        a3.busy.fetch_add(1, Ordering::Relaxed);
        let b1 = admit(b);
        b1.busy.fetch_add(1, Ordering::Relaxed);
        assert!(matches!(r.admit(b), Admission::Refused));
        b1.busy.fetch_sub(1, Ordering::Relaxed);
        assert!(matches!(r.admit(b), Admission::Admitted { evicted: 1, .. }));
        assert_eq!(r.len(), 3);
    }
}
