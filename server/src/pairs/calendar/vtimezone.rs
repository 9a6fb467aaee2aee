//! VTIMEZONE components written from chrono-tz's data.
//!
//! A time written as `DTSTART;TZID=Europe/Berlin:…` is placed by Google
//! and Apple from the IANA name; Outlook places it only with a VTIMEZONE
//! in the same file that gives the zone's offsets and when they change.
//!
//! chrono-tz does not list a zone's transitions, so they are found here:
//! the offset is sampled once a day across the years examined, and each
//! change is bisected to its second. A zone whose clocks changed twice
//! within one day would show one change; no zone does in the years Duet
//! schedules for.
//!
//! A change that puts the clock forward starts a DAYLIGHT observance, one
//! that puts it back (or keeps it) a STANDARD one. That is the tz
//! database's summer time everywhere but where it has "negative" summer
//! time (Ireland's winter, Morocco's Ramadan): a DAYLIGHT with the lower
//! offset there makes readers that take DAYLIGHT to be ahead (Python's
//! dateutil, for one) place times near each change an hour off.
//!
//! Changes of one kind (same offsets, same name, same direction) that
//! fall on one rule in every year examined ("the last Sunday of March at
//! 02:00") become one observance with a yearly RRULE, which calendars
//! extend past those years as the series goes on. Other changes are
//! listed, a DTSTART and an RDATE each. A zone that did not change between
//! the start of the years examined and the first event gets an observance
//! for the offset it had then; a zone that never changes (UTC, Asia/Tokyo)
//! has only that one.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, Offset, TimeZone, Weekday};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use icalendar::Property;

use super::push_line;

const SAMPLE_STEP_S: i64 = 24 * 60 * 60;
const LOCAL_FORMAT: &str = "%Y%m%dT%H%M%S";

/// The years examined for one zone, and the first event in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub first_year: i32,
    pub last_year: i32,
    /// Unix seconds of the earliest event's start.
    pub first_event_s: i64,
}

/// What a zone's clock is at an instant. A change of any part is a
/// change (the summer-time flag can flip with the offset kept).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClockState {
    offset_s: i32,
    summer_time: bool,
    name: Option<String>,
}

impl ClockState {
    fn at(tz: Tz, at_s: i64) -> ClockState {
        let utc = DateTime::from_timestamp(at_s, 0).unwrap_or_default();
        let offset = tz.offset_from_utc_datetime(&utc.naive_utc());
        ClockState {
            offset_s: offset.fix().local_minus_utc(),
            summer_time: !offset.dst_offset().is_zero(),
            name: offset.abbreviation().map(str::to_owned),
        }
    }
}

/// One STANDARD or DAYLIGHT sub-component: a kind of change and when it
/// happens, as local times on the clock before the change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observance {
    daylight: bool,
    from_s: i32,
    to_s: i32,
    name: Option<String>,
    onsets: Vec<NaiveDateTime>,
}

/// Appends the VTIMEZONE of `tz` for the years of `span`.
pub(super) fn write(out: &mut String, tz: Tz, span: Span) {
    out.push_str("BEGIN:VTIMEZONE\r\n");
    push_line(out, Property::new("TZID", tz.name()));
    for observance in observances(tz, span) {
        write_observance(out, &observance, span);
    }
    out.push_str("END:VTIMEZONE\r\n");
}

fn observances(tz: Tz, span: Span) -> Vec<Observance> {
    let (Some(from_s), Some(to_s)) = (jan_first(span.first_year), jan_first(span.last_year + 1))
    else {
        return Vec::new();
    };
    let mut groups: Vec<Observance> = Vec::new();
    let mut earliest_change = None;
    let mut at = from_s;
    let mut state = ClockState::at(tz, at);
    while at < to_s {
        let next = at + SAMPLE_STEP_S;
        let next_state = ClockState::at(tz, next);
        if next_state != state {
            let change_s = bisect(tz, at, next, &state);
            // Found in order: the first is the earliest.
            if earliest_change.is_none() {
                earliest_change = Some(change_s);
            }
            let after = ClockState::at(tz, change_s);
            add_change(&mut groups, &state, after, local(change_s, state.offset_s));
        }
        state = next_state;
        at = next;
    }
    // Without a change before the first event, nothing above says what
    // the offset is then.
    if earliest_change.is_none_or(|change| change > span.first_event_s) {
        let initial = ClockState::at(tz, from_s);
        let epoch = DateTime::from_timestamp(0, 0)
            .unwrap_or_default()
            .naive_utc();
        groups.insert(
            0,
            Observance {
                daylight: false,
                from_s: initial.offset_s,
                to_s: initial.offset_s,
                name: initial.name,
                onsets: vec![epoch],
            },
        );
    }
    groups
}

/// Files a change from `before` to `after` at `onset` (local time before
/// it) under the observance of its kind.
fn add_change(
    groups: &mut Vec<Observance>,
    before: &ClockState,
    after: ClockState,
    onset: NaiveDateTime,
) {
    let daylight = after.offset_s > before.offset_s;
    let same_kind = |g: &&mut Observance| {
        g.daylight == daylight
            && g.from_s == before.offset_s
            && g.to_s == after.offset_s
            && g.name == after.name
    };
    match groups.iter_mut().find(same_kind) {
        Some(group) => group.onsets.push(onset),
        None => groups.push(Observance {
            daylight,
            from_s: before.offset_s,
            to_s: after.offset_s,
            name: after.name,
            onsets: vec![onset],
        }),
    }
}

/// The first second in `(lo, hi]` at which the clock is no longer
/// `before`.
fn bisect(tz: Tz, mut lo: i64, mut hi: i64, before: &ClockState) -> i64 {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ClockState::at(tz, mid) == *before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

fn write_observance(out: &mut String, o: &Observance, span: Span) {
    let kind = if o.daylight { "DAYLIGHT" } else { "STANDARD" };
    out.push_str(&format!("BEGIN:{kind}\r\n"));
    let mut onsets = o.onsets.iter();
    if let Some(first) = onsets.next() {
        push_line(
            out,
            Property::new("DTSTART", first.format(LOCAL_FORMAT).to_string()),
        );
    }
    match yearly_rule(&o.onsets, span) {
        Some(rule) => push_line(out, Property::new("RRULE", rule)),
        None => {
            for onset in onsets {
                push_line(
                    out,
                    Property::new("RDATE", onset.format(LOCAL_FORMAT).to_string()),
                );
            }
        }
    }
    push_line(out, Property::new("TZOFFSETFROM", utc_offset(o.from_s)));
    push_line(out, Property::new("TZOFFSETTO", utc_offset(o.to_s)));
    if let Some(name) = &o.name {
        push_line(out, Property::new("TZNAME", name.as_str()));
    }
    out.push_str(&format!("END:{kind}\r\n"));
}

/// The yearly RRULE all `onsets` follow, if they are one a year in every
/// year of `span` on the same month, weekday, local time and n-th (or
/// last) weekday of the month.
fn yearly_rule(onsets: &[NaiveDateTime], span: Span) -> Option<String> {
    let first = onsets.first()?;
    let years = usize::try_from(span.last_year - span.first_year + 1).ok()?;
    let every_year = onsets.len() == years
        && onsets
            .iter()
            .zip(span.first_year..)
            .all(|(onset, year)| onset.year() == year);
    let same_shape = onsets.iter().all(|o| {
        o.month() == first.month() && o.weekday() == first.weekday() && o.time() == first.time()
    });
    if onsets.len() < 2 || !every_year || !same_shape {
        return None;
    }
    let nth = |d: &NaiveDateTime| (d.day() - 1) / 7 + 1;
    let is_last = |d: &NaiveDateTime| {
        d.date()
            .checked_add_days(Days::new(7))
            .is_none_or(|week_later| week_later.month() != d.month())
    };
    let which = if nth(first) < 5 && onsets.iter().all(|o| nth(o) == nth(first)) {
        i64::from(nth(first))
    } else if onsets.iter().all(is_last) {
        -1
    } else {
        return None;
    };
    Some(format!(
        "FREQ=YEARLY;BYMONTH={};BYDAY={which}{}",
        first.month(),
        weekday_code(first.weekday())
    ))
}

fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// "+0100", "-0330"; seconds only when there are any ("+002030").
fn utc_offset(offset_s: i32) -> String {
    let sign = if offset_s < 0 { '-' } else { '+' };
    let abs = offset_s.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

/// The local time at `at_s` on a clock `offset_s` ahead of UTC.
fn local(at_s: i64, offset_s: i32) -> NaiveDateTime {
    DateTime::from_timestamp(at_s + i64::from(offset_s), 0)
        .unwrap_or_default()
        .naive_utc()
}

fn jan_first(year: i32) -> Option<i64> {
    Some(
        NaiveDate::from_ymd_opt(year, 1, 1)?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp(),
    )
}
