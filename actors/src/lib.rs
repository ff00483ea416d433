//! The innkeep booking engine: domain types (money, stay dates, prices,
//! cancellation policies), the injected clock, and (in later slices) the
//! per-property calendar actors, the payments actor and the ledger.
//!
//! Nothing in this crate knows about HTTP: the web layer calls into it, and it
//! reaches storage and payment providers only through the traits in `ports`.

pub mod calendar;
pub mod clock;
pub mod domain;
pub mod ledger;
pub mod payments;
pub mod ports;
pub mod registry;

pub use calendar::{CalendarActor, CalendarError};
pub use clock::{Clock, DevClock, SystemClock};
pub use payments::PaymentsActor;
pub use registry::CalendarRegistry;
