//! Search at scale: the seeded catalogue is consistent (ledger, calendars,
//! ratings) and searchable; cursor pages stay stable while listings are
//! added and booked; a result never offers dates the calendar would refuse.

use std::collections::HashSet;
use std::sync::Mutex;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::both_stores;
use crate::support::{TestApp, User, days, id};

both_stores!(seeded_catalogue_is_consistent_and_searchable);
both_stores!(passivating: a_box_over_several_cells_pages_in_price_order);
both_stores!(storm:
    pages_stay_stable_while_listings_are_added_and_booked,
    a_search_never_offers_dates_the_calendar_would_refuse,
);

/// The ids on one page of a search.
fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .map(|d| d.iter().map(id).collect())
        .unwrap_or_default()
}

/// Every id a search finds, following its cursor to the end, in order.
async fn all_pages(app: &TestApp, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_owned(),
        };
        let page = app
            .get(&format!("/api/v1/properties?{q}"), None)
            .await
            .expect(200)
            .clone();
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
    }
}

async fn seeded_catalogue_is_consistent_and_searchable(app: TestApp) {
    // Three batches, written two at a time (PostgreSQL: on two
    // connections), each naming hosts and guests written before them.
    let logged = app.command(&["seed", "--properties", "2500"]).await;
    assert!(logged.contains("\"properties\":2500"), "{logged}");
    // The money of every seeded booking is in the ledger, as its state says.
    app.assert_ledger_clean().await;
    for (what, query) in [
        (
            "completed stays",
            "SELECT COUNT(*) FROM bookings WHERE status = 'completed'",
        ),
        (
            "bookings ahead",
            "SELECT COUNT(*) FROM bookings WHERE status = 'confirmed'",
        ),
        ("reviews", "SELECT COUNT(*) FROM reviews"),
        (
            "blocks",
            "SELECT COUNT(*) FROM calendar_entries WHERE kind = 'block'",
        ),
    ] {
        assert!(app.count(query).await > 0, "no {what} seeded");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'payment.payout' AND status = 'done'")
            .await,
        app.transactions_of("payout").await,
        "a payout posted without its job, or the reverse"
    );
    // No two active ranges of a property overlap (on SQLite nothing but
    // the writer enforces it).
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM calendar_entries a JOIN calendar_entries b \
             ON a.property_id = b.property_id AND a.id <> b.id AND a.active AND b.active \
             AND a.start_date < b.end_date AND b.start_date < a.end_date"
        )
        .await,
        0
    );
    // Each rating is the sum of the guests' reviews.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM properties p WHERE \
             p.rating_sum <> (SELECT COALESCE(SUM(r.rating), 0) FROM reviews r \
                              WHERE r.property_id = p.id AND r.about = 'stay') \
             OR p.review_count <> (SELECT COUNT(*) FROM reviews r \
                                   WHERE r.property_id = p.id AND r.about = 'stay')"
        )
        .await,
        0
    );
    // Best rated first.
    let best = app
        .get("/api/v1/properties?sort=rating&limit=20", None)
        .await
        .expect(200)
        .clone();
    let ratings: Vec<f64> = best["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["rating_avg"].as_f64().unwrap_or(0.0))
        .collect();
    assert!(ratings.first().is_some_and(|r| *r > 0.0), "{ratings:?}");
    assert!(ratings.windows(2).all(|w| w[0] >= w[1]), "{ratings:?}");
    // A seeded booking's dates: taken in the calendar, absent from a search
    // for them, refused to a new guest.
    let guest = app.register("guest").await;
    let mut checked = 0;
    for property in ids(&best) {
        let taken = app.unavailable(&property, 1, 365).await;
        let Some(range) = taken.as_array().and_then(|r| r.first()) else {
            continue;
        };
        let (start, end) = (
            range["start"].as_str().unwrap_or_default(),
            range["end"].as_str().unwrap_or_default(),
        );
        let listing = app
            .get(&format!("/api/v1/properties/{property}"), None)
            .await
            .expect(200)
            .clone();
        let (lon, lat) = (
            listing["longitude"].as_f64().unwrap_or_default(),
            listing["latitude"].as_f64().unwrap_or_default(),
        );
        let here = format!(
            "bbox={},{},{},{}&limit=100",
            lon - 1e-6,
            lat - 1e-6,
            lon + 1e-6,
            lat + 1e-6
        );
        assert!(all_pages(&app, &here).await.contains(&property));
        let then = format!("{here}&check_in={start}&check_out={end}");
        assert!(!all_pages(&app, &then).await.contains(&property), "{then}");
        app.book(&guest.token, &property, start, end)
            .await
            .expect(409);
        checked += 1;
    }
    assert!(
        checked > 0,
        "no seeded property of the first page has bookings"
    );
}

/// Where the test towns lie, and a box round them: a search by box and
/// dates takes its own path (candidates ordered first, calendars probed
/// after).
const TOWN: (f64, f64) = (10.5, 20.5);
const TOWN_BOX: &str = "bbox=20.4,10.4,20.6,10.6";

/// A city of `count` listings at a few prices (ties broken by id).
async fn town(app: &TestApp, host: &User, city: &str, count: usize) -> Vec<String> {
    let made = join_all((0..count).map(|i| {
        app.create_property(
            &host.token,
            json!({"city": city, "price_per_night": 5_000 + (i % 5) as i64 * 100,
                   "latitude": TOWN.0, "longitude": TOWN.1}),
        )
    }))
    .await;
    made.iter().map(id).collect()
}

async fn pages_stay_stable_while_listings_are_added_and_booked(app: TestApp) {
    let app = &app;
    let host = app.register("host").await;
    let guest = app.register("guest").await;
    let originals = town(app, &host, "Pagetown", 40).await;
    // Every fourth listing is booked for the searched dates meanwhile; the
    // others existed throughout and stay free, so every walk must find them.
    let to_book: Vec<String> = originals.iter().step_by(4).cloned().collect();
    let untouched: HashSet<String> = originals
        .iter()
        .filter(|p| !to_book.contains(p))
        .cloned()
        .collect();
    let (check_in, check_out) = (days(30), days(32));
    let writer = async {
        for (n, property) in to_book.iter().enumerate() {
            app.book(&guest.token, property, &check_in, &check_out)
                .await
                .expect(201);
            // And new listings arrive, some cheaper, some dearer.
            app.create_property(
                &host.token,
                json!({"city": "Pagetown", "price_per_night": 4_800 + n as i64 * 50,
                       "latitude": TOWN.0, "longitude": TOWN.1}),
            )
            .await;
        }
    };
    // By city, and by box (the other query shape), in every order.
    let readers = ["newest", "price_asc", "price_desc", "rating"]
        .into_iter()
        .flat_map(|sort| {
            let dates = format!("check_in={check_in}&check_out={check_out}&sort={sort}&limit=3");
            [
                format!("city=pagetown&{dates}"),
                format!("{TOWN_BOX}&{dates}"),
            ]
        })
        .map(|query| async move { (query.clone(), all_pages(app, &query).await) });
    let ((), walks) = futures_util::join!(writer, join_all(readers));
    for (sort, seen) in walks {
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a listing came twice");
        let missing: Vec<_> = untouched.iter().filter(|p| !seen.contains(p)).collect();
        assert!(missing.is_empty(), "{sort}: skipped {missing:?}");
    }
    // Once the writer is done, no booked listing is offered for those dates.
    for place in ["city=pagetown", TOWN_BOX] {
        let after = all_pages(
            app,
            &format!("{place}&check_in={check_in}&check_out={check_out}&limit=7"),
        )
        .await;
        assert_eq!(after.len(), 30 + to_book.len(), "{place}: {after:?}");
        assert!(to_book.iter().all(|p| !after.contains(p)), "{place}");
    }
}

async fn a_search_never_offers_dates_the_calendar_would_refuse(app: TestApp) {
    let app = &app;
    let host = app.register("host").await;
    let guest = app.register("guest").await;
    // A three-night minimum is not offered for two nights.
    let long_stays = app
        .list_property(&host, json!({"city": "Racetown", "min_nights": 3}))
        .await;
    let two = format!(
        "city=racetown&check_in={}&check_out={}&limit=100",
        days(20),
        days(22)
    );
    let three = format!(
        "city=racetown&check_in={}&check_out={}&limit=100",
        days(20),
        days(23)
    );
    assert!(!all_pages(app, &two).await.contains(&long_stays));
    assert!(all_pages(app, &three).await.contains(&long_stays));
    // Guests book every listing for the dates while others search them:
    // nothing a search returns may have been booked before it was sent.
    let listings = town(app, &host, "Racetown", 40).await;
    let booked = Mutex::new(HashSet::new());
    let bookers = listings.iter().map(|property| {
        let booked = &booked;
        let guest = &guest;
        async move {
            app.book(&guest.token, property, &days(20), &days(22))
                .await
                .expect(201);
            booked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(property.clone());
        }
    });
    // Half search by city, half by box (candidates ordered first, their
    // calendars probed after).
    let by_box = format!(
        "{TOWN_BOX}&check_in={}&check_out={}&limit=100",
        days(20),
        days(22)
    );
    let searchers = (0..8).map(|i| {
        let (booked, two, by_box, listings) = (&booked, &two, &by_box, &listings);
        let query = if i % 2 == 0 { two } else { by_box };
        async move {
            let mut searches = 0;
            loop {
                let before: HashSet<String> =
                    booked.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let found = all_pages(app, query).await;
                let stale: Vec<_> = found.iter().filter(|p| before.contains(*p)).collect();
                assert!(stale.is_empty(), "offered after being booked: {stale:?}");
                searches += 1;
                if before.len() == listings.len() {
                    return searches;
                }
            }
        }
    });
    let ((), searches) = futures_util::join!(
        async {
            join_all(bookers).await;
        },
        join_all(searchers)
    );
    assert!(searches.iter().all(|n| *n >= 1));
    assert!(all_pages(app, &two).await.is_empty());
    assert!(all_pages(app, &by_box).await.is_empty());
}

/// A box of a few grid cells, with dates and a price sort, is read cell by
/// cell and merged: the walk must be exactly the box's free listings in
/// price order (ties by id), both ways, across cell edges, with listings on
/// the edges and just outside the box, answered by the store alone.
async fn a_box_over_several_cells_pages_in_price_order(app: TestApp) {
    let app = &app;
    let host = app.register("host").await;
    let guest = app.register("guest").await;
    // A lattice over nine cells (edges at 29.9, 30.0, 30.1 and 39.9, 40.0,
    // 40.1), some points on an edge; prices repeat so ties occur.
    let points: Vec<(f64, f64, i64)> = (0..7)
        .flat_map(|row| (0..7).map(move |col| (row, col)))
        .enumerate()
        .map(|(i, (row, col))| {
            let lat = 29.94 + f64::from(row) * 0.03;
            let lon = 39.94 + f64::from(col) * 0.03;
            (lat, lon, 5_000 + (i as i64 * 37 % 11) * 100)
        })
        .chain([
            (30.0, 40.0, 5_300),
            (30.1, 40.1, 5_300),
            (29.9, 39.9, 5_000),
        ])
        .collect();
    let made = join_all(points.iter().map(|(lat, lon, price)| {
        app.create_property(
            &host.token,
            json!({"city": "Gridtown", "price_per_night": price,
                   "latitude": lat, "longitude": lon}),
        )
    }))
    .await;
    let listings: Vec<(String, f64, f64, i64)> = made
        .iter()
        .zip(&points)
        .map(|(p, (lat, lon, price))| (id(p), *lat, *lon, *price))
        .collect();
    let (check_in, check_out) = (days(40), days(43));
    // Every sixth listing is taken for those dates (a guest holds at most
    // ten).
    let taken: HashSet<String> = listings.iter().step_by(6).map(|l| l.0.clone()).collect();
    for property in &taken {
        app.book(&guest.token, property, &check_in, &check_out)
            .await
            .expect(201);
    }
    // The calendars passivate, so the store alone must leave the taken
    // ones out (a live calendar would also filter them from the page).
    assert!(app.all_calendars_passivated().await);
    let (min_lon, min_lat, max_lon, max_lat) = (39.9, 29.95, 40.1, 30.1);
    let in_box = |(_, lat, lon, _): &&(String, f64, f64, i64)| {
        (min_lat..=max_lat).contains(lat) && (min_lon..=max_lon).contains(lon)
    };
    let boxed: Vec<&(String, f64, f64, i64)> = listings.iter().filter(in_box).collect();
    let mut expected: Vec<&(String, f64, f64, i64)> = boxed
        .iter()
        .copied()
        .filter(|l| !taken.contains(&l.0))
        .collect();
    expected.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0)));
    let ascending: Vec<String> = expected.iter().map(|l| l.0.clone()).collect();
    assert!(ascending.len() > 20, "{}", ascending.len());
    let query = |sort: &str| {
        format!(
            "bbox={min_lon},{min_lat},{max_lon},{max_lat}&check_in={check_in}\
             &check_out={check_out}&sort={sort}&limit=4"
        )
    };
    assert_eq!(all_pages(app, &query("price_asc")).await, ascending);
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();
    assert_eq!(all_pages(app, &query("price_desc")).await, descending);
    // The same box without dates (the other path) finds the taken ones too.
    let all = all_pages(
        app,
        &format!("bbox={min_lon},{min_lat},{max_lon},{max_lat}&sort=price_asc&limit=100"),
    )
    .await;
    assert_eq!(all.len(), boxed.len());
    assert!(boxed.len() > ascending.len(), "no taken listing in the box");
}
