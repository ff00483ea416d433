//! Authentication: argon2id password hashes, short-lived JWT access tokens
//! and rotating refresh tokens (stored hashed; a reused one revokes its whole
//! family), plus the brute-force limit on logins.

pub mod http;
pub mod limits;
pub mod password;
pub mod service;
pub mod tokens;

pub use service::AuthService;
pub use tokens::TokenService;
