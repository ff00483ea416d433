//! `Idempotency-Key` for POSTs that create bookings or move money: the same
//! key with the same request from the same user replays the first response
//! (status and body) without doing the work again; with a different request
//! it is a 422. Keys live in the store, so replays survive restarts, and
//! concurrent requests with one key do the work once (the others wait for
//! the first one's answer).

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::IdempotencyStart;

pub const HEADER: &str = "Idempotency-Key";
/// How long a request waits for a concurrent one with the same key.
const WAIT: Duration = Duration::from_secs(15);

/// The key of the request, if it has one; 422 for an unusable key.
pub fn key(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(raw) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = raw
        .to_str()
        .map_err(|_| AppError::field(HEADER, "must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 255 {
        return Err(AppError::field(HEADER, "must be 1 to 255 characters"));
    }
    Ok(Some(key.to_owned()))
}

/// A JSON response, kept as status + bytes so it can be stored.
pub struct Stored {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Stored {
    pub fn json(status: StatusCode, value: &impl serde::Serialize) -> AppResult<Self> {
        Ok(Self {
            status,
            body: serde_json::to_vec(value).map_err(anyhow::Error::from)?,
        })
    }

    fn respond(self, content_type: &'static str, replayed: bool) -> HttpResponse {
        let mut res = HttpResponse::build(self.status)
            .content_type(content_type)
            .body(self.body);
        if replayed {
            res.headers_mut().insert(
                header::HeaderName::from_static("idempotent-replayed"),
                HeaderValue::from_static("true"),
            );
        }
        res
    }
}

/// Runs `work` at most once per (user, key). `fingerprint` identifies the
/// request (method, path, body) so a reused key with another request is
/// caught.
pub async fn once<F, Fut>(
    state: &AppState,
    user: Uuid,
    key: Option<String>,
    fingerprint: &[u8],
    work: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<Stored>>,
{
    let Some(key) = key else {
        return Ok(work().await?.respond("application/json", false));
    };
    let hash = Sha256::digest(fingerprint).to_vec();
    let deadline = Instant::now() + WAIT;
    loop {
        match state
            .store
            .idempotency_begin(user, &key, &hash, state.clock.now())
            .await?
        {
            IdempotencyStart::Claimed => break,
            IdempotencyStart::Replay { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                let content_type = if status.is_success() {
                    "application/json"
                } else {
                    crate::http::problem::PROBLEM_JSON
                };
                return Ok(Stored { status, body }.respond(content_type, true));
            }
            IdempotencyStart::Mismatch => {
                return Err(AppError::field(
                    HEADER,
                    "was already used with a different request",
                ));
            }
            IdempotencyStart::InProgress if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            IdempotencyStart::InProgress => {
                return Err(AppError::conflict(
                    "a request with this Idempotency-Key is still in progress",
                ));
            }
        }
    }
    match work().await {
        Ok(stored) => {
            state
                .store
                .idempotency_finish(user, &key, stored.status.as_u16(), &stored.body)
                .await?;
            Ok(stored.respond("application/json", false))
        }
        // A refusal is an answer too: replay it. A failure of ours is not:
        // free the key so the client's retry does the work.
        Err(err) if err.status_code().is_client_error() => {
            let res = err.error_response();
            let status = res.status();
            let body = actix_web::body::to_bytes(res.into_body())
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            state
                .store
                .idempotency_finish(user, &key, status.as_u16(), &body)
                .await?;
            Err(err)
        }
        Err(err) => {
            if let Err(e) = state.store.idempotency_abandon(user, &key).await {
                tracing::error!(error = %e, "could not free an idempotency key after a failure");
            }
            Err(err)
        }
    }
}
