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

use super::booking_sql::{BOOKING_COLUMNS, impl_booking_store};
use super::ledger_sql::impl_ledger_store;
use super::sql::{PROPERTY_COLUMNS, RATING_KEY, USER_COLUMNS, impl_store, is_unique_violation};
use super::{
    BookingQuery, ChangeListener, DevIntent, IdempotencyStart, NewRefreshToken, NewUser,
    RotateOutcome, StoreError, StoreResult,
};
use crate::properties::{Property, PropertyQuery, Sort};
use crate::users::service::ProfilePatch;
use crate::users::{Email, User};
use innkeep_actors::domain::Booking;
use innkeep_actors::ports::{
    CalendarEntry, CalendarOp, EntryKind, OpOutcome, PaymentIntent, PortError,
};

pub struct PgStore {
    pool: PgPool,
    /// Tags our own NOTIFYs so we do not reload on our own writes.
    instance: Uuid,
}

/// The channel on which every process announces calendar changes.
const CALENDAR_CHANNEL: &str = "innkeep_calendar";

impl PgStore {
    pub async fn connect(url: &str, connections: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .context("connecting to PostgreSQL")?;
        Ok(Self {
            pool,
            instance: Uuid::new_v4(),
        })
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

    /// A consistent read of several tables, without blocking writers.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
    }

    /// Tells other processes, at commit, that this property's calendar changed.
    async fn announce_change(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        property_id: Uuid,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CALENDAR_CHANNEL)
            .bind(format!("{property_id}:{}", self.instance))
            .execute(&mut **tx)
            .await?;
        Ok(())
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

    async fn announce_property_change(&self, id: Uuid) -> anyhow::Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CALENDAR_CHANNEL)
            .bind(format!("{id}:{}", self.instance))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn watch_calendars(&self, listener: ChangeListener) -> anyhow::Result<()> {
        let mut pg = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        pg.listen(CALENDAR_CHANNEL).await?;
        let me = self.instance.to_string();
        tokio::spawn(async move {
            loop {
                match pg.recv().await {
                    Ok(note) => {
                        let Some((property, from)) = note.payload().split_once(':') else {
                            continue;
                        };
                        if from != me
                            && let Ok(property_id) = property.parse::<Uuid>()
                        {
                            listener(property_id);
                        }
                    }
                    // PgListener reconnects by itself on the next recv; a
                    // notification lost meanwhile is covered by the
                    // exclusion constraint and the reload it triggers.
                    Err(e) => {
                        tracing::warn!(error = %e, "calendar LISTEN connection lost; reconnecting");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        Ok(())
    }
});

impl_booking_store!(PgStore, Postgres);
impl_ledger_store!(PgStore, Postgres);
