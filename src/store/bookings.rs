//! Booking reads and payment records (`bookings`).

use async_trait::async_trait;
use innkeep_actors::domain::{Booking, BookingStatus, PaymentStatus};
use innkeep_actors::ports::PaymentIntent;
use uuid::Uuid;

use super::StoreResult;

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
