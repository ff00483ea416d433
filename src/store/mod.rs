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

mod bookings_sql;
mod calendar_sql;
mod columns;
mod dev_gateway_sql;
mod imports_sql;
mod jobs_sql;
mod ledger_sql;
mod notifications_sql;
mod payment_jobs_sql;
pub mod periodic_sql;
mod postgres;
mod properties_sql;
mod reviews_sql;
mod seed_sql;
mod sqlite;
mod users_sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::{Booking, BookingStatus, PaymentStatus};
use innkeep_actors::ledger::{Posting, StoredTransaction};
use innkeep_actors::ports::{
    CalendarStore, LocalIntent, NewPaymentJob, PaymentIntent, PaymentJobKind, PaymentJobStore,
    PortError,
};
use uuid::Uuid;

use crate::imports::{CalendarImport, Span};
use crate::jobs::{Job, JobCounts, JobStatus, NewJob};
use crate::notifications::{Notification, ReadWhich};
use crate::properties::{Property, PropertyQuery};
use crate::reviews::{NewReview, Review};
use crate::users::{Email, Name, ProfilePatch, User};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

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

pub struct NewUser {
    pub id: Uuid,
    pub email: Email,
    pub name: Name,
    pub password_hash: String,
    pub now: DateTime<Utc>,
}

pub struct NewRefreshToken {
    pub token_hash: Vec<u8>,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated {
        user_id: Uuid,
        family_id: Uuid,
    },
    /// The token had been used already: its family is now revoked.
    Reused {
        family_id: Uuid,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Accounts and their refresh tokens.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The users among `ids` that exist, in one query (at most 100 ids).
    async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<User>>;
    /// The id and password hash of the account with this e-mail.
    async fn credentials_by_email(&self, email: &Email) -> StoreResult<Option<(Uuid, String)>>;
    async fn update_user(
        &self,
        id: Uuid,
        patch: &ProfilePatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;

    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> StoreResult<()>;
    /// Marks the presented token used and stores its successor in the same
    /// family, atomically; a second use of one token revokes the family.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        now: DateTime<Utc>,
        next_hash: &[u8],
        next_expires_at: DateTime<Utc>,
    ) -> StoreResult<RotateOutcome>;
    async fn revoke_refresh_family(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
}

/// Listings and their search.
#[async_trait]
pub trait PropertyStore: Send + Sync + 'static {
    async fn insert_property(&self, property: &Property) -> StoreResult<()>;
    async fn property(&self, id: Uuid) -> StoreResult<Option<Property>>;
    /// The properties among `ids` that exist, in one query (at most 100 ids).
    async fn properties_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Property>>;
    async fn update_property(&self, property: &Property) -> StoreResult<()>;
    /// Unlists the property unless an active booking ends after `today`.
    async fn unlist_property(
        &self,
        id: Uuid,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// One page (`query.limit + 1` rows, so the caller knows if there is more).
    async fn search_properties(&self, query: &PropertyQuery) -> StoreResult<Vec<Property>>;
    /// Tells other processes that a property changed (its price, rules or
    /// listing), so they drop what they cached of it; the same channel as
    /// calendar changes. A no-op on SQLite.
    async fn announce_property_change(&self, id: Uuid) -> anyhow::Result<()>;
}

/// A page of one user's bookings, as guest or as host.
#[derive(Debug, Clone)]
pub struct BookingQuery {
    pub user_id: Uuid,
    pub as_host: bool,
    pub status: Option<BookingStatus>,
    /// Bookings with ids below this (the last one of the previous page).
    pub cursor: Option<Uuid>,
    pub limit: u32,
}

/// Booking reads and the payment record of a booking. State changes go
/// through the calendar (`CalendarStore::apply_calendar`).
#[async_trait]
pub trait BookingStore: Send + Sync + 'static {
    async fn booking(&self, id: Uuid) -> StoreResult<Option<Booking>>;
    async fn booking_by_intent(&self, intent_id: &str) -> StoreResult<Option<Booking>>;
    /// `limit + 1` rows, newest first.
    async fn list_bookings(&self, query: &BookingQuery) -> StoreResult<Vec<Booking>>;
    async fn set_payment(&self, booking_id: Uuid, intent: &PaymentIntent) -> StoreResult<()>;
    async fn set_payment_status(&self, booking_id: Uuid, status: PaymentStatus) -> StoreResult<()>;
    /// How many unpaid holds (`pending_payment`) the guest has now.
    async fn pending_holds(&self, guest_id: Uuid) -> StoreResult<i64>;
}

/// What the time-driven sweep looks for.
#[async_trait]
pub trait SweepStore: Send + Sync + 'static {
    /// Unpaid holds and unanswered requests to book whose time is up:
    /// (booking id, property id).
    async fn due_holds(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Unpaid holds made before `created_before` that never recorded their
    /// payment intent (the process stopped between creating and recording it).
    async fn holds_without_intent(
        &self,
        created_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Uuid>>;
    /// Confirmed stays checked out by `today`: (booking id, property id).
    async fn finished_stays(&self, today: NaiveDate, limit: u32) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Stays checked in by `checked_in_by` whose host is owed a payout not
    /// yet decided (`payout_due`, set when the capture is posted).
    async fn payouts_due(&self, checked_in_by: NaiveDate, limit: u32) -> StoreResult<Vec<Booking>>;
    /// The booking owes its host nothing more (nothing left to pay out).
    async fn payout_settled(&self, booking_id: Uuid) -> StoreResult<()>;
    /// Confirmed stays that check in on `day` whose guest has no check-in
    /// reminder yet: (booking, guest).
    async fn checkins_to_remind(
        &self,
        day: NaiveDate,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Records check-in reminders (one per booking) and that their
    /// bookings were reminded; how many were new.
    async fn record_reminders(
        &self,
        notices: &[innkeep_actors::ports::Notice],
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Intents whose capture job succeeded after `done_after` but whose
    /// booking has no capture in the ledger (the acceptance never recorded)
    /// and that were not reconciled since.
    async fn captures_unposted(
        &self,
        done_after: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<String>>;
    /// The capture of this intent was reconciled: not looked at again.
    async fn capture_settled(&self, intent_id: &str) -> StoreResult<()>;
    /// Forgets what is kept only for a while: idempotency keys made before
    /// `cutoffs.idempotency_keys`, refresh tokens expired before
    /// `cutoffs.refresh_tokens`, webhook event ids received before
    /// `cutoffs.webhook_events`, finished jobs before `cutoffs.jobs`; at
    /// most `batch` rows of each. Returns how many rows went.
    async fn prune(&self, cutoffs: &Retention, batch: u32) -> StoreResult<u64>;
}

/// A user's notifications (`crate::notifications`); they are written by
/// the booking changes themselves (`CalendarStore`).
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Newest first, before the id `before`, only unread ones if asked.
    async fn notifications(
        &self,
        user_id: Uuid,
        unread: bool,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;
    /// Claims up to `limit` notifications created after `since` and not
    /// e-mailed yet (nor claimed by another sender) until `lease_until`,
    /// each with its user's address and name.
    async fn claim_unsent_emails(
        &self,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(Notification, String, String)>>;
    /// Records that the notification's e-mail went out.
    async fn mark_emailed(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Marks the user's unread ones among `which` read at `now`; how many.
    async fn mark_notifications_read(
        &self,
        user_id: Uuid,
        which: &ReadWhich,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
}

/// What a good sync of a calendar import read from its feed.
#[derive(Debug, Clone, Copy)]
pub struct SyncCounts<'a> {
    pub events: i32,
    pub skipped: i32,
    pub warnings: &'a [String],
}

/// Calendar imports (`crate::imports`); their blocks are written through
/// the calendar actors like any other.
#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    async fn insert_import(&self, import: &CalendarImport) -> StoreResult<()>;
    async fn import(&self, id: Uuid) -> StoreResult<Option<CalendarImport>>;
    async fn imports_of(&self, property_id: Uuid) -> StoreResult<Vec<CalendarImport>>;
    /// Claims up to `limit` imports whose next sync is due by `now`
    /// (calendar_imports_due_idx), soonest first, moving it to `until` so
    /// that no other pass takes them meanwhile.
    async fn claim_due_imports(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<CalendarImport>>;
    /// Records a good sync (`ok`): its conflicts, and the events it read,
    /// skipped and warned of.
    async fn record_sync(
        &self,
        id: Uuid,
        conflicts: &[Span],
        read: SyncCounts<'_>,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records a sync that failed with `error`; what the last good one
    /// found stays. The next sync is due at `next`.
    async fn record_failure(
        &self,
        id: Uuid,
        error: &str,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn delete_import(&self, id: Uuid) -> StoreResult<()>;
    /// The active blocks of a property with this reason: (id, start, end).
    async fn import_blocks(
        &self,
        property_id: Uuid,
        reason: &str,
    ) -> StoreResult<Vec<(Uuid, NaiveDate, NaiveDate)>>;
}

/// The job queue (`crate::jobs`).
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Records `job` unless its key exists; whether it was new.
    async fn enqueue(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Records many at once (multi-row statements); how many were new.
    async fn enqueue_many(&self, jobs: &[NewJob], now: DateTime<Utc>) -> StoreResult<u64>;
    /// Claims up to `limit` due jobs for `worker` until `lease_until`
    /// (status `running`, one more attempt), oldest due first, skipping
    /// jobs another worker is claiming. A job whose lease lapsed with no
    /// attempts left is `dead` instead.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Job>>;
    /// Marks these jobs done, if `worker` still holds them; how many.
    async fn complete_jobs(
        &self,
        worker: &str,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Records a failed attempt, if `worker` still holds the job: queued
    /// again at `retry_at`, or `dead` with `None` or no attempts left.
    async fn fail_job(
        &self,
        worker: &str,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<JobStatus>>;
    /// Records the failed pass of a periodic job, if `worker` still holds
    /// it: `done` with its error, never `dead` nor retried (the next
    /// period's job does the same work).
    async fn end_failed_pass(
        &self,
        worker: &str,
        id: Uuid,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Jobs, newest first, of one status or all.
    async fn jobs(&self, status: Option<JobStatus>, limit: u32) -> StoreResult<Vec<Job>>;
    async fn job(&self, id: Uuid) -> StoreResult<Option<Job>>;
    /// Queues a dead (or waiting) job to run now, its attempts reset;
    /// whether it was dead or queued.
    async fn retry_job(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn job_counts(&self) -> StoreResult<JobCounts>;
    /// The counts of queued, running and dead jobs only (`done` is 0):
    /// what a metrics scrape asks, read from the partial indexes rather
    /// than every finished job.
    async fn job_backlog(&self) -> StoreResult<JobCounts>;
}

/// The instants before which kept records are forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub idempotency_keys: DateTime<Utc>,
    pub refresh_tokens: DateTime<Utc>,
    pub webhook_events: DateTime<Utc>,
    /// Finished jobs (done, but for payment jobs, a booking's record of
    /// money moved; and dead periodic ones: the next period redid their
    /// work).
    pub jobs: DateTime<Utc>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First use of the key: do the work, then `idempotency_finish`.
    Claimed,
    /// Done before: answer this.
    Replay { status: u16, body: Vec<u8> },
    /// The first request with this key is still running.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

/// `Idempotency-Key`: the first response to (user, key), kept for replay.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    async fn idempotency_begin(
        &self,
        user_id: Uuid,
        key: &str,
        request_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<IdempotencyStart>;
    async fn idempotency_finish(
        &self,
        user_id: Uuid,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()>;
    /// Frees a claimed key whose request failed inside, so a retry can run.
    async fn idempotency_abandon(&self, user_id: Uuid, key: &str) -> StoreResult<()>;
}

/// One sum of a host's payable account: by currency, payout or not, and
/// whether the stay has begun (`due`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceRow {
    pub currency: String,
    pub payout: bool,
    pub due: bool,
    pub amount: i64,
}

/// The ledger (append only).
#[async_trait]
pub trait LedgerStore: Send + Sync + 'static {
    /// Posts one balanced transaction unless its key was posted; `true` if new.
    async fn post(&self, posting: &Posting, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Sums of the host's payable account; `due` when check-in ≤ `payable_from`.
    async fn host_balance_rows(
        &self,
        host_id: Uuid,
        payable_from: NaiveDate,
    ) -> StoreResult<Vec<BalanceRow>>;
    /// Every booking that has or should have money in the ledger, and every
    /// ledger transaction, read in one snapshot.
    async fn ledger_snapshot(&self) -> StoreResult<(Vec<Booking>, Vec<StoredTransaction>)>;
}

/// The Stripe events handled, by id.
#[async_trait]
pub trait WebhookEventStore: Send + Sync + 'static {
    async fn webhook_event_seen(&self, id: &str) -> StoreResult<bool>;
    /// Records a handled event id; `false` if it was recorded before.
    async fn record_webhook_event(
        &self,
        id: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// One payment job of a booking, as the service layer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentJobRow {
    pub kind: PaymentJobKind,
    pub amount: i64,
    pub attempts: i32,
    pub status: JobStatus,
    /// The gateway's id for what a done job did.
    pub result: Option<String>,
    pub last_error: Option<String>,
}

impl PaymentJobRow {
    pub fn succeeded(&self) -> bool {
        self.status == JobStatus::Done
    }

    /// Failed for good, or out of attempts (until an operator replays it).
    pub fn failed(&self) -> bool {
        self.status == JobStatus::Dead
    }
}

/// The payments outbox as the service layer uses it (the PaymentsActor's
/// side is the engine's `PaymentJobStore`).
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Records a job on its own (for decisions not tied to a booking's
    /// state change); `false` if its key exists.
    async fn enqueue_payment_job(&self, job: &NewPaymentJob) -> StoreResult<bool>;
    async fn payment_jobs_of(&self, booking_id: Uuid) -> StoreResult<Vec<PaymentJobRow>>;
}

/// A payment intent of the dev gateway.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DevIntent {
    pub id: String,
    pub idempotency_key: String,
    pub booking_id: Uuid,
    pub amount: i64,
    pub currency: String,
    /// `automatic` or `manual`.
    pub capture_method: String,
    #[sqlx(try_from = "String")]
    pub status: PaymentStatus,
    pub amount_refunded: i64,
    pub created_at: DateTime<Utc>,
}

impl From<&LocalIntent> for DevIntent {
    fn from(local: &LocalIntent) -> Self {
        let request = &local.request;
        Self {
            id: local.intent.id.clone(),
            idempotency_key: request.idempotency_key.clone(),
            booking_id: request.booking_id,
            amount: request.amount,
            currency: request.currency.to_string(),
            capture_method: if request.manual_capture {
                "manual"
            } else {
                "automatic"
            }
            .into(),
            status: local.intent.status,
            amount_refunded: 0,
            created_at: local.created_at,
        }
    }
}

/// The dev gateway's records: intents and refunds, kept by idempotency key
/// as Stripe keeps them.
#[async_trait]
pub trait DevGatewayStore: Send + Sync + 'static {
    /// Inserts the intent unless its idempotency key exists; returns the stored one.
    async fn dev_intent_create(&self, intent: &DevIntent) -> StoreResult<DevIntent>;
    async fn dev_intent(&self, id: &str) -> StoreResult<Option<DevIntent>>;
    /// Moves the intent to `to` if it is in one of `from` (at most three;
    /// refunds are `dev_refund`'s).
    async fn dev_intent_update(
        &self,
        id: &str,
        from: &[PaymentStatus],
        to: PaymentStatus,
    ) -> StoreResult<bool>;
    /// Refunds `amount` of a succeeded dev intent once per `key`; the
    /// refund id, or `None` if the intent cannot be refunded that much.
    async fn dev_refund(
        &self,
        intent_id: &str,
        amount: i64,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>>;
}

/// Reviews and responses.
#[async_trait]
pub trait ReviewStore: Send + Sync + 'static {
    /// Writes the review and, for a guest's review of a stay, adds it to
    /// the property's rating, in one transaction. A second review of one
    /// side of one booking is `Conflict`.
    async fn insert_review(&self, review: &NewReview) -> StoreResult<Review>;
    async fn review(&self, id: Uuid) -> StoreResult<Option<Review>>;
    /// Sets the host's answer unless it has one; `None` if it had.
    async fn respond_to_review(
        &self,
        id: Uuid,
        comment: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Review>>;
    /// Guests' reviews of a property, newest first: `limit + 1` rows with
    /// ids below `before`.
    async fn property_reviews(
        &self,
        property_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Review>>;
    /// What hosts wrote about a guest, newest first, the same way.
    async fn guest_reviews(
        &self,
        guest_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Review>>;
    /// The newest `per_property` guests' reviews of each of `properties`,
    /// in one query (GraphQL's batched `property.reviews`).
    async fn latest_reviews(
        &self,
        properties: &[Uuid],
        per_property: u32,
    ) -> StoreResult<Vec<Review>>;
}

/// An unavailable range to seed.
pub struct SeedEntry {
    pub id: Uuid,
    pub property_id: Uuid,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// `booking` (same id as its booking) or `block`.
    pub kind: &'static str,
    pub reason: Option<&'static str>,
    pub created_at: DateTime<Utc>,
}

/// One batch of demo data, written in one transaction.
#[derive(Default)]
pub struct SeedBatch {
    pub users: Vec<NewUser>,
    pub properties: Vec<Property>,
    pub entries: Vec<SeedEntry>,
    pub bookings: Vec<Booking>,
    /// Ledger transactions: id, posting, when.
    pub postings: Vec<(Uuid, Posting, DateTime<Utc>)>,
    /// Payouts already made: booking, amount, when.
    pub payouts: Vec<(Uuid, i64, DateTime<Utc>)>,
    pub reviews: Vec<NewReview>,
}

/// `innkeep seed`'s bulk writes: many rows a statement.
#[async_trait]
pub trait SeedStore: Send + Sync + 'static {
    async fn insert_seed_batch(&self, batch: &SeedBatch) -> StoreResult<()>;
}

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
