//! `/api/v1/properties…` routes: thin wrappers over `service`.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDate;
use utoipa::ToSchema;
use uuid::Uuid;

use super::PropertyView;
use super::input::{AvailabilityParams, BlockInput, PropertyInput, QuoteParams, SearchParams};
use super::service::{self, Availability, PropertyPage, Quote};
use crate::error::AppError;
use crate::http::extract::{ApiJson, ApiQuery, AuthUser};
use crate::state::AppState;

/// A half-open date range `[start, end)`.
#[derive(ToSchema)]
pub struct RangeDoc {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// List a property; the caller becomes its host.
#[utoipa::path(tag = "properties", security(("bearer" = [])), request_body = PropertyInput,
    responses((status = 201, body = PropertyView), (status = 422, description = "invalid input")))]
#[post("/properties")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: ApiJson<PropertyInput>,
) -> Result<HttpResponse, AppError> {
    let property = service::create(&state, user.id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(property))
}

/// Search listed properties.
#[utoipa::path(tag = "properties", params(SearchParams),
    responses((status = 200, body = PropertyPage), (status = 422, description = "invalid parameter")))]
#[get("/properties")]
pub async fn search(
    state: web::Data<AppState>,
    params: ApiQuery<SearchParams>,
) -> Result<HttpResponse, AppError> {
    let page = service::search(&state, params.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A listed property with its rating.
#[utoipa::path(tag = "properties", params(("id" = Uuid, Path)),
    responses((status = 200, body = PropertyView), (status = 404, description = "unknown or unlisted")))]
#[get("/properties/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let json = service::get_json(&state, *id).await?;
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
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: ApiJson<PropertyInput>,
) -> Result<HttpResponse, AppError> {
    let property = service::update(&state, user.id, *id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(property))
}

/// Unlist a property (host only).
#[utoipa::path(tag = "properties", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, description = "not the host"),
        (status = 409, description = "upcoming bookings")))]
#[delete("/properties/{id}")]
pub async fn unlist(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    service::unlist(&state, user.id, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The price of a stay, exactly as a booking would charge it.
#[utoipa::path(tag = "properties", params(("id" = Uuid, Path), QuoteParams),
    responses((status = 200, body = Quote), (status = 422, description = "invalid stay")))]
#[get("/properties/{id}/quote")]
pub async fn quote(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    params: ApiQuery<QuoteParams>,
) -> Result<HttpResponse, AppError> {
    let quote = service::quote(&state, *id, params.into_inner()).await?;
    Ok(HttpResponse::Ok().json(quote))
}

/// Dates that cannot be booked: bookings, holds and blocks alike.
#[utoipa::path(tag = "properties", params(("id" = Uuid, Path), AvailabilityParams),
    responses((status = 200, body = Availability)))]
#[get("/properties/{id}/availability")]
pub async fn availability(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    params: ApiQuery<AvailabilityParams>,
) -> Result<HttpResponse, AppError> {
    let availability = service::availability(&state, *id, params.into_inner()).await?;
    Ok(HttpResponse::Ok().json(availability))
}

/// The unavailable ranges of the next year as an iCalendar feed.
#[utoipa::path(tag = "properties", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/calendar", body = String)))]
#[get("/properties/{id}/calendar.ics")]
pub async fn calendar_ics(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let today = state.clock.today();
    let params = AvailabilityParams {
        from: Some(today),
        to: Some(today + chrono::Duration::days(366)),
    };
    let avail = service::availability(&state, *id, params).await?;
    let stamp = state.clock.now().format("%Y%m%dT%H%M%SZ");
    let mut ics = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//innkeep//calendar//EN\r\nCALSCALE:GREGORIAN\r\n",
    );
    for range in &avail.unavailable {
        ics.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{id}-{start}@innkeep\r\nDTSTAMP:{stamp}\r\nDTSTART;VALUE=DATE:{start}\r\nDTEND;VALUE=DATE:{end}\r\nSUMMARY:Unavailable\r\nEND:VEVENT\r\n",
            id = avail.property_id,
            start = range.start.format("%Y%m%d"),
            end = range.end.format("%Y%m%d"),
        ));
    }
    ics.push_str("END:VCALENDAR\r\n");
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
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: ApiJson<BlockInput>,
) -> Result<HttpResponse, AppError> {
    let block = service::add_block(&state, user.id, *id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(block))
}

/// Reopen blocked dates (host only).
#[utoipa::path(tag = "properties", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("block_id" = Uuid, Path)), responses((status = 204)))]
#[delete("/properties/{id}/blocks/{block_id}")]
pub async fn remove_block(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, block_id) = path.into_inner();
    service::remove_block(&state, user.id, id, block_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
