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

use std::fmt;

use uuid::Uuid;

use crate::domain::{Booking, Currency};

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
fn shares(booking: &Booking) -> (i64, i64) {
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

/// The processor has returned `amount` to the guest.
pub fn refund_sent(booking: &Booking, amount: i64) -> Option<Posting> {
    (amount > 0).then(|| Posting {
        key: format!("booking:{}:refund_sent", booking.id),
        kind: PostingKind::RefundSent,
        booking_id: booking.id,
        currency: booking.currency,
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
pub fn payout(booking: &Booking, amount: i64) -> Option<Posting> {
    (amount > 0).then(|| Posting {
        key: format!("booking:{}:payout", booking.id),
        kind: PostingKind::Payout,
        booking_id: booking.id,
        currency: booking.currency,
        entries: vec![
            Entry {
                account: Account::HostPayable(booking.host_id),
                amount,
            },
            Entry {
                account: Account::ProcessorClearing,
                amount: -amount,
            },
        ],
    })
}

/// A stored ledger transaction, as `ledger verify` reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTransaction {
    pub key: String,
    pub kind: String,
    pub booking_id: Uuid,
    pub currency: String,
    pub entries: Vec<(String, i64)>,
}

/// What `ledger verify` found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub transactions: usize,
    pub bookings: usize,
    /// Decided refunds the processor has not confirmed yet (not an error).
    pub refunds_owed: i64,
    pub problems: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks that every transaction balances and names real accounts, and that
/// each booking's money matches its state: a captured booking holds its
/// total less what was refunded, anything not captured (or returned in
/// full) nets to zero, and the host is owed exactly its share.
pub fn verify(bookings: &[Booking], transactions: &[StoredTransaction]) -> Report {
    use std::collections::HashMap;
    let mut report = Report {
        transactions: transactions.len(),
        bookings: bookings.len(),
        ..Report::default()
    };
    let by_id: HashMap<Uuid, &Booking> = bookings.iter().map(|b| (b.id, b)).collect();
    #[derive(Default)]
    struct Sums {
        captured: i64,
        refunded: i64,
        sent: i64,
        host: i64,
        paid: i64,
    }
    let mut sums: HashMap<Uuid, Sums> = HashMap::new();
    for tx in transactions {
        let total: i128 = tx.entries.iter().map(|(_, a)| i128::from(*a)).sum();
        if tx.entries.is_empty() || total != 0 {
            report.problems.push(format!(
                "transaction {} does not balance ({} entries, sum {total})",
                tx.key,
                tx.entries.len()
            ));
        }
        let Some(booking) = by_id.get(&tx.booking_id) else {
            report
                .problems
                .push(format!("transaction {} names an unknown booking", tx.key));
            continue;
        };
        if tx.currency != booking.currency.as_str() {
            report.problems.push(format!(
                "transaction {} is in {}, its booking in {}",
                tx.key, tx.currency, booking.currency
            ));
        }
        let sum = sums.entry(tx.booking_id).or_default();
        for (name, amount) in &tx.entries {
            let Some(account) = Account::parse(name) else {
                report.problems.push(format!(
                    "transaction {} uses unknown account {name}",
                    tx.key
                ));
                continue;
            };
            match (tx.kind.as_str(), &account) {
                ("capture", Account::ProcessorClearing) => sum.captured += amount,
                ("refund", Account::Refunds) => sum.refunded -= amount,
                ("refund_sent", Account::Refunds) => sum.sent += amount,
                ("capture" | "refund", Account::HostPayable(host)) if *host == booking.host_id => {
                    sum.host -= amount
                }
                ("payout", Account::HostPayable(host)) if *host == booking.host_id => {
                    sum.paid += amount
                }
                (_, Account::HostPayable(host)) if *host != booking.host_id => report
                    .problems
                    .push(format!("transaction {} pays someone else's host", tx.key)),
                _ => {}
            }
        }
    }
    for booking in bookings {
        let sum = sums.remove(&booking.id).unwrap_or_default();
        let id = booking.id;
        if sum.captured != 0 && sum.captured != booking.total {
            report.problems.push(format!(
                "booking {id}: captured {} of {}",
                sum.captured, booking.total
            ));
        }
        let net = sum.captured - sum.refunded;
        let expected = match (booking.status.as_str(), booking.refund_amount) {
            ("confirmed" | "completed", _) => Some(booking.total),
            ("cancelled", Some(refund)) => Some(booking.total - refund),
            _ => None,
        };
        match expected {
            Some(keep) if sum.captured != booking.total || net != keep => {
                report.problems.push(format!(
                    "booking {id} ({}): the ledger keeps {net}, the booking says {keep}",
                    booking.status
                ))
            }
            None if net != 0 => report.problems.push(format!(
                "booking {id} ({}): {net} kept for a booking that keeps nothing",
                booking.status
            )),
            _ => {}
        }
        let host_due = if sum.captured == booking.total {
            host_net(booking, sum.refunded)
        } else {
            0
        };
        if sum.host != host_due {
            report.problems.push(format!(
                "booking {id}: host owed {} in the ledger, {host_due} by the booking",
                sum.host
            ));
        }
        if sum.paid > host_due {
            report.problems.push(format!(
                "booking {id}: {} paid out to the host, only {host_due} owed",
                sum.paid
            ));
        }
        if sum.sent > sum.refunded {
            report.problems.push(format!(
                "booking {id}: {} sent back, only {} refunded",
                sum.sent, sum.refunded
            ));
        }
        report.refunds_owed += sum.refunded - sum.sent;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BookingStatus, CancellationPolicy};
    use chrono::{NaiveDate, Utc};

    fn booking(subtotal: i64, cleaning: i64) -> Booking {
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
            payment_status: "succeeded".into(),
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
        let s = refund_sent(&b, b.total).unwrap_or_else(|| panic!("sent"));
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
        let s = refund_sent(&b, amount).unwrap_or_else(|| panic!("sent"));
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
        assert!(payout(&b, 0).is_none());
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

    fn stored(p: &Posting) -> StoredTransaction {
        StoredTransaction {
            key: p.key.clone(),
            kind: p.kind.as_str().into(),
            booking_id: p.booking_id,
            currency: p.currency.as_str().into(),
            entries: p
                .entries
                .iter()
                .map(|e| (e.account.to_string(), e.amount))
                .collect(),
        }
    }

    #[test]
    fn verify_accepts_the_states_and_catches_the_lies() {
        let mut b = booking(20_000, 3_000);
        let c = capture(&b);
        assert!(verify(&[b.clone()], &[stored(&c)]).is_clean());

        // Cancelled with a 50% refund decided but not yet sent.
        b.status = BookingStatus::Cancelled;
        b.refund_amount = Some(11_500);
        let r = refund(&b, 11_500).unwrap_or_else(|| panic!("refund"));
        let report = verify(&[b.clone()], &[stored(&c), stored(&r)]);
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(report.refunds_owed, 11_500);

        // The refund posted twice (a duplicate webhook) is caught.
        let report = verify(&[b.clone()], &[stored(&c), stored(&r), stored(&r)]);
        assert!(!report.is_clean());

        // An unbalanced transaction is caught.
        let mut bad = stored(&c);
        bad.entries[0].1 += 1;
        assert!(!verify(&[b.clone()], &[bad, stored(&r)]).is_clean());

        // Money kept for an expired hold is caught.
        b.status = BookingStatus::Expired;
        b.refund_amount = None;
        assert!(!verify(&[b.clone()], &[stored(&c)]).is_clean());
        let full = refund(&b, b.total).unwrap_or_else(|| panic!("refund"));
        assert!(verify(&[b], &[stored(&c), stored(&full)]).is_clean());
    }

    #[test]
    fn verify_allows_paying_the_host_what_it_is_owed_and_no_more() {
        let mut b = booking(20_000, 3_000);
        let c = capture(&b);
        let paid = payout(&b, b.host_payout).unwrap_or_else(|| panic!("payout"));
        assert!(paid.is_balanced());
        assert!(verify(&[b.clone()], &[stored(&c), stored(&paid)]).is_clean());

        // Cancelled with half the stay back: the host is owed half its share.
        b.status = BookingStatus::Cancelled;
        b.refund_amount = Some(11_500);
        let r = refund(&b, 11_500).unwrap_or_else(|| panic!("refund"));
        let owed = host_net(&b, 11_500);
        let fair = payout(&b, owed).unwrap_or_else(|| panic!("payout"));
        assert!(verify(&[b.clone()], &[stored(&c), stored(&r), stored(&fair)]).is_clean());
        let report = verify(&[b], &[stored(&c), stored(&r), stored(&paid)]);
        assert!(
            !report.is_clean(),
            "paying the whole share after a refund is caught"
        );
    }
}
