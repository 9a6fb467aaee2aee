//! The consent trail and the recordings table.
//!
//! `consent_events` is append-only: SQLite triggers refuse every UPDATE and
//! DELETE, so no code path (and no admin with the SQL shell, short of
//! dropping the triggers) can rewrite who agreed to what.

use duet_signaling::SessionId;
use duet_signaling::consent::{ConsentAction, ConsentEvent, RecordingId};
use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

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
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<StoredConsentEvent> {
    Ok(StoredConsentEvent {
        seq: row.get(0)?,
        session_id: row.get(1)?,
        recording_id: row.get(2)?,
        action: row.get(3)?,
        role: row.get(4)?,
        participant_id: row.get(5)?,
        actor: row.get(6)?,
        at_ms: row.get(7)?,
        notice_hash: row.get(8)?,
        detail: row.get(9)?,
    })
}

pub(crate) fn recording_from_row(row: &Row<'_>) -> rusqlite::Result<RecordingRow> {
    let status: String = row.get(2)?;
    Ok(RecordingRow {
        id: row.get(0)?,
        session_id: row.get(1)?,
        status: RecordingRowStatus::parse(&status),
        started_at_ms: row.get(3)?,
        stopped_at_ms: row.get(4)?,
        deleted_at_ms: row.get(5)?,
        deleted_by: row.get(6)?,
    })
}

const EVENT_COLUMNS: &str = "seq, session_id, recording_id, action, role, participant_id, actor, \
                             at_ms, notice_hash, detail";
pub(crate) const RECORDING_COLUMNS: &str =
    "id, session_id, status, started_at_ms, stopped_at_ms, deleted_at_ms, deleted_by";

impl Store {
    /// Appends one event of the consent state machine.
    pub async fn append_consent(
        &self,
        session: SessionId,
        event: &ConsentEvent,
    ) -> Result<(), StoreError> {
        let (role, participant) = match event.actor {
            Some((role, p)) => (Some(role.as_str().to_string()), Some(p.to_string())),
            None => (None, None),
        };
        let actor = if role.is_none() {
            Some("server".to_string())
        } else {
            None
        };
        let row = (
            session.to_string(),
            event.recording.to_string(),
            event.action.as_str(),
            role,
            participant,
            actor,
            event.at.0,
            event.notice.0.clone(),
            event.detail.clone(),
        );
        self.call_in(Lane::Urgent, move |conn| {
            conn.execute(
                "INSERT INTO consent_events (session_id, recording_id, action, role, participant_id,
                                             actor, at_ms, notice_hash, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8],
            )?;
            Ok(())
        })
        .await
    }

    /// Appends an event not made by the state machine (an admin deleting a
    /// recording, the server finding an interrupted one at start).
    pub async fn append_admin_event(&self, e: AdminEvent) -> Result<(), StoreError> {
        let AdminEvent {
            session_id,
            recording,
            action,
            actor,
            at_ms,
            notice_hash,
            detail,
        } = e;
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO consent_events (session_id, recording_id, action, actor, at_ms,
                                             notice_hash, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    session_id,
                    recording.to_string(),
                    action.as_str(),
                    actor,
                    at_ms,
                    notice_hash,
                    detail
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn consent_trail(
        &self,
        session: SessionId,
    ) -> Result<Vec<StoredConsentEvent>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM consent_events WHERE session_id = ?1 ORDER BY seq"
            ))?;
            let rows = stmt.query_map([session.to_string()], event_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The deployment-wide trail, oldest first, narrowed by `filter`.
    pub async fn consent_events(
        &self,
        filter: TrailFilter,
    ) -> Result<Vec<StoredConsentEvent>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM consent_events
                 WHERE (?1 IS NULL OR session_id = ?1)
                   AND (?2 IS NULL OR action = ?2)
                   AND (?3 IS NULL OR at_ms >= ?3)
                   AND (?4 IS NULL OR at_ms < ?4)
                 ORDER BY seq LIMIT ?5"
            ))?;
            let rows = stmt.query_map(
                rusqlite::params![
                    filter.session,
                    filter.action,
                    filter.from_ms,
                    filter.to_ms,
                    filter.limit
                ],
                event_from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn recording_trail(
        &self,
        recording: RecordingId,
    ) -> Result<Vec<StoredConsentEvent>, StoreError> {
        self.call_in(Lane::Urgent, move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM consent_events WHERE recording_id = ?1 ORDER BY seq"
            ))?;
            let rows = stmt.query_map([recording.to_string()], event_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    pub async fn insert_recording(
        &self,
        id: RecordingId,
        session: SessionId,
        started_at_ms: i64,
    ) -> Result<(), StoreError> {
        self.call_in(Lane::Urgent, move |conn| {
            conn.execute(
                "INSERT INTO recordings (id, session_id, status, started_at_ms) VALUES (?1, ?2, 'recording', ?3)",
                rusqlite::params![id.to_string(), session.to_string(), started_at_ms],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn set_recording_status(
        &self,
        id: RecordingId,
        status: RecordingRowStatus,
        stopped_at_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.execute(
                "UPDATE recordings SET status = ?2, stopped_at_ms = COALESCE(stopped_at_ms, ?3) WHERE id = ?1",
                rusqlite::params![id.to_string(), status.as_str(), stopped_at_ms],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn mark_recording_deleted(
        &self,
        id: RecordingId,
        at_ms: i64,
        by: String,
    ) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.execute(
                "UPDATE recordings SET status = 'deleted', deleted_at_ms = ?2, deleted_by = ?3,
                        stopped_at_ms = COALESCE(stopped_at_ms, ?2) WHERE id = ?1",
                rusqlite::params![id.to_string(), at_ms, by],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn recording(&self, id: RecordingId) -> Result<Option<RecordingRow>, StoreError> {
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {RECORDING_COLUMNS} FROM recordings WHERE id = ?1"),
                    [id.to_string()],
                    recording_from_row,
                )
                .optional()?)
        })
        .await
    }

    /// Newest first; deleted ones included (their trail stays).
    pub async fn recordings(&self, limit: u32) -> Result<Vec<RecordingRow>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {RECORDING_COLUMNS} FROM recordings ORDER BY started_at_ms DESC LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit], recording_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Finished recordings (complete or interrupted, not deleted) that
    /// started before `cutoff_ms`: the ones past retention.
    pub async fn recordings_started_before(
        &self,
        cutoff_ms: i64,
    ) -> Result<Vec<RecordingRow>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {RECORDING_COLUMNS} FROM recordings
                 WHERE status IN ('complete', 'interrupted') AND started_at_ms < ?1
                 ORDER BY started_at_ms"
            ))?;
            let rows = stmt.query_map([cutoff_ms], recording_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Recordings still marked as being written: after a crash, these were
    /// interrupted.
    pub async fn recordings_in_progress(&self) -> Result<Vec<RecordingRow>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {RECORDING_COLUMNS} FROM recordings WHERE status = 'recording'"
            ))?;
            let rows = stmt.query_map([], recording_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
