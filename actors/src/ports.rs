//! The engine's ports: what it needs from storage and from a payment
//! provider, as traits the root crate implements (PostgreSQL, SQLite; the
//! dev gateway, Stripe).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::{Booking, BookingStatus, Currency, DateRange};
use crate::ledger::Posting;

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
    pub payment_status: Option<String>,
    pub refund_amount: Option<i64>,
    /// Ledger transactions to post in the same database transaction, only
    /// if the change applies (each posts at most once, by its key).
    pub postings: Vec<Posting>,
}

/// A change to a property's calendar. The calendar actor checks it against
/// memory, then the store applies a batch of them in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum CalendarOp {
    InsertBooking(Box<Booking>),
    InsertBlock(NewBlock),
    RemoveBlock { block_id: Uuid },
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

#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct PortError(pub String);

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
}

/// What a payment provider calls a payment for one booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    pub id: String,
    pub client_secret: Option<String>,
    pub status: String,
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
}
