//! Reading stored values back into Duet's types. The tables hold ids and
//! enums as text and small numbers as 64-bit integers (all `Any` carries);
//! a value that does not parse is a decode error naming what it was.

use duet_signaling::Role;
use duet_signaling::protocol::RecordingPolicy;
use uuid::Uuid;

/// A decode error for a stored value that is not what it should be.
pub(super) fn bad(what: &str, value: impl std::fmt::Debug) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what} {value:?} is not valid").into())
}

pub(super) fn uuid_from(s: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(s).map_err(|_| bad("id", s))
}

pub(super) fn role_from(s: &str) -> Result<Role, sqlx::Error> {
    match s {
        "mentor" => Ok(Role::Mentor),
        "mentee" => Ok(Role::Mentee),
        other => Err(bad("role", other)),
    }
}

/// A count or version stored as BIGINT that the code keeps as `u32`.
pub(super) fn u32_from(what: &str, v: i64) -> Result<u32, sqlx::Error> {
    u32::try_from(v).map_err(|_| bad(what, v))
}

pub(super) fn policy_str(p: RecordingPolicy) -> &'static str {
    match p {
        RecordingPolicy::Off => "off",
        RecordingPolicy::Allowed => "allowed",
    }
}

pub(super) fn policy_from(s: &str) -> RecordingPolicy {
    if s == "allowed" {
        RecordingPolicy::Allowed
    } else {
        RecordingPolicy::Off
    }
}

/// `$from, $from+1, …`: `n` numbered placeholders for an `IN (…)` list.
pub(super) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A count as the code uses it (never negative).
pub(super) fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}
