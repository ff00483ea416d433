//! The payment events innkeep acts on, whatever brings them: Stripe's
//! signed webhooks or the dev gateway's stand-in for a card holder. What
//! each does to its booking is `bookings::events`.

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
