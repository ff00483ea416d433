//! The service layer's side of the payments outbox: a decision records its
//! gateway call as a job of the job queue (in the decision's own
//! transaction where there is one), then asks the PaymentsActor to run it
//! at once. If that attempt fails, or the process dies first, the queue's
//! workers retry it with backoff; the job's key is the gateway's
//! idempotency key, so no retry moves money twice.

use std::sync::Arc;

use actix::Addr;
use innkeep_actors::payments::{CreateIntentNow, RunNow};
use innkeep_actors::ports::{
    CreateIntent, GatewayError, JobOutcome, LocalIntent, NewPaymentJob, PaymentIntent,
};
use innkeep_actors::{Clock, PaymentsActor};
use uuid::Uuid;

use crate::error::AppResult;
use crate::store::{OutboxStore, PaymentJobRow};

#[derive(Clone)]
pub struct Outbox {
    actor: Addr<PaymentsActor>,
    store: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    /// `stripe` or `dev`: the gateway the actor calls.
    provider: &'static str,
}

impl Outbox {
    pub fn new(
        actor: Addr<PaymentsActor>,
        store: Arc<dyn OutboxStore>,
        clock: Arc<dyn Clock>,
        provider: &'static str,
    ) -> Self {
        Self {
            actor,
            store,
            clock,
            provider,
        }
    }

    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// Runs the recorded `job` now through the PaymentsActor; `None` if it
    /// did not run (already done, leased by a running attempt, or the actor
    /// is gone; the queue's workers take it then).
    pub async fn run_now(&self, job: &NewPaymentJob) -> Option<JobOutcome> {
        match self.actor.send(RunNow(job.key())).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => {
                tracing::warn!(key = %job.key(), error = %e, "running a payment job failed; the job queue retries it");
                None
            }
            Err(e) => {
                tracing::warn!(key = %job.key(), error = %e, "payments actor unreachable; the job queue retries the job");
                None
            }
        }
    }

    /// Records `job` on its own and runs it now.
    pub async fn enqueue_and_run(&self, job: NewPaymentJob) -> AppResult<Option<JobOutcome>> {
        self.store.enqueue_payment_job(&job).await?;
        Ok(self.run_now(&job).await)
    }

    /// Creates (or, with the same key, finds) a booking's payment intent,
    /// through the PaymentsActor.
    pub async fn create_intent(
        &self,
        request: CreateIntent,
    ) -> Result<PaymentIntent, GatewayError> {
        self.actor
            .send(CreateIntentNow(request))
            .await
            .map_err(|e| GatewayError::Transient(format!("payments actor unreachable: {e}")))?
    }

    /// The intent a booking records in its own transaction, where the
    /// gateway allows it (the dev gateway, which calls no one): no call
    /// and no write of its own. `None` with Stripe: [`Self::create_intent`]
    /// after the hold is stored.
    pub fn local_intent(&self, request: &CreateIntent) -> Option<LocalIntent> {
        (self.provider == "dev").then(|| super::dev::local_intent(request, self.clock.now()))
    }

    /// The booking's jobs, oldest first.
    pub async fn jobs_of(&self, booking_id: Uuid) -> AppResult<Vec<PaymentJobRow>> {
        Ok(self.store.payment_jobs_of(booking_id).await?)
    }
}
