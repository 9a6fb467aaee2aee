//! Transcription-ready audio: one 16 kHz mono 16-bit PCM WAV per speaker,
//! aligned on the session clock.
//!
//! [`transcode`] decodes one speaker's Opus packets with libopus straight
//! to 16 kHz mono and lays them out on the session timeline: silence before
//! the track starts, silence for DTX pauses and long losses, packet-loss
//! concealment for short losses, silence after the track ends, so both
//! speakers' files are exactly as long as the session and line up sample
//! for sample. The decoded audio also feeds the talk-time detector.

use std::io::{self, Seek, SeekFrom, Write};
use std::time::Duration;

use super::talk::{TalkDetector, TalkStats};

/// Output sample rate (Hz).
pub const SAMPLE_RATE: u32 = 16_000;
/// Size of the canonical 44-byte header; sample data starts here.
pub const HEADER_LEN: u64 = 44;
/// Longest gap (in output samples) filled by concealment: 60 ms.
const MAX_PLC: u64 = SAMPLE_RATE as u64 * 60 / 1000;
/// Concealment step: 20 ms, the usual WebRTC Opus frame.
const PLC_STEP: u64 = SAMPLE_RATE as u64 / 50;
/// libopus conceals in multiples of 2.5 ms.
const PLC_QUANTUM: u64 = SAMPLE_RATE as u64 / 400;
/// Opus RTP/Ogg positions count 48 kHz samples.
const POS_PER_SAMPLE: u64 = 48_000 / SAMPLE_RATE as u64;
/// Longest Opus packet: 120 ms.
const MAX_PACKET: usize = SAMPLE_RATE as usize * 120 / 1000;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("writing WAV: {0}")]
    Io(#[from] io::Error),
    #[error("creating the Opus decoder: {0}")]
    Decoder(#[from] opus::Error),
}

/// Streams 16 kHz mono s16le samples into a RIFF/WAVE file. Wrap files in
/// a `BufWriter`; [`WavWriter::finish`] patches the sizes in the header.
#[derive(Debug)]
pub struct WavWriter<W: Write + Seek> {
    out: W,
    samples: u64,
    bytes: Vec<u8>,
}

#[cfg(test)]
impl WavWriter<std::io::Cursor<Vec<u8>>> {
    /// A writer into memory for the tests: `finish()?.into_inner()`.
    pub fn in_memory() -> Self {
        Self::new(std::io::Cursor::new(Vec::new())).expect("writing to memory cannot fail")
    }
}

impl<W: Write + Seek> WavWriter<W> {
    /// Writes the header (sizes patched by `finish`) at the current position.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&header(0))?;
        Ok(Self {
            out,
            samples: 0,
            bytes: Vec::new(),
        })
    }

    /// Samples written so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Appends samples.
    pub fn write_samples(&mut self, samples: &[i16]) -> io::Result<()> {
        self.bytes.clear();
        self.bytes
            .extend(samples.iter().flat_map(|s| s.to_le_bytes()));
        self.out.write_all(&self.bytes)?;
        self.samples += samples.len() as u64;
        Ok(())
    }

    /// Appends `n` samples of silence.
    pub fn write_silence(&mut self, mut n: u64) -> io::Result<()> {
        const ZEROS: [u8; 8192] = [0; 8192];
        while n > 0 {
            let chunk = n.min(ZEROS.len() as u64 / 2);
            self.out.write_all(&ZEROS[..chunk as usize * 2])?;
            self.samples += chunk;
            n -= chunk;
        }
        Ok(())
    }

    /// Patches the RIFF and data sizes, flushes and hands the sink back.
    /// Sizes saturate at 4 GiB (about 37 hours of audio).
    pub fn finish(mut self) -> io::Result<W> {
        let end = self.out.stream_position()?;
        let start = end - HEADER_LEN - self.samples * 2;
        self.out.seek(SeekFrom::Start(start))?;
        self.out.write_all(&header(self.samples * 2))?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

pub(crate) fn header(data_bytes: u64) -> [u8; HEADER_LEN as usize] {
    let data = u32::try_from(data_bytes).unwrap_or(u32::MAX - 36);
    let mut h = [0u8; HEADER_LEN as usize];
    let fields: [&[u8]; 13] = [
        b"RIFF",
        &(data + 36).to_le_bytes(),
        b"WAVE",
        b"fmt ",
        &16u32.to_le_bytes(),
        &1u16.to_le_bytes(), // PCM
        &1u16.to_le_bytes(), // mono
        &SAMPLE_RATE.to_le_bytes(),
        &(SAMPLE_RATE * 2).to_le_bytes(), // byte rate
        &2u16.to_le_bytes(),              // block align
        &16u16.to_le_bytes(),             // bits per sample
        b"data",
        &data.to_le_bytes(),
    ];
    let mut at = 0;
    for f in fields {
        h[at..at + f.len()].copy_from_slice(f);
        at += f.len();
    }
    h
}

/// One Opus packet of a track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusInput {
    /// 48 kHz sample position where the packet begins, relative to the
    /// start of its track (from Ogg granule positions or RTP timestamps).
    pub pos_48k: u64,
    pub data: Vec<u8>,
}

/// Decodes one speaker's track into `out` (which should be empty), placed
/// on the session clock: `track_offset` of silence, then each packet at
/// `track_offset + pos_48k / 48000`, then silence up to `session_duration`.
/// The output is exactly `session_duration` long; audio past it is cut.
///
/// Gaps of up to 60 ms after a decoded packet are concealed by libopus,
/// longer ones (DTX, outages) are silence. Packets that start no later
/// than the previous one (duplicates, reordering) are skipped, a packet's
/// audio is cut where the next one starts, and corrupt packets count as
/// lost. Memory stays bounded: packets are decoded and written one by one.
/// Call [`WavWriter::finish`] afterwards.
pub fn transcode<W: Write + Seek>(
    packets: impl IntoIterator<Item = OpusInput>,
    track_offset: Duration,
    session_duration: Duration,
    out: &mut WavWriter<W>,
) -> Result<TalkStats, WavError> {
    let decoder = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?;
    let offset = to_samples(track_offset);
    let mut t = Timeline {
        decoder,
        out,
        talk: TalkDetector::default(),
        cursor: 0,
        total: to_samples(session_duration),
        buf: vec![0; MAX_PACKET],
    };
    t.silence(offset)?;
    let mut last_start: Option<u64> = None;
    let mut corrupt = 0u64;
    let mut packets = packets.into_iter().peekable();
    while let Some(packet) = packets.next() {
        let start = offset.saturating_add(packet.pos_48k / POS_PER_SAMPLE);
        if last_start.is_some_and(|last| start <= last) || start >= t.total {
            continue;
        }
        let gap = start.saturating_sub(t.cursor);
        if last_start.is_some() && gap <= MAX_PLC {
            t.conceal(gap)?;
        } else {
            t.silence(gap)?;
        }
        let decoded = match packet.data.is_empty() {
            true => None,
            false => t.decoder.decode(&packet.data, &mut t.buf, false).ok(),
        };
        let Some(n) = decoded else {
            // Lost: the next packet's gap conceals it.
            corrupt += 1;
            continue;
        };
        last_start = Some(start);
        let next = packets
            .peek()
            .map(|p| offset.saturating_add(p.pos_48k / POS_PER_SAMPLE))
            .filter(|&next| next > start);
        let end = next.map_or(n, |next| n.min((next - start) as usize));
        let skip = (t.cursor - start).min(end as u64) as usize;
        t.write(skip..end)?;
    }
    let rest = t.total - t.cursor;
    t.silence(rest)?;
    if corrupt > 0 {
        tracing::debug!(corrupt, "Opus packets could not be decoded");
    }
    Ok(t.talk.finish())
}

/// Whole output samples in a duration (rounded to the nearest).
fn to_samples(d: Duration) -> u64 {
    ((d.as_nanos() * u128::from(SAMPLE_RATE) + 500_000_000) / 1_000_000_000) as u64
}

/// The output of one transcode: everything written goes through here, so
/// the talk detector sees the same samples and nothing passes `total`.
struct Timeline<'a, W: Write + Seek> {
    decoder: opus::Decoder,
    out: &'a mut WavWriter<W>,
    talk: TalkDetector,
    /// Output samples written so far.
    cursor: u64,
    total: u64,
    buf: Vec<i16>,
}

impl<W: Write + Seek> Timeline<'_, W> {
    fn silence(&mut self, n: u64) -> io::Result<()> {
        let n = n.min(self.total - self.cursor);
        self.out.write_silence(n)?;
        self.talk.push_silence(n);
        self.cursor += n;
        Ok(())
    }

    /// Writes `self.buf[range]`, cut at `total`.
    fn write(&mut self, range: std::ops::Range<usize>) -> io::Result<()> {
        let room = (self.total - self.cursor).min(range.len() as u64) as usize;
        let samples = &self.buf[range.start..range.start + room];
        self.out.write_samples(samples)?;
        self.talk.push(samples);
        self.cursor += room as u64;
        Ok(())
    }

    /// Fills `n` samples with packet-loss concealment, in 20 ms steps.
    fn conceal(&mut self, mut n: u64) -> io::Result<()> {
        while n > 0 {
            let step = n.min(PLC_STEP).div_ceil(PLC_QUANTUM) * PLC_QUANTUM;
            let got = match self
                .decoder
                .decode(&[], &mut self.buf[..step as usize], false)
            {
                Ok(got) => (got as u64).min(n),
                Err(_) => 0,
            };
            if got == 0 {
                return self.silence(n);
            }
            self.write(0..got as usize)?;
            n -= got;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
