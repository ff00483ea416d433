//! A user account as stored, and the values an account is made of
//! (`Email`, `Password`, `Name`, `Bio`), each valid by construction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::schema;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub bio: String,
    pub created_at: DateTime<Utc>,
}

/// An e-mail address, trimmed and lower-cased: unique case-insensitively
/// because the stored form is the normalised one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.chars().count() > schema::EMAIL_MAX_CHARS {
            return Err("must be at most 254 characters");
        }
        let email = raw.trim().to_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err("must be an e-mail address");
        };
        let sane = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !sane {
            return Err("must be an e-mail address");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed: at least 8 characters, at most 1,024 (argon2
/// would hash more, but nobody types more, and it bounds the work).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = schema::PASSWORD_MIN_CHARS;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err("must be at least 8 characters");
        }
        if raw.chars().count() > schema::PASSWORD_MAX_CHARS {
            return Err("must be at most 1024 characters");
        }
        if is_common(raw) {
            return Err("is one of the most common passwords; choose another");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Whether `password` is on the list of the most common ones (any case).
fn is_common(password: &str) -> bool {
    static COMMON: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let list = COMMON.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    });
    list.contains(password.to_lowercase().as_str())
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, String> {
        schema::text(raw, schema::NAME_MAX_CHARS, true, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A checked change to a profile: what `PATCH /users/me` may set.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    pub name: Option<Name>,
    pub bio: Option<Bio>,
}

/// A profile text: at most 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bio(String);

impl Bio {
    /// At most 2,000 characters, lines and tabs allowed, no other control
    /// character (PostgreSQL refuses NUL in text: it would be a 500).
    pub fn parse(raw: &str) -> Result<Self, String> {
        schema::text(raw, schema::BIO_MAX_CHARS, false, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Ana@Example.COM ").map(|e| e.0),
            Ok("ana@example.com".into())
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@example",
            "ana@.com",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
        // Characters, not bytes, as the document's maxLength counts.
        let long = format!("{}@example.com", "é".repeat(242));
        assert!(Email::parse(&long).is_ok());
        assert!(Email::parse(&format!("é{long}")).is_err());
    }

    #[test]
    fn passwords_need_eight_characters_and_not_a_common_one() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345679x").is_ok());
        for common in ["password", "PassWord", "12345678", "qwerty123", "iloveyou"] {
            assert!(Password::parse(common).is_err(), "{common} accepted");
        }
        // characters, not bytes
        assert!(Password::parse("ééééééé").is_err());
        assert!(Password::parse(&"x".repeat(1025)).is_err());
        assert!(Password::parse(&"é".repeat(1024)).is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Ana ").map(|n| n.0), Ok("Ana".into()));
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(101)).is_err());
        assert!(Name::parse("a\u{0}b").is_err());
        assert!(Name::parse(&"é".repeat(100)).is_ok());
        assert!(Name::parse(&format!(" {}", "x".repeat(100))).is_err());
    }
}
