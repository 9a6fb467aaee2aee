//! Calendar files (RFC 5545) for a pair's scheduled sessions: an
//! invitation to download, and a feed to subscribe to.
//!
//! Lines are written by the `icalendar` crate, which escapes text, quotes
//! parameter values, folds at 75 octets and ends lines with CRLF. It has no
//! VTIMEZONE, and would stamp any component of its own making with a
//! DTSTAMP and a random UID (not allowed in a VTIMEZONE), so the calendar
//! object is put together here: its properties and events from the crate,
//! each VTIMEZONE from [`vtimezone`].
//!
//! Times are the series' wall clock with `TZID=<IANA name>`, so calendars
//! expand the RRULE on the clock the server expands it on (see
//! [`super::schedule`]): a weekly 09:00 in Berlin stays 09:00 in Berlin.
//! A start in the hour a clock turned back repeats is read as the first of
//! the two, as RFC 5545 says; pages schedule on whole minutes and such a
//! start is rare enough to leave at that.
//!
//! An invitation is an iTIP message (RFC 5546): `METHOD:REQUEST`, or
//! `METHOD:CANCEL` with `STATUS:CANCELLED`. The caller bumps SEQUENCE on
//! every change and keeps UID, so a calendar updates the event it has
//! rather than adding a second. The feed is `METHOD:PUBLISH` and keeps
//! cancelled events (`STATUS:CANCELLED`) so subscribers see them go.
//!
//! Whatever people typed loses its control characters first: a raw CR in
//! text, or any line break in an address or a parameter, would end the
//! line early and let the rest be read as properties.

mod vtimezone;

use std::collections::BTreeMap;

use chrono::Datelike;
use chrono_tz::Tz;
use icalendar::{CalendarDateTime, Component, Event, EventLike, EventStatus, Property};

use super::schedule::{Schedule, utc};

/// Who made the file (RFC 5545 §3.7.3).
pub const PRODID: &str = "-//Duet//Duet pairs//EN";
/// How often subscribers should fetch the feed again. Calendars may wait
/// longer (Google does), never less.
pub const FEED_REFRESH: &str = "PT1H";
const LOCAL_FORMAT: &str = "%Y%m%dT%H%M%S";

/// Whether the event still happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteStatus {
    Scheduled,
    Cancelled,
}

/// Someone the event is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub name: String,
    /// Without one there is no ATTENDEE line (it needs an address): the
    /// name goes in the description instead.
    pub email: Option<String>,
}

/// One scheduled session (or series) as a calendar event.
#[derive(Debug, Clone)]
pub struct Invite<'a> {
    /// Stable across changes: "<schedule uuid>@<host>".
    pub uid: String,
    /// Bumped by the caller on every change.
    pub sequence: u32,
    pub title: String,
    /// Caller-built; includes the join URL.
    pub description: String,
    /// The page that joins the call (URL, and LOCATION).
    pub url: String,
    pub attendees: Vec<Attendee>,
    /// Who sent it: RFC 5546 wants an ORGANIZER on a REQUEST or CANCEL,
    /// and Outlook shows an event without one oddly. The person who
    /// scheduled it when they have an address, else the server
    /// (`noreply@<host>`), so replies never reach a stranger.
    pub organizer: Attendee,
    pub schedule: &'a Schedule,
    pub status: InviteStatus,
    pub created_ms: i64,
    /// Also the DTSTAMP: when this version of the event was made.
    pub modified_ms: i64,
}

/// One event as a file to download: `METHOD:REQUEST`, or `METHOD:CANCEL`
/// with `STATUS:CANCELLED` once cancelled.
pub fn invite_ics(invite: &Invite<'_>) -> String {
    let method = match invite.status {
        InviteStatus::Scheduled => "REQUEST",
        InviteStatus::Cancelled => "CANCEL",
    };
    calendar(
        vec![Property::new("METHOD", method)],
        std::slice::from_ref(invite),
    )
}

/// A subscription feed (`METHOD:PUBLISH`, `X-WR-CALNAME`) with every
/// event, cancelled ones as `STATUS:CANCELLED`.
pub fn feed_ics(calendar_name: &str, invites: &[Invite<'_>]) -> String {
    let mut refresh = Property::new("REFRESH-INTERVAL", FEED_REFRESH);
    refresh.add_parameter("VALUE", "DURATION");
    calendar(
        vec![
            Property::new("METHOD", "PUBLISH"),
            Property::new("X-WR-CALNAME", clean_text(calendar_name)),
            // RFC 7986's refresh hint, and the older name Outlook reads.
            refresh,
            Property::new("X-PUBLISHED-TTL", FEED_REFRESH),
        ],
        invites,
    )
}

fn calendar(properties: Vec<Property>, invites: &[Invite<'_>]) -> String {
    let mut out = String::from("BEGIN:VCALENDAR\r\n");
    let standard = [
        Property::new("VERSION", "2.0"),
        Property::new("PRODID", PRODID),
        Property::new("CALSCALE", "GREGORIAN"),
    ];
    for property in standard.into_iter().chain(properties) {
        push_line(&mut out, property);
    }
    for (tz, span) in zones(invites).into_values() {
        vtimezone::write(&mut out, tz, span);
    }
    for invite in invites {
        // Formatting into a String has no way to fail; should the crate
        // ever report one, the file lacks that event rather than the
        // server stopping.
        let text = event(invite).try_into_string().unwrap_or_default();
        out.push_str(&text);
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// Appends one content line, escaped and folded by the crate.
fn push_line(out: &mut String, property: Property) {
    // As above: writing to a String cannot fail.
    let line: String = property.try_into().unwrap_or_default();
    out.push_str(&line);
}

/// Each zone the invites use, in name order, with the years its VTIMEZONE
/// must cover: from the year before the first event (the offset then in
/// force may have begun that year) to the last event's year, plus a few
/// when a series runs on. A corrupt start is clamped to years chrono and
/// calendars handle.
fn zones(invites: &[Invite<'_>]) -> BTreeMap<&'static str, (Tz, vtimezone::Span)> {
    /// How many years past its first one a series' VTIMEZONE is examined.
    const SERIES_YEARS: i32 = 4;
    let mut zones: BTreeMap<&'static str, (Tz, vtimezone::Span)> = BTreeMap::new();
    for invite in invites {
        let s = invite.schedule;
        let start = utc(s.starts_at_ms);
        let year = start.year().clamp(1971, 9000);
        let last = year
            + if s.recurrence.is_some() {
                SERIES_YEARS
            } else {
                0
            };
        let first_event_s = start.timestamp();
        zones
            .entry(s.time_zone.name())
            .and_modify(|(_, span)| {
                span.first_year = span.first_year.min(year - 1);
                span.last_year = span.last_year.max(last);
                span.first_event_s = span.first_event_s.min(first_event_s);
            })
            .or_insert((
                s.time_zone,
                vtimezone::Span {
                    first_year: year - 1,
                    last_year: last,
                    first_event_s,
                },
            ));
    }
    zones
}

fn event(invite: &Invite<'_>) -> Event {
    let s = invite.schedule;
    let end_ms = s
        .starts_at_ms
        .saturating_add(i64::from(s.duration_min) * 60_000);
    let url = clean_value(&invite.url);
    let mut event = Event::new();
    event
        .uid(&clean_value(&invite.uid))
        .sequence(invite.sequence)
        .timestamp(utc(invite.modified_ms))
        .created(utc(invite.created_ms))
        .last_modified(utc(invite.modified_ms))
        .summary(&clean_text(&invite.title))
        .description(&description(invite))
        .url(&url)
        .location(&url)
        .starts(zoned(s.starts_at_ms, s.time_zone))
        .ends(zoned(end_ms, s.time_zone))
        .status(match invite.status {
            InviteStatus::Scheduled => EventStatus::Confirmed,
            InviteStatus::Cancelled => EventStatus::Cancelled,
        });
    if let Some(rule) = s.rrule() {
        event.add_property("RRULE", rule);
    }
    let mut skipped = s.skipped_ms.clone();
    skipped.sort_unstable();
    skipped.dedup();
    for at in skipped {
        let mut exdate = Property::new("EXDATE", local(at, s.time_zone));
        exdate.add_parameter("TZID", s.time_zone.name());
        event.append_multi_property(exdate);
    }
    let organizer_email = invite.organizer.email.clone().unwrap_or_else(|| {
        let host = invite.uid.rsplit_once('@').map_or("localhost", |(_, h)| h);
        format!("noreply@{host}")
    });
    let mut organizer = Property::new(
        "ORGANIZER",
        format!("mailto:{}", clean_value(&organizer_email)),
    );
    organizer.add_parameter("CN", &clean_param(&invite.organizer.name));
    event.append_property(organizer);
    for a in &invite.attendees {
        if let Some(email) = &a.email {
            let attendee = icalendar::Attendee::new(format!("mailto:{}", clean_value(email)))
                .cn(clean_param(&a.name));
            event.attendee(attendee);
        }
    }
    event.done()
}

/// The caller's description, and when someone has no address for an
/// ATTENDEE line, everyone's names.
fn description(invite: &Invite<'_>) -> String {
    let mut text = clean_text(&invite.description);
    if invite.attendees.iter().any(|a| a.email.is_none()) {
        let names: Vec<String> = invite
            .attendees
            .iter()
            .map(|a| clean_text(&a.name))
            .collect();
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str("Attendees: ");
        text.push_str(&names.join(", "));
    }
    text
}

fn zoned(at_ms: i64, tz: Tz) -> CalendarDateTime {
    CalendarDateTime::WithTimezone {
        date_time: utc(at_ms).with_timezone(&tz).naive_local(),
        tzid: tz.name().to_owned(),
    }
}

fn local(at_ms: i64, tz: Tz) -> String {
    utc(at_ms)
        .with_timezone(&tz)
        .format(LOCAL_FORMAT)
        .to_string()
}

/// TEXT as RFC 5545 allows it: every line break becomes LF (which the
/// crate writes as `\n`), other control characters but TAB go.
fn clean_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect()
}

/// A URI, UID or address, written unescaped: no control characters.
fn clean_value(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// A parameter value (CN): it cannot hold a DQUOTE at all (the crate
/// quotes it when it holds `,` `;` or `:`), nor line breaks.
fn clean_param(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests;
