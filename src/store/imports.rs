//! Calendar imports and the blocks they own (`imports`).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::imports::{CalendarImport, Span};

/// What a good sync of a calendar import read from its feed.
#[derive(Debug, Clone, Copy)]
pub struct SyncCounts<'a> {
    pub events: i32,
    pub skipped: i32,
    pub warnings: &'a [String],
}

/// Calendar imports (`crate::imports`); their blocks are written through
/// the calendar actors like any other.
#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    async fn insert_import(&self, import: &CalendarImport) -> StoreResult<()>;
    async fn import(&self, id: Uuid) -> StoreResult<Option<CalendarImport>>;
    async fn imports_of(&self, property_id: Uuid) -> StoreResult<Vec<CalendarImport>>;
    /// Claims up to `limit` imports whose next sync is due by `now`
    /// (calendar_imports_due_idx), soonest first, moving it to `until` so
    /// that no other pass takes them meanwhile.
    async fn claim_due_imports(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<CalendarImport>>;
    /// Records a good sync (`ok`): its conflicts, and the events it read,
    /// skipped and warned of.
    async fn record_sync(
        &self,
        id: Uuid,
        conflicts: &[Span],
        read: SyncCounts<'_>,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records a sync that failed with `error`; what the last good one
    /// found stays. The next sync is due at `next`.
    async fn record_failure(
        &self,
        id: Uuid,
        error: &str,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn delete_import(&self, id: Uuid) -> StoreResult<()>;
    /// The active blocks of a property with this reason: (id, start, end).
    async fn import_blocks(
        &self,
        property_id: Uuid,
        reason: &str,
    ) -> StoreResult<Vec<(Uuid, NaiveDate, NaiveDate)>>;
}
