//! The production store. Overlap of active calendar ranges is refused by the
//! `calendar_entries_no_overlap` exclusion constraint, so even several
//! innkeep processes on one database cannot double-book.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::DateRange;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use super::sql::{PROPERTY_COLUMNS, RATING_KEY, USER_COLUMNS, impl_store, is_unique_violation};
use super::{NewRefreshToken, NewUser, RotateOutcome, StoreError, StoreResult};
use crate::properties::{Block, Property, PropertyQuery, Sort};
use crate::users::service::ProfilePatch;
use crate::users::{Email, User};

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, connections: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .context("connecting to PostgreSQL")?;
        Ok(Self { pool })
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    fn push_has_amenity(qb: &mut QueryBuilder<Postgres>, amenity: String) {
        qb.push("p.amenities ? ").push_bind(amenity);
    }
}

impl_store!(PgStore, Postgres, {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("migrations/postgres")
            .run(&self.pool)
            .await
            .context("applying PostgreSQL migrations")
    }

    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
});
