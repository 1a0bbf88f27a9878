//! A per-agency circuit breaker, pure (time is passed in): after `failures` transient
//! failures in a row the circuit opens and no delivery is tried for `open_for`; then one
//! probe goes (half-open): its success closes the circuit, its failure opens it again. So a
//! dead agency costs one call per `open_for`, not one per waiting message.

use std::time::{Duration, Instant};

/// The breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    failures: u32,
    open_for: Duration,
    state: BreakerState,
}

/// Where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Deliveries flow; this many failures in a row so far.
    Closed(u32),
    /// Nothing is tried until then.
    Open(Instant),
    /// One probe is out.
    HalfOpen,
}

impl Breaker {
    /// Opens after `failures` (≥ 1) failures in a row, for `open_for`.
    pub fn new(failures: u32, open_for: Duration) -> Breaker {
        Breaker {
            failures: failures.max(1),
            open_for,
            state: BreakerState::Closed(0),
        }
    }

    /// Its state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether a delivery may start at `now` (when open and the time is up, this one is the
    /// probe).
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.state {
            BreakerState::Closed(_) => true,
            BreakerState::Open(until) if now >= until => {
                self.state = BreakerState::HalfOpen;
                true
            }
            BreakerState::Open(_) | BreakerState::HalfOpen => false,
        }
    }

    /// When it may allow again (None when it allows now or waits for a probe).
    pub fn reopens_at(&self) -> Option<Instant> {
        match self.state {
            BreakerState::Open(until) => Some(until),
            _ => None,
        }
    }

    /// A delivery succeeded (or was refused for good: the agency is alive).
    pub fn success(&mut self) {
        self.state = BreakerState::Closed(0);
    }

    /// A delivery failed in a way worth retrying.
    pub fn failure(&mut self, now: Instant) {
        self.state = match self.state {
            BreakerState::Closed(n) if n + 1 < self.failures => BreakerState::Closed(n + 1),
            BreakerState::Open(until) => BreakerState::Open(until),
            _ => BreakerState::Open(now + self.open_for),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_probes_once_and_closes_on_success() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(1));
        b.failure(t0);
        b.failure(t0);
        assert!(b.allow(t0), "two failures of three: still closed");
        b.failure(t0);
        assert_eq!(b.state(), BreakerState::Open(t0 + Duration::from_secs(1)));
        assert!(!b.allow(t0 + Duration::from_millis(999)));
        assert!(b.allow(t0 + Duration::from_secs(1)), "the probe");
        assert!(!b.allow(t0 + Duration::from_secs(1)), "only one probe");
        b.failure(t0 + Duration::from_secs(1));
        assert_eq!(b.reopens_at(), Some(t0 + Duration::from_secs(2)));
        assert!(b.allow(t0 + Duration::from_secs(2)));
        b.success();
        assert_eq!(b.state(), BreakerState::Closed(0));
        assert!(b.allow(t0 + Duration::from_secs(2)));
    }
}
