//! Stay dates are calendar dates, half-open `[check_in, check_out)`: a stay
//! checking out on day D does not overlap one checking in on day D.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

/// A calendar date as a client may send one: `YYYY-MM-DD` in the years
/// 1900 to 9999. Parsed once at the edge, so no date arithmetic on client
/// input can overflow (chrono itself accepts years up to ±262,143).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CalendarDate(NaiveDate);

#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum CalendarDateError {
    #[error("must be a date as YYYY-MM-DD")]
    Malformed,
    #[error("must be between 1900-01-01 and 9999-12-31")]
    OutOfRange,
}

impl CalendarDate {
    pub const MIN_YEAR: i32 = 1900;
    pub const MAX_YEAR: i32 = 9999;

    pub fn new(date: NaiveDate) -> Result<Self, CalendarDateError> {
        use chrono::Datelike;
        if (Self::MIN_YEAR..=Self::MAX_YEAR).contains(&date.year()) {
            Ok(Self(date))
        } else {
            Err(CalendarDateError::OutOfRange)
        }
    }

    /// `date`, or the nearest bound of the range for one outside it (for
    /// dates the server itself derived, never for a client's).
    pub fn saturating(date: NaiveDate) -> Self {
        let lowest = NaiveDate::from_ymd_opt(Self::MIN_YEAR, 1, 1).unwrap_or(NaiveDate::MIN);
        let highest = NaiveDate::from_ymd_opt(Self::MAX_YEAR, 12, 31).unwrap_or(NaiveDate::MAX);
        Self(date.clamp(lowest, highest))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

impl From<CalendarDate> for NaiveDate {
    fn from(d: CalendarDate) -> Self {
        d.0
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for CalendarDate {
    type Err = CalendarDateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        // `YYYY-MM-DD` read digit by digit: every booking and availability
        // request parses two dates, and chrono's format-string parser was
        // a percent of the server's time refusing taken dates (perf).
        // Anything else goes to that parser, so what is accepted is
        // unchanged.
        let date = match full_date(s) {
            Some(date) => date,
            None => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| CalendarDateError::Malformed)?,
        };
        Self::new(date)
    }
}

/// The date of an RFC 3339 `full-date` (`2026-12-06`), if `s` is one.
fn full_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(&b[..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&b[5..7])?, number(&b[8..])?)
}

impl<'de> Deserialize<'de> for CalendarDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

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

    #[test]
    fn full_dates_read_by_hand_agree_with_chrono() {
        for s in [
            "2026-12-06",
            "2024-02-29",
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "0000-01-01",
            "9999-12-31",
            "2026-1-05",
            "2026/12/06",
            "20a6-12-06",
            "2026-12-0x",
            "+026-12-06",
            "-026-12-06",
            "2026-12-06T",
            "",
        ] {
            let chrono = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
            // What it reads, it reads as chrono does; the rest goes to chrono.
            if let Some(date) = full_date(s) {
                assert_eq!(Some(date), chrono, "{s}");
            }
            assert_eq!(
                s.parse::<CalendarDate>().ok(),
                chrono.and_then(|date| CalendarDate::new(date).ok()),
                "{s}"
            );
        }
    }
    fn r(a: &str, b: &str) -> DateRange {
        DateRange {
            start: d(a),
            end: d(b),
        }
    }

    #[test]
    fn client_dates_are_bounded_to_years_1900_to_9999() {
        assert_eq!(
            "2030-01-02".parse::<CalendarDate>().map(CalendarDate::date),
            Ok(d("2030-01-02"))
        );
        assert!("1900-01-01".parse::<CalendarDate>().is_ok());
        assert!("9999-12-31".parse::<CalendarDate>().is_ok());
        for (raw, err) in [
            ("1899-12-31", CalendarDateError::OutOfRange),
            ("10000-01-01", CalendarDateError::Malformed), // not YYYY
            ("+262142-12-01", CalendarDateError::OutOfRange),
            ("-0001-01-01", CalendarDateError::OutOfRange),
            ("2030-02-30", CalendarDateError::Malformed),
            ("tomorrow", CalendarDateError::Malformed),
            ("", CalendarDateError::Malformed),
        ] {
            assert_eq!(raw.parse::<CalendarDate>(), Err(err), "{raw}");
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
