//! The handlers of innkeep's own job kinds, and the periodic work: part
//! of the composition root (beside `services.rs`), since it wires the
//! queue to the features (the sweeper, the mailer, the imports).

use std::sync::Arc;

use innkeep_actors::Clock;
use innkeep_actors::ports::{PaymentGateway, PaymentJobKind, PaymentJobStore};

use crate::bookings::sweep::{SWEEP_EVERY, Sweeper};
use crate::imports::ImportService;
use crate::jobs::worker::{Handlers, JobHandler};
use crate::jobs::{Job, JobError, Periodic};
use crate::notifications::email::{EMAIL, EMAIL_EVERY, Mailer};

/// Does nothing, or waits `payload.ms` (at most 10 s) to stand for work:
/// measures the queue itself (`benches/jobs.rs`), checks that workers are
/// draining it, and gives the crash tests jobs that are caught mid-run.
pub const NOOP: &str = "noop";
/// The longest a `noop` waits.
const NOOP_MAX_MS: u64 = 10_000;
/// Lapsed holds and requests, finished stays, unrecorded intents and
/// captures, payouts due, and now and then pruning (`Sweeper::sweep`).
pub const SWEEP: &str = "bookings.sweep";
/// Syncs the calendar imports that are due (each every 15 minutes, a
/// bounded batch a pass: `ImportService::refresh_due`).
pub const IMPORTS: &str = "calendar.imports";
/// How often the due calendar imports are looked for.
pub const IMPORTS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The periodic work every worker schedules (with e-mail: its sender too).
pub fn periodic(email: bool) -> Vec<Periodic> {
    let mut all = vec![
        Periodic {
            kind: SWEEP,
            every: SWEEP_EVERY,
        },
        Periodic {
            kind: IMPORTS,
            every: IMPORTS_EVERY,
        },
    ];
    if email {
        all.push(Periodic {
            kind: EMAIL,
            every: EMAIL_EVERY,
        });
    }
    all
}

/// What running innkeep's jobs needs.
pub struct JobDeps {
    pub sweeper: Sweeper,
    pub payment_jobs: Arc<dyn PaymentJobStore>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub clock: Arc<dyn Clock>,
    /// With `SMTP_URL`: the notification e-mail sender.
    pub mailer: Option<Arc<Mailer>>,
    pub imports: ImportService,
}

/// A handler for each of innkeep's kinds.
pub fn handlers(deps: JobDeps) -> Handlers {
    let mailer = deps.mailer.clone();
    let deps = Arc::new(deps);
    let payments: Arc<dyn JobHandler> = Arc::new(Payments(deps.clone()));
    let handlers = PaymentJobKind::ALL.into_iter().fold(
        Handlers::default()
            .with(NOOP, Arc::new(Noop))
            .with(SWEEP, Arc::new(Sweep(deps.clone())))
            .with(IMPORTS, Arc::new(Imports(deps))),
        |handlers, kind| handlers.with(kind.job_kind(), payments.clone()),
    );
    match mailer {
        Some(mailer) => handlers.with(EMAIL, mailer),
        None => handlers,
    }
}

/// The `noop` kind's handler.
pub struct Noop;

#[async_trait::async_trait]
impl JobHandler for Noop {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        if let Some(ms) = job.payload.0.get("ms").and_then(serde_json::Value::as_u64) {
            tokio::time::sleep(std::time::Duration::from_millis(ms.min(NOOP_MAX_MS))).await;
        }
        Ok(())
    }
}

struct Sweep(Arc<JobDeps>);

#[async_trait::async_trait]
impl JobHandler for Sweep {
    async fn run(&self, _: &Job) -> Result<(), JobError> {
        self.0.sweeper.sweep().await.map_err(JobError::retry)?;
        Ok(())
    }
}

/// The payments outbox's jobs (`payment.<kind>`): retries after backoff,
/// and first attempts that never ran. The attempt records its own outcome
/// (a success with its effects, in one transaction; a failure queued again
/// or dead), so the worker's own completion finds the job finished.
struct Payments(Arc<JobDeps>);

#[async_trait::async_trait]
impl JobHandler for Payments {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let d = &self.0;
        let ran = innkeep_actors::payments::run_claimed(
            d.payment_jobs.as_ref(),
            d.gateway.as_ref(),
            d.clock.as_ref(),
            job.id,
        )
        .await
        .map_err(JobError::retry)?;
        match ran {
            Some(_) => Ok(()),
            None => Err(JobError::Fatal(format!(
                "{:?} is not a payment job of a booking",
                job.key
            ))),
        }
    }
}

struct Imports(Arc<JobDeps>);

#[async_trait::async_trait]
impl JobHandler for Imports {
    async fn run(&self, _: &Job) -> Result<(), JobError> {
        self.0
            .imports
            .refresh_due()
            .await
            .map_err(JobError::retry)?;
        Ok(())
    }
}
