//! `POST /api/v1/auth/{register,login,refresh,logout}`.

use actix_web::{HttpRequest, HttpResponse, post, web};

use super::service::{AuthResponse, LoginInput, RefreshInput, RegisterInput};
use crate::error::AppError;
use crate::http::extract::{ApiJson, AuthUser};
use crate::services::Services;

/// Create an account and sign in.
#[utoipa::path(tag = "auth", request_body = RegisterInput, responses(
    (status = 201, body = AuthResponse),
    (status = 409, description = "e-mail already registered"),
    (status = 422, description = "invalid input"),
    (status = 429, description = "too many sign-ups from this address; see Retry-After")))]
#[post("/auth/register")]
pub async fn register(
    svc: web::Data<Services>,
    req: HttpRequest,
    body: ApiJson<RegisterInput>,
) -> Result<HttpResponse, AppError> {
    let client = req.peer_addr().map(|a| a.ip());
    let auth = svc.auth.register(body.into_inner(), client).await?;
    Ok(HttpResponse::Created().json(auth))
}

/// Sign in with e-mail and password.
#[utoipa::path(tag = "auth", request_body = LoginInput, responses(
    (status = 200, body = AuthResponse),
    (status = 401, description = "unknown e-mail or wrong password (one answer for both)"),
    (status = 429, description = "too many failed attempts; see Retry-After")))]
#[post("/auth/login")]
pub async fn login(
    svc: web::Data<Services>,
    req: HttpRequest,
    body: ApiJson<LoginInput>,
) -> Result<HttpResponse, AppError> {
    let client = req.peer_addr().map(|a| a.ip());
    let auth = svc.auth.login(body.into_inner(), client).await?;
    Ok(HttpResponse::Ok().json(auth))
}

/// Exchange a refresh token for a new pair. Each refresh token works once;
/// presenting a used one revokes every token of its login.
#[utoipa::path(tag = "auth", request_body = RefreshInput, responses(
    (status = 200, body = AuthResponse),
    (status = 401, description = "unknown, expired, revoked or reused token")))]
#[post("/auth/refresh")]
pub async fn refresh(
    svc: web::Data<Services>,
    body: ApiJson<RefreshInput>,
) -> Result<HttpResponse, AppError> {
    let auth = svc.auth.refresh(body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(auth))
}

/// Revoke the refresh tokens of this login.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204)))]
#[post("/auth/logout")]
pub async fn logout(svc: web::Data<Services>, user: AuthUser) -> Result<HttpResponse, AppError> {
    svc.auth.logout(user.session).await?;
    Ok(HttpResponse::NoContent().finish())
}
