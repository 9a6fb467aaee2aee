use chrono::TimeZone;
use chrono_tz::{Africa, America, Asia, Australia, Europe};

use super::*;
use crate::pairs::schedule::Recurrence;

mod python;

fn utc_ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    chrono::Utc
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .timestamp_millis()
}

fn schedule(start: i64, tz: Tz, recurrence: Option<Recurrence>) -> Schedule {
    Schedule {
        starts_at_ms: start,
        duration_min: 60,
        time_zone: tz,
        recurrence,
        skipped_ms: vec![],
    }
}

/// Weekly from Tuesday 16 March 2027, 09:00 in Berlin (08:00Z), across
/// Berlin's change on 28 March; 6 April skipped.
fn berlin_weekly() -> Schedule {
    Schedule {
        skipped_ms: vec![utc_ms(2027, 4, 6, 7, 0)],
        ..schedule(
            utc_ms(2027, 3, 16, 8, 0),
            Europe::Berlin,
            Some(Recurrence::Weekly),
        )
    }
}

fn invite(schedule: &Schedule) -> Invite<'_> {
    Invite {
        uid: "0b7e6a52-4a4f-4d4e-9a53-1f3c5d2e8a10@duet.example.org".into(),
        sequence: 3,
        title: "Mentoring: Ann and Bob".into(),
        description: "Join: https://duet.example.org/p/abc/join".into(),
        url: "https://duet.example.org/p/abc/join".into(),
        attendees: vec![
            Attendee {
                name: "Ann Lee".into(),
                email: Some("ann@example.org".into()),
            },
            Attendee {
                name: "Bob Roe".into(),
                email: Some("bob@example.org".into()),
            },
        ],
        organizer: Attendee {
            name: "Ann Lee".into(),
            email: Some("ann@example.org".into()),
        },
        schedule,
        status: InviteStatus::Scheduled,
        created_ms: utc_ms(2027, 2, 1, 12, 0),
        modified_ms: utc_ms(2027, 3, 1, 12, 0),
    }
}

/// The content lines, unfolded.
fn lines(ics: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for physical in ics.split("\r\n") {
        match (physical.strip_prefix(' '), out.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => out.push(physical.to_owned()),
        }
    }
    assert_eq!(out.pop().as_deref(), Some(""), "the file ends with CRLF");
    out
}

fn has(ics: &str, line: &str) -> bool {
    lines(ics).iter().any(|l| l == line)
}

fn count(ics: &str, line: &str) -> usize {
    lines(ics).iter().filter(|l| *l == line).count()
}

/// The STANDARD and DAYLIGHT parts of the VTIMEZONE of `tzid`, each as
/// (kind, its lines).
fn observances(ics: &str, tzid: &str) -> Vec<(String, Vec<String>)> {
    let all = lines(ics);
    let begin = all
        .iter()
        .enumerate()
        .position(|(i, l)| l == "BEGIN:VTIMEZONE" && all[i + 1] == format!("TZID:{tzid}"))
        .unwrap_or_else(|| panic!("no VTIMEZONE for {tzid}"));
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in &all[begin + 2..] {
        if line == "END:VTIMEZONE" {
            break;
        }
        if let Some(kind) = line.strip_prefix("BEGIN:") {
            current = Some((kind.to_owned(), Vec::new()));
        } else if line.starts_with("END:") {
            out.extend(current.take());
        } else if let Some((_, props)) = &mut current {
            props.push(line.clone());
        }
    }
    out
}

fn observance<'a>(obs: &'a [(String, Vec<String>)], kind: &str) -> &'a [String] {
    let found: Vec<_> = obs.iter().filter(|(k, _)| k == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} in {obs:?}");
    &found[0].1
}

fn one_event_ics(tz: Tz, start: i64, recurrence: Option<Recurrence>) -> String {
    let s = schedule(start, tz, recurrence);
    invite_ics(&invite(&s))
}

#[test]
fn an_invite_has_every_field() {
    let s = berlin_weekly();
    let ics = invite_ics(&invite(&s));
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Duet//Duet pairs//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Berlin",
        "BEGIN:VEVENT",
        "UID:0b7e6a52-4a4f-4d4e-9a53-1f3c5d2e8a10@duet.example.org",
        "SEQUENCE:3",
        "DTSTAMP:20270301T120000Z",
        "CREATED:20270201T120000Z",
        "LAST-MODIFIED:20270301T120000Z",
        "DTSTART;TZID=Europe/Berlin:20270316T090000",
        "DTEND;TZID=Europe/Berlin:20270316T100000",
        "RRULE:FREQ=WEEKLY",
        "EXDATE;TZID=Europe/Berlin:20270406T090000",
        "SUMMARY:Mentoring: Ann and Bob",
        "DESCRIPTION:Join: https://duet.example.org/p/abc/join",
        "URL:https://duet.example.org/p/abc/join",
        "LOCATION:https://duet.example.org/p/abc/join",
        "ATTENDEE;CN=Ann Lee:mailto:ann@example.org",
        "ATTENDEE;CN=Bob Roe:mailto:bob@example.org",
        "STATUS:CONFIRMED",
        "END:VEVENT",
        "END:VCALENDAR",
    ] {
        assert!(has(&ics, line), "no {line:?} in\n{ics}");
    }
    assert_eq!(count(&ics, "BEGIN:VEVENT"), 1);
    assert_eq!(count(&ics, "BEGIN:VTIMEZONE"), 1);
    // Nothing the crate would add of its own: no second DTSTAMP, no UID
    // outside the event.
    assert_eq!(
        lines(&ics).iter().filter(|l| l.starts_with("UID")).count(),
        1
    );
    assert_eq!(
        lines(&ics)
            .iter()
            .filter(|l| l.starts_with("DTSTAMP"))
            .count(),
        1
    );
    // Deterministic: the same input writes the same bytes.
    assert_eq!(ics, invite_ics(&invite(&s)));
}

#[test]
fn lines_end_in_crlf_and_fold_at_75_octets() {
    let s = berlin_weekly();
    let mut i = invite(&s);
    i.title = "Mentoría — 日本語のセッション, ünd mehr; ".repeat(8);
    i.description = format!("{}\nline two", "x".repeat(300));
    let ics = invite_ics(&i);
    assert!(ics.ends_with("\r\n"));
    assert!(!ics.replace("\r\n", "").contains(['\r', '\n']));
    for physical in ics.split("\r\n") {
        assert!(
            physical.len() <= 75,
            "{} octets: {physical:?}",
            physical.len()
        );
    }
    let summary = lines(&ics)
        .into_iter()
        .find(|l| l.starts_with("SUMMARY:"))
        .unwrap();
    assert_eq!(
        summary,
        format!(
            "SUMMARY:{}",
            i.title.replace(',', "\\,").replace(';', "\\;")
        )
    );
}

#[test]
fn text_is_escaped() {
    let s = berlin_weekly();
    let mut i = invite(&s);
    i.title = "Plan, review; a\\b\nnext".into();
    i.description = "one\r\ntwo\rthree\u{7}".into();
    let ics = invite_ics(&i);
    assert!(has(&ics, r"SUMMARY:Plan\, review\; a\\b\nnext"), "{ics}");
    assert!(has(&ics, r"DESCRIPTION:one\ntwo\nthree"), "{ics}");
    let feed = feed_ics("Ann, Bob; 2027", &[i]);
    assert!(has(&feed, r"X-WR-CALNAME:Ann\, Bob\; 2027"), "{feed}");
}

#[test]
fn names_and_addresses_cannot_break_lines() {
    let s = berlin_weekly();
    let mut i = invite(&s);
    i.attendees = vec![Attendee {
        name: "Ann \"Nan\", Lee\r\nX-EVIL:1".into(),
        email: Some("ann@example.org\r\nX-EVIL:2".into()),
    }];
    i.url = "https://duet.example.org/j\nX-EVIL:3".into();
    i.uid = "u@h\r\nX-EVIL:4".into();
    let ics = invite_ics(&i);
    assert!(
        !lines(&ics).iter().any(|l| l.starts_with("X-EVIL")),
        "{ics}"
    );
    assert!(
        has(
            &ics,
            "ATTENDEE;CN=\"Ann 'Nan', Lee  X-EVIL:1\":mailto:ann@example.orgX-EVIL:2"
        ),
        "{ics}"
    );
}

#[test]
fn attendees_without_email_are_named_in_the_description() {
    let s = berlin_weekly();
    let mut i = invite(&s);
    i.attendees[1].email = None;
    let ics = invite_ics(&i);
    assert_eq!(
        lines(&ics)
            .iter()
            .filter(|l| l.starts_with("ATTENDEE"))
            .count(),
        1
    );
    assert!(has(&ics, "ATTENDEE;CN=Ann Lee:mailto:ann@example.org"));
    assert!(
        has(
            &ics,
            r"DESCRIPTION:Join: https://duet.example.org/p/abc/join\n\nAttendees: Ann Lee\, Bob Roe"
        ),
        "{ics}"
    );
}

#[test]
fn a_cancelled_invite_is_a_cancel() {
    let s = berlin_weekly();
    let mut i = invite(&s);
    i.status = InviteStatus::Cancelled;
    i.sequence = 4;
    let ics = invite_ics(&i);
    for line in ["METHOD:CANCEL", "STATUS:CANCELLED", "SEQUENCE:4"] {
        assert!(has(&ics, line), "no {line:?} in\n{ics}");
    }
    assert!(!has(&ics, "METHOD:REQUEST"));
    assert!(!has(&ics, "STATUS:CONFIRMED"));
}

#[test]
fn a_one_off_has_no_rrule_nor_exdate() {
    let ics = one_event_ics(Tz::UTC, utc_ms(2027, 5, 3, 14, 30), None);
    assert!(has(&ics, "DTSTART;TZID=UTC:20270503T143000"));
    assert!(has(&ics, "DTEND;TZID=UTC:20270503T153000"));
    assert!(
        !lines(&ics)
            .iter()
            .any(|l| l.starts_with("RRULE") || l.starts_with("EXDATE"))
    );
}

#[test]
fn fortnightly_and_monthly_rules() {
    let t = utc_ms(2027, 1, 31, 10, 0);
    let ics = one_event_ics(Tz::UTC, t, Some(Recurrence::Fortnightly));
    assert!(has(&ics, "RRULE:FREQ=WEEKLY;INTERVAL=2"));
    let ics = one_event_ics(Tz::UTC, t, Some(Recurrence::Monthly));
    assert!(has(&ics, "RRULE:FREQ=MONTHLY"));
}

#[test]
fn the_feed_has_every_event_and_one_vtimezone_per_zone() {
    let berlin = berlin_weekly();
    let berlin_once = schedule(utc_ms(2027, 6, 1, 8, 0), Europe::Berlin, None);
    let ny = schedule(utc_ms(2027, 3, 20, 14, 0), America::New_York, None);
    let mut cancelled = invite(&ny);
    cancelled.uid = "second@duet.example.org".into();
    cancelled.status = InviteStatus::Cancelled;
    let mut third = invite(&berlin_once);
    third.uid = "third@duet.example.org".into();
    let feed = feed_ics("Ann & Bob", &[invite(&berlin), cancelled, third]);
    for line in [
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Ann & Bob",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        "UID:second@duet.example.org",
        "UID:third@duet.example.org",
        "TZID:Europe/Berlin",
        "TZID:America/New_York",
    ] {
        assert!(has(&feed, line), "no {line:?} in\n{feed}");
    }
    assert_eq!(count(&feed, "BEGIN:VEVENT"), 3);
    assert_eq!(count(&feed, "BEGIN:VTIMEZONE"), 2);
    assert_eq!(count(&feed, "STATUS:CANCELLED"), 1);
    assert_eq!(count(&feed, "STATUS:CONFIRMED"), 2);
    // Zones come before the events that use them.
    let all = lines(&feed);
    let last_zone = all.iter().rposition(|l| l == "END:VTIMEZONE").unwrap();
    let first_event = all.iter().position(|l| l == "BEGIN:VEVENT").unwrap();
    assert!(last_zone < first_event);

    let empty = feed_ics("Nothing yet", &[]);
    assert!(has(&empty, "METHOD:PUBLISH"));
    assert_eq!(count(&empty, "BEGIN:VEVENT"), 0);
}

#[test]
fn vtimezone_europe_berlin() {
    let ics = invite_ics(&invite(&berlin_weekly()));
    let obs = observances(&ics, "Europe/Berlin");
    assert_eq!(obs.len(), 2, "{obs:?}");
    assert_eq!(
        observance(&obs, "DAYLIGHT"),
        [
            "DTSTART:20260329T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "TZNAME:CEST",
        ]
    );
    assert_eq!(
        observance(&obs, "STANDARD"),
        [
            "DTSTART:20261025T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "TZNAME:CET",
        ]
    );
}

#[test]
fn vtimezone_america_new_york() {
    let ics = one_event_ics(America::New_York, utc_ms(2027, 3, 20, 14, 0), None);
    let obs = observances(&ics, "America/New_York");
    assert_eq!(obs.len(), 2, "{obs:?}");
    assert_eq!(
        observance(&obs, "DAYLIGHT"),
        [
            "DTSTART:20260308T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
            "TZOFFSETFROM:-0500",
            "TZOFFSETTO:-0400",
            "TZNAME:EDT",
        ]
    );
    assert_eq!(
        observance(&obs, "STANDARD"),
        [
            "DTSTART:20261101T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
            "TZOFFSETFROM:-0400",
            "TZOFFSETTO:-0500",
            "TZNAME:EST",
        ]
    );
}

#[test]
fn vtimezone_asia_tokyo_has_one_observance() {
    let ics = one_event_ics(
        Asia::Tokyo,
        utc_ms(2027, 3, 20, 1, 0),
        Some(Recurrence::Weekly),
    );
    let obs = observances(&ics, "Asia/Tokyo");
    assert_eq!(
        obs,
        [(
            "STANDARD".to_owned(),
            vec![
                "DTSTART:19700101T000000".to_owned(),
                "TZOFFSETFROM:+0900".to_owned(),
                "TZOFFSETTO:+0900".to_owned(),
                "TZNAME:JST".to_owned(),
            ]
        )]
    );
    let ics = one_event_ics(Tz::UTC, utc_ms(2027, 3, 20, 1, 0), None);
    assert_eq!(observances(&ics, "UTC").len(), 1);
}

#[test]
fn vtimezone_australia_sydney_is_on_summer_time_in_january() {
    // 15 January 2027, 10:00 in Sydney is 23:00Z the day before (+11:00).
    let start = utc_ms(2027, 1, 14, 23, 0);
    let ics = one_event_ics(Australia::Sydney, start, Some(Recurrence::Weekly));
    assert!(has(&ics, "DTSTART;TZID=Australia/Sydney:20270115T100000"));
    let obs = observances(&ics, "Australia/Sydney");
    assert_eq!(obs.len(), 2, "{obs:?}");
    // Summer time began in October 2026, before the event, and ends in
    // April.
    assert_eq!(
        observance(&obs, "DAYLIGHT"),
        [
            "DTSTART:20261004T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU",
            "TZOFFSETFROM:+1000",
            "TZOFFSETTO:+1100",
            "TZNAME:AEDT",
        ]
    );
    assert_eq!(
        observance(&obs, "STANDARD"),
        [
            "DTSTART:20260405T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU",
            "TZOFFSETFROM:+1100",
            "TZOFFSETTO:+1000",
            "TZNAME:AEST",
        ]
    );
}

#[test]
fn vtimezone_half_hour_offsets() {
    let ics = one_event_ics(Asia::Kolkata, utc_ms(2027, 3, 20, 4, 30), None);
    let obs = observances(&ics, "Asia/Kolkata");
    assert_eq!(obs.len(), 1);
    assert!(obs[0].1.contains(&"TZOFFSETTO:+0530".to_owned()), "{obs:?}");
    let ics = one_event_ics(America::St_Johns, utc_ms(2027, 3, 20, 12, 0), None);
    let obs = observances(&ics, "America/St_Johns");
    assert!(observance(&obs, "STANDARD").contains(&"TZOFFSETTO:-0330".to_owned()));
    assert!(observance(&obs, "DAYLIGHT").contains(&"TZOFFSETTO:-0230".to_owned()));
}

#[test]
fn daylight_is_the_clock_put_forward() {
    // The tz database has Irish Standard Time in summer and "negative"
    // summer time in winter; calendars expect DAYLIGHT to be ahead.
    let ics = one_event_ics(Europe::Dublin, utc_ms(2027, 6, 1, 9, 0), None);
    let obs = observances(&ics, "Europe/Dublin");
    assert_eq!(obs.len(), 2, "{obs:?}");
    let daylight = observance(&obs, "DAYLIGHT");
    assert!(
        daylight.contains(&"TZOFFSETFROM:+0000".to_owned()),
        "{obs:?}"
    );
    assert!(daylight.contains(&"TZOFFSETTO:+0100".to_owned()), "{obs:?}");
    assert!(daylight.contains(&"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU".to_owned()));
    let standard = observance(&obs, "STANDARD");
    assert!(standard.contains(&"TZOFFSETTO:+0000".to_owned()), "{obs:?}");
}

#[test]
fn irregular_changes_are_listed_not_ruled() {
    // Morocco leaves +01:00 during Ramadan, on dates that follow the moon.
    let ics = one_event_ics(Africa::Casablanca, utc_ms(2020, 3, 1, 9, 0), None);
    let obs = observances(&ics, "Africa/Casablanca");
    assert_eq!(obs.len(), 2, "{obs:?}");
    for (_, props) in &obs {
        assert!(!props.iter().any(|p| p.starts_with("RRULE")), "{obs:?}");
        assert_eq!(props.iter().filter(|p| p.starts_with("DTSTART")).count(), 1);
        assert_eq!(props.iter().filter(|p| p.starts_with("RDATE")).count(), 1);
    }
}

#[test]
fn every_invite_has_an_organizer_and_a_stranger_never_gets_replies() {
    let s = berlin_weekly();
    let mut i = invite(&s);
    let with_email = lines(&invite_ics(&i));
    assert!(
        with_email.contains(&"ORGANIZER;CN=Ann Lee:mailto:ann@example.org".to_string()),
        "{with_email:?}"
    );
    i.organizer = Attendee {
        name: "Duet".into(),
        email: None,
    };
    let without = lines(&invite_ics(&i));
    assert!(
        without.contains(&"ORGANIZER;CN=Duet:mailto:noreply@duet.example.org".to_string()),
        "{without:?}"
    );
}
