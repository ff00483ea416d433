//! Command line and environment configuration. Every setting is an
//! environment variable and also a flag, as api.md lists them.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "innkeep", version, about = "A property-rental backend")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Fill the database with realistic demo data.
    Seed {
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

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum LedgerCommand {
    /// Verify the whole ledger.
    Verify,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "INNKEEP_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// `sqlite://path` (created if missing) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://innkeep.db",
        global = true
    )]
    pub database_url: String,
    /// Redis for cache and rate limits; in-process when unset.
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Prefix for every Redis key, so several deployments (or tests) can share one Redis.
    #[arg(
        long,
        env = "INNKEEP_REDIS_PREFIX",
        default_value = "innkeep:",
        global = true
    )]
    pub redis_prefix: String,
    /// HMAC secret for access tokens. Generated and kept beside the SQLite
    /// file when unset; required with PostgreSQL.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// Minutes an unpaid booking holds its dates.
    #[arg(
        long,
        env = "INNKEEP_HOLD_MINUTES",
        default_value_t = 15,
        global = true
    )]
    pub hold_minutes: u32,
    /// `1` mounts the dev endpoints (clock, dev payment intents).
    #[arg(long, env = "INNKEEP_DEV", default_value = "0", value_parser = clap::builder::BoolishValueParser::new(), global = true)]
    pub dev: bool,
    /// Real Stripe when set; the dev gateway otherwise.
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true, global = true)]
    pub stripe_secret_key: Option<String>,
    /// Another Stripe base URL (a local fake in tests).
    #[arg(long, env = "STRIPE_API_BASE", global = true)]
    pub stripe_api_base: Option<String>,
    /// `whsec_…`; webhooks answer 503 while unset.
    #[arg(
        long,
        env = "STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub stripe_webhook_secret: Option<String>,
    /// Seconds one Stripe API call may take before it counts as a timeout
    /// (the outbox then retries it with the same idempotency key).
    #[arg(long, env = "STRIPE_TIMEOUT_SECS", default_value_t = 20, global = true)]
    pub stripe_timeout_secs: u64,
    /// Database connections in the pool.
    #[arg(long, env = "INNKEEP_DB_POOL", default_value_t = 16, global = true)]
    pub db_pool: u32,
    /// Seconds a property's calendar stays in memory unused.
    #[arg(
        long,
        env = "INNKEEP_CALENDAR_IDLE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub calendar_idle_secs: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "INNKEEP_WORKERS", global = true)]
    pub workers: Option<usize>,
}

impl Config {
    /// A configuration with every default, as `innkeep serve` with an empty
    /// environment would have it. Tests start from this.
    pub fn defaults() -> Self {
        Cli::parse_from(["innkeep"]).config
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres:") || self.database_url.starts_with("postgresql:")
    }

    /// Empty variables count as unset (`STRIPE_SECRET_KEY=` in a compose file).
    pub fn normalised(mut self) -> Self {
        for opt in [
            &mut self.redis_url,
            &mut self.jwt_secret,
            &mut self.stripe_secret_key,
            &mut self.stripe_api_base,
            &mut self.stripe_webhook_secret,
        ] {
            if opt.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *opt = None;
            }
        }
        self
    }
}
