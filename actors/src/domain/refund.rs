//! How much a cancelled booking gives back, per design.md.
//!
//! By the guest, `subtotal + cleaning_fee` is refunded by policy and the
//! service fee only with a full refund:
//! - flexible: full until 24 h before check-in (15:00 UTC on `check_in`), 0 after;
//! - moderate: full until 5 days before check-in, then 50 %;
//! - strict: full within 48 h of booking if check-in is then ≥ 14 days away;
//!   50 % until 7 days before check-in; 0 after.
//!
//! By the host, a decline, or an expiry: always the full amount.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use super::booking::Booking;
use super::money::round_half_up_percent;
use super::policy::CancellationPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canceller {
    Guest,
    Host,
}

/// Check-in time: 15:00 UTC on the check-in date.
pub fn check_in_at(booking: &Booking) -> DateTime<Utc> {
    let three_pm = NaiveTime::from_hms_opt(15, 0, 0).unwrap_or(NaiveTime::MIN);
    booking.check_in.and_time(three_pm).and_utc()
}

/// The percentage of `subtotal + cleaning_fee` a guest gets back.
pub fn guest_refund_percent(booking: &Booking, now: DateTime<Utc>) -> i64 {
    let check_in = check_in_at(booking);
    match booking.cancellation_policy {
        CancellationPolicy::Flexible => {
            if now <= check_in - Duration::hours(24) {
                100
            } else {
                0
            }
        }
        CancellationPolicy::Moderate => {
            if now <= check_in - Duration::days(5) {
                100
            } else {
                50
            }
        }
        CancellationPolicy::Strict => {
            let fresh = now <= booking.created_at + Duration::hours(48);
            if fresh && check_in - now >= Duration::days(14) {
                100
            } else if now <= check_in - Duration::days(7) {
                50
            } else {
                0
            }
        }
    }
}

/// Minor units refunded when `by` cancels at `now`.
pub fn refund_amount(booking: &Booking, by: Canceller, now: DateTime<Utc>) -> i64 {
    let percent = match by {
        Canceller::Host => 100,
        Canceller::Guest => guest_refund_percent(booking, now),
    };
    if percent == 100 {
        return booking.total;
    }
    round_half_up_percent(booking.subtotal + booking.cleaning_fee, percent).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BookingStatus, Currency};
    use chrono::NaiveDate;
    use uuid::Uuid;

    fn booking(policy: CancellationPolicy, created: DateTime<Utc>, check_in: &str) -> Booking {
        let check_in: NaiveDate = check_in.parse().unwrap_or(NaiveDate::MIN);
        Booking {
            id: Uuid::nil(),
            property_id: Uuid::nil(),
            guest_id: Uuid::nil(),
            host_id: Uuid::nil(),
            check_in,
            check_out: check_in + Duration::days(3),
            guests: 1,
            status: BookingStatus::Confirmed,
            nights: 3,
            subtotal: 30_001,
            cleaning_fee: 2_000,
            service_fee: 3_600,
            total: 35_601,
            host_payout: 31_101,
            currency: Currency::parse("EUR").unwrap_or_else(|_| unreachable!()),
            instant_book: true,
            cancellation_policy: policy,
            created_at: created,
            updated_at: created,
            expires_at: None,
            payment_provider: "dev".into(),
            payment_intent_id: None,
            payment_client_secret: None,
            payment_status: crate::domain::PaymentStatus::Succeeded,
            refund_amount: None,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn flexible_is_full_until_24h_before_check_in() {
        let b = booking(
            CancellationPolicy::Flexible,
            at("2030-01-01T00:00:00Z"),
            "2030-02-10",
        );
        assert_eq!(
            refund_amount(&b, Canceller::Guest, at("2030-02-09T15:00:00Z")),
            35_601
        );
        assert_eq!(
            refund_amount(&b, Canceller::Guest, at("2030-02-09T15:00:01Z")),
            0
        );
        assert_eq!(
            refund_amount(&b, Canceller::Host, at("2030-02-10T12:00:00Z")),
            35_601
        );
    }

    #[test]
    fn moderate_is_full_until_5_days_then_half_without_service_fee() {
        let b = booking(
            CancellationPolicy::Moderate,
            at("2030-01-01T00:00:00Z"),
            "2030-02-10",
        );
        assert_eq!(
            refund_amount(&b, Canceller::Guest, at("2030-02-05T15:00:00Z")),
            35_601
        );
        // 50 % of 32 001 = 16 000.5 -> 16 001
        assert_eq!(
            refund_amount(&b, Canceller::Guest, at("2030-02-05T15:00:01Z")),
            16_001
        );
        assert_eq!(
            refund_amount(&b, Canceller::Guest, at("2030-02-11T00:00:00Z")),
            16_001
        );
    }

    #[test]
    fn strict_has_a_48h_grace_only_far_ahead_then_half_until_7_days() {
        let created = at("2030-01-01T10:00:00Z");
        let far = booking(CancellationPolicy::Strict, created, "2030-01-20");
        assert_eq!(
            refund_amount(&far, Canceller::Guest, at("2030-01-03T10:00:00Z")),
            35_601
        );
        assert_eq!(
            refund_amount(&far, Canceller::Guest, at("2030-01-03T10:00:01Z")),
            16_001
        );
        assert_eq!(
            refund_amount(&far, Canceller::Guest, at("2030-01-13T15:00:00Z")),
            16_001
        );
        assert_eq!(
            refund_amount(&far, Canceller::Guest, at("2030-01-13T15:00:01Z")),
            0
        );
        // Booked 10 days ahead: no grace period, 50 % until 7 days before.
        let near = booking(CancellationPolicy::Strict, created, "2030-01-11");
        assert_eq!(
            refund_amount(&near, Canceller::Guest, at("2030-01-01T11:00:00Z")),
            16_001
        );
        assert_eq!(
            refund_amount(&near, Canceller::Guest, at("2030-01-04T15:00:01Z")),
            0
        );
    }
}
