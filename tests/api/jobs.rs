//! The job queue on the real stores: retries with backoff, `dead` after the
//! last attempt and replayed by `innkeep jobs retry`; two workers sharing
//! one queue run no job twice; a lapsed lease is taken over and its late
//! finish ignored; the server's own workers run the periodic work, and a
//! `--no-workers` server runs none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use innkeep::jobs::worker::{Handlers, JobHandler, Worker, WorkerSettings};
use innkeep::jobs::{Job, JobError, JobStatus, NewJob};
use innkeep::store::{self, Store, StoreConfig};
use serde_json::{Value, json};

use crate::support::{
    Backend, TestApp, eventually, fresh_database, periodic_metric, printed_jobs, store_of,
};

crate::both_stores!(the_server_runs_the_periodic_work_through_the_queue);
crate::both_stores!(no_workers:
    failing_jobs_back_off_then_die_and_a_retry_replays_them,
    two_workers_share_the_queue_and_run_no_job_twice,
    a_lapsed_lease_is_taken_over_and_the_late_finish_is_ignored,
    a_failed_periodic_pass_is_done_with_its_error_and_counted,
);

/// Attempts seen per job key.
#[derive(Default, Clone)]
struct Runs(Arc<Mutex<HashMap<String, usize>>>);

impl Runs {
    fn record(&self, key: &str) -> usize {
        let mut runs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = runs.entry(key.to_owned()).or_default();
        *n += 1;
        *n
    }

    fn get(&self) -> HashMap<String, usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Fails `payload.fail` times (retryably), then succeeds.
struct Flaky(Runs);

#[async_trait::async_trait]
impl JobHandler for Flaky {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let n = self.0.record(&job.key);
        let fail = job.payload.0["fail"].as_u64().unwrap_or(0) as usize;
        if n <= fail {
            return Err(JobError::Retry(format!("boom {n}")));
        }
        Ok(())
    }
}

/// Counts and takes a moment, as real work does.
struct Counted(Runs);

#[async_trait::async_trait]
impl JobHandler for Counted {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.0.record(&job.key);
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(())
    }
}

fn worker(store: &Arc<dyn Store>, handlers: Handlers, settings: WorkerSettings) -> Worker {
    Worker::new(store.clone(), handlers, Vec::new(), settings)
}

async fn job_by_key(store: &Arc<dyn Store>, key: &str) -> Job {
    store
        .jobs(None, 10_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|j| j.key == key)
        .unwrap_or_else(|| panic!("no job {key}"))
}

async fn failing_jobs_back_off_then_die_and_a_retry_replays_them(app: TestApp) {
    let store = store_of(&app).await;
    let runs = Runs::default();
    let handlers = Handlers::default().with("test.flaky", Arc::new(Flaky(runs.clone())));
    let worker = worker(&store, handlers, WorkerSettings::default());
    let now = chrono::Utc::now();
    let jobs = [
        NewJob::new("test.flaky", "flaky:twice", json!({"fail": 2})).max_attempts(3),
        NewJob::new("test.flaky", "flaky:always", json!({"fail": 99})).max_attempts(2),
        NewJob::new("test.unknown", "nobody:runs:this", Value::Null),
    ];
    assert_eq!(store.enqueue_many(&jobs, now).await.ok(), Some(3));
    // The same key again is the same job.
    assert_eq!(store.enqueue(&jobs[0], now).await.ok(), Some(false));
    // Rounds until nothing is left to do: the retries come after 1 s, 2 s.
    let settled = eventually(80, Duration::from_millis(100), async || {
        worker.round().await.unwrap_or_else(|e| panic!("{e}"));
        let counts = store.job_counts().await.unwrap_or_else(|e| panic!("{e}"));
        counts.queued == 0 && counts.running == 0
    })
    .await;
    assert!(
        settled,
        "jobs still waiting: {:?}",
        store.job_counts().await.ok()
    );
    let twice = job_by_key(&store, "flaky:twice").await;
    assert_eq!((twice.status, twice.attempts), (JobStatus::Done, 3));
    assert_eq!(twice.last_error.as_deref(), Some("boom 2"));
    let always = job_by_key(&store, "flaky:always").await;
    assert_eq!((always.status, always.attempts), (JobStatus::Dead, 2));
    assert_eq!(always.last_error.as_deref(), Some("boom 2"));
    assert!(always.finished_at.is_some());
    let unknown = job_by_key(&store, "nobody:runs:this").await;
    assert_eq!((unknown.status, unknown.attempts), (JobStatus::Dead, 1));
    assert!(
        unknown
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("no handler"),
        "{unknown:?}"
    );
    assert_eq!(runs.get().get("flaky:twice"), Some(&3));
    assert_eq!(runs.get().get("flaky:always"), Some(&2));

    // The operator's view: the dead ones, then a retry of one.
    let dead = printed_jobs(&app.command(&["jobs", "dead"]).await);
    let mut dead_keys: Vec<&str> = dead.iter().filter_map(|j| j["key"].as_str()).collect();
    dead_keys.sort_unstable();
    assert_eq!(dead_keys, ["flaky:always", "nobody:runs:this"]);
    let id = always.id.to_string();
    let retried = printed_jobs(&app.command(&["jobs", "retry", &id]).await);
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0]["status"], "queued");
    assert_eq!(retried[0]["attempts"], 0);
    let round = worker.round().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(round.claimed, 1);
    assert_eq!(runs.get().get("flaky:always"), Some(&3));
    // A done job is not replayed.
    assert!(
        !store
            .retry_job(twice.id, chrono::Utc::now())
            .await
            .unwrap_or(true)
    );
    let listed = printed_jobs(&app.command(&["jobs", "list", "--status", "done"]).await);
    assert!(
        listed.iter().any(|j| j["key"] == "flaky:twice"),
        "{listed:?}"
    );
    assert!(listed.iter().all(|j| j["status"] == "done"));
}

async fn two_workers_share_the_queue_and_run_no_job_twice(app: TestApp) {
    let store = store_of(&app).await;
    let runs = Runs::default();
    let jobs: Vec<NewJob> = (0..1_000)
        .map(|i| NewJob::new("test.counted", format!("counted:{i}"), json!({ "i": i })))
        .collect();
    assert_eq!(
        store.enqueue_many(&jobs, chrono::Utc::now()).await.ok(),
        Some(1_000)
    );
    let settings = WorkerSettings {
        batch: 50,
        concurrency: 8,
        ..WorkerSettings::default()
    };
    let drain = |worker: Worker| {
        let store = store.clone();
        async move {
            let mut claimed = 0;
            loop {
                let round = worker.round().await.unwrap_or_else(|e| panic!("{e}"));
                claimed += round.claimed;
                if round.claimed == 0 {
                    let counts = store.job_counts().await.unwrap_or_else(|e| panic!("{e}"));
                    if counts.queued == 0 && counts.running == 0 {
                        return claimed;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    };
    let handlers = || Handlers::default().with("test.counted", Arc::new(Counted(runs.clone())));
    let (a, b) = futures_util::join!(
        drain(worker(&store, handlers(), settings.clone())),
        drain(worker(&store, handlers(), settings.clone())),
    );
    let runs = runs.get();
    assert_eq!(runs.len(), 1_000);
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "run more than once: {twice:?}");
    assert_eq!(a + b, 1_000);
    // Both took part (each claims a batch at a time).
    assert!(a > 0 && b > 0, "one worker did everything: {a} / {b}");
    let counts = store.job_counts().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((counts.done, counts.dead), (1_000, 0));
}

async fn a_lapsed_lease_is_taken_over_and_the_late_finish_is_ignored(app: TestApp) {
    let store = store_of(&app).await;
    let now = chrono::Utc::now();
    let jobs = [
        NewJob::new("test.counted", "lease:resumed", Value::Null).at(now),
        NewJob::new("test.counted", "lease:last", Value::Null)
            .at(now)
            .max_attempts(1),
        // A periodic pass (one attempt) whose process was stopped mid-pass.
        NewJob::new("test.counted", "every:test.counted:1", Value::Null)
            .at(now)
            .max_attempts(1),
    ];
    assert_eq!(store.enqueue_many(&jobs, now).await.ok(), Some(3));
    // Worker "a" claims both for a second and never finishes (it died).
    let lapse = now + chrono::Duration::seconds(1);
    let taken = store
        .claim_jobs("a", now, lapse, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(taken.len(), 3);
    // Nobody else may take them while the lease holds.
    let meanwhile = store
        .claim_jobs("b", now, lapse, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(meanwhile.is_empty());
    // Once it lapsed, "b" takes the one with attempts left; the other had
    // none, so it is dead, with the reason.
    let later = lapse + chrono::Duration::milliseconds(1);
    assert_eq!(store.reap_lapsed(later).await.ok(), Some(2));
    let resumed = store
        .claim_jobs("b", later, later + chrono::Duration::seconds(60), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resumed.len(), 1);
    assert_eq!(
        (resumed[0].key.as_str(), resumed[0].attempts),
        ("lease:resumed", 2)
    );
    let last = job_by_key(&store, "lease:last").await;
    assert_eq!(last.status, JobStatus::Dead);
    assert!(
        last.last_error
            .as_deref()
            .unwrap_or("")
            .contains("worker stopped"),
        "{last:?}"
    );
    // The pass is not dead: the next period does its work.
    let pass = job_by_key(&store, "every:test.counted:1").await;
    assert_eq!(pass.status, JobStatus::Done, "{pass:?}");
    assert!(
        pass.last_error
            .as_deref()
            .is_some_and(|e| e.contains("worker stopped")),
        "{pass:?}"
    );
    // "a" comes back and reports: too late, it holds nothing.
    let ids: Vec<_> = taken.iter().map(|j| j.id).collect();
    assert_eq!(store.complete_jobs("a", &ids, later).await.ok(), Some(0));
    let failed = store
        .fail_job("a", resumed[0].id, "late", None, later)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(failed, None);
    assert_eq!(store.complete_jobs("b", &ids, later).await.ok(), Some(1));
    let done = job_by_key(&store, "lease:resumed").await;
    assert_eq!((done.status, done.worker), (JobStatus::Done, None));
    // And this server, started with --no-workers, scheduled nothing (the
    // one periodic key is the test's own).
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM jobs WHERE key LIKE 'every:%' \
             AND key <> 'every:test.counted:1'"
        )
        .await,
        0
    );
}

async fn the_server_runs_the_periodic_work_through_the_queue(app: TestApp) {
    let started = std::time::Instant::now();
    let ran = eventually(50, Duration::from_millis(100), async || {
        app.count(
            "SELECT COUNT(*) FROM jobs WHERE status = 'done' \
             AND kind = 'bookings.sweep'",
        )
        .await
            >= 2
    })
    .await;
    assert!(ran, "no sweep ran through the queue");
    // One sweep per second, however often the worker looked for work (it
    // looks every 200 ms when idle): the server is younger than the test's
    // wait plus its start-up.
    let sweeps = app
        .count("SELECT COUNT(*) FROM jobs WHERE kind = 'bookings.sweep'")
        .await;
    let bound = i64::try_from(started.elapsed().as_secs()).unwrap_or(i64::MAX) + 3;
    assert!(sweeps <= bound, "{sweeps} sweeps in under {bound} s");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE status = 'dead'")
            .await,
        0
    );
    // The backlog is on /metrics: a job of a kind nobody handles dies at
    // once and shows there.
    let store = store_of(&app).await;
    let orphan = NewJob::new("nobody.handles", "orphan", Value::Null);
    assert_eq!(
        store.enqueue(&orphan, chrono::Utc::now()).await.ok(),
        Some(true)
    );
    let shown = eventually(50, Duration::from_millis(100), async || {
        app.get("/metrics", None)
            .await
            .text
            .lines()
            .any(|l| l == "innkeep_jobs{status=\"dead\"} 1")
    })
    .await;
    assert!(shown, "{}", app.get("/metrics", None).await.text);
    // So are the sweep's passes, and when one last succeeded.
    let metrics = app.get("/metrics", None).await.text;
    let value = |name: &str| periodic_metric(&metrics, name, "bookings.sweep");
    assert!(
        value("innkeep_periodic_passes_total").unwrap_or(0.0) >= 2.0,
        "{metrics}"
    );
    assert_eq!(
        value("innkeep_periodic_failures_total"),
        Some(0.0),
        "{metrics}"
    );
    let last = value("innkeep_periodic_last_success_seconds").unwrap_or(0.0);
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 60.0..=now + 1.0).contains(&last),
        "{last} vs {now}: {metrics}"
    );
}

#[actix_web::test]
async fn sqlite_payment_jobs_move_into_the_queue_on_upgrade() {
    payment_jobs_move_into_the_queue_on_upgrade(Backend::Sqlite).await;
}

#[actix_web::test]
async fn postgres_payment_jobs_move_into_the_queue_on_upgrade() {
    payment_jobs_move_into_the_queue_on_upgrade(Backend::Postgres).await;
}

/// The last migration before the payments outbox moved into `jobs`.
const BEFORE_ONE_QUEUE: i64 = 12;

/// Up to 0012 the payments outbox had a table of its own; the upgrade moves
/// each of its jobs into the queue under the same key: done ones done with
/// the gateway's id, ones that failed for good dead with the reason, and
/// pending ones queued where their backoff or lease left them, claimable.
/// (The rows name bookings that do not exist: the database's foreign-key
/// checks are off for this connection, since only the jobs matter here.)
async fn payment_jobs_move_into_the_queue_on_upgrade(backend: Backend) {
    use chrono::{Duration as Span, Utc};
    use sqlx::Connection;
    use sqlx::migrate::Migrator;
    use uuid::Uuid;

    let Some((url, _guard)) = fresh_database(backend, None).await else {
        return;
    };
    let now = Utc::now();
    let leased_until = now + Span::hours(1);
    let (stay, other) = (Uuid::now_v7(), Uuid::now_v7());
    // kind, booking, amount, attempts, leased until, done at, outcome, last error
    type Old = (
        &'static str,
        Uuid,
        i64,
        i32,
        Option<chrono::DateTime<Utc>>,
        Option<chrono::DateTime<Utc>>,
        Option<&'static str>,
        Option<&'static str>,
    );
    let old: [Old; 3] = [
        (
            "capture",
            stay,
            10_000,
            1,
            None,
            Some(now),
            Some("pi_1"),
            None,
        ),
        (
            "refund",
            stay,
            4_000,
            2,
            None,
            Some(now),
            Some("failed"),
            Some("card expired"),
        ),
        (
            "payout",
            other,
            6_000,
            3,
            Some(leased_until),
            None,
            None,
            Some("timeout"),
        ),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    macro_rules! upgrade {
        ($conn:expr, $dialect:literal) => {{
            let migrator = Migrator::new(dir.join($dialect))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            migrator
                .run_to(BEFORE_ONE_QUEUE, &mut $conn)
                .await
                .unwrap_or_else(|e| panic!("migrating to {BEFORE_ONE_QUEUE}: {e}"));
            for (kind, booking, amount, attempts, leased, done, outcome, error) in old {
                sqlx::query(
                    "INSERT INTO payment_jobs (id, key, kind, booking_id, amount, attempts, run_at, \
                     leased_until, done_at, outcome, last_error, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $7)",
                )
                .bind(Uuid::now_v7())
                .bind(format!("booking:{booking}:{kind}"))
                .bind(kind)
                .bind(booking)
                .bind(amount)
                .bind(attempts)
                .bind(now)
                .bind(leased)
                .bind(done)
                .bind(outcome)
                .bind(error)
                .execute(&mut $conn)
                .await
                .unwrap_or_else(|e| panic!("an old payment job: {e}"));
            }
            migrator
                .run(&mut $conn)
                .await
                .unwrap_or_else(|e| panic!("upgrading: {e}"));
        }};
    }
    match backend {
        Backend::Sqlite => {
            use std::str::FromStr;
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                .unwrap_or_else(|e| panic!("{e}"))
                .create_if_missing(true)
                .foreign_keys(false);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            upgrade!(conn, "sqlite");
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sqlx::query("SET session_replication_role = replica")
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            upgrade!(conn, "postgres");
        }
    }

    let store = store::connect(&StoreConfig {
        database_url: url.clone(),
        connections: 2,
    })
    .await
    .unwrap_or_else(|e| panic!("opening the upgraded database: {e}"));
    let of_stay = store
        .payment_jobs_of(stay)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let seen: Vec<_> = of_stay
        .iter()
        .map(|j| {
            (
                j.kind.as_str(),
                j.amount,
                j.attempts,
                j.status,
                j.result.as_deref(),
                j.last_error.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("capture", 10_000, 1, JobStatus::Done, Some("pi_1"), None),
            (
                "refund",
                4_000,
                2,
                JobStatus::Dead,
                None,
                Some("card expired")
            ),
        ]
    );
    let payout = job_by_key(&store, &format!("booking:{other}:payout")).await;
    assert_eq!(
        (
            payout.kind.as_str(),
            payout.status,
            payout.attempts,
            payout.max_attempts
        ),
        ("payment.payout", JobStatus::Queued, 3, 50)
    );
    assert_eq!(payout.booking_id, Some(other));
    assert_eq!(payout.payload.0, json!({"amount": 6_000}));
    // Not before its lease lapses; then a worker claims it.
    let claim = |at| store.claim_jobs("upgraded", at, at + Span::minutes(1), 10);
    let early = claim(now + Span::minutes(59))
        .await
        .unwrap_or_else(|e| panic!("claiming: {e}"));
    assert!(early.is_empty(), "{early:?}");
    let claimed = claim(now + Span::minutes(61))
        .await
        .unwrap_or_else(|e| panic!("claiming: {e}"));
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        [payout.id]
    );
}

/// Fails every time.
struct Failing;

#[async_trait::async_trait]
impl JobHandler for Failing {
    async fn run(&self, _: &Job) -> Result<(), JobError> {
        Err(JobError::Retry("the store is away".into()))
    }
}

/// A periodic pass that fails is not retried and never `dead` (the next
/// period does the same work, and `innkeep jobs dead` must not fill with
/// passes): it ends `done` with its error, and the worker counts it.
async fn a_failed_periodic_pass_is_done_with_its_error_and_counted(app: TestApp) {
    use innkeep::jobs::{Periodic, PeriodicStats};
    let store = store_of(&app).await;
    let periodic = Periodic {
        kind: "test.periodic",
        every: Duration::from_secs(1),
    };
    let stats = Arc::new(PeriodicStats::default());
    let worker = Worker::new(
        store.clone(),
        Handlers::default().with("test.periodic", Arc::new(Failing)),
        vec![periodic.clone()],
        WorkerSettings::default(),
    )
    .with_stats(stats.clone());
    let now = chrono::Utc::now();
    let pass = periodic.due(now);
    assert_eq!(store.enqueue(&pass, now).await.ok(), Some(true));
    let round = worker.round().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(round.failed, 1);
    let job = job_by_key(&store, &pass.key).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(job.last_error.as_deref(), Some("the store is away"));
    let counts = store.job_counts().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counts.dead, 0);
    let counted = stats.snapshot();
    assert_eq!(counted.len(), 1);
    assert_eq!(counted[0].0, "test.periodic");
    assert_eq!((counted[0].1.passes, counted[0].1.failures), (1, 1));
    assert_eq!(counted[0].1.last_success, None);
}
