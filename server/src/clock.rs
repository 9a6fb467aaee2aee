//! The server's wall clock, and how its times are written: one place, so
//! every module reads and formats time the same way.

use duet_signaling::UnixMillis;

/// Now, in Unix seconds.
pub fn now_s() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Now, in Unix milliseconds (what the state machines are fed).
pub fn now_millis() -> UnixMillis {
    let now = time::OffsetDateTime::now_utc();
    UnixMillis((now.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Now, in Unix milliseconds, as stored in the database.
pub fn now_ms() -> i64 {
    now_millis().0
}

/// RFC 3339 (UTC) of a time in Unix seconds; empty if out of range.
pub fn rfc3339(unix_s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
