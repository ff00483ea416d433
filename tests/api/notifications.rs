//! Notifications: each booking change tells its guest and host, once, in
//! the change's own transaction; the list is the caller's own, newest
//! first, paged, with an unread filter; marking read takes ids (others'
//! ignored) or all, and refuses neither, both, or too many.

use std::time::Duration;

use serde_json::{Value, json};

use crate::both_stores;
use crate::support::{TestApp, User, eventually, id};

both_stores!(
    a_booking_tells_its_guest_and_host_once_each,
    a_stay_brings_its_reminder_payout_and_review_requests,
    notifications_page_filter_and_are_marked_read,
    marking_read_refuses_bad_requests,
    graphql_reads_and_marks_the_same_notifications,
);

async fn notifications(app: &TestApp, user: &User, query: &str) -> Value {
    app.get(
        &format!("/api/v1/users/me/notifications{query}"),
        Some(&user.token),
    )
    .await
    .expect(200)
    .clone()
}

fn kinds(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|n| n["kind"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn a_booking_tells_its_guest_and_host_once_each(app: TestApp) {
    let (host, guest, property) = app.listing(json!({"instant_book": true})).await;
    let booking = app.booked(&guest.token, &property, 10..13).await;
    // A hold tells nobody yet.
    assert!(kinds(&notifications(&app, &guest, "").await).is_empty());
    // Paid: both hear of it, and the same event again tells no one twice.
    app.dev_intent(&booking, "succeed").await.expect(200);
    app.dev_intent(&booking, "succeed").await;
    let guest_page = notifications(&app, &guest, "").await;
    assert_eq!(kinds(&guest_page), ["booking_confirmed"]);
    let confirmed = &guest_page["data"][0];
    assert_eq!(confirmed["booking_id"], booking["id"]);
    assert!(confirmed["read_at"].is_null());
    assert!(
        confirmed["body"]
            .as_str()
            .unwrap_or("")
            .contains(booking["check_in"].as_str().unwrap_or("?")),
        "{confirmed}"
    );
    assert_eq!(
        kinds(&notifications(&app, &host, "").await),
        ["booking_confirmed"]
    );
    // The guest cancels: both hear it, the guest with the refund.
    let cancelled = app
        .booking_action(&guest.token, &booking, "cancel")
        .await
        .expect(200)
        .clone();
    let refund = cancelled["refund"]["amount"].as_i64().unwrap_or(0);
    assert!(
        refund > 0,
        "a flexible stay ten days ahead is refunded: {cancelled}"
    );
    // The refund is sent by the outbox, and told when it is.
    let told = eventually(50, Duration::from_millis(100), async || {
        kinds(&notifications(&app, &guest, "").await)
            .first()
            .map(String::as_str)
            == Some("refund_sent")
    })
    .await;
    assert!(told, "no refund_sent");
    let guest_page = notifications(&app, &guest, "").await;
    assert_eq!(
        kinds(&guest_page),
        ["refund_sent", "booking_cancelled", "booking_confirmed"]
    );
    assert!(
        guest_page["data"][1]["body"]
            .as_str()
            .unwrap_or("")
            .contains("refund"),
        "{guest_page}"
    );
    assert_eq!(
        kinds(&notifications(&app, &host, "").await),
        ["booking_cancelled", "booking_confirmed"]
    );
    // A request to book tells the host; declining tells the guest.
    let (host2, guest2, request_only) = app.listing(json!({"instant_book": false})).await;
    let request = app.booked(&guest2.token, &request_only, 20..22).await;
    app.dev_intent(&request, "succeed").await.expect(200);
    assert_eq!(
        kinds(&notifications(&app, &host2, "").await),
        ["booking_requested"]
    );
    app.booking_action(&host2.token, &request, "decline")
        .await
        .expect(200);
    assert_eq!(
        kinds(&notifications(&app, &guest2, "").await),
        ["booking_declined"]
    );
    // A failed payment tells the guest.
    let failing = app.booked(&guest.token, &property, 30..31).await;
    app.dev_intent(&failing, "fail").await.expect(200);
    assert_eq!(
        kinds(&notifications(&app, &guest, "").await)[0],
        "payment_failed"
    );
    // Nobody hears of others' bookings.
    let stranger = app.register("stranger").await;
    assert!(kinds(&notifications(&app, &stranger, "").await).is_empty());
    // Signed out: 401.
    app.get("/api/v1/users/me/notifications", None)
        .await
        .expect(401);
}

async fn notifications_page_filter_and_are_marked_read(app: TestApp) {
    let (host, guest, property) = app.listing(json!({"instant_book": true})).await;
    // Five paid stays: five confirmations each.
    for n in 0..5 {
        let booking = app
            .booked(&guest.token, &property, (10 + 3 * n)..(12 + 3 * n))
            .await;
        app.dev_intent(&booking, "succeed").await.expect(200);
    }
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = notifications(&app, &host, &query).await;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(id));
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    let mut newest_first = seen.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(seen, newest_first, "not newest first");
    // Two read by id (and one id of someone else's, ignored).
    let guests_own = id(&notifications(&app, &guest, "").await["data"][0]);
    app.post(
        "/api/v1/users/me/notifications/read",
        Some(&host.token),
        json!({"ids": [seen[0], seen[1], guests_own]}),
    )
    .await
    .expect(204);
    let unread = notifications(&app, &host, "?unread=true").await;
    let unread_ids: Vec<String> = unread["data"]
        .as_array()
        .map(|d| d.iter().map(id).collect())
        .unwrap_or_default();
    assert_eq!(unread_ids, seen[2..].to_vec());
    let all = notifications(&app, &host, "").await;
    assert!(!all["data"][0]["read_at"].is_null());
    assert_eq!(
        notifications(&app, &guest, "?unread=true").await["data"]
            .as_array()
            .map(Vec::len),
        Some(5),
        "the host marked the guest's notification read"
    );
    // Then all of them.
    app.post(
        "/api/v1/users/me/notifications/read",
        Some(&host.token),
        json!({"all": true}),
    )
    .await
    .expect(204);
    assert_eq!(
        notifications(&app, &host, "?unread=true").await["data"],
        json!([])
    );
}

async fn marking_read_refuses_bad_requests(app: TestApp) {
    let user = app.register("reader").await;
    let read = |body: Value| {
        let token = user.token.clone();
        let app = &app;
        async move {
            app.post("/api/v1/users/me/notifications/read", Some(&token), body)
                .await
        }
    };
    read(json!({})).await.expect(422);
    read(json!({"ids": [], "all": true})).await.expect(422);
    read(json!({"ids": ["not-a-uuid"]})).await.expect(422);
    let many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    read(json!({ "ids": many })).await.expect(422);
    read(json!({"all": true, "extra": 1})).await.expect(422);
    read(json!({"ids": []})).await.expect(204);
    app.get(
        "/api/v1/users/me/notifications?cursor=nope",
        Some(&user.token),
    )
    .await
    .expect(422);
    app.get(
        "/api/v1/users/me/notifications?limit=1000",
        Some(&user.token),
    )
    .await
    .expect(422);
    app.get(
        "/api/v1/users/me/notifications?unread=maybe",
        Some(&user.token),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/users/me/notifications/read",
        None,
        json!({"all": true}),
    )
    .await
    .expect(401);
}

async fn a_stay_brings_its_reminder_payout_and_review_requests(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({"instant_book": true})).await;
    // Checking in tomorrow: the sweep reminds the guest, once.
    let booking = app.booked(&guest.token, &property, 1..3).await;
    app.dev_intent(&booking, "succeed").await.expect(200);
    let reminded = eventually(50, Duration::from_millis(100), async || {
        kinds(&notifications(&app, &guest, "").await).contains(&"checkin_reminder".to_owned())
    })
    .await;
    assert!(reminded, "no check-in reminder");
    // Four days on: the host is paid (24 h after check-in) and the stay is
    // over, so both are asked for a review.
    app.set_clock(chrono::Utc::now() + chrono::Duration::days(4))
        .await;
    app.sign_in_again(&mut guest).await;
    app.sign_in_again(&mut host).await;
    let done = eventually(100, Duration::from_millis(100), async || {
        let told = kinds(&notifications(&app, &host, "").await);
        told.contains(&"payout_sent".to_owned()) && told.contains(&"review_request".to_owned())
    })
    .await;
    assert!(done, "{}", notifications(&app, &host, "").await);
    let mut host_kinds = kinds(&notifications(&app, &host, "").await);
    host_kinds.sort_unstable();
    assert_eq!(
        host_kinds,
        ["booking_confirmed", "payout_sent", "review_request"]
    );
    let mut guest_kinds = kinds(&notifications(&app, &guest, "").await);
    guest_kinds.sort_unstable();
    assert_eq!(
        guest_kinds,
        ["booking_confirmed", "checkin_reminder", "review_request"]
    );
}

async fn graphql_reads_and_marks_the_same_notifications(app: TestApp) {
    let (_host, guest, property) = app.listing(json!({"instant_book": true})).await;
    let booking = app.booked(&guest.token, &property, 10..12).await;
    app.dev_intent(&booking, "succeed").await.expect(200);
    let query = "query($unread: Boolean) { notifications(unread: $unread, first: 10) { \
                 edges { cursor node { id kind bookingId title readAt } } pageInfo { hasNextPage } } }";
    let data = app
        .gql_data(Some(&guest.token), query, json!({"unread": true}))
        .await;
    let edges = data["notifications"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 1, "{data}");
    let node = &edges[0]["node"];
    assert_eq!(node["kind"], "booking_confirmed");
    assert_eq!(node["bookingId"], booking["id"]);
    assert!(node["readAt"].is_null());
    // REST sees the very same notification.
    let rest = notifications(&app, &guest, "").await;
    assert_eq!(rest["data"][0]["id"], node["id"]);
    // Bad input is BAD_USER_INPUT, as REST's 422.
    let res = app
        .gql(
            Some(&guest.token),
            "mutation { markNotificationsRead }",
            json!({}),
        )
        .await;
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{}",
        res.text
    );
    let marked = app
        .gql_data(
            Some(&guest.token),
            "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }",
            json!({"ids": [node["id"]]}),
        )
        .await;
    assert_eq!(marked["markNotificationsRead"], 1);
    let after = app
        .gql_data(Some(&guest.token), query, json!({"unread": true}))
        .await;
    assert_eq!(after["notifications"]["edges"], json!([]));
    // Signed out: UNAUTHENTICATED.
    let res = app.gql(None, query, json!({})).await;
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{}",
        res.text
    );
}
