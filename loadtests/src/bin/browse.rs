//! (c) Browse mix: what a guest does before booking. Search by city (weight
//! 2), read a property (weight 5), read its availability for the next 90
//! days (weight 3), quote a stay (weight 1), over 200 properties.
//!
//! cargo run --release -p innkeep-loadtests --bin browse -- \
//!     --host http://127.0.0.1:8080 --users 100 --increase-rate 50 --run-time 30s

use goose::prelude::*;
use innkeep_loadtests::{days_from_today, fixture, prepare};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    prepare(1, 200, true).await?;
    GooseAttack::initialize()?
        .register_scenario(
            scenario!("Browse")
                .register_transaction(transaction!(search).set_weight(2)?)
                .register_transaction(transaction!(property).set_weight(5)?)
                .register_transaction(transaction!(availability).set_weight(3)?)
                .register_transaction(transaction!(quote).set_weight(1)?),
        )
        .execute()
        .await?;
    Ok(())
}

fn pick(user: &GooseUser, salt: usize) -> Result<String, Box<TransactionError>> {
    let properties = &fixture()?.properties;
    let i = (user.weighted_users_index * 31 + salt + user.get_iterations()) % properties.len();
    Ok(properties[i].clone())
}

async fn get(user: &mut GooseUser, path: &str, name: &str) -> TransactionResult {
    let request = GooseRequest::builder().path(path).name(name).build();
    user.request(request).await?;
    Ok(())
}

async fn search(user: &mut GooseUser) -> TransactionResult {
    const CITIES: [&str; 4] = ["Lisbon", "Paris", "Berlin", "Madrid"];
    let city = CITIES[user.get_iterations() % CITIES.len()];
    let path = format!("/api/v1/properties?city={city}&guests=2&limit=20&sort=price_asc");
    get(user, &path, "GET /properties?city").await
}

async fn property(user: &mut GooseUser) -> TransactionResult {
    let id = pick(user, 1)?;
    get(
        user,
        &format!("/api/v1/properties/{id}"),
        "GET /properties/{id}",
    )
    .await
}

async fn availability(user: &mut GooseUser) -> TransactionResult {
    let id = pick(user, 2)?;
    let path = format!(
        "/api/v1/properties/{id}/availability?from={}&to={}",
        days_from_today(0),
        days_from_today(90)
    );
    get(user, &path, "GET /properties/{id}/availability").await
}

async fn quote(user: &mut GooseUser) -> TransactionResult {
    let id = pick(user, 3)?;
    let path = format!(
        "/api/v1/properties/{id}/quote?check_in={}&check_out={}&guests=2",
        days_from_today(20),
        days_from_today(24)
    );
    get(user, &path, "GET /properties/{id}/quote").await
}
