//! Notification routes: the caller's list, and marking read.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{NotificationPage, NotificationView, ReadInput};
use crate::error::{AppError, Validator};
use crate::http::extract::{ApiJson, ApiQuery, AuthUser};
use crate::http::page::id_page;
use crate::services::Services;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `true`: only those not read yet.
    pub unread: Option<bool>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The caller's notifications, newest first.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = NotificationPage)))]
#[get("/users/me/notifications")]
pub async fn list(
    svc: web::Data<Services>,
    user: AuthUser,
    params: ApiQuery<ListParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let mut v = Validator::default();
    let (before, limit) = id_page(&mut v, params.limit, params.cursor.as_deref());
    v.finish()?;
    let page = svc
        .notifications
        .list(user.id, params.unread.unwrap_or(false), before, limit)
        .await?;
    Ok(HttpResponse::Ok().json(NotificationPage {
        data: page
            .notifications
            .into_iter()
            .map(NotificationView::from)
            .collect(),
        next_cursor: page.next.map(|id| id.to_string()),
    }))
}

/// Marks the caller's notifications read: `{ids: [...]}` (at most 100;
/// others' ids are ignored) or `{all: true}`.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = ReadInput,
    responses((status = 204, description = "marked read"),
        (status = 422, description = "neither or both of ids and all, or more than 100 ids")))]
#[post("/users/me/notifications/read")]
pub async fn read(
    svc: web::Data<Services>,
    user: AuthUser,
    body: ApiJson<ReadInput>,
) -> Result<HttpResponse, AppError> {
    svc.notifications
        .mark_read(user.id, body.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
