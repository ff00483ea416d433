//! (a) Hot property storm: every user books the same nights of one property
//! as fast as it can. One booking wins; every other answer is a 409
//! dates-unavailable decided from the calendar actor's memory. A second
//! scenario reads the same property's availability, also from memory.
//!
//! cargo run --release -p innkeep-loadtests --bin hot_property -- \
//!     --host http://127.0.0.1:8080 --users 1000 --increase-rate 200 --run-time 30s

use goose::prelude::*;
use innkeep_loadtests::{book, days_from_today, fixture, prepare, sign_in};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    prepare(20, 1, true).await?;
    GooseAttack::initialize()?
        .register_scenario(
            scenario!("HotBook")
                .register_transaction(transaction!(sign_in).set_on_start())
                .register_transaction(transaction!(book_hot)),
        )
        .register_scenario(
            scenario!("HotAvailability")
                .register_transaction(transaction!(sign_in).set_on_start())
                .register_transaction(transaction!(read_availability)),
        )
        .execute()
        .await?;
    Ok(())
}

async fn book_hot(user: &mut GooseUser) -> TransactionResult {
    let property = fixture()?.properties[0].clone();
    book(
        user,
        "POST /bookings (hot, 409 expected)",
        &property,
        days_from_today(10),
        3,
    )
    .await
}

async fn read_availability(user: &mut GooseUser) -> TransactionResult {
    let property = &fixture()?.properties[0];
    let path = format!(
        "/api/v1/properties/{property}/availability?from={}&to={}",
        days_from_today(0),
        days_from_today(90)
    );
    let request = GooseRequest::builder()
        .path(path.as_str())
        .name("GET /availability (hot)")
        .build();
    user.request(request).await?;
    Ok(())
}
