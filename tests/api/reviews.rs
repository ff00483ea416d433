//! Reviews: who may write one and when, one per side, the host's single
//! answer, the lists, and a property's rating, exact under concurrent
//! reviews and never served stale.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::both_stores;
use crate::support::{TestApp, day_at, id};

both_stores!(
    guests_review_stays_and_hosts_review_guests_once_in_the_window,
    the_host_answers_a_guests_review_once,
    reviews_are_listed_newest_first_with_authors_and_answers,
    double_submits_make_one_review,
    concurrent_reviews_give_the_exact_average,
);

fn review(rating: i64, comment: &str) -> Value {
    json!({"rating": rating, "comment": comment})
}

fn reviews_of(booking: &Value) -> String {
    format!("/api/v1/bookings/{}/reviews", id(booking))
}

async fn guests_review_stays_and_hosts_review_guests_once_in_the_window(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({})).await;
    let mut stranger = app.register("stranger").await;
    // Paid but not yet stayed: too early.
    let upcoming = app.paid_booking(&guest.token, &property, 40..42).await;
    app.post(
        &reviews_of(&upcoming),
        Some(&guest.token),
        review(5, "early"),
    )
    .await
    .expect(409);
    let before = app
        .get(&format!("/api/v1/properties/{property}"), None)
        .await;
    assert_eq!(before.expect(200)["review_count"], 0); // cached now
    assert_eq!(before.body["rating_avg"], Value::Null);
    let stay = app
        .completed_stay(&mut guest, &mut [&mut host, &mut stranger], &property, 3..5)
        .await;
    // Anyone else: 404, as for the booking itself.
    app.post(
        &reviews_of(&stay),
        Some(&stranger.token),
        review(1, "spite"),
    )
    .await
    .expect(404);
    // Bad ratings and comments: 422, naming the field.
    for (bad, field) in [
        (json!({"rating": 0, "comment": "x"}), "rating"),
        (json!({"rating": 6, "comment": "x"}), "rating"),
        (json!({"rating": 4.5, "comment": "x"}), "rating"),
        (json!({"rating": "5", "comment": "x"}), "rating"),
        (
            json!({"rating": 5, "comment": "x".repeat(2_001)}),
            "comment",
        ),
    ] {
        let res = app.post(&reviews_of(&stay), Some(&guest.token), bad).await;
        assert_eq!(res.expect(422)["errors"][0]["field"], field);
    }
    let written = app
        .post(
            &reviews_of(&stay),
            Some(&guest.token),
            review(4, "Quiet and bright"),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(written["about"], "stay");
    assert_eq!(written["rating"], 4);
    assert_eq!(written["author_name"], "guest");
    assert_eq!(written["response"], Value::Null);
    // Once per side.
    app.post(&reviews_of(&stay), Some(&guest.token), review(5, "again"))
        .await
        .expect(409);
    let about_guest = app
        .post(
            &reviews_of(&stay),
            Some(&host.token),
            review(5, "A model guest"),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(about_guest["about"], "guest");
    // The property's rating moved, and the cached copy with it.
    let after = app
        .get(&format!("/api/v1/properties/{property}"), None)
        .await;
    assert_eq!(after.expect(200)["review_count"], 1);
    assert_eq!(after.body["rating_avg"], 4.0);
    // Fourteen days after check-out the window is closed.
    let late = app.paid_booking(&guest.token, &property, 10..11).await;
    app.set_clock(day_at(11 + 14, 12)).await; // check-out day 11
    app.sign_in_again(&mut guest).await;
    app.wait_for_status(&guest.token, &late, "completed").await;
    app.post(&reviews_of(&late), Some(&guest.token), review(3, "late"))
        .await
        .expect(409);
}

async fn the_host_answers_a_guests_review_once(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({})).await;
    let stay = app
        .completed_stay(&mut guest, &mut [&mut host], &property, 2..4)
        .await;
    let theirs = app
        .post(&reviews_of(&stay), Some(&guest.token), review(2, "Noisy"))
        .await
        .expect(201)
        .clone();
    let ours = app
        .post(&reviews_of(&stay), Some(&host.token), review(3, "Fine"))
        .await
        .expect(201)
        .clone();
    let answer = |review: &Value| format!("/api/v1/reviews/{}/response", id(review));
    // The guest cannot answer, and nobody answers a host's review.
    app.post(
        &answer(&theirs),
        Some(&guest.token),
        json!({"comment": "me"}),
    )
    .await
    .expect(404);
    app.post(&answer(&ours), Some(&host.token), json!({"comment": "me"}))
        .await
        .expect(404);
    let answered = app
        .post(
            &answer(&theirs),
            Some(&host.token),
            json!({"comment": "We fixed the window."}),
        )
        .await
        .expect(201)
        .clone();
    assert_eq!(answered["response"]["comment"], "We fixed the window.");
    app.post(
        &answer(&theirs),
        Some(&host.token),
        json!({"comment": "again"}),
    )
    .await
    .expect(409);
}

async fn reviews_are_listed_newest_first_with_authors_and_answers(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({})).await;
    let stays = app
        .completed_stays(&mut guest, &mut [&mut host], &property, &[2..3, 4..5, 6..7])
        .await;
    let mut written = Vec::new();
    for (n, stay) in stays.iter().enumerate() {
        let comment = format!("stay {n}");
        let res = app
            .post(&reviews_of(stay), Some(&guest.token), review(5, &comment))
            .await;
        written.push(res.expect(201).clone());
        app.post(
            &reviews_of(stay),
            Some(&host.token),
            review(4, &format!("guest {n}")),
        )
        .await
        .expect(201);
    }
    let path = format!("/api/v1/properties/{property}/reviews?limit=2");
    let first = app.get(&path, None).await.expect(200).clone();
    let comments: Vec<_> = first["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["comment"].clone())
        .collect();
    assert_eq!(comments, [json!("stay 2"), json!("stay 1")]);
    assert_eq!(first["data"][0]["author_name"], "guest");
    let cursor = first["next_cursor"].as_str().unwrap_or_default();
    let second = app
        .get(&format!("{path}&cursor={cursor}"), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(second["data"][0]["comment"], "stay 0");
    assert_eq!(second["next_cursor"], Value::Null);
    // What hosts wrote about the guest: the history a host reads.
    let guest_id = guest.id.clone();
    let history = app
        .get(
            &format!("/api/v1/users/{guest_id}/reviews"),
            Some(&host.token),
        )
        .await
        .expect(200)
        .clone();
    let about: Vec<_> = history["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["comment"].clone())
        .collect();
    assert_eq!(
        about,
        [json!("guest 2"), json!("guest 1"), json!("guest 0")]
    );
    app.get(&format!("/api/v1/users/{guest_id}/reviews"), None)
        .await
        .expect(401);
    // Sorted by rating in search.
    let search = app
        .get("/api/v1/properties?sort=rating", None)
        .await
        .expect(200)
        .clone();
    assert_eq!(search["data"][0]["id"], json!(property));
    assert_eq!(search["data"][0]["rating_avg"], 5.0);
}

async fn double_submits_make_one_review(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({})).await;
    let stay = app
        .completed_stay(&mut guest, &mut [&mut host], &property, 2..4)
        .await;
    let path = reviews_of(&stay);
    let attempts = (0..10).map(|_| app.post(&path, Some(&guest.token), review(5, "twice?")));
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        9,
        "{statuses:?}"
    );
    let property_now = app
        .get(&format!("/api/v1/properties/{property}"), None)
        .await;
    assert_eq!(property_now.expect(200)["review_count"], 1);
}

async fn concurrent_reviews_give_the_exact_average(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({})).await;
    // Thirteen one-night stays all checked out inside the 14-day window.
    let nights: Vec<_> = (0..13).map(|n| (2 + n)..(3 + n)).collect();
    let stays = app
        .completed_stays(&mut guest, &mut [&mut host], &property, &nights)
        .await;
    let ratings: Vec<i64> = (0..13).map(|n| 1 + (n * n % 5)).collect();
    let paths: Vec<String> = stays.iter().map(reviews_of).collect();
    // The guest's reviews and the host's (which must not move the
    // property's rating) all at once.
    let by_guest = paths
        .iter()
        .zip(&ratings)
        .map(|(path, rating)| app.post(path, Some(&guest.token), review(*rating, "ok")));
    let by_host = paths
        .iter()
        .map(|path| app.post(path, Some(&host.token), review(1, "meh")));
    let (guests, hosts) = futures_util::join!(join_all(by_guest), join_all(by_host));
    for res in guests.iter().chain(&hosts) {
        res.expect(201);
    }
    let sum: i64 = ratings.iter().sum();
    let exact = (sum as f64 / 13.0 * 100.0).round() / 100.0;
    let now = app
        .get(&format!("/api/v1/properties/{property}"), None)
        .await;
    assert_eq!(now.expect(200)["review_count"], 13);
    assert_eq!(now.body["rating_avg"], exact);
    assert_eq!(
        app.count("SELECT CAST(SUM(rating) AS BIGINT) FROM reviews WHERE about = 'stay'")
            .await,
        sum
    );
}
