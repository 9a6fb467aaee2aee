//! What the reflection page reads besides the trail: a session's
//! recordings, and who viewed a recording (from the admin audit log, where
//! every view is written as `recording_view`).

use duet_signaling::SessionId;
use sqlx::AssertSqlSafe;

use super::admin::{AuditEvent, audit_from_row};
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
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE session_id = $1
             ORDER BY started_at_ms DESC"
        );
        Ok(sqlx::query(AssertSqlSafe(sql))
            .bind(session.to_string())
            .try_map(recording_from_row)
            .fetch_all(&mut *self.normal().await?)
            .await?)
    }

    /// The views of one recording, oldest first (at most `limit`).
    pub async fn recording_views(
        &self,
        recording: String,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(sqlx::query(
            "SELECT seq, at_ms, actor, action, target, detail FROM admin_audit
             WHERE action = $1 AND target = $2 ORDER BY seq LIMIT $3",
        )
        .bind(VIEW_ACTION)
        .bind(recording)
        .bind(i64::from(limit))
        .try_map(audit_from_row)
        .fetch_all(&mut *self.normal().await?)
        .await?)
    }
}
