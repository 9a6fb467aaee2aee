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
    #[error("the recording's transcript is being written; try again in a minute")]
    TranscriptInProgress,
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
    // A transcription running on it stops first, so no transcript file
    // can appear in (or recreate) a folder being deleted.
    if let Some(after) = recorders.after()
        && !after.deleting(id).await
    {
        return Err(DeleteError::TranscriptInProgress);
    }
    let dir = recorders.open(&row.id).await;
    let notice = manifest::read(&dir)
        .map(|m| m.notice_hash)
        .unwrap_or_default();
    if let Err(e) = tokio::fs::remove_dir_all(&dir).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::error!(recording = %id, error = %e, "could not delete a recording's files");
        return Err(DeleteError::Files(e));
    }
    // The bucket's copy too, before the row says deleted: a failure here
    // leaves the row as it was, and the deletion is tried again.
    if let Err(e) = recorders.archive().delete(&row.id).await {
        tracing::error!(recording = %id, error = %e, "could not delete a recording from the bucket");
        return Err(DeleteError::Files(std::io::Error::other(e.to_string())));
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

#[derive(Debug, thiserror::Error)]
pub enum MediaDeleteError {
    #[error("the recording is still being written")]
    InProgress,
    #[error("the recording has no transcript to keep; delete the whole recording instead")]
    NoTranscript,
    #[error("the recording was deleted")]
    Deleted,
    #[error("could not delete the recording's media: {0}")]
    Files(std::io::Error),
    #[error("could not update the manifest: {0}")]
    Manifest(#[from] manifest::ManifestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Deletes a finished recording's audio and video (the track files and the
/// transcription WAVs) and keeps its transcript and manifest; the manifest
/// and the trail say who did it and when. Only once the transcript exists:
/// otherwise there would be nothing left to keep.
pub async fn delete_media(
    store: &Store,
    recorders: &Recorders,
    row: &RecordingRow,
    by: Deleter,
    now_ms: i64,
) -> Result<(), MediaDeleteError> {
    use crate::store::RecordingRowStatus;
    match row.status {
        RecordingRowStatus::Recording => return Err(MediaDeleteError::InProgress),
        RecordingRowStatus::Deleted => return Err(MediaDeleteError::Deleted),
        RecordingRowStatus::Complete | RecordingRowStatus::Interrupted => {}
    }
    let dir = recorders.open(&row.id).await;
    let m = manifest::read(&dir)?;
    if m.transcript.is_none() {
        return Err(MediaDeleteError::NoTranscript);
    }
    if m.media_deleted.is_some() {
        return Ok(());
    }
    let media: Vec<String> = m
        .tracks
        .iter()
        .map(|t| t.file.clone())
        .chain(m.transcripts.iter().map(|t| t.file.clone()))
        .collect();
    let at = crate::clock::rfc3339(now_ms / 1000);
    let actor = by.actor;
    let gone = media.clone();
    let folder = dir.clone();
    let removed = tokio::task::spawn_blocking(move || -> Result<(), MediaDeleteError> {
        // The manifest says so first: a crash between the two leaves a
        // manifest that names media as deleted, never media it forgot.
        manifest::update(&dir, |m| {
            m.media_deleted = Some(manifest::MediaDeleted {
                at,
                by: actor.to_string(),
            });
        })?;
        for file in &media {
            match std::fs::remove_file(dir.join(file)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(MediaDeleteError::Files(e)),
            }
        }
        super::files::sync_dir(&dir).map_err(MediaDeleteError::Files)
    })
    .await
    .map_err(|e| MediaDeleteError::Files(std::io::Error::other(e.to_string())))?;
    removed?;
    // An uploaded recording: the bucket's manifest says so, then its
    // media objects go.
    recorders
        .archive()
        .rewrite(&row.id, &folder, &gone)
        .await
        .map_err(|e| MediaDeleteError::Files(std::io::Error::other(e.to_string())))?;
    let Ok(uuid) = uuid::Uuid::parse_str(&row.id) else {
        return Ok(());
    };
    store
        .append_admin_event(AdminEvent {
            session_id: row.session_id.clone(),
            recording: duet_signaling::consent::RecordingId(uuid),
            action: ConsentAction::DeleteMedia,
            actor: by.actor,
            at_ms: now_ms,
            notice_hash: m.notice_hash,
            detail: Some(by.detail),
        })
        .await?;
    tracing::info!(recording = %row.id, by = by.actor, "recording media deleted, transcript kept");
    Ok(())
}
