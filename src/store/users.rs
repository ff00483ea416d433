//! Accounts, sign-in and refresh tokens (`auth`, `users`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::users::{Email, Name, ProfilePatch, User};

pub struct NewUser {
    pub id: Uuid,
    pub email: Email,
    pub name: Name,
    pub password_hash: String,
    pub now: DateTime<Utc>,
}

pub struct NewRefreshToken {
    pub token_hash: Vec<u8>,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated {
        user_id: Uuid,
        family_id: Uuid,
    },
    /// The token had been used already: its family is now revoked.
    Reused {
        family_id: Uuid,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Accounts and their refresh tokens.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The users among `ids` that exist, in one query (at most 100 ids).
    async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<User>>;
    /// The id and password hash of the account with this e-mail.
    async fn credentials_by_email(&self, email: &Email) -> StoreResult<Option<(Uuid, String)>>;
    async fn update_user(
        &self,
        id: Uuid,
        patch: &ProfilePatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;

    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> StoreResult<()>;
    /// Marks the presented token used and stores its successor in the same
    /// family, atomically; a second use of one token revokes the family.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        now: DateTime<Utc>,
        next_hash: &[u8],
        next_expires_at: DateTime<Utc>,
    ) -> StoreResult<RotateOutcome>;
    async fn revoke_refresh_family(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
}
