//! Session rows: what was created, for whom, until when, and whether it ended.

use duet_signaling::protocol::RecordingPolicy;
use duet_signaling::{Role, SessionId};
use rusqlite::{OptionalExtension, Row};
use uuid::Uuid;

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub title: String,
    pub mentor_name: String,
    pub mentee_name: String,
    pub mentor_link: String,
    pub mentee_link: String,
    pub recording: RecordingPolicy,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
    /// Unset while the session has not been ended.
    pub ended_at: Option<i64>,
}

impl SessionRecord {
    pub fn name(&self, role: Role) -> &str {
        match role {
            Role::Mentor => &self.mentor_name,
            Role::Mentee => &self.mentee_name,
        }
    }

    pub fn link_id(&self, role: Role) -> &str {
        match role {
            Role::Mentor => &self.mentor_link,
            Role::Mentee => &self.mentee_link,
        }
    }
}

fn policy_str(p: RecordingPolicy) -> &'static str {
    match p {
        RecordingPolicy::Off => "off",
        RecordingPolicy::Allowed => "allowed",
    }
}

pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    let id: String = row.get(0)?;
    let id = Uuid::parse_str(&id).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let recording: String = row.get(6)?;
    Ok(SessionRecord {
        id: SessionId(id),
        title: row.get(1)?,
        mentor_name: row.get(2)?,
        mentee_name: row.get(3)?,
        mentor_link: row.get(4)?,
        mentee_link: row.get(5)?,
        recording: if recording == "allowed" {
            RecordingPolicy::Allowed
        } else {
            RecordingPolicy::Off
        },
        created_at: row.get(7)?,
        expires_at: row.get(8)?,
        ended_at: row.get(9)?,
    })
}

pub(crate) const COLUMNS: &str = "id, title, mentor_name, mentee_name, mentor_link, mentee_link, \
                       recording, created_at, expires_at, ended_at";

pub(crate) fn insert(conn: &rusqlite::Connection, s: &SessionRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO sessions (id, title, mentor_name, mentee_name, mentor_link, mentee_link,
                               recording, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![
            s.id.0.to_string(),
            s.title,
            s.mentor_name,
            s.mentee_name,
            s.mentor_link,
            s.mentee_link,
            policy_str(s.recording),
            s.created_at,
            s.expires_at
        ],
    )?;
    Ok(())
}

/// Inserts a pair's call for one occurrence unless that occurrence has
/// one already (the unique index decides; see `pair_schedule.rs`).
pub(crate) fn insert_pair_call(
    conn: &rusqlite::Connection,
    s: &SessionRecord,
    pair: crate::pairs::PairId,
    schedule: Uuid,
    occurrence_ms: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO sessions (id, title, mentor_name, mentee_name, mentor_link,
             mentee_link, recording, created_at, expires_at, pair_id, schedule_id, occurrence_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        rusqlite::params![
            s.id.0.to_string(),
            s.title,
            s.mentor_name,
            s.mentee_name,
            s.mentor_link,
            s.mentee_link,
            policy_str(s.recording),
            s.created_at,
            s.expires_at,
            pair.0.to_string(),
            schedule.to_string(),
            occurrence_ms
        ],
    )?;
    Ok(())
}

pub(crate) fn load(
    conn: &rusqlite::Connection,
    id: SessionId,
) -> Result<Option<SessionRecord>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1"),
            [id.0.to_string()],
            from_row,
        )
        .optional()?)
}

impl Store {
    pub async fn create_session(&self, s: SessionRecord) -> Result<(), StoreError> {
        self.call(move |conn| insert(conn, &s)).await
    }

    pub fn create_session_blocking(&self, s: &SessionRecord) -> Result<(), StoreError> {
        self.call_blocking(|conn| insert(conn, s))
    }

    pub async fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.call(move |conn| load(conn, id)).await
    }

    /// Newest first.
    pub async fn sessions(&self, limit: u32) -> Result<Vec<SessionRecord>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM sessions ORDER BY created_at DESC, id LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit], from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Marks the session ended; returns false if it was unknown or already
    /// ended.
    pub async fn end_session(&self, id: SessionId, now_s: i64) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE sessions SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
                rusqlite::params![id.0.to_string(), now_s],
            )?;
            Ok(n == 1)
        })
        .await
    }
}
