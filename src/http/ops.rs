//! Operational endpoints: liveness, readiness, metrics, and the dev clock.

use actix_web::{HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::extract::ApiJson;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    /// `postgres` or `sqlite`.
    pub store: &'static str,
    /// `redis` or `in-process`.
    pub cache: &'static str,
    /// `stripe` or `dev` (the dev gateway never moves money).
    pub payments: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "ops", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The store (and Redis, when configured) answer.
#[utoipa::path(tag = "ops", responses((status = 200, body = Readiness), (status = 503, description = "a dependency is down")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: store unreachable");
        return Err(AppError::Unavailable("the store is unreachable"));
    }
    if let Err(e) = state.cache.ping().await {
        tracing::warn!(error = %e, "readiness: cache unreachable");
        return Err(AppError::Unavailable("the cache is unreachable"));
    }
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        store: state.store.backend(),
        cache: state.cache.backend(),
        payments: payments_label(&state),
    }))
}

/// The gateway in use, as the gateway itself says (`stripe` or `dev`).
pub fn payments_label(state: &AppState) -> &'static str {
    state.payments.provider()
}

/// Prometheus text format.
#[utoipa::path(tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state
        .metrics
        .live_calendars
        .set(i64::try_from(state.calendars.live()).unwrap_or(i64::MAX));
    let body = state.metrics.render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    pub now: DateTime<Utc>,
}

/// Move the server's clock (only with `INNKEEP_DEV=1`; 404 otherwise).
#[utoipa::path(tag = "dev", request_body = ClockBody, responses((status = 200, body = ClockBody)))]
#[put("/dev/clock")]
pub async fn set_clock(
    state: web::Data<AppState>,
    body: ApiJson<ClockBody>,
) -> Result<HttpResponse, AppError> {
    let clock = state
        .dev_clock
        .as_ref()
        .ok_or(AppError::NotFound("resource"))?;
    clock.set(body.into_inner().now);
    Ok(HttpResponse::Ok().json(ClockBody {
        now: state.clock.now(),
    }))
}
