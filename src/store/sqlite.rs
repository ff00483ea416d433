//! The embedded default store: one SQLite file in WAL mode. One writer
//! connection serialises writes inside this process (and `BEGIN IMMEDIATE`
//! takes the write lock up front, so a read-then-write transaction cannot be
//! overtaken); a pool of readers serves reads concurrently.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, Transaction};
use uuid::Uuid;

use crate::domain::properties::BBox;

use super::bookings_sql::impl_booking_store;
use super::calendar_sql::{HeldWriter, Lone, impl_calendar_store};
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
use super::{ChangeListener, Store};

pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    /// The writer's connection while the calendar committer holds it.
    held: HeldWriter<Sqlite>,
    /// Copies the WAL back into the database off the writer's path.
    _checkpointer: Checkpointer,
}

/// How often the checkpointer copies committed pages from the WAL into the
/// database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The writer checkpoints itself only once the WAL holds this many pages
/// (80 MiB). By then the checkpointer has copied nearly all of them, so
/// that checkpoint is short; it is what lets the WAL start over from its
/// beginning (SQLite restarts the WAL only when a writer begins with
/// every frame copied, which a busy writer never sees after another
/// connection's checkpoint), so the WAL file stays up to this size.
/// Measured (`loadtests/spread.sh`, SQLite): at 1,000 pages (SQLite's
/// default) bookings/s were no better than without the checkpointer, at
/// 4,000 between the two, at 20,000 1.45 × better.
const WRITER_CHECKPOINT_PAGES: &str = "20000";

/// A task that runs `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its
/// own every [`CHECKPOINT_EVERY`]; stopped when the store is dropped.
///
/// SQLite's automatic checkpoint runs in the connection whose commit filled
/// the WAL past 1,000 pages, i.e. in our one writer, with its page copies
/// and `fsync`s between two write transactions: with bookings spread over
/// many properties that was the writer's own time (perf: checkpoints and
/// `fsync` under `sqlite3VdbeHalt`; the same load ran 1.7 × faster on
/// tmpfs). A passive checkpoint takes no write lock, so the writer commits
/// while it runs.
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Checkpointer {
    async fn start(options: &SqliteConnectOptions) -> anyhow::Result<Self> {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect_with(options)
            .await
            .context("opening the SQLite checkpointer's connection")?;
        Ok(Self(tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!(error = %e, "SQLite checkpoint failed");
                }
            }
        })))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The database holds password and token hashes: only its owner may read
/// it. A new file is created 0600 before SQLite opens it (SQLite gives its
/// `-wal` and `-shm` files the database file's permissions); an existing
/// one readable by others is narrowed, and said so. An in-memory
/// database (`sqlite::memory:`, `mode=memory`) has no file: sqlx names it
/// `file:sqlx-in-memory-N`, which is no path, so `url` decides.
fn keep_private(url: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if in_memory || path.as_os_str().is_empty() {
        return Ok(());
    }
    if !path.exists() {
        crate::files::create_new_private(path, b"")
            .with_context(|| format!("creating {}", path.display()))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        if crate::files::narrow_to_owner(&file)
            .with_context(|| format!("narrowing {}", file.display()))?
        {
            tracing::warn!(file = %file.display(), "database file was readable by others; narrowed it to 0600");
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Ends an ordered subquery that must stay one (search sorts before it
    /// probes calendars): a `LIMIT` keeps SQLite from flattening the subquery (it needs one before an `OFFSET`).
    const ORDER_FENCE: &'static str = " LIMIT -1 OFFSET 0";

    /// Ends the job claim's inner SELECT: one writer at a time, nothing to skip.
    const SKIP_LOCKED: &'static str = "";

    /// A shared commit's multi-row statements go as one query: each query
    /// is a round trip to the thread sqlx runs SQLite on, and under load
    /// each wake-up on the way waits for a core.
    const ONE_QUERY_CHUNKS: bool = true;

    /// Leaves out of a calendar INSERT … SELECT (rows `v`) the ranges that
    /// overlap an active one: exact, as SQLite has one writer.
    const OVERLAP_GUARD: &'static str = "WHERE NOT EXISTS (SELECT 1 FROM calendar_entries c \
         WHERE c.property_id = v.property_id AND c.active \
         AND c.start_date < v.end_date AND c.end_date > v.start_date)";

    /// SQLite has no one statement for a shared commit's lone bookings
    /// (no data-modifying CTEs): they go as one multi-statement query
    /// instead (`ONE_QUERY_CHUNKS`).
    async fn insert_lone(
        _: &mut sqlx::SqliteConnection,
        _: &[Lone<'_>],
    ) -> Result<Option<std::collections::HashSet<Uuid>>, sqlx::Error> {
        Ok(None)
    }

    pub async fn connect(url: &str, readers: u32) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("parsing DATABASE_URL {url}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable in WAL mode except for the last commits
            // before a power cut (not a process crash).
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        keep_private(url, options.get_filename())?;
        // The one writer keeps 64 MiB of pages (SQLite's default is 2 MiB):
        // every write walks the same index pages, and with the default most
        // of a bulk load's time went to the kernel copying pages in and out
        // (perf, `innkeep seed`).
        //
        // Its statement journals (the undo of one statement inside a
        // transaction, kept while a multi-row INSERT runs) stay in memory:
        // by default one over 64 KiB spills to a temporary file, and with
        // shared commits that file's writes were more of the writer's time
        // than the WAL's own (perf, `loadtests/spread.sh`).
        //
        // Neither pool pings a connection before handing it out (sqlx's
        // default): a SQLite connection is a thread in this process and
        // cannot go stale, and the ping was a round trip to that thread
        // before each transaction.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", "-65536")
                    .pragma("temp_store", "MEMORY")
                    .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES),
            )
            .await
            .with_context(|| format!("opening SQLite database {url}"))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(readers.max(1))
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening SQLite database {url}"))?;
        let checkpointer = Checkpointer::start(&options).await?;
        Ok(Self {
            reader,
            writer,
            held: HeldWriter::default(),
            _checkpointer: checkpointer,
        })
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn held_writer(&self) -> Option<&HeldWriter<Sqlite>> {
        Some(&self.held)
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    /// A consistent read of several tables: the write lock holds writers off.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_write().await
    }

    /// The periodic reads (`PgStore::periodic`): on a reader, never
    /// holding the write lock; their queries go through partial indexes of
    /// what is due.
    fn periodic(&self) -> &SqlitePool {
        &self.reader
    }

    /// One process owns a SQLite file: nobody else to tell.
    fn announce_change(&self, _property_id: Uuid) {}

    fn push_has_amenity(qb: &mut QueryBuilder<Sqlite>, amenity: String) {
        qb.push("EXISTS (SELECT 1 FROM json_each(p.amenities) WHERE json_each.value = ")
            .push_bind(amenity)
            .push(")");
    }

    /// The listing in grid cell `cell`: the expression
    /// `properties_cell_price_idx` indexes, written as it is there.
    fn push_in_cell(qb: &mut QueryBuilder<Sqlite>, cell: i32) {
        qb.push(
            "(CAST((p.latitude + 90) * 10 AS INTEGER) * 3601 \
             + CAST((p.longitude + 180) * 10 AS INTEGER)) = ",
        )
        .push_bind(cell);
    }

    /// Longitude first: `properties_location_cover_idx` narrows by it.
    fn push_in_bbox(qb: &mut QueryBuilder<Sqlite>, b: &BBox) {
        qb.push("p.longitude BETWEEN ")
            .push_bind(b.min_lon)
            .push(" AND ")
            .push_bind(b.max_lon)
            .push(" AND p.latitude BETWEEN ")
            .push_bind(b.min_lat)
            .push(" AND ")
            .push_bind(b.max_lat);
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("migrations/sqlite")
            .run(&self.writer)
            .await
            .context("applying SQLite migrations")
    }

    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn release_memory(&self) -> anyhow::Result<()> {
        sqlx::query("PRAGMA shrink_memory")
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn watch_calendars(&self, _listener: ChangeListener) -> anyhow::Result<()> {
        Ok(())
    }
}

impl_user_store!(SqliteStore, Sqlite);
impl_property_store!(SqliteStore, Sqlite);
impl_calendar_store!(SqliteStore, Sqlite);
impl_booking_store!(SqliteStore, Sqlite);
impl_dev_gateway_store!(SqliteStore, Sqlite);
impl_ledger_store!(SqliteStore, Sqlite);
impl_payment_job_store!(SqliteStore, Sqlite);
impl_job_store!(SqliteStore, Sqlite);
impl_import_store!(SqliteStore, Sqlite);
impl_notification_store!(SqliteStore, Sqlite);
impl_review_store!(SqliteStore, Sqlite);
impl_seed_store!(SqliteStore, Sqlite);

#[cfg(test)]
mod tests {
    use super::*;

    /// What the database file itself holds, WAL aside: `immutable=1`
    /// reads the file as it is and ignores the WAL.
    async fn in_file(path: &std::path::Path) -> anyhow::Result<i64> {
        let url = format!("sqlite://{}?immutable=1", path.display());
        let options = SqliteConnectOptions::from_str(&url)?;
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await?;
        // No table yet in the file: nothing copied.
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0))
    }

    #[tokio::test]
    async fn an_in_memory_database_leaves_no_file_behind() -> anyhow::Result<()> {
        let store = SqliteStore::connect("sqlite::memory:", 1).await?;
        let leftovers = std::fs::read_dir(".")?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("sqlx-in-memory"))
            .count();
        assert_eq!(leftovers, 0, "a file was made for an in-memory database");
        drop(store);
        Ok(())
    }

    #[tokio::test]
    async fn commits_reach_the_database_file_without_the_writer_checkpointing() -> anyhow::Result<()>
    {
        let dir = std::env::temp_dir().join(format!("innkeep-ckpt-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("db.sqlite");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()), 1).await?;
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(store.writer())
            .await?;
        for x in 0..100 {
            sqlx::query("INSERT INTO t (x) VALUES (?)")
                .bind(x)
                .execute(store.writer())
                .await?;
        }
        // A few hundred pages at most: far below the writer's own
        // checkpoint, so only the checkpointer copies them.
        let mut copied = 0;
        for _ in 0..50 {
            copied = in_file(&path).await?;
            if copied == 100 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(copied, 100, "the checkpointer copied the WAL into the file");
        drop(store);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    /// The committer keeps the writer between back-to-back commits of lone
    /// bookings, but gives it back after `HeldWriter::MAX_USES` of them:
    /// a writer queued for the pool of one gets it within that many
    /// commits, not only once the committer runs out of work.
    #[tokio::test]
    async fn a_queued_writer_gets_the_held_writer_within_max_uses_commits() -> anyhow::Result<()> {
        use crate::store::BookingStore;
        use innkeep_actors::ports::{CalendarOp, CalendarStore, PropertyOps};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};

        let dir = std::env::temp_dir().join(format!("innkeep-held-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let store = Arc::new(
            SqliteStore::connect(&format!("sqlite://{}", dir.join("db.sqlite").display()), 1)
                .await?,
        );
        store.migrate().await?;
        crate::seed::run(store.clone(), 1).await?;
        let seeded: Uuid = sqlx::query_scalar("SELECT id FROM bookings LIMIT 1")
            .fetch_one(store.reader())
            .await?;
        let template = store
            .booking(seeded)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no seeded booking"))?;
        let far =
            chrono::NaiveDate::from_ymd_opt(2100, 1, 1).ok_or_else(|| anyhow::anyhow!("date"))?;
        // One lone booking (a night of its own, far ahead) per shared commit.
        let commit = |n: i64| {
            let mut booking = template.clone();
            booking.id = Uuid::now_v7();
            booking.check_in = far + chrono::Duration::days(2 * n);
            booking.check_out = booking.check_in + chrono::Duration::days(1);
            booking.payment_intent_id = Some(format!("pi_held_{}", booking.id.simple()));
            let store = store.clone();
            async move {
                let ops = [CalendarOp::InsertBooking(Box::new(booking), None)];
                let batch = PropertyOps {
                    property_id: template.property_id,
                    ops: &ops,
                    now: chrono::Utc::now(),
                };
                let outcomes = store.apply_calendars(std::slice::from_ref(&batch)).await?;
                anyhow::ensure!(
                    matches!(outcomes[..], [ref one] if one.len() == 1),
                    "one outcome: {outcomes:?}"
                );
                anyhow::Ok(())
            }
        };
        const COMMITS: u32 = 3 * HeldWriter::<Sqlite>::MAX_USES;
        commit(0).await?;
        let done = Arc::new(AtomicU32::new(1));
        // Another writer queues for the pool of one while the committer
        // holds its only connection, and notes how many commits it waited.
        // It counts from when it queued, so the bound holds however late
        // it gets there; it tells when it is about to queue.
        let queued = Arc::new(tokio::sync::Notify::new());
        let waiter = tokio::spawn({
            let pool = store.writer().clone();
            let done = done.clone();
            let queued = queued.clone();
            async move {
                let from = done.load(Ordering::SeqCst);
                queued.notify_one();
                let conn = pool.acquire().await?;
                let waited = done.load(Ordering::SeqCst) - from;
                drop(conn);
                anyhow::Ok(waited)
            }
        });
        queued.notified().await;
        for n in 1..i64::from(COMMITS) {
            commit(n).await?;
            done.fetch_add(1, Ordering::SeqCst);
        }
        // Out of work: the committer gives the writer back in any case.
        store.idle().await;
        let waited = tokio::time::timeout(Duration::from_secs(10), waiter).await???;
        assert!(
            waited <= HeldWriter::<Sqlite>::MAX_USES,
            "the queued writer waited {waited} of {COMMITS} commits (cap {})",
            HeldWriter::<Sqlite>::MAX_USES
        );
        let stored: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bookings WHERE payment_intent_id LIKE 'pi_held_%'",
        )
        .fetch_one(store.reader())
        .await?;
        assert_eq!(stored, i64::from(COMMITS));
        drop(store);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
