//! A participant's "stop and delete", made durable before anything else.
//!
//! Deleting the files happens after the writer has stopped, and a crash in
//! between used to turn the discarded recording into a kept `interrupted`
//! one. So when the discard reaches the writer's thread, before it closes
//! or finalizes anything, a marker file `recordings/<id>.discard` is
//! created and synced together with its folder (the room only sends the
//! stop, so neither the stop nor its async task waits for the sync). It sits beside the recording's folder, not in it, so the writer
//! (which still has files open there) is not disturbed. Finalization
//! removes the folder, marks the row deleted, and only then the marker; at
//! start-up [`recover`] finishes any discard a crash cut short, so a
//! marker that exists always ends in deleted files.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use duet_signaling::consent::{ConsentAction, RecordingId};

use super::files::sync_dir;
use super::manifest;
use crate::store::{AdminEvent, Store};

const SUFFIX: &str = ".discard";

pub fn marker_path(root: &Path, id: RecordingId) -> PathBuf {
    root.join(format!("{id}{SUFFIX}"))
}

/// Durably records that `id` is to be deleted: the marker's contents and
/// its name in the folder are on the disk when this returns.
pub fn mark(root: &Path, id: RecordingId) -> io::Result<()> {
    let mut file = File::create(marker_path(root, id))?;
    file.write_all(b"discarded by a participant\n")?;
    file.sync_all()?;
    sync_dir(root)
}

/// The discard is carried out: the marker goes.
pub fn clear(root: &Path, id: RecordingId) -> io::Result<()> {
    match std::fs::remove_file(marker_path(root, id)) {
        Ok(()) => sync_dir(root),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether a discard of `id` is pending.
pub fn is_marked(root: &Path, id: RecordingId) -> bool {
    marker_path(root, id).exists()
}

/// Discards a crash left unfinished, by their markers under `root`.
fn pending(root: &Path) -> Vec<RecordingId> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let id = name.to_str()?.strip_suffix(SUFFIX)?;
            uuid::Uuid::parse_str(id).ok().map(RecordingId)
        })
        .collect()
}

/// At start-up, before anything else reads `root`: deletes every recording
/// whose discard a crash cut short, marks its row deleted by the
/// participant, and makes sure the trail says it was discarded.
pub fn recover(root: &Path, store: &Store, runtime: &tokio::runtime::Handle, now_ms: i64) {
    for id in pending(root) {
        if let Err(e) = finish(root, id, store, runtime, now_ms) {
            tracing::error!(recording = %id, error = %e, "could not finish a discarded recording");
            continue;
        }
        tracing::warn!(recording = %id, "deleted a recording discarded before the server stopped");
    }
}

#[derive(Debug, thiserror::Error)]
enum FinishError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

fn finish(
    root: &Path,
    id: RecordingId,
    store: &Store,
    runtime: &tokio::runtime::Handle,
    now_ms: i64,
) -> Result<(), FinishError> {
    let dir = root.join(id.to_string());
    let notice = manifest::read(&dir).map(|m| m.notice_hash).ok();
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => sync_dir(root)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let trail = runtime.block_on(store.recording_trail(id))?;
    if let Some(first) = trail.first()
        && !trail
            .iter()
            .any(|e| e.action == ConsentAction::Discard.as_str())
    {
        // The crash came before the participant's discard was stored.
        runtime.block_on(
            store.append_admin_event(AdminEvent {
                session_id: first.session_id.clone(),
                recording: id,
                action: ConsentAction::Discard,
                actor: "server",
                at_ms: now_ms,
                notice_hash: notice.unwrap_or_else(|| first.notice_hash.clone()),
                detail: Some(
                    "a participant discarded this recording; the server stopped before deleting it"
                        .into(),
                ),
            }),
        )?;
    }
    runtime.block_on(store.mark_recording_deleted(id, now_ms, "participant".into()))?;
    clear(root, id)?;
    Ok(())
}

#[cfg(test)]
mod tests;
