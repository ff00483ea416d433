//! A reader of iCalendar text (RFC 5545) for calendar imports: content
//! lines unfolded, components tracked on an explicit stack, never by
//! recursion, so no feed can exhaust the stack however deeply it nests.
//! Components may nest [`MAX_NESTING`] levels (a real feed needs three:
//! `VCALENDAR` › `VEVENT` › `VALARM`); a deeper feed is refused whole.
//!
//! Only what an import needs is kept: each `VEVENT` with its own
//! properties (not those of the alarms inside it). The reader is lenient
//! where real feeds are sloppy: LF or CRLF line ends, a byte-order mark,
//! any letter case, lines it cannot read (skipped), a missing `END`.

use std::collections::HashMap;

/// How deep components may nest, `VCALENDAR` included.
pub const MAX_NESTING: usize = 16;
/// At most this many events are read from one feed.
pub const MAX_EVENTS: usize = 5_000;

/// One content line: `NAME;PARAM=value:VALUE`. Names upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub params: Vec<(String, String)>,
    pub value: String,
}

impl Property {
    /// A parameter's value (without its quotes), by name in any case.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A `VEVENT`: where it starts in the feed (its line, from 1) and its
/// properties in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub line: usize,
    pub properties: Vec<Property>,
}

impl Event {
    /// The first property named `name`.
    pub fn get(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Every property named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> + 'a {
        self.properties
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
    }

    /// A property's value, trimmed.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|p| p.value.trim())
    }
}

/// What an import reads of a feed: its events, and the UTC offsets of the
/// time zones it defines itself (`VTIMEZONE`: Outlook's zones are named
/// as Windows names them, which no IANA table knows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    pub events: Vec<Event>,
    /// A zone's standard offset in seconds east of UTC (its daylight one
    /// when it has no standard time), by `TZID`.
    pub zones: HashMap<String, i32>,
}

/// A `VTIMEZONE` being read: its id, and its standard and daylight
/// offsets.
#[derive(Default)]
struct Zone {
    id: Option<String>,
    standard: Option<i32>,
    daylight: Option<i32>,
}

/// The events of an iCalendar feed, or why it is not one (no
/// `BEGIN:VCALENDAR`, components nested deeper than [`MAX_NESTING`], more
/// than [`MAX_EVENTS`] events).
pub fn read(text: &str) -> Result<Calendar, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // What is open, innermost last: the component's name, and the index
    // of its event in `events` when it is a VEVENT.
    let mut open: Vec<(String, Option<usize>)> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut zones = HashMap::new();
    let mut zone: Option<Zone> = None;
    let mut calendar = false;
    for (line, content) in unfold(text) {
        let Some(property) = content_line(&content) else {
            continue;
        };
        match property.name.as_str() {
            "BEGIN" => {
                let name = property.value.trim().to_ascii_uppercase();
                if open.len() >= MAX_NESTING {
                    return Err(format!(
                        "components are nested deeper than {MAX_NESTING} levels (line {line})"
                    ));
                }
                if name == "VCALENDAR" {
                    calendar = true;
                }
                if name == "VTIMEZONE" {
                    zone = Some(Zone::default());
                }
                let event = if name == "VEVENT" && calendar {
                    if events.len() >= MAX_EVENTS {
                        return Err(format!("the feed has more than {MAX_EVENTS} events"));
                    }
                    events.push(Event {
                        line,
                        properties: Vec::new(),
                    });
                    Some(events.len() - 1)
                } else {
                    None
                };
                open.push((name, event));
            }
            "END" => {
                let name = property.value.trim();
                // Closes the innermost component of that name, and what is
                // still open inside it; an END that matches nothing open
                // is ignored.
                if let Some(at) = open.iter().rposition(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    open.truncate(at);
                }
                if !open.iter().any(|(n, _)| n == "VTIMEZONE")
                    && let Some(Zone {
                        id: Some(id),
                        standard,
                        daylight,
                    }) = zone.take()
                    && let Some(offset) = standard.or(daylight)
                {
                    zones.insert(id, offset);
                }
            }
            _ => match (open.last(), &mut zone) {
                (Some((_, Some(event))), _) => {
                    if let Some(event) = events.get_mut(*event) {
                        event.properties.push(property);
                    }
                }
                (Some((top, None)), Some(zone))
                    if top == "VTIMEZONE" && property.name == "TZID" =>
                {
                    zone.id = Some(property.value.trim().to_string());
                }
                (Some((top, None)), Some(zone)) if property.name == "TZOFFSETTO" => {
                    let offset = utc_offset(&property.value);
                    match top.as_str() {
                        "STANDARD" => zone.standard = zone.standard.or(offset),
                        "DAYLIGHT" => zone.daylight = zone.daylight.or(offset),
                        _ => {}
                    }
                }
                _ => {}
            },
        }
    }
    if !calendar {
        return Err("not an iCalendar feed (no BEGIN:VCALENDAR)".into());
    }
    Ok(Calendar { events, zones })
}

/// `+0100`, `-0530`, `+013045`: seconds east of UTC, less than a day.
fn utc_offset(value: &str) -> Option<i32> {
    let value = value.trim();
    let sign = match value.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = &value[1..];
    if !matches!(digits.len(), 4 | 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = |at: usize| digits.get(at..at + 2).and_then(|p| p.parse::<i32>().ok());
    let seconds = part(0)? * 3_600 + part(2)? * 60 + part(4).unwrap_or(0);
    (seconds < 86_400).then_some(sign * seconds)
}

/// Logical lines with the number of the physical line each starts on: a
/// line that begins with a space or a tab continues the one before.
fn unfold(text: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some((_, last))) => last.push_str(rest),
            _ => lines.push((i + 1, raw.to_string())),
        }
    }
    lines
}

/// `NAME *(";" PARAM "=" VALUE *("," VALUE)) ":" VALUE`; `None` for what
/// is not such a line. Parameter values may be quoted, and then hold `;`,
/// `:` and `,`.
fn content_line(line: &str) -> Option<Property> {
    let name_end = line.find([';', ':'])?;
    let name = &line[..name_end];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    let mut params = Vec::new();
    let mut rest = &line[name_end..];
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after.find('=')?;
        let param = after[..eq].trim();
        let mut value = String::new();
        let mut tail = &after[eq + 1..];
        loop {
            // One value, quoted or not, then `,` for another.
            if let Some(quoted) = tail.strip_prefix('"') {
                let close = quoted.find('"')?;
                value.push_str(&quoted[..close]);
                tail = &quoted[close + 1..];
            } else {
                let end = tail.find([';', ':', ','])?;
                value.push_str(&tail[..end]);
                tail = &tail[end..];
            }
            match tail.strip_prefix(',') {
                Some(more) => {
                    value.push(',');
                    tail = more;
                }
                None => break,
            }
        }
        params.push((param.to_ascii_uppercase(), value));
        rest = tail;
    }
    let value = rest.strip_prefix(':')?;
    Some(Property {
        name: name.to_ascii_uppercase(),
        params,
        value: value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_lines_are_read_with_their_parameters() {
        let p = content_line("DTSTART;TZID=\"America/New_York\";VALUE=DATE-TIME:20270110T090000")
            .unwrap_or_else(|| panic!("not read"));
        assert_eq!(p.name, "DTSTART");
        assert_eq!(p.param("tzid"), Some("America/New_York"));
        assert_eq!(p.param("VALUE"), Some("DATE-TIME"));
        assert_eq!(p.value, "20270110T090000");
        let q = content_line("x-note;ALTREP=\"cid:a;b,c\",plain:value: with colon")
            .unwrap_or_else(|| panic!("not read"));
        assert_eq!(q.name, "X-NOTE");
        assert_eq!(q.param("altrep"), Some("cid:a;b,c,plain"));
        assert_eq!(q.value, "value: with colon");
        for bad in [
            "",
            "no colon",
            ":value",
            "BAD NAME:x",
            "A;B:c",
            "A;B=\"open:c",
        ] {
            assert_eq!(content_line(bad), None, "{bad}");
        }
    }

    #[test]
    fn folded_lines_and_alarms_inside_events() {
        let feed = "\u{feff}BEGIN:VCALENDAR\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Re\r\n served\r\n\
            BEGIN:VALARM\r\nTRIGGER:-PT15M\r\nDTSTART:19990101\r\nEND:VALARM\r\n\
            DTSTART;VALUE=DATE:20270110\r\nEND:VEVENT\r\nEND:VCALENDAR";
        let events = read(feed).unwrap_or_else(|e| panic!("{e}")).events;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].line, 2);
        assert_eq!(events[0].value("summary"), Some("Reserved"));
        assert_eq!(events[0].value("DTSTART"), Some("20270110"));
        assert_eq!(events[0].get("TRIGGER"), None);
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        let nested = |levels: usize| {
            format!(
                "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
                "BEGIN:X\r\n".repeat(levels),
                "END:X\r\n".repeat(levels)
            )
        };
        assert!(read(&nested(MAX_NESTING - 1)).is_ok());
        for levels in [MAX_NESTING, MAX_NESTING * 10, MAX_NESTING * 1_000, 200_000] {
            let error = read(&nested(levels)).err().unwrap_or_default();
            assert!(error.contains("nested deeper than 16"), "{levels}: {error}");
        }
        // Opened and closed one after another, any number is fine.
        let flat = format!(
            "BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\n",
            "BEGIN:X\r\nEND:X\r\n".repeat(50_000)
        );
        assert_eq!(read(&flat).map(|c| c.events.len()), Ok(0));
    }

    #[test]
    fn what_is_not_a_calendar_is_refused() {
        assert!(read("<html>hello</html>").is_err());
        assert!(read("").is_err());
        assert!(read("BEGIN:VEVENT\r\nEND:VEVENT\r\n").is_err());
        assert_eq!(
            read("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
            Ok(Calendar::default())
        );
        // Cut short: what was read is kept.
        let cut = read("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20270101");
        assert_eq!(cut.map(|c| c.events.len()), Ok(1));
    }

    #[test]
    fn a_feed_s_own_time_zones_are_kept_by_their_standard_offset() {
        let feed = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\n\
            BEGIN:DAYLIGHT\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n\
            BEGIN:STANDARD\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
            BEGIN:VTIMEZONE\r\nTZID:India\r\nBEGIN:STANDARD\r\nTZOFFSETTO:+0530\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
            BEGIN:VTIMEZONE\r\nTZID:Broken\r\nBEGIN:STANDARD\r\nTZOFFSETTO:+2500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
            END:VCALENDAR\r\n";
        let zones = read(feed).unwrap_or_else(|e| panic!("{e}")).zones;
        assert_eq!(zones.get("W. Europe Standard Time"), Some(&3_600));
        assert_eq!(zones.get("India"), Some(&19_800));
        assert_eq!(zones.get("Broken"), None);
        assert_eq!(utc_offset("-0330"), Some(-12_600));
        assert_eq!(utc_offset("0100"), None);
    }
}
