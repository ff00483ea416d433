//! `/api/v1/properties…` routes: thin wrappers over `service`.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use uuid::Uuid;

use super::PropertyView;
use super::body::PropertyInput;
use super::calendar::{Availability, AvailabilityParams, BlockInput};
use super::search::SearchParams;
use super::service::{PropertyPage, Quote, QuoteParams};
use crate::error::AppError;
use crate::http::extract::{ApiJson, ApiQuery, AuthUser};
use crate::services::Services;

/// List a property; the caller becomes its host.
#[utoipa::path(tag = "properties", security(("bearer" = [])), request_body = PropertyInput,
    responses((status = 201, body = PropertyView), (status = 422, description = "invalid input")))]
#[post("/properties")]
pub async fn create(
    svc: web::Data<Services>,
    user: AuthUser,
    body: ApiJson<PropertyInput>,
) -> Result<HttpResponse, AppError> {
    let property = svc.properties.create(user.id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(property))
}

/// Search listed properties.
#[utoipa::path(tag = "properties", params(SearchParams),
    responses((status = 200, body = PropertyPage), (status = 422, description = "invalid parameter")))]
#[get("/properties")]
pub async fn search(
    svc: web::Data<Services>,
    params: ApiQuery<SearchParams>,
) -> Result<HttpResponse, AppError> {
    let page = svc.properties.search(params.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A listed property with its rating.
#[utoipa::path(tag = "properties", params(("id" = Uuid, Path)),
    responses((status = 200, body = PropertyView), (status = 404, description = "unknown or unlisted")))]
#[get("/properties/{id}")]
pub async fn get(svc: web::Data<Services>, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    let json = svc.properties.get_json(*id).await?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(json))
}

/// Change a property (host only).
#[utoipa::path(tag = "properties", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = PropertyInput,
    responses((status = 200, body = PropertyView), (status = 403, description = "not the host")))]
#[patch("/properties/{id}")]
pub async fn update(
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: ApiJson<PropertyInput>,
) -> Result<HttpResponse, AppError> {
    let property = svc
        .properties
        .update(user.id, *id, body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(property))
}

/// Unlist a property (host only).
#[utoipa::path(tag = "properties", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, description = "not the host"),
        (status = 409, description = "upcoming bookings")))]
#[delete("/properties/{id}")]
pub async fn unlist(
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    svc.properties.unlist(user.id, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The price of a stay, exactly as a booking would charge it.
#[utoipa::path(tag = "properties", params(("id" = Uuid, Path), QuoteParams),
    responses((status = 200, body = Quote), (status = 422, description = "invalid stay")))]
#[get("/properties/{id}/quote")]
pub async fn quote(
    svc: web::Data<Services>,
    id: web::Path<Uuid>,
    params: ApiQuery<QuoteParams>,
) -> Result<HttpResponse, AppError> {
    let quote = svc.properties.quote(*id, params.into_inner()).await?;
    Ok(HttpResponse::Ok().json(quote))
}

/// Dates that cannot be booked: bookings, holds and blocks alike.
#[utoipa::path(tag = "properties", params(("id" = Uuid, Path), AvailabilityParams),
    responses((status = 200, body = Availability)))]
#[get("/properties/{id}/availability")]
pub async fn availability(
    svc: web::Data<Services>,
    id: web::Path<Uuid>,
    params: ApiQuery<AvailabilityParams>,
) -> Result<HttpResponse, AppError> {
    let availability = svc
        .properties
        .availability(*id, params.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(availability))
}

/// The unavailable ranges of the next year as an iCalendar feed.
#[utoipa::path(tag = "properties", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/calendar", body = String)))]
#[get("/properties/{id}/calendar.ics")]
pub async fn calendar_ics(
    svc: web::Data<Services>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let ics = svc.properties.calendar_ics(*id).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .body(ics))
}

/// Close dates (host only).
#[utoipa::path(tag = "properties", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = BlockInput,
    responses((status = 201, body = super::Block), (status = 409, description = "overlaps a booking or block")))]
#[post("/properties/{id}/blocks")]
pub async fn add_block(
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: ApiJson<BlockInput>,
) -> Result<HttpResponse, AppError> {
    let block = svc
        .properties
        .add_block(user.id, *id, body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(block))
}

/// Reopen blocked dates (host only).
#[utoipa::path(tag = "properties", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("block_id" = Uuid, Path)), responses((status = 204)))]
#[delete("/properties/{id}/blocks/{block_id}")]
pub async fn remove_block(
    svc: web::Data<Services>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, block_id) = path.into_inner();
    svc.properties.remove_block(user.id, id, block_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
