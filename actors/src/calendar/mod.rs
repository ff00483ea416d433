//! Property calendars: one actor per property owns its calendar
//! (`actor`), publishes what readers may see without asking it (`view`),
//! tells whoever listens that it changed (`feed`), and is started on first
//! use and forgotten when idle (`registry`).

mod actor;
mod committer;
mod feed;
mod registry;
mod view;

pub use actor::{Apply, CalendarActor, CalendarError, Invalidate, OnStop, Unavailable};
pub use committer::{CommitStats, SharedCommits};
pub use feed::ChangeFeed;
pub use registry::CalendarRegistry;
pub use view::CalendarView;
