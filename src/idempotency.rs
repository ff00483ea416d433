//! `Idempotency-Key` for requests that create bookings or move money: the
//! same key with the same request from the same user replays the first
//! answer (status and body) without doing the work again; with a different
//! request it is a 422. Keys live in the store, so replays survive
//! restarts, and concurrent requests with one key do the work once (the
//! others wait for the first one's answer). REST and GraphQL share this
//! (and the stored answer), so a key means the same on both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use innkeep_actors::Clock;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::store::{IdempotencyStart, IdempotencyStore};

/// The header (and, in GraphQL, the argument's meaning).
pub const HEADER: &str = "Idempotency-Key";
/// How long a request waits for a concurrent one with the same key.
const WAIT: Duration = Duration::from_secs(15);

/// An answer as kept: HTTP status and body bytes (JSON, or problem+json
/// for a refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Stored {
    pub fn json(status: u16, value: &impl serde::Serialize) -> AppResult<Self> {
        Ok(Self {
            status,
            body: serde_json::to_vec(value).map_err(anyhow::Error::from)?,
        })
    }
}

/// What `once` answers with.
#[derive(Debug)]
pub enum Answer {
    /// The work ran now.
    Fresh(Stored),
    /// The key was used before: the first answer, not run again.
    Replayed(Stored),
}

/// A key as a client sends it: 1 to 255 printable characters.
pub fn parse_key(raw: &str) -> AppResult<String> {
    let key = raw.trim();
    if key.is_empty()
        || raw.chars().count() > crate::schema::IDEMPOTENCY_KEY_MAX_CHARS
        || raw.chars().any(|c| c.is_control())
    {
        return Err(AppError::field(
            HEADER,
            "must be 1 to 255 printable characters",
        ));
    }
    Ok(key.to_owned())
}

#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
}

impl Idempotency {
    pub fn new(store: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Runs `work` at most once per (user, key). `fingerprint` identifies
    /// the request (operation and body) so a reused key with another
    /// request is caught. A refusal (4xx) is an answer too and is kept as
    /// `refusal` renders it; a failure of ours frees the key so the
    /// client's retry does the work.
    pub async fn once<F, Fut>(
        &self,
        user: Uuid,
        key: Option<String>,
        fingerprint: &[u8],
        refusal: impl Fn(&AppError) -> Stored,
        work: F,
    ) -> AppResult<Answer>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<Stored>>,
    {
        let Some(key) = key else {
            return Ok(Answer::Fresh(work().await?));
        };
        let hash = Sha256::digest(fingerprint).to_vec();
        let deadline = Instant::now() + WAIT;
        loop {
            match self
                .store
                .idempotency_begin(user, &key, &hash, self.clock.now())
                .await?
            {
                IdempotencyStart::Claimed => break,
                IdempotencyStart::Replay { status, body } => {
                    return Ok(Answer::Replayed(Stored { status, body }));
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
                self.store
                    .idempotency_finish(user, &key, stored.status, &stored.body)
                    .await?;
                Ok(Answer::Fresh(stored))
            }
            Err(err) if err.is_refusal() => {
                let kept = refusal(&err);
                self.store
                    .idempotency_finish(user, &key, kept.status, &kept.body)
                    .await?;
                Err(err)
            }
            Err(err) => {
                if let Err(e) = self.store.idempotency_abandon(user, &key).await {
                    tracing::error!(error = %e, "could not free an idempotency key after a failure");
                }
                Err(err)
            }
        }
    }
}
