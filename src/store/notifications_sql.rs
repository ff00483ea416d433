//! Notifications (`notifications`), one macro for both backends: written
//! inside a booking change's transaction (`insert_notice`), read and
//! marked read by their user (`NotificationStore`).

macro_rules! impl_notification_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use innkeep_actors::ports::Notice;
            use uuid::Uuid;

            use $crate::domain::notifications::{Notification, ReadWhich};
            use $crate::store::StoreResult;

            const NOTIFICATION_COLUMNS: &str =
                "id, user_id, kind, booking_id, title, body, created_at, read_at";

            impl $store {
                /// Records `notice` in the transaction `tx`, unless its user
                /// has one of its kind for its booking already.
                pub(crate) async fn insert_notice(
                    tx: &mut sqlx::Transaction<'static, $db>,
                    notice: &Notice,
                    now: DateTime<Utc>,
                ) -> Result<(), sqlx::Error> {
                    sqlx::query(
                        "INSERT INTO notifications (id, user_id, kind, booking_id, title, body, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    )
                    .bind(Uuid::now_v7())
                    .bind(notice.user_id)
                    .bind(notice.kind)
                    .bind(notice.booking_id)
                    .bind(&notice.title)
                    .bind(&notice.body)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    Ok(())
                }
            }

            #[async_trait::async_trait]
            impl $crate::store::NotificationStore for $store {
                async fn notifications(
                    &self,
                    user_id: Uuid,
                    unread: bool,
                    before: Option<Uuid>,
                    limit: u32,
                ) -> StoreResult<Vec<Notification>> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = "
                    ));
                    qb.push_bind(user_id);
                    if unread {
                        qb.push(" AND read_at IS NULL");
                    }
                    if let Some(before) = before {
                        qb.push(" AND id < ").push_bind(before);
                    }
                    qb.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
                    Ok(qb.build_query_as::<Notification>().fetch_all(self.reader()).await?)
                }

                async fn claim_unsent_emails(
                    &self,
                    now: DateTime<Utc>,
                    since: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                    limit: u32,
                ) -> StoreResult<Vec<(Notification, String, String)>> {
                    let mut tx = self.begin_write().await?;
                    let sql = sqlx::AssertSqlSafe($crate::store::periodic_sql::emails_claim(
                        Self::SKIP_LOCKED,
                        NOTIFICATION_COLUMNS,
                    ));
                    let claimed: Vec<Notification> = sqlx::query_as(sql)
                        .bind(lease_until)
                        .bind(since)
                        .bind(now)
                        .bind(i64::from(limit))
                        .fetch_all(&mut *tx)
                        .await?;
                    if claimed.is_empty() {
                        tx.commit().await?;
                        return Ok(Vec::new());
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT id, email, name FROM users WHERE id IN (");
                    let mut list = qb.separated(", ");
                    for n in &claimed {
                        list.push_bind(n.user_id);
                    }
                    qb.push(")");
                    let users: Vec<(Uuid, String, String)> =
                        qb.build_query_as().persistent(false).fetch_all(&mut *tx).await?;
                    tx.commit().await?;
                    let users: std::collections::HashMap<Uuid, (String, String)> =
                        users.into_iter().map(|(id, email, name)| (id, (email, name))).collect();
                    Ok(claimed
                        .into_iter()
                        .filter_map(|n| {
                            let (email, name) = users.get(&n.user_id)?.clone();
                            Some((n, email, name))
                        })
                        .collect())
                }

                async fn mark_emailed(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query("UPDATE notifications SET emailed_at = $2 WHERE id = $1")
                        .bind(id)
                        .bind(now)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn mark_notifications_read(
                    &self,
                    user_id: Uuid,
                    which: &ReadWhich,
                    now: DateTime<Utc>,
                ) -> StoreResult<u64> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE notifications SET read_at = ");
                    qb.push_bind(now)
                        .push(" WHERE user_id = ")
                        .push_bind(user_id)
                        .push(" AND read_at IS NULL");
                    if let ReadWhich::These(ids) = which {
                        if ids.is_empty() {
                            return Ok(0);
                        }
                        qb.push(" AND id IN (");
                        let mut list = qb.separated(", ");
                        for id in ids {
                            list.push_bind(*id);
                        }
                        qb.push(")");
                    }
                    Ok(qb.build().persistent(false).execute(self.writer()).await?.rows_affected())
                }
            }
        };
    };
}

pub(super) use impl_notification_store;
