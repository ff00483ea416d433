//! Booking reads and payment records (`BookingStore`), what the sweep
//! looks for (`SweepStore`) and `Idempotency-Key` records
//! (`IdempotencyStore`), one macro for both backends.

macro_rules! impl_booking_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, NaiveDate, Utc};
            use innkeep_actors::domain::{Booking, PaymentStatus};
            use innkeep_actors::ports::PaymentIntent;
            use uuid::Uuid;

            use $crate::store::columns::BOOKING_COLUMNS;
            use $crate::store::{BookingQuery, IdempotencyStart, StoreResult, periodic_sql};

            #[async_trait::async_trait]
            impl $crate::store::BookingStore for $store {
                async fn booking(&self, id: Uuid) -> StoreResult<Option<Booking>> {
                    let sql = sqlx::AssertSqlSafe(format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1"));
                    Ok(sqlx::query_as::<_, Booking>(sql).bind(id).fetch_optional(self.reader()).await?)
                }

                async fn booking_by_intent(&self, intent_id: &str) -> StoreResult<Option<Booking>> {
                    let sql = sqlx::AssertSqlSafe(format!(
                        "SELECT {BOOKING_COLUMNS} FROM bookings WHERE payment_intent_id = $1"
                    ));
                    Ok(sqlx::query_as::<_, Booking>(sql).bind(intent_id).fetch_optional(self.reader()).await?)
                }

                async fn list_bookings(&self, q: &BookingQuery) -> StoreResult<Vec<Booking>> {
                    let party = if q.as_host { "host_id" } else { "guest_id" };
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {BOOKING_COLUMNS} FROM bookings WHERE {party} = "
                    ));
                    qb.push_bind(q.user_id);
                    if let Some(status) = q.status {
                        qb.push(" AND status = ").push_bind(status.as_str());
                    }
                    if let Some(cursor) = q.cursor {
                        qb.push(" AND id < ").push_bind(cursor);
                    }
                    qb.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(q.limit) + 1);
                    Ok(qb.build_query_as::<Booking>().fetch_all(self.reader()).await?)
                }

                async fn set_payment(&self, booking_id: Uuid, intent: &PaymentIntent) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE bookings SET payment_intent_id = $2, payment_client_secret = $3, \
                         payment_status = $4 WHERE id = $1",
                    )
                    .bind(booking_id)
                    .bind(&intent.id)
                    .bind(intent.client_secret.as_deref())
                    .bind(intent.status.as_str())
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn set_payment_status(&self, booking_id: Uuid, status: PaymentStatus) -> StoreResult<()> {
                    sqlx::query("UPDATE bookings SET payment_status = $2 WHERE id = $1")
                        .bind(booking_id)
                        .bind(status.as_str())
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn pending_holds(&self, guest_id: Uuid) -> StoreResult<i64> {
                    // bookings_guest_pending_idx
                    Ok(sqlx::query_scalar(
                        "SELECT COUNT(*) FROM bookings WHERE guest_id = $1 AND status = 'pending_payment'",
                    )
                    .bind(guest_id)
                    .fetch_one(self.reader())
                    .await?)
                }
            }

            #[async_trait::async_trait]
            impl $crate::store::SweepStore for $store {
                async fn due_work(&self, at: &$crate::store::SweepCutoffs) -> StoreResult<$crate::store::DueWork> {
                    Ok(sqlx::query_as(periodic_sql::DUE_WORK)
                        .bind(at.now)
                        .bind(at.intents_before)
                        .bind(at.today)
                        .bind(at.captures_after)
                        .bind(at.checked_in_by)
                        .bind(at.tomorrow)
                        .fetch_one(self.periodic())
                        .await?)
                }

                async fn due_holds(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(Uuid, Uuid)>> {
                    Ok(sqlx::query_as(periodic_sql::DUE_HOLDS)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(self.periodic())
                    .await?)
                }

                async fn holds_without_intent(&self, created_before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Uuid>> {
                    Ok(sqlx::query_scalar(periodic_sql::HOLDS_WITHOUT_INTENT)
                    .bind(created_before)
                    .bind(i64::from(limit))
                    .fetch_all(self.periodic())
                    .await?)
                }

                async fn finished_stays(&self, today: NaiveDate, limit: u32) -> StoreResult<Vec<(Uuid, Uuid)>> {
                    Ok(sqlx::query_as(periodic_sql::FINISHED_STAYS)
                    .bind(today)
                    .bind(i64::from(limit))
                    .fetch_all(self.periodic())
                    .await?)
                }

                async fn payouts_due(
                    &self,
                    checked_in_by: NaiveDate,
                    limit: u32,
                ) -> StoreResult<Vec<Booking>> {
                    let sql = sqlx::AssertSqlSafe(periodic_sql::payouts_due());
                    Ok(sqlx::query_as::<_, Booking>(sql)
                        .bind(checked_in_by)
                        .bind(i64::from(limit))
                        .fetch_all(self.periodic())
                        .await?)
                }

                async fn payout_settled(&self, booking_id: Uuid) -> StoreResult<()> {
                    sqlx::query("UPDATE bookings SET payout_due = FALSE WHERE id = $1")
                        .bind(booking_id)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn checkins_to_remind(&self, day: NaiveDate, limit: u32) -> StoreResult<Vec<(Uuid, Uuid)>> {
                    Ok(sqlx::query_as(periodic_sql::CHECKINS_TO_REMIND)
                    .bind(day)
                    .bind(i64::from(limit))
                    .fetch_all(self.periodic())
                    .await?)
                }

                async fn record_reminders(
                    &self,
                    notices: &[innkeep_actors::ports::Notice],
                    now: DateTime<Utc>,
                ) -> StoreResult<u64> {
                    let mut tx = self.begin_write().await?;
                    for notice in notices {
                        <$store>::insert_notice(&mut tx, notice, now).await?;
                        sqlx::query("UPDATE bookings SET reminded = TRUE WHERE id = $1")
                            .bind(notice.booking_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(notices.len() as u64)
                }

                async fn captures_unposted(
                    &self,
                    done_after: DateTime<Utc>,
                    limit: u32,
                ) -> StoreResult<Vec<String>> {
                    // jobs_capture_unsettled_idx: a capture leaves it when its
                    // booking's capture is posted, or once reconciled.
                    Ok(sqlx::query_scalar(periodic_sql::CAPTURES_UNPOSTED)
                    .bind(done_after)
                    .bind(i64::from(limit))
                    .fetch_all(self.periodic())
                    .await?)
                }

                async fn capture_settled(&self, intent_id: &str) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE jobs SET settled = TRUE WHERE kind = 'payment.capture' AND booking_id = \
                         (SELECT id FROM bookings WHERE payment_intent_id = $1)",
                    )
                    .bind(intent_id)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn prune(&self, cutoffs: &$crate::store::Retention, batch: u32) -> StoreResult<u64> {
                    let statements = periodic_sql::PRUNE.into_iter().zip([
                        cutoffs.idempotency_keys,
                        cutoffs.refresh_tokens,
                        cutoffs.webhook_events,
                        cutoffs.jobs,
                        cutoffs.jobs,
                    ]);
                    let mut pruned = 0;
                    for (sql, before) in statements {
                        pruned += sqlx::query(sql)
                            .bind(before)
                            .bind(i64::from(batch))
                            .execute(self.writer())
                            .await?
                            .rows_affected();
                    }
                    Ok(pruned)
                }
            }

            #[async_trait::async_trait]
            impl $crate::store::IdempotencyStore for $store {
                async fn idempotency_begin(
                    &self,
                    user_id: Uuid,
                    key: &str,
                    request_hash: &[u8],
                    now: DateTime<Utc>,
                ) -> StoreResult<IdempotencyStart> {
                    let claimed = sqlx::query(
                        "INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(user_id)
                    .bind(key)
                    .bind(request_hash)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                    if claimed.rows_affected() == 1 {
                        return Ok(IdempotencyStart::Claimed);
                    }
                    let row: Option<(Vec<u8>, Option<i32>, Option<Vec<u8>>)> = sqlx::query_as(
                        "SELECT request_hash, status_code, response_body FROM idempotency_keys \
                         WHERE user_id = $1 AND key = $2",
                    )
                    .bind(user_id)
                    .bind(key)
                    .fetch_optional(self.writer())
                    .await?;
                    Ok(match row {
                        None => IdempotencyStart::InProgress,
                        Some((hash, _, _)) if hash != request_hash => IdempotencyStart::Mismatch,
                        Some((_, Some(status), Some(body))) => IdempotencyStart::Replay { status: status as u16, body },
                        Some(_) => IdempotencyStart::InProgress,
                    })
                }

                async fn idempotency_finish(&self, user_id: Uuid, key: &str, status: u16, body: &[u8]) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE idempotency_keys SET status_code = $3, response_body = $4 WHERE user_id = $1 AND key = $2",
                    )
                    .bind(user_id)
                    .bind(key)
                    .bind(i32::from(status))
                    .bind(body)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn idempotency_abandon(&self, user_id: Uuid, key: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status_code IS NULL")
                        .bind(user_id)
                        .bind(key)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }
            }
        };
    };
}

pub(super) use impl_booking_store;
