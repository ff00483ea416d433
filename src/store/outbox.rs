//! The payments outbox as the service layer sees it.

use async_trait::async_trait;
use innkeep_actors::ports::{NewPaymentJob, PaymentJobKind};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::jobs::JobStatus;

/// One payment job of a booking, as the service layer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentJobRow {
    pub kind: PaymentJobKind,
    pub amount: i64,
    pub attempts: i32,
    pub status: JobStatus,
    /// The gateway's id for what a done job did.
    pub result: Option<String>,
    pub last_error: Option<String>,
}

impl PaymentJobRow {
    pub fn succeeded(&self) -> bool {
        self.status == JobStatus::Done
    }

    /// Failed for good, or out of attempts (until an operator replays it).
    pub fn failed(&self) -> bool {
        self.status == JobStatus::Dead
    }
}

/// The payments outbox as the service layer uses it (the PaymentsActor's
/// side is the engine's `PaymentJobStore`).
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Records a job on its own (for decisions not tied to a booking's
    /// state change); `false` if its key exists.
    async fn enqueue_payment_job(&self, job: &NewPaymentJob) -> StoreResult<bool>;
    async fn payment_jobs_of(&self, booking_id: Uuid) -> StoreResult<Vec<PaymentJobRow>>;
}
