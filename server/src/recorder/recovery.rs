//! At start-up: recordings a crash (or a kill) left in `recording` status
//! are marked `interrupted`, with the durations actually on disk, their
//! transcripts made from what was written, and an `interruption` event in
//! the consent trail.

use std::path::Path;
use std::time::Duration;

use duet_signaling::Role;
use duet_signaling::consent::{ConsentAction, RecordingId};

use super::finalize::{self, Finalize};
use super::manifest::{self, ManifestStatus};
use super::probe;
use crate::store::{AdminEvent, Store};

/// Finds interrupted recordings under `root` and finalizes them. Runs on a
/// blocking thread; call before accepting connections.
pub fn recover(root: &Path, store: &Store, runtime: &tokio::runtime::Handle) {
    let pending = match runtime.block_on(store.recordings_in_progress()) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "could not look for interrupted recordings");
            return;
        }
    };
    for row in pending {
        let Ok(uuid) = uuid::Uuid::parse_str(&row.id) else {
            continue;
        };
        let id = RecordingId(uuid);
        let dir = root.join(&row.id);
        let mut m = match manifest::read(&dir) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(recording = %id, error = %e, "interrupted recording has no readable manifest");
                let _ = runtime.block_on(store.set_recording_status(
                    id,
                    crate::store::RecordingStatus::Interrupted,
                    None,
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
        m.stop_reason = Some(
            "the server stopped while recording; the files hold everything written until then"
                .into(),
        );
        let ended_at_ms = row.started_at_ms + length.as_millis() as i64;
        let event = store.append_admin_event(AdminEvent {
            session_id: row.session_id.clone(),
            recording: id,
            action: ConsentAction::Interruption,
            actor: "server",
            at_ms: ended_at_ms,
            notice_hash: m.notice_hash.clone(),
            detail: Some("the server stopped while recording".into()),
        });
        if let Err(e) = runtime.block_on(event) {
            tracing::error!(recording = %id, error = %e, "could not store an interruption event");
        }
        let ctx = Finalize {
            id,
            dir: &dir,
            started_at_ms: row.started_at_ms,
            session_length: length,
            dropped: m.dropped_packets,
            store,
            runtime,
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
