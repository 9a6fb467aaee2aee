use chrono::{Datelike, TimeZone, Timelike};
use chrono_tz::{America, Asia, Australia, Europe};
use proptest::prelude::*;

use super::*;

const MIN: i64 = 60 * 1000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// Milliseconds of a UTC wall time.
fn utc_ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .timestamp_millis()
}

/// Milliseconds of a wall time in `tz` (which must exist there, once).
fn local_ms(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
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

fn starts(s: &Schedule, from: i64, to: i64) -> Vec<i64> {
    s.occurrences_between(from, to, 100)
        .iter()
        .map(|o| o.start_ms)
        .collect()
}

fn clock(ms: i64, tz: Tz) -> String {
    let v = local_view(ms, tz);
    format!("{} {}", v.date, v.time)
}

/// Tuesday 2 February 2027, 09:00 in Berlin, weekly: Berlin moves its
/// clocks on 28 March, New York on 14 March.
fn berlin_weekly() -> Schedule {
    schedule(
        local_ms(Europe::Berlin, 2027, 2, 2, 9, 0),
        Europe::Berlin,
        Some(Recurrence::Weekly),
    )
}

#[test]
fn a_berlin_series_keeps_berlin_time_across_both_spring_changes() {
    let s = berlin_weekly();
    // Independently computed instants (Tue 2027-02-02T08:00Z etc.).
    assert_eq!(s.starts_at_ms, 1_801_555_200_000);
    let march = starts(&s, utc_ms(2027, 3, 1, 0, 0), utc_ms(2027, 4, 1, 0, 0));
    assert_eq!(
        march,
        [
            1_804_579_200_000 - WEEK, // 2 March, 08:00Z
            1_804_579_200_000,        // 9 March, 08:00Z
            1_805_184_000_000,        // 16 March, 08:00Z
            1_805_788_800_000,        // 23 March, 08:00Z
            1_806_390_000_000,        // 30 March, 07:00Z: Berlin is on summer time
        ]
    );
    assert_eq!(march[4], utc_ms(2027, 3, 30, 7, 0));
    let berlin: Vec<String> = march.iter().map(|&t| clock(t, Europe::Berlin)).collect();
    assert_eq!(
        berlin,
        [
            "2027-03-02 09:00",
            "2027-03-09 09:00",
            "2027-03-16 09:00",
            "2027-03-23 09:00",
            "2027-03-30 09:00"
        ]
    );
    let new_york: Vec<String> = march
        .iter()
        .map(|&t| local_view(t, America::New_York).time)
        .collect();
    // EST, then EDT while Berlin is still on CET, then both on summer time.
    assert_eq!(new_york, ["03:00", "03:00", "04:00", "04:00", "03:00"]);
    let offsets: Vec<String> = march
        .iter()
        .map(|&t| local_view(t, America::New_York).utc_offset)
        .collect();
    assert_eq!(offsets, ["-05:00", "-05:00", "-04:00", "-04:00", "-04:00"]);
}

#[test]
fn an_autumn_change_moves_the_utc_instant_back() {
    let s = berlin_weekly();
    let october = starts(&s, utc_ms(2027, 10, 19, 0, 0), utc_ms(2027, 11, 3, 0, 0));
    // Berlin returns to CET on Sunday 31 October 2027.
    assert_eq!(
        october,
        [
            utc_ms(2027, 10, 19, 7, 0),
            utc_ms(2027, 10, 26, 7, 0),
            utc_ms(2027, 11, 2, 8, 0)
        ]
    );
}

#[test]
fn fortnightly_is_every_other_week_on_the_local_clock() {
    let s = Schedule {
        recurrence: Some(Recurrence::Fortnightly),
        ..berlin_weekly()
    };
    let got = starts(&s, s.starts_at_ms, utc_ms(2027, 4, 14, 0, 0));
    let want: Vec<i64> = [(2, 2), (2, 16), (3, 2), (3, 16), (3, 30), (4, 13)]
        .iter()
        .map(|&(m, d)| local_ms(Europe::Berlin, 2027, m, d, 9, 0))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got[1] - got[0], 2 * WEEK);
    // Across the change the UTC gap is an hour short of two weeks.
    assert_eq!(got[4] - got[3], 2 * WEEK - HOUR);
}

#[test]
fn monthly_on_the_31st_skips_the_shorter_months() {
    let s = schedule(
        utc_ms(2027, 1, 31, 10, 0),
        Tz::UTC,
        Some(Recurrence::Monthly),
    );
    let got: Vec<(u32, u32)> = starts(&s, s.starts_at_ms, utc_ms(2028, 1, 1, 0, 0))
        .iter()
        .map(|&t| {
            let d = utc(t);
            assert_eq!((d.hour(), d.minute()), (10, 0));
            (d.month(), d.day())
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, 31),
            (3, 31),
            (5, 31),
            (7, 31),
            (8, 31),
            (10, 31),
            (12, 31)
        ]
    );
}

#[test]
fn monthly_keeps_the_local_time_across_a_change() {
    let s = schedule(
        local_ms(America::New_York, 2027, 1, 10, 18, 30),
        America::New_York,
        Some(Recurrence::Monthly),
    );
    let got = starts(&s, s.starts_at_ms, utc_ms(2027, 5, 1, 0, 0));
    let clocks: Vec<String> = got.iter().map(|&t| clock(t, America::New_York)).collect();
    assert_eq!(
        clocks,
        [
            "2027-01-10 18:30",
            "2027-02-10 18:30",
            "2027-03-10 18:30",
            "2027-04-10 18:30"
        ]
    );
    // 10 March is before New York's change (14 March), 10 April after it.
    assert_eq!(got[2], utc_ms(2027, 3, 10, 23, 30));
    assert_eq!(got[3], utc_ms(2027, 4, 10, 22, 30));
}

#[test]
fn clock_changes_at_the_hour_of_the_series() {
    let tz = Europe::Berlin;
    // 02:30 does not exist on 28 March 2027: that week it is 03:30.
    let spring = schedule(utc_ms(2027, 3, 21, 1, 30), tz, Some(Recurrence::Weekly));
    let got = starts(&spring, spring.starts_at_ms, utc_ms(2027, 4, 5, 0, 0));
    let clocks: Vec<String> = got.iter().map(|&t| clock(t, tz)).collect();
    assert_eq!(
        clocks,
        ["2027-03-21 02:30", "2027-03-28 03:30", "2027-04-04 02:30"]
    );
    // 02:30 happens twice on 31 October 2027. A series started at the
    // second (CET, 01:30Z) still starts there.
    let autumn = schedule(utc_ms(2027, 10, 31, 1, 30), tz, Some(Recurrence::Weekly));
    assert_eq!(
        starts(&autumn, autumn.starts_at_ms, utc_ms(2027, 11, 8, 0, 0)),
        [utc_ms(2027, 10, 31, 1, 30), utc_ms(2027, 11, 7, 1, 30)]
    );
    assert!(autumn.has_occurrence(autumn.starts_at_ms));
}

#[test]
fn a_one_off_has_one_occurrence() {
    let t = utc_ms(2027, 1, 4, 9, 0);
    let s = schedule(t, Tz::UTC, None);
    assert_eq!(
        s.occurrences_between(i64::MIN, i64::MAX, 10),
        [Occurrence {
            start_ms: t,
            end_ms: t + HOUR
        }]
    );
    assert!(s.has_occurrence(t));
    assert!(!s.has_occurrence(t + WEEK));
    assert_eq!(s.rrule(), None);
}

#[test]
fn the_window_takes_overlapping_occurrences_up_to_the_limit() {
    let s = berlin_weekly();
    let t0 = s.starts_at_ms;
    // One that started before `from` but is not over yet counts; one
    // starting exactly at `to` does not.
    assert_eq!(starts(&s, t0 + 30 * MIN, t0 + WEEK), [t0]);
    assert_eq!(starts(&s, t0 + HOUR, t0 + WEEK + 1), [t0 + WEEK]);
    assert_eq!(starts(&s, t0 - DAY, t0), Vec::<i64>::new());
    assert_eq!(s.occurrences_between(t0, i64::MAX, 3).len(), 3);
    assert_eq!(s.occurrences_between(t0, i64::MAX, 0), Vec::new());
}

#[test]
fn skipped_occurrences_are_left_out() {
    let mut s = berlin_weekly();
    let t0 = s.starts_at_ms;
    s.skipped_ms = vec![t0 + WEEK];
    assert_eq!(starts(&s, t0, t0 + 3 * WEEK), [t0, t0 + 2 * WEEK]);
    assert!(!s.has_occurrence(t0 + WEEK));
    assert!(s.has_occurrence(t0 + 2 * WEEK));
    // During the skipped one, the next is the one after it.
    assert_eq!(
        s.next_after(t0 + WEEK + 10 * MIN).map(|o| o.start_ms),
        Some(t0 + 2 * WEEK)
    );
    // A skipped first occurrence of a one-off leaves nothing.
    let mut once = schedule(t0, Tz::UTC, None);
    once.skipped_ms = vec![t0];
    assert_eq!(once.next_after(t0 - DAY), None);
}

#[test]
fn next_after_is_the_first_not_yet_over() {
    let s = berlin_weekly();
    let t0 = s.starts_at_ms;
    let next = |now| s.next_after(now).map(|o| o.start_ms);
    assert_eq!(next(t0 - 30 * DAY), Some(t0));
    assert_eq!(next(t0), Some(t0));
    assert_eq!(next(t0 + 59 * MIN), Some(t0));
    // At its end it is over.
    assert_eq!(next(t0 + HOUR), Some(t0 + WEEK));
    assert_eq!(next(t0 + 3 * DAY), Some(t0 + WEEK));
    let once = schedule(t0, Tz::UTC, None);
    assert_eq!(once.next_after(t0 + HOUR), None);
}

#[test]
fn has_occurrence_is_exact() {
    let s = berlin_weekly();
    let t0 = s.starts_at_ms;
    assert!(s.has_occurrence(t0));
    assert!(s.has_occurrence(local_ms(Europe::Berlin, 2027, 3, 30, 9, 0)));
    // The same UTC hour as before the change is not one.
    assert!(!s.has_occurrence(utc_ms(2027, 3, 30, 8, 0)));
    assert!(!s.has_occurrence(t0 + MIN));
    assert!(!s.has_occurrence(t0 - WEEK));
}

#[test]
fn a_series_ends_after_its_last_instance() {
    let s = berlin_weekly();
    let all = s.occurrences_between(i64::MIN, i64::MAX, usize::MAX);
    assert_eq!(all.len(), MAX_INSTANCES);
    let last = all[MAX_INSTANCES - 1];
    assert_eq!(s.next_after(last.end_ms), None);
    assert!(s.has_occurrence(last.start_ms));
    assert!(!s.has_occurrence(last.start_ms + WEEK));
    // About ten years on, still 09:00 in Berlin.
    assert_eq!(utc(last.start_ms).year(), 2037);
    assert_eq!(local_view(last.start_ms, Europe::Berlin).time, "09:00");
}

#[test]
fn rrule_values() {
    let rule = |r| schedule(0, Tz::UTC, Some(r)).rrule();
    assert_eq!(rule(Recurrence::Weekly).as_deref(), Some("FREQ=WEEKLY"));
    assert_eq!(
        rule(Recurrence::Fortnightly).as_deref(),
        Some("FREQ=WEEKLY;INTERVAL=2")
    );
    assert_eq!(rule(Recurrence::Monthly).as_deref(), Some("FREQ=MONTHLY"));
}

#[test]
fn recurrence_names() {
    for r in [
        Recurrence::Weekly,
        Recurrence::Fortnightly,
        Recurrence::Monthly,
    ] {
        assert_eq!(r.as_str().parse::<Recurrence>(), Ok(r));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            format!("\"{}\"", r.as_str())
        );
    }
    let e = "daily".parse::<Recurrence>().unwrap_err();
    assert_eq!(e.field(), "recurrence");
}

#[test]
fn zones_are_iana_names_only() {
    assert_eq!(parse_zone("Europe/Berlin"), Ok(Europe::Berlin));
    assert_eq!(parse_zone("UTC"), Ok(Tz::UTC));
    for bad in [
        "Mars/Olympus",
        "",
        "+01:00",
        "europe/berlin",
        "Europe/Berlin ",
    ] {
        let e = parse_zone(bad).unwrap_err();
        assert_eq!(e, ScheduleError::UnknownZone(bad.to_owned()));
        assert_eq!(e.field(), "time_zone");
        assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
    }
    let long = "A".repeat(65);
    let e = parse_zone(&long).unwrap_err();
    assert_eq!(
        (e.clone(), e.field()),
        (ScheduleError::ZoneNameTooLong, "time_zone")
    );
    assert!(!e.to_string().contains(&long));
    // 64 characters is looked up (and is not a zone).
    let e = parse_zone(&"A".repeat(64)).unwrap_err();
    assert!(matches!(e, ScheduleError::UnknownZone(_)));
}

#[test]
fn validate_bounds() {
    let now = utc_ms(2027, 2, 1, 12, 0);
    assert_eq!(validate(now, 60, now), Ok(()));
    assert_eq!(validate(now - DAY, 5, now), Ok(()));
    assert_eq!(validate(now + 2 * 366 * DAY, 480, now), Ok(()));
    // Two years ahead to the day.
    assert_eq!(validate(utc_ms(2029, 2, 1, 12, 0), 60, now), Ok(()));
    let field = |r: Result<(), ScheduleError>| r.unwrap_err().field();
    assert_eq!(field(validate(now - DAY - MIN, 60, now)), "starts_at");
    assert_eq!(
        field(validate(now + 2 * 366 * DAY + MIN, 60, now)),
        "starts_at"
    );
    assert_eq!(field(validate(now + 1000, 60, now)), "starts_at");
    assert_eq!(field(validate(now, 4, now)), "duration_min");
    assert_eq!(field(validate(now, 481, now)), "duration_min");
    assert_eq!(field(validate(now, 0, now)), "duration_min");
    assert_eq!(
        validate(i64::MIN, 60, i64::MIN),
        Err(ScheduleError::NotOnAMinute)
    );
    assert!(validate(i64::MAX - i64::MAX % MIN, 60, 0).is_err());
}

#[test]
fn local_view_fields() {
    let v = local_view(utc_ms(2026, 12, 8, 8, 0), Europe::Berlin);
    assert_eq!(
        serde_json::to_value(&v).unwrap(),
        serde_json::json!({
            "date": "2026-12-08", "time": "09:00", "weekday": "Tue",
            "utc_offset": "+01:00", "zone": "Europe/Berlin"
        })
    );
    let v = local_view(utc_ms(2027, 3, 30, 7, 0), Asia::Kolkata);
    assert_eq!(
        (v.time.as_str(), v.utc_offset.as_str()),
        ("12:30", "+05:30")
    );
    // Sydney is on summer time in January.
    let v = local_view(utc_ms(2027, 1, 15, 0, 0), Australia::Sydney);
    assert_eq!(
        (v.time.as_str(), v.utc_offset.as_str()),
        ("11:00", "+11:00")
    );
}

#[test]
fn working_hours_edges() {
    let tz = Europe::Berlin;
    let occ = |h: u32, m: u32, minutes: i64| {
        let start = local_ms(tz, 2027, 3, 9, h, m);
        Occurrence {
            start_ms: start,
            end_ms: start + minutes * MIN,
        }
    };
    assert!(!outside_working_hours(&occ(8, 0, 60), tz));
    assert!(outside_working_hours(&occ(7, 59, 60), tz));
    assert!(!outside_working_hours(&occ(19, 0, 60), tz));
    assert!(outside_working_hours(&occ(19, 1, 60), tz));
    assert!(!outside_working_hours(&occ(8, 0, 720), tz));
    // Ends at midnight or runs past it.
    assert!(outside_working_hours(&occ(23, 0, 60), tz));
    assert!(outside_working_hours(&occ(23, 30, 60), tz));
    // 09:00 in Berlin is 03:00 in New York.
    let nine = occ(9, 0, 60);
    assert!(outside_working_hours(&nine, America::New_York));
    assert!(!outside_working_hours(&nine, Asia::Kolkata));
}

const ZONES: [Tz; 8] = [
    Europe::Berlin,
    America::New_York,
    America::Sao_Paulo,
    Australia::Sydney,
    Asia::Tokyo,
    Asia::Kolkata,
    chrono_tz::Pacific::Chatham,
    Tz::UTC,
];

fn any_schedule() -> impl Strategy<Value = Schedule> {
    (
        // 2026..2030, daytime local hours (no zone here changes its clocks
        // between 08:00 and 20:00).
        0i64..4 * 365,
        8u32..20,
        0u32..60,
        0usize..ZONES.len(),
        prop_oneof![
            Just(Recurrence::Weekly),
            Just(Recurrence::Fortnightly),
            Just(Recurrence::Monthly)
        ],
    )
        .prop_map(|(day, h, m, zone, r)| {
            let tz = ZONES[zone];
            let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                + chrono::Days::new(day as u64);
            let start = tz
                .from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap())
                .single()
                .unwrap()
                .timestamp_millis();
            schedule(start, tz, Some(r))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every occurrence is at the first one's local time, on its weekday or
    /// day of the month, at the rule's spacing, and is found again by
    /// `has_occurrence` and `next_after`.
    #[test]
    fn a_series_keeps_its_local_clock(s in any_schedule()) {
        let tz = s.time_zone;
        let occs = s.occurrences_between(s.starts_at_ms, i64::MAX, 30);
        prop_assert_eq!(occs.len(), 30);
        prop_assert_eq!(occs[0].start_ms, s.starts_at_ms);
        let first = utc(s.starts_at_ms).with_timezone(&tz);
        let mut previous = first.date_naive();
        for (i, occ) in occs.iter().enumerate() {
            let local = utc(occ.start_ms).with_timezone(&tz);
            prop_assert_eq!(local.time(), first.time());
            prop_assert_eq!(occ.end_ms - occ.start_ms, 60 * MIN);
            prop_assert!(s.has_occurrence(occ.start_ms));
            prop_assert_eq!(s.next_after(occ.start_ms), Some(*occ));
            if i > 0 {
                let gap = (local.date_naive() - previous).num_days();
                match s.recurrence {
                    Some(Recurrence::Weekly) => prop_assert_eq!(gap, 7),
                    Some(Recurrence::Fortnightly) => prop_assert_eq!(gap, 14),
                    _ => {
                        prop_assert_eq!(local.day(), first.day());
                        prop_assert!((28..=92).contains(&gap));
                    }
                }
            }
            previous = local.date_naive();
        }
    }

    /// Any window gives exactly the occurrences of the whole list that
    /// overlap it.
    #[test]
    fn windows_agree_with_the_whole_list(
        s in any_schedule(),
        from_days in -30i64..400,
        len_days in 0i64..100,
    ) {
        let from = s.starts_at_ms + from_days * DAY;
        let to = from + len_days * DAY;
        let all = s.occurrences_between(i64::MIN, i64::MAX, usize::MAX);
        let want: Vec<Occurrence> = all
            .into_iter()
            .filter(|o| o.start_ms < to && o.end_ms > from)
            .collect();
        prop_assert_eq!(s.occurrences_between(from, to, usize::MAX), want);
    }
}
