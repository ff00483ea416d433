//! Operational endpoints: liveness, readiness and metrics.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::metrics::Metrics;
use crate::error::AppError;
use crate::services::{Readiness, Services};

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
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
pub async fn readyz(svc: web::Data<Services>) -> Result<HttpResponse, AppError> {
    let ready = svc.readiness().await.map_err(AppError::Unavailable)?;
    Ok(HttpResponse::Ok().json(ready))
}

/// Prometheus text format.
#[utoipa::path(tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
pub async fn metrics(
    svc: web::Data<Services>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, AppError> {
    metrics
        .live_calendars
        .set(i64::try_from(svc.live_calendars()).unwrap_or(i64::MAX));
    for (kind, count) in svc.periodic_stats().snapshot() {
        metrics.observe_periodic(&kind, &count);
    }
    let (transactions, batches, changes, split) = svc.commit_stats().snapshot();
    for (count, n) in [
        ("transactions", transactions),
        ("batches", batches),
        ("changes", changes),
        ("split", split),
    ] {
        metrics
            .calendar_commits
            .with_label_values(&[count])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    // The store may be away: the other metrics are still worth serving.
    if let Ok(backlog) = svc.job_backlog().await {
        for (status, n) in [
            ("queued", backlog.queued),
            ("running", backlog.running),
            ("dead", backlog.dead),
        ] {
            metrics.jobs.with_label_values(&[status]).set(n);
        }
    }
    let body = metrics.render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
