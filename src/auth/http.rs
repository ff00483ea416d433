//! `POST /api/v1/auth/{register,login,refresh,logout}`.

use actix_web::{HttpResponse, post, web};

use super::service::{self, AuthResponse, LoginInput, RefreshInput, RegisterInput};
use crate::error::AppError;
use crate::http::extract::{ApiJson, AuthUser};
use crate::state::AppState;

/// Create an account and sign in.
#[utoipa::path(tag = "auth", request_body = RegisterInput, responses(
    (status = 201, body = AuthResponse),
    (status = 409, description = "e-mail already registered"),
    (status = 422, description = "invalid input")))]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    body: ApiJson<RegisterInput>,
) -> Result<HttpResponse, AppError> {
    let auth = service::register(&state, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(auth))
}

/// Sign in with e-mail and password.
#[utoipa::path(tag = "auth", request_body = LoginInput, responses(
    (status = 200, body = AuthResponse),
    (status = 401, description = "unknown e-mail or wrong password (one answer for both)"),
    (status = 429, description = "too many failed attempts; see Retry-After")))]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    body: ApiJson<LoginInput>,
) -> Result<HttpResponse, AppError> {
    let auth = service::login(&state, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(auth))
}

/// Exchange a refresh token for a new pair. Each refresh token works once;
/// presenting a used one revokes every token of its login.
#[utoipa::path(tag = "auth", request_body = RefreshInput, responses(
    (status = 200, body = AuthResponse),
    (status = 401, description = "unknown, expired, revoked or reused token")))]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: ApiJson<RefreshInput>,
) -> Result<HttpResponse, AppError> {
    let auth = service::refresh(&state, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(auth))
}

/// Revoke the refresh tokens of this login.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204)))]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    service::logout(&state, user.session).await?;
    Ok(HttpResponse::NoContent().finish())
}
