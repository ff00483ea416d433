//! The job queue (`jobs`), one macro for both backends. The claim differs
//! by a clause: PostgreSQL's `SKIP_LOCKED` lets concurrent workers pass
//! each other's rows; SQLite's one writer needs none.

macro_rules! impl_job_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use $crate::domain::jobs::{Job, JobCounts, JobStatus, NewJob};
            use $crate::store::StoreResult;

            const JOB_COLUMNS: &str = "id, key, kind, payload, status, attempts, max_attempts, run_at, \
                                       worker, last_error, created_at, finished_at, booking_id, result";
            /// Rows per multi-row INSERT (9 binds each, under SQLite's 32,766).
            const ENQUEUE_CHUNK: usize = 1_000;

            fn push_insert(qb: &mut sqlx::QueryBuilder<$db>, jobs: &[NewJob], now: DateTime<Utc>) {
                qb.push("INSERT INTO jobs (id, key, kind, payload, status, attempts, max_attempts, run_at, created_at) ");
                qb.push_values(jobs, |mut row, job| {
                    row.push_bind(Uuid::now_v7())
                        .push_bind(job.key.clone())
                        .push_bind(job.kind.clone())
                        .push_bind(sqlx::types::Json(job.payload.clone()))
                        .push_bind("queued")
                        .push_bind(0_i32)
                        .push_bind(job.max_attempts)
                        .push_bind(job.run_at)
                        .push_bind(now);
                });
                qb.push(" ON CONFLICT (key) DO NOTHING");
            }

            #[async_trait::async_trait]
            impl $crate::store::JobStore for $store {
                async fn enqueue(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<bool> {
                    Ok(self.enqueue_many(std::slice::from_ref(job), now).await? == 1)
                }

                async fn enqueue_many(&self, jobs: &[NewJob], now: DateTime<Utc>) -> StoreResult<u64> {
                    let mut added = 0;
                    for chunk in jobs.chunks(ENQUEUE_CHUNK) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new("");
                        push_insert(&mut qb, chunk, now);
                        added += qb.build().execute(self.writer()).await?.rows_affected();
                    }
                    Ok(added)
                }

                async fn reap_lapsed(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                    Ok(sqlx::query($crate::store::periodic_sql::JOBS_LAPSED)
                        .bind(now)
                        .execute(self.writer())
                        .await?
                        .rows_affected())
                }

                async fn claim_jobs(
                    &self,
                    worker: &str,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                    limit: u32,
                ) -> StoreResult<Vec<Job>> {
                    let sql = sqlx::AssertSqlSafe($crate::store::periodic_sql::jobs_claim(
                        Self::SKIP_LOCKED,
                        JOB_COLUMNS,
                    ));
                    let mut jobs: Vec<Job> = sqlx::query_as(sql)
                        .bind(lease_until)
                        .bind(worker)
                        .bind(now)
                        .bind(i64::from(limit))
                        .fetch_all(self.writer())
                        .await?;
                    jobs.sort_by_key(|j| (j.created_at, j.id));
                    Ok(jobs)
                }

                async fn complete_jobs(&self, worker: &str, ids: &[Uuid], now: DateTime<Utc>) -> StoreResult<u64> {
                    if ids.is_empty() {
                        return Ok(0);
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE jobs SET status = 'done', finished_at = ",
                    );
                    qb.push_bind(now)
                        .push(", worker = NULL WHERE status = 'running' AND worker = ")
                        .push_bind(worker.to_owned())
                        .push(" AND id IN (");
                    let mut list = qb.separated(", ");
                    for id in ids {
                        list.push_bind(*id);
                    }
                    qb.push(")");
                    Ok(qb.build().persistent(false).execute(self.writer()).await?.rows_affected())
                }

                async fn fail_job(
                    &self,
                    worker: &str,
                    id: Uuid,
                    error: &str,
                    retry_at: Option<DateTime<Utc>>,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<JobStatus>> {
                    let give_up = retry_at.is_none();
                    let status: Option<String> = sqlx::query_scalar(
                        "UPDATE jobs SET \
                         status = CASE WHEN $1 OR attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
                         finished_at = CASE WHEN $1 OR attempts >= max_attempts THEN $2 END, \
                         run_at = COALESCE($3, $2), last_error = $4, worker = NULL \
                         WHERE id = $5 AND status = 'running' AND worker = $6 RETURNING status",
                    )
                    .bind(give_up)
                    .bind(now)
                    .bind(retry_at)
                    .bind(error)
                    .bind(id)
                    .bind(worker)
                    .fetch_optional(self.writer())
                    .await?;
                    Ok(status.as_deref().and_then(JobStatus::parse))
                }

                async fn end_failed_pass(
                    &self,
                    worker: &str,
                    id: Uuid,
                    error: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let ended = sqlx::query(
                        "UPDATE jobs SET status = 'done', finished_at = $1, last_error = $2, worker = NULL \
                         WHERE id = $3 AND status = 'running' AND worker = $4",
                    )
                    .bind(now)
                    .bind(error)
                    .bind(id)
                    .bind(worker)
                    .execute(self.writer())
                    .await?;
                    Ok(ended.rows_affected() == 1)
                }

                async fn jobs(&self, status: Option<JobStatus>, limit: u32) -> StoreResult<Vec<Job>> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {JOB_COLUMNS} FROM jobs"));
                    if let Some(status) = status {
                        qb.push(" WHERE status = ").push_bind(status.as_str());
                    }
                    qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
                    Ok(qb.build_query_as::<Job>().fetch_all(self.reader()).await?)
                }

                async fn job(&self, id: Uuid) -> StoreResult<Option<Job>> {
                    let sql = sqlx::AssertSqlSafe(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"));
                    Ok(sqlx::query_as::<_, Job>(sql).bind(id).fetch_optional(self.reader()).await?)
                }

                async fn retry_job(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $1, finished_at = NULL, \
                         worker = NULL WHERE id = $2 AND status IN ('dead', 'queued')",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(self.writer())
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn job_counts(&self) -> StoreResult<JobCounts> {
                    counts(self.reader(), "SELECT status, COUNT(*) FROM jobs GROUP BY status").await
                }

                async fn job_backlog(&self) -> StoreResult<JobCounts> {
                    counts(
                        self.reader(),
                        "SELECT 'queued', COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND status = 'queued' \
                         UNION ALL SELECT 'running', COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND status = 'running' \
                         UNION ALL SELECT 'dead', COUNT(*) FROM jobs WHERE status = 'dead'",
                    )
                    .await
                }
            }

            /// Counts by status from `sql` (rows of status and count).
            async fn counts(pool: &sqlx::Pool<$db>, sql: &'static str) -> StoreResult<JobCounts> {
                let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(pool).await?;
                let mut counts = JobCounts::default();
                for (status, n) in rows {
                    match JobStatus::parse(&status) {
                        Some(JobStatus::Queued) => counts.queued = n,
                        Some(JobStatus::Running) => counts.running = n,
                        Some(JobStatus::Done) => counts.done = n,
                        Some(JobStatus::Dead) => counts.dead = n,
                        None => {}
                    }
                }
                Ok(counts)
            }
        };
    };
}

pub(super) use impl_job_store;
