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

use crate::domain::properties::BBox;

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
/// entry's `created_at`), $27–$35 the dev intents' (`DEV_INTENT_COLUMNS` order).
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

/// `LONE_STATEMENT` as built up.
type LoneQuery<'q> = sqlx::query::QueryScalar<'q, Postgres, Uuid, sqlx::postgres::PgArguments>;

/// Declares a struct of one array per column, `push` adding a row's values
/// (each field's expression, over `push`'s arguments) and `bind` binding
/// the arrays in the order listed: one list of the columns for all three.
macro_rules! column_arrays {
    ($(#[$doc:meta])* $name:ident<$a:lifetime>($($arg:ident: $arg_ty:ty),*) {
        $($field:ident: $ty:ty = $value:expr),* $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Default)]
        struct $name<$a> {
            $($field: Vec<$ty>,)*
        }

        impl<$a> $name<$a> {
            fn push(&mut self, $($arg: $arg_ty),*) {
                $(self.$field.push($value);)*
            }

            fn bind<'q>(self, query: LoneQuery<'q>) -> LoneQuery<'q>
            where
                $a: 'q,
            {
                query$(.bind(self.$field))*
            }
        }
    };
}

column_arrays! {
    /// `LONE_STATEMENT`'s $1–$26: the bookings' columns, `BOOKING_COLUMNS`
    /// order, then when each was decided.
    BookingColumns<'a>(b: &'a Booking, decided: DateTime<Utc>) {
        id: Uuid = b.id,
        property_id: Uuid = b.property_id,
        guest_id: Uuid = b.guest_id,
        host_id: Uuid = b.host_id,
        check_in: NaiveDate = b.check_in,
        check_out: NaiveDate = b.check_out,
        guests: i32 = b.guests,
        status: &'a str = b.status.as_str(),
        nights: i32 = b.nights,
        subtotal: i64 = b.subtotal,
        cleaning_fee: i64 = b.cleaning_fee,
        service_fee: i64 = b.service_fee,
        total: i64 = b.total,
        host_payout: i64 = b.host_payout,
        currency: &'a str = b.currency.as_str(),
        instant_book: bool = b.instant_book,
        cancellation_policy: &'a str = b.cancellation_policy.as_str(),
        created_at: DateTime<Utc> = b.created_at,
        updated_at: DateTime<Utc> = b.updated_at,
        expires_at: Option<DateTime<Utc>> = b.expires_at,
        payment_provider: &'a str = &b.payment_provider,
        payment_intent_id: Option<&'a str> = b.payment_intent_id.as_deref(),
        payment_client_secret: Option<&'a str> = b.payment_client_secret.as_deref(),
        payment_status: &'a str = b.payment_status.as_str(),
        refund_amount: Option<i64> = b.refund_amount,
        decided_at: DateTime<Utc> = decided,
    }
}

column_arrays! {
    /// `LONE_STATEMENT`'s $27–$35: the dev intents' columns,
    /// `DEV_INTENT_COLUMNS` order.
    IntentColumns<'a>(d: DevIntent) {
        id: String = d.id,
        idempotency_key: String = d.idempotency_key,
        booking_id: Uuid = d.booking_id,
        amount: i64 = d.amount,
        currency: String = d.currency,
        capture_method: String = d.capture_method,
        status: &'a str = d.status.as_str(),
        amount_refunded: i64 = d.amount_refunded,
        created_at: DateTime<Utc> = d.created_at,
    }
}

pub struct PgStore {
    pool: PgPool,
    /// The periodic reads' own connections (`PgStore::periodic`).
    periodic: PgPool,
    /// Tags our own NOTIFYs so we do not reload on our own writes.
    instance: Uuid,
    /// Properties changed by committed transactions, for [`notifier`].
    changes: tokio::sync::mpsc::UnboundedSender<Uuid>,
}

/// How long a request waits for a connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);
/// Connections of the periodic reads' pool.
const PERIODIC_CONNECTIONS: u32 = 2;
/// The longest any statement may run.
const STATEMENT_TIMEOUT_MS: u64 = 5_000;
/// A pooled connection idle this long is pinged before it is handed out.
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

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
    const SKIP_LOCKED: &'static str = super::periodic_sql::PG_SKIP_LOCKED;

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
        let mut bookings = BookingColumns::default();
        let mut intents = IntentColumns::default();
        for (_, booking, intent, decided_at) in lone {
            bookings.push(booking, *decided_at);
            if let Some(intent) = intent {
                intents.push(DevIntent::from(*intent));
            }
        }
        let query = sqlx::query_scalar(LONE_STATEMENT.as_str());
        let ids: Vec<Uuid> = intents.bind(bookings.bind(query)).fetch_all(conn).await?;
        Ok(Some(ids.into_iter().collect()))
    }

    pub async fn connect(url: &str, connections: u32) -> anyhow::Result<Self> {
        let parsed = PgConnectOptions::from_str(url).context("parsing DATABASE_URL")?;
        // No statement may hold a connection (and a request) for long:
        // one that does is cancelled and answered 503.
        let options = parsed
            .clone()
            .options([("statement_timeout", STATEMENT_TIMEOUT_MS.to_string())]);
        // A pass at a time per kind: two connections are plenty, and made
        // when first used.
        let periodic = PgPoolOptions::new()
            .max_connections(PERIODIC_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(parsed.options(super::periodic_sql::PG_PERIODIC_SETTINGS));
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            // sqlx pings every connection it hands out by default: a round
            // trip to the server before each transaction's first statement
            // (+5–9 % bookings/s without it, `loadtests/README.md`, ninth
            // sitting). Only a connection that sat idle long enough to
            // have gone stale (the server restarted, the link cut) is
            // checked now; one that breaks in use fails its request (503)
            // and is closed when returned, where sqlx pings it again.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
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
            periodic,
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

    /// Commits take any pooled connection: none is held between them.
    fn held_writer(&self) -> Option<&super::calendar_sql::HeldWriter<Postgres>> {
        None
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

    /// The pool of the periodic reads: its connections run with
    /// `periodic_sql::PG_PERIODIC_SETTINGS` (a statement timeout of their
    /// own rather than the request path's 5 s; read only; index scans), so
    /// each read is one statement.
    fn periodic(&self) -> &PgPool {
        &self.periodic
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
