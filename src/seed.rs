//! `innkeep seed --properties N`: demo data, hosts with listed properties
//! in several cities and some blocked dates. Runs through the same store
//! calls as the API, so seeded rows obey the same rules. Seeded hosts
//! cannot sign in; register your own users to book.

use chrono::{Duration, Utc};
use innkeep_actors::domain::{CancellationPolicy, Currency};
use rand::Rng;
use rand::seq::IndexedRandom;
use uuid::Uuid;

use innkeep_actors::ports::{CalendarOp, NewBlock};

use crate::properties::Property;
use crate::store::{NewUser, Store};
use crate::users::{Email, Name};

const CITIES: &[(&str, &str, f64, f64, &str)] = &[
    ("Lisbon", "Portugal", 38.72, -9.14, "EUR"),
    ("Paris", "France", 48.86, 2.35, "EUR"),
    ("Berlin", "Germany", 52.52, 13.40, "EUR"),
    ("Barcelona", "Spain", 41.39, 2.17, "EUR"),
    ("London", "United Kingdom", 51.51, -0.13, "GBP"),
    ("New York", "United States", 40.71, -74.01, "USD"),
    ("Kyoto", "Japan", 35.01, 135.77, "JPY"),
    ("Cape Town", "South Africa", -33.92, 18.42, "ZAR"),
];
const KINDS: &[&str] = &[
    "Loft",
    "Studio",
    "Flat",
    "Townhouse",
    "Cottage",
    "Apartment",
];
const ADJECTIVES: &[&str] = &["Sunny", "Quiet", "Bright", "Cosy", "Spacious", "Charming"];
const AMENITIES: &[&str] = &[
    "wifi",
    "kitchen",
    "washer",
    "air_conditioning",
    "parking",
    "pool",
    "workspace",
    "balcony",
];

pub async fn run(store: &dyn Store, properties: u32) -> anyhow::Result<()> {
    let hosts = properties.div_ceil(3).max(1);
    // Seeded accounts cannot sign in: their hash is not a valid PHC string.
    let now = Utc::now();
    let mut host_ids = Vec::new();
    for i in 0..hosts {
        let id = Uuid::now_v7();
        let email = Email::parse(&format!(
            "host{i}-{}@seed.innkeep.dev",
            &id.simple().to_string()[..8]
        ))
        .map_err(anyhow::Error::msg)?;
        let name = Name::parse(&format!("Seed Host {i}")).map_err(anyhow::Error::msg)?;
        store
            .create_user(&NewUser {
                id,
                email,
                name,
                password_hash: "!seeded".into(),
                now,
            })
            .await?;
        host_ids.push(id);
    }
    let mut rng = rand::rng();
    for i in 0..properties {
        let &(city, country, lat, lon, currency) = CITIES.choose(&mut rng).unwrap_or(&CITIES[0]);
        let kind = KINDS.choose(&mut rng).unwrap_or(&"Flat");
        let adjective = ADJECTIVES.choose(&mut rng).unwrap_or(&"Quiet");
        let amenities: Vec<String> = AMENITIES
            .iter()
            .filter(|_| rng.random_bool(0.5))
            .map(|a| (*a).to_owned())
            .collect();
        let price = if currency == "JPY" {
            rng.random_range(8_000..40_000)
        } else {
            rng.random_range(4_000..40_000)
        };
        let property = Property {
            id: Uuid::now_v7(),
            host_id: host_ids[(i % hosts) as usize],
            title: format!("{adjective} {kind} in {city}"),
            description: format!(
                "A {} {} close to the centre of {city}.",
                adjective.to_lowercase(),
                kind.to_lowercase()
            ),
            city: city.into(),
            country: country.into(),
            latitude: Some(lat + rng.random_range(-0.05..0.05)),
            longitude: Some(lon + rng.random_range(-0.05..0.05)),
            price_per_night: price,
            currency: Currency::parse(currency)?,
            cleaning_fee: rng.random_range(0..5_000),
            max_guests: rng.random_range(1..=8),
            bedrooms: rng.random_range(0..=4),
            amenities,
            cancellation_policy: *[
                CancellationPolicy::Flexible,
                CancellationPolicy::Moderate,
                CancellationPolicy::Strict,
            ]
            .choose(&mut rng)
            .unwrap_or(&CancellationPolicy::Flexible),
            instant_book: rng.random_bool(0.6),
            min_nights: 1,
            max_nights: 30,
            listed: true,
            rating_sum: 0,
            review_count: 0,
            created_at: now,
            updated_at: now,
        };
        store.insert_property(&property).await?;
        if rng.random_bool(0.3) {
            let start = now.date_naive() + Duration::days(rng.random_range(1..60));
            let block = NewBlock {
                id: Uuid::now_v7(),
                property_id: property.id,
                start,
                end: start + Duration::days(rng.random_range(1..7)),
                reason: Some("owner stay".into()),
            };
            store
                .apply_calendar(property.id, &[CalendarOp::InsertBlock(block)], now)
                .await?;
        }
    }
    tracing::info!(hosts, properties, "seeded demo data");
    Ok(())
}
