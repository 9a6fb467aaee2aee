//! Moments (bookmarks and notes at a time, `reflection/moments.rs`) as
//! stored. Like a pair's notes, every read takes the reader's [`Role`] and
//! filters another person's private moments in the query itself.

use duet_signaling::{Role, SessionId};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use uuid::Uuid;

use super::rows::{bad, count, role_from, uuid_from};
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
const VISIBLE: &str = "(author = $2 OR visibility = 'shared')";

fn moment_from_row(row: AnyRow) -> Result<Moment, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let session: String = row.try_get(1)?;
    let clock: String = row.try_get(3)?;
    let kind: String = row.try_get(5)?;
    let author: String = row.try_get(6)?;
    let visibility: String = row.try_get(7)?;
    Ok(Moment {
        id: uuid_from(&id)?,
        session_id: SessionId(uuid_from(&session)?),
        recording_id: row.try_get(2)?,
        clock: MomentClock::parse(&clock).ok_or_else(|| bad("clock", &clock))?,
        at_s: row.try_get(4)?,
        kind: MomentKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        author: role_from(&author)?,
        visibility: Visibility::parse(&visibility).ok_or_else(|| bad("visibility", &visibility))?,
        text: row.try_get(8)?,
        created_at_ms: row.try_get(9)?,
        updated_at_ms: row.try_get(10)?,
    })
}

impl Store {
    /// Stores a moment unless its session holds `max` already. The
    /// session's row is locked first, so two at once cannot both pass the
    /// count (on PostgreSQL; SQLite runs one writer anyway).
    pub async fn add_moment(&self, m: Moment, max: usize) -> Result<Moment, ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        sqlx::query("UPDATE sessions SET title = title WHERE id = $1")
            .bind(m.session_id.to_string())
            .execute(&mut *tx)
            .await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM moments WHERE session_id = $1")
            .bind(m.session_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if count(n) >= max {
            return Err(ContentError::TooMany(max));
        }
        let sql = format!(
            "INSERT INTO moments ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(m.id.to_string())
            .bind(m.session_id.to_string())
            .bind(m.recording_id.clone())
            .bind(m.clock.as_str())
            .bind(m.at_s)
            .bind(m.kind.as_str())
            .bind(m.author.as_str())
            .bind(m.visibility.as_str())
            .bind(m.text.clone())
            .bind(m.created_at_ms)
            .bind(m.updated_at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(m)
    }

    /// The moments of a session `viewer` may read, in the order made.
    pub async fn session_moments(
        &self,
        session: SessionId,
        viewer: Role,
    ) -> Result<Vec<Moment>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM moments WHERE session_id = $1 AND {VISIBLE}
             ORDER BY created_at_ms, id"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(session.to_string())
            .bind(viewer.as_str())
            .try_map(moment_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// The moments on a recording's clock `viewer` may read, by time.
    pub async fn recording_moments(
        &self,
        recording: String,
        viewer: Role,
    ) -> Result<Vec<Moment>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM moments WHERE recording_id = $1 AND {VISIBLE}
             ORDER BY at_s, created_at_ms"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(recording)
            .bind(viewer.as_str())
            .try_map(moment_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// The moments of every call of a pair `viewer` may read, oldest first
    /// (the pair's export).
    pub async fn pair_moments(
        &self,
        pair: crate::pairs::PairId,
        viewer: Role,
    ) -> Result<Vec<Moment>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM moments WHERE session_id IN
             (SELECT id FROM sessions WHERE pair_id = $1) AND {VISIBLE}
             ORDER BY created_at_ms, id"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(pair.0.to_string())
            .bind(viewer.as_str())
            .try_map(moment_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
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
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        let Some(m) = load(&mut tx, session, id, by).await? else {
            return Err(ContentError::NotFound("moment"));
        };
        if m.author != by {
            return Err(ContentError::NotAuthor);
        }
        sqlx::query(
            "UPDATE moments SET text = $2, visibility = $3, updated_at_ms = $4 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(text.unwrap_or(m.text))
        .bind(visibility.unwrap_or(m.visibility).as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let changed = load(&mut tx, session, id, by).await?;
        tx.commit().await?;
        changed.ok_or(ContentError::NotFound("moment"))
    }

    pub async fn delete_moment(
        &self,
        session: SessionId,
        id: Uuid,
        by: Role,
    ) -> Result<(), ContentError> {
        let mut c = self.normal().await?;
        let mut tx = c.begin().await?;
        let Some(m) = load(&mut tx, session, id, by).await? else {
            return Err(ContentError::NotFound("moment"));
        };
        if m.author != by {
            return Err(ContentError::NotAuthor);
        }
        sqlx::query("DELETE FROM moments WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session a moment belongs to, for checking a credential against
    /// it before anything else is read.
    pub async fn moment_session(&self, id: Uuid) -> Result<Option<SessionId>, StoreError> {
        let s: Option<String> = sqlx::query_scalar("SELECT session_id FROM moments WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *self.normal().await?)
            .await?;
        Ok(s.as_deref().map(uuid_from).transpose()?.map(SessionId))
    }
}

/// A moment as `viewer` may see it: another person's private one is `None`.
async fn load(
    conn: &mut AnyConnection,
    session: SessionId,
    id: Uuid,
    viewer: Role,
) -> Result<Option<Moment>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM moments WHERE id = $3 AND session_id = $1 AND {VISIBLE}");
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(session.to_string())
        .bind(viewer.as_str())
        .bind(id.to_string())
        .try_map(moment_from_row)
        .fetch_optional(conn)
        .await?)
}

#[cfg(test)]
mod tests;
