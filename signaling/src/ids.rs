//! Identifiers shared by the protocol and the state machines.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A mentoring session (one call between one mentor and one mentee).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub Uuid);

/// One admitted participant connection. A rejoin gets a new id, so a client can
/// tell "the other person came back" from "the same connection".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub Uuid);

/// One WebSocket connection, numbered by the IO layer. Never leaves the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Which join link a connection came in with. Two connections with the same
/// link are the same person (a second tab); different links for one role are
/// different people.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkId(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Mentor,
    Mentee,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Mentor, Role::Mentee];

    pub fn other(self) -> Role {
        match self {
            Role::Mentor => Role::Mentee,
            Role::Mentee => Role::Mentor,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mentor => "mentor",
            Role::Mentee => "mentee",
        }
    }

    /// Index into per-role arrays.
    pub fn index(self) -> usize {
        match self {
            Role::Mentor => 0,
            Role::Mentee => 1,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mentor" => Ok(Role::Mentor),
            "mentee" => Ok(Role::Mentee),
            _ => Err(UnknownRole),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be \"mentor\" or \"mentee\"")]
pub struct UnknownRole;

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Wall-clock time passed in by the caller, in milliseconds since the Unix
/// epoch. The state machines never read a clock themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// RFC 3339 in UTC with millisecond precision, as sent in `chat.at`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(t) => t
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            Err(_) => String::new(),
        }
    }
}
