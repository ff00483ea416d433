//! Calendar imports: a host's calendars on other sites (iCal feeds), kept
//! in sync as blocks, so a night sold elsewhere is not sold here too. Each
//! sync replaces the import's blocks with the feed's events (an event gone
//! from the feed frees its nights); an event over an active booking or
//! another block is reported in `conflicts` and never cancels anything.

pub mod feed;
pub mod fetch;
pub mod http;
pub mod ical;
pub mod service;

pub use crate::domain::imports::*;
pub use feed::{Feed, parse_feed};
pub use service::ImportService;
