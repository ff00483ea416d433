//! The job queue: every piece of background work, durable in the store
//! (`jobs`), run by workers in this process (`innkeep serve`) or in
//! processes of their own (`innkeep worker`), several at once on one
//! PostgreSQL.
//!
//! - A job is written once per decision: its `key` is unique, so asking
//!   again for the same work is a no-op. Written in the transaction of the
//!   decision that causes it, it exists exactly when the decision does.
//! - Workers claim due jobs with a lease (PostgreSQL: `FOR UPDATE SKIP
//!   LOCKED`), so no two run one attempt; a worker that dies mid-job
//!   leaves it to run again once the lease lapses. Handlers are therefore
//!   idempotent by the job's key: a job may run more than once, its effect
//!   happens once.
//! - A failed attempt is retried with backoff (1 s, 2 s, 4 s … 5 min); after
//!   `max_attempts` the job is `dead`, its last error kept, until an
//!   operator retries it (`innkeep jobs retry ID`).
//! - Periodic work (`Periodic`) is one job per period, keyed by the period,
//!   so however many workers schedule it, it runs once per period.
//!
//! The queue keeps its own time (the system clock): leases and backoff are
//! about the machine, while what a job decides (which holds lapsed) reads
//! the service clock, which tests and the dev endpoints move.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// Attempts before a job is `dead`, unless its kind says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for `run_at`.
    Queued,
    /// Claimed by `worker` until `run_at` (the lease).
    Running,
    Done,
    /// Failed `max_attempts` times, or for good; kept until retried.
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
}

impl TryFrom<String> for JobStatus {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or_else(|| format!("unknown job status {s:?}"))
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Work to be done.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// One job per key, ever: the same decision asks for the same key.
    pub key: String,
    /// Which handler runs it.
    pub kind: String,
    pub payload: Value,
    /// Not before.
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
}

impl NewJob {
    /// A job of `kind`, keyed `key`, due at once.
    pub fn new(kind: &str, key: impl Into<String>, payload: Value) -> Self {
        Self {
            key: key.into(),
            kind: kind.to_owned(),
            payload,
            run_at: Utc::now(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = run_at;
        self
    }

    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub key: String,
    pub kind: String,
    pub payload: sqlx::types::Json<Value>,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    /// Attempts started, this one included once claimed.
    pub attempts: i32,
    pub max_attempts: i32,
    /// Queued: when it is due. Running: when its lease lapses.
    pub run_at: DateTime<Utc>,
    /// Who holds the lease.
    pub worker: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The booking whose money a payment job moves.
    pub booking_id: Option<Uuid>,
    /// What a done job produced (a payment job: the gateway's id for it).
    pub result: Option<String>,
}

/// Why an attempt did not finish the job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt after backoff (the store or a remote was
    /// unavailable, a conflict that may clear).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (an unknown kind, a payload that does not parse):
    /// `dead` at once.
    #[error("{0}")]
    Fatal(String),
}

impl JobError {
    pub fn retry(e: impl fmt::Display) -> Self {
        Self::Retry(e.to_string())
    }
}

/// Work done every `every`, once per period across all workers.
#[derive(Debug, Clone)]
pub struct Periodic {
    pub kind: &'static str,
    pub every: Duration,
}

impl Periodic {
    /// The job of the period `now` falls in: keyed by the period, due at
    /// its start, and given up (not retried) once the next period's job
    /// would do the same work.
    pub fn due(&self, now: DateTime<Utc>) -> NewJob {
        let every = i64::try_from(self.every.as_millis().max(1)).unwrap_or(i64::MAX);
        let period = now.timestamp_millis().div_euclid(every);
        let start = DateTime::from_timestamp_millis(period.saturating_mul(every)).unwrap_or(now);
        NewJob::new(
            self.kind,
            format!("every:{}:{period}", self.kind),
            Value::Null,
        )
        .at(start)
        .max_attempts(1)
    }
}

/// The passes of each periodic kind this process ran since it started,
/// those that failed, and when one last succeeded: `/metrics`
/// (`innkeep_periodic_passes_total`, `…_failures_total`,
/// `…_last_success_seconds`, and `…_pass_seconds{quantile}` of the latest
/// passes), so an operator can alert on a sweep that has not succeeded for
/// a minute, or grows slow.
#[derive(Debug, Default)]
pub struct PeriodicStats {
    by_kind: std::sync::Mutex<std::collections::BTreeMap<String, PeriodicCount>>,
}

/// How many of the latest passes of a kind their durations are kept for.
pub const PASSES_TIMED: usize = 600;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodicCount {
    pub passes: u64,
    pub failures: u64,
    pub last_success: Option<DateTime<Utc>>,
    /// The durations of the latest [`PASSES_TIMED`] passes, in seconds
    /// (a ring: `passes` says where it wrapped).
    pub seconds: Vec<f64>,
}

impl PeriodicCount {
    /// The `q` quantile (0 to 1) of the latest passes' durations.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let mut sorted = self.seconds.clone();
        sorted.sort_by(f64::total_cmp);
        let last = sorted.len().checked_sub(1)?;
        let at = ((last as f64) * q.clamp(0.0, 1.0)).round() as usize;
        sorted.get(at).copied()
    }
}

impl PeriodicStats {
    pub fn record(&self, kind: &str, succeeded: bool, at: DateTime<Utc>, took: Duration) {
        if let Ok(mut by_kind) = self.by_kind.lock() {
            let count = by_kind.entry(kind.to_string()).or_default();
            let slot = (count.passes % PASSES_TIMED as u64) as usize;
            if let Some(seconds) = count.seconds.get_mut(slot) {
                *seconds = took.as_secs_f64();
            } else {
                count.seconds.push(took.as_secs_f64());
            }
            count.passes += 1;
            if succeeded {
                count.last_success = Some(at);
            } else {
                count.failures += 1;
            }
        }
    }

    pub fn snapshot(&self) -> Vec<(String, PeriodicCount)> {
        self.by_kind
            .lock()
            .map(|by_kind| {
                by_kind
                    .iter()
                    .map(|(k, c)| (k.clone(), c.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Counts of jobs by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_one_key_however_often_it_is_scheduled() {
        let sweep = Periodic {
            kind: "bookings.sweep",
            every: Duration::from_secs(1),
        };
        let t =
            |ms: i64| DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap_or_default();
        assert_eq!(sweep.due(t(0)).key, sweep.due(t(999)).key);
        assert_ne!(sweep.due(t(999)).key, sweep.due(t(1_000)).key);
        assert_eq!(sweep.due(t(999)).run_at, t(0));
        assert_eq!(sweep.due(t(0)).max_attempts, 1);
        let hourly = Periodic {
            kind: "hourly",
            every: Duration::from_secs(3_600),
        };
        assert_eq!(hourly.due(t(0)).key, hourly.due(t(3_599_999)).key);
    }

    #[test]
    fn statuses_read_back() {
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Dead,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobStatus::parse("lost"), None);
    }
}
