//! What the store persists, below it and below every feature: the records
//! (users, listings, reviews, notifications, jobs, calendar imports) and
//! the rules that come with them (an e-mail address valid by construction,
//! a job's statuses, a listing's search parameters). The booking engine's
//! own types (`Booking`, `Money`, …) live in `innkeep-actors`. Each feature
//! module re-exports its part (`crate::users::User` is
//! `crate::domain::users::User`); the store names only this.

pub mod imports;
pub mod jobs;
pub mod notifications;
pub mod properties;
pub mod reviews;
pub mod users;
