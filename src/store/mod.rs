//! The `Store` trait: everything innkeep persists, behind one interface with
//! two real backends on sqlx, PostgreSQL (production) and SQLite (the
//! embedded default). Most SQL is shared (`sql.rs`); each backend adds what
//! its dialect does differently and its own migrations.

mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::DateRange;
use uuid::Uuid;

use crate::config::Config;
use crate::properties::{Block, Property, PropertyQuery};
use crate::users::service::ProfilePatch;
use crate::users::{Email, Name, User};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Two active calendar ranges of one property would overlap.
    #[error("dates overlap an existing booking or block")]
    Overlap,
    /// A uniqueness or state rule said no; the text is safe to show.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(db) = err.as_database_error()
            && matches!(db.kind(), sqlx::error::ErrorKind::ExclusionViolation)
        {
            return Self::Overlap;
        }
        Self::Other(err.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> anyhow::Result<()>;
    async fn ping(&self) -> anyhow::Result<()>;

    // users
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The id and password hash of the account with this e-mail.
    async fn credentials_by_email(&self, email: &Email) -> StoreResult<Option<(Uuid, String)>>;
    async fn update_user(
        &self,
        id: Uuid,
        patch: &ProfilePatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;

    // refresh tokens
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

    // properties
    async fn insert_property(&self, property: &Property) -> StoreResult<()>;
    async fn property(&self, id: Uuid) -> StoreResult<Option<Property>>;
    async fn update_property(&self, property: &Property) -> StoreResult<()>;
    /// Unlists the property unless an active booking ends after `today`.
    async fn unlist_property(
        &self,
        id: Uuid,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// One page (`query.limit + 1` rows, so the caller knows if there is more).
    async fn search_properties(&self, query: &PropertyQuery) -> StoreResult<Vec<Property>>;

    // calendar
    /// Inserts the block unless it overlaps an active range (→ `Overlap`).
    async fn insert_block(&self, block: &Block, now: DateTime<Utc>) -> StoreResult<()>;
    /// `false` when the property has no such block.
    async fn delete_block(&self, property_id: Uuid, block_id: Uuid) -> StoreResult<bool>;
    /// Active ranges (blocks, bookings, holds) that intersect `window`.
    async fn active_ranges(
        &self,
        property_id: Uuid,
        window: DateRange,
    ) -> StoreResult<Vec<DateRange>>;
}

/// Opens the store that `DATABASE_URL` names and applies its migrations.
pub async fn connect(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if config.is_postgres() {
        Arc::new(PgStore::connect(&config.database_url, config.db_pool).await?)
    } else {
        Arc::new(SqliteStore::connect(&config.database_url, config.db_pool).await?)
    };
    Ok(store)
}
