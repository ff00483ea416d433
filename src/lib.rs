//! innkeep: a property-rental backend. This crate is the `innkeep` binary:
//! its HTTP surface, its service layer and its stores; the booking engine
//! (calendar actors, payments actor, ledger rules) is `innkeep-actors`.
//!
//! Layers, outside in (each may call only the ones below it):
//! - `startup`, `http` and each resource's `http` module: routes,
//!   extractors, problem+json;
//! - `services`: the service layer assembled once;
//! - one service per resource: `auth`, `users`, `properties`, `bookings`
//!   (which calls `payments`, never the other way round), plus
//!   `idempotency`;
//! - `store` (traits split by consumer, PostgreSQL and SQLite backends)
//!   and `cache` (Redis or in-process), and the engine's actors.

pub mod auth;
pub mod bookings;
pub mod cache;
pub mod config;
pub mod domain;
pub mod error;
pub mod files;
pub mod graphql;
pub mod http;
pub mod idempotency;
pub mod imports;
pub mod jobs;
pub mod memory;
pub mod nesting;
pub mod notifications;
pub mod payments;
pub mod properties;
pub mod reviews;
pub mod schema;
pub mod seed;
pub mod services;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod users;
pub mod workers;
