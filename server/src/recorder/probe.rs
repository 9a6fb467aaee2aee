//! Reading back recordings: durations after a crash, packets for
//! transcoding, and checks in tests.
//!
//! Both readers stop cleanly at the first incomplete or unreadable piece
//! (a truncated Ogg page or one with a bad CRC; a truncated EBML element)
//! and report it in `truncated` rather than failing: that tail is exactly
//! what a crash leaves. Only real I/O errors and files that do not start
//! as Ogg Opus / EBML are errors; an Ogg file cut inside its two header
//! pages (or empty) is [`ProbeError::NoHeaders`] for [`OpusPackets`] and
//! zero packets for [`ogg_duration`], and an empty WebM file (nothing is
//! written before the first keyframe) is zero frames.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::time::Duration;

#[path = "probe_webm.rs"]
mod webm;
pub use webm::{WebmStats, webm_duration, webm_duration_file};

use crate::recorder::ogg::{crc32_update, is_gap_fill, opus_samples, samples_to_duration};

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("reading recording: {0}")]
    Io(#[from] io::Error),
    #[error("not an Ogg Opus stream (no OpusHead/OpusTags)")]
    NotOggOpus,
    #[error("the Ogg Opus stream ends before its header pages do")]
    NoHeaders,
    #[error("not an EBML (WebM) file")]
    NotWebm,
}

pub type Result<T, E = ProbeError> = std::result::Result<T, E>;

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// From OpusHead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpusHead {
    pub channels: u8,
    pub pre_skip: u16,
    pub input_rate: u32,
}

/// One Opus audio packet and the granule position (48 kHz samples,
/// pre-skip included) at its end; its audio spans
/// `granule_end - samples .. granule_end`, shifted by `-pre_skip` for
/// playback. Duet's writer leaves no gaps between packets: it fills them
/// with packets that [`is_gap_fill`] recognises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusPacket {
    pub granule_end: u64,
    pub data: Vec<u8>,
}

/// Iterates over the audio packets of an Ogg Opus stream (the first
/// logical stream; header packets and empty packets are skipped). Packets
/// are yielded page by page; for a page holding several, the earlier
/// packets' granule positions are derived from the later ones' TOC
/// durations. Ends at the end of input or at the first bad page.
pub struct OpusPackets<R: Read> {
    input: BufReader<R>,
    serial: Option<u32>,
    head: OpusHead,
    body: Vec<u8>,
    partial: Vec<u8>,
    ready: VecDeque<OpusPacket>,
    done: bool,
    truncated: bool,
    /// A whole page header that is not Ogg.
    not_ogg: bool,
    eos: bool,
}

impl<R: Read> OpusPackets<R> {
    /// Reads the OpusHead and OpusTags packets.
    pub fn new(input: R) -> Result<Self> {
        let mut p = OpusPackets {
            input: BufReader::new(input),
            serial: None,
            head: OpusHead::default(),
            body: Vec::new(),
            partial: Vec::new(),
            ready: VecDeque::new(),
            done: false,
            truncated: false,
            not_ogg: false,
            eos: false,
        };
        let incomplete = |p: &Self| match p.not_ogg {
            true => ProbeError::NotOggOpus,
            false => ProbeError::NoHeaders,
        };
        let head = p.next_raw()?.ok_or_else(|| incomplete(&p))?;
        let d = &head.data;
        if d.len() < 19 || &d[..8] != b"OpusHead" {
            return Err(ProbeError::NotOggOpus);
        }
        p.head = OpusHead {
            channels: d[9],
            pre_skip: u16::from_le_bytes([d[10], d[11]]),
            input_rate: u32::from_le_bytes([d[12], d[13], d[14], d[15]]),
        };
        match p.next_raw()? {
            Some(tags) if tags.data.starts_with(b"OpusTags") => Ok(p),
            Some(_) => Err(ProbeError::NotOggOpus),
            None => Err(incomplete(&p)),
        }
    }

    pub fn head(&self) -> OpusHead {
        self.head
    }

    /// Whether reading stopped at an incomplete or corrupt page.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Whether an end-of-stream page was read (the writer finished).
    pub fn eos(&self) -> bool {
        self.eos
    }

    fn next_raw(&mut self) -> Result<Option<OpusPacket>> {
        while self.ready.is_empty() && !self.done {
            self.read_page()?;
        }
        Ok(self.ready.pop_front())
    }

    /// Reads one page, queueing the packets it completes.
    fn read_page(&mut self) -> Result<()> {
        let mut header = [0u8; 27 + 255];
        let n = read_full(&mut self.input, &mut header[..27])?;
        if n < 27 || &header[..4] != b"OggS" || header[4] != 0 {
            self.truncated = n > 0;
            self.not_ogg = n == 27;
            self.done = true;
            return Ok(());
        }
        let segments = usize::from(header[26]);
        let lacing_end = 27 + segments;
        let n = read_full(&mut self.input, &mut header[27..lacing_end])?;
        let body_len: usize = header[27..lacing_end].iter().map(|&l| usize::from(l)).sum();
        self.body.resize(body_len, 0);
        let m = read_full(&mut self.input, &mut self.body)?;
        let stored_crc = u32::from_le_bytes([header[22], header[23], header[24], header[25]]);
        header[22..26].fill(0);
        if n < segments
            || m < body_len
            || crc32_update(crc32_update(0, &header[..lacing_end]), &self.body) != stored_crc
        {
            self.truncated = true;
            self.done = true;
            return Ok(());
        }
        let serial = u32::from_le_bytes([header[14], header[15], header[16], header[17]]);
        if *self.serial.get_or_insert(serial) != serial {
            return Ok(()); // another logical stream
        }
        if header[5] & 0x01 == 0 {
            self.partial.clear(); // not a continuation: drop any leftover
        }
        let granule = header[6..14]
            .iter()
            .rev()
            .fold(0, |v, &b| v << 8 | u64::from(b));
        let first_new = self.ready.len();
        let mut offset = 0;
        for &lace in &header[27..lacing_end] {
            let end = offset + usize::from(lace);
            self.partial.extend_from_slice(&self.body[offset..end]);
            offset = end;
            if lace < 255 {
                let data = std::mem::take(&mut self.partial);
                self.ready.push_back(OpusPacket {
                    granule_end: granule,
                    data,
                });
            }
        }
        // The page granule belongs to its last completed packet.
        let mut end = granule;
        for packet in self.ready.iter_mut().skip(first_new).rev() {
            packet.granule_end = end;
            let samples = opus_samples(&packet.data).unwrap_or(0);
            end = end.saturating_sub(u64::from(samples));
        }
        if header[5] & 0x04 != 0 {
            self.eos = true;
            self.done = true;
        }
        Ok(())
    }
}

impl<R: Read> Iterator for OpusPackets<R> {
    type Item = Result<OpusPacket>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_raw() {
                Ok(Some(p)) if p.data.is_empty() => continue,
                Ok(p) => return p.map(Ok),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OggStats {
    pub head: OpusHead,
    /// Audio packets, not counting headers or gap fill.
    pub packets: u64,
    /// Packets the writer filled gaps with ([`is_gap_fill`]).
    pub fill_packets: u64,
    /// Granule position at the end of the first and last audio packet.
    pub first_granule: u64,
    pub last_granule: u64,
    /// Playable length: last granule minus the stream's start (the first
    /// packet's start, 0 for Duet's files) minus pre-skip, at 48 kHz.
    pub duration: Duration,
    pub eos: bool,
    pub truncated: bool,
}

/// Statistics of an Ogg Opus stream, up to its last complete page. A
/// stream cut before its headers end has no packets and is `truncated`.
pub fn ogg_duration(input: impl Read) -> Result<OggStats> {
    let mut packets = match OpusPackets::new(input) {
        Ok(packets) => packets,
        Err(ProbeError::NoHeaders) => {
            return Ok(OggStats {
                truncated: true,
                ..OggStats::default()
            });
        }
        Err(e) => return Err(e),
    };
    let mut stats = OggStats {
        head: packets.head(),
        ..OggStats::default()
    };
    let mut start = None;
    for packet in packets.by_ref() {
        let packet = packet?;
        if start.is_none() {
            stats.first_granule = packet.granule_end;
            let samples = opus_samples(&packet.data).unwrap_or(0);
            start = Some(packet.granule_end.saturating_sub(u64::from(samples)));
        }
        match is_gap_fill(&packet.data) {
            true => stats.fill_packets += 1,
            false => stats.packets += 1,
        }
        stats.last_granule = stats.last_granule.max(packet.granule_end);
    }
    if let Some(start) = start {
        let skip = start.saturating_add(u64::from(stats.head.pre_skip));
        stats.duration = samples_to_duration(stats.last_granule.saturating_sub(skip));
    }
    stats.eos = packets.eos();
    stats.truncated = packets.truncated();
    Ok(stats)
}

pub fn ogg_duration_file(path: &Path) -> Result<OggStats> {
    ogg_duration(File::open(path)?)
}

#[cfg(test)]
mod tests;
