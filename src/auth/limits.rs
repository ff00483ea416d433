//! Brute-force protection for logins: after `max_failures` failures for one
//! key within `window`, attempts answer 429 with `Retry-After` until the
//! window ends. The counters live in the cache (Redis when configured, so
//! every process counts together).

use std::sync::Arc;
use std::time::Duration;

use crate::cache::Cache;
use crate::error::{AppError, AppResult};

pub struct FailureLimiter {
    cache: Arc<dyn Cache>,
    max_failures: u64,
    window: Duration,
}

impl FailureLimiter {
    pub fn new(cache: Arc<dyn Cache>, max_failures: u64, window: Duration) -> Self {
        Self {
            cache,
            max_failures,
            window,
        }
    }

    pub async fn check(&self, key: &str) -> AppResult<()> {
        match self.cache.peek(key).await {
            Ok(Some((count, secs))) if count >= self.max_failures => Err(AppError::RateLimited {
                retry_after_secs: secs,
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "rate-limit store unreachable; allowing the attempt");
                Ok(())
            }
        }
    }

    pub async fn record_failure(&self, key: &str) {
        if let Err(e) = self.cache.hit(key, self.window).await {
            tracing::error!(error = %e, "rate-limit store unreachable; failure not counted");
        }
    }

    pub async fn clear(&self, key: &str) {
        self.cache.reset(key).await;
    }
}
