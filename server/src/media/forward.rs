//! Forwarding decisions, as plain data in and out: which stream of the
//! other participant a packet belongs on, how its header is rewritten, and
//! when a keyframe request may go upstream. The engine only moves bytes
//! according to these.

use std::time::{Duration, Instant};

/// The three fixed streams each participant sends and receives. Knowing the
/// shape of a 1:1 call up front is what lets a late joiner connect without
/// renegotiation: every peer connection has all three from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Audio = 0,
    Camera = 1,
    Screen = 2,
}

impl Slot {
    pub const ALL: [Slot; 3] = [Slot::Audio, Slot::Camera, Slot::Screen];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_video(self) -> bool {
        !matches!(self, Slot::Audio)
    }

    /// The id of the server's outgoing track for this slot.
    pub fn track_id(self) -> &'static str {
        match self {
            Slot::Audio => "duet-audio",
            Slot::Camera => "duet-camera",
            Slot::Screen => "duet-screen",
        }
    }

    pub fn from_track_id(id: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.track_id() == id)
    }
}

/// Maps payload types of one inbound stream to those negotiated on the
/// outbound stream it is forwarded to. At most a handful of codecs per
/// m-line, so a small array beats a map and never allocates per packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadMap {
    pairs: Vec<(u8, u8)>,
}

impl PayloadMap {
    /// `inbound` and `outbound` are (payload type, codec key) pairs, where
    /// the key identifies a codec across connections (mime type plus the
    /// fmtp parameters that matter, e.g. VP9 profile).
    pub fn build(inbound: &[(u8, String)], outbound: &[(u8, String)]) -> PayloadMap {
        let pairs = inbound
            .iter()
            .filter_map(|(in_pt, key)| {
                outbound
                    .iter()
                    .find(|(_, k)| k.eq_ignore_ascii_case(key))
                    .map(|(out_pt, _)| (*in_pt, *out_pt))
            })
            .collect();
        PayloadMap { pairs }
    }

    pub fn map(&self, inbound_pt: u8) -> Option<u8> {
        self.pairs
            .iter()
            .find(|(i, _)| *i == inbound_pt)
            .map(|(_, o)| *o)
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Limits keyframe requests sent upstream for one inbound video stream:
/// several receivers' PLIs, or a burst of them from one, become at most one
/// request per interval, because each keyframe costs the sender a large,
/// loss-prone burst.
#[derive(Debug, Clone, Default)]
pub struct KeyframeThrottle {
    last_sent: Option<Instant>,
}

impl KeyframeThrottle {
    pub const MIN_INTERVAL: Duration = Duration::from_millis(500);

    /// Whether a request arriving at `now` should be sent upstream; records
    /// it as sent if so.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.last_sent {
            Some(t) if now.saturating_duration_since(t) < Self::MIN_INTERVAL => false,
            _ => {
                self.last_sent = Some(now);
                true
            }
        }
    }
}

/// Keeps one outbound stream continuous while its source changes.
///
/// The server's outbound stream to a receiver lives as long as the
/// receiver's connection, but the media in it can come from a new source: the
/// sender reloaded the page, switched tabs or rejoined after a network drop,
/// and its new encoder starts from random sequence numbers and timestamps. A
/// receiver would see a jump backwards and drop everything as replayed, so
/// each source's numbers are shifted to carry on from the last packet sent.
#[derive(Debug, Clone, Default)]
pub struct StreamContinuity {
    source_ssrc: Option<u32>,
    seq_offset: u16,
    ts_offset: u32,
    /// The highest sequence number sent, its timestamp and when.
    last: Option<(u16, u32, Instant)>,
}

impl StreamContinuity {
    /// The next packet carries on one after the last one sent, and later
    /// by the wall-clock gap, as if from a new source: video to a receiver
    /// resumes after a pause (`bandwidth::video_gate`), and the packets
    /// held back meanwhile must not look lost to it.
    pub fn rebase(&mut self) {
        self.source_ssrc = None;
    }

    /// Outbound (sequence number, timestamp) for an inbound packet;
    /// arithmetic only, called per packet.
    pub fn rewrite(
        &mut self,
        now: Instant,
        ssrc: u32,
        seq: u16,
        ts: u32,
        clock_rate: u32,
    ) -> (u16, u32) {
        if self.source_ssrc != Some(ssrc) {
            self.source_ssrc = Some(ssrc);
            match self.last {
                Some((last_seq, last_ts, at)) => {
                    // Carry on one packet later, and later in media time by
                    // the wall-clock gap, so players keep their pacing.
                    let gap = now.saturating_duration_since(at);
                    let ticks = (gap.as_micros() as u64 * u64::from(clock_rate) / 1_000_000).max(1);
                    self.seq_offset = last_seq.wrapping_add(1).wrapping_sub(seq);
                    self.ts_offset = last_ts.wrapping_add(ticks as u32).wrapping_sub(ts);
                }
                None => {
                    self.seq_offset = 0;
                    self.ts_offset = 0;
                }
            }
        }
        let out_seq = seq.wrapping_add(self.seq_offset);
        let out_ts = ts.wrapping_add(self.ts_offset);
        let newer = match self.last {
            Some((last_seq, _, _)) => (out_seq.wrapping_sub(last_seq) as i16) > 0,
            None => true,
        };
        if newer {
            self.last = Some((out_seq, out_ts, now));
        }
        (out_seq, out_ts)
    }
}

/// A key for matching codecs across two negotiations: mime type, plus the
/// fmtp parameters that change the bitstream (VP9 profile, H.264 profile
/// and packetization mode, RED's payload types inside).
pub fn codec_key(mime_type: &str, fmtp: &str) -> String {
    let mut key = mime_type.to_ascii_lowercase();
    if key == "audio/red" {
        // The payload types inside: RED is forwarded as it came only to a
        // receiver that numbers the codec inside the same way.
        key.push(';');
        key.push_str(fmtp.trim());
        return key;
    }
    let mut params: Vec<&str> = fmtp
        .split(';')
        .map(str::trim)
        .filter(|p| {
            p.starts_with("profile-id=")
                || p.starts_with("packetization-mode=")
                || p.starts_with("profile-level-id=")
        })
        .collect();
    params.sort_unstable();
    for p in params {
        key.push(';');
        if let Some(level) = p.strip_prefix("profile-level-id=") {
            // The first two bytes are the profile; the level may differ
            // between sides without changing what a decoder must support.
            key.push_str("profile=");
            key.push_str(&level.get(..4).unwrap_or(level).to_ascii_lowercase());
        } else {
            key.push_str(p);
        }
    }
    key
}

/// Why a packet is not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The receiving participant's connection is not up.
    NotConnected,
    /// The packet's payload type has no counterpart on the outbound stream.
    UnmappedPayloadType,
}

/// The outbound stream one inbound stream is forwarded to, as the
/// forwarding decision needs it.
pub struct Leg<'a> {
    /// Whether the receiving connection is up.
    pub connected: bool,
    /// Inbound to outbound payload types.
    pub payload_map: &'a PayloadMap,
    pub continuity: &'a mut StreamContinuity,
    /// The server's SSRC on the outbound stream.
    pub ssrc: u32,
}

/// The forwarding decision for one packet of `slot`: whether it goes out
/// on `leg`, and if so its header rewritten for it (payload type, SSRC,
/// continuous sequence numbers and timestamps, no extensions). Called per
/// forwarded packet: arithmetic and a short scan, no allocation.
pub fn forward_header(
    now: Instant,
    slot: Slot,
    header: &mut rtc::rtp::header::Header,
    leg: Leg<'_>,
) -> Result<(), Skip> {
    if !leg.connected {
        return Err(Skip::NotConnected);
    }
    let pt = leg
        .payload_map
        .map(header.payload_type)
        .ok_or(Skip::UnmappedPayloadType)?;
    let clock_rate = if slot.is_video() { 90_000 } else { 48_000 };
    let (seq, ts) = leg.continuity.rewrite(
        now,
        header.ssrc,
        header.sequence_number,
        header.timestamp,
        clock_rate,
    );
    header.sequence_number = seq;
    header.timestamp = ts;
    rewrite_header(header, leg.ssrc, pt);
    Ok(())
}

/// Rewrites an RTP header for the outbound stream: the server's SSRC and
/// payload type, and no header extensions (their ids are negotiated per
/// connection and would be refused; the outbound leg adds its own).
pub fn rewrite_header(header: &mut rtc::rtp::header::Header, ssrc: u32, payload_type: u8) {
    header.ssrc = ssrc;
    header.payload_type = payload_type;
    header.extension = false;
    header.extensions.clear();
    header.extensions_padding = 0;
    header.extension_profile = 0;
}

#[cfg(test)]
mod tests;
