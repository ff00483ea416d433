//! `/api/v1/bookings…` routes.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use innkeep_actors::domain::BookingStatus;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{BookingPage, BookingView, CreateBooking};
use crate::error::{AppError, Validator};
use crate::http::extract::{ApiJson, ApiQuery, AuthUser};
use crate::http::idempotent;
use crate::http::page::page_size;
use crate::idempotency::Stored;
use crate::services::Services;
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
    svc: web::Data<Services>,
    user: AuthUser,
    req: HttpRequest,
    body: ApiJson<CreateBooking>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let fingerprint =
        serde_json::to_vec(&("POST /bookings", &input)).map_err(anyhow::Error::from)?;
    idempotent::once(&svc, &req, user.id, &fingerprint, || async {
        let booking = svc.bookings.create(user.id, input).await?;
        Stored::json(201, &BookingView::of(&booking, user.id))
    })
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
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The caller's bookings, as guest or as host, newest first.
#[utoipa::path(tag = "bookings", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = BookingPage)))]
#[get("/bookings")]
pub async fn list(
    svc: web::Data<Services>,
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
        .and_then(|c| v.check("cursor", crate::schema::uuid(c)));
    let limit = page_size(&mut v, p.limit);
    v.finish()?;
    let (rows, next) = svc
        .bookings
        .list(BookingQuery {
            user_id: user.id,
            as_host,
            status,
            cursor,
            limit,
        })
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
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let booking = svc.bookings.visible(user.id, *id).await?;
    Ok(HttpResponse::Ok().json(BookingView::of(&booking, user.id)))
}

/// Cancel (guest or host): the dates are free at once; `refund` says what
/// comes back.
#[utoipa::path(tag = "bookings", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 409, description = "not cancellable")))]
#[post("/bookings/{id}/cancel")]
pub async fn cancel(
    svc: web::Data<Services>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = *id;
    let fingerprint = format!("POST /bookings/{id}/cancel").into_bytes();
    idempotent::once(&svc, &req, user.id, &fingerprint, || async {
        let booking = svc.bookings.cancel(user.id, id).await?;
        Stored::json(200, &BookingView::of(&booking, user.id))
    })
    .await
}

/// Host accepts a request to book (payment captured).
#[utoipa::path(tag = "bookings", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 409, description = "not awaiting_host")))]
#[post("/bookings/{id}/accept")]
pub async fn accept(
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let booking = svc.bookings.accept(user.id, *id).await?;
    Ok(HttpResponse::Ok().json(BookingView::of(&booking, user.id)))
}

/// Host declines a request to book (authorisation released, dates freed).
#[utoipa::path(tag = "bookings", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 409, description = "not awaiting_host")))]
#[post("/bookings/{id}/decline")]
pub async fn decline(
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let booking = svc.bookings.decline(user.id, *id).await?;
    Ok(HttpResponse::Ok().json(BookingView::of(&booking, user.id)))
}
