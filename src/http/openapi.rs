//! The OpenAPI document, generated from the handlers' annotations, and the
//! offline docs page (Swagger UI with its assets inside the binary).

use serde_json::{Value, json};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::{auth, bookings, imports, notifications, payments, properties, reviews, schema, users};

use super::{dev, ops, webhooks};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `application/problem+json` (RFC 9457): every error this API answers.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// A URI naming the problem; `about:blank` when the status says it all.
    #[schema(rename = "type")]
    problem_type: String,
    title: String,
    status: u16,
    detail: String,
    /// Validation errors only: each bad field and what is wrong with it.
    errors: Option<Vec<crate::error::FieldError>>,
}

#[derive(OpenApi)]
#[openapi(paths(
    auth::http::register,
    auth::http::login,
    auth::http::refresh,
    auth::http::logout,
    users::http::get_me,
    users::http::patch_me,
    payments::http::balance,
    properties::http::create,
    properties::http::search,
    properties::http::get,
    properties::http::update,
    properties::http::unlist,
    properties::http::quote,
    properties::http::availability,
    properties::http::calendar_ics,
    properties::http::add_block,
    properties::http::remove_block,
    bookings::http::create,
    bookings::http::list,
    bookings::http::get,
    bookings::http::cancel,
    bookings::http::accept,
    bookings::http::decline,
    reviews::http::create,
    reviews::http::respond,
    reviews::http::of_property,
    reviews::http::about_guest,
    notifications::http::list,
    notifications::http::read,
    imports::http::create_import,
    imports::http::list_imports,
    imports::http::remove_import,
    imports::http::refresh_import,
    dev::set_clock,
    dev::succeed,
    dev::fail,
    dev::faults,
))]
struct V1;

#[derive(OpenApi)]
#[openapi(
    info(title = "innkeep", description = "A property-rental backend: users, properties, bookings, payments."),
    paths(ops::healthz, ops::readyz, ops::metrics, webhooks::stripe),
    nest((path = "/api/v1", api = V1)),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "users", description = "The caller's profile"),
        (name = "properties", description = "Listings, search, quotes, calendars"),
        (name = "bookings", description = "Holding dates, paying, cancelling"),
        (name = "reviews", description = "Reviews of stays and guests"),
        (name = "payments", description = "Balances and Stripe webhooks"),
        (name = "ops", description = "Health, readiness, metrics"),
        (name = "dev", description = "Only with INNKEEP_DEV=1"),
    )
)]
pub struct ApiDoc;

/// The document as served: the handlers' annotations, then (from
/// `schema`) the bounds of every request field and parameter, `NewProperty`,
/// the routes answered 501 until they are built, and on every operation
/// each status it can answer. The dev endpoints are in it only when they
/// are mounted.
pub fn document(payments: &str, dev_routes: bool) -> anyhow::Result<Value> {
    let mut doc = ApiDoc::openapi();
    let gateway = if payments == "dev" {
        "Payments: the DEV gateway (records payments locally, never moves money)."
    } else {
        "Payments: Stripe."
    };
    let description = doc.info.description.take().unwrap_or_default();
    doc.info.description = Some(format!("{description}\n\n{gateway}"));
    let mut doc = serde_json::to_value(&doc)?;
    constrain_bodies(&mut doc);
    add_new_property(&mut doc);
    read_input_one_of(&mut doc);
    add_unbuilt(&mut doc);
    if !dev_routes {
        drop_dev(&mut doc);
    }
    for (path, method, op) in operations(&mut doc) {
        constrain_params(&path, op);
        declare_statuses(&path, &method, op);
    }
    unique_operation_ids(&mut doc);
    Ok(doc)
}

/// Handlers named alike in different modules (`create`, `get`) give
/// operation ids that OpenAPI requires to be unique: those get their tag
/// in front (`bookings_create`).
fn unique_operation_ids(doc: &mut Value) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for (_, _, op) in operations(doc) {
        if let Some(id) = op["operationId"].as_str() {
            *seen.entry(id.to_owned()).or_default() += 1;
        }
    }
    for (_, _, op) in operations(doc) {
        let Some(id) = op["operationId"].as_str().map(str::to_owned) else {
            continue;
        };
        if seen.get(&id).is_some_and(|n| *n > 1) {
            let tag = op["tags"][0].as_str().unwrap_or("api").to_owned();
            op["operationId"] = json!(format!("{tag}_{id}"));
        }
    }
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every operation: (path, method, operation).
fn operations(doc: &mut Value) -> Vec<(String, String, &mut Value)> {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    paths
        .iter_mut()
        .flat_map(|(path, item)| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|ops| ops.iter_mut())
                .filter(|(method, _)| METHODS.contains(&method.as_str()))
                .map(|(method, op)| (path.clone(), method.clone(), op))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn constrain_bodies(doc: &mut Value) {
    for (name, field, extra) in schema::body_bounds() {
        if let Some(target) =
            doc.pointer_mut(&format!("/components/schemas/{name}/properties/{field}"))
        {
            schema::merge(target, &extra);
        }
    }
}

/// `POST /properties` takes a `NewProperty`: `PropertyInput` with the
/// fields a listing needs required.
fn add_new_property(doc: &mut Value) {
    let Some(input) = doc.pointer("/components/schemas/PropertyInput").cloned() else {
        return;
    };
    let new = schema::requiring(
        &input,
        &[
            "title",
            "city",
            "country",
            "price_per_night",
            "currency",
            "max_guests",
        ],
        "A new listing: `PropertyInput` with title, city, country, price_per_night, \
         currency and max_guests required. Also refused (422): min_nights above \
         max_nights, latitude without longitude (or the reverse), a currency that \
         is not ISO 4217's.",
    );
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert("NewProperty".into(), new);
    }
    if let Some(target) = doc.pointer_mut(
        "/paths/~1api~1v1~1properties/post/requestBody/content/application~1json/schema",
    ) {
        *target = json!({"$ref": "#/components/schemas/NewProperty"});
    }
}

/// `ReadInput` as the server takes it: `ids` (with `all` false or absent),
/// or `all: true` (with no `ids`); neither, both, or `all: false` alone
/// are refused (422).
fn read_input_one_of(doc: &mut Value) {
    let ids = json!({"type": "array", "maxItems": schema::READ_IDS_MAX,
        "items": {"type": "string", "format": "uuid", "pattern": schema::UUID}});
    let read = json!({
        "description": "Which notifications to mark read: `ids` (at most 100; others' are ignored) or `all: true`.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "ids": {"type": ["array", "null"], "maxItems": schema::READ_IDS_MAX,
                    "items": {"type": "string", "format": "uuid", "pattern": schema::UUID}},
            "all": {"type": ["boolean", "null"]},
        },
        "oneOf": [
            {"type": "object", "required": ["ids"], "additionalProperties": false,
             "properties": {"ids": ids, "all": {"enum": [false, null]}}},
            {"type": "object", "required": ["all"], "additionalProperties": false,
             "properties": {"all": {"const": true}, "ids": {"type": "null"}}},
        ],
    });
    if let Some(target) = doc.pointer_mut("/components/schemas/ReadInput") {
        *target = read;
    }
}

/// Routes of api.md that answer 501 until they are built (the README's
/// feature table says so too).
pub const UNBUILT: [(&str, &str); 0] = [];

fn add_unbuilt(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, method) in UNBUILT {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true,
                       "schema": {"type": "string", "format": "uuid"}})
            })
            .collect();
        let tag = "properties";
        let op = json!({
            "tags": [tag],
            "summary": "Not built yet: always 501.",
            "operationId": format!("{method}_{}", path.trim_start_matches("/api/v1/").replace(['/', '{', '}', '-', '.'], "_")),
            "parameters": params,
            "responses": {"501": problem_response("not implemented yet")},
        });
        if let Some(item) = paths
            .entry(path.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
        {
            item.insert(method.to_owned(), op);
        }
    }
}

fn drop_dev(doc: &mut Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        paths.retain(|path, _| !path.starts_with("/api/v1/dev/"));
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in ["ClockBody", "DevPaymentResult", "Faults"] {
            schemas.remove(name);
        }
    }
    if let Some(tags) = doc.get_mut("tags").and_then(Value::as_array_mut) {
        tags.retain(|t| t["name"] != "dev");
    }
}

fn constrain_params(path: &str, op: &mut Value) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    let bounds = schema::query_bounds();
    for param in params {
        let Some(name) = param["name"].as_str().map(str::to_owned) else {
            continue;
        };
        for (at, field, extra) in &bounds {
            if (*at == "*" || *at == path)
                && *field == name
                && let Some(target) = param.get_mut("schema")
            {
                schema::merge(target, extra);
            }
        }
    }
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {crate::http::problem::PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    })
}

/// Operations that can refuse with 409 (a conflict with stored state).
const CONFLICTS: [(&str, &str); 10] = [
    ("post", "/api/v1/auth/register"),
    ("delete", "/api/v1/properties/{id}"),
    ("post", "/api/v1/properties/{id}/blocks"),
    ("post", "/api/v1/bookings"),
    ("post", "/api/v1/bookings/{id}/cancel"),
    ("post", "/api/v1/bookings/{id}/accept"),
    ("post", "/api/v1/bookings/{id}/decline"),
    ("post", "/api/v1/bookings/{id}/reviews"),
    ("post", "/api/v1/reviews/{id}/response"),
    ("post", "/api/v1/dev/payment_intents/{id}/succeed"),
];

/// Operations with a rate limit (429 + `Retry-After`).
const LIMITED: [(&str, &str); 3] = [
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/bookings"),
];

/// Declares, on `op`, every refusal it can give: a body 400, 413, 415 and
/// 422; a bearer token 401; a path id 404 (and 403 where a host's right is
/// checked); query or header parameters 422; 409 and 429 where listed
/// above; and 503 while a dependency is away or the server is busy.
fn declare_statuses(path: &str, method: &str, op: &mut Value) {
    let unbuilt = UNBUILT.iter().any(|(p, m)| *p == path && *m == method);
    if unbuilt {
        return;
    }
    let has_body = op.get("requestBody").is_some();
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let ins: Vec<String> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["in"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let has_path = ins.iter().any(|i| i == "path");
    let has_query_or_header = ins.iter().any(|i| i == "query" || i == "header");
    let names_a_resource = has_path || (method == "post" && path == "/api/v1/bookings");
    let listed = |list: &[(&str, &str)]| list.iter().any(|(m, p)| *m == method && *p == path);
    let webhook = path == "/webhooks/stripe";
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let mut add = |status: &str, description: &str, applies: bool| {
        if applies {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| problem_response(description));
        }
    };
    add("400", "malformed JSON", has_body);
    add("401", "missing, invalid or expired access token", secured);
    add(
        "403",
        "signed in, but not allowed to do this to that resource",
        secured && names_a_resource && method != "get",
    );
    add(
        "404",
        "no such resource (or not yours to see)",
        names_a_resource,
    );
    add(
        "409",
        "conflicts with the resource's state",
        listed(&CONFLICTS),
    );
    add("413", "the body is over 64 KiB", has_body);
    add("415", "the body is not JSON", has_body && !webhook);
    add(
        "422",
        "invalid field or parameter",
        !webhook && (has_body || has_query_or_header),
    );
    add(
        "429",
        "too many requests; see Retry-After",
        listed(&LIMITED),
    );
    add(
        "503",
        "a dependency is away or the server is busy; see Retry-After",
        true,
    );
    // Refusals the annotations name without a body are problem+json too.
    for (status, response) in responses.iter_mut() {
        if (status.starts_with('4') || status.starts_with('5'))
            && response.get("content").is_none()
            && let Some(obj) = response.as_object_mut()
        {
            let described = problem_response("");
            obj.insert("content".into(), described["content"].clone());
        }
    }
}
