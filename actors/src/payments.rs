//! The PaymentsActor carries out the payments outbox: gateway calls that a
//! committed decision recorded as jobs of the job queue (refund a cancelled
//! stay, release an authorisation, pay a host out). It runs a job at once
//! when the decision asks (`RunNow`); the queue's workers run the rest
//! (`run_claimed`: retries after backoff, and jobs whose first attempt
//! never ran), each with the job's key as the gateway's idempotency key,
//! recording the outcome; a transient failure is retried with exponential
//! backoff (`dead` after [`MAX_ATTEMPTS`]), a permanent one is `dead` at
//! once with its reason. Jobs are leased before they run, so a crash
//! mid-call leaves the job to run again when the lease lapses, and the
//! idempotency key makes that second call return the first one's result
//! instead of moving money twice.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::{Money, PaymentStatus};
use crate::ledger;
use crate::ports::{
    CreateIntent, GatewayError, JobEffects, JobOutcome, Notice, PaymentGateway, PaymentIntent,
    PaymentJob, PaymentJobKind, PaymentJobStore, PortError,
};

/// How long a leased job is left alone before another attempt may take it.
pub const LEASE: Duration = Duration::from_secs(60);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Attempts before a payment job is `dead` (and shown to operators, who
/// can replay it): with the backoff, about four hours of retries.
pub const MAX_ATTEMPTS: i32 = 50;
/// A new payment job is left to the decision that recorded it (which runs
/// it at once) for this long before the queue's workers may take it: a
/// worker racing the decision would leave its caller without the outcome.
pub const FIRST_ATTEMPT_GRACE: Duration = Duration::from_secs(5);

/// Wait before attempt `attempts + 1`, after `attempts` failures: 1 s, 2 s,
/// 4 s … up to [`MAX_BACKOFF`].
pub fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF)
}

/// Runs one job against the gateway and says what became of it.
pub async fn attempt(
    gateway: &dyn PaymentGateway,
    job: &PaymentJob,
    now: DateTime<Utc>,
) -> JobOutcome {
    let result = match (job.kind, job.intent_id.as_deref()) {
        (PaymentJobKind::Capture, Some(intent)) => gateway
            .capture_intent(intent, &job.key)
            .await
            .map(|intent| intent.id),
        (PaymentJobKind::Refund, Some(intent)) => {
            gateway.refund(intent, job.amount, &job.key).await
        }
        (PaymentJobKind::CancelIntent, Some(intent)) => gateway
            .cancel_intent(intent, &job.key)
            .await
            .map(|intent| intent.id),
        (PaymentJobKind::Payout, _) => {
            gateway
                .transfer(job.host_id, job.amount, job.currency, &job.key)
                .await
        }
        (_, None) => Err(GatewayError::Permanent(
            "the booking has no payment intent".into(),
        )),
    };
    match result {
        Ok(reference) => JobOutcome::Succeeded(reference),
        Err(GatewayError::Permanent(reason)) => JobOutcome::Failed(reason),
        Err(GatewayError::Transient(error)) => {
            let wait = chrono::Duration::from_std(backoff(job.attempts.saturating_add(1)))
                .unwrap_or(chrono::Duration::seconds(300));
            JobOutcome::Retry {
                error,
                retry_at: now + wait,
            }
        }
    }
}

/// What a job that went through means: a refund sent leaves the processor
/// (and the payment is refunded, in full or in part), a released intent is
/// canceled, a payout leaves for the host. A capture changes nothing here:
/// the acceptance (or Stripe's `succeeded`, or the sweep) confirms the
/// booking and posts the capture.
pub fn effects(job: &PaymentJob) -> JobEffects {
    match job.kind {
        PaymentJobKind::Refund => JobEffects {
            posting: ledger::refund_sent(job.parties(), job.amount),
            payment_status: Some(if job.amount >= job.booking_total {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartiallyRefunded
            }),
            notice: Some(sent_notice(job)),
        },
        PaymentJobKind::CancelIntent => JobEffects {
            payment_status: Some(PaymentStatus::Canceled),
            ..JobEffects::default()
        },
        PaymentJobKind::Payout => JobEffects {
            posting: ledger::payout(job.parties(), job.amount),
            notice: Some(sent_notice(job)),
            ..JobEffects::default()
        },
        PaymentJobKind::Capture => JobEffects::default(),
    }
}

/// The notification kind of a refund that left for the guest's card.
pub const REFUND_SENT: &str = "refund_sent";
/// The notification kind of a payout that left for the host's account.
pub const PAYOUT_SENT: &str = "payout_sent";

/// What a refund or a payout that went through tells its guest or host.
fn sent_notice(job: &PaymentJob) -> Notice {
    let amount = Money::new(job.amount, job.currency).human();
    let (user_id, kind, title, body) = if job.kind == PaymentJobKind::Refund {
        (
            job.guest_id,
            REFUND_SENT,
            "Refund sent",
            format!("{amount} is on its way back to your card; banks take 5-10 days to show it."),
        )
    } else {
        (
            job.host_id,
            PAYOUT_SENT,
            "Payout sent",
            format!("{amount} for a stay at your place is on its way to your account."),
        )
    };
    Notice {
        user_id,
        kind,
        booking_id: Some(job.booking_id),
        title: title.into(),
        body,
    }
}

/// Runs the payment job `id` that a job worker claimed, and records its
/// outcome; `None` if there is no such job.
pub async fn run_claimed(
    store: &dyn PaymentJobStore,
    gateway: &dyn PaymentGateway,
    clock: &dyn Clock,
    id: Uuid,
) -> Result<Option<JobOutcome>, PortError> {
    let Some(job) = store.payment_job(id).await? else {
        return Ok(None);
    };
    run(store, gateway, clock, job).await.map(Some)
}

/// Runs `job` and records its outcome; returns the outcome.
async fn run(
    store: &dyn PaymentJobStore,
    gateway: &dyn PaymentGateway,
    clock: &dyn Clock,
    job: PaymentJob,
) -> Result<JobOutcome, PortError> {
    // Backoff is the queue's time (the system clock), not the service's.
    let outcome = attempt(gateway, &job, Utc::now()).await;
    match &outcome {
        JobOutcome::Succeeded(reference) => {
            tracing::info!(key = %job.key, reference, "payment job done")
        }
        JobOutcome::Failed(reason) => {
            tracing::error!(key = %job.key, reason, "payment job failed for good")
        }
        JobOutcome::Retry { error, retry_at } => {
            tracing::warn!(key = %job.key, error, %retry_at, attempts = job.attempts + 1, "payment job will be retried")
        }
    }
    let effects = match &outcome {
        JobOutcome::Succeeded(_) => effects(&job),
        _ => JobEffects::default(),
    };
    store
        .finish_payment_job(&job, &outcome, &effects, clock.now())
        .await?;
    Ok(outcome)
}

fn lease_until(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::seconds(60))
}

pub struct PaymentsActor {
    store: Arc<dyn PaymentJobStore>,
    gateway: Arc<dyn PaymentGateway>,
    clock: Arc<dyn Clock>,
    /// Who holds the leases this actor takes: unique per process.
    holder: Arc<str>,
}

impl PaymentsActor {
    pub fn new(
        store: Arc<dyn PaymentJobStore>,
        gateway: Arc<dyn PaymentGateway>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let holder = format!(
            "{}:payments:{}",
            std::process::id(),
            Uuid::new_v4().simple()
        );
        Self {
            store,
            gateway,
            clock,
            holder: holder.into(),
        }
    }
}

impl Actor for PaymentsActor {
    type Context = Context<Self>;
}

/// Run the job recorded under `key` now, if it is not done, and answer
/// with its outcome (`None`: no such job, or already done or running).
#[derive(Message)]
#[rtype(result = "Result<Option<JobOutcome>, PortError>")]
pub struct RunNow(pub String);

impl Handler<RunNow> for PaymentsActor {
    type Result = ResponseFuture<Result<Option<JobOutcome>, PortError>>;

    fn handle(&mut self, msg: RunNow, _: &mut Self::Context) -> Self::Result {
        let (store, gateway, clock, holder) = (
            self.store.clone(),
            self.gateway.clone(),
            self.clock.clone(),
            self.holder.clone(),
        );
        Box::pin(async move {
            let now = Utc::now();
            let Some(job) = store
                .lease_payment_job(&msg.0, &holder, now, lease_until(now))
                .await?
            else {
                return Ok(None);
            };
            run(store.as_ref(), gateway.as_ref(), clock.as_ref(), job)
                .await
                .map(Some)
        })
    }
}

/// Create (or, with the same key, find) a booking's payment intent, for a
/// caller that waits: made here too, so this actor is the one place that
/// talks to the gateway.
#[derive(Message)]
#[rtype(result = "Result<PaymentIntent, GatewayError>")]
pub struct CreateIntentNow(pub CreateIntent);

impl Handler<CreateIntentNow> for PaymentsActor {
    type Result = ResponseFuture<Result<PaymentIntent, GatewayError>>;

    fn handle(&mut self, msg: CreateIntentNow, _: &mut Self::Context) -> Self::Result {
        let gateway = self.gateway.clone();
        Box::pin(async move { gateway.create_intent(&msg.0).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let waits: Vec<u64> = (1..=11).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(0).as_secs(), 1);
        assert_eq!(backoff(i32::MAX), MAX_BACKOFF);
    }
}
