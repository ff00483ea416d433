//! The HTTP surface: one place that assembles every route, with the
//! extractors, problem+json errors, idempotency, metrics and OpenAPI
//! document it uses. Handlers are thin: they parse, call one service, and
//! answer.

pub mod dev;
pub mod extract;
pub mod fallback;
pub mod idempotent;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod page;
pub mod problem;
pub mod webhooks;

use actix_web::web;

use crate::{auth, bookings, imports, notifications, payments, properties, reviews, users};

/// Routes under `/api/v1`.
///
/// Actix tries routes in order, and each pattern with a `{segment}` it
/// tries costs a regex run: the fixed paths come first (a string
/// comparison each), then the hot ones (availability, a booking), then the
/// rest. No two patterns here match one path, so the order changes nothing
/// else.
pub fn api_v1(cfg: &mut web::ServiceConfig, dev_routes: bool) {
    cfg.service(bookings::http::create)
        .service(bookings::http::list)
        .service(properties::http::create)
        .service(properties::http::search)
        .service(auth::http::register)
        .service(auth::http::login)
        .service(auth::http::refresh)
        .service(auth::http::logout)
        .service(users::http::get_me)
        .service(users::http::patch_me)
        .service(payments::http::balance)
        .service(notifications::http::list)
        .service(notifications::http::read)
        .service(properties::http::availability)
        .service(properties::http::get)
        .service(properties::http::quote)
        .service(bookings::http::get)
        .service(bookings::http::cancel)
        .service(bookings::http::accept)
        .service(bookings::http::decline)
        .service(properties::http::update)
        .service(properties::http::unlist)
        .service(properties::http::calendar_ics)
        .service(properties::http::add_block)
        .service(properties::http::remove_block)
        .service(reviews::http::of_property)
        .service(reviews::http::about_guest)
        .service(reviews::http::respond)
        .service(reviews::http::create)
        .service(imports::http::create_import)
        .service(imports::http::list_imports)
        .service(imports::http::remove_import)
        .service(imports::http::refresh_import);
    if dev_routes {
        cfg.service(dev::set_clock)
            .service(dev::succeed)
            .service(dev::fail)
            .service(dev::faults);
    }
}

/// Everything outside `/api/v1`.
pub fn root(cfg: &mut web::ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(webhooks::stripe);
}
