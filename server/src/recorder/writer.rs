//! The thread that writes one recording: packets from the tap queue into one
//! file per participant and track, flushed at least twice a second so a
//! crash loses at most that; then, once stopped, the manifest and the
//! transcription-ready WAVs.
//!
//! A stop is checked before every packet, so revoking stops writing at once
//! even with a full queue behind it.

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
use super::frames::{FrameAssembler, VideoCodec};
use super::manifest::{self, Manifest, ManifestTrack};
use super::ogg::OggOpusWriter;
use super::tap::{KeyframeRequests, RecordedPacket, TrackCodec, TrackKind};
use super::webm::WebmWriter;
use super::{files, finalize};
use crate::store::Store;

/// Flush to the OS at least this often: a killed process loses at most this.
const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// How long to wait for a packet before checking for a stop again.
const POLL: Duration = Duration::from_millis(100);

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
}

/// What the writer thread receives: packets, and orders to stop.
struct Inbox {
    packets: Receiver<RecordedPacket>,
    control: Receiver<Control>,
}

enum Sink {
    Audio(OggOpusWriter<BufWriter<File>>),
    Video {
        frames: FrameAssembler,
        webm: WebmWriter<BufWriter<File>>,
    },
}

pub(super) struct Track {
    pub role: Role,
    pub kind: TrackKind,
    pub file: String,
    pub first_arrival: Instant,
    pub packets: u64,
    sink: Sink,
}

/// How the writing ended.
pub(super) enum Outcome {
    Stopped { discard: bool },
    Failed(String),
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
    } = job;
    let mut tracks: BTreeMap<(Role, TrackKind), Track> = BTreeMap::new();
    let inbox = Inbox { packets, control };
    let outcome = record(
        &dir,
        start,
        &inbox,
        &keyframes,
        &bytes_written,
        &mut tracks,
        &mut manifest,
    );
    let stopped = Instant::now();
    if let Outcome::Failed(reason) = &outcome {
        tracing::warn!(recording = %id, %reason, "recording write failed");
        on_failure(id, reason.clone());
    }
    let summaries = close_tracks(tracks, start);
    let ctx = finalize::Finalize {
        id,
        dir: &dir,
        started_at_ms,
        session_length: stopped.saturating_duration_since(start),
        dropped: dropped.load(Ordering::Relaxed),
        store: &store,
        runtime: &runtime,
    };
    finalize::finish(ctx, manifest, summaries, outcome);
}

fn record(
    dir: &Path,
    start: Instant,
    inbox: &Inbox,
    keyframes: &KeyframeRequests,
    bytes_written: &prometheus_client::metrics::counter::Counter,
    tracks: &mut BTreeMap<(Role, TrackKind), Track>,
    manifest: &mut Manifest,
) -> Outcome {
    let Inbox { packets, control } = inbox;
    let mut last_flush = Instant::now();
    loop {
        match control.try_recv() {
            Ok(Control::Stop { discard }) => return Outcome::Stopped { discard },
            // The room is gone without a word: keep what was written.
            Err(TryRecvError::Disconnected) => return Outcome::Stopped { discard: false },
            Err(TryRecvError::Empty) => {}
        }
        match packets.recv_timeout(POLL) {
            Ok(p) => {
                let len = p.payload.len() as u64;
                if let Err(e) = write(dir, start, p, keyframes, tracks, manifest) {
                    return Outcome::Failed(e.to_string());
                }
                bytes_written.inc_by(len);
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
            for track in tracks.values_mut() {
                if let Err(e) = flush(&mut track.sink) {
                    return Outcome::Failed(e.to_string());
                }
            }
        }
    }
}

fn flush(sink: &mut Sink) -> std::io::Result<()> {
    match sink {
        Sink::Audio(ogg) => ogg.get_mut().flush(),
        Sink::Video { webm, .. } => webm.get_mut().flush(),
    }
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
    match &mut track.sink {
        Sink::Audio(ogg) => {
            ogg.push(p.timestamp, &p.payload)?;
        }
        Sink::Video { frames, webm } => {
            if let Some(frame) = frames.push(p.seq, p.timestamp, p.marker, &p.payload) {
                webm.write_frame(frame.timestamp, frame.keyframe, frame.data)?;
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
    let out = BufWriter::with_capacity(64 * 1024, File::create(dir.join(&file))?);
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

fn sync(writer: BufWriter<File>) -> std::io::Result<()> {
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}
