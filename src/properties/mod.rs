//! Properties: the listing a host publishes (`body`), its search
//! (`search`), its price quote, and its calendar as hosts and guests see it
//! (`calendar`: blocks, availability, the iCalendar feed).

pub mod body;
pub mod cached;
pub mod calendar;
pub mod http;
pub mod search;
pub mod service;

pub use crate::domain::properties::*;
pub use service::PropertyService;
