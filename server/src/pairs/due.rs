//! When an action is overdue: its due date is a day in its owner's
//! calendar, so "overdue" starts at the owner's midnight after that day,
//! not at a UTC midnight that may fall in their afternoon.

use chrono::{NaiveDate, TimeZone};

/// Whether an action due on `due` (`YYYY-MM-DD`) is overdue at `now_ms`
/// for an owner in `tz`. An unreadable date is never overdue (it was
/// checked when stored).
pub fn is_overdue(due: &str, tz: chrono_tz::Tz, now_ms: i64) -> bool {
    let Ok(day) = NaiveDate::parse_from_str(due, "%Y-%m-%d") else {
        return false;
    };
    let Some(now) = tz.timestamp_millis_opt(now_ms).single() else {
        return false;
    };
    now.date_naive() > day
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-01-05 03:00 UTC: still the 4th in New York, the 5th in Berlin.
    const AT: i64 = 1_799_118_000_000;

    #[test]
    fn overdue_follows_the_owners_calendar() {
        assert!(is_overdue("2027-01-04", chrono_tz::Europe::Berlin, AT));
        assert!(!is_overdue("2027-01-04", chrono_tz::America::New_York, AT));
        assert!(!is_overdue("2027-01-05", chrono_tz::Europe::Berlin, AT));
        assert!(!is_overdue("not a date", chrono_tz::UTC, AT));
    }
}
