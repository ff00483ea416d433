//! GraphQL over the same service layer: the same story leaves the same
//! state as REST, the booking storm has one winner, nested fields are
//! batched, subscriptions push changes, and abusive documents are refused
//! quickly without hurting the server. The protocols' own rules
//! (GraphQL over HTTP's media types and statuses, graphql-transport-ws's
//! closes) are checked on SQLite only: no store is involved.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

use crate::both_stores;
use crate::support::{Options, TestApp, days, id, intent, spawn_sqlite};

both_stores!(
    the_same_story_through_rest_and_graphql_leaves_the_same_state,
    the_createbooking_storm_has_one_booking_and_no_errors,
    errors_carry_codes_and_privacy_is_the_same,
    idempotency_keys_mean_the_same_on_both_apis,
    a_page_of_hosts_costs_the_same_store_calls_whatever_its_size,
    abusive_documents_are_refused_quickly,
    subscribers_see_bookings_and_payments_as_they_happen,
    the_schema_and_an_offline_graphiql_are_served,
    reviews_are_written_and_read_through_graphql,
    a_kept_property_answer_follows_every_change,
    register_and_login_show_the_new_user_their_own_email,
);

/// The GraphQL-over-HTTP media types.
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

const CREATE_PROPERTY: &str = "mutation($input: PropertyInput!) {
    createProperty(input: $input) { id title host { name } } }";

const CREATE_BOOKING: &str = "mutation($input: CreateBookingInput!, $key: String) {
    createBooking(input: $input, idempotencyKey: $key) {
        __typename
        ... on Booking { id status total payment { paymentIntentId status } }
        ... on DatesUnavailable { message }
        ... on ValidationFailed { errors { field message } }
    } }";

fn property_input() -> Value {
    json!({"title": "Sunny loft", "city": "Lisbon", "country": "Portugal",
           "pricePerNight": 10050, "currency": "EUR", "cleaningFee": 2500, "maxGuests": 4,
           "cancellationPolicy": "moderate", "instantBook": true})
}

fn stay(property: &str, from: i64, to: i64) -> Value {
    json!({"propertyId": property, "checkIn": days(from), "checkOut": days(to), "guests": 1})
}

/// The fields of a booking both APIs show, from REST's JSON.
fn rest_shape(b: &Value) -> Value {
    json!({"status": b["status"], "total": b["total"], "refund": b["refund"]["amount"],
           "payment": b["payment"]["status"]})
}

async fn the_same_story_through_rest_and_graphql_leaves_the_same_state(app: TestApp) {
    // REST.
    let rest_host = app.register("rest-host").await;
    let rest_guest = app.register("rest-guest").await;
    let rest_property = app
        .list_property(&rest_host, json!({"cancellation_policy": "moderate"}))
        .await;
    let booked = app.booked(&rest_guest.token, &rest_property, 10..13).await;
    app.dev_pay(&booked).await;
    let rest_cancelled = app.cancel(&rest_guest.token, &booked).await;

    // GraphQL, from registration on.
    let register = "mutation($input: RegisterInput!) {
        register(input: $input) { accessToken user { id email } } }";
    let gql_user = |name: &str| {
        json!({"input": {"email": format!("{name}-{}@example.com", uuid::Uuid::now_v7().simple()),
                         "password": "correct horse battery", "name": name}})
    };
    let host = app.gql_data(None, register, gql_user("gql-host")).await;
    let host = host["register"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let guest = app.gql_data(None, register, gql_user("gql-guest")).await;
    let guest = guest["register"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let created = app
        .gql_data(
            Some(&host),
            CREATE_PROPERTY,
            json!({"input": property_input()}),
        )
        .await;
    let property = created["createProperty"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(created["createProperty"]["host"]["name"], "gql-host");
    let booking = app
        .gql_data(
            Some(&guest),
            CREATE_BOOKING,
            json!({"input": stay(&property, 10, 13)}),
        )
        .await;
    let booking = &booking["createBooking"];
    assert_eq!(booking["__typename"], "Booking");
    assert_eq!(booking["status"], "PENDING_PAYMENT");
    let payment_intent = booking["payment"]["paymentIntentId"]
        .as_str()
        .unwrap_or_default();
    app.post(
        &format!("/api/v1/dev/payment_intents/{payment_intent}/succeed"),
        None,
        json!({}),
    )
    .await
    .expect(200);
    let cancelled = app
        .gql_data(
            Some(&guest),
            "mutation($id: ID!) { cancelBooking(id: $id) {
                status total refund { amount } payment { status } } }",
            json!({"id": booking["id"]}),
        )
        .await;
    let cancelled = &cancelled["cancelBooking"];

    // The same state: the same money, the same statuses, the same ledger.
    let gql_shape = json!({"status": cancelled["status"].as_str().map(str::to_lowercase),
        "total": cancelled["total"], "refund": cancelled["refund"]["amount"],
        "payment": cancelled["payment"]["status"]});
    assert_eq!(gql_shape, rest_shape(&rest_cancelled));
    let rest_row = format!(
        "SELECT COUNT(*) FROM ledger_transactions t JOIN bookings b \
        ON b.id = t.booking_id WHERE b.property_id = '{rest_property}'"
    );
    let gql_row = rest_row.replace(&rest_property, &property);
    assert_eq!(app.count(&rest_row).await, app.count(&gql_row).await);
    assert_eq!(
        app.unavailable(&rest_property, 0, 30).await,
        app.unavailable(&property, 0, 30).await
    );
    app.assert_ledger_clean().await;
}

async fn the_createbooking_storm_has_one_booking_and_no_errors(app: TestApp) {
    let host = app.register("host").await;
    let property = app.list_property(&host, json!({})).await;
    let guests = app.register_all(["guest"; 20]).await;
    let storm = (0..500).map(|i| {
        app.gql(
            Some(&guests[i % guests.len()]),
            CREATE_BOOKING,
            json!({"input": stay(&property, 30, 33)}),
        )
    });
    let answers = join_all(storm).await;
    let mut kinds = std::collections::BTreeMap::new();
    for answer in &answers {
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.text);
        assert!(answer.body["errors"].is_null(), "{}", answer.text);
        let kind = answer.body["data"]["createBooking"]["__typename"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        *kinds.entry(kind).or_insert(0) += 1;
    }
    assert_eq!(
        kinds,
        [
            ("Booking".to_owned(), 1),
            ("DatesUnavailable".to_owned(), 499)
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM bookings").await,
        1,
        "one booking in the store"
    );
}

async fn errors_carry_codes_and_privacy_is_the_same(app: TestApp) {
    let (host, guest, property) = app.listing(json!({})).await;
    let stranger = app.register("stranger").await;
    let booking = app.booked(&guest.token, &property, 5..7).await;
    let query = "query($id: ID!) { booking(id: $id) { id status } }";
    // Someone else's booking: null, NOT_FOUND, as REST's 404.
    let res = app
        .gql(Some(&stranger.token), query, json!({"id": id(&booking)}))
        .await;
    assert_eq!(res.body["data"]["booking"], Value::Null, "{}", res.text);
    assert_eq!(res.body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    // Its host sees it.
    let seen = app
        .gql_data(Some(&host.token), query, json!({"id": id(&booking)}))
        .await;
    assert_eq!(seen["booking"]["status"], "PENDING_PAYMENT");
    // Signed out.
    let res = app.gql(None, "{ me { id } }", json!({})).await;
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    // A bad token is refused outright, as REST's 401.
    let res = app
        .gql(Some("not-a-token"), "{ me { id } }", json!({}))
        .await;
    assert_eq!(res.status.as_u16(), 401);
    // Your own property: FORBIDDEN.
    let res = app
        .gql(
            Some(&host.token),
            CREATE_BOOKING,
            json!({"input": stay(&property, 40, 42)}),
        )
        .await;
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{}",
        res.text
    );
    // Invalid input is an answer, with the fields named as GraphQL names them.
    let res = app
        .gql_data(
            Some(&guest.token),
            CREATE_BOOKING,
            json!({"input": {"propertyId": property, "checkIn": days(9), "checkOut": days(8), "guests": 1}}),
        )
        .await;
    assert_eq!(res["createBooking"]["__typename"], "ValidationFailed");
    assert_eq!(res["createBooking"]["errors"][0]["field"], "checkIn");
    // A date out of range never reaches the service.
    let res = app
        .gql(
            Some(&guest.token),
            CREATE_BOOKING,
            json!({"input": {"propertyId": property, "checkIn": "+262142-12-01", "checkOut": days(8), "guests": 1}}),
        )
        .await;
    assert!(
        res.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Date")),
        "{}",
        res.text
    );
    // Someone else's property: FORBIDDEN; a page over 100: BAD_USER_INPUT.
    let res = app
        .gql(
            Some(&stranger.token),
            "mutation($id: ID!) { unlistProperty(id: $id) }",
            json!({"id": property}),
        )
        .await;
    assert_eq!(res.body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let res = app
        .gql(
            None,
            "{ properties(first: 101) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(
        res.body["errors"][0]["extensions"]["errors"][0]["field"],
        "first"
    );
}

async fn idempotency_keys_mean_the_same_on_both_apis(app: TestApp) {
    let (_, guest, property) = app.listing(json!({})).await;
    let vars = json!({"input": stay(&property, 20, 22), "key": "order-7"});
    let first = app
        .gql_data(Some(&guest.token), CREATE_BOOKING, vars.clone())
        .await;
    let again = app.gql_data(Some(&guest.token), CREATE_BOOKING, vars).await;
    assert_eq!(first["createBooking"]["id"], again["createBooking"]["id"]);
    // REST with the same key and the same request replays that booking.
    let rest = app
        .client
        .post(app.url("/api/v1/bookings"))
        .bearer_auth(&guest.token)
        .header("Idempotency-Key", "order-7")
        .json(&json!({"property_id": property, "check_in": days(20), "check_out": days(22), "guests": 1}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rest = TestApp::read(rest).await;
    assert_eq!(rest.expect(201)["id"], first["createBooking"]["id"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM bookings").await, 1);
    // The same key with another request is refused.
    let other = app
        .gql(
            Some(&guest.token),
            CREATE_BOOKING,
            json!({"input": stay(&property, 40, 42), "key": "order-7"}),
        )
        .await;
    assert_eq!(
        other.body["data"]["createBooking"]["__typename"],
        "ValidationFailed"
    );
}

async fn a_page_of_hosts_costs_the_same_store_calls_whatever_its_size(app: TestApp) {
    // Twenty properties, each with its own host.
    for i in 0..20 {
        let host = app.register(&format!("host{i}")).await;
        app.list_property(&host, json!({})).await;
    }
    let page = "query($n: Int) { properties(first: $n) {
        edges { node { title host { name } quote(checkIn: \"2030-03-01\", checkOut: \"2030-03-03\") { total } } } } }";
    let app = &app;
    let calls = |n: i32| async move {
        let res = app.gql(None, page, json!({"n": n})).await;
        assert_eq!(res.status.as_u16(), 200, "{}", res.text);
        let edges = res.body["data"]["properties"]["edges"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(edges, n as usize);
        assert!(
            res.body["data"]["properties"]["edges"][0]["node"]["host"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("host"))
        );
        res.body["extensions"]["storeCalls"].as_u64()
    };
    let five = calls(5).await;
    let twenty = calls(20).await;
    assert_eq!(five, Some(2), "one search, one batch of hosts");
    assert_eq!(five, twenty);
}

async fn abusive_documents_are_refused_quickly(app: TestApp) {
    let quick = Duration::from_millis(500);
    // Depth 50.
    let mut deep = String::from("{ properties { edges { node { host { id ");
    for _ in 0..45 {
        deep.push_str("x { ");
    }
    deep.push_str("y ");
    deep.push_str(&"} ".repeat(50));
    let started = Instant::now();
    let res = app.gql(None, &deep, json!({})).await;
    assert!(started.elapsed() < quick, "took {:?}", started.elapsed());
    // No `Accept`: application/json, where a request error is a 200.
    assert_eq!(res.status.as_u16(), 200, "{}", res.text);
    assert!(res.body.get("data").is_none(), "{}", res.text);
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"],
        "QUERY_TOO_DEEP"
    );
    // 1,000 aliases.
    let aliases: String = (0..1000).map(|i| format!("a{i}: __typename ")).collect();
    let started = Instant::now();
    let res = app.gql(None, &format!("{{ {aliases} }}"), json!({})).await;
    assert!(started.elapsed() < quick, "took {:?}", started.elapsed());
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"],
        "QUERY_TOO_MANY_ALIASES"
    );
    // A 10 MB body: refused as REST refuses it.
    let huge = format!("{{\"query\": \"{{ {} }}\"}}", "x".repeat(10 * 1024 * 1024));
    let res = app
        .post_raw("/graphql", None, "application/json", huge.into_bytes())
        .await;
    assert_eq!(res.status.as_u16(), 413);
    // 200 subscriptions on one socket: at most 20 run, the rest are refused.
    let (_, _, property) = app.listing(json!({})).await;
    let mut socket = app.subscriber(None).await;
    let query = "subscription($p: ID!) { availabilityChanged(propertyId: $p) { propertyId } }";
    for _ in 0..200 {
        socket.subscribe(query, json!({"p": property})).await;
    }
    let mut running = 0;
    let mut refused = 0;
    while let Some(message) = socket.receive(Duration::from_secs(2)).await {
        match message["type"].as_str() {
            Some("next") => running += 1,
            Some("error") => refused += 1,
            _ => {}
        }
        if running + refused == 200 {
            break;
        }
    }
    assert!(running <= 20, "{running} subscriptions run on one socket");
    assert!(refused >= 180, "{refused} refused");
    // Still healthy.
    app.get("/healthz", None).await.expect(200);
    app.gql_data(None, "{ __typename }", json!({})).await;
}

async fn subscribers_see_bookings_and_payments_as_they_happen(app: TestApp) {
    let (host, guest, property) = app.listing(json!({"instant_book": true})).await;
    let mut watcher = app.subscriber(None).await;
    let availability = watcher
        .subscribe(
            "subscription($p: ID!, $from: Date, $to: Date) {
                availabilityChanged(propertyId: $p, from: $from, to: $to) {
                    propertyId unavailable { start end } } }",
            json!({"p": property, "from": days(0), "to": days(60)}),
        )
        .await;
    let first = watcher
        .next_data(&availability, Duration::from_secs(2))
        .await
        .unwrap_or_else(|| panic!("no first push"));
    assert_eq!(
        first["data"]["availabilityChanged"]["unavailable"],
        json!([])
    );
    // Another client books: the watcher sees it within a second.
    let booked_at = Instant::now();
    let booking = app.booked(&guest.token, &property, 10..13).await;
    let pushed = watcher
        .next_data(&availability, Duration::from_secs(1))
        .await
        .unwrap_or_else(|| panic!("no push within a second"));
    assert!(booked_at.elapsed() < Duration::from_secs(1));
    assert_eq!(
        pushed["data"]["availabilityChanged"]["unavailable"],
        json!([{"start": days(10), "end": days(13)}])
    );
    // The checkout screen: the guest watches the booking until the signed
    // webhook confirms the payment.
    let mut checkout = app.subscriber(Some(&guest.token)).await;
    let watched = checkout
        .subscribe(
            "subscription($id: ID!) { bookingChanged(id: $id) { status payment { status } } }",
            json!({"id": id(&booking)}),
        )
        .await;
    let now = checkout
        .next_data(&watched, Duration::from_secs(2))
        .await
        .unwrap_or_else(|| panic!("no first push"));
    assert_eq!(now["data"]["bookingChanged"]["status"], "PENDING_PAYMENT");
    app.notify(
        "payment_intent.succeeded",
        json!({"id": intent(&booking), "object": "payment_intent"}),
    )
    .await;
    let confirmed = checkout
        .next_data(&watched, Duration::from_secs(3))
        .await
        .unwrap_or_else(|| panic!("no push after the webhook"));
    assert_eq!(confirmed["data"]["bookingChanged"]["status"], "CONFIRMED");
    assert_eq!(
        confirmed["data"]["bookingChanged"]["payment"]["status"],
        "succeeded"
    );
    // Anyone else cannot watch it.
    let mut nosy = app.subscriber(Some(&host.token)).await;
    let stranger = app.register("stranger").await;
    let mut stranger_socket = app.subscriber(Some(&stranger.token)).await;
    let refused = stranger_socket
        .subscribe(
            "subscription($id: ID!) { bookingChanged(id: $id) { status } }",
            json!({"id": id(&booking)}),
        )
        .await;
    let answer = stranger_socket
        .receive(Duration::from_secs(2))
        .await
        .unwrap_or_else(|| panic!("no answer"));
    assert_eq!(answer["id"], refused);
    assert!(answer.to_string().contains("NOT_FOUND"), "{answer}");
    // The host can.
    let hosts = nosy
        .subscribe(
            "subscription($id: ID!) { bookingChanged(id: $id) { status } }",
            json!({"id": id(&booking)}),
        )
        .await;
    let seen = nosy.next_data(&hosts, Duration::from_secs(2)).await;
    assert_eq!(
        seen.map(|s| s["data"]["bookingChanged"]["status"].clone()),
        Some(json!("CONFIRMED"))
    );
}

async fn the_schema_and_an_offline_graphiql_are_served(app: TestApp) {
    let sdl = app.get("/graphql/schema.graphql", None).await;
    assert_eq!(sdl.status.as_u16(), 200);
    for name in [
        "type Query",
        "me: User",
        "properties(filter: PropertyFilter, first: Int, after: String): PropertyConnection!",
        "union CreateBookingResult = Booking | DatesUnavailable | ValidationFailed",
        "availabilityChanged(propertyId: ID!, from: Date, to: Date): AvailabilityUpdate!",
        "bookingChanged(id: ID!): Booking!",
        "scalar Date",
    ] {
        assert!(sdl.text.contains(name), "the SDL lacks {name}");
    }
    let page = app.get("/graphiql", None).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.text.contains("/graphiql/assets/graphiql.min.js"));
    let csp = page
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    // Every file the page loads is local and served; nothing from elsewhere.
    let mut local = 0;
    for src in page
        .text
        .split(['"', '\''])
        .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
    {
        assert!(src.starts_with("/graphiql/assets/"), "{src} is not local");
        app.get(src, None)
            .await
            .status
            .is_success()
            .then(|| local += 1);
    }
    assert_eq!(local, 5, "react, react-dom, graphiql js and css, init");
    // GET for queries; a mutation over GET is refused.
    let res = app.get("/graphql?query=%7B__typename%7D", None).await;
    assert_eq!(res.body["data"]["__typename"], "Query");
    let res = app.get("/graphql?query=mutation%7Blogout%7D", None).await;
    assert_eq!(res.status.as_u16(), 405);
}

async fn reviews_are_written_and_read_through_graphql(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({})).await;
    let stay = app
        .completed_stay(&mut guest, &mut [&mut host], &property, 2..4)
        .await;
    let create = "mutation($b: ID!, $input: ReviewInput!) {
        createReview(bookingId: $b, input: $input) { about rating comment authorName } }";
    let written = app
        .gql_data(
            Some(&guest.token),
            create,
            json!({"b": stay["id"], "input": {"rating": 5, "comment": "Lovely"}}),
        )
        .await;
    assert_eq!(
        written["createReview"],
        json!({"about": "stay", "rating": 5, "comment": "Lovely", "authorName": "guest"})
    );
    let again = app
        .gql(
            Some(&guest.token),
            create,
            json!({"b": stay["id"], "input": {"rating": 4, "comment": "Again"}}),
        )
        .await;
    assert_eq!(again.body["errors"][0]["extensions"]["code"], "CONFLICT");
    let page = app
        .gql(
            None,
            "{ properties(first: 10) { edges { node { id ratingAvg reviewCount
                reviews(first: 3) { rating comment authorName response { comment } } } } } }",
            json!({}),
        )
        .await;
    let node = &page.body["data"]["properties"]["edges"][0]["node"];
    assert_eq!(node["id"], json!(property));
    assert_eq!(node["ratingAvg"], 5.0);
    assert_eq!(node["reviewCount"], 1);
    assert_eq!(node["reviews"][0]["comment"], "Lovely");
    assert_eq!(
        page.body["extensions"]["storeCalls"], 2,
        "one search, one batch of reviews"
    );
}

/// `property(id)` of own fields is answered again without execution while
/// the property is unchanged, and never after it changed: an edit, a
/// review, unlisting.
async fn a_kept_property_answer_follows_every_change(app: TestApp) {
    let (mut host, mut guest, property) = app.listing(json!({})).await;
    let read = "query($id: ID!) { property(id: $id) { id title reviewCount ratingAvg } }";
    let reused = async || {
        let text = app.get("/metrics", None).await.text;
        text.lines()
            .find(|l| l.starts_with("innkeep_graphql_answers_reused_total "))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|n| n.parse::<u64>().ok())
    };
    let ask = async || app.gql(None, read, json!({"id": property})).await.body;
    let first = ask().await;
    assert_eq!(first["data"]["property"]["id"], json!(property));
    assert_eq!(reused().await, Some(0));
    let again = ask().await;
    assert_eq!(again["data"], first["data"]);
    assert_eq!(again["extensions"]["storeCalls"], 1);
    assert_eq!(reused().await, Some(1), "the second answer was kept");

    app.patch(
        &format!("/api/v1/properties/{property}"),
        Some(&host.token),
        json!({"title": "Renamed loft"}),
    )
    .await
    .expect(200);
    assert_eq!(ask().await["data"]["property"]["title"], "Renamed loft");
    assert_eq!(
        reused().await,
        Some(1),
        "an edit is never answered from before"
    );
    assert_eq!(ask().await["data"]["property"]["title"], "Renamed loft");
    assert_eq!(reused().await, Some(2));

    let stay = app
        .completed_stay(&mut guest, &mut [&mut host], &property, 2..4)
        .await;
    app.post(
        &format!("/api/v1/bookings/{}/reviews", id(&stay)),
        Some(&guest.token),
        json!({"rating": 4, "comment": "Fine"}),
    )
    .await
    .expect(201);
    let reviewed = ask().await;
    assert_eq!(reviewed["data"]["property"]["reviewCount"], 1);
    assert_eq!(reviewed["data"]["property"]["ratingAvg"], 4.0);

    app.delete(&format!("/api/v1/properties/{property}"), Some(&host.token))
        .await
        .expect(204);
    let gone = ask().await;
    assert_eq!(gone["data"]["property"], Value::Null);
    assert_eq!(gone["errors"][0]["extensions"]["code"], "NOT_FOUND");
    // Another document over the same property keeps its own answers.
    let other = app
        .gql(
            None,
            "query($id: ID!) { property(id: $id) { city } }",
            json!({"id": property}),
        )
        .await;
    assert_eq!(other.body["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

/// The payload of `register`, `login` and `refresh` goes to the account it
/// signs in: its owner, who sees the e-mail, as `me` shows it. Anyone
/// else still sees none.
async fn register_and_login_show_the_new_user_their_own_email(app: TestApp) {
    let email = format!("ana-{}@example.com", uuid::Uuid::now_v7().simple());
    let registered = app
        .gql_data(
            None,
            "mutation($input: RegisterInput!) {
                register(input: $input) { refreshToken user { id email name } } }",
            json!({"input": {"email": email, "password": "correct horse battery", "name": "Ana"}}),
        )
        .await;
    assert_eq!(registered["register"]["user"]["email"], json!(email));
    assert_eq!(registered["register"]["user"]["name"], "Ana");
    // Signed in as someone else, logging in as Ana: her e-mail, she just
    // gave her password.
    let other = app.register("other").await;
    let login = app
        .gql_data(
            Some(&other.token),
            "mutation($input: LoginInput!) {
                login(input: $input) { accessToken user { id email } } }",
            json!({"input": {"email": email, "password": "correct horse battery"}}),
        )
        .await;
    assert_eq!(login["login"]["user"]["email"], json!(email));
    assert_eq!(
        login["login"]["user"]["id"],
        registered["register"]["user"]["id"]
    );
    let refreshed = app
        .gql_data(
            None,
            "mutation($t: String!) { refresh(refreshToken: $t) { user { email } } }",
            json!({"t": registered["register"]["refreshToken"]}),
        )
        .await;
    assert_eq!(refreshed["refresh"]["user"]["email"], json!(email));
    // Her listing's host, read by others: no e-mail; by her: hers.
    let ana = login["login"]["accessToken"].as_str().unwrap_or_default();
    let created = app
        .gql_data(
            Some(ana),
            CREATE_PROPERTY,
            json!({"input": property_input()}),
        )
        .await;
    let read = "query($id: ID!) { property(id: $id) { host { email } } }";
    let vars = json!({"id": created["createProperty"]["id"]});
    for token in [None, Some(other.token.as_str())] {
        let seen = app.gql_data(token, read, vars.clone()).await;
        assert_eq!(seen["property"]["host"]["email"], Value::Null, "{token:?}");
    }
    let own = app.gql_data(Some(ana), read, vars).await;
    assert_eq!(own["property"]["host"]["email"], json!(email));
}

/// `{ properties(first: 1) { pageInfo { hasNextPage } } __type(name:
/// "Query") { fields { type { ofType … { name } } } } }`, `depth` deep:
/// data and introspection in one operation.
fn mixed_document(depth: usize) -> String {
    let chain = depth - 4;
    format!(
        "{{ properties(first: 1) {{ pageInfo {{ hasNextPage }} }} \
        __type(name: \"Query\") {{ fields {{ type {}{{ name }}{} }} }} }}",
        "{ ofType ".repeat(chain),
        " }".repeat(chain)
    )
}

/// The same introspection without the data field.
fn introspection_document(depth: usize) -> String {
    mixed_document(depth).replacen("properties(first: 1) { pageInfo { hasNextPage } } ", "", 1)
}

#[actix_web::test]
async fn depth_limits_hold_at_their_exact_boundaries() {
    let app = spawn_sqlite(Options::default()).await;
    let refused = async |query: &str| {
        let res = app
            .gql_accepting(Some(GRAPHQL_RESPONSE), json!({"query": query}))
            .await;
        assert_eq!(res.status.as_u16(), 400, "{}", res.text);
        assert_eq!(
            res.body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
            "{}",
            res.text
        );
        res.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    // An ordinary operation: 12 runs, 13 does not.
    let twelve = app.gql_data(None, &mixed_document(12), json!({})).await;
    assert_eq!(twelve["properties"]["pageInfo"]["hasNextPage"], false);
    assert!(twelve["__type"]["fields"].is_array(), "{twelve}");
    assert_eq!(
        refused(&mixed_document(13)).await,
        "query depth 13 exceeds limit 12"
    );
    // Introspection alone (GraphiQL's schema query is 15 deep): 16 runs.
    app.gql_data(None, &introspection_document(16), json!({}))
        .await;
    assert_eq!(
        refused(&introspection_document(17)).await,
        "query depth 17 exceeds limit 16"
    );
    // However shallow, a type's lists nest twice at most: each level
    // multiplies the answer by the schema's size.
    let lists = |n: usize| {
        format!(
            "{{ __schema {{ types {}{{ name }}{} }} }}",
            "{ fields { type ".repeat(n),
            " } }".repeat(n)
        )
    };
    app.gql_data(None, &lists(2), json!({})).await;
    assert!(
        refused(&lists(3)).await.contains("3 deep, limit 2"),
        "three nested lists, 9 deep"
    );
}

#[actix_web::test]
async fn answers_come_in_the_media_type_the_client_accepts() {
    let app = spawn_sqlite(Options::default()).await;
    let query = json!({"query": "{ __typename }"});
    for (accept, expected) in [
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        // graphql-http's client and Apollo Client ask so.
        (
            Some("application/graphql-response+json, application/json"),
            GRAPHQL_RESPONSE,
        ),
        (
            Some("application/graphql-response+json,application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
        (Some(JSON), JSON),
        (Some("*/*"), JSON),
        (None, JSON),
    ] {
        let res = app.gql_accepting(accept, query.clone()).await;
        assert_eq!(res.status.as_u16(), 200, "{accept:?}: {}", res.text);
        assert!(
            res.content_type().starts_with(expected),
            "{accept:?}: {}",
            res.content_type()
        );
        assert_eq!(res.body["data"]["__typename"], "Query");
    }
    // GET, and an error answer, in kind too.
    let res = app
        .client
        .get(app.url("/graphql?query=%7B__typename%7D"))
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let res = TestApp::read(res).await;
    assert!(
        res.content_type().starts_with(GRAPHQL_RESPONSE),
        "{}",
        res.content_type()
    );
    let res = app
        .gql_accepting(Some(GRAPHQL_RESPONSE), json!({"query": "{ noSuchField }"}))
        .await;
    assert!(
        res.content_type().starts_with(GRAPHQL_RESPONSE),
        "{}",
        res.content_type()
    );
}

/// A document that does not run, sent twice (the second time any cache
/// is warm), under each media type: a 200 with `errors` (and no `data`)
/// to `application/json`, a 400 to `application/graphql-response+json`.
async fn assert_request_error(app: &TestApp, body: Value, code: &str) {
    for (accept, status) in [
        (Some(JSON), 200),
        (None, 200),
        (Some(GRAPHQL_RESPONSE), 400),
    ] {
        for _ in 0..2 {
            let res = app.gql_accepting(accept, body.clone()).await;
            assert_eq!(res.status.as_u16(), status, "{accept:?}: {}", res.text);
            assert_eq!(
                res.body["errors"][0]["extensions"]["code"], code,
                "{accept:?}: {}",
                res.text
            );
            assert!(res.body.get("data").is_none(), "{accept:?}: {}", res.text);
        }
    }
}

#[actix_web::test]
async fn a_document_that_does_not_parse_is_a_200_to_json_clients() {
    let app = spawn_sqlite(Options::default()).await;
    assert_request_error(&app, json!({"query": "{"}), "GRAPHQL_PARSE_FAILED").await;
}

#[actix_web::test]
async fn a_document_that_does_not_validate_is_a_200_to_json_clients() {
    let app = spawn_sqlite(Options::default()).await;
    let body = json!({"query": "{ noSuchField }"});
    assert_request_error(&app, body, "GRAPHQL_VALIDATION_FAILED").await;
    // graphql-http's audit sends this one: a variable never used.
    let body = json!({
        "query": "query CoerceFailure($id: ID!) { __typename }",
        "variables": {"id": null},
    });
    assert_request_error(&app, body, "GRAPHQL_VALIDATION_FAILED").await;
}

#[actix_web::test]
async fn variables_that_do_not_fit_are_a_200_to_json_clients() {
    let app = spawn_sqlite(Options::default()).await;
    for variables in [json!({"id": null}), json!({}), json!({"id": [1, 2]})] {
        let body = json!({
            "query": "query($id: ID!) { property(id: $id) { id } }",
            "variables": variables,
        });
        assert_request_error(&app, body, "BAD_USER_INPUT").await;
    }
}

#[actix_web::test]
async fn a_second_connection_init_closes_the_socket_with_4429() {
    let app = spawn_sqlite(Options::default()).await;
    let mut socket = app.subscriber(None).await;
    socket
        .send(json!({"type": "connection_init", "payload": {}}))
        .await;
    let close = socket
        .closed(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("no close frame"));
    assert_eq!(u16::from(close.code), 4429);
    assert_eq!(close.reason.as_str(), "Too many initialisation requests");
}

#[actix_web::test]
async fn an_upgrade_without_the_subprotocol_is_accepted_then_closed_with_4406() {
    let app = spawn_sqlite(Options::default()).await;
    let mut socket = app.websocket(None).await;
    let close = socket
        .closed(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("no close frame"));
    assert_eq!(u16::from(close.code), 4406);
    assert_eq!(close.reason.as_str(), "Subprotocol not acceptable");
}

#[actix_web::test]
async fn a_message_over_64_kib_closes_the_socket_with_1009() {
    let app = spawn_sqlite(Options::default()).await;
    let big = format!(
        r#"{{"type":"connection_init","payload":{{"pad":"{}"}}}}"#,
        "x".repeat(64 * 1024)
    );
    // In one frame: refused from its header.
    let mut socket = app.websocket(Some("graphql-transport-ws")).await;
    socket.send_message(Message::text(big.clone())).await;
    let close = socket.closed(Duration::from_secs(5)).await;
    assert_eq!(close.map(|c| c.code), Some(CloseCode::Size));
    // In fragments of 16 KiB: refused once they add up to more.
    let fragment = |i: usize, chunk: &[u8], last: bool| {
        let opcode = OpCode::Data(if i == 0 { Data::Text } else { Data::Continue });
        Message::Frame(Frame::message(chunk.to_vec(), opcode, last))
    };
    let chunks: Vec<&[u8]> = big.as_bytes().chunks(16 * 1024).collect();
    let mut socket = app.websocket(Some("graphql-transport-ws")).await;
    for (i, chunk) in chunks.iter().enumerate() {
        socket
            .send_message(fragment(i, chunk, i + 1 == chunks.len()))
            .await;
    }
    let close = socket.closed(Duration::from_secs(5)).await;
    assert_eq!(close.map(|c| c.code), Some(CloseCode::Size));
    // Fragments within the limit are one message.
    let init = r#"{"type":"connection_init","payload":{}}"#.as_bytes();
    let mut socket = app.websocket(Some("graphql-transport-ws")).await;
    socket.send_message(fragment(0, &init[..10], false)).await;
    socket.send_message(fragment(1, &init[10..], true)).await;
    let ack = socket.receive(Duration::from_secs(5)).await;
    assert_eq!(
        ack.map(|a| a["type"].clone()),
        Some(json!("connection_ack"))
    );
}
