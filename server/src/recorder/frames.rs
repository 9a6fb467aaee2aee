//! Whole VP8/VP9 frames from RTP packets, for recording.
//!
//! [`FrameAssembler::push`] takes the packets of one stream (one SSRC) in
//! arrival order. The payload descriptors are stripped by the depacketizers
//! of `rtc::rtp::codec`; a frame is every packet with one RTP timestamp,
//! from its start packet (VP8: S bit and partition 0; VP9: B bit in spatial
//! layer 0) to its marker bit. A frame is emitted as soon as every sequence
//! number between those two has arrived, so reordering *within* a frame is
//! handled. Packets of a newer timestamp end the current frame: if it is
//! still incomplete it is dropped. A packet of an older timestamp is late
//! and ignored, unless it is over 10 s older: that is a new source (see
//! [`FrameAssembler::reset`]).
//!
//! After a loss (a dropped frame, or a sequence gap between two frames) the
//! assembler emits nothing until the next keyframe, since later frames
//! reference what was lost; [`FrameAssembler::needs_keyframe`] says when to
//! ask the sender for one (it is also true before the first keyframe).
//! Padding-only packets (empty payload) may be fed: one that directly
//! follows a finished frame keeps the sequence continuous; others are
//! ignored, so a padding packet that arrives reordered costs a keyframe.
//!
//! VP9 spatial layers of one picture are joined into a superframe with an
//! index (what WebM expects); the frame size of such a stream is that of
//! the first layer. Buffering is bounded per frame.

use bytes::Bytes;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::codec::vp9::Vp9Packet;
use rtc::rtp::packetizer::Depacketizer;

/// A frame larger than this is dropped.
pub const MAX_FRAME_BYTES: usize = 512 * 1024;
/// A frame of more packets than this is dropped.
pub const MAX_FRAME_PACKETS: usize = 300;
/// A timestamp this far behind is not reordering but a new source (new
/// SSRC, new random timestamps): the assembler starts over.
const NEW_SOURCE_BEHIND: i32 = 10 * 90_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    Vp9,
}

/// One assembled frame, borrowed from the assembler until the next push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// RTP timestamp (90 kHz).
    pub timestamp: u32,
    pub keyframe: bool,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssemblerStats {
    pub frames: u64,
    pub keyframes: u64,
    /// Frames lost, cut short, too large, or skipped while waiting for a
    /// keyframe.
    pub dropped: u64,
    /// Packets whose payload descriptor could not be parsed.
    pub malformed: u64,
    /// Packets of a frame already finished or dropped.
    pub late: u64,
}

struct Fragment {
    seq: u16,
    data: Bytes,
    /// First packet of the frame.
    start: bool,
    /// First packet of a VP9 layer frame (B bit).
    layer_start: bool,
    keyframe: bool,
    marker: bool,
}

pub struct FrameAssembler {
    codec: VideoCodec,
    fragments: Vec<Fragment>,
    bytes: usize,
    /// Timestamp of the frame being collected, if any.
    current: Option<u32>,
    /// Timestamp of the last frame emitted or dropped.
    last_ts: Option<u32>,
    /// Sequence number that should start the next frame.
    next_seq: Option<u16>,
    needs_keyframe: bool,
    buf: Vec<u8>,
    layer_sizes: Vec<usize>,
    stats: AssemblerStats,
}

impl FrameAssembler {
    pub fn new(codec: VideoCodec) -> Self {
        FrameAssembler {
            codec,
            fragments: Vec::new(),
            bytes: 0,
            current: None,
            last_ts: None,
            next_seq: None,
            needs_keyframe: true,
            buf: Vec::new(),
            layer_sizes: Vec::new(),
            stats: AssemblerStats::default(),
        }
    }

    pub fn codec(&self) -> VideoCodec {
        self.codec
    }

    /// True from the start and after a loss until a keyframe is emitted.
    pub fn needs_keyframe(&self) -> bool {
        self.needs_keyframe
    }

    pub fn stats(&self) -> AssemblerStats {
        self.stats
    }

    /// Starts over, as for a new source: forgets the frame in progress and
    /// the sequence, and waits for a keyframe. Call it when the track's
    /// SSRC changes; a timestamp 10 s behind the last does it anyway.
    pub fn reset(&mut self) {
        if self.current.is_some() {
            self.stats.dropped += 1;
        }
        self.current = None;
        self.last_ts = None;
        self.next_seq = None;
        self.needs_keyframe = true;
        self.fragments.clear();
        self.bytes = 0;
    }

    /// Convenience for [`FrameAssembler::push`] with a parsed RTP packet.
    pub fn push_packet(&mut self, packet: &rtc::rtp::Packet) -> Option<Frame<'_>> {
        let h = &packet.header;
        self.push(h.sequence_number, h.timestamp, h.marker, &packet.payload)
    }

    /// Feeds one packet; returns the frame it completes, if any.
    pub fn push(&mut self, seq: u16, ts: u32, marker: bool, payload: &Bytes) -> Option<Frame<'_>> {
        if payload.is_empty() {
            if self.current.is_none() && self.next_seq == Some(seq) {
                self.next_seq = Some(seq.wrapping_add(1));
            }
            return None;
        }
        if let Some(last) = self.current.or(self.last_ts) {
            let delta = ts.wrapping_sub(last) as i32;
            if delta < -NEW_SOURCE_BEHIND {
                self.reset();
            } else if delta < 0 || (delta == 0 && self.current.is_none()) {
                self.stats.late += 1;
                return None;
            } else if delta > 0 && self.current.is_some() {
                self.drop_frame(last);
            }
        }
        let Some(fragment) = self.depacketize(seq, marker, payload) else {
            self.stats.malformed += 1;
            match self.current {
                Some(cur) => self.drop_frame(cur),
                None => self.needs_keyframe = true,
            }
            return None;
        };
        if self.current.is_none() {
            self.current = Some(ts);
            self.fragments.clear();
            self.bytes = 0;
        }
        if self.fragments.iter().any(|f| f.seq == seq) {
            return None; // duplicate
        }
        if self.fragments.len() >= MAX_FRAME_PACKETS
            || self.bytes + fragment.data.len() > MAX_FRAME_BYTES
        {
            self.drop_frame(ts);
            return None;
        }
        self.bytes += fragment.data.len();
        self.fragments.push(fragment);
        self.try_complete(ts)
    }

    fn depacketize(&self, seq: u16, marker: bool, payload: &Bytes) -> Option<Fragment> {
        // A fresh depacketizer per packet: both keep fields from earlier
        // packets that the next descriptor does not overwrite.
        let (data, start, layer_start, keyframe) = match self.codec {
            VideoCodec::Vp8 => {
                let mut d = Vp8Packet::default();
                let data = match d.depacketize(payload) {
                    Ok(data) => data,
                    // It refuses payloads under 4 bytes; a 1-byte descriptor
                    // and a short tail of a frame is still valid.
                    Err(_) if payload.len() >= 2 && payload[0] & 0x80 == 0 => {
                        d.s = (payload[0] >> 4) & 1;
                        d.pid = payload[0] & 0x07;
                        payload.slice(1..)
                    }
                    Err(_) => return None,
                };
                let start = d.s == 1 && d.pid == 0;
                let keyframe = start && data.first().is_some_and(|b| b & 1 == 0);
                (data, start, start, keyframe)
            }
            VideoCodec::Vp9 => {
                let mut d = Vp9Packet::default();
                let data = d.depacketize(payload).ok()?;
                let start = d.b && d.sid == 0;
                let keyframe = start && !d.p && vp9_keyframe_size(&data).is_some();
                (data, start, d.b, keyframe)
            }
        };
        if data.is_empty() {
            return None;
        }
        Some(Fragment {
            seq,
            data,
            start,
            layer_start,
            keyframe,
            marker,
        })
    }

    fn drop_frame(&mut self, ts: u32) {
        self.stats.dropped += 1;
        self.needs_keyframe = true;
        self.finish(ts, None);
    }

    fn finish(&mut self, ts: u32, next_seq: Option<u16>) {
        self.current = None;
        self.last_ts = Some(ts);
        self.next_seq = next_seq;
        self.fragments.clear();
        self.bytes = 0;
    }

    fn try_complete(&mut self, ts: u32) -> Option<Frame<'_>> {
        let first = self.fragments.iter().find(|f| f.start)?;
        let last = self.fragments.iter().find(|f| f.marker)?;
        let (first_seq, last_seq, keyframe) = (first.seq, last.seq, first.keyframe);
        let span = usize::from(last_seq.wrapping_sub(first_seq)) + 1;
        if self.fragments.len() < span {
            return None; // still waiting for packets in between
        }
        let in_order = self
            .fragments
            .iter()
            .all(|f| usize::from(f.seq.wrapping_sub(first_seq)) < span);
        let continuous = !self.needs_keyframe && self.next_seq == Some(first_seq);
        if !in_order || span > MAX_FRAME_PACKETS {
            self.drop_frame(ts);
            return None;
        }
        if !keyframe && !continuous {
            // A whole frame went missing before this one, or we are waiting.
            self.drop_frame(ts);
            return None;
        }
        self.fragments
            .sort_unstable_by_key(|f| f.seq.wrapping_sub(first_seq));
        self.buf.clear();
        self.layer_sizes.clear();
        for f in &self.fragments {
            if f.layer_start || self.layer_sizes.is_empty() {
                self.layer_sizes.push(0);
            }
            if let Some(size) = self.layer_sizes.last_mut() {
                *size += f.data.len();
            }
            self.buf.extend_from_slice(&f.data);
        }
        if self.codec == VideoCodec::Vp9 && self.layer_sizes.len() > 1 {
            append_superframe_index(&mut self.buf, &self.layer_sizes);
        }
        self.finish(ts, Some(last_seq.wrapping_add(1)));
        self.needs_keyframe = false;
        self.stats.frames += 1;
        self.stats.keyframes += u64::from(keyframe);
        Some(Frame {
            timestamp: ts,
            keyframe,
            data: &self.buf,
        })
    }
}

/// VP9 superframe index (VP9 bitstream spec, Annex B): marker, sizes, marker.
fn append_superframe_index(buf: &mut Vec<u8>, sizes: &[usize]) {
    let Some(&max) = sizes.iter().max() else {
        return;
    };
    let mag = (1..=4usize)
        .find(|&m| m == 4 || max < 1 << (8 * m))
        .unwrap_or(4);
    let count = sizes.len().min(8);
    let marker = 0xC0 | (((mag - 1) as u8) << 3) | (count - 1) as u8;
    buf.push(marker);
    for &size in &sizes[..count] {
        buf.extend_from_slice(&(size as u32).to_le_bytes()[..mag]);
    }
    buf.push(marker);
}

/// Width and height of a keyframe, or `None` if `frame` is not one.
pub fn keyframe_size(codec: VideoCodec, frame: &[u8]) -> Option<(u16, u16)> {
    match codec {
        VideoCodec::Vp8 => vp8_keyframe_size(frame),
        VideoCodec::Vp9 => vp9_keyframe_size(frame),
    }
}

/// VP8 (RFC 6386 §9.1): a 3-byte frame tag whose bit 0 is 0 for a keyframe,
/// start code 9d 01 2a, then 14-bit width and height (little-endian).
pub fn vp8_keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    let header = frame.get(..10)?;
    if header[0] & 1 != 0 || header[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([header[6], header[7]]) & 0x3fff;
    let height = u16::from_le_bytes([header[8], header[9]]) & 0x3fff;
    Some((width, height))
}

/// VP9: the uncompressed header of a keyframe (VP9 bitstream spec §6.2).
pub fn vp9_keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    let mut r = Bits {
        data: frame,
        pos: 0,
    };
    if r.read(2)? != 2 {
        return None; // frame_marker
    }
    let profile = r.read(1)? | r.read(1)? << 1;
    if profile == 3 {
        r.read(1)?;
    }
    if r.read(1)? == 1 || r.read(1)? != 0 {
        return None; // show_existing_frame, or frame_type not KEY_FRAME
    }
    r.read(2)?; // show_frame, error_resilient_mode
    if r.read(24)? != 0x49_83_42 {
        return None;
    }
    if profile >= 2 {
        r.read(1)?; // ten_or_twelve_bit
    }
    let color_space = r.read(3)?;
    if color_space != 7 {
        r.read(1)?; // color_range
        if profile == 1 || profile == 3 {
            r.read(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if profile == 1 || profile == 3 {
        r.read(1)?;
    }
    let width = r.read(16)? + 1;
    let height = r.read(16)? + 1;
    Some((u16::try_from(width).ok()?, u16::try_from(height).ok()?))
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = self.data.get(self.pos / 8)?;
            v = v << 1 | u32::from(byte >> (7 - self.pos % 8) & 1);
            self.pos += 1;
        }
        Some(v)
    }
}

#[cfg(test)]
pub(crate) mod tests;
