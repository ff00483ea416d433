//! The OpenAPI document, generated from the handlers' annotations, and the
//! offline docs page (Swagger UI with its assets inside the binary).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::{auth, bookings, payments, properties, reviews, users};

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

/// Declares, on every operation, the refusals any such operation can give
/// (a body: 400, 413, 415, 422; a bearer token: 401; a path id: 404; query
/// parameters: 422; and 503 while a dependency is away), so that the
/// document lists every status the server sends.
struct StandardRefusals;

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::http::problem::PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
        .into()
}

fn declare(op: &mut Operation) {
    let has_body = op.request_body.is_some();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let params: Vec<ParameterIn> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.parameter_in.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has_path = params.iter().any(|p| matches!(p, ParameterIn::Path));
    let has_query_or_header = params
        .iter()
        .any(|p| matches!(p, ParameterIn::Query | ParameterIn::Header));
    let mut add = |status: &str, description: &str, applies: bool| {
        if applies && !op.responses.responses.contains_key(status) {
            op.responses
                .responses
                .insert(status.to_owned(), problem(description));
        }
    };
    add("400", "malformed JSON", has_body);
    add("401", "missing, invalid or expired access token", secured);
    add("404", "no such resource (or not yours to see)", has_path);
    add("413", "the body is over 64 KiB", has_body);
    add("415", "the body is not JSON", has_body);
    add(
        "422",
        "invalid field or parameter",
        has_body || has_query_or_header,
    );
    add(
        "503",
        "a dependency is away or the server is busy; see Retry-After",
        true,
    );
}

impl Modify for StandardRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                declare(op);
            }
        }
    }
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
    modifiers(&BearerAuth, &StandardRefusals),
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

/// The document, with the payment gateway in use stated in its description.
pub fn document(payments: &str) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let gateway = if payments == "dev" {
        "Payments: the DEV gateway (records payments locally, never moves money)."
    } else {
        "Payments: Stripe."
    };
    let description = doc.info.description.take().unwrap_or_default();
    doc.info.description = Some(format!("{description}\n\n{gateway}"));
    doc
}
