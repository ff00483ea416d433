//! The dev-only endpoints, mounted with `INNKEEP_DEV=1` (the server refuses
//! to start with it beside a real Stripe key): the clock, the dev gateway's
//! stand-in for a card holder paying (or failing to), and gateway faults.

use actix_web::{HttpResponse, post, put, web};
use chrono::{DateTime, Utc};
use innkeep_actors::Clock;
use innkeep_actors::domain::CalendarDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::bookings::BookingView;
use crate::error::AppError;
use crate::payments::dev::DevGateway;
use crate::services::Services;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    pub now: DateTime<Utc>,
}

/// Move the server's clock (only with `INNKEEP_DEV=1`; 404 otherwise).
#[utoipa::path(tag = "dev", request_body = ClockBody, responses((status = 200, body = ClockBody)))]
#[put("/dev/clock")]
pub async fn set_clock(
    svc: web::Data<Services>,
    body: ApiJson<ClockBody>,
) -> Result<HttpResponse, AppError> {
    let dev = svc.dev.as_ref().ok_or(AppError::NotFound("resource"))?;
    let now = body.into_inner().now;
    // Every date the server derives from its clock stays in range too.
    CalendarDate::new(now.date_naive()).map_err(|e| AppError::field("now", e))?;
    dev.clock.set(now);
    Ok(HttpResponse::Ok().json(ClockBody {
        now: dev.clock.now(),
    }))
}

fn dev_gateway(svc: &Services) -> Result<&DevGateway, AppError> {
    svc.dev
        .as_ref()
        .and_then(|dev| dev.gateway.as_deref())
        .ok_or(AppError::NotFound("dev gateway"))
}

#[derive(Serialize, ToSchema)]
pub struct DevPaymentResult {
    pub payment_intent_id: String,
    pub status: String,
    pub booking: Option<BookingView>,
}

async fn settle(svc: &Services, id: &str, paid: bool) -> Result<HttpResponse, AppError> {
    let gateway = dev_gateway(svc).map_err(|_| AppError::NotFound("payment intent"))?;
    let (status, event) = gateway.settle(id, paid).await?;
    let booking = svc.bookings.apply_payment_event(id, event).await?;
    Ok(HttpResponse::Ok().json(DevPaymentResult {
        payment_intent_id: id.to_owned(),
        status: status.as_str().to_owned(),
        booking: booking.map(|b| BookingView::of(&b, b.guest_id)),
    }))
}

/// Dev gateway: the payment succeeds (authorised for request-to-book).
#[utoipa::path(tag = "dev", params(("id" = String, Path)), responses((status = 200, body = DevPaymentResult)))]
#[post("/dev/payment_intents/{id}/succeed")]
pub async fn succeed(
    svc: web::Data<Services>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    settle(&svc, &id, true).await
}

/// Dev gateway: the payment fails.
#[utoipa::path(tag = "dev", params(("id" = String, Path)), responses((status = 200, body = DevPaymentResult)))]
#[post("/dev/payment_intents/{id}/fail")]
pub async fn fail(
    svc: web::Data<Services>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    settle(&svc, &id, false).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// How many of the next captures, cancels, refunds and transfers fail
    /// as if the provider timed out (0 clears).
    pub transient: u32,
}

/// Dev gateway: makes the next gateway calls fail, to watch the outbox retry.
#[utoipa::path(tag = "dev", request_body = Faults, responses((status = 200, description = "Armed")))]
#[post("/dev/gateway/faults")]
pub async fn faults(
    svc: web::Data<Services>,
    body: ApiJson<Faults>,
) -> Result<HttpResponse, AppError> {
    let faults = body.into_inner();
    dev_gateway(&svc)?.inject_faults(faults.transient);
    Ok(HttpResponse::Ok().json(serde_json::json!({"transient": faults.transient})))
}
