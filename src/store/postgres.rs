//! The production store. Overlap of active calendar ranges is refused by the
//! `calendar_entries_no_overlap` exclusion constraint, so even several
//! innkeep processes on one database cannot double-book.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::Booking;
use innkeep_actors::ports::LocalIntent;

use crate::properties::BBox;

use super::bookings_sql::impl_booking_store;
use super::calendar_sql::{Lone, impl_calendar_store};
use super::columns::{BOOKING_COLUMNS, DEV_INTENT_COLUMNS};
use super::dev_gateway_sql::impl_dev_gateway_store;
use super::imports_sql::impl_import_store;
use super::jobs_sql::impl_job_store;
use super::ledger_sql::impl_ledger_store;
use super::notifications_sql::impl_notification_store;
use super::payment_jobs_sql::impl_payment_job_store;
use super::properties_sql::impl_property_store;
use super::reviews_sql::impl_review_store;
use super::seed_sql::impl_seed_store;
use super::users_sql::impl_user_store;
use super::{ChangeListener, DevIntent, Store};

/// `PgStore::insert_lone`'s statement: $1–$25 the bookings' columns
/// (`BOOKING_COLUMNS` order), $26 when each was decided (its calendar
/// entry's `created_at`), $27–$34 the dev intents'.
static LONE_STATEMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH v AS (\
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::date[], \
                $6::date[], $7::int4[], $8::text[], $9::int4[], $10::int8[], $11::int8[], \
                $12::int8[], $13::int8[], $14::int8[], $15::text[], $16::bool[], $17::text[], \
                $18::timestamptz[], $19::timestamptz[], $20::timestamptz[], $21::text[], \
                $22::text[], $23::text[], $24::text[], $25::int8[], $26::timestamptz[]) \
            AS v ({BOOKING_COLUMNS}, decided_at)\
        ), e AS (\
            INSERT INTO calendar_entries (id, property_id, start_date, end_date, kind, active, reason, created_at) \
            SELECT v.id, v.property_id, v.check_in, v.check_out, 'booking', TRUE, NULL, v.decided_at FROM v \
            ON CONFLICT DO NOTHING RETURNING id\
        ), b AS (\
            INSERT INTO bookings ({BOOKING_COLUMNS}) SELECT {BOOKING_COLUMNS} FROM v JOIN e USING (id)\
        ), i AS (\
            INSERT INTO dev_payment_intents ({DEV_INTENT_COLUMNS}) SELECT {DEV_INTENT_COLUMNS} \
            FROM unnest($27::text[], $28::text[], $29::uuid[], $30::int8[], $31::text[], \
                $32::text[], $33::text[], $34::int8[], $35::timestamptz[]) \
                AS d ({DEV_INTENT_COLUMNS}) \
            WHERE d.booking_id IN (SELECT id FROM e) \
            ON CONFLICT DO NOTHING\
        ) SELECT id FROM e"
    )
});

/// The columns of `LONE_STATEMENT`, one array each.
#[derive(Default)]
struct LoneColumns<'a> {
    bookings: BookingColumns<'a>,
    decided_at: Vec<DateTime<Utc>>,
    intents: IntentColumns,
}

#[derive(Default)]
struct BookingColumns<'a> {
    id: Vec<Uuid>,
    property_id: Vec<Uuid>,
    guest_id: Vec<Uuid>,
    host_id: Vec<Uuid>,
    check_in: Vec<NaiveDate>,
    check_out: Vec<NaiveDate>,
    guests: Vec<i32>,
    status: Vec<&'a str>,
    nights: Vec<i32>,
    subtotal: Vec<i64>,
    cleaning_fee: Vec<i64>,
    service_fee: Vec<i64>,
    total: Vec<i64>,
    host_payout: Vec<i64>,
    currency: Vec<&'a str>,
    instant_book: Vec<bool>,
    cancellation_policy: Vec<&'a str>,
    created_at: Vec<DateTime<Utc>>,
    updated_at: Vec<DateTime<Utc>>,
    expires_at: Vec<Option<DateTime<Utc>>>,
    payment_provider: Vec<&'a str>,
    payment_intent_id: Vec<Option<&'a str>>,
    payment_client_secret: Vec<Option<&'a str>>,
    payment_status: Vec<&'a str>,
    refund_amount: Vec<Option<i64>>,
}

/// Dev intents' columns, `DEV_INTENT_COLUMNS` order.
#[derive(Default)]
struct IntentColumns {
    id: Vec<String>,
    idempotency_key: Vec<String>,
    booking_id: Vec<Uuid>,
    amount: Vec<i64>,
    currency: Vec<String>,
    capture_method: Vec<String>,
    status: Vec<&'static str>,
    amount_refunded: Vec<i64>,
    created_at: Vec<DateTime<Utc>>,
}

impl<'a> LoneColumns<'a> {
    fn push(&mut self, b: &'a Booking, intent: Option<&LocalIntent>, decided_at: DateTime<Utc>) {
        let c = &mut self.bookings;
        c.id.push(b.id);
        c.property_id.push(b.property_id);
        c.guest_id.push(b.guest_id);
        c.host_id.push(b.host_id);
        c.check_in.push(b.check_in);
        c.check_out.push(b.check_out);
        c.guests.push(b.guests);
        c.status.push(b.status.as_str());
        c.nights.push(b.nights);
        c.subtotal.push(b.subtotal);
        c.cleaning_fee.push(b.cleaning_fee);
        c.service_fee.push(b.service_fee);
        c.total.push(b.total);
        c.host_payout.push(b.host_payout);
        c.currency.push(b.currency.as_str());
        c.instant_book.push(b.instant_book);
        c.cancellation_policy.push(b.cancellation_policy.as_str());
        c.created_at.push(b.created_at);
        c.updated_at.push(b.updated_at);
        c.expires_at.push(b.expires_at);
        c.payment_provider.push(&b.payment_provider);
        c.payment_intent_id.push(b.payment_intent_id.as_deref());
        c.payment_client_secret
            .push(b.payment_client_secret.as_deref());
        c.payment_status.push(b.payment_status.as_str());
        c.refund_amount.push(b.refund_amount);
        self.decided_at.push(decided_at);
        if let Some(intent) = intent {
            let d = DevIntent::from(intent);
            let i = &mut self.intents;
            i.id.push(d.id);
            i.idempotency_key.push(d.idempotency_key);
            i.booking_id.push(d.booking_id);
            i.amount.push(d.amount);
            i.currency.push(d.currency);
            i.capture_method.push(d.capture_method);
            i.status.push(d.status.as_str());
            i.amount_refunded.push(d.amount_refunded);
            i.created_at.push(d.created_at);
        }
    }
}

pub struct PgStore {
    pool: PgPool,
    /// Tags our own NOTIFYs so we do not reload on our own writes.
    instance: Uuid,
    /// Properties changed by committed transactions, for [`notifier`].
    changes: tokio::sync::mpsc::UnboundedSender<Uuid>,
}

/// How long a request waits for a connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);
/// The longest any statement may run.
const STATEMENT_TIMEOUT_MS: u64 = 5_000;

/// The channel on which every process announces calendar changes.
const CALENDAR_CHANNEL: &str = "innkeep_calendar";

/// Property ids per NOTIFY payload (PostgreSQL caps a payload at 8000 bytes).
const IDS_PER_NOTIFY: usize = 200;

/// Announces committed changes to other processes, many per NOTIFY.
///
/// A NOTIFY inside a booking's transaction would take PostgreSQL's global
/// notify lock at every commit and serialise all of them (load tests showed
/// ~1,300 bookings/s whatever the pool size). Announcing after commit, from
/// one task, batched while the previous NOTIFY is in flight, keeps commits
/// parallel. Correctness does not rest on it: the exclusion constraint
/// refuses an overlap a stale calendar accepts, and the calendar reloads.
async fn notifier(
    pool: PgPool,
    instance: Uuid,
    mut changes: tokio::sync::mpsc::UnboundedReceiver<Uuid>,
) {
    let mut batch = Vec::with_capacity(IDS_PER_NOTIFY);
    while changes.recv_many(&mut batch, IDS_PER_NOTIFY).await > 0 {
        batch.sort_unstable();
        batch.dedup();
        let ids: Vec<String> = batch.drain(..).map(|id| id.to_string()).collect();
        let payload = format!("{instance}:{}", ids.join(","));
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CALENDAR_CHANNEL)
            .bind(payload)
            .execute(&pool)
            .await
        {
            // Other processes then learn of these changes from the
            // constraint (bookings) or within PROPERTY_TTL (properties).
            tracing::warn!(error = %e, changes = ids.len(), "NOTIFY of calendar changes failed");
        }
    }
}

impl PgStore {
    /// Ends an ordered subquery that must stay one (search sorts before it
    /// probes calendars): an `OFFSET 0` keeps PostgreSQL from pulling the subquery up.
    const ORDER_FENCE: &'static str = " OFFSET 0";

    /// Ends the job claim's inner SELECT: rows another worker is claiming
    /// are passed over, not waited for.
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    /// The extended query protocol takes one statement per query: a shared
    /// commit's statements go one by one.
    const ONE_QUERY_CHUNKS: bool = false;

    /// The exclusion constraint, under ON CONFLICT DO NOTHING, leaves out
    /// overlapping ranges by itself (a NOT EXISTS beside it was planned as
    /// a sequential scan of every entry once the statement went generic).
    const OVERLAP_GUARD: &'static str = "";

    /// A shared commit's lone bookings (one per property) in one statement
    /// (`LONE_STATEMENT`; outside a transaction it is one of its own):
    /// each calendar entry unless it overlaps an active range (the
    /// exclusion constraint, `OVERLAP_GUARD`), then the bookings and dev
    /// intents whose entry went in. Columns go as arrays, so the text is the same for any
    /// number of bookings and stays prepared. The ids that went in.
    async fn insert_lone(
        conn: &mut sqlx::PgConnection,
        lone: &[Lone<'_>],
    ) -> Result<Option<HashSet<Uuid>>, sqlx::Error> {
        let mut b = LoneColumns::default();
        for (_, booking, intent, decided_at) in lone {
            b.push(booking, *intent, *decided_at);
        }
        let LoneColumns {
            bookings: c,
            decided_at,
            intents: i,
        } = b;
        let ids: Vec<Uuid> = sqlx::query_scalar(LONE_STATEMENT.as_str())
            .bind(c.id)
            .bind(c.property_id)
            .bind(c.guest_id)
            .bind(c.host_id)
            .bind(c.check_in)
            .bind(c.check_out)
            .bind(c.guests)
            .bind(c.status)
            .bind(c.nights)
            .bind(c.subtotal)
            .bind(c.cleaning_fee)
            .bind(c.service_fee)
            .bind(c.total)
            .bind(c.host_payout)
            .bind(c.currency)
            .bind(c.instant_book)
            .bind(c.cancellation_policy)
            .bind(c.created_at)
            .bind(c.updated_at)
            .bind(c.expires_at)
            .bind(c.payment_provider)
            .bind(c.payment_intent_id)
            .bind(c.payment_client_secret)
            .bind(c.payment_status)
            .bind(c.refund_amount)
            .bind(decided_at)
            .bind(i.id)
            .bind(i.idempotency_key)
            .bind(i.booking_id)
            .bind(i.amount)
            .bind(i.currency)
            .bind(i.capture_method)
            .bind(i.status)
            .bind(i.amount_refunded)
            .bind(i.created_at)
            .fetch_all(conn)
            .await?;
        Ok(Some(ids.into_iter().collect()))
    }

    pub async fn connect(url: &str, connections: u32) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .context("parsing DATABASE_URL")?
            // No statement may hold a connection (and a request) for long:
            // one that does is cancelled and answered 503.
            .options([("statement_timeout", STATEMENT_TIMEOUT_MS.to_string())]);
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            // When the database is away, requests fail fast (503 with
            // Retry-After) instead of queueing for a connection; the pool
            // reconnects by itself once it is back.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .context("connecting to PostgreSQL")?;
        let instance = Uuid::new_v4();
        let (changes, receiver) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(notifier(pool.clone(), instance, receiver));
        Ok(Self {
            pool,
            instance,
            changes,
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

    /// Tells other processes, soon after commit, that this property changed.
    fn announce_change(&self, property_id: Uuid) {
        // Fails only once the notifier has stopped, at shutdown.
        let _ = self.changes.send(property_id);
    }

    fn push_has_amenity(qb: &mut QueryBuilder<Postgres>, amenity: String) {
        qb.push("p.amenities ? ").push_bind(amenity);
    }

    /// The listing in grid cell `cell` (the generated column
    /// `properties_cell_price_idx` leads with).
    fn push_in_cell(qb: &mut QueryBuilder<Postgres>, cell: i32) {
        qb.push("p.geo_cell = ").push_bind(cell);
    }

    /// The listing's point within the box: the expression
    /// `properties_location_cover_idx` (GiST) indexes.
    fn push_in_bbox(qb: &mut QueryBuilder<Postgres>, b: &BBox) {
        qb.push("point(p.longitude, p.latitude) <@ box(point(")
            .push_bind(b.min_lon)
            .push(", ")
            .push_bind(b.min_lat)
            .push("), point(")
            .push_bind(b.max_lon)
            .push(", ")
            .push_bind(b.max_lat)
            .push("))");
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
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

    /// The caches are the server's, not this process's.
    async fn release_memory(&self) -> anyhow::Result<()> {
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
                        let Some((from, ids)) = note.payload().split_once(':') else {
                            continue;
                        };
                        if from == me {
                            continue;
                        }
                        for property_id in ids.split(',').filter_map(|id| id.parse::<Uuid>().ok()) {
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
}

impl_user_store!(PgStore, Postgres);
impl_property_store!(PgStore, Postgres);
impl_calendar_store!(PgStore, Postgres);
impl_booking_store!(PgStore, Postgres);
impl_dev_gateway_store!(PgStore, Postgres);
impl_ledger_store!(PgStore, Postgres);
impl_payment_job_store!(PgStore, Postgres);
impl_job_store!(PgStore, Postgres);
impl_import_store!(PgStore, Postgres);
impl_notification_store!(PgStore, Postgres);
impl_review_store!(PgStore, Postgres);
impl_seed_store!(PgStore, Postgres);
