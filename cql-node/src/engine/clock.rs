//! The engine's one clock: TTL expiry, server-side write timestamps (LWT ones included) and
//! now()/currentTimestamp()/currentDate() all read it. It is the system clock plus an offset
//! a test may only grow, so a 24 h TTL can expire at once without time ever running backwards
//! (write timestamps stay increasing and last-write-wins keeps its order). It can also be
//! frozen, so "just before the TTL" is exact however slow the machine is.
//!
//! Clones share one clock; every node of a cluster serves one engine, hence one clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// `frozen_at` when the clock runs.
const RUNNING: i64 = i64::MIN;

#[derive(Default)]
struct Inner {
    /// Microseconds added to the system clock (never negative, never decreasing).
    offset_micros: AtomicI64,
    /// The system-clock instant (µs since the epoch) the clock stopped at, or `RUNNING`.
    frozen_at: AtomicI64,
}

/// A handle on an engine's clock; `Engine::clock()` gives it.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

impl Default for Clock {
    fn default() -> Self {
        Self { inner: Arc::new(Inner { offset_micros: AtomicI64::new(0), frozen_at: AtomicI64::new(RUNNING) }) }
    }
}

fn system_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Clock {
    pub fn new() -> Self {
        Self::default()
    }

    /// The engine's "now", in microseconds since the Unix epoch.
    pub fn now_micros(&self) -> i64 {
        let base = match self.inner.frozen_at.load(Ordering::Acquire) {
            RUNNING => system_micros(),
            at => at,
        };
        base.saturating_add(self.inner.offset_micros.load(Ordering::Acquire))
    }

    /// Moves the clock forward by `by` (there is no way back); returns the total offset.
    pub fn advance(&self, by: Duration) -> Duration {
        let by = micros(by);
        let total = self.inner.offset_micros.fetch_add(by, Ordering::AcqRel).saturating_add(by);
        Duration::from_micros(total.max(0) as u64)
    }

    /// How far ahead of the system clock (or of the instant it was frozen at) the clock is.
    pub fn offset(&self) -> Duration {
        Duration::from_micros(self.inner.offset_micros.load(Ordering::Acquire).max(0) as u64)
    }

    /// Stops the clock where it is: from now on only `advance` moves it. A no-op when frozen.
    pub fn freeze(&self) {
        let _ = self.inner.frozen_at.compare_exchange(RUNNING, system_micros(), Ordering::AcqRel, Ordering::Acquire);
    }

    /// Lets a frozen clock run again from the system clock (plus the offset). The system
    /// clock went on meanwhile, so this moves the clock forward, never back.
    pub fn resume(&self) {
        self.inner.frozen_at.store(RUNNING, Ordering::Release);
    }

    pub fn is_frozen(&self) -> bool {
        self.inner.frozen_at.load(Ordering::Acquire) != RUNNING
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_adds_to_the_offset_and_to_now() {
        let clock = Clock::new();
        clock.freeze();
        let before = clock.now_micros();
        assert_eq!(clock.advance(Duration::from_secs(60)), Duration::from_secs(60));
        assert_eq!(clock.advance(Duration::from_millis(500)), Duration::from_millis(60_500));
        assert_eq!(clock.now_micros() - before, 60_500_000);
        assert_eq!(clock.offset(), Duration::from_millis(60_500));
    }

    #[test]
    fn a_frozen_clock_stands_still_and_clones_share_it() {
        let clock = Clock::new();
        let other = clock.clone();
        clock.freeze();
        assert!(other.is_frozen());
        let t = other.now_micros();
        assert_eq!(clock.now_micros(), t);
        other.advance(Duration::from_micros(7));
        assert_eq!(clock.now_micros(), t + 7);
        clock.resume();
        assert!(clock.now_micros() >= t + 7, "resuming never moves the clock back");
    }
}
