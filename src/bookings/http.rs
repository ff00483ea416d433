//! `/api/v1/bookings…` routes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use innkeep_actors::domain::BookingStatus;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::service;
use super::{BookingPage, BookingView, CreateBooking};
use crate::error::{AppError, Validator};
use crate::http::extract::{ApiJson, ApiQuery, AuthUser};
use crate::idempotency::{self, Stored};
use crate::state::AppState;
use crate::store::BookingQuery;

/// Hold dates and start paying. Send `Idempotency-Key` to retry safely.
#[utoipa::path(tag = "bookings", security(("bearer" = [])), request_body = CreateBooking,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response")),
    responses((status = 201, body = BookingView),
        (status = 403, description = "your own property"),
        (status = 409, description = "dates unavailable (type …/dates-unavailable)"),
        (status = 422, description = "invalid dates or guests, or a reused key")))]
#[post("/bookings")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: ApiJson<CreateBooking>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let fingerprint =
        serde_json::to_vec(&("POST /bookings", &input)).map_err(anyhow::Error::from)?;
    idempotency::once(
        &state,
        user.id,
        idempotency::key(&req)?,
        &fingerprint,
        || async {
            let booking = service::create(&state, user.id, input).await?;
            Stored::json(StatusCode::CREATED, &BookingView::of(&booking, user.id))
        },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `guest` (default) or `host`.
    #[serde(rename = "as")]
    pub as_: Option<String>,
    pub status: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The caller's bookings, as guest or as host, newest first.
#[utoipa::path(tag = "bookings", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = BookingPage)))]
#[get("/bookings")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    params: ApiQuery<ListParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let mut v = Validator::default();
    let as_host = match p.as_.as_deref().unwrap_or("guest") {
        "guest" => false,
        "host" => true,
        _ => {
            v.fail("as", "must be guest or host");
            false
        }
    };
    let status = p
        .status
        .as_deref()
        .and_then(|s| v.check("status", s.parse::<BookingStatus>()));
    let cursor = p
        .cursor
        .as_deref()
        .and_then(|c| v.check("cursor", c.parse::<Uuid>()));
    let limit = match p.limit {
        Some(0) => {
            v.fail("limit", "must be between 1 and 100");
            0
        }
        Some(n) => n.min(100),
        None => 20,
    };
    v.finish()?;
    let (rows, next) = service::list(
        &state,
        BookingQuery {
            user_id: user.id,
            as_host,
            status,
            cursor,
            limit,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(BookingPage {
        data: rows.iter().map(|b| BookingView::of(b, user.id)).collect(),
        next_cursor: next.map(|id| id.to_string()),
    }))
}

/// One booking; only its guest and host can see it (404 for anyone else).
#[utoipa::path(tag = "bookings", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 404, description = "unknown, or not yours")))]
#[get("/bookings/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let booking = service::visible(&state, user.id, *id).await?;
    Ok(HttpResponse::Ok().json(BookingView::of(&booking, user.id)))
}

/// Cancel (guest or host): the dates are free at once; `refund` says what
/// comes back.
#[utoipa::path(tag = "bookings", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 409, description = "not cancellable")))]
#[post("/bookings/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = *id;
    let fingerprint = format!("POST /bookings/{id}/cancel").into_bytes();
    idempotency::once(
        &state,
        user.id,
        idempotency::key(&req)?,
        &fingerprint,
        || async {
            let booking = service::cancel(&state, user.id, id).await?;
            Stored::json(StatusCode::OK, &BookingView::of(&booking, user.id))
        },
    )
    .await
}

/// Host accepts a request to book (payment captured).
#[utoipa::path(tag = "bookings", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 409, description = "not awaiting_host")))]
#[post("/bookings/{id}/accept")]
pub async fn accept(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let booking = service::accept(&state, user.id, *id).await?;
    Ok(HttpResponse::Ok().json(BookingView::of(&booking, user.id)))
}

/// Host declines a request to book (authorisation released, dates freed).
#[utoipa::path(tag = "bookings", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 409, description = "not awaiting_host")))]
#[post("/bookings/{id}/decline")]
pub async fn decline(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let booking = service::decline(&state, user.id, *id).await?;
    Ok(HttpResponse::Ok().json(BookingView::of(&booking, user.id)))
}
