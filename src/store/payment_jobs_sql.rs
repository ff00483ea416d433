//! Shared SQL for the payments outbox (`payment_jobs`) and the dev
//! gateway's refunds, one macro for both backends (as `sql.rs`). A job is
//! written in the transaction of the decision that asks for it; its unique
//! key makes a second request for the same decision a no-op.

macro_rules! impl_payment_job_store {
    ($store:ty, $db:ty) => {
        /// Records `job` unless its key exists, due at once.
        async fn insert_payment_job(
            tx: &mut sqlx::Transaction<'static, $db>,
            job: &innkeep_actors::ports::NewPaymentJob,
            now: DateTime<Utc>,
        ) -> Result<bool, sqlx::Error> {
            let done = sqlx::query(
                "INSERT INTO payment_jobs (id, key, kind, booking_id, amount, attempts, run_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (key) DO NOTHING",
            )
            .bind(Uuid::now_v7())
            .bind(job.key())
            .bind(job.kind.as_str())
            .bind(job.booking_id)
            .bind(job.amount)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        /// The job with what running it needs from its booking.
        async fn load_payment_job(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: Uuid,
        ) -> Result<Option<innkeep_actors::ports::PaymentJob>, sqlx::Error> {
            let row: Option<(Uuid, String, String, Uuid, i64, i32, Option<String>, Uuid, String)> =
                sqlx::query_as(
                    "SELECT j.id, j.key, j.kind, j.booking_id, j.amount, j.attempts, \
                     b.payment_intent_id, b.host_id, b.currency \
                     FROM payment_jobs j JOIN bookings b ON b.id = j.booking_id WHERE j.id = $1",
                )
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
            Ok(row.and_then(
                |(id, key, kind, booking_id, amount, attempts, intent_id, host_id, currency)| {
                    Some(innkeep_actors::ports::PaymentJob {
                        id,
                        key,
                        kind: innkeep_actors::ports::PaymentJobKind::parse(&kind)?,
                        booking_id,
                        amount,
                        attempts,
                        intent_id,
                        host_id,
                        currency: innkeep_actors::domain::Currency::parse(&currency).ok()?,
                    })
                },
            ))
        }

        /// Takes the job `id` unless it is done or an attempt holds it (a
        /// racing process that leased it first has set `leased_until` past
        /// `now`); unless `any_time`, only if its backoff is over.
        async fn lease_one(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: Uuid,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
            any_time: bool,
        ) -> Result<Option<innkeep_actors::ports::PaymentJob>, sqlx::Error> {
            let leased = sqlx::query(
                "UPDATE payment_jobs SET leased_until = $2, attempts = attempts + 1 \
                 WHERE id = $1 AND done_at IS NULL \
                 AND (leased_until IS NULL OR leased_until <= $3) AND ($4 OR run_at <= $3)",
            )
            .bind(id)
            .bind(lease_until)
            .bind(now)
            .bind(any_time)
            .execute(&mut **tx)
            .await?;
            if leased.rows_affected() == 0 {
                return Ok(None);
            }
            let mut job = load_payment_job(tx, id).await?;
            if let Some(job) = job.as_mut() {
                // Attempts made before this one.
                job.attempts -= 1;
            }
            Ok(job)
        }

        #[async_trait::async_trait]
        impl innkeep_actors::ports::PaymentJobStore for $store {
            async fn lease_payment_jobs(
                &self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<innkeep_actors::ports::PaymentJob>, PortError> {
                let fail = |e: sqlx::Error| PortError(e.to_string());
                let mut tx = self.begin_write().await.map_err(fail)?;
                let ids: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM payment_jobs WHERE done_at IS NULL AND run_at <= $1 \
                     AND (leased_until IS NULL OR leased_until <= $1) ORDER BY run_at LIMIT $2",
                )
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(fail)?;
                let mut jobs = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(job) = lease_one(&mut tx, id, now, lease_until, false).await.map_err(fail)? {
                        jobs.push(job);
                    }
                }
                tx.commit().await.map_err(fail)?;
                Ok(jobs)
            }

            async fn lease_payment_job(
                &self,
                key: &str,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
            ) -> Result<Option<innkeep_actors::ports::PaymentJob>, PortError> {
                let fail = |e: sqlx::Error| PortError(e.to_string());
                let mut tx = self.begin_write().await.map_err(fail)?;
                let id: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM payment_jobs WHERE key = $1 AND done_at IS NULL",
                )
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?;
                let job = match id {
                    Some(id) => lease_one(&mut tx, id, now, lease_until, true).await.map_err(fail)?,
                    None => None,
                };
                tx.commit().await.map_err(fail)?;
                Ok(job)
            }

            async fn finish_payment_job(
                &self,
                job: &innkeep_actors::ports::PaymentJob,
                outcome: &innkeep_actors::ports::JobOutcome,
                now: DateTime<Utc>,
            ) -> Result<(), PortError> {
                use innkeep_actors::ports::{JobOutcome, PaymentJobKind};
                let fail = |e: sqlx::Error| PortError(e.to_string());
                let mut tx = self.begin_write().await.map_err(fail)?;
                match outcome {
                    JobOutcome::Succeeded(reference) => {
                        let done = sqlx::query(
                            "UPDATE payment_jobs SET done_at = $2, outcome = $3 \
                             WHERE id = $1 AND done_at IS NULL",
                        )
                        .bind(job.id)
                        .bind(now)
                        .bind(reference)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                        let sql = sqlx::AssertSqlSafe(format!(
                            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = $1"
                        ));
                        let booking = sqlx::query_as::<_, Booking>(sql)
                            .bind(job.booking_id)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(fail)?;
                        if let (1, Some(booking)) = (done.rows_affected(), booking) {
                            let posting = match job.kind {
                                PaymentJobKind::Refund => {
                                    innkeep_actors::ledger::refund_sent(&booking, job.amount)
                                }
                                PaymentJobKind::Payout => {
                                    innkeep_actors::ledger::payout(&booking, job.amount)
                                }
                                PaymentJobKind::CancelIntent | PaymentJobKind::Capture => None,
                            };
                            if let Some(posting) = posting {
                                insert_posting(&mut tx, &posting, now).await.map_err(fail)?;
                            }
                            let status = match job.kind {
                                PaymentJobKind::Refund if job.amount >= booking.total => {
                                    Some("refunded")
                                }
                                PaymentJobKind::Refund => Some("partially_refunded"),
                                PaymentJobKind::CancelIntent => Some("canceled"),
                                // The acceptance (or Stripe's webhook, or the
                                // sweep) confirms the booking and posts it.
                                PaymentJobKind::Capture | PaymentJobKind::Payout => None,
                            };
                            if let Some(status) = status {
                                sqlx::query("UPDATE bookings SET payment_status = $2 WHERE id = $1")
                                    .bind(job.booking_id)
                                    .bind(status)
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(fail)?;
                            }
                        }
                    }
                    JobOutcome::Failed(reason) => {
                        sqlx::query(
                            "UPDATE payment_jobs SET done_at = $2, outcome = $3, last_error = $4 \
                             WHERE id = $1 AND done_at IS NULL",
                        )
                        .bind(job.id)
                        .bind(now)
                        .bind("failed")
                        .bind(reason)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    }
                    JobOutcome::Retry { error, retry_at } => {
                        sqlx::query(
                            "UPDATE payment_jobs SET run_at = $2, leased_until = NULL, last_error = $3 \
                             WHERE id = $1 AND done_at IS NULL",
                        )
                        .bind(job.id)
                        .bind(*retry_at)
                        .bind(error)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    }
                }
                tx.commit().await.map_err(fail)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::OutboxStore for $store {
            async fn enqueue_payment_job(
                &self,
                job: &innkeep_actors::ports::NewPaymentJob,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let inserted = insert_payment_job(&mut tx, job, now).await?;
                tx.commit().await?;
                Ok(inserted)
            }

            async fn payouts_due(
                &self,
                checked_in_by: NaiveDate,
                limit: u32,
            ) -> StoreResult<Vec<Booking>> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {BOOKING_COLUMNS} FROM bookings b \
                     WHERE b.check_in <= $1 \
                     AND (b.status IN ('confirmed', 'completed') \
                          OR (b.status = 'cancelled' AND b.refund_amount IS NOT NULL \
                              AND b.refund_amount < b.subtotal + b.cleaning_fee)) \
                     AND b.payment_status IN ('succeeded', 'partially_refunded', 'refunded') \
                     AND NOT EXISTS (SELECT 1 FROM payment_jobs j \
                                     WHERE j.booking_id = b.id AND j.kind = 'payout') \
                     ORDER BY b.check_in LIMIT $2"
                ));
                Ok(sqlx::query_as::<_, Booking>(sql)
                    .bind(checked_in_by)
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?)
            }

            async fn captures_unposted(
                &self,
                done_after: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT b.payment_intent_id FROM payment_jobs j JOIN bookings b ON b.id = j.booking_id \
                     WHERE j.kind = 'capture' AND j.done_at > $1 AND j.outcome <> 'failed' \
                     AND b.payment_intent_id IS NOT NULL \
                     AND NOT EXISTS (SELECT 1 FROM ledger_transactions t \
                                     WHERE t.booking_id = b.id AND t.kind = 'capture') \
                     ORDER BY j.done_at LIMIT $2",
                )
                .bind(done_after)
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await?)
            }

            async fn payment_jobs_of(
                &self,
                booking_id: Uuid,
            ) -> StoreResult<Vec<$crate::store::PaymentJobRow>> {
                let rows: Vec<(String, i64, i32, Option<String>, Option<String>, bool)> =
                    sqlx::query_as(
                        "SELECT kind, amount, attempts, outcome, last_error, done_at IS NOT NULL \
                         FROM payment_jobs WHERE booking_id = $1 ORDER BY created_at",
                    )
                    .bind(booking_id)
                    .fetch_all(self.reader())
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(kind, amount, attempts, outcome, last_error, done)| {
                        $crate::store::PaymentJobRow {
                            kind,
                            amount,
                            attempts,
                            outcome,
                            last_error,
                            done,
                        }
                    })
                    .collect())
            }

            async fn dev_refund(
                &self,
                intent_id: &str,
                amount: i64,
                key: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<String>> {
                let mut tx = self.begin_write().await?;
                let existing: Option<String> =
                    sqlx::query_scalar("SELECT id FROM dev_refunds WHERE key = $1")
                        .bind(key)
                        .fetch_optional(&mut *tx)
                        .await?;
                if let Some(id) = existing {
                    tx.commit().await?;
                    return Ok(Some(id));
                }
                let moved = sqlx::query(
                    "UPDATE dev_payment_intents SET amount_refunded = amount_refunded + $2 \
                     WHERE id = $1 AND status = 'succeeded' AND amount_refunded + $2 <= amount",
                )
                .bind(intent_id)
                .bind(amount)
                .execute(&mut *tx)
                .await?;
                if moved.rows_affected() == 0 {
                    return Ok(None);
                }
                let id = format!("re_dev_{}", Uuid::now_v7().simple());
                sqlx::query(
                    "INSERT INTO dev_refunds (key, id, intent_id, amount, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(key)
                .bind(&id)
                .bind(intent_id)
                .bind(amount)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(id))
            }
        }
    };
}

pub(super) use impl_payment_job_store;
