//! The calendar actor's hot paths, without a database: a store that does
//! nothing, so what is measured is the actor (mailbox, memory check,
//! batching) and not I/O. `cargo bench --bench calendar`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use innkeep_actors::domain::{Booking, BookingStatus, CancellationPolicy, Currency, DateRange};
use innkeep_actors::ports::{CalendarEntry, CalendarOp, CalendarStore, OpOutcome, PortError};
use innkeep_actors::{CalendarRegistry, SystemClock};
use uuid::Uuid;

/// Applies everything instantly and remembers nothing.
struct NullStore;

#[async_trait]
impl CalendarStore for NullStore {
    async fn load_calendar(&self, _: Uuid) -> Result<Vec<CalendarEntry>, PortError> {
        Ok(Vec::new())
    }

    async fn apply_calendar(
        &self,
        _: Uuid,
        ops: &[CalendarOp],
        _: DateTime<Utc>,
    ) -> Result<Vec<OpOutcome>, PortError> {
        Ok(ops.iter().map(|_| OpOutcome::Applied(None)).collect())
    }
}

fn date(offset: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 1, 1).unwrap_or(NaiveDate::MIN) + chrono::Duration::days(offset)
}

fn booking(property_id: Uuid, start: i64, nights: i64) -> CalendarOp {
    let now = Utc::now();
    CalendarOp::InsertBooking(
        Box::new(Booking {
            id: Uuid::now_v7(),
            property_id,
            guest_id: Uuid::nil(),
            host_id: Uuid::nil(),
            check_in: date(start),
            check_out: date(start + nights),
            guests: 1,
            status: BookingStatus::PendingPayment,
            nights: nights as i32,
            subtotal: 10_000,
            cleaning_fee: 0,
            service_fee: 1_200,
            total: 11_200,
            host_payout: 9_700,
            currency: Currency::parse("EUR").unwrap_or_else(|_| unreachable!()),
            instant_book: true,
            cancellation_policy: CancellationPolicy::Flexible,
            created_at: now,
            updated_at: now,
            expires_at: None,
            payment_provider: "dev".into(),
            payment_intent_id: None,
            payment_client_secret: None,
            payment_status: innkeep_actors::domain::PaymentStatus::Pending,
            refund_amount: None,
        }),
        None,
    )
}

fn registry() -> Arc<CalendarRegistry> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let system = actix::System::new();
        system.block_on(async {
            let registry = CalendarRegistry::new(
                Arc::new(NullStore),
                Arc::new(SystemClock),
                Duration::from_secs(3600),
                1,
            );
            let _ = tx.send(registry);
        });
        let _ = system.run();
    });
    rx.recv()
        .unwrap_or_else(|_| panic!("actor system did not start"))
}

fn calendar(c: &mut Criterion) {
    let registry = registry();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let hot = Uuid::now_v7();
    // A calendar with 300 stays on it.
    rt.block_on(async {
        for i in 0..300 {
            let _ = registry.apply(hot, booking(hot, i * 3, 2)).await;
        }
    });

    let mut group = c.benchmark_group("calendar");
    group.throughput(Throughput::Elements(1));
    group.bench_function("reject_overlap_from_memory", |b| {
        b.iter(|| rt.block_on(registry.apply(hot, booking(hot, 450, 3))))
    });
    group.bench_function("availability_90_days", |b| {
        let window = DateRange {
            start: date(400),
            end: date(490),
        };
        b.iter(|| rt.block_on(registry.unavailable(hot, window)))
    });
    let next = AtomicI64::new(10_000);
    let fresh = Uuid::now_v7();
    group.bench_function("accept_and_commit_null_store", |b| {
        b.iter(|| {
            let start = next.fetch_add(2, Ordering::Relaxed);
            rt.block_on(registry.apply(fresh, booking(fresh, start, 2)))
        })
    });
    group.finish();

    // 1,000 clients at once on one property, all for the same nights: one
    // accepted, 999 refused from memory.
    let mut storm = c.benchmark_group("calendar_storm");
    storm.throughput(Throughput::Elements(1_000));
    storm.sample_size(20);
    storm.bench_function("1000_concurrent_same_nights", |b| {
        b.iter(|| {
            let property = Uuid::now_v7();
            rt.block_on(async {
                let requests =
                    (0..1_000).map(|_| registry.apply(property, booking(property, 5, 3)));
                let results = futures_util::future::join_all(requests).await;
                let won = results
                    .iter()
                    .filter(|r| matches!(r, Ok(OpOutcome::Applied(_))))
                    .count();
                assert_eq!(won, 1);
            })
        })
    });
    storm.finish();
}

criterion_group!(benches, calendar);
criterion_main!(benches);
