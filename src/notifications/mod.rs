//! Notifications: what a booking's change tells its guest and host, written
//! in the change's own transaction (`on_transition`, attached to every
//! transition by `BookingService::transition`), and read in-app:
//! `GET /users/me/notifications` and `POST /users/me/notifications/read`.

pub mod email;
pub mod http;
pub mod service;

pub use crate::domain::notifications::*;
pub use service::NotificationService;
