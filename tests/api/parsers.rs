//! Property-based: random query strings and bodies, built from the
//! parameters and fields the API knows with values from anywhere (extreme
//! numbers, dates far out of range, any text), never make the server panic
//! or answer 5xx. One server per store; every generated input is sent,
//! and the first that breaks the rule is reported as it was.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::both_stores;
use crate::support::TestApp;

both_stores!(
    no_query_string_or_body_breaks_the_server,
    a_searched_place_with_a_control_character_is_refused,
    a_bio_or_block_reason_with_a_nul_is_refused,
);

/// A value as a client could send it in a query string.
fn raw_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("1e309".to_owned()),
        Just("NaN".to_owned()),
        (-300_000i32..300_000, 0u32..14, 0u32..33)
            .prop_map(|(y, m, d)| format!("{y:+}-{m:02}-{d:02}")),
        (0i32..12_000, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        Just("%2B262142-12-01".to_owned()),
        "[0-9a-f-]{0,40}",
        prop::collection::vec(any::<u8>(), 0..20).prop_map(|bytes| {
            bytes
                .iter()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        }),
    ]
}

const QUERY_PARAMS: &[&str] = &[
    "from",
    "to",
    "check_in",
    "check_out",
    "guests",
    "min_price",
    "max_price",
    "amenities",
    "bbox",
    "sort",
    "limit",
    "cursor",
    "city",
    "country",
    "as",
    "status",
    "unknown",
];

/// A query string of known (and one unknown) parameters.
fn query_string() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(QUERY_PARAMS), raw_value()), 0..6).prop_map(
        |pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let v: String = v
                        .chars()
                        .map(|c| match c {
                            '&' | '#' | ' ' => '_',
                            c => c,
                        })
                        .collect();
                    format!("{k}={v}")
                })
                .collect::<Vec<_>>()
                .join("&")
        },
    )
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        raw_value().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const BODY_FIELDS: &[&str] = &[
    "property_id",
    "check_in",
    "check_out",
    "guests",
    "title",
    "description",
    "city",
    "country",
    "latitude",
    "longitude",
    "price_per_night",
    "currency",
    "cleaning_fee",
    "max_guests",
    "bedrooms",
    "amenities",
    "cancellation_policy",
    "instant_book",
    "min_nights",
    "max_nights",
    "start",
    "end",
    "reason",
    "email",
    "password",
    "name",
    "bio",
    "query",
    "variables",
];

/// An object of known fields with values from anywhere.
fn body() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(BODY_FIELDS), json_value(), 0..8)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

fn generate<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::new(Config::default());
    (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect()
}

async fn no_query_string_or_body_breaks_the_server(app: TestApp) {
    let (host, guest, property) = app.listing(json!({})).await;
    let gets = [
        "/api/v1/properties?".to_owned(),
        format!("/api/v1/properties/{property}/availability?"),
        format!("/api/v1/properties/{property}/quote?"),
        "/api/v1/bookings?".to_owned(),
    ];
    for query in generate(query_string(), 150) {
        for path in &gets {
            let url = format!("{path}{query}");
            let res = app.get(&url, Some(&guest.token)).await;
            assert!(
                res.status.as_u16() < 500,
                "GET {url}: {} {}",
                res.status,
                res.text
            );
        }
    }
    let posts = [
        ("POST", "/api/v1/bookings".to_owned(), &guest.token),
        ("POST", "/api/v1/properties".to_owned(), &host.token),
        (
            "POST",
            format!("/api/v1/properties/{property}/blocks"),
            &host.token,
        ),
        (
            "PATCH",
            format!("/api/v1/properties/{property}"),
            &host.token,
        ),
        ("PATCH", "/api/v1/users/me".to_owned(), &guest.token),
        ("POST", "/api/v1/auth/login".to_owned(), &guest.token),
        ("POST", "/graphql".to_owned(), &guest.token),
    ];
    for body in generate(body(), 150) {
        for (method, path, token) in &posts {
            let method =
                reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            let res = app
                .send(method.clone(), path, Some(token), Some(body.clone()))
                .await;
            assert!(
                res.status.as_u16() < 500,
                "{method} {path} {body}: {} {}",
                res.status,
                res.text
            );
        }
    }
    app.get("/healthz", None).await.expect(200);
}

/// Found by the generator above on PostgreSQL, which refuses a NUL in
/// text: a searched city or country is checked as a stored one is.
async fn a_searched_place_with_a_control_character_is_refused(app: TestApp) {
    for query in [
        "city=Lis%00bon",
        "country=Portugal%07",
        "city=a%00&check_in=2030-01-01",
    ] {
        let res = app.get(&format!("/api/v1/properties?{query}"), None).await;
        assert_eq!(res.status.as_u16(), 422, "{query}: {}", res.text);
        let field = if query.starts_with("city") {
            "city"
        } else {
            "country"
        };
        assert!(res.text.contains(field), "{query}: {}", res.text);
    }
    // A plain place still searches.
    app.get("/api/v1/properties?city=Lisbon", None)
        .await
        .expect(200);
}

/// PostgreSQL refuses NUL in text: a profile or block text holding one is
/// the client's mistake (422 on its field), never a 500. Lines still pass.
async fn a_bio_or_block_reason_with_a_nul_is_refused(app: TestApp) {
    let (host, _, property) = app.listing(serde_json::json!({})).await;
    let res = app
        .patch(
            "/api/v1/users/me",
            Some(&host.token),
            serde_json::json!({"bio": "m- S\u{e8}\u{0}"}),
        )
        .await;
    assert_eq!(res.status.as_u16(), 422, "{}", res.text);
    assert!(res.text.contains("bio"), "{}", res.text);
    let blocks = format!("/api/v1/properties/{property}/blocks");
    let block = |reason: &str| serde_json::json!({"start": crate::support::days(5), "end": crate::support::days(8), "reason": reason});
    let res = app
        .post(&blocks, Some(&host.token), block("paint\u{0}"))
        .await;
    assert_eq!(res.status.as_u16(), 422, "{}", res.text);
    assert!(res.text.contains("reason"), "{}", res.text);
    let me = app
        .patch(
            "/api/v1/users/me",
            Some(&host.token),
            serde_json::json!({"bio": "Hosting since 2020.\nAsk me anything."}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(me["bio"], "Hosting since 2020.\nAsk me anything.");
    app.post(&blocks, Some(&host.token), block("painting\nthe walls"))
        .await
        .expect(201);
}
