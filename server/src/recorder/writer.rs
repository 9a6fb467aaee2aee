//! The thread that writes one recording: packets from the tap queue into one
//! file per participant and track, flushed to the OS and `fdatasync`ed
//! twice a second, so a process crash loses at most that and a power loss
//! at most that plus what the disk itself had not stored; then, once
//! stopped, the manifest and the transcription-ready WAVs.
//!
//! A stop is checked before every packet, so revoking stops writing at once
//! even with a full queue behind it. The recording's [`Limits`] (size,
//! length, free space) are checked as it goes: reaching one stops it like a
//! write error would, with every file left playable.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use duet_signaling::Role;
use duet_signaling::consent::RecordingId;

use super::FailureHook;
use super::WriterStopped;
use super::discard;
use super::files;
use super::finalize::{self, Outcome, TrackSummary};
use super::frames::{FrameAssembler, VideoCodec};
use super::limits::{Counted, Limits};
use super::manifest::{self, Manifest, ManifestTrack};
use super::ogg::OggOpusWriter;
use super::tap::{KeyframeRequests, RecordedPacket, TrackCodec, TrackKind};
use super::webm::WebmWriter;
use crate::store::Store;

/// Flush to the OS and sync to the disk at least this often: a killed
/// process, or a power loss, loses at most this (plus the 100 ms poll).
const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// How long to wait for a packet before checking for a stop again.
const POLL: Duration = Duration::from_millis(100);
/// After stopping on its own, how long to wait for the room's answer (a
/// `Stop`, which may carry a discard that crossed the failure). The room
/// answers a failure at once; this only bounds a room that is stuck.
const ROOM_ANSWER: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub enum Control {
    Stop { discard: bool },
}

pub struct WriterJob {
    pub id: RecordingId,
    pub dir: PathBuf,
    /// Time zero of the recording's clock.
    pub start: Instant,
    pub started_at_ms: i64,
    pub manifest: Manifest,
    pub packets: Receiver<RecordedPacket>,
    pub control: Receiver<Control>,
    pub dropped: Arc<AtomicU64>,
    pub keyframes: Arc<KeyframeRequests>,
    pub store: Store,
    pub runtime: tokio::runtime::Handle,
    pub on_failure: FailureHook,
    /// `duet_recording_bytes_written_total`.
    pub bytes_written: prometheus_client::metrics::counter::Counter,
    pub limits: Limits,
    /// Told when the recording is finalized.
    pub after: Option<super::After>,
    /// This node's id: the recording's writer in the database.
    pub node: String,
}

/// What the writer thread receives: packets, and orders to stop.
struct Inbox {
    packets: Receiver<RecordedPacket>,
    control: Receiver<Control>,
}

type TrackFile = Counted<BufWriter<File>>;

enum Sink {
    Audio(OggOpusWriter<TrackFile>),
    Video {
        frames: FrameAssembler,
        webm: WebmWriter<TrackFile>,
    },
}

impl Sink {
    fn file(&mut self) -> &mut TrackFile {
        match self {
            Sink::Audio(ogg) => ogg.get_mut(),
            Sink::Video { webm, .. } => webm.get_mut(),
        }
    }
}

pub(super) struct Track {
    pub role: Role,
    pub kind: TrackKind,
    pub file: String,
    pub first_arrival: Instant,
    pub packets: u64,
    sink: Sink,
}

pub fn run(job: WriterJob) {
    let WriterJob {
        id,
        dir,
        start,
        started_at_ms,
        mut manifest,
        packets,
        control,
        dropped,
        keyframes,
        store,
        runtime,
        on_failure,
        bytes_written,
        limits,
        after,
        node,
    } = job;
    let mut tracks: BTreeMap<(Role, TrackKind), Track> = BTreeMap::new();
    let inbox = Inbox { packets, control };
    let ctx = Context {
        dir: &dir,
        start,
        keyframes: &keyframes,
        bytes_written: &bytes_written,
        limits,
    };
    let outcome = record(&ctx, &inbox, &mut tracks, &mut manifest);
    let stopped = Instant::now();
    let reason = match &outcome {
        Outcome::Failed(reason) => Some(WriterStopped::Failed(reason.clone())),
        Outcome::Limit(reached) => Some(WriterStopped::Limit(reached.clone())),
        Outcome::Stopped { .. } => None,
    };
    if let Some(reason) = reason {
        // The room must hear that nothing is written any more.
        tracing::warn!(recording = %id, %reason, "recording stopped by the writer");
        on_failure(id, reason);
    }
    // Before the files are closed or finalized, so the marker is durable
    // before anything is done to them.
    let root = dir.parent().unwrap_or(&dir);
    let outcome = match settle_discard(&outcome, &inbox.control, root, id) {
        true => Outcome::Stopped { discard: true },
        false => outcome,
    };
    let summaries = close_tracks(tracks, start);
    let ctx = finalize::Finalize {
        id,
        dir: &dir,
        started_at_ms,
        session_length: stopped.saturating_duration_since(start),
        dropped: dropped.load(Ordering::Relaxed),
        store: &store,
        runtime: &runtime,
        after: after.as_ref(),
        node: &node,
    };
    finalize::finish(ctx, manifest, summaries, outcome);
}

/// Whether the recording is to be deleted; if so, its discard marker is
/// on the disk when this returns (see [`super::discard`]). The marker is
/// written here, on this thread, not by the room: the room only sends the
/// stop, so its async task never waits for a disk sync and the stop is not
/// delayed by one. A discard also counts when the writer stopped on its
/// own first (a cap, a write error): the room then answers with a stop
/// that may carry the participant's discard, or a marker is already there.
fn settle_discard(
    outcome: &Outcome,
    control: &Receiver<Control>,
    root: &Path,
    id: RecordingId,
) -> bool {
    let asked = match outcome {
        Outcome::Stopped { discard } => *discard,
        Outcome::Failed(_) | Outcome::Limit(_) => matches!(
            control.recv_timeout(ROOM_ANSWER),
            Ok(Control::Stop { discard: true })
        ),
    };
    if !asked {
        return discard::is_marked(root, id);
    }
    if let Err(e) = discard::mark(root, id) {
        // Deleting goes ahead: only a crash before it would keep the files.
        tracing::error!(recording = %id, error = %e, "could not mark a discard durably");
    }
    true
}

/// What the writing loop reads but never changes.
struct Context<'a> {
    dir: &'a Path,
    start: Instant,
    keyframes: &'a KeyframeRequests,
    bytes_written: &'a prometheus_client::metrics::counter::Counter,
    limits: Limits,
}

fn record(
    ctx: &Context<'_>,
    inbox: &Inbox,
    tracks: &mut BTreeMap<(Role, TrackKind), Track>,
    manifest: &mut Manifest,
) -> Outcome {
    let Inbox { packets, control } = inbox;
    let mut last_flush = Instant::now();
    loop {
        if let Some(stopped) = stop_asked(control) {
            return stopped;
        }
        match packets.recv_timeout(POLL) {
            Ok(p) => {
                // Asked again: a stop that came while this thread waited
                // for the packet came before it, and the packet may be from
                // after the revoke.
                if let Some(stopped) = stop_asked(control) {
                    return stopped;
                }
                let len = p.payload.len() as u64;
                if let Err(e) = write(ctx.dir, ctx.start, p, ctx.keyframes, tracks, manifest) {
                    return Outcome::Failed(e.to_string());
                }
                ctx.bytes_written.inc_by(len);
                if let Some(reached) = ctx.limits.check(total_bytes(tracks), Duration::ZERO) {
                    return Outcome::Limit(reached);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Every tap is gone: the stop that came with that is queued.
            Err(RecvTimeoutError::Disconnected) => {
                let discard = matches!(control.try_recv(), Ok(Control::Stop { discard: true }));
                return Outcome::Stopped { discard };
            }
        }
        if last_flush.elapsed() >= FLUSH_EVERY {
            last_flush = Instant::now();
            if let Err(outcome) = tick(ctx, tracks) {
                return outcome;
            }
        }
    }
}

/// The room's stop, if it came; a room gone without a word keeps what was
/// written.
fn stop_asked(control: &Receiver<Control>) -> Option<Outcome> {
    match control.try_recv() {
        Ok(Control::Stop { discard }) => Some(Outcome::Stopped { discard }),
        Err(TryRecvError::Disconnected) => Some(Outcome::Stopped { discard: false }),
        Err(TryRecvError::Empty) => None,
    }
}

/// Twice a second: every file to the disk, then the limits that need a
/// clock or a system call.
fn tick(ctx: &Context<'_>, tracks: &mut BTreeMap<(Role, TrackKind), Track>) -> Result<(), Outcome> {
    for track in tracks.values_mut() {
        sync_data(track.sink.file()).map_err(|e| Outcome::Failed(e.to_string()))?;
    }
    let reached = ctx
        .limits
        .check(total_bytes(tracks), ctx.start.elapsed())
        .or_else(|| ctx.limits.check_free_at(ctx.dir));
    match reached {
        Some(reached) => Err(Outcome::Limit(reached)),
        None => Ok(()),
    }
}

/// Hands buffered bytes to the OS, then waits for the disk to hold them
/// (`fdatasync`): what the documented "at most a second lost on a power
/// loss" rests on. Never per packet: it may take milliseconds.
fn sync_data(file: &mut TrackFile) -> std::io::Result<()> {
    file.flush()?;
    file.get_mut().get_ref().sync_data()
}

fn total_bytes(tracks: &mut BTreeMap<(Role, TrackKind), Track>) -> u64 {
    tracks.values_mut().map(|t| t.sink.file().bytes()).sum()
}

#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Ogg(#[from] super::ogg::OggError),
    #[error("{0}")]
    Webm(#[from] super::webm::WebmError),
    #[error("{0}")]
    Manifest(#[from] manifest::ManifestError),
}

fn write(
    dir: &Path,
    start: Instant,
    p: RecordedPacket,
    keyframes: &KeyframeRequests,
    tracks: &mut BTreeMap<(Role, TrackKind), Track>,
    manifest: &mut Manifest,
) -> Result<(), WriteError> {
    let track = match tracks.entry((p.role, p.kind)) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(slot) => {
            let Some(track) = open_track(dir, &p)? else {
                let note = format!(
                    "the {}'s {} is not recorded: its codec has no place in WebM and Duet does not transcode",
                    p.role,
                    p.kind.as_str()
                );
                if !manifest.notes.contains(&note) {
                    manifest.notes.push(note);
                    manifest::write(dir, manifest)?;
                }
                return Ok(());
            };
            manifest.tracks.push(ManifestTrack {
                file: track.file.clone(),
                role: p.role.as_str().to_string(),
                kind: p.kind.as_str().to_string(),
                codec: codec_name(p.codec).to_string(),
                start_offset_s: p.arrival.saturating_duration_since(start).as_secs_f64(),
                duration_s: 0.0,
                packets: 0,
            });
            // Recovery after a crash finds the files through the manifest.
            manifest::write(dir, manifest)?;
            slot.insert(track)
        }
    };
    track.packets += 1;
    // The sender's timestamps are held to the time that really passed.
    let elapsed = Some(p.arrival.saturating_duration_since(track.first_arrival));
    match &mut track.sink {
        Sink::Audio(ogg) => {
            ogg.push_timed(p.timestamp, &p.payload, elapsed)?;
        }
        Sink::Video { frames, webm } => {
            if let Some(frame) = frames.push(p.seq, p.timestamp, p.marker, &p.payload) {
                webm.write_frame_timed(frame.timestamp, frame.keyframe, frame.data, elapsed)?;
            }
            if frames.needs_keyframe() {
                keyframes.request(p.role, p.kind);
            }
        }
    }
    Ok(())
}

fn codec_name(codec: TrackCodec) -> &'static str {
    match codec {
        TrackCodec::Opus => "opus",
        TrackCodec::Vp8 => "vp8",
        TrackCodec::Vp9 => "vp9",
        TrackCodec::Other => "other",
    }
}

fn open_track(dir: &Path, p: &RecordedPacket) -> Result<Option<Track>, WriteError> {
    let (ext, video) = match p.codec {
        TrackCodec::Opus => ("ogg", None),
        TrackCodec::Vp8 => ("webm", Some(VideoCodec::Vp8)),
        TrackCodec::Vp9 => ("webm", Some(VideoCodec::Vp9)),
        // Only native codecs are kept; H.264 would need transcoding.
        TrackCodec::Other => return Ok(None),
    };
    let file = files::track_file(p.role, p.kind, ext);
    let out = Counted::new(BufWriter::with_capacity(
        64 * 1024,
        File::create(dir.join(&file))?,
    ));
    let sink = match video {
        None => Sink::Audio(OggOpusWriter::new(out)?),
        Some(codec) => Sink::Video {
            frames: FrameAssembler::new(codec),
            webm: WebmWriter::new(out, codec),
        },
    };
    Ok(Some(Track {
        role: p.role,
        kind: p.kind,
        file,
        first_arrival: p.arrival,
        packets: 0,
        sink,
    }))
}

fn close_tracks(tracks: BTreeMap<(Role, TrackKind), Track>, start: Instant) -> Vec<TrackSummary> {
    tracks
        .into_values()
        .map(|t| {
            let start_offset = t.first_arrival.saturating_duration_since(start);
            let (duration, closed) = match t.sink {
                Sink::Audio(ogg) => {
                    let d = ogg.duration();
                    let closed = ogg
                        .finish()
                        .map_err(|e| e.to_string())
                        .and_then(|w| sync(w).map_err(|e| e.to_string()));
                    (d, closed)
                }
                Sink::Video { webm, .. } => {
                    let d = webm.duration();
                    (d, sync(webm.into_inner()).map_err(|e| e.to_string()))
                }
            };
            TrackSummary {
                role: t.role,
                kind: t.kind,
                file: t.file,
                start_offset,
                duration,
                packets: t.packets,
                error: closed.err(),
            }
        })
        .collect()
}

fn sync(writer: TrackFile) -> std::io::Result<()> {
    let file = writer
        .into_inner()
        .into_inner()
        .map_err(|e| e.into_error())?;
    file.sync_all()
}

#[cfg(test)]
mod tests;
