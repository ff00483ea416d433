//! `GET/PATCH /api/v1/users/me`.

use actix_web::{HttpResponse, get, patch, web};

use super::User;
use super::service::UpdateMe;
use crate::error::AppError;
use crate::http::extract::{ApiJson, AuthUser};
use crate::services::Services;

/// The caller's profile.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, description = "not signed in")))]
#[get("/users/me")]
pub async fn get_me(svc: web::Data<Services>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let me = svc.users.me(user.id).await?;
    Ok(HttpResponse::Ok().json(me))
}

/// Update the caller's name or bio.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = UpdateMe,
    responses((status = 200, body = User), (status = 422, description = "invalid input")))]
#[patch("/users/me")]
pub async fn patch_me(
    svc: web::Data<Services>,
    user: AuthUser,
    body: ApiJson<UpdateMe>,
) -> Result<HttpResponse, AppError> {
    let me = svc.users.update_me(user.id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(me))
}
