//! Access tokens (JWT, HS256, 15 minutes) and refresh tokens (32 random
//! bytes, stored as SHA-256). Expiry is checked against the injected clock,
//! not the system time, so the dev clock moves token expiry too.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const ACCESS_TTL: Duration = Duration::minutes(15);
pub const REFRESH_TTL: Duration = Duration::days(30);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    /// The refresh-token family (one per login): logout revokes it.
    sid: Uuid,
    iat: i64,
    exp: i64,
}

/// Who an access token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub user_id: Uuid,
    pub family_id: Uuid,
}

pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenService {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Checked below against the injected clock instead.
        validation.validate_exp = false;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(&self, session: Session, now: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = Claims {
            sub: session.user_id,
            sid: session.family_id,
            iat: now.timestamp(),
            exp: (now + ACCESS_TTL).timestamp(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The session of a valid, unexpired token; `None` for anything else.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Session> {
        // jsonwebtoken parses the header (the part before the last two
        // dots) before it checks the signature, into a struct whose
        // unknown fields serde buffers recursively: its nesting is bounded
        // first, as every untrusted JSON's (`nesting`).
        let header = URL_SAFE_NO_PAD.decode(token.rsplitn(3, '.').nth(2)?).ok()?;
        crate::nesting::check_json(&header).ok()?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        (data.claims.exp > now.timestamp()).then_some(Session {
            user_id: data.claims.sub,
            family_id: data.claims.sid,
        })
    }
}

/// A new refresh token and the hash under which it is stored.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh random secret, for a dev database that has none yet.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `JWT_SECRET`, or for SQLite a secret generated once and kept beside the
/// database file, readable by its owner only (so tokens survive
/// restarts); PostgreSQL deployments must set it, since several processes
/// have to share it.
pub fn secret_for(jwt_secret: Option<&str>, database_url: &str) -> anyhow::Result<String> {
    use anyhow::{Context, bail};
    if let Some(secret) = jwt_secret {
        if secret.len() < 32 {
            bail!("JWT_SECRET must be at least 32 characters");
        }
        return Ok(secret.to_owned());
    }
    if crate::store::is_postgres(database_url) {
        bail!("JWT_SECRET is required with PostgreSQL (at least 32 random characters)");
    }
    let options =
        <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(database_url)?;
    let db_file = options.get_filename();
    if db_file.as_os_str() == ":memory:" {
        return Ok(generate_secret());
    }
    let path = std::path::PathBuf::from(db_file).with_extension("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            if crate::files::narrow_to_owner(&path)? {
                tracing::warn!(path = %path.display(), "the JWT secret file was readable by others; narrowed to 0600 (rotate JWT_SECRET if others may have read it)");
            }
            return Ok(existing);
        }
        // Too short to be ours: replaced.
        std::fs::remove_file(&path).with_context(|| format!("replacing {}", path.display()))?;
    }
    let secret = generate_secret();
    crate::files::create_new_private(&path, secret.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a JWT secret for this SQLite database");
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_expire_by_the_given_clock() {
        let svc = TokenService::new(b"0123456789abcdef0123456789abcdef");
        let session = Session {
            user_id: Uuid::now_v7(),
            family_id: Uuid::now_v7(),
        };
        let now = Utc::now();
        let token = svc.issue(session, now).unwrap_or_default();
        assert_eq!(svc.verify(&token, now), Some(session));
        assert_eq!(
            svc.verify(&token, now + ACCESS_TTL + Duration::seconds(1)),
            None
        );
        let other = TokenService::new(b"another secret, another signature");
        assert_eq!(other.verify(&token, now), None);
        assert_eq!(svc.verify("not.a.token", now), None);
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, ha) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a), ha);
        assert_eq!(ha.len(), 32);
    }
}
