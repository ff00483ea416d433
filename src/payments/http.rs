//! `POST /api/v1/dev/payment_intents/{id}/succeed|fail`: the dev gateway's
//! stand-in for a card holder paying (or failing to). Mounted only with
//! `INNKEEP_DEV=1`, and answering 404 unless the dev gateway is in use.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::events::{self, PaymentEvent};
use crate::bookings::BookingView;
use crate::error::AppError;
use crate::http::extract::AuthUser;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct DevPaymentResult {
    pub payment_intent_id: String,
    pub status: String,
    pub booking: Option<BookingView>,
}

async fn settle(state: &AppState, id: &str, paid: bool) -> Result<HttpResponse, AppError> {
    if state.payments.provider() != "dev" {
        return Err(AppError::NotFound("payment intent"));
    }
    let intent = state
        .store
        .dev_intent(id)
        .await?
        .ok_or(AppError::NotFound("payment intent"))?;
    let (to, event) = match (paid, intent.capture_method.as_str()) {
        (true, "manual") => ("requires_capture", PaymentEvent::AmountCapturable),
        (true, _) => ("succeeded", PaymentEvent::Succeeded),
        (false, _) => ("requires_payment_method", PaymentEvent::Failed),
    };
    let moved = state
        .store
        .dev_intent_update(
            id,
            &["requires_payment_method", "requires_confirmation"],
            to,
        )
        .await?;
    if !moved && intent.status != to {
        return Err(AppError::conflict(format!(
            "the payment intent is {}",
            intent.status
        )));
    }
    let booking = events::apply(state, id, event).await?;
    Ok(HttpResponse::Ok().json(DevPaymentResult {
        payment_intent_id: id.to_owned(),
        status: to.to_owned(),
        booking: booking.map(|b| BookingView::of(&b, b.guest_id)),
    }))
}

/// Dev gateway: the payment succeeds (authorised for request-to-book).
#[utoipa::path(tag = "dev", params(("id" = String, Path)), responses((status = 200, body = DevPaymentResult)))]
#[post("/dev/payment_intents/{id}/succeed")]
pub async fn succeed(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    settle(&state, &id, true).await
}

/// Dev gateway: the payment fails.
#[utoipa::path(tag = "dev", params(("id" = String, Path)), responses((status = 200, body = DevPaymentResult)))]
#[post("/dev/payment_intents/{id}/fail")]
pub async fn fail(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    settle(&state, &id, false).await
}

/// The caller's money as a host, from the ledger.
#[utoipa::path(tag = "payments", security(("bearer" = [])), responses((status = 200, body = super::ledger::Balance)))]
#[get("/users/me/balance")]
pub async fn balance(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(super::ledger::balance(&state, user.id).await?))
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
    state: web::Data<AppState>,
    body: crate::http::extract::ApiJson<Faults>,
) -> Result<HttpResponse, AppError> {
    let gateway = state
        .dev_gateway
        .as_ref()
        .ok_or(AppError::NotFound("dev gateway"))?;
    let faults = body.into_inner();
    gateway.inject_faults(faults.transient);
    Ok(HttpResponse::Ok().json(serde_json::json!({"transient": faults.transient})))
}
