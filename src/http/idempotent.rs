//! `Idempotency-Key` over HTTP: reads the header, and answers with what
//! `idempotency::Idempotency::once` decided (a replay is marked
//! `Idempotent-Replayed: true`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use uuid::Uuid;

use super::problem::{PROBLEM_JSON, stored_problem};
use crate::error::{AppError, AppResult};
use crate::idempotency::{Answer, HEADER, Stored, parse_key};
use crate::services::Services;

/// The request's key, if it has one; 422 for an unusable key.
pub fn key(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(raw) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let raw = raw
        .to_str()
        .map_err(|_| AppError::field(HEADER, "must be printable ASCII"))?;
    parse_key(raw).map(Some)
}

fn respond(stored: Stored, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        PROBLEM_JSON
    };
    let mut res = HttpResponse::build(status)
        .content_type(content_type)
        .body(stored.body);
    if replayed {
        res.headers_mut().insert(
            header::HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    res
}

/// Runs `work` at most once per (user, key) and answers over HTTP.
pub async fn once<F, Fut>(
    svc: &Services,
    req: &HttpRequest,
    user: Uuid,
    fingerprint: &[u8],
    work: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<Stored>>,
{
    let answer = svc
        .idempotency
        .once(user, key(req)?, fingerprint, stored_problem, work)
        .await?;
    Ok(match answer {
        Answer::Fresh(stored) => respond(stored, false),
        Answer::Replayed(stored) => respond(stored, true),
    })
}
