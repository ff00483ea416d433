//! The profile service: read and update the caller's own account.

use std::sync::Arc;

use innkeep_actors::Clock;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Bio, Name, ProfilePatch, User};
use crate::error::{AppError, AppResult, Validator};
use crate::store::UserStore;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    pub name: Option<String>,
    pub bio: Option<String>,
}

#[derive(Clone)]
pub struct UserService {
    store: Arc<dyn UserStore>,
    clock: Arc<dyn Clock>,
}

impl UserService {
    pub fn new(store: Arc<dyn UserStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn me(&self, user_id: Uuid) -> AppResult<User> {
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::Unauthorized("the account no longer exists"))
    }

    /// The users among `ids`, in one store call (for GraphQL's batched
    /// `host` and `guest` fields).
    pub async fn by_ids(&self, ids: &[Uuid]) -> AppResult<std::collections::HashMap<Uuid, User>> {
        let users = self.store.users_by_ids(ids).await?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }

    pub async fn update_me(&self, user_id: Uuid, input: UpdateMe) -> AppResult<User> {
        let mut v = Validator::default();
        let patch = ProfilePatch {
            name: input
                .name
                .as_deref()
                .and_then(|n| v.check("name", Name::parse(n))),
            bio: input
                .bio
                .as_deref()
                .and_then(|b| v.check("bio", Bio::parse(b))),
        };
        v.finish()?;
        self.store
            .update_user(user_id, &patch, self.clock.now())
            .await?
            .ok_or(AppError::Unauthorized("the account no longer exists"))
    }
}
