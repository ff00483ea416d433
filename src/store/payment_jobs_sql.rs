//! The payments outbox, one macro for both backends: payment jobs are rows
//! of the job queue (`jobs`, kind `payment.<kind>`, with the booking they
//! move money for), claimed by its workers like any job. Here is what is
//! theirs alone: the engine's side (`PaymentJobStore`: lease one by key to
//! run it at once, load a claimed one with its booking, finish it with its
//! effects) and the service layer's (`OutboxStore`). A job is written in
//! the transaction of the decision that asks for it; its unique key makes a
//! second request for the same decision a no-op. What a finished job means
//! for the books is decided by the engine (`JobEffects`) and only persisted
//! here, in the transaction that marks the job done.

macro_rules! impl_payment_job_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use innkeep_actors::domain::Currency;
            use innkeep_actors::payments::{FIRST_ATTEMPT_GRACE, MAX_ATTEMPTS};
            use innkeep_actors::ports::{
                JobEffects, JobOutcome, NewPaymentJob, PaymentJob, PaymentJobKind, PortError,
            };
            use sqlx::types::Json;
            use serde_json::Value;
            use uuid::Uuid;

            use $crate::domain::jobs::JobStatus;
            use $crate::store::{PaymentJobRow, StoreResult};

            /// The amount a payment job's payload carries.
            fn amount(payload: &Value) -> Option<i64> {
                payload.get("amount").and_then(Value::as_i64)
            }

            impl $store {
                /// Records `job` unless its key exists. Due for the queue's
                /// workers after a grace: the decision runs it first.
                pub(crate) async fn insert_payment_job(
                    tx: &mut sqlx::Transaction<'static, $db>,
                    job: &NewPaymentJob,
                ) -> Result<bool, sqlx::Error> {
                    // The queue keeps the system clock (`crate::jobs`).
                    let now = Utc::now();
                    let due = now
                        + chrono::Duration::from_std(FIRST_ATTEMPT_GRACE)
                            .unwrap_or(chrono::Duration::seconds(5));
                    let done = sqlx::query(
                        "INSERT INTO jobs (id, key, kind, payload, status, attempts, max_attempts, run_at, \
                         created_at, booking_id) \
                         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(Uuid::now_v7())
                    .bind(job.key())
                    .bind(job.kind.job_kind())
                    .bind(Json(serde_json::json!({ "amount": job.amount })))
                    .bind(MAX_ATTEMPTS)
                    .bind(due)
                    .bind(now)
                    .bind(job.booking_id)
                    .execute(&mut **tx)
                    .await?;
                    if job.kind == PaymentJobKind::Payout {
                        // Decided: no longer due (bookings_payout_due_idx).
                        sqlx::query("UPDATE bookings SET payout_due = FALSE WHERE id = $1")
                            .bind(job.booking_id)
                            .execute(&mut **tx)
                            .await?;
                    }
                    Ok(done.rows_affected() == 1)
                }
            }

            /// The job with what running it needs from its booking.
            async fn load_payment_job<'e, E>(conn: E, id: Uuid) -> Result<Option<PaymentJob>, sqlx::Error>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                type Row = (
                    Uuid, String, String, Uuid, Json<Value>, i32, Option<String>,
                    Option<String>, Uuid, Uuid, String, i64,
                );
                let row: Option<Row> = sqlx::query_as(
                    "SELECT j.id, j.key, j.kind, j.booking_id, j.payload, j.attempts, j.worker, \
                     b.payment_intent_id, b.host_id, b.guest_id, b.currency, b.total \
                     FROM jobs j JOIN bookings b ON b.id = j.booking_id WHERE j.id = $1",
                )
                .bind(id)
                .fetch_optional(conn)
                .await?;
                Ok(row.and_then(
                    |(id, key, kind, booking_id, payload, attempts, worker, intent_id, host_id, guest_id, currency, booking_total)| {
                        Some(PaymentJob {
                            id,
                            key,
                            kind: PaymentJobKind::from_job_kind(&kind)?,
                            booking_id,
                            amount: amount(&payload.0)?,
                            // Attempts made before this one (claimed: counted).
                            attempts: attempts.saturating_sub(1).max(0),
                            holder: worker.unwrap_or_default(),
                            intent_id,
                            host_id,
                            guest_id,
                            currency: Currency::parse(&currency).ok()?,
                            booking_total,
                        })
                    },
                ))
            }

            #[async_trait::async_trait]
            impl innkeep_actors::ports::PaymentJobStore for $store {
                async fn lease_payment_job(
                    &self,
                    key: &str,
                    holder: &str,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                ) -> Result<Option<PaymentJob>, PortError> {
                    let fail = $crate::store::port_error;
                    let mut tx = self.begin_write().await.map_err(fail)?;
                    let id: Option<Uuid> = sqlx::query_scalar(
                        "UPDATE jobs SET status = 'running', attempts = attempts + 1, run_at = $2, worker = $3 \
                         WHERE key = $1 AND attempts < max_attempts \
                         AND (status = 'queued' OR (status = 'running' AND run_at <= $4)) RETURNING id",
                    )
                    .bind(key)
                    .bind(lease_until)
                    .bind(holder)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(fail)?;
                    let job = match id {
                        Some(id) => load_payment_job(&mut *tx, id).await.map_err(fail)?,
                        None => None,
                    };
                    tx.commit().await.map_err(fail)?;
                    Ok(job)
                }

                async fn payment_job(&self, id: Uuid) -> Result<Option<PaymentJob>, PortError> {
                    load_payment_job(self.writer(), id).await.map_err($crate::store::port_error)
                }

                async fn finish_payment_job(
                    &self,
                    job: &PaymentJob,
                    outcome: &JobOutcome,
                    effects: &JobEffects,
                    finished_at: DateTime<Utc>,
                ) -> Result<(), PortError> {
                    let fail = $crate::store::port_error;
                    let (error, retry_at) = match outcome {
                        JobOutcome::Succeeded(reference) => {
                            let mut tx = self.begin_write().await.map_err(fail)?;
                            let done = sqlx::query(
                                "UPDATE jobs SET status = 'done', finished_at = $2, result = $3, worker = NULL \
                                 WHERE id = $1 AND status = 'running' AND worker = $4",
                            )
                            .bind(job.id)
                            .bind(finished_at)
                            .bind(reference)
                            .bind(&job.holder)
                            .execute(&mut *tx)
                            .await
                            .map_err(fail)?;
                            // The effects belong to the attempt that finished the job.
                            if done.rows_affected() == 1 {
                                if let Some(posting) = &effects.posting {
                                    <$store>::insert_posting(&mut tx, posting, finished_at).await.map_err(fail)?;
                                }
                                if let Some(notice) = &effects.notice {
                                    <$store>::insert_notice(&mut tx, notice, finished_at).await.map_err(fail)?;
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
                            return tx.commit().await.map_err(fail);
                        }
                        JobOutcome::Failed(reason) => (reason, None),
                        JobOutcome::Retry { error, retry_at } => (error, Some(*retry_at)),
                    };
                    // As any job's failure: queued again after backoff, or dead.
                    <$store as $crate::store::JobStore>::fail_job(
                        self, &job.holder, job.id, error, retry_at, Utc::now(),
                    )
                    .await
                    .map_err(|e| match e {
                        $crate::store::StoreError::Unavailable(m) => PortError::unavailable(m),
                        other => PortError::new(other.to_string()),
                    })?;
                    Ok(())
                }
            }

            #[async_trait::async_trait]
            impl $crate::store::OutboxStore for $store {
                async fn enqueue_payment_job(&self, job: &NewPaymentJob) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let inserted = <$store>::insert_payment_job(&mut tx, job).await?;
                    tx.commit().await?;
                    Ok(inserted)
                }

                async fn payment_jobs_of(&self, booking_id: Uuid) -> StoreResult<Vec<PaymentJobRow>> {
                    let rows: Vec<(String, Json<Value>, i32, String, Option<String>, Option<String>)> =
                        sqlx::query_as(
                            "SELECT kind, payload, attempts, status, result, last_error \
                             FROM jobs WHERE booking_id = $1 ORDER BY created_at, id",
                        )
                        .bind(booking_id)
                        .fetch_all(self.reader())
                        .await?;
                    Ok(rows
                        .into_iter()
                        .filter_map(|(kind, payload, attempts, status, result, last_error)| {
                            Some(PaymentJobRow {
                                kind: PaymentJobKind::from_job_kind(&kind)?,
                                amount: amount(&payload.0)?,
                                attempts,
                                status: JobStatus::parse(&status)?,
                                result,
                                last_error,
                            })
                        })
                        .collect())
                }
            }
        };
    };
}

pub(super) use impl_payment_job_store;
