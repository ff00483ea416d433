//! Register, log in, refresh, log out. Shared by REST and GraphQL.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use innkeep_actors::Clock;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::limits::{Limit, Limiter};
use super::password::Passwords;
use super::tokens::{self, ACCESS_TTL, REFRESH_TTL, Session, TokenService};
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

const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins into one account from one client address.
pub const LOGIN_PER_ACCOUNT_AND_ADDRESS: Limit = Limit::new(5, LOGIN_WINDOW);
/// Failed sign-ins into one account from anywhere (a spread-out attack)...
pub const LOGIN_PER_ACCOUNT: Limit = Limit::new(20, LOGIN_WINDOW);
/// ...past which an address that has not failed more than this many times
/// itself still gets its tries: the owner is not locked out by others.
pub const OWNER_ALLOWANCE: u64 = 2;
/// Failed sign-ins from one client address, whatever the accounts.
pub const LOGIN_PER_ADDRESS: Limit = Limit::new(50, LOGIN_WINDOW);

/// Where a request comes from, for the per-address limits.
fn address(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

#[derive(Clone)]
pub struct AuthService {
    users: Arc<dyn UserStore>,
    tokens: Arc<TokenService>,
    passwords: Arc<Passwords>,
    limiter: Arc<Limiter>,
    /// Sign-ups per client address per hour (0: no limit).
    registrations_per_hour: u64,
    clock: Arc<dyn Clock>,
}

impl AuthService {
    pub fn new(
        users: Arc<dyn UserStore>,
        tokens: TokenService,
        passwords: Arc<Passwords>,
        limiter: Arc<Limiter>,
        registrations_per_hour: u64,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            tokens: Arc::new(tokens),
            passwords,
            limiter,
            registrations_per_hour,
            clock,
        }
    }

    pub async fn register(
        &self,
        input: RegisterInput,
        client: Option<IpAddr>,
    ) -> AppResult<AuthResponse> {
        let per_hour = Limit::new(self.registrations_per_hour, Duration::from_secs(3600));
        self.limiter
            .check(&format!("register:address:{}", address(client)), per_hour)
            .await?;
        let mut v = Validator::default();
        let email = v.check("email", Email::parse(&input.email));
        let password = v.check("password", Password::parse(&input.password));
        let name = v.check("name", Name::parse(&input.name));
        v.finish()?;
        let (Some(email), Some(password), Some(name)) = (email, password, name) else {
            return Err(AppError::field("input", "invalid"));
        };
        let password_hash = self.passwords.hash(password).await?;
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

    /// Signs in. Every attempt is counted against the limits before the
    /// password is checked (so concurrent guesses count one by one), and
    /// given back if it succeeds.
    pub async fn login(
        &self,
        input: LoginInput,
        client: Option<IpAddr>,
    ) -> AppResult<AuthResponse> {
        // A malformed address cannot belong to an account: same answer as unknown.
        let email =
            Email::parse(&input.email).map_err(|_| AppError::Unauthorized(BAD_CREDENTIALS))?;
        let address = address(client);
        let pair_key = format!("login:pair:{}:{address}", email.as_str());
        let account_key = format!("login:account:{}", email.as_str());
        let address_key = format!("login:address:{address}");
        let pair = self
            .limiter
            .count(&pair_key, LOGIN_PER_ACCOUNT_AND_ADDRESS)
            .await;
        let account = self.limiter.count(&account_key, LOGIN_PER_ACCOUNT).await;
        let from_address = self.limiter.count(&address_key, LOGIN_PER_ADDRESS).await;
        let refusals = [
            (pair.hits > LOGIN_PER_ACCOUNT_AND_ADDRESS.max, pair),
            (from_address.hits > LOGIN_PER_ADDRESS.max, from_address),
            (
                account.hits > LOGIN_PER_ACCOUNT.max && pair.hits > OWNER_ALLOWANCE,
                account,
            ),
        ];
        if let Some(retry_after_secs) = refusals
            .iter()
            .filter(|(over, _)| *over)
            .map(|(_, count)| count.retry_after_secs.max(1))
            .max()
        {
            // Refused unchecked: not a failure, so it counts for nothing.
            for key in [&pair_key, &account_key, &address_key] {
                self.limiter.give_back(key).await;
            }
            return Err(AppError::RateLimited { retry_after_secs });
        }
        let signed_in = self.check_password(&email, input.password).await;
        match &signed_in {
            // A wrong password: it stays counted.
            Err(AppError::Unauthorized(_)) => {}
            // Not a wrong password: the attempt does not count, and the
            // owner's success clears this address's failures.
            outcome => {
                self.limiter.give_back(&account_key).await;
                self.limiter.give_back(&address_key).await;
                if outcome.is_ok() {
                    self.limiter.reset(&pair_key).await;
                } else {
                    self.limiter.give_back(&pair_key).await;
                }
            }
        }
        let user = signed_in?;
        self.start_session(user, Uuid::now_v7()).await
    }

    /// The account if `password` is its password; 401 otherwise.
    async fn check_password(&self, email: &Email, password: String) -> AppResult<User> {
        let account = self.users.credentials_by_email(email).await?;
        let (user_id, stored_hash) = match account {
            Some((id, hash)) => (Some(id), Some(hash)),
            None => (None, None),
        };
        let ok = self.passwords.verify(password, stored_hash).await?;
        let Some(user_id) = user_id.filter(|_| ok) else {
            return Err(AppError::Unauthorized(BAD_CREDENTIALS));
        };
        self.users
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::Unauthorized(BAD_CREDENTIALS))
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
