//! The job queue: no-op jobs drained per second by one worker and by two,
//! on a real store (`JOBS_BENCH_DATABASE_URL`, e.g. a PostgreSQL database
//! of its own; default: a fresh SQLite file). Each sample enqueues
//! `JOBS` jobs (not timed), then times the workers claiming, running and
//! finishing all of them. `cargo bench --bench jobs`.
#![allow(clippy::print_stderr)] // where the bench runs is printed beside criterion's

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use innkeep::jobs::NewJob;
use innkeep::jobs::worker::{Handlers, Worker, WorkerSettings};
use innkeep::store::{self, Store, StoreConfig};
use innkeep::workers::{NOOP, Noop};
use sqlx::Connection;

const JOBS: u64 = 5_000;

fn database_url() -> String {
    std::env::var("JOBS_BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let path =
            std::env::temp_dir().join(format!("innkeep-jobs-bench-{}.db", std::process::id()));
        format!("sqlite://{}", path.display())
    })
}

/// Empties the queue between samples, so every sample starts alike.
async fn clear(url: &str) {
    let statement = "DELETE FROM jobs";
    let result = if url.starts_with("postgres") {
        match sqlx::PgConnection::connect(url).await {
            Ok(mut c) => sqlx::query(statement).execute(&mut c).await.map(|_| ()),
            Err(e) => Err(e),
        }
    } else {
        match sqlx::SqliteConnection::connect(url).await {
            Ok(mut c) => sqlx::query(statement).execute(&mut c).await.map(|_| ()),
            Err(e) => Err(e),
        }
    };
    result.unwrap_or_else(|e| panic!("emptying the queue: {e}"));
}

async fn drain(store: &Arc<dyn Store>, workers: usize) {
    let runs = (0..workers).map(|_| {
        let worker = Worker::new(
            store.clone(),
            Handlers::default().with(NOOP, Arc::new(Noop)),
            Vec::new(),
            WorkerSettings::default(),
        );
        async move {
            loop {
                let round = worker.round().await.unwrap_or_else(|e| panic!("{e}"));
                if round.claimed == 0 {
                    return;
                }
            }
        }
    });
    futures_util::future::join_all(runs).await;
}

fn queue(c: &mut Criterion) {
    let url = database_url();
    eprintln!(
        "jobs bench on {}",
        url.split('@').next_back().unwrap_or(&url)
    );
    let system = actix_web::rt::System::new();
    let store = system.block_on(async {
        let store = store::connect(&StoreConfig {
            database_url: url.clone(),
            connections: 8,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        store.migrate().await.unwrap_or_else(|e| panic!("{e}"));
        store
    });
    let mut group = c.benchmark_group("jobs");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(JOBS));
    for workers in [1_usize, 2] {
        group.bench_with_input(
            BenchmarkId::new("noop_drained", workers),
            &workers,
            |b, &n| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += system.block_on(async {
                            clear(&url).await;
                            let jobs: Vec<NewJob> = (0..JOBS)
                                .map(|i| {
                                    NewJob::new(NOOP, format!("bench:{i}"), serde_json::Value::Null)
                                })
                                .collect();
                            store
                                .enqueue_many(&jobs, chrono::Utc::now())
                                .await
                                .unwrap_or_else(|e| panic!("{e}"));
                            let started = Instant::now();
                            drain(&store, n).await;
                            let took = started.elapsed();
                            let counts = store.job_counts().await.unwrap_or_else(|e| panic!("{e}"));
                            assert_eq!(counts.done, i64::try_from(JOBS).unwrap_or(i64::MAX));
                            took
                        });
                    }
                    total
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, queue);
criterion_main!(benches);
