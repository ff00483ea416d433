//! The cache port: Redis when `REDIS_URL` is set (shared by every innkeep
//! process), otherwise in-process (moka). It holds cached reads and the
//! fixed-window counters behind rate limits. A cache failure never fails a
//! request: reads fall through to the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

#[async_trait]
pub trait Cache: Send + Sync + 'static {
    /// `redis` or `in-process`.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> anyhow::Result<()>;
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration);
    async fn delete(&self, key: &str);
    /// Counts one hit in a fixed window that starts at the first hit:
    /// `(hits in the window, seconds until it resets)`.
    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<(u64, u64)>;
    /// Takes one hit back from a window that is still open.
    async fn decrement(&self, key: &str) -> anyhow::Result<()>;
    async fn reset(&self, key: &str);
}

/// In-process cache for a single server process.
pub struct LocalCache {
    values: moka::future::Cache<String, (Arc<Vec<u8>>, Duration)>,
    counters: Mutex<HashMap<String, (u64, Instant)>>,
}

struct PerEntryTtl;

impl moka::Expiry<String, (Arc<Vec<u8>>, Duration)> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _: &String,
        value: &(Arc<Vec<u8>>, Duration),
        _: Instant,
    ) -> Option<Duration> {
        Some(value.1)
    }
    fn expire_after_update(
        &self,
        _: &String,
        value: &(Arc<Vec<u8>>, Duration),
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.1)
    }
}

impl LocalCache {
    pub fn new(max_entries: u64) -> Self {
        Self {
            values: moka::future::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(PerEntryTtl)
                .build(),
            counters: Mutex::new(HashMap::new()),
        }
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Instant)>> {
        // A panic while holding this lock cannot leave a counter half-written.
        self.counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn secs_left(until: Instant, now: Instant) -> u64 {
    until.saturating_duration_since(now).as_secs_f64().ceil() as u64
}

#[async_trait]
impl Cache for LocalCache {
    fn backend(&self) -> &'static str {
        "in-process"
    }

    async fn ping(&self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.values.get(key).await.map(|(v, _)| v.as_ref().clone())
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        self.values
            .insert(key.to_owned(), (Arc::new(value), ttl))
            .await;
    }

    async fn delete(&self, key: &str) {
        self.values.invalidate(key).await;
    }

    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<(u64, u64)> {
        let now = Instant::now();
        let mut counters = self.counters();
        if counters.len() > 100_000 {
            counters.retain(|_, (_, until)| *until > now);
        }
        let entry = counters.entry(key.to_owned()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        Ok((entry.0, secs_left(entry.1, now)))
    }

    async fn decrement(&self, key: &str) -> anyhow::Result<()> {
        let now = Instant::now();
        if let Some((count, until)) = self.counters().get_mut(key)
            && *until > now
        {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }

    async fn reset(&self, key: &str) {
        self.counters().remove(key);
    }
}

/// Redis, shared by every process; every key is prefixed.
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisCache {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("parsing REDIS_URL")?;
        // Fail fast when Redis is away (reads fall through to the store,
        // limits count in process) rather than hold requests up.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .context("connecting to Redis")?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl Cache for RedisCache {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut conn = self.conn.clone();
        match conn.get::<_, Option<Vec<u8>>>(self.key(key)).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "redis GET failed; reading through");
                None
            }
        }
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let mut conn = self.conn.clone();
        let result: redis::RedisResult<()> = conn
            .set_ex(self.key(key), value, ttl.as_secs().max(1))
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "redis SET failed");
        }
    }

    async fn delete(&self, key: &str) {
        let mut conn = self.conn.clone();
        let result: redis::RedisResult<()> = conn.del(self.key(key)).await;
        if let Err(e) = result {
            // A stale entry would outlive its TTL only in this case: say so.
            tracing::error!(error = %e, key, "redis DEL failed; entry stays until its TTL");
        }
    }

    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<(u64, u64)> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let (count, _, ttl): (u64, i64, i64) = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(window.as_secs().max(1))
            .arg("NX")
            .ttl(&key)
            .query_async(&mut conn)
            .await?;
        Ok((count, ttl.max(1) as u64))
    }

    async fn decrement(&self, key: &str) -> anyhow::Result<()> {
        // Only a window that still exists: a DECR on an expired key would
        // leave a -1 that never expires.
        let script = redis::Script::new(
            "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0",
        );
        let mut conn = self.conn.clone();
        let _: i64 = script.key(self.key(key)).invoke_async(&mut conn).await?;
        Ok(())
    }

    async fn reset(&self, key: &str) {
        self.delete(key).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Only the direction a slow machine cannot break is timed: what must
    // still be there has a window of a minute; what must be gone was given
    // 50 ms and is looked at after 300 ms.
    #[tokio::test]
    async fn local_counters_count_within_a_window_and_reset() {
        let cache = LocalCache::new(100);
        let minute = Duration::from_secs(60);
        assert_eq!(cache.hit("k", minute).await.ok().map(|h| h.0), Some(1));
        assert_eq!(cache.hit("k", minute).await.ok().map(|h| h.0), Some(2));
        assert!(cache.decrement("k").await.is_ok());
        assert_eq!(cache.hit("k", minute).await.ok().map(|h| h.0), Some(2));
        cache.reset("k").await;
        assert_eq!(cache.hit("k", minute).await.ok().map(|h| h.0), Some(1));

        let short = Duration::from_millis(50);
        assert_eq!(cache.hit("s", short).await.ok().map(|h| h.0), Some(1));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(cache.hit("s", short).await.ok().map(|h| h.0), Some(1));
    }

    #[tokio::test]
    async fn local_values_expire() {
        let cache = LocalCache::new(100);
        cache
            .set("kept", b"1".to_vec(), Duration::from_secs(60))
            .await;
        cache
            .set("gone", b"2".to_vec(), Duration::from_millis(50))
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(cache.get("kept").await, Some(b"1".to_vec()));
        assert_eq!(cache.get("gone").await, None);
    }
}
