//! From a feed's events to the nights they take (`../shared/api.md`,
//! calendar imports): DATE values as they are (`DTEND` exclusive); a
//! DATE-TIME event (UTC, with a `TZID`, or floating, read as UTC) takes
//! every night from the UTC date of its start to that of its end, at least
//! one; `RRULE`, `RDATE`, `EXDATE` and `RECURRENCE-ID` overrides expanded
//! from today to the horizon; `STATUS:CANCELLED` and `TRANSP:TRANSPARENT`
//! take nothing. An event that cannot be read is skipped, counted, and
//! said in `warnings`; the rest of the feed still counts.
//!
//! Expansion is bounded whatever the feed says: at most
//! [`MAX_OCCURRENCES`] occurrences in the window, [`MAX_STEPS`] steps of
//! the recurrence iterators and [`MAX_EXPANSION`] of time for a feed;
//! what a bound cut is said in `warnings`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use innkeep_actors::domain::{DateRange, merge_ranges};
use rrule::{Frequency, RRule, RRuleSet, Tz, Unvalidated};

use super::ical::{self, Event, Property};

/// Events further ahead than this are not imported.
pub const HORIZON_DAYS: i64 = 730;
/// Occurrences of recurring events a feed may have in the window.
pub const MAX_OCCURRENCES: usize = 10_000;
/// Steps of the recurrence iterators for a feed, occurrences before the
/// window included (a rule from long ago is first moved close to today
/// where it can be without changing its occurrences).
pub const MAX_STEPS: usize = 200_000;
/// Time the recurrence iterators may take for a feed.
pub const MAX_EXPANSION: Elapsed = Elapsed::from_secs(2);
/// Warnings kept for an import.
pub const MAX_WARNINGS: usize = 10;
/// Characters of a feed's value quoted in a warning.
const QUOTED_CHARS: usize = 40;

/// What a feed says: the nights its events take (merged where they touch
/// or overlap), how many events were read and how many skipped, and why.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Feed {
    pub ranges: Vec<DateRange>,
    pub events: usize,
    pub skipped: usize,
    pub warnings: Vec<String>,
}

/// Reads `text` as of `today`; `Err` when it is no feed at all (see
/// [`ical::read`]).
pub fn parse_feed(text: &str, today: NaiveDate) -> Result<Feed, String> {
    let ical::Calendar { events, zones } = ical::read(text)?;
    let mut reader = Reader::new(today, zones);
    // RECURRENCE-ID overrides replace their occurrence of the series of
    // the same UID: that occurrence is left out of the series.
    let mut overridden: HashMap<&str, Vec<DateTime<Tz>>> = HashMap::new();
    for event in &events {
        if let (Some(uid), Some(id)) = (event.value("UID"), event.get("RECURRENCE-ID"))
            && let Ok(at) = reader.when(id)
        {
            overridden.entry(uid).or_default().push(at.at);
        }
    }
    let mut feed = Feed::default();
    for event in &events {
        let overrides = event
            .value("UID")
            .and_then(|uid| overridden.get(uid))
            .map_or(&[][..], Vec::as_slice);
        match reader.event(event, overrides) {
            Ok(()) => feed.events += 1,
            Err(reason) => {
                feed.skipped += 1;
                let uid = event
                    .value("UID")
                    .map(|u| format!(" ({})", quoted(u)))
                    .unwrap_or_default();
                reader.warn(format!(
                    "event at line {}{uid} skipped: {reason}",
                    event.line
                ));
            }
        }
    }
    feed.ranges = merge_ranges(reader.nights);
    feed.warnings = reader.warnings;
    Ok(feed)
}

/// A value of a date property: an instant, and whether it was a DATE
/// (then midnight UTC of that date).
#[derive(Debug, Clone, Copy)]
struct When {
    at: DateTime<Tz>,
    all_day: bool,
}

struct Reader {
    today: NaiveDate,
    /// The feed's own zones (`ical::Calendar::zones`).
    zones: HashMap<String, i32>,
    horizon: NaiveDate,
    nights: Vec<DateRange>,
    warnings: Vec<String>,
    warned: usize,
    occurrences: usize,
    steps: usize,
    started: Instant,
    /// Whether a bound of the expansion was reached (said once).
    cut: bool,
}

impl Reader {
    fn new(today: NaiveDate, zones: HashMap<String, i32>) -> Self {
        Self {
            today,
            zones,
            horizon: today + Duration::days(HORIZON_DAYS),
            nights: Vec::new(),
            warnings: Vec::new(),
            warned: 0,
            occurrences: 0,
            steps: 0,
            started: Instant::now(),
            cut: false,
        }
    }

    /// Keeps the first [`MAX_WARNINGS`] warnings, and then says how many
    /// more there were.
    fn warn(&mut self, warning: String) {
        self.warned += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        } else if let Some(last) = self.warnings.last_mut() {
            *last = format!("… and {} more warnings", self.warned - (MAX_WARNINGS - 1));
        }
    }

    fn warn_once(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warn(warning);
        }
    }

    /// Reads one event and blocks what it takes. Everything is read
    /// before anything is blocked: a skipped event blocks nothing.
    fn event(&mut self, event: &Event, overrides: &[DateTime<Tz>]) -> Result<(), String> {
        let start = self.when(event.get("DTSTART").ok_or("it has no DTSTART")?)?;
        let length = if let Some(end) = event.get("DTEND") {
            let end = self.when(end)?;
            if end.at < start.at {
                return Err(format!(
                    "it ends ({}) before it starts ({})",
                    quoted(&end_value(event, "DTEND")),
                    quoted(&end_value(event, "DTSTART"))
                ));
            }
            end.at - start.at
        } else if let Some(duration) = event.value("DURATION") {
            length(duration).ok_or_else(|| format!("DURATION {} is not read", quoted(duration)))?
        } else if start.all_day {
            Duration::days(1)
        } else {
            Duration::zero()
        };
        let blocks = !event
            .value("STATUS")
            .is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"))
            && !event
                .value("TRANSP")
                .is_some_and(|t| t.eq_ignore_ascii_case("TRANSPARENT"));
        if !blocks {
            return Ok(());
        }
        // An override is the one occurrence it gives.
        let recurs = event.get("RECURRENCE-ID").is_none()
            && (event.get("RRULE").is_some() || event.get("RDATE").is_some());
        if !recurs {
            self.block(start.at, length);
            return Ok(());
        }
        for at in self.occurrences(event, start, length, overrides) {
            self.block(at, length);
        }
        Ok(())
    }

    /// The starts of a recurring event's occurrences that may take a
    /// night in the window: DTSTART (always the first), its RDATEs and
    /// what its RRULEs give, less its EXDATEs and the occurrences that
    /// overrides replace.
    fn occurrences(
        &mut self,
        event: &Event,
        start: When,
        length: Duration,
        overrides: &[DateTime<Tz>],
    ) -> Vec<DateTime<Tz>> {
        let window = (
            midnight(self.today) - length - Duration::days(1),
            midnight(self.horizon),
        );
        let mut excluded: HashSet<i64> = self
            .list(event, "EXDATE")
            .iter()
            .chain(overrides)
            .map(DateTime::timestamp)
            .collect();
        let mut starts = Vec::new();
        let mut dates = vec![start.at];
        dates.extend(self.list(event, "RDATE"));
        self.expand(dates, false, window, &mut excluded, &mut starts);
        for rule in event.all("RRULE") {
            match self.rule(&rule.value, start, window.0) {
                Ok(Some(set)) => self.expand(&set.limit(), true, window, &mut excluded, &mut starts),
                Ok(None) => {}
                Err(reason) => self.warn(format!(
                    "event at line {}: RRULE {} is not understood ({reason}); only its other dates block",
                    event.line,
                    quoted(&rule.value)
                )),
            }
        }
        starts
    }

    /// Takes the starts `dates` gives inside `window` into `starts`, each
    /// once, within the feed's bounds (`ordered`: `dates` come in order, as
    /// a rule gives them, so the first past the window ends them).
    fn expand(
        &mut self,
        dates: impl IntoIterator<Item = DateTime<Tz>>,
        ordered: bool,
        (from, until): (DateTime<Tz>, DateTime<Tz>),
        taken: &mut HashSet<i64>,
        starts: &mut Vec<DateTime<Tz>>,
    ) {
        for at in dates {
            self.steps += 1;
            if self.steps > MAX_STEPS || self.started.elapsed() > MAX_EXPANSION {
                self.cut(format!(
                    "recurring events were expanded only up to {MAX_STEPS} steps or {} s: later occurrences may be missing",
                    MAX_EXPANSION.as_secs()
                ));
                return;
            }
            if at >= until {
                if ordered {
                    return;
                }
                continue;
            }
            if at < from || !taken.insert(at.timestamp()) {
                continue;
            }
            if self.occurrences >= MAX_OCCURRENCES {
                self.cut(format!(
                    "the feed has more than {MAX_OCCURRENCES} occurrences of recurring events: the rest block nothing"
                ));
                return;
            }
            self.occurrences += 1;
            starts.push(at);
        }
    }

    fn cut(&mut self, warning: String) {
        if !self.cut {
            self.cut = true;
            self.warn(warning);
        }
    }

    /// An RRULE for an event starting at `start`, of which only the
    /// occurrences from `from` matter: `None` when it has none there.
    /// UNTIL is read here (the rule wants it in UTC); a rule without a
    /// COUNT that started long ago starts again a whole number of periods
    /// later, close to `from`, which leaves its occurrences as they were.
    fn rule(
        &mut self,
        value: &str,
        start: When,
        from: DateTime<Tz>,
    ) -> Result<Option<RRuleSet>, String> {
        let mut until = None;
        let mut parts = Vec::new();
        for part in value.trim().split(';') {
            match part.split_once('=') {
                Some((name, value)) if name.trim().eq_ignore_ascii_case("UNTIL") => {
                    let mut end = self.time(value, None, start.all_day)?.at;
                    if value.trim().len() == 8 {
                        // A DATE: the whole of that day.
                        end += Duration::days(1) - Duration::seconds(1);
                    }
                    until = Some(end.with_timezone(&Tz::UTC));
                }
                _ if part.trim().is_empty() => {}
                _ => parts.push(part),
            }
        }
        let mut rule: RRule<Unvalidated> = parts.join(";").parse().map_err(|e| format!("{e}"))?;
        if let Some(until) = until {
            if until < from {
                return Ok(None);
            }
            rule = rule.until(until);
        }
        let first = if rule.get_count().is_none() {
            rebase(start.at, rule.get_freq(), rule.get_interval(), from)
        } else {
            start.at
        };
        rule.build(first).map(Some).map_err(|e| format!("{e}"))
    }

    /// The values of every `name` property of the event (comma lists):
    /// those that cannot be read are said and left out.
    fn list(&mut self, event: &Event, name: &str) -> Vec<DateTime<Tz>> {
        let mut out = Vec::new();
        for property in event.all(name) {
            let tz = property.param("TZID");
            let date = property
                .param("VALUE")
                .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
            for value in property.value.split(',') {
                // A PERIOD (`start/end`) counts from its start.
                let value = value.split('/').next().unwrap_or(value);
                match self.time(value, tz, date) {
                    Ok(when) => out.push(when.at),
                    Err(reason) => self.warn(format!(
                        "event at line {}: {name} left out: {reason}",
                        event.line
                    )),
                }
            }
        }
        out
    }

    /// A date property's value.
    fn when(&mut self, property: &Property) -> Result<When, String> {
        let date = property
            .param("VALUE")
            .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
        self.time(&property.value, property.param("TZID"), date)
            .map_err(|reason| format!("{} {reason}", property.name))
    }

    /// `YYYYMMDD` (or any value of a `VALUE=DATE` property: its date), or
    /// `YYYYMMDDTHHMMSS` with `Z` (UTC), a `TZID` or neither (floating,
    /// read as UTC). Years 1900 to 9999 only, as everywhere here.
    fn time(&mut self, value: &str, tz: Option<&str>, date: bool) -> Result<When, String> {
        let value = value.trim();
        let bad = || format!("{} is not a date", quoted(value));
        let digits = |from: usize, to: usize| -> Result<u32, String> {
            let part = value.get(from..to).ok_or_else(bad)?;
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let year = digits(0, 4)?;
        if !(1900..=9999).contains(&year) {
            return Err(format!(
                "{} is out of range (years 1900 to 9999)",
                quoted(value)
            ));
        }
        let day =
            NaiveDate::from_ymd_opt(year as i32, digits(4, 6)?, digits(6, 8)?).ok_or_else(bad)?;
        if date || value.len() == 8 {
            return Ok(When {
                at: Tz::UTC.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN)),
                all_day: true,
            });
        }
        if value.as_bytes().get(8) != Some(&b'T') {
            return Err(bad());
        }
        let rest = value.get(15..).ok_or_else(bad)?;
        let time = chrono::NaiveTime::from_hms_opt(
            digits(9, 11)?,
            digits(11, 13)?,
            digits(13, 15)?.min(59),
        )
        .ok_or_else(bad)?;
        let local = day.and_time(time);
        let at = match (rest, tz) {
            ("Z" | "z", _) => Tz::UTC.from_utc_datetime(&local),
            ("", Some(name)) => match (zone(name), self.zones.get(name.trim())) {
                (Some(zone), _) => in_zone(Tz::Tz(zone), local),
                // A zone the feed defines: at its standard offset (an hour
                // off in summer at most, which moves a night only for an
                // event that starts or ends within an hour of midnight).
                (None, Some(&offset)) => {
                    Tz::UTC.from_utc_datetime(&(local - Duration::seconds(offset.into())))
                }
                (None, None) => {
                    self.warn_once(format!(
                        "time zone {} is unknown: its times are read as UTC",
                        quoted(name)
                    ));
                    Tz::UTC.from_utc_datetime(&local)
                }
            },
            ("", None) => Tz::UTC.from_utc_datetime(&local),
            _ => return Err(bad()),
        };
        Ok(When { at, all_day: false })
    }

    /// Blocks the nights an occurrence from `at` for `length` takes: from
    /// the UTC date of its start to that of its end, at least one; only
    /// those from today to the horizon.
    fn block(&mut self, at: DateTime<Tz>, length: Duration) {
        let first = at.with_timezone(&Utc).date_naive();
        let last = (at + length).with_timezone(&Utc).date_naive();
        let last = if last > first {
            last
        } else {
            first + Duration::days(1)
        };
        if let Some(range) = DateRange::new(first.max(self.today), last.min(self.horizon)) {
            self.nights.push(range);
        }
    }
}

/// What a property of the event says, for a warning.
fn end_value(event: &Event, name: &str) -> String {
    event.value(name).unwrap_or("").to_string()
}

/// A feed's value in a warning: quoted, and cut short when long.
fn quoted(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(QUOTED_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

fn midnight(day: NaiveDate) -> DateTime<Tz> {
    Tz::UTC.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN))
}

/// An IANA zone by its name, also as some exporters prefix it
/// (`/mozilla.org/20050126_1/Europe/Berlin`).
fn zone(name: &str) -> Option<chrono_tz::Tz> {
    let name = name.trim();
    if let Ok(zone) = name.parse() {
        return Some(zone);
    }
    let parts: Vec<&str> = name.split('/').collect();
    (2..=3)
        .filter_map(|n| parts.len().checked_sub(n).map(|at| parts[at..].join("/")))
        .find_map(|tail| tail.parse().ok())
}

/// A wall-clock time in `zone`: in a gap (clocks moved forward), an hour
/// later; in an overlap, the earlier.
fn in_zone(zone: Tz, local: NaiveDateTime) -> DateTime<Tz> {
    zone.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        })
        .unwrap_or_else(|| Tz::UTC.from_utc_datetime(&local))
}

/// A rule's start moved forward by whole periods to just before `from`,
/// for the frequencies whose periods are fixed (weeks and shorter): the
/// occurrences from there on are those of the rule as written. Months
/// and years are left as they are (a century is 1,200 steps).
fn rebase(start: DateTime<Tz>, freq: Frequency, interval: u16, from: DateTime<Tz>) -> DateTime<Tz> {
    let unit = match freq {
        Frequency::Weekly => 7 * 86_400,
        Frequency::Daily => 86_400,
        Frequency::Hourly => 3_600,
        Frequency::Minutely => 60,
        Frequency::Secondly => 1,
        Frequency::Monthly | Frequency::Yearly => return start,
    };
    let period = unit * i64::from(interval.max(1));
    // One period to spare for a change of UTC offset on the way.
    let periods = (from - start).num_seconds() / period - 1;
    if periods <= 0 {
        return start;
    }
    let Some(moved) = periods
        .checked_mul(period)
        .and_then(Duration::try_seconds)
        .and_then(|by| start.naive_local().checked_add_signed(by))
    else {
        return start;
    };
    start
        .timezone()
        .from_local_datetime(&moved)
        .earliest()
        .unwrap_or(start)
}

/// An RFC 5545 duration: `P1D`, `P2W`, `PT3H30M`, `P1DT12H`; not
/// negative, at most ten years.
fn length(value: &str) -> Option<Duration> {
    let value = value.trim();
    let value = value.strip_prefix('+').unwrap_or(value);
    let mut rest = value.strip_prefix(['P', 'p'])?;
    let mut seconds: i64 = 0;
    let mut in_time = false;
    let mut any = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(['T', 't']) {
            in_time = true;
            rest = after;
            continue;
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: i64 = rest.get(..digits)?.parse().ok()?;
        let unit = match (rest.as_bytes().get(digits)?.to_ascii_uppercase(), in_time) {
            (b'W', false) => 7 * 86_400,
            (b'D', false) => 86_400,
            (b'H', true) => 3_600,
            (b'M', true) => 60,
            (b'S', true) => 1,
            _ => return None,
        };
        seconds = seconds.checked_add(n.checked_mul(unit)?)?;
        rest = &rest[digits + 1..];
        any = true;
    }
    (any && seconds <= 10 * 366 * 86_400).then(|| Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Today in these tests.
    fn today() -> NaiveDate {
        d("2027-01-01")
    }

    fn feed(events: &str) -> Feed {
        let text = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n");
        parse_feed(&text, today()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn event(lines: &str) -> String {
        format!(
            "BEGIN:VEVENT\r\n{}END:VEVENT\r\n",
            lines.replace('|', "\r\n")
        )
    }

    fn spans(feed: &Feed) -> Vec<(String, String)> {
        feed.ranges
            .iter()
            .map(|r| (r.start.to_string(), r.end.to_string()))
            .collect()
    }

    fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn fixture(name: &str) -> Feed {
        let path = format!("{}/tests/fixtures/ical/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        parse_feed(&text, today()).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn all_day_and_timed_events_become_merged_nights_from_today() {
        let f = feed(
            &[
                event("UID:a|DTSTART;VALUE=DATE:20270110|DTEND;VALUE=DATE:20270113|"),
                event("UID:b|DTSTART;VALUE=DATE:20270112|DTEND;VALUE=DATE:20270115|"),
                event("UID:c|DTSTART:20270201T150000Z|DTEND:20270203T110000Z|"),
                event("UID:d|DTSTART;VALUE=DATE:20270301|"),
                // Within one UTC day: that night.
                event("UID:e|DTSTART:20270310T090000Z|DTEND:20270310T100000Z|"),
                event("UID:f|DTSTART:20270320T090000|DURATION:P2DT1H|"),
                event("UID:past|DTSTART;VALUE=DATE:20200101|DTEND;VALUE=DATE:20200105|"),
                event("UID:over-today|DTSTART;VALUE=DATE:20261230|DTEND;VALUE=DATE:20270102|"),
            ]
            .concat(),
        );
        assert_eq!(
            spans(&f),
            expect(&[
                ("2027-01-01", "2027-01-02"),
                ("2027-01-10", "2027-01-15"),
                ("2027-02-01", "2027-02-03"),
                ("2027-03-01", "2027-03-02"),
                ("2027-03-10", "2027-03-11"),
                ("2027-03-20", "2027-03-22"),
            ])
        );
        assert_eq!((f.events, f.skipped), (8, 0));
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    }

    #[test]
    fn a_weekly_rule_blocks_every_occurrence() {
        let f = feed(&event(
            "UID:w|DTSTART;VALUE=DATE:20270108|DTEND;VALUE=DATE:20270110|RRULE:FREQ=WEEKLY;COUNT=10|",
        ));
        let got = spans(&f);
        assert_eq!(got.len(), 10, "{got:?}");
        assert_eq!(got[0], ("2027-01-08".into(), "2027-01-10".into()));
        assert_eq!(got[9], ("2027-03-12".into(), "2027-03-14".into()));
        assert_eq!(f.events, 1);
    }

    #[test]
    fn exdates_rdates_and_overrides_change_a_series() {
        let f = feed(&[
            event(
                "UID:s|DTSTART;VALUE=DATE:20270104|DTEND;VALUE=DATE:20270105|RRULE:FREQ=DAILY;UNTIL=20270108|\
                 EXDATE;VALUE=DATE:20270105,20270107|RDATE;VALUE=DATE:20270120|",
            ),
            // The 6th moved to the 10th; the 8th cancelled.
            event("UID:s|RECURRENCE-ID;VALUE=DATE:20270106|DTSTART;VALUE=DATE:20270110|DTEND;VALUE=DATE:20270111|"),
            event("UID:s|RECURRENCE-ID;VALUE=DATE:20270108|DTSTART;VALUE=DATE:20270108|STATUS:CANCELLED|"),
            event("UID:free|DTSTART;VALUE=DATE:20270201|TRANSP:TRANSPARENT|"),
            event("UID:gone|DTSTART;VALUE=DATE:20270202|STATUS:CANCELLED|RRULE:FREQ=DAILY|"),
        ]
        .concat());
        assert_eq!(
            spans(&f),
            expect(&[
                ("2027-01-04", "2027-01-05"),
                ("2027-01-10", "2027-01-11"),
                ("2027-01-20", "2027-01-21"),
            ])
        );
        assert_eq!((f.events, f.skipped), (5, 0));
    }

    #[test]
    fn times_are_read_in_their_zone_and_block_their_utc_nights() {
        let f = feed(&[
            // 23:00–01:00 in Paris is 22:00–00:00 UTC: the night of the 10th.
            event("UID:p|DTSTART;TZID=Europe/Paris:20270110T230000|DTEND;TZID=Europe/Paris:20270111T010000|"),
            // 20:00 in Los Angeles is 04:00 UTC the next day.
            event("UID:la|DTSTART;TZID=\"America/Los_Angeles\":20270120T200000|DTEND;TZID=America/Los_Angeles:20270120T220000|"),
            // As some exporters name zones.
            event("UID:m|DTSTART;TZID=/mozilla.org/20050126_1/Asia/Tokyo:20270201T080000|"),
            event("UID:x|DTSTART;TZID=Mars/Olympus:20270301T100000|"),
        ]
        .concat());
        assert_eq!(
            spans(&f),
            expect(&[
                ("2027-01-10", "2027-01-11"),
                ("2027-01-21", "2027-01-22"),
                ("2027-01-31", "2027-02-01"),
                ("2027-03-01", "2027-03-02"),
            ])
        );
        assert_eq!(
            f.warnings,
            ["time zone \"Mars/Olympus\" is unknown: its times are read as UTC"]
        );
    }

    #[test]
    fn unreadable_events_are_skipped_counted_and_said() {
        let f = feed(
            &[
                event("UID:month13|DTSTART;VALUE=DATE:20271301|DTEND;VALUE=DATE:20271303|"),
                event("UID:text|DTSTART:next tuesday|"),
                event("UID:reversed|DTSTART;VALUE=DATE:20270310|DTEND;VALUE=DATE:20270305|"),
                event("UID:old|DTSTART;VALUE=DATE:18000101|DTEND;VALUE=DATE:18000105|"),
                event("UID:nostart|DTEND;VALUE=DATE:20270105|"),
                event("UID:good|DTSTART;VALUE=DATE:20270401|DTEND;VALUE=DATE:20270403|"),
            ]
            .concat(),
        );
        assert_eq!(spans(&f), expect(&[("2027-04-01", "2027-04-03")]));
        assert_eq!((f.events, f.skipped), (1, 5));
        assert_eq!(f.warnings.len(), 5, "{:?}", f.warnings);
        for (warning, said) in f.warnings.iter().zip([
            "(\"month13\") skipped: DTSTART \"20271301\" is not a date",
            "(\"text\") skipped: DTSTART \"next tuesday\" is not a date",
            "(\"reversed\") skipped: it ends (\"20270305\") before it starts (\"20270310\")",
            "(\"old\") skipped: DTSTART \"18000101\" is out of range (years 1900 to 9999)",
            "(\"nostart\") skipped: it has no DTSTART",
        ]) {
            assert!(warning.contains(said), "{warning:?} should say {said:?}");
        }
    }

    #[test]
    fn warnings_are_kept_to_a_few() {
        let many: String = (0..50)
            .map(|i| event(&format!("UID:bad{i}|DTSTART:nope|")))
            .collect();
        let f = feed(&many);
        assert_eq!((f.events, f.skipped), (0, 50));
        assert_eq!(f.warnings.len(), MAX_WARNINGS);
        assert_eq!(f.warnings[MAX_WARNINGS - 1], "… and 41 more warnings");
    }

    #[test]
    fn a_rule_from_long_ago_is_expanded_from_today_exactly() {
        // Every other Friday since 1990, and every day since 1900.
        let f = feed(&event(
            "UID:fortnight|DTSTART;VALUE=DATE:19900105|DTEND;VALUE=DATE:19900106|RRULE:FREQ=WEEKLY;INTERVAL=2|",
        ));
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        assert_eq!(f.ranges.len(), 53, "{:?}", spans(&f));
        for r in &f.ranges {
            assert_eq!((r.start - d("1990-01-05")).num_days() % 14, 0, "{r:?}");
        }
        let daily = feed(&event(
            "UID:daily|DTSTART;VALUE=DATE:19000101|RRULE:FREQ=DAILY|",
        ));
        assert!(daily.warnings.is_empty(), "{:?}", daily.warnings);
        // To the horizon, 730 days on.
        assert_eq!(spans(&daily), expect(&[("2027-01-01", "2028-12-31")]));
    }

    #[test]
    fn expansion_is_bounded_and_says_so() {
        // Every second for two years: cut at the occurrence bound.
        let f = feed(&event(
            "UID:s|DTSTART:19000101T000000Z|RRULE:FREQ=SECONDLY|",
        ));
        assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
        assert!(
            f.warnings[0].contains("more than 10000 occurrences"),
            "{:?}",
            f.warnings
        );
        // A COUNT that keeps the rule where it started: cut at the steps.
        let f = feed(&event(
            "UID:c|DTSTART:19000101T000000Z|RRULE:FREQ=SECONDLY;COUNT=4000000000|",
        ));
        assert!(
            f.warnings[0].contains("expanded only up to"),
            "{:?}",
            f.warnings
        );
        // Many series, each within bounds, over the feed's bound.
        let many: String = (0..20)
            .map(|i| {
                event(&format!(
                    "UID:d{i}|DTSTART;VALUE=DATE:20270101|RRULE:FREQ=DAILY|"
                ))
            })
            .collect();
        let f = feed(&many);
        assert_eq!(f.events, 20);
        assert!(
            f.warnings[0].contains("more than 10000 occurrences"),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn a_rule_not_understood_still_blocks_its_first_date() {
        let f = feed(&event(
            "UID:r|DTSTART;VALUE=DATE:20270110|RRULE:FREQ=FORTNIGHTLY|",
        ));
        assert_eq!(spans(&f), expect(&[("2027-01-10", "2027-01-11")]));
        assert_eq!(f.events, 1);
        assert!(
            f.warnings[0].contains("RRULE \"FREQ=FORTNIGHTLY\" is not understood"),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn feeds_as_airbnb_vrbo_and_booking_com_export_them() {
        let airbnb = fixture("airbnb.ics");
        assert_eq!(
            spans(&airbnb),
            expect(&[("2027-01-10", "2027-01-15"), ("2027-02-25", "2027-03-01")])
        );
        assert_eq!((airbnb.events, airbnb.skipped), (3, 0));
        let vrbo = fixture("vrbo.ics");
        assert_eq!(spans(&vrbo), expect(&[("2027-01-20", "2027-01-26")]));
        let booking = fixture("booking_com.ics");
        assert_eq!(
            spans(&booking),
            expect(&[("2027-02-05", "2027-02-07"), ("2027-02-10", "2027-02-11")])
        );
        for f in [airbnb, vrbo, booking] {
            assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        }
    }

    #[test]
    fn feeds_as_google_and_outlook_export_them() {
        let google = fixture("google.ics");
        assert_eq!(
            spans(&google),
            expect(&[
                ("2027-01-08", "2027-01-10"),
                ("2027-01-15", "2027-01-17"),
                ("2027-01-30", "2027-02-01"),
                ("2027-02-12", "2027-02-14"),
                ("2027-03-16", "2027-03-17"),
            ])
        );
        assert_eq!((google.events, google.skipped), (5, 0));
        let outlook = fixture("outlook.ics");
        assert_eq!(
            spans(&outlook),
            expect(&[
                ("2027-02-01", "2027-02-02"),
                ("2027-02-20", "2027-02-22"),
                ("2027-03-01", "2027-03-02"),
                ("2027-03-10", "2027-03-11"),
                ("2027-03-12", "2027-03-13"),
                ("2027-04-01", "2027-04-02"),
            ])
        );
        assert_eq!((outlook.events, outlook.skipped), (4, 0));
        for f in [google, outlook] {
            assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        }
    }

    #[test]
    fn a_deeply_nested_feed_fails_with_its_reason() {
        for levels in [ical::MAX_NESTING * 10, ical::MAX_NESTING * 1_000] {
            let text = format!(
                "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
                "BEGIN:X\r\n".repeat(levels),
                "END:X\r\n".repeat(levels)
            );
            let error = parse_feed(&text, today()).err().unwrap_or_default();
            assert!(
                error.contains("nested deeper than 16 levels"),
                "{levels}: {error}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(length("P1D"), Some(Duration::days(1)));
        assert_eq!(length("P2W"), Some(Duration::days(14)));
        assert_eq!(length("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(length("P1DT12H"), Some(Duration::hours(36)));
        assert_eq!(length("+P0DT0H30M0S"), Some(Duration::minutes(30)));
        for bad in [
            "",
            "P",
            "-P1D",
            "P1H",
            "PT1D",
            "P99999999999999999999D",
            "P9999D",
            "1D",
        ] {
            assert_eq!(length(bad), None, "{bad}");
        }
    }
}

/// Property tests: generated and mutated feeds never make the reader
/// panic or hang; each ends as a feed (its counts and nights consistent)
/// or as a reason.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default()
    }

    fn date() -> impl Strategy<Value = String> {
        prop_oneof![
            (1890u32..2040, 0u32..14, 0u32..33).prop_map(|(y, m, d)| format!("{y:04}{m:02}{d:02}")),
            (
                2026u32..2029,
                1u32..13,
                1u32..29,
                0u32..25,
                0u32..61,
                0u32..62,
                any::<bool>()
            )
                .prop_map(|(y, mo, d, h, mi, s, z)| format!(
                    "{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}{}",
                    if z { "Z" } else { "" }
                )),
            "[0-9TZ:+-]{0,20}",
            "\\PC{0,12}",
        ]
    }

    fn params() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just(";VALUE=DATE".to_string()),
            Just(";VALUE=DATE-TIME".to_string()),
            Just(";TZID=Europe/Paris".to_string()),
            Just(";TZID=\"W. Europe Standard Time\"".to_string()),
            Just(";TZID=Nowhere/Else".to_string()),
            "(;[A-Z-]{1,8}=(\"[^\"]{0,8}\"|[a-z0-9/]{0,8})){0,3}",
        ]
    }

    fn rule() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            prop::sample::select(vec![
                "YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY", "NEVER"
            ])
            .prop_map(|f| format!("FREQ={f}")),
            any::<u32>().prop_map(|n| format!("COUNT={n}")),
            (0u32..400).prop_map(|n| format!("COUNT={n}")),
            any::<u16>().prop_map(|n| format!("INTERVAL={n}")),
            date().prop_map(|d| format!("UNTIL={d}")),
            "(-?[1-5]?(MO|TU|WE|TH|FR|SA|SU),?){1,3}".prop_map(|d| format!("BYDAY={d}")),
            (-40i32..40).prop_map(|n| format!("BYMONTHDAY={n}")),
            (-2i32..15).prop_map(|n| format!("BYMONTH={n}")),
            (-400i32..400).prop_map(|n| format!("BYSETPOS={n}")),
            (-60i32..60).prop_map(|n| format!("BYWEEKNO={n}")),
            (0u32..30).prop_map(|n| format!("BYHOUR={n}")),
            "[A-Z=;0-9]{0,12}",
        ];
        prop::collection::vec(part, 0..6).prop_map(|parts| parts.join(";"))
    }

    fn line() -> impl Strategy<Value = String> {
        let component = prop::sample::select(vec![
            "VEVENT",
            "VCALENDAR",
            "VALARM",
            "VTIMEZONE",
            "STANDARD",
            "DAYLIGHT",
            "X",
        ]);
        let dated =
            prop::sample::select(vec!["DTSTART", "DTEND", "EXDATE", "RDATE", "RECURRENCE-ID"]);
        prop_oneof![
            3 => component.clone().prop_map(|c| format!("BEGIN:{c}")),
            3 => component.prop_map(|c| format!("END:{c}")),
            6 => (dated, params(), prop::collection::vec(date(), 1..3))
                .prop_map(|(name, p, dates)| format!("{name}{p}:{}", dates.join(","))),
            2 => rule().prop_map(|r| format!("RRULE:{r}")),
            1 => "P([0-9]{1,4}[WD])?(T[0-9]{1,3}[HMS]){0,3}".prop_map(|d| format!("DURATION:{d}")),
            1 => prop::sample::select(vec!["CANCELLED", "CONFIRMED", "TENTATIVE"]).prop_map(|s| format!("STATUS:{s}")),
            1 => prop::sample::select(vec!["TRANSPARENT", "OPAQUE"]).prop_map(|s| format!("TRANSP:{s}")),
            2 => prop::sample::select(vec!["a", "b", "c"]).prop_map(|u| format!("UID:{u}")),
            1 => "TZID:(Europe/Paris|W. Europe Standard Time|[a-z]{0,5})".prop_map(|t| t),
            1 => "[+-]?[0-9]{0,6}".prop_map(|o| format!("TZOFFSETTO:{o}")),
            1 => " \\PC{0,10}",
            1 => "\\PC{0,30}",
        ]
    }

    fn generated() -> impl Strategy<Value = String> {
        (
            any::<bool>(),
            prop::collection::vec(line(), 0..60),
            any::<bool>(),
        )
            .prop_map(|(begin, lines, crlf)| {
                let mut text = if begin {
                    "BEGIN:VCALENDAR\n".to_string()
                } else {
                    String::new()
                };
                text.push_str(&lines.join("\n"));
                if crlf {
                    text.replace('\n', "\r\n")
                } else {
                    text
                }
            })
    }

    /// A fixture with bytes cut, added and lines repeated.
    fn mutated() -> impl Strategy<Value = String> {
        let fixtures = [
            "airbnb.ics",
            "vrbo.ics",
            "booking_com.ics",
            "google.ics",
            "outlook.ics",
        ]
        .map(|name| {
            let path = format!("{}/tests/fixtures/ical/{name}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        })
        .to_vec();
        let edit = (
            0usize..4,
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            "\\PC{0,8}|\r\n|BEGIN:VEVENT|END:VEVENT",
        );
        (
            prop::sample::select(fixtures),
            prop::collection::vec(edit, 1..12),
        )
            .prop_map(|(text, edits)| {
                let mut bytes = text.into_bytes();
                for (kind, at, to, insert) in edits {
                    let at = at.index(bytes.len() + 1);
                    match kind {
                        0 => {
                            let end = (at + to.index(40)).min(bytes.len());
                            bytes.drain(at..end);
                        }
                        1 => {
                            bytes.splice(at..at, insert.into_bytes());
                        }
                        2 => {
                            // A line again, somewhere else.
                            let line_start = bytes[..at]
                                .iter()
                                .rposition(|b| *b == b'\n')
                                .map_or(0, |i| i + 1);
                            let line_end = bytes[at..]
                                .iter()
                                .position(|b| *b == b'\n')
                                .map_or(bytes.len(), |i| at + i + 1);
                            let line = bytes[line_start..line_end].to_vec();
                            let to = to.index(bytes.len() + 1);
                            bytes.splice(to..to, line);
                        }
                        _ => {
                            if let Some(b) = bytes.get_mut(at) {
                                *b = b.wrapping_add(1);
                            }
                        }
                    }
                }
                String::from_utf8_lossy(&bytes).into_owned()
            })
    }

    fn check(text: &str) -> Result<(), TestCaseError> {
        let vevents = text.to_ascii_uppercase().matches("BEGIN:VEVENT").count();
        match parse_feed(text, today()) {
            Ok(feed) => {
                prop_assert!(feed.events + feed.skipped <= vevents);
                prop_assert!(feed.warnings.len() <= MAX_WARNINGS);
                prop_assert!(feed.skipped == 0 || !feed.warnings.is_empty());
                let horizon = today() + Duration::days(HORIZON_DAYS);
                for pair in feed.ranges.windows(2) {
                    prop_assert!(pair[0].end < pair[1].start, "{:?}", feed.ranges);
                }
                for r in &feed.ranges {
                    prop_assert!(
                        r.start >= today() && r.end <= horizon && r.start < r.end,
                        "{r:?}"
                    );
                }
            }
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn a_generated_feed_is_read_or_refused_with_a_reason(text in generated()) {
            check(&text)?;
        }

        #[test]
        fn a_mutated_real_feed_is_read_or_refused_with_a_reason(text in mutated()) {
            check(&text)?;
        }
    }
}
