//! What every request handler shares: the store, the cache, the token keys,
//! the clock, the configuration and the metrics.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr};
use anyhow::{Context, bail};
use innkeep_actors::ports::{PaymentGateway, PaymentJobStore};
use innkeep_actors::{CalendarRegistry, Clock, DevClock, PaymentsActor, SystemClock};

use crate::auth::TokenService;
use crate::cache::{Cache, FailureLimiter, LocalCache, RedisCache};
use crate::config::Config;
use crate::http::metrics::Metrics;
use crate::payments::dev::DevGateway;
use crate::payments::stripe::StripeGateway;
use crate::properties::Property;
use crate::store::Store;
use uuid::Uuid;

pub struct AppState {
    pub store: Arc<dyn Store>,
    /// One calendar actor per property in use.
    pub calendars: Arc<CalendarRegistry>,
    /// The dev gateway (Stripe comes with the payments slice).
    pub payments: Arc<dyn PaymentGateway>,
    /// The same gateway when it is the dev one, for its dev-only controls.
    pub dev_gateway: Option<Arc<DevGateway>>,
    /// Carries out the payments outbox (refunds, releases, payouts).
    pub payments_actor: Addr<PaymentsActor>,
    pub cache: Arc<dyn Cache>,
    /// Properties as the booking path reads them (price, rules, host), kept
    /// in this process: booking and availability requests make no store
    /// round trip for them. Dropped on change here, on other processes'
    /// changes (PostgreSQL NOTIFY), and after a minute whatever happens.
    pub properties: moka::sync::Cache<Uuid, Arc<Property>>,
    pub limits: FailureLimiter,
    pub tokens: TokenService,
    pub clock: Arc<dyn Clock>,
    /// Set only with `INNKEEP_DEV=1`: the clock `PUT /dev/clock` moves.
    pub dev_clock: Option<Arc<DevClock>>,
    pub config: Config,
    pub metrics: Metrics,
}

/// How long a property stays in [`AppState::properties`] at most.
pub const PROPERTY_TTL: Duration = Duration::from_secs(60);

/// Failed logins allowed per e-mail per window before 429.
pub const LOGIN_MAX_FAILURES: u64 = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

impl AppState {
    pub async fn build(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let cache: Arc<dyn Cache> = match &config.redis_url {
            Some(url) => Arc::new(RedisCache::connect(url, &config.redis_prefix).await?),
            None => Arc::new(LocalCache::new(100_000)),
        };
        let (clock, dev_clock): (Arc<dyn Clock>, _) = if config.dev {
            let dev = Arc::new(DevClock::new());
            (dev.clone(), Some(dev))
        } else {
            (Arc::new(SystemClock), None)
        };
        let secret = jwt_secret(&config)?;
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let calendars = CalendarRegistry::new(
            store.clone(),
            clock.clone(),
            Duration::from_secs(config.calendar_idle_secs.max(1)),
            threads,
        );
        let (payments, dev): (Arc<dyn PaymentGateway>, _) = match &config.stripe_secret_key {
            Some(secret) => (
                Arc::new(StripeGateway::new(
                    secret,
                    config.stripe_api_base.as_deref(),
                    Duration::from_secs(config.stripe_timeout_secs.max(1)),
                )?),
                None,
            ),
            None => {
                let dev = Arc::new(DevGateway::new(store.clone(), clock.clone()));
                (dev.clone(), Some(dev))
            }
        };
        let jobs: Arc<dyn PaymentJobStore> = store.clone();
        let payments_actor = PaymentsActor::new(jobs, payments.clone(), clock.clone()).start();
        Ok(Self {
            calendars,
            payments,
            dev_gateway: dev,
            payments_actor,
            store,
            limits: FailureLimiter::new(cache.clone(), LOGIN_MAX_FAILURES, LOGIN_WINDOW),
            cache,
            properties: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(PROPERTY_TTL)
                .build(),
            tokens: TokenService::new(secret.as_bytes()),
            clock,
            dev_clock,
            metrics: Metrics::new()?,
            config,
        })
    }
}

/// `JWT_SECRET`, or for SQLite a secret generated once and kept beside the
/// database file (so tokens survive restarts); PostgreSQL deployments must
/// set it, since several processes have to share it.
fn jwt_secret(config: &Config) -> anyhow::Result<String> {
    if let Some(secret) = &config.jwt_secret {
        if secret.len() < 32 {
            bail!("JWT_SECRET must be at least 32 characters");
        }
        return Ok(secret.clone());
    }
    if config.is_postgres() {
        bail!("JWT_SECRET is required with PostgreSQL (at least 32 random characters)");
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&config.database_url)?;
    let db_file = options.get_filename();
    if db_file.as_os_str() == ":memory:" {
        return Ok(crate::auth::tokens::generate_secret());
    }
    let mut path = PathBuf::from(db_file);
    path.set_extension("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    let secret = crate::auth::tokens::generate_secret();
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a JWT secret for this SQLite database");
    Ok(secret)
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}
