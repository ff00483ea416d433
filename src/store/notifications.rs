//! A user's notifications (`notifications`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::notifications::{Notification, ReadWhich};

/// A user's notifications (`crate::notifications`); they are written by
/// the booking changes themselves (`CalendarStore`).
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Newest first, before the id `before`, only unread ones if asked.
    async fn notifications(
        &self,
        user_id: Uuid,
        unread: bool,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;
    /// Claims up to `limit` notifications created after `since` and not
    /// e-mailed yet (nor claimed by another sender) until `lease_until`,
    /// each with its user's address and name.
    async fn claim_unsent_emails(
        &self,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(Notification, String, String)>>;
    /// Records that the notification's e-mail went out.
    async fn mark_emailed(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Marks the user's unread ones among `which` read at `now`; how many.
    async fn mark_notifications_read(
        &self,
        user_id: Uuid,
        which: &ReadWhich,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
}
