//! The ledger seen from the service layer: a host's balance, `ledger
//! verify`, and posting the money events that do not ride on a booking's
//! state change (refunds confirmed by the processor, late payments returned).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::Clock;
use innkeep_actors::domain::Booking;
use innkeep_actors::ledger::{self, Posting, Report};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppResult;
use crate::store::{BalanceRow, LedgerStore};

/// A host's money, from the ledger: `pending` for stays not begun a day
/// ago, `available` once payable (24 h after check-in) and not yet paid,
/// `paid_out` already sent. Minor units of `currency`.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct Balance {
    pub currency: String,
    pub pending: i64,
    pub available: i64,
    pub paid_out: i64,
}

impl Balance {
    fn empty(currency: &str) -> Self {
        Self {
            currency: currency.to_owned(),
            pending: 0,
            available: 0,
            paid_out: 0,
        }
    }

    fn add(&mut self, row: &BalanceRow) {
        // Credits to the host's account are negative; payouts are debits.
        match (row.payout, row.due) {
            (true, _) => {
                self.paid_out += row.amount;
                self.available -= row.amount;
            }
            (false, true) => self.available -= row.amount,
            (false, false) => self.pending -= row.amount,
        }
    }
}

/// Stays whose host is payable at `now`: those checked in on or before the
/// returned date. Check-in is 15:00 UTC and the host is paid 24 h later, so
/// a stay is payable 39 h after the start of its check-in day.
pub fn payable_from(now: DateTime<Utc>) -> NaiveDate {
    (now - chrono::Duration::hours(39)).date_naive()
}

/// `innkeep ledger verify`.
pub async fn verify(store: &dyn LedgerStore) -> AppResult<Report> {
    let (bookings, transactions) = store.ledger_snapshot().await?;
    Ok(ledger::verify(&bookings, &transactions))
}

#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn LedgerStore>,
    clock: Arc<dyn Clock>,
}

impl Ledger {
    pub fn new(store: Arc<dyn LedgerStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The balance in the currency the host earns most in (a host earning
    /// in several currencies sees the largest; the others stay in the
    /// ledger).
    pub async fn balance(&self, user: Uuid) -> AppResult<Balance> {
        let payable_from = payable_from(self.clock.now());
        let rows = self.store.host_balance_rows(user, payable_from).await?;
        let mut balances: Vec<Balance> = Vec::new();
        for row in &rows {
            let i = match balances.iter().position(|b| b.currency == row.currency) {
                Some(i) => i,
                None => {
                    balances.push(Balance::empty(&row.currency));
                    balances.len() - 1
                }
            };
            balances[i].add(row);
        }
        Ok(balances
            .into_iter()
            .max_by_key(|b| b.pending + b.available + b.paid_out)
            .unwrap_or_else(|| Balance::empty("EUR")))
    }

    /// Posts `posting` on its own (it is keyed, so a repeat is a no-op).
    async fn post(&self, posting: Option<Posting>) -> AppResult<()> {
        if let Some(posting) = posting {
            self.store.post(&posting, self.clock.now()).await?;
        }
        Ok(())
    }

    /// The processor confirmed `amount` went back to the guest.
    pub async fn refund_sent(&self, booking: &Booking, amount: i64) -> AppResult<()> {
        self.post(ledger::refund_sent(booking.into(), amount)).await
    }

    /// Money captured for a booking that no longer keeps it (a payment that
    /// arrived after its hold lapsed, or a capture that lost a race with a
    /// cancellation): capture and full refund, both recorded, so the ledger
    /// shows the money came and went.
    pub async fn returned_in_full(&self, booking: &Booking) -> AppResult<()> {
        self.post(Some(ledger::capture(booking))).await?;
        self.post(ledger::refund(booking, booking.total)).await
    }
}
