//! Paging of lists, as every list endpoint (REST and GraphQL) reads it: a
//! `limit` of 1 to 100 (20 when not given) and, for lists paged by id, a
//! `cursor`. Names nothing above the error type, so any feature may use it.

use uuid::Uuid;

use crate::error::Validator;

pub const DEFAULT_LIMIT: u32 = crate::schema::PAGE_DEFAULT;
pub const MAX_LIMIT: u32 = crate::schema::PAGE_MAX;

/// A list's `limit`: 1 to 100, 20 when not given.
pub fn page_size(v: &mut Validator, limit: Option<u32>) -> u32 {
    match limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            v.fail("limit", format!("must be between 1 and {MAX_LIMIT}"));
            DEFAULT_LIMIT
        }
    }
}

/// A list paged by id: its `limit` (as `page_size`) and its `cursor`, the
/// id of the last row of the previous page.
pub fn id_page(v: &mut Validator, limit: Option<u32>, cursor: Option<&str>) -> (Option<Uuid>, u32) {
    let limit = page_size(v, limit);
    let cursor = cursor.and_then(|c| v.check("cursor", crate::schema::uuid(c)));
    (cursor, limit)
}
