//! The ledger's postings and balances, and the Stripe event ids seen.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::Booking;
use innkeep_actors::ledger::{Posting, StoredTransaction};
use uuid::Uuid;

use super::StoreResult;

/// One sum of a host's payable account: by currency, payout or not, and
/// whether the stay has begun (`due`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceRow {
    pub currency: String,
    pub payout: bool,
    pub due: bool,
    pub amount: i64,
}

/// The ledger (append only).
#[async_trait]
pub trait LedgerStore: Send + Sync + 'static {
    /// Posts one balanced transaction unless its key was posted; `true` if new.
    async fn post(&self, posting: &Posting, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Sums of the host's payable account; `due` when check-in ≤ `payable_from`.
    async fn host_balance_rows(
        &self,
        host_id: Uuid,
        payable_from: NaiveDate,
    ) -> StoreResult<Vec<BalanceRow>>;
    /// Every booking that has or should have money in the ledger, and every
    /// ledger transaction, read in one snapshot.
    async fn ledger_snapshot(&self) -> StoreResult<(Vec<Booking>, Vec<StoredTransaction>)>;
}

/// The Stripe events handled, by id.
#[async_trait]
pub trait WebhookEventStore: Send + Sync + 'static {
    async fn webhook_event_seen(&self, id: &str) -> StoreResult<bool>;
    /// Records a handled event id; `false` if it was recorded before.
    async fn record_webhook_event(
        &self,
        id: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}
