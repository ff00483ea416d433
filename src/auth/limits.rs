//! Fixed-window rate limits: sign-in failures per account and per client
//! address, sign-ups per address, bookings per user. An attempt is counted
//! (one atomic increment) *before* the work it guards, so many concurrent
//! attempts count one by one and the ones over the limit are refused
//! without being tried; an attempt that turns out fine can be given back.
//!
//! The counters live in the cache: Redis when configured, so every process
//! counts together. If Redis stops answering, the counting carries on in
//! this process (a limit is never silently lifted) until Redis is back.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::{Cache, LocalCache};
use crate::error::{AppError, AppResult};

/// At most `max` attempts per `window`; `max == 0` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u64,
    pub window: Duration,
}

impl Limit {
    pub const fn new(max: u64, window: Duration) -> Self {
        Self { max, window }
    }
}

/// An attempt counted under one key: whether it is over the limit, and
/// when the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub hits: u64,
    pub retry_after_secs: u64,
}

pub struct Limiter {
    shared: Arc<dyn Cache>,
    /// Counts here while `shared` (Redis) does not answer.
    fallback: LocalCache,
}

impl Limiter {
    pub fn new(shared: Arc<dyn Cache>) -> Self {
        Self {
            shared,
            fallback: LocalCache::new(10_000),
        }
    }

    /// Counts one attempt under `key` in `limit`'s window.
    pub async fn count(&self, key: &str, limit: Limit) -> Count {
        let counted = match self.shared.hit(key, limit.window).await {
            Ok(hit) => Some(hit),
            Err(e) => {
                tracing::error!(error = %e, key, "rate-limit store unreachable; counting in process");
                None
            }
        };
        let (hits, retry_after_secs) = match counted {
            Some(hit) => hit,
            // The in-process cache never fails.
            None => self
                .fallback
                .hit(key, limit.window)
                .await
                .unwrap_or((u64::MAX, limit.window.as_secs())),
        };
        Count {
            hits,
            retry_after_secs,
        }
    }

    /// Counts one attempt; 429 if it is over the limit.
    pub async fn check(&self, key: &str, limit: Limit) -> AppResult<()> {
        if limit.max == 0 {
            return Ok(());
        }
        let count = self.count(key, limit).await;
        if count.hits > limit.max {
            return Err(AppError::RateLimited {
                retry_after_secs: count.retry_after_secs.max(1),
            });
        }
        Ok(())
    }

    /// Gives one counted attempt back (it went well).
    pub async fn give_back(&self, key: &str) {
        if let Err(e) = self.shared.decrement(key).await {
            tracing::warn!(error = %e, key, "rate-limit store unreachable; giving back in process");
            let _ = self.fallback.decrement(key).await;
        }
    }

    /// Forgets every attempt counted under `key`.
    pub async fn reset(&self, key: &str) {
        self.shared.reset(key).await;
        self.fallback.reset(key).await;
    }
}
