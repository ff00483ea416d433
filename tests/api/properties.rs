//! The property story (create, read, update as someone else, quote), search
//! and pagination, blocks, availability and the iCalendar feed.

use std::collections::HashSet;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::both_stores;
use crate::support::{TestApp, days, id};

both_stores!(
    host_lists_guest_reads_stranger_cannot_edit_quote_matches_rules,
    search_filters_and_paginates,
    blocks_shape_availability_and_race_to_one_winner,
    unlisting_hides_the_property,
);

async fn host_lists_guest_reads_stranger_cannot_edit_quote_matches_rules(app: TestApp) {
    let host = app.register("host").await;
    let created = app
        .create_property(
            &host.token,
            json!({"currency": "eur", "amenities": ["WiFi", " kitchen ", "wifi"]}),
        )
        .await;
    assert_eq!(created["host_id"], host.id.as_str());
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["amenities"], json!(["wifi", "kitchen"]));
    assert_eq!(created["review_count"], 0);
    assert_eq!(created["rating_avg"], Value::Null);
    let id = id(&created);

    // Anyone can read it back.
    let read = app
        .get(&format!("/api/v1/properties/{id}"), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(read["title"], "Sunny loft");
    assert_eq!(read["price_per_night"], 10_050);

    // Another user may not edit it; the host may, and readers see the change.
    let stranger = app.register("stranger").await;
    app.patch(
        &format!("/api/v1/properties/{id}"),
        Some(&stranger.token),
        json!({"title": "Mine now"}),
    )
    .await
    .expect(403);
    app.delete(&format!("/api/v1/properties/{id}"), Some(&stranger.token))
        .await
        .expect(403);
    app.patch(
        &format!("/api/v1/properties/{id}"),
        None,
        json!({"title": "x"}),
    )
    .await
    .expect(401);
    let updated = app
        .patch(
            &format!("/api/v1/properties/{id}"),
            Some(&host.token),
            json!({"title": "Sunnier loft", "price_per_night": 12_345}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(updated["title"], "Sunnier loft");
    assert_eq!(
        updated["city"], "Lisbon",
        "PATCH keeps what it does not name"
    );
    let reread = app
        .get(&format!("/api/v1/properties/{id}"), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        reread["price_per_night"], 12_345,
        "the cached copy was invalidated"
    );

    // 3 nights × 123.45 + 25.00 cleaning; service fee 12 % of 370.35 = 44.442 -> 44.44
    let quote = app
        .get(
            &format!(
                "/api/v1/properties/{id}/quote?check_in={}&check_out={}&guests=2",
                days(10),
                days(13)
            ),
            None,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(
        quote,
        json!({"nights": 3, "subtotal": 37_035, "cleaning_fee": 2_500, "service_fee": 4_444, "total": 43_979, "currency": "EUR"})
    );

    // Quote rules: guests, stay length, dates.
    let q = |a: i64, b: i64, g: u32| {
        format!(
            "/api/v1/properties/{id}/quote?check_in={}&check_out={}&guests={g}",
            days(a),
            days(b)
        )
    };
    assert_eq!(
        app.get(&q(10, 13, 5), None).await.expect(422)["errors"][0]["field"],
        "guests"
    );
    assert_eq!(
        app.get(&q(10, 50, 2), None).await.expect(422)["errors"][0]["field"],
        "check_out"
    );
    app.get(&q(13, 10, 2), None).await.expect(422);
    app.get(&q(-3, 2, 2), None).await.expect(422);
    app.get(
        &format!("/api/v1/properties/{id}/quote?check_in=2030-02-30&check_out=2030-03-02"),
        None,
    )
    .await
    .expect(422);
    app.get(&format!("/api/v1/properties/{id}/quote"), None)
        .await
        .expect(422);
    app.get(
        &format!(
            "/api/v1/properties/{}/quote?check_in={}&check_out={}",
            uuid::Uuid::now_v7(),
            days(1),
            days(2)
        ),
        None,
    )
    .await
    .expect(404);
}

async fn search_filters_and_paginates(app: TestApp) {
    let host = app.register("searcher").await;
    let mut made = Vec::new();
    for i in 0..7_i64 {
        made.push(
            app.create_property(&host.token, json!({
                "title": format!("Lisbon {i}"), "price_per_night": 5_000 + i * 1_000, "max_guests": 1 + i,
                "amenities": if i % 2 == 0 { json!(["wifi", "pool"]) } else { json!(["wifi"]) },
                "latitude": 38.70 + i as f64 * 0.01, "longitude": -9.14
            }))
            .await,
        );
    }
    app.create_property(&host.token, json!({"city": "Porto", "title": "Porto 1"}))
        .await;
    app.create_property(
        &host.token,
        json!({"city": "Paris", "country": "France", "title": "Paris 1"}),
    )
    .await;

    let ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .map(|d| d.iter().map(id).collect())
            .unwrap_or_default()
    };
    let search = async |q: &str| app.get(&format!("/api/v1/properties?{q}"), None).await;
    // The ids a search finds, expecting 200.
    let found = async |q: &str| ids(search(q).await.expect(200));

    assert_eq!(found("city=LISBON").await.len(), 7);
    assert_eq!(found("country=france").await.len(), 1);
    assert_eq!(found("city=lisbon&guests=5").await.len(), 3);
    let mid_price = "city=lisbon&min_price=6000&max_price=8000";
    assert_eq!(found(mid_price).await.len(), 3);
    assert_eq!(found("city=lisbon&amenities=pool,wifi").await.len(), 4);
    let in_box = "city=lisbon&bbox=-9.2,38.715,-9.1,38.735";
    assert_eq!(found(in_box).await.len(), 2);

    // Pages of 3, newest first, no repeats, nothing lost.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("city=lisbon&limit=3&cursor={c}"),
            None => "city=lisbon&limit=3".into(),
        };
        let page = search(&q).await.expect(200).clone();
        seen.extend(ids(&page));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = made.iter().rev().map(id).collect();
    assert_eq!(seen, expected);

    // Price sort, across pages.
    let first = search("city=lisbon&sort=price_desc&limit=4")
        .await
        .expect(200)
        .clone();
    let next = first["next_cursor"].as_str().unwrap_or_default().to_owned();
    let second = search(&format!(
        "city=lisbon&sort=price_desc&limit=4&cursor={next}"
    ))
    .await
    .expect(200)
    .clone();
    let prices: Vec<i64> = [first, second]
        .iter()
        .flat_map(|p| p["data"].as_array().cloned().unwrap_or_default())
        .map(|p| p["price_per_night"].as_i64().unwrap_or_default())
        .collect();
    assert_eq!(
        prices,
        vec![11_000, 10_000, 9_000, 8_000, 7_000, 6_000, 5_000]
    );
    // A cursor belongs to its sort.
    search(&format!("city=lisbon&sort=price_asc&cursor={next}"))
        .await
        .expect(422);

    // Dates: a blocked property drops out of a search for overlapping stays.
    let blocked = id(&made[0]);
    app.block(&host.token, &blocked, 10..12).await.expect(201);
    let stay =
        |from: i64, to: i64| format!("city=lisbon&check_in={}&check_out={}", days(from), days(to));
    let during = found(&stay(11, 14)).await;
    assert_eq!(during.len(), 6);
    assert!(!during.contains(&blocked));
    let after = found(&stay(12, 14)).await;
    assert_eq!(
        after.len(),
        7,
        "checking in on the day the block ends is fine"
    );

    for bad in [
        "sort=cheapest",
        "guests=0",
        "min_price=-1",
        "min_price=9&max_price=1",
        "bbox=1,2,3",
        "limit=0",
        // At most 100 a page, as the document says: more is refused, not trimmed.
        "limit=101",
        "limit=2147483648",
        "check_in=2030-01-05",
        "cursor=%%%",
        "guests=many",
    ] {
        search(bad).await.expect(422);
    }
    let most = search("limit=100").await.expect(200).clone();
    assert!(most["data"].as_array().map_or(0, |d| d.len()) <= 100);
}

async fn blocks_shape_availability_and_race_to_one_winner(app: TestApp) {
    let host = app.register("blocker").await.token;
    let stranger = app.register("nosy").await.token;
    let id = id(&app.create_property(&host, json!({})).await);
    let blocks = format!("/api/v1/properties/{id}/blocks");

    let a = app
        .post(
            &blocks,
            Some(&host),
            json!({"start": days(5), "end": days(8), "reason": "painting"}),
        )
        .await
        .expect(201)
        .clone();
    app.block(&host, &id, 8..9).await.expect(201);
    app.block(&host, &id, 20..22).await.expect(201);
    let overlap = app.block(&host, &id, 7..10).await;
    assert_eq!(
        overlap.expect(409)["type"],
        "https://innkeep.dev/problems/dates-unavailable"
    );
    app.block(&stranger, &id, 30..31).await.expect(403);
    let ends_before_it_starts = std::ops::Range { start: 31, end: 30 };
    app.block(&host, &id, ends_before_it_starts)
        .await
        .expect(422);
    app.block(&host, &id, -5..-2).await.expect(422);

    assert_eq!(
        app.unavailable(&id, 0, 30).await,
        json!([{"start": days(5), "end": days(9)}, {"start": days(20), "end": days(22)}]),
        "touching blocks merge into one range"
    );
    assert_eq!(
        app.unavailable(&id, 6, 21).await,
        json!([{"start": days(6), "end": days(9)}, {"start": days(20), "end": days(21)}])
    );
    app.availability(&id, 5, 1).await.expect(422);

    let ics = app
        .get(&format!("/api/v1/properties/{id}/calendar.ics"), None)
        .await;
    assert!(ics.content_type().starts_with("text/calendar"));
    let ics = ics.text;
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2, "{ics}");
    assert!(ics.contains(&format!("DTSTART;VALUE=DATE:{}", days(5).replace('-', ""))));

    // Reopen the first block: its nights are free again.
    let block_id = a["id"].as_str().unwrap_or_default();
    app.delete(&format!("{blocks}/{block_id}"), Some(&stranger))
        .await
        .expect(403);
    app.delete(&format!("{blocks}/{block_id}"), Some(&host))
        .await
        .expect(204);
    app.delete(&format!("{blocks}/{block_id}"), Some(&host))
        .await
        .expect(404);
    app.block(&host, &id, 6..8).await.expect(201);

    // Twenty hosts' clients race for the same nights: exactly one wins.
    let racers = (0..20).map(|_| app.block(&host, &id, 40..45));
    let results = join_all(racers).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    let unique: HashSet<_> = results
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.body["id"].to_string())
        .collect();
    assert_eq!(unique.len(), 1);
}

async fn unlisting_hides_the_property(app: TestApp) {
    let host = app.register("leaver").await.token;
    let id = id(&app.create_property(&host, json!({"city": "Faro"})).await);
    app.get(&format!("/api/v1/properties/{id}"), None)
        .await
        .expect(200);
    app.delete(&format!("/api/v1/properties/{id}"), Some(&host))
        .await
        .expect(204);
    app.get(&format!("/api/v1/properties/{id}"), None)
        .await
        .expect(404);
    let found = app
        .get("/api/v1/properties?city=faro", None)
        .await
        .expect(200)
        .clone();
    assert_eq!(found["data"], json!([]));
    app.patch(
        &format!("/api/v1/properties/{id}"),
        Some(&host),
        json!({"title": "back"}),
    )
    .await
    .expect(404);
}
