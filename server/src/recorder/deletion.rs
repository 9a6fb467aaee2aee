//! Deleting a finished recording: its files go, its row says who deleted it
//! and when, and the consent trail gains the deletion. The trail itself is
//! never touched, so it still proves what was agreed.

use duet_signaling::consent::ConsentAction;

use super::manifest;
use super::service::Recorders;
use crate::store::{AdminEvent, RecordingRow, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("the recording is still being written")]
    InProgress,
    #[error("could not delete the recording's files: {0}")]
    Files(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who deletes, as the trail records it, and why.
pub struct Deleter {
    pub actor: &'static str,
    pub detail: String,
}

/// Deletes `row`'s files and records the deletion. Deleting a deleted
/// recording does nothing; one still being written is refused.
pub async fn delete(
    store: &Store,
    recorders: &Recorders,
    row: &RecordingRow,
    by: Deleter,
    now_ms: i64,
) -> Result<(), DeleteError> {
    use crate::store::RecordingRowStatus;
    match row.status {
        RecordingRowStatus::Recording => return Err(DeleteError::InProgress),
        RecordingRowStatus::Deleted => return Ok(()),
        RecordingRowStatus::Complete | RecordingRowStatus::Interrupted => {}
    }
    let Ok(uuid) = uuid::Uuid::parse_str(&row.id) else {
        return Err(DeleteError::Store(StoreError::Task(format!(
            "recording id {:?} is not a UUID",
            row.id
        ))));
    };
    let id = duet_signaling::consent::RecordingId(uuid);
    let dir = recorders.dir_of(id);
    let notice = manifest::read(&dir)
        .map(|m| m.notice_hash)
        .unwrap_or_default();
    if let Err(e) = tokio::fs::remove_dir_all(&dir).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::error!(recording = %id, error = %e, "could not delete a recording's files");
        return Err(DeleteError::Files(e));
    }
    store
        .mark_recording_deleted(id, now_ms, by.actor.to_string())
        .await?;
    store
        .append_admin_event(AdminEvent {
            session_id: row.session_id.clone(),
            recording: id,
            action: ConsentAction::Discard,
            actor: by.actor,
            at_ms: now_ms,
            notice_hash: notice,
            detail: Some(by.detail),
        })
        .await?;
    recorders
        .metrics()
        .consent_event(ConsentAction::Discard.as_str());
    tracing::info!(recording = %id, by = by.actor, "recording deleted");
    Ok(())
}
