//! Reviews: after a completed stay, within 14 days of check-out, the guest
//! reviews the stay and the host reviews the guest, once each; the host may
//! answer a guest's review once. A property's `rating_avg` and
//! `review_count` move in the review's own transaction.

pub mod http;
pub mod service;

pub use crate::domain::reviews::*;
pub use service::ReviewService;
