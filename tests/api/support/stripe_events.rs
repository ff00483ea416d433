//! Stripe's side of the webhook: events as Stripe sends them, signed with
//! the test servers' secret (or not, or wrongly), posted to `/webhooks/stripe`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub use innkeep::payments::webhook::sign;

use super::{Response, TestApp, WEBHOOK_SECRET};

/// A Stripe event `id` of type `kind` about `object`, as Stripe posts it.
pub fn event(id: &str, kind: &str, object: Value) -> Vec<u8> {
    json!({
        "id": id, "object": "event", "api_version": "2024-06-20", "created": 1,
        "livemode": false, "type": kind, "data": {"object": object}
    })
    .to_string()
    .into_bytes()
}

/// The `Stripe-Signature` of `body` with the test secret, signed now.
pub fn signed_now(body: &[u8]) -> String {
    sign(body, WEBHOOK_SECRET, Utc::now().timestamp())
}

impl TestApp {
    /// Posts `body` to the webhook with `signature` (none when `None`).
    pub async fn deliver(&self, body: &[u8], signature: Option<String>) -> Response {
        let mut req = self
            .client
            .post(self.url("/webhooks/stripe"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(s) = signature {
            req = req.header("Stripe-Signature", s);
        }
        Self::read(req.send().await.unwrap_or_else(|e| panic!("webhook: {e}"))).await
    }

    /// Posts `body` signed now with the test secret, as Stripe would.
    pub async fn deliver_signed(&self, body: &[u8]) -> Response {
        self.deliver(body, Some(signed_now(body))).await
    }

    /// Posts `body` signed at `at` (the server's clock, when a story has
    /// moved it: a signature older than five minutes is refused).
    pub async fn deliver_signed_at(&self, body: &[u8], at: DateTime<Utc>) -> Response {
        self.deliver(body, Some(sign(body, WEBHOOK_SECRET, at.timestamp())))
            .await
    }

    /// Stripe tells innkeep about `object` in a `kind` event of its own id,
    /// signed now; expects 200.
    pub async fn notify(&self, kind: &str, object: Value) {
        self.notify_at(kind, object, Utc::now()).await;
    }

    /// The same, signed at `at` (see `deliver_signed_at`).
    pub async fn notify_at(&self, kind: &str, object: Value, at: DateTime<Utc>) {
        let body = event(
            &format!("evt_{}", uuid::Uuid::now_v7().simple()),
            kind,
            object,
        );
        self.deliver_signed_at(&body, at).await.expect(200);
    }
}
