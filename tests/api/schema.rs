//! The OpenAPI document against the server (what Schemathesis checks in
//! CI, here in a few seconds): every operation declares each status it can
//! answer, every request field and parameter carries the bounds the server
//! enforces, the server takes what the document calls valid (a whole
//! number written `2.0`, lengths in characters) and refuses what it does
//! not (a JSON array for an object), and the dev endpoints are in the
//! document only when they are mounted.

use serde_json::{Value, json};

use crate::both_stores;
use crate::support::{Options, TestApp, days, spawn_sqlite};

both_stores!(
    every_operation_declares_what_it_can_answer,
    request_fields_and_parameters_carry_their_bounds,
    the_server_takes_what_the_document_calls_valid,
);

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Routes of api.md not built yet: they answer 501, and only that.
const UNBUILT: [(&str, &str); 0] = [];

/// (method, path, operation) of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                all.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    all
}

fn statuses(op: &Value) -> Vec<String> {
    op["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}

/// The schema `value` names, following one `$ref`.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {r}")),
        None => value,
    }
}

fn types(schema: &Value) -> Vec<String> {
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// What is missing from a field's schema for it to be bounded: a string
/// needs maxLength, enum or format; a number minimum and maximum; an array
/// maxItems and bounded items.
fn unbounded(doc: &Value, schema: &Value) -> Option<String> {
    let schema = resolve(doc, schema);
    let has = |k: &str| schema.get(k).is_some();
    let types = types(schema);
    if types.iter().any(|t| t == "string") && !(has("maxLength") || has("enum") || has("format")) {
        return Some(format!(
            "a string without maxLength, enum or format: {schema}"
        ));
    }
    if types.iter().any(|t| t == "integer" || t == "number") && !(has("minimum") && has("maximum"))
    {
        return Some(format!("a number without minimum and maximum: {schema}"));
    }
    if types.iter().any(|t| t == "array") {
        if !has("maxItems") {
            return Some(format!("an array without maxItems: {schema}"));
        }
        return unbounded(doc, &schema["items"]);
    }
    None
}

async fn document(app: &TestApp) -> Value {
    app.get("/openapi.json", None).await.expect(200).clone()
}

async fn every_operation_declares_what_it_can_answer(app: TestApp) {
    let doc = document(&app).await;
    let ops = operations(&doc);
    assert!(ops.len() > 30, "{} operations", ops.len());
    let mut ids: Vec<&str> = ops
        .iter()
        .filter_map(|(_, _, op)| op["operationId"].as_str())
        .collect();
    ids.sort_unstable();
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids must be unique: {ids:?}");
    assert_eq!(count, ops.len(), "every operation has an id");
    for (method, path, op) in &ops {
        let declared = statuses(op);
        let has = |s: &str| declared.iter().any(|d| d == s);
        let label = format!("{} {path}: {declared:?}", method.to_uppercase());
        if UNBUILT.iter().any(|(m, p)| m == method && p == path) {
            assert_eq!(declared, ["501"], "{label}");
            continue;
        }
        assert!(has("503"), "{label} lacks 503");
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        if secured {
            assert!(has("401"), "{label} lacks 401");
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        if params.iter().any(|p| p["in"] == "path") {
            assert!(has("404"), "{label} lacks 404");
        }
        if path != "/webhooks/stripe" {
            if op.get("requestBody").is_some() {
                for s in ["400", "413", "415", "422"] {
                    assert!(has(s), "{label} lacks {s}");
                }
            }
            if params
                .iter()
                .any(|p| p["in"] == "query" || p["in"] == "header")
            {
                assert!(has("422"), "{label} lacks 422");
            }
        }
        // Every refusal is problem+json.
        for status in declared
            .iter()
            .filter(|s| s.starts_with('4') || s.starts_with('5'))
        {
            let content = &op["responses"][status]["content"];
            assert_eq!(
                content["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{label}: {status}"
            );
        }
    }
    // The refusals that depend on what an operation does.
    let expect = [
        (
            "post",
            "/api/v1/auth/register",
            &["201", "409", "422", "429"][..],
        ),
        ("post", "/api/v1/auth/login", &["200", "401", "429"]),
        (
            "post",
            "/api/v1/bookings",
            &["201", "403", "404", "409", "422", "429"],
        ),
        (
            "patch",
            "/api/v1/properties/{id}",
            &["200", "403", "404", "422"],
        ),
        (
            "delete",
            "/api/v1/properties/{id}",
            &["204", "403", "404", "409"],
        ),
        (
            "post",
            "/api/v1/properties/{id}/blocks",
            &["201", "403", "409", "422"],
        ),
        (
            "post",
            "/api/v1/bookings/{id}/accept",
            &["200", "403", "404", "409"],
        ),
        (
            "post",
            "/api/v1/bookings/{id}/reviews",
            &["201", "404", "409", "422"],
        ),
        (
            "post",
            "/api/v1/reviews/{id}/response",
            &["201", "404", "409", "422"],
        ),
        (
            "get",
            "/api/v1/properties/{id}/reviews",
            &["200", "404", "422"],
        ),
        (
            "get",
            "/api/v1/users/{id}/reviews",
            &["200", "401", "404", "422"],
        ),
        ("get", "/api/v1/properties", &["200", "422"]),
        ("post", "/webhooks/stripe", &["200", "400", "413", "503"]),
    ];
    for (method, path, wanted) in expect {
        let op = &doc["paths"][path][method];
        let declared = statuses(op);
        for s in wanted {
            assert!(
                declared.iter().any(|d| d == s),
                "{method} {path} lacks {s}: {declared:?}"
            );
        }
    }

    // What the document promises is what the server does: an undeclared
    // method on a documented path is 405 with Allow, a TRACE too.
    let trace = app
        .client
        .request(reqwest::Method::TRACE, app.url("/api/v1/properties"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(trace.status(), 405);
    assert_eq!(
        trace.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, POST")
    );
    let id = uuid::Uuid::now_v7();
    let put = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/properties/{id}/calendar-imports"),
            None,
            Some(json!({})),
        )
        .await;
    put.expect(405);
    app.get(&format!("/api/v1/properties/{id}/calendar-imports"), None)
        .await
        .expect(401);
}

async fn request_fields_and_parameters_carry_their_bounds(app: TestApp) {
    let doc = document(&app).await;
    // Fields the server takes whatever they hold (answering 401 when
    // nothing matches), and opaque or free search parameters.
    let free = [
        "LoginInput.email",
        "LoginInput.password",
        "RefreshInput.refresh_token",
        "/api/v1/properties?city",
        "/api/v1/properties?country",
        "/api/v1/properties?bbox",
        "/api/v1/properties?cursor",
        "/webhooks/stripe?Stripe-Signature",
        // Bounded by its pattern: the ISO 4217 codes (with white space
        // around, which is trimmed).
        "NewProperty.currency",
        "PropertyInput.currency",
    ];
    let mut problems = Vec::new();
    for (method, path, op) in operations(&doc) {
        if let Some(body) = op
            .pointer("/requestBody/content/application~1json/schema")
            .filter(|_| path != "/webhooks/stripe")
        {
            let name = body["$ref"]
                .as_str()
                .and_then(|r| r.rsplit('/').next())
                .unwrap_or("?")
                .to_owned();
            let schema = resolve(&doc, body);
            assert_eq!(
                schema["additionalProperties"], false,
                "{method} {path}: unknown fields are refused"
            );
            for (field, field_schema) in schema["properties"].as_object().into_iter().flatten() {
                let key = format!("{name}.{field}");
                if let Some(p) =
                    unbounded(&doc, field_schema).filter(|_| !free.contains(&key.as_str()))
                {
                    problems.push(format!("{method} {path} {key}: {p}"));
                }
            }
        }
        for param in op["parameters"].as_array().into_iter().flatten() {
            let key = format!("{path}?{}", param["name"].as_str().unwrap_or("?"));
            if param["in"] == "path" {
                continue;
            }
            if let Some(p) =
                unbounded(&doc, &param["schema"]).filter(|_| !free.contains(&key.as_str()))
            {
                problems.push(format!("{method} {key}: {p}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "unbounded inputs:\n{}",
        problems.join("\n")
    );

    // A few, exactly, as the server enforces them.
    let field = |schema: &str, field: &str| {
        doc["components"]["schemas"][schema]["properties"][field].clone()
    };
    let password = field("RegisterInput", "password");
    assert_eq!(
        (password["minLength"].clone(), password["maxLength"].clone()),
        (json!(8), json!(1024))
    );
    assert_eq!(field("RegisterInput", "name")["maxLength"], 100);
    assert_eq!(field("RegisterInput", "email")["maxLength"], 254);
    assert_eq!(field("ReviewInput", "rating")["minimum"], 1);
    assert_eq!(field("ReviewInput", "rating")["maximum"], 5);
    assert_eq!(field("ResponseInput", "comment")["maxLength"], 2000);
    assert_eq!(field("PropertyInput", "amenities")["maxItems"], 50);
    assert_eq!(
        field("PropertyInput", "amenities")["items"]["maxLength"],
        50
    );
    assert_eq!(field("PropertyInput", "max_guests")["maximum"], 50);
    assert_eq!(field("CreateBooking", "check_in")["format"], "date");
    assert!(
        field("CreateBooking", "check_in")["pattern"]
            .as_str()
            .is_some()
    );
    // A new listing requires what a listing needs, and not null.
    let new = &doc["components"]["schemas"]["NewProperty"];
    let mut required: Vec<&str> = new["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    required.sort_unstable();
    assert_eq!(
        required,
        [
            "city",
            "country",
            "currency",
            "max_guests",
            "price_per_night",
            "title"
        ]
    );
    assert_eq!(new["properties"]["title"]["type"], "string");
    assert_eq!(
        doc["paths"]["/api/v1/properties"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/NewProperty"
    );
    // Pages: 1 to 100 wherever there is a limit.
    for (_, path, op) in operations(&doc) {
        for param in op["parameters"].as_array().into_iter().flatten() {
            if param["name"] == "limit" {
                assert_eq!(param["schema"]["minimum"], 1, "{path}");
                assert_eq!(param["schema"]["maximum"], 100, "{path}");
            }
        }
    }
}

async fn the_server_takes_what_the_document_calls_valid(app: TestApp) {
    let host = app.register("host").await;
    let t = Some(host.token.as_str());
    let property = app.list_property(&host, json!({})).await;
    let path = format!("/api/v1/properties/{property}");
    // A whole number written as a float is an integer (JSON Schema's
    // `integer` says so); a fraction is not.
    let patched = app.patch(&path, t, json!({"max_guests": 3.0})).await;
    assert_eq!(patched.expect(200)["max_guests"], 3);
    let half = app.patch(&path, t, json!({"max_guests": 3.5})).await;
    assert_eq!(half.expect(422)["errors"][0]["field"], "max_guests");
    // A JSON value that is not an object, where an object belongs: 422,
    // on every body alike.
    for body in [
        json!([1, 2]),
        json!([]),
        json!("text"),
        json!(5),
        Value::Null,
    ] {
        app.patch(&path, t, body.clone()).await.expect(422);
        app.patch("/api/v1/users/me", t, body.clone())
            .await
            .expect(422);
        app.post("/api/v1/bookings", t, body.clone())
            .await
            .expect(422);
        app.post("/api/v1/auth/login", None, body).await.expect(422);
    }
    // Lengths are characters, as maxLength counts them, as sent.
    let me = app
        .patch("/api/v1/users/me", t, json!({"name": "é".repeat(100)}))
        .await;
    assert_eq!(me.expect(200)["name"], "é".repeat(100));
    let long = app
        .patch(
            "/api/v1/users/me",
            t,
            json!({"name": format!(" {}", "x".repeat(100))}),
        )
        .await;
    assert_eq!(long.expect(422)["errors"][0]["field"], "name");
    let email = format!("{}@example.com", "é".repeat(240));
    app.register_as(&email, &"ü".repeat(8), "Ümit")
        .await
        .expect(201);
    let amenity = "İ".repeat(50);
    let amenities = app.patch(&path, t, json!({"amenities": [amenity]})).await;
    amenities.expect(200);
    // Dates out of the declared years are refused, like any bad field.
    for date in ["1899-12-31", "10000-01-01", "+10000-01-01"] {
        let quote = format!(
            "/api/v1/properties/{property}/quote?check_in={}&check_out={date}",
            days(1)
        );
        app.get(&quote.replace('+', "%2B"), None).await.expect(422);
    }
}

#[actix_web::test]
async fn dev_endpoints_are_documented_only_when_mounted() {
    let dev = spawn_sqlite(Options::default()).await;
    let doc = document(&dev).await;
    for path in [
        "/api/v1/dev/clock",
        "/api/v1/dev/payment_intents/{id}/succeed",
        "/api/v1/dev/gateway/faults",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing with INNKEEP_DEV=1"
        );
    }
    let prod = spawn_sqlite(Options {
        dev: false,
        ..Options::default()
    })
    .await;
    let doc = document(&prod).await;
    let dev_paths: Vec<&String> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(p, _)| p)
        .filter(|p| p.contains("/dev/"))
        .collect();
    assert!(dev_paths.is_empty(), "{dev_paths:?}");
    assert!(doc["components"]["schemas"].get("ClockBody").is_none());
    // Not mounted, not documented: 404 for every method, not 405.
    prod.post("/api/v1/dev/clock", None, json!({}))
        .await
        .expect(404);
}
