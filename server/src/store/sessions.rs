//! Session rows: what was created, for whom, until when, and whether it ended.

use duet_signaling::protocol::RecordingPolicy;
use duet_signaling::{Role, SessionId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use uuid::Uuid;

use super::rows::{policy_from, policy_str, uuid_from};
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

/// A row whose first columns are [`COLUMNS`].
pub(super) fn from_row(row: &AnyRow) -> Result<SessionRecord, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let recording: String = row.try_get(6)?;
    Ok(SessionRecord {
        id: SessionId(uuid_from(&id)?),
        title: row.try_get(1)?,
        mentor_name: row.try_get(2)?,
        mentee_name: row.try_get(3)?,
        mentor_link: row.try_get(4)?,
        mentee_link: row.try_get(5)?,
        recording: policy_from(&recording),
        created_at: row.try_get(7)?,
        expires_at: row.try_get(8)?,
        ended_at: row.try_get(9)?,
    })
}

pub(super) const COLUMNS: &str = "id, title, mentor_name, mentee_name, mentor_link, mentee_link, \
                       recording, created_at, expires_at, ended_at";

pub(super) async fn insert(conn: &mut AnyConnection, s: &SessionRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id, title, mentor_name, mentee_name, mentor_link, mentee_link,
                               recording, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(s.id.0.to_string())
    .bind(&s.title)
    .bind(&s.mentor_name)
    .bind(&s.mentee_name)
    .bind(&s.mentor_link)
    .bind(&s.mentee_link)
    .bind(policy_str(s.recording))
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts a pair's call for one occurrence unless that occurrence has
/// one already (the unique index decides; see `pair_schedule.rs`).
pub(super) async fn insert_pair_call(
    conn: &mut AnyConnection,
    s: &SessionRecord,
    pair: crate::pairs::PairId,
    schedule: Uuid,
    occurrence_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id, title, mentor_name, mentee_name, mentor_link,
             mentee_link, recording, created_at, expires_at, pair_id, schedule_id, occurrence_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT DO NOTHING",
    )
    .bind(s.id.0.to_string())
    .bind(&s.title)
    .bind(&s.mentor_name)
    .bind(&s.mentee_name)
    .bind(&s.mentor_link)
    .bind(&s.mentee_link)
    .bind(policy_str(s.recording))
    .bind(s.created_at)
    .bind(s.expires_at)
    .bind(pair.0.to_string())
    .bind(schedule.to_string())
    .bind(occurrence_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn load(
    conn: &mut AnyConnection,
    id: SessionId,
) -> Result<Option<SessionRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.0.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

impl Store {
    pub async fn create_session(&self, s: SessionRecord) -> Result<(), StoreError> {
        insert(&mut *self.normal().await?, &s).await
    }

    pub fn create_session_blocking(&self, s: &SessionRecord) -> Result<(), StoreError> {
        self.block_on(self.create_session(s.clone()))
    }

    pub async fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        load(&mut *self.normal().await?, id).await
    }

    /// Newest first.
    pub async fn sessions(&self, limit: u32) -> Result<Vec<SessionRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sessions ORDER BY created_at DESC, id LIMIT $1");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(&mut *self.normal().await?)
            .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Marks the session ended; returns false if it was unknown or already
    /// ended.
    pub async fn end_session(&self, id: SessionId, now_s: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
                .bind(id.0.to_string())
                .bind(now_s)
                .execute(&mut *self.normal().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
