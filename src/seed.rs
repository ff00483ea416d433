//! `innkeep seed --properties N`: a realistic catalogue for demos and for
//! benchmarking search. Listings in 30 cities on six continents (more in
//! the big ones), hosts with several listings each, prices in the city's
//! currency, amenities, host blocks, confirmed bookings over the next
//! year, completed stays of the last two months with their payouts and
//! reviews, and each property's rating from those reviews.
//!
//! The money is real money as far as the ledger is concerned: every
//! confirmed or completed booking has its capture posted (and a completed
//! one its payout, with the payout job done), so `innkeep ledger verify`
//! stays clean on a seeded database. Calendars never overlap: each
//! property's ranges are laid one after another.
//!
//! Written in batches of [`BATCH`] properties, each batch one transaction
//! of multi-row `INSERT`s (`SeedStore`); the next batch is generated while
//! the previous one is written. Seeded users cannot sign in (their hash is
//! not a valid PHC string); register your own users to book. The random
//! generator is seeded, so two runs make the same catalogue shape.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use innkeep_actors::domain::{
    Booking, BookingStatus, CancellationPolicy, Currency, PaymentStatus, price_stay,
};
use innkeep_actors::ledger::{self, Parties};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::properties::Property;
use crate::reviews::{About, NewReview};
use crate::store::{NewUser, SeedBatch, SeedEntry, Store};
use crate::users::{Email, Name};

/// Properties per transaction.
pub const BATCH: usize = 1_000;
/// Batches written at once.
const IN_FLIGHT: usize = 2;

/// City, country, latitude, longitude, currency, relative weight.
type City = (&'static str, &'static str, f64, f64, &'static str, u32);

const CITIES: &[City] = &[
    ("Lisbon", "Portugal", 38.72, -9.14, "EUR", 6),
    ("Porto", "Portugal", 41.15, -8.61, "EUR", 3),
    ("Paris", "France", 48.86, 2.35, "EUR", 10),
    ("Nice", "France", 43.70, 7.27, "EUR", 3),
    ("Berlin", "Germany", 52.52, 13.40, "EUR", 6),
    ("Barcelona", "Spain", 41.39, 2.17, "EUR", 8),
    ("Madrid", "Spain", 40.42, -3.70, "EUR", 5),
    ("Rome", "Italy", 41.90, 12.50, "EUR", 8),
    ("Amsterdam", "Netherlands", 52.37, 4.90, "EUR", 5),
    ("London", "United Kingdom", 51.51, -0.13, "GBP", 10),
    ("Edinburgh", "United Kingdom", 55.95, -3.19, "GBP", 2),
    ("Copenhagen", "Denmark", 55.68, 12.57, "DKK", 2),
    ("Prague", "Czechia", 50.08, 14.44, "CZK", 3),
    ("New York", "United States", 40.71, -74.01, "USD", 10),
    ("San Francisco", "United States", 37.77, -122.42, "USD", 4),
    ("Miami", "United States", 25.76, -80.19, "USD", 4),
    ("Toronto", "Canada", 43.65, -79.38, "CAD", 3),
    ("Mexico City", "Mexico", 19.43, -99.13, "MXN", 4),
    ("Rio de Janeiro", "Brazil", -22.91, -43.17, "BRL", 4),
    ("Buenos Aires", "Argentina", -34.60, -58.38, "ARS", 3),
    ("Cape Town", "South Africa", -33.92, 18.42, "ZAR", 3),
    ("Marrakesh", "Morocco", 31.63, -8.01, "MAD", 2),
    ("Nairobi", "Kenya", -1.29, 36.82, "KES", 1),
    ("Istanbul", "Türkiye", 41.01, 28.98, "TRY", 4),
    ("Dubai", "United Arab Emirates", 25.20, 55.27, "AED", 3),
    ("Bangkok", "Thailand", 13.76, 100.50, "THB", 4),
    ("Tokyo", "Japan", 35.68, 139.69, "JPY", 8),
    ("Kyoto", "Japan", 35.01, 135.77, "JPY", 3),
    ("Sydney", "Australia", -33.87, 151.21, "AUD", 5),
    ("Auckland", "New Zealand", -36.85, 174.76, "NZD", 2),
];
/// Minor units of a typical night in each currency, roughly (low, high).
fn night_range(currency: &str) -> (i64, i64) {
    match currency {
        "JPY" => (6_000, 60_000),
        "CZK" | "THB" => (80_000, 800_000),
        "MXN" | "ZAR" | "TRY" => (60_000, 600_000),
        "ARS" => (3_000_000, 30_000_000),
        "KES" => (400_000, 4_000_000),
        "DKK" | "BRL" | "MAD" | "AED" => (30_000, 300_000),
        _ => (4_000, 40_000),
    }
}
const KINDS: &[&str] = &[
    "Loft",
    "Studio",
    "Flat",
    "Townhouse",
    "Cottage",
    "Apartment",
    "Villa",
    "Room",
];
const ADJECTIVES: &[&str] = &[
    "Sunny", "Quiet", "Bright", "Cosy", "Spacious", "Charming", "Modern", "Historic",
];
/// Amenity and how often a listing has it.
const AMENITIES: &[(&str, f64)] = &[
    ("wifi", 0.95),
    ("kitchen", 0.8),
    ("washer", 0.5),
    ("air_conditioning", 0.4),
    ("workspace", 0.35),
    ("parking", 0.3),
    ("balcony", 0.25),
    ("pool", 0.08),
];
const STAY_COMMENTS: &[&str] = &[
    "Lovely place, exactly as described.",
    "Great location, a little noisy at night.",
    "Clean, comfortable, and the host was quick to answer.",
    "Fine for a short stay.",
    "Would stay again.",
];
const GUEST_COMMENTS: &[&str] = &[
    "A considerate guest.",
    "Left the place spotless.",
    "Easy to host, welcome back any time.",
];

/// What a seed run made, and how long it took.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeedReport {
    pub hosts: usize,
    pub guests: usize,
    pub properties: usize,
    pub bookings: usize,
    pub blocks: usize,
    pub reviews: usize,
    pub elapsed: StdDuration,
}

/// Seeds `properties` listings (and everything around them) into `store`.
pub async fn run(store: Arc<dyn Store>, properties: u32) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let now = Utc::now();
    let properties = properties as usize;
    let mut rng = StdRng::seed_from_u64(2026);
    let hosts = users("host", "Seed Host", properties.div_ceil(3).max(1), now)?;
    let guests = users("guest", "Seed Guest", (properties / 5).max(10), now)?;
    let mut report = SeedReport {
        hosts: hosts.len(),
        guests: guests.len(),
        ..SeedReport::default()
    };
    let host_ids: Vec<Uuid> = hosts.iter().map(|u| u.id).collect();
    let guest_ids: Vec<Uuid> = guests.iter().map(|u| u.id).collect();
    // Users first, committed before any listing that names them: batches
    // are written two at a time, on two connections with PostgreSQL.
    store
        .insert_seed_batch(&SeedBatch {
            users: hosts.into_iter().chain(guests).collect(),
            ..SeedBatch::default()
        })
        .await?;
    let cities = weighted_cities();
    // Batches are generated while earlier ones are written, two at a time
    // (PostgreSQL writes them on two connections; SQLite's one writer
    // takes them in turn).
    let mut writing = tokio::task::JoinSet::new();
    let mut made = 0;
    while made < properties {
        let mut batch = SeedBatch::default();
        let n = BATCH.min(properties - made);
        for i in made..made + n {
            let host = host_ids[i % host_ids.len()];
            listing(&mut rng, &mut batch, &cities, host, &guest_ids, now)?;
        }
        made += n;
        report.properties += batch.properties.len();
        report.bookings += batch.bookings.len();
        report.blocks += batch.entries.len() - batch.bookings.len();
        report.reviews += batch.reviews.len();
        if writing.len() >= IN_FLIGHT
            && let Some(done) = writing.join_next().await
        {
            done??;
        }
        let store = store.clone();
        writing.spawn(async move { store.insert_seed_batch(&batch).await });
    }
    while let Some(done) = writing.join_next().await {
        done??;
    }
    report.elapsed = started.elapsed();
    tracing::info!(
        hosts = report.hosts,
        guests = report.guests,
        properties = report.properties,
        bookings = report.bookings,
        blocks = report.blocks,
        reviews = report.reviews,
        seconds = format!("{:.1}", report.elapsed.as_secs_f64()),
        "seeded"
    );
    Ok(report)
}

fn users(kind: &str, name: &str, count: usize, now: DateTime<Utc>) -> anyhow::Result<Vec<NewUser>> {
    (0..count)
        .map(|i| {
            let id = Uuid::now_v7();
            Ok(NewUser {
                id,
                email: Email::parse(&format!("{kind}{i}-{}@seed.innkeep.dev", id.simple()))
                    .map_err(anyhow::Error::msg)?,
                name: Name::parse(&format!("{name} {i}")).map_err(anyhow::Error::msg)?,
                password_hash: "!seeded".into(),
                now,
            })
        })
        .collect()
}

/// Each city repeated by its weight, to draw from.
fn weighted_cities() -> Vec<&'static City> {
    CITIES
        .iter()
        .flat_map(|c| std::iter::repeat_n(c, c.5 as usize))
        .collect()
}

/// One listing with its calendar, money and reviews, added to `batch`.
fn listing(
    rng: &mut StdRng,
    batch: &mut SeedBatch,
    cities: &[&City],
    host: Uuid,
    guests: &[Uuid],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let &&(city, country, lat, lon, currency, _) = cities
        .choose(rng)
        .ok_or_else(|| anyhow::anyhow!("no cities"))?;
    let kind = KINDS.choose(rng).copied().unwrap_or("Flat");
    let adjective = ADJECTIVES.choose(rng).copied().unwrap_or("Quiet");
    let (low, high) = night_range(currency);
    // Prices cluster low with a long tail, rounded to whole units.
    let spread: f64 = rng.random::<f64>().powi(2);
    let price = ((low as f64 + spread * (high - low) as f64) / 100.0).round() as i64 * 100;
    let min_nights = *[1, 1, 1, 2, 2, 3, 7].choose(rng).unwrap_or(&1);
    let mut property = Property {
        id: Uuid::now_v7(),
        host_id: host,
        title: format!("{adjective} {kind} in {city}"),
        description: format!(
            "A {} {} close to the centre of {city}.",
            adjective.to_lowercase(),
            kind.to_lowercase()
        ),
        city: city.into(),
        country: country.into(),
        latitude: Some(lat + rng.random_range(-0.08..0.08)),
        longitude: Some(lon + rng.random_range(-0.08..0.08)),
        price_per_night: price,
        currency: Currency::parse(currency)?,
        cleaning_fee: price / 100 * rng.random_range(0..40),
        max_guests: rng.random_range(1..=8),
        bedrooms: rng.random_range(0..=4),
        amenities: AMENITIES
            .iter()
            .filter(|(_, p)| rng.random_bool(*p))
            .map(|(a, _)| (*a).to_owned())
            .collect(),
        cancellation_policy: *[
            CancellationPolicy::Flexible,
            CancellationPolicy::Moderate,
            CancellationPolicy::Strict,
        ]
        .choose(rng)
        .unwrap_or(&CancellationPolicy::Flexible),
        instant_book: rng.random_bool(0.6),
        min_nights,
        max_nights: 30,
        listed: true,
        rating_sum: 0,
        review_count: 0,
        created_at: now,
        updated_at: now,
    };
    let today = now.date_naive();
    // Most listings had a guest in the last weeks (a completed stay, paid
    // out, often reviewed); ahead, up to four bookings over the year, the
    // sooner the likelier, and now and then the host's own dates. Ranges
    // are laid end to end with gaps, so none overlap.
    if rng.random_bool(0.6) {
        let check_out = today - Duration::days(rng.random_range(1..40));
        let nights = rng.random_range(property.min_nights.max(2)..=7);
        let guest = *guests.choose(rng).unwrap_or(&host);
        let stayed = (check_out - Duration::days(i64::from(nights)), check_out);
        stay(rng, batch, &mut property, guest, stayed, now)?;
    }
    let mut day = today;
    for _ in 0..rng.random_range(0..=4) {
        day += Duration::days(rng.random_range(1..60));
        let nights = rng.random_range(property.min_nights.max(2)..=8);
        let end = day + Duration::days(i64::from(nights));
        let guest = *guests.choose(rng).unwrap_or(&host);
        stay(rng, batch, &mut property, guest, (day, end), now)?;
        day = end;
    }
    if rng.random_bool(0.2) {
        let start = day + Duration::days(rng.random_range(1..30));
        batch.entries.push(SeedEntry {
            id: Uuid::now_v7(),
            property_id: property.id,
            start,
            end: start + Duration::days(rng.random_range(2..14)),
            kind: "block",
            reason: Some("owner stay"),
            created_at: now,
        });
    }
    batch.properties.push(property);
    Ok(())
}

/// A paid stay: confirmed if ahead, completed (paid out, maybe reviewed)
/// if over.
fn stay(
    rng: &mut StdRng,
    batch: &mut SeedBatch,
    property: &mut Property,
    guest: Uuid,
    (check_in, check_out): (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let nights = u32::try_from((check_out - check_in).num_days())?;
    let price = price_stay(nights, property.nightly_price(), property.cleaning())?;
    let booked_at = at(check_in - Duration::days(rng.random_range(3..60)), 10).min(now);
    let over = check_out <= now.date_naive();
    let booking = Booking {
        id: Uuid::now_v7(),
        property_id: property.id,
        guest_id: guest,
        host_id: property.host_id,
        check_in,
        check_out,
        guests: rng.random_range(1..=property.max_guests),
        status: if over {
            BookingStatus::Completed
        } else {
            BookingStatus::Confirmed
        },
        nights: i32::try_from(nights)?,
        subtotal: price.subtotal,
        cleaning_fee: price.cleaning_fee,
        service_fee: price.service_fee,
        total: price.total,
        host_payout: price.host_payout,
        currency: property.currency,
        instant_book: property.instant_book,
        cancellation_policy: property.cancellation_policy,
        created_at: booked_at,
        updated_at: booked_at,
        expires_at: None,
        payment_provider: "dev".into(),
        payment_intent_id: Some(format!("pi_seed_{}", Uuid::now_v7().simple())),
        payment_client_secret: None,
        payment_status: PaymentStatus::Succeeded,
        refund_amount: None,
    };
    batch.entries.push(SeedEntry {
        id: booking.id,
        property_id: property.id,
        start: check_in,
        end: check_out,
        kind: "booking",
        reason: None,
        created_at: booked_at,
    });
    batch
        .postings
        .push((Uuid::now_v7(), ledger::capture(&booking), booked_at));
    if over {
        // Paid out 24 h after a 15:00 check-in, as the sweep does.
        let paid_at = at(check_in + Duration::days(1), 15).min(now);
        let amount = ledger::host_net(&booking, 0);
        if let Some(posting) = ledger::payout(Parties::from(&booking), amount) {
            batch.postings.push((Uuid::now_v7(), posting, paid_at));
            batch.payouts.push((booking.id, amount, paid_at));
        }
        reviews(rng, batch, property, &booking, now);
    }
    batch.bookings.push(booking);
    Ok(())
}

/// Most guests review their stay (mostly well), about half of hosts their
/// guest; the property's rating follows.
fn reviews(
    rng: &mut StdRng,
    batch: &mut SeedBatch,
    property: &mut Property,
    booking: &Booking,
    now: DateTime<Utc>,
) {
    let written = at(
        booking.check_out + Duration::days(rng.random_range(0..10)),
        9,
    )
    .min(now);
    if rng.random_bool(0.7) {
        let rating = *[5, 5, 5, 4, 4, 3, 2].choose(rng).unwrap_or(&5);
        property.rating_sum += i64::from(rating);
        property.review_count += 1;
        batch.reviews.push(NewReview {
            id: Uuid::now_v7(),
            booking_id: booking.id,
            property_id: property.id,
            author_id: booking.guest_id,
            subject_id: booking.host_id,
            about: About::Stay,
            rating,
            comment: STAY_COMMENTS.choose(rng).copied().unwrap_or("").into(),
            created_at: written,
        });
    }
    if rng.random_bool(0.5) {
        batch.reviews.push(NewReview {
            id: Uuid::now_v7(),
            booking_id: booking.id,
            property_id: property.id,
            author_id: booking.host_id,
            subject_id: booking.guest_id,
            about: About::Guest,
            rating: *[5, 5, 4].choose(rng).unwrap_or(&5),
            comment: GUEST_COMMENTS.choose(rng).copied().unwrap_or("").into(),
            created_at: written,
        });
    }
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or(NaiveTime::MIN))
        .and_utc()
}
