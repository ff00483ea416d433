//! Open GraphQL subscriptions per subscriber, capped: a `Seat` is one
//! subscription's place and gives it back when its stream drops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::errors::GqlResult;
use crate::error::AppError;

/// Open subscriptions per subscriber, capped.
pub struct SubscriptionCounts {
    open: Mutex<HashMap<String, usize>>,
    max_per_subscriber: usize,
}

/// Holds one subscription's place; gives it back when the stream drops.
pub struct Seat {
    counts: Arc<SubscriptionCounts>,
    who: String,
}

impl SubscriptionCounts {
    pub fn new(max_per_subscriber: usize) -> Arc<Self> {
        Arc::new(Self {
            open: Mutex::new(HashMap::new()),
            max_per_subscriber,
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A seat for `who`, or `RATE_LIMITED` when they hold the most already.
    pub fn take(self: &Arc<Self>, who: String) -> GqlResult<Seat> {
        let mut open = self.open();
        let count = open.entry(who.clone()).or_insert(0);
        if *count >= self.max_per_subscriber {
            return Err(AppError::RateLimited {
                retry_after_secs: 1,
            });
        }
        *count += 1;
        Ok(Seat {
            counts: self.clone(),
            who,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self.counts.open();
        if let Some(count) = open.get_mut(&self.who) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.who);
            }
        }
    }
}
