//! innkeep: a property-rental backend. This crate is the `innkeep` binary and
//! its HTTP surface; the booking engine lives in `innkeep-actors`.
//!
//! Layers, outside in: `http` (actix-web routes, extractors, problem+json) →
//! one service module per resource (`auth`, `users`, `properties`) →
//! `store` (the `Store` trait with PostgreSQL and SQLite backends) and
//! `cache` (Redis or in-process).

pub mod auth;
pub mod bookings;
pub mod cache;
pub mod config;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod payments;
pub mod properties;
pub mod seed;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod users;
