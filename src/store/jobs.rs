//! The job queue (`jobs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::jobs::{Job, JobCounts, JobStatus, NewJob};

/// The job queue (`crate::jobs`).
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Records `job` unless its key exists; whether it was new.
    async fn enqueue(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Records many at once (multi-row statements); how many were new.
    async fn enqueue_many(&self, jobs: &[NewJob], now: DateTime<Utc>) -> StoreResult<u64>;
    /// Claims up to `limit` due jobs for `worker` until `lease_until`
    /// (status `running`, one more attempt), oldest due first, skipping
    /// jobs another worker is claiming. One statement.
    /// Jobs whose lease lapsed by `now` with no attempts left (their
    /// worker died on the last attempt) become `dead`, periodic passes
    /// `done` with the reason (`periodic_sql::JOBS_LAPSED`); how many.
    /// Workers call it now and then, not on every claim.
    async fn reap_lapsed(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    async fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Job>>;
    /// Marks these jobs done, if `worker` still holds them; how many.
    async fn complete_jobs(
        &self,
        worker: &str,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Records a failed attempt, if `worker` still holds the job: queued
    /// again at `retry_at`, or `dead` with `None` or no attempts left.
    async fn fail_job(
        &self,
        worker: &str,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<JobStatus>>;
    /// Records the failed pass of a periodic job, if `worker` still holds
    /// it: `done` with its error, never `dead` nor retried (the next
    /// period's job does the same work).
    async fn end_failed_pass(
        &self,
        worker: &str,
        id: Uuid,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Jobs, newest first, of one status or all.
    async fn jobs(&self, status: Option<JobStatus>, limit: u32) -> StoreResult<Vec<Job>>;
    async fn job(&self, id: Uuid) -> StoreResult<Option<Job>>;
    /// Queues a dead (or waiting) job to run now, its attempts reset;
    /// whether it was dead or queued.
    async fn retry_job(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn job_counts(&self) -> StoreResult<JobCounts>;
    /// The counts of queued, running and dead jobs only (`done` is 0):
    /// what a metrics scrape asks, read from the partial indexes rather
    /// than every finished job.
    async fn job_backlog(&self) -> StoreResult<JobCounts>;
}
