//! Time, passed in so tests can move it (code and pending-request lifetimes).
//!
//! Any `Fn() -> i64` is a clock, so the STS can hand over its own with
//! `Arc::new(move || sts_clock.now())` without either crate depending on the other's trait.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in Unix seconds.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

impl<F: Fn() -> i64 + Send + Sync> Clock for F {
    fn now(&self) -> i64 {
        self()
    }
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}

/// A clock tests set and advance by hand.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(now: i64) -> ManualClock {
        ManualClock(AtomicI64::new(now))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_and_manual_clocks_tell_time() {
        let closure = || 42_i64;
        assert_eq!(Clock::now(&closure), 42);
        let manual = ManualClock::new(100);
        manual.advance(61);
        assert_eq!(manual.now(), 161);
        manual.set(5);
        assert_eq!(manual.now(), 5);
        assert!(SystemClock.now() > 1_700_000_000);
    }
}
