//! What a test peer has sent and received, kept so tests can assert on it.

use std::collections::HashSet;
use std::fmt;
use std::hash::{DefaultHasher, Hasher};

use webrtc::peer_connection::{RTCIceConnectionState, RTCPeerConnectionState};

pub use crate::rtcp_stats::{RtcpCounts, RtcpStats};

/// The three media sections of a Duet call, in m-line order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Opus microphone audio (m-line 0).
    Audio,
    /// VP8 camera video (m-line 1).
    Camera,
    /// VP8 screen share (m-line 2).
    Screen,
}

impl MediaKind {
    /// All kinds, in m-line order.
    pub const ALL: [MediaKind; 3] = [MediaKind::Audio, MediaKind::Camera, MediaKind::Screen];

    /// Position of the kind's m-line (and index into [`PerKind`]).
    pub fn index(self) -> usize {
        match self {
            MediaKind::Audio => 0,
            MediaKind::Camera => 1,
            MediaKind::Screen => 2,
        }
    }

    /// Whether the kind is video.
    pub fn is_video(self) -> bool {
        self != MediaKind::Audio
    }
}

/// One value per [`MediaKind`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PerKind<T>(pub [T; 3]);

impl<T> PerKind<T> {
    /// The value for `kind`.
    pub fn get(&self, kind: MediaKind) -> &T {
        &self.0[kind.index()]
    }

    /// The value for `kind`, mutably.
    pub fn get_mut(&mut self, kind: MediaKind) -> &mut T {
        &mut self.0[kind.index()]
    }
}

/// Counters for one direction of one media kind.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// RTP packets.
    pub packets: u64,
    /// Payload bytes (RTP headers excluded).
    pub bytes: u64,
    /// Packets whose payload was empty (padding / probes); not hashed.
    pub empty_payloads: u64,
    /// [`payload_hash`] of every non-empty payload.
    pub payload_hashes: HashSet<u64>,
    /// VP8 key frames (first packet of a key frame), video only.
    pub keyframes: u64,
    /// SSRCs seen (received) or used (sent).
    pub ssrcs: HashSet<u32>,
    /// Received audio only: for each packet that carried a send stamp, in arrival order,
    /// microseconds from sending to receiving ([`crate::latency`]).
    pub latency_us: Vec<u32>,
}

impl StreamStats {
    /// Records one RTP packet.
    pub fn record(&mut self, kind: MediaKind, ssrc: u32, payload: &[u8]) {
        self.packets += 1;
        self.bytes += payload.len() as u64;
        self.ssrcs.insert(ssrc);
        if payload.is_empty() {
            self.empty_payloads += 1;
            return;
        }
        self.payload_hashes.insert(payload_hash(payload));
        if kind.is_video() && crate::vp8::starts_keyframe(payload) {
            self.keyframes += 1;
        }
    }
}

impl fmt::Debug for StreamStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamStats")
            .field("packets", &self.packets)
            .field("bytes", &self.bytes)
            .field("empty_payloads", &self.empty_payloads)
            .field("distinct_payloads", &self.payload_hashes.len())
            .field("keyframes", &self.keyframes)
            .field("ssrcs", &self.ssrcs)
            .field("latency_samples", &self.latency_us.len())
            .finish()
    }
}

/// Everything a peer observed, as one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStats {
    /// What this peer sent, per kind.
    pub sent: PerKind<StreamStats>,
    /// What this peer received, per kind of the m-line it arrived on.
    pub received: PerKind<StreamStats>,
    /// RTCP PLI and FIR packets that arrived about this peer's own senders, per kind.
    pub keyframe_requests: PerKind<u64>,
    /// PLIs this peer sent, per kind of the remote track they addressed.
    pub plis_sent: PerKind<u64>,
    /// Every RTCP packet that arrived from the remote, by type, per kind of our sender it is
    /// about and in total.
    pub rtcp: RtcpStats,
    /// Latest peer-connection state.
    pub connection_state: RTCPeerConnectionState,
    /// Latest ICE connection state.
    pub ice_state: RTCIceConnectionState,
}

impl Default for PeerStats {
    fn default() -> Self {
        PeerStats {
            sent: PerKind::default(),
            received: PerKind::default(),
            keyframe_requests: PerKind::default(),
            plis_sent: PerKind::default(),
            rtcp: RtcpStats::default(),
            connection_state: RTCPeerConnectionState::New,
            ice_state: RTCIceConnectionState::New,
        }
    }
}

impl PeerStats {
    /// Whether the peer connection is connected.
    pub fn connected(&self) -> bool {
        self.connection_state == RTCPeerConnectionState::Connected
    }

    /// Distinct received payloads of `kind` that `sender` never sent as `sent_kind`.
    pub fn foreign_payloads(
        &self,
        kind: MediaKind,
        sender: &PeerStats,
        sent_kind: MediaKind,
    ) -> usize {
        let sent = &sender.sent.get(sent_kind).payload_hashes;
        self.received
            .get(kind)
            .payload_hashes
            .iter()
            .filter(|h| !sent.contains(h))
            .count()
    }

    /// Distinct received payloads of `kind` that `sender` did send as `sent_kind`. Every
    /// payload a peer sends is unique (tagged Opus padding, per-track VP8 picture IDs), so a
    /// non-zero count against the wrong sender or kind means media went where it should not.
    pub fn matched_payloads(
        &self,
        kind: MediaKind,
        sender: &PeerStats,
        sent_kind: MediaKind,
    ) -> usize {
        let sent = &sender.sent.get(sent_kind).payload_hashes;
        self.received
            .get(kind)
            .payload_hashes
            .iter()
            .filter(|h| sent.contains(h))
            .count()
    }

    /// Whether every payload received as `kind` is byte-identical to one `sender` sent as the
    /// same kind, and at least `min_packets` arrived.
    pub fn received_intact_from(
        &self,
        kind: MediaKind,
        sender: &PeerStats,
        min_packets: u64,
    ) -> bool {
        self.received.get(kind).packets >= min_packets
            && self.foreign_payloads(kind, sender, kind) == 0
    }
}

/// Stable 64-bit hash of a payload (SipHash with fixed keys: equal bytes, equal hash, within
/// and across processes of the same build).
pub fn payload_hash(payload: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(payload);
    hasher.finish()
}
