//! Stay dates are calendar dates, half-open `[check_in, check_out)`: a stay
//! checking out on day D does not overlap one checking in on day D.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A half-open range of nights `[start, end)`, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DateRange {
    /// `None` unless `start < end`.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }

    pub fn overlaps(&self, other: &DateRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn nights(&self) -> i64 {
        (self.end - self.start).num_days()
    }
}

/// Longest stay we accept at all; a property's own `max_nights` may be lower.
pub const MAX_STAY_NIGHTS: i64 = 365;
/// How far ahead a stay may start.
pub const MAX_DAYS_AHEAD: i64 = 3 * 365;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StayDatesError {
    #[error("check_out must be after check_in")]
    NotAfter,
    #[error("check_in cannot be in the past")]
    InPast,
    #[error("stays are limited to {MAX_STAY_NIGHTS} nights")]
    TooLong,
    #[error("check_in can be at most {MAX_DAYS_AHEAD} days ahead")]
    TooFarAhead,
}

/// Dates of a stay that can be booked: in order, not in the past, bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StayDates(DateRange);

impl StayDates {
    pub fn parse(
        check_in: NaiveDate,
        check_out: NaiveDate,
        today: NaiveDate,
    ) -> Result<Self, StayDatesError> {
        let range = DateRange::new(check_in, check_out).ok_or(StayDatesError::NotAfter)?;
        if check_in < today {
            return Err(StayDatesError::InPast);
        }
        if range.nights() > MAX_STAY_NIGHTS {
            return Err(StayDatesError::TooLong);
        }
        if (check_in - today).num_days() > MAX_DAYS_AHEAD {
            return Err(StayDatesError::TooFarAhead);
        }
        Ok(Self(range))
    }

    pub fn check_in(&self) -> NaiveDate {
        self.0.start
    }
    pub fn check_out(&self) -> NaiveDate {
        self.0.end
    }
    pub fn range(&self) -> DateRange {
        self.0
    }
    /// At least 1 and at most `MAX_STAY_NIGHTS`, so it fits any integer type.
    pub fn nights(&self) -> u32 {
        u32::try_from(self.0.nights()).unwrap_or(u32::MAX)
    }
}

/// Sorts ranges and merges those that overlap or touch, so clients see one
/// range per unavailable stretch.
pub fn merge_ranges(mut ranges: Vec<DateRange>) -> Vec<DateRange> {
    ranges.sort();
    let mut merged: Vec<DateRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or(NaiveDate::MIN)
    }
    fn r(a: &str, b: &str) -> DateRange {
        DateRange {
            start: d(a),
            end: d(b),
        }
    }

    #[test]
    fn back_to_back_stays_do_not_overlap() {
        assert!(!r("2030-01-01", "2030-01-05").overlaps(&r("2030-01-05", "2030-01-07")));
        assert!(r("2030-01-01", "2030-01-05").overlaps(&r("2030-01-04", "2030-01-07")));
        assert!(r("2030-01-02", "2030-01-03").overlaps(&r("2030-01-01", "2030-01-07")));
    }

    #[test]
    fn stay_dates_are_checked() {
        let today = d("2030-01-01");
        assert_eq!(
            StayDates::parse(d("2030-01-02"), d("2030-01-02"), today),
            Err(StayDatesError::NotAfter)
        );
        assert_eq!(
            StayDates::parse(d("2029-12-31"), d("2030-01-02"), today),
            Err(StayDatesError::InPast)
        );
        assert_eq!(
            StayDates::parse(d("2030-01-01"), d("2031-01-02"), today),
            Err(StayDatesError::TooLong)
        );
        assert_eq!(
            StayDates::parse(d("2033-01-02"), d("2033-01-03"), today),
            Err(StayDatesError::TooFarAhead)
        );
        let ok = StayDates::parse(d("2030-01-01"), d("2030-01-04"), today);
        assert_eq!(ok.map(|s| s.nights()), Ok(3));
    }

    #[test]
    fn merging_joins_touching_and_overlapping_ranges() {
        let merged = merge_ranges(vec![
            r("2030-01-10", "2030-01-12"),
            r("2030-01-01", "2030-01-03"),
            r("2030-01-03", "2030-01-05"),
            r("2030-01-11", "2030-01-15"),
            r("2030-01-20", "2030-01-21"),
        ]);
        assert_eq!(
            merged,
            vec![
                r("2030-01-01", "2030-01-05"),
                r("2030-01-10", "2030-01-15"),
                r("2030-01-20", "2030-01-21")
            ]
        );
    }
}
