//! Bookings: holding dates through the property's calendar actor, the
//! booking lifecycle (pay, accept, decline, cancel, expire, complete), what
//! payment events do to a booking (`events`) and the background sweep that
//! moves time-driven states (`sweep`).

pub mod events;
mod holds;
pub mod http;
pub mod service;
pub mod sweep;

pub use service::BookingService;

use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::{Booking, CalendarDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /bookings` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBooking {
    pub property_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub check_in: CalendarDate,
    /// Exclusive: the guest leaves that morning.
    #[schema(value_type = String, format = Date)]
    pub check_out: CalendarDate,
    pub guests: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// `stripe` or `dev`.
    pub provider: String,
    pub payment_intent_id: Option<String>,
    /// For the guest only (Stripe.js confirms the payment with it).
    pub client_secret: Option<String>,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    pub amount: i64,
    pub currency: String,
}

/// A booking as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    pub id: Uuid,
    pub property_id: Uuid,
    pub guest_id: Uuid,
    pub host_id: Uuid,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub guests: i32,
    /// `pending_payment`, `awaiting_host`, `confirmed`, `completed`,
    /// `expired`, `cancelled`, `declined` or `payment_failed`.
    pub status: String,
    pub nights: i32,
    pub subtotal: i64,
    pub cleaning_fee: i64,
    pub service_fee: i64,
    pub total: i64,
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub payment: PaymentView,
    pub refund: Option<RefundView>,
}

impl BookingView {
    /// The booking as `viewer` (its guest or host) may see it.
    pub fn of(b: &Booking, viewer: Uuid) -> Self {
        Self {
            id: b.id,
            property_id: b.property_id,
            guest_id: b.guest_id,
            host_id: b.host_id,
            check_in: b.check_in,
            check_out: b.check_out,
            guests: b.guests,
            status: b.status.as_str().to_owned(),
            nights: b.nights,
            subtotal: b.subtotal,
            cleaning_fee: b.cleaning_fee,
            service_fee: b.service_fee,
            total: b.total,
            currency: b.currency.to_string(),
            created_at: b.created_at,
            expires_at: b.expires_at,
            payment: PaymentView {
                provider: b.payment_provider.clone(),
                payment_intent_id: b.payment_intent_id.clone(),
                client_secret: b
                    .payment_client_secret
                    .clone()
                    .filter(|_| viewer == b.guest_id),
                status: b.payment_status.as_str().to_owned(),
            },
            refund: b.refund_amount.map(|amount| RefundView {
                amount,
                currency: b.currency.to_string(),
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingPage {
    pub data: Vec<BookingView>,
    pub next_cursor: Option<String>,
}
