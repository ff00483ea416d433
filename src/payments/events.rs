//! What a payment event does to its booking. One path for every source:
//! the dev endpoints and Stripe's signed webhooks. Every event may arrive
//! twice, late or out of order: each change is conditional on the booking's
//! current state and each ledger posting is keyed, so a repeat does nothing.

use innkeep_actors::domain::{Booking, BookingStatus};
use innkeep_actors::ledger;
use innkeep_actors::ports::{NewPaymentJob, PaymentJobKind};

use crate::bookings::service::{to, transition};
use crate::error::AppResult;
use crate::state::AppState;

/// How long a host has to accept or decline a request to book.
pub const HOST_RESPONSE_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEvent {
    /// `payment_intent.succeeded`: money captured (instant book).
    Succeeded,
    /// `payment_intent.amount_capturable_updated`: authorised (request to book).
    AmountCapturable,
    /// `payment_intent.payment_failed`.
    Failed,
    /// `payment_intent.canceled` (by us on expiry or decline, or by Stripe).
    Canceled,
    /// `charge.refunded`: `amount` in total has gone back to the guest.
    Refunded { amount: i64 },
}

/// Applies `event` for the booking whose intent is `intent_id`. Returns the
/// booking as it is afterwards; `None` for an intent that is not ours.
pub async fn apply(
    state: &AppState,
    intent_id: &str,
    event: PaymentEvent,
) -> AppResult<Option<Booking>> {
    let Some(booking) = state.store.booking_by_intent(intent_id).await? else {
        tracing::warn!(intent_id, ?event, "payment event for an unknown intent");
        return Ok(None);
    };
    let id = booking.id;
    let (target, payment_status) = match event {
        // Instant book: paid. Request to book: captured on accept, so this
        // confirms an accept whose capture went through even if we never
        // recorded it (the process stopped in between).
        PaymentEvent::Succeeded => (BookingStatus::Confirmed, "succeeded"),
        PaymentEvent::AmountCapturable => (BookingStatus::AwaitingHost, "requires_capture"),
        PaymentEvent::Failed => (BookingStatus::PaymentFailed, "requires_payment_method"),
        PaymentEvent::Canceled => (BookingStatus::PaymentFailed, "canceled"),
        PaymentEvent::Refunded { amount } => {
            super::ledger::refund_sent(state, &booking, amount).await?;
            let status = if amount >= booking.total {
                "refunded"
            } else {
                "partially_refunded"
            };
            state.store.set_payment_status(id, status).await?;
            return Ok(state.store.booking(id).await?);
        }
    };
    let from: &[BookingStatus] = match event {
        PaymentEvent::Canceled => &[BookingStatus::PendingPayment, BookingStatus::AwaitingHost],
        PaymentEvent::Succeeded if !booking.instant_book => &[BookingStatus::AwaitingHost],
        _ => &[BookingStatus::PendingPayment],
    };
    let mut t = to(from, target, id);
    t.payment_status = Some(payment_status.into());
    if target == BookingStatus::Confirmed {
        t.postings.push(ledger::capture(&booking));
    }
    if target == BookingStatus::AwaitingHost {
        // The host has this long to answer; then the request expires and
        // the authorisation is released.
        t.expires_at = Some(state.clock.now() + chrono::Duration::hours(HOST_RESPONSE_HOURS));
    }
    if let Some(moved) = transition(state, &booking, t).await? {
        return Ok(Some(moved));
    }
    // Not pending any more: a repeat of an event already applied, or one
    // that arrived after the hold lapsed or was cancelled.
    let current = state.store.booking(id).await?.unwrap_or(booking);
    if current.status == target {
        return Ok(Some(current));
    }
    let money = matches!(
        event,
        PaymentEvent::Succeeded | PaymentEvent::AmountCapturable
    );
    // A `succeeded` redelivered (under a new event id) for money we took
    // and accounted for already is old news, whatever happened since.
    let known = matches!(
        current.payment_status.as_str(),
        "succeeded" | "refunded" | "partially_refunded"
    );
    if !current.status.holds_dates() && money && !known {
        // Money (or an authorisation) for a booking that no longer holds
        // its dates: never keep it. The ledger records the money came, and
        // the outbox gives it back (retried until the gateway has).
        let job = match event {
            PaymentEvent::Succeeded => {
                super::ledger::returned_in_full(state, &current).await?;
                state.store.set_payment_status(id, "succeeded").await?;
                NewPaymentJob::new(PaymentJobKind::Refund, id, current.total)
            }
            _ => NewPaymentJob::new(PaymentJobKind::CancelIntent, id, 0),
        };
        super::outbox::enqueue_and_run(state, job).await?;
        tracing::warn!(booking_id = %id, status = %current.status, ?event, "late payment returned");
    }
    Ok(state.store.booking(id).await?)
}
