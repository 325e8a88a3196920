//! Time, passed in so tests can move it (key expiry, token, code and pending-request
//! lifetimes, nonce windows), and Unix times formatted for messages.
//!
//! It lives here, rather than in `mock-sts` or `mock-idp`, because the STS and the identity
//! providers both need a controllable clock for tests and `mock-idp` cannot depend on
//! `mock-sts`; both depend on this crate. As with configuration, a clock is passed in, never
//! global: the STS hands its own `Arc<dyn Clock>` to the IdPs, so one [`ManualClock`] moves
//! both. The rest of this crate still takes `now` as an argument and reads no clock;
//! [`SystemClock`] reads the machine's only when a caller asks it to.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in Unix seconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> i64;
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

/// The machine's clock moved by an offset a test sets and advances: time runs on as it does
/// for the code under test that reads the system clock (a client signing its assertions with
/// the time of day), so a slow, loaded machine does not open a gap between the two the way a
/// frozen [`ManualClock`] does.
#[derive(Debug, Default)]
pub struct OffsetClock(AtomicI64);

impl OffsetClock {
    /// The system clock as it is.
    pub fn new() -> OffsetClock {
        OffsetClock(AtomicI64::new(0))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// From now on, `now` is this moment (and time runs on from it).
    pub fn set(&self, now: i64) {
        self.0.store(now - SystemClock.now(), Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> i64 {
        SystemClock.now() + self.0.load(Ordering::SeqCst)
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

/// `HH:MM:SS` (UTC) of a Unix time, for error descriptions.
pub fn time_of_day(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// RFC 3339 (UTC, seconds) of a Unix time.
pub fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{}Z", time_of_day(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn manual_and_system_clocks_tell_time() {
        let manual = ManualClock::new(100);
        manual.advance(61);
        assert_eq!(manual.now(), 161);
        manual.set(5);
        assert_eq!(manual.now(), 5);
        assert!(SystemClock.now() > 1_700_000_000);
    }

    #[test]
    fn an_offset_clock_runs_with_the_system_clock() {
        let c = OffsetClock::new();
        let now = SystemClock.now();
        assert!((c.now() - now).abs() <= 1);
        c.advance(3600);
        assert!((c.now() - now - 3600).abs() <= 1);
        c.set(100);
        assert!((c.now() - 100).abs() <= 1);
    }

    #[test]
    fn a_shared_clock_moves_every_holder() {
        let manual = Arc::new(ManualClock::new(100));
        let sts: Arc<dyn Clock> = manual.clone();
        let idp: Arc<dyn Clock> = sts.clone();
        manual.advance(61);
        assert_eq!((sts.now(), idp.now()), (161, 161));
    }

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(time_of_day(1_700_000_000), "22:13:20");
    }
}
