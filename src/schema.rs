//! The bounds of every client input, in one place: validation checks them
//! and the OpenAPI document declares them from the same constants and
//! patterns, so a request the document calls valid is one the server takes
//! (apart from rules between fields and rules about stored data, which a
//! schema cannot say), and one it calls invalid is refused.
//!
//! Lengths are counted in characters (Unicode scalar values, as JSON
//! Schema's `maxLength` counts them), on the text as sent, before trimming.

use serde_json::{Value, json};
use uuid::Uuid;

pub const EMAIL_MAX_CHARS: usize = 254;
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 1024;
pub const NAME_MAX_CHARS: usize = 100;
pub const BIO_MAX_CHARS: usize = 2000;
pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 5000;
pub const PLACE_MAX_CHARS: usize = 100;
pub const AMENITY_MAX_CHARS: usize = 50;
pub const MAX_AMENITIES: usize = 50;
pub const REASON_MAX_CHARS: usize = 500;
/// Notifications marked read by id in one request.
pub const READ_IDS_MAX: usize = 100;
/// Calendar feed URLs.
pub const URL_MAX_CHARS: usize = 2048;
pub const COMMENT_MAX_CHARS: usize = 2000;
pub const RATING_MIN: i32 = 1;
pub const RATING_MAX: i32 = 5;
pub const MAX_PRICE: i64 = 100_000_000;
pub const MAX_GUESTS: i32 = 50;
pub const MAX_BEDROOMS: i32 = 50;
pub const MIN_NIGHTS: i32 = 1;
pub const MAX_NIGHTS: i32 = 365;
pub const PAGE_MIN: u32 = 1;
pub const PAGE_MAX: u32 = 100;
pub const PAGE_DEFAULT: u32 = 20;
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 255;

/// Rust's `char::is_whitespace` (Unicode `White_Space`), spelt out so that
/// every regex engine reads the patterns alike.
const WHITESPACE: &str =
    r"\t\n\x0b\x0c\r\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// One line of text: no control character (Unicode `Cc`).
pub const ONE_LINE: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";
/// One line with at least one character that is not white space.
pub const ONE_LINE_NOT_BLANK: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$";
/// Text that may have line feeds and tabs, but no other control character.
pub const MULTI_LINE: &str = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$";
/// Multi-line text with at least one character that is not white space.
pub const MULTI_LINE_NOT_BLANK: &str = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x08\x0b-\x1f\x7f-\x9f]*$";
/// An amenity: one line, no comma, not blank.
pub const AMENITY: &str = r"^[^,\x00-\x1f\x7f-\x9f]*[^,\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^,\x00-\x1f\x7f-\x9f]*$";
/// A feed URL: `http://` or `https://` (any case), one line.
pub const FEED_URL: &str = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x1f\x7f-\x9f]*$";
/// A date the server takes: `YYYY-MM-DD` in years 1900 to 9999 (the
/// `format: date` beside it rules out days that do not exist).
pub const DATE: &str = r"^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$";
/// An instant in years 1900 to 9999 (with `format: date-time`).
pub const DATE_TIME: &str = r"^(19[0-9]{2}|[2-9][0-9]{3})-";
/// A UUID in its hyphenated form, the only one the server takes.
pub const UUID: &str =
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// The e-mail pattern: `local@domain.tld` without white space or control
/// characters, white space around it allowed (it is trimmed).
pub fn email_pattern() -> String {
    let part = r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
    let edge = r"[^@.\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
    format!("^[{WHITESPACE}]*{part}+@{edge}{part}*\\.{part}*{edge}[{WHITESPACE}]*$")
}

/// A currency: an ISO 4217 code in any case, white space around it
/// allowed (it is trimmed).
pub fn currency_pattern() -> String {
    let codes: Vec<String> = innkeep_actors::domain::money::ISO_4217
        .iter()
        .map(|code| {
            code.iter()
                .map(|&b| {
                    let c = char::from(b);
                    format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                })
                .collect()
        })
        .collect();
    format!("^[{WHITESPACE}]*({})[{WHITESPACE}]*$", codes.join("|"))
}

/// Checks free text as the patterns above describe it, and returns it
/// trimmed.
pub fn text(raw: &str, max: usize, required: bool, multi_line: bool) -> Result<String, String> {
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !(multi_line && (c == '\n' || c == '\t')))
    {
        return Err("must not contain control characters".into());
    }
    let trimmed = raw.trim();
    if required && trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(trimmed.to_owned())
}

/// A UUID in its hyphenated form (the one the document declares).
pub fn uuid(raw: &str) -> Result<Uuid, &'static str> {
    if raw.len() != 36 {
        return Err("must be a UUID (8-4-4-4-12 hex digits)");
    }
    raw.parse()
        .map_err(|_| "must be a UUID (8-4-4-4-12 hex digits)")
}

fn text_schema(max: usize, pattern: &str) -> Value {
    json!({"maxLength": max, "pattern": pattern})
}

fn int_schema(min: i64, max: i64) -> Value {
    json!({"minimum": min, "maximum": max})
}

fn date_schema() -> Value {
    json!({"format": "date", "pattern": DATE})
}

/// Request body fields: (schema, field, what to add to its schema).
pub fn body_bounds() -> Vec<(&'static str, &'static str, Value)> {
    let amenities = json!({
        "maxItems": MAX_AMENITIES,
        "items": {"type": "string", "maxLength": AMENITY_MAX_CHARS, "pattern": AMENITY},
    });
    let property = [
        ("title", text_schema(TITLE_MAX_CHARS, ONE_LINE_NOT_BLANK)),
        (
            "description",
            text_schema(DESCRIPTION_MAX_CHARS, MULTI_LINE),
        ),
        ("city", text_schema(PLACE_MAX_CHARS, ONE_LINE_NOT_BLANK)),
        ("country", text_schema(PLACE_MAX_CHARS, ONE_LINE_NOT_BLANK)),
        ("latitude", json!({"minimum": -90.0, "maximum": 90.0})),
        ("longitude", json!({"minimum": -180.0, "maximum": 180.0})),
        ("price_per_night", int_schema(1, MAX_PRICE)),
        ("currency", json!({"pattern": currency_pattern()})),
        ("cleaning_fee", int_schema(0, MAX_PRICE)),
        ("max_guests", int_schema(1, MAX_GUESTS.into())),
        ("bedrooms", int_schema(0, MAX_BEDROOMS.into())),
        ("amenities", amenities),
        (
            "cancellation_policy",
            json!({"enum": ["flexible", "moderate", "strict", null]}),
        ),
        (
            "min_nights",
            int_schema(MIN_NIGHTS.into(), MAX_NIGHTS.into()),
        ),
        (
            "max_nights",
            int_schema(MIN_NIGHTS.into(), MAX_NIGHTS.into()),
        ),
    ];
    let mut all = vec![
        (
            "RegisterInput",
            "email",
            json!({"maxLength": EMAIL_MAX_CHARS, "pattern": email_pattern()}),
        ),
        (
            "RegisterInput",
            "password",
            json!({"minLength": PASSWORD_MIN_CHARS, "maxLength": PASSWORD_MAX_CHARS}),
        ),
        (
            "RegisterInput",
            "name",
            text_schema(NAME_MAX_CHARS, ONE_LINE_NOT_BLANK),
        ),
        (
            "UpdateMe",
            "name",
            text_schema(NAME_MAX_CHARS, ONE_LINE_NOT_BLANK),
        ),
        ("UpdateMe", "bio", text_schema(BIO_MAX_CHARS, MULTI_LINE)),
        ("BlockInput", "start", date_schema()),
        ("BlockInput", "end", date_schema()),
        (
            "BlockInput",
            "reason",
            text_schema(REASON_MAX_CHARS, MULTI_LINE),
        ),
        ("CreateBooking", "check_in", date_schema()),
        ("CreateBooking", "check_out", date_schema()),
        ("CreateBooking", "guests", int_schema(1, MAX_GUESTS.into())),
        (
            "CreateBooking",
            "property_id",
            json!({"format": "uuid", "pattern": UUID}),
        ),
        (
            "ReviewInput",
            "rating",
            int_schema(RATING_MIN.into(), RATING_MAX.into()),
        ),
        (
            "ReviewInput",
            "comment",
            text_schema(COMMENT_MAX_CHARS, MULTI_LINE),
        ),
        (
            "ResponseInput",
            "comment",
            text_schema(COMMENT_MAX_CHARS, MULTI_LINE_NOT_BLANK),
        ),
        (
            "ImportInput",
            "url",
            json!({"maxLength": URL_MAX_CHARS, "pattern": FEED_URL}),
        ),
        ("ClockBody", "now", json!({"pattern": DATE_TIME})),
        ("Faults", "transient", int_schema(0, u32::MAX.into())),
    ];
    all.extend(property.map(|(field, bounds)| ("PropertyInput", field, bounds)));
    all
}

/// Query parameters: (path, parameter, what to add to its schema). A path
/// of `*` is every operation with that parameter.
pub fn query_bounds() -> Vec<(&'static str, &'static str, Value)> {
    let uuid_cursor = json!({"format": "uuid", "pattern": UUID});
    let statuses: Vec<&str> = innkeep_actors::domain::BookingStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    vec![
        ("*", "limit", int_schema(PAGE_MIN.into(), PAGE_MAX.into())),
        ("/api/v1/properties", "check_in", date_schema()),
        ("/api/v1/properties", "check_out", date_schema()),
        (
            "/api/v1/properties",
            "guests",
            int_schema(1, MAX_GUESTS.into()),
        ),
        ("/api/v1/properties", "min_price", int_schema(0, i64::MAX)),
        ("/api/v1/properties", "max_price", int_schema(0, i64::MAX)),
        (
            "/api/v1/properties",
            "amenities",
            json!({"maxLength": MAX_AMENITIES * (AMENITY_MAX_CHARS + 1) - 1}),
        ),
        (
            "/api/v1/properties",
            "sort",
            json!({"enum": ["newest", "price_asc", "price_desc", "rating"]}),
        ),
        ("/api/v1/properties/{id}/quote", "check_in", date_schema()),
        ("/api/v1/properties/{id}/quote", "check_out", date_schema()),
        (
            "/api/v1/properties/{id}/quote",
            "guests",
            int_schema(1, MAX_GUESTS.into()),
        ),
        (
            "/api/v1/properties/{id}/availability",
            "from",
            date_schema(),
        ),
        ("/api/v1/properties/{id}/availability", "to", date_schema()),
        ("/api/v1/bookings", "as", json!({"enum": ["guest", "host"]})),
        ("/api/v1/bookings", "status", json!({"enum": statuses})),
        ("/api/v1/bookings", "cursor", uuid_cursor.clone()),
        (
            "/api/v1/properties/{id}/reviews",
            "cursor",
            uuid_cursor.clone(),
        ),
        ("/api/v1/users/{id}/reviews", "cursor", uuid_cursor.clone()),
        ("/api/v1/users/me/notifications", "cursor", uuid_cursor),
        (
            "*",
            "Idempotency-Key",
            json!({"maxLength": IDEMPOTENCY_KEY_MAX_CHARS, "pattern": r"^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$"}),
        ),
    ]
}

/// Adds `extra`'s keys to `schema` (an object).
pub fn merge(schema: &mut Value, extra: &Value) {
    if let (Some(target), Some(extra)) = (schema.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            target.insert(key.clone(), value.clone());
        }
    }
}

/// A copy of `schema` (an object schema of optional, nullable fields) in
/// which `required` fields are required and not nullable.
pub fn requiring(schema: &Value, required: &[&str], description: &str) -> Value {
    let mut out = schema.clone();
    if let Some(props) = out.get_mut("properties").and_then(Value::as_object_mut) {
        for name in required {
            if let Some(field) = props.get_mut(*name) {
                not_null(field);
            }
        }
    }
    if let Some(obj) = out.as_object_mut() {
        obj.insert("required".into(), json!(required));
        obj.insert("description".into(), json!(description));
    }
    out
}

/// Drops `null` from a field's `type` (and `enum`).
fn not_null(field: &mut Value) {
    let Some(obj) = field.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = obj.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        let kept = match kept.as_slice() {
            [one] => one.clone(),
            _ => Value::Array(kept),
        };
        obj.insert("type".into(), kept);
    }
    if let Some(Value::Array(values)) = obj.get("enum") {
        let kept: Vec<Value> = values.iter().filter(|v| !v.is_null()).cloned().collect();
        obj.insert("enum".into(), Value::Array(kept));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_characters_as_sent() {
        assert!(text(&"é".repeat(100), 100, true, false).is_ok());
        assert!(text(&"é".repeat(101), 100, true, false).is_err());
        assert!(text(" a ", 2, true, false).is_err(), "spaces count");
        assert_eq!(text(" a ", 3, true, false), Ok("a".to_owned()));
        assert!(text("  ", 10, true, false).is_err());
        assert!(text("a\nb", 10, true, false).is_err());
        assert!(text("a\nb", 10, true, true).is_ok());
        assert!(text("a\rb", 10, true, true).is_err());
    }

    #[test]
    fn uuids_only_hyphenated() {
        assert!(uuid("67e55044-10b1-426f-9247-bb680e5fe0c8").is_ok());
        assert!(uuid("67e5504410b1426f9247bb680e5fe0c8").is_err());
        assert!(uuid("").is_err());
    }
}
