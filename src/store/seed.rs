//! `innkeep seed`'s bulk writes.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::Booking;
use innkeep_actors::ledger::Posting;
use uuid::Uuid;

use super::{NewUser, StoreResult};
use crate::domain::properties::Property;
use crate::domain::reviews::NewReview;

/// An unavailable range to seed.
pub struct SeedEntry {
    pub id: Uuid,
    pub property_id: Uuid,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// `booking` (same id as its booking) or `block`.
    pub kind: &'static str,
    pub reason: Option<&'static str>,
    pub created_at: DateTime<Utc>,
}

/// One batch of demo data, written in one transaction.
#[derive(Default)]
pub struct SeedBatch {
    pub users: Vec<NewUser>,
    pub properties: Vec<Property>,
    pub entries: Vec<SeedEntry>,
    pub bookings: Vec<Booking>,
    /// Ledger transactions: id, posting, when.
    pub postings: Vec<(Uuid, Posting, DateTime<Utc>)>,
    /// Payouts already made: booking, amount, when.
    pub payouts: Vec<(Uuid, i64, DateTime<Utc>)>,
    pub reviews: Vec<NewReview>,
}

/// `innkeep seed`'s bulk writes: many rows a statement.
#[async_trait]
pub trait SeedStore: Send + Sync + 'static {
    async fn insert_seed_batch(&self, batch: &SeedBatch) -> StoreResult<()>;
}
