//! The double-entry ledger's rules: which balanced transaction each money
//! event posts. Amounts are signed minor units (debit positive, credit
//! negative) and every transaction sums to zero. Each transaction has a key
//! unique in the whole ledger (`booking:<id>:capture`, …) so that a replayed
//! event, a retried request or a duplicate webhook cannot post twice; the
//! store refuses a second transaction with the same key and keeps entries
//! append-only.
//!
//! Accounts:
//! - `processor_clearing`: money held at the payment processor for us.
//! - `platform_revenue`: our fees (guest service fee plus host fee).
//! - `host_payable:<user id>`: what we owe a host (credit balance).
//! - `refunds`: money returned to guests, a contra account kept so that
//!   refunds are visible on their own.

mod verify;

use std::fmt;

use uuid::Uuid;

use crate::domain::{Booking, Currency};

pub use verify::{Report, StoredTransaction, verify};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    ProcessorClearing,
    PlatformRevenue,
    HostPayable(Uuid),
    Refunds,
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ProcessorClearing => f.write_str("processor_clearing"),
            Self::PlatformRevenue => f.write_str("platform_revenue"),
            Self::HostPayable(host) => write!(f, "host_payable:{host}"),
            Self::Refunds => f.write_str("refunds"),
        }
    }
}

impl Account {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "processor_clearing" => Some(Self::ProcessorClearing),
            "platform_revenue" => Some(Self::PlatformRevenue),
            "refunds" => Some(Self::Refunds),
            _ => s
                .strip_prefix("host_payable:")
                .and_then(|id| id.parse().ok())
                .map(Self::HostPayable),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostingKind {
    Capture,
    Refund,
    RefundSent,
    Payout,
}

impl PostingKind {
    pub const ALL: [PostingKind; 4] = [Self::Capture, Self::Refund, Self::RefundSent, Self::Payout];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Capture => "capture",
            Self::Refund => "refund",
            Self::RefundSent => "refund_sent",
            Self::Payout => "payout",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub account: Account,
    pub amount: i64,
}

/// One balanced ledger transaction, not yet written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub key: String,
    pub kind: PostingKind,
    pub booking_id: Uuid,
    pub currency: Currency,
    pub entries: Vec<Entry>,
}

impl Posting {
    pub fn is_balanced(&self) -> bool {
        self.entries
            .iter()
            .map(|e| i128::from(e.amount))
            .sum::<i128>()
            == 0
    }
}

/// The host's share of a booking and the platform's, as charged.
pub(crate) fn shares(booking: &Booking) -> (i64, i64) {
    let host = booking.host_payout;
    (host, booking.total - host)
}

/// The guest's payment was captured: the processor holds `total` for us; we
/// owe the host its payout and keep the rest (service fee and host fee).
pub fn capture(booking: &Booking) -> Posting {
    let (host, platform) = shares(booking);
    Posting {
        key: format!("booking:{}:capture", booking.id),
        kind: PostingKind::Capture,
        booking_id: booking.id,
        currency: booking.currency,
        entries: vec![
            Entry {
                account: Account::ProcessorClearing,
                amount: booking.total,
            },
            Entry {
                account: Account::HostPayable(booking.host_id),
                amount: -host,
            },
            Entry {
                account: Account::PlatformRevenue,
                amount: -platform,
            },
        ],
    }
}

/// The guest is owed `amount` of a captured booking back: the host's share
/// and the platform's are reversed in proportion (the host's part rounded
/// half up, the platform takes the remainder so the sum is exact) into
/// `refunds`, which holds it until the processor has sent it
/// ([`refund_sent`]). A `refunds` balance left over is a refund still owed.
pub fn refund(booking: &Booking, amount: i64) -> Option<Posting> {
    if amount <= 0 || amount > booking.total || booking.total <= 0 {
        return None;
    }
    let host_part = host_refund_part(booking, amount);
    let platform_part = amount - host_part;
    Some(Posting {
        key: format!("booking:{}:refund", booking.id),
        kind: PostingKind::Refund,
        booking_id: booking.id,
        currency: booking.currency,
        entries: vec![
            Entry {
                account: Account::HostPayable(booking.host_id),
                amount: host_part,
            },
            Entry {
                account: Account::PlatformRevenue,
                amount: platform_part,
            },
            Entry {
                account: Account::Refunds,
                amount: -amount,
            },
        ],
    })
}

/// Whose money a booking moves: enough to name its ledger accounts, for the
/// postings that need no more of the booking (a payment job carries these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parties {
    pub booking_id: Uuid,
    pub host_id: Uuid,
    pub currency: Currency,
}

impl From<&Booking> for Parties {
    fn from(b: &Booking) -> Self {
        Self {
            booking_id: b.id,
            host_id: b.host_id,
            currency: b.currency,
        }
    }
}

/// The processor has returned `amount` to the guest.
pub fn refund_sent(of: Parties, amount: i64) -> Option<Posting> {
    (amount > 0).then(|| Posting {
        key: format!("booking:{}:refund_sent", of.booking_id),
        kind: PostingKind::RefundSent,
        booking_id: of.booking_id,
        currency: of.currency,
        entries: vec![
            Entry {
                account: Account::Refunds,
                amount,
            },
            Entry {
                account: Account::ProcessorClearing,
                amount: -amount,
            },
        ],
    })
}

/// The host's part of a refund of `amount`. Refunds come out of what the
/// guest paid for the stay (`subtotal + cleaning_fee`), which the host was
/// paid from less the host fee, so the host gives back that proportion of
/// its share; the service fee is refunded only with a full refund, and then
/// the host gives back everything.
fn host_refund_part(booking: &Booking, amount: i64) -> i64 {
    let (host, _) = shares(booking);
    let stay = booking.subtotal + booking.cleaning_fee;
    if amount <= 0 {
        0
    } else if amount >= stay || stay <= 0 {
        host
    } else {
        proportion(host, amount, stay)
    }
}

/// `part × amount / whole`, rounded half up, in integers.
fn proportion(part: i64, amount: i64, whole: i64) -> i64 {
    let n = i128::from(part) * i128::from(amount);
    let w = i128::from(whole);
    let rounded = (2 * n + w) / (2 * w);
    i64::try_from(rounded).unwrap_or(part)
}

/// What the host is still owed for `booking` after a refund of `refunded`.
pub fn host_net(booking: &Booking, refunded: i64) -> i64 {
    let (host, _) = shares(booking);
    host - host_refund_part(booking, refunded.min(booking.total))
}

/// The host's share is paid out: it leaves the processor to the host.
pub fn payout(of: Parties, amount: i64) -> Option<Posting> {
    (amount > 0).then(|| Posting {
        key: format!("booking:{}:payout", of.booking_id),
        kind: PostingKind::Payout,
        booking_id: of.booking_id,
        currency: of.currency,
        entries: vec![
            Entry {
                account: Account::HostPayable(of.host_id),
                amount,
            },
            Entry {
                account: Account::ProcessorClearing,
                amount: -amount,
            },
        ],
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{BookingStatus, CancellationPolicy};
    use chrono::{NaiveDate, Utc};

    pub(super) fn booking(subtotal: i64, cleaning: i64) -> Booking {
        let service = (subtotal * 12 + 50) / 100;
        let host_fee = (subtotal * 3 + 50) / 100;
        let now = Utc::now();
        Booking {
            id: Uuid::now_v7(),
            property_id: Uuid::now_v7(),
            guest_id: Uuid::now_v7(),
            host_id: Uuid::now_v7(),
            check_in: NaiveDate::MIN,
            check_out: NaiveDate::MIN,
            guests: 1,
            status: BookingStatus::Confirmed,
            nights: 1,
            subtotal,
            cleaning_fee: cleaning,
            service_fee: service,
            total: subtotal + cleaning + service,
            host_payout: subtotal + cleaning - host_fee,
            currency: Currency::parse("EUR").unwrap_or_else(|_| panic!("EUR")),
            instant_book: true,
            cancellation_policy: CancellationPolicy::Moderate,
            created_at: now,
            updated_at: now,
            expires_at: None,
            payment_provider: "dev".into(),
            payment_intent_id: None,
            payment_client_secret: None,
            payment_status: crate::domain::PaymentStatus::Succeeded,
            refund_amount: None,
        }
    }

    fn balance(postings: &[&Posting], account: &Account) -> i64 {
        postings
            .iter()
            .flat_map(|p| &p.entries)
            .filter(|e| &e.account == account)
            .map(|e| e.amount)
            .sum()
    }

    #[test]
    fn capture_credits_host_and_platform() {
        let b = booking(30_000, 5_000);
        let p = capture(&b);
        assert!(p.is_balanced());
        assert_eq!(balance(&[&p], &Account::ProcessorClearing), 38_600);
        assert_eq!(balance(&[&p], &Account::HostPayable(b.host_id)), -34_100);
        assert_eq!(balance(&[&p], &Account::PlatformRevenue), -4_500);
    }

    #[test]
    fn full_refund_reverses_everything() {
        let b = booking(30_000, 5_000);
        let c = capture(&b);
        let r = refund(&b, b.total).unwrap_or_else(|| panic!("refund"));
        assert!(r.is_balanced());
        assert_eq!(
            balance(&[&c, &r], &Account::Refunds),
            -b.total,
            "owed until sent"
        );
        let s = refund_sent((&b).into(), b.total).unwrap_or_else(|| panic!("sent"));
        assert!(s.is_balanced());
        let (c, r) = (&c, &r);
        let all = [c, r, &s];
        for account in [
            Account::ProcessorClearing,
            Account::PlatformRevenue,
            Account::HostPayable(b.host_id),
            Account::Refunds,
        ] {
            assert_eq!(balance(&all, &account), 0, "{account}");
        }
        assert_eq!(host_net(&b, b.total), 0);
    }

    #[test]
    fn partial_refund_is_proportional_and_exact() {
        let b = booking(33_333, 1_111);
        let c = capture(&b);
        let amount = 17_222;
        let r = refund(&b, amount).unwrap_or_else(|| panic!("refund"));
        assert!(r.is_balanced());
        let s = refund_sent((&b).into(), amount).unwrap_or_else(|| panic!("sent"));
        assert_eq!(
            balance(&[&c, &r, &s], &Account::ProcessorClearing),
            b.total - amount
        );
        let host_left = -balance(&[&c, &r], &Account::HostPayable(b.host_id));
        assert_eq!(host_left, host_net(&b, amount));
    }

    #[test]
    fn half_of_the_stay_back_costs_the_host_half_and_keeps_the_service_fee() {
        // design.md's moderate policy late: 50 % of subtotal + cleaning fee.
        let b = booking(30_150, 2_500);
        let amount = (b.subtotal + b.cleaning_fee) / 2;
        assert_eq!(amount, 16_325);
        let r = refund(&b, amount).unwrap_or_else(|| panic!("refund"));
        let c = capture(&b);
        // Host share 31_745 (32_650 less the 905 host fee); half back, rounded up.
        assert_eq!(b.host_payout, 31_745);
        assert_eq!(balance(&[&r], &Account::HostPayable(b.host_id)), 15_873);
        assert_eq!(host_net(&b, amount), 15_872);
        // The platform keeps the 3_618 service fee and half the host fee.
        assert_eq!(-balance(&[&c, &r], &Account::PlatformRevenue), 3_618 + 453);
    }

    #[test]
    fn nothing_to_post_for_no_money() {
        let b = booking(10_000, 0);
        assert!(refund(&b, 0).is_none());
        assert!(refund(&b, b.total + 1).is_none());
        assert!(payout((&b).into(), 0).is_none());
    }

    #[test]
    fn accounts_round_trip() {
        let host = Uuid::now_v7();
        for a in [
            Account::ProcessorClearing,
            Account::PlatformRevenue,
            Account::HostPayable(host),
            Account::Refunds,
        ] {
            assert_eq!(Account::parse(&a.to_string()), Some(a));
        }
        assert_eq!(Account::parse("host_payable:nope"), None);
    }
}
