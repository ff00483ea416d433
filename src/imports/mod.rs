//! Calendar imports: a host's calendars on other sites (iCal feeds), kept
//! in sync as blocks, so a night sold elsewhere is not sold here too. Each
//! sync replaces the import's blocks with the feed's events (an event gone
//! from the feed frees its nights); an event over an active booking or
//! another block is reported in `conflicts` and never cancels anything.

pub mod fetch;
pub mod http;
pub mod service;

use chrono::{DateTime, NaiveDate, Utc};
use innkeep_actors::domain::DateRange;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use service::ImportService;

/// Events further ahead than this are not imported.
pub const HORIZON_DAYS: i64 = 730;
/// At most this many events are read from one feed.
pub const MAX_EVENTS: usize = 5_000;

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

/// The nights an iCal feed's events take, from `today` to the horizon,
/// merged where they overlap or touch. DATE values as they are (`DTEND`
/// exclusive); a date-time event takes the nights of its dates; an event
/// without `DTEND` takes one night.
pub fn parse_feed(text: &str, today: NaiveDate) -> Result<Vec<DateRange>, String> {
    let unfolded = icalendar::parser::unfold(text);
    let calendar = icalendar::parser::read_calendar(&unfolded)
        .map_err(|e| format!("not an iCalendar feed: {}", e.lines().next().unwrap_or("")))?;
    let horizon = today + chrono::Duration::days(HORIZON_DAYS);
    let mut ranges = Vec::new();
    let mut events = 0;
    for component in calendar.components.iter().flat_map(|c| {
        // A feed is VCALENDAR with VEVENTs inside (some nest deeper).
        std::iter::once(c).chain(c.components.iter())
    }) {
        if !component.name.as_str().eq_ignore_ascii_case("VEVENT") {
            continue;
        }
        events += 1;
        if events > MAX_EVENTS {
            return Err(format!("the feed has more than {MAX_EVENTS} events"));
        }
        let date_of = |name: &str| {
            component
                .properties
                .iter()
                .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
                .and_then(|p| date(p.val.as_str()))
        };
        let Some(start) = date_of("DTSTART") else {
            continue;
        };
        let end = date_of("DTEND").unwrap_or(start + chrono::Duration::days(1));
        let (start, end) = (start.max(today), end.min(horizon));
        if let Some(range) = DateRange::new(start, end) {
            ranges.push(range);
        }
    }
    if events == 0 && !text.contains("BEGIN:VCALENDAR") {
        return Err("not an iCalendar feed".into());
    }
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<DateRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => {
                if r.end > last.end {
                    *last = DateRange::new(last.start, r.end).unwrap_or(*last);
                }
            }
            _ => merged.push(r),
        }
    }
    Ok(merged)
}

/// `20270110` or `20270110T150000Z` (its date).
fn date(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.get(..8)?, "%Y%m%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn a_feed_becomes_merged_ranges_from_today() {
        let feed = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other site//EN\r\n\
            BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20270110\r\nDTEND;VALUE=DATE:20270113\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:b\r\nDTSTART;VALUE=DATE:20270112\r\nDTEND;VALUE=DATE:20270115\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:c\r\nDTSTART:20270201T150000Z\r\nDTEND:20270203T110000Z\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:d\r\nDTSTART;VALUE=DATE:20270301\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:past\r\nDTSTART;VALUE=DATE:20200101\r\nDTEND;VALUE=DATE:20200105\r\nEND:VEVENT\r\n\
            END:VCALENDAR\r\n";
        let ranges = parse_feed(feed, d("2026-12-01")).unwrap_or_else(|e| panic!("{e}"));
        let spans: Vec<(NaiveDate, NaiveDate)> = ranges.iter().map(|r| (r.start, r.end)).collect();
        assert_eq!(
            spans,
            [
                (d("2027-01-10"), d("2027-01-15")),
                (d("2027-02-01"), d("2027-02-03")),
                (d("2027-03-01"), d("2027-03-02")),
            ]
        );
    }

    #[test]
    fn what_is_not_a_feed_is_refused() {
        assert!(parse_feed("<html>hello</html>", d("2026-12-01")).is_err());
        assert!(parse_feed("", d("2026-12-01")).is_err());
        let empty = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n";
        assert_eq!(parse_feed(empty, d("2026-12-01")).ok(), Some(Vec::new()));
    }
}
