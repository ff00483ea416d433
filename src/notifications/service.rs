//! The notification service, shared by REST (and later GraphQL).

use std::sync::Arc;

use innkeep_actors::Clock;
use uuid::Uuid;

use super::{Notification, ReadInput, ReadWhich};
use crate::error::{AppError, AppResult, Validator};
use crate::store::NotificationStore;

/// At most this many ids in one `read` request.
pub const MAX_READ_IDS: usize = crate::schema::READ_IDS_MAX;

/// A page of notifications and the cursor of the next one.
pub struct NotificationsPage {
    pub notifications: Vec<Notification>,
    pub next: Option<Uuid>,
}

#[derive(Clone)]
pub struct NotificationService {
    store: Arc<dyn NotificationStore>,
    clock: Arc<dyn Clock>,
}

impl NotificationService {
    pub fn new(store: Arc<dyn NotificationStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The user's notifications, newest first, after `before` (a cursor),
    /// only unread ones if asked.
    pub async fn list(
        &self,
        user_id: Uuid,
        unread: bool,
        before: Option<Uuid>,
        limit: u32,
    ) -> AppResult<NotificationsPage> {
        let mut notifications = self
            .store
            .notifications(user_id, unread, before, limit + 1)
            .await?;
        let more = notifications.len() > limit as usize;
        notifications.truncate(limit as usize);
        let next = notifications.last().filter(|_| more).map(|n| n.id);
        Ok(NotificationsPage {
            notifications,
            next,
        })
    }

    /// Marks the user's notifications read: `{ids}` (ids that are not the
    /// user's are ignored, as are ones read already) or `{all: true}`.
    pub async fn mark_read(&self, user_id: Uuid, input: ReadInput) -> AppResult<u64> {
        let which = check(input)?;
        Ok(self
            .store
            .mark_notifications_read(user_id, &which, self.clock.now())
            .await?)
    }
}

fn check(input: ReadInput) -> Result<ReadWhich, AppError> {
    let mut v = Validator::default();
    let which = match (input.ids, input.all) {
        (Some(ids), None | Some(false)) if ids.len() <= MAX_READ_IDS => ReadWhich::These(ids),
        (Some(_), None | Some(false)) => {
            v.fail("ids", format!("at most {MAX_READ_IDS} at once"));
            ReadWhich::These(Vec::new())
        }
        (None, Some(true)) => ReadWhich::All,
        (Some(_), Some(true)) => {
            v.fail("all", "give either ids or all, not both");
            ReadWhich::All
        }
        (None, None | Some(false)) => {
            v.fail("ids", "give the ids to mark read, or all: true");
            ReadWhich::All
        }
    };
    v.finish()?;
    Ok(which)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(ids: Option<usize>, all: Option<bool>) -> ReadInput {
        ReadInput {
            ids: ids.map(|n| (0..n).map(|_| Uuid::now_v7()).collect()),
            all,
        }
    }

    #[test]
    fn read_takes_ids_or_all_but_not_both_nor_neither() {
        assert!(matches!(check(input(Some(2), None)), Ok(ReadWhich::These(ids)) if ids.len() == 2));
        assert!(matches!(
            check(input(Some(0), Some(false))),
            Ok(ReadWhich::These(_))
        ));
        assert_eq!(check(input(None, Some(true))).ok(), Some(ReadWhich::All));
        assert!(check(input(Some(1), Some(true))).is_err());
        assert!(check(input(None, None)).is_err());
        assert!(check(input(None, Some(false))).is_err());
        assert!(check(input(Some(101), None)).is_err());
    }
}
