//! The Stripe gateway, on async-stripe (the maintained stripe-rust): chosen
//! when `STRIPE_SECRET_KEY` is set; `STRIPE_API_BASE` points it elsewhere
//! (the fake Stripe of the tests). Every call carries the caller's
//! idempotency key and is tried once: retries belong to the outbox, which
//! repeats the same key, so Stripe answers a retry with the first result.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use innkeep_actors::domain::Currency;
use innkeep_actors::ports::{CreateIntent, GatewayError, PaymentGateway, PaymentIntent};
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};

use stripe_connect::transfer::CreateTransfer;
use stripe_core::payment_intent::{CancelPaymentIntent, CapturePaymentIntent, CreatePaymentIntent};
use stripe_core::refund::CreateRefund;
use stripe_shared::PaymentIntentCaptureMethod;
use uuid::Uuid;

pub struct StripeGateway {
    client: Client,
}

impl StripeGateway {
    pub fn new(secret: &str, api_base: Option<&str>, timeout: Duration) -> anyhow::Result<Self> {
        // rustls cannot choose a crypto provider by itself when the build
        // enables more than one (the workspace's load tests bring
        // aws-lc-rs); say which. An error means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = ClientBuilder::new(secret)
            .request_strategy(RequestStrategy::Once)
            .timeout(timeout);
        if let Some(base) = api_base {
            // The client joins `{base}v1{path}`.
            let base = if base.ends_with('/') {
                base.to_owned()
            } else {
                format!("{base}/")
            };
            builder = builder.url(base);
        }
        Ok(Self {
            client: builder
                .build()
                .map_err(|e| anyhow::anyhow!("building the Stripe client: {e}"))?,
        })
    }

    async fn send<R: StripeRequest>(&self, request: R, key: &str) -> Result<R::Output, GatewayError>
    where
        R::Output: miniserde::Deserialize + Send,
    {
        let key = IdempotencyKey::new(key).map_err(|e| GatewayError::Permanent(e.to_string()))?;
        request
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await
            .map_err(classify)
    }
}

/// Which failures are worth retrying: Stripe's own advice, as its libraries.
fn classify(error: StripeError) -> GatewayError {
    match error {
        StripeError::Stripe(details, status) => {
            let message = details.message.clone().unwrap_or_default();
            let text = format!("Stripe answered {status}: {message}");
            if status == 409 || status == 429 || status >= 500 {
                GatewayError::Transient(text)
            } else {
                GatewayError::Permanent(text)
            }
        }
        StripeError::ConfigError(e) => GatewayError::Permanent(e),
        // Timeouts, connection errors, unreadable answers: the call may or
        // may not have happened; the same key makes a retry safe.
        other => GatewayError::Transient(other.to_string()),
    }
}

fn currency(c: Currency) -> stripe_types::Currency {
    let code = c.as_str().to_ascii_lowercase();
    match stripe_types::Currency::from_str(&code) {
        Ok(currency) => currency,
        Err(never) => match never {},
    }
}

fn view(intent: &stripe_shared::PaymentIntent) -> PaymentIntent {
    PaymentIntent {
        id: intent.id.as_str().to_owned(),
        client_secret: intent.client_secret.clone(),
        // A status Stripe adds later reads as still in progress.
        status: intent
            .status
            .as_str()
            .parse()
            .unwrap_or(innkeep_actors::domain::PaymentStatus::Processing),
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    fn provider(&self) -> &'static str {
        "stripe"
    }

    async fn create_intent(&self, request: &CreateIntent) -> Result<PaymentIntent, GatewayError> {
        let capture = if request.manual_capture {
            PaymentIntentCaptureMethod::Manual
        } else {
            PaymentIntentCaptureMethod::Automatic
        };
        let metadata = HashMap::from([("booking_id".to_owned(), request.booking_id.to_string())]);
        let create = CreatePaymentIntent::new(request.amount, currency(request.currency))
            .capture_method(capture)
            .metadata(metadata);
        let intent = self.send(create, &request.idempotency_key).await?;
        Ok(view(&intent))
    }

    async fn capture_intent(
        &self,
        intent_id: &str,
        key: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        let intent = self.send(CapturePaymentIntent::new(intent_id), key).await?;
        Ok(view(&intent))
    }

    async fn cancel_intent(
        &self,
        intent_id: &str,
        key: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        let intent = self.send(CancelPaymentIntent::new(intent_id), key).await?;
        Ok(view(&intent))
    }

    async fn refund(
        &self,
        intent_id: &str,
        amount: i64,
        key: &str,
    ) -> Result<String, GatewayError> {
        let refund = CreateRefund::new().payment_intent(intent_id).amount(amount);
        let refund = self.send(refund, key).await?;
        Ok(refund.id.as_str().to_owned())
    }

    async fn transfer(
        &self,
        host_id: Uuid,
        amount: i64,
        currency_code: Currency,
        key: &str,
    ) -> Result<String, GatewayError> {
        // Host onboarding (a Connect account per host) is not built: the
        // destination is derived from the host's id.
        let destination = format!("acct_{}", host_id.simple());
        let metadata = HashMap::from([("host_id".to_owned(), host_id.to_string())]);
        let transfer = CreateTransfer::new(currency(currency_code), destination)
            .amount(amount)
            .metadata(metadata);
        let transfer = self.send(transfer, key).await?;
        Ok(transfer.id.as_str().to_owned())
    }
}
