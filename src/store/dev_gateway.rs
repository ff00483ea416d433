//! The dev payment gateway's intents and refunds.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use innkeep_actors::domain::PaymentStatus;
use innkeep_actors::ports::LocalIntent;
use uuid::Uuid;

use super::StoreResult;

/// A payment intent of the dev gateway.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DevIntent {
    pub id: String,
    pub idempotency_key: String,
    pub booking_id: Uuid,
    pub amount: i64,
    pub currency: String,
    /// `automatic` or `manual`.
    pub capture_method: String,
    #[sqlx(try_from = "String")]
    pub status: PaymentStatus,
    pub amount_refunded: i64,
    pub created_at: DateTime<Utc>,
}

impl From<&LocalIntent> for DevIntent {
    fn from(local: &LocalIntent) -> Self {
        let request = &local.request;
        Self {
            id: local.intent.id.clone(),
            idempotency_key: request.idempotency_key.clone(),
            booking_id: request.booking_id,
            amount: request.amount,
            currency: request.currency.to_string(),
            capture_method: if request.manual_capture {
                "manual"
            } else {
                "automatic"
            }
            .into(),
            status: local.intent.status,
            amount_refunded: 0,
            created_at: local.created_at,
        }
    }
}

/// The dev gateway's records: intents and refunds, kept by idempotency key
/// as Stripe keeps them.
#[async_trait]
pub trait DevGatewayStore: Send + Sync + 'static {
    /// Inserts the intent unless its idempotency key exists; returns the stored one.
    async fn dev_intent_create(&self, intent: &DevIntent) -> StoreResult<DevIntent>;
    async fn dev_intent(&self, id: &str) -> StoreResult<Option<DevIntent>>;
    /// Moves the intent to `to` if it is in one of `from` (at most three;
    /// refunds are `dev_refund`'s).
    async fn dev_intent_update(
        &self,
        id: &str,
        from: &[PaymentStatus],
        to: PaymentStatus,
    ) -> StoreResult<bool>;
    /// Refunds `amount` of a succeeded dev intent once per `key`; the
    /// refund id, or `None` if the intent cannot be refunded that much.
    async fn dev_refund(
        &self,
        intent_id: &str,
        amount: i64,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>>;
}
