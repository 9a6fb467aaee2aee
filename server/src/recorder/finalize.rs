//! After writing stops: an index in each WebM, the manifest's final state,
//! the transcription-ready WAVs with talk time, and the database status.
//! Also used at start-up for recordings a crash left behind.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Duration;

use duet_signaling::Role;
use duet_signaling::consent::RecordingId;

use super::limits::LimitReached;
use super::manifest::{self, Manifest, ManifestStatus, ManifestTranscript};
use super::probe::OpusPackets;
use super::tap::TrackKind;
use super::wav::{self, OpusInput, WavWriter};
use super::{discard, files, webm_cues};
use crate::store::{RecordingRowStatus, Store};

/// How the writing ended.
pub(super) enum Outcome {
    Stopped {
        discard: bool,
    },
    Failed(String),
    /// A size or length cap, or the free-space floor.
    Limit(LimitReached),
}

/// What finalization needs to know of a closed track.
pub(super) struct TrackSummary {
    pub role: Role,
    pub kind: TrackKind,
    pub file: String,
    pub start_offset: Duration,
    pub duration: Duration,
    pub packets: u64,
    pub error: Option<String>,
}

pub(super) struct Finalize<'a> {
    pub id: RecordingId,
    pub dir: &'a Path,
    pub started_at_ms: i64,
    /// Length of the recording's clock: both WAVs are this long.
    pub session_length: Duration,
    pub dropped: u64,
    pub store: &'a Store,
    pub runtime: &'a tokio::runtime::Handle,
    /// Told once the recording is finalized (it queues the transcript).
    pub after: Option<&'a super::After>,
    /// This node's id: it finalizes only a recording that is still its own.
    pub node: &'a str,
}

pub(super) fn finish(
    ctx: Finalize<'_>,
    mut m: Manifest,
    tracks: Vec<TrackSummary>,
    outcome: Outcome,
) {
    let stopped_at_ms = ctx.started_at_ms + ctx.session_length.as_millis() as i64;
    if let Outcome::Stopped { discard: true } = outcome {
        return discard(&ctx, stopped_at_ms);
    }
    let status = match &outcome {
        Outcome::Failed(reason) => {
            m.stop_reason = Some(format!("writing failed: {reason}"));
            ManifestStatus::Interrupted
        }
        Outcome::Limit(reached) => {
            m.stop_reason = Some(reached.to_string());
            match reached.is_fault() {
                true => ManifestStatus::Interrupted,
                false => ManifestStatus::Complete,
            }
        }
        Outcome::Stopped { .. } => ManifestStatus::Complete,
    };
    for t in &tracks {
        if let Some(entry) = m.tracks.iter_mut().find(|e| e.file == t.file) {
            entry.start_offset_s = t.start_offset.as_secs_f64();
            entry.duration_s = t.duration.as_secs_f64();
            entry.packets = t.packets;
        }
        if let Some(e) = &t.error {
            m.notes
                .push(format!("{} could not be closed cleanly: {e}", t.file));
        }
    }
    let audio: Vec<(Role, String, Duration)> = tracks
        .iter()
        .filter(|t| t.kind == TrackKind::Audio)
        .map(|t| (t.role, t.file.clone(), t.start_offset))
        .collect();
    complete(&ctx, &mut m, status, stopped_at_ms, &audio);
}

/// Deletes a discarded recording. The marker made when the discard
/// arrived goes last, and only if all else worked, so that a crash or an
/// error here leaves the rest to recovery at the next start.
fn discard(ctx: &Finalize<'_>, stopped_at_ms: i64) {
    let root = ctx.dir.parent().unwrap_or(ctx.dir);
    let removed = match std::fs::remove_dir_all(ctx.dir) {
        Ok(()) => files::sync_dir(root),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = &removed {
        tracing::error!(recording = %ctx.id, error = %e, "could not delete a discarded recording");
    }
    let marked = ctx.runtime.block_on(ctx.store.mark_recording_deleted(
        ctx.id,
        stopped_at_ms,
        "participant".into(),
    ));
    if let Err(e) = &marked {
        tracing::error!(recording = %ctx.id, error = %e, "could not mark a recording deleted");
    }
    if removed.is_ok()
        && marked.is_ok()
        && let Err(e) = discard::clear(root, ctx.id)
    {
        tracing::error!(recording = %ctx.id, error = %e, "could not remove a discard marker");
    }
    tracing::info!(recording = %ctx.id, "recording discarded");
}

/// Indexes the WebM tracks, writes WAVs and talk time, then the manifest
/// and the database status.
pub(super) fn complete(
    ctx: &Finalize<'_>,
    m: &mut Manifest,
    status: ManifestStatus,
    stopped_at_ms: i64,
    audio: &[(Role, String, Duration)],
) {
    // Before the manifest says the recording is done, so that whoever
    // plays it then can seek in it.
    index_video(ctx, m);
    m.status = status;
    m.stopped_at = Some(crate::clock::rfc3339(stopped_at_ms / 1000));
    m.dropped_packets = ctx.dropped;
    if ctx.dropped > 0 {
        m.notes.push(format!(
            "{} packets arrived while the disk was behind and are missing (the call itself was not affected)",
            ctx.dropped
        ));
    }
    m.transcripts.clear();
    m.talk_time.clear();
    for (role, file, offset) in audio {
        match transcribe(ctx.dir, *role, file, *offset, ctx.session_length) {
            Ok(t) => {
                m.talk_time
                    .insert(role.as_str().to_string(), t.talk_seconds);
                m.transcripts.push(t);
            }
            Err(e) => m.notes.push(format!("no transcript for the {role}: {e}")),
        }
    }
    m.consent = ctx
        .runtime
        .block_on(ctx.store.recording_trail(ctx.id))
        .unwrap_or_else(|_| m.consent.clone());
    if let Err(e) = manifest::write(ctx.dir, m) {
        tracing::error!(recording = %ctx.id, error = %e, "could not write the final manifest");
    }
    // This node was frozen past its lease and another recovered the
    // recording from its chunks meanwhile: that one is the recording now.
    // This copy stays on disk, set aside by the archive sweep, and nothing
    // of it reaches the database or the transcriber.
    if let Ok(Some(row)) = ctx.runtime.block_on(ctx.store.recording(ctx.id))
        && !row.node.is_empty()
        && row.node != ctx.node
    {
        tracing::warn!(recording = %ctx.id, recovered_by = %row.node, "another node recovered this recording while this node was gone; its status stands");
        return;
    }
    // Queued before the row says finished, so that nobody who sees a
    // finished recording finds no transcription job for it.
    if let Some(after) = ctx.after {
        after.finished(ctx.id);
    }
    let db_status = match status {
        ManifestStatus::Complete => RecordingRowStatus::Complete,
        _ => RecordingRowStatus::Interrupted,
    };
    // Fenced in the statement too: a claim between the check above and
    // here still wins.
    let stored = ctx.runtime.block_on(ctx.store.finish_recording(
        ctx.id,
        db_status,
        Some(stopped_at_ms),
        ctx.node,
    ));
    match stored {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(recording = %ctx.id, "another node recovered this recording just now; its status stands")
        }
        Err(e) => {
            tracing::error!(recording = %ctx.id, error = %e, "could not store a recording's status")
        }
    }
    tracing::info!(recording = %ctx.id, status = ?status, "recording finalized");
}

/// Adds Cues to each WebM track (see [`webm_cues`]) so that a player
/// seeking far into it reads one cluster, not all before it. A file that
/// cannot be indexed still plays as the live stream it is: a warning, not
/// a failed recording.
fn index_video(ctx: &Finalize<'_>, m: &Manifest) {
    for t in m.tracks.iter().filter(|t| t.file.ends_with(".webm")) {
        match webm_cues::add_cues(&ctx.dir.join(&t.file)) {
            Ok(added) => {
                tracing::debug!(recording = %ctx.id, file = %t.file, ?added, "WebM indexed")
            }
            Err(e) => tracing::warn!(
                recording = %ctx.id, file = %t.file, error = %e,
                "could not index a WebM track; it plays, but seeking reads from the start"
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum TranscribeError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Probe(#[from] super::probe::ProbeError),
    #[error("{0}")]
    Wav(#[from] wav::WavError),
}

/// Decodes one speaker's Ogg Opus track into a 16 kHz mono WAV on the
/// recording's clock.
fn transcribe(
    dir: &Path,
    role: Role,
    ogg_file: &str,
    offset: Duration,
    length: Duration,
) -> Result<ManifestTranscript, TranscribeError> {
    let packets = OpusPackets::new(std::io::BufReader::new(File::open(dir.join(ogg_file))?))?;
    // The Ogg writer fills gaps so players keep time; the transcoder has
    // its own rules for gaps (conceal short ones, silence for the rest).
    let inputs = packets
        .filter_map(|p| p.ok())
        .filter(|p| !super::ogg::is_gap_fill(&p.data))
        .map(|p| {
            let samples = super::ogg::opus_samples(&p.data).map_or(960, u64::from);
            OpusInput {
                pos_48k: p.granule_end.saturating_sub(samples),
                data: p.data,
            }
        });
    let file = files::transcript_file(role);
    let mut out = WavWriter::new(BufWriter::new(File::create(dir.join(&file))?))?;
    let talk = wav::transcode(inputs, offset, length, &mut out)?;
    let writer = out.finish()?;
    writer
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    Ok(ManifestTranscript {
        role: role.as_str().to_string(),
        file,
        talk_seconds: round2(talk.speech_seconds),
        speech: talk
            .segments
            .iter()
            .map(|(s, e)| [round2(*s), round2(*e)])
            .collect(),
    })
}

/// Hundredths of a second: finer than anyone reads, and it keeps a long
/// session's manifest small.
fn round2(s: f64) -> f64 {
    (s * 100.0).round() / 100.0
}
