//! The sending half of a test peer: three local RTP tracks fed with pre-encoded media, each
//! payload recorded before it is handed to the connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::rtp;
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::shared::marshal::Marshal;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

use crate::feedback::is_keyframe_request;
use crate::ivf::IvfClip;
use crate::stats::{MediaKind, PeerStats};
use crate::tone;
use crate::vp8::Vp8Packetizer;

/// RTP packet size budget (header included), as browsers use.
const RTP_MTU: usize = 1200;
const RTP_HEADER_LEN: usize = 12;

/// Codec every audio track uses.
pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Codec every video track uses.
pub fn vp8_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

/// The audio-level header extension (RFC 6464) a browser sends on its audio.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// The loudest level (−dBov) at which a test peer's stand-in voice detector says "speech"
/// (the V bit): a crude energy detector where a browser has a real one.
const VOICE_LEVEL: u8 = 40;

/// The codecs every test peer offers: Opus (PT 111) and VP8 (PT 96, with FIR, NACK and PLI
/// feedback); and on audio, like a browser, the audio-level extension.
pub(crate) fn media_engine() -> anyhow::Result<MediaEngine> {
    let mut engine = MediaEngine::default();
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    let feedback = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    let mut vp8 = vp8_codec();
    vp8.rtcp_feedback = vec![
        feedback("ccm", "fir"),
        feedback("nack", ""),
        feedback("nack", "pli"),
    ];
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: vp8,
            payload_type: 96,
        },
        RtpCodecKind::Video,
    )?;
    engine.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )?;
    Ok(engine)
}

/// Per-kind switches shared by the send loops and the peer's API.
#[derive(Default)]
pub(crate) struct SendControl {
    enabled: [AtomicBool; 3],
    /// Negotiated payload type; 0 until known (0 is PCMU, never used here).
    payload_type: [AtomicU8; 3],
    keyframe_wanted: [AtomicBool; 3],
    /// Extra RTP ticks added to the audio timestamp line on every packet:
    /// a sender whose timestamps run away (an attack on the recorder).
    audio_ts_jump: AtomicU32,
    /// Sound to send instead of the tone: silence until [`SendControl::play`]
    /// gives frames, which are sent once, then silence again.
    script: std::sync::Mutex<Option<Script>>,
    /// Leave the audio level's V bit clear: a sender with no voice detector.
    no_voice_bit: AtomicBool,
    /// The audio-level extension's negotiated id; 0 until known, or when the answer left
    /// it out (the sender then refuses packets that carry it).
    audio_level_id: AtomicU8,
}

/// What the audio line sends in place of the looped tone.
pub(crate) struct Script {
    frames: Arc<Vec<Bytes>>,
    next: usize,
}

impl SendControl {
    /// From now on, the audio line sends silence instead of the tone.
    pub(crate) fn quiet(&self) {
        let mut script = self.script.lock().unwrap_or_else(|p| p.into_inner());
        script.get_or_insert(Script {
            frames: Arc::new(Vec::new()),
            next: 0,
        });
    }

    /// Sends `frames` once, from the next 20 ms tick, then silence.
    pub(crate) fn play(&self, frames: Arc<Vec<Bytes>>) {
        *self.script.lock().unwrap_or_else(|p| p.into_inner()) = Some(Script { frames, next: 0 });
    }

    /// The scripted frame for this tick: `None` when no script is set (the
    /// tone plays); `Some(None)` for silence.
    fn scripted(&self) -> Option<Option<Bytes>> {
        let mut script = self.script.lock().unwrap_or_else(|p| p.into_inner());
        let s = script.as_mut()?;
        let frame = s.frames.get(s.next).cloned();
        s.next += 1;
        Some(frame)
    }

    pub(crate) fn set_enabled(&self, kind: MediaKind, on: bool) {
        self.enabled[kind.index()].store(on, Ordering::SeqCst);
    }

    /// Whether audio packets carry the V bit of their level (see [`VOICE_LEVEL`]).
    pub(crate) fn set_voice_bit(&self, on: bool) {
        self.no_voice_bit.store(!on, Ordering::SeqCst);
    }

    pub(crate) fn set_audio_level_id(&self, id: u8) {
        self.audio_level_id.store(id, Ordering::SeqCst);
    }

    /// The audio-level extension (its id and value) for a packet at `level` (−dBov), when
    /// it was negotiated.
    fn audio_level(&self, level: u8) -> Option<(u8, Bytes)> {
        let id = self.audio_level_id.load(Ordering::SeqCst);
        if id == 0 {
            return None;
        }
        let ext = AudioLevelExtension {
            level,
            voice: !self.no_voice_bit.load(Ordering::SeqCst) && level <= VOICE_LEVEL,
        };
        Some((id, ext.marshal().ok()?.freeze()))
    }

    pub(crate) fn set_audio_timestamp_jump(&self, ticks: u32) {
        self.audio_ts_jump.store(ticks, Ordering::SeqCst);
    }

    pub(crate) fn enabled(&self, kind: MediaKind) -> bool {
        self.enabled[kind.index()].load(Ordering::SeqCst)
    }

    pub(crate) fn set_payload_type(&self, kind: MediaKind, pt: u8) {
        self.payload_type[kind.index()].store(pt, Ordering::SeqCst);
    }

    fn payload_type(&self, kind: MediaKind) -> Option<u8> {
        match self.payload_type[kind.index()].load(Ordering::SeqCst) {
            0 => None,
            pt => Some(pt),
        }
    }
}

/// A local track with its fixed SSRC.
#[derive(Clone)]
pub(crate) struct LocalTrack {
    pub(crate) kind: MediaKind,
    pub(crate) ssrc: u32,
    pub(crate) track: Arc<TrackLocalStaticRTP>,
}

impl LocalTrack {
    /// A track named `<kind>-<unique suffix>` in stream `stream_id`. Track ids must not collide
    /// with the remote side's: the driver routes RTCP by track id and looks at remote tracks
    /// first.
    pub(crate) fn new(kind: MediaKind, stream_id: &str) -> LocalTrack {
        let ssrc = loop {
            let ssrc = rand::random::<u32>();
            if ssrc != 0 {
                break ssrc;
            }
        };
        let track = media_track(kind, stream_id, ssrc);
        LocalTrack {
            kind,
            ssrc,
            track: Arc::new(TrackLocalStaticRTP::new(track)),
        }
    }
}

/// Everything a send loop needs.
pub(crate) struct SendContext {
    pub(crate) local: LocalTrack,
    pub(crate) control: Arc<SendControl>,
    pub(crate) stats: Arc<watch::Sender<PeerStats>>,
}

impl SendContext {
    async fn wait_connected(&self) -> bool {
        let mut rx = self.stats.subscribe();
        rx.wait_for(|s| s.connected()).await.is_ok()
    }

    /// Records and writes one packet; false once the track can no longer send.
    async fn send(&self, packet: rtp::Packet) -> bool {
        let (kind, ssrc) = (self.local.kind, self.local.ssrc);
        self.stats
            .send_modify(|s| s.sent.get_mut(kind).record(kind, ssrc, &packet.payload));
        self.local.track.write_rtp(packet).await.is_ok()
    }

    /// [`Self::send`] for audio at `level` (−dBov), stamped with the audio-level extension
    /// when it was negotiated, as a browser does.
    async fn send_audio(&self, mut packet: rtp::Packet, level: u8) -> bool {
        if let Some((id, value)) = self.control.audio_level(level) {
            // Refused only for an id out of range: then the packet goes without it.
            let _ = packet.header.set_extension(id, value);
        }
        self.send(packet).await
    }
}

/// A local track of `kind` under `stream_id` sending as `ssrc`, with a unique id: the
/// webrtc peers' and the light load peers' alike.
pub(crate) fn media_track(kind: MediaKind, stream_id: &str, ssrc: u32) -> MediaStreamTrack {
    let (label, codec_kind, codec) = match kind {
        MediaKind::Audio => ("audio", RtpCodecKind::Audio, opus_codec()),
        MediaKind::Camera => ("camera", RtpCodecKind::Video, vp8_codec()),
        MediaKind::Screen => ("screen", RtpCodecKind::Video, vp8_codec()),
    };
    MediaStreamTrack::new(
        stream_id.to_owned(),
        format!("{label}-{}", uuid::Uuid::new_v4().simple()),
        label.to_owned(),
        codec_kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec,
            ..Default::default()
        }],
    )
}

/// A plain RTP packet (version 2, no extensions yet).
pub(crate) fn rtp_packet(
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    marker: bool,
    payload: Bytes,
) -> rtp::Packet {
    rtp::Packet {
        header: rtp::Header {
            version: 2,
            marker,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ssrc,
            ..Default::default()
        },
        payload,
    }
}

/// Sends the Opus tone, one packet per 20 ms, while the kind is enabled. Each packet carries
/// a per-track tag and a counter in its Opus padding, so every payload is unique.
pub(crate) async fn audio_loop(ctx: SendContext, frames: Arc<Vec<Bytes>>) {
    if frames.is_empty() || !ctx.wait_connected().await {
        return;
    }
    let kind = ctx.local.kind;
    let Ok(silence) = tone::opus_silence_frame() else {
        return;
    };
    let Ok(mut levels) = tone::FrameLevels::new() else {
        return;
    };
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut seq = rand::random::<u16>();
    let ts0 = rand::random::<u32>();
    let tag = rand::random::<u32>();
    let mut counter = 0u32;
    let mut first = true;
    let mut jumped = 0u32;
    for tick in 0u32.. {
        ticker.tick().await;
        let Some(pt) = ctx.control.payload_type(kind) else {
            continue;
        };
        if !ctx.control.enabled(kind) {
            first = true;
            continue;
        }
        let (frame, level) = match ctx.control.scripted() {
            None => (
                frames[tick as usize % frames.len()].clone(),
                tone::TONE_LEVEL,
            ),
            Some(Some(frame)) => {
                let level = levels.of(&frame);
                (frame, level)
            }
            Some(None) => (silence.clone(), tone::SILENCE_LEVEL),
        };
        counter = counter.wrapping_add(1);
        let sent_us = crate::latency::now_us();
        let Ok(payload) = tone::tag_opus_packet(&frame, tag, counter, sent_us) else {
            continue;
        };
        jumped = jumped.wrapping_add(ctx.control.audio_ts_jump.load(Ordering::SeqCst));
        let ts = ts0
            .wrapping_add(tick.wrapping_mul(tone::SAMPLES_PER_FRAME))
            .wrapping_add(jumped);
        let packet = rtp_packet(pt, seq, ts, ctx.local.ssrc, first, payload);
        seq = seq.wrapping_add(1);
        first = false;
        if !ctx.send_audio(packet, level).await {
            return;
        }
    }
}

/// Sends the clip's frames in a loop at its frame rate while the kind is enabled, restarting
/// at a key frame when one was requested.
pub(crate) async fn video_loop(ctx: SendContext, clip: Arc<IvfClip>) {
    if clip.frames.is_empty() || !ctx.wait_connected().await {
        return;
    }
    let kind = ctx.local.kind;
    let mut payloader = Vp8Packetizer::default();
    let mut ticker = tokio::time::interval(clip.frame_duration());
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut seq = rand::random::<u16>();
    let ts0 = rand::random::<u32>();
    let step = clip.rtp_ticks_per_frame();
    let mut index = 0usize;
    for tick in 0u32.. {
        ticker.tick().await;
        let Some(pt) = ctx.control.payload_type(kind) else {
            continue;
        };
        if !ctx.control.enabled(kind) {
            index = 0; // resume with a key frame
            continue;
        }
        if ctx.control.keyframe_wanted[kind.index()].swap(false, Ordering::SeqCst) {
            index = clip.next_keyframe(0);
        }
        let frame = &clip.frames[index % clip.frames.len()];
        index = (index + 1) % clip.frames.len();
        let payloads = payloader.payload(&frame.data, RTP_MTU - RTP_HEADER_LEN);
        let ts = ts0.wrapping_add(tick.wrapping_mul(step));
        let last = payloads.len().saturating_sub(1);
        for (i, payload) in payloads.into_iter().enumerate() {
            let packet = rtp_packet(pt, seq, ts, ctx.local.ssrc, i == last, payload);
            seq = seq.wrapping_add(1);
            if !ctx.send(packet).await {
                return;
            }
        }
    }
}

/// Counts PLI/FIR arriving about this track until the connection closes, and asks the video
/// loop for a key frame on each.
pub(crate) async fn keyframe_request_loop(ctx: SendContext) {
    let kind = ctx.local.kind;
    while let Some(event) = ctx.local.track.poll().await {
        #[allow(clippy::single_match)] // `TrackLocalEvent` is non-exhaustive
        match event {
            TrackLocalEvent::OnRtcpPacket(packets) => {
                let n = packets
                    .iter()
                    .filter(|p| is_keyframe_request(p.as_ref()))
                    .count() as u64;
                if n > 0 {
                    ctx.control.keyframe_wanted[kind.index()].store(true, Ordering::SeqCst);
                    ctx.stats
                        .send_modify(|s| *s.keyframe_requests.get_mut(kind) += n);
                }
            }
            _ => {}
        }
    }
}
