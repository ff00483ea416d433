//! Reviews, responses and ratings (`reviews`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::reviews::{NewReview, Review};

/// Reviews and responses.
#[async_trait]
pub trait ReviewStore: Send + Sync + 'static {
    /// Writes the review and, for a guest's review of a stay, adds it to
    /// the property's rating, in one transaction. A second review of one
    /// side of one booking is `Conflict`.
    async fn insert_review(&self, review: &NewReview) -> StoreResult<Review>;
    async fn review(&self, id: Uuid) -> StoreResult<Option<Review>>;
    /// Sets the host's answer unless it has one; `None` if it had.
    async fn respond_to_review(
        &self,
        id: Uuid,
        comment: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Review>>;
    /// Guests' reviews of a property, newest first: `limit + 1` rows with
    /// ids below `before`.
    async fn property_reviews(
        &self,
        property_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Review>>;
    /// What hosts wrote about a guest, newest first, the same way.
    async fn guest_reviews(
        &self,
        guest_id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Review>>;
    /// The newest `per_property` guests' reviews of each of `properties`,
    /// in one query (GraphQL's batched `property.reviews`).
    async fn latest_reviews(
        &self,
        properties: &[Uuid],
        per_property: u32,
    ) -> StoreResult<Vec<Review>>;
}
