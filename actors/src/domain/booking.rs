//! A booking and its states.
//!
//! `pending_payment` (dates held until `expires_at`) → `confirmed` (instant
//! book) or `awaiting_host` (request to book; payment authorised, captured
//! on accept) → `completed` after check-out. Side exits: `expired`,
//! `cancelled`, `declined`, `payment_failed`. Only `pending_payment`,
//! `awaiting_host` and `confirmed` hold dates.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::dates::DateRange;
use super::money::Currency;
use super::payment::PaymentStatus;
use super::policy::CancellationPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    PendingPayment,
    AwaitingHost,
    Confirmed,
    Completed,
    Expired,
    Cancelled,
    Declined,
    PaymentFailed,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 8] = [
        Self::PendingPayment,
        Self::AwaitingHost,
        Self::Confirmed,
        Self::Completed,
        Self::Expired,
        Self::Cancelled,
        Self::Declined,
        Self::PaymentFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::AwaitingHost => "awaiting_host",
            Self::Confirmed => "confirmed",
            Self::Completed => "completed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Declined => "declined",
            Self::PaymentFailed => "payment_failed",
        }
    }

    /// Whether a booking in this state keeps its nights unavailable.
    pub fn holds_dates(self) -> bool {
        matches!(
            self,
            Self::PendingPayment | Self::AwaitingHost | Self::Confirmed
        )
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown booking status")]
pub struct UnknownStatus;

impl FromStr for BookingStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(UnknownStatus)
    }
}

impl TryFrom<String> for BookingStatus {
    type Error = UnknownStatus;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// A booking as stored. Prices are fixed when it is made: a later change of
/// the property's price does not touch it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Booking {
    pub id: Uuid,
    pub property_id: Uuid,
    pub guest_id: Uuid,
    pub host_id: Uuid,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub guests: i32,
    #[sqlx(try_from = "String")]
    pub status: BookingStatus,
    pub nights: i32,
    pub subtotal: i64,
    pub cleaning_fee: i64,
    pub service_fee: i64,
    pub total: i64,
    pub host_payout: i64,
    #[sqlx(try_from = "String")]
    pub currency: Currency,
    pub instant_book: bool,
    #[sqlx(try_from = "String")]
    pub cancellation_policy: CancellationPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When an unpaid hold lapses; `None` once paid.
    pub expires_at: Option<DateTime<Utc>>,
    pub payment_provider: String,
    pub payment_intent_id: Option<String>,
    pub payment_client_secret: Option<String>,
    #[sqlx(try_from = "String")]
    pub payment_status: PaymentStatus,
    pub refund_amount: Option<i64>,
}

impl Booking {
    pub fn range(&self) -> DateRange {
        DateRange {
            start: self.check_in,
            end: self.check_out,
        }
    }
}
