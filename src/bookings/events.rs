//! What a payment event does to its booking. One path for every source:
//! the dev endpoints and Stripe's signed webhooks. Every event may arrive
//! twice, late or out of order: each change is conditional on the booking's
//! current state and each ledger posting is keyed, so a repeat does nothing.

use innkeep_actors::domain::{Booking, BookingStatus, PaymentStatus};
use innkeep_actors::ledger;
use innkeep_actors::ports::{NewPaymentJob, PaymentJobKind};

use super::BookingService;
use super::service::to;
use crate::error::AppResult;
use crate::payments::events::PaymentEvent;

/// How long a host has to accept or decline a request to book.
pub const HOST_RESPONSE_HOURS: i64 = 24;

impl BookingService {
    /// Applies `event` for the booking whose intent is `intent_id`. Returns
    /// the booking as it is afterwards; `None` for an intent that is not ours.
    pub async fn apply_payment_event(
        &self,
        intent_id: &str,
        event: PaymentEvent,
    ) -> AppResult<Option<Booking>> {
        let Some(booking) = self.store.booking_by_intent(intent_id).await? else {
            tracing::warn!(intent_id, ?event, "payment event for an unknown intent");
            return Ok(None);
        };
        let id = booking.id;
        let (target, payment_status) = match event {
            // Instant book: paid. Request to book: captured on accept, so
            // this confirms an accept whose capture went through even if we
            // never recorded it (the process stopped in between).
            PaymentEvent::Succeeded => (BookingStatus::Confirmed, PaymentStatus::Succeeded),
            PaymentEvent::AmountCapturable => {
                (BookingStatus::AwaitingHost, PaymentStatus::RequiresCapture)
            }
            PaymentEvent::Failed => (
                BookingStatus::PaymentFailed,
                PaymentStatus::RequiresPaymentMethod,
            ),
            PaymentEvent::Canceled => (BookingStatus::PaymentFailed, PaymentStatus::Canceled),
            PaymentEvent::Refunded { amount } => return self.refunded(booking, amount).await,
        };
        let from: &[BookingStatus] = match event {
            PaymentEvent::Canceled => &[BookingStatus::PendingPayment, BookingStatus::AwaitingHost],
            PaymentEvent::Succeeded if !booking.instant_book => &[BookingStatus::AwaitingHost],
            _ => &[BookingStatus::PendingPayment],
        };
        let mut t = to(from, target, id);
        t.payment_status = Some(payment_status);
        if target == BookingStatus::Confirmed {
            t.postings.push(ledger::capture(&booking));
        }
        if target == BookingStatus::AwaitingHost {
            // The host has this long to answer; then the request expires
            // and the authorisation is released.
            t.expires_at = Some(self.clock.now() + chrono::Duration::hours(HOST_RESPONSE_HOURS));
        }
        if let Some(moved) = self.transition(&booking, t).await? {
            return Ok(Some(moved));
        }
        // Not pending any more: a repeat of an event already applied, or
        // one that arrived after the hold lapsed or was cancelled.
        let current = self.reload(booking).await?;
        if current.status == target {
            return Ok(Some(current));
        }
        self.return_late_money(&current, event).await?;
        Ok(Some(self.reload(current).await?))
    }

    /// `charge.refunded`: `amount` in total went back to the guest.
    async fn refunded(&self, booking: Booking, amount: i64) -> AppResult<Option<Booking>> {
        self.ledger.refund_sent(&booking, amount).await?;
        let status = if amount >= booking.total {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        };
        self.store.set_payment_status(booking.id, status).await?;
        Ok(Some(self.reload(booking).await?))
    }

    /// Money (or an authorisation) for a booking that no longer holds its
    /// dates is never kept: the ledger records the money came, and the
    /// outbox gives it back (retried until the gateway has). A `succeeded`
    /// redelivered (under a new event id) for money we took and accounted
    /// for already is old news, whatever happened since.
    async fn return_late_money(&self, current: &Booking, event: PaymentEvent) -> AppResult<()> {
        let money = matches!(
            event,
            PaymentEvent::Succeeded | PaymentEvent::AmountCapturable
        );
        if current.status.holds_dates() || !money || current.payment_status.was_captured() {
            return Ok(());
        }
        let id = current.id;
        let job = match event {
            PaymentEvent::Succeeded => {
                self.ledger.returned_in_full(current).await?;
                self.store
                    .set_payment_status(id, PaymentStatus::Succeeded)
                    .await?;
                NewPaymentJob::new(PaymentJobKind::Refund, id, current.total)
            }
            _ => NewPaymentJob::new(PaymentJobKind::CancelIntent, id, 0),
        };
        self.outbox.enqueue_and_run(job).await?;
        tracing::warn!(booking_id = %id, status = %current.status, ?event, "late payment returned");
        Ok(())
    }
}
