//! Everything innkeep persists, behind traits split by who uses them, with
//! two real backends on sqlx: PostgreSQL (production) and SQLite (the
//! embedded default). Each service holds only the traits it needs:
//!
//! | trait | used by |
//! |---|---|
//! | `UserStore` | accounts, sign-in and refresh tokens (`auth`, `users`) |
//! | `PropertyStore` | listings and search (`properties`) |
//! | `CalendarStore` (engine port) | the calendar actors: holds, bookings, blocks, state changes |
//! | `BookingStore` | booking reads and payment records (`bookings`) |
//! | `SweepStore` | the time-driven work: lapsed holds, finished stays, payouts, reconciliation |
//! | `IdempotencyStore` | `Idempotency-Key` replays |
//! | `LedgerStore` | postings, balances, `ledger verify` |
//! | `WebhookEventStore` | Stripe event ids seen |
//! | `OutboxStore`, `PaymentJobStore` (engine port) | the payments outbox: payment jobs in the job queue |
//! | `DevGatewayStore` | the dev payment gateway's intents and refunds |
//! | `ReviewStore` | reviews, responses and the property's rating (`reviews`) |
//! | `SeedStore` | `innkeep seed`'s bulk writes |
//! | `JobStore` | the job queue: enqueue, claim with a lease, finish, operate (`jobs`) |
//! | `NotificationStore` | a user's notifications (`notifications`) |
//! | `ImportStore` | calendar imports and the blocks they own (`imports`) |
//! | `Store` | all of the above, plus migrations, health and change notices |
//!
//! Most SQL runs as written on both backends: each `*_sql.rs` file is one
//! macro that expands to a trait's implementation for one backend (a macro
//! rather than generics: sqlx's per-database bounds make generic code
//! unreadable while the SQL text really is the same). Each backend file
//! adds what its dialect does differently and its own migrations.

mod bookings;
mod bookings_sql;
mod calendar_sql;
mod columns;
mod dev_gateway;
mod dev_gateway_sql;
mod idempotency;
mod imports;
mod imports_sql;
mod jobs;
mod jobs_sql;
mod ledger;
mod ledger_sql;
mod notifications;
mod notifications_sql;
mod outbox;
mod payment_jobs_sql;
pub mod periodic_sql;
mod postgres;
mod properties;
mod properties_sql;
mod reviews;
mod reviews_sql;
mod seed;
mod seed_sql;
mod sqlite;
mod sweep;
mod users;
mod users_sql;

use std::sync::Arc;

use async_trait::async_trait;
use innkeep_actors::ports::{CalendarStore, PaymentJobStore, PortError};
use uuid::Uuid;

pub use bookings::{BookingQuery, BookingStore};
pub use dev_gateway::{DevGatewayStore, DevIntent};
pub use idempotency::{IdempotencyStart, IdempotencyStore};
pub use imports::{ImportStore, SyncCounts};
pub use jobs::JobStore;
pub use ledger::{BalanceRow, LedgerStore, WebhookEventStore};
pub use notifications::NotificationStore;
pub use outbox::{OutboxStore, PaymentJobRow};
pub use postgres::PgStore;
pub use properties::PropertyStore;
pub use reviews::ReviewStore;
pub use seed::{SeedBatch, SeedEntry, SeedStore};
pub use sqlite::SqliteStore;
pub use sweep::{DueWork, Retention, SweepCutoffs, SweepStore};
pub use users::{NewRefreshToken, NewUser, RotateOutcome, UserStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Two active calendar ranges of one property would overlap.
    #[error("dates overlap an existing booking or block")]
    Overlap,
    /// A uniqueness or state rule said no; the text is safe to show.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached right now.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Whether `err` means the database could not be reached or answer in
/// time (rather than a refusal of this statement): a 503, retried soon.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // Connection exceptions (08…), the server shutting down or not
        // ready (57P01-57P03), a statement cancelled by its timeout (57014).
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "57014")
        }),
        _ => false,
    }
}

/// A sqlx error as the engine's ports see it.
pub fn port_error(err: sqlx::Error) -> PortError {
    if is_unavailable(&err) {
        PortError::unavailable(err.to_string())
    } else {
        PortError::new(err.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(db) = err.as_database_error()
            && matches!(db.kind(), sqlx::error::ErrorKind::ExclusionViolation)
        {
            return Self::Overlap;
        }
        if is_unavailable(&err) {
            return Self::Unavailable(err.to_string());
        }
        Self::Other(err.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Called with a property id when another process changed its calendar.
pub type ChangeListener = Arc<dyn Fn(Uuid) + Send + Sync>;

/// The whole store, as start-up and operators see it.
#[async_trait]
pub trait Store:
    UserStore
    + PropertyStore
    + CalendarStore
    + BookingStore
    + SweepStore
    + IdempotencyStore
    + LedgerStore
    + WebhookEventStore
    + OutboxStore
    + PaymentJobStore
    + DevGatewayStore
    + ReviewStore
    + SeedStore
    + JobStore
    + NotificationStore
    + ImportStore
{
    /// `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> anyhow::Result<()>;
    async fn ping(&self) -> anyhow::Result<()>;
    /// Gives back what a quiet process keeps only for speed: SQLite's
    /// writer drops its page cache (64 MiB when full; refilled from the
    /// OS's file cache on the next writes); PostgreSQL keeps nothing.
    async fn release_memory(&self) -> anyhow::Result<()>;
    /// Starts telling `listener` about calendar changes made by other
    /// processes (PostgreSQL LISTEN/NOTIFY); SQLite is single-process.
    async fn watch_calendars(&self, listener: ChangeListener) -> anyhow::Result<()>;
}

/// Where the store is and how many connections it may use.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub database_url: String,
    pub connections: u32,
}

impl StoreConfig {
    pub fn is_postgres(&self) -> bool {
        is_postgres(&self.database_url)
    }
}

pub fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres:") || database_url.starts_with("postgresql:")
}

/// Opens the store that the URL names (migrations are the caller's:
/// `Store::migrate`).
pub async fn connect(config: &StoreConfig) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if config.is_postgres() {
        Arc::new(PgStore::connect(&config.database_url, config.connections).await?)
    } else {
        Arc::new(SqliteStore::connect(&config.database_url, config.connections).await?)
    };
    Ok(store)
}
