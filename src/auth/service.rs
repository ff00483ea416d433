//! Register, log in, refresh, log out. Shared by REST and GraphQL.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::password;
use super::tokens::{self, ACCESS_TTL, REFRESH_TTL, Session};
use crate::error::Validator;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{NewRefreshToken, NewUser, RotateOutcome};
use crate::users::{Email, Name, Password, User};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshInput {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: User,
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

const BAD_CREDENTIALS: &str = "invalid email or password";
const BAD_REFRESH: &str = "invalid or expired refresh token";

pub async fn register(state: &AppState, input: RegisterInput) -> AppResult<AuthResponse> {
    let mut v = Validator::default();
    let email = v.check("email", Email::parse(&input.email));
    let password = v.check("password", Password::parse(&input.password));
    let name = v.check("name", Name::parse(&input.name));
    v.finish()?;
    let (Some(email), Some(password), Some(name)) = (email, password, name) else {
        return Err(AppError::field("input", "invalid"));
    };
    let password_hash = password::hash(password).await?;
    let now = state.clock.now();
    let user = state
        .store
        .create_user(&NewUser {
            id: Uuid::now_v7(),
            email,
            name,
            password_hash,
            now,
        })
        .await?;
    start_session(state, user, Uuid::now_v7()).await
}

pub async fn login(state: &AppState, input: LoginInput) -> AppResult<AuthResponse> {
    // A malformed address cannot belong to an account: same answer as unknown.
    let email = Email::parse(&input.email).map_err(|_| AppError::Unauthorized(BAD_CREDENTIALS))?;
    let limit_key = format!("login-failures:{}", email.as_str());
    state.limits.check(&limit_key).await?;

    let account = state.store.credentials_by_email(&email).await?;
    let (user_id, stored_hash) = match account {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let ok = password::verify(input.password, stored_hash).await?;
    let Some(user_id) = user_id.filter(|_| ok) else {
        state.limits.record_failure(&limit_key).await;
        return Err(AppError::Unauthorized(BAD_CREDENTIALS));
    };
    state.limits.clear(&limit_key).await;
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(AppError::Unauthorized(BAD_CREDENTIALS))?;
    start_session(state, user, Uuid::now_v7()).await
}

pub async fn refresh(state: &AppState, input: RefreshInput) -> AppResult<AuthResponse> {
    let now = state.clock.now();
    let (token, hash) = tokens::new_refresh_token();
    let presented = tokens::hash_refresh_token(input.refresh_token.trim());
    let outcome = state
        .store
        .rotate_refresh_token(&presented, now, &hash, now + REFRESH_TTL)
        .await?;
    match outcome {
        RotateOutcome::Rotated { user_id, family_id } => {
            let user = state
                .store
                .user_by_id(user_id)
                .await?
                .ok_or(AppError::Unauthorized(BAD_REFRESH))?;
            respond(state, user, Session { user_id, family_id }, token)
        }
        RotateOutcome::Reused { family_id } => {
            tracing::warn!(%family_id, "refresh token reused: family revoked");
            Err(AppError::Unauthorized(BAD_REFRESH))
        }
        RotateOutcome::Invalid => Err(AppError::Unauthorized(BAD_REFRESH)),
    }
}

pub async fn logout(state: &AppState, session: Session) -> AppResult<()> {
    state
        .store
        .revoke_refresh_family(session.family_id, state.clock.now())
        .await?;
    Ok(())
}

/// Checks an access token (signature and expiry by the injected clock).
/// Access tokens are short-lived and not checked against the store: logout
/// stops the refresh family, and the last access token dies within 15 min.
pub fn authenticate(state: &AppState, bearer: &str) -> AppResult<Session> {
    let session = state
        .tokens
        .verify(bearer, state.clock.now())
        .ok_or(AppError::Unauthorized("invalid or expired access token"))?;
    Ok(session)
}

async fn start_session(state: &AppState, user: User, family_id: Uuid) -> AppResult<AuthResponse> {
    let now = state.clock.now();
    let (token, hash) = tokens::new_refresh_token();
    state
        .store
        .insert_refresh_token(&NewRefreshToken {
            token_hash: hash,
            user_id: user.id,
            family_id,
            created_at: now,
            expires_at: now + REFRESH_TTL,
        })
        .await?;
    let session = Session {
        user_id: user.id,
        family_id,
    };
    respond(state, user, session, token)
}

fn respond(
    state: &AppState,
    user: User,
    session: Session,
    refresh: String,
) -> AppResult<AuthResponse> {
    let access_token = state.tokens.issue(session, state.clock.now())?;
    Ok(AuthResponse {
        user,
        access_token,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: ACCESS_TTL.num_seconds(),
    })
}
