//! Review routes: write one, answer one, and read a property's or a
//! guest's.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::service::ReviewsPage;
use super::{ResponseInput, ReviewInput, ReviewPage, ReviewView};
use crate::error::{AppError, Validator};
use crate::http::extract::{ApiJson, ApiQuery, AuthUser};
use crate::http::page::id_page;
use crate::services::Services;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    fn parse(self) -> Result<(Option<Uuid>, u32), AppError> {
        let mut v = Validator::default();
        let page = id_page(&mut v, self.limit, self.cursor.as_deref());
        v.finish()?;
        Ok(page)
    }
}

fn answer(page: ReviewsPage) -> HttpResponse {
    HttpResponse::Ok().json(ReviewPage {
        data: page.reviews.into_iter().map(ReviewView::from).collect(),
        next_cursor: page.next.map(|id| id.to_string()),
    })
}

/// Review a completed stay (its guest) or guest (its host), within 14 days
/// of check-out, once each.
#[utoipa::path(tag = "reviews", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReviewInput,
    responses((status = 201, body = ReviewView),
        (status = 404, description = "unknown, or not your booking"),
        (status = 409, description = "not a completed stay, outside the window, or reviewed already"),
        (status = 422, description = "rating 1 to 5, comment at most 2,000 characters")))]
#[post("/bookings/{id}/reviews")]
pub async fn create(
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: ApiJson<ReviewInput>,
) -> Result<HttpResponse, AppError> {
    let review = svc.reviews.create(user.id, *id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(ReviewView::from(review)))
}

/// The host answers a guest's review of their property, once.
#[utoipa::path(tag = "reviews", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ResponseInput,
    responses((status = 201, body = ReviewView),
        (status = 404, description = "unknown, or not a review of your property"),
        (status = 409, description = "answered already")))]
#[post("/reviews/{id}/response")]
pub async fn respond(
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: ApiJson<ResponseInput>,
) -> Result<HttpResponse, AppError> {
    let review = svc
        .reviews
        .respond(user.id, *id, &body.into_inner().comment)
        .await?;
    Ok(HttpResponse::Created().json(ReviewView::from(review)))
}

/// Guests' reviews of a property, newest first, each with its author and
/// the host's answer.
#[utoipa::path(tag = "reviews", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = ReviewPage), (status = 404, description = "unknown or unlisted")))]
#[get("/properties/{id}/reviews")]
pub async fn of_property(
    svc: web::Data<Services>,
    id: web::Path<Uuid>,
    params: ApiQuery<PageParams>,
) -> Result<HttpResponse, AppError> {
    let (before, limit) = params.into_inner().parse()?;
    Ok(answer(svc.reviews.of_property(*id, before, limit).await?))
}

/// What hosts wrote about a guest, newest first.
#[utoipa::path(tag = "reviews", security(("bearer" = [])), params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = ReviewPage)))]
#[get("/users/{id}/reviews")]
pub async fn about_guest(
    svc: web::Data<Services>,
    _user: AuthUser,
    id: web::Path<Uuid>,
    params: ApiQuery<PageParams>,
) -> Result<HttpResponse, AppError> {
    let (before, limit) = params.into_inner().parse()?;
    Ok(answer(svc.reviews.about_guest(*id, before, limit).await?))
}
