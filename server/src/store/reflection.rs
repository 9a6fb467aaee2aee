//! What the reflection page reads besides the trail: a session's
//! recordings, and who viewed a recording (from the admin audit log, where
//! every view is written as `recording_view`).

use duet_signaling::SessionId;

use super::admin::AuditEvent;
use super::consent::{RECORDING_COLUMNS, recording_from_row};
use super::{RecordingRow, Store, StoreError};

/// The audit action of one view of a recording.
pub const VIEW_ACTION: &str = "recording_view";

impl Store {
    /// Every recording of one session, deleted ones too, newest first.
    pub async fn session_recordings(
        &self,
        session: SessionId,
    ) -> Result<Vec<RecordingRow>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {RECORDING_COLUMNS} FROM recordings WHERE session_id = ?1
                 ORDER BY started_at_ms DESC"
            ))?;
            let rows = stmt.query_map([session.to_string()], recording_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The views of one recording, oldest first (at most `limit`).
    pub async fn recording_views(
        &self,
        recording: String,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, at_ms, actor, action, target, detail FROM admin_audit
                 WHERE action = ?1 AND target = ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(rusqlite::params![VIEW_ACTION, recording, limit], |r| {
                Ok(AuditEvent {
                    seq: r.get(0)?,
                    at_ms: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    detail: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}
