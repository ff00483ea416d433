//! The profile service: read and update the caller's own account.

use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Bio, Name, User};
use crate::error::Validator;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    pub name: Option<String>,
    pub bio: Option<String>,
}

/// What `UpdateMe` becomes once checked.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    pub name: Option<Name>,
    pub bio: Option<Bio>,
}

pub async fn me(state: &AppState, user_id: Uuid) -> AppResult<User> {
    state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(AppError::Unauthorized("the account no longer exists"))
}

pub async fn update_me(state: &AppState, user_id: Uuid, input: UpdateMe) -> AppResult<User> {
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
    let now = state.clock.now();
    state
        .store
        .update_user(user_id, &patch, now)
        .await?
        .ok_or(AppError::Unauthorized("the account no longer exists"))
}
