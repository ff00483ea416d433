//! The service layer's errors as GraphQL errors: a message and
//! `extensions.code` (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`,
//! `BAD_USER_INPUT`, `CONFLICT`, `RATE_LIMITED`, `INTERNAL`), the same
//! refusals REST answers with a status. Internal causes are logged, never
//! sent.

use juniper::{FieldError, IntoFieldError, Object, ScalarValue, Value};

use crate::error::AppError;

/// The `extensions.code` of an error.
pub fn code(err: &AppError) -> &'static str {
    match err {
        AppError::Unauthorized(_) => "UNAUTHENTICATED",
        AppError::Forbidden(_) => "FORBIDDEN",
        AppError::NotFound(_) => "NOT_FOUND",
        AppError::BadRequest(_)
        | AppError::Validation(_)
        | AppError::PayloadTooLarge(_)
        | AppError::UnsupportedMediaType
        | AppError::MethodNotAllowed { .. } => "BAD_USER_INPUT",
        AppError::Conflict { .. } => "CONFLICT",
        AppError::RateLimited { .. } | AppError::TooManyHolds { .. } => "RATE_LIMITED",
        AppError::NotImplemented(_) | AppError::Unavailable(_) | AppError::Internal(_) => {
            "INTERNAL"
        }
    }
}

impl<S: ScalarValue> IntoFieldError<S> for AppError {
    fn into_field_error(self) -> FieldError<S> {
        let code = code(&self);
        let message = match &self {
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error (GraphQL)");
                "something went wrong on our side".to_owned()
            }
            AppError::Validation(_) => "the request has invalid fields".to_owned(),
            other => other.to_string(),
        };
        let mut extensions = Object::with_capacity(3);
        extensions.add_field("code", Value::scalar(code.to_owned()));
        if let Some(secs) = self.retry_after_secs() {
            let secs = i32::try_from(secs).unwrap_or(i32::MAX);
            extensions.add_field("retryAfter", Value::scalar(secs));
        }
        if let AppError::Validation(errors) = &self {
            let list = errors
                .iter()
                .map(|e| {
                    let mut field = Object::with_capacity(2);
                    field.add_field("field", Value::scalar(e.field.clone()));
                    field.add_field("message", Value::scalar(e.message.clone()));
                    Value::Object(field)
                })
                .collect();
            extensions.add_field("errors", Value::List(list));
        }
        FieldError::new(message, Value::Object(extensions))
    }
}

/// A resolver's result with the service layer's error.
pub type GqlResult<T> = Result<T, AppError>;
