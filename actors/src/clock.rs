//! The injected clock. Domain code asks a `Clock` for the time instead of
//! calling `Utc::now()`, so tests (and the dev-only clock endpoint) can move
//! time: holds expiring, cancellation deadlines, payouts.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Today's calendar date in UTC (the platform's reference for stays).
    fn today(&self) -> chrono::NaiveDate {
        self.now().date_naive()
    }
}

/// Real wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall-clock time shifted by an adjustable offset. Time keeps flowing after a
/// `set`, which is what a running server needs: holds set to expire "in 15
/// minutes" still expire if nobody touches the clock again.
#[derive(Debug, Default)]
pub struct DevClock {
    offset_ms: AtomicI64,
}

impl DevClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `now()` return `instant` (and move on from there).
    pub fn set(&self, instant: DateTime<Utc>) {
        let offset = instant.timestamp_millis() - Utc::now().timestamp_millis();
        self.offset_ms.store(offset, Ordering::SeqCst);
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for DevClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_clock_jumps_and_keeps_flowing() {
        let clock = DevClock::new();
        let target = Utc::now() + chrono::Duration::days(30);
        clock.set(target);
        let seen = clock.now();
        assert!((seen - target).num_milliseconds().abs() < 1_000);
        clock.advance(chrono::Duration::hours(2));
        assert!(clock.now() - target >= chrono::Duration::hours(2));
    }
}
