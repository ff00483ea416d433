//! The dev gateway: used when no `STRIPE_SECRET_KEY` is set. It records
//! payment intents in the store with Stripe's statuses and moves no money.
//! `POST /api/v1/dev/payment_intents/{id}/succeed|fail` plays the part of
//! the card holder.

use std::sync::Arc;

use async_trait::async_trait;
use innkeep_actors::Clock;
use innkeep_actors::ports::{CreateIntent, GatewayError, PaymentGateway, PaymentIntent};
use uuid::Uuid;

use crate::store::{DevIntent, Store};

pub struct DevGateway {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl DevGateway {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    async fn moved(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        refunded: i64,
    ) -> Result<PaymentIntent, GatewayError> {
        let transient = |e: crate::store::StoreError| GatewayError::Transient(e.to_string());
        let moved = self
            .store
            .dev_intent_update(id, from, to, refunded)
            .await
            .map_err(transient)?;
        let intent = self
            .store
            .dev_intent(id)
            .await
            .map_err(transient)?
            .ok_or_else(|| GatewayError::Permanent(format!("no such payment intent: {id}")))?;
        // Already there (a retry): fine. Anywhere else: refused.
        if !moved && intent.status != to {
            return Err(GatewayError::Permanent(format!(
                "payment intent is {}",
                intent.status
            )));
        }
        Ok(view(&intent))
    }
}

fn view(intent: &DevIntent) -> PaymentIntent {
    PaymentIntent {
        id: intent.id.clone(),
        client_secret: Some(format!("{}_secret_dev", intent.id)),
        status: intent.status.clone(),
    }
}

#[async_trait]
impl PaymentGateway for DevGateway {
    fn provider(&self) -> &'static str {
        "dev"
    }

    async fn create_intent(&self, request: &CreateIntent) -> Result<PaymentIntent, GatewayError> {
        let intent = DevIntent {
            id: format!("pi_dev_{}", Uuid::now_v7().simple()),
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
            status: "requires_payment_method".into(),
            amount_refunded: 0,
            created_at: self.clock.now(),
        };
        let stored = self
            .store
            .dev_intent_create(&intent)
            .await
            .map_err(|e| GatewayError::Transient(e.to_string()))?;
        Ok(view(&stored))
    }

    async fn capture_intent(
        &self,
        intent_id: &str,
        _key: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        self.moved(intent_id, &["requires_capture"], "succeeded", 0)
            .await
    }

    async fn cancel_intent(
        &self,
        intent_id: &str,
        _key: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        self.moved(
            intent_id,
            &[
                "requires_payment_method",
                "requires_capture",
                "requires_confirmation",
            ],
            "canceled",
            0,
        )
        .await
    }

    async fn refund(
        &self,
        intent_id: &str,
        amount: i64,
        _key: &str,
    ) -> Result<String, GatewayError> {
        self.moved(intent_id, &["succeeded"], "succeeded", amount)
            .await?;
        Ok(format!("re_dev_{}", Uuid::now_v7().simple()))
    }
}
