//! Black-box API tests: the real server, a real database, HTTP.

mod support;

mod auth;
mod bad_input;
mod ops;
mod properties;
