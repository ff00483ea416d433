//! The payments outbox (`payment_jobs`), one macro for both backends: the
//! engine's side (`PaymentJobStore`: lease, finish) and the service
//! layer's (`OutboxStore`). A job is written in the transaction of the
//! decision that asks for it; its unique key makes a second request for
//! the same decision a no-op. What a finished job means for the books is
//! decided by the engine (`JobEffects`) and only persisted here.

macro_rules! impl_payment_job_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use innkeep_actors::domain::Currency;
            use innkeep_actors::ports::{
                JobEffects, JobOutcome, NewPaymentJob, PaymentJob, PaymentJobKind, PortError,
            };
            use uuid::Uuid;

            use $crate::store::{FAILED_OUTCOME, PaymentJobRow, StoreResult};

            impl $store {
                /// Records `job` unless its key exists, due at once.
                pub(crate) async fn insert_payment_job(
                    tx: &mut sqlx::Transaction<'static, $db>,
                    job: &NewPaymentJob,
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
            }

            /// The job with what running it needs from its booking.
            async fn load_payment_job(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: Uuid,
            ) -> Result<Option<PaymentJob>, sqlx::Error> {
                type Row = (Uuid, String, String, Uuid, i64, i32, Option<String>, Uuid, Uuid, String, i64);
                let row: Option<Row> =
                    sqlx::query_as(
                        "SELECT j.id, j.key, j.kind, j.booking_id, j.amount, j.attempts, \
                         b.payment_intent_id, b.host_id, b.guest_id, b.currency, b.total \
                         FROM payment_jobs j JOIN bookings b ON b.id = j.booking_id WHERE j.id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
                Ok(row.and_then(
                    |(id, key, kind, booking_id, amount, attempts, intent_id, host_id, guest_id, currency, booking_total)| {
                        Some(PaymentJob {
                            id,
                            key,
                            kind: PaymentJobKind::parse(&kind)?,
                            booking_id,
                            amount,
                            attempts,
                            intent_id,
                            host_id,
                            guest_id,
                            currency: Currency::parse(&currency).ok()?,
                        booking_total,
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
            ) -> Result<Option<PaymentJob>, sqlx::Error> {
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
                ) -> Result<Vec<PaymentJob>, PortError> {
                    let fail = $crate::store::port_error;
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
                ) -> Result<Option<PaymentJob>, PortError> {
                    let fail = $crate::store::port_error;
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
                    job: &PaymentJob,
                    outcome: &JobOutcome,
                    effects: &JobEffects,
                    now: DateTime<Utc>,
                ) -> Result<(), PortError> {
                    let fail = $crate::store::port_error;
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
                            // The effects belong to the attempt that finished the job.
                            if done.rows_affected() == 1 {
                                if let Some(posting) = &effects.posting {
                                    <$store>::insert_posting(&mut tx, posting, now).await.map_err(fail)?;
                                }
                                if let Some(notice) = $crate::notifications::on_payment_job(job) {
                                    <$store>::insert_notice(&mut tx, &notice, now).await.map_err(fail)?;
                                }
                                if let Some(status) = effects.payment_status {
                                    sqlx::query("UPDATE bookings SET payment_status = $2 WHERE id = $1")
                                        .bind(job.booking_id)
                                        .bind(status.as_str())
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
                            .bind(FAILED_OUTCOME)
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
                    job: &NewPaymentJob,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let inserted = <$store>::insert_payment_job(&mut tx, job, now).await?;
                    tx.commit().await?;
                    Ok(inserted)
                }

                async fn payment_jobs_of(
                    &self,
                    booking_id: Uuid,
                ) -> StoreResult<Vec<PaymentJobRow>> {
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
                        .filter_map(|(kind, amount, attempts, outcome, last_error, done)| {
                            Some(PaymentJobRow {
                                kind: PaymentJobKind::parse(&kind)?,
                                amount,
                                attempts,
                                outcome,
                                last_error,
                                done,
                            })
                        })
                        .collect())
                }
            }
        };
    };
}

pub(super) use impl_payment_job_store;
