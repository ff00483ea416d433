//! A calendar import (an external iCal feed a host subscribes a listing
//! to) as stored, and the span of nights a feed blocks.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Span {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// An import as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CalendarImport {
    pub id: Uuid,
    pub property_id: Uuid,
    pub url: String,
    /// `pending`, `ok` or `failed`.
    pub status: String,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub conflicts: sqlx::types::Json<Vec<Span>>,
    pub created_at: DateTime<Utc>,
    /// What the last good sync read: see [`ImportView`].
    pub events: i32,
    pub skipped: i32,
    pub warnings: sqlx::types::Json<Vec<String>>,
}

/// An import as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportView {
    pub id: Uuid,
    pub property_id: Uuid,
    pub url: String,
    /// `pending`, `ok` or `failed`.
    pub status: String,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The feed's events that overlap a booking or another block here:
    /// not imported, and nothing here was cancelled for them.
    pub conflicts: Vec<Span>,
    /// The events the last good sync read from the feed (recurring ones
    /// once each, however many nights they take).
    pub events: i32,
    /// The events it could not read (no or unreadable dates, a year out
    /// of range, an end before the start): they block nothing.
    pub skipped: i32,
    /// Why, for the first few, and what else the reader should know (an
    /// unknown time zone, recurrences cut at a bound).
    pub warnings: Vec<String>,
}

impl From<CalendarImport> for ImportView {
    fn from(i: CalendarImport) -> Self {
        Self {
            id: i.id,
            property_id: i.property_id,
            url: i.url,
            status: i.status,
            last_synced_at: i.last_synced_at,
            last_error: i.last_error,
            conflicts: i.conflicts.0,
            events: i.events,
            skipped: i.skipped,
            warnings: i.warnings.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportList {
    pub data: Vec<ImportView>,
}

/// `POST /properties/{id}/calendar-imports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportInput {
    /// An `http` or `https` iCal feed.
    pub url: String,
}

/// The block reason that marks an import's blocks.
pub fn block_reason(import_id: Uuid) -> String {
    format!("import:{import_id}")
}
