//! One clock for a whole simulated world: the SM-DP+ (its `now` arguments), the eUICC (its
//! `simforge_crypto::Clock`) and the tests read the same [`TestClock`], which moves only
//! when a test advances it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use simforge_crypto::Clock;

/// A shared, manually advanced clock (seconds since the Unix epoch); clones share the time.
#[derive(Clone, Debug)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    /// A clock at `unix` seconds.
    pub fn at(unix: i64) -> Self {
        Self(Arc::new(AtomicI64::new(unix)))
    }

    /// The current time.
    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `by` (whole seconds).
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).expect("duration in range");
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_unix(&self) -> i64 {
        self.now()
    }
}
