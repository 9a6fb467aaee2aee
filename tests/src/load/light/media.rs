//! What a light peer sends, made on demand from the same material as the webrtc peers'
//! send loops (`sender.rs`): the looped Opus tone, tagged and stamped with its send time,
//! every 20 ms; the IVF clip's VP8 frames at its frame rate, restarting at a key frame
//! after a pause or when a keyframe request arrives. The media loop calls these on each
//! tick; nothing here does IO or reads a clock.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rtc::rtp;
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::shared::marshal::Marshal;

use crate::ivf::IvfClip;
use crate::tone;
use crate::vp8::Vp8Packetizer;

/// RTP packet size budget (header included), as `sender.rs` and browsers use.
const RTP_MTU: usize = 1200;
const RTP_HEADER_LEN: usize = 12;

/// Time between two audio packets.
pub(crate) const AUDIO_TICK: Duration = Duration::from_millis(20);

/// The loudest level (−dBov) a test peer marks as speech, as `sender.rs`.
const VOICE_LEVEL: u8 = 40;

/// The end of a tagged Opus packet ([`tone::tag_opus_packet`]) that differs from packet to
/// packet: the send-time stamp, then the tag and the counter.
const TAG_TAIL: usize = crate::latency::STAMP_LEN + 8;

/// A tagged packet of a frame: `padded` (the frame as [`tone::tag_opus_packet`] pads it)
/// with its last [`TAG_TAIL`] bytes written. The same bytes as `tag_opus_packet`, without
/// a call into the Opus library and a zeroed buffer per packet.
fn tag_padded(padded: &[u8], tag: u32, counter: u32, sent_us: u64) -> Bytes {
    let mut buf = BytesMut::from(padded);
    let n = buf.len();
    buf[n - TAG_TAIL..n - 8].copy_from_slice(&crate::latency::stamp(sent_us));
    buf[n - 8..n - 4].copy_from_slice(&tag.to_be_bytes());
    buf[n - 4..].copy_from_slice(&counter.to_be_bytes());
    buf.freeze()
}

/// Where a track's packets go, once the answer is applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Negotiated {
    /// The payload type; 0 until known (nothing is sent).
    pub(crate) payload_type: u8,
    /// The audio-level extension's id; 0 when not negotiated.
    pub(crate) audio_level_id: u8,
}

fn nonzero_random() -> u32 {
    loop {
        let v = rand::random::<u32>();
        if v != 0 {
            return v;
        }
    }
}

/// A new random SSRC (never 0).
pub(crate) fn new_ssrc() -> u32 {
    nonzero_random()
}

/// The audio line: one packet per 20 ms tick while sending, as `sender::audio_loop`.
pub(crate) struct AudioTrack {
    ssrc: u32,
    /// The frames as [`tone::tag_opus_packet`] pads them, tagged per packet.
    padded: Vec<Bytes>,
    /// The tone's audio level with the V bit, marshalled once.
    level: Bytes,
    seq: u16,
    ts0: u32,
    /// Makes every payload of this track unique (with `counter`).
    tag: u32,
    counter: u32,
    tick: u32,
    /// The next packet starts a talk spurt (marker bit): the first, and the first after a
    /// pause.
    first: bool,
}

impl AudioTrack {
    /// A track sending `frames` (20 ms Opus each, looped) as `ssrc`.
    pub(crate) fn new(ssrc: u32, frames: Arc<Vec<Bytes>>) -> anyhow::Result<AudioTrack> {
        anyhow::ensure!(!frames.is_empty(), "no audio frames");
        let padded = frames
            .iter()
            .map(|frame| tone::tag_opus_packet(frame, 0, 0, 0))
            .collect::<anyhow::Result<Vec<Bytes>>>()?;
        let level = AudioLevelExtension {
            level: tone::TONE_LEVEL,
            voice: tone::TONE_LEVEL <= VOICE_LEVEL,
        }
        .marshal()?
        .freeze();
        Ok(AudioTrack {
            ssrc,
            padded,
            level,
            seq: rand::random(),
            ts0: rand::random(),
            tag: rand::random(),
            counter: 0,
            tick: 0,
            first: true,
        })
    }

    /// One 20 ms tick: the packet to send, stamped with `sent_us`; `None` while the payload
    /// type is unknown or the line is paused (the tick passes all the same, so the RTP
    /// timestamp keeps the wall clock's pace).
    pub(crate) fn tick(
        &mut self,
        negotiated: Negotiated,
        sending: bool,
        sent_us: u64,
    ) -> Option<rtp::Packet> {
        let tick = self.tick;
        self.tick = self.tick.wrapping_add(1);
        if negotiated.payload_type == 0 {
            return None;
        }
        if !sending {
            self.first = true;
            return None;
        }
        let padded = &self.padded[tick as usize % self.padded.len()];
        self.counter = self.counter.wrapping_add(1);
        let payload = tag_padded(padded, self.tag, self.counter, sent_us);
        let ts = self
            .ts0
            .wrapping_add(tick.wrapping_mul(tone::SAMPLES_PER_FRAME));
        let mut p = crate::sender::rtp_packet(
            negotiated.payload_type,
            self.seq,
            ts,
            self.ssrc,
            self.first,
            payload,
        );
        if negotiated.audio_level_id != 0 {
            // Refused only for an id out of range: then the packet goes without it.
            let _ = p
                .header
                .set_extension(negotiated.audio_level_id, self.level.clone());
        }
        self.seq = self.seq.wrapping_add(1);
        self.first = false;
        Some(p)
    }
}

/// The camera line: the clip's frames in a loop at its frame rate, as `sender::video_loop`.
pub(crate) struct VideoTrack {
    ssrc: u32,
    clip: Arc<IvfClip>,
    packetizer: Vp8Packetizer,
    seq: u16,
    ts0: u32,
    tick: u32,
    /// The next frame of the clip to send.
    index: usize,
    keyframe_wanted: bool,
}

impl VideoTrack {
    /// A track sending `clip` as `ssrc`.
    pub(crate) fn new(ssrc: u32, clip: Arc<IvfClip>) -> anyhow::Result<VideoTrack> {
        anyhow::ensure!(!clip.frames.is_empty(), "the clip has no frames");
        Ok(VideoTrack {
            ssrc,
            clip,
            packetizer: Vp8Packetizer::default(),
            seq: rand::random(),
            ts0: rand::random(),
            tick: 0,
            index: 0,
            keyframe_wanted: false,
        })
    }

    /// Time between two frames.
    pub(crate) fn frame_interval(&self) -> Duration {
        self.clip.frame_duration()
    }

    /// A PLI or FIR arrived: the next frame sent is the clip's first key frame.
    pub(crate) fn request_keyframe(&mut self) {
        self.keyframe_wanted = true;
    }

    /// One frame tick: the frame's packets (the last with the marker bit), into `out`;
    /// nothing while the payload type is unknown or the line is paused. A pause rewinds to
    /// the clip's start, so sending resumes with a key frame.
    pub(crate) fn tick(
        &mut self,
        negotiated: Negotiated,
        sending: bool,
        out: &mut Vec<rtp::Packet>,
    ) {
        let tick = self.tick;
        self.tick = self.tick.wrapping_add(1);
        if negotiated.payload_type == 0 {
            return;
        }
        if !sending {
            self.index = 0;
            return;
        }
        if std::mem::take(&mut self.keyframe_wanted) {
            self.index = self.clip.next_keyframe(0);
        }
        let n = self.clip.frames.len();
        let frame = &self.clip.frames[self.index % n];
        self.index = (self.index + 1) % n;
        let payloads = self
            .packetizer
            .payload(&frame.data, RTP_MTU - RTP_HEADER_LEN);
        let ts = self
            .ts0
            .wrapping_add(tick.wrapping_mul(self.clip.rtp_ticks_per_frame()));
        let last = payloads.len().saturating_sub(1);
        for (i, payload) in payloads.into_iter().enumerate() {
            out.push(crate::sender::rtp_packet(
                negotiated.payload_type,
                self.seq,
                ts,
                self.ssrc,
                i == last,
                payload,
            ));
            self.seq = self.seq.wrapping_add(1);
        }
    }
}

#[cfg(test)]
mod tests;
