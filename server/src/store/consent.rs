//! The consent trail and the recordings table.
//!
//! `consent_events` is append-only: triggers refuse every UPDATE and DELETE
//! (and TRUNCATE on PostgreSQL), so no code path (and no admin with the SQL
//! shell, short of dropping the triggers) can rewrite who agreed to what.

use duet_signaling::SessionId;
use duet_signaling::consent::{ConsentAction, ConsentEvent, RecordingId};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Lane, Store, StoreError};

/// One stored consent event, as the audit trail shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConsentEvent {
    pub seq: i64,
    pub session_id: String,
    pub recording_id: String,
    pub action: String,
    pub role: Option<String>,
    pub participant_id: Option<String>,
    /// Who acted when it was not a participant: `server` or `admin`.
    pub actor: Option<String>,
    pub at_ms: i64,
    pub notice_hash: String,
    pub detail: Option<String>,
}

/// What part of the trail to read; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct TrailFilter {
    pub session: Option<String>,
    pub action: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// A trail event made by the server or an administrator, not by a
/// participant through the consent machine.
#[derive(Debug, Clone)]
pub struct AdminEvent {
    pub session_id: String,
    pub recording: RecordingId,
    pub action: ConsentAction,
    /// `server` or `admin`.
    pub actor: &'static str,
    pub at_ms: i64,
    pub notice_hash: String,
    pub detail: Option<String>,
}

/// Status of a recording in the database (mirrors the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingRowStatus {
    Recording,
    Complete,
    Interrupted,
    Deleted,
}

impl RecordingRowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingRowStatus::Recording => "recording",
            RecordingRowStatus::Complete => "complete",
            RecordingRowStatus::Interrupted => "interrupted",
            RecordingRowStatus::Deleted => "deleted",
        }
    }

    fn parse(s: &str) -> RecordingRowStatus {
        match s {
            "recording" => RecordingRowStatus::Recording,
            "complete" => RecordingRowStatus::Complete,
            "deleted" => RecordingRowStatus::Deleted,
            _ => RecordingRowStatus::Interrupted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingRow {
    pub id: String,
    pub session_id: String,
    pub status: RecordingRowStatus,
    pub started_at_ms: i64,
    pub stopped_at_ms: Option<i64>,
    pub deleted_at_ms: Option<i64>,
    pub deleted_by: Option<String>,
    /// The node that writes (or wrote) it; `''` before nodes existed.
    pub node: String,
}

fn event_from_row(row: AnyRow) -> Result<StoredConsentEvent, sqlx::Error> {
    Ok(StoredConsentEvent {
        seq: row.try_get(0)?,
        session_id: row.try_get(1)?,
        recording_id: row.try_get(2)?,
        action: row.try_get(3)?,
        role: row.try_get(4)?,
        participant_id: row.try_get(5)?,
        actor: row.try_get(6)?,
        at_ms: row.try_get(7)?,
        notice_hash: row.try_get(8)?,
        detail: row.try_get(9)?,
    })
}

pub(super) fn recording_from_row(row: AnyRow) -> Result<RecordingRow, sqlx::Error> {
    let status: String = row.try_get(2)?;
    Ok(RecordingRow {
        id: row.try_get(0)?,
        session_id: row.try_get(1)?,
        status: RecordingRowStatus::parse(&status),
        started_at_ms: row.try_get(3)?,
        stopped_at_ms: row.try_get(4)?,
        deleted_at_ms: row.try_get(5)?,
        deleted_by: row.try_get(6)?,
        node: row.try_get(7)?,
    })
}

const EVENT_COLUMNS: &str = "seq, session_id, recording_id, action, role, participant_id, actor, \
                             at_ms, notice_hash, detail";
pub(super) const RECORDING_COLUMNS: &str =
    "id, session_id, status, started_at_ms, stopped_at_ms, deleted_at_ms, deleted_by, node";

impl Store {
    /// Appends one event of the consent state machine.
    pub async fn append_consent(
        &self,
        session: SessionId,
        event: &ConsentEvent,
    ) -> Result<(), StoreError> {
        let (role, participant) = match event.actor {
            Some((role, p)) => (Some(role.as_str()), Some(p.to_string())),
            None => (None, None),
        };
        let actor = role.is_none().then_some("server");
        let query = sqlx::query(
            "INSERT INTO consent_events (session_id, recording_id, action, role, participant_id,
                                         actor, at_ms, notice_hash, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(session.to_string())
        .bind(event.recording.to_string())
        .bind(event.action.as_str())
        .bind(role)
        .bind(participant)
        .bind(actor)
        .bind(event.at.0)
        .bind(event.notice.0.clone())
        .bind(event.detail.clone());
        query.execute(&mut *self.conn(Lane::Urgent).await?).await?;
        Ok(())
    }

    /// Appends one event of the consent state machine, written by the
    /// node holding the session at `fence`: refused ([`StoreError::Fenced`])
    /// in the same statement if the session's placement has moved on, so a
    /// node that lost its lease (a pause, a partition) cannot add to the
    /// trail after another took over. The writer is kept with the event.
    pub async fn append_consent_fenced(
        &self,
        session: SessionId,
        event: &ConsentEvent,
        fence: &super::Fence,
    ) -> Result<(), StoreError> {
        let (role, participant) = match event.actor {
            Some((role, p)) => (Some(role.as_str()), Some(p.to_string())),
            None => (None, None),
        };
        let actor = role.is_none().then_some("server");
        let query = sqlx::query(
            "INSERT INTO consent_events (session_id, recording_id, action, role, participant_id,
                                         actor, at_ms, notice_hash, detail, writer_node, writer_epoch)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
             WHERE EXISTS (SELECT 1 FROM duet_placements
                           WHERE session_id = $1 AND node_id = $10 AND epoch = $11)",
        )
        .bind(session.to_string())
        .bind(event.recording.to_string())
        .bind(event.action.as_str())
        .bind(role)
        .bind(participant)
        .bind(actor)
        .bind(event.at.0)
        .bind(event.notice.0.clone())
        .bind(event.detail.clone())
        .bind(fence.node.as_str())
        .bind(fence.epoch);
        let done = query.execute(&mut *self.conn(Lane::Urgent).await?).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Fenced {
                node: fence.node.clone(),
                epoch: fence.epoch,
            });
        }
        Ok(())
    }

    /// Appends an event not made by the state machine (an admin deleting a
    /// recording, the server finding an interrupted one at start).
    pub async fn append_admin_event(&self, e: AdminEvent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consent_events (session_id, recording_id, action, actor, at_ms,
                                         notice_hash, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.session_id)
        .bind(e.recording.to_string())
        .bind(e.action.as_str())
        .bind(e.actor)
        .bind(e.at_ms)
        .bind(e.notice_hash)
        .bind(e.detail)
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(())
    }

    pub async fn consent_trail(
        &self,
        session: SessionId,
    ) -> Result<Vec<StoredConsentEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM consent_events WHERE session_id = $1 ORDER BY seq"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(session.to_string())
            .try_map(event_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// The deployment-wide trail, oldest first, narrowed by `filter`.
    pub async fn consent_events(
        &self,
        filter: TrailFilter,
    ) -> Result<Vec<StoredConsentEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM consent_events
             WHERE ($1 IS NULL OR session_id = $1)
               AND ($2 IS NULL OR action = $2)
               AND ($3 IS NULL OR at_ms >= $3)
               AND ($4 IS NULL OR at_ms < $4)
             ORDER BY seq LIMIT $5"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(filter.session)
            .bind(filter.action)
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(i64::from(filter.limit))
            .try_map(event_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    pub async fn recording_trail(
        &self,
        recording: RecordingId,
    ) -> Result<Vec<StoredConsentEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM consent_events WHERE recording_id = $1 ORDER BY seq"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(recording.to_string())
            .try_map(event_from_row)
            .fetch_all(&mut *self.conn(Lane::Urgent).await?)
            .await?)
    }

    /// A recording `node` starts writing.
    pub async fn insert_recording(
        &self,
        id: RecordingId,
        session: SessionId,
        started_at_ms: i64,
        node: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO recordings (id, session_id, status, started_at_ms, node)
             VALUES ($1, $2, 'recording', $3, $4)",
        )
        .bind(id.to_string())
        .bind(session.to_string())
        .bind(started_at_ms)
        .bind(node)
        .execute(&mut *self.conn(Lane::Urgent).await?)
        .await?;
        Ok(())
    }

    pub async fn set_recording_status(
        &self,
        id: RecordingId,
        status: RecordingRowStatus,
        stopped_at_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE recordings SET status = $2, stopped_at_ms = COALESCE(stopped_at_ms, $3)
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(stopped_at_ms)
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(())
    }

    /// The writer's last word on a recording: its status, only while it is
    /// still `writer`'s (or from before nodes were recorded). False when
    /// another node recovered it meanwhile (this one was frozen past its
    /// lease): that node's status stands.
    pub async fn finish_recording(
        &self,
        id: RecordingId,
        status: RecordingRowStatus,
        stopped_at_ms: Option<i64>,
        writer: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE recordings SET status = $2, stopped_at_ms = COALESCE(stopped_at_ms, $3)
             WHERE id = $1 AND (node = $4 OR node = '')",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(stopped_at_ms)
        .bind(writer)
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn mark_recording_deleted(
        &self,
        id: RecordingId,
        at_ms: i64,
        by: String,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE recordings SET status = 'deleted', deleted_at_ms = $2, deleted_by = $3,
                    stopped_at_ms = COALESCE(stopped_at_ms, $2) WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(at_ms)
        .bind(by)
        .execute(&mut *self.normal().await?)
        .await?;
        Ok(())
    }

    pub async fn recording(&self, id: RecordingId) -> Result<Option<RecordingRow>, StoreError> {
        let sql = format!("SELECT {RECORDING_COLUMNS} FROM recordings WHERE id = $1");
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(id.to_string())
            .try_map(recording_from_row)
            .fetch_optional(&mut *self.normal().await?)
            .await?)
    }

    /// Newest first; deleted ones included (their trail stays).
    pub async fn recordings(&self, limit: u32) -> Result<Vec<RecordingRow>, StoreError> {
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings ORDER BY started_at_ms DESC LIMIT $1"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .try_map(recording_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// Finished recordings (complete or interrupted, not deleted) that
    /// started before `cutoff_ms`: the ones past retention.
    pub async fn recordings_started_before(
        &self,
        cutoff_ms: i64,
    ) -> Result<Vec<RecordingRow>, StoreError> {
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings
             WHERE status IN ('complete', 'interrupted') AND started_at_ms < $1
             ORDER BY started_at_ms"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(cutoff_ms)
            .try_map(recording_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// Recordings `node` was writing (or written before nodes existed)
    /// still marked as being written: after its restart, these were
    /// interrupted. Other nodes' are theirs, live or not.
    pub async fn recordings_in_progress(
        &self,
        node: &str,
    ) -> Result<Vec<RecordingRow>, StoreError> {
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings
             WHERE status = 'recording' AND (node = $1 OR node = '')"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(node)
            .try_map(recording_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// Recordings still marked as being written by a node other than
    /// `me` whose heartbeat is older than `stale_before_ms` (or that has
    /// none): that node is gone, and its recordings are to be recovered
    /// from the bucket.
    pub async fn orphaned_recordings(
        &self,
        me: &str,
        stale_before_ms: i64,
    ) -> Result<Vec<RecordingRow>, StoreError> {
        let columns = RECORDING_COLUMNS
            .split(", ")
            .map(|c| format!("r.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM recordings r LEFT JOIN duet_nodes n ON n.id = r.node
             WHERE r.status = 'recording' AND r.node <> '' AND r.node <> $1
               AND (n.id IS NULL OR n.heartbeat_at_ms < $2)"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(me)
            .bind(stale_before_ms)
            .try_map(recording_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// Makes `me` the writer of a recording `from` was writing, if it
    /// still is: one node wins, and the node that comes back finds it is
    /// no longer its to recover.
    pub async fn claim_recording(
        &self,
        id: RecordingId,
        from: &str,
        me: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE recordings SET node = $3
             WHERE id = $1 AND node = $2 AND status = 'recording'",
        )
        .bind(id.to_string())
        .bind(from)
        .bind(me)
        .execute(&mut *self.conn(Lane::Urgent).await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests;
