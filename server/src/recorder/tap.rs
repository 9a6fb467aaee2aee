//! Where the recorder meets the media path.
//!
//! The recorder is one more subscriber of the forwarding fan-out: for each
//! RTP packet a participant sends, the media engine offers a [`RecordedPacket`]
//! (a refcounted view of the payload, no copy) to that participant's
//! [`RecordTap`]. The tap's channel is bounded and `offer` never blocks: when
//! the disk falls behind, packets are counted as dropped and the recording
//! notes the gap, while forwarding carries on untouched.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Instant;

use bytes::Bytes;
use duet_signaling::Role;

/// How many packets may wait for the disk: about ten seconds of a call.
pub const QUEUE_PACKETS: usize = 4096;

/// Which of a participant's streams a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackKind {
    Audio,
    Camera,
    Screen,
}

impl TrackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Camera => "camera",
            TrackKind::Screen => "screen",
        }
    }
}

/// The codecs Duet records in their native form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackCodec {
    Opus,
    Vp8,
    Vp9,
    /// Negotiated but not recordable without transcoding (H.264 has no
    /// place in WebM); counted, not written.
    Other,
}

impl TrackCodec {
    /// From a negotiated MIME type.
    pub fn from_mime(mime: &str) -> TrackCodec {
        match mime.to_ascii_lowercase().as_str() {
            "audio/opus" => TrackCodec::Opus,
            "video/vp8" => TrackCodec::Vp8,
            "video/vp9" => TrackCodec::Vp9,
            _ => TrackCodec::Other,
        }
    }
}

/// One RTP packet as the recorder needs it.
#[derive(Debug, Clone)]
pub struct RecordedPacket {
    pub role: Role,
    pub kind: TrackKind,
    pub codec: TrackCodec,
    pub seq: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Bytes,
    pub arrival: Instant,
}

/// Keyframes the writer needs, per participant and video track: a video
/// file can only start, or resume after a loss, at a keyframe. Flags, not
/// messages, so the media path only does an atomic swap.
#[derive(Debug)]
pub struct KeyframeRequests {
    flags: [[AtomicBool; 2]; 2],
}

impl KeyframeRequests {
    fn slot(role: Role, kind: TrackKind) -> Option<(usize, usize)> {
        let k = match kind {
            TrackKind::Audio => return None,
            TrackKind::Camera => 0,
            TrackKind::Screen => 1,
        };
        Some((role.index(), k))
    }

    /// Asks for a keyframe of this track (called by the writer).
    pub fn request(&self, role: Role, kind: TrackKind) {
        if let Some((r, k)) = Self::slot(role, kind) {
            self.flags[r][k].store(true, Ordering::Relaxed);
        }
    }

    /// Whether a keyframe was asked for, clearing the request (called by
    /// the media engine).
    pub fn take(&self, role: Role, kind: TrackKind) -> bool {
        Self::slot(role, kind).is_some_and(|(r, k)| self.flags[r][k].swap(false, Ordering::Relaxed))
    }
}

impl Default for KeyframeRequests {
    /// Every video track starts wanting a keyframe: browsers send them only
    /// when asked, and a recording must not wait for one by chance.
    fn default() -> Self {
        KeyframeRequests {
            flags: std::array::from_fn(|_| std::array::from_fn(|_| AtomicBool::new(true))),
        }
    }
}

/// The sending side, held by the media engine for one recording.
#[derive(Debug, Clone)]
pub struct RecordTap {
    tx: SyncSender<RecordedPacket>,
    dropped: Arc<AtomicU64>,
    keyframes: Arc<KeyframeRequests>,
}

impl RecordTap {
    /// Hands a packet to the recorder without ever waiting.
    pub fn offer(&self, packet: RecordedPacket) {
        match self.tx.try_send(packet) {
            Ok(()) => {}
            // Full: the disk is behind. Disconnected: the recording ended and
            // the engine has not heard yet. Either way the call goes on.
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Whether the recorder wants a keyframe of this track now.
    pub fn wants_keyframe(&self, role: Role, kind: TrackKind) -> bool {
        self.keyframes.take(role, kind)
    }

    pub fn keyframe_requests(&self) -> Arc<KeyframeRequests> {
        self.keyframes.clone()
    }
}

/// The queue between the media engine and one recording's writer.
pub struct Queue {
    pub tap: RecordTap,
    pub rx: Receiver<RecordedPacket>,
    pub dropped: Arc<AtomicU64>,
}

pub fn queue(capacity: usize) -> Queue {
    let (tx, rx) = sync_channel(capacity);
    let dropped = Arc::new(AtomicU64::new(0));
    Queue {
        tap: RecordTap {
            tx,
            dropped: dropped.clone(),
            keyframes: Arc::default(),
        },
        rx,
        dropped,
    }
}

#[cfg(test)]
mod tests;
