//! A notification as stored and shown, and what each booking change
//! tells its guest and host (`on_transition`, `checkin_reminder`).

use chrono::{DateTime, Utc};
use innkeep_actors::domain::{Booking, BookingStatus, Currency};
use innkeep_actors::ports::{Notice, Transition};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const BOOKING_REQUESTED: &str = "booking_requested";
pub const BOOKING_CONFIRMED: &str = "booking_confirmed";
pub const BOOKING_DECLINED: &str = "booking_declined";
pub const BOOKING_CANCELLED: &str = "booking_cancelled";
pub const BOOKING_EXPIRED: &str = "booking_expired";
pub const PAYMENT_FAILED: &str = "payment_failed";
pub const REVIEW_REQUEST: &str = "review_request";
pub use innkeep_actors::payments::{PAYOUT_SENT, REFUND_SENT};
pub const CHECKIN_REMINDER: &str = "checkin_reminder";

/// A notification as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Notification {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub booking_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A notification as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// `booking_requested`, `booking_confirmed`, `booking_declined`,
    /// `booking_cancelled`, `booking_expired`, `payment_failed`,
    /// `refund_sent`, `payout_sent`, `checkin_reminder`, `review_request`.
    pub kind: String,
    pub booking_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            booking_id: n.booking_id,
            title: n.title,
            body: n.body,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub data: Vec<NotificationView>,
    pub next_cursor: Option<String>,
}

/// Which to mark read: these (at most 100 of the caller's), or all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadInput {
    pub ids: Option<Vec<Uuid>>,
    pub all: Option<bool>,
}

/// What marking read asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadWhich {
    These(Vec<Uuid>),
    All,
}

/// An amount as people write it (`Money::human`).
fn human(amount: i64, currency: Currency) -> String {
    innkeep_actors::domain::money::Money::new(amount, currency).human()
}

/// What a transition of `booking` (as it was before) tells whom.
pub fn on_transition(booking: &Booking, t: &Transition) -> Vec<Notice> {
    let stay = format!("{} to {}", booking.check_in, booking.check_out);
    let total = human(booking.total, booking.currency);
    let notice = |user_id: Uuid, kind: &'static str, title: String, body: String| Notice {
        user_id,
        kind,
        booking_id: Some(booking.id),
        title,
        body,
    };
    let (guest, host) = (booking.guest_id, booking.host_id);
    match t.to {
        BookingStatus::AwaitingHost => vec![notice(
            host,
            BOOKING_REQUESTED,
            "New booking request".into(),
            format!(
                "A guest asks to stay {stay} ({} nights, {total}). Accept or decline within 24 hours.",
                booking.nights
            ),
        )],
        BookingStatus::Confirmed => vec![
            notice(
                guest,
                BOOKING_CONFIRMED,
                "Your booking is confirmed".into(),
                format!("You are booked for {stay}. Paid: {total}."),
            ),
            notice(
                host,
                BOOKING_CONFIRMED,
                "New confirmed booking".into(),
                format!(
                    "A guest is booked for {stay}. Your payout: {}.",
                    human(booking.host_payout, booking.currency)
                ),
            ),
        ],
        BookingStatus::Declined => vec![notice(
            guest,
            BOOKING_DECLINED,
            "Your booking request was declined".into(),
            format!("The host declined your request for {stay}. Nothing was charged."),
        )],
        BookingStatus::Cancelled => {
            let refund = t.refund_amount.unwrap_or(0);
            let refunded = if refund > 0 {
                format!(
                    " A refund of {} is on its way.",
                    human(refund, booking.currency)
                )
            } else {
                String::new()
            };
            vec![
                notice(
                    guest,
                    BOOKING_CANCELLED,
                    "Booking cancelled".into(),
                    format!("Your booking for {stay} is cancelled.{refunded}"),
                ),
                notice(
                    host,
                    BOOKING_CANCELLED,
                    "Booking cancelled".into(),
                    format!("The booking for {stay} is cancelled; the dates are free again."),
                ),
            ]
        }
        BookingStatus::Expired => {
            let mut notices = vec![notice(
                guest,
                BOOKING_EXPIRED,
                "Booking expired".into(),
                format!("Your hold on {stay} lapsed; the dates are free again."),
            )];
            if booking.status == BookingStatus::AwaitingHost {
                notices.push(notice(
                    host,
                    BOOKING_EXPIRED,
                    "Booking request expired".into(),
                    format!("The request for {stay} was not answered in time and has expired."),
                ));
            }
            notices
        }
        BookingStatus::PaymentFailed => vec![notice(
            guest,
            PAYMENT_FAILED,
            "Payment failed".into(),
            format!(
                "The payment of {total} for {stay} did not go through; the dates are free again."
            ),
        )],
        BookingStatus::Completed => vec![
            notice(
                guest,
                REVIEW_REQUEST,
                "How was your stay?".into(),
                format!("Review your stay of {stay} within 14 days."),
            ),
            notice(
                host,
                REVIEW_REQUEST,
                "How was your guest?".into(),
                format!("Review the guest of {stay} within 14 days."),
            ),
        ],
        BookingStatus::PendingPayment => Vec::new(),
    }
}

/// The reminder a guest gets the day before check-in.
pub fn checkin_reminder(booking_id: Uuid, guest_id: Uuid, check_in: chrono::NaiveDate) -> Notice {
    Notice {
        user_id: guest_id,
        kind: CHECKIN_REMINDER,
        booking_id: Some(booking_id),
        title: "Your stay starts tomorrow".into(),
        body: format!("Check-in is tomorrow, {check_in}, from 15:00."),
    }
}
