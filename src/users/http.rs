//! `GET/PATCH /api/v1/users/me`.

use actix_web::{HttpResponse, get, patch, web};

use super::User;
use super::service::{self, UpdateMe};
use crate::error::AppError;
use crate::http::extract::{ApiJson, AuthUser};
use crate::state::AppState;

/// The caller's profile.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, description = "not signed in")))]
#[get("/users/me")]
pub async fn get_me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let me = service::me(&state, user.id).await?;
    Ok(HttpResponse::Ok().json(me))
}

/// Update the caller's name or bio.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = UpdateMe,
    responses((status = 200, body = User), (status = 422, description = "invalid input")))]
#[patch("/users/me")]
pub async fn patch_me(
    state: web::Data<AppState>,
    user: AuthUser,
    body: ApiJson<UpdateMe>,
) -> Result<HttpResponse, AppError> {
    let me = service::update_me(&state, user.id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(me))
}
