//! Moments (bookmarks and notes at a time, `reflection/moments.rs`) as
//! stored. Like a pair's notes, every read takes the reader's [`Role`] and
//! filters another person's private moments in the query itself.

use duet_signaling::{Role, SessionId};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use uuid::Uuid;

use super::pairs::{role_from, uuid_from};
use super::{ContentError, Store, StoreError};
use crate::pairs::access::Visibility;
use crate::reflection::moments::{MomentClock, MomentKind};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moment {
    pub id: Uuid,
    pub session_id: SessionId,
    /// The recording whose clock `at_s` is on; none for the session's.
    pub recording_id: Option<String>,
    pub clock: MomentClock,
    pub at_s: f64,
    pub kind: MomentKind,
    pub author: Role,
    pub visibility: Visibility,
    /// A bookmark's label (may be empty) or a note's text.
    pub text: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const COLUMNS: &str = "id, session_id, recording_id, clock, at_s, kind, author, visibility, text,
    created_at_ms, updated_at_ms";

/// Another person's private moments never leave the database.
const VISIBLE: &str = "(author = ?2 OR visibility = 'shared')";

fn bad(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, format!("{what} {value:?}"), rusqlite::types::Type::Text)
}

fn moment_from_row(row: &Row<'_>) -> rusqlite::Result<Moment> {
    let id: String = row.get(0)?;
    let session: String = row.get(1)?;
    let clock: String = row.get(3)?;
    let kind: String = row.get(5)?;
    let author: String = row.get(6)?;
    let visibility: String = row.get(7)?;
    Ok(Moment {
        id: uuid_from(&id)?,
        session_id: SessionId(uuid_from(&session)?),
        recording_id: row.get(2)?,
        clock: MomentClock::parse(&clock).ok_or_else(|| bad("clock", &clock))?,
        at_s: row.get(4)?,
        kind: MomentKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        author: role_from(&author)?,
        visibility: Visibility::parse(&visibility).ok_or_else(|| bad("visibility", &visibility))?,
        text: row.get(8)?,
        created_at_ms: row.get(9)?,
        updated_at_ms: row.get(10)?,
    })
}

impl Store {
    /// Stores a moment unless its session holds `max` already.
    pub async fn add_moment(&self, m: Moment, max: usize) -> Result<Moment, ContentError> {
        self.call(move |conn| {
            let n: i64 = conn.query_row(
                "SELECT COUNT(*) FROM moments WHERE session_id = ?1",
                [m.session_id.to_string()],
                |r| r.get(0),
            )?;
            if n.max(0) as usize >= max {
                return Ok(Err(ContentError::TooMany(max)));
            }
            conn.execute(
                &format!(
                    "INSERT INTO moments ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ),
                params![
                    m.id.to_string(),
                    m.session_id.to_string(),
                    m.recording_id,
                    m.clock.as_str(),
                    m.at_s,
                    m.kind.as_str(),
                    m.author.as_str(),
                    m.visibility.as_str(),
                    m.text,
                    m.created_at_ms,
                    m.updated_at_ms
                ],
            )?;
            Ok(Ok(m))
        })
        .await?
    }

    /// The moments of a session `viewer` may read, in the order made.
    pub async fn session_moments(
        &self,
        session: SessionId,
        viewer: Role,
    ) -> Result<Vec<Moment>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM moments WHERE session_id = ?1 AND {VISIBLE}
                 ORDER BY created_at_ms, id"
            ))?;
            let rows = stmt.query_map(
                params![session.to_string(), viewer.as_str()],
                moment_from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The moments on a recording's clock `viewer` may read, by time.
    pub async fn recording_moments(
        &self,
        recording: String,
        viewer: Role,
    ) -> Result<Vec<Moment>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM moments WHERE recording_id = ?1 AND {VISIBLE}
                 ORDER BY at_s, created_at_ms"
            ))?;
            let rows = stmt.query_map(params![recording, viewer.as_str()], moment_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The moments of every call of a pair `viewer` may read, oldest first
    /// (the pair's export).
    pub async fn pair_moments(
        &self,
        pair: crate::pairs::PairId,
        viewer: Role,
    ) -> Result<Vec<Moment>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM moments WHERE session_id IN
                 (SELECT id FROM sessions WHERE pair_id = ?1) AND {VISIBLE}
                 ORDER BY created_at_ms, id"
            ))?;
            let rows = stmt.query_map(
                params![pair.0.to_string(), viewer.as_str()],
                moment_from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Changes a moment's text or visibility: its author only, in its own
    /// session. Someone else's private moment is "not found".
    pub async fn change_moment(
        &self,
        session: SessionId,
        id: Uuid,
        by: Role,
        text: Option<String>,
        visibility: Option<Visibility>,
        now_ms: i64,
    ) -> Result<Moment, ContentError> {
        self.call(move |conn| {
            let Some(m) = load(conn, session, id, by)? else {
                return Ok(Err(ContentError::NotFound("moment")));
            };
            if m.author != by {
                return Ok(Err(ContentError::NotAuthor));
            }
            conn.execute(
                "UPDATE moments SET text = ?2, visibility = ?3, updated_at_ms = ?4 WHERE id = ?1",
                params![
                    id.to_string(),
                    text.unwrap_or(m.text),
                    visibility.unwrap_or(m.visibility).as_str(),
                    now_ms
                ],
            )?;
            Ok(load(conn, session, id, by)?.ok_or(ContentError::NotFound("moment")))
        })
        .await?
    }

    pub async fn delete_moment(
        &self,
        session: SessionId,
        id: Uuid,
        by: Role,
    ) -> Result<(), ContentError> {
        self.call(move |conn| {
            let Some(m) = load(conn, session, id, by)? else {
                return Ok(Err(ContentError::NotFound("moment")));
            };
            if m.author != by {
                return Ok(Err(ContentError::NotAuthor));
            }
            conn.execute("DELETE FROM moments WHERE id = ?1", [id.to_string()])?;
            Ok(Ok(()))
        })
        .await?
    }

    /// The session a moment belongs to, for checking a credential against
    /// it before anything else is read.
    pub async fn moment_session(&self, id: Uuid) -> Result<Option<SessionId>, StoreError> {
        self.call(move |conn| {
            let s: Option<String> = conn
                .query_row(
                    "SELECT session_id FROM moments WHERE id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(s.as_deref().map(uuid_from).transpose()?.map(SessionId))
        })
        .await
    }
}

/// A moment as `viewer` may see it: another person's private one is `None`.
fn load(
    conn: &rusqlite::Connection,
    session: SessionId,
    id: Uuid,
    viewer: Role,
) -> rusqlite::Result<Option<Moment>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM moments WHERE id = ?3 AND session_id = ?1 AND {VISIBLE}"),
        params![session.to_string(), viewer.as_str(), id.to_string()],
        moment_from_row,
    )
    .optional()
}

#[cfg(test)]
mod tests;
