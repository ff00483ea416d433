//! `Idempotency-Key` records.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;

#[derive(Debug, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First use of the key: do the work, then `idempotency_finish`.
    Claimed,
    /// Done before: answer this.
    Replay { status: u16, body: Vec<u8> },
    /// The first request with this key is still running.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

/// `Idempotency-Key`: the first response to (user, key), kept for replay.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    async fn idempotency_begin(
        &self,
        user_id: Uuid,
        key: &str,
        request_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<IdempotencyStart>;
    async fn idempotency_finish(
        &self,
        user_id: Uuid,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()>;
    /// Frees a claimed key whose request failed inside, so a retry can run.
    async fn idempotency_abandon(&self, user_id: Uuid, key: &str) -> StoreResult<()>;
}
