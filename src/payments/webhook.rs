//! Stripe's signed events: the signature is checked before anything is
//! read (HMAC-SHA256 of `t.payload` with `STRIPE_WEBHOOK_SECRET`, 300 s
//! tolerance, constant-time compare, any of several `v1` values); a bad one
//! changes nothing. A signed event nested deeper than `MAX_JSON_NESTING` is
//! refused (400) before it is parsed. Event ids handled before are
//! remembered, so a redelivery has no effect. What an event does to its
//! booking is `bookings::events`, whose changes are conditional and keyed,
//! so concurrent redeliveries that race past the id check still change the
//! booking once and post once.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use innkeep_actors::Clock;
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

use super::events::PaymentEvent;
use crate::error::{AppError, AppResult};
use crate::store::WebhookEventStore;

/// How far a signature's timestamp may be from our clock, as Stripe's libraries.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the Stripe-Signature timestamp is outside the 300 s tolerance")]
    Stale,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// Checks `header` (`t=…,v1=…[,v1=…]`) against `payload` and `secret` at `now`
/// (Unix seconds).
pub fn verify_signature(
    header: &str,
    payload: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", t)) => {
                timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?)
            }
            Some(("v1", v)) => signatures.push(v),
            Some(_) => {} // v0 and future schemes are ignored, as Stripe's libraries do
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now
        .checked_sub(timestamp)
        .is_none_or(|age| age.unsigned_abs() > TOLERANCE_SECS.unsigned_abs())
    {
        return Err(SignatureError::Stale);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let matches = signatures
        .iter()
        .any(|hex| decode_hex(hex).is_some_and(|bytes| mac.clone().verify_slice(&bytes).is_ok()));
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// `t=…,v1=…` for `payload`, as Stripe signs it (tests and the fake Stripe).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return format!("t={timestamp}"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// A verified Stripe event.
#[derive(Debug, Deserialize)]
pub struct StripeEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: Value,
}

impl StripeEvent {
    /// What a handled event type means for us: the event and the intent
    /// id; `None` for a type innkeep ignores.
    pub fn payment(&self) -> AppResult<Option<(PaymentEvent, String)>> {
        let object = &self.data.object;
        let field = |name: &str| {
            object[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| AppError::BadRequest(format!("data.object.{name} is missing")))
        };
        let found = match self.kind.as_str() {
            "payment_intent.succeeded" => Some((PaymentEvent::Succeeded, field("id")?)),
            "payment_intent.amount_capturable_updated" => {
                Some((PaymentEvent::AmountCapturable, field("id")?))
            }
            "payment_intent.payment_failed" => Some((PaymentEvent::Failed, field("id")?)),
            "payment_intent.canceled" => Some((PaymentEvent::Canceled, field("id")?)),
            "charge.refunded" => {
                let amount = object["amount_refunded"].as_i64().ok_or_else(|| {
                    AppError::BadRequest("data.object.amount_refunded is missing".into())
                })?;
                Some((PaymentEvent::Refunded { amount }, field("payment_intent")?))
            }
            _ => None,
        };
        Ok(found)
    }
}

/// Receives Stripe's webhooks: verifies, and remembers what was handled.
#[derive(Clone)]
pub struct Webhooks {
    secret: Option<String>,
    events: Arc<dyn WebhookEventStore>,
    clock: Arc<dyn Clock>,
}

impl Webhooks {
    pub fn new(
        secret: Option<String>,
        events: Arc<dyn WebhookEventStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            secret,
            events,
            clock,
        }
    }

    /// The event, if `signature` (the `Stripe-Signature` header) signs
    /// `body` with our secret: 503 while no secret is set, 400 otherwise.
    pub fn verify(&self, signature: Option<&str>, body: &[u8]) -> AppResult<StripeEvent> {
        let Some(secret) = self.secret.as_deref() else {
            return Err(AppError::Unavailable(
                "webhooks are not configured (STRIPE_WEBHOOK_SECRET)",
            ));
        };
        let header = signature
            .ok_or_else(|| AppError::BadRequest("the Stripe-Signature header is missing".into()))?;
        verify_signature(header, body, secret, self.clock.now().timestamp())
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        crate::nesting::check_json(body)
            .map_err(|e| AppError::BadRequest(format!("not a Stripe event: {e}")))?;
        serde_json::from_slice(body)
            .map_err(|e| AppError::BadRequest(format!("not a Stripe event: {e}")))
    }

    pub async fn seen(&self, event: &StripeEvent) -> AppResult<bool> {
        Ok(self.events.webhook_event_seen(&event.id).await?)
    }

    /// Remembers a handled event. Recorded only once handled: an event
    /// whose handling failed (5xx) is redelivered by Stripe and handled then.
    pub async fn record(&self, event: &StripeEvent) -> AppResult<()> {
        self.events
            .record_webhook_event(&event.id, &event.kind, self.clock.now())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_000);
        assert_eq!(verify_signature(&header, body, SECRET, 1_000), Ok(()));
        assert_eq!(verify_signature(&header, body, SECRET, 1_300), Ok(()));
    }

    #[test]
    fn anything_else_is_refused() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_000);
        assert_eq!(
            verify_signature(&header, br#"{"id":"evt_2"}"#, SECRET, 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&header, body, "whsec_other", 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&header, body, SECRET, 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(&header, body, SECRET, 699),
            Err(SignatureError::Stale)
        );
        for bad in ["", "t=1000", "v1=abcd", "t=x,v1=ab", "garbage"] {
            assert_eq!(
                verify_signature(bad, body, SECRET, 1_000),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify_signature("t=1000,v1=zz", body, SECRET, 1_000),
            Err(SignatureError::Mismatch)
        );
        // Timestamps far from now are stale, not an overflow.
        for t in [i64::MIN, i64::MAX, -1] {
            let header = format!("t={t},v1=00");
            assert_eq!(
                verify_signature(&header, body, SECRET, 1_000),
                Err(SignatureError::Stale)
            );
        }
        assert_eq!(
            verify_signature("t=1000,v1=00", body, SECRET, i64::MIN),
            Err(SignatureError::Stale)
        );
        let header = format!("t={},v1=00", i64::MAX);
        assert_eq!(
            verify_signature(&header, body, SECRET, -1),
            Err(SignatureError::Stale),
            "now - t = i64::MIN"
        );
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign(body, SECRET, 1_000);
        let v1 = good.split_once(",v1=").map(|(_, v)| v).unwrap_or_default();
        let header = format!("t=1000,v1={},v1={v1},v0=old", "00".repeat(32));
        assert_eq!(verify_signature(&header, body, SECRET, 1_000), Ok(()));
    }
}
