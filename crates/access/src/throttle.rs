//! Login throttling (per account and per source address) and session timeouts: pure state
//! updated with attempts and the time.

/// How many failures lock, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Consecutive failures that lock.
    pub max_failures: u32,
    /// Seconds a lock lasts (an administrator may unlock an account sooner).
    pub lock_secs: i64,
}

impl ThrottlePolicy {
    /// Accounts: 5 failures lock for 15 minutes.
    pub const ACCOUNT: Self = Self {
        max_failures: 5,
        lock_secs: 900,
    };
    /// Source addresses: 20 failures (over any accounts) lock for 15 minutes.
    pub const SOURCE: Self = Self {
        max_failures: 20,
        lock_secs: 900,
    };
}

/// The throttling state of one account or one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throttle {
    /// Consecutive failures since the last success or lock.
    pub failures: u32,
    /// Locked until then (Unix seconds), if locked.
    pub locked_until: Option<i64>,
}

impl Throttle {
    /// `Err(until)` while locked at `now`.
    pub fn check(&self, now: i64) -> Result<(), i64> {
        match self.locked_until {
            Some(until) if now < until => Err(until),
            _ => Ok(()),
        }
    }

    /// After a failure at `now`: locked (until when) once `policy.max_failures` follow one
    /// another; the count starts again after the lock.
    #[must_use]
    pub fn fail(self, now: i64, policy: ThrottlePolicy) -> Self {
        let failures = if self.check(now).is_ok() && self.locked_until.is_some() {
            1 // the previous lock has expired
        } else {
            self.failures.saturating_add(1)
        };
        if failures >= policy.max_failures {
            Self {
                failures: 0,
                locked_until: Some(now + policy.lock_secs),
            }
        } else {
            Self {
                failures,
                locked_until: self.locked_until.filter(|u| now < *u),
            }
        }
    }

    /// After a success (or an administrator's unlock): cleared.
    #[must_use]
    pub fn succeed(self) -> Self {
        Self::default()
    }
}

/// Session lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Seconds without use after which a session ends.
    pub idle_secs: i64,
    /// Seconds after login after which a session ends, used or not.
    pub absolute_secs: i64,
}

impl Default for SessionPolicy {
    /// 30 minutes idle, 12 hours absolute.
    fn default() -> Self {
        Self {
            idle_secs: 1800,
            absolute_secs: 43_200,
        }
    }
}

impl SessionPolicy {
    /// Whether a session created at `created` and last used at `last_seen` is alive at `now`.
    #[must_use]
    pub fn alive(&self, created: i64, last_seen: i64, now: i64) -> bool {
        now < created + self.absolute_secs && now < last_seen + self.idle_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ThrottlePolicy = ThrottlePolicy {
        max_failures: 3,
        lock_secs: 100,
    };

    #[test]
    fn failures_lock_then_the_lock_expires() {
        let mut t = Throttle::default();
        for now in [10, 11] {
            t = t.fail(now, P);
            assert_eq!(t.check(now), Ok(()));
        }
        t = t.fail(12, P);
        assert_eq!(t.check(12), Err(112));
        assert_eq!(t.check(111), Err(112));
        assert_eq!(t.check(112), Ok(()));
        // After the lock, one failure is one failure.
        t = t.fail(200, P);
        assert_eq!((t.failures, t.locked_until), (1, None));
        t = t.fail(201, P).succeed();
        assert_eq!(t, Throttle::default());
    }

    #[test]
    fn session_timeouts() {
        let p = SessionPolicy {
            idle_secs: 10,
            absolute_secs: 100,
        };
        for (last_seen, now, alive) in [
            (0, 0, true),
            (0, 9, true),
            (0, 10, false),
            (95, 99, true),
            (95, 100, false),
        ] {
            assert_eq!(p.alive(0, last_seen, now), alive, "{last_seen} {now}");
        }
    }
}
