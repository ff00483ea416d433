//! `POST /webhooks/stripe`: a signed event is verified (400 and no change
//! otherwise; 503 while no secret is set), answered 200 with no effect if
//! its id was handled before, applied to its booking, then remembered.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde_json::json;

use crate::error::AppError;
use crate::services::Services;

/// Stripe webhook endpoint.
#[utoipa::path(
    tag = "payments",
    request_body(content = String, description = "A Stripe event, signed", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "`t=<unix time>,v1=<HMAC-SHA256 hex>` (several `v1` allowed)")),
    responses(
        (status = 200, description = "Handled, or seen before, or a type innkeep ignores"),
        (status = 400, description = "Bad signature, stale timestamp or malformed event: nothing changed"),
        (status = 503, description = "STRIPE_WEBHOOK_SECRET is not set"),
    )
)]
#[post("/webhooks/stripe")]
pub async fn stripe(
    svc: web::Data<Services>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let signature = req
        .headers()
        .get("Stripe-Signature")
        .and_then(|h| h.to_str().ok());
    let event = svc.webhooks.verify(signature, &body)?;
    if svc.webhooks.seen(&event).await? {
        return Ok(HttpResponse::Ok().json(json!({"received": true, "duplicate": true})));
    }
    match event.payment()? {
        Some((kind, intent)) => {
            svc.bookings.apply_payment_event(&intent, kind).await?;
        }
        None => tracing::debug!(event_id = %event.id, kind = %event.kind, "event type ignored"),
    }
    svc.webhooks.record(&event).await?;
    Ok(HttpResponse::Ok().json(json!({"received": true})))
}
