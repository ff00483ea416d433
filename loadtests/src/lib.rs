//! Shared set-up for the goose scenarios in `src/bin/`: each scenario creates
//! its own hosts, guests and properties through the public API before the
//! attack starts, so it runs against any fresh or long-lived server.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use futures_util::StreamExt;
use goose::prelude::*;
use serde_json::{Value, json};

/// Everything the users of one attack share.
#[derive(Debug)]
pub struct Fixture {
    pub guest_tokens: Vec<String>,
    pub properties: Vec<String>,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

pub type SetupError = Box<dyn std::error::Error + Send + Sync>;

/// The server the attack targets: goose's own `--host`/`-H` flag, read here
/// too so the fixture is created on the same server.
pub fn target_host() -> String {
    let args: Vec<String> = std::env::args().collect();
    for (i, arg) in args.iter().enumerate() {
        if let Some(v) = arg.strip_prefix("--host=") {
            return v.trim_end_matches('/').to_owned();
        }
        if (arg == "--host" || arg == "-H")
            && let Some(v) = args.get(i + 1)
        {
            return v.trim_end_matches('/').to_owned();
        }
    }
    "http://127.0.0.1:8080".to_owned()
}

/// Creates `guests` guest accounts and `properties` properties (owned by one
/// host) and keeps them for the users of this attack.
pub async fn prepare(
    guests: usize,
    properties: usize,
    instant_book: bool,
) -> Result<&'static Fixture, SetupError> {
    let base = target_host();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let run = Utc::now().timestamp_millis();
    let host = register(&client, &base, &format!("host-{run}")).await?;
    let mut guest_tokens = Vec::with_capacity(guests);
    for i in 0..guests {
        guest_tokens.push(register(&client, &base, &format!("guest-{run}-{i}")).await?);
    }
    let created: Vec<Result<String, SetupError>> = futures_util::stream::iter(0..properties)
        .map(|i| create_property(&client, &base, &host, i, instant_book))
        .buffer_unordered(32)
        .collect()
        .await;
    let properties = created.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(FIXTURE.get_or_init(|| Fixture {
        guest_tokens,
        properties,
    }))
}

pub fn fixture() -> Result<&'static Fixture, Box<TransactionError>> {
    FIXTURE
        .get()
        .ok_or_else(|| Box::new(TransactionError::Custom("fixture not prepared".into())))
}

pub async fn register(
    client: &reqwest::Client,
    base: &str,
    who: &str,
) -> Result<String, SetupError> {
    let response = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({
            "email": format!("{who}@loadtest.innkeep.dev"),
            "password": "load-test-password",
            "name": who,
        }))
        .send()
        .await?
        .error_for_status()?;
    let body: Value = response.json().await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "register answered without an access_token".into())
}

pub async fn create_property(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    i: usize,
    instant_book: bool,
) -> Result<String, SetupError> {
    const CITIES: [(&str, &str, f64, f64); 4] = [
        ("Lisbon", "PT", 38.72, -9.14),
        ("Paris", "FR", 48.86, 2.35),
        ("Berlin", "DE", 52.52, 13.40),
        ("Madrid", "ES", 40.42, -3.70),
    ];
    let (city, country, lat, lon) = CITIES[i % CITIES.len()];
    let response = client
        .post(format!("{base}/api/v1/properties"))
        .bearer_auth(token)
        .json(&json!({
            "title": format!("Load test flat {i}"),
            "description": "Created by innkeep-loadtests",
            "city": city,
            "country": country,
            "latitude": lat,
            "longitude": lon,
            "price_per_night": 8_000 + (i % 50) as i64 * 100,
            "currency": "EUR",
            "cleaning_fee": 2_500,
            "max_guests": 4,
            "bedrooms": 2,
            "amenities": ["wifi", "kitchen"],
            "cancellation_policy": "moderate",
            "instant_book": instant_book,
            "min_nights": 1,
            "max_nights": 30,
        }))
        .send()
        .await?
        .error_for_status()?;
    let body: Value = response.json().await?;
    body["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "create property answered without an id".into())
}

/// `on_start` transaction: the user's client sends one of the fixture's guest
/// tokens with every request.
pub async fn sign_in(user: &mut GooseUser) -> TransactionResult {
    let fixture = fixture()?;
    let token = &fixture.guest_tokens[user.weighted_users_index % fixture.guest_tokens.len()];
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| Box::new(TransactionError::Custom(e.to_string())))?;
    headers.insert(reqwest::header::AUTHORIZATION, value);
    let builder = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(60));
    user.set_client_builder(builder).await?;
    Ok(())
}

/// Books a stay; a 409 dates-unavailable is an expected answer under
/// contention, so it counts as a success in goose's report.
pub async fn book(
    user: &mut GooseUser,
    name: &str,
    property: &str,
    check_in: NaiveDate,
    nights: u64,
) -> TransactionResult {
    let check_out = check_in + Days::new(nights);
    let body = json!({
        "property_id": property,
        "check_in": check_in,
        "check_out": check_out,
        "guests": 2,
    });
    let builder = user
        .get_request_builder(&GooseMethod::Post, "/api/v1/bookings")?
        .json(&body);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path("/api/v1/bookings")
        .name(name)
        .set_request_builder(builder)
        .build();
    let mut goose = user.request(request).await?;
    if let Ok(response) = &goose.response
        && response.status().as_u16() == 409
    {
        user.set_success(&mut goose.request)?;
    }
    Ok(())
}

/// A date `days` from today (UTC, as the server counts).
pub fn days_from_today(days: u64) -> NaiveDate {
    Utc::now().date_naive() + Days::new(days)
}

/// Hands out (property, night) slots that no other request of this attack
/// uses, so that every booking of the spread scenario can succeed.
pub fn next_free_slot(counter: &AtomicU64, properties: usize) -> (usize, u64) {
    let n = counter.fetch_add(1, Ordering::Relaxed);
    let width = properties.max(1) as u64;
    ((n % width) as usize, 1 + n / width)
}
