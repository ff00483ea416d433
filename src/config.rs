//! Command line and environment configuration. Every setting is an
//! environment variable and also a flag of the subcommands that use it
//! (`innkeep seed --help` lists only what `seed` reads).

use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use innkeep_actors::DevClock;

use crate::store::StoreConfig;

#[derive(Debug, Parser)]
#[command(
    name = "innkeep",
    version,
    about = "A property-rental backend",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no subcommand, `innkeep` serves.
    #[command(flatten)]
    pub serve: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default), with the job workers in process
    /// unless `--no-workers`.
    Serve(Box<Config>),
    /// Run only the job workers (no HTTP): scale them apart from the web
    /// processes, several of each on one PostgreSQL.
    Worker(Box<Config>),
    /// Look at the job queue and replay dead jobs.
    Jobs {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Apply the database migrations and exit.
    Migrate(StoreArgs),
    /// Fill the database with a demo catalogue: hosts, guests, listings in
    /// 30 cities, blocks, bookings over the next year, past stays with
    /// their payouts and reviews.
    Seed {
        #[command(flatten)]
        store: StoreArgs,
        /// How many properties to create.
        #[arg(long, default_value_t = 50)]
        properties: u32,
    },
    /// Check the ledger: every transaction balances and each booking's
    /// money matches its state. Exits non-zero otherwise.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum JobsCommand {
    /// The newest jobs, with counts by status.
    List {
        /// Only jobs of this status: queued, running, done or dead.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Queue a dead job to run now, its attempts reset.
    Retry { id: uuid::Uuid },
    /// The dead jobs, newest first, with their last errors.
    Dead {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum LedgerCommand {
    /// Verify the whole ledger.
    Verify(StoreArgs),
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://innkeep.db";
pub const DEFAULT_DB_POOL: u32 = 16;

/// Where the database is: every subcommand takes these.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// `sqlite://path` (created if missing) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Database connections in the pool (SQLite: readers; there is one writer).
    #[arg(long, env = "INNKEEP_DB_POOL", default_value_t = DEFAULT_DB_POOL)]
    pub db_pool: u32,
}

impl Default for StoreArgs {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.into(),
            db_pool: DEFAULT_DB_POOL,
        }
    }
}

impl StoreArgs {
    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            database_url: self.database_url.clone(),
            connections: self.db_pool,
        }
    }
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_REDIS_PREFIX: &str = "innkeep:";
pub const DEFAULT_HOLD_MINUTES: u32 = 15;
pub const DEFAULT_STRIPE_TIMEOUT_SECS: u64 = 20;
pub const DEFAULT_CALENDAR_IDLE_SECS: u64 = 300;
pub const DEFAULT_MAX_HOLDS: u32 = 10;
pub const DEFAULT_BOOKINGS_PER_MINUTE: u64 = 120;
pub const DEFAULT_REGISTRATIONS_PER_HOUR: u64 = 1000;
pub const DEFAULT_JOB_LEASE_SECS: u64 = 60;
pub const DEFAULT_SMTP_FROM: &str = "innkeep <no-reply@innkeep.invalid>";

/// What `innkeep serve` reads.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "INNKEEP_BIND", default_value = DEFAULT_BIND)]
    pub bind: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Redis for cache and rate limits; in-process when unset.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix for every Redis key, so several deployments (or tests) can share one Redis.
    #[arg(long, env = "INNKEEP_REDIS_PREFIX", default_value = DEFAULT_REDIS_PREFIX)]
    pub redis_prefix: String,
    /// HMAC secret for access tokens. Generated and kept beside the SQLite
    /// file when unset; required with PostgreSQL.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Minutes an unpaid booking holds its dates.
    #[arg(long, env = "INNKEEP_HOLD_MINUTES", default_value_t = DEFAULT_HOLD_MINUTES)]
    pub hold_minutes: u32,
    /// `1` mounts the dev endpoints (clock, dev payment intents).
    #[arg(long, env = "INNKEEP_DEV", default_value = "0", value_parser = flag)]
    pub dev: bool,
    /// Real Stripe when set; the dev gateway otherwise.
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
    /// Another Stripe base URL (a local fake in tests).
    #[arg(long, env = "STRIPE_API_BASE")]
    pub stripe_api_base: Option<String>,
    /// `whsec_…`; webhooks answer 503 while unset.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,
    /// Seconds one Stripe API call may take before it counts as a timeout
    /// (the outbox then retries it with the same idempotency key).
    #[arg(long, env = "STRIPE_TIMEOUT_SECS", default_value_t = DEFAULT_STRIPE_TIMEOUT_SECS)]
    pub stripe_timeout_secs: u64,
    /// Seconds a property's calendar stays in memory unused.
    #[arg(long, env = "INNKEEP_CALENDAR_IDLE_SECS", default_value_t = DEFAULT_CALENDAR_IDLE_SECS)]
    pub calendar_idle_secs: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "INNKEEP_WORKERS")]
    pub workers: Option<usize>,
    /// Shared transactions the calendars' committer keeps in flight at once
    /// (default 2 on PostgreSQL, at most half of the pool; SQLite has one
    /// writer and always uses 1).
    #[arg(long, env = "INNKEEP_COMMITTERS")]
    pub committers: Option<usize>,
    /// Threads the property calendars' actors run on (default: one per
    /// core).
    #[arg(long, env = "INNKEEP_CALENDAR_THREADS")]
    pub calendar_threads: Option<usize>,
    /// Unpaid bookings (`pending_payment`) one user may hold at once.
    #[arg(long, env = "INNKEEP_MAX_HOLDS", default_value_t = DEFAULT_MAX_HOLDS)]
    pub max_holds: u32,
    /// Bookings one user may try to make per minute (0: no limit; a request
    /// refused because the dates are taken does not count).
    #[arg(long, env = "INNKEEP_BOOKINGS_PER_MINUTE", default_value_t = DEFAULT_BOOKINGS_PER_MINUTE)]
    pub bookings_per_minute: u64,
    /// Sign-ups per client address per hour (0: no limit).
    #[arg(long, env = "INNKEEP_REGISTRATIONS_PER_HOUR", default_value_t = DEFAULT_REGISTRATIONS_PER_HOUR)]
    pub registrations_per_hour: u64,
    /// Threads that hash and check passwords (default: two per core); each
    /// holds argon2's 19 MiB.
    #[arg(long, env = "INNKEEP_PASSWORD_THREADS")]
    pub password_threads: Option<usize>,
    /// Notification e-mail through this SMTP server
    /// (`smtp://user:pass@host:587`); unset: notifications in-app only.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of notification e-mail.
    #[arg(long, env = "INNKEEP_SMTP_FROM", default_value = DEFAULT_SMTP_FROM)]
    pub smtp_from: String,
    /// How long a worker's claim on a job lasts: a job whose worker died is
    /// run again this long after it was claimed.
    #[arg(long, env = "INNKEEP_JOB_LEASE_SECS", default_value_t = DEFAULT_JOB_LEASE_SECS)]
    pub job_lease_secs: u64,
    /// Fetch calendar feeds from loopback only, resolving no other name:
    /// for test and fuzzing runs, which must never reach the outside.
    #[arg(long, env = "INNKEEP_FETCH_LOOPBACK_ONLY", default_value = "0", value_parser = flag,
          num_args = 0..=1, default_missing_value = "1")]
    pub fetch_loopback_only: bool,
    /// Serve HTTP only: leave the job queue to `innkeep worker` processes.
    #[arg(long, env = "INNKEEP_NO_WORKERS", default_value = "0", value_parser = flag,
          num_args = 0..=1, default_missing_value = "1")]
    pub no_workers: bool,
    /// A clock the embedding program moves (the tests), instead of the
    /// system's; never set from the command line or the environment.
    #[arg(skip)]
    pub clock: Option<Arc<DevClock>>,
}

impl Default for Config {
    /// Every default, as `innkeep serve` has it with an empty environment;
    /// read nothing from the environment (tests start from this).
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND.into(),
            store: StoreArgs::default(),
            redis_url: None,
            redis_prefix: DEFAULT_REDIS_PREFIX.into(),
            jwt_secret: None,
            hold_minutes: DEFAULT_HOLD_MINUTES,
            dev: false,
            stripe_secret_key: None,
            stripe_api_base: None,
            stripe_webhook_secret: None,
            stripe_timeout_secs: DEFAULT_STRIPE_TIMEOUT_SECS,
            calendar_idle_secs: DEFAULT_CALENDAR_IDLE_SECS,
            workers: None,
            committers: None,
            calendar_threads: None,
            max_holds: DEFAULT_MAX_HOLDS,
            bookings_per_minute: DEFAULT_BOOKINGS_PER_MINUTE,
            registrations_per_hour: DEFAULT_REGISTRATIONS_PER_HOUR,
            password_threads: None,
            smtp_url: None,
            smtp_from: DEFAULT_SMTP_FROM.into(),
            job_lease_secs: DEFAULT_JOB_LEASE_SECS,
            fetch_loopback_only: false,
            no_workers: false,
            clock: None,
        }
    }
}

impl Config {
    pub fn is_postgres(&self) -> bool {
        crate::store::is_postgres(&self.store.database_url)
    }

    /// Settings that must not go together.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.dev && self.stripe_secret_key.is_some() {
            anyhow::bail!(
                "INNKEEP_DEV=1 with STRIPE_SECRET_KEY set: the dev endpoints (an \
                 unauthenticated clock that token expiry, refunds and payouts read) must \
                 never run beside real money; unset INNKEEP_DEV"
            );
        }
        Ok(())
    }

    /// Empty variables count as unset (`STRIPE_SECRET_KEY=` in a compose file).
    pub fn normalised(mut self) -> Self {
        for opt in [
            &mut self.redis_url,
            &mut self.jwt_secret,
            &mut self.stripe_secret_key,
            &mut self.stripe_api_base,
            &mut self.stripe_webhook_secret,
            &mut self.smtp_url,
        ] {
            if opt.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *opt = None;
            }
        }
        self
    }
}

/// A yes/no setting as clap's `BoolishValueParser` reads it, except that
/// an empty value is unset (off), like every other empty variable here.
fn flag(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "n" | "off" | "f" => Ok(false),
        "1" | "true" | "yes" | "y" | "on" | "t" => Ok(true),
        other => Err(format!(
            "`{other}`: expected 1 or 0 (true/false, yes/no, on/off)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn an_empty_flag_is_off() {
        assert_eq!(flag(""), Ok(false));
        assert_eq!(flag(" "), Ok(false));
        assert_eq!(flag("1"), Ok(true));
        assert_eq!(flag("Yes"), Ok(true));
        assert_eq!(flag("off"), Ok(false));
        assert!(flag("maybe").is_err());
    }

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dev_endpoints_never_run_beside_real_stripe() {
        let config = Config {
            dev: true,
            stripe_secret_key: Some("sk_live_x".into()),
            ..Config::default()
        };
        let refused = config.check().map_err(|e| e.to_string());
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("INNKEEP_DEV")),
            "{refused:?}"
        );
        assert!(Config::default().check().is_ok());
    }

    #[test]
    fn each_subcommand_shows_only_its_own_flags() {
        let mut cli = Cli::command();
        let seed = cli
            .find_subcommand_mut("seed")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        assert!(seed.contains("--properties") && seed.contains("--database-url"));
        for foreign in ["--bind", "--redis-url", "--jwt-secret", "--stripe"] {
            assert!(!seed.contains(foreign), "seed --help shows {foreign}");
        }
        let serve = Cli::command().render_long_help().to_string();
        assert!(serve.contains("--bind") && serve.contains("--redis-url"));
    }
}
