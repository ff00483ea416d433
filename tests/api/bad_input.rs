//! Bad input of every kind gets a 4xx problem+json, never a 5xx, and
//! changes nothing.

use serde_json::json;

use crate::both_stores;
use crate::support::{TestApp, merge};

both_stores!(
    bad_bodies_get_precise_problems,
    bad_paths_and_params_get_problems
);

async fn bad_bodies_get_precise_problems(app: TestApp) {
    let tester = app.register("tester").await;
    let t = Some(tester.token.as_str());
    let props = "/api/v1/properties";

    // Malformed JSON, empty body, trailing garbage: 400.
    for body in [
        &b"{"[..],
        b"",
        b"nonsense",
        b"{\"title\": \"a\"} extra",
        b"{\"title\": ",
    ] {
        app.post_raw(props, t, "application/json", body.to_vec())
            .await
            .expect(400);
    }
    // Not JSON at all: 415.
    app.post_raw(props, t, "text/plain", b"{}".to_vec())
        .await
        .expect(415);
    app.post_raw(
        props,
        t,
        "application/x-www-form-urlencoded",
        b"title=x".to_vec(),
    )
    .await
    .expect(415);
    // Too large: 413.
    let huge = format!("{{\"title\": \"{}\"}}", "x".repeat(200_000));
    app.post_raw(props, t, "application/json", huge.into_bytes())
        .await
        .expect(413);

    // Wrong types, unknown fields, out-of-range values: 422 naming the field.
    let cases = [
        (json!({"title": 5}), "title"),
        (json!({"price_per_night": "100"}), "price_per_night"),
        (json!({"price_per_night": 100.5}), "price_per_night"),
        (json!({"max_guests": -1}), "max_guests"),
        (json!({"max_guests": 10_000_000_000_i64}), "max_guests"),
        (json!({"amenities": "wifi"}), "amenities"),
        (json!({"instant_book": "yes"}), "instant_book"),
        (json!({"owner": "me"}), "owner"),
        (json!({"currency": "EURO"}), "currency"),
        (
            json!({"cancellation_policy": "lenient"}),
            "cancellation_policy",
        ),
        (json!({"latitude": 91.0}), "latitude"),
        (json!({"price_per_night": 0}), "price_per_night"),
        (json!({"min_nights": 10, "max_nights": 5}), "max_nights"),
        (json!({"title": "   "}), "title"),
    ];
    for (overrides, field) in cases {
        let mut body = json!({"title": "T", "city": "C", "country": "P", "price_per_night": 100, "currency": "EUR", "max_guests": 2});
        merge(&mut body, &overrides);
        let res = app.post(props, t, body.clone()).await;
        let problem = res.expect(422);
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(fields.contains(&field), "{body} -> {problem}");
    }
    // A JSON array or scalar where an object belongs.
    app.post(props, t, json!([1, 2])).await.expect(422);
    app.post(props, t, json!("text")).await.expect(422);

    // Auth bodies.
    app.register_as("not-an-email", "12345678", "X")
        .await
        .expect(422);
    let short = app.register_as("a@b.co", "short", "X").await;
    assert_eq!(short.expect(422)["errors"][0]["field"], "password");
    let missing = app
        .post("/api/v1/auth/register", None, json!({"email": "a@b.co"}))
        .await;
    assert_eq!(missing.expect(422)["errors"][0]["field"], "password");
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": 5, "password": "x"}),
    )
    .await
    .expect(422);

    // Nothing above created anything.
    let all = app.get("/api/v1/properties", None).await;
    assert_eq!(all.expect(200)["data"], json!([]));
}

async fn bad_paths_and_params_get_problems(app: TestApp) {
    let pather = app.register("pather").await;
    let token = &pather.token;
    app.get("/api/v1/properties/not-a-uuid", None)
        .await
        .expect(404);
    app.get(
        "/api/v1/properties/01234567-89ab-cdef-0123-456789abcdef",
        None,
    )
    .await
    .expect(404);
    app.patch("/api/v1/properties/123", Some(token), json!({}))
        .await
        .expect(404);
    app.get("/api/v1/nowhere", None).await.expect(404);
    app.get("/definitely/not/here", None).await.expect(404);
    app.get("/api/v1/properties?min_price=cheap", None)
        .await
        .expect(422);
    app.get(
        "/api/v1/properties?check_in=tomorrow&check_out=2030-01-01",
        None,
    )
    .await
    .expect(422);
    let id = app.list_property(&pather, json!({})).await;
    app.get(
        &format!("/api/v1/properties/{id}/availability?from=2030-13-01"),
        None,
    )
    .await
    .expect(422);
    app.get(
        &format!(
            "/api/v1/properties/{id}/quote?check_in=2030-01-01&check_out=2030-01-05&guests=-2"
        ),
        None,
    )
    .await
    .expect(422);
    // An oversized path or query is still a clean 4xx.
    let long = "a".repeat(10_000);
    let res = app
        .get(&format!("/api/v1/properties?city={long}"), None)
        .await;
    assert!(
        res.status.is_client_error() || res.status.is_success(),
        "{}",
        res.status
    );
}
