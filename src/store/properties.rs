//! Listings and search (`properties`).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::properties::{Property, PropertyQuery};

/// Listings and their search.
#[async_trait]
pub trait PropertyStore: Send + Sync + 'static {
    async fn insert_property(&self, property: &Property) -> StoreResult<()>;
    async fn property(&self, id: Uuid) -> StoreResult<Option<Property>>;
    /// The properties among `ids` that exist, in one query (at most 100 ids).
    async fn properties_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Property>>;
    async fn update_property(&self, property: &Property) -> StoreResult<()>;
    /// Unlists the property unless an active booking ends after `today`.
    async fn unlist_property(
        &self,
        id: Uuid,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// One page (`query.limit + 1` rows, so the caller knows if there is more).
    async fn search_properties(&self, query: &PropertyQuery) -> StoreResult<Vec<Property>>;
    /// Tells other processes that a property changed (its price, rules or
    /// listing), so they drop what they cached of it; the same channel as
    /// calendar changes. A no-op on SQLite.
    async fn announce_property_change(&self, id: Uuid) -> anyhow::Result<()>;
}
