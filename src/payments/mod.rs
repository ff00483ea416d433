//! Payments: the gateways (`stripe` on async-stripe, `dev` which moves no
//! money), the outbox through which every gateway call is made, the
//! ledger's service side, and Stripe's signed webhooks. Nothing here knows
//! about bookings' states: `bookings` calls into payments, never the other
//! way round.

pub mod dev;
pub mod events;
pub mod http;
pub mod ledger;
pub mod outbox;
pub mod stripe;
pub mod webhook;
