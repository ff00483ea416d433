//! The cross-property committer (`SharedCommits`): bookings per store
//! transaction and commit latency versus offered load. The store is a
//! stand-in whose transaction takes a fixed time (`COMMIT`, about a
//! PostgreSQL commit with fsync on this kind of disk) plus a little per
//! batch, so what is measured is how the committer groups batches, not the
//! database (`loadtests/measure.sh` measures that). Offered load: how many
//! properties' batches arrive at once. `cargo bench --bench committer`.
#![allow(clippy::print_stderr)] // the batching figures are printed beside criterion's

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use innkeep_actors::calendar::SharedCommits;
use innkeep_actors::ports::{
    CalendarEntry, CalendarOp, CalendarStore, OpOutcome, PortError, PropertyOps,
};
use uuid::Uuid;

const COMMIT: Duration = Duration::from_millis(2);
const PER_BATCH: Duration = Duration::from_micros(20);

struct TimedStore {
    transactions: AtomicU64,
}

#[async_trait]
impl CalendarStore for TimedStore {
    async fn load_calendar(&self, _: Uuid) -> Result<Vec<CalendarEntry>, PortError> {
        Ok(Vec::new())
    }

    async fn apply_calendar(
        &self,
        property_id: Uuid,
        ops: &[CalendarOp],
        now: DateTime<Utc>,
    ) -> Result<Vec<OpOutcome>, PortError> {
        innkeep_actors::ports::apply_one(self, property_id, ops, now).await
    }

    async fn apply_calendars(
        &self,
        batches: &[PropertyOps<'_>],
    ) -> Result<Vec<Vec<OpOutcome>>, PortError> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let work = PER_BATCH * u32::try_from(batches.len()).unwrap_or(u32::MAX);
        tokio::time::sleep(COMMIT + work).await;
        Ok(batches
            .iter()
            .map(|b| b.ops.iter().map(|_| OpOutcome::Applied(None)).collect())
            .collect())
    }
}

/// The committer, started in an actix system on a thread of its own.
fn committer(committers: usize) -> (Arc<SharedCommits>, Arc<TimedStore>) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let system = actix::System::new();
        system.block_on(async {
            let store = Arc::new(TimedStore {
                transactions: AtomicU64::new(0),
            });
            let _ = tx.send((SharedCommits::start(store.clone(), committers, 512), store));
        });
        let _ = system.run();
    });
    rx.recv()
        .unwrap_or_else(|_| panic!("actor system did not start"))
}

fn op() -> Vec<CalendarOp> {
    vec![CalendarOp::RemoveBlock {
        block_id: Uuid::now_v7(),
    }]
}

fn commits(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for committers in [1, 4] {
        let (shared, store) = committer(committers);
        let mut group = c.benchmark_group(format!("committer_{committers}"));
        group.sample_size(20);
        for offered in [1_u64, 16, 128, 1024] {
            group.throughput(Throughput::Elements(offered));
            let before = (
                store.transactions.load(Ordering::Relaxed),
                shared.stats().snapshot().1,
            );
            group.bench_with_input(
                BenchmarkId::new("concurrent_batches", offered),
                &offered,
                |b, &n| {
                    b.iter(|| {
                        rt.block_on(async {
                            let calls = (0..n).map(|_| {
                                let shared = shared.clone();
                                tokio::spawn(async move {
                                    shared
                                        .apply_calendar(Uuid::now_v7(), &op(), Utc::now())
                                        .await
                                })
                            });
                            for call in calls.collect::<Vec<_>>() {
                                let done = call.await.unwrap_or_else(|e| panic!("{e}"));
                                assert!(done.is_ok());
                            }
                        })
                    })
                },
            );
            let transactions = store.transactions.load(Ordering::Relaxed) - before.0;
            let batches = shared.stats().snapshot().1 - before.1;
            if transactions == 0 {
                continue; // filtered out
            }
            eprintln!(
                "committer_{committers} offered {offered}: {:.1} bookings per transaction ({batches} over {transactions})",
                batches as f64 / transactions.max(1) as f64
            );
        }
        group.finish();
    }
}

criterion_group!(benches, commits);
criterion_main!(benches);
