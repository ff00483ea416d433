//! `ledger verify`: every transaction balances and names real accounts,
//! and each booking's money matches its state. Each rule is one named
//! check below; `verify` runs them all and lists every problem found.

use std::collections::HashMap;

use uuid::Uuid;

use super::{Account, PostingKind, host_net};
use crate::domain::{Booking, BookingStatus};

/// A stored ledger transaction, as `ledger verify` reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTransaction {
    pub key: String,
    pub kind: PostingKind,
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

/// One booking's money as the ledger has it.
#[derive(Default)]
struct Sums {
    /// Into `processor_clearing` by its capture.
    captured: i64,
    /// Decided back to the guest (`refunds` credited).
    refunded: i64,
    /// Confirmed sent back by the processor.
    sent: i64,
    /// Owed to the host by capture and refund.
    host: i64,
    /// Paid out to the host.
    paid: i64,
}

/// Checks the whole ledger against the bookings.
pub fn verify(bookings: &[Booking], transactions: &[StoredTransaction]) -> Report {
    let mut report = Report {
        transactions: transactions.len(),
        bookings: bookings.len(),
        ..Report::default()
    };
    let problems = &mut report.problems;
    let by_id: HashMap<Uuid, &Booking> = bookings.iter().map(|b| (b.id, b)).collect();
    let mut sums: HashMap<Uuid, Sums> = HashMap::new();
    for tx in transactions {
        balances(tx, problems);
        let Some(booking) = by_id.get(&tx.booking_id) else {
            problems.push(format!("transaction {} names an unknown booking", tx.key));
            continue;
        };
        same_currency(tx, booking, problems);
        add_up(
            tx,
            booking,
            sums.entry(tx.booking_id).or_default(),
            problems,
        );
    }
    for booking in bookings {
        let sum = sums.remove(&booking.id).unwrap_or_default();
        captured_in_full(booking, &sum, problems);
        keeps_what_its_state_says(booking, &sum, problems);
        host_owed_its_share(booking, &sum, problems);
        sends_back_no_more_than_refunded(booking, &sum, problems);
        report.refunds_owed += sum.refunded - sum.sent;
    }
    report
}

/// Every transaction has entries and they sum to zero.
fn balances(tx: &StoredTransaction, problems: &mut Vec<String>) {
    let total: i128 = tx.entries.iter().map(|(_, a)| i128::from(*a)).sum();
    if tx.entries.is_empty() || total != 0 {
        problems.push(format!(
            "transaction {} does not balance ({} entries, sum {total})",
            tx.key,
            tx.entries.len()
        ));
    }
}

/// A transaction is in its booking's currency.
fn same_currency(tx: &StoredTransaction, booking: &Booking, problems: &mut Vec<String>) {
    if tx.currency != booking.currency.as_str() {
        problems.push(format!(
            "transaction {} is in {}, its booking in {}",
            tx.key, tx.currency, booking.currency
        ));
    }
}

/// Adds the transaction's entries to its booking's sums; names only real
/// accounts, and only the booking's own host.
fn add_up(tx: &StoredTransaction, booking: &Booking, sum: &mut Sums, problems: &mut Vec<String>) {
    for (name, amount) in &tx.entries {
        let Some(account) = Account::parse(name) else {
            problems.push(format!(
                "transaction {} uses unknown account {name}",
                tx.key
            ));
            continue;
        };
        match (tx.kind, &account) {
            (_, Account::HostPayable(host)) if *host != booking.host_id => {
                problems.push(format!("transaction {} pays someone else's host", tx.key))
            }
            (PostingKind::Capture, Account::ProcessorClearing) => sum.captured += amount,
            (PostingKind::Refund, Account::Refunds) => sum.refunded -= amount,
            (PostingKind::RefundSent, Account::Refunds) => sum.sent += amount,
            (PostingKind::Capture | PostingKind::Refund, Account::HostPayable(_)) => {
                sum.host -= amount
            }
            (PostingKind::Payout, Account::HostPayable(_)) => sum.paid += amount,
            _ => {}
        }
    }
}

/// A capture is of the booking's whole total, or there is none.
fn captured_in_full(booking: &Booking, sum: &Sums, problems: &mut Vec<String>) {
    if sum.captured != 0 && sum.captured != booking.total {
        problems.push(format!(
            "booking {}: captured {} of {}",
            booking.id, sum.captured, booking.total
        ));
    }
}

/// A confirmed or completed stay keeps its total; a cancelled one its total
/// less the refund; anything else keeps nothing.
fn keeps_what_its_state_says(booking: &Booking, sum: &Sums, problems: &mut Vec<String>) {
    let net = sum.captured - sum.refunded;
    let expected = match (booking.status, booking.refund_amount) {
        (BookingStatus::Confirmed | BookingStatus::Completed, _) => Some(booking.total),
        (BookingStatus::Cancelled, Some(refund)) => Some(booking.total - refund),
        _ => None,
    };
    match expected {
        Some(keep) if sum.captured != booking.total || net != keep => problems.push(format!(
            "booking {} ({}): the ledger keeps {net}, the booking says {keep}",
            booking.id, booking.status
        )),
        None if net != 0 => problems.push(format!(
            "booking {} ({}): {net} kept for a booking that keeps nothing",
            booking.id, booking.status
        )),
        _ => {}
    }
}

/// The host is owed exactly its share net of refunds, and paid no more.
fn host_owed_its_share(booking: &Booking, sum: &Sums, problems: &mut Vec<String>) {
    let host_due = if sum.captured == booking.total {
        host_net(booking, sum.refunded)
    } else {
        0
    };
    if sum.host != host_due {
        problems.push(format!(
            "booking {}: host owed {} in the ledger, {host_due} by the booking",
            booking.id, sum.host
        ));
    }
    if sum.paid > host_due {
        problems.push(format!(
            "booking {}: {} paid out to the host, only {host_due} owed",
            booking.id, sum.paid
        ));
    }
}

/// The processor never sends back more than was refunded.
fn sends_back_no_more_than_refunded(booking: &Booking, sum: &Sums, problems: &mut Vec<String>) {
    if sum.sent > sum.refunded {
        problems.push(format!(
            "booking {}: {} sent back, only {} refunded",
            booking.id, sum.sent, sum.refunded
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BookingStatus;
    use crate::ledger::tests::booking;
    use crate::ledger::{Posting, capture, payout, refund};

    fn stored(p: &Posting) -> StoredTransaction {
        StoredTransaction {
            key: p.key.clone(),
            kind: p.kind,
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
        let paid = payout((&b).into(), b.host_payout).unwrap_or_else(|| panic!("payout"));
        assert!(paid.is_balanced());
        assert!(verify(&[b.clone()], &[stored(&c), stored(&paid)]).is_clean());

        // Cancelled with half the stay back: the host is owed half its share.
        b.status = BookingStatus::Cancelled;
        b.refund_amount = Some(11_500);
        let r = refund(&b, 11_500).unwrap_or_else(|| panic!("refund"));
        let owed = host_net(&b, 11_500);
        let fair = payout((&b).into(), owed).unwrap_or_else(|| panic!("payout"));
        assert!(verify(&[b.clone()], &[stored(&c), stored(&r), stored(&fair)]).is_clean());
        let report = verify(&[b], &[stored(&c), stored(&r), stored(&paid)]);
        assert!(
            !report.is_clean(),
            "paying the whole share after a refund is caught"
        );
    }
}
