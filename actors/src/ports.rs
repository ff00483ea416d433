//! The engine's ports: what it needs from storage and from a payment
//! provider, as traits the root crate implements (PostgreSQL, SQLite; the
//! dev gateway, Stripe).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::{Booking, BookingStatus, Currency, DateRange, PaymentStatus};
use crate::ledger::{Parties, Posting};

/// What holds an unavailable range: a booking (or hold), or a host's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Block,
    Booking,
}

/// One active unavailable range of a property, as the calendar holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEntry {
    pub id: Uuid,
    pub range: DateRange,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBlock {
    pub id: Uuid,
    pub property_id: Uuid,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub reason: Option<String>,
}

/// A change of a booking's state, applied only if the booking is still in
/// one of `from` (so racing changes cannot both win).
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub booking_id: Uuid,
    pub from: Vec<BookingStatus>,
    pub to: BookingStatus,
    /// The new `expires_at` (`None` clears it).
    pub expires_at: Option<DateTime<Utc>>,
    pub payment_status: Option<PaymentStatus>,
    pub refund_amount: Option<i64>,
    /// Ledger transactions to post in the same database transaction, only
    /// if the change applies (each posts at most once, by its key).
    pub postings: Vec<Posting>,
    /// Gateway calls the change decides (the outbox), recorded in the same
    /// transaction, only if it applies; the PaymentsActor carries them out.
    pub jobs: Vec<NewPaymentJob>,
    /// What the change tells its users (notifications), written in the
    /// same transaction, only if it applies.
    pub notices: Vec<Notice>,
}

/// A notification for one user. At most one of each kind per user and
/// booking is kept: a change applied twice tells once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub user_id: Uuid,
    /// `booking_confirmed`, `booking_cancelled`, … (api.md).
    pub kind: &'static str,
    pub booking_id: Option<Uuid>,
    pub title: String,
    pub body: String,
}

/// A change to a property's calendar. The calendar actor checks it against
/// memory, then the store applies a batch of them in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum CalendarOp {
    /// A new booking (a hold), with the payment intent recorded beside it
    /// where the gateway lets us record it ourselves.
    InsertBooking(Box<Booking>, Option<Box<LocalIntent>>),
    InsertBlock(NewBlock),
    RemoveBlock {
        block_id: Uuid,
    },
    Transition(Transition),
}

#[derive(Debug, Clone, PartialEq)]
pub enum OpOutcome {
    /// Done; for bookings, the row as stored now.
    Applied(Option<Box<Booking>>),
    /// The range overlaps an active booking, hold or block.
    Overlap,
    /// The block or booking is not there, or not in a state it may leave.
    NotApplied,
}

/// A store call that failed. `unavailable` when the store could not be
/// reached at all (connection refused or lost, pool exhausted, statement
/// timed out): worth retrying soon, and a 503 rather than a 500.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("store: {message}")]
pub struct PortError {
    pub message: String,
    pub unavailable: bool,
}

impl PortError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: false,
        }
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: true,
        }
    }
}

#[async_trait]
pub trait CalendarStore: Send + Sync + 'static {
    /// The property's active ranges.
    async fn load_calendar(&self, property_id: Uuid) -> Result<Vec<CalendarEntry>, PortError>;

    /// Applies `ops` in order in one transaction, one outcome per op. An op
    /// that overlaps or does not apply changes nothing and does not abort
    /// the others; an `Err` means nothing was applied.
    async fn apply_calendar(
        &self,
        property_id: Uuid,
        ops: &[CalendarOp],
        now: DateTime<Utc>,
    ) -> Result<Vec<OpOutcome>, PortError>;

    /// The committer has nothing waiting: a store that keeps anything
    /// between back-to-back commits (SQLite's writer connection) gives it
    /// back.
    async fn idle(&self) {}

    /// Applies the batches of several properties in one transaction, each
    /// as [`Self::apply_calendar`] would, one list of outcomes per batch;
    /// an `Err` means nothing was applied. Without an override, one
    /// transaction per batch.
    async fn apply_calendars(
        &self,
        batches: &[PropertyOps<'_>],
    ) -> Result<Vec<Vec<OpOutcome>>, PortError> {
        let mut outcomes = Vec::with_capacity(batches.len());
        for batch in batches {
            outcomes.push(
                self.apply_calendar(batch.property_id, batch.ops, batch.now)
                    .await?,
            );
        }
        Ok(outcomes)
    }
}

/// [`CalendarStore::apply_calendar`] for a store that does all its work in
/// [`CalendarStore::apply_calendars`]: one batch, one transaction.
pub async fn apply_one<S: CalendarStore + ?Sized>(
    store: &S,
    property_id: Uuid,
    ops: &[CalendarOp],
    now: DateTime<Utc>,
) -> Result<Vec<OpOutcome>, PortError> {
    let batch = PropertyOps {
        property_id,
        ops,
        now,
    };
    let mut all = store.apply_calendars(std::slice::from_ref(&batch)).await?;
    all.pop().ok_or_else(|| PortError::new("no outcome"))
}

/// One property's batch of calendar changes, decided at `now`.
#[derive(Debug, Clone, Copy)]
pub struct PropertyOps<'a> {
    pub property_id: Uuid,
    pub ops: &'a [CalendarOp],
    pub now: DateTime<Utc>,
}

/// What a payment provider calls a payment for one booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    pub id: String,
    pub client_secret: Option<String>,
    pub status: PaymentStatus,
}

/// A payment intent we record ourselves, in the booking's own
/// transaction: the dev gateway's, which calls no one. (Stripe's intent is
/// created by a call outside any transaction, after the hold is stored.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalIntent {
    pub intent: PaymentIntent,
    pub request: CreateIntent,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateIntent {
    pub booking_id: Uuid,
    pub amount: i64,
    pub currency: Currency,
    /// Authorise now, capture when the host accepts (request to book).
    pub manual_capture: bool,
    /// Derived from the booking id: a retried create returns the same intent.
    pub idempotency_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Worth retrying: timeouts, 5xx, rate limits.
    #[error("payment provider unavailable: {0}")]
    Transient(String),
    /// Will not succeed on retry: declined, invalid request.
    #[error("payment refused: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    /// `stripe` or `dev`.
    fn provider(&self) -> &'static str;
    async fn create_intent(&self, request: &CreateIntent) -> Result<PaymentIntent, GatewayError>;
    async fn capture_intent(
        &self,
        intent_id: &str,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, GatewayError>;
    async fn cancel_intent(
        &self,
        intent_id: &str,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, GatewayError>;
    async fn refund(
        &self,
        intent_id: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<String, GatewayError>;

    /// Pays `amount` of the host's share out to the host (a Stripe
    /// Transfer to their connected account); returns the transfer id.
    async fn transfer(
        &self,
        host_id: Uuid,
        amount: i64,
        currency: Currency,
        idempotency_key: &str,
    ) -> Result<String, GatewayError>;
}

/// A gateway call the PaymentsActor carries out after the decision that
/// asked for it has committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentJobKind {
    /// Capture the authorised intent (request to book, on accept).
    Capture,
    /// Send `amount` back to the guest.
    Refund,
    /// Release the authorisation (or the unpaid intent).
    CancelIntent,
    /// Transfer `amount` to the host.
    Payout,
}

impl PaymentJobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Capture => "capture",
            Self::Refund => "refund",
            Self::CancelIntent => "cancel_intent",
            Self::Payout => "payout",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "capture" => Some(Self::Capture),
            "refund" => Some(Self::Refund),
            "cancel_intent" => Some(Self::CancelIntent),
            "payout" => Some(Self::Payout),
            _ => None,
        }
    }

    /// The job queue's kind for it: `payment.<kind>`.
    pub fn job_kind(self) -> &'static str {
        match self {
            Self::Capture => "payment.capture",
            Self::Refund => "payment.refund",
            Self::CancelIntent => "payment.cancel_intent",
            Self::Payout => "payment.payout",
        }
    }

    pub fn from_job_kind(kind: &str) -> Option<Self> {
        kind.strip_prefix("payment.").and_then(Self::parse)
    }

    pub const ALL: [Self; 4] = [
        Self::Capture,
        Self::Refund,
        Self::CancelIntent,
        Self::Payout,
    ];
}

/// A job to record; its key (`booking:<id>:<kind>`) makes it once per decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPaymentJob {
    pub kind: PaymentJobKind,
    pub booking_id: Uuid,
    pub amount: i64,
}

impl NewPaymentJob {
    pub fn new(kind: PaymentJobKind, booking_id: Uuid, amount: i64) -> Self {
        Self {
            kind,
            booking_id,
            amount,
        }
    }

    pub fn key(&self) -> String {
        format!("booking:{}:{}", self.booking_id, self.kind.as_str())
    }
}

/// A recorded job, as the actor runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentJob {
    pub id: Uuid,
    pub key: String,
    pub kind: PaymentJobKind,
    pub booking_id: Uuid,
    pub amount: i64,
    /// Attempts made before this one.
    pub attempts: i32,
    /// Who holds the job's lease for this attempt: only its outcome is
    /// recorded.
    pub holder: String,
    pub intent_id: Option<String>,
    pub host_id: Uuid,
    pub guest_id: Uuid,
    pub currency: Currency,
    /// The booking's total, to tell a full refund from a partial one.
    pub booking_total: i64,
}

impl PaymentJob {
    pub fn parties(&self) -> Parties {
        Parties {
            booking_id: self.booking_id,
            host_id: self.host_id,
            currency: self.currency,
        }
    }
}

/// What a job that went through means for the books and for its booking's
/// payment status, decided by the engine (`payments::effects`); the store
/// persists it in the transaction that marks the job done, only if that
/// transaction is the one that does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobEffects {
    pub posting: Option<Posting>,
    pub payment_status: Option<PaymentStatus>,
    /// Who is told (a refund sent, a payout sent).
    pub notice: Option<Notice>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Done: the gateway's id for it.
    Succeeded(String),
    /// Will not succeed: stop, and say so.
    Failed(String),
    /// Try again at `retry_at`.
    Retry {
        error: String,
        retry_at: DateTime<Utc>,
    },
}

/// The payments outbox's side of the job queue: payment jobs are jobs
/// (`payment.<kind>`), claimed by the queue's workers or, to run one at once
/// after its decision, leased by key here.
#[async_trait]
pub trait PaymentJobStore: Send + Sync + 'static {
    /// Leases the job recorded under `key` for `holder` until `lease_until`
    /// if it is not finished, no attempt holds it and it has attempts left,
    /// whatever its backoff says (to run it at once after the decision that
    /// recorded it, or when the user asks again). Times are the queue's
    /// (the system clock).
    async fn lease_payment_job(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<PaymentJob>, PortError>;
    /// The job `id`, as the worker that claimed it holds it; `None` if
    /// there is no such payment job.
    async fn payment_job(&self, id: Uuid) -> Result<Option<PaymentJob>, PortError>;
    /// Records the outcome if `job.holder` still holds the job: a success
    /// with `effects` in the same transaction (a refund sent, an intent
    /// released, a payout made); a retry queued at its time, or `dead` once
    /// out of attempts; a failure for good `dead` with its reason.
    /// `finished_at` is the service's time (what the sweep reconciles by).
    async fn finish_payment_job(
        &self,
        job: &PaymentJob,
        outcome: &JobOutcome,
        effects: &JobEffects,
        finished_at: DateTime<Utc>,
    ) -> Result<(), PortError>;
}
