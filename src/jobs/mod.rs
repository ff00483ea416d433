//! The job queue (see `crate::domain::jobs` for how it works) and its
//! workers. Which handler runs which kind is the composition root's
//! business (`crate::workers`).

pub mod worker;

pub use crate::domain::jobs::*;
