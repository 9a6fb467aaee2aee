//! A pair's scheduled session, once or recurring, and what the pages and the
//! server need from it: its occurrences, the next one, whether an instant
//! is one of them, and how an instant reads on someone's clock.
//!
//! Instants are Unix milliseconds, UTC, at every edge. A series keeps the
//! wall clock of its zone (the scheduler's): a weekly 09:00 in
//! Europe/Berlin is 09:00 in Berlin all year, so its UTC instant moves an
//! hour when Berlin changes its clocks, and a viewer elsewhere may see it
//! move twice in a spring when the two zones change on different Sundays.
//!
//! Expansion is the `rrule` crate's (RFC 5545 recurrence rules, DTSTART
//! with the series' zone), the same rule the calendar files carry, so the
//! server and people's calendars agree on every occurrence:
//! - weekly and fortnightly: same weekday and local time, every one or two
//!   weeks;
//! - monthly: same day of the month and local time. Months without that
//!   day are skipped, as RFC 5545 says of invalid dates (a series on the
//!   31st meets seven times a year), rather than moved to the month's last
//!   day, which calendars would not show.
//!
//! A local time that a clock change skips (02:30 on a spring-forward
//! night) happens an hour later that day, at 03:30.
//!
//! Work is bounded: a series has at most [`MAX_INSTANCES`] instances (about
//! ten years of weekly sessions, skipped ones included), so no call
//! expands more than that, whatever it asks.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use rrule::{Frequency, RRule};
use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60 * 1000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// Shortest session that can be scheduled, in minutes.
pub const MIN_DURATION_MIN: u32 = 5;
/// Longest session that can be scheduled (a working day), in minutes.
pub const MAX_DURATION_MIN: u32 = 480;
/// How far ahead a first occurrence may be: two years (one may be a leap
/// year, so a "same date in two years" is always accepted).
pub const MAX_AHEAD_MS: i64 = 2 * 366 * DAY_MS;
/// How far in the past a first occurrence may be: a day, so that a session
/// entered just after it started (or from a clock a little behind) is
/// accepted.
pub const MAX_PAST_MS: i64 = DAY_MS;
/// The longest IANA zone name is 32 characters; anything much longer is not
/// a zone name and is refused before it is looked up or echoed back.
pub const MAX_ZONE_NAME_LEN: usize = 64;
/// Most instances a series has, skipped ones included: ten years weekly,
/// twenty fortnightly, forty-three monthly.
pub const MAX_INSTANCES: usize = 520;
/// Working hours on the viewer's clock, for [`outside_working_hours`].
pub const WORKDAY_START: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};
/// See [`WORKDAY_START`].
pub const WORKDAY_END: NaiveTime = match NaiveTime::from_hms_opt(20, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// How a scheduled session repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    Weekly,
    Fortnightly,
    Monthly,
}

impl Recurrence {
    /// The name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Recurrence::Weekly => "weekly",
            Recurrence::Fortnightly => "fortnightly",
            Recurrence::Monthly => "monthly",
        }
    }

    /// The RFC 5545 frequency and interval: the one place both the
    /// expansion and the calendar files' RRULE come from.
    fn rule(self) -> (Frequency, u16) {
        match self {
            Recurrence::Weekly => (Frequency::Weekly, 1),
            Recurrence::Fortnightly => (Frequency::Weekly, 2),
            Recurrence::Monthly => (Frequency::Monthly, 1),
        }
    }
}

impl FromStr for Recurrence {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "weekly" => Ok(Recurrence::Weekly),
            "fortnightly" => Ok(Recurrence::Fortnightly),
            "monthly" => Ok(Recurrence::Monthly),
            _ => Err(ScheduleError::UnknownRecurrence),
        }
    }
}

/// Why a schedule's fields were refused. [`ScheduleError::field`] names the
/// request field; the message is for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0:?} is not an IANA time zone name (like \"Europe/Berlin\")")]
    UnknownZone(String),
    #[error("a time zone name is at most {MAX_ZONE_NAME_LEN} characters long")]
    ZoneNameTooLong,
    #[error("{0} minutes is not between {MIN_DURATION_MIN} and {MAX_DURATION_MIN}")]
    Duration(u32),
    #[error("the start must be on a whole minute")]
    NotOnAMinute,
    #[error("the start is more than two years ahead")]
    TooFarAhead,
    #[error("the start is more than a day in the past")]
    InThePast,
    #[error("must be \"weekly\", \"fortnightly\" or \"monthly\"")]
    UnknownRecurrence,
}

impl ScheduleError {
    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            ScheduleError::UnknownZone(_) | ScheduleError::ZoneNameTooLong => "time_zone",
            ScheduleError::Duration(_) => "duration_min",
            ScheduleError::NotOnAMinute | ScheduleError::TooFarAhead | ScheduleError::InThePast => {
                "starts_at"
            }
            ScheduleError::UnknownRecurrence => "recurrence",
        }
    }
}

/// A scheduled session of a pair, possibly recurring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The first occurrence.
    pub starts_at_ms: i64,
    pub duration_min: u32,
    /// The zone whose wall clock the series keeps (the scheduler's).
    pub time_zone: Tz,
    pub recurrence: Option<Recurrence>,
    /// Single occurrences cancelled (EXDATE), by their start.
    pub skipped_ms: Vec<i64>,
}

/// One occurrence: `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Occurrence {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Schedule {
    /// Occurrences overlapping `[from_ms, to_ms)`, at most `limit`, in
    /// order, skipped ones left out.
    pub fn occurrences_between(&self, from_ms: i64, to_ms: i64, limit: usize) -> Vec<Occurrence> {
        let skipped: BTreeSet<i64> = self.skipped_ms.iter().copied().collect();
        self.instance_starts()
            .take_while(|&start| start < to_ms)
            .filter(|start| !skipped.contains(start))
            .map(|start| self.occurrence_at(start))
            .filter(|occ| occ.end_ms > from_ms)
            .take(limit)
            .collect()
    }

    /// The first occurrence not yet over at `now_ms` (its end is after
    /// now), if any.
    pub fn next_after(&self, now_ms: i64) -> Option<Occurrence> {
        self.occurrences_between(now_ms, i64::MAX, 1).pop()
    }

    /// Whether `start_ms` is the start of one of the (non-skipped)
    /// occurrences.
    pub fn has_occurrence(&self, start_ms: i64) -> bool {
        !self.skipped_ms.contains(&start_ms)
            && self
                .instance_starts()
                .take_while(|&start| start <= start_ms)
                .any(|start| start == start_ms)
    }

    /// The RRULE value for calendar files (`FREQ=WEEKLY`,
    /// `FREQ=WEEKLY;INTERVAL=2`, `FREQ=MONTHLY`); `None` when the session
    /// happens once.
    pub fn rrule(&self) -> Option<String> {
        let (freq, interval) = self.recurrence?.rule();
        Some(match interval {
            1 => format!("FREQ={freq}"),
            n => format!("FREQ={freq};INTERVAL={n}"),
        })
    }

    fn occurrence_at(&self, start_ms: i64) -> Occurrence {
        let duration_ms = i64::from(self.duration_min) * MINUTE_MS;
        Occurrence {
            start_ms,
            end_ms: start_ms.saturating_add(duration_ms),
        }
    }

    /// Every instance's start in order, skipped ones included, at most
    /// [`MAX_INSTANCES`].
    fn instance_starts(&self) -> impl Iterator<Item = i64> + use<> {
        let start = self.starts_at_ms;
        // The start is always the first instance, as RFC 5545 has it, even
        // where the rule would not give it: a start in the second run of an
        // hour the clock turned back, which the rule reads as the first.
        let rest = self
            .recurrence
            .and_then(|r| series_starts(start, self.time_zone, r))
            .into_iter()
            .flatten()
            .filter(move |&at| at > start);
        std::iter::once(start).chain(rest).take(MAX_INSTANCES)
    }
}

/// The starts of a series' instances as the `rrule` crate expands them,
/// `None` if it refuses the rule or the start is out of its range.
fn series_starts(
    start_ms: i64,
    tz: Tz,
    recurrence: Recurrence,
) -> Option<impl Iterator<Item = i64>> {
    // RFC 5545 times have whole seconds: expand from the second and put
    // any milliseconds back, so that every instance has the start's
    // (`validate` only lets whole minutes in; this keeps older rows exact).
    let extra_ms = start_ms.rem_euclid(1000);
    let dt_start =
        DateTime::from_timestamp(start_ms.div_euclid(1000), 0)?.with_timezone(&rrule::Tz::Tz(tz));
    let (freq, interval) = recurrence.rule();
    // `limit` bounds the crate's own search for the next instance, on top
    // of MAX_INSTANCES bounding how many the caller takes.
    let set = RRule::new(freq)
        .interval(interval)
        .build(dt_start)
        .ok()?
        .limit();
    Some(
        (&set)
            .into_iter()
            .map(move |at| at.timestamp() * 1000 + extra_ms),
    )
}

/// An IANA zone name ("Europe/Berlin") as a zone. Offsets ("+01:00") and
/// abbreviations that are not tz database names are refused: a series must
/// follow a place's clock changes, which an offset does not.
pub fn parse_zone(name: &str) -> Result<Tz, ScheduleError> {
    if name.len() > MAX_ZONE_NAME_LEN {
        return Err(ScheduleError::ZoneNameTooLong);
    }
    name.parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownZone(name.to_owned()))
}

/// Checks a new or changed schedule's start and duration at `now_ms`. The
/// zone is checked by [`parse_zone`].
pub fn validate(starts_at_ms: i64, duration_min: u32, now_ms: i64) -> Result<(), ScheduleError> {
    if starts_at_ms.rem_euclid(MINUTE_MS) != 0 {
        return Err(ScheduleError::NotOnAMinute);
    }
    if starts_at_ms < now_ms.saturating_sub(MAX_PAST_MS) {
        return Err(ScheduleError::InThePast);
    }
    if starts_at_ms > now_ms.saturating_add(MAX_AHEAD_MS) {
        return Err(ScheduleError::TooFarAhead);
    }
    if !(MIN_DURATION_MIN..=MAX_DURATION_MIN).contains(&duration_min) {
        return Err(ScheduleError::Duration(duration_min));
    }
    Ok(())
}

/// An instant on a local wall clock, as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalView {
    /// "2026-12-08"
    pub date: String,
    /// "09:00"
    pub time: String,
    /// "Tue"
    pub weekday: String,
    /// "+01:00"
    pub utc_offset: String,
    /// "Europe/Berlin"
    pub zone: String,
}

/// `at_ms` on the clock of `tz`.
pub fn local_view(at_ms: i64, tz: Tz) -> LocalView {
    let local = utc(at_ms).with_timezone(&tz);
    LocalView {
        date: local.format("%Y-%m-%d").to_string(),
        time: local.format("%H:%M").to_string(),
        weekday: local.format("%a").to_string(),
        utc_offset: local.format("%:z").to_string(),
        zone: tz.name().to_owned(),
    }
}

/// Whether `occ` falls outside 08:00–20:00 on the clock of `tz` (the
/// viewer's): it starts before 08:00, ends after 20:00 (ending at 20:00 is
/// fine), or runs across midnight.
pub fn outside_working_hours(occ: &Occurrence, tz: Tz) -> bool {
    let start = utc(occ.start_ms).with_timezone(&tz);
    let end = utc(occ.end_ms).with_timezone(&tz);
    start.date_naive() != end.date_naive()
        || start.time() < WORKDAY_START
        || end.time() > WORKDAY_END
}

/// `ms` as a UTC time, clamped to chrono's range (about ±262,000 years),
/// which only a corrupt value leaves.
pub(crate) fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(if ms < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

#[cfg(test)]
mod tests;
