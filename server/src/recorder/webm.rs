//! A small live WebM (Matroska) muxer for one VP8 or VP9 video track.
//!
//! Why Duet writes its own: webrtc-rs has no WebM writer (its `media` crate
//! writes IVF, Ogg and H.264/H.265 Annex B only), and the general-purpose Rust
//! muxers are built to seek back and patch sizes, durations and cues when a
//! file is finalised. A recording has to survive SIGKILL instead, which is
//! the simple "live" subset of Matroska: a Segment and Clusters of unknown
//! size, no SeekHead, Cues or Duration while it is written (see "Room for
//! an index" below for what comes later), and every SimpleBlock written
//! complete the moment its frame arrives. That subset is the few hundred
//! lines below, and its crash behaviour is easy to see and test: a file cut
//! anywhere is a valid live stream up to its last whole block (players
//! read unknown-size elements until the next top-level ID or end of file,
//! as they do for browser `MediaRecorder` output).
//!
//! Layout: EBML header (DocType "webm", version 4, read version 2), Segment
//! (unknown size), a Void, Info (TimestampScale 1 ms, MuxingApp/WritingApp
//! "Duet", a Void),
//! Tracks (track 1, video, `V_VP8`/`V_VP9`, PixelWidth/PixelHeight), then
//! Clusters (unknown size) of a Timestamp and SimpleBlocks. Nothing is
//! written before the first keyframe: the header is delayed until then so
//! the track carries the real frame size, read from that keyframe. Later
//! resolution changes stay in the bitstream only (decoders follow them, as
//! with `MediaRecorder` files). A cluster starts at each keyframe and at
//! least every second. Timestamps are milliseconds since the first frame,
//! from the 90 kHz RTP timestamps (wrapping-safe, accumulated in 64 bits).
//!
//! Room for an index: a live file has no Cues, so a player seeking far
//! into it must read every cluster on the way. The header therefore
//! carries two EBML Void elements that cost nothing to write now and that
//! [`super::webm_cues::add_cues`] overwrites once the file is finished:
//! [`SEEK_HEAD_ROOM`] bytes first in the Segment (for a SeekHead naming
//! Info, Tracks and the Cues appended at the end) and [`DURATION_ROOM`]
//! bytes at the end of Info (for a Duration). Players skip Voids, so the
//! file is the same live stream until then, and stays one if that never
//! happens.

use std::io::{self, Write};

use crate::recorder::frames::{VideoCodec, keyframe_size};

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const VIDEO: u32 = 0xE0;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
pub(super) const VOID: u32 = 0xEC;
/// Bytes reserved for the SeekHead: three Seeks with 8-byte positions take
/// 69, so this leaves room to spare.
pub(super) const SEEK_HEAD_ROOM: usize = 96;
/// Bytes reserved in Info: exactly a Duration (2-byte ID, 1-byte size, an
/// 8-byte float).
pub(super) const DURATION_ROOM: usize = 11;
/// An 8-byte size with all value bits set: "unknown size".
const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
/// A cluster never spans more than this, so block offsets fit an i16.
const CLUSTER_MS: u64 = 1000;
/// Frames above this are refused rather than written.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// A timestamp this far behind the last one, or this far ahead, means a new
/// source the caller did not [`WebmWriter::rebase`] for (90 kHz ticks).
const NEW_SOURCE_BEHIND: i32 = 10 * 90_000;
const NEW_SOURCE_AHEAD: i32 = 3600 * 90_000;
/// Where a frame from an unannounced new source goes: one 30 fps frame
/// after the last.
const NOMINAL_FRAME: u64 = 3000;
/// How far the timeline may run ahead of the wall clock (90 kHz ticks; see
/// [`WebmWriter::write_frame_timed`]).
const WALL_SLACK: u64 = 2 * 90_000;

#[derive(Debug, thiserror::Error)]
pub enum WebmError {
    #[error("writing WebM: {0}")]
    Io(#[from] io::Error),
}

pub type Result<T, E = WebmError> = std::result::Result<T, E>;

/// What [`WebmWriter::write_frame`] did with a frame. Only I/O fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Written,
    /// Before the first keyframe (with a readable frame size): dropped.
    WaitingForKeyframe,
    /// Timestamp before the last written frame: dropped.
    Late,
    /// Empty or larger than [`MAX_FRAME_BYTES`]: dropped.
    Invalid,
    /// The timeline is already further ahead of the wall clock than jitter
    /// explains: dropped.
    Ahead,
}

pub struct WebmWriter<W: Write> {
    out: W,
    codec: VideoCodec,
    track_uid: u64,
    /// Frame size from the first keyframe, once the header is written.
    size: Option<(u16, u16)>,
    last_ts: u32,
    /// 90 kHz ticks from the first frame to the last written one.
    last_pos: u64,
    cluster_ms: Option<u64>,
    frames: u64,
    keyframes: u64,
    /// Set by `rebase`: ticks to put before the next frame.
    rebase: Option<u64>,
    discontinuities: u64,
    scratch: Vec<u8>,
}

impl<W: Write> WebmWriter<W> {
    /// A writer with a random TrackUID. Writes nothing until the first
    /// keyframe.
    pub fn new(out: W, codec: VideoCodec) -> Self {
        Self::with_track_uid(out, codec, rand::random::<u64>().max(1))
    }

    pub fn with_track_uid(out: W, codec: VideoCodec, track_uid: u64) -> Self {
        WebmWriter {
            out,
            codec,
            track_uid: track_uid.max(1),
            size: None,
            last_ts: 0,
            last_pos: 0,
            cluster_ms: None,
            frames: 0,
            keyframes: 0,
            rebase: None,
            discontinuities: 0,
            scratch: Vec::with_capacity(64),
        }
    }

    /// Writes one encoded frame as a SimpleBlock, starting a cluster first
    /// when needed. `rtp_timestamp` is the frame's 90 kHz RTP timestamp.
    pub fn write_frame(
        &mut self,
        rtp_timestamp: u32,
        keyframe: bool,
        data: &[u8],
    ) -> Result<Written> {
        self.write_frame_timed(rtp_timestamp, keyframe, data, None)
    }

    /// [`WebmWriter::write_frame`], held to the wall clock: `elapsed` is
    /// the time since the track's first packet arrived. A timestamp further
    /// ahead than the time that passed (plus [`WALL_SLACK`]) is placed at
    /// that limit, and a frame arriving while the timeline is already past
    /// it is dropped, so a sender's timestamps cannot stretch the file's
    /// timeline beyond the real one.
    pub fn write_frame_timed(
        &mut self,
        rtp_timestamp: u32,
        keyframe: bool,
        data: &[u8],
        elapsed: Option<std::time::Duration>,
    ) -> Result<Written> {
        let limit = elapsed.map_or(u64::MAX, |e| {
            u64::try_from(e.as_micros() * 9 / 100)
                .unwrap_or(u64::MAX)
                .saturating_add(WALL_SLACK)
        });
        if self.size.is_some() && self.last_pos > limit {
            return Ok(Written::Ahead);
        }
        if data.is_empty() || data.len() > MAX_FRAME_BYTES {
            return Ok(Written::Invalid);
        }
        if self.size.is_none() {
            let size = match keyframe.then(|| keyframe_size(self.codec, data)) {
                Some(Some(size)) => size,
                _ => return Ok(Written::WaitingForKeyframe),
            };
            self.write_header(size)?;
            self.size = Some(size);
            self.last_ts = rtp_timestamp;
            self.rebase = None; // the first frame starts the timeline
        }
        let delta = rtp_timestamp.wrapping_sub(self.last_ts) as i32;
        let unseen_source = !(-NEW_SOURCE_BEHIND..=NEW_SOURCE_AHEAD).contains(&delta);
        let pos = match self
            .rebase
            .take()
            .or(unseen_source.then_some(NOMINAL_FRAME))
        {
            Some(gap) => {
                self.discontinuities += 1;
                self.last_pos + gap
            }
            None if delta < 0 => return Ok(Written::Late),
            None => self.last_pos + delta as u64,
        };
        let pos = pos.min(limit.max(self.last_pos));
        let ms = pos / 90;
        self.scratch.clear();
        let cluster_ms = match self.cluster_ms {
            Some(start) if !keyframe && ms - start < CLUSTER_MS => start,
            _ => {
                put_id(&mut self.scratch, CLUSTER);
                self.scratch.extend_from_slice(&UNKNOWN_SIZE);
                put_uint(&mut self.scratch, TIMESTAMP, ms);
                ms
            }
        };
        let relative = (ms - cluster_ms) as i16; // < CLUSTER_MS
        put_id(&mut self.scratch, SIMPLE_BLOCK);
        put_size(&mut self.scratch, data.len() as u64 + 4);
        self.scratch.push(0x81); // track number 1 as a vint
        self.scratch.extend_from_slice(&relative.to_be_bytes());
        self.scratch.push(if keyframe { 0x80 } else { 0 });
        self.out.write_all(&self.scratch)?;
        self.out.write_all(data)?;
        self.cluster_ms = Some(cluster_ms);
        self.last_ts = rtp_timestamp;
        self.last_pos = pos;
        self.frames += 1;
        self.keyframes += u64::from(keyframe);
        Ok(Written::Written)
    }

    /// The next frame comes from a new source (new SSRC, new random RTP
    /// timestamps): place it `gap` after the last one (the wall-clock time
    /// between them, at most an hour), then follow its timestamps. A frame
    /// more than 10 s behind or an hour ahead of the last is taken as a new
    /// source anyway, one nominal frame (33 ms) after the last.
    pub fn rebase(&mut self, gap: std::time::Duration) {
        let ticks = gap.as_micros() * 9 / 100;
        self.rebase = Some(ticks.min(NEW_SOURCE_AHEAD as u128) as u64);
    }

    /// Times the timestamp line restarted (see [`WebmWriter::rebase`]).
    pub fn discontinuities(&self) -> u64 {
        self.discontinuities
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn keyframes(&self) -> u64 {
        self.keyframes
    }

    /// Frame size written in the track header, once it is written.
    pub fn size(&self) -> Option<(u16, u16)> {
        self.size
    }

    /// Time from the first frame to the last written one.
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.last_pos * 100 / 9)
    }

    /// The underlying writer, e.g. to flush or `sync_data` it.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Returns the writer. A live file needs no trailer: the last cluster
    /// simply ends with the file.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn write_header(&mut self, (width, height): (u16, u16)) -> Result<()> {
        let mut ebml = Vec::with_capacity(40);
        put_uint(&mut ebml, 0x4286, 1); // EBMLVersion
        put_uint(&mut ebml, 0x42F7, 1); // EBMLReadVersion
        put_uint(&mut ebml, 0x42F2, 4); // EBMLMaxIDLength
        put_uint(&mut ebml, 0x42F3, 8); // EBMLMaxSizeLength
        put_bytes(&mut ebml, 0x4282, b"webm"); // DocType
        put_uint(&mut ebml, 0x4287, 4); // DocTypeVersion
        put_uint(&mut ebml, 0x4285, 2); // DocTypeReadVersion

        let mut info = Vec::with_capacity(48);
        put_uint(&mut info, 0x2A_D7B1, 1_000_000); // TimestampScale: 1 ms
        put_bytes(&mut info, 0x4D80, b"Duet"); // MuxingApp
        put_bytes(&mut info, 0x5741, b"Duet"); // WritingApp
        put_void(&mut info, DURATION_ROOM);

        let mut video = Vec::with_capacity(8);
        put_uint(&mut video, 0xB0, u64::from(width)); // PixelWidth
        put_uint(&mut video, 0xBA, u64::from(height)); // PixelHeight
        let mut entry = Vec::with_capacity(48);
        put_uint(&mut entry, 0xD7, 1); // TrackNumber
        put_uint(&mut entry, 0x73C5, self.track_uid); // TrackUID
        put_uint(&mut entry, 0x83, 1); // TrackType: video
        put_uint(&mut entry, 0x9C, 0); // FlagLacing
        let codec_id: &[u8] = match self.codec {
            VideoCodec::Vp8 => b"V_VP8",
            VideoCodec::Vp9 => b"V_VP9",
        };
        put_bytes(&mut entry, 0x86, codec_id); // CodecID
        put_bytes(&mut entry, VIDEO, &video);
        let mut tracks = Vec::with_capacity(64);
        put_bytes(&mut tracks, TRACK_ENTRY, &entry);

        let mut header = Vec::with_capacity(288);
        put_bytes(&mut header, EBML, &ebml);
        put_id(&mut header, SEGMENT);
        header.extend_from_slice(&UNKNOWN_SIZE);
        put_void(&mut header, SEEK_HEAD_ROOM);
        put_bytes(&mut header, INFO, &info);
        put_bytes(&mut header, TRACKS, &tracks);
        self.out.write_all(&header)?;
        Ok(())
    }
}

/// An element ID, which carries its own length marker: its big-endian
/// bytes without leading zeros.
pub(super) fn put_id(buf: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = (id.leading_zeros() / 8).min(3) as usize;
    buf.extend_from_slice(&bytes[skip..]);
}

/// A data size as the shortest EBML vint (all-ones values are reserved).
pub(super) fn put_size(buf: &mut Vec<u8>, size: u64) {
    let len = (1..=8u32)
        .find(|&n| size < (1u64 << (7 * n)) - 1)
        .unwrap_or(8);
    put_size_len(buf, size, len as usize);
}

/// A data size as a vint of `len` bytes (1..=8), which must hold it: a
/// longer one than needed is how an element is made to fill given room.
fn put_size_len(buf: &mut Vec<u8>, size: u64, len: usize) {
    let marked = size | 1u64 << (7 * len);
    buf.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

/// A Void element exactly `total` bytes long (at least 2): 1 byte of ID,
/// the shortest size vint that still adds up (a 1-byte size cannot say
/// 127, which is reserved, so 129 bytes take a 2-byte size), zeros.
pub(super) fn put_void(buf: &mut Vec<u8>, total: usize) {
    let Some((len, body)) = (1..=8usize).find_map(|len| {
        let body = total.checked_sub(1 + len)? as u64;
        (body < (1u64 << (7 * len)) - 1).then_some((len, body))
    }) else {
        return; // under 2 bytes: no Void fits, callers never ask
    };
    put_id(buf, VOID);
    put_size_len(buf, body, len);
    buf.resize(buf.len() + body as usize, 0);
}

pub(super) fn put_uint(buf: &mut Vec<u8>, id: u32, value: u64) {
    let len = (8 - value.leading_zeros() as usize / 8).max(1);
    put_id(buf, id);
    put_size(buf, len as u64);
    buf.extend_from_slice(&value.to_be_bytes()[8 - len..]);
}

pub(super) fn put_bytes(buf: &mut Vec<u8>, id: u32, body: &[u8]) {
    put_id(buf, id);
    put_size(buf, body.len() as u64);
    buf.extend_from_slice(body);
}

#[cfg(test)]
mod tests;
