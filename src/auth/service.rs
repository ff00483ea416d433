//! Register, log in, refresh, log out. Shared by REST and GraphQL.

use std::sync::Arc;
use std::time::Duration;

use innkeep_actors::Clock;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::limits::FailureLimiter;
use super::password;
use super::tokens::{self, ACCESS_TTL, REFRESH_TTL, Session, TokenService};
use crate::cache::Cache;
use crate::error::{AppError, AppResult, Validator};
use crate::store::{NewRefreshToken, NewUser, RotateOutcome, UserStore};
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

/// Failed logins allowed per e-mail per window before 429.
pub const LOGIN_MAX_FAILURES: u64 = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct AuthService {
    users: Arc<dyn UserStore>,
    tokens: Arc<TokenService>,
    limits: Arc<FailureLimiter>,
    clock: Arc<dyn Clock>,
}

impl AuthService {
    pub fn new(
        users: Arc<dyn UserStore>,
        tokens: TokenService,
        cache: Arc<dyn Cache>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            tokens: Arc::new(tokens),
            limits: Arc::new(FailureLimiter::new(cache, LOGIN_MAX_FAILURES, LOGIN_WINDOW)),
            clock,
        }
    }

    pub async fn register(&self, input: RegisterInput) -> AppResult<AuthResponse> {
        let mut v = Validator::default();
        let email = v.check("email", Email::parse(&input.email));
        let password = v.check("password", Password::parse(&input.password));
        let name = v.check("name", Name::parse(&input.name));
        v.finish()?;
        let (Some(email), Some(password), Some(name)) = (email, password, name) else {
            return Err(AppError::field("input", "invalid"));
        };
        let password_hash = password::hash(password).await?;
        let user = self
            .users
            .create_user(&NewUser {
                id: Uuid::now_v7(),
                email,
                name,
                password_hash,
                now: self.clock.now(),
            })
            .await?;
        self.start_session(user, Uuid::now_v7()).await
    }

    pub async fn login(&self, input: LoginInput) -> AppResult<AuthResponse> {
        // A malformed address cannot belong to an account: same answer as unknown.
        let email =
            Email::parse(&input.email).map_err(|_| AppError::Unauthorized(BAD_CREDENTIALS))?;
        let limit_key = format!("login-failures:{}", email.as_str());
        self.limits.check(&limit_key).await?;

        let account = self.users.credentials_by_email(&email).await?;
        let (user_id, stored_hash) = match account {
            Some((id, hash)) => (Some(id), Some(hash)),
            None => (None, None),
        };
        let ok = password::verify(input.password, stored_hash).await?;
        let Some(user_id) = user_id.filter(|_| ok) else {
            self.limits.record_failure(&limit_key).await;
            return Err(AppError::Unauthorized(BAD_CREDENTIALS));
        };
        self.limits.clear(&limit_key).await;
        let user = self
            .users
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::Unauthorized(BAD_CREDENTIALS))?;
        self.start_session(user, Uuid::now_v7()).await
    }

    pub async fn refresh(&self, input: RefreshInput) -> AppResult<AuthResponse> {
        let now = self.clock.now();
        let (token, hash) = tokens::new_refresh_token();
        let presented = tokens::hash_refresh_token(input.refresh_token.trim());
        let outcome = self
            .users
            .rotate_refresh_token(&presented, now, &hash, now + REFRESH_TTL)
            .await?;
        match outcome {
            RotateOutcome::Rotated { user_id, family_id } => {
                let user = self
                    .users
                    .user_by_id(user_id)
                    .await?
                    .ok_or(AppError::Unauthorized(BAD_REFRESH))?;
                self.respond(user, Session { user_id, family_id }, token)
            }
            RotateOutcome::Reused { family_id } => {
                tracing::warn!(%family_id, "refresh token reused: family revoked");
                Err(AppError::Unauthorized(BAD_REFRESH))
            }
            RotateOutcome::Invalid => Err(AppError::Unauthorized(BAD_REFRESH)),
        }
    }

    pub async fn logout(&self, session: Session) -> AppResult<()> {
        self.users
            .revoke_refresh_family(session.family_id, self.clock.now())
            .await?;
        Ok(())
    }

    /// Checks an access token (signature and expiry by the injected clock).
    /// Access tokens are short-lived and not checked against the store:
    /// logout stops the refresh family, and the last access token dies
    /// within 15 min.
    pub fn authenticate(&self, bearer: &str) -> AppResult<Session> {
        self.tokens
            .verify(bearer, self.clock.now())
            .ok_or(AppError::Unauthorized("invalid or expired access token"))
    }

    async fn start_session(&self, user: User, family_id: Uuid) -> AppResult<AuthResponse> {
        let now = self.clock.now();
        let (token, hash) = tokens::new_refresh_token();
        self.users
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
        self.respond(user, session, token)
    }

    fn respond(&self, user: User, session: Session, refresh: String) -> AppResult<AuthResponse> {
        let access_token = self.tokens.issue(session, self.clock.now())?;
        Ok(AuthResponse {
            user,
            access_token,
            refresh_token: refresh,
            token_type: "Bearer",
            expires_in: ACCESS_TTL.num_seconds(),
        })
    }
}
