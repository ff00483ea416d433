//! Request extractors that turn every kind of bad input into a precise
//! problem: `ApiJson` (415 wrong content type, 413 too large, 400 malformed
//! or nested deeper than `nesting::MAX_JSON_NESTING`, 422 wrong types /
//! missing or unknown fields with the field named),
//! `ApiQuery` (422 naming the parameter), `AuthUser` (401), and path
//! parameters (404: an id that does not parse names nothing).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::auth::tokens::Session;
use crate::error::{AppError, FieldError};
use crate::nesting;
use crate::services::Services;

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A JSON body, checked as described in the module docs.
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(AppError::UnsupportedMediaType);
            }
            if declared.is_some_and(|len| len > JSON_LIMIT) {
                return Err(AppError::PayloadTooLarge(JSON_LIMIT));
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| AppError::BadRequest(format!("reading the body: {e}")))?;
                if body.len() + chunk.len() > JSON_LIMIT {
                    return Err(AppError::PayloadTooLarge(JSON_LIMIT));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(ApiJson)
        })
    }
}

/// serde_json's message without its " at line 1 column 7" suffix.
fn bare_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Names the field of a data error: the path, or the field serde quotes in
/// "missing field `x`" / "unknown field `x`" (reported at the parent).
fn field_of(path: &str, message: &str) -> String {
    let quoted = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    match (path, quoted) {
        // Unknown fields are already in the path.
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (".", Some(name)) => name.to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (".", None) => "body".to_owned(),
        (path, None) => path.to_owned(),
    }
}

/// A body: JSON nested no deeper than `MAX_JSON_NESTING` (else 400, before
/// anything recursive reads it), an object (else 422, as for any value of
/// the wrong type), then the fields, each bad one named (422). A number
/// with no fraction (`2.0`) is an integer, as JSON Schema's `integer` says.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    nesting::check_json(body).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("malformed JSON: {}", bare_message(&e))))?;
    if !value.is_object() {
        return Err(AppError::field("body", "must be a JSON object"));
    }
    integral_floats_as_integers(&mut value);
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let path = err.path().to_string();
        let message = bare_message(err.inner());
        AppError::Validation(vec![FieldError::new(field_of(&path, &message), message)])
    })
}

/// Rewrites every float with no fractional part that fits an `i64` as an
/// integer, so `2.0` deserialises where an integer is expected.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
            {
                // In range, and whole: the cast is exact.
                #[allow(clippy::cast_possible_truncation)]
                let i = f as i64;
                *value = Value::from(i);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// A query string, deserialised with the offending parameter named.
pub struct ApiQuery<T>(pub T);

impl<T> ApiQuery<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(req.query_string().as_bytes());
        let de = serde_urlencoded::Deserializer::new(pairs);
        let result = serde_path_to_error::deserialize::<_, T>(de)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = err.inner().to_string();
                AppError::Validation(vec![FieldError::new(field_of(&path, &message), message)])
            });
        ready(result)
    }
}

/// The signed-in caller, from `Authorization: Bearer <access token>`.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: uuid::Uuid,
    pub session: Session,
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<AuthUser, AppError> {
    let svc = req
        .app_data::<web::Data<Services>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("services missing")))?;
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthorized(
            "sign in: send Authorization: Bearer <access_token>",
        ))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or(AppError::Unauthorized(
            "the Authorization header must be Bearer <access_token>",
        ))?;
    let session = svc.auth.authenticate(token)?;
    Ok(AuthUser {
        id: session.user_id,
        session,
    })
}

/// Path parameters that do not parse (a malformed UUID) name no resource: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| AppError::NotFound("resource").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: i32,
    }

    fn field_error(body: &str) -> Option<(String, String)> {
        match parse_json::<Body>(body.as_bytes()) {
            Err(AppError::Validation(errors)) => {
                errors.first().map(|e| (e.field.clone(), e.message.clone()))
            }
            _ => None,
        }
    }

    #[test]
    fn data_errors_name_the_field() {
        assert_eq!(field_error("{}").map(|e| e.0), Some("name".into()));
        assert_eq!(
            field_error(r#"{"name": 5}"#).map(|e| e.0),
            Some("name".into())
        );
        assert_eq!(
            field_error(r#"{"name": "a", "x": 1}"#).map(|e| e.0),
            Some("x".into())
        );
        assert_eq!(
            field_error(r#"{"name": "a", "inner": {"n": "x"}}"#).map(|e| e.0),
            Some("inner.n".into())
        );
        assert_eq!(
            field_error(r#"{"name": "a", "inner": {}}"#).map(|e| e.0),
            Some("inner.n".into())
        );
        let message = field_error(r#"{"name": 5}"#)
            .map(|e| e.1)
            .unwrap_or_default();
        assert!(!message.contains("line"), "{message}");
    }

    #[test]
    fn non_objects_are_invalid_and_whole_floats_are_integers() {
        for body in ["[1, 2]", "\"text\"", "null", "5"] {
            assert_eq!(
                field_error(body).map(|e| e.0),
                Some("body".into()),
                "{body}"
            );
        }
        let ok = parse_json::<Body>(br#"{"name": "a", "inner": {"n": 2.0}}"#);
        assert!(
            matches!(
                ok,
                Ok(Body {
                    inner: Some(Inner { n: 2 }),
                    ..
                })
            ),
            "{ok:?}"
        );
        assert_eq!(
            field_error(r#"{"name": "a", "inner": {"n": 2.5}}"#).map(|e| e.0),
            Some("inner.n".into())
        );
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        for body in ["", "{", "nonsense", r#"{"name": "a"} trailing"#] {
            assert!(
                matches!(
                    parse_json::<Body>(body.as_bytes()),
                    Err(AppError::BadRequest(_))
                ),
                "{body}"
            );
        }
    }
}
