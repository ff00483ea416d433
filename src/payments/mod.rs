//! Payments: the gateway in use (the dev gateway until Stripe lands) and the
//! handling of payment events, which the dev endpoints drive today and
//! Stripe's webhooks will drive the same way.

pub mod dev;
pub mod events;
pub mod http;
pub mod ledger;
pub mod outbox;
pub mod stripe;
pub mod webhook;
