//! The OpenAPI document, generated from the handlers' annotations, and the
//! offline docs page (Swagger UI with its assets inside the binary).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{auth, bookings, payments, properties, users};

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
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "users", description = "The caller's profile"),
        (name = "properties", description = "Listings, search, quotes, calendars"),
        (name = "bookings", description = "Holding dates, paying, cancelling"),
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
