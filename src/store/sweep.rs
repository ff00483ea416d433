//! What the time-driven sweep looks for, and what it forgets.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::Booking;
use uuid::Uuid;

use super::StoreResult;

/// What the time-driven sweep looks for.
#[async_trait]
pub trait SweepStore: Send + Sync + 'static {
    /// Which steps have anything due by `at` (one probe of each step's
    /// index, `periodic_sql::DUE_WORK`): a pass runs only those.
    async fn due_work(&self, at: &SweepCutoffs) -> StoreResult<DueWork>;
    /// Unpaid holds and unanswered requests to book whose time is up:
    /// (booking id, property id).
    async fn due_holds(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Unpaid holds made before `created_before` that never recorded their
    /// payment intent (the process stopped between creating and recording it).
    async fn holds_without_intent(
        &self,
        created_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Uuid>>;
    /// Confirmed stays checked out by `today`: (booking id, property id).
    async fn finished_stays(&self, today: NaiveDate, limit: u32) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Stays checked in by `checked_in_by` whose host is owed a payout not
    /// yet decided (`payout_due`, set when the capture is posted).
    async fn payouts_due(&self, checked_in_by: NaiveDate, limit: u32) -> StoreResult<Vec<Booking>>;
    /// The booking owes its host nothing more (nothing left to pay out).
    async fn payout_settled(&self, booking_id: Uuid) -> StoreResult<()>;
    /// Confirmed stays that check in on `day` whose guest has no check-in
    /// reminder yet: (booking, guest).
    async fn checkins_to_remind(
        &self,
        day: NaiveDate,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Records check-in reminders (one per booking) and that their
    /// bookings were reminded; how many were new.
    async fn record_reminders(
        &self,
        notices: &[innkeep_actors::ports::Notice],
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Intents whose capture job succeeded after `done_after` but whose
    /// booking has no capture in the ledger (the acceptance never recorded)
    /// and that were not reconciled since.
    async fn captures_unposted(
        &self,
        done_after: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<String>>;
    /// The capture of this intent was reconciled: not looked at again.
    async fn capture_settled(&self, intent_id: &str) -> StoreResult<()>;
    /// Forgets what is kept only for a while: idempotency keys made before
    /// `cutoffs.idempotency_keys`, refresh tokens expired before
    /// `cutoffs.refresh_tokens`, webhook event ids received before
    /// `cutoffs.webhook_events`, finished jobs before `cutoffs.jobs`; at
    /// most `batch` rows of each. Returns how many rows went.
    async fn prune(&self, cutoffs: &Retention, batch: u32) -> StoreResult<u64>;
}

/// What the sweep's steps count as due, from one reading of the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepCutoffs {
    /// Holds and requests expiring by now lapse.
    pub now: DateTime<Utc>,
    /// Holds made before this without their intent recorded are looked up.
    pub intents_before: DateTime<Utc>,
    /// Stays checked out by today complete.
    pub today: NaiveDate,
    /// Captures done after this and not posted are reconciled.
    pub captures_after: DateTime<Utc>,
    /// Stays checked in by this day are paid out.
    pub checked_in_by: NaiveDate,
    /// Guests checking in on this day are reminded.
    pub tomorrow: NaiveDate,
}

/// Which of the sweep's steps have anything due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct DueWork {
    pub holds: bool,
    pub stays: bool,
    pub intents: bool,
    pub captures: bool,
    pub payouts: bool,
    pub reminders: bool,
}

/// The instants before which kept records are forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub idempotency_keys: DateTime<Utc>,
    pub refresh_tokens: DateTime<Utc>,
    pub webhook_events: DateTime<Utc>,
    /// Finished jobs (done, but for payment jobs, a booking's record of
    /// money moved; and dead periodic ones: the next period redid their
    /// work).
    pub jobs: DateTime<Utc>,
}
