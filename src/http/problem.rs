//! Every error leaves as `application/problem+json` (RFC 9457):
//! `AppError` maps itself once here, and a fallback middleware rewrites any
//! other error response (unknown route, actix's own rejections) the same way.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::{AppError, FieldError, TOO_MANY_HOLDS};
use crate::idempotency::Stored;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    problem_type: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

fn problem_json(
    status: StatusCode,
    problem_type: Option<&str>,
    detail: &str,
    errors: Option<&[FieldError]>,
) -> Vec<u8> {
    let body = Problem {
        problem_type: problem_type.unwrap_or("about:blank"),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        errors,
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

pub fn problem_response(
    status: StatusCode,
    problem_type: Option<&str>,
    detail: &str,
    errors: Option<&[FieldError]>,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(problem_json(status, problem_type, detail, errors))
}

/// The problem+json body of `err` (an internal cause never leaves).
fn problem_body(status: StatusCode, err: &AppError) -> Vec<u8> {
    match err {
        AppError::Internal(_) => {
            problem_json(status, None, "something went wrong on our side", None)
        }
        AppError::Validation(errors) => {
            problem_json(status, None, "the request has invalid fields", Some(errors))
        }
        AppError::Conflict {
            problem_type,
            detail,
        } => problem_json(status, *problem_type, detail, None),
        AppError::TooManyHolds { .. } => {
            problem_json(status, Some(TOO_MANY_HOLDS), &err.to_string(), None)
        }
        other => problem_json(status, None, &other.to_string(), None),
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::RateLimited { .. } | Self::TooManyHolds { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let Self::Internal(cause) = self {
            // The cause is for the logs only.
            tracing::error!(error = ?cause, "internal error");
        }
        let mut res = HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .body(problem_body(status, self));
        if let Some(secs) = self.retry_after_secs()
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Self::MethodNotAllowed { allow } = self
            && let Ok(v) = HeaderValue::from_str(allow)
        {
            res.headers_mut().insert(header::ALLOW, v);
        }
        res
    }
}

/// A refusal as it is kept for an `Idempotency-Key` replay: the same
/// problem+json body a client got the first time.
pub fn stored_problem(err: &AppError) -> Stored {
    let status = err.status_code();
    Stored {
        status: status.as_u16(),
        body: problem_body(status, err),
    }
}

/// `ErrorHandlers` default handler: turns an error response that is not
/// JSON yet (actix's own rejections, in plain text) into problem+json,
/// keeping its status and headers.
pub fn ensure_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Already problem+json, or a GraphQL answer (JSON with `errors`, the
    // GraphQL-over-HTTP way, in either of its media types): left as it is.
    let answered = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with(PROBLEM_JSON)
                || ct.starts_with("application/json")
                || ct.starts_with("application/graphql-response+json")
        });
    if answered {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status {
        StatusCode::NOT_FOUND => "no such resource",
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here",
        StatusCode::PAYLOAD_TOO_LARGE => "the body is too large",
        s if s.is_server_error() => "something went wrong on our side",
        _ => status.canonical_reason().unwrap_or("error"),
    };
    let (req, old) = res.into_parts();
    let mut new = problem_response(status, None, detail, None);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let res: ServiceResponse<EitherBody<B, BoxBody>> =
        ServiceResponse::new(req, new).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}
