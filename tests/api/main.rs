//! Black-box API tests: the real server, a real database, HTTP.

mod support;

mod fake_stripe;
mod proxy;

mod auth;
mod bad_input;
mod bookings;
mod email;
mod graphql;
mod hardening;
mod imports;
mod jobs;
mod ledger_property;
mod nesting;
mod notifications;
mod ops;
mod parsers;
mod payments;
mod plans;
mod processes;
mod properties;
mod reviews;
mod schema;
mod search;
mod stripe;
