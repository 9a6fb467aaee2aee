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
