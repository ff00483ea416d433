//! `GET /api/v1/users/me/balance`: a host's money, from the ledger.

use actix_web::{HttpResponse, get, web};

use crate::error::AppError;
use crate::http::extract::AuthUser;
use crate::services::Services;

/// The caller's money as a host, from the ledger.
#[utoipa::path(tag = "payments", security(("bearer" = [])), responses((status = 200, body = super::ledger::Balance)))]
#[get("/users/me/balance")]
pub async fn balance(svc: web::Data<Services>, user: AuthUser) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(svc.ledger.balance(user.id).await?))
}
