//! The booking engine over HTTP: lifecycle, payments through the dev
//! gateway, idempotency keys, hold expiry on the dev clock, passivation,
//! and storms that really race.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::both_stores;
use crate::support::{
    OVERLAPS, Options, TestApp, days, id, random_stays, spawn_sqlite, store_of, today,
};

both_stores!(
    instant_book_pay_cancel_and_rebook,
    request_to_book_accept_and_decline,
    booking_rules_and_visibility,
    storm_of_500_on_one_property_has_one_winner,
    one_idempotency_key_makes_one_booking,
    unpaid_holds_expire_on_the_clock,
    failed_and_late_payments_release_dates_and_money,
);

// Eight guests making 2,000 bookings: past the per-guest limits, as a load
// test would be.
both_stores!(storm:
    random_storm_accepts_only_non_overlapping_stays,
    nights_taken_behind_the_calendars_back_are_refused_in_shared_commits,
    a_booking_the_database_refuses_fails_alone_in_a_shared_commit,
);

async fn instant_book_pay_cancel_and_rebook(app: TestApp) {
    let (host, guest, property) = app
        .listing(json!({"instant_book": true, "cancellation_policy": "moderate"}))
        .await;

    let booking = app.booked(&guest.token, &property, 30..33).await;
    assert_eq!(booking["status"], "pending_payment");
    assert_eq!(booking["guest_id"], guest.id.as_str());
    // 3 × 100.50 + 25.00 + 12 % of 301.50 (36.18)
    assert_eq!(
        (
            booking["subtotal"].as_i64(),
            booking["service_fee"].as_i64(),
            booking["total"].as_i64()
        ),
        (Some(30_150), Some(3_618), Some(36_268))
    );
    assert_eq!(booking["payment"]["provider"], "dev");
    assert!(booking["payment"]["client_secret"].is_string());
    assert!(booking["expires_at"].is_string());
    assert_eq!(
        app.unavailable(&property, 0, 60).await,
        json!([{"start": days(30), "end": days(33)}])
    );

    // The host sees it without the client secret.
    let as_host = app.booking(&host.token, &booking).await;
    assert!(as_host["payment"]["client_secret"].is_null());

    let paid = app.dev_pay(&booking).await;
    assert_eq!(paid["booking"]["status"], "confirmed");
    let confirmed = app.booking(&guest.token, &booking).await;
    assert_eq!(confirmed["status"], "confirmed");
    assert!(confirmed["expires_at"].is_null());
    assert_eq!(confirmed["payment"]["status"], "succeeded");

    // Moderate, a month ahead: full refund, dates free at once.
    let cancelled = app.cancel(&guest.token, &booking).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["refund"],
        json!({"amount": 36_268, "currency": "EUR"})
    );
    assert_eq!(cancelled["payment"]["status"], "refunded");
    assert_eq!(app.unavailable(&property, 0, 60).await, json!([]));
    app.booking_action(&guest.token, &booking, "cancel")
        .await
        .expect(409);

    let again = app.booked(&guest.token, &property, 31..32).await;
    let listed = app
        .get("/api/v1/bookings?as=guest", Some(&guest.token))
        .await
        .expect(200)
        .clone();
    let ids: Vec<String> = listed["data"]
        .as_array()
        .map(|d| d.iter().map(id).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![id(&again), id(&booking)]);
    let hosting = app
        .get(
            "/api/v1/bookings?as=host&status=cancelled",
            Some(&host.token),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(hosting["data"].as_array().map(|d| d.len()), Some(1));
    let paged = app
        .get("/api/v1/bookings?limit=1", Some(&guest.token))
        .await
        .expect(200)
        .clone();
    let cursor = paged["next_cursor"].as_str().unwrap_or_default().to_owned();
    let second = app
        .get(
            &format!("/api/v1/bookings?limit=1&cursor={cursor}"),
            Some(&guest.token),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(id(&second["data"][0]), id(&booking));
    app.get("/api/v1/bookings?as=owner", Some(&guest.token))
        .await
        .expect(422);
    app.get("/api/v1/bookings?status=happy", Some(&guest.token))
        .await
        .expect(422);
    app.assert_ledger_clean().await;
}

async fn request_to_book_accept_and_decline(app: TestApp) {
    let (host, guest, property) = app.listing(json!({"instant_book": false})).await;

    let first = app.booked(&guest.token, &property, 10..12).await;
    let paid = app.dev_pay(&first).await;
    assert_eq!(paid["status"], "requires_capture");
    assert_eq!(paid["booking"]["status"], "awaiting_host");
    app.accept(&guest.token, &first).await.expect(403);
    let accepted = app.accept(&host.token, &first).await.expect(200).clone();
    assert_eq!(accepted["status"], "confirmed");
    assert_eq!(accepted["payment"]["status"], "succeeded");
    app.accept(&host.token, &first).await.expect(409);

    let second = app.booked(&guest.token, &property, 20..22).await;
    // Not paid yet: nothing to decide.
    app.decline(&host.token, &second).await.expect(409);
    app.dev_pay(&second).await;
    let declined = app.decline(&host.token, &second).await.expect(200).clone();
    assert_eq!(declined["status"], "declined");
    assert_eq!(
        app.unavailable(&property, 0, 30).await,
        json!([{"start": days(10), "end": days(12)}])
    );
    app.assert_ledger_clean().await;
}

async fn booking_rules_and_visibility(app: TestApp) {
    let (host, guest, property) = app
        .listing(json!({"max_guests": 2, "min_nights": 2, "max_nights": 10}))
        .await;
    let stranger = app.register("stranger").await;
    let (host, guest, stranger) = (host.token, guest.token, stranger.token);

    app.book(&host, &property, &days(5), &days(8))
        .await
        .expect(403);
    let unknown = uuid::Uuid::now_v7().to_string();
    app.book(&guest, &unknown, &days(5), &days(8))
        .await
        .expect(404);
    app.book(&guest, &property, &days(-2), &days(1))
        .await
        .expect(422);
    app.book(&guest, &property, &days(8), &days(5))
        .await
        .expect(422);
    app.book(&guest, &property, &days(5), &days(6))
        .await
        .expect(422); // under min_nights
    let crowd = app.post("/api/v1/bookings", Some(&guest), json!({"property_id": property, "check_in": days(5), "check_out": days(8), "guests": 3})).await;
    assert_eq!(crowd.expect(422)["errors"][0]["field"], "guests");
    app.post(
        "/api/v1/bookings",
        Some(&guest),
        json!({"property_id": property, "check_in": days(5)}),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/bookings",
        None,
        json!({"property_id": property, "check_in": days(5), "check_out": days(8), "guests": 1}),
    )
    .await
    .expect(401);

    let booking = app.booked(&guest, &property, 5..8).await;
    let clash = app.book(&stranger, &property, &days(7), &days(9)).await;
    assert_eq!(
        clash.expect(409)["type"],
        "https://innkeep.dev/problems/dates-unavailable"
    );
    app.book(&stranger, &property, &days(8), &days(10))
        .await
        .expect(201); // back to back
    app.book(&stranger, &property, &days(3), &days(5))
        .await
        .expect(201);

    // A block cannot cover a booking; unlisting with upcoming bookings is refused.
    app.block(&host, &property, 6..7).await.expect(409);
    app.delete(&format!("/api/v1/properties/{property}"), Some(&host))
        .await
        .expect(409);

    // Someone else's booking does not exist for them.
    app.get(
        &format!("/api/v1/bookings/{}", id(&booking)),
        Some(&stranger),
    )
    .await
    .expect(404);
    app.booking_action(&stranger, &booking, "cancel")
        .await
        .expect(404);
    app.get("/api/v1/bookings/not-a-uuid", Some(&guest))
        .await
        .expect(404);
}

async fn storm_of_500_on_one_property_has_one_winner(app: TestApp) {
    let host = app.register("host").await;
    let property = app.list_property(&host, json!({})).await;
    let guests = app
        .register_all((0..10).map(|i| if i % 2 == 0 { "even" } else { "odd" }))
        .await;
    let (check_in, check_out) = (days(40), days(43));
    let storm =
        (0..500).map(|i| app.book(&guests[i % guests.len()], &property, &check_in, &check_out));
    let results = join_all(storm).await;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for r in &results {
        *by_status.entry(r.status.as_u16()).or_default() += 1;
        if r.status == 409 {
            assert_eq!(
                r.body["type"],
                "https://innkeep.dev/problems/dates-unavailable"
            );
        }
    }
    assert_eq!(
        by_status,
        BTreeMap::from([(201, 1), (409, 499)]),
        "{by_status:?}"
    );
    assert_eq!(
        app.unavailable(&property, 0, 60).await,
        json!([{"start": check_in, "end": check_out}])
    );
    app.assert_ledger_clean().await;
}

async fn random_storm_accepts_only_non_overlapping_stays(app: TestApp) {
    let host = app.register("host").await;
    let properties = app
        .list_properties(&host, 20, json!({"max_nights": 30}))
        .await;
    let guests = app.register_all(["storm"; 8]).await;
    let requests = random_stays(2_000, properties.len(), 1..120, 1..8);
    let results: Vec<(usize, i64, i64, u16)> =
        futures_util::stream::iter(requests.iter().enumerate())
            .map(|(n, &(p, a, b))| {
                let (app, properties, guests) = (&app, &properties, &guests);
                async move {
                    let res = app
                        .book(
                            &guests[n % guests.len()],
                            &properties[p],
                            &days(a),
                            &days(b),
                        )
                        .await;
                    (p, a, b, res.status.as_u16())
                }
            })
            .buffer_unordered(200)
            .collect()
            .await;
    assert!(
        results.iter().all(|r| r.3 == 201 || r.3 == 409),
        "unexpected statuses"
    );
    let mut accepted: HashMap<usize, Vec<(i64, i64)>> = HashMap::new();
    for &(p, a, b, status) in &results {
        if status == 201 {
            accepted.entry(p).or_default().push((a, b));
        }
    }
    let overlaps = |x: (i64, i64), y: (i64, i64)| x.0 < y.1 && y.0 < x.1;
    for stays in accepted.values() {
        for (i, x) in stays.iter().enumerate() {
            for y in &stays[i + 1..] {
                assert!(!overlaps(*x, *y), "double booking: {x:?} and {y:?}");
            }
        }
    }
    for &(p, a, b, status) in &results {
        if status == 409 {
            let stays = accepted.get(&p).cloned().unwrap_or_default();
            assert!(
                stays.iter().any(|s| overlaps(*s, (a, b))),
                "rejected ({a}, {b}) overlaps nothing accepted"
            );
        }
    }
    // What the calendars say is exactly what was accepted.
    for (p, stays) in &accepted {
        let mut ranges: Vec<(i64, i64)> = stays.clone();
        ranges.sort();
        let nights: usize = ranges.iter().map(|(a, b)| (b - a) as usize).sum();
        let shown = app.unavailable(&properties[*p], 0, 200).await;
        let shown_nights: i64 = shown
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|x| {
                        let s: chrono::NaiveDate = x["start"]
                            .as_str()
                            .unwrap_or_default()
                            .parse()
                            .unwrap_or_default();
                        let e: chrono::NaiveDate = x["end"]
                            .as_str()
                            .unwrap_or_default()
                            .parse()
                            .unwrap_or_default();
                        (e - s).num_days()
                    })
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(shown_nights as usize, nights);
    }
}

async fn one_idempotency_key_makes_one_booking(app: TestApp) {
    let (_, guest, property) = app.listing(json!({})).await;
    let body =
        json!({"property_id": property, "check_in": days(10), "check_out": days(12), "guests": 1});
    // POST /bookings with an Idempotency-Key.
    let send = |key: &'static str, b: &Value| {
        let sent = app
            .client
            .post(app.url("/api/v1/bookings"))
            .bearer_auth(&guest.token)
            .header("Idempotency-Key", key)
            .json(b)
            .send();
        async move { TestApp::read(sent.await.unwrap_or_else(|e| panic!("{e}"))).await }
    };
    let results = join_all((0..50).map(|_| send("order-42", &body))).await;
    let mut ids = HashSet::new();
    let mut replayed = 0;
    for r in results {
        assert_eq!(r.status, 201, "{}", r.text);
        replayed += usize::from(r.headers.contains_key("idempotent-replayed"));
        ids.insert(id(&r.body));
    }
    assert_eq!(ids.len(), 1, "one booking for one key");
    assert_eq!(replayed, 49);
    let mine = app
        .get("/api/v1/bookings", Some(&guest.token))
        .await
        .expect(200)
        .clone();
    assert_eq!(mine["data"].as_array().map(|d| d.len()), Some(1));

    // Same key, other body: refused. Other key, same dates: a real second attempt.
    let other =
        json!({"property_id": property, "check_in": days(20), "check_out": days(22), "guests": 1});
    let reuse = send("order-42", &other).await;
    assert_eq!(reuse.expect(422)["errors"][0]["field"], "Idempotency-Key");
    send("order-43", &body).await.expect(409);
    // A refusal is replayed too.
    let again = send("order-43", &body).await;
    again.expect(409);
    assert!(again.headers.contains_key("idempotent-replayed"));
    app.assert_ledger_clean().await;
}

async fn unpaid_holds_expire_on_the_clock(app: TestApp) {
    let (_, mut guest, property) = app.listing(json!({})).await;
    let booking = app.booked(&guest.token, &property, 50..52).await;
    let paid_in_time = app.paid_booking(&guest.token, &property, 60..62).await;

    app.set_clock(chrono::Utc::now() + chrono::Duration::minutes(16))
        .await;
    // The access token (15 min) lapsed with the jump: sign in again.
    app.sign_in_again(&mut guest).await;
    app.wait_for_status(&guest.token, &booking, "expired").await;
    // The intent is released by the outbox right after the expiry commits.
    app.wait_for_payment_status(&guest.token, &booking, "canceled")
        .await;
    assert_eq!(
        app.unavailable(&property, 0, 90).await,
        json!([{"start": days(60), "end": days(62)}])
    );
    app.booked(&guest.token, &property, 50..52).await;
    let kept = app.booking(&guest.token, &paid_in_time).await;
    assert_eq!(kept["status"], "confirmed");
    app.assert_ledger_clean().await;
}

async fn failed_and_late_payments_release_dates_and_money(app: TestApp) {
    let (_, guest, property) = app.listing(json!({})).await;
    let failing = app.booked(&guest.token, &property, 10..12).await;
    let failed = app.dev_intent(&failing, "fail").await.expect(200).clone();
    assert_eq!(failed["booking"]["status"], "payment_failed");
    assert_eq!(app.unavailable(&property, 0, 30).await, json!([]));

    // The guest cancels the hold; the card cannot be charged afterwards.
    let late = app.booked(&guest.token, &property, 10..12).await;
    let cancelled = app.cancel(&guest.token, &late).await;
    assert_eq!(cancelled["payment"]["status"], "canceled");
    assert!(
        cancelled["refund"].is_null(),
        "nothing was charged, nothing to refund"
    );
    app.dev_intent(&late, "succeed").await.expect(409);
    let after = app.booking(&guest.token, &late).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(app.unavailable(&property, 0, 30).await, json!([]));
    app.assert_ledger_clean().await;
}

#[actix_web::test]
async fn idle_calendars_passivate_and_come_back_with_their_state() {
    let app = spawn_sqlite(Options {
        calendar_idle_secs: 1,
        ..Options::default()
    })
    .await;
    let (_, guest, property) = app.listing(json!({})).await;
    app.booked(&guest.token, &property, 5..7).await;
    assert_eq!(app.live_calendars().await, Some(1));
    assert!(
        app.all_calendars_passivated().await,
        "the idle calendar was not passivated"
    );
    // A fresh actor reloads the calendar: the nights are still taken.
    app.book(&guest.token, &property, &days(6), &days(8))
        .await
        .expect(409);
    assert_eq!(app.live_calendars().await, Some(1));
}

/// The store is the last guard: nights another writer took behind the
/// calendars' backs (a second process; here plain SQL) are
/// refused when a calendar, not knowing, accepts them, and only those,
/// though all the bookings are committed at once (shared transactions,
/// their rows in multi-row statements).
async fn nights_taken_behind_the_calendars_back_are_refused_in_shared_commits(app: TestApp) {
    let host = app.register("host").await;
    let properties = app.list_properties(&host, 16, json!({})).await;
    let guests = app.register_all(["shared"; 8]).await;
    let guest = |i: usize| guests[i % guests.len()].as_str();
    // Every calendar wakes and loads what the store holds now.
    for (i, property) in properties.iter().enumerate() {
        app.book(guest(i), property, &days(60), &days(61))
            .await
            .expect(201);
    }
    // Another writer blocks nights 10–13 of every other property, in plain
    // SQL: no store announces it (on PostgreSQL a store's NOTIFY would make
    // the calendars reload and refuse these nights themselves).
    let postgres = app.database_url.starts_with("postgres");
    let day = |n: i64| (today() + chrono::Duration::days(n)).to_string();
    for property in properties.iter().step_by(2) {
        let property_id = uuid::Uuid::parse_str(property).unwrap_or_else(|e| panic!("{e}"));
        let id = |id: uuid::Uuid| {
            if postgres {
                format!("'{id}'")
            } else {
                format!("X'{}'", id.simple())
            }
        };
        let block = format!(
            "INSERT INTO calendar_entries (id, property_id, start_date, end_date, kind, active, reason, created_at) \
             VALUES ({}, {}, '{}', '{}', 'block', TRUE, 'elsewhere', '{}')",
            id(uuid::Uuid::now_v7()),
            id(property_id),
            day(10),
            day(13),
            chrono::Utc::now().to_rfc3339(),
        );
        app.sql(&block)
            .await
            .unwrap_or_else(|e| panic!("{block}: {e}"));
    }
    let other = store_of(&app).await;
    // Nothing to commit commits nothing.
    let none = other
        .apply_calendars(&[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.is_empty(), "{none:?}");
    // One night inside them on every property, all at once.
    let (check_in, check_out) = (days(11), days(12));
    let answers = join_all(
        properties
            .iter()
            .enumerate()
            .map(|(i, property)| app.book(guest(i), property, &check_in, &check_out)),
    )
    .await;
    for (i, answer) in answers.iter().enumerate() {
        let expected = if i % 2 == 0 { 409 } else { 201 };
        assert_eq!(
            answer.status.as_u16(),
            expected,
            "property {i}: {}",
            answer.body
        );
    }
    // The store agrees: the first stays, one more on each free property,
    // and a payment record for each of them only.
    assert_eq!(app.count("SELECT COUNT(*) FROM bookings").await, 16 + 8);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM dev_payment_intents i JOIN bookings b ON b.id = i.booking_id"
        )
        .await,
        16 + 8
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM dev_payment_intents").await,
        16 + 8
    );
    assert_eq!(app.count(OVERLAPS).await, 0);
}

/// A booking the database itself refuses (here a trigger, standing for a
/// constraint nothing foresaw) fails alone: the shared transaction it was in
/// is split, the other properties' bookings commit, the refused nights stay
/// free, and the store is usable right after.
async fn a_booking_the_database_refuses_fails_alone_in_a_shared_commit(app: TestApp) {
    let host = app.register("host").await;
    let properties = app.list_properties(&host, 16, json!({})).await;
    let guests = app.register_all(["shared"; 8]).await;
    let refused = app.register("refused").await;
    let refused_id = uuid::Uuid::parse_str(&refused.id).unwrap_or_else(|e| panic!("{e}"));
    // Every calendar wakes first.
    for (i, property) in properties.iter().enumerate() {
        app.book(&guests[i % guests.len()], property, &days(60), &days(61))
            .await
            .expect(201);
    }
    let triggers: Vec<String> = if app.database_url.starts_with("postgres") {
        vec![
            format!(
                "CREATE FUNCTION refuse_guest() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.guest_id = '{refused_id}' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
                 RETURN NEW; END $$"
            ),
            "CREATE TRIGGER refuse_guest BEFORE INSERT ON bookings FOR EACH ROW \
             EXECUTE FUNCTION refuse_guest()"
                .into(),
        ]
    } else {
        vec![format!(
            "CREATE TRIGGER refuse_guest BEFORE INSERT ON bookings WHEN NEW.guest_id = X'{}' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            refused_id.simple()
        )]
    };
    for sql in &triggers {
        app.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let split = |metrics: &str| -> i64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("innkeep_calendar_commits{count=\"split\"} "))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no split count in {metrics}"))
    };
    let split_before = split(&app.get("/metrics", None).await.text);
    // One night on every property at once; every fourth by the refused
    // guest. Again on later nights until a refused booking has shared a
    // transaction with others (with several committers on PostgreSQL, one
    // round may give each its own).
    let by_refused = |i: usize| i.is_multiple_of(4);
    let mut rounds = 0;
    for round in 0..8 {
        rounds += 1;
        let (check_in, check_out) = (days(20 + 2 * round), days(21 + 2 * round));
        let answers = join_all(properties.iter().enumerate().map(|(i, property)| {
            let token = if by_refused(i) {
                refused.token.as_str()
            } else {
                guests[i % guests.len()].as_str()
            };
            app.book(token, property, &check_in, &check_out)
        }))
        .await;
        for (i, answer) in answers.iter().enumerate() {
            let status = answer.status.as_u16();
            if by_refused(i) {
                assert!(status >= 500, "property {i}: {status} {}", answer.body);
            } else {
                assert_eq!(status, 201, "property {i}: {}", answer.body);
            }
        }
        if split(&app.get("/metrics", None).await.text) > split_before {
            break;
        }
    }
    assert!(
        split(&app.get("/metrics", None).await.text) > split_before,
        "no shared transaction was split in {rounds} rounds: the refused bookings never shared one"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM bookings").await,
        16 + 12 * rounds
    );
    assert_eq!(app.count(OVERLAPS).await, 0);
    // The refused nights are free, and the store takes the next booking.
    let drop = if app.database_url.starts_with("postgres") {
        "DROP TRIGGER refuse_guest ON bookings"
    } else {
        "DROP TRIGGER refuse_guest"
    };
    app.sql(drop).await.unwrap_or_else(|e| panic!("{e}"));
    for (i, property) in properties
        .iter()
        .enumerate()
        .filter(|(i, _)| by_refused(*i))
    {
        app.book(&refused.token, property, &days(20), &days(21))
            .await
            .expect(201);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM bookings WHERE guest_id = {}",
                if app.database_url.starts_with("postgres") {
                    format!("'{refused_id}'")
                } else {
                    format!("X'{}'", refused_id.simple())
                }
            ))
            .await,
            i64::try_from(i / 4 + 1).unwrap_or(i64::MAX),
        );
    }
}
