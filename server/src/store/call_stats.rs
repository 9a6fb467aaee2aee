//! Each session's call, recorded or not: when people were in it, how long
//! both were, and how long each talked (the pair history's "date, duration,
//! talk-time balance").
//!
//! One row per session that anyone joined. The room rewrites it whole as
//! the call goes (at each join and leave), from its own totals, so a write
//! that is lost or repeated leaves nothing wrong behind: the next one
//! carries everything.

use std::collections::HashMap;

use duet_signaling::{Role, SessionId};
use rusqlite::{OptionalExtension, Row};
use uuid::Uuid;

use super::{Store, StoreError};

/// One session's call as stored. Times are Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallStats {
    pub session: SessionId,
    /// When the first participant joined.
    pub first_joined_at_ms: i64,
    /// When both were first in the call together; `None` if they never were.
    pub together_since_ms: Option<i64>,
    /// When the last one left (the call was last empty); `None` while the
    /// first stretch goes on, or after a crash during it.
    pub last_left_at_ms: Option<i64>,
    /// How long both were in the call, summed over the stretches they were.
    pub together_ms: i64,
    pub mentor_talk_ms: i64,
    pub mentee_talk_ms: i64,
    pub updated_at_ms: i64,
}

impl CallStats {
    pub fn talk_ms(&self, role: Role) -> i64 {
        match role {
            Role::Mentor => self.mentor_talk_ms,
            Role::Mentee => self.mentee_talk_ms,
        }
    }
}

const COLUMNS: &str = "session_id, first_joined_at_ms, together_since_ms, last_left_at_ms, \
                       together_ms, mentor_talk_ms, mentee_talk_ms, updated_at_ms";

/// Rows asked for per query by [`Store::call_stats_of`]: well under
/// SQLite's limit on bound parameters.
const IDS_PER_QUERY: usize = 500;

fn from_row(row: &Row<'_>) -> rusqlite::Result<CallStats> {
    let id: String = row.get(0)?;
    let id = Uuid::parse_str(&id).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(CallStats {
        session: SessionId(id),
        first_joined_at_ms: row.get(1)?,
        together_since_ms: row.get(2)?,
        last_left_at_ms: row.get(3)?,
        together_ms: row.get(4)?,
        mentor_talk_ms: row.get(5)?,
        mentee_talk_ms: row.get(6)?,
        updated_at_ms: row.get(7)?,
    })
}

fn upsert(conn: &rusqlite::Connection, s: &CallStats) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO call_stats ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (session_id) DO UPDATE SET
                first_joined_at_ms = excluded.first_joined_at_ms,
                together_since_ms = excluded.together_since_ms,
                last_left_at_ms = excluded.last_left_at_ms,
                together_ms = excluded.together_ms,
                mentor_talk_ms = excluded.mentor_talk_ms,
                mentee_talk_ms = excluded.mentee_talk_ms,
                updated_at_ms = excluded.updated_at_ms"
        ),
        rusqlite::params![
            s.session.0.to_string(),
            s.first_joined_at_ms,
            s.together_since_ms,
            s.last_left_at_ms,
            s.together_ms,
            s.mentor_talk_ms,
            s.mentee_talk_ms,
            s.updated_at_ms,
        ],
    )?;
    Ok(())
}

fn select_many(
    conn: &rusqlite::Connection,
    ids: &[SessionId],
) -> Result<Vec<CallStats>, StoreError> {
    let marks = vec!["?"; ids.len()].join(", ");
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM call_stats WHERE session_id IN ({marks})"
    ))?;
    let ids: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
    let rows = stmt.query_map(rusqlite::params_from_iter(ids), from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

impl Store {
    /// One session's call; `None` when nobody ever joined it.
    pub async fn call_stats(&self, id: SessionId) -> Result<Option<CallStats>, StoreError> {
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM call_stats WHERE session_id = ?1"),
                    [id.0.to_string()],
                    from_row,
                )
                .optional()?)
        })
        .await
    }

    /// The calls of many sessions at once (a list, a pair's history), by
    /// session; sessions nobody joined are absent.
    pub async fn call_stats_of(
        &self,
        ids: Vec<SessionId>,
    ) -> Result<HashMap<SessionId, CallStats>, StoreError> {
        self.call(move |conn| {
            let mut out = HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(IDS_PER_QUERY) {
                out.extend(
                    select_many(conn, chunk)?
                        .into_iter()
                        .map(|s| (s.session, s)),
                );
            }
            Ok(out)
        })
        .await
    }

    /// Writes a session's call, replacing what was stored, and waits for it.
    pub async fn save_call_stats(&self, stats: CallStats) -> Result<(), StoreError> {
        self.call(move |conn| upsert(conn, &stats)).await
    }

    /// Queues the same write without waiting: the room mid-call, where a
    /// slow disk must not hold up a revoke. Writes land in the order
    /// queued; a failed one is logged and healed by the next.
    pub(crate) fn queue_call_stats(&self, stats: CallStats) -> Result<(), StoreError> {
        self.call_detached("call stats", move |conn| upsert(conn, &stats))
    }
}

#[cfg(test)]
mod tests;
