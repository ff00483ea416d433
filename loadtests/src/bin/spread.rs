//! (b) Bookings spread over 1,000 properties: every request takes a
//! (property, night) no other request of the run takes, so every booking is
//! accepted and written. This is the write path's throughput: compare it with
//! `pgbench` one-row INSERT transactions (see loadtests/README.md).
//!
//! cargo run --release -p innkeep-loadtests --bin spread -- \
//!     --host http://127.0.0.1:8080 --users 200 --increase-rate 100 --run-time 30s

use std::sync::atomic::AtomicU64;

use goose::prelude::*;
use innkeep_loadtests::{book, days_from_today, fixture, next_free_slot, prepare, sign_in};

static NEXT: AtomicU64 = AtomicU64::new(0);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let properties = std::env::var("SPREAD_PROPERTIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    prepare(50, properties, true).await?;
    GooseAttack::initialize()?
        .register_scenario(
            scenario!("SpreadBookings")
                .register_transaction(transaction!(sign_in).set_on_start())
                .register_transaction(transaction!(book_spread)),
        )
        .execute()
        .await?;
    Ok(())
}

async fn book_spread(user: &mut GooseUser) -> TransactionResult {
    let fixture = fixture()?;
    let (index, offset) = next_free_slot(&NEXT, fixture.properties.len());
    let property = fixture.properties[index].clone();
    book(
        user,
        "POST /bookings (spread)",
        &property,
        days_from_today(offset),
        1,
    )
    .await
}
