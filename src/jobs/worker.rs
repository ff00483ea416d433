//! A worker: schedules the periodic jobs, claims due jobs in batches with a
//! lease, runs each through its kind's handler (several at once), and
//! records the outcomes: the successes of a batch in one statement, each
//! failure with its backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::Notify;
use uuid::Uuid;

use super::{Job, JobError, JobStatus, Periodic, PeriodicStats};
use crate::store::{JobStore, StoreError};

/// Runs the jobs of one kind.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Does the job's work. Idempotent by `job.key`: after a crash the same
    /// job may run again, and its effect must happen once.
    async fn run(&self, job: &Job) -> Result<(), JobError>;
}

/// The handler of each kind.
#[derive(Default, Clone)]
pub struct Handlers {
    by_kind: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl Handlers {
    pub fn with(mut self, kind: &'static str, handler: Arc<dyn JobHandler>) -> Self {
        self.by_kind.insert(kind, handler);
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_kind.keys().copied()
    }
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs claimed at once.
    pub batch: u32,
    /// Jobs of a batch running at once.
    pub concurrency: usize,
    /// How long a claimed job is left to its worker before another may
    /// take it (a worker that died).
    pub lease: Duration,
    /// How long an idle worker waits before looking again (a job enqueued
    /// through `Worker::wake` is looked for at once).
    pub idle_poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            batch: 256,
            concurrency: 32,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(200),
        }
    }
}

/// How often a worker looks for jobs whose worker died on their last
/// attempt (a statement of its own; a claim is one statement).
const REAP_EVERY: Duration = Duration::from_secs(1);

/// Wait before attempt `attempts + 1` after `attempts` failed: the
/// payments outbox's backoff, 1 s doubling to 5 min.
pub fn retry_at(attempts: i32, now: DateTime<Utc>) -> DateTime<Utc> {
    let wait = innkeep_actors::payments::backoff(attempts);
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(5))
}

pub struct Worker {
    store: Arc<dyn JobStore>,
    handlers: Handlers,
    periodic: Vec<Periodic>,
    settings: WorkerSettings,
    /// The passes of the periodic kinds, for `/metrics`.
    stats: Arc<PeriodicStats>,
    /// Who holds the leases this worker takes: unique per worker.
    name: String,
    wake: Arc<Notify>,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub done: u64,
    pub failed: usize,
}

impl Worker {
    pub fn new(
        store: Arc<dyn JobStore>,
        handlers: Handlers,
        periodic: Vec<Periodic>,
        settings: WorkerSettings,
    ) -> Self {
        let name = format!(
            "{}:{}",
            std::process::id(),
            &Uuid::new_v4().simple().to_string()[..8]
        );
        Self {
            store,
            handlers,
            periodic,
            settings,
            stats: Arc::default(),
            name,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Counts the periodic passes into `stats` (the process's `/metrics`).
    pub fn with_stats(mut self, stats: Arc<PeriodicStats>) -> Self {
        self.stats = stats;
        self
    }

    fn periodic_kind(&self, job: &Job) -> Option<&'static str> {
        self.periodic
            .iter()
            .find(|p| p.kind == job.kind)
            .map(|p| p.kind)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Wakes the worker if it is idle (a job was just enqueued here).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs rounds on the current runtime for as long as the process runs.
    pub fn spawn(self) -> actix_web::rt::task::JoinHandle<()> {
        actix_web::rt::spawn(async move { self.run().await })
    }

    async fn run(self) {
        tracing::info!(worker = %self.name, kinds = ?self.handlers.kinds().collect::<Vec<_>>(), "job worker started");
        let mut scheduled: HashMap<&'static str, String> = HashMap::new();
        let mut reaped: Option<std::time::Instant> = None;
        loop {
            self.schedule(&mut scheduled).await;
            if reaped.is_none_or(|at| at.elapsed() >= REAP_EVERY) {
                reaped = Some(std::time::Instant::now());
                match self.store.reap_lapsed(Utc::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::error!(
                        worker = %self.name, jobs = n,
                        "jobs ended: their worker stopped during the last attempt (periodic passes done, others dead)"
                    ),
                    Err(e) => {
                        tracing::warn!(worker = %self.name, error = %e, "reaping lapsed jobs failed")
                    }
                }
            }
            match self.round().await {
                Ok(round) if round.claimed > 0 => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(worker = %self.name, error = %e, "job round failed; retrying")
                }
            }
            // Idle (or the store failed): wait for a wake-up or the poll.
            let _ = tokio::time::timeout(self.settings.idle_poll, self.wake.notified()).await;
        }
    }

    /// Enqueues each periodic job of the current period, once per period
    /// per worker (the key makes it once per period in all).
    async fn schedule(&self, scheduled: &mut HashMap<&'static str, String>) {
        let now = Utc::now();
        for periodic in &self.periodic {
            let job = periodic.due(now);
            if scheduled.get(periodic.kind) == Some(&job.key) {
                continue;
            }
            match self.store.enqueue(&job, now).await {
                Ok(_) => {
                    scheduled.insert(periodic.kind, job.key);
                }
                Err(e) => {
                    tracing::warn!(kind = periodic.kind, error = %e, "scheduling a periodic job failed")
                }
            }
        }
    }

    /// Claims one batch and runs it to the end.
    pub async fn round(&self) -> Result<Round, StoreError> {
        let now = Utc::now();
        let lease_until = now
            + chrono::Duration::from_std(self.settings.lease)
                .unwrap_or(chrono::Duration::minutes(1));
        let jobs = self
            .store
            .claim_jobs(&self.name, now, lease_until, self.settings.batch)
            .await?;
        let claimed = jobs.len();
        if claimed == 0 {
            return Ok(Round::default());
        }
        let outcomes: Vec<(Job, Result<(), JobError>, Duration)> = futures_util::stream::iter(jobs)
            .map(|job| self.attempt(job))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut succeeded = Vec::with_capacity(claimed);
        let mut failed = 0;
        for (job, outcome, took) in outcomes {
            if let Some(kind) = self.periodic_kind(&job) {
                self.stats.record(kind, outcome.is_ok(), Utc::now(), took);
            }
            match outcome {
                Ok(()) => succeeded.push(job.id),
                Err(e) => {
                    failed += 1;
                    self.record_failure(&job, &e).await;
                }
            }
        }
        let done = self
            .store
            .complete_jobs(&self.name, &succeeded, Utc::now())
            .await?;
        Ok(Round {
            claimed,
            done,
            failed,
        })
    }

    /// Runs one job on its own task, so a handler that panics fails its
    /// job, not the worker; and how long it took.
    async fn attempt(&self, job: Job) -> (Job, Result<(), JobError>, Duration) {
        let started = std::time::Instant::now();
        let Some(handler) = self.handlers.by_kind.get(job.kind.as_str()).cloned() else {
            let error = JobError::Fatal(format!("no handler for jobs of kind {:?}", job.kind));
            return (job, Err(error), started.elapsed());
        };
        let job = Arc::new(job);
        let running = job.clone();
        let outcome = actix_web::rt::spawn(async move { handler.run(&running).await })
            .await
            .unwrap_or_else(|e| Err(JobError::Fatal(format!("the handler panicked: {e}"))));
        let job = Arc::try_unwrap(job).unwrap_or_else(|shared| (*shared).clone());
        (job, outcome, started.elapsed())
    }

    async fn record_failure(&self, job: &Job, error: &JobError) {
        let now = Utc::now();
        if self.periodic_kind(job).is_some() {
            // A periodic pass that failed is not retried and never dead:
            // the next period's pass does the same work.
            tracing::error!(
                job_id = %job.id, kind = %job.kind, error = %error,
                "periodic pass failed; the next period runs it again"
            );
            if let Err(e) = self
                .store
                .end_failed_pass(&self.name, job.id, &error.to_string(), now)
                .await
            {
                tracing::warn!(job_id = %job.id, error = %e, "recording a failed pass failed");
            }
            return;
        }
        let retry = match error {
            JobError::Retry(_) => Some(retry_at(job.attempts, now)),
            JobError::Fatal(_) => None,
        };
        match self
            .store
            .fail_job(&self.name, job.id, &error.to_string(), retry, now)
            .await
        {
            Ok(Some(JobStatus::Dead)) => tracing::error!(
                job_id = %job.id, key = %job.key, attempts = job.attempts, error = %error,
                "job is dead"
            ),
            Ok(_) => tracing::warn!(
                job_id = %job.id, key = %job.key, attempts = job.attempts, error = %error,
                "job failed; retried after backoff"
            ),
            // Its lease was lost meanwhile; whoever holds it now records it.
            Err(e) => {
                tracing::warn!(job_id = %job.id, error = %e, "recording a job failure failed")
            }
        }
    }
}
