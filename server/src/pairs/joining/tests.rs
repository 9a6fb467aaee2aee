use super::*;
use crate::pairs::schedule::Recurrence;

const MIN: i64 = 60 * 1000;
const DAY: i64 = 24 * 60 * MIN;
/// 2027-01-04 09:00 UTC, a Monday.
const T0: i64 = 1_799_053_200_000;

fn once(start: i64) -> Schedule {
    Schedule {
        starts_at_ms: start,
        duration_min: 60,
        time_zone: chrono_tz::UTC,
        recurrence: None,
        skipped_ms: vec![],
    }
}

#[test]
fn nothing_scheduled_opens_nothing() {
    assert_eq!(current_or_next::<u8>(&[], T0), None);
    let past = once(T0 - 2 * DAY);
    assert_eq!(current_or_next(&[(1, &past)], T0), None);
}

#[test]
fn the_one_under_way_or_about_to_start_wins_over_a_later_one() {
    let now = once(T0);
    let later = once(T0 + DAY);
    for at in [T0 - 30 * MIN, T0, T0 + 59 * MIN, T0 + 60 * MIN + 29 * MIN] {
        let (id, occ) = current_or_next(&[(2, &later), (1, &now)], at).unwrap();
        assert_eq!((id, occ.start_ms), (1, T0), "at {}", (at - T0) / MIN);
    }
    // Half an hour after its end it is over: the next one opens.
    let (id, _) = current_or_next(&[(2, &later), (1, &now)], T0 + 90 * MIN).unwrap();
    assert_eq!(id, 2);
}

#[test]
fn with_nothing_current_the_nearest_upcoming_opens_however_far() {
    let a = once(T0 + 10 * DAY);
    let b = once(T0 + 3 * DAY);
    let (id, occ) = current_or_next(&[(1, &a), (2, &b)], T0).unwrap();
    assert_eq!((id, occ.start_ms), (2, T0 + 3 * DAY));
}

#[test]
fn a_weekly_series_opens_this_weeks_occurrence() {
    let weekly = Schedule {
        recurrence: Some(Recurrence::Weekly),
        ..once(T0)
    };
    let (_, occ) = current_or_next(&[(1, &weekly)], T0 + 7 * DAY + 5 * MIN).unwrap();
    assert_eq!(occ.start_ms, T0 + 7 * DAY);
    let (_, occ) = current_or_next(&[(1, &weekly)], T0 + 2 * DAY).unwrap();
    assert_eq!(occ.start_ms, T0 + 7 * DAY);
}
