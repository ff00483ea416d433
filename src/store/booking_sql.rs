//! Shared SQL for the booking side of the store: the calendar port of the
//! engine (`CalendarStore`), booking reads, idempotency keys and the dev
//! gateway's intents. Same approach as `sql.rs`: one macro, both backends.
//!
//! The overlap guard is one statement on both stores:
//! `INSERT … SELECT … WHERE NOT EXISTS (overlap) ON CONFLICT DO NOTHING`.
//! On SQLite the single writer makes the NOT EXISTS exact; on PostgreSQL a
//! concurrent writer's row is caught by the exclusion constraint, which ON
//! CONFLICT DO NOTHING turns into "no row" instead of an aborted batch.

pub(super) const BOOKING_COLUMNS: &str = "id, property_id, guest_id, host_id, check_in, check_out, \
     guests, status, nights, subtotal, cleaning_fee, service_fee, total, host_payout, currency, \
     instant_book, cancellation_policy, created_at, updated_at, expires_at, payment_provider, \
     payment_intent_id, payment_client_secret, payment_status, refund_amount";

macro_rules! impl_booking_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl innkeep_actors::ports::CalendarStore for $store {
            async fn load_calendar(&self, property_id: Uuid) -> Result<Vec<CalendarEntry>, PortError> {
                let rows: Vec<(Uuid, NaiveDate, NaiveDate, String)> = sqlx::query_as(
                    "SELECT id, start_date, end_date, kind FROM calendar_entries \
                     WHERE property_id = $1 AND active ORDER BY start_date",
                )
                .bind(property_id)
                .fetch_all(self.reader())
                .await
                .map_err(|e| PortError(e.to_string()))?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(id, start, end, kind)| {
                        let kind = if kind == "block" { EntryKind::Block } else { EntryKind::Booking };
                        DateRange::new(start, end).map(|range| CalendarEntry { id, range, kind })
                    })
                    .collect())
            }

            async fn apply_calendar(
                &self,
                property_id: Uuid,
                ops: &[CalendarOp],
                now: DateTime<Utc>,
            ) -> Result<Vec<OpOutcome>, PortError> {
                let fail = |e: sqlx::Error| PortError(e.to_string());
                let mut tx = self.begin_write().await.map_err(fail)?;
                let mut outcomes = Vec::with_capacity(ops.len());
                for op in ops {
                    let outcome = match op {
                        CalendarOp::InsertBooking(b) => {
                            if insert_entry(&mut tx, b.id, property_id, b.check_in, b.check_out, "booking", None, now)
                                .await
                                .map_err(fail)?
                            {
                                insert_booking(&mut tx, b).await.map_err(fail)?;
                                OpOutcome::Applied(Some(b.clone()))
                            } else {
                                OpOutcome::Overlap
                            }
                        }
                        CalendarOp::InsertBlock(block) => {
                            if insert_entry(&mut tx, block.id, property_id, block.start, block.end, "block", block.reason.as_deref(), now)
                                .await
                                .map_err(fail)?
                            {
                                OpOutcome::Applied(None)
                            } else {
                                OpOutcome::Overlap
                            }
                        }
                        CalendarOp::RemoveBlock { block_id } => {
                            let done = sqlx::query(
                                "DELETE FROM calendar_entries WHERE id = $1 AND property_id = $2 AND kind = 'block'",
                            )
                            .bind(block_id)
                            .bind(property_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(fail)?;
                            if done.rows_affected() > 0 { OpOutcome::Applied(None) } else { OpOutcome::NotApplied }
                        }
                        CalendarOp::Transition(t) => {
                            let from = |i: usize| t.from.get(i).or(t.from.first()).map(|s| s.as_str()).unwrap_or("");
                            let sql = sqlx::AssertSqlSafe(format!(
                                "UPDATE bookings SET status = $3, updated_at = $4, expires_at = $5, \
                                 payment_status = COALESCE($6, payment_status), \
                                 refund_amount = COALESCE($7, refund_amount) \
                                 WHERE id = $1 AND property_id = $2 AND status IN ($8, $9, $10) \
                                 RETURNING {BOOKING_COLUMNS}"
                            ));
                            let updated = sqlx::query_as::<_, Booking>(sql)
                                .bind(t.booking_id)
                                .bind(property_id)
                                .bind(t.to.as_str())
                                .bind(now)
                                .bind(t.expires_at)
                                .bind(t.payment_status.as_deref())
                                .bind(t.refund_amount)
                                .bind(from(0))
                                .bind(from(1))
                                .bind(from(2))
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err(fail)?;
                            match updated {
                                Some(booking) => {
                                    for posting in &t.postings {
                                        insert_posting(&mut tx, posting, now).await.map_err(fail)?;
                                    }
                                    for job in &t.jobs {
                                        insert_payment_job(&mut tx, job, now).await.map_err(fail)?;
                                    }
                                    if !t.to.holds_dates() {
                                        sqlx::query("UPDATE calendar_entries SET active = FALSE WHERE id = $1")
                                            .bind(t.booking_id)
                                            .execute(&mut *tx)
                                            .await
                                            .map_err(fail)?;
                                    }
                                    OpOutcome::Applied(Some(Box::new(booking)))
                                }
                                None => OpOutcome::NotApplied,
                            }
                        }
                    };
                    outcomes.push(outcome);
                }
                tx.commit().await.map_err(fail)?;
                if outcomes.iter().any(|o| matches!(o, OpOutcome::Applied(_))) {
                    self.announce_change(property_id);
                }
                Ok(outcomes)
            }
        }

        /// Inserts an active calendar range unless it overlaps one; `true` if inserted.
        #[allow(clippy::too_many_arguments)]
        async fn insert_entry(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: Uuid,
            property_id: Uuid,
            start: NaiveDate,
            end: NaiveDate,
            kind: &str,
            reason: Option<&str>,
            now: DateTime<Utc>,
        ) -> Result<bool, sqlx::Error> {
            let inserted: Option<Uuid> = sqlx::query_scalar(
                "INSERT INTO calendar_entries (id, property_id, start_date, end_date, kind, active, reason, created_at) \
                 SELECT $1, $2, $3, $4, $5, TRUE, $6, $7 \
                 WHERE NOT EXISTS (SELECT 1 FROM calendar_entries WHERE property_id = $2 AND active \
                                   AND start_date < $4 AND end_date > $3) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(id)
            .bind(property_id)
            .bind(start)
            .bind(end)
            .bind(kind)
            .bind(reason)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?;
            Ok(inserted.is_some())
        }

        async fn insert_booking(tx: &mut sqlx::Transaction<'static, $db>, b: &Booking) -> Result<(), sqlx::Error> {
            let sql = sqlx::AssertSqlSafe(format!(
                "INSERT INTO bookings ({BOOKING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                 $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
            ));
            sqlx::query(sql)
                .bind(b.id)
                .bind(b.property_id)
                .bind(b.guest_id)
                .bind(b.host_id)
                .bind(b.check_in)
                .bind(b.check_out)
                .bind(b.guests)
                .bind(b.status.as_str())
                .bind(b.nights)
                .bind(b.subtotal)
                .bind(b.cleaning_fee)
                .bind(b.service_fee)
                .bind(b.total)
                .bind(b.host_payout)
                .bind(b.currency.as_str())
                .bind(b.instant_book)
                .bind(b.cancellation_policy.as_str())
                .bind(b.created_at)
                .bind(b.updated_at)
                .bind(b.expires_at)
                .bind(&b.payment_provider)
                .bind(b.payment_intent_id.as_deref())
                .bind(b.payment_client_secret.as_deref())
                .bind(&b.payment_status)
                .bind(b.refund_amount)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

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
                .bind(&intent.status)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn set_payment_status(&self, booking_id: Uuid, status: &str) -> StoreResult<()> {
                sqlx::query("UPDATE bookings SET payment_status = $2 WHERE id = $1")
                    .bind(booking_id)
                    .bind(status)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn due_holds(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(Uuid, Uuid)>> {
                Ok(sqlx::query_as(
                    "SELECT id, property_id FROM bookings \
                     WHERE status IN ('pending_payment', 'awaiting_host') \
                     AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
                )
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await?)
            }

            async fn holds_without_intent(&self, created_before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Uuid>> {
                // Pending holds are few; bookings_expiring_idx covers them.
                Ok(sqlx::query_scalar(
                    "SELECT id FROM bookings WHERE status = 'pending_payment' \
                     AND payment_intent_id IS NULL AND created_at <= $1 ORDER BY created_at LIMIT $2",
                )
                .bind(created_before)
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await?)
            }

            async fn finished_stays(&self, today: NaiveDate, limit: u32) -> StoreResult<Vec<(Uuid, Uuid)>> {
                Ok(sqlx::query_as(
                    "SELECT id, property_id FROM bookings WHERE status = 'confirmed' \
                     AND check_out <= $1 ORDER BY check_out LIMIT $2",
                )
                .bind(today)
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await?)
            }

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

            async fn dev_intent_create(&self, intent: &DevIntent) -> StoreResult<DevIntent> {
                sqlx::query(
                    "INSERT INTO dev_payment_intents (id, idempotency_key, booking_id, amount, currency, \
                     capture_method, status, amount_refunded, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&intent.id)
                .bind(&intent.idempotency_key)
                .bind(intent.booking_id)
                .bind(intent.amount)
                .bind(&intent.currency)
                .bind(&intent.capture_method)
                .bind(&intent.status)
                .bind(intent.created_at)
                .execute(self.writer())
                .await?;
                let stored = sqlx::query_as::<_, DevIntent>(
                    "SELECT id, idempotency_key, booking_id, amount, currency, capture_method, status, \
                     amount_refunded, created_at FROM dev_payment_intents WHERE idempotency_key = $1",
                )
                .bind(&intent.idempotency_key)
                .fetch_one(self.writer())
                .await?;
                Ok(stored)
            }

            async fn dev_intent(&self, id: &str) -> StoreResult<Option<DevIntent>> {
                Ok(sqlx::query_as::<_, DevIntent>(
                    "SELECT id, idempotency_key, booking_id, amount, currency, capture_method, status, \
                     amount_refunded, created_at FROM dev_payment_intents WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(self.writer())
                .await?)
            }

            async fn dev_intent_update(&self, id: &str, from: &[&str], to: &str) -> StoreResult<bool> {
                let at = |i: usize| from.get(i).or(from.first()).copied().unwrap_or("");
                let done = sqlx::query(
                    "UPDATE dev_payment_intents SET status = $2 WHERE id = $1 AND status IN ($3, $4, $5)",
                )
                .bind(id)
                .bind(to)
                .bind(at(0))
                .bind(at(1))
                .bind(at(2))
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(super) use impl_booking_store;
