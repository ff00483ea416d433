//! The dev gateway: used when no `STRIPE_SECRET_KEY` is set. It records
//! payment intents in the store with Stripe's statuses and moves no money.
//! `POST /api/v1/dev/payment_intents/{id}/succeed|fail` plays the part of
//! the card holder.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use innkeep_actors::Clock;
use innkeep_actors::domain::{Currency, PaymentStatus};
use innkeep_actors::ports::{
    CreateIntent, GatewayError, LocalIntent, PaymentGateway, PaymentIntent,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::events::PaymentEvent;
use crate::error::{AppError, AppResult};
use crate::store::{DevGatewayStore, DevIntent, StoreError};

pub struct DevGateway {
    store: Arc<dyn DevGatewayStore>,
    clock: Arc<dyn Clock>,
    /// Calls that will fail as if the provider timed out, for the next N
    /// captures, cancels, refunds and transfers (`POST /dev/gateway/faults`).
    faults: AtomicU32,
}

impl DevGateway {
    pub fn new(store: Arc<dyn DevGatewayStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            faults: AtomicU32::new(0),
        }
    }

    /// The next `n` money-moving calls fail transiently.
    pub fn inject_faults(&self, n: u32) {
        self.faults.store(n, Ordering::SeqCst);
    }

    /// Uses up one injected fault, if any is left.
    fn fault(&self) -> Result<(), GatewayError> {
        let took = self
            .faults
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match took {
            Ok(_) => Err(GatewayError::Transient(
                "dev gateway: injected fault (as a provider timeout)".into(),
            )),
            Err(_) => Ok(()),
        }
    }

    /// The card holder pays (`paid`) or fails to: the intent moves as
    /// Stripe's would, and the event Stripe would send is returned for the
    /// caller to apply (`bookings::events`). 404 for an unknown intent,
    /// 409 for one that cannot be paid any more.
    pub async fn settle(&self, id: &str, paid: bool) -> AppResult<(PaymentStatus, PaymentEvent)> {
        let intent = self
            .store
            .dev_intent(id)
            .await?
            .ok_or(AppError::NotFound("payment intent"))?;
        let (to, event) = match (paid, intent.capture_method.as_str()) {
            (true, "manual") => (
                PaymentStatus::RequiresCapture,
                PaymentEvent::AmountCapturable,
            ),
            (true, _) => (PaymentStatus::Succeeded, PaymentEvent::Succeeded),
            (false, _) => (PaymentStatus::RequiresPaymentMethod, PaymentEvent::Failed),
        };
        let payable = [
            PaymentStatus::RequiresPaymentMethod,
            PaymentStatus::RequiresConfirmation,
        ];
        let moved = self.store.dev_intent_update(id, &payable, to).await?;
        if !moved && intent.status != to {
            return Err(AppError::conflict(format!(
                "the payment intent is {}",
                intent.status
            )));
        }
        Ok((to, event))
    }

    async fn moved(
        &self,
        id: &str,
        from: &[PaymentStatus],
        to: PaymentStatus,
    ) -> Result<PaymentIntent, GatewayError> {
        let transient = |e: StoreError| GatewayError::Transient(e.to_string());
        let moved = self
            .store
            .dev_intent_update(id, from, to)
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
        client_secret: Some(secret(&intent.id)),
        status: intent.status,
    }
}

fn secret(id: &str) -> String {
    format!("{id}_secret_dev")
}

/// A new dev intent for `request`: the gateway records it on its own, or
/// a booking records it in its own transaction (nothing is called).
pub fn local_intent(request: &CreateIntent, now: DateTime<Utc>) -> LocalIntent {
    let id = format!("pi_dev_{}", Uuid::now_v7().simple());
    LocalIntent {
        intent: PaymentIntent {
            client_secret: Some(secret(&id)),
            id,
            status: PaymentStatus::RequiresPaymentMethod,
        },
        request: request.clone(),
        created_at: now,
    }
}

#[async_trait]
impl PaymentGateway for DevGateway {
    fn provider(&self) -> &'static str {
        "dev"
    }

    async fn create_intent(&self, request: &CreateIntent) -> Result<PaymentIntent, GatewayError> {
        let intent = DevIntent::from(&local_intent(request, self.clock.now()));
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
        self.fault()?;
        self.moved(
            intent_id,
            &[PaymentStatus::RequiresCapture],
            PaymentStatus::Succeeded,
        )
        .await
    }

    async fn cancel_intent(
        &self,
        intent_id: &str,
        _key: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        self.fault()?;
        self.moved(
            intent_id,
            &[
                PaymentStatus::RequiresPaymentMethod,
                PaymentStatus::RequiresCapture,
                PaymentStatus::RequiresConfirmation,
            ],
            PaymentStatus::Canceled,
        )
        .await
    }

    async fn refund(
        &self,
        intent_id: &str,
        amount: i64,
        key: &str,
    ) -> Result<String, GatewayError> {
        self.fault()?;
        // Once per idempotency key, as Stripe: a retry returns the first refund.
        self.store
            .dev_refund(intent_id, amount, key, self.clock.now())
            .await
            .map_err(|e| GatewayError::Transient(e.to_string()))?
            .ok_or_else(|| {
                GatewayError::Permanent(format!(
                    "payment intent {intent_id} cannot be refunded {amount}"
                ))
            })
    }

    async fn transfer(
        &self,
        _host_id: Uuid,
        _amount: i64,
        _currency: Currency,
        key: &str,
    ) -> Result<String, GatewayError> {
        self.fault()?;
        // Moves nothing; the id is derived from the key, so a retry
        // returns the same transfer. The ledger is the record.
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        Ok(format!("tr_dev_{hex}"))
    }
}
