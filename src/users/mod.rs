//! Users: the account record, the values an account is made of (`Email`,
//! `Password`, `Name`, `Bio`, each valid by construction) and the profile
//! service behind `GET/PATCH /users/me`.

pub mod http;
pub mod service;

pub use crate::domain::users::*;
