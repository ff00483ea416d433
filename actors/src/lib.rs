//! The innkeep booking engine: domain types (money, stay dates, prices,
//! cancellation policies, refunds), the injected clock, the per-property
//! calendar actors and their registry, the payments actor that carries out
//! the outbox, and the ledger's postings and checks.
//!
//! Nothing in this crate knows about HTTP: the web layer calls into it, and it
//! reaches storage and payment providers only through the traits in `ports`.

pub mod calendar;
pub mod clock;
pub mod domain;
pub mod ledger;
pub mod payments;
pub mod ports;

pub use calendar::{CalendarActor, CalendarError, CalendarRegistry};
pub use clock::{Clock, DevClock, SystemClock};
pub use payments::PaymentsActor;
