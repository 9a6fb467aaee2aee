//! Reading back WebM files (see the `probe` module docs).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use super::{ProbeError, Result, read_full};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebmStats {
    /// CodecID, PixelWidth and PixelHeight of the (last) track entry.
    pub codec: Option<String>,
    pub width: u64,
    pub height: u64,
    /// Blocks read (SimpleBlock and Block), of any track.
    pub frames: u64,
    /// SimpleBlocks with the keyframe flag.
    pub keyframes: u64,
    /// Time from the earliest to the latest block.
    pub span: Duration,
    /// `span` plus one mean frame interval, for the last frame's display
    /// time: what a player counts as the length.
    pub duration: Duration,
    pub truncated: bool,
}

/// Masters read as part of the flat walk: Segment, Cluster, Info, Tracks,
/// TrackEntry, Video, BlockGroup.
const ENTER: [u32; 7] = [
    0x1853_8067,
    0x1F43_B675,
    0x1549_A966,
    0x1654_AE6B,
    0xAE,
    0xE0,
    0xA0,
];

/// Walks a WebM file as a flat list of elements, descending into the
/// masters that matter (so unknown-size Segments and Clusters just end
/// where the next element or the file begins), reading block timestamps.
pub fn webm_duration(input: impl Read) -> Result<WebmStats> {
    let mut r = BufReader::new(input);
    let mut stats = WebmStats::default();
    // i128: any u64 cluster timestamp plus any i16 offset, no overflow
    let (mut scale, mut cluster_ts) = (1_000_000u64, 0i128);
    let (mut min_ts, mut max_ts) = (i128::MAX, i128::MIN);
    let mut first = true;
    while let Some((id, size)) = read_element_header(&mut r, &mut stats.truncated)? {
        if first && id != 0x1A45_DFA3 {
            return Err(ProbeError::NotWebm);
        }
        first = false;
        if ENTER.contains(&id) {
            continue;
        }
        let Some(size) = size else {
            stats.truncated = true; // unknown size we cannot skip
            break;
        };
        let mut body = [0u8; 64];
        let want = match id {
            0xE7 | 0x2A_D7B1 | 0xB0 | 0xBA | 0x86 if size <= 64 => size as usize,
            0xA3 | 0xA1 if size >= 4 => 4,
            _ => 0,
        };
        if read_full(&mut r, &mut body[..want])? < want {
            stats.truncated = true;
            break;
        }
        let rest = size - want as u64;
        if io::copy(&mut r.by_ref().take(rest), &mut io::sink())? < rest {
            stats.truncated = true;
            break;
        }
        let uint = big_endian(&body[..want.min(8)]);
        match id {
            0xE7 => cluster_ts = i128::from(uint),
            0x2A_D7B1 => scale = uint,
            0xB0 => stats.width = uint,
            0xBA => stats.height = uint,
            0x86 => stats.codec = Some(String::from_utf8_lossy(&body[..want]).into_owned()),
            0xA3 | 0xA1 if want == 4 && body[0] & 0x80 != 0 => {
                // one-byte track number, i16 relative timestamp, flags
                let ts = cluster_ts + i128::from(i16::from_be_bytes([body[1], body[2]]));
                min_ts = min_ts.min(ts);
                max_ts = max_ts.max(ts);
                stats.frames += 1;
                stats.keyframes += u64::from(id == 0xA3 && body[3] & 0x80 != 0);
            }
            _ => {}
        }
    }
    if stats.frames > 0 {
        let nanos = |n: u128| Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX));
        let span_ns = ((max_ts - min_ts) as u128).saturating_mul(u128::from(scale));
        let interval = span_ns / u128::from(stats.frames.saturating_sub(1).max(1));
        stats.span = nanos(span_ns);
        stats.duration = nanos(span_ns.saturating_add(interval));
    }
    Ok(stats)
}

pub fn webm_duration_file(path: &Path) -> Result<WebmStats> {
    webm_duration(File::open(path)?)
}

/// Reads an element ID and data size (`None` = unknown). Returns `None`
/// at the end of input, setting `truncated` if it ended mid-header or the
/// bytes are not a valid header.
fn read_element_header(
    r: &mut impl Read,
    truncated: &mut bool,
) -> Result<Option<(u32, Option<u64>)>> {
    let mut id_buf = [0u8; 4];
    let n = read_full(r, &mut id_buf[..1])?;
    let id_len = id_buf[0].leading_zeros() as usize + 1;
    if n == 0 || id_len > 4 {
        *truncated |= n > 0;
        return Ok(None);
    }
    let mut size_buf = [0u8; 8];
    if read_full(r, &mut id_buf[1..id_len])? < id_len - 1 || read_full(r, &mut size_buf[..1])? < 1 {
        *truncated = true;
        return Ok(None);
    }
    let size_len = size_buf[0].leading_zeros() as usize + 1;
    if size_len > 8 || read_full(r, &mut size_buf[1..size_len])? < size_len - 1 {
        *truncated = true;
        return Ok(None);
    }
    let id = big_endian(&id_buf[..id_len]) as u32;
    let all_ones = (1u64 << (7 * size_len)) - 1;
    let value = big_endian(&size_buf[..size_len]) & all_ones;
    Ok(Some((id, (value != all_ones).then_some(value))))
}

fn big_endian(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |v, &b| v << 8 | u64::from(b))
}
