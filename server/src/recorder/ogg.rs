//! Opus in Ogg (RFC 7845), written live: one page per Opus packet.
//!
//! Every page is complete (header, CRC, body) as soon as [`OggOpusWriter::push`]
//! returns, so a file cut anywhere plays up to its last whole page once the
//! caller has flushed. Positions are 48 kHz samples (Opus RTP always ticks
//! at 48 kHz) counted from the first packet's RTP timestamp; timestamps are
//! compared with wrapping 32-bit arithmetic and accumulated in 64 bits, so
//! a session can outlast the RTP timestamp wrap.
//!
//! Gaps (DTX, loss, a muted sender) keep their length on the timeline, but
//! not as a jump in the granule position: RFC 7845 §4 requires each page's
//! granule to be the previous one plus the samples of its packets ("there
//! cannot be any gaps"), and opusinfo flags every page after a jump while
//! ffmpeg places the jump one packet late. Instead the gap is filled: its
//! first 120 ms as §4.1 asks, with packets of zero-length frames that make
//! the decoder conceal (PLC), so a lost packet or two sound natural; the
//! rest with encoded CELT silence frames, because libopus' PLC does not
//! fade out (after a tone it stayed about 10 dB below it for a whole
//! second) while a long gap is silence: DTX, a paused track, an outage.
//! Fill costs about 2 bytes per 120 ms of concealment and
//! 14 per 120 ms of silence, packed many to a page; [`is_gap_fill`] and
//! [`is_concealment`] recognise them when reading back.
//!
//! `rtc::media`'s `OggWriter` is not used: it subtracts RTP timestamps
//! unchecked (a reordered packet or the 32-bit wrap overflows), jumps the
//! granule over gaps, and ends the stream with a copy of the last packet.

use std::io::{self, Write};

#[path = "ogg_fill.rs"]
mod fill;
pub use fill::{is_concealment, is_gap_fill};

/// Decoder delay announced in OpusHead: libopus' 6.5 ms look-ahead at 48 kHz.
pub const PRE_SKIP: u16 = 312;
/// Opus always runs at 48 kHz on the wire and in granule positions.
pub const SAMPLE_RATE: u32 = 48_000;
/// Largest packet that fits one page (255 lacing values, the last < 255).
pub const MAX_PACKET: usize = 255 * 255 - 1;

const HEADER_TYPE_BOS: u8 = 0x02;
const HEADER_TYPE_EOS: u8 = 0x04;
/// Gaps are filled in whole 2.5 ms steps; a smaller remainder is dropped.
const GAP_QUANTUM: u64 = 120;
/// A timestamp this far behind the last one is not reordering, and a jump
/// this far ahead not a pause: both mean a new source (new random RTP
/// timestamp base) the caller did not [`OggOpusWriter::rebase`] for.
const NEW_SOURCE_BEHIND: i32 = 10 * 48_000;
const NEW_SOURCE_AHEAD: i32 = 3600 * 48_000;
/// How far the timeline may run ahead of the wall clock (see
/// [`OggOpusWriter::push_timed`]): network jitter and a first packet that
/// came late, never a sender's claim.
const WALL_SLACK: u64 = 2 * 48_000;

#[derive(Debug, thiserror::Error)]
pub enum OggError {
    #[error("writing Ogg page: {0}")]
    Io(#[from] io::Error),
}

pub type Result<T, E = OggError> = std::result::Result<T, E>;

/// What [`OggOpusWriter::push`] did with a packet. Only I/O fails; bad
/// input from the network is dropped and reported here instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Written,
    /// Empty, larger than a page, or with an invalid TOC byte.
    Invalid,
    /// Not after the last written packet (reordered or duplicated).
    Late,
    /// The timeline is already further ahead of the wall clock than any
    /// jitter explains: the sender claims more time than has passed.
    Ahead,
}

/// Writes an Ogg Opus stream; see the module docs. When the track's source
/// changes (a new SSRC, whose timestamps start from a new random base),
/// call [`OggOpusWriter::rebase`].
pub struct OggOpusWriter<W: Write> {
    out: W,
    serial: u32,
    page_seq: u32,
    /// TOC byte of the last audio packet; `None` before the first.
    last_toc: Option<u8>,
    last_ts: u32,
    /// Position of the last packet's start, from its RTP timestamp.
    last_pos: u64,
    /// Granule position: samples written so far, gap fill included.
    granule: u64,
    packets: u64,
    filled: u64,
    /// Set by `rebase`: the gap to put before the next packet.
    rebase: Option<u64>,
    discontinuities: u64,
    /// Packets placed earlier than their timestamp said (wall-clock cap).
    clamped: u64,
}

impl<W: Write> OggOpusWriter<W> {
    /// Starts a stream with a random serial number and writes the two
    /// header pages (OpusHead: 2 channels, pre-skip 312, 48 kHz; OpusTags:
    /// vendor "Duet").
    pub fn new(out: W) -> Result<Self> {
        Self::with_serial(out, rand::random())
    }

    pub fn with_serial(out: W, serial: u32) -> Result<Self> {
        let mut w = OggOpusWriter {
            out,
            serial,
            page_seq: 0,
            last_toc: None,
            last_ts: 0,
            last_pos: 0,
            granule: 0,
            packets: 0,
            filled: 0,
            rebase: None,
            discontinuities: 0,
            clamped: 0,
        };
        let mut head = [0u8; 19];
        head[..8].copy_from_slice(b"OpusHead");
        head[8] = 1; // version
        head[9] = 2; // channels
        head[10..12].copy_from_slice(&PRE_SKIP.to_le_bytes());
        head[12..16].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
        // output gain 0, channel mapping family 0: already zero.
        w.write_packet_page(HEADER_TYPE_BOS, 0, &head)?;
        let mut tags = [0u8; 8 + 4 + 4 + 4];
        tags[..8].copy_from_slice(b"OpusTags");
        tags[8..12].copy_from_slice(&4u32.to_le_bytes());
        tags[12..16].copy_from_slice(b"Duet");
        // user comment list length 0: already zero.
        w.write_packet_page(0, 0, &tags)?;
        Ok(w)
    }

    /// Writes one Opus packet as one page. `rtp_timestamp` is the packet's
    /// RTP timestamp (48 kHz). A forward jump (DTX, loss) is first filled
    /// (see the module docs); a packet not after the last one is dropped.
    /// A jump of over an hour ahead or 10 s back is taken as a new source
    /// and the packet placed right after the last one.
    pub fn push(&mut self, rtp_timestamp: u32, payload: &[u8]) -> Result<Pushed> {
        self.push_timed(rtp_timestamp, payload, None)
    }

    /// [`OggOpusWriter::push`], held to the wall clock: `elapsed` is the
    /// time since the track's first packet arrived. The RTP timestamp is
    /// the sender's claim, so a forward jump is filled only up to the real
    /// time that passed (plus [`WALL_SLACK`]) and the timeline follows on
    /// from there; a packet arriving while the timeline is already that
    /// far ahead is dropped ([`Pushed::Ahead`]). Without this, one 50-byte
    /// packet jumping an hour ahead made the writer fill an hour of silence
    /// (about 0.5 MB), fifty times a second.
    pub fn push_timed(
        &mut self,
        rtp_timestamp: u32,
        payload: &[u8],
        elapsed: Option<std::time::Duration>,
    ) -> Result<Pushed> {
        let limit = elapsed.map_or(u64::MAX, |e| {
            let samples = e.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000;
            u64::try_from(samples)
                .unwrap_or(u64::MAX)
                .saturating_add(WALL_SLACK)
        });
        if self.last_toc.is_some() && self.granule > limit {
            return Ok(Pushed::Ahead);
        }
        let Some(samples) = opus_samples(payload) else {
            return Ok(Pushed::Invalid);
        };
        if payload.len() > MAX_PACKET {
            return Ok(Pushed::Invalid);
        }
        let mut pos = 0;
        if let Some(toc) = self.last_toc {
            let delta = rtp_timestamp.wrapping_sub(self.last_ts) as i32;
            let unseen_source = !(-NEW_SOURCE_BEHIND..=NEW_SOURCE_AHEAD).contains(&delta);
            pos = match self.rebase.take().or(unseen_source.then_some(0)) {
                Some(gap) => {
                    self.discontinuities += 1;
                    self.granule + gap
                }
                None if delta <= 0 => return Ok(Pushed::Late),
                None => self.last_pos + delta as u64,
            };
            if pos > limit {
                self.clamped += 1;
                pos = limit;
            }
            let gap = pos.saturating_sub(self.granule);
            self.fill_gap(toc, gap - gap % GAP_QUANTUM)?;
        }
        // An overlapping packet (starting before the last one ended) is
        // written right after it; the next gap brings the timeline back.
        let granule = self.granule + u64::from(samples);
        self.write_packet_page(0, granule, payload)?;
        self.last_toc = payload.first().copied();
        self.last_ts = rtp_timestamp;
        self.last_pos = pos;
        self.granule = granule;
        self.packets += 1;
        Ok(Pushed::Written)
    }

    /// Audio packets written so far (not counting gap fill).
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Samples of gaps filled (with concealment or silence) so far.
    pub fn filled_samples(&self) -> u64 {
        self.filled
    }

    /// Packets whose timestamp ran ahead of the wall clock and were
    /// placed earlier (see [`OggOpusWriter::push_timed`]).
    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// Times the timestamp line restarted ([`OggOpusWriter::rebase`] or a
    /// jump taken as a new source).
    pub fn discontinuities(&self) -> u64 {
        self.discontinuities
    }

    /// The next packet comes from a new source: place it `gap` (the
    /// wall-clock time between them, at most an hour) after the end of the
    /// last one whatever its RTP timestamp, and follow its timestamps from
    /// there.
    pub fn rebase(&mut self, gap: std::time::Duration) {
        let samples = gap.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000;
        self.rebase = Some(samples.min(NEW_SOURCE_AHEAD as u128) as u64);
    }

    /// Granule position of the last page (48 kHz samples, pre-skip included).
    pub fn granule(&self) -> u64 {
        self.granule
    }

    /// Playable length so far: granule minus pre-skip.
    pub fn duration(&self) -> std::time::Duration {
        samples_to_duration(self.granule.saturating_sub(u64::from(PRE_SKIP)))
    }

    /// The underlying writer, e.g. to flush or `sync_data` it.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the end-of-stream page and returns the writer, unflushed.
    ///
    /// The page holds no packet at all (zero lacing values) and so has
    /// granule position -1 (RFC 3533: no packet ends on it); the stream's
    /// length stays that of the last audio page. It is not an empty packet,
    /// which RFC 7845 §3 makes invalid (ffmpeg: "Invalid data", opusinfo:
    /// "Invalid zero byte packet"), nor a copy of the last audio packet,
    /// which would play twice.
    pub fn finish(mut self) -> Result<W> {
        self.write_page(HEADER_TYPE_EOS, u64::MAX, &[], &[])?;
        Ok(self.out)
    }

    fn write_packet_page(&mut self, header_type: u8, granule: u64, packet: &[u8]) -> Result<()> {
        let mut lacing = [255u8; 255];
        let segments = packet.len() / 255 + 1;
        lacing[segments - 1] = (packet.len() % 255) as u8;
        self.write_page(header_type, granule, &lacing[..segments], packet)
    }

    fn write_page(
        &mut self,
        header_type: u8,
        granule: u64,
        lacing: &[u8],
        body: &[u8],
    ) -> Result<()> {
        let mut header = [0u8; 27 + 255];
        header[..4].copy_from_slice(b"OggS");
        header[5] = header_type;
        header[6..14].copy_from_slice(&granule.to_le_bytes());
        header[14..18].copy_from_slice(&self.serial.to_le_bytes());
        header[18..22].copy_from_slice(&self.page_seq.to_le_bytes());
        header[26] = lacing.len() as u8;
        header[27..27 + lacing.len()].copy_from_slice(lacing);
        let header = &mut header[..27 + lacing.len()];
        let crc = crc32_update(crc32_update(0, header), body);
        header[22..26].copy_from_slice(&crc.to_le_bytes());
        self.out.write_all(header)?;
        self.out.write_all(body)?;
        self.page_seq = self.page_seq.wrapping_add(1);
        Ok(())
    }
}

/// Samples per frame of a TOC configuration (RFC 6716 §3.1).
fn frame_samples(config: u8) -> u32 {
    match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config & 3)],
        12..=15 => [480, 960][usize::from(config & 1)],
        _ => [120, 240, 480, 960][usize::from(config & 3)],
    }
}

/// 48 kHz samples in an Opus packet, from its TOC byte (RFC 6716 §3.1);
/// `None` if the packet is empty or malformed or longer than 120 ms.
pub fn opus_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let per_frame = frame_samples(toc >> 3);
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    let samples = per_frame * frames;
    (frames > 0 && samples <= 5760).then_some(samples)
}

pub fn samples_to_duration(samples: u64) -> std::time::Duration {
    std::time::Duration::from_nanos(
        (u128::from(samples) * 1_000_000_000 / u128::from(SAMPLE_RATE)) as u64,
    )
}

/// The Ogg CRC-32: polynomial 0x04C11DB7, no reflection, zero initial value
/// and no final XOR.
pub fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc = (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ b)];
    }
    crc
}

static CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04C1_1DB7
            } else {
                r << 1
            };
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests;
