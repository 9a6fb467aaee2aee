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
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::rows::{placeholders, uuid_from};
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
/// either engine's limit on bound parameters.
const IDS_PER_QUERY: usize = 500;

fn from_row(row: AnyRow) -> Result<CallStats, sqlx::Error> {
    let id: String = row.try_get(0)?;
    Ok(CallStats {
        session: SessionId(uuid_from(&id)?),
        first_joined_at_ms: row.try_get(1)?,
        together_since_ms: row.try_get(2)?,
        last_left_at_ms: row.try_get(3)?,
        together_ms: row.try_get(4)?,
        mentor_talk_ms: row.try_get(5)?,
        mentee_talk_ms: row.try_get(6)?,
        updated_at_ms: row.try_get(7)?,
    })
}

async fn upsert(conn: &mut AnyConnection, s: &CallStats) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO call_stats ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (session_id) DO UPDATE SET
            first_joined_at_ms = excluded.first_joined_at_ms,
            together_since_ms = excluded.together_since_ms,
            last_left_at_ms = excluded.last_left_at_ms,
            together_ms = excluded.together_ms,
            mentor_talk_ms = excluded.mentor_talk_ms,
            mentee_talk_ms = excluded.mentee_talk_ms,
            updated_at_ms = excluded.updated_at_ms"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(s.session.0.to_string())
        .bind(s.first_joined_at_ms)
        .bind(s.together_since_ms)
        .bind(s.last_left_at_ms)
        .bind(s.together_ms)
        .bind(s.mentor_talk_ms)
        .bind(s.mentee_talk_ms)
        .bind(s.updated_at_ms)
        .execute(conn)
        .await?;
    Ok(())
}

async fn select_many(
    conn: &mut AnyConnection,
    ids: &[SessionId],
) -> Result<Vec<CallStats>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM call_stats WHERE session_id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id.0.to_string());
    }
    Ok(query.try_map(from_row).fetch_all(conn).await?)
}

impl Store {
    /// One session's call; `None` when nobody ever joined it.
    pub async fn call_stats(&self, id: SessionId) -> Result<Option<CallStats>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM call_stats WHERE session_id = $1");
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(id.0.to_string())
            .try_map(from_row)
            .fetch_optional(&mut *self.normal().await?)
            .await?)
    }

    /// The calls of many sessions at once (a list, a pair's history), by
    /// session; sessions nobody joined are absent.
    pub async fn call_stats_of(
        &self,
        ids: Vec<SessionId>,
    ) -> Result<HashMap<SessionId, CallStats>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(out);
        }
        let mut c = self.normal().await?;
        for chunk in ids.chunks(IDS_PER_QUERY) {
            out.extend(
                select_many(&mut c, chunk)
                    .await?
                    .into_iter()
                    .map(|s| (s.session, s)),
            );
        }
        Ok(out)
    }

    /// Writes a session's call, replacing what was stored, and waits for it.
    pub async fn save_call_stats(&self, stats: CallStats) -> Result<(), StoreError> {
        upsert(&mut *self.normal().await?, &stats).await
    }

    /// Queues the same write without waiting: the room mid-call, where a
    /// slow disk must not hold up a revoke. Writes land in the order
    /// queued; a failed one is logged and healed by the next.
    pub(crate) fn queue_call_stats(&self, stats: CallStats) -> Result<(), StoreError> {
        self.call_detached(
            "call stats",
            Box::new(move |conn| Box::pin(async move { upsert(conn, &stats).await })),
        )
    }
}

#[cfg(test)]
mod tests;
