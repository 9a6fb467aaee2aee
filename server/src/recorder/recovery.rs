//! At start-up: recordings a crash (or a kill) left in `recording` status
//! are marked `interrupted`, with the durations actually on disk, their
//! WebM files indexed for seeking (by [`finalize::complete`], as for a
//! recording that ended normally; a block the crash cut short is dropped),
//! their transcripts made from what was written, and an `interruption`
//! event in the consent trail. Discards a crash cut short are finished first (see
//! [`super::discard`]).
//!
//! Only the quick part holds up the start: finishing discards and listing
//! what is left open. Transcoding hours of audio into WAVs runs on a
//! thread of its own while HTTP already serves; a recording being
//! recovered stays `recording` until it is done, so a second crash in the
//! middle just starts it again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use duet_signaling::Role;
use duet_signaling::consent::{ConsentAction, RecordingId};

use super::finalize::{self, Finalize};
use super::manifest::{self, ManifestStatus};
use super::{discard, probe};
use crate::store::{AdminEvent, RecordingRow, Store};

const INTERRUPTED: &str = "the server stopped while recording";

/// Finishes interrupted discards, lists the recordings a crash left open,
/// and finalizes those on a background thread. Call before accepting
/// connections: a recording started afterwards is never taken for one a
/// crash left open.
pub async fn start(
    root: PathBuf,
    store: Store,
    after: Option<super::After>,
    node: String,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Handle::current();
    let (list_root, list_store, list_runtime) = (root.clone(), store.clone(), runtime.clone());
    let list_node = node.clone();
    let pending = tokio::task::spawn_blocking(move || {
        let now_ms = crate::clock::now_s() * 1000;
        discard::recover(&list_root, &list_store, &list_runtime, now_ms);
        list_runtime.block_on(list_store.recordings_in_progress(&list_node))
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    let pending = match pending {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "could not look for interrupted recordings");
            return Ok(());
        }
    };
    if pending.is_empty() {
        return Ok(());
    }
    // A plain thread, not the blocking pool: it may run for minutes, and
    // the process may exit before it is done (the next start resumes).
    std::thread::Builder::new()
        .name("duet-recovery".into())
        .spawn(move || recover_rows(&root, pending, &store, &runtime, after.as_ref(), &node))?;
    Ok(())
}

/// Finds the recordings `node` left interrupted under `root` and
/// finalizes them, on the calling (blocking) thread.
pub fn recover(root: &Path, store: &Store, runtime: &tokio::runtime::Handle, node: &str) {
    discard::recover(root, store, runtime, crate::clock::now_s() * 1000);
    match runtime.block_on(store.recordings_in_progress(node)) {
        Ok(rows) => recover_rows(root, rows, store, runtime, None, node),
        Err(e) => tracing::error!(error = %e, "could not look for interrupted recordings"),
    }
}

/// Finalizes one recording left open under `root`: another node's,
/// reassembled here from the bucket's chunks (`archive::sweep`) after
/// `node`, this one, claimed it.
pub fn recover_one(
    root: &Path,
    row: RecordingRow,
    store: &Store,
    runtime: &tokio::runtime::Handle,
    after: Option<&super::After>,
    node: &str,
) {
    recover_rows(root, vec![row], store, runtime, after, node);
}

fn recover_rows(
    root: &Path,
    pending: Vec<RecordingRow>,
    store: &Store,
    runtime: &tokio::runtime::Handle,
    after: Option<&super::After>,
    node: &str,
) {
    for row in pending {
        let Ok(uuid) = uuid::Uuid::parse_str(&row.id) else {
            continue;
        };
        let id = RecordingId(uuid);
        if discard::is_marked(root, id) {
            continue; // its discard failed just now and stays pending
        }
        let dir = root.join(&row.id);
        let mut m = match manifest::read(&dir) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(recording = %id, error = %e, "interrupted recording has no readable manifest");
                let _ = runtime.block_on(store.finish_recording(
                    id,
                    crate::store::RecordingRowStatus::Interrupted,
                    None,
                    node,
                ));
                continue;
            }
        };
        let mut length = Duration::ZERO;
        let mut audio = Vec::new();
        for t in &mut m.tracks {
            let path = dir.join(&t.file);
            let measured = if t.file.ends_with(".ogg") {
                probe::ogg_duration_file(&path).map(|s| (s.duration, s.packets))
            } else {
                probe::webm_duration_file(&path).map(|s| (s.duration, s.frames))
            };
            match measured {
                Ok((d, n)) => {
                    t.duration_s = d.as_secs_f64();
                    t.packets = n;
                }
                Err(e) => m.notes.push(format!(
                    "{} could not be read after the interruption: {e}",
                    t.file
                )),
            }
            length = length.max(Duration::from_secs_f64(t.start_offset_s + t.duration_s));
            if t.kind == "audio"
                && let Ok(role) = t.role.parse::<Role>()
            {
                audio.push((
                    role,
                    t.file.clone(),
                    Duration::from_secs_f64(t.start_offset_s),
                ));
            }
        }
        m.stop_reason = Some(format!(
            "{INTERRUPTED}; the files hold everything written until then"
        ));
        let ended_at_ms = row.started_at_ms + length.as_millis() as i64;
        note_interruption(store, runtime, &row, id, ended_at_ms, &m.notice_hash);
        let ctx = Finalize {
            id,
            dir: &dir,
            started_at_ms: row.started_at_ms,
            session_length: length,
            dropped: m.dropped_packets,
            store,
            runtime,
            after,
            node,
        };
        finalize::complete(
            &ctx,
            &mut m,
            ManifestStatus::Interrupted,
            ended_at_ms,
            &audio,
        );
        tracing::warn!(recording = %id, "marked a recording interrupted by a previous stop");
    }
}

/// Adds the `interruption` event, once: a recovery that was itself cut
/// short already added it.
fn note_interruption(
    store: &Store,
    runtime: &tokio::runtime::Handle,
    row: &RecordingRow,
    id: RecordingId,
    at_ms: i64,
    notice_hash: &str,
) {
    let noted = runtime
        .block_on(store.recording_trail(id))
        .is_ok_and(|trail| {
            trail
                .iter()
                .any(|e| e.detail.as_deref() == Some(INTERRUPTED))
        });
    if noted {
        return;
    }
    let event = store.append_admin_event(AdminEvent {
        session_id: row.session_id.clone(),
        recording: id,
        action: ConsentAction::Interruption,
        actor: "server",
        at_ms,
        notice_hash: notice_hash.to_string(),
        detail: Some(INTERRUPTED.into()),
    });
    if let Err(e) = runtime.block_on(event) {
        tracing::error!(recording = %id, error = %e, "could not store an interruption event");
    }
}
