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
/// and packetization mode).
pub fn codec_key(mime_type: &str, fmtp: &str) -> String {
    let mut key = mime_type.to_ascii_lowercase();
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
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_through_track_ids() {
        for slot in Slot::ALL {
            assert_eq!(Slot::from_track_id(slot.track_id()), Some(slot));
        }
        assert_eq!(Slot::from_track_id("browser-track"), None);
    }

    #[test]
    fn payload_types_map_by_codec() {
        let inbound = vec![
            (96, codec_key("video/VP8", "")),
            (98, codec_key("video/VP9", "profile-id=0")),
            (100, codec_key("video/VP9", "profile-id=2")),
        ];
        let outbound = vec![
            (120, codec_key("video/vp8", "")),
            (121, codec_key("video/VP9", "profile-id=0")),
        ];
        let map = PayloadMap::build(&inbound, &outbound);
        assert_eq!(map.map(96), Some(120));
        assert_eq!(map.map(98), Some(121));
        assert_eq!(map.map(100), None, "profile 2 was not negotiated outbound");
        assert_eq!(map.map(7), None);
    }

    #[test]
    fn h264_matches_on_profile_and_mode_not_level() {
        let a = codec_key(
            "video/H264",
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        );
        let b = codec_key("video/H264", "profile-level-id=42e034;packetization-mode=1");
        let c = codec_key("video/H264", "profile-level-id=640c1f;packetization-mode=1");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn keyframe_requests_are_throttled() {
        let t0 = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.allow(t0));
        assert!(!throttle.allow(t0 + Duration::from_millis(100)));
        assert!(!throttle.allow(t0 + Duration::from_millis(499)));
        assert!(throttle.allow(t0 + Duration::from_millis(500)));
        assert!(!throttle.allow(t0 + Duration::from_millis(900)));
        assert!(throttle.allow(t0 + Duration::from_millis(1000)));
    }

    #[test]
    fn one_source_passes_through_unchanged() {
        let t = Instant::now();
        let mut c = StreamContinuity::default();
        for i in 0..5u16 {
            let seq = 65_533u16.wrapping_add(i);
            let ts = (u32::MAX - 10).wrapping_add(u32::from(i) * 3000);
            assert_eq!(c.rewrite(t, 7, seq, ts, 90_000), (seq, ts));
        }
    }

    #[test]
    fn a_new_source_continues_where_the_old_one_stopped() {
        let t = Instant::now();
        let mut c = StreamContinuity::default();
        for seq in 1000..1010u16 {
            c.rewrite(t, 1, seq, u32::from(seq) * 3000, 90_000);
        }
        // 100 ms later a new source starts far behind (it would look replayed).
        let later = t + Duration::from_millis(100);
        let (seq, ts) = c.rewrite(later, 2, 40, 500, 90_000);
        assert_eq!(seq, 1010);
        assert_eq!(
            ts,
            1009 * 3000 + 9000,
            "100 ms at 90 kHz after the last packet"
        );
        assert_eq!(
            c.rewrite(later, 2, 41, 3500, 90_000),
            (1011, 1009 * 3000 + 12_000)
        );
    }

    #[test]
    fn late_and_reordered_packets_keep_their_place() {
        let t = Instant::now();
        let mut c = StreamContinuity::default();
        c.rewrite(t, 1, 10, 0, 48_000);
        c.rewrite(t, 1, 12, 1920, 48_000);
        assert_eq!(
            c.rewrite(t, 1, 11, 960, 48_000),
            (11, 960),
            "a late packet keeps its number"
        );
        let (seq, _) = c.rewrite(t, 2, 5000, 0, 48_000);
        assert_eq!(
            seq, 13,
            "a switch continues after the highest, not the latest"
        );
    }

    #[test]
    fn switching_back_to_an_earlier_source_still_moves_forward() {
        let t = Instant::now();
        let mut c = StreamContinuity::default();
        c.rewrite(t, 1, 100, 0, 90_000);
        c.rewrite(t, 2, 9, 0, 90_000);
        let (seq, _) = c.rewrite(t, 1, 101, 3000, 90_000);
        assert_eq!(seq, 102);
    }

    #[test]
    fn the_forwarding_decision() {
        let t = Instant::now();
        let map = PayloadMap::build(
            &[(100, codec_key("video/VP8", ""))],
            &[(96, codec_key("video/VP8", ""))],
        );
        let mut continuity = StreamContinuity::default();
        let mut h = rtc::rtp::header::Header {
            ssrc: 7,
            payload_type: 100,
            sequence_number: 5,
            timestamp: 9000,
            ..Default::default()
        };
        fn leg<'a>(
            connected: bool,
            map: &'a PayloadMap,
            continuity: &'a mut StreamContinuity,
        ) -> Leg<'a> {
            Leg {
                connected,
                payload_map: map,
                continuity,
                ssrc: 42,
            }
        }
        assert_eq!(
            forward_header(
                t,
                Slot::Camera,
                &mut h.clone(),
                leg(false, &map, &mut continuity)
            ),
            Err(Skip::NotConnected)
        );
        let mut other_pt = rtc::rtp::header::Header {
            payload_type: 101,
            ..h.clone()
        };
        assert_eq!(
            forward_header(
                t,
                Slot::Camera,
                &mut other_pt,
                leg(true, &map, &mut continuity)
            ),
            Err(Skip::UnmappedPayloadType)
        );
        assert_eq!(
            forward_header(t, Slot::Camera, &mut h, leg(true, &map, &mut continuity)),
            Ok(())
        );
        assert_eq!((h.ssrc, h.payload_type, h.sequence_number), (42, 96, 5));
    }

    #[test]
    fn rewrite_sets_ssrc_and_pt_and_strips_extensions() {
        let mut h = rtc::rtp::header::Header {
            ssrc: 1,
            payload_type: 96,
            extension: true,
            extension_profile: 0xBEDE,
            extensions: vec![rtc::rtp::header::Extension {
                id: 3,
                payload: bytes::Bytes::from_static(&[1, 2]),
            }],
            extensions_padding: 2,
            ..Default::default()
        };
        rewrite_header(&mut h, 42, 120);
        assert_eq!((h.ssrc, h.payload_type), (42, 120));
        assert!(!h.extension && h.extensions.is_empty() && h.extensions_padding == 0);
    }
}
