//! The service layer's side of the payments outbox: a decision records its
//! gateway call as a job (in the decision's own transaction where there is
//! one), then asks the PaymentsActor to run it at once. If that attempt
//! fails, or the process dies first, the actor's poll retries it with
//! backoff; the job's key is the gateway's idempotency key, so no retry
//! moves money twice.

use innkeep_actors::payments::{CreateIntentNow, RunNow};
use innkeep_actors::ports::{CreateIntent, GatewayError, JobOutcome, NewPaymentJob, PaymentIntent};

use crate::error::AppResult;
use crate::state::AppState;

/// Runs the recorded `job` now through the PaymentsActor; `None` if it did
/// not run (already done, leased by a running attempt, or the actor is
/// gone; the poll takes it then).
pub async fn run_now(state: &AppState, job: &NewPaymentJob) -> Option<JobOutcome> {
    match state.payments_actor.send(RunNow(job.key())).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => {
            tracing::warn!(key = %job.key(), error = %e, "running a payment job failed; the poll retries it");
            None
        }
        Err(e) => {
            tracing::warn!(key = %job.key(), error = %e, "payments actor unreachable; the poll retries the job");
            None
        }
    }
}

/// Records `job` on its own and runs it now.
pub async fn enqueue_and_run(
    state: &AppState,
    job: NewPaymentJob,
) -> AppResult<Option<JobOutcome>> {
    state
        .store
        .enqueue_payment_job(&job, state.clock.now())
        .await?;
    Ok(run_now(state, &job).await)
}

/// Creates (or, with the same key, finds) a booking's payment intent,
/// through the PaymentsActor.
pub async fn create_intent(
    state: &AppState,
    request: CreateIntent,
) -> Result<PaymentIntent, GatewayError> {
    state
        .payments_actor
        .send(CreateIntentNow(request))
        .await
        .map_err(|e| GatewayError::Transient(format!("payments actor unreachable: {e}")))?
}
